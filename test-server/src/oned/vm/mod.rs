//! Virtual machines: their data and life cycle. The methods are split by what they touch:
//! [`create`] (allocate, and what oned adds to a new VM), [`actions`] (`one.vm.action`,
//! deploy, migrate, recover, placement), [`disks`], [`nics`], [`snapshots`], [`pci`],
//! [`config`] (resize, updateconf, groups, scheduled actions), [`exec`] (guest commands,
//! backups), [`scheduler`] (the built-in scheduler and the dummy monitor), [`pool`]
//! (`one.vmpool.*`) and [`document`].
//!
//! The dummy drivers of a test oned answer every action at once, so transitions land in
//! their final state within the call (poweroff → POWEROFF, terminate → DONE ...). History
//! records note the request that ended them with the number the server gave the call
//! (`Caller::request`), so a server's numbering depends only on its own calls.
//!
//! oned's side: src/vm/VirtualMachine*.cc, src/vm/History.cc, src/dm/DispatchManager*.cc,
//! src/lcm/LifeCycle*.cc, src/rm/api/VirtualMachineAPI.cc.

pub(crate) mod actions;
pub(crate) mod config;
pub(crate) mod create;
pub(crate) mod disks;
pub(crate) mod document;
pub(crate) mod exec;
pub(crate) mod nics;
pub(crate) mod pci;
pub(crate) mod pool;
pub(crate) mod scheduler;
pub(crate) mod snapshots;

use super::prelude::*;

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
    pub(crate) fn total_size(&self) -> i64 {
        self.list.iter().map(|s| s.size).sum()
    }
}

/// What oned keeps of a VM besides its template.
#[derive(Debug, Clone)]
pub(crate) struct VmData {
    pub(crate) state: VmState,
    pub(crate) lcm_state: LcmState,
    pub(crate) prev_state: VmState,
    pub(crate) prev_lcm_state: LcmState,
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

impl VmData {
    /// A new VM's data, PENDING (or HOLD) since `now`.
    pub(crate) fn new(state: VmState, now: i64) -> VmData {
        VmData {
            state,
            lcm_state: LcmState::Init,
            prev_state: state,
            prev_lcm_state: LcmState::Init,
            resched: false,
            stime: now,
            etime: 0,
            deploy_id: String::new(),
            user_template: Tmpl::default(),
            history: Vec::new(),
            snapshots: Vec::new(),
            next_snapshot: 0,
            cpu: 1.0,
            memory_mb: 0,
            pending_ticks: 0,
            monitor_ticks: 0,
            last_poll: 0,
            polls: Vec::new(),
            disk_snapshots: BTreeMap::new(),
            sched_actions: Vec::new(),
            next_sched: 0,
        }
    }
}

impl VmData {
    /// oned's name for the current state (the LCM state while ACTIVE), as its messages
    /// give it (`VirtualMachine::state_str`).
    pub(crate) fn state_name(&self) -> String {
        if self.state == VmState::Active {
            self.lcm_state.to_string()
        } else {
            self.state.to_string()
        }
    }

    /// `STATE` or `ACTIVE/LCM_STATE`, as the table of allowed actions names states.
    pub(crate) fn key(&self) -> String {
        if self.state == VmState::Active {
            format!("ACTIVE/{}", self.state_name())
        } else {
            self.state_name()
        }
    }

    /// Moves to a new state. The dummy drivers finish every transition within the call, so
    /// oned reports the previous state equal to the new one once it settles.
    pub(crate) fn set_state(&mut self, state: VmState, lcm: LcmState) {
        self.prev_state = state;
        self.prev_lcm_state = lcm;
        self.state = state;
        self.lcm_state = lcm;
        if state == VmState::Pending {
            self.pending_ticks = 0;
        }
    }

    /// Notes on the open history record that `caller` ran `action`, which stops the VM
    /// running on its host without leaving it (poweroff, suspend): the record stays open.
    pub(crate) fn note_action(&mut self, action: i32, caller: Caller, now: i64) {
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
    pub(crate) fn close_history(&mut self, action: i32, caller: Caller, now: i64) {
        if let Some(last) = self.history.last() {
            if last.etime == 0 {
                self.note_action(action, caller, now);
                self.end_record(now);
            }
        }
    }

    /// Ends the open history record, keeping the action it holds (a resume ends the record
    /// of a powered-off or suspended VM without an action of its own).
    pub(crate) fn end_record(&mut self, now: i64) {
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
    pub(crate) fn epilog(&mut self, now: i64) {
        if let Some(last) = self.history.last_mut() {
            last.estime = now;
            last.eetime = now;
        }
    }

    /// A new record on the host of the last one, without prolog (the VM's files are there
    /// already): resume from poweroff or suspend, live migration targets use `place`.
    pub(crate) fn reopen(&mut self, now: i64) {
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

pub(crate) fn vm_data(obj: &Obj) -> &VmData {
    match &obj.ext {
        Ext::Vm(vm) => vm,
        _ => unreachable!("VM pool holds VMs"),
    }
}

pub(crate) fn vm_mut(oned: &mut Oned, id: i32) -> &mut VmData {
    match oned.get_mut(Kind::Vm, id).map(|o| &mut o.ext) {
        Some(Ext::Vm(vm)) => vm,
        _ => unreachable!("checked VM"),
    }
}

/// The VM `p[0]`, for a change the caller needs MANAGE for (and no lock at that level).
pub(crate) fn managed(oned: &Oned, caller: Caller, id: i32) -> Result<VmData, Failure> {
    let obj = fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
    Ok(vm_data(obj).clone())
}

/// The disk `disk` of VM `id`.
pub(crate) fn disk_of(oned: &Oned, id: i32, disk: i32) -> Option<BTreeMap<String, String>> {
    oned.get(Kind::Vm, id).and_then(|o| {
        o.template
            .vectors("DISK")
            .into_iter()
            .find(|d| d.get("DISK_ID") == Some(&disk.to_string()))
            .cloned()
    })
}

/// Removes the `name` vectors whose `key` is `id`; whether one was removed.
pub(crate) fn remove_by_id(obj: &mut Obj, name: &str, key: &str, id: &str) -> bool {
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

/// `one.vm.monitoring`.
pub(crate) fn monitoring(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::Vm, id, Op::Use, 0)
        .map(|_| Value::from(document::monitoring_data(oned, &[id], -1)))
}
