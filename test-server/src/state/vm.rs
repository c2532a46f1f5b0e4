//! Virtual machines and their life cycle (actions, recover, history records, disk and
//! system snapshots, hotplug of disks / NICs / PCI devices, scheduled actions), the
//! built-in scheduler, template and VN template instantiation, virtual routers and their
//! VMs, and the address ranges and leases of virtual networks (`vnet_specific`: add /
//! update / remove ARs, hold, release, reserve).
//!
//! The dummy drivers of a test oned answer every action at once, so transitions land in
//! their final state within the call (poweroff → POWEROFF, terminate → DONE ...). History
//! records note the request that ended them with the number the server gave the call
//! (`Caller::request`), so a server's numbering depends only on its own calls.

use std::collections::{BTreeMap, BTreeSet};

use super::objects::{fetch, no_exists, AddressRange, Ext, Obj, Op, VnetData};
use super::{
    fail, fail_id, parse_template, Caller, Handled, Kind, Oned, Params, ACTION, INTERNAL, NO_EXISTS,
};
use crate::tmpl::{Attr, Tmpl};
use opennebula::wire::Value;

pub(crate) const PENDING: i32 = 1;
pub(crate) const HOLD: i32 = 2;
pub(crate) const ACTIVE: i32 = 3;
pub(crate) const STOPPED: i32 = 4;
pub(crate) const SUSPENDED: i32 = 5;
pub(crate) const DONE: i32 = 6;
pub(crate) const POWEROFF: i32 = 8;
pub(crate) const UNDEPLOYED: i32 = 9;
pub(crate) const RUNNING: i32 = 3;

/// One history record: a stay of the VM on a host, from a placement (or a driver action
/// that oned records as a copy of the open record) to the action that ends it. Times are
/// epoch seconds, 0 while a phase has not happened.
#[derive(Debug, Clone)]
pub(crate) struct History {
    pub(crate) seq: i32,
    pub(crate) hostname: String,
    pub(crate) hid: i32,
    pub(crate) cid: i32,
    pub(crate) stime: i64,
    pub(crate) etime: i64,
    pub(crate) vm_mad: String,
    pub(crate) tm_mad: String,
    pub(crate) ds_id: i32,
    /// -1 for the scheduler, -2 for a manual deploy.
    pub(crate) plan_id: i32,
    /// The index of the placement in the scheduler's plan (-1 for a manual deploy).
    pub(crate) action_id: i32,
    /// Prolog (files copied to the host): only on placements that transfer files.
    pub(crate) pstime: i64,
    pub(crate) petime: i64,
    /// Running: from the start of the record until the VM stops running.
    pub(crate) rstime: i64,
    pub(crate) retime: i64,
    /// Epilog (files copied back / deleted): stop, undeploy, terminate.
    pub(crate) estime: i64,
    pub(crate) eetime: i64,
    /// The action that closed the record (0 while open), who ran it and in which request.
    pub(crate) action: i32,
    pub(crate) uid: i32,
    pub(crate) gid: i32,
    pub(crate) request_id: i64,
}

/// Fills the VM's PCI request `pci` (the VM's `index`-th) with the dummy host's device it
/// names, as oned assigns one on a host: the device's address (ADDRESS, DOMAIN, BUS, SLOT,
/// FUNCTION), ids (VENDOR, DEVICE, CLASS) and NUMA node, and where the VM sees it (each
/// device on its own bus: VM_BUS 0x01 for the first ...). A request by SHORT_ADDRESS names
/// one device; one by VENDOR / DEVICE / CLASS takes the first device matching all it
/// gives. A request no device matches is left as given.
fn assign_pci(pci: &mut BTreeMap<String, String>, index: usize) {
    let devices = super::docs::dummy_host::pci_devices().pci;
    let wanted = |name: &str, value: &str| pci.get(name).is_none_or(|v| v == value);
    let by_address = pci.contains_key("SHORT_ADDRESS");
    let Some(device) = devices.iter().find(|d| {
        if by_address {
            wanted("SHORT_ADDRESS", &d.short_address)
        } else {
            ["VENDOR", "DEVICE", "CLASS"]
                .iter()
                .any(|k| pci.contains_key(*k))
                && wanted("VENDOR", &d.vendor)
                && wanted("DEVICE", &d.device)
                && wanted("CLASS", &d.class)
        }
    }) else {
        return;
    };
    let vm_bus = index + 1;
    for (name, value) in [
        ("ADDRESS", device.address.clone()),
        ("DOMAIN", device.domain.clone()),
        ("BUS", device.bus.clone()),
        ("SLOT", device.slot.clone()),
        ("FUNCTION", device.function.clone()),
        ("VENDOR", device.vendor.clone()),
        ("DEVICE", device.device.clone()),
        ("CLASS", device.class.clone()),
        ("NUMA_NODE", device.numa_node.clone()),
        ("SHORT_ADDRESS", device.short_address.clone()),
        ("VM_DOMAIN", "0x0000".to_string()),
        ("VM_BUS", format!("0x{vm_bus:02x}")),
        ("VM_SLOT", "0000".to_string()),
        ("VM_FUNCTION", "0".to_string()),
        ("VM_ADDRESS", format!("{vm_bus:02x}:00.0")),
    ] {
        pci.insert(name.to_string(), value);
    }
}

/// One snapshot of a VM disk.
#[derive(Debug, Clone)]
pub(crate) struct DiskSnapshot {
    pub(crate) id: i32,
    pub(crate) name: String,
    pub(crate) date: i64,
    /// MiB (the disk's size when taken).
    pub(crate) size: i64,
    pub(crate) parent: i32,
    /// The snapshot the disk was last created from or reverted to.
    pub(crate) active: bool,
}

/// The snapshots of one VM disk. oned keeps the (possibly empty) tree once a disk has had a
/// snapshot.
#[derive(Debug, Clone, Default)]
pub(crate) struct DiskSnapshots {
    pub(crate) next: i32,
    pub(crate) list: Vec<DiskSnapshot>,
}

impl DiskSnapshots {
    fn total_size(&self) -> i64 {
        self.list.iter().map(|s| s.size).sum()
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct VmData {
    pub(crate) state: i32,
    pub(crate) lcm_state: i32,
    pub(crate) prev_state: i32,
    pub(crate) prev_lcm_state: i32,
    pub(crate) resched: bool,
    pub(crate) stime: i64,
    pub(crate) etime: i64,
    pub(crate) deploy_id: String,
    pub(crate) user_template: Tmpl,
    pub(crate) history: Vec<History>,
    pub(crate) snapshots: Vec<(i32, String, i64)>,
    pub(crate) next_snapshot: i32,
    pub(crate) cpu: f64,
    pub(crate) memory_mb: i64,
    /// Scheduler ticks the VM has spent PENDING (see `schedule`).
    pub(crate) pending_ticks: u8,
    /// Scheduler ticks spent ACTIVE since the last monitoring cycle (see `MONITOR_PERIOD`).
    pub(crate) monitor_ticks: u32,
    pub(crate) last_poll: i64,
    /// When the dummy monitor polled the VM, oldest first (oned keeps the VM's monitoring
    /// records; the last `MONITORING_RECORDS` are kept here).
    pub(crate) polls: Vec<i64>,
    /// The snapshot trees of the disks that have had snapshots, by disk id.
    pub(crate) disk_snapshots: BTreeMap<i32, DiskSnapshots>,
    /// Scheduled actions (SCHED_ACTION vectors with their ids).
    pub(crate) sched_actions: Vec<BTreeMap<String, String>>,
    pub(crate) next_sched: i32,
}

const STATE_NAMES: &[(i32, &str)] = &[
    (0, "INIT"),
    (1, "PENDING"),
    (2, "HOLD"),
    (3, "ACTIVE"),
    (4, "STOPPED"),
    (5, "SUSPENDED"),
    (6, "DONE"),
    (8, "POWEROFF"),
    (9, "UNDEPLOYED"),
    (10, "CLONING"),
    (11, "CLONING_FAILURE"),
];

const LCM_NAMES: &[(i32, &str)] = &[
    (0, "LCM_INIT"),
    (1, "PROLOG"),
    (2, "BOOT"),
    (3, "RUNNING"),
    (16, "UNKNOWN"),
    (36, "BOOT_FAILURE"),
];

impl VmData {
    /// oned's name for the current state (the LCM state while ACTIVE).
    fn state_name(&self) -> &'static str {
        if self.state == ACTIVE {
            LCM_NAMES
                .iter()
                .find(|(v, _)| *v == self.lcm_state)
                .map_or("ACTIVE", |(_, n)| n)
        } else {
            STATE_NAMES
                .iter()
                .find(|(v, _)| *v == self.state)
                .map_or("INIT", |(_, n)| n)
        }
    }

    fn key(&self) -> String {
        if self.state == ACTIVE {
            format!("ACTIVE/{}", self.state_name())
        } else {
            self.state_name().to_string()
        }
    }

    /// Moves to a new state. The dummy drivers finish every transition within the call, so
    /// oned reports the previous state equal to the new one once it settles.
    fn set_state(&mut self, state: i32, lcm: i32) {
        self.prev_state = state;
        self.prev_lcm_state = lcm;
        self.state = state;
        self.lcm_state = lcm;
        if state == PENDING {
            self.pending_ticks = 0;
        }
    }

    /// Notes on the open history record that `caller` ran `action`, which stops the VM
    /// running on its host without leaving it (poweroff, suspend): the record stays open.
    fn note_action(&mut self, action: i32, caller: Caller, now: i64) {
        if let Some(last) = self.history.last_mut() {
            if last.etime == 0 {
                last.action = action;
                last.uid = caller.uid;
                last.gid = caller.gid;
                last.request_id = caller.request;
                if last.retime == 0 {
                    last.retime = now;
                }
            }
        }
    }

    /// Closes the open history record with `action` run by `caller`.
    fn close_history(&mut self, action: i32, caller: Caller, now: i64) {
        if let Some(last) = self.history.last() {
            if last.etime == 0 {
                self.note_action(action, caller, now);
                self.end_record(now);
            }
        }
    }

    /// Ends the open history record, keeping the action it holds (a resume ends the record
    /// of a powered-off or suspended VM without an action of its own).
    fn end_record(&mut self, now: i64) {
        if let Some(last) = self.history.last_mut() {
            if last.etime == 0 {
                last.etime = now;
                if last.retime == 0 {
                    last.retime = now;
                }
            }
        }
    }

    /// The epilog of the last record (files moved off the host: stop, undeploy, terminate).
    fn epilog(&mut self, now: i64) {
        if let Some(last) = self.history.last_mut() {
            last.estime = now;
            last.eetime = now;
        }
    }

    /// A new record on the host of the last one, without prolog (the VM's files are there
    /// already): resume from poweroff or suspend, live migration targets use `place`.
    fn reopen(&mut self, now: i64) {
        self.end_record(now);
        if let Some(last) = self.history.last().cloned() {
            self.history.push(History {
                seq: last.seq + 1,
                stime: now,
                etime: 0,
                pstime: 0,
                petime: 0,
                rstime: now,
                retime: 0,
                estime: 0,
                eetime: 0,
                action: 0,
                uid: -1,
                gid: -1,
                request_id: -1,
                ..last
            });
        }
    }

    /// Records a driver action on a VM that stays on its host, as oned does for accounting:
    /// a copy of the open record is opened (it keeps the action the record held, without
    /// who ran it), and the record itself is closed with `action` run by `caller`.
    pub(crate) fn record_action(&mut self, action: i32, caller: Caller, now: i64) {
        let Some(last) = self.history.last().cloned() else {
            return;
        };
        if last.etime != 0 {
            return;
        }
        let running = last.retime == 0;
        self.close_history(action, caller, now);
        self.history.push(History {
            seq: last.seq + 1,
            stime: now,
            etime: 0,
            pstime: 0,
            petime: 0,
            rstime: now,
            retime: if running { 0 } else { now },
            estime: 0,
            eetime: 0,
            uid: -1,
            gid: -1,
            request_id: -1,
            ..last
        });
    }
}

/// The states each action of `one.vm.action` is allowed from (oned 7.5's table).
fn allowed_from(action: &str) -> Option<&'static [&'static str]> {
    const FAILURES: &[&str] = &[
        "INIT",
        "PENDING",
        "HOLD",
        "CLONING",
        "CLONING_FAILURE",
        "STOPPED",
        "SUSPENDED",
        "DONE",
        "POWEROFF",
        "UNDEPLOYED",
        "ACTIVE/RUNNING",
        "ACTIVE/UNKNOWN",
        "ACTIVE/BOOT_FAILURE",
        "ACTIVE/BOOT_MIGRATE_FAILURE",
        "ACTIVE/PROLOG_MIGRATE_FAILURE",
        "ACTIVE/PROLOG_FAILURE",
        "ACTIVE/EPILOG_FAILURE",
        "ACTIVE/EPILOG_STOP_FAILURE",
        "ACTIVE/EPILOG_UNDEPLOY_FAILURE",
        "ACTIVE/PROLOG_MIGRATE_POWEROFF_FAILURE",
        "ACTIVE/PROLOG_MIGRATE_SUSPEND_FAILURE",
        "ACTIVE/BOOT_UNDEPLOY_FAILURE",
        "ACTIVE/BOOT_STOPPED_FAILURE",
        "ACTIVE/PROLOG_RESUME_FAILURE",
        "ACTIVE/PROLOG_UNDEPLOY_FAILURE",
        "ACTIVE/PROLOG_MIGRATE_UNKNOWN_FAILURE",
    ];
    Some(match action {
        "terminate" | "terminate-hard" => FAILURES,
        "undeploy" | "poweroff" => {
            &["POWEROFF", "ACTIVE/RUNNING", "ACTIVE/UNKNOWN"][usize::from(action == "poweroff")..]
        }
        "undeploy-hard" => &[
            "POWEROFF",
            "ACTIVE/RUNNING",
            "ACTIVE/UNKNOWN",
            "ACTIVE/SHUTDOWN_UNDEPLOY",
        ],
        "poweroff-hard" => &[
            "ACTIVE/RUNNING",
            "ACTIVE/UNKNOWN",
            "ACTIVE/SHUTDOWN_POWEROFF",
        ],
        "reboot" | "reboot-hard" => &["ACTIVE/RUNNING"],
        "hold" => &["PENDING"],
        "release" => &["HOLD"],
        "stop" => &["SUSPENDED", "ACTIVE/RUNNING"],
        "suspend" => &["ACTIVE/RUNNING"],
        "resume" => &[
            "STOPPED",
            "SUSPENDED",
            "POWEROFF",
            "UNDEPLOYED",
            "ACTIVE/UNKNOWN",
        ],
        "resched" | "unresched" => &["POWEROFF", "ACTIVE/RUNNING", "ACTIVE/UNKNOWN"],
        _ => return None,
    })
}

