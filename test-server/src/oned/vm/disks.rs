//! VM disks: hot attach and detach, resize, save as an image (src/vm/VirtualMachineDisk.cc,
//! src/rm/api/VirtualMachineAPI.cc), and what a disk gets in a system datastore.

use super::super::prelude::*;
use super::actions::action_code;
use super::create::{disk_target, expand_disks};
use super::{disk_of, remove_by_id, vm_data, vm_mut};
use opennebula::api::ImageState;

/// `one.vm.attach`: hot-attaches a DISK.
pub(crate) fn attach(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);

    fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
    let t = parse_template(p.str(1))?;
    let Some(disk) = t.vectors("DISK").first().map(|d| (*d).clone()) else {
        return Err(fail(ErrorCode::Action, "No DISK in template"));
    };
    if let Some(image) = disk.get("IMAGE_ID") {
        let image_id = image.parse::<i32>().unwrap_or(-1);
        if oned.get(Kind::Image, image_id).is_none() {
            return Err(fail(
                ErrorCode::Action,
                format!("Image with ID: {image} does not exist"),
            ));
        }
    }
    let mut disk = expand_disks(oned, vec![disk], false, true)?.remove(0);
    let obj = oned.get(Kind::Vm, id).expect("fetched");
    let used_ids: BTreeSet<i32> = obj
        .template
        .vectors("DISK")
        .into_iter()
        .chain(obj.template.vectors("CONTEXT"))
        .filter_map(|d| d.get("DISK_ID")?.parse().ok())
        .collect();
    let used_targets: BTreeSet<String> = obj
        .template
        .vectors("DISK")
        .into_iter()
        .chain(obj.template.vectors("CONTEXT"))
        .filter_map(|d| d.get("TARGET").cloned())
        .collect();
    let next_id = (0..).find(|i| !used_ids.contains(i)).unwrap_or(0);
    let target = (0..26)
        .map(disk_target)
        .find(|t| !used_targets.contains(t))
        .unwrap_or_else(|| disk_target(0));
    disk.insert("DISK_ID".into(), next_id.to_string());
    disk.insert("TARGET".into(), target);
    hot_attached_disk(oned, obj, &mut disk);
    let image_id = disk.get("IMAGE_ID").and_then(|i| i.parse::<i32>().ok());
    if let Some(Ext::Image(i)) = image_id
        .and_then(|i| oned.get_mut(Kind::Image, i))
        .map(|i| &mut i.ext)
    {
        i.vms.insert(id);
        i.set_state(ImageState::Used);
    }
    let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
    obj.template.push("DISK", Attr::Vector(disk));
    let now = oned.now();
    vm_mut(oned, id).record_action(action_code("disk-attach"), caller, now);
    Ok(Value::Int(id))
}

/// `one.vm.detach`.
pub(crate) fn detach(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);

    fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
    let disk_id = p.int(1).to_string();
    let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
    let image = obj
        .template
        .vectors("DISK")
        .into_iter()
        .find(|d| d.get("DISK_ID") == Some(&disk_id))
        .and_then(|d| d.get("IMAGE_ID")?.parse::<i32>().ok());
    if !remove_by_id(obj, "DISK", "DISK_ID", &disk_id) {
        return Err(fail(ErrorCode::Action, "VM disk does not exist"));
    }
    if let Some(Ext::Image(i)) = image
        .and_then(|i| oned.get_mut(Kind::Image, i))
        .map(|i| &mut i.ext)
    {
        i.vms.remove(&id);
        if i.vms.is_empty() && i.state == ImageState::Used {
            i.set_state(ImageState::Ready);
        }
    }
    let now = oned.now();
    vm_mut(oned, id).record_action(action_code("disk-detach"), caller, now);
    Ok(Value::Int(id))
}

/// `one.vm.diskresize`.
pub(crate) fn resize(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;
    let now = oned.now();

    let disk = p.int(1).to_string();
    let size = p.str(2).parse::<i64>().unwrap_or(0);
    let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
    let mut found = false;
    for d in obj.template.vectors_mut("DISK") {
        if d.get("DISK_ID") == Some(&disk) {
            found = true;
            let current = d
                .get("SIZE")
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0);
            if size <= current {
                return Err(fail(
                    ErrorCode::Action,
                    "New disk size has to be greater than current one",
                ));
            }
            d.insert("SIZE".into(), size.to_string());
        }
    }
    if !found {
        return Err(fail(ErrorCode::Action, "VM disk does not exist"));
    }
    vm_mut(oned, id).record_action(action_code("disk-resize"), caller, now);
    Ok(Value::Int(id))
}

