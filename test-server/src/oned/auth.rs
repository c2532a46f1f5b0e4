//! Authorization as oned does it: an object's permissions as the authorization sees them
//! ([`Perms`], `PoolObjectSQL::get_permissions` and src/pool/PoolObjectAuth.cc), a request
//! of several operations on several objects answered at once with every refusal in its
//! message ([`AuthRequest`], src/authm/AuthManager.cc `AuthRequest::add_auth`), the object
//! locks (include/PoolObjectSQL.h lock levels, `AclManager::oneadmin_authorize`), and which
//! objects a pool listing shows (src/pool/PoolSQL.cc `acl_filter`, `usr_filter`).
//!
//! Administrators (oneadmin and the members of its group) may do anything an object's lock
//! leaves; everybody else what the object's permission bits and the ACL rules give
//! ([`super::acl::authorize`]).

use super::acl;
use super::prelude::*;

// ---------------------------------------------------------------------------------------
// Operations and permissions
// ---------------------------------------------------------------------------------------

/// The operation a call needs on an object (`AuthRequest::Operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Use,
    Manage,
    Admin,
    Create,
}

impl Op {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Use => "USE",
            Op::Manage => "MANAGE",
            Op::Admin => "ADMIN",
            Op::Create => "CREATE",
        }
    }

    /// The rights bit (1, 2, 4, 8), which is also the lowest lock level that blocks it.
    pub(crate) fn bits(self) -> i64 {
        match self {
            Op::Use => acl::USE,
            Op::Manage => acl::MANAGE,
            Op::Admin => acl::ADMIN,
            Op::Create => acl::CREATE,
        }
    }
}

/// The operation most methods of a kind authorize (the API class's `auth_op`: ADMIN for
/// hosts, clusters, groups, VDCs and zones, MANAGE for the rest; src/rm/api/*API.h).
pub(crate) fn base_op(kind: Kind) -> Op {
    match kind {
        Kind::Host | Kind::Cluster | Kind::Group | Kind::Vdc | Kind::Zone => Op::Admin,
        _ => Op::Manage,
    }
}

/// The operation a shared verb (`update`, `rename`) needs on an object of `kind`: a VM's
/// is the VM action's ([`vm_action_op`]), the others' the kind's ([`base_op`]).
pub(crate) fn verb_op(oned: &Oned, caller: Caller, kind: Kind, verb: &str) -> Op {
    match kind {
        Kind::Vm => vm_action_op(oned, caller, verb),
        _ => base_op(kind),
    }
}

/// The operation a VM action needs (`RequestAttributes::set_auth_op`): the user's
/// `VM_*_OPERATIONS` template attributes first, then its group's, then oned.conf's
/// (`migrate`, `delete`, `recover`, `retry`, `deploy`, `resched`, `backup`, `restore` are
/// ADMIN, the other actions MANAGE). `action` is the operation's name in those lists
/// (`poweroff` for both poweroffs, `resched` for unresched too ...); a name no list has is
/// MANAGE, the VM methods' operation.
pub(crate) fn vm_action_op(oned: &Oned, caller: Caller, action: &str) -> Op {
    let listed = |obj: Option<&Obj>| -> Option<Op> {
        let template = &obj?.template;
        [
            ("VM_ADMIN_OPERATIONS", Op::Admin),
            ("VM_MANAGE_OPERATIONS", Op::Manage),
            ("VM_USE_OPERATIONS", Op::Use),
        ]
        .into_iter()
        .find(|(list, _)| {
            template.get(list).is_some_and(|ops| {
                ops.split(',')
                    .any(|op| op.trim().eq_ignore_ascii_case(action))
            })
        })
        .map(|(_, op)| op)
    };
    listed(oned.get(Kind::User, caller.uid))
        .or_else(|| listed(oned.get(Kind::Group, caller.gid)))
        .unwrap_or(match action {
            "migrate" | "delete" | "recover" | "retry" | "deploy" | "resched" | "backup"
            | "restore" => Op::Admin,
            _ => Op::Manage,
        })
}

