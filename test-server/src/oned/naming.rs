//! Names of new objects: oned's checks (`PoolObjectSQL::name_is_valid` and the pools'
//! uniqueness by owner or globally, src/pool/PoolSQL.cc and the `*Pool::allocate`), and the
//! creation of a plain object with them.

use super::kind::NameScope;
use super::prelude::*;

/// Checks the name of a new object of `kind` owned by `uid`.
pub(crate) fn check_name(
    oned: &Oned,
    kind: Kind,
    name: &str,
    uid: i32,
    code: ErrorCode,
    prefix: &str,
) -> Result<(), Failure> {
    if name.is_empty() && kind != Kind::Vm {
        return Err(fail(
            code,
            format!("{prefix}Invalid NAME, it cannot be empty"),
        ));
    }
    let clash = match kind.name_scope() {
        NameScope::None => None,
        NameScope::Global => oned.pool(kind).values().find(|o| o.name == name),
        NameScope::Owner => oned
            .pool(kind)
            .values()
            .find(|o| o.name == name && o.uid == uid),
    };
    if let Some(other) = clash {
        return Err(fail(
            code,
            format!(
                "{prefix}NAME is already taken by {} {}.",
                kind.clash_name(),
                other.id
            ),
        ));
    }
    Ok(())
}

/// A new object of `kind` named `name` (checked with `code` and `prefix`, as the kind's
/// allocate reports a bad name), owned by the caller, with `template` and `ext`; returns its id.
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_object(
    oned: &mut Oned,
    caller: Caller,
    kind: Kind,
    name: &str,
    template: Tmpl,
    ext: Ext,
    code: ErrorCode,
    prefix: &str,
) -> Result<i32, Failure> {
    check_name(oned, kind, name, caller.uid, code, prefix)?;
    Ok(insert_new(oned, caller, kind, name, template, ext))
}

/// The template of a `one.<kind>.allocate` call and the NAME it gives (removed from it).
pub(crate) fn named_template(text: &str) -> Result<(String, Tmpl), Failure> {
    let mut template = parse_template(text)?;
    let name = template.get("NAME").unwrap_or("").to_string();
    template.remove("NAME");
    Ok((name, template))
}

/// Inserts a new object of `kind` (its name already checked) owned by the caller; returns
/// its id.
pub(crate) fn insert_new(
    oned: &mut Oned,
    caller: Caller,
    kind: Kind,
    name: &str,
    template: Tmpl,
    ext: Ext,
) -> i32 {
    let now = oned.now();
    let id = oned.take_id(kind);
    let mut obj = Obj::new(kind, id, name, caller.uid, caller.gid, now);
    obj.template = template;
    obj.ext = ext;
    oned.insert(obj)
}
