//! VDCs: groups and the clusters, hosts, datastores and networks of zones they give
//! access to (src/vdc/Vdc.cc, src/rm/api/VdcAPI.cc), and their documents.

use super::prelude::*;
use super::xml_parts::ids_of;
use opennebula::models;

#[derive(Debug, Clone, Default)]
pub(crate) struct VdcData {
    pub(crate) groups: BTreeSet<i32>,
    /// (kind, zone id, object id); cluster id -10 means "all".
    pub(crate) resources: BTreeSet<(Kind, i32, i32)>,
}

/// `one.vdc.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Vdc)?;
    let (name, template) = super::naming::named_template(p.str(0))?;
    let id = super::naming::create_object(
        oned,
        caller,
        Kind::Vdc,
        &name,
        template,
        Ext::Vdc(VdcData::default()),
        ErrorCode::Internal,
        "",
    )?;
    Ok(Value::Int(id))
}

/// `one.vdc.addgroup`, `delgroup`, `addcluster`, `delcluster`, `addhost`, `delhost`,
/// `adddatastore`, `deldatastore`, `addvnet`, `delvnet`: the verb names the change.
pub(crate) fn edit(oned: &mut Oned, caller: Caller, verb: &str, p: &Params<'_>) -> Handled {
    vdc_edit(oned, caller, verb, p)
}

fn vdc_edit(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] : Not authorized to perform ADMIN VDC [{id}].",
                caller.uid
            ),
        ));
    }
    oned.get(Kind::Vdc, id)
        .ok_or_else(|| no_exists(Kind::Vdc, id))?;
    let add = action.starts_with("add");
    let what = &action[3..];
    if what == "group" {
        let gid = p.int(1);
        oned.get(Kind::Group, gid)
            .ok_or_else(|| no_exists(Kind::Group, gid))?;
        let Some(Ext::Vdc(vdc)) = oned.get_mut(Kind::Vdc, id).map(|v| &mut v.ext) else {
            return Err(no_exists(Kind::Vdc, id));
        };
        if add && !vdc.groups.insert(gid) {
            return Err(fail(
                ErrorCode::Internal,
                format!("Group {gid} is already assigned to the VDC {id}"),
            ));
        }
        if !add && !vdc.groups.remove(&gid) {
            return Err(fail(
                ErrorCode::Internal,
                format!("Group {gid} is not assigned to the VDC {id}"),
            ));
        }
        return Ok(Value::Int(id));
    }
    let kind = match what {
        "cluster" => Kind::Cluster,
        "host" => Kind::Host,
        "datastore" => Kind::Datastore,
        "vnet" => Kind::Vnet,
        _ => {
            return Err(fail(
                ErrorCode::Action,
                format!("one.vdc.{action} is not supported"),
            ))
        }
    };
    let (zone, object) = (p.int(1), p.int(2));
    oned.get(Kind::Zone, zone)
        .ok_or_else(|| no_exists(Kind::Zone, zone))?;
    oned.get(kind, object)
        .ok_or_else(|| no_exists(kind, object))?;
    let Some(Ext::Vdc(vdc)) = oned.get_mut(Kind::Vdc, id).map(|v| &mut v.ext) else {
        return Err(no_exists(Kind::Vdc, id));
    };
    if add {
        vdc.resources.insert((kind, zone, object));
    } else {
        vdc.resources.remove(&(kind, zone, object));
    }
    Ok(Value::Int(id))
}

pub(crate) fn document(_oned: &Oned, obj: &Obj) -> Option<models::Vdc> {
    let Ext::Vdc(vdc) = &obj.ext else {
        return None;
    };
    let of = |kind: Kind| {
        vdc.resources
            .iter()
            .filter(move |(k, _, _)| *k == kind)
            .map(|(_, zone, id)| (i64::from(*zone), i64::from(*id)))
    };
    Some(models::Vdc {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        groups: ids_of(vdc.groups.iter().copied()),
        clusters: models::VdcClusters {
            cluster: of(Kind::Cluster)
                .map(|(zone_id, cluster_id)| models::VdcCluster {
                    zone_id,
                    cluster_id,
                })
                .collect(),
        },
        hosts: models::VdcHosts {
            host: of(Kind::Host)
                .map(|(zone_id, host_id)| models::VdcHost { zone_id, host_id })
                .collect(),
        },
        datastores: models::VdcDatastores {
            datastore: of(Kind::Datastore)
                .map(|(zone_id, datastore_id)| models::VdcDatastore {
                    zone_id,
                    datastore_id,
                })
                .collect(),
        },
        vnets: models::VdcVnets {
            vnet: of(Kind::Vnet)
                .map(|(zone_id, vnet_id)| models::VdcVnet { zone_id, vnet_id })
                .collect(),
        },
        template: obj.template.to_template(),
    })
}