fn vm_data(obj: &Obj) -> &VmData {
    match &obj.ext {
        Ext::Vm(vm) => vm,
        _ => unreachable!("VM pool holds VMs"),
    }
}

fn vm_mut(oned: &mut Oned, id: i32) -> &mut VmData {
    match oned.get_mut(Kind::Vm, id).map(|o| &mut o.ext) {
        Some(Ext::Vm(vm)) => vm,
        _ => unreachable!("checked VM"),
    }
}

pub(crate) fn handle(
    oned: &mut Oned,
    caller: Caller,
    action: &str,
    p: &Params<'_>,
) -> Option<Handled> {
    let id = p.int(0);
    let result = match action {
        "allocate" => {
            let hold = p.bool_or(1, false);
            parse_template(p.str(0)).and_then(|t| create_vm(oned, caller, t, None, hold, None))
        }
        "action" => vm_action(oned, caller, p.str(0), p.int(1)),
        "deploy" => deploy_call(oned, caller, id, p.int(1), p.int_or(3, -1)),
        "migrate" => migrate(
            oned,
            caller,
            id,
            p.int(1),
            p.bool_or(2, false),
            p.int_or(4, -1),
        ),
        "recover" => recover(oned, caller, id, p.int(1)),
        "monitoring" => fetch(oned, caller, Kind::Vm, id, Op::Use, 0)
            .map(|_| Value::from(super::docs::monitoring_data(oned, &[id], -1))),
        "snapshotcreate" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let name = p.str(1).to_string();
            let now = oned.now();
            let vm = vm_mut(oned, id);
            let sid = vm.next_snapshot;
            vm.next_snapshot += 1;
            vm.snapshots.push((sid, name.clone(), now));
            let memory = vm.memory_mb;
            // The dummy driver names every snapshot "dummy-snap".
            oned.get_mut(Kind::Vm, id).expect("fetched").template.push(
                "SNAPSHOT",
                Attr::Vector(BTreeMap::from([
                    ("HYPERVISOR_ID".to_string(), "dummy-snap".to_string()),
                    ("NAME".to_string(), name),
                    ("SNAPSHOT_ID".to_string(), sid.to_string()),
                    ("SYSTEM_DISK_SIZE".to_string(), memory.to_string()),
                    ("TIME".to_string(), now.to_string()),
                ])),
            );
            Ok(Value::Int(sid))
        })(),
        "snapshotrevert" | "snapshotdelete" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let sid = p.int(1);
            let vm = vm_mut(oned, id);
            if !vm.snapshots.iter().any(|s| s.0 == sid) {
                return Err(fail(
                    ACTION,
                    format!("Could not delete snapshot {sid} for VM {id}, it does not exist."),
                ));
            }
            if action == "snapshotdelete" {
                vm.snapshots.retain(|s| s.0 != sid);
                let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
                remove_by_id(obj, "SNAPSHOT", "SNAPSHOT_ID", &sid.to_string());
            }
            Ok(Value::Int(id))
        })(),
        "resize" => (|| {
            let obj = fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let state = vm_data(obj).state;
            let t = parse_template(p.str(1))?;
            if state == ACTIVE {
                return Err(fail(ACTION, "Hotplug resize not supported by driver dummy"));
            }
            if p.bool_or(2, false) {
                if let Some(mem) = t.get("MEMORY").and_then(|m| m.parse::<i64>().ok()) {
                    let host = vm_data(obj).history.last().map(|h| h.hid);
                    let free = match host.and_then(|h| oned.get(Kind::Host, h)).map(|h| &h.ext) {
                        Some(Ext::Host(h)) => {
                            // The VM's own allocation is what the resize replaces.
                            let others: BTreeSet<i32> =
                                h.vms.iter().copied().filter(|v| *v != id).collect();
                            h.total_mem - used_by(oned, &others).1
                        }
                        _ => 0,
                    };
                    if mem * 1024 > free {
                        return Err(fail(
                            ACTION,
                            format!("Not enough memory: {}/{free}", mem * 1024),
                        ));
                    }
                }
            }
            let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
            for name in ["CPU", "VCPU", "MEMORY"] {
                if let Some(v) = t.get(name) {
                    obj.template.set(name, v.to_string());
                }
            }
            let now = oned.now();
            vm_mut(oned, id).record_action(action_code("resize"), caller, now);
            Ok(Value::Int(id))
        })(),
        "updateconf" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let t = parse_template(p.str(1))?;
            let append = p.int_or(2, 0) == 1;
            let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
            if append {
                // Merge: each given section's attributes are merged into the VM's.
                for name in t.names() {
                    let new: Vec<BTreeMap<String, String>> =
                        t.vectors(&name).into_iter().cloned().collect();
                    let mut existing = obj.template.vectors_mut(&name);
                    match (existing.first_mut(), new.first()) {
                        (Some(current), Some(update)) => current.extend(update.clone()),
                        _ => {
                            drop(existing);
                            obj.template.remove(&name);
                            for v in new {
                                obj.template.push(&name, Attr::Vector(v));
                            }
                        }
                    }
                }
            } else {
                // Replace: the configuration sections are replaced (removed when not given);
                // CONTEXT only when given.
                for name in [
                    "OS",
                    "FEATURES",
                    "INPUT",
                    "GRAPHICS",
                    "RAW",
                    "CPU_MODEL",
                    "VIDEO",
                ] {
                    obj.template.remove(name);
                }
                for name in t.names() {
                    obj.template.remove(&name);
                    for v in t.vectors(&name) {
                        obj.template.push(&name, Attr::Vector(v.clone()));
                    }
                }
            }
            refresh_context(oned, id);
            Ok(Value::Int(id))
        })(),
        "attachnic" => attach_nic(oned, caller, id, p.str(1)),
        "detachnic" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let nic_id = p.int(1).to_string();
            let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
            let nics = obj.template.remove("NIC");
            let before = nics.len();
            let mut released = None;
            let kept: Vec<Attr> = nics
                .into_iter()
                .filter(|a| match a {
                    Attr::Vector(v) if v.get("NIC_ID") == Some(&nic_id) => {
                        released = Some(v.clone());
                        false
                    }
                    _ => true,
                })
                .collect();
            let after = kept.len();
            for nic in kept {
                obj.template.push("NIC", nic);
            }
            if before == after {
                return Err(fail(
                    ACTION,
                    format!("Could not detach NIC with NIC_ID {nic_id}, it does not exist."),
                ));
            }
            if let Some(nic) = released {
                release_nic(oned, id, &nic);
            }
            refresh_context(oned, id);
            let now = oned.now();
            vm_mut(oned, id).record_action(action_code("nic-detach"), caller, now);
            Ok(Value::Int(id))
        })(),
        "attach" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let t = parse_template(p.str(1))?;
            let Some(disk) = t.vectors("DISK").first().map(|d| (*d).clone()) else {
                return Err(fail(ACTION, "No DISK in template"));
            };
            if let Some(image) = disk.get("IMAGE_ID") {
                let image_id = image.parse::<i32>().unwrap_or(-1);
                if oned.get(Kind::Image, image_id).is_none() {
                    return Err(fail(
                        ACTION,
                        format!("Image with ID: {image} does not exist"),
                    ));
                }
            }
            let mut disk = expand_disks(oned, vec![disk], false, true)?.remove(0);
            let obj = oned.get(Kind::Vm, id).expect("fetched");
            let used_ids: BTreeSet<i32> = obj
                .template
                .vectors("DISK")
                .into_iter()
                .chain(obj.template.vectors("CONTEXT"))
                .filter_map(|d| d.get("DISK_ID")?.parse().ok())
                .collect();
            let used_targets: BTreeSet<String> = obj
                .template
                .vectors("DISK")
                .into_iter()
                .chain(obj.template.vectors("CONTEXT"))
                .filter_map(|d| d.get("TARGET").cloned())
                .collect();
            let next_id = (0..).find(|i| !used_ids.contains(i)).unwrap_or(0);
            let target = (0..26)
                .map(disk_target)
                .find(|t| !used_targets.contains(t))
                .unwrap_or_else(|| disk_target(0));
            disk.insert("DISK_ID".into(), next_id.to_string());
            disk.insert("TARGET".into(), target);
            hot_attached_disk(oned, obj, &mut disk);
            let image_id = disk.get("IMAGE_ID").and_then(|i| i.parse::<i32>().ok());
            if let Some(Ext::Image(i)) = image_id
                .and_then(|i| oned.get_mut(Kind::Image, i))
                .map(|i| &mut i.ext)
            {
                i.vms.insert(id);
                i.set_state(2);
            }
            let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
            obj.template.push("DISK", Attr::Vector(disk));
            let now = oned.now();
            vm_mut(oned, id).record_action(action_code("disk-attach"), caller, now);
            Ok(Value::Int(id))
        })(),
        "detach" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let disk_id = p.int(1).to_string();
            let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
            let image = obj
                .template
                .vectors("DISK")
                .into_iter()
                .find(|d| d.get("DISK_ID") == Some(&disk_id))
                .and_then(|d| d.get("IMAGE_ID")?.parse::<i32>().ok());
            if !remove_by_id(obj, "DISK", "DISK_ID", &disk_id) {
                return Err(fail(ACTION, "VM disk does not exist"));
            }
            if let Some(Ext::Image(i)) = image
                .and_then(|i| oned.get_mut(Kind::Image, i))
                .map(|i| &mut i.ext)
            {
                i.vms.remove(&id);
                if i.vms.is_empty() && i.state == 2 {
                    i.set_state(1);
                }
            }
            let now = oned.now();
            vm_mut(oned, id).record_action(action_code("disk-detach"), caller, now);
            Ok(Value::Int(id))
        })(),
        _ => return vm_extra(oned, caller, action, p),
    };
    Some(result)
}

