//! Quotas of users and groups and the default quotas: limits set with `one.user.quota`,
//! `one.group.quota`, `one.userquota.update`, `one.groupquota.update`, usage counted from
//! what each owns (src/um/Quotas.cc, QuotasSQL.cc, QuotaVirtualMachine.cc ...), and their
//! documents.

use super::auth::admin_only;
use super::prelude::*;
use opennebula::models;
use opennebula::xml::ToXml;

/// Merges quota limits (`VM=[...]`, `DATASTORE=[ID=..., ...]` ...) into `current`.
/// Each entry given replaces the limits of the entry with the same ID (or is added).
pub(crate) fn merge(current: &mut Tmpl, update: &Tmpl) {
    for section in ["DATASTORE", "NETWORK", "VM", "IMAGE"] {
        for entry in update.vectors(section) {
            let id = entry.get("ID").cloned();
            let mut merged = false;
            for existing in current.vectors_mut(section) {
                if existing.get("ID") == id.as_ref() {
                    // oned sets every limit of the entry: the ones not given go back
                    // to -1 (the default applies); the usage counters stay.
                    existing.retain(|name, _| name == "ID" || name.ends_with("_USED"));
                    existing.extend(entry.clone());
                    merged = true;
                }
            }
            if !merged {
                current.push(section, Attr::Vector(entry.clone()));
            }
        }
    }
}

/// `one.user.quota`, `one.group.quota`: merges the limits given into the object's.
pub(crate) fn set(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    admin_only(oned, caller, kind, id)?;
    oned.get(kind, id).ok_or_else(|| no_exists(kind, id))?;
    let update = parse_template(p.str(1))?;
    let current = oned.quotas.entry((kind, id)).or_default();
    merge(current, &update);
    Ok(Value::Int(id))
}

/// `one.userquota.info`.
pub(crate) fn user_defaults(oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Ok(Value::from(default_quotas(oned, "userquota")))
}

/// `one.groupquota.info`.
pub(crate) fn group_defaults(oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Ok(Value::from(default_quotas(oned, "groupquota")))
}

/// `one.userquota.update`.
pub(crate) fn update_user_defaults(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    update_defaults(oned, caller, "userquota", p)
}

/// `one.groupquota.update`.
pub(crate) fn update_group_defaults(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    update_defaults(oned, caller, "groupquota", p)
}

fn update_defaults(oned: &mut Oned, caller: Caller, object: &str, p: &Params<'_>) -> Handled {
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] : Not authorized to perform MANAGE QUOTA.",
                caller.uid
            ),
        ));
    }
    let t = parse_template(p.str(0))?;
    for vm in t.vectors("VM") {
        // Default quotas cannot use the -1 ("default") marker nor negative limits.
        if vm.values().any(|v| v.starts_with('-') && v != "-2") {
            let body: Vec<String> = vm.iter().map(|(k, v)| format!("{k}={v}")).collect();
            return Err(fail(
                ErrorCode::Action,
                format!(
                    "Negative limits or bad format in quota VM = [ {} ]",
                    body.join(",")
                ),
            ));
        }
    }
    let current = oned.default_quotas.entry(object.to_string()).or_default();
    merge(current, &t);
    Ok(Value::from(default_quotas(oned, object)))
}

/// One quota entry (`DATASTORE = [ ID, IMAGES, SIZE ]` ...) of a user, group or the defaults.
struct QuotaEntry<'a> {
    entry: &'a std::collections::BTreeMap<String, String>,
    /// The value of a limit that is not set: -1 for users and groups (the default applies),
    /// -2 in the defaults (unlimited).
    unset: &'static str,
}

