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
    let op = super::auth::verb_op(oned, caller, kind, "update");
    fetch(oned, caller, kind, id, op, 2)?;
    let mut new = parse_template(text)?;
    let obj = oned.get(kind, id).expect("fetched");
    if matches!(kind, Kind::User | Kind::Group) {
        // Users' and groups' VM operation lists (User/Group::post_update_template).
        let admin = oned.caller_is_admin(caller);
        super::user::check_template_update(&obj.template, &mut new, merge, admin)
            .map_err(|e| fail(ErrorCode::Internal, format!("Cannot update template. {e}")))?;
    }
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
    let op = super::auth::verb_op(oned, caller, kind, "rename");
    let obj = fetch(oned, caller, kind, id, op, 2)?;
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

/// `one.<kind>.chown` (`SharedAPI::chown`): the new user and group exist, the object
/// exists; the kind's operation on the object, MANAGE on the new user and USE on the new
/// group (a change to the same owner or group is no change); the name free for the new
/// owner; the quotas of the new owner and group for VMs, images and reservations.
pub(crate) fn chown(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    use super::auth::{base_op, AuthRequest};
    let (id, mut uid, mut gid) = (p.int(0), p.int(1), p.int(2));
    let new_user = if uid > -1 {
        Some(
            oned.get(Kind::User, uid)
                .ok_or_else(|| no_exists(Kind::User, uid))?,
        )
    } else {
        None
    };
    let new_group = if gid > -1 {
        Some(
            oned.get(Kind::Group, gid)
                .ok_or_else(|| no_exists(Kind::Group, gid))?,
        )
    } else {
        None
    };
    let obj = oned.get(kind, id).ok_or_else(|| no_exists(kind, id))?;
    if uid == obj.uid {
        uid = -1;
    }
    if gid == obj.gid {
        gid = -1;
    }
    let mut request = AuthRequest::new(oned, caller).add_obj(base_op(kind), obj);
    if let (Some(user), true) = (new_user, uid > -1) {
        request = request.add_obj(Op::Manage, user);
    }
    if let (Some(group), true) = (new_group, gid > -1) {
        request = request.add_obj(Op::Use, group);
    }
    request.check()?;
    if uid != -1 && kind.name_scope() == NameScope::Owner {
        let clash = oned
            .pool(kind)
            .values()
            .find(|o| o.uid == uid && o.name == obj.name && o.id != id);
        if let Some(other) = clash {
            return Err(fail(
                ErrorCode::Internal,
                format!(
                    "user [{uid}] already owns {} [{}] with NAME {}",
                    kind.display(),
                    other.id,
                    obj.name
                ),
            ));
        }
    }
    chown_quotas(oned, caller, obj, uid, gid)?;
    if let Ext::MarketApp(app) = &obj.ext {
        let public = oned
            .get(Kind::Market, app.market)
            .and_then(|m| m.template.get("MARKET_MAD"))
            .is_some_and(|mad| matches!(mad, "one" | "linuxcontainers"));
        if public {
            return Err(fail(
                ErrorCode::Internal,
                format!(
                    "App {id}: Changing the ownership for an App from the public Marketplace is not permitted"
                ),
            ));
        }
    }
    let mut owned = vec![(kind, id)];
    if kind == Kind::VRouter {
        for vm in super::vrouter::vms(oned, id) {
            chown_quotas(
                oned,
                caller,
                oned.get(Kind::Vm, vm).expect("listed"),
                uid,
                gid,
            )?;
            owned.push((Kind::Vm, vm));
        }
    }
    for (kind, id) in owned {
        let obj = oned.get_mut(kind, id).expect("checked");
        if uid != -1 {
            obj.uid = uid;
        }
        if gid != -1 {
            obj.gid = gid;
        }
    }
    Ok(Value::Int(id))
}