/// Parses a `SCHED_ACTION=[...]` template into a scheduled action for `parent`.
fn sched_action(
    text: &str,
    id: i32,
    parent: i32,
    kind: &str,
    now: i64,
    existing: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, super::Failure> {
    let t = parse_template(text)?;
    let Some(new) = t.vectors("SCHED_ACTION").first().map(|v| (*v).clone()) else {
        return Err(fail(ACTION, "No SCHED_ACTION in template"));
    };
    let mut action = existing.cloned().unwrap_or_else(|| {
        BTreeMap::from([
            ("ID".into(), id.to_string()),
            ("PARENT_ID".into(), parent.to_string()),
            ("TYPE".into(), kind.into()),
            (
                "ACTION".into(),
                if kind == "BACKUPJOB" {
                    "backup".into()
                } else {
                    String::new()
                },
            ),
            ("ARGS".into(), String::new()),
            ("REPEAT".into(), "-1".into()),
            ("DAYS".into(), String::new()),
            ("END_TYPE".into(), "-1".into()),
            ("END_VALUE".into(), "-1".into()),
            ("DONE".into(), "-1".into()),
            ("MESSAGE".into(), String::new()),
            ("WARNING".into(), "0".into()),
        ])
    });
    for (k, v) in new {
        action.insert(k, v);
    }
    if kind == "VM" {
        let name = action.get("ACTION").cloned().unwrap_or_default();
        if allowed_from(&name).is_none()
            && !matches!(
                name.as_str(),
                "snapshot-create"
                    | "snapshot-revert"
                    | "snapshot-delete"
                    | "disk-snapshot-create"
                    | "disk-snapshot-revert"
                    | "disk-snapshot-delete"
                    | "backup"
            )
        {
            return Err(fail(ACTION, format!("{name} is not supported.")));
        }
    }
    let time = action.get("TIME").cloned().unwrap_or_default();
    let resolved = match time.strip_prefix('+') {
        Some(rel) if kind == "VM" => rel.parse::<i64>().ok().map(|r| now + r),
        Some(_) => None,
        None => time.parse::<i64>().ok(),
    };
    let Some(resolved) = resolved else {
        return Err(fail(
            ACTION,
            format!("Unable to parse the time value or value is empty: {time}"),
        ));
    };
    action.insert("TIME".into(), resolved.to_string());
    Ok(action)
}

/// Keeps DISK_SNAPSHOT_TOTAL_SIZE of a VM disk equal to the size of its snapshots.
fn sync_snapshot_size(oned: &mut Oned, id: i32, disk_id: i32) {
    let total = vm_mut(oned, id)
        .disk_snapshots
        .get(&disk_id)
        .map_or(0, DiskSnapshots::total_size);
    let obj = oned.get_mut(Kind::Vm, id).expect("VM exists");
    for disk in obj.template.vectors_mut("DISK") {
        if disk.get("DISK_ID") == Some(&disk_id.to_string()) {
            disk.insert("DISK_SNAPSHOT_TOTAL_SIZE".into(), total.to_string());
        }
    }
}

/// Writes the scheduled actions of an object back into its template.
fn store_sched_actions(obj: &mut Obj, actions: &[BTreeMap<String, String>]) {
    obj.template.remove("SCHED_ACTION");
    for action in actions {
        obj.template
            .push("SCHED_ACTION", Attr::Vector(action.clone()));
    }
}

fn remove_by_id(obj: &mut Obj, name: &str, key: &str, id: &str) -> bool {
    let all = obj.template.remove(name);
    let before = all.len();
    let kept: Vec<Attr> = all
        .into_iter()
        .filter(|a| !matches!(a, Attr::Vector(v) if v.get(key).map(String::as_str) == Some(id)))
        .collect();
    let removed = kept.len() != before;
    for a in kept {
        obj.template.push(name, a);
    }
    removed
}

/// The less common VM methods: scheduled actions, disk snapshots, hotplug, groups, backup.
fn vm_extra(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Option<Handled> {
    if matches!(
        action,
        "info" | "update" | "rename" | "chown" | "chmod" | "lock" | "unlock" | "delete"
    ) {
        // The generic object handlers.
        return None;
    }
    let id = p.int(0);
    let result = (|| {
        let obj = fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
        let vm = vm_data(obj).clone();
        let now = oned.now();
        let running = vm.state == ACTIVE;
        let disk_of = |oned: &Oned, disk: i32| -> Option<BTreeMap<String, String>> {
            oned.get(Kind::Vm, id).and_then(|o| {
                o.template
                    .vectors("DISK")
                    .into_iter()
                    .find(|d| d.get("DISK_ID") == Some(&disk.to_string()))
                    .cloned()
            })
        };
        let no_sched = |sid: i32| {
            fail_id(
                NO_EXISTS,
                format!("Error getting scheduled action [{sid}]."),
                sid,
            )
        };
        match action {
            "schedadd" | "schedupdate" => {
                let (sid, text, existing) = if action == "schedadd" {
                    (vm.next_sched, p.str(1), None)
                } else {
                    let sid = p.int(1);
                    let existing = vm
                        .sched_actions
                        .iter()
                        .find(|a| a.get("ID") == Some(&sid.to_string()))
                        .cloned();
                    if existing.is_none() {
                        return Err(no_sched(sid));
                    }
                    (sid, p.str(2), existing)
                };
                let new = sched_action(text, sid, id, "VM", now, existing.as_ref())?;
                let vm = vm_mut(oned, id);
                vm.sched_actions
                    .retain(|a| a.get("ID") != Some(&sid.to_string()));
                vm.sched_actions.push(new);
                if action == "schedadd" {
                    vm.next_sched += 1;
                }
                let actions = vm.sched_actions.clone();
                store_sched_actions(oned.get_mut(Kind::Vm, id).expect("fetched"), &actions);
                Ok(Value::Int(sid))
            }
            "scheddelete" => {
                let sid = p.int(1);
                let vm = vm_mut(oned, id);
                let before = vm.sched_actions.len();
                vm.sched_actions
                    .retain(|a| a.get("ID") != Some(&sid.to_string()));
                if vm.sched_actions.len() == before {
                    return Err(no_sched(sid));
                }
                let actions = vm.sched_actions.clone();
                store_sched_actions(oned.get_mut(Kind::Vm, id).expect("fetched"), &actions);
                Ok(Value::Int(id))
            }
            "disksnapshotcreate" => {
                let disk_id = p.int(1);
                let Some(disk) = disk_of(oned, disk_id) else {
                    return Err(fail(ACTION, "VM disk does not exist"));
                };
                let size = disk.get("SIZE").and_then(|s| s.parse().ok()).unwrap_or(0);
                let vm = vm_mut(oned, id);
                let tree = vm.disk_snapshots.entry(disk_id).or_default();
                let sid = tree.next;
                tree.next += 1;
                for snap in &mut tree.list {
                    snap.active = false;
                }
                tree.list.push(DiskSnapshot {
                    id: sid,
                    name: p.str(2).to_string(),
                    date: now,
                    size,
                    parent: -1,
                    active: true,
                });
                vm.record_action(action_code("disk-snapshot-create"), caller, now);
                sync_snapshot_size(oned, id, disk_id);
                Ok(Value::Int(sid))
            }
            "disksnapshotrename" | "disksnapshotrevert" | "disksnapshotdelete" => {
                if action == "disksnapshotrevert" && running {
                    return Err(fail(
                        ACTION,
                        format!(
                            "Could not revert to disk snapshot for VM {id}, wrong state RUNNING."
                        ),
                    ));
                }
                let code = match action {
                    "disksnapshotrevert" => Some("disk-snapshot-revert"),
                    "disksnapshotdelete" => Some("disk-snapshot-delete"),
                    _ => None,
                };
                let (disk_id, sid) = (p.int(1), p.int(2));
                let vm = vm_mut(oned, id);
                if let Some(tree) = vm.disk_snapshots.get_mut(&disk_id) {
                    match action {
                        "disksnapshotrename" => {
                            if let Some(snap) = tree.list.iter_mut().find(|s| s.id == sid) {
                                snap.name = p.str(3).to_string();
                            }
                        }
                        "disksnapshotrevert" => {
                            for snap in &mut tree.list {
                                snap.active = snap.id == sid;
                            }
                        }
                        _ => tree.list.retain(|s| s.id != sid),
                    }
                }
                if let Some(code) = code {
                    vm.record_action(action_code(code), caller, now);
                }
                sync_snapshot_size(oned, id, disk_id);
                Ok(Value::Int(id))
            }
            "diskresize" => {
                let disk = p.int(1).to_string();
                let size = p.str(2).parse::<i64>().unwrap_or(0);
                let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
                let mut found = false;
                for d in obj.template.vectors_mut("DISK") {
                    if d.get("DISK_ID") == Some(&disk) {
                        found = true;
                        let current = d
                            .get("SIZE")
                            .and_then(|s| s.parse::<i64>().ok())
                            .unwrap_or(0);
                        if size <= current {
                            return Err(fail(
                                ACTION,
                                "New disk size has to be greater than current one",
                            ));
                        }
                        d.insert("SIZE".into(), size.to_string());
                    }
                }
                if !found {
                    return Err(fail(ACTION, "VM disk does not exist"));
                }
                vm_mut(oned, id).record_action(action_code("disk-resize"), caller, now);
                Ok(Value::Int(id))
            }
            "attachpci" => {
                let t = parse_template(p.str(1))?;
                let Some(mut pci) = t.vectors("PCI").first().map(|v| (*v).clone()) else {
                    return Err(fail(ACTION, "No PCI in template"));
                };
                let host = vm_data(oned.get(Kind::Vm, id).expect("fetched"))
                    .history
                    .last()
                    .map(|h| h.hid);
                let probed = host
                    .and_then(|h| oned.get(Kind::Host, h))
                    .is_some_and(|h| matches!(&h.ext, Ext::Host(d) if d.probed));
                let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
                let next = obj.template.vectors("PCI").len();
                pci.insert("PCI_ID".into(), next.to_string());
                if probed {
                    assign_pci(&mut pci, next);
                }
                obj.template.push("PCI", Attr::Vector(pci));
                vm_mut(oned, id).record_action(action_code("pci-attach"), caller, now);
                Ok(Value::Int(id))
            }
            "detachpci" => {
                let pci = p.int(1).to_string();
                let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
                if !remove_by_id(obj, "PCI", "PCI_ID", &pci) {
                    return Err(fail(ACTION, "PCI device not found"));
                }
                vm_mut(oned, id).record_action(action_code("pci-detach"), caller, now);
                Ok(Value::Int(id))
            }
            "disksaveas" => {
                let (disk, name) = (p.int(1), p.str(2));
                let Some(disk_attrs) = disk_of(oned, disk) else {
                    return Err(fail(ACTION, "VM disk does not exist"));
                };
                super::objects::check_name(oned, Kind::Image, name, caller.uid, INTERNAL, "")?;
                let source_image = disk_attrs
                    .get("IMAGE_ID")
                    .and_then(|i| i.parse::<i32>().ok());
                let Some(mut image) = source_image.and_then(|i| oned.get(Kind::Image, i)).cloned()
                else {
                    return Err(fail(ACTION, "Cannot save a volatile disk"));
                };
                let new_id = oned.take_id(Kind::Image);
                image.id = new_id;
                image.name = name.to_string();
                image.uid = caller.uid;
                image.gid = caller.gid;
                image.lock = None;
                image.regtime = now;
                image.perms = [1, 1, 0, 0, 0, 0, 0, 0, 0];
                let dev_prefix = image.template.get("DEV_PREFIX").map(str::to_string);
                image.template = Tmpl::default();
                if let Some(prefix) = dev_prefix {
                    image.template.set("DEV_PREFIX", prefix);
                }
                image.template.set("SAVED_DISK_ID", disk.to_string());
                image
                    .template
                    .set("SAVED_IMAGE_ID", source_image.unwrap_or(-1).to_string());
                image.template.set("SAVED_VM_ID", id.to_string());
                let mut ds = 1;
                if let Ext::Image(data) = &mut image.ext {
                    data.vms.clear();
                    data.clones.clear();
                    data.persistent = false;
                    data.state = 4;
                    // oned's saved image has no PATH: the copy comes from the VM's disk.
                    data.path = String::new();
                    // The dummy driver copies within the call.
                    data.settle_ticks = 1;
                    data.size = disk_attrs
                        .get("SIZE")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(data.size);
                    ds = data.datastore_id;
                }
                oned.insert(image);
                if let Some(Ext::Datastore(d)) =
                    oned.get_mut(Kind::Datastore, ds).map(|d| &mut d.ext)
                {
                    d.images.insert(new_id);
                }
                Ok(Value::Int(new_id))
            }
            "updatenic" => {
                let nic = p.int(1).to_string();
                let t = parse_template(p.str(2))?;
                let update = t
                    .vectors("NIC")
                    .first()
                    .map(|v| (*v).clone())
                    .unwrap_or_default();
                let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
                let mut found = false;
                for n in obj.template.vectors_mut("NIC") {
                    if n.get("NIC_ID") == Some(&nic) {
                        found = true;
                        n.extend(update.clone());
                    }
                }
                if !found {
                    return Err(fail(ACTION, format!("VM {id}: NIC {nic} does not exist")));
                }
                vm_mut(oned, id).record_action(action_code("nic-update"), caller, now);
                Ok(Value::Int(id))
            }
            "attachsg" | "detachsg" => {
                let (nic, sg) = (p.int(1).to_string(), p.int(2));
                if oned.get(Kind::SecGroup, sg).is_none() {
                    return Err(no_exists(Kind::SecGroup, sg));
                }
                let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
                let mut found = false;
                for n in obj.template.vectors_mut("NIC") {
                    if n.get("NIC_ID") == Some(&nic) {
                        found = true;
                        let mut list: Vec<String> = n
                            .get("SECURITY_GROUPS")
                            .map(|l| l.split(',').map(str::to_string).collect())
                            .unwrap_or_default();
                        list.retain(|x| x != &sg.to_string());
                        if action == "attachsg" {
                            list.push(sg.to_string());
                        }
                        n.insert("SECURITY_GROUPS".into(), list.join(","));
                    }
                }
                if !found {
                    return Err(fail(ACTION, format!("VM {id}: NIC {nic} does not exist")));
                }
                // The VM's SECURITY_GROUP_RULE list follows its NICs' groups.
                refresh_context(oned, id);
                Ok(Value::Int(id))
            }
            "vmgroupadd" => {
                let (group, role) = (p.int(1), p.str(2));
                let g = oned
                    .get(Kind::VmGroup, group)
                    .ok_or_else(|| no_exists(Kind::VmGroup, group))?;
                if !g
                    .template
                    .vectors("ROLE")
                    .iter()
                    .any(|r| r.get("NAME").map(String::as_str) == Some(role))
                {
                    return Err(fail(
                        ACTION,
                        format!("Role {role} does not exist in VM group {group}"),
                    ));
                }
                let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
                obj.template.remove("VMGROUP");
                obj.template.push(
                    "VMGROUP",
                    Attr::Vector(BTreeMap::from([
                        ("ROLE".into(), role.to_string()),
                        ("VMGROUP_ID".into(), group.to_string()),
                    ])),
                );
                Ok(Value::Int(id))
            }
            "vmgroupdel" => {
                oned.get_mut(Kind::Vm, id)
                    .expect("fetched")
                    .template
                    .remove("VMGROUP");
                Ok(Value::Int(id))
            }
            "backup" => Err(fail(
                INTERNAL,
                "Unable to start an individual backup for the Virtual Machine, it is part of \
                 Backup Job ID -1",
            )),
            "backupcancel" => Err(fail(
                INTERNAL,
                format!("Could not cancel backup for VM {id}, no backup in progress"),
            )),
            "restore" => {
                let image = p.int(1);
                if oned.get(Kind::Image, image).is_none() {
                    return Err(no_exists(Kind::Image, image));
                }
                Err(fail(ACTION, "Can only restore images of type BACKUP"))
            }
            "exec" | "retryexec" => {
                let busy = oned
                    .get(Kind::Vm, id)
                    .is_some_and(|o| o.template.has("QEMU_GA_EXEC"));
                if busy {
                    return Err(fail(
                        ACTION,
                        "Could not execute command, a command is already being executed",
                    ));
                }
                if action == "retryexec" {
                    return Err(fail(
                        ACTION,
                        "Could not execute command, no command to retry",
                    ));
                }
                let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
                obj.template.push(
                    "QEMU_GA_EXEC",
                    Attr::Vector(BTreeMap::from([
                        ("COMMAND".into(), p.str(1).to_string()),
                        // The dummy driver never reports the command's end.
                        ("STATUS".into(), "EXECUTING".into()),
                        ("STDIN".into(), p.str(2).to_string()),
                    ])),
                );
                vm_mut(oned, id).record_action(action_code("exec"), caller, now);
                Ok(Value::Int(id))
            }
            "cancelexec" => {
                oned.get_mut(Kind::Vm, id)
                    .expect("fetched")
                    .template
                    .remove("QEMU_GA_EXEC");
                vm_mut(oned, id).record_action(action_code("exec-cancel"), caller, now);
                Ok(Value::Int(id))
            }
            _ => Err(fail(
                ACTION,
                format!("one.vm.{action} is not supported by the test server"),
            )),
        }
    })();
    Some(result)
}

/// Scheduled actions of backup jobs.
pub(crate) fn backupjob_sched(
    oned: &mut Oned,
    caller: Caller,
    action: &str,
    p: &Params<'_>,
) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::BackupJob, id, Op::Manage, 2)?;
    let now = oned.now();
    let obj = oned.get(Kind::BackupJob, id).expect("fetched");
    let mut actions: Vec<BTreeMap<String, String>> = obj
        .template
        .vectors("SCHED_ACTION")
        .into_iter()
        .cloned()
        .collect();
    let no_sched = |sid: i32| {
        fail_id(
            NO_EXISTS,
            format!("Error getting scheduled action [{sid}]."),
            sid,
        )
    };
    let sid = match action {
        "schedadd" => {
            // Scheduled action ids are shared by every object in oned.
            let sid = oned
                .pool(Kind::Vm)
                .values()
                .filter_map(|v| match &v.ext {
                    Ext::Vm(d) => Some(d.next_sched),
                    _ => None,
                })
                .chain(
                    actions
                        .iter()
                        .filter_map(|a| a.get("ID")?.parse::<i32>().ok().map(|i| i + 1)),
                )
                .max()
                .unwrap_or(0);
            actions.push(sched_action(p.str(1), sid, id, "BACKUPJOB", now, None)?);
            sid
        }
        "schedupdate" => {
            let sid = p.int(1);
            let Some(pos) = actions
                .iter()
                .position(|a| a.get("ID") == Some(&sid.to_string()))
            else {
                return Err(no_sched(sid));
            };
            let updated = sched_action(p.str(2), sid, id, "BACKUPJOB", now, Some(&actions[pos]))?;
            actions[pos] = updated;
            sid
        }
        _ => {
            let sid = p.int(1);
            let before = actions.len();
            actions.retain(|a| a.get("ID") != Some(&sid.to_string()));
            if actions.len() == before {
                return Err(no_sched(sid));
            }
            sid
        }
    };
    store_sched_actions(
        oned.get_mut(Kind::BackupJob, id).expect("fetched"),
        &actions,
    );
    Ok(Value::Int(sid))
}

