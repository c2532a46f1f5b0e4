//! Virtual machines and their life cycle, the built-in scheduler, and the address ranges
//! and leases of virtual networks they take addresses from.
//!
//! The dummy drivers of a test oned answer every action at once, so transitions land in
//! their final state within the call (poweroff → POWEROFF, terminate → DONE ...).

use std::collections::{BTreeMap, BTreeSet};

use super::objects::{fetch, no_exists, AddressRange, Ext, Obj, Op, VnetData};
use super::{
    fail, fail_id, parse_template, Caller, Handled, Kind, Oned, Params, ACTION, INTERNAL, NO_EXISTS,
};
use crate::server::tmpl::{Attr, Tmpl};
use crate::wire::Value;

pub(crate) const PENDING: i32 = 1;
pub(crate) const HOLD: i32 = 2;
pub(crate) const ACTIVE: i32 = 3;
pub(crate) const STOPPED: i32 = 4;
pub(crate) const SUSPENDED: i32 = 5;
pub(crate) const DONE: i32 = 6;
pub(crate) const POWEROFF: i32 = 8;
pub(crate) const UNDEPLOYED: i32 = 9;
pub(crate) const RUNNING: i32 = 3;

/// One history record (a placement on a host).
#[derive(Debug, Clone)]
pub(crate) struct History {
    pub(crate) seq: i32,
    pub(crate) hostname: String,
    pub(crate) hid: i32,
    pub(crate) cid: i32,
    pub(crate) stime: i64,
    pub(crate) etime: i64,
    pub(crate) vm_mad: String,
    pub(crate) ds_id: i32,
    pub(crate) action: i32,
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

