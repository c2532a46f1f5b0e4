//! Generic documents (`one.document.*`: OneFlow services and templates store theirs here,
//! src/document/Document.cc), by type, and their documents.

use super::prelude::*;
use super::xml_parts::{lock_of, owner_of, permissions_of};
use opennebula::models;

/// `one.document.allocate`: the template, and the document type.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, template) = super::naming::named_template(p.str(0))?;
    let id = super::naming::create_object(
        oned,
        caller,
        Kind::Document,
        &name,
        template,
        Ext::Document(p.int(1)),
        ErrorCode::Internal,
        "",
    )?;
    Ok(Value::Int(id))
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::GenericDocument> {
    let Ext::Document(doc_type) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    Some(models::GenericDocument {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        type_: doc_type.to_string(),
        permissions: permissions_of(obj),
        lock: lock_of(obj),
        template: obj.template.to_template(),
    })
}
