//! Authorization of a call on an object, as oned's `Request::basic_authorization`
//! (src/rm/Request.cc) leaves it with the default ACL rules: administrators may do anything,
//! others what the object's owner/group/other permission bits give; and object locks
//! (`PoolObjectSQL::is_locked`, the lock levels of include/PoolObjectSQL.h).

use super::prelude::*;

// ---------------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------------

/// The operation a call needs on an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Use,
    Manage,
    Admin,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Use => "USE",
            Op::Manage => "MANAGE",
            Op::Admin => "ADMIN",
        }
    }
    fn index(self) -> usize {
        match self {
            Op::Use => 0,
            Op::Manage => 1,
            Op::Admin => 2,
        }
    }
}

/// Checks `op` on an object: administrators may do anything; others by the permission bits
/// (owner, group, other), as oned's default ACLs leave it.
pub(crate) fn authorize(oned: &Oned, caller: Caller, obj: &Obj, op: Op) -> Result<(), Failure> {
    if oned.is_admin(caller.uid) {
        return Ok(());
    }
    let allowed = match obj.kind {
        Kind::User => {
            obj.id == caller.uid && op != Op::Admin
                || (op == Op::Use && obj.kind == Kind::User && obj.id == caller.uid)
        }
        Kind::Group => op == Op::Use && oned.user_groups(caller.uid).contains(&obj.id),
        k if !k.owned() => op == Op::Use,
        _ => {
            let groups = oned.user_groups(caller.uid);
            let i = op.index();
            (obj.uid == caller.uid && obj.perms[i] == 1)
                || (groups.contains(&obj.gid) && obj.perms[3 + i] == 1)
                || obj.perms[6 + i] == 1
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] : Not authorized to perform {} {} [{}].",
                caller.uid,
                op.name(),
                obj.kind.auth_name(),
                obj.id
            ),
        ))
    }
}

/// Refuses a locked object for an operation at `level` or above (1 use, 2 manage, 3 admin;
/// lock level 4 "all" blocks everything).
pub(crate) fn check_lock(obj: &Obj, caller: Caller, level: i32) -> Result<(), Failure> {
    if let Some(lock) = &obj.lock {
        if level >= lock.level || lock.level == 4 && level > 0 {
            return Err(fail(
                ErrorCode::Authorization,
                format!(
                    "User [{}] : {} is locked. [{}].",
                    caller.uid,
                    obj.kind.auth_name(),
                    obj.id
                ),
            ));
        }
    }
    Ok(())
}

/// Fetches an object, checks the operation and the lock.
pub(crate) fn fetch(
    oned: &Oned,
    caller: Caller,
    kind: Kind,
    id: i32,
    op: Op,
    lock_level: i32,
) -> Result<&Obj, Failure> {
    let obj = oned.get(kind, id).ok_or_else(|| no_exists(kind, id))?;
    authorize(oned, caller, obj, op)?;
    check_lock(obj, caller, lock_level)?;
    Ok(obj)
}

/// Refuses a caller outside the oneadmin group: what the methods reserved to administrators
/// answer (`User [uid] : Not authorized to perform ADMIN <KIND> [id].`).
pub(crate) fn admin_only(oned: &Oned, caller: Caller, kind: Kind, id: i32) -> Result<(), Failure> {
    if oned.is_admin(caller.uid) {
        Ok(())
    } else {
        Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] : Not authorized to perform ADMIN {} [{id}].",
                caller.uid,
                kind.auth_name()
            ),
        ))
    }
}

/// Refuses `one.<kind>.allocate` to non-administrators for the kinds only they create
/// (`Request::basic_authorization` with the CREATE right, which the default ACLs give users
/// for their own resources only; hosts, datastores and networks also need ADMIN on the
/// cluster).
pub(crate) fn check_create(oned: &Oned, caller: Caller, kind: Kind) -> Result<(), Failure> {
    if !kind.admin_create() || oned.is_admin(caller.uid) {
        return Ok(());
    }
    let mut message = format!(
        "User [{}] : Not authorized to perform CREATE {}",
        caller.uid,
        kind.auth_name()
    );
    if matches!(kind, Kind::Host | Kind::Datastore | Kind::Vnet) {
        message.push_str("; Not authorized to perform ADMIN CLUSTER [0]");
    }
    message.push('.');
    Err(fail(ErrorCode::Authorization, message))
}