/// Attributes oned keeps in a VM's TEMPLATE; everything else goes to USER_TEMPLATE.
const VM_TEMPLATE_ATTRIBUTES: &[&str] = &[
    "AS_GID",
    "AS_UID",
    "AUTOMATIC_DS_REQUIREMENTS",
    "AUTOMATIC_NIC_REQUIREMENTS",
    "AUTOMATIC_REQUIREMENTS",
    "BACKUP_CONFIG",
    "CONTEXT",
    "CPU",
    "CPU_MODEL",
    "DISK",
    "EMULATOR",
    "FEATURES",
    "GRAPHICS",
    "HYPERV_OPTIONS",
    "INPUT",
    "MEMORY",
    "MEMORY_MAX",
    "MEMORY_RESIZE_MODE",
    "MEMORY_SLOTS",
    "NIC",
    "NIC_ALIAS",
    "NIC_DEFAULT",
    "NUMA_NODE",
    "OS",
    "PCI",
    "RAW",
    "SCHED_ACTION",
    "SECURITY_GROUP_RULE",
    "SNAPSHOT",
    "SPICE_OPTIONS",
    "SUBMIT_ON_HOLD",
    "TEMPLATE_ID",
    "TM_MAD_SYSTEM",
    "TOPOLOGY",
    "VCPU",
    "VCPU_MAX",
    "VMGROUP",
    "VMID",
    "VROUTER_ID",
    "VROUTER_KEEPALIVED_ID",
    "VROUTER_KEEPALIVED_PASSWORD",
    "VIDEO",
];

fn disk_target(index: usize) -> String {
    format!("sd{}", (b'a' + (index % 26) as u8) as char)
}

/// Fills in what oned adds to each DISK of a new VM (from its image and datastore).
pub(crate) fn expand_disks(
    oned: &Oned,
    disks: Vec<BTreeMap<String, String>>,
    has_context: bool,
    for_vm: bool,
) -> Result<Vec<BTreeMap<String, String>>, super::Failure> {
    let mut expanded = Vec::with_capacity(disks.len());
    for (index, mut disk) in disks.into_iter().enumerate() {
        let image = match (disk.get("IMAGE_ID").cloned(), disk.get("IMAGE").cloned()) {
            (Some(image), _) => {
                let image_id = image.parse::<i32>().unwrap_or(-1);
                Some(oned.get(Kind::Image, image_id).ok_or_else(|| {
                    fail(
                        INTERNAL,
                        format!("DISK {index}: Image with ID: {image} does not exist"),
                    )
                })?)
            }
            (None, Some(name)) => Some(
                oned.pool(Kind::Image)
                    .values()
                    .find(|i| i.name == name)
                    .ok_or_else(|| {
                        fail(
                            INTERNAL,
                            format!("DISK {index}: Image {name} does not exist"),
                        )
                    })?,
            ),
            _ => None,
        };
        disk.insert("DISK_ID".into(), index.to_string());
        if for_vm {
            disk.entry("DEV_PREFIX".into())
                .or_insert_with(|| "sd".into());
        }
        if let Some(img) = image {
            let Ext::Image(data) = &img.ext else {
                unreachable!("image pool")
            };
            let ds = oned.get(Kind::Datastore, data.datastore_id);
            let tm_mad = match ds.map(|d| &d.ext) {
                Some(Ext::Datastore(d)) => d.tm_mad.clone(),
                _ => String::new(),
            };
            let persistent = if data.persistent { "YES" } else { "NO" };
            for (k, v) in [
                ("ALLOW_ORPHANS", "NO".to_string()),
                (
                    "CLONE",
                    if data.persistent { "NO" } else { "YES" }.to_string(),
                ),
                ("CLONE_TARGET", "SYSTEM".to_string()),
                ("CLUSTER_ID", "0".to_string()),
                ("DATASTORE", ds.map(|d| d.name.clone()).unwrap_or_default()),
                ("DATASTORE_ID", data.datastore_id.to_string()),
                ("DISK_SNAPSHOT_TOTAL_SIZE", "0".to_string()),
                ("DISK_TYPE", "FILE".to_string()),
                ("DRIVER", "raw".to_string()),
                ("FORMAT", "raw".to_string()),
                ("IMAGE", img.name.clone()),
                ("IMAGE_ID", img.id.to_string()),
                // A VM's disk holds its image in USED (2); a template shows the image's state.
                (
                    "IMAGE_STATE",
                    if for_vm { 2 } else { data.state }.to_string(),
                ),
                ("LN_TARGET", "NONE".to_string()),
                ("ORIGINAL_SIZE", data.size.to_string()),
                ("PERSISTENT_SNAPSHOTS", "YES".to_string()),
                ("READONLY", "NO".to_string()),
                ("SAVE", persistent.to_string()),
                ("SIZE", data.size.to_string()),
                ("SOURCE", data.source.clone()),
                ("TM_MAD", tm_mad),
                ("TYPE", "FILE".to_string()),
            ] {
                disk.entry(k.into()).or_insert(v);
            }
            if let Some(prefix) = img.template.get("DEV_PREFIX") {
                disk.insert("DEV_PREFIX".into(), prefix.to_string());
            }
        }
        expanded.push(disk);
    }
    if !for_vm {
        return Ok(expanded);
    }
    // Targets: image disks first, then the context CD-ROM, then volatile disks.
    let mut next = 0;
    for disk in expanded.iter_mut().filter(|d| d.contains_key("IMAGE_ID")) {
        disk.entry("TARGET".into())
            .or_insert_with(|| disk_target(next));
        next += 1;
    }
    if has_context {
        next += 1;
    }
    for disk in expanded.iter_mut().filter(|d| !d.contains_key("IMAGE_ID")) {
        disk.entry("TARGET".into())
            .or_insert_with(|| disk_target(next));
        next += 1;
    }
    Ok(expanded)
}

/// The CONTEXT target: the letter after the image disks.
fn context_target(disks: &[BTreeMap<String, String>]) -> String {
    disk_target(disks.iter().filter(|d| d.contains_key("IMAGE_ID")).count())
}

