//! The VM documents, built from the generated model types (`opennebula::models`) and written
//! with their `ToXml`: `one.vm.info`'s full VM ([`models::Vm`]), the abridged VM of
//! `one.vmpool.info` ([`models::VmSummary`]), the full pools of `infoextended` / `infoset`
//! ([`models::VmPoolExtended`]), the history records of `one.vmpool.accounting`
//! ([`models::HistoryRecords`]), the showback records ([`models::ShowbackRecords`]) and the
//! monitoring series ([`models::MonitoringData`]).
//!
//! The server state ([`super::VmData`]) keeps what oned keeps; this module only maps it onto the
//! models, in oned's element order (which the schemas in `schemas/` encode).

use super::super::prelude::*;
use super::super::sched_action::in_order as sched_action_in_order;
use super::super::xml_parts::{lock_of, owner_of, permissions_of};
use super::{History, VmData};
use opennebula::models;
use opennebula::template::{Template, Value, Vector};
use opennebula::xml::ToXml;

/// The members of a disk in the short pool listing, in oned's order.
const SUMMARY_DISK: [&str; 11] = [
    "DISK_ID",
    "DATASTORE",
    "DATASTORE_ID",
    "IMAGE",
    "IMAGE_ID",
    "SIZE",
    "TYPE",
    "CLONE",
    "CLONE_TARGET",
    "LN_TARGET",
    "DISK_SNAPSHOT_TOTAL_SIZE",
];

/// The members of a NIC in the short pool listing, when set.
const SUMMARY_NIC: [&str; 6] = [
    "IP",
    "MAC",
    "NETWORK",
    "NETWORK_ID",
    "NIC_ID",
    "SECURITY_GROUPS",
];

/// The USER_TEMPLATE attributes the short pool listing keeps.
const SUMMARY_USER: [&str; 5] = [
    "LABELS",
    "ERROR",
    "SCHED_MESSAGE",
    "SCHED_RANK",
    "SCHED_REQUIREMENTS",
];

/// The VM's last monitoring sample (empty until the dummy monitor has polled it).
pub(crate) fn monitoring(id: i32, vm: &VmData) -> models::VmMonitoring {
    if vm.last_poll == 0 {
        return models::VmMonitoring::default();
    }
    sample(id, vm, vm.last_poll)
}

/// The dummy monitor's record of VM `id` polled at `timestamp`.
fn sample(id: i32, vm: &VmData, timestamp: i64) -> models::VmMonitoring {
    models::VmMonitoring {
        cpu: Some(0.0),
        diskrdbytes: Some(0.0),
        diskrdiops: Some(0.0),
        diskwrbytes: Some(0.0),
        diskwriops: Some(0.0),
        id: Some(i64::from(id)),
        memory: Some((vm.memory_mb * 1024) as f64),
        netrx: Some(0.0),
        nettx: Some(0.0),
        timestamp: Some(timestamp),
        ..Default::default()
    }
}

/// The VM TEMPLATE in oned's order: attributes by name, the scheduled actions last with
/// their members in oned's order.
fn vm_template(obj: &Obj, vm: &VmData) -> Template {
    let mut template = obj.template.to_template_without(&["SCHED_ACTION"]);
    for action in &vm.sched_actions {
        let members: Vec<(&str, &str)> = action
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        template.push(
            "SCHED_ACTION",
            Value::Vector(sched_action_in_order(&members, true)),
        );
    }
    template
}

fn history(oid: i32, h: &History) -> models::VmHistory {
    models::VmHistory {
        oid: i64::from(oid),
        seq: i64::from(h.seq),
        hostname: h.hostname.clone(),
        hid: i64::from(h.hid),
        cid: i64::from(h.cid),
        stime: h.stime,
        etime: h.etime,
        vm_mad: h.vm_mad.clone(),
        tm_mad: h.tm_mad.clone(),
        ds_id: i64::from(h.ds_id),
        plan_id: i64::from(h.plan_id),
        action_id: i64::from(h.action_id),
        pstime: h.pstime,
        petime: h.petime,
        rstime: h.rstime,
        retime: h.retime,
        estime: h.estime,
        eetime: h.eetime,
        action: i64::from(h.action),
        uid: i64::from(h.uid),
        gid: i64::from(h.gid),
        request_id: h.request_id.to_string(),
    }
}

