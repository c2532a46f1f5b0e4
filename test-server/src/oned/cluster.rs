//! Clusters: creation, and the hosts, datastores and virtual networks in them
//! (src/cluster/Cluster.cc, ClusterPool.cc, src/rm/api/ClusterAPI.cc). A cluster keeps no
//! lists of its own here: an object's clusters are stored on the object (a host's
//! CLUSTER_ID, a datastore's or network's CLUSTERS), and a cluster's HOSTS, DATASTORES and
//! VNETS are read from them, so the two sides never disagree.

use super::prelude::*;
use super::xml_parts::ids_of;
use opennebula::models;

/// `one.cluster.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Cluster)?;
    let mut template = Tmpl::default();
    template.set("RESERVED_CPU", "");
    template.set("RESERVED_MEM", "");
    let id = super::naming::create_object(
        oned,
        caller,
        Kind::Cluster,
        p.str(0),
        template,
        Ext::None,
        ErrorCode::Allocate,
        "Error allocating a new cluster. ",
    )?;
    Ok(Value::Int(id))
}

/// `one.cluster.addhost`.
pub(crate) fn addhost(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit(oned, caller, p, Kind::Host, true)
}

/// `one.cluster.delhost`.
pub(crate) fn delhost(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit(oned, caller, p, Kind::Host, false)
}

/// `one.cluster.adddatastore`.
pub(crate) fn adddatastore(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit(oned, caller, p, Kind::Datastore, true)
}

/// `one.cluster.deldatastore`.
pub(crate) fn deldatastore(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit(oned, caller, p, Kind::Datastore, false)
}

/// `one.cluster.addvnet`.
pub(crate) fn addvnet(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit(oned, caller, p, Kind::Vnet, true)
}

/// `one.cluster.delvnet`.
pub(crate) fn delvnet(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit(oned, caller, p, Kind::Vnet, false)
}

/// Adds object `p[1]` of `kind` to cluster `p[0]` (`add`) or removes it.
fn edit(oned: &mut Oned, caller: Caller, p: &Params<'_>, kind: Kind, add: bool) -> Handled {
    let (id, object) = (p.int(0), p.int(1));
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] : Not authorized to perform ADMIN CLUSTER [{id}].",
                caller.uid
            ),
        ));
    }
    oned.get(Kind::Cluster, id)
        .ok_or_else(|| no_exists(Kind::Cluster, id))?;
    oned.get(kind, object)
        .ok_or_else(|| no_exists(kind, object))?;
    match oned.get_mut(kind, object).map(|o| &mut o.ext) {
        // A host lives in one cluster; removing it sends it back to the default cluster.
        Some(Ext::Host(h)) => h.cluster_id = if add { id } else { 0 },
        Some(Ext::Datastore(d)) => {
            if add {
                d.clusters.insert(id);
            } else {
                d.clusters.remove(&id);
            }
        }
        Some(Ext::Vnet(v)) => {
            if add {
                v.clusters.insert(id);
            } else {
                v.clusters.remove(&id);
            }
        }
        _ => {}
    }
    Ok(Value::Int(id))
}

/// `one.cluster.optimize`.
pub(crate) fn optimize(oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    oned.get(Kind::Cluster, id)
        .ok_or_else(|| no_exists(Kind::Cluster, id))?;
    Ok(Value::Int(id))
}

/// `one.cluster.plandelete`.
pub(crate) fn plandelete(_oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    Err(fail(
        ErrorCode::Action,
        format!("Plan for cluster {id} does not exist"),
    ))
}

/// `one.cluster.planexecute`.
pub(crate) fn planexecute(_oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Err(fail(ErrorCode::Action, "Plan is not ready"))
}

/// The ids of the datastores in cluster `cluster`.
pub(crate) fn datastores(oned: &Oned, cluster: i32) -> impl Iterator<Item = i32> + '_ {
    oned.pool(Kind::Datastore)
        .values()
        .filter(move |o| matches!(&o.ext, Ext::Datastore(d) if d.clusters.contains(&cluster)))
        .map(|o| o.id)
}

/// The ids of the virtual networks in cluster `cluster`.
pub(crate) fn vnets(oned: &Oned, cluster: i32) -> impl Iterator<Item = i32> + '_ {
    oned.pool(Kind::Vnet)
        .values()
        .filter(move |o| matches!(&o.ext, Ext::Vnet(v) if v.clusters.contains(&cluster)))
        .map(|o| o.id)
}

/// The cluster's document.
pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::Cluster> {
    Some(models::Cluster {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        hosts: ids_of(super::host::in_cluster(oned, obj.id)),
        datastores: ids_of(datastores(oned, obj.id)),
        vnets: ids_of(vnets(oned, obj.id)),
        template: obj.template.to_template(),
        plan: None,
    })
}
