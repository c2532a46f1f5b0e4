//! Groups: creation (with the ACL rules and the default VDC membership oned gives a new
//! group), group administrators (src/group/Group.cc, src/rm/RequestManagerGroup.cc), and
//! their documents.

use super::auth::admin_only;
use super::prelude::*;
use super::quota;
use super::xml_parts::ids_of;
use opennebula::models;

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

/// `one.group.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Group)?;
    let id = super::naming::create_object(
        oned,
        caller,
        Kind::Group,
        p.str(0),
        Tmpl::default(),
        Ext::Group(GroupData::default()),
        ErrorCode::Internal,
        "",
    )?;
    super::acl::group_created(oned, id);
    if let Some(Ext::Vdc(vdc)) = oned.get_mut(Kind::Vdc, 0).map(|v| &mut v.ext) {
        vdc.groups.insert(id);
    }
    Ok(Value::Int(id))
}

/// `one.group.addadmin`.
pub(crate) fn addadmin(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit_admins(oned, caller, p, true)
}

/// `one.group.deladmin`.
pub(crate) fn deladmin(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit_admins(oned, caller, p, false)
}

fn edit_admins(oned: &mut Oned, caller: Caller, p: &Params<'_>, add: bool) -> Handled {
    let id = p.int(0);
    admin_only(oned, caller, Kind::Group, id)?;
    let uid = p.int(1);
    oned.get(Kind::Group, id)
        .ok_or_else(|| no_exists(Kind::Group, id))?;
    oned.get(Kind::User, uid)
        .ok_or_else(|| no_exists(Kind::User, uid))?;
    let data = group_data(oned, id);
    if add {
        if !data.users.contains(&uid) {
            return Err(fail(
                ErrorCode::Internal,
                format!("Cannot edit group. User {uid} is not part of Group {id}."),
            ));
        }
        if data.admins.insert(uid) {
            super::acl::group_admin_added(oned, id, uid);
        }
    } else {
        if !data.admins.remove(&uid) {
            return Err(fail(
                ErrorCode::Internal,
                format!("Cannot edit group. User {uid} is not an administrator of Group {id}."),
            ));
        }
        super::acl::group_admin_removed(oned, id, uid);
    }
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

/// `one.group.vlan`: accepted, the test server's groups have no VLAN rules.
pub(crate) fn vlan(_oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    Ok(Value::Int(p.int(0)))
}
