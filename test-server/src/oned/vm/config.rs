//! VM configuration: resize, updateconf, VM group membership, scheduled actions
//! (src/rm/api/VirtualMachineAPI.cc, src/vm/VirtualMachine.cc `updateconf`,
//! src/schedule/ScheduledAction*.cc).

use super::super::prelude::*;
use super::actions::action_code;
use super::create::refresh_context;
use super::{vm_data, vm_mut};

/// `one.vm.resize`.
pub(crate) fn resize(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);

    let obj = fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
    let state = vm_data(obj).state;
    let t = parse_template(p.str(1))?;
    if state == VmState::Active {
        return Err(fail(
            ErrorCode::Action,
            "Hotplug resize not supported by driver dummy",
        ));
    }
    if p.bool_or(2, false) {
        if let Some(mem) = t.get("MEMORY").and_then(|m| m.parse::<i64>().ok()) {
            let host = vm_data(obj).history.last().map(|h| h.hid);
            let free = match host.and_then(|h| oned.get(Kind::Host, h)).map(|h| &h.ext) {
                Some(Ext::Host(h)) => {
                    // The VM's own allocation is what the resize replaces.
                    let others: BTreeSet<i32> =
                        h.vms.iter().copied().filter(|v| *v != id).collect();
                    h.total_mem - super::scheduler::used_by(oned, &others).1
                }
                _ => 0,
            };
            if mem * 1024 > free {
                return Err(fail(
                    ErrorCode::Action,
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
}

/// `one.vm.updateconf`.
pub(crate) fn updateconf(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);

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
}

/// `one.vm.vmgroupadd`.
pub(crate) fn vmgroup_add(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;

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
            ErrorCode::Action,
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

/// `one.vm.vmgroupdel`.
pub(crate) fn vmgroup_del(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;

    oned.get_mut(Kind::Vm, id)
        .expect("fetched")
        .template
        .remove("VMGROUP");
    Ok(Value::Int(id))
}

/// `one.vm.schedadd`, `one.vm.schedupdate`: the verb names the change.
pub(crate) fn sched_set(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    let vm = super::managed(oned, caller, id)?;
    let now = oned.now();

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
    let new = super::super::sched_action::parse(
        text,
        sid,
        id,
        "VM",
        now,
        existing.as_ref(),
        is_schedulable,
    )?;
    let vm = vm_mut(oned, id);
    vm.sched_actions
        .retain(|a| a.get("ID") != Some(&sid.to_string()));
    vm.sched_actions.push(new);
    if action == "schedadd" {
        vm.next_sched += 1;
    }
    let actions = vm.sched_actions.clone();
    super::super::sched_action::store(oned.get_mut(Kind::Vm, id).expect("fetched"), &actions);
    Ok(Value::Int(sid))
}

/// `one.vm.scheddelete`.
pub(crate) fn sched_delete(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;

    let sid = p.int(1);
    let vm = vm_mut(oned, id);
    let before = vm.sched_actions.len();
    vm.sched_actions
        .retain(|a| a.get("ID") != Some(&sid.to_string()));
    if vm.sched_actions.len() == before {
        return Err(no_sched(sid));
    }
    let actions = vm.sched_actions.clone();
    super::super::sched_action::store(oned.get_mut(Kind::Vm, id).expect("fetched"), &actions);
    Ok(Value::Int(id))
}

fn no_sched(sid: i32) -> Failure {
    fail_id(
        ErrorCode::NoExists,
        format!("Error getting scheduled action [{sid}]."),
        sid,
    )
}

/// Whether `action` may be a VM's scheduled action: a `one.vm.action` action, or one of
/// the snapshot and backup operations.
fn is_schedulable(action: &str) -> bool {
    super::actions::allowed_from(action).is_some()
        || matches!(
            action,
            "snapshot-create"
                | "snapshot-revert"
                | "snapshot-delete"
                | "disk-snapshot-create"
                | "disk-snapshot-revert"
                | "disk-snapshot-delete"
                | "backup"
        )
}
