//! Images: creation in an image or files datastore, types, persistence, enabling
//! (src/image/Image.cc, ImagePool.cc, ImageManager.cc, src/rm/api/ImageAPI.cc), and their
//! documents. The datastore driver's copy is in [`super::drivers`].

use super::prelude::*;
use super::xml_parts::{ids_of, lock_of, owner_of, permissions_of};
use opennebula::api::ImageState;
use opennebula::models;

#[derive(Debug, Clone)]
pub(crate) struct ImageData {
    pub(crate) image_type: i32,
    pub(crate) persistent: bool,
    pub(crate) state: ImageState,
    pub(crate) prev_state: ImageState,
    pub(crate) path: String,
    pub(crate) source: String,
    pub(crate) size: i64,
    pub(crate) datastore_id: i32,
    pub(crate) vms: BTreeSet<i32>,
    pub(crate) clones: BTreeSet<i32>,
    pub(crate) modtime: i64,
    pub(crate) format: String,
    pub(crate) settle_ticks: u8,
}

impl ImageData {
    /// Moves to `state` (1 READY, 2 USED ...). Like the VMs', the image's transitions settle
    /// within the call with the dummy drivers, so oned reports PREV_STATE equal to STATE.
    pub(crate) fn set_state(&mut self, state: ImageState) {
        self.state = state;
        self.prev_state = state;
    }
}

/// `one.image.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let mut template = parse_template(p.str(0))?;
    let name = template.get("NAME").unwrap_or("").to_string();
    template.remove("NAME");
    let ds_id = p.int(1);
    let prefix = "Error allocating a new image. ";
    let ds = oned
        .get(Kind::Datastore, ds_id)
        .ok_or_else(|| no_exists(Kind::Datastore, ds_id))?;
    let ds_name = ds.name.clone();
    let Ext::Datastore(ds_data) = &ds.ext else {
        return Err(no_exists(Kind::Datastore, ds_id));
    };
    if ds_data.ds_type == 1 {
        return Err(fail(
            ErrorCode::Allocate,
            format!("{prefix}New images can only be allocated in a files or image datastore."),
        ));
    }
    super::naming::check_name(
        oned,
        Kind::Image,
        &name,
        caller.uid,
        ErrorCode::Allocate,
        prefix,
    )?;
    let path = template.get("PATH").unwrap_or("").to_string();
    let size = match (template.get("SIZE"), path.is_empty()) {
        (Some(size), _) => size.parse::<i64>().ok(),
        (None, false) => Some(1),
        (None, true) => None,
    };
    let Some(size) = size else {
        return Err(fail(
            ErrorCode::Internal,
            "Cannot parse image SIZE: Wrong number or missing SIZE attribute.",
        ));
    };
    let image_type = match template.get("TYPE").unwrap_or(if ds_data.ds_type == 2 {
        "CONTEXT"
    } else if path.is_empty() {
        "DATABLOCK"
    } else {
        "OS"
    }) {
        "OS" => 0,
        "CDROM" => 1,
        "DATABLOCK" => 2,
        "KERNEL" => 3,
        "RAMDISK" => 4,
        "CONTEXT" => 5,
        "BACKUP" => 6,
        _ => 0,
    };
    let persistent = template
        .get("PERSISTENT")
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    let format = template.remove("FORMAT");
    template.remove("PATH");
    template.remove("TYPE");
    template.remove("PERSISTENT");
    template.remove("SIZE");
    template.set_default("DEV_PREFIX", "sd");
    let now = oned.now();
    let id = oned.take_id(Kind::Image);
    let mut image = Obj::new(Kind::Image, id, &name, caller.uid, caller.gid, now);
    image.template = template;
    image.ext = Ext::Image(ImageData {
        image_type,
        persistent,
        // LOCKED while the datastore driver copies; READY (or ERROR for a restricted
        // path) one call later.
        state: ImageState::Locked,
        prev_state: ImageState::Init,
        format: match format.first() {
            Some(Attr::Single(f)) => f.clone(),
            _ => String::new(),
        },
        settle_ticks: 2,
        // The datastore driver names the file when the copy is done.
        source: String::new(),
        path,
        size,
        datastore_id: ds_id,
        vms: BTreeSet::new(),
        clones: BTreeSet::new(),
        modtime: now,
    });
    let _ = ds_name;
    oned.insert(image);
    if let Some(Ext::Datastore(d)) = oned.get_mut(Kind::Datastore, ds_id).map(|d| &mut d.ext) {
        d.images.insert(id);
    }
    Ok(Value::Int(id))
}

