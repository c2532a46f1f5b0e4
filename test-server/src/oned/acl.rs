//! ACL rules (src/acl/AclRule.cc, src/acl/AclManager.cc): the bootstrap set, the rules oned
//! adds and removes for VDC groups and group administrators and when objects go away, the
//! `one.acl.*` methods with oned's parsing and validation, and the evaluation behind every
//! authorization of a non-administrator ([`authorize`]) and every pool listing
//! ([`reverse_search`]).
//!
//! Rules are 64-bit words as oned keeps them (`long long`): the arithmetic below is oned's,
//! sign extension of negative ids included.

use super::auth::Perms;
use super::prelude::*;
use opennebula::models;
use opennebula::xml::ToXml;

pub(crate) const INDIVIDUAL: i64 = 0x1_0000_0000;
pub(crate) const GROUP: i64 = 0x2_0000_0000;
pub(crate) const ALL: i64 = 0x4_0000_0000;
pub(crate) const CLUSTER: i64 = 0x8_0000_0000;
/// A request field that matches nothing (`AclRule::NONE_ID`).
const NONE_ID: i64 = 0x1000_0000_0000_0000;
/// The id bits of a rule field.
const ID_MASK: i64 = 0xFFFF_FFFF;
/// The zone this oned is (zone 0, the only one).
const ZONE_ID: i64 = 0;

/// The ACL object type (not a pool kind).
pub(crate) const ACL_TYPE: i64 = 0x0800_0000_0000;

/// The object type bit of a kind (`PoolObjectSQL::ObjectType`).
pub(crate) fn type_bit(kind: Kind) -> i64 {
    match kind {
        Kind::Vm => 0x10_0000_0000,
        Kind::Host => 0x20_0000_0000,
        Kind::Vnet => 0x40_0000_0000,
        Kind::Image => 0x80_0000_0000,
        Kind::User => 0x100_0000_0000,
        Kind::Template => 0x200_0000_0000,
        Kind::Group => 0x400_0000_0000,
        Kind::Datastore => 0x1000_0000_0000,
        Kind::Cluster => 0x2000_0000_0000,
        Kind::Document => 0x4000_0000_0000,
        Kind::Zone => 0x8000_0000_0000,
        Kind::SecGroup => 0x1_0000_0000_0000,
        Kind::Vdc => 0x2_0000_0000_0000,
        Kind::VRouter => 0x4_0000_0000_0000,
        Kind::Market => 0x8_0000_0000_0000,
        Kind::MarketApp => 0x10_0000_0000_0000,
        Kind::VmGroup => 0x20_0000_0000_0000,
        Kind::VnTemplate => 0x40_0000_0000_0000,
        Kind::Hook => 0x80_0000_0000_0000,
        Kind::BackupJob => 0x100_0000_0000_0000,
    }
}

/// The types a rule string names, in oned's order (`AclRule::pool_objects`: no ACL, no HOOK).
const POOL_OBJECTS: [Kind; 19] = [
    Kind::Vm,
    Kind::Host,
    Kind::Vnet,
    Kind::Image,
    Kind::User,
    Kind::Template,
    Kind::Group,
    Kind::Datastore,
    Kind::Cluster,
    Kind::Document,
    Kind::Zone,
    Kind::SecGroup,
    Kind::Vdc,
    Kind::VRouter,
    Kind::Market,
    Kind::MarketApp,
    Kind::VmGroup,
    Kind::VnTemplate,
    Kind::BackupJob,
];

/// The rights bits (`AuthRequest::Operation`).
pub(crate) const USE: i64 = 0x1;
pub(crate) const MANAGE: i64 = 0x2;
pub(crate) const ADMIN: i64 = 0x4;
pub(crate) const CREATE: i64 = 0x8;

const RIGHTS: [(i64, &str); 4] = [
    (USE, "USE"),
    (MANAGE, "MANAGE"),
    (ADMIN, "ADMIN"),
    (CREATE, "CREATE"),
];

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) id: i32,
    pub(crate) user: i64,
    pub(crate) resource: i64,
    pub(crate) rights: i64,
    pub(crate) zone: i64,
}

/// The id part of a rule field, as oned reads it (`int`, so it may be negative).
fn field_id(field: i64) -> i32 {
    (field & ID_MASK) as u32 as i32
}

fn bits(kinds: &[Kind]) -> i64 {
    kinds.iter().map(|k| type_bit(*k)).fold(0, |a, b| a | b)
}

