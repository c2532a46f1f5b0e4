//! ACL rules: the bootstrap set, the rules oned adds for groups and group admins, the
//! `one.acl.*` methods, and their evaluation (`grants`) where a listing asks what the
//! objects' permissions do not give (src/acl/AclManager.cc, AclRule.cc).

use super::prelude::*;
use opennebula::models;
use opennebula::xml::ToXml;

const INDIVIDUAL: u64 = 0x1_0000_0000;
const GROUP: u64 = 0x2_0000_0000;
const ALL: u64 = 0x4_0000_0000;
const CLUSTER: u64 = 0x8_0000_0000;

/// Resource type bits, in the order oned prints them.
const RESOURCES: &[(u64, &str)] = &[
    (0x10_0000_0000, "VM"),
    (0x20_0000_0000, "HOST"),
    (0x40_0000_0000, "NET"),
    (0x80_0000_0000, "IMAGE"),
    (0x100_0000_0000, "USER"),
    (0x200_0000_0000, "TEMPLATE"),
    (0x400_0000_0000, "GROUP"),
    (0x1000_0000_0000, "DATASTORE"),
    (0x2000_0000_0000, "CLUSTER"),
    (0x4000_0000_0000, "DOCUMENT"),
    (0x8000_0000_0000, "ZONE"),
    (0x1_0000_0000_0000, "SECGROUP"),
    (0x2_0000_0000_0000, "VDC"),
    (0x4_0000_0000_0000, "VROUTER"),
    (0x8_0000_0000_0000, "MARKETPLACE"),
    (0x10_0000_0000_0000, "MARKETPLACEAPP"),
    (0x20_0000_0000_0000, "VMGROUP"),
    (0x40_0000_0000_0000, "VNTEMPLATE"),
    (0x80_0000_0000_0000, "HOOK"),
    (0x100_0000_0000_0000, "BACKUPJOB"),
];

const RIGHTS: &[(u64, &str)] = &[(1, "USE"), (2, "MANAGE"), (4, "ADMIN"), (8, "CREATE")];

/// One rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) id: i32,
    pub(crate) user: u64,
    pub(crate) resource: u64,
    pub(crate) rights: u64,
    pub(crate) zone: u64,
}

fn id_part(bits: u64) -> String {
    let id = bits & 0xFFFF_FFFF;
    if bits & INDIVIDUAL != 0 {
        format!("#{id}")
    } else if bits & GROUP != 0 {
        format!("@{id}")
    } else if bits & ALL != 0 {
        "*".to_string()
    } else if bits & CLUSTER != 0 {
        format!("%{id}")
    } else {
        "??".to_string()
    }
}

