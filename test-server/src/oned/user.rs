//! Users: authentication of sessions by driver, with login tokens and the session cache
//! (src/um/UserPool.cc `authenticate*`, src/um/LoginToken.cc), creation with its name,
//! password and group rules (`UserPool::allocate`, src/um/User.cc), the `one.user.*` methods
//! (src/rm/api/UserAPI.cc), the authentication drivers' settings (`AUTH_MAD_CONF` of
//! oned.conf) and the user documents.

use super::auth::{AuthRequest, Op};
use super::prelude::*;
use super::quota;
use opennebula::models;

/// How long a session stays cached after the driver accepted it (`SESSION_EXPIRATION_TIME`
/// of oned.conf).
const SESSION_EXPIRATION: i64 = 900;
/// Login tokens a user may hold at once (`LoginTokenPool::MAX_TOKENS`).
const MAX_TOKENS: usize = 10;
/// Characters a user name may not have besides `PoolObjectSQL::INVALID_NAME_CHARS`
/// (`User::INVALID_NAME_CHARS`).
const USER_NAME_CHARS: &str = " :\t\n\x0b\x0c\r";
/// Characters a password may not have (`User::INVALID_PASS_CHARS`).
const INVALID_PASS_CHARS: &[char] = &[' ', '\t', '\n', '\x0b', '\x0c', '\r'];

/// A login token (`LoginToken`): when it expires (-1 never) and the group it is for (-1 all).
#[derive(Debug, Clone)]
pub(crate) struct LoginToken {
    pub(crate) expires: i64,
    pub(crate) egid: i32,
}

#[derive(Debug, Clone)]
pub(crate) struct UserData {
    pub(crate) password: String,
    pub(crate) driver: String,
    pub(crate) enabled: bool,
    pub(crate) groups: BTreeSet<i32>,
    /// Login tokens by token (oned keeps and prints them in this order).
    pub(crate) tokens: BTreeMap<String, LoginToken>,
    /// The cached session: the secret a driver accepted and until when.
    pub(crate) session: Option<(String, i64)>,
}