/// The checks of a rule field's id: not negative, 0 with the ALL bit.
fn id_errors(name: &str, field: i64, error: &mut impl FnMut(&str)) {
    if field_id(field) < 0 {
        error(&format!("[{name}] ID cannot be negative"));
    }
    if field & ALL != 0 && field_id(field) != 0 {
        error(&format!("when using the ALL bit, [{name}] ID must be 0"));
    }
}

impl Rule {
    fn same(&self, other: &Rule) -> bool {
        self.user == other.user
            && self.resource == other.resource
            && self.rights == other.rights
            && self.zone == other.zone
    }

    /// The rule as oned prints it (`AclRule::build_str`): `@1 VM+IMAGE/* CREATE *`.
    pub(crate) fn string(&self) -> String {
        let user = if self.user & GROUP != 0 {
            format!("@{}", field_id(self.user))
        } else if self.user & INDIVIDUAL != 0 {
            format!("#{}", field_id(self.user))
        } else if self.user & ALL != 0 {
            "*".to_string()
        } else {
            "??".to_string()
        };
        let types: Vec<&str> = POOL_OBJECTS
            .iter()
            .filter(|k| self.resource & type_bit(**k) != 0)
            .map(|k| k.auth_name())
            .collect();
        let resource = if self.resource & GROUP != 0 {
            format!("@{}", field_id(self.resource))
        } else if self.resource & INDIVIDUAL != 0 {
            format!("#{}", field_id(self.resource))
        } else if self.resource & CLUSTER != 0 {
            format!("%{}", field_id(self.resource))
        } else if self.resource & ALL != 0 {
            "*".to_string()
        } else {
            "??".to_string()
        };
        let rights: Vec<&str> = RIGHTS
            .iter()
            .filter(|(bit, _)| self.rights & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        let zone = if self.zone & INDIVIDUAL != 0 {
            format!("#{}", field_id(self.zone))
        } else if self.zone & ALL != 0 {
            "*".to_string()
        } else {
            "??".to_string()
        };
        format!(
            "{user} {}/{resource} {} {zone}",
            types.join("+"),
            rights.join("+")
        )
    }

    /// What is wrong with the rule, if anything (`AclRule::malformed`, every check in its
    /// order, joined by "; ").
    fn malformed(&self) -> Option<String> {
        let mut errors: Vec<String> = Vec::new();
        let mut error = |e: &str| errors.push(e.to_string());
        self.user_errors(&mut error);
        self.resource_errors(&mut error);
        if self.rights == 0 {
            error("wrong [rights], it cannot be 0");
        }
        if self.rights > 0xF {
            error("wrong [rights], it cannot be bigger than 0xF");
        }
        self.zone_errors(&mut errors);
        (!errors.is_empty()).then(|| errors.join("; "))
    }

    fn user_errors(&self, error: &mut impl FnMut(&str)) {
        let u = self.user;
        if u & INDIVIDUAL != 0 && u & GROUP != 0 {
            error("[user] INDIVIDUAL (#) and GROUP (@) bits are exclusive");
        }
        if u & INDIVIDUAL != 0 && u & ALL != 0 {
            error("[user] INDIVIDUAL (#) and ALL (*) bits are exclusive");
        }
        if u & GROUP != 0 && u & ALL != 0 {
            error("[user] GROUP (@) and ALL (*) bits are exclusive");
        }
        if u & 0x7_0000_0000 == 0 {
            error("[user] is missing one of the INDIVIDUAL, GROUP or ALL bits");
        }
        id_errors("user", u, error);
    }

    fn resource_errors(&self, error: &mut impl FnMut(&str)) {
        let r = self.resource;
        let selector = r & 0xF_0000_0000;
        let exclusive = |bit: i64| r & bit != 0 && selector != bit;
        if exclusive(INDIVIDUAL) || exclusive(GROUP) || exclusive(CLUSTER) || exclusive(ALL) {
            error(
                "[resource] INDIVIDUAL (#), GROUP (@), CLUSTER (%) and ALL (*) bits are exclusive",
            );
        }
        let types = r & (0xFFFF_FFF0_0000_0000_u64 as i64);
        // AclRule::INVALID_CLUSTER_OBJECTS: every type but hosts, networks, datastores
        // (and backup jobs, which oned's list leaves out), plus ACL.
        let invalid_cluster = POOL_OBJECTS
            .iter()
            .filter(|k| {
                !matches!(
                    k,
                    Kind::Host | Kind::Vnet | Kind::Datastore | Kind::BackupJob
                )
            })
            .fold(ACL_TYPE, |acc, k| acc | type_bit(*k));
        if r & CLUSTER != 0 && types & invalid_cluster != 0 {
            error("[resource] CLUSTER(%) selector can be applied only to DATASTORE, HOST and NET types");
        }
        let invalid_group = bits(&[
            Kind::Host,
            Kind::Group,
            Kind::Cluster,
            Kind::Zone,
            Kind::Vdc,
        ]);
        if r & GROUP != 0 && types & invalid_group != 0 {
            error("[resource] GROUP(@) selector cannot be applied to HOST, GROUP, CLUSTER, ZONE or VDC types");
        }
        if selector == 0 {
            error("[resource] is missing one of the INDIVIDUAL, GROUP, CLUSTER or ALL bits");
        }
        id_errors("resource", r, error);
        if r & (0xFFFF_FFF0_0000_0000_u64 as i64) == 0 {
            error("[resource] type is missing");
        }
        if r & (0xFE80_0000_0000_0000_u64 as i64) != 0 {
            error("wrong [resource] type");
        }
    }

    fn zone_errors(&self, errors: &mut Vec<String>) {
        let z = self.zone;
        // oned's GROUP check does not add a separator before its message.
        if z & GROUP != 0 {
            match errors.last_mut() {
                Some(last) => last.push_str("[zone] GROUP (@) bit is not supported"),
                None => errors.push("[zone] GROUP (@) bit is not supported".into()),
            }
        }
        let mut error = |e: &str| errors.push(e.to_string());
        if z & INDIVIDUAL != 0 && z & ALL != 0 {
            error("[zone] INDIVIDUAL (#) and ALL (*) bits are exclusive");
        }
        if z & 0x7_0000_0000 == 0 {
            error("[zone] is missing one of the INDIVIDUAL or ALL bits");
        }
        id_errors("zone", z, &mut error);
        let types = self.resource & (0xFFFF_FFF0_0000_0000_u64 as i64);
        let federated = bits(&[Kind::User, Kind::Group, Kind::Zone, Kind::Vdc]) | ACL_TYPE;
        if z & ALL != 0 && self.resource & INDIVIDUAL != 0 && types & federated != types {
            error("[resource] INDIVIDUAL(#) selector cannot be applied to ALL zones, except for USER, GROUP and ZONE types");
        }
    }
}

// ---------------------------------------------------------------------------------------
// The rule set
// ---------------------------------------------------------------------------------------

/// Adds a rule (`AclManager::add_rule`): a duplicate or a malformed rule is refused with
/// oned's message and uses up no id.
fn add(oned: &mut Oned, user: i64, resource: i64, rights: i64, zone: i64) -> Result<i32, String> {
    let id = if oned.next_acl == i32::MAX {
        0
    } else {
        oned.next_acl
    };
    let rule = Rule {
        id,
        user,
        resource,
        rights,
        zone,
    };
    if oned.acls.iter().any(|r| r.same(&rule)) {
        return Err(format!("Rule {} already exists", rule.string()));
    }
    if let Some(problems) = rule.malformed() {
        return Err(format!("Rule {} is malformed: {problems}", rule.string()));
    }
    oned.acls.push(rule);
    oned.next_acl = id + 1;
    Ok(id)
}

/// Adds a rule oned adds on its own (bootstrap, VDCs, group admins); oned logs and goes on
/// when one is refused.
fn add_internal(oned: &mut Oned, user: i64, resource: i64, rights: i64, zone: i64) {
    let _ = add(oned, user, resource, rights, zone);
}

/// Deletes the rule equal to the one given, if there is one (`AclManager::del_rule` by value).
fn del_matching(oned: &mut Oned, user: i64, resource: i64, rights: i64, zone: i64) {
    let target = Rule {
        id: -1,
        user,
        resource,
        rights,
        zone,
    };
    if let Some(at) = oned.acls.iter().position(|r| r.same(&target)) {
        oned.acls.remove(at);
    }
}

/// The rules in the order oned keeps them: by user field (a multimap), then as added.
fn ordered(oned: &Oned) -> Vec<Rule> {
    let mut rules = oned.acls.clone();
    rules.sort_by_key(|r| r.user);
    rules
}

/// The bootstrap rules (the `AclManager` constructor): users in group `users` create the
/// standard resources, everyone uses the zones, the marketplaces and their apps.
pub(crate) fn bootstrap(oned: &mut Oned) {
    let create = bits(&[
        Kind::Vm,
        Kind::Image,
        Kind::Template,
        Kind::Document,
        Kind::SecGroup,
        Kind::VmGroup,
        Kind::BackupJob,
    ]);
    add_internal(oned, GROUP | 1, ALL | create, CREATE, ALL);
    add_internal(oned, ALL, ALL | type_bit(Kind::Zone), USE, ALL);
    add_internal(
        oned,
        ALL,
        ALL | bits(&[Kind::Market, Kind::MarketApp]),
        USE,
        ALL,
    );
    vdc_group_added(oned, 1, &[(Kind::Cluster, 0, VDC_ALL)]);
}

/// The resource id a VDC uses for "every resource of this kind in the zone".
pub(crate) const VDC_ALL: i32 = -10;

/// The (resource, rights) rules a VDC gives its groups for a resource (`ResourceSet`, with
/// the `DEFAULT_VDC_*_ACL` of oned.conf): a cluster gives MANAGE on its hosts and USE on
/// its networks and datastores; a host MANAGE, a network or a datastore USE.
fn vdc_resource_rules(kind: Kind, id: i32) -> Vec<(i64, i64)> {
    let prefix = if id == VDC_ALL {
        ALL
    } else if kind == Kind::Cluster {
        CLUSTER | i64::from(id)
    } else {
        INDIVIDUAL | i64::from(id)
    };
    let types: &[(Kind, i64)] = match kind {
        Kind::Cluster => &[
            (Kind::Host, MANAGE),
            (Kind::Vnet, USE),
            (Kind::Datastore, USE),
        ],
        Kind::Host => &[(Kind::Host, MANAGE)],
        Kind::Vnet => &[(Kind::Vnet, USE)],
        Kind::Datastore => &[(Kind::Datastore, USE)],
        _ => &[],
    };
    types
        .iter()
        .map(|(k, rights)| (prefix | type_bit(*k), *rights))
        .collect()
}

/// A VDC got group `gid` (or group `gid` got a VDC): the rules for each of the VDC's
/// resources, given as (kind, zone, id) (`Vdc::add_group`).
pub(crate) fn vdc_group_added(oned: &mut Oned, gid: i32, resources: &[(Kind, i32, i32)]) {
    for kind in [Kind::Cluster, Kind::Host, Kind::Datastore, Kind::Vnet] {
        for (_, zone, id) in resources.iter().filter(|(k, _, _)| *k == kind) {
            vdc_resource_added(oned, &[gid], kind, *zone, *id);
        }
    }
}

/// A VDC lost group `gid` (`Vdc::del_group`).
pub(crate) fn vdc_group_removed(oned: &mut Oned, gid: i32, resources: &[(Kind, i32, i32)]) {
    for kind in [Kind::Cluster, Kind::Host, Kind::Datastore, Kind::Vnet] {
        for (_, zone, id) in resources.iter().filter(|(k, _, _)| *k == kind) {
            vdc_resource_removed(oned, &[gid], kind, *zone, *id);
        }
    }
}

/// A VDC with `groups` got a resource (`ResourceSet::add`).
pub(crate) fn vdc_resource_added(oned: &mut Oned, groups: &[i32], kind: Kind, zone: i32, id: i32) {
    for gid in groups {
        for (resource, rights) in vdc_resource_rules(kind, id) {
            add_internal(
                oned,
                GROUP | i64::from(*gid),
                resource,
                rights,
                INDIVIDUAL | i64::from(zone),
            );
        }
    }
}

/// A VDC with `groups` lost a resource (`ResourceSet::del`).
pub(crate) fn vdc_resource_removed(
    oned: &mut Oned,
    groups: &[i32],
    kind: Kind,
    zone: i32,
    id: i32,
) {
    for gid in groups {
        for (resource, rights) in vdc_resource_rules(kind, id) {
            del_matching(
                oned,
                GROUP | i64::from(*gid),
                resource,
                rights,
                INDIVIDUAL | i64::from(zone),
            );
        }
    }
}

/// The rules oned gives a group administrator (`Group::add_admin_rules`).
fn admin_rules(gid: i32, uid: i32) -> [(i64, i64, i64, i64); 4] {
    let user = INDIVIDUAL | i64::from(uid);
    let group = GROUP | i64::from(gid);
    [
        (
            user,
            type_bit(Kind::User) | group,
            USE | MANAGE | ADMIN | CREATE,
            ALL,
        ),
        (
            user,
            bits(&[
                Kind::Vm,
                Kind::Vnet,
                Kind::Image,
                Kind::Template,
                Kind::Document,
                Kind::SecGroup,
                Kind::VRouter,
                Kind::VmGroup,
                Kind::BackupJob,
            ]) | group,
            USE | MANAGE,
            ALL,
        ),
        (user, type_bit(Kind::VRouter) | ALL, CREATE, ALL),
        (
            user,
            type_bit(Kind::Group) | INDIVIDUAL | i64::from(gid),
            MANAGE,
            ALL,
        ),
    ]
}

pub(crate) fn group_admin_added(oned: &mut Oned, gid: i32, uid: i32) {
    for (user, resource, rights, zone) in admin_rules(gid, uid) {
        add_internal(oned, user, resource, rights, zone);
    }
}

pub(crate) fn group_admin_removed(oned: &mut Oned, gid: i32, uid: i32) {
    for (user, resource, rights, zone) in admin_rules(gid, uid) {
        del_matching(oned, user, resource, rights, zone);
    }
}

/// A user was deleted: its rules go (`AclManager::del_uid_rules`).
pub(crate) fn user_deleted(oned: &mut Oned, uid: i32) {
    let user = INDIVIDUAL | i64::from(uid);
    oned.acls.retain(|r| r.user != user);
}

/// A group was deleted: rules for its members and rules on its objects go
/// (`AclManager::del_gid_rules`).
pub(crate) fn group_deleted(oned: &mut Oned, gid: i32) {
    let request = GROUP | i64::from(gid);
    oned.acls
        .retain(|r| r.user != request && r.resource & (GROUP | ID_MASK) != request);
}

/// A cluster was deleted: rules on its objects go (`AclManager::del_cid_rules`).
pub(crate) fn cluster_deleted(oned: &mut Oned, cid: i32) {
    let request = CLUSTER | i64::from(cid);
    oned.acls
        .retain(|r| r.resource & (CLUSTER | ID_MASK) != request);
}

/// A zone was deleted: rules of that zone go (`AclManager::del_zid_rules`).
pub(crate) fn zone_deleted(oned: &mut Oned, zid: i32) {
    let request = INDIVIDUAL | i64::from(zid);
    oned.acls.retain(|r| r.zone != request);
}

/// An object was deleted: rules naming exactly that object go (`del_resource_rules`, after
/// every successful delete; a rule naming it among other types stays).
pub(crate) fn object_deleted(oned: &mut Oned, kind: Kind, id: i32) {
    let request = type_bit(kind) | INDIVIDUAL | i64::from(id);
    oned.acls.retain(|r| r.resource != request);
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

/// The rules oned builds from an object's permission bits (`PoolObjectAuth::get_acl_rules`).
fn permission_rules(p: &Perms) -> [Rule; 3] {
    let resource = p.type_bit | INDIVIDUAL | i64::from(p.oid);
    let zone = INDIVIDUAL | ZONE_ID;
    let rights = |u: u8, m: u8, a: u8| {
        (if u == 1 { USE } else { 0 })
            | (if m == 1 { MANAGE } else { 0 })
            | (if a == 1 { ADMIN } else { 0 })
    };
    let b = &p.perms;
    let rule = |user, rights| Rule {
        id: 0,
        user,
        resource,
        rights,
        zone,
    };
    [
        rule(INDIVIDUAL | i64::from(p.uid), rights(b[0], b[1], b[2])),
        rule(GROUP | i64::from(p.gid), rights(b[3], b[4], b[5])),
        rule(ALL, rights(b[6], b[7], b[8])),
    ]
}

/// What an authorization request asks of a rule's resource field.
struct Request {
    oid: i64,
    gid: i64,
    cids: Vec<i64>,
    all: i64,
    rights: i64,
    oid_mask: i64,
    gid_mask: i64,
    cid_mask: i64,
}

impl Request {
    fn matches(&self, rule: &Rule) -> bool {
        let zone =
            rule.zone & ALL == ALL || rule.zone & (INDIVIDUAL | ID_MASK) == INDIVIDUAL | ZONE_ID;
        zone && rule.rights & self.rights == self.rights
            && (rule.resource & self.all == self.all
                || rule.resource & self.gid_mask == self.gid
                || rule.resource & self.oid_mask == self.oid
                || self.cids.contains(&(rule.resource & self.cid_mask)))
    }
}

/// Whether a non-administrator `uid`, member of `groups`, may do `op` (rights bits, 0x10
/// for "no lock check") on the object with permissions `p`: the object's lock, then its
/// permission bits and the rules for everyone, for the user and for each of its groups
/// (`AclManager::authorize`).
pub(crate) fn authorize(oned: &Oned, uid: i32, groups: &BTreeSet<i32>, p: &Perms, op: i64) -> bool {
    let rights = if op & 0x10 != 0 {
        op & 0xF
    } else if p.locked > 0 && i64::from(p.locked) <= op {
        return false;
    } else {
        op
    };
    let t = p.type_bit;
    let request = Request {
        oid: if p.oid >= 0 {
            t | INDIVIDUAL | i64::from(p.oid)
        } else {
            NONE_ID
        },
        gid: if p.gid >= 0 && !p.disable_group_acl {
            t | GROUP | i64::from(p.gid)
        } else {
            NONE_ID
        },
        cids: if p.disable_cluster_acl {
            Vec::new()
        } else {
            p.cids.iter().map(|c| t | CLUSTER | i64::from(*c)).collect()
        },
        all: if p.disable_all_acl { NONE_ID } else { t | ALL },
        rights,
        oid_mask: t | INDIVIDUAL | ID_MASK,
        gid_mask: t | GROUP | ID_MASK,
        cid_mask: t | CLUSTER | ID_MASK,
    };
    let own = permission_rules(p);
    let users = [ALL, INDIVIDUAL | i64::from(uid)]
        .into_iter()
        .chain(groups.iter().map(|g| GROUP | i64::from(*g)));
    for user in users {
        let mut candidates = own
            .iter()
            .chain(oned.acls.iter())
            .filter(|r| r.user == user);
        if candidates.any(|r| request.matches(r)) {
            return true;
        }
    }
    false
}

/// What a user's rules let it see of a type beyond its own objects and their permission
/// bits (`AclManager::reverse_search` for USE).
#[derive(Debug, Default)]
pub(crate) struct Visible {
    /// A rule gives every object of the type.
    pub(crate) all: bool,
    pub(crate) oids: BTreeSet<i32>,
    pub(crate) gids: BTreeSet<i32>,
    pub(crate) cids: BTreeSet<i32>,
}

/// The objects of `kind` rules let `uid` (member of `groups`) use, for pool listings.
pub(crate) fn reverse_search(
    oned: &Oned,
    uid: i32,
    groups: &BTreeSet<i32>,
    kind: Kind,
    disable_all: bool,
    disable_cluster: bool,
    disable_group: bool,
) -> Visible {
    let t = type_bit(kind);
    let mut out = Visible::default();
    let users = [ALL, INDIVIDUAL | i64::from(uid)]
        .into_iter()
        .chain(groups.iter().map(|g| GROUP | i64::from(*g)));
    for user in users {
        for rule in oned.acls.iter().filter(|r| r.user == user) {
            let zone = rule.zone == INDIVIDUAL | ZONE_ID || rule.zone == ALL;
            if rule.rights & USE != USE || !zone {
                continue;
            }
            let r = rule.resource;
            if !disable_all && r & (t | ALL) == t | ALL {
                out.all = true;
                break;
            } else if !disable_group && r & (t | GROUP) == t | GROUP {
                out.gids.insert(field_id(r));
            } else if !disable_cluster && r & (t | CLUSTER) == t | CLUSTER {
                out.cids.insert(field_id(r));
            } else if r & (t | INDIVIDUAL) == t | INDIVIDUAL {
                out.oids.insert(field_id(r));
            }
        }
        if out.all {
            return Visible {
                all: true,
                ..Visible::default()
            };
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------

/// A rule field as oned reads it (`istringstream >> hex >> long long`): leading blanks, an
/// optional sign and `0x`, then hex digits up to the first other character; no digits read
/// as 0, an overflow as the largest (or smallest) value.
fn parse_hex(text: &str) -> i64 {
    let s = text.trim_start();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let s = match s.get(..2) {
        Some("0x" | "0X") if s[2..].starts_with(|c: char| c.is_ascii_hexdigit()) => &s[2..],
        _ => s,
    };
    let digits: String = s.chars().take_while(char::is_ascii_hexdigit).collect();
    if digits.is_empty() {
        return 0;
    }
    match u64::from_str_radix(&digits, 16) {
        Ok(v) if negative && v <= 1 << 63 => (v as i64).wrapping_neg(),
        Ok(v) if !negative && v <= i64::MAX as u64 => v as i64,
        _ if negative => i64::MIN,
        _ => i64::MAX,
    }
}

/// The ACL methods need MANAGE on the ACL object type (`basic_authorization` with no object:
/// only the oneadmin group, the default rules give it to nobody else).
fn check_manage_acl(oned: &Oned, caller: Caller) -> Result<(), Failure> {
    super::auth::AuthRequest::new(oned, caller)
        .add_type(Op::Manage, ACL_TYPE, "ACL")
        .check()
}

/// `one.acl.info`.
pub(crate) fn info(oned: &mut Oned, caller: Caller, _p: &Params<'_>) -> Handled {
    check_manage_acl(oned, caller)?;
    Ok(Value::from(pool_document(&ordered(oned))))
}

/// `one.acl.addrule` (src/rm/api/AclAPI.cc `AclAPI::add_rule`): the zone defaults to this
/// zone; a rule oned refuses is INTERNAL.
pub(crate) fn add_rule(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    check_manage_acl(oned, caller)?;
    let (user, resource, rights) = (
        parse_hex(p.str(0)),
        parse_hex(p.str(1)),
        parse_hex(p.str(2)),
    );
    let zone = if p.len() > 3 && !p.str(3).is_empty() {
        parse_hex(p.str(3))
    } else {
        INDIVIDUAL | ZONE_ID
    };
    add(oned, user, resource, rights, zone)
        .map(Value::Int)
        .map_err(|message| fail(ErrorCode::Internal, message))
}

/// `one.acl.delrule`.
pub(crate) fn del_rule(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    check_manage_acl(oned, caller)?;
    let id = p.int(0);
    let Some(at) = oned.acls.iter().position(|r| r.id == id) else {
        return Err(fail(
            ErrorCode::Internal,
            format!("Rule {id} does not exist"),
        ));
    };
    oned.acls.remove(at);
    Ok(Value::Int(id))
}

/// `<ACL_POOL>` with `rules` in the order given.
fn pool_document(rules: &[Rule]) -> String {
    models::AclPool {
        acl: rules
            .iter()
            .map(|rule| models::Acl {
                id: i64::from(rule.id),
                user: format!("{:x}", rule.user),
                resource: format!("{:x}", rule.resource),
                rights: format!("{:x}", rule.rights),
                zone: format!("{:x}", rule.zone),
                string: rule.string(),
            })
            .collect(),
    }
    .to_xml()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_fields_read_like_a_cpp_stream() {
        assert_eq!(parse_hex("100000004"), 0x1_0000_0004);
        assert_eq!(parse_hex("0x3"), 3);
        assert_eq!(parse_hex("  ff zz"), 0xff);
        assert_eq!(parse_hex("zz"), 0);
        assert_eq!(parse_hex("-1"), -1);
        assert_eq!(parse_hex("ffffffffffffffffff"), i64::MAX);
    }

    #[test]
    fn rule_strings_and_validation_follow_oned() {
        let rule = |user, resource, rights, zone| Rule {
            id: 0,
            user,
            resource,
            rights,
            zone,
        };
        let r = rule(0x3_0000_0004, 0x14_0000_0000, 1, 0x1_0000_0000);
        assert_eq!(r.string(), "@4 VM/* USE #0");
        assert_eq!(
            r.malformed().unwrap(),
            "[user] INDIVIDUAL (#) and GROUP (@) bits are exclusive"
        );
        let r = rule(0x1_0000_0004, 0x80_0004_0000_0000, 1, 0x1_0000_0000);
        assert_eq!(r.string(), "#4 /* USE #0");
        assert_eq!(r.malformed().unwrap(), "wrong [resource] type");
        let r = rule(0x1_0000_0004, 0x81_0000_0005, 1, 0x4_0000_0000);
        assert!(r
            .malformed()
            .unwrap()
            .starts_with("[resource] INDIVIDUAL(#) selector"));
        let r = rule(0x1_0000_0004, 0x101_0000_0003, 1, 0x4_0000_0000);
        assert_eq!(r.malformed(), None);
    }
}
