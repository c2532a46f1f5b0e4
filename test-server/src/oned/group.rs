//! Groups: creation (with the default VDC and the ACL rules its resources give), members
//! and group administrators (src/group/Group.cc, GroupPool.cc, src/rm/api/GroupAPI.cc), and
//! their documents.

use super::auth::{AuthRequest, Op};
use super::prelude::*;
use super::quota;
use super::xml_parts::ids_of;
use opennebula::models;

/// Characters a group name may not have besides the common ones (`Group::INVALID_NAME_CHARS`).
const GROUP_NAME_CHARS: &str = " ";

#[derive(Debug, Clone, Default)]
pub(crate) struct GroupData {
    pub(crate) users: BTreeSet<i32>,
    pub(crate) admins: BTreeSet<i32>,
}

pub(crate) fn group_data(oned: &mut Oned, gid: i32) -> &mut GroupData {
    match oned.get_mut(Kind::Group, gid).map(|g| &mut g.ext) {
        Some(Ext::Group(data)) => data,
        _ => panic!("group {gid} has no group data"),
    }
}

fn data_mut(oned: &mut Oned, gid: i32) -> Option<&mut GroupData> {
    match oned.get_mut(Kind::Group, gid).map(|g| &mut g.ext) {
        Some(Ext::Group(data)) => Some(data),
        _ => None,
    }
}

/// A user leaves group `gid` (`Group::del_user`): an administrator of it stops being one,
/// and its administrator rules go.
pub(crate) fn remove_member(oned: &mut Oned, gid: i32, uid: i32) {
    let Some(group) = data_mut(oned, gid) else {
        return;
    };
    group.users.remove(&uid);
    if group.admins.remove(&uid) {
        super::acl::group_admin_removed(oned, gid, uid);
    }
}

/// `one.group.allocate` (`GroupPool::allocate`, `GroupAllocateAPI::pool_allocate`): CREATE
/// GROUP, a valid unique name, then the group joins the default VDC and gets the rules of
/// its resources.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Group)?;
    let name = p.str(0);
    super::user::name_is_valid(name, GROUP_NAME_CHARS).map_err(|e| fail(ErrorCode::Internal, e))?;
    if let Some(other) = oned.pool(Kind::Group).values().find(|g| g.name == name) {
        return Err(fail(
            ErrorCode::Internal,
            format!("NAME is already taken by GROUP {}.", other.id),
        ));
    }
    let id = super::naming::insert_new(
        oned,
        caller,
        Kind::Group,
        name,
        Tmpl::default(),
        Ext::Group(GroupData::default()),
    );
    let resources = match oned.get_mut(Kind::Vdc, 0).map(|v| &mut v.ext) {
        Some(Ext::Vdc(vdc)) => {
            vdc.groups.insert(id);
            vdc.resources.iter().copied().collect::<Vec<_>>()
        }
        _ => Vec::new(),
    };
    super::acl::vdc_group_added(oned, id, &resources);
    Ok(Value::Int(id))
}

/// What `one.group.delete` refuses (`GroupPool::drop`).
pub(crate) fn check_drop(obj: &Obj) -> Result<(), String> {
    if obj.id < 100 {
        return Err("System Groups (ID < 100) cannot be deleted.".into());
    }
    match &obj.ext {
        Ext::Group(g) if !g.users.is_empty() => Err(format!("Group {} is not empty.", obj.id)),
        _ => Ok(()),
    }
}

/// A group was deleted (`GroupAPI::drop`): its rules go and no VDC has it any more.
pub(crate) fn deleted(oned: &mut Oned, id: i32) {
    super::acl::group_deleted(oned, id);
    for vdc in oned.pool_mut(Kind::Vdc).values_mut() {
        if let Ext::Vdc(data) = &mut vdc.ext {
            data.groups.remove(&id);
        }
    }
}

/// `one.group.addadmin`.
pub(crate) fn addadmin(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit_admins(oned, caller, p, true)
}