/// Creates a VM from a template (vm.allocate, template.instantiate).
pub(crate) fn create_vm(
    oned: &mut Oned,
    caller: Caller,
    mut template: Tmpl,
    name: Option<String>,
    hold: bool,
    template_id: Option<i32>,
) -> Handled {
    let memory = template.get("MEMORY").map(str::to_string);
    let memory_mb = match memory.as_deref().map(str::parse::<i64>) {
        Some(Ok(m)) if m > 0 => m,
        _ => {
            let message = "MEMORY attribute must be a positive integer value.";
            return Err(if template_id.is_some() {
                fail(
                    super::ALLOCATE,
                    format!("Error allocating a new virtual machine template. {message}"),
                )
            } else {
                fail(INTERNAL, message)
            });
        }
    };
    let cpu = template
        .get("CPU")
        .and_then(|c| c.parse::<f64>().ok())
        .unwrap_or(1.0);
    let has_context = template.has("CONTEXT");
    let disks: Vec<BTreeMap<String, String>> = template
        .remove("DISK")
        .into_iter()
        .filter_map(|d| match d {
            Attr::Vector(v) => Some(v),
            Attr::Single(_) => None,
        })
        .collect();
    let disks = expand_disks(oned, disks, has_context, true)?;
    for nic in template.vectors("NIC") {
        if let Some(net) = nic.get("NETWORK_ID") {
            let net_id = net.parse::<i32>().unwrap_or(-1);
            if oned.get(Kind::Vnet, net_id).is_none() {
                return Err(fail(
                    INTERNAL,
                    format!("NIC 0: Virtual network with ID: {net} does not exist"),
                ));
            }
        }
    }
    let now = oned.now();
    let id = oned.take_id(Kind::Vm);
    let vm_name = match name.filter(|n| !n.is_empty()) {
        Some(n) => n,
        None => match (template.get("NAME"), template_id) {
            (_, Some(t)) => format!(
                "{}-{id}",
                oned.get(Kind::Template, t)
                    .map(|t| t.name.clone())
                    .unwrap_or_default()
            ),
            (Some(n), None) => n.to_string(),
            (None, None) => format!("one-{id}"),
        },
    };
    template.remove("NAME");
    // oned splits the attributes between TEMPLATE and USER_TEMPLATE.
    let mut user_template = Tmpl::default();
    let names: Vec<String> = template.names();
    for attr in names {
        if !VM_TEMPLATE_ATTRIBUTES.contains(&attr.as_str()) {
            for value in template.remove(&attr) {
                user_template.push(&attr, value);
            }
        }
    }
    for disk in &disks {
        if let Some(image_id) = disk.get("IMAGE_ID").and_then(|i| i.parse::<i32>().ok()) {
            if let Some(Ext::Image(i)) = oned.get_mut(Kind::Image, image_id).map(|i| &mut i.ext) {
                i.vms.insert(id);
                i.set_state(2);
            }
        }
    }
    let image_disks = disks.iter().any(|d| d.contains_key("IMAGE_ID"));
    // $USER[ATTR] in the context reads the owner's template.
    let owner_template = oned
        .get(Kind::User, caller.uid)
        .map(|u| u.template.clone())
        .unwrap_or_default();
    for context in template.vectors_mut("CONTEXT") {
        for value in context.values_mut() {
            while let Some(start) = value.find("$USER[") {
                let Some(len) = value[start..].find(']') else {
                    break;
                };
                let attr = value[start + 6..start + len].to_string();
                let replacement = owner_template.get(&attr).unwrap_or("").to_string();
                value.replace_range(start..start + len + 1, &replacement);
            }
        }
    }
    if has_context {
        let target = context_target(&disks);
        for context in template.vectors_mut("CONTEXT") {
            context.insert("DISK_ID".into(), disks.len().to_string());
            context.insert("TARGET".into(), target.clone());
        }
    }
    for disk in disks {
        template.push("DISK", Attr::Vector(disk));
    }
    template.set("VMID", id.to_string());
    if let Some(t) = template_id {
        template.set("TEMPLATE_ID", t.to_string());
    }
    if hold {
        template.set("SUBMIT_ON_HOLD", "YES");
    }
    let in_cluster = image_disks || template.has("NIC");
    if image_disks {
        template.set("AUTOMATIC_DS_REQUIREMENTS", "(\"CLUSTERS/ID\" @> 0)");
    }
    if template.has("NIC") {
        template.set("AUTOMATIC_NIC_REQUIREMENTS", "(\"CLUSTERS/ID\" @> 0)");
    }
    template.set(
        "AUTOMATIC_REQUIREMENTS",
        if in_cluster {
            "(CLUSTER_ID = 0) & !(PIN_POLICY = PINNED)"
        } else {
            "!(PIN_POLICY = PINNED)"
        },
    );
    let uuid = super::sha256_hex(&format!("{id}-{now}-{vm_name}"));
    let uuid = format!(
        "{}-{}-4{}-8{}-{}",
        &uuid[0..8],
        &uuid[8..12],
        &uuid[13..16],
        &uuid[17..20],
        &uuid[20..32]
    );
    let mut os = template
        .vectors("OS")
        .first()
        .map(|o| (*o).clone())
        .unwrap_or_default();
    os.entry("MACHINE".into()).or_insert_with(|| "q35".into());
    os.insert("UUID".into(), uuid);
    template.remove("OS");
    template.push("OS", Attr::Vector(os));
    let mut obj = Obj::new(Kind::Vm, id, &vm_name, caller.uid, caller.gid, now);
    let nics = template.remove("NIC");
    obj.template = template;
    let state = if hold { HOLD } else { PENDING };
    obj.ext = Ext::Vm(Box::new(VmData {
        state,
        lcm_state: 0,
        prev_state: state,
        prev_lcm_state: 0,
        pending_ticks: 0,
        stime: now,
        user_template,
        cpu,
        memory_mb,
        ..VmData::default()
    }));
    oned.insert(obj);
    for nic in nics {
        if let Attr::Vector(nic) = nic {
            let text = nic_text(&nic);
            if let Err(e) = attach_nic_inner(oned, id, &text) {
                release_resources(oned, id);
                oned.pool_mut(Kind::Vm).remove(&id);
                return Err(e);
            }
        }
    }
    refresh_context(oned, id);
    Ok(Value::Int(id))
}

/// Recomputes the ETHn_* context variables and the security group rules from the NICs.
fn refresh_context(oned: &mut Oned, id: i32) {
    let Some(obj) = oned.get(Kind::Vm, id) else {
        return;
    };
    let nics: Vec<BTreeMap<String, String>> =
        obj.template.vectors("NIC").into_iter().cloned().collect();
    let mut rules = Vec::new();
    let mut seen = BTreeSet::new();
    for nic in &nics {
        for sg in nic
            .get("SECURITY_GROUPS")
            .map(|l| {
                l.split(',')
                    .filter_map(|s| s.trim().parse::<i32>().ok())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        {
            if !seen.insert(sg) {
                continue;
            }
            if let Some(group) = oned.get(Kind::SecGroup, sg) {
                for rule in group.template.vectors("RULE") {
                    let mut rule = rule.clone();
                    rule.insert("SECURITY_GROUP_ID".into(), sg.to_string());
                    rule.insert("SECURITY_GROUP_NAME".into(), group.name.clone());
                    rules.push(rule);
                }
            }
        }
    }
    let mut networks = BTreeMap::new();
    for nic in &nics {
        if let Some(net) = nic.get("NETWORK_ID").and_then(|n| n.parse::<i32>().ok()) {
            if let Some(vnet) = oned.get(Kind::Vnet, net) {
                networks.insert(net, vnet.template.clone());
            }
        }
    }
    let obj = oned.get_mut(Kind::Vm, id).expect("VM exists");
    obj.template.remove("SECURITY_GROUP_RULE");
    for rule in rules {
        obj.template.push("SECURITY_GROUP_RULE", Attr::Vector(rule));
    }
    for context in obj.template.vectors_mut("CONTEXT") {
        if !context
            .get("NETWORK")
            .is_some_and(|n| n.eq_ignore_ascii_case("yes"))
        {
            continue;
        }
        context.retain(|k, _| !(k.starts_with("ETH") && k.contains('_')));
        for nic in &nics {
            let index = nic.get("NIC_ID").cloned().unwrap_or_default();
            let net = nic
                .get("NETWORK_ID")
                .and_then(|n| n.parse::<i32>().ok())
                .and_then(|n| networks.get(&n));
            let from_net = |attr: &str| {
                net.and_then(|t| t.get(attr))
                    .map(str::to_string)
                    .unwrap_or_default()
            };
            for (key, value) in [
                ("DNS", from_net("DNS")),
                ("EXTERNAL", String::new()),
                ("GATEWAY", from_net("GATEWAY")),
                ("IP", nic.get("IP").cloned().unwrap_or_default()),
                ("IP6", String::new()),
                ("IP6_GATEWAY", String::new()),
                ("IP6_METHOD", String::new()),
                ("IP6_METRIC", String::new()),
                ("IP6_PREFIX_LENGTH", String::new()),
                ("IP6_ULA", String::new()),
                ("MAC", nic.get("MAC").cloned().unwrap_or_default()),
                ("MASK", from_net("NETWORK_MASK")),
                ("METHOD", String::new()),
                ("METRIC", String::new()),
                ("MTU", String::new()),
                ("NETWORK", from_net("NETWORK_ADDRESS")),
                ("ROUTES", String::new()),
                ("SEARCH_DOMAIN", String::new()),
                ("VLAN_ID", String::new()),
                ("VROUTER_IP", String::new()),
                ("VROUTER_IP6", String::new()),
                ("VROUTER_MANAGEMENT", String::new()),
            ] {
                context.insert(format!("ETH{index}_{key}"), value);
            }
        }
    }
}

fn nic_text(nic: &BTreeMap<String, String>) -> String {
    let body: Vec<String> = nic
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('"', "\\\"")))
        .collect();
    format!("NIC=[{}]", body.join(","))
}

pub(crate) fn instantiate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, name, hold, extra) = (p.int(0), p.str(1), p.bool_or(2, false), p.str(3));
    let template = fetch(oned, caller, Kind::Template, id, Op::Use, 1)?;
    let mut t = template.template.clone();
    let desc = t.clone();
    if !extra.is_empty() {
        let extra = Tmpl::parse(extra).map_err(|_| {
            fail(
                super::ALLOCATE,
                "Error allocating a new virtual machine template. MEMORY attribute must be a positive integer value.",
            )
        })?;
        t.merge(extra);
    }
    let _ = desc;
    let name = if name.is_empty() {
        None
    } else {
        Some(name.to_string())
    };
    create_vm(oned, caller, t, name, hold, Some(id))
}

fn vm_action(oned: &mut Oned, caller: Caller, action: &str, id: i32) -> Handled {
    let obj = oned
        .get(Kind::Vm, id)
        .ok_or_else(|| no_exists(Kind::Vm, id))?;
    super::objects::authorize(oned, caller, obj, Op::Manage)?;
    if let Some(lock) = &obj.lock {
        let _ = lock;
        return Err(fail(
            super::AUTHORIZATION,
            format!("User [{}] : VM is locked. [{id}].", caller.uid),
        ));
    }
    let Some(allowed) = allowed_from(action) else {
        return Err(fail(
            ACTION,
            format!("Action \"{action}\" is not supported"),
        ));
    };
    let vm = vm_data(obj);
    if !allowed.contains(&vm.key().as_str()) {
        return Err(fail(
            ACTION,
            format!(
                "Error performing action \"{action}\": This action is not available for state {}",
                vm.state_name()
            ),
        ));
    }
    let now = oned.now();
    let state = vm.state;
    let code = action_code(action);
    match action {
        // terminate on a DONE VM succeeds and changes nothing, as in oned.
        "terminate" | "terminate-hard" if state != DONE => {
            let vm = vm_mut(oned, id);
            vm.close_history(code, caller, now);
            vm.epilog(now);
            leave_host(oned, id, now);
            release_resources(oned, id);
            let vm = vm_mut(oned, id);
            vm.set_state(DONE, 0);
            vm.etime = now;
        }
        "undeploy" | "undeploy-hard" | "stop" => {
            let vm = vm_mut(oned, id);
            vm.close_history(code, caller, now);
            vm.epilog(now);
            leave_host(oned, id, now);
            let new_state = if action == "stop" {
                STOPPED
            } else {
                UNDEPLOYED
            };
            vm_mut(oned, id).set_state(new_state, 0);
            if new_state == UNDEPLOYED {
                // The VNC port of the host is given back.
                let obj = oned.get_mut(Kind::Vm, id).expect("VM exists");
                for graphics in obj.template.vectors_mut("GRAPHICS") {
                    graphics.remove("PORT");
                }
            }
        }
        "poweroff" | "poweroff-hard" | "suspend" => {
            // The record stays open (the VM keeps its host) with the action noted; it is
            // closed by the next driver action or the resume.
            let vm = vm_mut(oned, id);
            vm.note_action(code, caller, now);
            vm.set_state(
                if action == "suspend" {
                    SUSPENDED
                } else {
                    POWEROFF
                },
                0,
            );
        }
        "reboot" | "reboot-hard" => {}
        "hold" => vm_mut(oned, id).set_state(HOLD, 0),
        "release" => vm_mut(oned, id).set_state(PENDING, 0),
        "resume" => match state {
            STOPPED | UNDEPLOYED => {
                vm_mut(oned, id).set_state(PENDING, 0);
                pin_system_datastore(oned, id, false);
            }
            _ => {
                // Back to RUNNING on the same host: a new history record.
                let vm = vm_mut(oned, id);
                vm.reopen(now);
                vm.set_state(ACTIVE, RUNNING);
            }
        },
        "resched" => {
            vm_mut(oned, id).resched = true;
            pin_system_datastore(oned, id, false);
        }
        "unresched" => vm_mut(oned, id).resched = false,
        _ => {}
    }
    Ok(Value::Int(id))
}

