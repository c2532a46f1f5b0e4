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
    let add = verb.starts_with("add");
    match &verb[3..] {
        "group" => edit_group(oned, caller, p.int(0), p.int(1), add),
        what => {
            let kind = match what {
                "cluster" => Kind::Cluster,
                "host" => Kind::Host,
                "datastore" => Kind::Datastore,
                _ => Kind::Vnet,
            };
            edit_resource(oned, caller, kind, p, add)
        }
    }
}

/// ADMIN on the VDC and on the other objects given that exist (`VdcAPI::edit_group`,
/// `edit_resource`): the VDC must exist; the group, zone or resource only when adding.
fn authorize_edit(
    oned: &Oned,
    caller: Caller,
    id: i32,
    others: &[(Kind, i32)],
    add: bool,
) -> Result<(), Failure> {
    let vdc = oned
        .get(Kind::Vdc, id)
        .ok_or_else(|| no_exists(Kind::Vdc, id))?;
    let mut request = super::auth::AuthRequest::new(oned, caller).add_obj(Op::Admin, vdc);
    for (kind, oid) in others {
        request = match oned.get(*kind, *oid) {
            Some(obj) => request.add_obj(Op::Admin, obj),
            None if add => return Err(no_exists(*kind, *oid)),
            // A group that does not exist is still authorized, as an object of no type
            // (`get_info` leaves its permissions empty); a zone or resource is skipped.
            None if *kind == Kind::Group => request.add_type(Op::Admin, 0, ""),
            None => request,
        };
    }
    request.check()
}

/// `Vdc::add_group` / `del_group`: the group gets (or loses) the rules of the VDC's
/// resources.
fn edit_group(oned: &mut Oned, caller: Caller, id: i32, gid: i32, add: bool) -> Handled {
    authorize_edit(oned, caller, id, &[(Kind::Group, gid)], add)?;
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
    let resources: Vec<(Kind, i32, i32)> = vdc.resources.iter().copied().collect();
    if add {
        super::acl::vdc_group_added(oned, gid, &resources);
    } else {
        super::acl::vdc_group_removed(oned, gid, &resources);
    }
    Ok(Value::Int(id))
}

/// `ResourceSet::add` / `del`: a resource (or every one of its kind in the zone, id -10)
/// for the VDC's groups, with the rules it gives them; adding "every" one drops the single
/// ones of that zone.
fn edit_resource(
    oned: &mut Oned,
    caller: Caller,
    kind: Kind,
    p: &Params<'_>,
    add: bool,
) -> Handled {
    let (id, zone, object) = (p.int(0), p.int(1), p.int(2));
    let mut others = vec![(Kind::Zone, zone)];
    if object != super::acl::VDC_ALL && zone == 0 {
        others.push((kind, object));
    }
    authorize_edit(oned, caller, id, &others, add)?;
    let Some(Ext::Vdc(vdc)) = oned.get_mut(Kind::Vdc, id).map(|v| &mut v.ext) else {
        return Err(no_exists(Kind::Vdc, id));
    };
    let key = (kind, zone, object);
    let name = kind.auth_name();
    if add && !vdc.resources.insert(key) {
        return Err(fail(
            ErrorCode::Internal,
            format!("{name} {object} from Zone {zone} is already assigned to the VDC"),
        ));
    }
    if !add && !vdc.resources.remove(&key) {
        return Err(fail(
            ErrorCode::Internal,
            format!("{name} {object} from Zone {zone} is not assigned to the VDC "),
        ));
    }
    let groups: Vec<i32> = vdc.groups.iter().copied().collect();
    let replaced: Vec<i32> = if add && object == super::acl::VDC_ALL {
        let single: Vec<i32> = vdc
            .resources
            .iter()
            .filter(|(k, z, o)| *k == kind && *z == zone && *o != super::acl::VDC_ALL)
            .map(|(_, _, o)| *o)
            .collect();
        vdc.resources
            .retain(|(k, z, o)| !(*k == kind && *z == zone && single.contains(o)));
        single
    } else {
        Vec::new()
    };
    if add {
        super::acl::vdc_resource_added(oned, &groups, kind, zone, object);
    } else {
        super::acl::vdc_resource_removed(oned, &groups, kind, zone, object);
    }
    for single in replaced {
        super::acl::vdc_resource_removed(oned, &groups, kind, zone, single);
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