impl Rule {
    pub(crate) fn string(&self) -> String {
        let types: Vec<&str> = RESOURCES
            .iter()
            .filter(|(bit, _)| self.resource & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        let rights: Vec<&str> = RIGHTS
            .iter()
            .filter(|(bit, _)| self.rights & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        format!(
            "{} {}/{} {} {}",
            id_part(self.user),
            types.join("+"),
            id_part(self.resource & 0xF_FFFF_FFFF),
            rights.join("+"),
            id_part(self.zone)
        )
    }
}

/// Whether a rule gives `caller` (a member of `groups`) the right `right` (1 USE, 2 MANAGE,
/// 4 ADMIN, 8 CREATE) on `obj` of type `kind` in zone 0, as oned's ACL manager authorizes
/// what the object's permissions do not: the rule's user is the caller (#uid), one of its
/// groups (@gid) or everyone (*); its resource includes the type and names the object
/// (#id), its group (@gid) or all of them (*). Cluster-scoped rules (%cid) are not
/// evaluated.
pub(crate) fn grants(
    oned: &Oned,
    caller: Caller,
    groups: &std::collections::BTreeSet<i32>,
    kind: super::Kind,
    obj: &Obj,
    right: u64,
) -> bool {
    let Some(type_bit) = RESOURCES
        .iter()
        .find(|(_, name)| *name == kind.auth_name())
        .map(|(bit, _)| *bit)
    else {
        return false;
    };
    let id_of = |bits: u64| (bits & 0xFFFF_FFFF) as i64;
    oned.acls.iter().any(|rule| {
        let user = if rule.user & INDIVIDUAL != 0 {
            id_of(rule.user) == i64::from(caller.uid)
        } else if rule.user & GROUP != 0 {
            groups.contains(&(id_of(rule.user) as i32))
        } else {
            rule.user & ALL != 0
        };
        let resource = rule.resource & type_bit != 0
            && if rule.resource & INDIVIDUAL != 0 {
                id_of(rule.resource) == i64::from(obj.id)
            } else if rule.resource & GROUP != 0 {
                id_of(rule.resource) == i64::from(obj.gid)
            } else {
                rule.resource & ALL != 0
            };
        let zone = rule.zone & ALL != 0 || (rule.zone & INDIVIDUAL != 0 && id_of(rule.zone) == 0);
        user && resource && zone && rule.rights & right != 0
    })
}

fn add(oned: &mut Oned, user: u64, resource: u64, rights: u64, zone: u64) -> i32 {
    let id = oned.next_acl;
    oned.next_acl += 1;
    oned.acls.push(Rule {
        id,
        user,
        resource,
        rights,
        zone,
    });
    id
}

fn type_bits(names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| {
            RESOURCES
                .iter()
                .find(|(_, name)| name == n)
                .map(|(b, _)| *b)
        })
        .sum()
}

pub(crate) fn bootstrap(oned: &mut Oned) {
    let users = GROUP | 1;
    add(
        oned,
        users,
        type_bits(&[
            "VM",
            "IMAGE",
            "TEMPLATE",
            "DOCUMENT",
            "SECGROUP",
            "VMGROUP",
            "BACKUPJOB",
        ]) | ALL,
        8,
        ALL,
    );
    add(oned, ALL, type_bits(&["ZONE"]) | ALL, 1, ALL);
    add(
        oned,
        ALL,
        type_bits(&["MARKETPLACE", "MARKETPLACEAPP"]) | ALL,
        1,
        ALL,
    );
    group_created(oned, 1);
}

/// The three rules oned adds for a new group's resource providers in zone 0.
pub(crate) fn group_created(oned: &mut Oned, gid: i32) {
    let user = GROUP | gid as u64;
    add(oned, user, type_bits(&["HOST"]) | ALL, 2, INDIVIDUAL);
    add(oned, user, type_bits(&["NET"]) | ALL, 1, INDIVIDUAL);
    add(oned, user, type_bits(&["DATASTORE"]) | ALL, 1, INDIVIDUAL);
}

pub(crate) fn group_deleted(oned: &mut Oned, gid: i32) {
    let user = GROUP | gid as u64;
    oned.acls.retain(|r| r.user != user);
}

fn admin_rules(gid: i32, uid: i32) -> [(u64, u64, u64, u64); 4] {
    let user = INDIVIDUAL | uid as u64;
    let group = GROUP | gid as u64;
    [
        (user, type_bits(&["USER"]) | group, 0xf, ALL),
        (
            user,
            type_bits(&[
                "VM",
                "NET",
                "IMAGE",
                "TEMPLATE",
                "DOCUMENT",
                "SECGROUP",
                "VROUTER",
                "VMGROUP",
                "BACKUPJOB",
            ]) | group,
            3,
            ALL,
        ),
        (user, type_bits(&["VROUTER"]) | ALL, 8, ALL),
        (
            user,
            type_bits(&["GROUP"]) | INDIVIDUAL | gid as u64,
            2,
            ALL,
        ),
    ]
}

pub(crate) fn group_admin_added(oned: &mut Oned, gid: i32, uid: i32) {
    for (user, resource, rights, zone) in admin_rules(gid, uid) {
        add(oned, user, resource, rights, zone);
    }
}

pub(crate) fn group_admin_removed(oned: &mut Oned, gid: i32, uid: i32) {
    let rules = admin_rules(gid, uid);
    oned.acls.retain(|r| {
        !rules.iter().any(|(u, res, rig, z)| {
            r.user == *u && r.resource == *res && r.rights == *rig && r.zone == *z
        })
    });
}

fn parse_hex(text: &str) -> Option<u64> {
    u64::from_str_radix(text.trim(), 16).ok()
}

/// oned's ACL methods are for the oneadmin group only (`AclAddRule` etc. authorize
/// MANAGE ACL).
fn check_admin(oned: &Oned, caller: Caller) -> Result<(), Failure> {
    if oned.is_admin(caller.uid) {
        return Ok(());
    }
    Err(fail(
        ErrorCode::Authorization,
        format!(
            "User [{}] : Not authorized to perform MANAGE ACL.",
            caller.uid
        ),
    ))
}

/// `one.acl.info`.
pub(crate) fn info(oned: &mut Oned, caller: Caller, _p: &Params<'_>) -> Handled {
    check_admin(oned, caller)?;
    let mut rules = oned.acls.clone();
    // oned keeps rules in a multimap keyed by the user field.
    rules.sort_by_key(|r| r.user);
    Ok(Value::from(pool_document(&rules)))
}

/// `one.acl.addrule`.
pub(crate) fn add_rule(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    check_admin(oned, caller)?;
    let user = parse_hex(p.str(0)).unwrap_or(0);
    let resource = parse_hex(p.str(1)).unwrap_or(0);
    let rights = parse_hex(p.str(2)).unwrap_or(0);
    let zone = if p.len() > 3 {
        parse_hex(p.str(3)).unwrap_or(0)
    } else {
        INDIVIDUAL
    };
    let rule = Rule {
        id: -1,
        user,
        resource,
        rights,
        zone,
    };
    let mut problems = Vec::new();
    if user & (INDIVIDUAL | GROUP | ALL | CLUSTER) == 0 {
        problems.push("[user] is missing one of the INDIVIDUAL, GROUP or ALL bits");
    }
    if resource & (INDIVIDUAL | GROUP | ALL | CLUSTER) == 0 {
        problems.push("[resource] is missing one of the INDIVIDUAL, GROUP, CLUSTER or ALL bits");
    }
    if resource & !0xF_FFFF_FFFF == 0 {
        problems.push("[resource] type is missing");
    }
    if rights == 0 || rights > 0xf {
        problems.push("wrong [rights], it cannot be bigger than 0xf");
    }
    if !problems.is_empty() {
        return Err(fail(
            ErrorCode::Internal,
            format!(
                "Rule {} is malformed: {}",
                rule.string(),
                problems.join("; ")
            ),
        ));
    }
    Ok(Value::Int(add(oned, user, resource, rights, zone)))
}

/// `one.acl.delrule`.
pub(crate) fn del_rule(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    check_admin(oned, caller)?;
    let id = p.int(0);
    let before = oned.acls.len();
    oned.acls.retain(|r| r.id != id);
    if oned.acls.len() == before {
        return Err(fail(
            ErrorCode::Internal,
            format!("Rule {id} does not exist"),
        ));
    }
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
