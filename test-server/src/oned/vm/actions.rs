//! `one.vm.action` and the life-cycle calls around it: deploy, migrate, recover, and what
//! placing a VM on a host or taking it off does (src/dm/DispatchManagerActions.cc,
//! src/lcm/LifeCycleActions.cc, src/rm/api/VirtualMachineAPI.cc). The states each action
//! is allowed from follow `../shared/reference/vm-actions.tsv`.

use super::super::prelude::*;
use super::{vm_data, vm_mut, History};

/// The states each action of `one.vm.action` is allowed from (oned 7.5's table).
pub(crate) fn allowed_from(action: &str) -> Option<&'static [&'static str]> {
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

/// `one.vm.action`.
pub(crate) fn action(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (action, id) = (p.str(0), p.int(1));
    let obj = oned
        .get(Kind::Vm, id)
        .ok_or_else(|| no_exists(Kind::Vm, id))?;
    authorize(oned, caller, obj, Op::Manage)?;
    if let Some(lock) = &obj.lock {
        let _ = lock;
        return Err(fail(
            ErrorCode::Authorization,
            format!("User [{}] : VM is locked. [{id}].", caller.uid),
        ));
    }
    let Some(allowed) = allowed_from(action) else {
        return Err(fail(
            ErrorCode::Action,
            format!("Action \"{action}\" is not supported"),
        ));
    };
    let vm = vm_data(obj);
    if !allowed.contains(&vm.key().as_str()) {
        return Err(fail(
            ErrorCode::Action,
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
        "terminate" | "terminate-hard" if state != VmState::Done => {
            let vm = vm_mut(oned, id);
            vm.close_history(code, caller, now);
            vm.epilog(now);
            leave_host(oned, id, now);
            release_resources(oned, id);
            let vm = vm_mut(oned, id);
            vm.set_state(VmState::Done, LcmState::Init);
            vm.etime = now;
        }
        "undeploy" | "undeploy-hard" | "stop" => {
            let vm = vm_mut(oned, id);
            vm.close_history(code, caller, now);
            vm.epilog(now);
            leave_host(oned, id, now);
            let new_state = if action == "stop" {
                VmState::Stopped
            } else {
                VmState::Undeployed
            };
            vm_mut(oned, id).set_state(new_state, LcmState::Init);
            if new_state == VmState::Undeployed {
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
                    VmState::Suspended
                } else {
                    VmState::Poweroff
                },
                LcmState::Init,
            );
        }
        "reboot" | "reboot-hard" => {}
        "hold" => vm_mut(oned, id).set_state(VmState::Hold, LcmState::Init),
        "release" => vm_mut(oned, id).set_state(VmState::Pending, LcmState::Init),
        "resume" => match state {
            VmState::Stopped | VmState::Undeployed => {
                vm_mut(oned, id).set_state(VmState::Pending, LcmState::Init);
                pin_system_datastore(oned, id, false);
            }
            _ => {
                // Back to RUNNING on the same host: a new history record.
                let vm = vm_mut(oned, id);
                vm.reopen(now);
                vm.set_state(VmState::Active, LcmState::Running);
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
pub(crate) fn pin_system_datastore(oned: &mut Oned, id: i32, migrated: bool) {
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
pub(crate) fn leave_host(oned: &mut Oned, id: i32, now: i64) {
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
pub(crate) fn release_resources(oned: &mut Oned, id: i32) {
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
        super::nics::release_nic(oned, id, &nic);
    }
    for image in images {
        if let Some(Ext::Image(i)) = oned.get_mut(Kind::Image, image).map(|i| &mut i.ext) {
            i.vms.remove(&id);
            if i.vms.is_empty() && i.state == opennebula::api::ImageState::Used {
                i.set_state(opennebula::api::ImageState::Ready);
            }
        }
    }
}

/// `one.vm.deploy`.
pub(crate) fn deploy(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, hid, ds) = (p.int(0), p.int(1), p.int_or(3, -1));
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            ErrorCode::Authorization,
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
            ErrorCode::NoExists,
            format!("Error getting host [{hid}]."),
            hid,
        ));
    }
    if !matches!(
        vm.state,
        VmState::Pending | VmState::Hold | VmState::Stopped | VmState::Undeployed
    ) {
        return Err(fail(
            ErrorCode::Action,
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
pub(crate) fn place(oned: &mut Oned, id: i32, hid: i32, ds: i32, plan: (i32, i32), prolog: bool) {
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
    vm.set_state(VmState::Active, LcmState::Running);
    // What the deployment adds to the template: the system datastore's transfer driver, the
    // attributes of volatile disks created there, and the VNC port.
    let obj = oned.get_mut(Kind::Vm, id).expect("VM exists");
    obj.template.set("TM_MAD_SYSTEM", system_tm.clone());
    for disk in obj.template.vectors_mut("DISK") {
        if !disk.contains_key("IMAGE_ID") {
            super::disks::volatile_disk_on(disk, &system_ds, ds, &system_tm);
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

/// `one.vm.migrate`.
pub(crate) fn migrate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, hid, live, ds) = (p.int(0), p.int(1), p.bool_or(2, false), p.int_or(4, -1));
    let obj = fetch(oned, caller, Kind::Vm, id, Op::Admin, 3)?;
    let vm = vm_data(obj).clone();
    if oned.get(Kind::Host, hid).is_none() {
        return Err(fail_id(
            ErrorCode::NoExists,
            format!("Error getting host [{hid}]."),
            hid,
        ));
    }
    if !matches!(
        vm.state,
        VmState::Active | VmState::Poweroff | VmState::Suspended
    ) {
        return Err(fail(
            ErrorCode::Action,
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
            ErrorCode::Action,
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

/// `one.vm.recover`.
pub(crate) fn recover(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, operation) = (p.int(0), p.int(1));
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
            vm.set_state(VmState::Done, LcmState::Init);
            vm.etime = now;
        }
        4 => {
            vm_mut(oned, id).close_history(action_code("delete-recreate"), caller, now);
            leave_host(oned, id, now);
            vm_mut(oned, id).set_state(VmState::Pending, LcmState::Init);
        }
        5 => {
            leave_host(oned, id, now);
            release_resources(oned, id);
            oned.pool_mut(Kind::Vm).remove(&id);
        }
        _ => return Err(fail(ErrorCode::Action, "Wrong recovery operation code")),
    }
    Ok(Value::Int(id))
}