/// `one.group.deladmin`.
pub(crate) fn deladmin(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit_admins(oned, caller, p, false)
}

/// `GroupAPI::edit_admin` then `Group::add_admin` / `del_admin`: the group, the user, ADMIN
/// on both; the user must be a member (and not yet an administrator) to become one.
fn edit_admins(oned: &mut Oned, caller: Caller, p: &Params<'_>, add: bool) -> Handled {
    let (id, uid) = (p.int(0), p.int(1));
    let group = oned
        .get(Kind::Group, id)
        .ok_or_else(|| no_exists(Kind::Group, id))?;
    let user = oned
        .get(Kind::User, uid)
        .ok_or_else(|| no_exists(Kind::User, uid))?;
    AuthRequest::new(oned, caller)
        .add_obj(Op::Admin, group)
        .add_obj(Op::Admin, user)
        .check()?;
    let data = group_data(oned, id);
    let problem = if add && !data.users.contains(&uid) {
        Some(format!("User {uid} is not part of Group {id}."))
    } else if add && !data.admins.insert(uid) {
        Some(format!(
            "User {uid} is already an administrator of Group {id}."
        ))
    } else if !add && !data.admins.remove(&uid) {
        Some(format!("User {uid} is not an administrator of Group {id}."))
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(fail(
            ErrorCode::Internal,
            format!("Cannot edit group. {problem}"),
        ));
    }
    if add {
        super::acl::group_admin_added(oned, id, uid);
    } else {
        super::acl::group_admin_removed(oned, id, uid);
    }
    Ok(Value::Int(id))
}

/// `one.group.quota` (`GroupAPI::quota`): the oneadmin group has none (refused before any
/// authorization), then ADMIN on the group.
pub(crate) fn set_quota(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    if id == 0 {
        return Err(fail(
            ErrorCode::Action,
            "Cannot set quotas for oneadmin group",
        ));
    }
    // oned answers AUTHORIZATION for any refusal here, a missing group included (then with
    // no message of its own).
    super::auth::fetch(oned, caller, Kind::Group, id, Op::Admin, 1).map_err(|f| {
        if f.code == ErrorCode::NoExists {
            fail_id(
                ErrorCode::Authorization,
                format!(
                    "User [{}] not authorized to perform action on group.",
                    caller.uid
                ),
                id,
            )
        } else {
            f
        }
    })?;
    quota::set(oned, Kind::Group, id, p.str(1))?;
    Ok(Value::Int(id))
}

/// `one.group.vlan` (`GroupAPI::vlan`): ADMIN on the group and a template that parses; the
/// test server keeps no VLAN rules.
pub(crate) fn vlan(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::auth::fetch(oned, caller, Kind::Group, id, Op::Admin, 1)?;
    Tmpl::parse(p.str(1)).map_err(|e| fail(ErrorCode::Action, format!("Parse error: {e}")))?;
    Ok(Value::Int(id))
}

pub(crate) fn vlan_rules(obj: &Obj) -> models::VlanRules {
    models::VlanRules {
        id: i64::from(obj.id),
        rule: Vec::new(),
    }
}

pub(crate) fn summary(_oned: &Oned, obj: &Obj) -> Option<models::GroupSummary> {
    let Ext::Group(group) = &obj.ext else {
        return None;
    };
    Some(models::GroupSummary {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        template: obj.template.to_template(),
        users: ids_of(group.users.iter().copied()),
        admins: ids_of(group.admins.iter().copied()),
    })
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::Group> {
    let s = summary(oned, obj)?;
    let q = quota::quotas_model(oned, Kind::Group, obj.id);
    Some(models::Group {
        id: s.id,
        name: s.name,
        template: s.template,
        users: s.users,
        admins: s.admins,
        datastore_quota: q.datastore_quota,
        network_quota: q.network_quota,
        vm_quota: q.vm_quota,
        image_quota: q.image_quota,
        vlan_rules: vlan_rules(obj),
        default_group_quotas: quota::default_group_quotas(oned),
    })
}
