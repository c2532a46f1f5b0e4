//! The XML documents of every object type, in oned's element order. One function per type:
//! the single place to switch to the generated model types when they land.

use std::collections::BTreeMap;

use super::objects::{Ext, Obj};
mod vm;

use super::vm::{format_ip, format_mac};
use super::{Kind, Oned};
use crate::server::xmlout::Doc;
pub(crate) use vm::{accounting, monitoring_data, pool as vm_pool, showback};

fn permissions(doc: &mut Doc, obj: &Obj) {
    const NAMES: [&str; 9] = [
        "OWNER_U", "OWNER_M", "OWNER_A", "GROUP_U", "GROUP_M", "GROUP_A", "OTHER_U", "OTHER_M",
        "OTHER_A",
    ];
    doc.open("PERMISSIONS");
    for (name, value) in NAMES.iter().zip(obj.perms) {
        doc.text(name, value);
    }
    doc.close("PERMISSIONS");
}

fn owner(doc: &mut Doc, oned: &Oned, obj: &Obj) {
    doc.text("ID", obj.id)
        .text("UID", obj.uid)
        .text("GID", obj.gid)
        .text("UNAME", oned.uname(obj.uid))
        .text("GNAME", oned.gname(obj.gid))
        .text("NAME", &obj.name);
}

fn lock(doc: &mut Doc, obj: &Obj) {
    if let Some(lock) = &obj.lock {
        doc.open("LOCK")
            .text("LOCKED", lock.level)
            .text("OWNER", lock.owner)
            .text("TIME", lock.time)
            .text("REQ_ID", -1)
            .close("LOCK");
    }
}

fn ids(doc: &mut Doc, name: &str, ids: impl IntoIterator<Item = i32>) {
    doc.open(name);
    for id in ids {
        doc.text("ID", id);
    }
    doc.close(name);
}

/// The limits of each quota section, in oned's order; a limit not set is `unset` (-1 for a
/// user or group: the default applies; -2 in the defaults: unlimited).
const QUOTA_SECTIONS: &[(&str, &str, &[&str])] = &[
    ("DATASTORE_QUOTA", "DATASTORE", &["IMAGES", "SIZE"]),
    ("NETWORK_QUOTA", "NETWORK", &["LEASES"]),
    (
        "VM_QUOTA",
        "VM",
        &[
            "CPU",
            "MEMORY",
            "PCI_DEV",
            "PCI_NIC",
            "RUNNING_CPU",
            "RUNNING_MEMORY",
            "RUNNING_PCI_DEV",
            "RUNNING_PCI_NIC",
            "RUNNING_VMS",
            "SYSTEM_DISK_SIZE",
            "VMS",
        ],
    ),
    ("IMAGE_QUOTA", "IMAGE", &["RVMS"]),
];

fn quotas_of(doc: &mut Doc, quotas: Option<&crate::server::tmpl::Tmpl>, unset: &str) {
    for (section, item, limits) in QUOTA_SECTIONS {
        doc.open(section);
        for entry in quotas.map(|q| q.vectors(item)).unwrap_or_default() {
            doc.open(item);
            if let Some(id) = entry.get("ID") {
                doc.cdata("ID", id);
            }
            for limit in *limits {
                doc.cdata(limit, entry.get(*limit).map_or(unset, String::as_str));
                doc.cdata(&format!("{limit}_USED"), "0");
            }
            doc.close(item);
        }
        doc.close(section);
    }
}

fn default_quotas_into(doc: &mut Doc, oned: &Oned, object: &str) {
    let root = if object == "userquota" {
        "DEFAULT_USER_QUOTAS"
    } else {
        "DEFAULT_GROUP_QUOTAS"
    };
    doc.open(root);
    quotas_of(doc, oned.default_quotas.get(object), "-2");
    doc.close(root);
}

/// `<DEFAULT_USER_QUOTAS>` / `<DEFAULT_GROUP_QUOTAS>`.
pub(crate) fn default_quotas(oned: &Oned, object: &str) -> String {
    let mut doc = Doc::new();
    default_quotas_into(&mut doc, oned, object);
    doc.finish()
}

/// The document of one object (`full`: as `info` returns it, else as listed in a pool).
pub(crate) fn document(oned: &Oned, obj: &Obj, full: bool) -> String {
    let mut doc = Doc::new();
    write(&mut doc, oned, obj, full);
    doc.finish()
}

