//! Users: creation and its name/password rules, passwords and authentication drivers,
//! enabling, primary and secondary groups, login tokens (src/um/User.cc, UserPool.cc,
//! src/rm/RequestManagerUser.cc), and their documents.

use super::auth::admin_only;
use super::prelude::*;
use super::quota;
use opennebula::models;

#[derive(Debug, Clone)]
pub(crate) struct UserData {
    pub(crate) password: String,
    pub(crate) driver: String,
    pub(crate) enabled: bool,
    pub(crate) groups: BTreeSet<i32>,
}

pub(crate) fn create_user(
    oned: &mut Oned,
    name: &str,
    password: &str,
    driver: &str,
    groups: &[i32],
) -> Result<i32, Failure> {
    if name.is_empty() {
        return Err(fail(
            ErrorCode::Internal,
            "Invalid NAME, it cannot be empty",
        ));
    }
    for c in [':', ' ', '\t', '\n'] {
        if name.contains(c) {
            return Err(fail(
                ErrorCode::Internal,
                format!("Invalid NAME, char '{c}' is not allowed."),
            ));
        }
    }
    if let Some(other) = oned.pool(Kind::User).values().find(|u| u.name == name) {
        return Err(fail(
            ErrorCode::Internal,
            format!("NAME is already taken by USER {}.", other.id),
        ));
    }
    for gid in groups {
        if oned.get(Kind::Group, *gid).is_none() {
            return Err(fail_id(
                ErrorCode::NoExists,
                format!("Error getting group [{gid}]."),
                *gid,
            ));
        }
    }
    if password.is_empty() && driver == "core" {
        return Err(fail(
            ErrorCode::Internal,
            "Invalid password, it cannot be empty",
        ));
    }
    let gid = groups.first().copied().unwrap_or(1);
    let now = oned.now();
    let id = oned.take_id(Kind::User);
    let mut user = Obj::new(Kind::User, id, name, id, gid, now);
    let driver = if driver.is_empty() { "core" } else { driver };
    user.ext = Ext::User(UserData {
        password: crate::oned::sha256_hex(password),
        driver: driver.into(),
        enabled: true,
        groups: if groups.is_empty() {
            BTreeSet::from([1])
        } else {
            groups.iter().copied().collect()
        },
    });
    user.template.set(
        "TOKEN_PASSWORD",
        crate::oned::sha256_hex(&format!("token-{id}-{now}")),
    );
    let member_of: Vec<i32> = match &user.ext {
        Ext::User(d) => d.groups.iter().copied().collect(),
        _ => vec![],
    };
    oned.insert(user);
    for g in member_of {
        super::group::group_data(oned, g).users.insert(id);
    }
    Ok(id)
}

/// `one.user.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::User)?;
    let groups: Vec<i32> = match p.get(3) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_i64())
            .map(|v| v as i32)
            .collect(),
        _ => vec![],
    };
    create_user(oned, p.str(0), p.str(1), p.str(2), &groups).map(Value::Int)
}

/// `one.user.passwd`.
pub(crate) fn passwd(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    oned.get(Kind::User, id)
        .ok_or_else(|| no_exists(Kind::User, id))?;
    if id != caller.uid && !oned.is_admin(caller.uid) {
        return Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] : Not authorized to perform MANAGE USER [{id}].",
                caller.uid
            ),
        ));
    }
    let password = p.str(1);
    if password.is_empty() {
        return Err(fail(
            ErrorCode::Action,
            "Invalid password, it cannot be empty",
        ));
    }
    if let Some(Ext::User(u)) = oned.get_mut(Kind::User, id).map(|u| &mut u.ext) {
        u.password = crate::oned::sha256_hex(password);
    }
    Ok(Value::Int(id))
}

/// `one.user.chauth`.
pub(crate) fn chauth(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    admin_only(oned, caller, Kind::User, id)?;
    let (driver, password) = (p.str(1), p.str(2));
    match oned.get_mut(Kind::User, id).map(|u| &mut u.ext) {
        Some(Ext::User(u)) => {
            if !driver.is_empty() {
                u.driver = driver.to_string();
            }
            if !password.is_empty() {
                u.password = crate::oned::sha256_hex(password);
            }
            Ok(Value::Int(id))
        }
        _ => Err(no_exists(Kind::User, id)),
    }
}

/// `one.user.enable`.
pub(crate) fn enable(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    admin_only(oned, caller, Kind::User, id)?;
    match oned.get_mut(Kind::User, id).map(|u| &mut u.ext) {
        Some(Ext::User(u)) => {
            u.enabled = p.bool_or(1, true);
            Ok(Value::Int(id))
        }
        _ => Err(no_exists(Kind::User, id)),
    }
}

/// `one.user.chgrp`.
pub(crate) fn chgrp(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    user_chgrp(oned, caller, p.int(0), p.int(1))
}

/// `one.user.addgroup`.
pub(crate) fn addgroup(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    user_group_edit(oned, caller, p.int(0), p.int(1), true)
}

