//! Security groups: creation with rule validation, commit (src/secgroup/SecurityGroup.cc,
//! src/rm/api/SecurityGroupAPI.cc), and their documents.

use super::prelude::*;
use super::xml_parts::{owner_of, permissions_of};
use opennebula::models;

/// `one.secgroup.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, template) = super::naming::named_template(p.str(0))?;
    super::naming::check_name(
        oned,
        Kind::SecGroup,
        &name,
        caller.uid,
        ErrorCode::Internal,
        "",
    )?;
    for rule in template.vectors("RULE") {
        if let Some(protocol) = rule.get("PROTOCOL") {
            if !matches!(
                protocol.to_ascii_uppercase().as_str(),
                "TCP" | "UDP" | "ICMP" | "ICMPV6" | "IPSEC" | "ALL"
            ) {
                return Err(fail(
                    ErrorCode::Internal,
                    "Wrong PROTOCOL in rule. Valid options: TCP, UDP, ICMP, ICMPV6, IPSEC, ALL.",
                ));
            }
        }
    }
    let id = super::naming::insert_new(oned, caller, Kind::SecGroup, &name, template, Ext::None);
    Ok(Value::Int(id))
}

/// `one.secgroup.commit`.
pub(crate) fn commit(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::SecGroup, id, Op::Manage, 2)?;
    Ok(Value::Int(id))
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::SecurityGroup> {
    let o = owner_of(oned, obj);
    Some(models::SecurityGroup {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        permissions: permissions_of(obj),
        updated_vms: models::Ids::default(),
        outdated_vms: models::Ids::default(),
        updating_vms: models::Ids::default(),
        error_vms: models::Ids::default(),
        template: obj.template.to_template(),
    })
}