/// A pool document with the objects `ids` (already filtered and ordered).
pub(crate) fn pool(oned: &Oned, kind: Kind, ids: &[i32]) -> String {
    pool_with(oned, kind, ids, false)
}

/// A pool document; `extended` writes full documents where oned's listing is abridged
/// (`one.vmpool.infoextended`).
pub(crate) fn pool_with(oned: &Oned, kind: Kind, ids: &[i32], extended: bool) -> String {
    let root = format!("{}_POOL", kind.root());
    let mut doc = Doc::new();
    doc.open(&root);
    for id in ids {
        if let Some(obj) = oned.get(kind, *id) {
            match (&obj.ext, extended) {
                (Ext::Vm(vm), false) => vm::vm_short(&mut doc, oned, obj, vm),
                _ => write(&mut doc, oned, obj, extended),
            }
            if matches!(kind, Kind::User | Kind::Group) {
                doc.open("QUOTAS").text("ID", obj.id);
                quotas_of(&mut doc, oned.quotas.get(&(kind, obj.id)), "-1");
                doc.close("QUOTAS");
                if kind == Kind::Group {
                    doc.open("VLAN_RULES")
                        .cdata("ID", &obj.id.to_string())
                        .close("VLAN_RULES");
                }
            }
        }
    }
    match kind {
        Kind::User => default_quotas_into(&mut doc, oned, "userquota"),
        Kind::Group => default_quotas_into(&mut doc, oned, "groupquota"),
        _ => {}
    }
    doc.close(&root);
    doc.finish()
}