/// When a VM that already has files in a system datastore is scheduled again, oned requires
/// a datastore with the same transfer driver (and, after a migration, recomputes the
/// cluster requirements).
fn pin_system_datastore(oned: &mut Oned, id: i32, migrated: bool) {
    let Some(obj) = oned.get_mut(Kind::Vm, id) else {
        return;
    };
    let Some(tm) = obj.template.get("TM_MAD_SYSTEM").map(str::to_string) else {
        return;
    };
    obj.template.set(
        "AUTOMATIC_DS_REQUIREMENTS",
        format!("(\"CLUSTERS/ID\" @> 0) & (TM_MAD = \"{tm}\")"),
    );
    if migrated {
        obj.template
            .set("AUTOMATIC_NIC_REQUIREMENTS", "(\"CLUSTERS/ID\" @> 0)");
        obj.template.set(
            "AUTOMATIC_REQUIREMENTS",
            "(CLUSTER_ID = 0) & !(PIN_POLICY = PINNED)",
        );
    }
}

/// oned's history action codes (VMActions).
pub(crate) fn action_code(action: &str) -> i32 {
    match action {
        "migrate" => 1,
        "live-migrate" => 2,
        "undeploy" => 5,
        "undeploy-hard" => 6,
        "hold" => 7,
        "release" => 8,
        "stop" => 9,
        "suspend" => 10,
        "resume" => 11,
        "delete" => 13,
        "delete-recreate" => 14,
        "reboot" => 15,
        "reboot-hard" => 16,
        "resched" => 17,
        "unresched" => 18,
        "poweroff" => 19,
        "poweroff-hard" => 20,
        "disk-attach" => 21,
        "disk-detach" => 22,
        "nic-attach" => 23,
        "nic-detach" => 24,
        "disk-snapshot-create" => 25,
        "disk-snapshot-delete" => 26,
        "terminate" => 27,
        "terminate-hard" => 28,
        "disk-resize" => 29,
        "resize" => 35,
        "disk-snapshot-revert" => 41,
        "disk-saveas" => 42,
        "disk-snapshot-rename" => 43,
        "nic-update" => 51,
        "sg-attach" => 52,
        "sg-detach" => 53,
        "pci-attach" => 58,
        "pci-detach" => 59,
        "exec" => 61,
        "exec-retry" => 62,
        "exec-cancel" => 63,
        _ => 0,
    }
}

/// Closes the current history record and frees the host.
fn leave_host(oned: &mut Oned, id: i32, now: i64) {
    let vm = vm_mut(oned, id);
    vm.end_record(now);
    let Some(last) = vm.history.last() else {
        return;
    };
    let hid = last.hid;
    // oned keeps DEPLOY_ID and the last monitoring of a VM that left its host.
    vm.monitor_ticks = 0;
    if let Some(Ext::Host(h)) = oned.get_mut(Kind::Host, hid).map(|h| &mut h.ext) {
        h.vms.remove(&id);
    }
}

/// Frees the leases and image references of a VM that is DONE.
fn release_resources(oned: &mut Oned, id: i32) {
    let obj = oned.get(Kind::Vm, id).expect("VM exists");
    let nics: Vec<BTreeMap<String, String>> =
        obj.template.vectors("NIC").into_iter().cloned().collect();
    let images: Vec<i32> = obj
        .template
        .vectors("DISK")
        .iter()
        .filter_map(|d| d.get("IMAGE_ID")?.parse().ok())
        .collect();
    for nic in nics {
        release_nic(oned, id, &nic);
    }
    for image in images {
        if let Some(Ext::Image(i)) = oned.get_mut(Kind::Image, image).map(|i| &mut i.ext) {
            i.vms.remove(&id);
            if i.vms.is_empty() && i.state == 2 {
                i.set_state(1);
            }
        }
    }
}

fn deploy_call(oned: &mut Oned, caller: Caller, id: i32, hid: i32, ds: i32) -> Handled {
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            super::AUTHORIZATION,
            format!(
                "User [{}] : Not authorized to perform ADMIN VM [{id}].",
                caller.uid
            ),
        ));
    }
    let obj = oned
        .get(Kind::Vm, id)
        .ok_or_else(|| no_exists(Kind::Vm, id))?;
    let vm = vm_data(obj);
    if oned.get(Kind::Host, hid).is_none() {
        return Err(fail_id(
            NO_EXISTS,
            format!("Error getting host [{hid}]."),
            hid,
        ));
    }
    if !matches!(vm.state, PENDING | HOLD | STOPPED | UNDEPLOYED) {
        return Err(fail(
            ACTION,
            format!(
                "Deploy action is not available for state {}",
                vm.state_name()
            ),
        ));
    }
    place(oned, id, hid, if ds < 0 { 0 } else { ds }, (-2, -1), true);
    Ok(Value::Int(id))
}

/// Puts VM `id` on host `hid` and system datastore `ds`: a new history record (from
/// `(plan id, action id)` of the scheduler's plan; `prolog` when files are transferred to
/// the host), ACTIVE/RUNNING.
fn place(oned: &mut Oned, id: i32, hid: i32, ds: i32, plan: (i32, i32), prolog: bool) {
    let now = oned.now();
    let (hostname, cid, vm_mad) = match oned.get(Kind::Host, hid) {
        Some(Obj {
            name,
            ext: Ext::Host(h),
            ..
        }) => (name.clone(), h.cluster_id, h.vm_mad.clone()),
        _ => return,
    };
    let vm_name = oned
        .get(Kind::Vm, id)
        .map(|v| v.name.clone())
        .unwrap_or_default();
    let (system_ds, system_tm) = match oned.get(Kind::Datastore, ds) {
        Some(Obj {
            name,
            ext: Ext::Datastore(d),
            ..
        }) => (name.clone(), d.tm_mad.clone()),
        _ => ("system".to_string(), "dummy".to_string()),
    };
    let vm = vm_mut(oned, id);
    vm.end_record(now);
    let seq = vm.history.len() as i32;
    let prolog = if prolog { now } else { 0 };
    vm.history.push(History {
        seq,
        hostname: hostname.clone(),
        hid,
        cid,
        stime: now,
        etime: 0,
        vm_mad: vm_mad.clone(),
        tm_mad: system_tm.clone(),
        ds_id: ds,
        plan_id: plan.0,
        action_id: plan.1,
        pstime: prolog,
        petime: prolog,
        rstime: now,
        retime: 0,
        estime: 0,
        eetime: 0,
        action: 0,
        uid: -1,
        gid: -1,
        request_id: -1,
    });
    vm.deploy_id = format!("{hostname}:{vm_name}:{vm_mad}");
    vm.set_state(ACTIVE, RUNNING);
    // What the deployment adds to the template: the system datastore's transfer driver, the
    // attributes of volatile disks created there, and the VNC port.
    let obj = oned.get_mut(Kind::Vm, id).expect("VM exists");
    obj.template.set("TM_MAD_SYSTEM", system_tm.clone());
    for disk in obj.template.vectors_mut("DISK") {
        if !disk.contains_key("IMAGE_ID") {
            volatile_disk_on(disk, &system_ds, ds, &system_tm);
        }
    }
    for graphics in obj.template.vectors_mut("GRAPHICS") {
        graphics
            .entry("PORT".into())
            .or_insert_with(|| (5900 + id).to_string());
    }
    if let Some(Ext::Host(h)) = oned.get_mut(Kind::Host, hid).map(|h| &mut h.ext) {
        h.vms.insert(id);
    }
}

/// What a volatile disk gets when it is created in system datastore `ds` (named `name`,
/// with transfer driver `tm`).
fn volatile_disk_on(disk: &mut BTreeMap<String, String>, name: &str, ds: i32, tm: &str) {
    for (k, v) in [
        ("ALLOW_ORPHANS", "NO"),
        ("CLUSTER_ID", "0"),
        ("DATASTORE", name),
        ("DATASTORE_ID", &ds.to_string()),
        ("DISK_TYPE", "FILE"),
        ("DRIVER", "raw"),
        ("FORMAT", "raw"),
        ("PERSISTENT_SNAPSHOTS", "YES"),
        ("TM_MAD", tm),
    ] {
        disk.entry(k.into()).or_insert_with(|| v.to_string());
    }
}

/// A disk hot-attached to a VM placed in a system datastore is prepared there at once
/// (volatile disks get their attributes) and records the system transfer driver.
fn hot_attached_disk(oned: &Oned, vm: &Obj, disk: &mut BTreeMap<String, String>) {
    let Some(tm) = vm.template.get("TM_MAD_SYSTEM") else {
        return;
    };
    let Some(ds) = vm_data(vm).history.last().map(|h| h.ds_id) else {
        return;
    };
    if !disk.contains_key("IMAGE_ID") {
        let name = oned
            .get(Kind::Datastore, ds)
            .map_or_else(|| "system".to_string(), |d| d.name.clone());
        volatile_disk_on(disk, &name, ds, tm);
    }
    disk.insert("TM_MAD_SYSTEM".into(), tm.to_string());
}

fn migrate(oned: &mut Oned, caller: Caller, id: i32, hid: i32, live: bool, ds: i32) -> Handled {
    let obj = fetch(oned, caller, Kind::Vm, id, Op::Admin, 3)?;
    let vm = vm_data(obj).clone();
    if oned.get(Kind::Host, hid).is_none() {
        return Err(fail_id(
            NO_EXISTS,
            format!("Error getting host [{hid}]."),
            hid,
        ));
    }
    if !matches!(vm.state, ACTIVE | POWEROFF | SUSPENDED) {
        return Err(fail(
            ACTION,
            format!(
                "Migrate action is not available for state {}",
                vm.state_name()
            ),
        ));
    }
    let current = vm.history.last().map(|h| (h.hid, h.ds_id));
    let ds = if ds < 0 {
        current.map_or(0, |c| c.1)
    } else {
        ds
    };
    if current == Some((hid, ds)) {
        return Err(fail(
            ACTION,
            format!("VM is already running on host [{hid}] and datastore [{ds}]"),
        ));
    }
    let now = oned.now();
    let plan = vm
        .history
        .last()
        .map_or((-1, 0), |h| (h.plan_id, h.action_id));
    vm_mut(oned, id).close_history(
        action_code(if live { "live-migrate" } else { "migrate" }),
        caller,
        now,
    );
    if let Some((old, _)) = current {
        if let Some(Ext::Host(h)) = oned.get_mut(Kind::Host, old).map(|h| &mut h.ext) {
            h.vms.remove(&id);
        }
    }
    let state = (vm.state, vm.lcm_state);
    // A cold migration copies the VM's files to the new host (a prolog); a live one
    // moves the running VM.
    place(oned, id, hid, ds, plan, !live);
    pin_system_datastore(oned, id, true);
    let vm = vm_mut(oned, id);
    vm.state = state.0;
    vm.lcm_state = state.1;
    vm.prev_state = state.0;
    vm.prev_lcm_state = state.1;
    Ok(Value::Int(id))
}