/// What the new owner of a VM, an image or a reservation takes of its quotas
/// (`SharedAPI::get_and_quota`); a DONE VM changes owner no more.
fn chown_quotas(oned: &Oned, caller: Caller, obj: &Obj, uid: i32, gid: i32) -> Result<(), Failure> {
    use super::quota;
    match &obj.ext {
        Ext::Vm(vm) => {
            if vm.state == VmState::Done {
                return Err(fail(
                    ErrorCode::Action,
                    "Could not change VM ownership, wrong state",
                ));
            }
            match quota::demand_of_vm(oned, obj.id) {
                Some(demand) => quota::authorize_vm(oned, caller, uid, gid, &demand),
                None => Ok(()),
            }
        }
        Ext::Image(image) => quota::authorize_image(
            oned,
            caller,
            uid,
            gid,
            image.datastore_id,
            image.size as f64,
        ),
        Ext::Vnet(vnet) => match vnet.parent {
            Some(parent) => {
                let size: u32 = vnet.ars.iter().map(|ar| ar.size).sum();
                quota::authorize_leases(oned, caller, uid, gid, parent, size as usize)
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// `one.<kind>.chmod` (`SharedAPI::chmod`): MANAGE on the object, ADMIN when an ADMIN bit
/// changes; values other than -1, 0 and 1 are refused after the authorization.
pub(crate) fn chmod(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    let obj = oned.get(kind, id).ok_or_else(|| no_exists(kind, id))?;
    let mut wanted: [i32; 9] = std::array::from_fn(|i| p.int(i + 1));
    // A bit set to what it is already is no change (oned compares the ADMIN and OTHER
    // bits; OTHER permissions are enabled in oned.conf).
    for i in [2, 5, 6, 7, 8] {
        if wanted[i] == i32::from(obj.perms[i]) {
            wanted[i] = -1;
        }
    }
    let op = if [2, 5, 8].iter().any(|i| wanted[*i] != -1) {
        Op::Admin
    } else {
        Op::Manage
    };
    super::auth::AuthRequest::new(oned, caller)
        .add_obj(op, obj)
        .check()?;
    if wanted.iter().any(|v| !(-1..=1).contains(v)) {
        return Err(fail(
            ErrorCode::Internal,
            "New permission values must be -1, 0 or 1",
        ));
    }
    let obj = oned.get_mut(kind, id).expect("fetched");
    for (i, value) in wanted.iter().enumerate() {
        if *value >= 0 {
            obj.perms[i] = *value as u8;
        }
    }
    Ok(Value::Int(id))
}

/// `one.<kind>.lock` (`SharedAPI::lock`): MANAGE on the object whatever its lock; levels 1
/// (use), 2 (manage), 3 (admin) and 4 (all, kept as use); with `test` a locked object
/// answers its lock time; only the lock's owner or an administrator relocks it.
pub(crate) fn lock(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let (id, level, test) = (p.int(0), p.int(1), p.bool_or(2, false));
    let obj = fetch(oned, caller, kind, id, Op::Manage, 0)?;
    let level = match level {
        1 | 4 => 1,
        2 => 2,
        3 => 3,
        _ => return Err(fail(ErrorCode::Action, "Wrong lock level specified")),
    };
    if let Some(existing) = &obj.lock {
        if test {
            return Err(fail(ErrorCode::Action, existing.time.to_string()));
        }
        if existing.owner != caller.uid && !oned.caller_is_admin(caller) {
            return Err(fail(
                ErrorCode::Action,
                "Error trying to lock the resource.",
            ));
        }
    }
    let now = oned.now();
    let obj = oned.get_mut(kind, id).expect("fetched");
    obj.lock = Some(Lock {
        level,
        owner: caller.uid,
        time: now,
        req_id: caller.request,
    });
    Ok(Value::Int(id))
}

/// `one.<kind>.unlock` (`SharedAPI::unlock`): MANAGE on the object whatever its lock; only
/// the lock's owner or an administrator unlocks it (an object without a lock has no owner
/// to match).
pub(crate) fn unlock(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    let obj = fetch(oned, caller, kind, id, Op::Manage, 0)?;
    let owner = obj.lock.as_ref().map_or(-1, |l| l.owner);
    if !oned.caller_is_admin(caller) && owner != caller.uid {
        return Err(fail(
            ErrorCode::Action,
            "Cannot unlock: Lock is owned by another user",
        ));
    }
    oned.get_mut(kind, id).expect("fetched").lock = None;
    Ok(Value::Int(id))
}

/// `one.<kind>.delete`.
pub(crate) fn delete(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    // Users are deleted with ADMIN on them (`UserDeleteAPI`), the rest with the kind's
    // operation.
    let op = match kind {
        Kind::User => Op::Admin,
        _ => super::auth::base_op(kind),
    };
    let obj = fetch(oned, caller, kind, id, op, 2)?;
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
        Ext::Group(_) => {
            if let Err(problem) = super::group::check_drop(obj) {
                return cannot(&problem);
            }
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
        Ext::User(user) => super::user::deleted(oned, id, &user.groups),
        Ext::Image(image) => {
            if let Some(Ext::Datastore(d)) = oned
                .get_mut(Kind::Datastore, image.datastore_id)
                .map(|d| &mut d.ext)
            {
                d.images.remove(&id);
            }
        }
        Ext::Group(_) => super::group::deleted(oned, id),
        Ext::Vdc(vdc) => {
            // Its groups lose the rules of its resources (Vdc::drop).
            let resources: Vec<(Kind, i32, i32)> = vdc.resources.iter().copied().collect();
            for gid in vdc.groups {
                super::acl::vdc_group_removed(oned, gid, &resources);
            }
        }
        Ext::Vnet(vnet) => {
            if let Some(parent) = vnet.parent {
                super::vnet::release_reservation(oned, parent, id);
            }
        }
        _ => {}
    }
    // The rules naming the object go with it (`SharedAPI::delete_object`), and those on a
    // cluster's or a zone's objects with the cluster or zone.
    super::acl::object_deleted(oned, kind, id);
    match kind {
        Kind::Cluster => super::acl::cluster_deleted(oned, id),
        Kind::Zone => super::acl::zone_deleted(oned, id),
        _ => {}
    }
    Ok(Value::Int(id))
}

/// Who may clone an object: an image needs CREATE IMAGE and USE on the image and its
/// datastore (`ImageAPI::clone`); the other kinds ask CREATE on the object itself (which
/// only ACL rules give, and any lock refuses) and CREATE of the kind (`SharedAPI::clone`).
fn clone_authorization(oned: &Oned, caller: Caller, source: &Obj) -> Result<(), Failure> {
    use super::auth::AuthRequest;
    let request = AuthRequest::new(oned, caller);
    match &source.ext {
        Ext::Image(image) => {
            let request = request.add_create(Kind::Image).add_obj(Op::Use, source);
            match oned.get(Kind::Datastore, image.datastore_id) {
                Some(ds) => request.add_obj(Op::Use, ds),
                None => request,
            }
            .check()?;
            // The copy takes from the caller's datastore quota.
            super::quota::authorize_image(
                oned,
                caller,
                caller.uid,
                caller.gid,
                image.datastore_id,
                image.size as f64,
            )
        }
        _ => request
            .add_obj(Op::Create, source)
            .add_create(source.kind)
            .check(),
    }
}

/// `one.<kind>.clone`.
pub(crate) fn clone(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let (id, name) = (p.int(0), p.str(1));
    let source = oned
        .get(kind, id)
        .ok_or_else(|| no_exists(kind, id))?
        .clone();
    clone_authorization(oned, caller, &source)?;
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
    // PoolSharedAPI::dump: no filter below -4 (the caller's group).
    if filter < -4 {
        return Err(fail(ErrorCode::XmlRpcApi, "Incorrect filter_flag"));
    }
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