fn write(doc: &mut Doc, oned: &Oned, obj: &Obj, full: bool) {
    let root = obj.kind.root();
    doc.open(root);
    match &obj.ext {
        Ext::User(user) => {
            doc.text("ID", obj.id).text("GID", obj.gid);
            ids(doc, "GROUPS", user.groups.iter().copied());
            doc.text("GNAME", oned.gname(obj.gid))
                .text("NAME", &obj.name)
                .cdata("PASSWORD", &user.password)
                .cdata("AUTH_DRIVER", &user.driver)
                .text("ENABLED", u8::from(user.enabled));
            for (token, expires, egid) in oned.login_tokens(obj.id) {
                doc.open("LOGIN_TOKEN")
                    .text("TOKEN", token)
                    .text("EXPIRATION_TIME", expires)
                    .text("EGID", egid)
                    .close("LOGIN_TOKEN");
            }
            obj.template.write(doc, "TEMPLATE");
            if full {
                quotas_of(doc, oned.quotas.get(&(Kind::User, obj.id)), "-1");
                default_quotas_into(doc, oned, "userquota");
            }
        }
        Ext::Group(group) => {
            doc.text("ID", obj.id).text("NAME", &obj.name);
            obj.template.write(doc, "TEMPLATE");
            ids(doc, "USERS", group.users.iter().copied());
            ids(doc, "ADMINS", group.admins.iter().copied());
            if full {
                quotas_of(doc, oned.quotas.get(&(Kind::Group, obj.id)), "-1");
                doc.open("VLAN_RULES")
                    .cdata("ID", &obj.id.to_string())
                    .close("VLAN_RULES");
                default_quotas_into(doc, oned, "groupquota");
            }
        }
        Ext::Host(host) => {
            let cluster = oned
                .get(Kind::Cluster, host.cluster_id)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let (cpu_usage, mem_usage) = host
                .vms
                .iter()
                .filter_map(|id| oned.get(Kind::Vm, *id))
                .fold((0i64, 0i64), |acc, vm| match &vm.ext {
                    Ext::Vm(v) => (acc.0 + (v.cpu * 100.0) as i64, acc.1 + v.memory_mb * 1024),
                    _ => acc,
                });
            doc.text("ID", obj.id)
                .text("NAME", &obj.name)
                .text("STATE", host.state)
                .text("PREV_STATE", host.prev_state)
                .cdata("IM_MAD", &host.im_mad)
                .cdata("VM_MAD", &host.vm_mad)
                .text("CLUSTER_ID", host.cluster_id)
                .text("CLUSTER", cluster);
            doc.open("HOST_SHARE")
                .text("MEM_USAGE", mem_usage + host.mem_usage)
                .text("CPU_USAGE", cpu_usage + host.cpu_usage)
                .text("TOTAL_MEM", host.total_mem)
                .text("TOTAL_CPU", host.total_cpu)
                .text("MAX_MEM", host.total_mem)
                .text("MAX_CPU", host.total_cpu)
                .text("RUNNING_VMS", host.vms.len())
                .text("VMS_THREAD", 1);
            let disk = if host.total_cpu > 0 { "20480" } else { "0" };
            doc.open("DATASTORES")
                .cdata("DISK_USAGE", "0")
                .cdata("FREE_DISK", disk)
                .cdata("MAX_DISK", disk)
                .cdata("USED_DISK", "0")
                .close("DATASTORES")
                .raw("<PCI_DEVICES></PCI_DEVICES><NUMA_NODES></NUMA_NODES>")
                .close("HOST_SHARE");
            ids(doc, "VMS", host.vms.iter().copied());
            obj.template.write(doc, "TEMPLATE");
            doc.empty("MONITORING");
        }
        Ext::Cluster(cluster) => {
            doc.text("ID", obj.id).text("NAME", &obj.name);
            ids(doc, "HOSTS", cluster.hosts.iter().copied());
            ids(doc, "DATASTORES", cluster.datastores.iter().copied());
            ids(doc, "VNETS", cluster.vnets.iter().copied());
            obj.template.write(doc, "TEMPLATE");
        }
        Ext::Datastore(ds) => {
            owner(doc, oned, obj);
            permissions(doc, obj);
            doc.cdata("DS_MAD", &ds.ds_mad)
                .cdata("TM_MAD", &ds.tm_mad)
                .cdata("BASE_PATH", &format!("/var/lib/one//datastores/{}", obj.id))
                .text("TYPE", ds.ds_type)
                .text("DISK_TYPE", 0)
                .text("STATE", ds.state);
            ids(doc, "CLUSTERS", ds.clusters.iter().copied());
            doc.text("TOTAL_MB", 0)
                .text("FREE_MB", 0)
                .text("USED_MB", 0);
            ids(doc, "IMAGES", ds.images.iter().copied());
            obj.template.write(doc, "TEMPLATE");
        }
        Ext::Image(image) => {
            owner(doc, oned, obj);
            lock(doc, obj);
            permissions(doc, obj);
            let ds_name = oned
                .get(Kind::Datastore, image.datastore_id)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            doc.text("TYPE", image.image_type)
                .text("DISK_TYPE", 0)
                .text("PERSISTENT", u8::from(image.persistent))
                .text("REGTIME", obj.regtime)
                .text("MODTIME", image.modtime)
                .cdata("SOURCE", &image.source)
                .cdata("PATH", &image.path)
                .cdata("FORMAT", &image.format)
                .cdata("FS", "")
                .text("SIZE", image.size)
                .text("STATE", image.state)
                .text("PREV_STATE", image.prev_state)
                .text("RUNNING_VMS", image.vms.len())
                .text("CLONING_OPS", 0)
                .text("CLONING_ID", -1)
                .text("TARGET_SNAPSHOT", -1)
                .text("DATASTORE_ID", image.datastore_id)
                .text("DATASTORE", ds_name);
            ids(doc, "VMS", image.vms.iter().copied());
            ids(doc, "CLONES", image.clones.iter().copied());
            doc.raw("<APP_CLONES></APP_CLONES>");
            obj.template.write(doc, "TEMPLATE");
            doc.open("SNAPSHOTS")
                .cdata("ALLOW_ORPHANS", "NO")
                .cdata("CURRENT_BASE", "-1")
                .cdata("NEXT_SNAPSHOT", "0")
                .close("SNAPSHOTS")
                .raw("<BACKUP_INCREMENTS></BACKUP_INCREMENTS><BACKUP_DISK_IDS></BACKUP_DISK_IDS>");
        }
        Ext::Vm(vm) => vm::vm_body(doc, oned, obj, vm, full),
        Ext::Vnet(vnet) => {
            owner(doc, oned, obj);
            permissions(doc, obj);
            lock(doc, obj);
            ids(doc, "CLUSTERS", vnet.clusters.iter().copied());
            let used: usize = vnet.ars.iter().map(|a| a.leases.len()).sum();
            doc.cdata("BRIDGE", &vnet.bridge)
                .cdata("BRIDGE_TYPE", "linux")
                .cdata("STATE", "1")
                .cdata("PREV_STATE", "1");
            match vnet.parent {
                Some(parent) => doc.cdata("PARENT_NETWORK_ID", &parent.to_string()),
                None => doc.empty("PARENT_NETWORK_ID"),
            };
            match obj.template.get("TEMPLATE_ID") {
                Some(t) => doc.cdata("TEMPLATE_ID", t),
                None => doc.empty("TEMPLATE_ID"),
            };
            doc.cdata("VN_MAD", &vnet.vn_mad)
                .raw("<PHYDEV/><VLAN_ID/><OUTER_VLAN_ID/>")
                .text("VLAN_ID_AUTOMATIC", 0)
                .text("OUTER_VLAN_ID_AUTOMATIC", 0)
                .text("USED_LEASES", used)
                .raw("<VROUTERS></VROUTERS><UPDATED_VMS></UPDATED_VMS><OUTDATED_VMS></OUTDATED_VMS><UPDATING_VMS></UPDATING_VMS><ERROR_VMS></ERROR_VMS>");
            obj.template.write(doc, "TEMPLATE");
            doc.open("AR_POOL");
            for ar in &vnet.ars {
                // The stored attributes come sorted (oned's map), the computed ones after.
                let mut stored: BTreeMap<String, String> = ar.extra.clone();
                stored.insert("AR_ID".into(), ar.id.to_string());
                if let Some(ip) = ar.ip {
                    stored.insert("IP".into(), format_ip(ip));
                }
                stored.insert("MAC".into(), format_mac(ar.mac));
                stored.insert("NEXT_INDEX".into(), ar.next_index.to_string());
                stored.insert("SHARED".into(), "NO".into());
                stored.insert("SIZE".into(), ar.size.to_string());
                stored.insert("TYPE".into(), ar.ar_type.clone());
                doc.open("AR");
                for (k, v) in &stored {
                    doc.cdata(k, v);
                }
                if !full {
                    // Pool listings give the allocation map instead of the leases: each
                    // index with its owner (object type bits and id).
                    let allocated: Vec<String> = ar
                        .leases
                        .iter()
                        .map(|(index, owner)| {
                            let encoded: i64 = if *owner <= -1000 {
                                0x40_0000_0000 | i64::from(-1000 - owner)
                            } else if *owner >= 0 {
                                0x10_0000_0000 | i64::from(*owner)
                            } else {
                                0x10_0000_0000 | 0xFFFF_FFFF
                            };
                            format!("{index} {encoded}")
                        })
                        .collect();
                    doc.cdata("ALLOCATED", &allocated.join(" "));
                    doc.close("AR");
                    continue;
                }
                doc.cdata("MAC_END", &format_mac(ar.mac + ar.size as u64 - 1));
                if let Some(ip) = ar.ip {
                    doc.cdata("IP_END", &format_ip(ip + ar.size - 1));
                }
                doc.text("USED_LEASES", ar.leases.len());
                if ar.leases.is_empty() {
                    doc.empty("LEASES");
                } else {
                    doc.open("LEASES");
                    for (index, owner) in &ar.leases {
                        doc.open("LEASE");
                        if let Some(ip) = ar.ip {
                            doc.text("IP", format_ip(ip + index));
                        }
                        doc.text("MAC", format_mac(ar.mac + *index as u64));
                        if *owner >= 0 {
                            doc.text("VM", owner);
                        } else if *owner <= -1000 {
                            doc.text("VNET", -1000 - owner);
                        } else {
                            doc.text("VM", -1);
                        }
                        doc.close("LEASE");
                    }
                    doc.close("LEASES");
                }
                doc.close("AR");
            }
            doc.close("AR_POOL");
        }
        Ext::Document(doc_type) => {
            owner(doc, oned, obj);
            doc.text("TYPE", doc_type);
            permissions(doc, obj);
            lock(doc, obj);
            obj.template.write(doc, "TEMPLATE");
        }
        Ext::Market(state) => {
            owner(doc, oned, obj);
            let apps: Vec<i32> = oned
                .pool(Kind::MarketApp)
                .values()
                .filter(|a| matches!(&a.ext, Ext::MarketApp(m) if m.market == obj.id))
                .map(|a| a.id)
                .collect();
            doc.text("STATE", state)
                .cdata("MARKET_MAD", obj.template.get("MARKET_MAD").unwrap_or(""))
                .cdata("ZONE_ID", "0")
                .text("TOTAL_MB", 0)
                .text("FREE_MB", 0)
                .text("USED_MB", 0);
            ids(doc, "MARKETPLACEAPPS", apps);
            permissions(doc, obj);
            obj.template.write(doc, "TEMPLATE");
        }
        Ext::MarketApp(app) => {
            doc.text("ID", obj.id)
                .text("UID", obj.uid)
                .text("GID", obj.gid)
                .text("UNAME", oned.uname(obj.uid))
                .text("GNAME", oned.gname(obj.gid));
            lock(doc, obj);
            let ready = app.state != 2;
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
            doc.text("REGTIME", obj.regtime)
                .text("NAME", &obj.name)
                .cdata("ZONE_ID", "0")
                .cdata("ORIGIN_ID", &app.origin.to_string())
                .cdata("SOURCE", &source)
                .cdata("MD5", &md5)
                .text("SIZE", if ready { app.size } else { 0 })
                .cdata("DESCRIPTION", obj.template.get("DESCRIPTION").unwrap_or(""))
                .cdata("VERSION", obj.template.get("VERSION").unwrap_or("0.0"))
                .cdata("FORMAT", if ready { &app.format } else { "" })
                .cdata(
                    "APPTEMPLATE64",
                    obj.template.get("APPTEMPLATE64").unwrap_or(""),
                )
                .text("MARKETPLACE_ID", app.market)
                .text(
                    "MARKETPLACE",
                    oned.get(Kind::Market, app.market)
                        .map(|m| m.name.clone())
                        .unwrap_or_default(),
                )
                .text("STATE", app.state)
                .text("TYPE", 1);
            permissions(doc, obj);
            obj.template.write(doc, "TEMPLATE");
        }
        Ext::Hook(hook_type) => {
            doc.text("ID", obj.id)
                .text("NAME", &obj.name)
                .text("TYPE", hook_type);
            lock(doc, obj);
            obj.template.write(doc, "TEMPLATE");
            if full {
                doc.raw("<HOOKLOG></HOOKLOG>");
            }
        }
        Ext::Vdc(vdc) => {
            doc.text("ID", obj.id).text("NAME", &obj.name);
            ids(doc, "GROUPS", vdc.groups.iter().copied());
            for (kind, list, item, field) in [
                (Kind::Cluster, "CLUSTERS", "CLUSTER", "CLUSTER_ID"),
                (Kind::Host, "HOSTS", "HOST", "HOST_ID"),
                (Kind::Datastore, "DATASTORES", "DATASTORE", "DATASTORE_ID"),
                (Kind::Vnet, "VNETS", "VNET", "VNET_ID"),
            ] {
                doc.open(list);
                for (k, zone, id) in &vdc.resources {
                    if *k == kind {
                        doc.open(item)
                            .text("ZONE_ID", zone)
                            .text(field, id)
                            .close(item);
                    }
                }
                doc.close(list);
            }
            obj.template.write(doc, "TEMPLATE");
        }
        Ext::None => match obj.kind {
            Kind::Zone => {
                doc.text("ID", obj.id)
                    .text("NAME", &obj.name)
                    .text("STATE", 0);
                obj.template.write(doc, "TEMPLATE");
                doc.raw("<SERVER_POOL></SERVER_POOL>");
            }
            Kind::Template | Kind::VnTemplate => {
                owner(doc, oned, obj);
                lock(doc, obj);
                permissions(doc, obj);
                doc.text("REGTIME", obj.regtime);
                obj.template.write(doc, "TEMPLATE");
            }
            Kind::SecGroup => {
                owner(doc, oned, obj);
                permissions(doc, obj);
                doc.raw("<UPDATED_VMS></UPDATED_VMS><OUTDATED_VMS></OUTDATED_VMS><UPDATING_VMS></UPDATING_VMS><ERROR_VMS></ERROR_VMS>");
                obj.template.write(doc, "TEMPLATE");
            }
            Kind::VmGroup => {
                owner(doc, oned, obj);
                permissions(doc, obj);
                lock(doc, obj);
                doc.open("ROLES");
                for role in obj.template.vectors("ROLE") {
                    let name = role.get("NAME").cloned().unwrap_or_default();
                    let vms: Vec<String> = oned
                        .pool(Kind::Vm)
                        .values()
                        .filter(|vm| {
                            vm.template.vectors("VMGROUP").iter().any(|g| {
                                g.get("VMGROUP_ID") == Some(&obj.id.to_string())
                                    && g.get("ROLE") == Some(&name)
                            }) && matches!(&vm.ext, Ext::Vm(v) if v.state != 6)
                        })
                        .map(|vm| vm.id.to_string())
                        .collect();
                    doc.open("ROLE");
                    for (k, v) in role.iter() {
                        doc.cdata(k, v);
                    }
                    if !vms.is_empty() {
                        doc.cdata("VMS", &vms.join(","));
                    }
                    doc.close("ROLE");
                }
                doc.close("ROLES");
                let mut template = obj.template.clone();
                template.remove("ROLE");
                template.write(doc, "TEMPLATE");
            }
            Kind::VRouter => {
                owner(doc, oned, obj);
                permissions(doc, obj);
                lock(doc, obj);
                ids(doc, "VMS", super::vm::vrouter_vms(oned, obj.id));
                obj.template.write(doc, "TEMPLATE");
            }
            Kind::BackupJob => {
                owner(doc, oned, obj);
                permissions(doc, obj);
                lock(doc, obj);
                doc.text("PRIORITY", obj.template.get("PRIORITY").unwrap_or("50"))
                    .text("LAST_BACKUP_TIME", 0)
                    .text("LAST_BACKUP_DURATION", 0);
                ids(
                    doc,
                    "SCHED_ACTIONS",
                    obj.template
                        .vectors("SCHED_ACTION")
                        .iter()
                        .filter_map(|a| a.get("ID")?.parse().ok()),
                );
                doc.raw("<UPDATED_VMS></UPDATED_VMS><OUTDATED_VMS></OUTDATED_VMS><BACKING_UP_VMS></BACKING_UP_VMS><ERROR_VMS></ERROR_VMS>");
                let mut template = obj.template.clone();
                template.remove("PRIORITY");
                template.write(doc, "TEMPLATE");
            }
            _ => {
                owner(doc, oned, obj);
                permissions(doc, obj);
                lock(doc, obj);
                obj.template.write(doc, "TEMPLATE");
            }
        },
    }
    doc.close(root);
}

