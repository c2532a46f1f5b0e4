//! The methods every object kind shares, written once: `info`, `update`, `rename`,
//! `chown`, `chmod`, `lock`, `unlock`, `delete`, `clone` and the pool `info`
//! (src/rm/api/SharedAPI.cc, PoolSharedAPI.cc and each kind's API class for what differs).
//! What a kind does differently is asked of the kind's module.

use super::kind::NameScope;
use super::prelude::*;
use super::Lock;
use opennebula::xml::XmlWriter;

// ---------------------------------------------------------------------------------------
// Generic handlers
// ---------------------------------------------------------------------------------------

/// Resolves `-1` ids to the caller (user.info / group.info).
fn self_id(kind: Kind, caller: Caller, id: i32) -> i32 {
    match (kind, id) {
        (Kind::User, -1) => caller.uid,
        (Kind::Group, -1) => caller.gid,
        _ => id,
    }
}

/// `one.<kind>.info`.
pub(crate) fn info(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    info_written(oned, caller, kind, p, XmlWriter::with_capacity(512)).map(Value::from)
}

/// The document of `one.<kind>.info`, written by `writer` (a plain or an
/// [escaped](XmlWriter::escaped) one): what it holds.
pub(crate) fn info_written(
    oned: &mut Oned,
    caller: Caller,
    kind: Kind,
    p: &Params<'_>,
    mut writer: XmlWriter,
) -> Result<String, Failure> {
    let id = self_id(kind, caller, p.int(0));
    let obj = oned.get(kind, id).ok_or_else(|| no_exists(kind, id))?;
    if !(kind == Kind::User && id == caller.uid) {
        authorize(oned, caller, obj, Op::Use)?;
    }
    if kind == Kind::Template && p.bool_or(1, false) {
        // `extended`: the DISKs as a VM would get them from their images.
        let mut extended = obj.clone();
        let disks: Vec<BTreeMap<String, String>> = extended
            .template
            .remove("DISK")
            .into_iter()
            .filter_map(|d| match d {
                Attr::Vector(v) => Some(v),
                Attr::Single(_) => None,
            })
            .collect();
        let has_context = extended.template.has("CONTEXT");
        for disk in super::vm::create::expand_disks(oned, disks, has_context, false)? {
            extended.template.push("DISK", Attr::Vector(disk));
        }
        super::render::write_document(oned, &extended, true, &mut writer);
    } else {
        super::render::write_document(oned, obj, true, &mut writer);
    }
    Ok(writer.into_string())
}

/// `one.<kind>.update`: replaces (0) or merges (1) the template; a VM's USER_TEMPLATE.
pub(crate) fn update(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    let text = p.str(1);
    let merge = p.int_or(2, 0) == 1;
    let op = if kind == Kind::User && id == caller.uid {
        Op::Use
    } else {
        Op::Manage
    };
    fetch(oned, caller, kind, id, op, 2)?;
    let new = parse_template(text)?;
    let obj = oned.get(kind, id).expect("fetched");
    let mut template = obj.template.clone();
    if merge {
        template.merge(new);
    } else {
        match kind {
            Kind::Vnet if !new.has("VN_MAD") => {
                return Err(fail(
                    ErrorCode::Internal,
                    "Cannot update template. No VN_MAD in template for Virtual Network.",
                ))
            }
            Kind::Hook
                if (obj.template.has("STATE") || obj.template.has("ON"))
                    && !new.has("STATE")
                    && !new.has("ON") =>
            {
                return Err(fail(
                    ErrorCode::Internal,
                    "Cannot update template. The STATE attribute is not defined or it's invalid.",
                ));
            }
            _ => {}
        }
        // Attributes oned keeps on a replace.
        let keep: &[&str] = match kind {
            Kind::Host => &["IM_MAD", "VM_MAD"],
            // Kept with the template, shown as elements of their own.
            Kind::BackupJob => &["PRIORITY", "LAST_BACKUP_TIME"],
            _ => &[],
        };
        let mut replaced = new;
        for name in keep {
            if let Some(value) = template.get(name) {
                replaced.set_default(name, value.to_string());
            }
        }
        template = replaced;
    }
    let obj = oned.get_mut(kind, id).expect("fetched");
    if kind == Kind::Vm {
        if let Ext::Vm(vm) = &mut obj.ext {
            // For VMs, update edits the USER_TEMPLATE.
            let mut user = vm.user_template.clone();
            let new = parse_template(text)?;
            if merge {
                user.merge(new);
            } else {
                user = new;
            }
            vm.user_template = user;
        }
    } else {
        if let Ext::Vnet(vnet) = &obj.ext {
            // oned writes the network's own attributes back into its template.
            template.set_default("BRIDGE", vnet.bridge.clone());
            for name in ["BRIDGE_TYPE", "VLAN_ID", "OUTER_VLAN_ID", "PHYDEV"] {
                template.set_default(name, if name == "BRIDGE_TYPE" { "linux" } else { "" });
            }
        }
        obj.template = template;
    }
    if let Ext::Image(image) = &mut obj.ext {
        image.modtime = super::now_epoch();
    }
    if kind == Kind::BackupJob {
        super::backupjob::defaults(&mut obj.template);
    }
    super::datastore::updated(obj);
    Ok(Value::Int(id))
}

