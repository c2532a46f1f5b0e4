//! Commands run in a VM's guest agent (`one.vm.exec`) and backups (src/rm/api/
//! VirtualMachineAPI.cc, src/vm/Backups.cc).

use super::super::prelude::*;
use super::actions::action_code;
use super::vm_mut;

/// `one.vm.exec`.
pub(crate) fn exec(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    run_command(oned, caller, p, false)
}

/// `one.vm.retryexec`.
pub(crate) fn retry(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    run_command(oned, caller, p, true)
}

/// Runs a command in the guest agent (`retry`: the last one again, which the dummy driver never keeps).
fn run_command(oned: &mut Oned, caller: Caller, p: &Params<'_>, retry: bool) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;
    let now = oned.now();

    let busy = oned
        .get(Kind::Vm, id)
        .is_some_and(|o| o.template.has("QEMU_GA_EXEC"));
    if busy {
        return Err(fail(
            ErrorCode::Action,
            "Could not execute command, a command is already being executed",
        ));
    }
    if retry {
        return Err(fail(
            ErrorCode::Action,
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

/// `one.vm.cancelexec`.
pub(crate) fn cancel(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;
    let now = oned.now();

    oned.get_mut(Kind::Vm, id)
        .expect("fetched")
        .template
        .remove("QEMU_GA_EXEC");
    vm_mut(oned, id).record_action(action_code("exec-cancel"), caller, now);
    Ok(Value::Int(id))
}

/// `one.vm.backup`: the test server's VMs are in no backup job and back up to no datastore.
pub(crate) fn backup(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::managed(oned, caller, p.int(0))?;
    Err(fail(
        ErrorCode::Internal,
        "Unable to start an individual backup for the Virtual Machine, it is part of \
         Backup Job ID -1",
    ))
}

/// `one.vm.backupcancel`.
pub(crate) fn backup_cancel(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;
    Err(fail(
        ErrorCode::Internal,
        format!("Could not cancel backup for VM {id}, no backup in progress"),
    ))
}

/// `one.vm.restore`.
pub(crate) fn restore(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::managed(oned, caller, p.int(0))?;
    let image = p.int(1);
    if oned.get(Kind::Image, image).is_none() {
        return Err(no_exists(Kind::Image, image));
    }
    Err(fail(
        ErrorCode::Action,
        "Can only restore images of type BACKUP",
    ))
}
