//! Marketplace appliances: creation from an image, the export's progress, enabling
//! (src/market/MarketPlaceApp.cc, src/rm/api/MarketPlaceAppAPI.cc), and their documents.

use super::prelude::*;
use super::xml_parts::{lock_of, owner_of, permissions_of};
use opennebula::api::MarketPlaceAppState;
use opennebula::models;

/// A marketplace appliance.
#[derive(Debug, Clone)]
pub(crate) struct MarketAppData {
    pub(crate) market: i32,
    pub(crate) origin: i32,
    /// LOCKED while being exported, then READY.
    pub(crate) state: MarketPlaceAppState,
    pub(crate) size: i64,
    pub(crate) format: String,
    pub(crate) settle_ticks: u8,
}

/// `one.marketapp.allocate`: the template, and the marketplace.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, mut template) = super::naming::named_template(p.str(0))?;
    super::naming::check_name(
        oned,
        Kind::MarketApp,
        &name,
        caller.uid,
        ErrorCode::Internal,
        "",
    )?;
    let market = p.int(1);
    if oned.get(Kind::Market, market).is_none() {
        return Err(no_exists(Kind::Market, market));
    }
    let origin = template
        .get("ORIGIN_ID")
        .and_then(|o| o.parse::<i32>().ok())
        .unwrap_or(-1);
    let (size, format) = match oned.get(Kind::Image, origin).map(|i| &i.ext) {
        Some(Ext::Image(i)) => (i.size, i.format.clone()),
        _ => (0, String::new()),
    };
    template.remove("ORIGIN_ID");
    let ext = Ext::MarketApp(MarketAppData {
        market,
        origin,
        state: MarketPlaceAppState::Locked,
        size,
        format,
        settle_ticks: 2,
    });
    let id = super::naming::insert_new(oned, caller, Kind::MarketApp, &name, template, ext);
    Ok(Value::Int(id))
}

/// `one.marketapp.enable`.
pub(crate) fn enable(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::MarketApp, id, Op::Manage, 2)?;
    if let Some(Ext::MarketApp(app)) = oned.get_mut(Kind::MarketApp, id).map(|o| &mut o.ext) {
        app.state = if p.bool_or(1, true) {
            MarketPlaceAppState::Ready
        } else {
            MarketPlaceAppState::Disabled
        };
    }
    Ok(Value::Int(id))
}

/// `one.marketapp.updatedb`: the replicated appliance does not exist here.
pub(crate) fn updatedb(_oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    Err(no_exists(Kind::MarketApp, p.int(0)))
}

/// `one.marketapp.allocatedb` (federation replication): refused to non-administrators.
pub(crate) fn allocatedb(oned: &mut Oned, caller: Caller, _p: &Params<'_>) -> Handled {
    super::market::replication_refused(oned, caller, "marketplaceapp")?;
    Err(fail(
        ErrorCode::Action,
        "one.marketapp.allocatedb is not supported by the test server",
    ))
}

/// `one.marketapp.dropdb`: the replicated appliance does not exist here.
pub(crate) fn dropdb(_oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    Err(no_exists(Kind::MarketApp, p.int(0)))
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::MarketPlaceApp> {
    let Ext::MarketApp(app) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    let ready = app.state != MarketPlaceAppState::Locked;
    // A ready app has a source in the marketplace and its checksum (the dummy driver's
    // stand-ins: derived from the app, so they stay the same from one call to the next).
    let source = if ready {
        format!(
            "http://127.0.0.1:8099/{}",
            &crate::oned::sha256_hex(&format!("{}{}", obj.id, obj.regtime))[..32]
        )
    } else {
        String::new()
    };
    let md5 = if ready {
        crate::oned::sha256_hex(&source)[..32].to_string()
    } else {
        String::new()
    };
    let attr = |name: &str, default: &str| obj.template.get(name).unwrap_or(default).to_string();
    Some(models::MarketPlaceApp {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        lock: lock_of(obj),
        regtime: obj.regtime,
        name: o.name,
        zone_id: "0".into(),
        origin_id: app.origin.to_string(),
        source,
        md5,
        size: if ready { app.size } else { 0 },
        description: attr("DESCRIPTION", ""),
        version: attr("VERSION", "0.0"),
        format: if ready {
            app.format.clone()
        } else {
            String::new()
        },
        apptemplate64: attr("APPTEMPLATE64", ""),
        marketplace_id: i64::from(app.market),
        marketplace: oned
            .get(Kind::Market, app.market)
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        state: app.state.code(),
        type_: 1,
        permissions: permissions_of(obj),
        template: obj.template.to_template(),
    })
}