impl QuotaEntry<'_> {
    fn limit(&self, name: &str) -> String {
        self.entry
            .get(name)
            .cloned()
            .unwrap_or_else(|| self.unset.to_string())
    }

    fn used(&self, name: &str) -> String {
        self.entry
            .get(&format!("{name}_USED"))
            .cloned()
            .unwrap_or_else(|| "0".to_string())
    }

    fn id(&self) -> String {
        self.entry.get("ID").cloned().unwrap_or_default()
    }

    fn datastore(&self) -> models::DatastoreQuotaUsage {
        models::DatastoreQuotaUsage {
            id: self.id(),
            images: self.limit("IMAGES"),
            images_used: self.used("IMAGES"),
            size: self.limit("SIZE"),
            size_used: self.used("SIZE"),
        }
    }

    fn network(&self) -> models::NetworkQuotaUsage {
        models::NetworkQuotaUsage {
            id: self.id(),
            leases: self.limit("LEASES"),
            leases_used: self.used("LEASES"),
        }
    }

    fn image(&self) -> models::ImageQuotaUsage {
        models::ImageQuotaUsage {
            id: self.id(),
            rvms: self.limit("RVMS"),
            rvms_used: self.used("RVMS"),
        }
    }

    fn vm(&self) -> models::VmQuotaUsage {
        models::VmQuotaUsage {
            cluster_ids: self.entry.get("CLUSTER_IDS").cloned(),
            cpu: self.limit("CPU"),
            cpu_used: self.used("CPU"),
            memory: self.limit("MEMORY"),
            memory_used: self.used("MEMORY"),
            pci_dev: self.limit("PCI_DEV"),
            pci_dev_used: self.used("PCI_DEV"),
            pci_nic: self.limit("PCI_NIC"),
            pci_nic_used: self.used("PCI_NIC"),
            running_cpu: self.limit("RUNNING_CPU"),
            running_cpu_used: self.used("RUNNING_CPU"),
            running_memory: self.limit("RUNNING_MEMORY"),
            running_memory_used: self.used("RUNNING_MEMORY"),
            running_pci_dev: self.limit("RUNNING_PCI_DEV"),
            running_pci_dev_used: self.used("RUNNING_PCI_DEV"),
            running_pci_nic: self.limit("RUNNING_PCI_NIC"),
            running_pci_nic_used: self.used("RUNNING_PCI_NIC"),
            running_vms: self.limit("RUNNING_VMS"),
            running_vms_used: self.used("RUNNING_VMS"),
            system_disk_size: self.limit("SYSTEM_DISK_SIZE"),
            system_disk_size_used: self.used("SYSTEM_DISK_SIZE"),
            vms: self.limit("VMS"),
            vms_used: self.used("VMS"),
        }
    }
}

/// The four quota sections of a user or group (`unset` -1) or of the defaults (-2).
struct QuotaSections {
    datastore: models::DatastoreQuota,
    network: models::NetworkQuota,
    vm: models::VmQuota,
    image: models::ImageQuota,
}

fn quota_sections(quotas: Option<&Tmpl>, unset: &'static str) -> QuotaSections {
    let entries = |item: &str| -> Vec<QuotaEntry<'_>> {
        quotas
            .map(|q| q.vectors(item))
            .unwrap_or_default()
            .into_iter()
            .map(|entry| QuotaEntry { entry, unset })
            .collect()
    };
    QuotaSections {
        datastore: models::DatastoreQuota {
            datastore: entries("DATASTORE")
                .iter()
                .map(QuotaEntry::datastore)
                .collect(),
        },
        network: models::NetworkQuota {
            network: entries("NETWORK").iter().map(QuotaEntry::network).collect(),
        },
        vm: models::VmQuota {
            vm: entries("VM").iter().map(QuotaEntry::vm).collect(),
        },
        image: models::ImageQuota {
            image: entries("IMAGE").iter().map(QuotaEntry::image).collect(),
        },
    }
}