/// `one.vm.disksaveas`: a new image from a VM disk.
pub(crate) fn saveas(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;
    let now = oned.now();

    let (disk, name) = (p.int(1), p.str(2));
    let Some(disk_attrs) = disk_of(oned, id, disk) else {
        return Err(fail(ErrorCode::Action, "VM disk does not exist"));
    };
    super::super::naming::check_name(oned, Kind::Image, name, caller.uid, ErrorCode::Internal, "")?;
    let source_image = disk_attrs
        .get("IMAGE_ID")
        .and_then(|i| i.parse::<i32>().ok());
    let Some(mut image) = source_image.and_then(|i| oned.get(Kind::Image, i)).cloned() else {
        return Err(fail(ErrorCode::Action, "Cannot save a volatile disk"));
    };
    let new_id = oned.take_id(Kind::Image);
    image.id = new_id;
    image.name = name.to_string();
    image.uid = caller.uid;
    image.gid = caller.gid;
    image.lock = None;
    image.regtime = now;
    image.perms = [1, 1, 0, 0, 0, 0, 0, 0, 0];
    let dev_prefix = image.template.get("DEV_PREFIX").map(str::to_string);
    image.template = Tmpl::default();
    if let Some(prefix) = dev_prefix {
        image.template.set("DEV_PREFIX", prefix);
    }
    image.template.set("SAVED_DISK_ID", disk.to_string());
    image
        .template
        .set("SAVED_IMAGE_ID", source_image.unwrap_or(-1).to_string());
    image.template.set("SAVED_VM_ID", id.to_string());
    let mut ds = 1;
    if let Ext::Image(data) = &mut image.ext {
        data.vms.clear();
        data.clones.clear();
        data.persistent = false;
        data.state = ImageState::Locked;
        // oned's saved image has no PATH: the copy comes from the VM's disk.
        data.path = String::new();
        // The dummy driver copies within the call.
        data.settle_ticks = 1;
        data.size = disk_attrs
            .get("SIZE")
            .and_then(|s| s.parse().ok())
            .unwrap_or(data.size);
        ds = data.datastore_id;
    }
    oned.insert(image);
    if let Some(Ext::Datastore(d)) = oned.get_mut(Kind::Datastore, ds).map(|d| &mut d.ext) {
        d.images.insert(new_id);
    }
    Ok(Value::Int(new_id))
}

/// What a volatile disk gets when it is created in system datastore `ds` (named `name`,
/// with transfer driver `tm`).
pub(crate) fn volatile_disk_on(disk: &mut BTreeMap<String, String>, name: &str, ds: i32, tm: &str) {
    for (k, v) in [
        ("ALLOW_ORPHANS", "NO"),
        ("CLUSTER_ID", "0"),
        ("DATASTORE", name),
        ("DATASTORE_ID", &ds.to_string()),
        ("DISK_TYPE", "FILE"),
        ("DRIVER", "raw"),
        ("FORMAT", "raw"),
        ("PERSISTENT_SNAPSHOTS", "YES"),
        ("TM_MAD", tm),
    ] {
        disk.entry(k.into()).or_insert_with(|| v.to_string());
    }
}

/// A disk hot-attached to a VM placed in a system datastore is prepared there at once
/// (volatile disks get their attributes) and records the system transfer driver.
pub(crate) fn hot_attached_disk(oned: &Oned, vm: &Obj, disk: &mut BTreeMap<String, String>) {
    let Some(tm) = vm.template.get("TM_MAD_SYSTEM") else {
        return;
    };
    let Some(ds) = vm_data(vm).history.last().map(|h| h.ds_id) else {
        return;
    };
    if !disk.contains_key("IMAGE_ID") {
        let name = oned
            .get(Kind::Datastore, ds)
            .map_or_else(|| "system".to_string(), |d| d.name.clone());
        volatile_disk_on(disk, &name, ds, tm);
    }
    disk.insert("TM_MAD_SYSTEM".into(), tm.to_string());
}