/// The full VM of `one.vm.info` (`full: false`, as in the extended pool listings: only the
/// last history record, no monitoring).
pub(crate) fn vm(oned: &Oned, obj: &Obj, vm: &VmData, full: bool) -> models::Vm {
    let records: &[History] = if full || vm.history.is_empty() {
        &vm.history
    } else {
        &vm.history[vm.history.len() - 1..]
    };
    let o = owner_of(oned, obj);
    models::Vm {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        permissions: permissions_of(obj),
        // oned's pool listings read the VMs from the database, without the monitoring.
        last_poll: if full { vm.last_poll } else { 0 },
        state: i64::from(vm.state),
        lcm_state: i64::from(vm.lcm_state),
        prev_state: i64::from(vm.prev_state),
        prev_lcm_state: i64::from(vm.prev_lcm_state),
        resched: i64::from(vm.resched),
        stime: vm.stime,
        etime: vm.etime,
        deploy_id: vm.deploy_id.clone(),
        lock: lock_of(obj),
        monitoring: if full {
            monitoring(obj.id, vm)
        } else {
            models::VmMonitoring::default()
        },
        sched_actions: models::Ids {
            id: vm
                .sched_actions
                .iter()
                .filter_map(|a| a.get("ID")?.parse().ok())
                .collect(),
        },
        template: vm_template(obj, vm),
        user_template: vm.user_template.to_template(),
        history_records: models::VmHistoryRecords {
            history: records.iter().map(|h| history(obj.id, h)).collect(),
        },
        snapshots: vm
            .disk_snapshots
            .iter()
            .map(|(disk, tree)| models::VmDiskSnapshots {
                allow_orphans: "NO".into(),
                current_base: -1,
                disk_id: i64::from(*disk),
                next_snapshot: i64::from(tree.next),
                snapshot: tree
                    .list
                    .iter()
                    .map(|snap| models::DiskSnapshot {
                        active: snap.active.then(|| "YES".to_string()),
                        children: None,
                        date: snap.date,
                        id: i64::from(snap.id),
                        name: Some(snap.name.clone()),
                        parent: i64::from(snap.parent),
                        size: snap.size,
                    })
                    .collect(),
            })
            .collect(),
        backups: models::VmBackups::default(),
    }
}

/// The abridged VM of `one.vmpool.info` listings.
pub(crate) fn summary(oned: &Oned, obj: &Obj, vm: &VmData) -> models::VmSummary {
    let mut template = Template::new();
    for key in ["CPU", "MEMORY", "VCPU"] {
        template.push(key, obj.template.get(key).unwrap_or(""));
    }
    for disk in obj.template.vectors("DISK") {
        let vector: Vector = SUMMARY_DISK
            .iter()
            .map(|key| (*key, disk.get(*key).map_or("", String::as_str)))
            .collect();
        template.push("DISK", Value::Vector(vector));
    }
    for (name, keys) in [
        ("NIC", &SUMMARY_NIC[..]),
        ("GRAPHICS", &["LISTEN", "PORT", "TYPE"]),
    ] {
        for found in obj.template.vectors(name) {
            let vector: Vector = keys
                .iter()
                .filter_map(|key| Some((*key, found.get(*key)?.as_str())))
                .collect();
            template.push(name, Value::Vector(vector));
        }
    }
    let mut user_template = Template::new();
    for key in SUMMARY_USER {
        if let Some(value) = vm.user_template.get(key) {
            user_template.push(key, value);
        }
    }
    let o = owner_of(oned, obj);
    models::VmSummary {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        last_poll: 0,
        state: i64::from(vm.state),
        lcm_state: i64::from(vm.lcm_state),
        resched: i64::from(vm.resched),
        stime: vm.stime,
        etime: vm.etime,
        deploy_id: vm.deploy_id.clone(),
        lock: lock_of(obj),
        template,
        monitoring: Some(Template::new()),
        user_template,
        history_records: models::VmSummaryHistoryRecords {
            history: vm
                .history
                .last()
                .map(|h| models::VmSummaryHistory {
                    oid: i64::from(obj.id),
                    seq: i64::from(h.seq),
                    hostname: h.hostname.clone(),
                    hid: i64::from(h.hid),
                    cid: i64::from(h.cid),
                    ds_id: i64::from(h.ds_id),
                    vm_mad: h.vm_mad.clone(),
                    tm_mad: h.tm_mad.clone(),
                    action: i64::from(h.action),
                })
                .into_iter()
                .collect(),
        },
    }
}

