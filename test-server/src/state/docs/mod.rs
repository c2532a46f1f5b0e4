//! The XML documents of every object type, built from the generated model types
//! ([`opennebula::models`]) and serialised with their [`ToXml`]: one function per type turns the
//! server's state into the model value oned would print. The element order is our schemas'
//! order, which follows oned's; templates come from [`Tmpl::to_template`] in oned's sorted
//! order.
//!
//! The VM documents live in `vm.rs`.

use super::objects::{Ext, Obj};
pub(crate) mod dummy_host;
mod vm;

use super::vm::{format_ip, format_mac};
use super::{Kind, Oned};
use crate::tmpl::Tmpl;
use opennebula::models;
use opennebula::xml::{ToXml, XmlWriter};
pub(crate) use vm::{accounting, monitoring_data, pool as vm_pool, showback};

/// `value` written as element `name`.
fn xml_of<T: ToXml + ?Sized>(value: &T, name: &str) -> String {
    let mut writer = XmlWriter::with_capacity(512);
    value.write_xml(&mut writer, name);
    writer.into_string()
}

fn permissions_of(obj: &Obj) -> models::Permissions {
    let p = obj.perms.map(i64::from);
    models::Permissions {
        owner_u: p[0],
        owner_m: p[1],
        owner_a: p[2],
        group_u: p[3],
        group_m: p[4],
        group_a: p[5],
        other_u: p[6],
        other_m: p[7],
        other_a: p[8],
    }
}

fn lock_of(obj: &Obj) -> Option<models::Lock> {
    obj.lock.as_ref().map(|lock| models::Lock {
        locked: i64::from(lock.level),
        owner: Some(i64::from(lock.owner)),
        time: Some(lock.time),
        req_id: Some(lock.req_id),
    })
}

fn ids_of(ids: impl IntoIterator<Item = i32>) -> models::Ids {
    models::Ids {
        id: ids.into_iter().map(i64::from).collect(),
    }
}

/// The owner fields every owned object has: id, uid, gid, uname, gname, name.
struct Owner {
    id: i64,
    uid: i64,
    gid: i64,
    uname: String,
    gname: String,
    name: String,
}