/// `one.user.delgroup`.
pub(crate) fn delgroup(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    user_group_edit(oned, caller, p.int(0), p.int(1), false)
}

/// `one.user.login`.
pub(crate) fn login(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    user_login(oned, caller, p)
}

/// What oned checks before any change of a user's groups (chgrp, addgroup, delgroup): the
/// caller is an admin, the user and the group exist.
fn check_user_group_change(oned: &Oned, caller: Caller, id: i32, gid: i32) -> Result<(), Failure> {
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] : Not authorized to perform MANAGE USER [{id}].",
                caller.uid
            ),
        ));
    }
    oned.get(Kind::User, id)
        .ok_or_else(|| no_exists(Kind::User, id))?;
    if oned.get(Kind::Group, gid).is_none() {
        return Err(fail_id(
            ErrorCode::NoExists,
            format!("Error getting group [{gid}]."),
            gid,
        ));
    }
    Ok(())
}

fn user_chgrp(oned: &mut Oned, caller: Caller, id: i32, gid: i32) -> Handled {
    check_user_group_change(oned, caller, id, gid)?;
    let user = oned.get_mut(Kind::User, id).expect("checked");
    let old = user.gid;
    user.gid = gid;
    if let Ext::User(u) = &mut user.ext {
        u.groups.remove(&old);
        u.groups.insert(gid);
    }
    super::group::group_data(oned, old).users.remove(&id);
    super::group::group_data(oned, gid).users.insert(id);
    Ok(Value::Int(id))
}

fn user_group_edit(oned: &mut Oned, caller: Caller, id: i32, gid: i32, add: bool) -> Handled {
    check_user_group_change(oned, caller, id, gid)?;
    let user = oned.get_mut(Kind::User, id).expect("checked");
    let main = user.gid;
    if let Ext::User(u) = &mut user.ext {
        if add {
            u.groups.insert(gid);
        } else if gid != main {
            u.groups.remove(&gid);
        } else {
            return Err(fail(
                ErrorCode::Action,
                "Cannot remove user from its main group.",
            ));
        }
    }
    if add {
        super::group::group_data(oned, gid).users.insert(id);
    } else {
        super::group::group_data(oned, gid).users.remove(&id);
        super::group::group_data(oned, gid).admins.remove(&id);
    }
    Ok(Value::Int(id))
}

fn user_login(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, token, valid, egid) = (p.str(0), p.str(1), p.int(2), p.int_or(3, -1));
    let Some(user) = oned
        .pool(Kind::User)
        .values()
        .find(|u| u.name == name)
        .cloned()
    else {
        return Err(fail(
            ErrorCode::Authentication,
            "User couldn't be authenticated, aborting call.",
        ));
    };
    if user.id != caller.uid && !oned.is_admin(caller.uid) {
        return Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] : Not authorized to perform MANAGE USER [{}].",
                caller.uid, user.id
            ),
        ));
    }
    if egid >= 0 && !oned.user_groups(user.id).contains(&egid) {
        return Err(fail(ErrorCode::XmlRpcApi, "EGID is not in user group list"));
    }
    if valid == 0 {
        oned.revoke_token(user.id, token);
        return Ok(Value::from(token));
    }
    let expires = if valid < 0 {
        -1
    } else {
        oned.now() + valid as i64
    };
    let token = if token.is_empty() {
        oned.new_token(user.id, expires, egid)
    } else {
        token.to_string()
    };
    Ok(Value::from(token))
}

pub(crate) fn summary(oned: &Oned, obj: &Obj) -> Option<models::UserSummary> {
    let Ext::User(user) = &obj.ext else {
        return None;
    };
    Some(models::UserSummary {
        id: i64::from(obj.id),
        gid: i64::from(obj.gid),
        groups: models::UserGroups {
            id: user.groups.iter().copied().map(i64::from).collect(),
        },
        gname: oned.gname(obj.gid),
        name: obj.name.clone(),
        password: user.password.clone(),
        auth_driver: user.driver.clone(),
        enabled: i64::from(user.enabled),
        login_token: oned
            .login_tokens(obj.id)
            .into_iter()
            .map(|(token, expiration_time, egid)| models::LoginToken {
                token,
                expiration_time,
                egid: i64::from(egid),
            })
            .collect(),
        template: obj.template.to_template(),
    })
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::User> {
    let s = summary(oned, obj)?;
    let q = quota::quotas_model(oned, Kind::User, obj.id);
    Some(models::User {
        id: s.id,
        gid: s.gid,
        groups: s.groups,
        gname: s.gname,
        name: s.name,
        password: s.password,
        auth_driver: s.auth_driver,
        enabled: s.enabled,
        login_token: s.login_token,
        template: s.template,
        datastore_quota: q.datastore_quota,
        network_quota: q.network_quota,
        vm_quota: q.vm_quota,
        image_quota: q.image_quota,
        default_user_quotas: quota::default_user_quotas(oned),
    })
}