fn recover(oned: &mut Oned, caller: Caller, id: i32, operation: i32) -> Handled {
    fetch(oned, caller, Kind::Vm, id, Op::Admin, 3)?;
    let now = oned.now();
    match operation {
        0..=2 => {}
        3 => {
            let vm = vm_mut(oned, id);
            vm.close_history(action_code("delete"), caller, now);
            vm.epilog(now);
            leave_host(oned, id, now);
            release_resources(oned, id);
            let vm = vm_mut(oned, id);
            vm.set_state(DONE, 0);
            vm.etime = now;
        }
        4 => {
            vm_mut(oned, id).close_history(action_code("delete-recreate"), caller, now);
            leave_host(oned, id, now);
            vm_mut(oned, id).set_state(PENDING, 0);
        }
        5 => {
            leave_host(oned, id, now);
            release_resources(oned, id);
            oned.pool_mut(Kind::Vm).remove(&id);
        }
        _ => return Err(fail(ACTION, "Wrong recovery operation code")),
    }
    Ok(Value::Int(id))
}

/// Deploys PENDING VMs on the host with the fewest VMs that has room, and runs the dummy
/// VM monitor's cycles.
///
/// Like oned's scheduler, which wakes up on its own period, it leaves a lone VM PENDING
/// for the call after the one that made it PENDING (so `hold` right after `allocate`
/// works): once a VM has waited `SCHEDULER_DELAY` calls, it makes a plan with every VM
/// PENDING by then (a VM allocated meanwhile joins it, as it would join oned's plan), at
/// most one per host (oned's MAX_HOST); the others wait for the next call's plan. `force`
/// places every PENDING VM at once.
pub(crate) fn schedule(oned: &mut Oned, force: bool) -> usize {
    let mut pending = Vec::new();
    let mut due = false;
    let now = oned.now();
    let mut monitor_cycle = false;
    for vm in oned.pool_mut(Kind::Vm).values_mut() {
        if let Ext::Vm(data) = &mut vm.ext {
            if data.state == ACTIVE {
                data.monitor_ticks += 1;
                monitor_cycle |= data.monitor_ticks >= MONITOR_PERIOD;
            }
            if data.state != PENDING {
                continue;
            }
            data.pending_ticks = data.pending_ticks.saturating_add(1);
            due |= data.pending_ticks >= SCHEDULER_DELAY;
            pending.push(vm.id);
        }
    }
    if monitor_cycle {
        // The dummy monitor polls every active VM in one cycle, a monitoring period after
        // the longest-running one was last polled (or started).
        for vm in oned.pool_mut(Kind::Vm).values_mut() {
            if let Ext::Vm(data) = &mut vm.ext {
                if data.state == ACTIVE {
                    data.last_poll = now;
                    data.monitor_ticks = 0;
                    if data.polls.len() >= MONITORING_RECORDS {
                        data.polls.remove(0);
                    }
                    data.polls.push(now);
                }
            }
        }
    }
    if pending.is_empty() || !(due || force) {
        return 0;
    }
    // Free capacity of each monitored host, computed once per pass:
    // (load, host id, free cpu, free memory).
    let mut hosts: Vec<(usize, i32, i64, i64)> = oned
        .pool(Kind::Host)
        .values()
        .filter_map(|host| match &host.ext {
            Ext::Host(h) if h.state == 2 => {
                let (cpu, mem) = used_by(oned, &h.vms);
                Some((h.vms.len(), host.id, h.total_cpu - cpu, h.total_mem - mem))
            }
            _ => None,
        })
        .collect();
    let mut deployed = 0;
    let mut pending = std::collections::VecDeque::from(pending);
    loop {
        // One plan of the scheduler: at most one VM per host (oned's MAX_HOST = 1), its
        // placements numbered from 0 (the history's ACTION_ID). VMs left over wait for the
        // next plan (the next call), or the next pass with `force`.
        let mut taken = BTreeSet::new();
        let mut action_id = 0;
        let mut left = std::collections::VecDeque::new();
        while let Some(id) = pending.pop_front() {
            let (cpu, mem) = {
                let vm = vm_data(oned.get(Kind::Vm, id).expect("listed"));
                ((vm.cpu * 100.0) as i64, vm.memory_mb * 1024)
            };
            // The least loaded host with room; ties go to the highest id.
            let best = hosts
                .iter_mut()
                .filter(|h| h.2 >= cpu && h.3 >= mem)
                .min_by_key(|h| (h.0, std::cmp::Reverse(h.1)));
            match best {
                Some(host) if !taken.contains(&host.1) => {
                    host.0 += 1;
                    host.2 -= cpu;
                    host.3 -= mem;
                    let hid = host.1;
                    taken.insert(hid);
                    place(oned, id, hid, 0, (-1, action_id), true);
                    action_id += 1;
                    deployed += 1;
                }
                Some(_) => left.push_back(id),
                None => {}
            }
        }
        if !force || left.is_empty() || action_id == 0 {
            break;
        }
        pending = left;
    }
    deployed
}

fn used_by(oned: &Oned, vms: &BTreeSet<i32>) -> (i64, i64) {
    vms.iter()
        .filter_map(|id| oned.get(Kind::Vm, *id))
        .map(|o| {
            let vm = vm_data(o);
            ((vm.cpu * 100.0) as i64, vm.memory_mb * 1024)
        })
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

// ---------------------------------------------------------------------------------------
// Networks
// ---------------------------------------------------------------------------------------

fn parse_ip(text: &str) -> Option<u32> {
    text.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

pub(crate) fn format_ip(ip: u32) -> String {
    std::net::Ipv4Addr::from(ip).to_string()
}

pub(crate) fn format_mac(mac: u64) -> String {
    let b = mac.to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

fn parse_mac(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    parts.iter().try_fold(0u64, |acc, p| {
        u8::from_str_radix(p, 16).ok().map(|b| acc << 8 | b as u64)
    })
}

/// Adds an address range from its AR vector; the error is oned's message.
pub(crate) fn add_address_range(
    data: &mut VnetData,
    ar: &BTreeMap<String, String>,
) -> Result<i32, String> {
    let ar_type = ar
        .get("TYPE")
        .cloned()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let ip = match ar_type.as_str() {
        "IP4" | "IP4_6" => Some(
            ar.get("IP")
                .and_then(|ip| parse_ip(ip))
                .ok_or("Wrong or empty IP attribute")?,
        ),
        "ETHER" | "IP6" | "IP6_STATIC" => None,
        _ => return Err("Unknown or missing address range TYPE.".into()),
    };
    let mac = match ar.get("MAC") {
        Some(mac) => parse_mac(mac).ok_or("Wrong format for MAC attribute")?,
        // oned's default prefix 02:00 followed by the IPv4 address.
        None => 0x0200_0000_0000 | ip.unwrap_or(0x0a0a_0000 + data.ars.len() as u32 * 0x100) as u64,
    };
    // oned reads the type, then the start addresses (IP, MAC), and the size last.
    let size = ar
        .get("SIZE")
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|s| *s > 0)
        .ok_or("Wrong SIZE for address range")?;
    let id = data.next_ar;
    data.next_ar += 1;
    let mut extra = ar.clone();
    for known in ["TYPE", "SIZE", "IP", "MAC", "AR_ID"] {
        extra.remove(known);
    }
    data.ars.push(AddressRange {
        id,
        ar_type,
        ip,
        mac,
        size,
        extra,
        leases: BTreeMap::new(),
        next_index: 0,
        ever_allocated: false,
    });
    Ok(id)
}

/// Takes a lease on `net` for VM `vm` (a given IP, or the first free address).
fn take_lease(data: &mut VnetData, vm: i32, ip: Option<&str>) -> Option<(i32, u32)> {
    for ar in &mut data.ars {
        let index = match ip {
            Some(ip) => {
                let ip = parse_ip(ip)?;
                let first = ar.ip?;
                if ip < first || ip - first >= ar.size {
                    continue;
                }
                let index = ip - first;
                if ar.leases.contains_key(&index) {
                    return None;
                }
                index
            }
            None => match (0..ar.size).find(|i| !ar.leases.contains_key(i)) {
                Some(i) => {
                    // Only a free-address search moves oned's NEXT_INDEX; a requested
                    // address leaves it.
                    ar.next_index = i + 1;
                    i
                }
                None => continue,
            },
        };
        ar.lease(index, vm);
        return Some((ar.id, index));
    }
    None
}

fn attach_nic(oned: &mut Oned, caller: Caller, id: i32, text: &str) -> Handled {
    fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
    attach_nic_inner(oned, id, text)?;
    refresh_context(oned, id);
    let now = oned.now();
    vm_mut(oned, id).record_action(action_code("nic-attach"), caller, now);
    Ok(Value::Int(id))
}

fn attach_nic_inner(oned: &mut Oned, id: i32, text: &str) -> Result<(), super::Failure> {
    let t = parse_template(text)?;
    let Some(nic) = t.vectors("NIC").first().map(|n| (*n).clone()) else {
        return Err(fail(ACTION, "No NIC in template"));
    };
    let mut nic = nic;
    if let Some(net) = nic.get("NETWORK_ID").cloned().or_else(|| {
        let name = nic.get("NETWORK")?;
        oned.pool(Kind::Vnet)
            .values()
            .find(|n| &n.name == name)
            .map(|n| n.id.to_string())
    }) {
        let net_id = net.parse::<i32>().unwrap_or(-1);
        let Some(vnet) = oned.get_mut(Kind::Vnet, net_id) else {
            return Err(fail(
                ACTION,
                format!("Virtual network with ID: {net} does not exist"),
            ));
        };
        let name = vnet.name.clone();
        let mut net_template = vnet.template.clone();
        let Ext::Vnet(data) = &mut vnet.ext else {
            unreachable!()
        };
        let ip = nic.get("IP").cloned();
        let Some((ar_id, index)) = take_lease(data, id, ip.as_deref()) else {
            return Err(fail(
                ACTION,
                format!("Cannot get IP/MAC lease from virtual network {net_id}."),
            ));
        };
        data.updated_vms.insert(id);
        let ar = data.ars.iter().find(|a| a.id == ar_id).expect("lease AR");
        if let Some(first) = ar.ip {
            nic.insert("IP".into(), format_ip(first + index));
        }
        nic.insert("MAC".into(), format_mac(ar.mac + index as u64));
        nic.insert("AR_ID".into(), ar_id.to_string());
        nic.insert("NETWORK".into(), name);
        nic.insert("NETWORK_ID".into(), net_id.to_string());
        nic.insert("BRIDGE".into(), data.bridge.clone());
        nic.insert("VN_MAD".into(), data.vn_mad.clone());
        nic.insert("CLUSTER_ID".into(), "0".into());
        for attr in ["DNS", "GATEWAY", "SECURITY_GROUPS", "BRIDGE_TYPE"] {
            if let Some(v) = net_template.get(attr) {
                nic.insert(attr.into(), v.to_string());
            }
        }
        net_template.remove("X");
    }
    let obj = oned.get_mut(Kind::Vm, id).expect("VM exists");
    let next = obj
        .template
        .vectors("NIC")
        .iter()
        .filter_map(|n| n.get("NIC_ID")?.parse::<i32>().ok())
        .max()
        .map_or(0, |m| m + 1);
    nic.insert("NIC_ID".into(), next.to_string());
    nic.insert("NAME".into(), format!("NIC{next}"));
    nic.insert("TARGET".into(), format!("one-{id}-{next}"));
    obj.template.push("NIC", Attr::Vector(nic));
    Ok(())
}

fn release_nic(oned: &mut Oned, vm: i32, nic: &BTreeMap<String, String>) {
    let Some(net_id) = nic.get("NETWORK_ID").and_then(|n| n.parse::<i32>().ok()) else {
        return;
    };
    // Only this NIC's address: the VM may hold other leases on the same network.
    let ip = nic.get("IP").and_then(|ip| parse_ip(ip));
    let mac = nic.get("MAC").and_then(|mac| parse_mac(mac));
    if let Some(Ext::Vnet(data)) = oned.get_mut(Kind::Vnet, net_id).map(|n| &mut n.ext) {
        data.updated_vms.remove(&vm);
        for ar in &mut data.ars {
            ar.leases.retain(|index, owner| {
                let this_nic = match (ip, ar.ip, mac) {
                    (Some(ip), Some(first), _) => first + index == ip,
                    (_, _, Some(mac)) => ar.mac + u64::from(*index) == mac,
                    _ => true,
                };
                !(*owner == vm && this_nic)
            });
        }
    }
}

/// Frees the addresses a reservation `child` holds on `parent`.
pub(crate) fn release_reservation(oned: &mut Oned, parent: i32, child: i32) {
    if let Some(Ext::Vnet(data)) = oned.get_mut(Kind::Vnet, parent).map(|n| &mut n.ext) {
        for ar in &mut data.ars {
            ar.leases.retain(|_, owner| *owner != -1000 - child);
        }
    }
}

pub(crate) fn vnet_specific(
    oned: &mut Oned,
    caller: Caller,
    action: &str,
    p: &Params<'_>,
) -> Option<Handled> {
    let id = p.int(0);
    let result = (|| {
        fetch(oned, caller, Kind::Vnet, id, Op::Manage, 2)?;
        let template = match action {
            "add_ar" | "update_ar" | "hold" | "release" | "reserve" => {
                Some(parse_template(p.str(1))?)
            }
            _ => None,
        };
        let next_vnet_id = oned.next_ids.get(&Kind::Vnet).copied().unwrap_or(0);
        let obj = oned.get_mut(Kind::Vnet, id).expect("fetched");
        let Ext::Vnet(data) = &mut obj.ext else {
            unreachable!()
        };
        match action {
            "add_ar" => {
                let t = template.expect("parsed");
                let Some(ar) = t.vectors("AR").first().map(|a| (*a).clone()) else {
                    return Err(fail(INTERNAL, "No AR in template"));
                };
                add_address_range(data, &ar).map_err(|e| fail(INTERNAL, e))?;
            }
            "rm_ar" | "free_ar" => {
                let ar_id = p.int(1);
                let Some(pos) = data.ars.iter().position(|a| a.id == ar_id) else {
                    return Err(fail(INTERNAL, "Address Range does not exist"));
                };
                data.ars.remove(pos);
            }
            "update_ar" => {
                let t = template.expect("parsed");
                let Some(ar) = t.vectors("AR").first().map(|a| (*a).clone()) else {
                    return Err(fail(INTERNAL, "No AR in template"));
                };
                let ar_id = ar
                    .get("AR_ID")
                    .and_then(|a| a.parse::<i32>().ok())
                    .unwrap_or(-1);
                let Some(existing) = data.ars.iter_mut().find(|a| a.id == ar_id) else {
                    return Err(fail(INTERNAL, "Address Range does not exist"));
                };
                if let Some(size) = ar.get("SIZE").and_then(|s| s.parse::<u32>().ok()) {
                    existing.size = size;
                }
                // oned rewrites the range's allocation map when it updates it.
                existing.ever_allocated = true;
                for (k, v) in ar {
                    if !matches!(k.as_str(), "AR_ID" | "SIZE" | "TYPE" | "IP" | "MAC") {
                        existing.extra.insert(k, v);
                    }
                }
            }
            "hold" | "release" => {
                let t = template.expect("parsed");
                let ip = t
                    .vectors("LEASES")
                    .first()
                    .and_then(|l| l.get("IP").cloned())
                    .unwrap_or_default();
                let Some(addr) = parse_ip(&ip) else {
                    return Err(fail(
                        INTERNAL,
                        "Address is not part of the address range or in use.",
                    ));
                };
                let mut done = false;
                for ar in &mut data.ars {
                    if let Some(first) = ar.ip {
                        if addr >= first && addr - first < ar.size {
                            let index = addr - first;
                            if action == "hold" && !ar.leases.contains_key(&index) {
                                ar.lease(index, -1);
                                done = true;
                            } else if action == "release" && ar.leases.get(&index) == Some(&-1) {
                                ar.leases.remove(&index);
                                done = true;
                            }
                        }
                    }
                }
                if !done {
                    return Err(fail(
                        INTERNAL,
                        "Address is not part of the address range or in use.",
                    ));
                }
            }
            "reserve" => {
                let t = template.expect("parsed");
                let size = t
                    .get("SIZE")
                    .and_then(|s| s.parse::<u32>().ok())
                    .unwrap_or(0);
                let name = t.get("NAME").unwrap_or("").to_string();
                let child = next_vnet_id;
                let Some(ar) = data.ars.iter_mut().find(|a| {
                    (0..a.size).filter(|i| !a.leases.contains_key(i)).count() as u32 >= size
                }) else {
                    // oned consumes the new network's id before failing.
                    oned.take_id(Kind::Vnet);
                    return Err(fail(
                        ACTION,
                        "Not enough free addresses in an address range",
                    ));
                };
                let free: Vec<u32> = (0..ar.size)
                    .filter(|i| !ar.leases.contains_key(i))
                    .take(size as usize)
                    .collect();
                for i in &free {
                    ar.lease(*i, -1000 - child);
                    ar.next_index = *i + 1;
                }
                let first_ip = ar.ip.map(|ip| ip + free[0]);
                let first_mac = ar.mac + free[0] as u64;
                let ar_type = ar.ar_type.clone();
                let ar_id = ar.id;
                let parent_template = obj.template.clone();
                let bridge = data.bridge.clone();
                let vn_mad = data.vn_mad.clone();
                let mut child_data = VnetData {
                    state: 1,
                    ars: Vec::new(),
                    next_ar: 0,
                    clusters: data.clusters.clone(),
                    parent: Some(id),
                    vn_mad,
                    bridge,
                    updated_vms: BTreeSet::new(),
                };
                let mut ar_vec = BTreeMap::from([
                    ("TYPE".to_string(), ar_type),
                    ("SIZE".to_string(), size.to_string()),
                    ("MAC".to_string(), format_mac(first_mac)),
                ]);
                if let Some(ip) = first_ip {
                    ar_vec.insert("IP".into(), format_ip(ip));
                }
                ar_vec.insert("PARENT_NETWORK_AR_ID".into(), ar_id.to_string());
                let _ = add_address_range(&mut child_data, &ar_vec);
                let new_id = oned.take_id(Kind::Vnet);
                let now = oned.now();
                let mut child_obj =
                    Obj::new(Kind::Vnet, new_id, &name, caller.uid, caller.gid, now);
                child_obj.template = parent_template;
                child_obj.ext = Ext::Vnet(child_data);
                oned.insert(child_obj);
                return Ok(Value::Int(new_id));
            }
            "recover" => {
                return Err(fail(
                    INTERNAL,
                    format!("Could not perform 'recover success' on VN {id}, wrong state READY."),
                ))
            }
            _ => {
                return Err(fail(
                    ACTION,
                    format!("one.vn.{action} is not supported by the test server"),
                ))
            }
        }
        Ok(Value::Int(id))
    })();
    Some(result)
}

pub(crate) fn vntemplate_instantiate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, name, extra) = (p.int(0), p.str(1), p.str(2));
    let source = fetch(oned, caller, Kind::VnTemplate, id, Op::Use, 1)?;
    let mut t = source.template.clone();
    if !extra.is_empty() {
        t.merge(parse_template(extra)?);
    }
    let mut template = t;
    template.remove("NAME");
    let data = super::objects::new_vnet(oned, &mut template)?;
    template.set("TEMPLATE_ID", id.to_string());
    let now = oned.now();
    let new_id = oned.take_id(Kind::Vnet);
    let mut obj = Obj::new(Kind::Vnet, new_id, name, caller.uid, caller.gid, now);
    obj.template = template;
    obj.ext = Ext::Vnet(data);
    oned.insert(obj);
    Ok(Value::Int(new_id))
}