fn owner_of(oned: &Oned, obj: &Obj) -> Owner {
    Owner {
        id: i64::from(obj.id),
        uid: i64::from(obj.uid),
        gid: i64::from(obj.gid),
        uname: oned.uname(obj.uid),
        gname: oned.gname(obj.gid),
        name: obj.name.clone(),
    }
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
        if data.state == super::vm::DONE {
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
            super::vm::STOPPED | super::vm::POWEROFF | super::vm::UNDEPLOYED
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
            quotas.push(section, crate::tmpl::Attr::Vector(new));
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

fn quotas_model(oned: &Oned, kind: Kind, id: i32) -> models::Quotas {
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

fn default_user_quotas(oned: &Oned) -> models::DefaultUserQuotas {
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

fn default_group_quotas(oned: &Oned) -> models::DefaultGroupQuotas {
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

/// The document of one object (`full`: as `info` returns it, else as listed in a pool).
pub(crate) fn document(oned: &Oned, obj: &Obj, full: bool) -> String {
    let mut writer = XmlWriter::with_capacity(512);
    write_document(oned, obj, full, &mut writer);
    writer.into_string()
}

/// [`document`] written by `writer` (an [escaped](XmlWriter::escaped) one writes it straight
/// into an XML-RPC response).
pub(crate) fn write_document(oned: &Oned, obj: &Obj, full: bool, writer: &mut XmlWriter) {
    element(oned, obj, full, writer)
}

/// A pool document with the objects `ids` (already filtered and ordered).
pub(crate) fn pool(oned: &Oned, kind: Kind, ids: &[i32]) -> String {
    let objs = || ids.iter().filter_map(|id| oned.get(kind, *id));
    macro_rules! typed {
        ($pool:ident { $field:ident }, $build:expr) => {
            models::$pool {
                $field: objs().filter_map(|o| $build(oned, o)).collect(),
            }
            .to_xml()
        };
    }
    match kind {
        // The VM listings are written by the VM documents (`vm.rs`).
        Kind::Vm => vm::pool(oned, ids, false),
        // The user and group pools interleave each entry with its quotas (and a group with
        // its VLAN rules), which the pool types (one list per element name) cannot say: the
        // root is written here, every element in it comes from the model types.
        Kind::User => {
            let mut writer = XmlWriter::new();
            writer.start("USER_POOL");
            for obj in objs() {
                if let Some(user) = user_summary(oned, obj) {
                    user.write_xml(&mut writer, "USER");
                    quotas_model(oned, Kind::User, obj.id).write_xml(&mut writer, "QUOTAS");
                }
            }
            default_user_quotas(oned).write_xml(&mut writer, "DEFAULT_USER_QUOTAS");
            writer.end("USER_POOL");
            writer.into_string()
        }
        Kind::Group => {
            let mut writer = XmlWriter::new();
            writer.start("GROUP_POOL");
            for obj in objs() {
                if let Some(group) = group_summary(oned, obj) {
                    group.write_xml(&mut writer, "GROUP");
                    quotas_model(oned, Kind::Group, obj.id).write_xml(&mut writer, "QUOTAS");
                    vlan_rules(obj).write_xml(&mut writer, "VLAN_RULES");
                }
            }
            default_group_quotas(oned).write_xml(&mut writer, "DEFAULT_GROUP_QUOTAS");
            writer.end("GROUP_POOL");
            writer.into_string()
        }
        Kind::Host => typed!(HostPool { host }, |oned, obj| host(oned, obj, false)),
        Kind::Cluster => typed!(ClusterPool { cluster }, cluster),
        Kind::Datastore => typed!(DatastorePool { datastore }, datastore),
        Kind::Image => typed!(ImagePool { image }, image),
        Kind::Template => typed!(VmTemplatePool { vmtemplate }, vm_template),
        Kind::VnTemplate => typed!(VnTemplatePool { vntemplate }, vn_template),
        Kind::Vnet => typed!(VirtualNetworkPool { vnet }, vnet_summary),
        Kind::SecGroup => typed!(SecurityGroupPool { security_group }, security_group),
        Kind::VRouter => typed!(VirtualRouterPool { vrouter }, vrouter),
        Kind::VmGroup => typed!(VmGroupPool { vm_group }, vm_group),
        Kind::Zone => typed!(ZonePool { zone }, zone),
        Kind::Vdc => typed!(VdcPool { vdc }, vdc),
        Kind::Document => typed!(DocumentPool { document }, generic_document),
        Kind::Market => typed!(MarketPlacePool { marketplace }, market),
        Kind::MarketApp => typed!(MarketPlaceAppPool { marketplaceapp }, market_app),
        Kind::Hook => typed!(HookPool { hook }, |oned, obj| hook(oned, obj, false)),
        Kind::BackupJob => typed!(BackupJobPool { backupjob }, backup_job),
    }
}

/// The document of `obj`, its root element named after its kind.
fn element(oned: &Oned, obj: &Obj, full: bool, writer: &mut XmlWriter) {
    fn of<T: ToXml>(value: Option<T>, root: &str, writer: &mut XmlWriter) {
        if let Some(value) = value {
            value.write_xml(writer, root);
        }
    }
    let root = obj.kind.root();
    match obj.kind {
        Kind::Vm => {
            if let Ext::Vm(data) = &obj.ext {
                let vm = vm::vm(oned, obj, data, full);
                vm.write_xml(writer, vm.root_name());
            }
        }
        Kind::User if full => of(user(oned, obj), root, writer),
        Kind::User => of(user_summary(oned, obj), root, writer),
        Kind::Group if full => of(group(oned, obj), root, writer),
        Kind::Group => of(group_summary(oned, obj), root, writer),
        Kind::Host => of(host(oned, obj, full), root, writer),
        Kind::Cluster => of(cluster(oned, obj), root, writer),
        Kind::Datastore => of(datastore(oned, obj), root, writer),
        Kind::Image => of(image(oned, obj), root, writer),
        Kind::Template => of(vm_template(oned, obj), root, writer),
        Kind::VnTemplate => of(vn_template(oned, obj), root, writer),
        Kind::Vnet if full => of(vnet(oned, obj), root, writer),
        Kind::Vnet => of(vnet_summary(oned, obj), root, writer),
        Kind::SecGroup => of(security_group(oned, obj), root, writer),
        Kind::VRouter => of(vrouter(oned, obj), root, writer),
        Kind::VmGroup => of(vm_group(oned, obj), root, writer),
        Kind::Zone => of(zone(oned, obj), root, writer),
        Kind::Vdc => of(vdc(oned, obj), root, writer),
        Kind::Document => of(generic_document(oned, obj), root, writer),
        Kind::Market => of(market(oned, obj), root, writer),
        Kind::MarketApp => of(market_app(oned, obj), root, writer),
        Kind::Hook => of(hook(oned, obj, full), root, writer),
        Kind::BackupJob => of(backup_job(oned, obj), root, writer),
    }
}

fn user_summary(oned: &Oned, obj: &Obj) -> Option<models::UserSummary> {
    let Ext::User(user) = &obj.ext else {
        return None;
    };
    Some(models::UserSummary {
        id: i64::from(obj.id),
        gid: i64::from(obj.gid),
        groups: models::UserGroups {
            id: user.groups.iter().copied().map(i64::from).collect(),
        },
        gname: oned.gname(obj.gid),
        name: obj.name.clone(),
        password: user.password.clone(),
        auth_driver: user.driver.clone(),
        enabled: i64::from(user.enabled),
        login_token: oned
            .login_tokens(obj.id)
            .into_iter()
            .map(|(token, expiration_time, egid)| models::LoginToken {
                token,
                expiration_time,
                egid: i64::from(egid),
            })
            .collect(),
        template: obj.template.to_template(),
    })
}

fn user(oned: &Oned, obj: &Obj) -> Option<models::User> {
    let s = user_summary(oned, obj)?;
    let q = quotas_model(oned, Kind::User, obj.id);
    Some(models::User {
        id: s.id,
        gid: s.gid,
        groups: s.groups,
        gname: s.gname,
        name: s.name,
        password: s.password,
        auth_driver: s.auth_driver,
        enabled: s.enabled,
        login_token: s.login_token,
        template: s.template,
        datastore_quota: q.datastore_quota,
        network_quota: q.network_quota,
        vm_quota: q.vm_quota,
        image_quota: q.image_quota,
        default_user_quotas: default_user_quotas(oned),
    })
}

fn vlan_rules(obj: &Obj) -> models::VlanRules {
    models::VlanRules {
        id: i64::from(obj.id),
        rule: Vec::new(),
    }
}

fn group_summary(_oned: &Oned, obj: &Obj) -> Option<models::GroupSummary> {
    let Ext::Group(group) = &obj.ext else {
        return None;
    };
    Some(models::GroupSummary {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        template: obj.template.to_template(),
        users: ids_of(group.users.iter().copied()),
        admins: ids_of(group.admins.iter().copied()),
    })
}

fn group(oned: &Oned, obj: &Obj) -> Option<models::Group> {
    let s = group_summary(oned, obj)?;
    let q = quotas_model(oned, Kind::Group, obj.id);
    Some(models::Group {
        id: s.id,
        name: s.name,
        template: s.template,
        users: s.users,
        admins: s.admins,
        datastore_quota: q.datastore_quota,
        network_quota: q.network_quota,
        vm_quota: q.vm_quota,
        image_quota: q.image_quota,
        vlan_rules: vlan_rules(obj),
        default_group_quotas: default_group_quotas(oned),
    })
}

fn host(oned: &Oned, obj: &Obj, full: bool) -> Option<models::Host> {
    let Ext::Host(host) = &obj.ext else {
        return None;
    };
    let cluster = oned
        .get(Kind::Cluster, host.cluster_id)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let (cpu_usage, mem_usage) = host
        .vms
        .iter()
        .filter_map(|id| oned.get(Kind::Vm, *id))
        .fold((0i64, 0i64), |acc, vm| match &vm.ext {
            Ext::Vm(v) => {
                // The capacity the VM's template holds now (a resize changes it).
                let cpu = vm
                    .template
                    .get("CPU")
                    .and_then(|c| c.parse::<f64>().ok())
                    .unwrap_or(v.cpu);
                let memory = vm
                    .template
                    .get("MEMORY")
                    .and_then(|m| m.parse::<i64>().ok())
                    .unwrap_or(v.memory_mb);
                (acc.0 + (cpu * 100.0).round() as i64, acc.1 + memory * 1024)
            }
            _ => acc,
        });
    let (free_disk, max_disk, used_disk) = if host.probed {
        dummy_host::DISK_MB
    } else {
        (0, 0, 0)
    };
    let (cpu_usage, mem_usage) = (cpu_usage + host.cpu_usage, mem_usage + host.mem_usage);
    Some(models::Host {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        state: i64::from(host.state),
        prev_state: i64::from(host.prev_state),
        im_mad: host.im_mad.clone(),
        vm_mad: host.vm_mad.clone(),
        cluster_id: i64::from(host.cluster_id),
        cluster,
        host_share: models::HostShare {
            mem_usage,
            cpu_usage,
            total_mem: host.total_mem,
            total_cpu: host.total_cpu,
            max_mem: host.total_mem,
            max_cpu: host.total_cpu,
            running_vms: host.vms.len() as i64,
            vms_thread: 1,
            datastores: models::HostDatastores {
                disk_usage: 0,
                ds: Vec::new(),
                free_disk,
                max_disk,
                used_disk,
            },
            pci_devices: if host.probed {
                dummy_host::pci_devices()
            } else {
                models::PciDevices::default()
            },
            numa_nodes: if host.probed {
                dummy_host::numa_nodes()
            } else {
                models::NumaNodes::default()
            },
        },
        vms: ids_of(host.vms.iter().copied()),
        template: obj.template.to_template(),
        // The last monitoring sample is in `info`, not in the pool listing.
        monitoring: if host.probed && full {
            dummy_host::monitoring(obj.id, oned.now(), cpu_usage, mem_usage)
        } else {
            models::HostMonitoring::default()
        },
    })
}

fn cluster(_oned: &Oned, obj: &Obj) -> Option<models::Cluster> {
    let Ext::Cluster(cluster) = &obj.ext else {
        return None;
    };
    Some(models::Cluster {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        hosts: ids_of(cluster.hosts.iter().copied()),
        datastores: ids_of(cluster.datastores.iter().copied()),
        vnets: ids_of(cluster.vnets.iter().copied()),
        template: obj.template.to_template(),
        plan: None,
    })
}

fn datastore(oned: &Oned, obj: &Obj) -> Option<models::Datastore> {
    let Ext::Datastore(ds) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    Some(models::Datastore {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        permissions: permissions_of(obj),
        ds_mad: ds.ds_mad.clone(),
        tm_mad: ds.tm_mad.clone(),
        base_path: format!("/var/lib/one//datastores/{}", obj.id),
        type_: i64::from(ds.ds_type),
        disk_type: 0,
        state: i64::from(ds.state),
        clusters: ids_of(ds.clusters.iter().copied()),
        total_mb: 0,
        free_mb: 0,
        used_mb: 0,
        images: ids_of(ds.images.iter().copied()),
        template: obj.template.to_template(),
    })
}

fn image(oned: &Oned, obj: &Obj) -> Option<models::Image> {
    let Ext::Image(image) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    let datastore = oned
        .get(Kind::Datastore, image.datastore_id)
        .map(|d| d.name.clone())
        .unwrap_or_default();
    Some(models::Image {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        lock: lock_of(obj),
        permissions: permissions_of(obj),
        type_: i64::from(image.image_type),
        disk_type: 0,
        persistent: i64::from(image.persistent),
        regtime: obj.regtime,
        modtime: image.modtime,
        source: image.source.clone(),
        path: image.path.clone(),
        format: image.format.clone(),
        fs: String::new(),
        size: image.size,
        state: i64::from(image.state),
        prev_state: i64::from(image.prev_state),
        running_vms: image.vms.len() as i64,
        cloning_ops: 0,
        cloning_id: -1,
        target_snapshot: -1,
        datastore_id: i64::from(image.datastore_id),
        datastore,
        vms: ids_of(image.vms.iter().copied()),
        clones: ids_of(image.clones.iter().copied()),
        app_clones: models::Ids::default(),
        template: obj.template.to_template(),
        snapshots: models::ImageSnapshots {
            allow_orphans: "NO".into(),
            current_base: -1,
            next_snapshot: "0".into(),
            snapshot: Vec::new(),
        },
        backup_increments: models::BackupIncrements::default(),
        backup_disk_ids: Some(models::Ids::default()),
    })
}

fn vm_template(oned: &Oned, obj: &Obj) -> Option<models::VmTemplate> {
    let o = owner_of(oned, obj);
    Some(models::VmTemplate {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        lock: lock_of(obj),
        permissions: permissions_of(obj),
        regtime: obj.regtime,
        template: obj.template.to_template(),
    })
}

fn vn_template(oned: &Oned, obj: &Obj) -> Option<models::VnTemplate> {
    let o = owner_of(oned, obj);
    Some(models::VnTemplate {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        lock: lock_of(obj),
        permissions: permissions_of(obj),
        regtime: obj.regtime,
        template: obj.template.to_template(),
    })
}

/// The attributes an address range stores, as oned keeps them (its own attributes and the
/// ones given at `add_ar`/`update_ar`); the computed ones (`MAC_END`, leases ...) come apart.
struct ArStored<'a> {
    ar: &'a super::objects::AddressRange,
}

impl ArStored<'_> {
    fn extra(&self, name: &str) -> Option<String> {
        self.ar.extra.get(name).cloned()
    }

    fn ip(&self) -> Option<String> {
        self.ar.ip.map(format_ip)
    }
}

/// The `ALLOCATED` map of an abridged address range: ` index owner` pairs (each with a
/// leading space, as oned writes them), the owner encoding its object type and id; absent
/// until the range has had a lease.
fn allocated(ar: &super::objects::AddressRange) -> Option<String> {
    if !ar.ever_allocated {
        return None;
    }
    let mut out = String::new();
    for (index, owner) in &ar.leases {
        let encoded: i64 = if *owner <= -1000 {
            0x40_0000_0000 | i64::from(-1000 - owner)
        } else if *owner >= 0 {
            0x10_0000_0000 | i64::from(*owner)
        } else {
            0x10_0000_0000 | 0xFFFF_FFFF
        };
        out.push_str(&format!(" {index} {encoded}"));
    }
    Some(out)
}

/// The IPv6 address of lease `index` under the /64 `prefix` (`fd00::`): the interface id
/// is the modified EUI-64 of the lease's MAC (U/L bit flipped, `ff:fe` in the middle), as
/// oned derives it.
fn ip6_of(prefix: &str, mac: u64) -> Option<String> {
    let prefix: std::net::Ipv6Addr = prefix.parse().ok()?;
    let mac = mac & 0xFFFF_FFFF_FFFF;
    let high = (mac >> 24) ^ 0x02_0000;
    let low = mac & 0xFF_FFFF;
    let interface = (high << 40) | (0xFF_FE << 24) | low;
    let network = u128::from(prefix) & !u128::from(u64::MAX);
    Some(std::net::Ipv6Addr::from(network | u128::from(interface)).to_string())
}

fn ar_summary(ar: &super::objects::AddressRange) -> models::AddressRangeSummary {
    let s = ArStored { ar };
    models::AddressRangeSummary {
        allocated: allocated(ar),
        ar_id: ar.id.to_string(),
        cvlans: s.extra("CVLANS"),
        global_prefix: s.extra("GLOBAL_PREFIX"),
        ip: s.ip(),
        mac: format_mac(ar.mac),
        next_index: i64::from(ar.next_index),
        parent_network_ar_id: s.extra("PARENT_NETWORK_AR_ID"),
        shared: Some("NO".into()),
        size: i64::from(ar.size),
        type_: ar.ar_type.clone(),
        ula_prefix: s.extra("ULA_PREFIX"),
        vlan_id: s.extra("VLAN_ID"),
        vn_mad: s.extra("VN_MAD"),
    }
}

fn ar_full(ar: &super::objects::AddressRange) -> models::AddressRange {
    let s = ArStored { ar };
    let (ula, global) = (s.extra("ULA_PREFIX"), s.extra("GLOBAL_PREFIX"));
    let leases = ar
        .leases
        .iter()
        .map(|(index, owner)| models::Lease {
            ip: ar.ip.map(|ip| format_ip(ip + index)),
            ip6_global: global
                .as_deref()
                .and_then(|p| ip6_of(p, ar.mac + u64::from(*index))),
            ip6_link: matches!(ar.ar_type.as_str(), "IP6" | "IP4_6")
                .then(|| ip6_of("fe80::", ar.mac + u64::from(*index)))
                .flatten(),
            ip6_ula: ula
                .as_deref()
                .and_then(|p| ip6_of(p, ar.mac + u64::from(*index))),
            mac: Some(format_mac(ar.mac + u64::from(*index))),
            vm: (*owner > -1000).then_some(i64::from((*owner).max(-1))),
            vnet: (*owner <= -1000).then_some(i64::from(-1000 - owner)),
            ..models::Lease::default()
        })
        .collect();
    let (first, last) = (ar.mac, ar.mac + u64::from(ar.size) - 1);
    models::AddressRange {
        ar_id: ar.id.to_string(),
        cvlans: s.extra("CVLANS"),
        global_prefix: s.extra("GLOBAL_PREFIX"),
        ip: s.ip(),
        mac: format_mac(ar.mac),
        next_index: i64::from(ar.next_index),
        parent_network_ar_id: s.extra("PARENT_NETWORK_AR_ID"),
        shared: Some("NO".into()),
        size: i64::from(ar.size),
        type_: ar.ar_type.clone(),
        ula_prefix: s.extra("ULA_PREFIX"),
        vlan_id: s.extra("VLAN_ID"),
        vn_mad: s.extra("VN_MAD"),
        mac_end: Some(format_mac(ar.mac + u64::from(ar.size) - 1)),
        ip_end: ar.ip.map(|ip| format_ip(ip + ar.size - 1)),
        ip6_ula: ula.as_deref().and_then(|p| ip6_of(p, first)),
        ip6_ula_end: ula.as_deref().and_then(|p| ip6_of(p, last)),
        ip6_global: global.as_deref().and_then(|p| ip6_of(p, first)),
        ip6_global_end: global.as_deref().and_then(|p| ip6_of(p, last)),
        ip6: s.extra("IP6"),
        ip6_end: s.extra("IP6_END"),
        port_start: s.extra("PORT_START"),
        port_size: s.extra("PORT_SIZE"),
        used_leases: ar.leases.len().to_string(),
        leases: Some(models::Leases { lease: leases }),
    }
}

fn vnet(oned: &Oned, obj: &Obj) -> Option<models::VirtualNetwork> {
    let Ext::Vnet(vnet) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    let used: usize = vnet.ars.iter().map(|a| a.leases.len()).sum();
    Some(models::VirtualNetwork {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        lock: lock_of(obj),
        permissions: permissions_of(obj),
        clusters: ids_of(vnet.clusters.iter().copied()),
        bridge: vnet.bridge.clone(),
        bridge_type: Some("linux".into()),
        state: i64::from(vnet.state),
        prev_state: i64::from(vnet.state),
        parent_network_id: vnet.parent.map(|p| p.to_string()).unwrap_or_default(),
        template_id: obj
            .template
            .get("TEMPLATE_ID")
            .unwrap_or_default()
            .to_string(),
        vn_mad: vnet.vn_mad.clone(),
        phydev: String::new(),
        vlan_id: Some(String::new()),
        outer_vlan_id: Some(String::new()),
        vlan_id_automatic: "0".into(),
        outer_vlan_id_automatic: "0".into(),
        used_leases: used as i64,
        vrouters: models::Ids::default(),
        updated_vms: ids_of(vnet.updated_vms.iter().copied()),
        outdated_vms: models::Ids::default(),
        updating_vms: models::Ids::default(),
        error_vms: models::Ids::default(),
        template: {
            // The template a network was instantiated from is an element of its own.
            let mut template = obj.template.clone();
            template.remove("TEMPLATE_ID");
            template.to_template()
        },
        ar_pool: models::AddressRanges {
            ar: vnet.ars.iter().map(ar_full).collect(),
        },
    })
}

fn vnet_summary(oned: &Oned, obj: &Obj) -> Option<models::VirtualNetworkSummary> {
    let Ext::Vnet(data) = &obj.ext else {
        return None;
    };
    let v = vnet(oned, obj)?;
    Some(models::VirtualNetworkSummary {
        id: v.id,
        uid: v.uid,
        gid: v.gid,
        uname: v.uname,
        gname: v.gname,
        name: v.name,
        lock: v.lock,
        permissions: v.permissions,
        clusters: v.clusters,
        bridge: v.bridge,
        bridge_type: v.bridge_type,
        state: v.state,
        prev_state: v.prev_state,
        parent_network_id: v.parent_network_id,
        template_id: v.template_id,
        vn_mad: v.vn_mad,
        phydev: v.phydev,
        vlan_id: v.vlan_id,
        outer_vlan_id: v.outer_vlan_id,
        vlan_id_automatic: v.vlan_id_automatic,
        outer_vlan_id_automatic: v.outer_vlan_id_automatic,
        used_leases: v.used_leases,
        vrouters: v.vrouters,
        updated_vms: v.updated_vms,
        outdated_vms: v.outdated_vms,
        updating_vms: v.updating_vms,
        error_vms: v.error_vms,
        template: v.template,
        ar_pool: models::AddressRangeSummaries {
            ar: data.ars.iter().map(ar_summary).collect(),
        },
    })
}

fn security_group(oned: &Oned, obj: &Obj) -> Option<models::SecurityGroup> {
    let o = owner_of(oned, obj);
    Some(models::SecurityGroup {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        permissions: permissions_of(obj),
        updated_vms: models::Ids::default(),
        outdated_vms: models::Ids::default(),
        updating_vms: models::Ids::default(),
        error_vms: models::Ids::default(),
        template: obj.template.to_template(),
    })
}

fn vrouter(oned: &Oned, obj: &Obj) -> Option<models::VirtualRouter> {
    let o = owner_of(oned, obj);
    Some(models::VirtualRouter {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        permissions: permissions_of(obj),
        lock: lock_of(obj),
        vms: ids_of(super::vm::vrouter_vms(oned, obj.id)),
        template: obj.template.to_template(),
    })
}

fn vm_group(oned: &Oned, obj: &Obj) -> Option<models::VmGroup> {
    let o = owner_of(oned, obj);
    let id = obj.id.to_string();
    let roles = obj
        .template
        .vectors("ROLE")
        .into_iter()
        .map(|role| {
            let name = role.get("NAME").cloned().unwrap_or_default();
            // The VMs of a role: the live VMs whose VMGROUP names this group and role.
            let vms: Vec<String> =
                oned.pool(Kind::Vm)
                    .values()
                    .filter(|vm| {
                        vm.template.vectors("VMGROUP").iter().any(|g| {
                            g.get("VMGROUP_ID") == Some(&id) && g.get("ROLE") == Some(&name)
                        }) && matches!(&vm.ext, Ext::Vm(v) if v.state != 6)
                    })
                    .map(|vm| vm.id.to_string())
                    .collect();
            models::VmGroupRole {
                host_affined: role.get("HOST_AFFINED").cloned(),
                host_anti_affined: role.get("HOST_ANTI_AFFINED").cloned(),
                id: role.get("ID").and_then(|i| i.parse().ok()).unwrap_or(0),
                name,
                policy: role.get("POLICY").cloned(),
                vms: (!vms.is_empty()).then(|| vms.join(",")),
            }
        })
        .collect();
    let mut template = obj.template.clone();
    template.remove("ROLE");
    Some(models::VmGroup {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        permissions: permissions_of(obj),
        lock: lock_of(obj),
        roles: models::VmGroupRoles { role: roles },
        template: template.to_template(),
    })
}

fn zone(_oned: &Oned, obj: &Obj) -> Option<models::Zone> {
    Some(models::Zone {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        state: 0,
        template: obj.template.to_template(),
        server_pool: models::ServerPool::default(),
    })
}

fn vdc(_oned: &Oned, obj: &Obj) -> Option<models::Vdc> {
    let Ext::Vdc(vdc) = &obj.ext else {
        return None;
    };
    let of = |kind: Kind| {
        vdc.resources
            .iter()
            .filter(move |(k, _, _)| *k == kind)
            .map(|(_, zone, id)| (i64::from(*zone), i64::from(*id)))
    };
    Some(models::Vdc {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        groups: ids_of(vdc.groups.iter().copied()),
        clusters: models::VdcClusters {
            cluster: of(Kind::Cluster)
                .map(|(zone_id, cluster_id)| models::VdcCluster {
                    zone_id,
                    cluster_id,
                })
                .collect(),
        },
        hosts: models::VdcHosts {
            host: of(Kind::Host)
                .map(|(zone_id, host_id)| models::VdcHost { zone_id, host_id })
                .collect(),
        },
        datastores: models::VdcDatastores {
            datastore: of(Kind::Datastore)
                .map(|(zone_id, datastore_id)| models::VdcDatastore {
                    zone_id,
                    datastore_id,
                })
                .collect(),
        },
        vnets: models::VdcVnets {
            vnet: of(Kind::Vnet)
                .map(|(zone_id, vnet_id)| models::VdcVnet { zone_id, vnet_id })
                .collect(),
        },
        template: obj.template.to_template(),
    })
}

fn generic_document(oned: &Oned, obj: &Obj) -> Option<models::GenericDocument> {
    let Ext::Document(doc_type) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    Some(models::GenericDocument {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        type_: doc_type.to_string(),
        permissions: permissions_of(obj),
        lock: lock_of(obj),
        template: obj.template.to_template(),
    })
}

fn market(oned: &Oned, obj: &Obj) -> Option<models::MarketPlace> {
    let Ext::Market(state) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    let apps = oned
        .pool(Kind::MarketApp)
        .values()
        .filter(|a| matches!(&a.ext, Ext::MarketApp(m) if m.market == obj.id))
        .map(|a| a.id);
    Some(models::MarketPlace {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        state: i64::from(*state),
        market_mad: obj
            .template
            .get("MARKET_MAD")
            .unwrap_or_default()
            .to_string(),
        zone_id: "0".into(),
        total_mb: 0,
        free_mb: 0,
        used_mb: 0,
        marketplaceapps: ids_of(apps),
        permissions: permissions_of(obj),
        template: obj.template.to_template(),
    })
}

fn market_app(oned: &Oned, obj: &Obj) -> Option<models::MarketPlaceApp> {
    let Ext::MarketApp(app) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    let ready = app.state != 2;
    // A ready app has a source in the marketplace and its checksum (the dummy driver's
    // stand-ins: derived from the app, so they stay the same from one call to the next).
    let source = if ready {
        format!(
            "http://127.0.0.1:8099/{}",
            &super::sha256_hex(&format!("{}{}", obj.id, obj.regtime))[..32]
        )
    } else {
        String::new()
    };
    let md5 = if ready {
        super::sha256_hex(&source)[..32].to_string()
    } else {
        String::new()
    };
    let attr = |name: &str, default: &str| obj.template.get(name).unwrap_or(default).to_string();
    Some(models::MarketPlaceApp {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        lock: lock_of(obj),
        regtime: obj.regtime,
        name: o.name,
        zone_id: "0".into(),
        origin_id: app.origin.to_string(),
        source,
        md5,
        size: if ready { app.size } else { 0 },
        description: attr("DESCRIPTION", ""),
        version: attr("VERSION", "0.0"),
        format: if ready {
            app.format.clone()
        } else {
            String::new()
        },
        apptemplate64: attr("APPTEMPLATE64", ""),
        marketplace_id: i64::from(app.market),
        marketplace: oned
            .get(Kind::Market, app.market)
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        state: i64::from(app.state),
        type_: 1,
        permissions: permissions_of(obj),
        template: obj.template.to_template(),
    })
}

fn hook(oned: &Oned, obj: &Obj, full: bool) -> Option<models::Hook> {
    let Ext::Hook(hook_type) = &obj.ext else {
        return None;
    };
    Some(models::Hook {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        type_: hook_type.clone(),
        lock: lock_of(obj),
        template: obj.template.to_template(),
        hooklog: full.then(|| super::hooks::log_of(oned, obj.id)),
    })
}

/// The members of a scheduled action in the order oned writes them (its own fixed order, not
/// the sorted order of other vectors).
const SCHED_ACTION_ORDER: [&str; 13] = [
    "ID",
    "PARENT_ID",
    "TYPE",
    "ACTION",
    "ARGS",
    "TIME",
    "REPEAT",
    "DAYS",
    "END_TYPE",
    "END_VALUE",
    "DONE",
    "MESSAGE",
    "WARNING",
];

/// A scheduled action's members in oned's order: those of [`SCHED_ACTION_ORDER`] first
/// (`every_ordered`: all of them, empty when unset, as a VM's template has them; otherwise only
/// those set, as in a backup job's), then any others in their given order.
fn sched_action_in_order(
    members: &[(&str, &str)],
    every_ordered: bool,
) -> opennebula::template::Vector {
    let value_of = |name: &str| {
        members
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, v)| *v)
    };
    // One pass (`collect`): each `Vector::set` re-packs the vector.
    SCHED_ACTION_ORDER
        .iter()
        .filter_map(|name| match value_of(name) {
            Some(value) => Some((*name, value)),
            None => every_ordered.then_some((*name, "")),
        })
        .chain(
            members
                .iter()
                .copied()
                .filter(|(name, _)| !SCHED_ACTION_ORDER.contains(name)),
        )
        .collect()
}

/// `template` with its `SCHED_ACTION` vectors in oned's member order.
pub(crate) fn with_sched_actions_in_order(
    mut template: opennebula::template::Template,
) -> opennebula::template::Template {
    for vector in template.vectors_mut("SCHED_ACTION") {
        let members: Vec<(&str, &str)> = vector.iter().collect();
        let ordered = sched_action_in_order(&members, false);
        *vector = ordered;
    }
    template
}

fn backup_job(oned: &Oned, obj: &Obj) -> Option<models::BackupJob> {
    let o = owner_of(oned, obj);
    let mut template = obj.template.clone();
    template.remove("PRIORITY");
    template.remove("LAST_BACKUP_TIME");
    Some(models::BackupJob {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        lock: lock_of(obj),
        permissions: permissions_of(obj),
        priority: obj
            .template
            .get("PRIORITY")
            .and_then(|p| p.parse().ok())
            .unwrap_or(50),
        last_backup_time: obj
            .template
            .get("LAST_BACKUP_TIME")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
        last_backup_duration: 0,
        sched_actions: ids_of(
            obj.template
                .vectors("SCHED_ACTION")
                .iter()
                .filter_map(|a| a.get("ID")?.parse().ok()),
        ),
        updated_vms: models::Ids::default(),
        outdated_vms: models::Ids::default(),
        backing_up_vms: models::Ids::default(),
        error_vms: models::Ids::default(),
        template: with_sched_actions_in_order(template.to_template()),
    })
}

/// `<MONITORING_DATA>` for hosts.
pub(crate) fn host_monitoring(oned: &Oned, hosts: &[i32]) -> String {
    let data = models::HostMonitoringData {
        monitoring: hosts
            .iter()
            .filter_map(|id| match oned.get(Kind::Host, *id) {
                Some(Obj {
                    ext: Ext::Host(host),
                    ..
                }) if host.probed => Some(dummy_host::monitoring(
                    *id,
                    oned.now(),
                    host.cpu_usage,
                    host.mem_usage,
                )),
                _ => None,
            })
            .collect(),
    };
    // A named type without a global element of its own (`MONITORING_DATA` is the VM form).
    xml_of(&data, "MONITORING_DATA")
}

/// `<ACL_POOL>` with `rules` in the order given.
pub(crate) fn acl_pool(rules: &[super::acl::Rule]) -> String {
    models::AclPool {
        acl: rules
            .iter()
            .map(|rule| models::Acl {
                id: i64::from(rule.id),
                user: format!("{:x}", rule.user),
                resource: format!("{:x}", rule.resource),
                rights: format!("{:x}", rule.rights),
                zone: format!("{:x}", rule.zone),
                string: rule.string(),
            })
            .collect(),
    }
    .to_xml()
}

/// `one.zone.raftstatus`: a front-end without HA (SOLO, no server id, empty log).
pub(crate) fn raft_status() -> String {
    let status = models::RaftStatus {
        server_id: -1,
        state: 0,
        term: 0,
        votedfor: -1,
        commit: 0,
        log_index: -1,
        log_term: -1,
        fedlog_index: -1,
    };
    xml_of(&status, "RAFT")
}

/// `one.system.config`: the configuration attributes clients read.
pub(crate) fn config() -> String {
    let s = |v: &str| vec![v.to_string()];
    models::OpenNebulaConfiguration {
        action_timeout: Some(300),
        api_list_order: s("DESC"),
        default_auth: s("default"),
        default_device_prefix: s("sd"),
        default_umask: s("177"),
        host_encrypted_attr: s("EC2_ACCESS"),
        manager_timer: vec![15],
        monitoring_interval_host: Some(180),
        port: Some(2633),
        scripts_remote_dir: Some("/var/tmp/one".into()),
        vm_submit_on_hold: Some("NO".into()),
        ..models::OpenNebulaConfiguration::default()
    }
    .to_xml()
}

#[cfg(test)]
mod tests {
    use super::ip6_of;

    #[test]
    fn ipv6_addresses_come_from_the_mac_as_modified_eui64() {
        // oned: MAC 02:00:99:dd:23:55 under fd00:: gives fd00::99ff:fedd:2355.
        assert_eq!(
            ip6_of("fd00::", 0x02_00_99_dd_23_55).as_deref(),
            Some("fd00::99ff:fedd:2355")
        );
        assert_eq!(
            ip6_of("2001:db8::", 0x02_00_99_dd_23_5c).as_deref(),
            Some("2001:db8::99ff:fedd:235c")
        );
        assert_eq!(
            ip6_of("fe80::", 0x00_11_22_33_44_55).as_deref(),
            Some("fe80::211:22ff:fe33:4455")
        );
        assert_eq!(ip6_of("not an address", 1), None);
    }
}
