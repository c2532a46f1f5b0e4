//! VM templates: creation and instantiation into a VM (src/vm_template/VMTemplate.cc,
//! src/rm/api/TemplateAPI.cc), and their documents.

use super::prelude::*;
use super::xml_parts::{lock_of, owner_of, permissions_of};
use opennebula::models;

/// `one.template.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, template) = super::naming::named_template(p.str(0))?;
    let id = super::naming::create_object(
        oned,
        caller,
        Kind::Template,
        &name,
        template,
        Ext::None,
        ErrorCode::Internal,
        "",
    )?;
    Ok(Value::Int(id))
}

/// `one.template.instantiate`.
pub(crate) fn instantiate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, name, hold, extra) = (p.int(0), p.str(1), p.bool_or(2, false), p.str(3));
    let template = fetch(oned, caller, Kind::Template, id, Op::Use, 1)?;
    let mut t = template.template.clone();
    let desc = t.clone();
    if !extra.is_empty() {
        let extra = Tmpl::parse(extra).map_err(|_| {
            fail(
                ErrorCode::Allocate,
                "Error allocating a new virtual machine template. MEMORY attribute must be a positive integer value.",
            )
        })?;
        t.merge(extra);
    }
    let _ = desc;
    let name = if name.is_empty() {
        None
    } else {
        Some(name.to_string())
    };
    super::vm::create::create_vm(oned, caller, t, name, hold, Some(id))
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::VmTemplate> {
    let o = owner_of(oned, obj);
    Some(models::VmTemplate {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        lock: lock_of(obj),
        permissions: permissions_of(obj),
        regtime: obj.regtime,
        template: obj.template.to_template(),
    })
}
