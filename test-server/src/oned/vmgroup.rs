//! VM groups: roles and their placement policies (src/vm_group/VMGroup.cc,
//! VMGroupRole.cc, src/rm/api/VMGroupAPI.cc), and their documents.

use super::prelude::*;
use super::xml_parts::{lock_of, owner_of, permissions_of};
use opennebula::models;

/// `one.vmgroup.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, mut template) = super::naming::named_template(p.str(0))?;
    super::naming::check_name(
        oned,
        Kind::VmGroup,
        &name,
        caller.uid,
        ErrorCode::Internal,
        "",
    )?;
    let mut seen = BTreeSet::new();
    for role in template.vectors("ROLE") {
        let role_name = role.get("NAME").cloned().unwrap_or_default();
        if !seen.insert(role_name) {
            return Err(fail(ErrorCode::Internal, "Role already exists"));
        }
    }
    for (index, role) in template.vectors_mut("ROLE").into_iter().enumerate() {
        role.insert("ID".into(), index.to_string());
    }
    let id = super::naming::insert_new(oned, caller, Kind::VmGroup, &name, template, Ext::None);
    Ok(Value::Int(id))
}

/// `one.vmgroup.roleadd`.
pub(crate) fn roleadd(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    vmgroup_role(oned, caller, "roleadd", p)
}

/// `one.vmgroup.roleupdate`.
pub(crate) fn roleupdate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    vmgroup_role(oned, caller, "roleupdate", p)
}

/// `one.vmgroup.roledelete`.
pub(crate) fn roledelete(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    vmgroup_role(oned, caller, "roledelete", p)
}

fn vmgroup_role(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::VmGroup, id, Op::Manage, 2)?;
    let obj = oned.get_mut(Kind::VmGroup, id).expect("fetched");
    let mut roles: Vec<BTreeMap<String, String>> =
        obj.template.vectors("ROLE").into_iter().cloned().collect();
    match action {
        "roleadd" => {
            let t = parse_template(p.str(1))?;
            let Some(mut role) = t.vectors("ROLE").first().map(|r| (*r).clone()) else {
                return Err(fail(ErrorCode::Internal, "No ROLE in template"));
            };
            if roles.iter().any(|r| r.get("NAME") == role.get("NAME")) {
                return Err(fail(ErrorCode::Internal, "Role already exists"));
            }
            let next = roles
                .iter()
                .filter_map(|r| r.get("ID")?.parse::<i32>().ok())
                .max()
                .map_or(0, |m| m + 1);
            role.insert("ID".into(), next.to_string());
            roles.push(role);
        }
        "roleupdate" => {
            let role_id = p.int(1).to_string();
            let t = parse_template(p.str(2))?;
            let update = t
                .vectors("ROLE")
                .first()
                .map(|r| (*r).clone())
                .unwrap_or_default();
            let Some(role) = roles.iter_mut().find(|r| r.get("ID") == Some(&role_id)) else {
                return Err(fail(
                    ErrorCode::Internal,
                    format!("Role {role_id} does not exist"),
                ));
            };
            for (k, v) in update {
                if k != "ID" && k != "NAME" {
                    role.insert(k, v);
                }
            }
        }
        _ => {
            let role_id = p.int(1).to_string();
            let before = roles.len();
            roles.retain(|r| r.get("ID") != Some(&role_id));
            if roles.len() == before {
                return Err(fail(
                    ErrorCode::Internal,
                    format!("Role {role_id} does not exist"),
                ));
            }
        }
    }
    obj.template.remove("ROLE");
    for role in roles {
        obj.template.push("ROLE", Attr::Vector(role));
    }
    Ok(Value::Int(id))
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::VmGroup> {
    let o = owner_of(oned, obj);
    let id = obj.id.to_string();
    let roles = obj
        .template
        .vectors("ROLE")
        .into_iter()
        .map(|role| {
            let name = role.get("NAME").cloned().unwrap_or_default();
            // The VMs of a role: the live VMs whose VMGROUP names this group and role.
            let vms: Vec<String> =
                oned.pool(Kind::Vm)
                    .values()
                    .filter(|vm| {
                        vm.template.vectors("VMGROUP").iter().any(|g| {
                            g.get("VMGROUP_ID") == Some(&id) && g.get("ROLE") == Some(&name)
                        }) && matches!(&vm.ext, Ext::Vm(v) if v.state != VmState::Done)
                    })
                    .map(|vm| vm.id.to_string())
                    .collect();
            models::VmGroupRole {
                host_affined: role.get("HOST_AFFINED").cloned(),
                host_anti_affined: role.get("HOST_ANTI_AFFINED").cloned(),
                id: role.get("ID").and_then(|i| i.parse().ok()).unwrap_or(0),
                name,
                policy: role.get("POLICY").cloned(),
                vms: (!vms.is_empty()).then(|| vms.join(",")),
            }
        })
        .collect();
    let mut template = obj.template.clone();
    template.remove("ROLE");
    Some(models::VmGroup {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        permissions: permissions_of(obj),
        lock: lock_of(obj),
        roles: models::VmGroupRoles { role: roles },
        template: template.to_template(),
    })
}