/// `one.<kind>.rename`.
pub(crate) fn rename(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let (id, name) = (p.int(0), p.str(1));
    let obj = fetch(oned, caller, kind, id, Op::Manage, 2)?;
    if name.is_empty() {
        return Err(fail(ErrorCode::Action, "Invalid NAME, it cannot be empty"));
    }
    let uid = obj.uid;
    if kind.name_scope() != NameScope::None {
        let clash = oned.pool(kind).values().find(|o| {
            o.id != id && o.name == name && (kind.name_scope() == NameScope::Global || o.uid == uid)
        });
        if let Some(other) = clash {
            let word = kind.display();
            return Err(fail(
                ErrorCode::Action,
                format!(
                    "{word} cannot be renamed to {name} because it collides with {word} {}",
                    other.id
                ),
            ));
        }
    }
    let obj = oned.get_mut(kind, id).expect("fetched");
    obj.name = name.to_string();
    Ok(Value::Int(id))
}

/// `one.<kind>.chown`.
pub(crate) fn chown(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let (id, uid, gid) = (p.int(0), p.int(1), p.int(2));
    // A lock at ADMIN level still lets oned's chown through (it checks MANAGE locks).
    fetch(oned, caller, kind, id, Op::Admin, 2)?;
    if uid >= 0 && oned.get(Kind::User, uid).is_none() {
        return Err(no_exists(Kind::User, uid));
    }
    if gid >= 0 && oned.get(Kind::Group, gid).is_none() {
        return Err(no_exists(Kind::Group, gid));
    }
    let obj = oned.get_mut(kind, id).expect("fetched");
    if uid >= 0 {
        obj.uid = uid;
    }
    if gid >= 0 {
        obj.gid = gid;
    }
    Ok(Value::Int(id))
}

/// `one.<kind>.chmod`.
pub(crate) fn chmod(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, kind, id, Op::Manage, 2)?;
    let obj = oned.get_mut(kind, id).expect("fetched");
    for i in 0..9 {
        let value = p.int(i + 1);
        if value >= 0 {
            obj.perms[i] = u8::from(value > 0);
        }
    }
    Ok(Value::Int(id))
}

/// `one.<kind>.lock`.
pub(crate) fn lock(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let (id, level, test) = (p.int(0), p.int(1), p.bool_or(2, false));
    let obj = fetch(oned, caller, kind, id, Op::Manage, 0)?;
    if let Some(existing) = &obj.lock {
        if test {
            return Err(fail(ErrorCode::Action, existing.time.to_string()));
        }
    }
    let now = oned.now();
    let obj = oned.get_mut(kind, id).expect("fetched");
    obj.lock = Some(Lock {
        level: level.clamp(1, 4),
        owner: caller.uid,
        time: now,
        req_id: caller.request,
    });
    Ok(Value::Int(id))
}

/// `one.<kind>.unlock`.
pub(crate) fn unlock(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, kind, id, Op::Manage, 0)?;
    oned.get_mut(kind, id).expect("fetched").lock = None;
    Ok(Value::Int(id))
}

