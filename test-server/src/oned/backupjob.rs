//! Backup jobs: creation with oned's defaults, priority, scheduled runs
//! (src/vm/BackupJob.cc, src/rm/api/BackupJobAPI.cc), and their documents.

use super::prelude::*;
use super::xml_parts::{ids_of, lock_of, owner_of, permissions_of};
use opennebula::models;

/// `one.backupjob.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, mut template) = super::naming::named_template(p.str(0))?;
    super::naming::check_name(
        oned,
        Kind::BackupJob,
        &name,
        caller.uid,
        ErrorCode::Internal,
        "",
    )?;
    defaults(&mut template);
    let id = super::naming::insert_new(oned, caller, Kind::BackupJob, &name, template, Ext::None);
    Ok(Value::Int(id))
}

/// `one.backupjob.priority`.
pub(crate) fn priority(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::BackupJob, id, Op::Manage, 2)?;
    let priority = p.int(1);
    if !(0..=100).contains(&priority) {
        return Err(fail(ErrorCode::Action, "Wrong priority value"));
    }
    if let Some(obj) = oned.get_mut(Kind::BackupJob, id) {
        obj.template.set("PRIORITY", priority.to_string());
    }
    Ok(Value::Int(id))
}

/// `one.backupjob.backup`: the job starts now (kept with the job like its PRIORITY; the
/// document shows it as LAST_BACKUP_TIME).
pub(crate) fn backup(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::BackupJob, id, Op::Manage, 2)?;
    let now = oned.now();
    if let Some(job) = oned.get_mut(Kind::BackupJob, id) {
        job.template.set("LAST_BACKUP_TIME", now.to_string());
    }
    Ok(Value::Int(id))
}

/// `one.backupjob.cancel`, `one.backupjob.retry`: accepted, nothing runs.
pub(crate) fn cancel_or_retry(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::BackupJob, id, Op::Manage, 2)?;
    Ok(Value::Int(id))
}

/// `one.backupjob.schedadd`, `schedupdate`, `scheddelete`.
pub(crate) fn sched_edit(oned: &mut Oned, caller: Caller, verb: &str, p: &Params<'_>) -> Handled {
    sched(oned, caller, verb, p)
}

/// Scheduled actions of backup jobs.
fn sched(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
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
            ErrorCode::NoExists,
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
            actions.push(super::sched_action::parse(
                p.str(1),
                sid,
                id,
                "BACKUPJOB",
                now,
                None,
                |_| true,
            )?);
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
            let updated = super::sched_action::parse(
                p.str(2),
                sid,
                id,
                "BACKUPJOB",
                now,
                Some(&actions[pos]),
                |_| true,
            )?;
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
    super::sched_action::store(
        oned.get_mut(Kind::BackupJob, id).expect("fetched"),
        &actions,
    );
    Ok(Value::Int(sid))
}

/// The attributes oned fills in on every backup job.
pub(crate) fn defaults(template: &mut Tmpl) {
    for (name, value) in [
        ("BACKUP_VOLATILE", "NO"),
        ("EXECUTION", "SEQUENTIAL"),
        ("FS_FREEZE", "NONE"),
        ("KEEP_LAST", "0"),
        ("MODE", "FULL"),
    ] {
        template.set_default(name, value);
    }
    if template.get("MODE") == Some("INCREMENT") {
        template.set_default("INCREMENT_MODE", "CBT");
    }
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::BackupJob> {
    let o = owner_of(oned, obj);
    let mut template = obj.template.clone();
    template.remove("PRIORITY");
    template.remove("LAST_BACKUP_TIME");
    Some(models::BackupJob {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        lock: lock_of(obj),
        permissions: permissions_of(obj),
        priority: obj
            .template
            .get("PRIORITY")
            .and_then(|p| p.parse().ok())
            .unwrap_or(50),
        last_backup_time: obj
            .template
            .get("LAST_BACKUP_TIME")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
        last_backup_duration: 0,
        sched_actions: ids_of(
            obj.template
                .vectors("SCHED_ACTION")
                .iter()
                .filter_map(|a| a.get("ID")?.parse().ok()),
        ),
        updated_vms: models::Ids::default(),
        outdated_vms: models::Ids::default(),
        backing_up_vms: models::Ids::default(),
        error_vms: models::Ids::default(),
        template: super::sched_action::with_sched_actions_in_order(template.to_template()),
    })
}