    fn set_state(&mut self, state: i32, lcm: i32) {
        self.prev_state = self.state;
        self.prev_lcm_state = self.lcm_state;
        self.state = state;
        self.lcm_state = lcm;
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
        "monitoring" => fetch(oned, caller, Kind::Vm, id, Op::Use, 0).map(|_| {
            Value::from(format!(
                "<MONITORING_DATA><MONITORING><ID>{id}</ID></MONITORING></MONITORING_DATA>"
            ))
        }),
        "snapshotcreate" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let name = p.str(1).to_string();
            let now = oned.now();
            let vm = vm_mut(oned, id);
            let sid = vm.next_snapshot;
            vm.next_snapshot += 1;
            vm.snapshots.push((sid, name, now));
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
                    let total = 16 * 1024 * 1024;
                    if mem * 1024 > total {
                        return Err(fail(
                            ACTION,
                            format!("Not enough memory: {}/{}", mem * 1024 * 1024, total),
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
            Ok(Value::Int(id))
        })(),
        "updateconf" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let t = parse_template(p.str(1))?;
            let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
            obj.template.merge(t);
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
            Ok(Value::Int(id))
        })(),
        "attach" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let t = parse_template(p.str(1))?;
            let Some(disk) = t.vectors("DISK").first().map(|d| (*d).clone()) else {
                return Err(fail(ACTION, "No DISK in template"));
            };
            let mut disk = disk;
            if let Some(image) = disk.get("IMAGE_ID").cloned() {
                let image_id = image.parse::<i32>().unwrap_or(-1);
                let Some(img) = oned.get(Kind::Image, image_id) else {
                    return Err(fail(
                        ACTION,
                        format!("Image with ID: {image} does not exist"),
                    ));
                };
                disk.insert("IMAGE".into(), img.name.clone());
                if let Some(Ext::Image(i)) = oned.get_mut(Kind::Image, image_id).map(|i| &mut i.ext)
                {
                    i.vms.insert(id);
                    i.state = 2;
                }
            }
            let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
            let next =
                obj.template.vectors("DISK").len() + usize::from(obj.template.has("CONTEXT"));
            disk.insert("DISK_ID".into(), next.to_string());
            obj.template.push("DISK", Attr::Vector(disk));
            Ok(Value::Int(id))
        })(),
        "detach" => (|| {
            fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
            let disk_id = p.int(1).to_string();
            let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
            let disks = obj.template.remove("DISK");
            let before = disks.len();
            let kept: Vec<Attr> = disks
                .into_iter()
                .filter(|a| !matches!(a, Attr::Vector(v) if v.get("DISK_ID") == Some(&disk_id)))
                .collect();
            let after = kept.len();
            for d in kept {
                obj.template.push("DISK", d);
            }
            if before == after {
                return Err(fail(ACTION, "VM disk does not exist"));
            }
            Ok(Value::Int(id))
        })(),
        "delete" | "chown" | "chmod" | "rename" | "update" | "info" | "lock" | "unlock" => {
            return None
        }
        _ => return None,
    };
    Some(result)
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
    // Disks: images must exist.
    let mut disks = Vec::new();
    for (index, disk) in template.remove("DISK").into_iter().enumerate() {
        let Attr::Vector(mut disk) = disk else {
            continue;
        };
        if let Some(image) = disk.get("IMAGE_ID").cloned() {
            let image_id = image.parse::<i32>().unwrap_or(-1);
            let Some(img) = oned.get(Kind::Image, image_id) else {
                return Err(fail(
                    INTERNAL,
                    format!("DISK {index}: Image with ID: {image} does not exist"),
                ));
            };
            disk.insert("IMAGE".into(), img.name.clone());
            if let Ext::Image(i) = &img.ext {
                disk.insert("DATASTORE_ID".into(), i.datastore_id.to_string());
                disk.insert("SIZE".into(), i.size.to_string());
                disk.insert("SOURCE".into(), i.source.clone());
            }
        } else if let Some(image) = disk.get("IMAGE").cloned() {
            if !oned.pool(Kind::Image).values().any(|i| i.name == image) {
                return Err(fail(
                    INTERNAL,
                    format!("DISK {index}: Image {image} does not exist"),
                ));
            }
        }
        disk.insert("DISK_ID".into(), index.to_string());
        disk.insert(
            "TARGET".into(),
            format!("sd{}", (b'a' + index as u8) as char),
        );
        disks.push(disk);
    }
    let now = oned.now();
    let id = oned.take_id(Kind::Vm);
    let vm_name = name
        .filter(|n| !n.is_empty())
        .or_else(|| template.get("NAME").map(str::to_string))
        .unwrap_or_else(|| format!("one-{id}"));
    template.remove("NAME");
    // Move the user attributes out, as oned splits TEMPLATE and USER_TEMPLATE.
    let mut user_template = Tmpl::default();
    for attr in ["DESCRIPTION", "LABELS", "LOGO", "OWNER_NOTE"] {
        for value in template.remove(attr) {
            user_template.push(attr, value);
        }
    }
    for disk in &disks {
        if let Some(image_id) = disk.get("IMAGE_ID").and_then(|i| i.parse::<i32>().ok()) {
            if let Some(Ext::Image(i)) = oned.get_mut(Kind::Image, image_id).map(|i| &mut i.ext) {
                i.vms.insert(id);
                i.state = 2;
            }
        }
    }
    for disk in disks {
        template.push("DISK", Attr::Vector(disk));
    }
    template.set("VMID", id.to_string());
    if let Some(t) = template_id {
        template.set("TEMPLATE_ID", t.to_string());
    }
    template.set_default("CPU", cpu.to_string());
    let mut obj = Obj::new(Kind::Vm, id, &vm_name, caller.uid, caller.gid, now);
    // NICs take leases.
    let nics = template.remove("NIC");
    obj.template = template;
    let state = if hold { HOLD } else { PENDING };
    obj.ext = Ext::Vm(Box::new(VmData {
        state,
        lcm_state: 0,
        prev_state: state,
        prev_lcm_state: 0,
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
                oned.pool_mut(Kind::Vm).remove(&id);
                return Err(e);
            }
        }
    }
    Ok(Value::Int(id))
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
    match action {
        // terminate on a DONE VM succeeds and changes nothing, as in oned.
        "terminate" | "terminate-hard" if state != DONE => {
            leave_host(oned, id, now);
            release_resources(oned, id);
            let vm = vm_mut(oned, id);
            vm.set_state(DONE, 0);
            vm.etime = now;
        }
        "undeploy" | "undeploy-hard" => {
            leave_host(oned, id, now);
            vm_mut(oned, id).set_state(UNDEPLOYED, 0);
        }
        "poweroff" | "poweroff-hard" => vm_mut(oned, id).set_state(POWEROFF, 0),
        "reboot" | "reboot-hard" => {}
        "hold" => vm_mut(oned, id).set_state(HOLD, 0),
        "release" => vm_mut(oned, id).set_state(PENDING, 0),
        "stop" => {
            leave_host(oned, id, now);
            vm_mut(oned, id).set_state(STOPPED, 0);
        }
        "suspend" => vm_mut(oned, id).set_state(SUSPENDED, 0),
        "resume" => match state {
            STOPPED | UNDEPLOYED => vm_mut(oned, id).set_state(PENDING, 0),
            _ => vm_mut(oned, id).set_state(ACTIVE, RUNNING),
        },
        "resched" => vm_mut(oned, id).resched = true,
        "unresched" => vm_mut(oned, id).resched = false,
        _ => {}
    }
    Ok(Value::Int(id))
}