/// A usage counter as oned prints it: an integer when whole, else with two decimals.
fn usage_text(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// The quotas of a user or group with their usage counters: what the VMs, leases and
/// images it owns consume. oned counts nothing for oneadmin and the oneadmin group.
fn quotas_with_usage(oned: &Oned, kind: Kind, id: i32) -> Option<Tmpl> {
    use std::collections::BTreeMap;
    let configured = oned.quotas.get(&(kind, id));
    let exempt = match kind {
        Kind::User => id == 0 || oned.get(Kind::User, id).is_some_and(|u| u.gid == 0),
        _ => id == 0,
    };
    if exempt {
        return configured.cloned();
    }
    let owned = |obj: &&Obj| match kind {
        Kind::User => obj.uid == id,
        _ => obj.gid == id,
    };
    let mut vm: BTreeMap<&str, f64> = BTreeMap::new();
    let mut network: BTreeMap<String, f64> = BTreeMap::new();
    let mut image: BTreeMap<String, f64> = BTreeMap::new();
    let mut datastore: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for obj in oned.pool(Kind::Vm).values().filter(owned) {
        let Ext::Vm(data) = &obj.ext else { continue };
        if data.state == VmState::Done {
            continue;
        }
        let disks = obj.template.vectors("DISK");
        let system_disk: f64 = disks
            .iter()
            .filter(|d| d.get("PERSISTENT").map(String::as_str) != Some("YES"))
            .filter_map(|d| d.get("SIZE")?.parse::<f64>().ok())
            .sum();
        let memory = data.memory_mb as f64;
        for (name, value) in [
            ("VMS", 1.0),
            ("CPU", data.cpu),
            ("MEMORY", memory),
            ("SYSTEM_DISK_SIZE", system_disk),
        ] {
            *vm.entry(name).or_default() += value;
        }
        let running = !matches!(
            data.state,
            VmState::Stopped | VmState::Poweroff | VmState::Undeployed
        );
        if running {
            for (name, value) in [
                ("RUNNING_VMS", 1.0),
                ("RUNNING_CPU", data.cpu),
                ("RUNNING_MEMORY", memory),
            ] {
                *vm.entry(name).or_default() += value;
            }
        }
        for nic in obj.template.vectors("NIC") {
            if let Some(net) = nic.get("NETWORK_ID") {
                *network.entry(net.clone()).or_default() += 1.0;
            }
        }
        for disk in disks {
            if let Some(img) = disk.get("IMAGE_ID") {
                *image.entry(img.clone()).or_default() += 1.0;
            }
        }
    }
    for obj in oned.pool(Kind::Image).values().filter(owned) {
        if let Ext::Image(data) = &obj.ext {
            let entry = datastore.entry(data.datastore_id.to_string()).or_default();
            entry.0 += 1.0;
            entry.1 += data.size as f64;
        }
    }
    let mut quotas = configured.cloned().unwrap_or_default();
    // The entry of `section` with `key` (ID), added with unset limits when missing.
    fn entry<'a>(
        quotas: &'a mut Tmpl,
        section: &str,
        key: Option<&str>,
    ) -> &'a mut BTreeMap<String, String> {
        let at = quotas
            .vectors(section)
            .iter()
            .position(|e| e.get("ID").map(String::as_str) == key);
        if at.is_none() {
            let mut new = BTreeMap::new();
            if let Some(key) = key {
                new.insert("ID".to_string(), key.to_string());
            }
            quotas.push(section, Attr::Vector(new));
        }
        let index = at.unwrap_or_else(|| quotas.vectors(section).len() - 1);
        quotas
            .vectors_mut(section)
            .into_iter()
            .nth(index)
            .expect("just found or added")
    }
    if !vm.is_empty() {
        let e = entry(&mut quotas, "VM", None);
        for (name, value) in vm {
            e.insert(format!("{name}_USED"), usage_text(value));
        }
    }
    for (net, leases) in network {
        entry(&mut quotas, "NETWORK", Some(&net)).insert("LEASES_USED".into(), usage_text(leases));
    }
    for (img, rvms) in image {
        entry(&mut quotas, "IMAGE", Some(&img)).insert("RVMS_USED".into(), usage_text(rvms));
    }
    for (ds, (images, size)) in datastore {
        let e = entry(&mut quotas, "DATASTORE", Some(&ds));
        e.insert("IMAGES_USED".into(), usage_text(images));
        e.insert("SIZE_USED".into(), usage_text(size));
    }
    Some(quotas)
}

pub(crate) fn quotas_model(oned: &Oned, kind: Kind, id: i32) -> models::Quotas {
    let quotas = quotas_with_usage(oned, kind, id);
    let q = quota_sections(quotas.as_ref(), "-1");
    models::Quotas {
        id: i64::from(id),
        datastore_quota: Some(q.datastore),
        network_quota: Some(q.network),
        vm_quota: Some(q.vm),
        image_quota: Some(q.image),
    }
}

fn default_sections(oned: &Oned, object: &str) -> QuotaSections {
    quota_sections(oned.default_quotas.get(object), "-2")
}

pub(crate) fn default_user_quotas(oned: &Oned) -> models::DefaultUserQuotas {
    let q = default_sections(oned, "userquota");
    models::DefaultUserQuotas {
        datastore_quota: Some(q.datastore),
        network_quota: Some(q.network),
        vm_quota: Some(models::DefaultVmQuota {
            vm: q.vm.vm.into_iter().next(),
        }),
        image_quota: Some(q.image),
    }
}

pub(crate) fn default_group_quotas(oned: &Oned) -> models::DefaultGroupQuotas {
    let q = default_sections(oned, "groupquota");
    models::DefaultGroupQuotas {
        datastore_quota: Some(q.datastore),
        network_quota: Some(q.network),
        vm_quota: Some(models::DefaultVmQuota {
            vm: q.vm.vm.into_iter().next(),
        }),
        image_quota: Some(q.image),
    }
}

/// `<DEFAULT_USER_QUOTAS>` / `<DEFAULT_GROUP_QUOTAS>`.
pub(crate) fn default_quotas(oned: &Oned, object: &str) -> String {
    if object == "userquota" {
        default_user_quotas(oned).to_xml()
    } else {
        default_group_quotas(oned).to_xml()
    }
}