impl UserData {
    /// A user's data with `password` already in the form kept (hashed for `core`).
    pub(crate) fn new(password: String, driver: &str, groups: BTreeSet<i32>) -> UserData {
        UserData {
            password,
            driver: driver.to_string(),
            enabled: true,
            groups,
            tokens: BTreeMap::new(),
            session: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Authentication drivers
// ---------------------------------------------------------------------------------------

/// An authentication driver's behaviour (`AUTH_MAD_CONF`); a driver oned.conf does not
/// list behaves as the defaults of the code.
#[derive(Debug, Clone, Copy)]
struct DriverConf {
    password_change: bool,
    managed_groups: bool,
    max_token_time: i64,
    password_required: bool,
}

fn driver_conf(driver: &str) -> DriverConf {
    const CONFS: [(&str, bool, bool, i64, bool); 8] = [
        ("core", true, false, -1, true),
        ("public", false, false, -1, true),
        ("ssh", true, false, -1, true),
        ("x509", false, false, -1, true),
        ("ldap", true, true, 86_400, false),
        ("saml", true, true, 86_400, false),
        ("server_cipher", false, false, -1, true),
        ("server_x509", false, false, -1, true),
    ];
    CONFS
        .iter()
        .find(|c| c.0.eq_ignore_ascii_case(driver))
        .map_or(
            DriverConf {
                password_change: false,
                managed_groups: false,
                max_token_time: -1,
                password_required: true,
            },
            |c| DriverConf {
                password_change: c.1,
                managed_groups: c.2,
                max_token_time: c.3,
                password_required: c.4,
            },
        )
}

/// The longest password a driver takes, in bytes (src/um/User.cc).
fn max_password_length(driver: &str) -> Option<usize> {
    Some(match driver {
        "ssh" => 16 * 1024,
        "x509" | "server_x509" => 64 * 1024,
        "ldap" | "core" | "sunstone" => 256,
        "saml" => 12 * 1024,
        "server_cipher" => 4096,
        _ => return None,
    })
}

/// `User::pass_is_valid`.
fn pass_is_valid(password: &str, driver: &str) -> Result<(), String> {
    if password.is_empty() {
        return Err("Invalid password, it cannot be empty".into());
    }
    if let Some(max) = max_password_length(driver) {
        if password.len() > max {
            return Err(format!(
                "Password is longer than max allowed length. Max allowed length for the driver {driver} : {max} bytes"
            ));
        }
    }
    if let Some(c) = password.chars().find(|c| INVALID_PASS_CHARS.contains(c)) {
        return Err(format!("Invalid password, character '{c}' is not allowed"));
    }
    Ok(())
}

/// `PoolObjectSQL::name_is_valid` with the user's extra characters.
pub(crate) fn name_is_valid(name: &str, extra: &str) -> Result<(), String> {
    const INVALID_NAME_CHARS: &str = "&|:\\\";/'#{}$<>\t\n\x0b\x0c\r";
    if name.is_empty() {
        return Err("Invalid NAME, it cannot be empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| INVALID_NAME_CHARS.contains(*c) || extra.contains(*c))
    {
        return Err(format!("Invalid NAME, char '{c}' is not allowed"));
    }
    if name.len() > 128 {
        return Err("Invalid NAME, max length is 128 chars".into());
    }
    Ok(())
}

fn data_mut(oned: &mut Oned, id: i32) -> Option<&mut UserData> {
    match oned.get_mut(Kind::User, id).map(|u| &mut u.ext) {
        Some(Ext::User(data)) => Some(data),
        _ => None,
    }
}

fn data(obj: &Obj) -> Option<&UserData> {
    match &obj.ext {
        Ext::User(data) => Some(data),
        _ => None,
    }
}

/// `User::set_password`: the password as the driver keeps it (a SHA-256 for `core`), and no
/// cached session or login token survives it.
fn set_password(user: &mut UserData, password: &str) -> Result<(), String> {
    pass_is_valid(password, &user.driver)?;
    user.password = if user.driver == "core" {
        super::sha256_hex(password)
    } else {
        password.to_string()
    };
    user.session = None;
    user.tokens.clear();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------

/// Checks a session `user:secret` (`UserPool::authenticate`): a valid user name, a known
/// and enabled user, then by its driver. Users oned does not know would go to the default
/// external driver, which the test server does not have.
pub(crate) fn authenticate(oned: &mut Oned, session: &str) -> Option<Caller> {
    let (name, secret) = session.split_once(':')?;
    name_is_valid(name, USER_NAME_CHARS).ok()?;
    let user = oned.pool(Kind::User).values().find(|u| u.name == name)?;
    let (id, gid) = (user.id, user.gid);
    let user_data = data(user)?;
    if !user_data.enabled {
        return None;
    }
    if user_data.driver.starts_with("server") {
        return authenticate_server(oned, secret);
    }
    authenticate_internal(oned, id, gid, secret)
}

/// A user oned knows with a non-server driver (`UserPool::authenticate_internal`): a login
/// token (scoped to its EGID, which must still be one of the user's groups), the cached
/// session, then the driver: `core` compares the password's hash, `public` never accepts a
/// direct login, and the external drivers (ssh, x509, ldap ...) are not run by the test
/// server, so they refuse. An accepted secret is cached for [`SESSION_EXPIRATION`].
fn authenticate_internal(oned: &mut Oned, id: i32, gid: i32, secret: &str) -> Option<Caller> {
    let now = oned.now();
    let caller = |gid, scoped| Caller {
        uid: id,
        gid,
        request: 0,
        scoped,
    };
    let user = data_mut(oned, id)?;
    let token = user.tokens.get(secret).map(|t| (t.expires, t.egid));
    if let Some((expires, egid)) = token {
        if expires == -1 || now < expires {
            if egid == -1 {
                return Some(caller(gid, false));
            }
            if !user.groups.contains(&egid) {
                user.tokens.remove(secret);
                return None;
            }
            return Some(caller(egid, true));
        }
    }
    if let Some((cached, until)) = &user.session {
        if cached == secret && (*until == -1 || now < *until) {
            return Some(caller(gid, false));
        }
    }
    if token.is_some() {
        // An expired token: refused without asking the driver.
        return None;
    }
    let accepted = match user.driver.as_str() {
        "core" => user.password == super::sha256_hex(secret),
        _ => false,
    };
    if !accepted {
        return None;
    }
    user.session = Some((secret.to_string(), now + SESSION_EXPIRATION));
    Some(caller(gid, false))
}

/// A server user (`server_cipher`, `server_x509`) acting for another user
/// (`UserPool::authenticate_server`): the secret is `user:[egid:]token`, accepted when it is
/// that user's cached session (the server driver itself is not run by the test server).
fn authenticate_server(oned: &Oned, secret: &str) -> Option<Caller> {
    let (target, second) = secret.split_once(':')?;
    let (egid, token) = match second.split_once(':') {
        Some((egid, token)) => (Some(egid.parse::<i32>().ok()?), token),
        None => (None, second),
    };
    let user = oned.pool(Kind::User).values().find(|u| u.name == target)?;
    let (cached, until) = data(user)?.session.as_ref()?;
    let now = oned.now();
    if cached != token || !(*until == -1 || now < *until) {
        return None;
    }
    Some(match egid {
        Some(egid) => Caller {
            uid: user.id,
            gid: egid,
            request: 0,
            scoped: true,
        },
        None => Caller {
            uid: user.id,
            gid: user.gid,
            request: 0,
            scoped: false,
        },
    })
}

// ---------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------

/// A new user (`UserPool::allocate`): the password (unless the driver does not require
/// one), the name, its uniqueness, then the groups; the first group is the primary one.
pub(crate) fn create_user(
    oned: &mut Oned,
    name: &str,
    password: &str,
    driver: &str,
    gid: i32,
    groups: &BTreeSet<i32>,
) -> Result<i32, String> {
    if driver_conf(driver).password_required {
        pass_is_valid(password, driver).map_err(|e| e + ".")?;
    }
    name_is_valid(name, USER_NAME_CHARS).map_err(|e| e + ".")?;
    if let Some(other) = oned.pool(Kind::User).values().find(|u| u.name == name) {
        return Err(format!("NAME is already taken by USER {}.", other.id));
    }
    let driver = if driver.is_empty() { "core" } else { driver };
    let stored = if driver == "core" {
        super::sha256_hex(password)
    } else {
        password.to_string()
    };
    if groups.is_empty() || oned.get(Kind::Group, gid).is_none() {
        return Err("The array of groups needs to have at least a valid Group ID.".into());
    }
    if groups.iter().any(|g| oned.get(Kind::Group, *g).is_none()) {
        let list: Vec<String> = groups.iter().map(i32::to_string).collect();
        return Err(format!(
            "One or more of the groups {} do not exist.",
            list.join(",")
        ));
    }
    let now = oned.now();
    let id = oned.take_id(Kind::User);
    let mut user = Obj::new(Kind::User, id, name, id, gid, now);
    user.ext = Ext::User(UserData::new(stored, driver, groups.clone()));
    user.template.set(
        "TOKEN_PASSWORD",
        super::sha256_hex(&format!("token-password:{id}:{now}")),
    );
    oned.insert(user);
    for g in groups {
        super::group::group_data(oned, *g).users.insert(id);
    }
    Ok(id)
}

/// `one.user.allocate` (`UserAllocateAPI`): CREATE USER and MANAGE on each group given
/// other than the caller's (groups that do not exist are NO_EXISTS), then the user in the
/// first group given, or in `users` when oneadmin's group creates it, or in the caller's.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let group_ids: Vec<i32> = match p.get(3) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_i64())
            .map(|v| v as i32)
            .collect(),
        _ => vec![],
    };
    let mut request = AuthRequest::new(oned, caller).add_create(Kind::User);
    for gid in &group_ids {
        let group = oned
            .get(Kind::Group, *gid)
            .ok_or_else(|| no_exists(Kind::Group, *gid))?;
        if *gid != caller.gid {
            request = request.add_obj(Op::Manage, group);
        }
    }
    request.check()?;
    let mut groups: BTreeSet<i32> = group_ids.iter().copied().collect();
    let gid = match group_ids.first() {
        Some(first) => *first,
        None => {
            let gid = if caller.gid == 0 { 1 } else { caller.gid };
            groups.insert(gid);
            gid
        }
    };
    create_user(oned, p.str(0), p.str(1), p.str(2), gid, &groups)
        .map(Value::Int)
        .map_err(|e| fail(ErrorCode::Internal, e))
}

// ---------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------

/// `basic_authorization` of a user method.
fn authorize_user(oned: &Oned, caller: Caller, id: i32, op: Op) -> Result<(), Failure> {
    super::auth::fetch(oned, caller, Kind::User, id, op, 1).map(|_| ())
}

/// `one.user.passwd` (`UserAPI::password`): MANAGE on the user; only administrators change
/// the password of a driver that does not let users change theirs.
pub(crate) fn passwd(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    authorize_user(oned, caller, id, Op::Manage)?;
    let admin = oned.caller_is_admin(caller);
    let user = data_mut(oned, id).ok_or_else(|| fail(ErrorCode::Action, ""))?;
    if !driver_conf(&user.driver).password_change && !admin {
        return Err(fail(
            ErrorCode::Action,
            format!("Password for driver {} cannot be changed.", user.driver),
        ));
    }
    set_password(user, p.str(1)).map_err(|e| fail(ErrorCode::Action, e))?;
    Ok(Value::Int(id))
}

/// `one.user.chauth` (`UserAPI::change_auth`): ADMIN on the user; the driver changes (and
/// the cached session goes), then the password if one is given: a password the new driver
/// refuses puts the old driver back.
pub(crate) fn chauth(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    authorize_user(oned, caller, id, Op::Admin)?;
    let (driver, password) = (p.str(1), p.str(2));
    let user = data_mut(oned, id).ok_or_else(|| fail(ErrorCode::Action, ""))?;
    let old = std::mem::replace(&mut user.driver, driver.to_string());
    user.session = None;
    if !password.is_empty() {
        if let Err(e) = set_password(user, password) {
            user.driver = old;
            return Err(fail(ErrorCode::Action, e));
        }
    }
    Ok(Value::Int(id))
}

/// `one.user.enable` (`UserAPI::enable`): ADMIN on the user; oneadmin stays enabled.
pub(crate) fn enable(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    authorize_user(oned, caller, id, Op::Admin)?;
    if id == 0 {
        return Err(fail(
            ErrorCode::Action,
            "Cannot enable/disable oneadmin user",
        ));
    }
    let enabled = p.bool_or(1, true);
    let user = data_mut(oned, id).ok_or_else(|| fail(ErrorCode::Action, "User not found"))?;
    user.enabled = enabled;
    Ok(Value::Int(id))
}

/// `one.user.quota` (`UserAPI::quota`): ADMIN on the user; oneadmin has no quotas.
pub(crate) fn set_quota(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    authorize_user(oned, caller, id, Op::Admin)?;
    if id == 0 {
        return Err(fail(
            ErrorCode::Action,
            "Cannot set quotas for oneadmin user",
        ));
    }
    quota::set(oned, Kind::User, id, p.str(1))?;
    Ok(Value::Int(id))
}

/// `one.user.chgrp` (`UserAPI::chown`): a new primary group. A group the user was not in
/// replaces the old primary group; one of its secondary groups becomes primary and the
/// old one stays secondary.
pub(crate) fn chgrp(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, gid) = (p.int(0), p.int(1));
    if gid < 0 {
        return Err(fail(ErrorCode::XmlRpcApi, "Wrong group ID"));
    }
    let user = oned
        .get(Kind::User, id)
        .ok_or_else(|| no_exists(Kind::User, id))?;
    let driver = data(user).map(|d| d.driver.clone()).unwrap_or_default();
    let new_group = !oned.user_groups(id).contains(&gid);
    if driver_conf(&driver).managed_groups && new_group {
        return Err(fail(
            ErrorCode::XmlRpcApi,
            format!("Groups cannot be manually managed for auth driver {driver}"),
        ));
    }
    let group = oned
        .get(Kind::Group, gid)
        .ok_or_else(|| no_exists(Kind::Group, gid))?;
    if id == 0 {
        return Err(fail(
            ErrorCode::Internal,
            format!(
                "user [0] {} cannot be moved outside of the group [0] oneadmin",
                user.name
            ),
        ));
    }
    AuthRequest::new(oned, caller)
        .add_obj(Op::Manage, user)
        .add_obj(Op::Use, group)
        .check()?;
    let old = user.gid;
    if old == gid {
        return Ok(Value::Int(id));
    }
    let user = oned.get_mut(Kind::User, id).expect("checked");
    user.gid = gid;
    let Ext::User(u) = &mut user.ext else {
        return Ok(Value::Int(id));
    };
    let replaced = u.groups.insert(gid);
    if replaced {
        u.groups.remove(&old);
    }
    super::group::group_data(oned, gid).users.insert(id);
    if replaced {
        super::group::remove_member(oned, old, id);
    }
    Ok(Value::Int(id))
}

/// What `one.user.addgroup` and `one.user.delgroup` check (`UserAPI::edit_group`): the
/// user, its driver not managing groups, the group, MANAGE on both.
fn check_group_edit(oned: &Oned, caller: Caller, id: i32, gid: i32) -> Result<(), Failure> {
    let user = oned
        .get(Kind::User, id)
        .ok_or_else(|| no_exists(Kind::User, id))?;
    let driver = data(user).map(|d| d.driver.as_str()).unwrap_or_default();
    if driver_conf(driver).managed_groups {
        return Err(fail(
            ErrorCode::Action,
            format!("Groups cannot be manually managed for auth driver {driver}"),
        ));
    }
    let group = oned
        .get(Kind::Group, gid)
        .ok_or_else(|| no_exists(Kind::Group, gid))?;
    AuthRequest::new(oned, caller)
        .add_obj(Op::Manage, user)
        .add_obj(Op::Manage, group)
        .check()
}

/// `one.user.addgroup`.
pub(crate) fn addgroup(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, gid) = (p.int(0), p.int(1));
    check_group_edit(oned, caller, id, gid)?;
    let user = data_mut(oned, id).ok_or_else(|| no_exists(Kind::User, id))?;
    if !user.groups.insert(gid) {
        return Err(fail(ErrorCode::Action, "User is already in this group"));
    }
    super::group::group_data(oned, gid).users.insert(id);
    Ok(Value::Int(id))
}

/// `one.user.delgroup`.
pub(crate) fn delgroup(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, gid) = (p.int(0), p.int(1));
    check_group_edit(oned, caller, id, gid)?;
    let primary = oned.get(Kind::User, id).map_or(-1, |u| u.gid);
    let user = data_mut(oned, id).ok_or_else(|| no_exists(Kind::User, id))?;
    if gid == primary {
        return Err(fail(
            ErrorCode::Action,
            "Cannot remove user from the primary group",
        ));
    }
    if !user.groups.remove(&gid) {
        return Err(fail(ErrorCode::Action, "User is not part of this group"));
    }
    super::group::remove_member(oned, gid, id);
    Ok(Value::Int(id))
}

/// `one.user.login` (`UserAPI::login`): MANAGE on the user named; the driver's longest
/// token time; `valid` 0 revokes one token (or all with an empty one), -1 or more seconds
/// make one (for the caller's full group set, or for one group with an EGID).
pub(crate) fn login(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, given, egid) = (p.str(0), p.str(1), p.int_or(3, -1));
    let mut valid = i64::from(p.int(2));
    let user = oned
        .pool(Kind::User)
        .values()
        .find(|u| u.name == name)
        .ok_or_else(|| fail(ErrorCode::NoExists, "Error getting user Pool."))?;
    AuthRequest::new(oned, caller)
        .add_obj(Op::Manage, user)
        .check()?;
    let id = user.id;
    let caller_groups = oned.groups_of(caller);
    let admin = oned.caller_is_admin(caller);
    let now = oned.now();
    let user = data(user).expect("a user").clone();
    let max = driver_conf(&user.driver).max_token_time;
    if max == 0 {
        data_mut(oned, id).expect("a user").tokens.clear();
        return Err(fail(
            ErrorCode::Action,
            format!("Login tokens are disabled for driver {}", user.driver),
        ));
    }
    if max > 0 && (valid > max || valid == -1) {
        valid = max;
    }
    if valid == 0 {
        let tokens = &mut data_mut(oned, id).expect("a user").tokens;
        if given.is_empty() {
            tokens.clear();
        } else if tokens.remove(given).is_none() {
            return Err(fail(
                ErrorCode::XmlRpcApi,
                format!("Could not find token: {given}"),
            ));
        }
        return Ok(Value::from(given));
    }
    if valid < -1 {
        return Err(fail(ErrorCode::XmlRpcApi, "Wrong valid period for token"));
    }
    if egid != -1 && !admin && (!user.groups.contains(&egid) || !caller_groups.contains(&egid)) {
        return Err(fail(ErrorCode::XmlRpcApi, "EGID is not in user group list"));
    }
    if egid == -1 && user.groups != caller_groups {
        return Err(fail(
            ErrorCode::XmlRpcApi,
            "Cannot create a full token with a specific group token",
        ));
    }
    let mut tokens = user.tokens;
    tokens.retain(|_, t| !(t.expires != -1 && now > t.expires));
    if tokens.len() >= MAX_TOKENS {
        return Err(fail(
            ErrorCode::XmlRpcApi,
            "Max number of tokens limit reached.",
        ));
    }
    let token = if given.is_empty() {
        oned.next_token(id)
    } else {
        given.to_string()
    };
    let expires = if valid == -1 { -1 } else { now + valid };
    tokens
        .entry(token.clone())
        .or_insert(LoginToken { expires, egid });
    data_mut(oned, id).expect("a user").tokens = tokens;
    Ok(Value::from(token))
}

