//! Virtual network templates: creation and instantiation into a network
//! (src/vn_template/VNTemplate.cc, src/rm/api/VNTemplateAPI.cc), and their documents.

use super::prelude::*;
use super::xml_parts::{lock_of, owner_of, permissions_of};
use opennebula::models;

/// `one.vntemplate.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, template) = super::naming::named_template(p.str(0))?;
    let id = super::naming::create_object(
        oned,
        caller,
        Kind::VnTemplate,
        &name,
        template,
        Ext::None,
        ErrorCode::Internal,
        "",
    )?;
    Ok(Value::Int(id))
}

/// `one.vntemplate.instantiate`.
pub(crate) fn instantiate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, name, extra) = (p.int(0), p.str(1), p.str(2));
    let source = fetch(oned, caller, Kind::VnTemplate, id, Op::Use, 1)?;
    let mut t = source.template.clone();
    if !extra.is_empty() {
        t.merge(parse_template(extra)?);
    }
    let mut template = t;
    template.remove("NAME");
    let data = super::vnet::new_vnet(oned, &mut template)?;
    template.set("TEMPLATE_ID", id.to_string());
    let now = oned.now();
    let new_id = oned.take_id(Kind::Vnet);
    let mut obj = Obj::new(Kind::Vnet, new_id, name, caller.uid, caller.gid, now);
    obj.template = template;
    obj.ext = Ext::Vnet(data);
    oned.insert(obj);
    Ok(Value::Int(new_id))
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::VnTemplate> {
    let o = owner_of(oned, obj);
    Some(models::VnTemplate {
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