fn vm_of(oned: &Oned, id: i32) -> Option<(&Obj, &VmData)> {
    match oned.get(Kind::Vm, id) {
        Some(
            obj @ Obj {
                ext: Ext::Vm(vm), ..
            },
        ) => Some((obj, vm)),
        _ => None,
    }
}

/// A `VM_POOL` of the VMs `ids` (already filtered and ordered): abridged entries, or full
/// ones for `one.vmpool.infoextended` / `one.vmpool.infoset` with `extended`.
pub(crate) fn pool(oned: &Oned, ids: &[i32], extended: bool) -> String {
    let vms = ids.iter().filter_map(|id| vm_of(oned, *id));
    if extended {
        models::VmPoolExtended {
            vm: vms.map(|(obj, data)| vm(oned, obj, data, false)).collect(),
        }
        .to_xml()
    } else {
        models::VmPool {
            vm: vms.map(|(obj, data)| summary(oned, obj, data)).collect(),
        }
        .to_xml()
    }
}

/// `<HISTORY_RECORDS>` of `one.vmpool.accounting`: every history record of the VMs `vms`
/// (oldest VM first), each followed by the VM's full document.
pub(crate) fn accounting(oned: &Oned, vms: &[i32]) -> String {
    let mut records = models::HistoryRecords::default();
    for id in vms.iter().rev() {
        let Some((obj, data)) = vm_of(oned, *id) else {
            continue;
        };
        let body = vm(oned, obj, data, true);
        for h in &data.history {
            let r = history(*id, h);
            records.history.push(models::History {
                oid: r.oid,
                seq: r.seq,
                hostname: r.hostname,
                hid: r.hid,
                cid: r.cid,
                stime: r.stime,
                etime: r.etime,
                vm_mad: r.vm_mad,
                tm_mad: r.tm_mad,
                ds_id: r.ds_id,
                plan_id: r.plan_id,
                action_id: r.action_id,
                pstime: r.pstime,
                petime: r.petime,
                rstime: r.rstime,
                retime: r.retime,
                estime: r.estime,
                eetime: r.eetime,
                action: r.action,
                uid: r.uid,
                gid: r.gid,
                request_id: r.request_id,
                vm: body.clone(),
            });
        }
    }
    records.to_xml()
}

/// `<MONITORING_DATA>` of the VMs `vms`, each VM's records oldest first: all of them
/// (`seconds` -1), the last one (0), or those of the last `seconds` seconds.
pub(crate) fn monitoring_data(oned: &Oned, vms: &[i32], seconds: i64) -> String {
    let since = oned.now() - seconds;
    let mut data = models::MonitoringData::default();
    for (obj, vm) in vms.iter().filter_map(|id| vm_of(oned, *id)) {
        // A VM seeded as already monitored has its last poll only.
        let polls: &[i64] = if vm.polls.is_empty() && vm.last_poll > 0 {
            std::slice::from_ref(&vm.last_poll)
        } else {
            &vm.polls
        };
        let chosen: &[i64] = match seconds {
            0 => &polls[polls.len().saturating_sub(1)..],
            s if s < 0 => polls,
            _ => {
                let first = polls.partition_point(|t| *t < since);
                &polls[first..]
            }
        };
        data.monitoring
            .extend(chosen.iter().map(|t| sample(obj.id, vm, *t)));
    }
    data.to_xml()
}

/// `<SHOWBACK_RECORDS>` (no costs are computed by the test server: empty).
pub(crate) fn showback() -> String {
    models::ShowbackRecords::default().to_xml()
}