/// The attributes of a user's or group's template only administrators set
/// (`USER_RESTRICTED_ATTR`, `GROUP_RESTRICTED_ATTR` of oned.conf), in oned's order.
const VM_OPERATION_LISTS: [&str; 3] = [
    "VM_ADMIN_OPERATIONS",
    "VM_MANAGE_OPERATIONS",
    "VM_USE_OPERATIONS",
];

/// The operations a VM_*_OPERATIONS list may name (`VMActions::set_auth_ops`).
const VM_OPERATIONS: [&str; 32] = [
    "migrate",
    "delete",
    "recover",
    "retry",
    "deploy",
    "resched",
    "undeploy",
    "hold",
    "release",
    "stop",
    "suspend",
    "resume",
    "reboot",
    "poweroff",
    "disk-attach",
    "nic-attach",
    "disk-snapshot",
    "terminate",
    "disk-resize",
    "snapshot",
    "updateconf",
    "rename",
    "resize",
    "update",
    "disk-saveas",
    "backup",
    "sched-action",
    "sg-attach",
    "pci-attach",
    "restore",
    "exec",
    "vmgroup",
];

/// What an update of a user's or group's template must respect
/// (`PoolObjectSQL::replace_template` / `append_template` with the restricted attributes,
/// then `post_update_template`): a non-administrator cannot change the VM operation lists
/// (a replace keeps the old ones), and every list names known operations.
pub(crate) fn check_template_update(
    old: &Tmpl,
    new: &mut Tmpl,
    merge: bool,
    admin: bool,
) -> Result<(), String> {
    if !admin {
        for name in VM_OPERATION_LISTS {
            match (new.get(name), old.get(name)) {
                (Some(value), base) if base.unwrap_or("") != value => {
                    return Err(if merge {
                        format!("User Template includes a restricted attribute {name}")
                    } else {
                        format!("Tried to change restricted attribute: {name}")
                    });
                }
                (None, Some(base)) if !merge => new.set(name, base.to_string()),
                _ => {}
            }
        }
    }
    let mut result = if merge { old.clone() } else { Tmpl::default() };
    result.merge(new.clone());
    for name in VM_OPERATION_LISTS {
        let ops: BTreeSet<String> = result
            .get(name)
            .unwrap_or("")
            .split(',')
            .map(|op| op.trim().to_lowercase())
            .filter(|op| !op.is_empty())
            .collect();
        if let Some(unknown) = ops.iter().find(|op| !VM_OPERATIONS.contains(&op.as_str())) {
            return Err(format!("Unknown vm operation: {unknown}"));
        }
    }
    Ok(())
}

