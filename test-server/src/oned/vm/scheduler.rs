//! The built-in scheduler, which places PENDING VMs on hosts with room, and the dummy VM
//! monitor's cycles (src/schedm/, the `one_sched` placement, and src/monitor/ with the dummy
//! driver's VM monitoring). Time is counted in calls (see the constants).

use super::super::prelude::*;
use super::actions::place;
use super::vm_data;
use opennebula::api::HostState;

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
            if data.state == VmState::Active {
                data.monitor_ticks += 1;
                monitor_cycle |= data.monitor_ticks >= MONITOR_PERIOD;
            }
            if data.state != VmState::Pending {
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
                if data.state == VmState::Active {
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
            Ext::Host(h) if h.state == HostState::Monitored => {
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

pub(crate) fn used_by(oned: &Oned, vms: &BTreeSet<i32>) -> (i64, i64) {
    vms.iter()
        .filter_map(|id| oned.get(Kind::Vm, *id))
        .map(|o| {
            let vm = vm_data(o);
            ((vm.cpu * 100.0) as i64, vm.memory_mb * 1024)
        })
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}