/// Closes the current history record and frees the host.
fn leave_host(oned: &mut Oned, id: i32, now: i64) {
    let vm = vm_mut(oned, id);
    let Some(last) = vm.history.last_mut() else {
        return;
    };
    if last.etime == 0 {
        last.etime = now;
    }
    let hid = last.hid;
    vm.deploy_id.clear();
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
                i.state = 1;
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
    place(oned, id, hid, if ds < 0 { 0 } else { ds });
    Ok(Value::Int(id))
}

/// Puts VM `id` on host `hid`: a new history record, ACTIVE/RUNNING.
fn place(oned: &mut Oned, id: i32, hid: i32, ds: i32) {
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
    let vm = vm_mut(oned, id);
    if let Some(last) = vm.history.last_mut() {
        if last.etime == 0 {
            last.etime = now;
        }
    }
    let seq = vm.history.len() as i32;
    vm.history.push(History {
        seq,
        hostname: hostname.clone(),
        hid,
        cid,
        stime: now,
        etime: 0,
        vm_mad: vm_mad.clone(),
        ds_id: ds,
        action: 0,
    });
    vm.deploy_id = format!("{hostname}:{vm_name}:{vm_mad}");
    vm.set_state(ACTIVE, RUNNING);
    if let Some(Ext::Host(h)) = oned.get_mut(Kind::Host, hid).map(|h| &mut h.ext) {
        h.vms.insert(id);
    }
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
    let _ = live;
    if let Some((old, _)) = current {
        if let Some(Ext::Host(h)) = oned.get_mut(Kind::Host, old).map(|h| &mut h.ext) {
            h.vms.remove(&id);
        }
    }
    let state = (vm.state, vm.lcm_state);
    place(oned, id, hid, ds);
    let vm = vm_mut(oned, id);
    vm.state = state.0;
    vm.lcm_state = state.1;
    Ok(Value::Int(id))
}