/// `one.vrouter.instantiate`: VMs from a template, each with the router's NICs.
pub(crate) fn vrouter_instantiate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, count, template_id, pattern, hold, extra) = (
        p.int(0),
        p.int(1),
        p.int(2),
        p.str(3),
        p.bool_or(4, false),
        p.str(5),
    );
    let router = fetch(oned, caller, Kind::VRouter, id, Op::Manage, 2)?.clone();
    let template = fetch(oned, caller, Kind::Template, template_id, Op::Use, 1)?
        .template
        .clone();
    let mut base = template;
    if !extra.is_empty() {
        base.merge(parse_template(extra)?);
    }
    base.remove("NIC");
    for nic in router.template.vectors("NIC") {
        let mut nic = nic.clone();
        nic.remove("NIC_ID");
        nic.remove("NETWORK");
        base.push("NIC", Attr::Vector(nic));
    }
    base.set("VROUTER_ID", id.to_string());
    for index in 0..count.max(0) {
        let name = if pattern.contains("%i") {
            pattern.replace("%i", &index.to_string())
        } else {
            format!("{pattern}-{index}")
        };
        create_vm(
            oned,
            caller,
            base.clone(),
            Some(name),
            hold,
            Some(template_id),
        )?;
    }
    if let Some(obj) = oned.get_mut(Kind::VRouter, id) {
        obj.template.set("TEMPLATE_ID", template_id.to_string());
    }
    Ok(Value::Int(id))
}

/// The VMs of a virtual router are terminated with it.
pub(crate) fn vrouter_deleted(oned: &mut Oned, caller: Caller, id: i32) {
    let vms: Vec<i32> = vrouter_vms(oned, id);
    let now = oned.now();
    for vm in vms {
        if vm_data(oned.get(Kind::Vm, vm).expect("listed")).state == DONE {
            continue;
        }
        let data = vm_mut(oned, vm);
        data.close_history(action_code("terminate-hard"), caller, now);
        data.epilog(now);
        leave_host(oned, vm, now);
        release_resources(oned, vm);
        let data = vm_mut(oned, vm);
        data.set_state(DONE, 0);
        data.etime = now;
    }
}

/// A NIC attached to (`attach`) or detached from virtual router `id`: oned hot-plugs it on
/// every VM of the router, which each record the action in their history.
pub(crate) fn vrouter_nic_changed(oned: &mut Oned, caller: Caller, id: i32, attach: bool) {
    let now = oned.now();
    let code = action_code(if attach { "nic-attach" } else { "nic-detach" });
    for vm in vrouter_vms(oned, id) {
        vm_mut(oned, vm).record_action(code, caller, now);
    }
}

/// The ids of the VMs of virtual router `id`.
pub(crate) fn vrouter_vms(oned: &Oned, id: i32) -> Vec<i32> {
    oned.pool(Kind::Vm)
        .values()
        .filter(|v| v.template.get("VROUTER_ID") == Some(&id.to_string()))
        .filter(|v| vm_data(v).state != DONE)
        .map(|v| v.id)
        .collect()
}

/// The `one.vmpool.*` methods.
pub(crate) fn vm_pool(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
    let state_filter = |state: i32, wanted: i32| match wanted {
        -2 => true,
        -1 => state != DONE,
        s => state == s,
    };
    let by_state = |oned: &Oned, filter: i32, start: i32, end: i32, wanted: i32| {
        super::objects::pool_ids(oned, caller, Kind::Vm, filter, start, end, |o| {
            state_filter(vm_data(o).state, wanted)
        })
    };
    match action {
        "info" | "infoextended" => {
            if !p.str(4).is_empty() {
                return Err(fail(
                    INTERNAL,
                    "JSON query search is not supported by the SQL backend",
                ));
            }
            let ids = by_state(oned, p.int(0), p.int(1), p.int(2), p.int(3));
            Ok(Value::from(super::docs::vm_pool(
                oned,
                &ids,
                action == "infoextended",
            )))
        }
        "infoset" => {
            let wanted: BTreeSet<i32> = p
                .str(0)
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            let ids: Vec<i32> = by_state(oned, -2, -1, -1, -2)
                .into_iter()
                .filter(|id| wanted.contains(id))
                .collect();
            Ok(Value::from(super::docs::vm_pool(
                oned,
                &ids,
                p.bool_or(1, false),
            )))
        }
        "monitoring" => {
            let ids = by_state(oned, p.int(0), -1, -1, -2);
            // Lowest VM id first; only VMs the dummy monitor has polled have records.
            let ids: Vec<i32> = ids.into_iter().rev().collect();
            Ok(Value::from(super::docs::monitoring_data(
                oned,
                &ids,
                p.int_or(1, -1).into(),
            )))
        }
        "accounting" => {
            let ids = by_state(oned, p.int(0), -1, -1, -2);
            Ok(Value::from(super::docs::accounting(oned, &ids)))
        }
        "showback" => Ok(Value::from(super::docs::showback())),
        "calculateshowback" => Ok(Value::from(" ")),
        _ => Err(fail(
            ACTION,
            format!("one.vmpool.{action} is not supported by the test server"),
        )),
    }
}

/// Ticks (calls) the scheduler lets a VM wait in PENDING before it makes a plan: like oned's
/// scheduler, which wakes up periodically, it then places every VM waiting by then (VMs
/// made PENDING one after the other share a plan).
const SCHEDULER_DELAY: u8 = 2;

/// Scheduler ticks (calls) between two cycles of the dummy VM monitor, which polls every
/// active VM at once: oned's monitoring period measured in calls of a scripted session
/// (the tour's first cycle came after about this many calls, counting the replay's polls).
const MONITOR_PERIOD: u32 = 70;

/// How many monitoring records of a VM the server keeps.
const MONITORING_RECORDS: usize = 500;