/// The image `p[0]`, for a change the caller needs MANAGE for.
fn managed(oned: &Oned, caller: Caller, p: &Params<'_>) -> Result<ImageData, Failure> {
    let image = fetch(oned, caller, Kind::Image, p.int(0), Op::Manage, 2)?;
    let Ext::Image(data) = &image.ext else {
        unreachable!("the image pool holds images")
    };
    Ok(data.clone())
}

fn set(oned: &mut Oned, id: i32, change: impl FnOnce(&mut ImageData)) {
    if let Some(Ext::Image(d)) = oned.get_mut(Kind::Image, id).map(|i| &mut i.ext) {
        change(d);
    }
}

/// `one.image.chtype`.
pub(crate) fn chtype(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    managed(oned, caller, p)?;
    let t = match p.str(1) {
        "OS" => 0,
        "CDROM" => 1,
        "DATABLOCK" => 2,
        "KERNEL" => 3,
        "RAMDISK" => 4,
        "CONTEXT" => 5,
        _ => return Err(fail(ErrorCode::Internal, "known type ")),
    };
    set(oned, p.int(0), |d| d.image_type = t);
    Ok(Value::Int(p.int(0)))
}

/// `one.image.persistent`.
pub(crate) fn persistent(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    managed(oned, caller, p)?;
    let on = p.bool_or(1, true);
    set(oned, p.int(0), |d| d.persistent = on);
    Ok(Value::Int(p.int(0)))
}

/// `one.image.enable`.
pub(crate) fn enable(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let data = managed(oned, caller, p)?;
    let on = p.bool_or(1, true);
    if !matches!(data.state, ImageState::Ready | ImageState::Disabled) {
        return Err(fail(
            ErrorCode::Action,
            "Image cannot be enabled or disabled in its current state",
        ));
    }
    set(oned, p.int(0), |d| {
        d.state = if on {
            ImageState::Ready
        } else {
            ImageState::Disabled
        };
        d.prev_state = d.state;
    });
    Ok(Value::Int(p.int(0)))
}

/// `one.image.snapshotdelete`, `snapshotrevert`, `snapshotflatten`: the test server's
/// images have no snapshots.
pub(crate) fn snapshot(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    managed(oned, caller, p)?;
    Err(fail(ErrorCode::Action, "Snapshot does not exist"))
}

/// `one.image.restore`.
pub(crate) fn restore(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let data = managed(oned, caller, p)?;
    if data.image_type != 6 {
        return Err(fail(
            ErrorCode::Action,
            "Can only restore images of type BACKUP",
        ));
    }
    Err(fail(
        ErrorCode::Action,
        "Restore is not supported by the test server",
    ))
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::Image> {
    let Ext::Image(image) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    let datastore = oned
        .get(Kind::Datastore, image.datastore_id)
        .map(|d| d.name.clone())
        .unwrap_or_default();
    Some(models::Image {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        lock: lock_of(obj),
        permissions: permissions_of(obj),
        type_: i64::from(image.image_type),
        disk_type: 0,
        persistent: i64::from(image.persistent),
        regtime: obj.regtime,
        modtime: image.modtime,
        source: image.source.clone(),
        path: image.path.clone(),
        format: image.format.clone(),
        fs: String::new(),
        size: image.size,
        state: image.state.code(),
        prev_state: image.prev_state.code(),
        running_vms: image.vms.len() as i64,
        cloning_ops: 0,
        cloning_id: -1,
        target_snapshot: -1,
        datastore_id: i64::from(image.datastore_id),
        datastore,
        vms: ids_of(image.vms.iter().copied()),
        clones: ids_of(image.clones.iter().copied()),
        app_clones: models::Ids::default(),
        template: obj.template.to_template(),
        snapshots: models::ImageSnapshots {
            allow_orphans: "NO".into(),
            current_base: -1,
            next_snapshot: "0".into(),
            snapshot: Vec::new(),
        },
        backup_increments: models::BackupIncrements::default(),
        backup_disk_ids: Some(models::Ids::default()),
    })
}