/// The operation list name of a `one.vm.action` action (`VMActions::set_auth_ops`).
pub(crate) fn vm_action_name(action: &str) -> &str {
    match action {
        "terminate-hard" => "terminate",
        "undeploy-hard" => "undeploy",
        "poweroff-hard" => "poweroff",
        "reboot-hard" => "reboot",
        "unresched" => "resched",
        other => other,
    }
}

/// An object as the authorization sees it (`PoolObjectAuth`).
#[derive(Debug, Clone)]
pub(crate) struct Perms {
    /// The object type's ACL bit and name (`PoolObjectSQL::ObjectType`).
    pub(crate) type_bit: i64,
    pub(crate) type_name: &'static str,
    pub(crate) oid: i32,
    pub(crate) uid: i32,
    pub(crate) gid: i32,
    /// OWNER_U, OWNER_M, OWNER_A, GROUP_U ... OTHER_A.
    pub(crate) perms: [u8; 9],
    /// The lock level (0 none, 1 use, 2 manage, 3 admin).
    pub(crate) locked: i32,
    pub(crate) cids: BTreeSet<i32>,
    pub(crate) disable_all_acl: bool,
    pub(crate) disable_cluster_acl: bool,
    pub(crate) disable_group_acl: bool,
}

impl Perms {
    /// No object yet: what a CREATE is checked on (`AuthRequest::add_create_auth`).
    fn new_object(type_bit: i64, type_name: &'static str, uid: i32, gid: i32) -> Perms {
        Perms {
            type_bit,
            type_name,
            oid: -1,
            uid,
            gid,
            perms: [1, 1, 0, 0, 0, 0, 0, 0, 0],
            locked: 0,
            cids: BTreeSet::new(),
            disable_all_acl: false,
            disable_cluster_acl: false,
            disable_group_acl: false,
        }
    }
}

/// The lock level oned keeps for a lock taken at `level` (`SharedAPI::lock`: 4, "all",
/// is kept as USE, which blocks everything).
pub(crate) fn lock_state(level: i32) -> i32 {
    if level == 4 {
        1
    } else {
        level
    }
}

/// An object's permissions: users own themselves, a group belongs to oneadmin and to
/// itself and its members may use it; hosts, clusters, zones, VDCs and hooks have no owner
/// (only ACL rules give them); hosts, datastores and networks carry their clusters, and a
/// reservation is not reached by `*` and cluster rules (`VirtualNetwork::get_permissions`).
pub(crate) fn perms(obj: &Obj) -> Perms {
    let mut p = Perms {
        type_bit: acl::type_bit(obj.kind),
        type_name: obj.kind.auth_name(),
        oid: obj.id,
        uid: obj.uid,
        gid: obj.gid,
        perms: obj.perms,
        locked: obj.lock.as_ref().map_or(0, |l| lock_state(l.level)),
        cids: BTreeSet::new(),
        disable_all_acl: false,
        disable_cluster_acl: false,
        disable_group_acl: false,
    };
    match obj.kind {
        Kind::User => {
            p.uid = obj.id;
            p.perms = [1, 1, 0, 0, 0, 0, 0, 0, 0];
        }
        Kind::Group => {
            p.uid = 0;
            p.gid = obj.id;
            p.perms = [1, 1, 0, 1, 0, 0, 0, 0, 0];
        }
        Kind::Host | Kind::Cluster | Kind::Zone | Kind::Vdc | Kind::Hook => {
            p.uid = -1;
            p.gid = -1;
            p.perms = [1, 1, 0, 0, 0, 0, 0, 0, 0];
        }
        _ => {}
    }
    match &obj.ext {
        Ext::Host(h) => {
            p.cids.insert(h.cluster_id);
        }
        Ext::Datastore(d) => p.cids = d.clusters.clone(),
        Ext::Vnet(v) => {
            p.cids = v.clusters.clone();
            if v.parent.is_some() {
                p.disable_cluster_acl = true;
                p.disable_all_acl = true;
            }
        }
        _ => {}
    }
    p
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// Several operations authorized at once, as one `AuthRequest`: each refused one adds its
/// text to the message (`Not authorized to perform USE DATASTORE [1]`, or `VM is locked.
/// [3]` for an administrator), and [`AuthRequest::check`] refuses the call with all of them.
pub(crate) struct AuthRequest<'a> {
    oned: &'a Oned,
    caller: Caller,
    groups: BTreeSet<i32>,
    admin: bool,
    message: String,
    ok: bool,
}

