//! VM system snapshots and disk snapshots (src/vm/Snapshots.cc, VirtualMachineDisk.cc,
//! src/rm/api/VirtualMachineAPI.cc).

use super::super::prelude::*;
use super::actions::action_code;
use super::{disk_of, remove_by_id, vm_mut, DiskSnapshot, DiskSnapshots};

/// `one.vm.snapshotcreate`.
pub(crate) fn create(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);

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
}

/// `one.vm.snapshotrevert`.
pub(crate) fn revert(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    revert_or_delete(oned, caller, p, false)
}

/// `one.vm.snapshotdelete`.
pub(crate) fn delete(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    revert_or_delete(oned, caller, p, true)
}

/// Reverts to (or, with `delete`, deletes) system snapshot `p[1]`.
fn revert_or_delete(oned: &mut Oned, caller: Caller, p: &Params<'_>, delete: bool) -> Handled {
    let id = p.int(0);

    fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
    let sid = p.int(1);
    let vm = vm_mut(oned, id);
    if !vm.snapshots.iter().any(|s| s.0 == sid) {
        return Err(fail(
            ErrorCode::Action,
            format!("Could not delete snapshot {sid} for VM {id}, it does not exist."),
        ));
    }
    if delete {
        vm.snapshots.retain(|s| s.0 != sid);
        let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
        remove_by_id(obj, "SNAPSHOT", "SNAPSHOT_ID", &sid.to_string());
    }
    Ok(Value::Int(id))
}

/// `one.vm.disksnapshotcreate`.
pub(crate) fn disk_create(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;
    let now = oned.now();

    let disk_id = p.int(1);
    let Some(disk) = disk_of(oned, id, disk_id) else {
        return Err(fail(ErrorCode::Action, "VM disk does not exist"));
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

/// `one.vm.disksnapshotrename`, `disksnapshotrevert`, `disksnapshotdelete`: the verb names
/// the change.
pub(crate) fn disk_edit(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    let vm = super::managed(oned, caller, id)?;
    let now = oned.now();
    let running = vm.state == VmState::Active;

    if action == "disksnapshotrevert" && running {
        return Err(fail(
            ErrorCode::Action,
            format!("Could not revert to disk snapshot for VM {id}, wrong state RUNNING."),
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

/// Keeps DISK_SNAPSHOT_TOTAL_SIZE of a VM disk equal to the size of its snapshots.
pub(crate) fn sync_snapshot_size(oned: &mut Oned, id: i32, disk_id: i32) {
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
