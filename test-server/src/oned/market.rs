//! Marketplaces: creation with their driver's required attributes, enabling
//! (src/market/MarketPlace.cc, src/rm/api/MarketPlaceAPI.cc), and their documents.

use super::prelude::*;
use super::xml_parts::{ids_of, owner_of, permissions_of};
use opennebula::models;

/// `one.market.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Market)?;
    let (name, template) = super::naming::named_template(p.str(0))?;
    let prefix = "Error allocating a new marketplace. ";
    super::naming::check_name(
        oned,
        Kind::Market,
        &name,
        caller.uid,
        ErrorCode::Allocate,
        prefix,
    )?;
    let mad = template.get("MARKET_MAD").unwrap_or("");
    if mad == "http" && template.get("BASE_URL").is_none() {
        return Err(fail(
            ErrorCode::Allocate,
            format!(
                "{prefix}MarketPlace template is missing the \"BASE_URL\" attribute or it's empty."
            ),
        ));
    }
    let id = super::naming::insert_new(oned, caller, Kind::Market, &name, template, Ext::Market(0));
    Ok(Value::Int(id))
}

/// `one.market.enable`.
pub(crate) fn enable(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::Market, id, Op::Manage, 2)?;
    if let Some(Ext::Market(state)) = oned.get_mut(Kind::Market, id).map(|o| &mut o.ext) {
        *state = if p.bool_or(1, true) { 0 } else { 1 };
    }
    Ok(Value::Int(id))
}

/// `one.market.updatedb`: the replicated marketplace does not exist here.
pub(crate) fn updatedb(_oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    Err(no_exists(Kind::Market, p.int(0)))
}

/// `one.market.allocatedb` (federation replication): refused to non-administrators.
pub(crate) fn allocatedb(oned: &mut Oned, caller: Caller, _p: &Params<'_>) -> Handled {
    replication_refused(oned, caller, "marketplace")?;
    Err(fail(
        ErrorCode::Action,
        "one.market.allocatedb is not supported by the test server",
    ))
}

/// What the federation's replication methods answer a non-administrator.
pub(crate) fn replication_refused(
    oned: &Oned,
    caller: Caller,
    object: &str,
) -> Result<(), Failure> {
    if oned.is_admin(caller.uid) {
        return Ok(());
    }
    Err(fail(
        ErrorCode::Authorization,
        format!(
            "User [{}] not authorized to perform action on {object}.",
            caller.uid
        ),
    ))
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::MarketPlace> {
    let Ext::Market(state) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    let apps = oned
        .pool(Kind::MarketApp)
        .values()
        .filter(|a| matches!(&a.ext, Ext::MarketApp(m) if m.market == obj.id))
        .map(|a| a.id);
    Some(models::MarketPlace {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        state: i64::from(*state),
        market_mad: obj
            .template
            .get("MARKET_MAD")
            .unwrap_or_default()
            .to_string(),
        zone_id: "0".into(),
        total_mb: 0,
        free_mb: 0,
        used_mb: 0,
        marketplaceapps: ids_of(apps),
        permissions: permissions_of(obj),
        template: obj.template.to_template(),
    })
}