impl<'a> AuthRequest<'a> {
    pub(crate) fn new(oned: &'a Oned, caller: Caller) -> AuthRequest<'a> {
        AuthRequest {
            oned,
            caller,
            groups: oned.groups_of(caller),
            admin: oned.caller_is_admin(caller),
            message: String::new(),
            ok: true,
        }
    }

    /// `op` on an object, refused while a lock at `op`'s level or below holds it.
    pub(crate) fn add(self, op: Op, p: &Perms) -> Self {
        self.add_bits(op, op.bits(), p)
    }

    /// `op` on an object, whatever its lock (the `*_NO_LCK` operations).
    pub(crate) fn add_no_lock(self, op: Op, p: &Perms) -> Self {
        self.add_bits(op, op.bits() | 0x10, p)
    }

    /// `op` on an object of the pool.
    pub(crate) fn add_obj(self, op: Op, obj: &Obj) -> Self {
        self.add(op, &perms(obj))
    }

    /// Creating an object of `kind` owned by the caller.
    pub(crate) fn add_create(self, kind: Kind) -> Self {
        let p = Perms::new_object(
            acl::type_bit(kind),
            kind.auth_name(),
            self.caller.uid,
            self.caller.gid,
        );
        self.add(Op::Create, &p)
    }

    /// `op` on an object type with no object (`basic_authorization` with id -1, as the ACL
    /// methods ask MANAGE ACL), by its ACL bit and name.
    pub(crate) fn add_type(self, op: Op, type_bit: i64, type_name: &'static str) -> Self {
        let mut p = Perms::new_object(type_bit, type_name, -1, -1);
        p.perms = [1, 1, 0, 0, 0, 0, 0, 0, 0];
        self.add(op, &p)
    }

    fn add_bits(mut self, op: Op, bits: i64, p: &Perms) -> Self {
        let granted = if self.admin {
            // AclManager::oneadmin_authorize: only the lock stands in the way.
            bits & 0x10 != 0 || !(p.locked > 0 && i64::from(p.locked) <= bits)
        } else {
            acl::authorize(self.oned, self.caller.uid, &self.groups, p, bits)
        };
        if !granted {
            let admin = self.admin;
            self.refuse(op, p.type_name, p.oid, admin);
        }
        self
    }

    fn refuse(&mut self, op: Op, type_name: &str, oid: i32, locked: bool) {
        self.ok = false;
        if !self.message.is_empty() {
            self.message.push_str("; ");
        }
        if locked {
            self.message.push_str(&format!("{type_name} is locked."));
        } else {
            self.message.push_str(&format!(
                "Not authorized to perform {} {type_name}",
                op.name()
            ));
        }
        if oid != -1 {
            self.message.push_str(&format!(" [{oid}]"));
        }
    }

    /// The call's answer: AUTHORIZATION `User [uid] : <refusals>.` unless all was granted.
    pub(crate) fn check(self) -> Result<(), Failure> {
        if self.ok {
            Ok(())
        } else {
            Err(fail(
                ErrorCode::Authorization,
                format!("User [{}] : {}.", self.caller.uid, self.message),
            ))
        }
    }
}

/// Checks `op` on an object, whatever its lock.
pub(crate) fn authorize(oned: &Oned, caller: Caller, obj: &Obj, op: Op) -> Result<(), Failure> {
    AuthRequest::new(oned, caller)
        .add_no_lock(op, &perms(obj))
        .check()
}

/// Fetches an object and checks the operation (`basic_authorization`): NO_EXISTS first,
/// then AUTHORIZATION. With `lock_level` 0 the lock is not looked at (`*_NO_LCK`);
/// otherwise a lock at `op`'s level or below refuses it.
pub(crate) fn fetch(
    oned: &Oned,
    caller: Caller,
    kind: Kind,
    id: i32,
    op: Op,
    lock_level: i32,
) -> Result<&Obj, Failure> {
    let obj = oned.get(kind, id).ok_or_else(|| no_exists(kind, id))?;
    let p = perms(obj);
    let request = AuthRequest::new(oned, caller);
    let request = if lock_level == 0 {
        request.add_no_lock(op, &p)
    } else {
        request.add(op, &p)
    };
    request.check()?;
    Ok(obj)
}

/// Refuses a caller outside the oneadmin group: what the methods reserved to administrators
/// answer (`User [uid] : Not authorized to perform ADMIN <KIND> [id].`).
pub(crate) fn admin_only(oned: &Oned, caller: Caller, kind: Kind, id: i32) -> Result<(), Failure> {
    if oned.caller_is_admin(caller) {
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

/// Checks `one.<kind>.allocate`'s CREATE right (`SharedAPI::allocate_authorization`): the
/// default rules give it to the group `users` for VMs, images, templates, documents,
/// security groups, VM groups and backup jobs. Hosts, datastores and networks go into
/// cluster 0 and also need ADMIN on it.
pub(crate) fn check_create(oned: &Oned, caller: Caller, kind: Kind) -> Result<(), Failure> {
    let request = AuthRequest::new(oned, caller).add_create(kind);
    let request = match (kind, oned.get(Kind::Cluster, 0)) {
        (Kind::Host | Kind::Datastore | Kind::Vnet, Some(cluster)) => {
            request.add_obj(Op::Admin, cluster)
        }
        _ => request,
    };
    request.check()
}

// ---------------------------------------------------------------------------------------
// Pool listings
// ---------------------------------------------------------------------------------------

/// Which objects of a kind a caller's pool listing shows (`PoolSQL::acl_filter` and
/// `usr_filter`): everything for administrators; else its own objects, the ones its groups'
/// or everyone's USE bit opens, and what ACL rules give (every object, some ids, the
/// objects of some groups or clusters).
pub(crate) struct Listing {
    uid: i32,
    gid: i32,
    groups: BTreeSet<i32>,
    admin: bool,
    acl: acl::Visible,
    /// For networks: what the rules give of reservations, which `*` and cluster rules do
    /// not reach (`VirtualNetworkPoolAPI::info`).
    reservations: acl::Visible,
}

impl Listing {
    pub(crate) fn new(oned: &Oned, caller: Caller, kind: Kind) -> Listing {
        let groups = oned.groups_of(caller);
        let admin = oned.caller_is_admin(caller);
        let search = |restricted: bool| {
            if admin {
                acl::Visible::default()
            } else {
                acl::reverse_search(
                    oned, caller.uid, &groups, kind, restricted, restricted, false,
                )
            }
        };
        let acl = search(false);
        let reservations = if kind == Kind::Vnet {
            search(true)
        } else {
            acl::Visible::default()
        };
        Listing {
            uid: caller.uid,
            gid: caller.gid,
            groups,
            admin,
            acl,
            reservations,
        }
    }

    /// Whether the listing with `filter` (-4 the caller's group, -3 its own, -2 all, -1 its
    /// own and its groups', a user id) shows the object.
    pub(crate) fn shows(&self, obj: &Obj, filter: i32) -> bool {
        let p = perms(obj);
        let acl = if p.disable_all_acl {
            &self.reservations
        } else {
            &self.acl
        };
        let all = self.admin || acl.all;
        let by_acl = || {
            acl.oids.contains(&p.oid)
                || acl.gids.contains(&p.gid)
                || p.cids.iter().any(|c| acl.cids.contains(c))
        };
        let opened_to = |groups: &BTreeSet<i32>| {
            p.perms[6] == 1 || (p.perms[3] == 1 && groups.contains(&p.gid)) || by_acl()
        };
        match filter {
            -3 => p.uid == self.uid,
            -4 => {
                p.gid == self.gid
                    && (all || p.uid == self.uid || opened_to(&BTreeSet::from([self.gid])))
            }
            -1 => {
                p.uid == self.uid
                    || (self.groups.contains(&p.gid) && (all || opened_to(&self.groups)))
            }
            -2 => all || p.uid == self.uid || opened_to(&self.groups),
            uid => p.uid == uid && (uid == self.uid || all || opened_to(&self.groups)),
        }
    }
}