/// `<MONITORING_DATA>` for hosts.
pub(crate) fn host_monitoring(oned: &Oned, hosts: &[i32]) -> String {
    let mut doc = Doc::new();
    doc.open("MONITORING_DATA");
    for id in hosts {
        if let Some(Obj {
            ext: Ext::Host(host),
            ..
        }) = oned.get(Kind::Host, *id)
        {
            doc.open("MONITORING")
                .text("TIMESTAMP", oned.now())
                .text("ID", id)
                .open("CAPACITY")
                .text("FREE_CPU", host.total_cpu)
                .text("FREE_MEMORY", host.total_mem)
                .text("USED_CPU", 0)
                .text("USED_MEMORY", 0)
                .close("CAPACITY")
                .close("MONITORING");
        }
    }
    doc.close("MONITORING_DATA");
    doc.finish()
}

/// `one.system.config`: the configuration attributes clients read.
pub(crate) fn config() -> String {
    let mut doc = Doc::new();
    doc.open("OPENNEBULA_CONFIGURATION")
        .cdata("ACTION_TIMEOUT", "300")
        .cdata("API_LIST_ORDER", "DESC")
        .cdata("DEFAULT_AUTH", "default")
        .cdata("DEFAULT_CDROM_DEVICE_PREFIX", "hd")
        .cdata("DEFAULT_DEVICE_PREFIX", "sd")
        .cdata("DEFAULT_UMASK", "177")
        .cdata("HOST_ENCRYPTED_ATTR", "EC2_ACCESS")
        .cdata("MANAGER_TIMER", "15")
        .cdata("MONITORING_INTERVAL_HOST", "180")
        .cdata("PORT", "2633")
        .cdata("SCRIPTS_REMOTE_DIR", "/var/tmp/one")
        .cdata("VM_SUBMIT_ON_HOLD", "NO")
        .close("OPENNEBULA_CONFIGURATION");
    doc.finish()
}
