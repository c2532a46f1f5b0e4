//! Datastores: creation with the defaults of their type and drivers, enabling system
//! datastores (src/datastore/Datastore.cc, DatastorePool.cc, src/rm/api/DatastoreAPI.cc),
//! and their documents.

use super::prelude::*;
use super::xml_parts::{ids_of, owner_of, permissions_of};
use opennebula::models;

#[derive(Debug, Clone)]
pub(crate) struct DatastoreData {
    pub(crate) ds_mad: String,
    pub(crate) tm_mad: String,
    /// 0 image, 1 system, 2 files.
    pub(crate) ds_type: i32,
    pub(crate) state: i32,
    pub(crate) clusters: BTreeSet<i32>,
    pub(crate) images: BTreeSet<i32>,
}

/// `one.datastore.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Datastore)?;
    let mut template = parse_template(p.str(0))?;
    let name = template.get("NAME").unwrap_or("").to_string();
    template.remove("NAME");
    super::naming::check_name(
        oned,
        Kind::Datastore,
        &name,
        caller.uid,
        ErrorCode::Internal,
        "",
    )?;
    let cluster = p.int_or(1, -1);
    if cluster >= 0 && oned.get(Kind::Cluster, cluster).is_none() {
        return Err(no_exists(Kind::Cluster, cluster));
    }
    let Some(ds_mad) = template.get("DS_MAD").map(str::to_string) else {
        return Err(fail(ErrorCode::Internal, "No DS_MAD in template."));
    };
    let ds_type = match template.get("TYPE").unwrap_or("IMAGE_DS") {
        "SYSTEM_DS" => 1,
        "FILE_DS" => 2,
        _ => 0,
    };
    template.set_default(
        "TYPE",
        ["IMAGE_DS", "SYSTEM_DS", "FILE_DS"][ds_type as usize],
    );
    if ds_type == 0 {
        for (name, value) in [
            ("ALLOW_ORPHANS", "NO"),
            ("CLONE_TARGET", "SYSTEM"),
            ("DISK_TYPE", "FILE"),
            ("LN_TARGET", "NONE"),
            ("PERSISTENT_SNAPSHOTS", "YES"),
        ] {
            template.set_default(name, value);
        }
    }
    let tm_mad = template.get("TM_MAD").unwrap_or("").to_string();
    let ext = Ext::Datastore(DatastoreData {
        ds_mad,
        tm_mad,
        ds_type,
        state: 0,
        // DatastoreAPI::allocate puts a datastore without a cluster in the default one.
        clusters: BTreeSet::from([if cluster >= 0 { cluster } else { 0 }]),
        images: BTreeSet::new(),
    });
    let now = oned.now();
    let id = oned.take_id(Kind::Datastore);
    let mut obj = Obj::new(Kind::Datastore, id, &name, caller.uid, caller.gid, now);
    obj.perms = [1, 1, 0, 1, 0, 0, 0, 0, 0];
    obj.template = template;
    obj.ext = ext;
    oned.insert(obj);
    Ok(Value::Int(id))
}

/// `one.datastore.enable`: only system datastores can be disabled.
pub(crate) fn enable(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    let ds = fetch(oned, caller, Kind::Datastore, id, Op::Manage, 2)?;
    let Ext::Datastore(d) = &ds.ext else {
        unreachable!("the datastore pool holds datastores")
    };
    if d.ds_type != 1 {
        return Err(fail(
            ErrorCode::Internal,
            "Only SYSTEM_DS can be disabled or enabled",
        ));
    }
    if let Some(Ext::Datastore(d)) = oned.get_mut(Kind::Datastore, id).map(|d| &mut d.ext) {
        d.state = if p.bool_or(1, true) { 0 } else { 1 };
    }
    Ok(Value::Int(id))
}

/// What `one.datastore.update` keeps or restores in the datastore's new template.
pub(crate) fn updated(obj: &mut Obj) {
    let Ext::Datastore(ds) = &mut obj.ext else {
        return;
    };
    if let Some(tm) = obj.template.get("TM_MAD") {
        ds.tm_mad = tm.to_string();
    }
    if ds.ds_type == 0 {
        // An update restores these defaults, but not DISK_TYPE (set at allocation only).
        for (name, value) in [
            ("ALLOW_ORPHANS", "NO"),
            ("CLONE_TARGET", "SYSTEM"),
            ("LN_TARGET", "NONE"),
            ("PERSISTENT_SNAPSHOTS", "YES"),
        ] {
            obj.template.set_default(name, value);
        }
    }
    if ds.tm_mad == "dummy" {
        // The dummy transfer driver's TM_MAD_CONF defaults.
        for (name, value) in [
            ("ALLOW_ORPHANS", "NO"),
            ("CLONE_TARGET", "SYSTEM"),
            ("LN_TARGET", "NONE"),
            ("SHARED", "YES"),
        ] {
            if obj.template.has(name) {
                obj.template.set(name, value);
            }
        }
    }
    if let Some(mad) = obj.template.get("DS_MAD") {
        ds.ds_mad = mad.to_string();
    }
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::Datastore> {
    let Ext::Datastore(ds) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    Some(models::Datastore {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        permissions: permissions_of(obj),
        ds_mad: ds.ds_mad.clone(),
        tm_mad: ds.tm_mad.clone(),
        base_path: format!("/var/lib/one//datastores/{}", obj.id),
        type_: i64::from(ds.ds_type),
        disk_type: 0,
        state: i64::from(ds.state),
        clusters: ids_of(ds.clusters.iter().copied()),
        total_mb: 0,
        free_mb: 0,
        used_mb: 0,
        images: ids_of(ds.images.iter().copied()),
        template: obj.template.to_template(),
    })
}
