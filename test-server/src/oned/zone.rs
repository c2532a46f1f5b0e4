//! Zones: a stand-alone front-end's one zone, its raft status, and the federation and
//! HA methods a zone without servers refuses (src/zone/Zone.cc, src/rm/api/ZoneAPI.cc,
//! src/raft/), and their documents.

use super::prelude::*;
use super::xml_parts::xml_of;
use opennebula::models;

/// `one.zone.allocate`: new zones are made at a federation's master only.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Zone)?;
    parse_template(p.str(0))?;
    Err(fail(
        ErrorCode::Allocate,
        "Error allocating a new zone. New zones can only be created at federation master",
    ))
}

/// `one.zone.raftstatus`.
pub(crate) fn raftstatus(_oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Ok(Value::from(raft_status()))
}

/// `one.zone.enable`, `one.zone.resetserver`.
pub(crate) fn accept(oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    oned.get(Kind::Zone, id)
        .ok_or_else(|| no_exists(Kind::Zone, id))?;
    Ok(Value::Int(id))
}

/// `one.zone.delserver`.
pub(crate) fn delserver(oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    oned.get(Kind::Zone, id)
        .ok_or_else(|| no_exists(Kind::Zone, id))?;
    Err(fail(ErrorCode::Action, "SERVER not found in zone"))
}

/// `one.zone.addserver`.
pub(crate) fn addserver(_oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Err(fail(
        ErrorCode::Action,
        "Servers have to be added through the target zone endpoints",
    ))
}

/// `one.zone.updatedb` (also `one.market.updatedb`, `one.marketapp.updatedb`): the
/// replicated object does not exist here.
pub(crate) fn updatedb(_oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    Err(no_exists(Kind::Zone, p.int(0)))
}

/// `one.zone.voterequest`.
pub(crate) fn voterequest(oned: &mut Oned, caller: Caller, _p: &Params<'_>) -> Handled {
    refuse_non_admin(oned, caller)?;
    Err(fail_id(ErrorCode::Internal, "", 0))
}

/// `one.zone.fedreplicate`.
pub(crate) fn fedreplicate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    refuse_non_admin(oned, caller)?;
    if p.str(2).is_empty() {
        return Err(fail(
            ErrorCode::Replication,
            format!(
                "Error replicating log entry {}: Received an empty SQL command at index{}.",
                u64::MAX,
                match p.get(0) {
                    Some(Value::I8(index)) => *index,
                    _ => -1,
                }
            ),
        ));
    }
    Err(fail(
        ErrorCode::Action,
        "one.zone.fedreplicate is not supported by the test server",
    ))
}

/// `one.zone.replicate`: a refused log replication answers with the current raft term (0:
/// no federation).
pub(crate) fn replicate(oned: &mut Oned, caller: Caller, _p: &Params<'_>) -> Handled {
    if !oned.is_admin(caller.uid) {
        return Err(fail_id(
            ErrorCode::Authorization,
            format!(
                "User [{}] not authorized to perform action on zone.",
                caller.uid
            ),
            0,
        ));
    }
    Err(fail(
        ErrorCode::Action,
        "one.zone.replicate is not supported by the test server",
    ))
}

fn refuse_non_admin(oned: &Oned, caller: Caller) -> Result<(), Failure> {
    if oned.is_admin(caller.uid) {
        return Ok(());
    }
    Err(fail(
        ErrorCode::Authorization,
        format!(
            "User [{}] not authorized to perform action on zone.",
            caller.uid
        ),
    ))
}

/// `one.zone.raftstatus`: a front-end without HA (SOLO, no server id, empty log).
fn raft_status() -> String {
    let status = models::RaftStatus {
        server_id: -1,
        state: 0,
        term: 0,
        votedfor: -1,
        commit: 0,
        log_index: -1,
        log_term: -1,
        fedlog_index: -1,
    };
    xml_of(&status, "RAFT")
}

pub(crate) fn document(_oned: &Oned, obj: &Obj) -> Option<models::Zone> {
    Some(models::Zone {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        state: 0,
        template: obj.template.to_template(),
        server_pool: models::ServerPool::default(),
    })
}
