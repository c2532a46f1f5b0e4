//! `one.vmpool.*`: the VM listings (by state), monitoring, accounting and showback
//! (src/rm/api/VirtualMachinePoolAPI.cc, src/vm/VirtualMachinePool.cc).

use super::super::prelude::*;
use super::{document, vm_data};

/// The VMs the caller sees with `filter`, `start`, `end` (see
/// [`pool_ids`](super::super::pools::pool_ids)) in state `wanted` (-2 any, -1 not DONE).
fn by_state(
    oned: &Oned,
    caller: Caller,
    filter: i32,
    start: i32,
    end: i32,
    wanted: i32,
) -> Vec<i32> {
    super::super::pools::pool_ids(oned, caller, Kind::Vm, filter, start, end, |o| {
        let state = vm_data(o).state;
        match wanted {
            -2 => true,
            -1 => state != VmState::Done,
            s => state.code() == i64::from(s),
        }
    })
}

/// `one.vmpool.info`, `one.vmpool.infoextended`: the verb says which.
pub(crate) fn info(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
    if !p.str(4).is_empty() {
        return Err(fail(
            ErrorCode::Internal,
            "JSON query search is not supported by the SQL backend",
        ));
    }
    let ids = by_state(oned, caller, p.int(0), p.int(1), p.int(2), p.int(3));
    Ok(Value::from(document::pool(
        oned,
        &ids,
        action == "infoextended",
    )))
}

/// `one.vmpool.infoset`: the VMs of a comma-separated id list.
pub(crate) fn infoset(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let wanted: BTreeSet<i32> = p
        .str(0)
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let ids: Vec<i32> = by_state(oned, caller, -2, -1, -1, -2)
        .into_iter()
        .filter(|id| wanted.contains(id))
        .collect();
    Ok(Value::from(document::pool(oned, &ids, p.bool_or(1, false))))
}

/// `one.vmpool.monitoring`.
pub(crate) fn monitoring(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let ids = by_state(oned, caller, p.int(0), -1, -1, -2);
    // Lowest VM id first; only VMs the dummy monitor has polled have records.
    let ids: Vec<i32> = ids.into_iter().rev().collect();
    Ok(Value::from(document::monitoring_data(
        oned,
        &ids,
        p.int_or(1, -1).into(),
    )))
}

/// `one.vmpool.accounting`.
pub(crate) fn accounting(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let ids = by_state(oned, caller, p.int(0), -1, -1, -2);
    Ok(Value::from(document::accounting(oned, &ids)))
}

/// `one.vmpool.showback`.
pub(crate) fn showback(_oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Ok(Value::from(document::showback()))
}

/// `one.vmpool.calculateshowback`.
pub(crate) fn calculate_showback(_oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Ok(Value::from(" "))
}