fn recover(oned: &mut Oned, caller: Caller, id: i32, operation: i32) -> Handled {
    fetch(oned, caller, Kind::Vm, id, Op::Admin, 3)?;
    let now = oned.now();
    match operation {
        0..=2 => {}
        3 => {
            leave_host(oned, id, now);
            release_resources(oned, id);
            let vm = vm_mut(oned, id);
            vm.set_state(DONE, 0);
            vm.etime = now;
        }
        4 => {
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

/// Deploys every PENDING VM on the host with the fewest VMs that has room.
pub(crate) fn schedule(oned: &mut Oned) -> usize {
    let pending: Vec<i32> = oned
        .pool(Kind::Vm)
        .values()
        .filter(|o| vm_data(o).state == PENDING)
        .map(|o| o.id)
        .collect();
    let mut deployed = 0;
    for id in pending {
        let (cpu, mem) = {
            let vm = vm_data(oned.get(Kind::Vm, id).expect("listed"));
            ((vm.cpu * 100.0) as i64, vm.memory_mb * 1024)
        };
        let mut best: Option<(usize, i32)> = None;
        for host in oned.pool(Kind::Host).values() {
            let Ext::Host(h) = &host.ext else { continue };
            if h.state != 2 {
                continue;
            }
            let (used_cpu, used_mem) = used_by(oned, &h.vms);
            if used_cpu + cpu > h.total_cpu || used_mem + mem > h.total_mem {
                continue;
            }
            let load = h.vms.len();
            if best.is_none_or(|(l, _)| load <= l) {
                best = Some((load, host.id));
            }
        }
        if let Some((_, hid)) = best {
            place(oned, id, hid, 0);
            deployed += 1;
        }
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
    let size = ar
        .get("SIZE")
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|s| *s > 0)
        .ok_or("Wrong SIZE for address range")?;
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
                Some(i) => i,
                None => continue,
            },
        };
        ar.leases.insert(index, vm);
        return Some((ar.id, index));
    }
    None
}

fn attach_nic(oned: &mut Oned, caller: Caller, id: i32, text: &str) -> Handled {
    fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
    attach_nic_inner(oned, id, text)?;
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
    if let Some(Ext::Vnet(data)) = oned.get_mut(Kind::Vnet, net_id).map(|n| &mut n.ext) {
        for ar in &mut data.ars {
            ar.leases.retain(|_, owner| *owner != vm);
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
                                ar.leases.insert(index, -1);
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
                    ar.leases.insert(*i, -1000 - child);
                }
                let first_ip = ar.ip.map(|ip| ip + free[0]);
                let first_mac = ar.mac + free[0] as u64;
                let ar_type = ar.ar_type.clone();
                let parent_template = obj.template.clone();
                let bridge = data.bridge.clone();
                let vn_mad = data.vn_mad.clone();
                let mut child_data = VnetData {
                    ars: Vec::new(),
                    next_ar: 0,
                    clusters: data.clusters.clone(),
                    parent: Some(id),
                    vn_mad,
                    bridge,
                };
                let mut ar_vec = BTreeMap::from([
                    ("TYPE".to_string(), ar_type),
                    ("SIZE".to_string(), size.to_string()),
                    ("MAC".to_string(), format_mac(first_mac)),
                ]);
                if let Some(ip) = first_ip {
                    ar_vec.insert("IP".into(), format_ip(ip));
                }
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
    t.set("NAME", name);
    let mut text = String::new();
    // Round-trip through the allocate path, so the network gets its ARs and defaults.
    let name_value = name.to_string();
    t.remove("NAME");
    let _ = &mut text;
    let fake = crate::server::state::Params(&[]);
    let _ = fake;
    let mut template = t;
    let vn_mad = template
        .get("VN_MAD")
        .map(str::to_string)
        .unwrap_or_default();
    let mut data = VnetData {
        ars: Vec::new(),
        next_ar: 0,
        clusters: BTreeSet::from([0]),
        parent: None,
        bridge: template.get("BRIDGE").unwrap_or("").to_string(),
        vn_mad,
    };
    for ar in template.remove("AR") {
        if let Attr::Vector(ar) = ar {
            let _ = add_address_range(&mut data, &ar);
        }
    }
    template.set("TEMPLATE_ID", id.to_string());
    template.set_default("SECURITY_GROUPS", "0");
    let now = oned.now();
    let new_id = oned.take_id(Kind::Vnet);
    let mut obj = Obj::new(Kind::Vnet, new_id, &name_value, caller.uid, caller.gid, now);
    obj.template = template;
    obj.ext = Ext::Vnet(data);
    oned.insert(obj);
    Ok(Value::Int(new_id))
}