/// A user was deleted: out of its groups (and their administrators), its ACL rules gone
/// (`UserAPI::drop`).
pub(crate) fn deleted(oned: &mut Oned, id: i32, groups: &BTreeSet<i32>) {
    for g in groups {
        super::group::remove_member(oned, *g, id);
    }
    super::acl::user_deleted(oned, id);
}

// ---------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------

pub(crate) fn summary(oned: &Oned, obj: &Obj) -> Option<models::UserSummary> {
    let user = data(obj)?;
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
        login_token: user
            .tokens
            .iter()
            .map(|(token, t)| models::LoginToken {
                token: token.clone(),
                expiration_time: t.expires,
                egid: i64::from(t.egid),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_and_name_rules_follow_oned() {
        assert_eq!(
            pass_is_valid("", "core").unwrap_err(),
            "Invalid password, it cannot be empty"
        );
        assert!(pass_is_valid(&"p".repeat(256), "core").is_ok());
        assert!(pass_is_valid(&"p".repeat(257), "core")
            .unwrap_err()
            .ends_with("for the driver core : 256 bytes"));
        assert!(pass_is_valid(&"p".repeat(300), "").is_ok());
        assert_eq!(
            pass_is_valid("a\tb", "ldap").unwrap_err(),
            "Invalid password, character '\t' is not allowed"
        );
        assert_eq!(
            name_is_valid("a#b", USER_NAME_CHARS).unwrap_err(),
            "Invalid NAME, char '#' is not allowed"
        );
        assert!(name_is_valid(&"u".repeat(128), USER_NAME_CHARS).is_ok());
        assert!(name_is_valid(&"u".repeat(129), USER_NAME_CHARS).is_err());
    }
}