/// `one.<kind>.delete`.
pub(crate) fn delete(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    let obj = fetch(oned, caller, kind, id, Op::Manage, 2)?;
    let cannot = |m: &str| {
        Err(fail(
            ErrorCode::Action,
            format!("Cannot delete {}. {m}", kind.display()),
        ))
    };
    match &obj.ext {
        Ext::Host(h) if !h.vms.is_empty() => {
            return cannot("Can not remove a host with running VMs")
        }
        Ext::None if kind == Kind::Cluster && id < 100 => {
            return cannot("System Clusters (ID < 100) cannot be deleted.")
        }
        Ext::Datastore(d) if !d.images.is_empty() => {
            return cannot(&format!("Datastore {id} is not empty."))
        }
        Ext::Image(i) if !i.vms.is_empty() => {
            return cannot(&format!("There are {} VMs using it.", i.vms.len()))
        }
        Ext::Vnet(v) if v.ars.iter().any(|ar| ar.leases.values().any(|vm| *vm >= 0)) => {
            return Err(fail(
                ErrorCode::Action,
                "Cannot delete virtual network. Can not remove a virtual network with leases in use",
            ))
        }
        Ext::Group(g) if !g.users.is_empty() || id < 100 => {
            return cannot(&format!("Group {id} is not empty."))
        }
        Ext::User(_) if id == 0 => return cannot("oneadmin cannot be deleted."),
        _ => {}
    }
    if kind == Kind::VRouter {
        super::vrouter::deleted(oned, caller, id);
    }
    if kind == Kind::SecGroup && id == 0 {
        return Err(fail(
            ErrorCode::Action,
            "Cannot delete security group. The default security group (ID 0) cannot be deleted.",
        ));
    }
    let obj = oned.pool_mut(kind).remove(&id).expect("fetched");
    match obj.ext {
        Ext::User(user) => {
            for g in user.groups {
                super::group::group_data(oned, g).users.remove(&id);
                super::group::group_data(oned, g).admins.remove(&id);
            }
        }
        Ext::Image(image) => {
            if let Some(Ext::Datastore(d)) = oned
                .get_mut(Kind::Datastore, image.datastore_id)
                .map(|d| &mut d.ext)
            {
                d.images.remove(&id);
            }
        }
        Ext::Group(_) => {
            if let Some(Ext::Vdc(vdc)) = oned.get_mut(Kind::Vdc, 0).map(|v| &mut v.ext) {
                vdc.groups.remove(&id);
            }
            super::acl::group_deleted(oned, id);
        }
        Ext::Vnet(vnet) => {
            if let Some(parent) = vnet.parent {
                super::vnet::release_reservation(oned, parent, id);
            }
        }
        _ => {}
    }
    Ok(Value::Int(id))
}

/// `one.<kind>.clone`.
pub(crate) fn clone(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let (id, name) = (p.int(0), p.str(1));
    let source = fetch(oned, caller, kind, id, Op::Use, 1)?.clone();
    let (code, prefix) = if kind == Kind::Image {
        (ErrorCode::Allocate, "Error allocating a new image. ")
    } else {
        (ErrorCode::Internal, "")
    };
    super::naming::check_name(oned, kind, name, caller.uid, code, prefix)?;
    let now = oned.now();
    let new_id = oned.take_id(kind);
    let mut obj = source.clone();
    obj.id = new_id;
    obj.name = name.to_string();
    obj.uid = caller.uid;
    obj.gid = caller.gid;
    obj.perms = [1, 1, 0, 0, 0, 0, 0, 0, 0];
    obj.lock = None;
    obj.regtime = now;
    if matches!(kind, Kind::Template | Kind::VnTemplate) {
        // A NAME an update left in the body stays with the original (a rename keeps it
        // too); the clone has its own name only.
        obj.template.remove("NAME");
    }
    if let Ext::Image(image) = &mut obj.ext {
        image.vms.clear();
        image.clones.clear();
        image.persistent = false;
        image.state = opennebula::api::ImageState::Locked;
        image.settle_ticks = 2;
        image.modtime = now;
        // The clone is copied from the original's file; its own file is named when the
        // copy is done.
        image.path = std::mem::take(&mut image.source);
    }
    let ds = match &obj.ext {
        Ext::Image(image) => Some(image.datastore_id),
        _ => None,
    };
    oned.insert(obj);
    if let Some(ds) = ds {
        if let Some(Ext::Datastore(d)) = oned.get_mut(Kind::Datastore, ds).map(|d| &mut d.ext) {
            d.images.insert(new_id);
        }
    }
    Ok(Value::Int(new_id))
}

/// `one.<kind>pool.info`: the objects the caller sees, with the filter, range and page
/// parameters of kinds that have them.
pub(crate) fn pool_info(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    // Pools without filter parameters.
    let filtered = !matches!(
        kind,
        Kind::User
            | Kind::Group
            | Kind::Host
            | Kind::Cluster
            | Kind::Datastore
            | Kind::Zone
            | Kind::Vdc
            | Kind::Market
            | Kind::Hook
    );
    let (filter, start, end) = if filtered {
        (p.int(0), p.int(1), p.int(2))
    } else {
        (-2, -1, -1)
    };
    use super::pools::pool_ids;
    if kind == Kind::Document {
        let doc_type = p.int_or(3, 100);
        let ids = pool_ids(
            oned,
            caller,
            kind,
            filter,
            start,
            end,
            |o: &Obj| matches!(o.ext, Ext::Document(t) if t == doc_type),
        );
        return Ok(Value::from(super::render::pool(oned, kind, &ids)));
    }
    let ids = pool_ids(oned, caller, kind, filter, start, end, |_| true);
    Ok(Value::from(super::render::pool(oned, kind, &ids)))
}
