//! Pool objects: their common record (`Obj`) and type-specific data (`Ext`), the bootstrap
//! objects, authorization of a call on an object (`fetch`, from the object's owner, group
//! and permissions), and the handlers shared by every type (allocate, info, update, rename, chown,
//! chmod, lock, unlock, delete, clone, pool info with `pool_ids`' filters, ranges and
//! pages). Also the type-specific methods of users (groups, login tokens), groups, hosts
//! (and the dummy monitor), clusters, datastores, images, zones, VDCs, VM groups, hooks,
//! backup jobs and marketplaces, a new network's setup (`new_vnet`), and the methods outside
//! a typed prefix (default quotas, hook log, sql). The methods of VMs, networks' address
//! ranges and leases, and virtual routers are in `vm`.

use std::collections::{BTreeMap, BTreeSet};

use super::kinds::NameScope;
use super::{
    docs, fail, fail_id, parse_template, Caller, Handled, Kind, Oned, Params, ACTION, ALLOCATE,
    AUTHORIZATION, INTERNAL, NO_EXISTS, XML_RPC_API,
};
use crate::tmpl::{Attr, Tmpl};
use opennebula::wire::Value;
use opennebula::xml::{ToXml, XmlWriter};

/// A lock on an object.
#[derive(Debug, Clone)]
pub(crate) struct Lock {
    pub(crate) level: i32,
    pub(crate) owner: i32,
    pub(crate) time: i64,
    /// The id of the request that took the lock.
    pub(crate) req_id: i64,
}

/// The record every pool object has.
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub(crate) kind: Kind,
    pub(crate) id: i32,
    pub(crate) name: String,
    pub(crate) uid: i32,
    pub(crate) gid: i32,
    /// OWNER_U, OWNER_M, OWNER_A, GROUP_U ... OTHER_A.
    pub(crate) perms: [u8; 9],
    pub(crate) lock: Option<Lock>,
    pub(crate) regtime: i64,
    pub(crate) template: Tmpl,
    pub(crate) ext: Ext,
}

/// Type-specific data.
#[derive(Debug, Clone)]
pub(crate) enum Ext {
    None,
    User(UserData),
    Group(GroupData),
    Host(HostData),
    Cluster(ClusterData),
    Datastore(DatastoreData),
    Image(ImageData),
    Vm(Box<super::vm::VmData>),
    Vnet(VnetData),
    Document(i32),
    Market(i32),
    MarketApp(MarketAppData),
    Hook(String),
    Vdc(VdcData),
}

#[derive(Debug, Clone)]
pub(crate) struct UserData {
    pub(crate) password: String,
    pub(crate) driver: String,
    pub(crate) enabled: bool,
    pub(crate) groups: BTreeSet<i32>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct GroupData {
    pub(crate) users: BTreeSet<i32>,
    pub(crate) admins: BTreeSet<i32>,
}

#[derive(Debug, Clone)]
pub(crate) struct HostData {
    pub(crate) state: i32,
    pub(crate) prev_state: i32,
    pub(crate) im_mad: String,
    pub(crate) vm_mad: String,
    pub(crate) cluster_id: i32,
    pub(crate) vms: BTreeSet<i32>,
    pub(crate) total_cpu: i64,
    pub(crate) total_mem: i64,
    pub(crate) cpu_usage: i64,
    pub(crate) mem_usage: i64,
    pub(crate) settle_ticks: u8,
    /// Whether the information driver has reported on the host (disk, PCI devices, NUMA
    /// nodes and a monitoring sample exist from then on, even offline).
    pub(crate) probed: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ClusterData {
    pub(crate) hosts: BTreeSet<i32>,
    pub(crate) datastores: BTreeSet<i32>,
    pub(crate) vnets: BTreeSet<i32>,
}

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

#[derive(Debug, Clone)]
pub(crate) struct ImageData {
    pub(crate) image_type: i32,
    pub(crate) persistent: bool,
    pub(crate) state: i32,
    pub(crate) prev_state: i32,
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
    pub(crate) fn set_state(&mut self, state: i32) {
        self.state = state;
        self.prev_state = state;
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AddressRange {
    pub(crate) id: i32,
    pub(crate) ar_type: String,
    pub(crate) ip: Option<u32>,
    pub(crate) mac: u64,
    pub(crate) size: u32,
    pub(crate) extra: BTreeMap<String, String>,
    /// index → (vm id, or -1 for a hold / reservation)
    pub(crate) leases: BTreeMap<u32, i32>,
    /// Where oned's next free-address search starts (after the last allocation).
    pub(crate) next_index: u32,
    /// Whether oned has written the range's ALLOCATED map (on a lease, or when it updates
    /// the range): once written it stays, empty when nothing is leased.
    pub(crate) ever_allocated: bool,
}

impl AddressRange {
    /// Gives lease `index` to `owner` (see `leases`).
    pub(crate) fn lease(&mut self, index: u32, owner: i32) {
        self.leases.insert(index, owner);
        self.ever_allocated = true;
    }
}

#[derive(Debug, Clone)]
pub(crate) struct VnetData {
    /// 1 READY, 5 ERROR (an address range of the allocation template was rejected).
    pub(crate) state: i32,
    pub(crate) ars: Vec<AddressRange>,
    pub(crate) next_ar: i32,
    pub(crate) clusters: BTreeSet<i32>,
    pub(crate) parent: Option<i32>,
    pub(crate) vn_mad: String,
    pub(crate) bridge: String,
    /// The VMs with a NIC on the network (oned's UPDATED_VMS). oned adds a VM when a NIC
    /// takes a lease and drops it when any NIC of the VM releases one, even if another
    /// NIC of the VM still holds an address here.
    pub(crate) updated_vms: BTreeSet<i32>,
}

/// A marketplace appliance.
#[derive(Debug, Clone)]
pub(crate) struct MarketAppData {
    pub(crate) market: i32,
    pub(crate) origin: i32,
    /// 1 READY, 2 LOCKED (being exported), 3 ERROR, 4 DISABLED.
    pub(crate) state: i32,
    pub(crate) size: i64,
    pub(crate) format: String,
    pub(crate) settle_ticks: u8,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct VdcData {
    pub(crate) groups: BTreeSet<i32>,
    /// (kind, zone id, object id); cluster id -10 means "all".
    pub(crate) resources: BTreeSet<(Kind, i32, i32)>,
}

impl Obj {
    pub(crate) fn new(kind: Kind, id: i32, name: &str, uid: i32, gid: i32, now: i64) -> Obj {
        Obj {
            kind,
            id,
            name: name.to_string(),
            uid,
            gid,
            perms: [1, 1, 0, 0, 0, 0, 0, 0, 0],
            lock: None,
            regtime: now,
            template: Tmpl::default(),
            ext: Ext::None,
        }
    }
}

pub(crate) fn no_exists(kind: Kind, id: i32) -> super::Failure {
    fail_id(
        NO_EXISTS,
        format!("Error getting {} [{id}].", kind.display()),
        id,
    )
}

pub(crate) fn bootstrap(oned: &mut Oned, admin_password: &str) {
    let now = oned.now();
    // Groups oneadmin (0) and users (1).
    for (id, name) in [(0, "oneadmin"), (1, "users")] {
        let mut group = Obj::new(Kind::Group, id, name, 0, 0, now);
        group.ext = Ext::Group(GroupData::default());
        if id == 1 {
            group.template = Tmpl::parse(
                "SUNSTONE=[DEFAULT_VIEW=\"cloud\",GROUP_ADMIN_DEFAULT_VIEW=\"groupadmin\",\
                 GROUP_ADMIN_VIEWS=\"groupadmin,cloud\",VIEWS=\"cloud\"]",
            )
            .unwrap_or_default();
        }
        oned.insert(group);
    }
    // Users oneadmin (0) and serveradmin (1).
    for (id, name, password, driver) in [
        (0, "oneadmin", admin_password.to_string(), "core"),
        (
            1,
            "serveradmin",
            format!("serveradmin-{now}"),
            "server_cipher",
        ),
    ] {
        let mut user = Obj::new(Kind::User, id, name, id, 0, now);
        user.ext = Ext::User(UserData {
            password: super::sha256_hex(&password),
            driver: driver.into(),
            enabled: true,
            groups: BTreeSet::from([0]),
        });
        user.template.set(
            "TOKEN_PASSWORD",
            super::sha256_hex(&format!("token-{id}-{now}")),
        );
        oned.insert(user);
        group_data(oned, 0).users.insert(id);
    }
    // Cluster 0.
    let mut cluster = Obj::new(Kind::Cluster, 0, "default", 0, 0, now);
    cluster.template.set("RESERVED_CPU", "");
    cluster.template.set("RESERVED_MEM", "");
    cluster.ext = Ext::Cluster(ClusterData {
        datastores: BTreeSet::from([0, 1, 2]),
        ..ClusterData::default()
    });
    oned.insert(cluster);
    // Datastores system (0), default (1), files (2).
    for (id, name, ds_type, ds_mad, type_name) in [
        (0, "system", 1, "-", "SYSTEM_DS"),
        (1, "default", 0, "fs", "IMAGE_DS"),
        (2, "files", 2, "fs", "FILE_DS"),
    ] {
        let mut ds = Obj::new(Kind::Datastore, id, name, 0, 0, now);
        ds.perms = [1, 1, 0, 1, 0, 0, 0, 0, 0];
        ds.template.set("ALLOW_ORPHANS", "FORMAT");
        ds.template.set("PERSISTENT_SNAPSHOTS", "YES");
        ds.template.set("RESTRICTED_DIRS", "/");
        ds.template.set("SAFE_DIRS", "/var/tmp");
        ds.template.set("TM_MAD", "local");
        ds.template.set("TYPE", type_name);
        if id != 2 {
            ds.template.set("DISK_TYPE", "FILE");
        }
        if id == 0 {
            ds.template.set("DS_LIVE_MIGRATE", "YES");
            ds.template.set("DS_MIGRATE", "YES");
            ds.template.set("DS_MIGRATE_SNAP", "YES");
            ds.template.set("SHARED", "NO");
        } else {
            ds.template.set("CLONE_TARGET", "SYSTEM");
            ds.template.set("DS_MAD", "fs");
            ds.template.set("LN_TARGET", "SYSTEM");
        }
        ds.ext = Ext::Datastore(DatastoreData {
            ds_mad: ds_mad.into(),
            tm_mad: "local".into(),
            ds_type,
            state: 0,
            clusters: BTreeSet::from([0]),
            images: BTreeSet::new(),
        });
        oned.insert(ds);
    }
    // Zone 0.
    let mut zone = Obj::new(Kind::Zone, 0, "OpenNebula", 0, 0, now);
    zone.template.set("ENDPOINT", "http://localhost:2633/RPC2");
    zone.template.set("ENDPOINT_GRPC", "localhost:2634");
    oned.insert(zone);
    // VDC 0, with every cluster of zone 0.
    let mut vdc = Obj::new(Kind::Vdc, 0, "default", 0, 0, now);
    vdc.template.set(
        "DESCRIPTION",
        "Every new group is added to this VDC. Use it to store default access rules for \
         your groups. NOTE: You may need to remove a group from the default VDC before \
         assigning it to other VDC.",
    );
    vdc.ext = Ext::Vdc(VdcData {
        groups: BTreeSet::from([1]),
        resources: BTreeSet::from([(Kind::Cluster, 0, -10)]),
    });
    oned.insert(vdc);
    // Security group 0.
    let mut sg = Obj::new(Kind::SecGroup, 0, "default", 0, 0, now);
    sg.perms = [1, 1, 1, 1, 0, 0, 1, 0, 0];
    sg.template.set(
        "DESCRIPTION",
        "The default security group is added to every network. Use it to add default filter \
         rules for your networks. You may remove this security group from any network by \
         updating its properties.",
    );
    for rule_type in ["OUTBOUND", "INBOUND"] {
        sg.template.push(
            "RULE",
            Attr::Vector(BTreeMap::from([
                ("PROTOCOL".to_string(), "ALL".to_string()),
                ("RULE_TYPE".to_string(), rule_type.to_string()),
            ])),
        );
    }
    oned.insert(sg);
    // Marketplaces 0 and 1.
    for (id, name, mad, state, description) in [
        (
            0,
            "OpenNebula Public",
            "one",
            0,
            "OpenNebula Systems MarketPlace",
        ),
        (
            1,
            "Linux Containers",
            "linuxcontainers",
            1,
            "MarketPlace for the public image server fo LXC & LXD hosted at linuxcontainers.org",
        ),
    ] {
        let mut market = Obj::new(Kind::Market, id, name, 0, 0, now);
        market.perms = [1, 1, 1, 1, 0, 0, 1, 0, 0];
        market.template.set("DESCRIPTION", description);
        market.template.set("MARKET_MAD", mad);
        market.ext = Ext::Market(state);
        oned.insert(market);
    }
    super::acl::bootstrap(oned);
}

pub(crate) fn group_data(oned: &mut Oned, gid: i32) -> &mut GroupData {
    match oned.get_mut(Kind::Group, gid).map(|g| &mut g.ext) {
        Some(Ext::Group(data)) => data,
        _ => panic!("group {gid} has no group data"),
    }
}

pub(crate) fn create_user(
    oned: &mut Oned,
    name: &str,
    password: &str,
    driver: &str,
    groups: &[i32],
) -> Result<i32, super::Failure> {
    if name.is_empty() {
        return Err(fail(INTERNAL, "Invalid NAME, it cannot be empty"));
    }
    for c in [':', ' ', '\t', '\n'] {
        if name.contains(c) {
            return Err(fail(
                INTERNAL,
                format!("Invalid NAME, char '{c}' is not allowed."),
            ));
        }
    }
    if let Some(other) = oned.pool(Kind::User).values().find(|u| u.name == name) {
        return Err(fail(
            INTERNAL,
            format!("NAME is already taken by USER {}.", other.id),
        ));
    }
    for gid in groups {
        if oned.get(Kind::Group, *gid).is_none() {
            return Err(fail_id(
                NO_EXISTS,
                format!("Error getting group [{gid}]."),
                *gid,
            ));
        }
    }
    if password.is_empty() && driver == "core" {
        return Err(fail(INTERNAL, "Invalid password, it cannot be empty"));
    }
    let gid = groups.first().copied().unwrap_or(1);
    let now = oned.now();
    let id = oned.take_id(Kind::User);
    let mut user = Obj::new(Kind::User, id, name, id, gid, now);
    let driver = if driver.is_empty() { "core" } else { driver };
    user.ext = Ext::User(UserData {
        password: super::sha256_hex(password),
        driver: driver.into(),
        enabled: true,
        groups: if groups.is_empty() {
            BTreeSet::from([1])
        } else {
            groups.iter().copied().collect()
        },
    });
    user.template.set(
        "TOKEN_PASSWORD",
        super::sha256_hex(&format!("token-{id}-{now}")),
    );
    let member_of: Vec<i32> = match &user.ext {
        Ext::User(d) => d.groups.iter().copied().collect(),
        _ => vec![],
    };
    oned.insert(user);
    for g in member_of {
        group_data(oned, g).users.insert(id);
    }
    Ok(id)
}

// ---------------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------------

/// The operation a call needs on an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Use,
    Manage,
    Admin,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Use => "USE",
            Op::Manage => "MANAGE",
            Op::Admin => "ADMIN",
        }
    }
    fn index(self) -> usize {
        match self {
            Op::Use => 0,
            Op::Manage => 1,
            Op::Admin => 2,
        }
    }
}

/// Checks `op` on an object: administrators may do anything; others by the permission bits
/// (owner, group, other), as oned's default ACLs leave it.
pub(crate) fn authorize(
    oned: &Oned,
    caller: Caller,
    obj: &Obj,
    op: Op,
) -> Result<(), super::Failure> {
    if oned.is_admin(caller.uid) {
        return Ok(());
    }
    let allowed = match obj.kind {
        Kind::User => {
            obj.id == caller.uid && op != Op::Admin
                || (op == Op::Use && obj.kind == Kind::User && obj.id == caller.uid)
        }
        Kind::Group => op == Op::Use && oned.user_groups(caller.uid).contains(&obj.id),
        k if !k.owned() => op == Op::Use,
        _ => {
            let groups = oned.user_groups(caller.uid);
            let i = op.index();
            (obj.uid == caller.uid && obj.perms[i] == 1)
                || (groups.contains(&obj.gid) && obj.perms[3 + i] == 1)
                || obj.perms[6 + i] == 1
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(fail(
            AUTHORIZATION,
            format!(
                "User [{}] : Not authorized to perform {} {} [{}].",
                caller.uid,
                op.name(),
                obj.kind.auth_name(),
                obj.id
            ),
        ))
    }
}

/// Refuses a locked object for an operation at `level` or above (1 use, 2 manage, 3 admin;
/// lock level 4 "all" blocks everything).
fn check_lock(obj: &Obj, caller: Caller, level: i32) -> Result<(), super::Failure> {
    if let Some(lock) = &obj.lock {
        if level >= lock.level || lock.level == 4 && level > 0 {
            return Err(fail(
                AUTHORIZATION,
                format!(
                    "User [{}] : {} is locked. [{}].",
                    caller.uid,
                    obj.kind.auth_name(),
                    obj.id
                ),
            ));
        }
    }
    Ok(())
}

/// Fetches an object, checks the operation and the lock.
pub(crate) fn fetch(
    oned: &Oned,
    caller: Caller,
    kind: Kind,
    id: i32,
    op: Op,
    lock_level: i32,
) -> Result<&Obj, super::Failure> {
    let obj = oned.get(kind, id).ok_or_else(|| no_exists(kind, id))?;
    authorize(oned, caller, obj, op)?;
    check_lock(obj, caller, lock_level)?;
    Ok(obj)
}

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

pub(crate) fn handle(
    oned: &mut Oned,
    caller: Caller,
    kind: Kind,
    action: &str,
    p: &Params<'_>,
) -> Option<Handled> {
    let result = match action {
        "info" => info(oned, caller, kind, p),
        "allocate" => allocate(oned, caller, kind, p),
        "update" => update(oned, caller, kind, p),
        "rename" => rename(oned, caller, kind, p),
        "chown" if kind.owned() => chown(oned, caller, kind, p),
        "chmod" if kind.owned() => chmod(oned, caller, kind, p),
        "lock" if kind.lockable() => lock(oned, caller, kind, p),
        "unlock" if kind.lockable() => unlock(oned, caller, kind, p),
        "delete" => delete(oned, caller, kind, p),
        "clone" => clone(oned, caller, kind, p),
        _ => return specific(oned, caller, kind, action, p),
    };
    Some(result)
}

fn info(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
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
) -> Result<String, super::Failure> {
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
        for disk in super::vm::expand_disks(oned, disks, has_context, false)? {
            extended.template.push("DISK", Attr::Vector(disk));
        }
        docs::write_document(oned, &extended, true, &mut writer);
    } else {
        docs::write_document(oned, obj, true, &mut writer);
    }
    Ok(writer.into_string())
}

fn allocate(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    if kind.admin_create() && !oned.is_admin(caller.uid) {
        let mut message = format!(
            "User [{}] : Not authorized to perform CREATE {}",
            caller.uid,
            kind.auth_name()
        );
        if matches!(kind, Kind::Host | Kind::Datastore | Kind::Vnet) {
            message.push_str("; Not authorized to perform ADMIN CLUSTER [0]");
        }
        message.push('.');
        return Err(fail(AUTHORIZATION, message));
    }
    match kind {
        Kind::User => {
            let groups: Vec<i32> = match p.0.get(3) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_i64())
                    .map(|v| v as i32)
                    .collect(),
                _ => vec![],
            };
            let driver = p.str(2);
            create_user(oned, p.str(0), p.str(1), driver, &groups).map(Value::Int)
        }
        Kind::Group | Kind::Cluster => {
            let name = p.str(0);
            allocate_named(oned, caller, kind, name, Tmpl::default())
        }
        Kind::Host => allocate_host(oned, caller, p),
        Kind::Vm => unreachable!("vm.allocate is handled in vm.rs"),
        _ => {
            let mut template = parse_template(p.str(0))?;
            let name = template.get("NAME").unwrap_or("").to_string();
            template.remove("NAME");
            if kind == Kind::Image {
                return allocate_image(oned, caller, template, name, p.int(1));
            }
            if kind == Kind::Document {
                let id = allocate_named(oned, caller, kind, &name, template)?;
                if let Some(obj) = oned.get_mut(kind, id_of(&id)) {
                    obj.ext = Ext::Document(p.int(1));
                }
                return Ok(id);
            }
            allocate_from_template(oned, caller, kind, name, template, p)
        }
    }
}

fn id_of(value: &Value) -> i32 {
    match value {
        Value::Int(i) => *i,
        _ => -1,
    }
}

/// Checks the name of a new object of `kind` owned by `uid`.
pub(crate) fn check_name(
    oned: &Oned,
    kind: Kind,
    name: &str,
    uid: i32,
    code: i32,
    prefix: &str,
) -> Result<(), super::Failure> {
    if name.is_empty() && kind != Kind::Vm {
        return Err(fail(
            code,
            format!("{prefix}Invalid NAME, it cannot be empty"),
        ));
    }
    let clash = match kind.name_scope() {
        NameScope::None => None,
        NameScope::Global => oned.pool(kind).values().find(|o| o.name == name),
        NameScope::Owner => oned
            .pool(kind)
            .values()
            .find(|o| o.name == name && o.uid == uid),
    };
    if let Some(other) = clash {
        return Err(fail(
            code,
            format!(
                "{prefix}NAME is already taken by {} {}.",
                kind.clash_name(),
                other.id
            ),
        ));
    }
    Ok(())
}

fn allocate_named(
    oned: &mut Oned,
    caller: Caller,
    kind: Kind,
    name: &str,
    template: Tmpl,
) -> Handled {
    let (code, prefix) = if kind == Kind::Cluster {
        (ALLOCATE, "Error allocating a new cluster. ")
    } else {
        (INTERNAL, "")
    };
    check_name(oned, kind, name, caller.uid, code, prefix)?;
    let now = oned.now();
    let id = oned.take_id(kind);
    let mut obj = Obj::new(kind, id, name, caller.uid, caller.gid, now);
    obj.template = template;
    match kind {
        Kind::Group => {
            obj.ext = Ext::Group(GroupData::default());
        }
        Kind::Cluster => {
            obj.template.set_default("RESERVED_CPU", "");
            obj.template.set_default("RESERVED_MEM", "");
            obj.ext = Ext::Cluster(ClusterData::default());
        }
        _ => {}
    }
    oned.insert(obj);
    if kind == Kind::Group {
        super::acl::group_created(oned, id);
        if let Some(Ext::Vdc(vdc)) = oned.get_mut(Kind::Vdc, 0).map(|v| &mut v.ext) {
            vdc.groups.insert(id);
        }
    }
    Ok(Value::Int(id))
}

fn allocate_host(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, im_mad, vm_mad, cluster) = (p.str(0), p.str(1), p.str(2), p.int(3));
    let cluster = if cluster < 0 { 0 } else { cluster };
    if oned.get(Kind::Cluster, cluster).is_none() {
        return Err(no_exists(Kind::Cluster, cluster));
    }
    let prefix = "Error allocating a new host. ";
    check_name(oned, Kind::Host, name, caller.uid, ALLOCATE, prefix)?;
    if im_mad.is_empty() {
        return Err(fail(
            ALLOCATE,
            format!("{prefix}IM_MAD_NAME cannot be empty."),
        ));
    }
    if vm_mad.is_empty() {
        return Err(fail(
            ALLOCATE,
            format!("{prefix}VMM_MAD_NAME cannot be empty."),
        ));
    }
    let now = oned.now();
    let id = oned.take_id(Kind::Host);
    let mut host = Obj::new(Kind::Host, id, name, 0, 0, now);
    host.template.set("IM_MAD", im_mad);
    host.template.set("VM_MAD", vm_mad);
    host.template.set("RESERVED_CPU", "");
    host.template.set("RESERVED_MEM", "");
    host.ext = Ext::Host(HostData {
        state: 0,
        prev_state: 0,
        im_mad: im_mad.into(),
        vm_mad: vm_mad.into(),
        cluster_id: cluster,
        vms: BTreeSet::new(),
        total_cpu: 0,
        total_mem: 0,
        cpu_usage: 0,
        mem_usage: 0,
        settle_ticks: 2,
        probed: false,
    });
    oned.insert(host);
    if let Some(Ext::Cluster(c)) = oned.get_mut(Kind::Cluster, cluster).map(|c| &mut c.ext) {
        c.hosts.insert(id);
    }
    Ok(Value::Int(id))
}

/// Hosts in INIT are monitored by the dummy IM driver (800 CPU and 16 GiB) and images being
/// copied become READY, one call after they were created (`force`: at once).
pub(crate) fn monitor_hosts(oned: &mut Oned, force: bool) {
    let now = oned.now();
    for app in oned.pool_mut(Kind::MarketApp).values_mut() {
        if let Ext::MarketApp(data) = &mut app.ext {
            if data.state == 2 {
                if data.settle_ticks > 1 && !force {
                    data.settle_ticks -= 1;
                    continue;
                }
                data.state = 1;
            }
        }
    }
    for image in oned.pool_mut(Kind::Image).values_mut() {
        if let Ext::Image(data) = &mut image.ext {
            if data.state == 4 {
                if data.settle_ticks > 1 && !force {
                    data.settle_ticks -= 1;
                    continue;
                }
                data.state = if data.path.starts_with("/etc/") { 5 } else { 1 };
                data.prev_state = data.state;
                if data.state == 5 {
                    image.template.set(
                        "ERROR",
                        format!(
                            "{} : Error copying image in the datastore: Not allowed to copy \
                             image from {}, check RESTRICTED_DIRS in your datastore",
                            super::ctime(now),
                            data.path
                        ),
                    );
                }
                if data.state == 1 && data.source.is_empty() {
                    data.source = format!(
                        "/var/lib/one//datastores/{}/{}",
                        data.datastore_id,
                        &super::sha256_hex(&format!("{}{}{}", image.id, image.name, image.regtime))
                            [..32]
                    );
                }
                if data.format.is_empty() && data.state == 1 {
                    data.format = "raw".into();
                }
            }
        }
    }
    let mut monitored = Vec::new();
    for host in oned.pool_mut(Kind::Host).values_mut() {
        if let Ext::Host(data) = &mut host.ext {
            if data.state == 0 {
                if data.settle_ticks > 1 && !force {
                    data.settle_ticks -= 1;
                    continue;
                }
                data.state = 2;
                data.prev_state = 2;
                data.total_cpu = 800;
                data.total_mem = 16 * 1024 * 1024;
                if !data.probed && data.im_mad == "dummy" {
                    // The first report of the dummy information driver describes the
                    // host's fake hardware (other drivers are not run by the test server).
                    data.probed = true;
                    host.template.set("HOSTNAME", host.name.clone());
                    for (name, value) in super::docs::dummy_host::TEMPLATE {
                        host.template.set(name, value);
                    }
                }
                monitored.push(host.id);
            }
        }
    }
    for id in monitored {
        super::hooks::host_state(oned, id, 2);
    }
}

fn allocate_image(
    oned: &mut Oned,
    caller: Caller,
    mut template: Tmpl,
    name: String,
    ds_id: i32,
) -> Handled {
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
            ALLOCATE,
            format!("{prefix}New images can only be allocated in a files or image datastore."),
        ));
    }
    check_name(oned, Kind::Image, &name, caller.uid, ALLOCATE, prefix)?;
    let path = template.get("PATH").unwrap_or("").to_string();
    let size = match (template.get("SIZE"), path.is_empty()) {
        (Some(size), _) => size.parse::<i64>().ok(),
        (None, false) => Some(1),
        (None, true) => None,
    };
    let Some(size) = size else {
        return Err(fail(
            INTERNAL,
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
        state: 4,
        prev_state: 0,
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

fn allocate_from_template(
    oned: &mut Oned,
    caller: Caller,
    kind: Kind,
    name: String,
    mut template: Tmpl,
    p: &Params<'_>,
) -> Handled {
    let (code, prefix) = match kind {
        Kind::Market => (ALLOCATE, "Error allocating a new marketplace. "),
        Kind::Zone => (ALLOCATE, "Error allocating a new zone. "),
        _ => (INTERNAL, ""),
    };
    if kind == Kind::Zone {
        return Err(fail(
            code,
            format!("{prefix}New zones can only be created at federation master"),
        ));
    }
    check_name(oned, kind, &name, caller.uid, code, prefix)?;
    let mut ext = Ext::None;
    match kind {
        Kind::Datastore => {
            let cluster = p.int_or(1, -1);
            if cluster >= 0 && oned.get(Kind::Cluster, cluster).is_none() {
                return Err(no_exists(Kind::Cluster, cluster));
            }
            let Some(ds_mad) = template.get("DS_MAD").map(str::to_string) else {
                return Err(fail(INTERNAL, "No DS_MAD in template."));
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
            ext = Ext::Datastore(DatastoreData {
                ds_mad,
                tm_mad,
                ds_type,
                state: 0,
                clusters: BTreeSet::from([if cluster >= 0 { cluster } else { 0 }]),
                images: BTreeSet::new(),
            });
        }
        Kind::Vnet => {
            ext = Ext::Vnet(new_vnet(oned, &mut template)?);
        }
        Kind::Hook => {
            let hook_type = template.get("TYPE").unwrap_or("").to_string();
            if hook_type == "api" {
                let call = template.get("CALL").unwrap_or("");
                if !crate::signatures::SIGNATURES
                    .iter()
                    .any(|(m, _)| *m == call)
                    || call.ends_with(".info")
                {
                    return Err(fail(
                        INTERNAL,
                        format!("API call does not exist or is not supported: {call}"),
                    ));
                }
            } else if hook_type == "state" {
                if let Some(on) = template.get("ON") {
                    if !matches!(
                        on,
                        "CREATE"
                            | "RUNNING"
                            | "SHUTDOWN"
                            | "STOP"
                            | "DONE"
                            | "UNKNOWN"
                            | "CUSTOM"
                            | "ERROR"
                            | "DISABLED"
                            | "MONITORED"
                            | "OFFLINE"
                            | "POWEROFF"
                            | "SUSPENDED"
                            | "UPDATE"
                    ) {
                        return Err(fail(INTERNAL, format!("Unkown state condition: {on}")));
                    }
                }
            }
            template.remove("TYPE");
            template.set_default("REMOTE", "NO");
            // oned stores a VM state hook's ON as the STATE / LCM_STATE pair.
            if template.get("RESOURCE") == Some("VM") {
                let pair = match template.get("ON") {
                    Some("RUNNING") => Some(("ACTIVE", "RUNNING")),
                    Some("DONE") => Some(("DONE", "LCM_INIT")),
                    Some("POWEROFF") => Some(("POWEROFF", "LCM_INIT")),
                    Some("STOP") => Some(("STOPPED", "LCM_INIT")),
                    Some("CREATE") => Some(("PENDING", "LCM_INIT")),
                    _ => None,
                };
                if let Some((state, lcm)) = pair {
                    template.remove("ON");
                    template.set("STATE", state);
                    template.set("LCM_STATE", lcm);
                }
            }
            ext = Ext::Hook(hook_type);
        }
        Kind::SecGroup => {
            for rule in template.vectors("RULE") {
                if let Some(protocol) = rule.get("PROTOCOL") {
                    if !matches!(
                        protocol.to_ascii_uppercase().as_str(),
                        "TCP" | "UDP" | "ICMP" | "ICMPV6" | "IPSEC" | "ALL"
                    ) {
                        return Err(fail(
                            INTERNAL,
                            "Wrong PROTOCOL in rule. Valid options: TCP, UDP, ICMP, ICMPV6, IPSEC, ALL.",
                        ));
                    }
                }
            }
        }
        Kind::VmGroup => {
            let mut seen = BTreeSet::new();
            for role in template.vectors("ROLE") {
                let role_name = role.get("NAME").cloned().unwrap_or_default();
                if !seen.insert(role_name) {
                    return Err(fail(INTERNAL, "Role already exists"));
                }
            }
            for (index, role) in template.vectors_mut("ROLE").into_iter().enumerate() {
                role.insert("ID".into(), index.to_string());
            }
        }
        Kind::MarketApp => {
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
            ext = Ext::MarketApp(MarketAppData {
                market,
                origin,
                state: 2,
                size,
                format,
                settle_ticks: 2,
            });
        }
        Kind::Market => {
            let mad = template.get("MARKET_MAD").unwrap_or("");
            if mad == "http" && template.get("BASE_URL").is_none() {
                return Err(fail(
                    ALLOCATE,
                    format!("{prefix}MarketPlace template is missing the \"BASE_URL\" attribute or it's empty."),
                ));
            }
            ext = Ext::Market(0);
        }
        Kind::Template => {
            if let Some(memory) = template.get("MEMORY") {
                let _ = memory;
            }
        }
        Kind::Vdc => ext = Ext::Vdc(VdcData::default()),
        Kind::VRouter => {
            for (index, nic) in template.vectors_mut("NIC").into_iter().enumerate() {
                if let Some(net) = nic.get("NETWORK_ID").cloned() {
                    let net_id = net.parse::<i32>().unwrap_or(-1);
                    let Some(vnet) = oned.get(Kind::Vnet, net_id) else {
                        return Err(fail(
                            INTERNAL,
                            format!("Virtual network with ID: {net} does not exist"),
                        ));
                    };
                    nic.insert("NETWORK".into(), vnet.name.clone());
                }
                nic.insert("NIC_ID".into(), index.to_string());
            }
        }
        _ => {}
    }
    let now = oned.now();
    let id = oned.take_id(kind);
    let mut obj = Obj::new(kind, id, &name, caller.uid, caller.gid, now);
    if matches!(kind, Kind::Datastore) {
        obj.perms = [1, 1, 0, 1, 0, 0, 0, 0, 0];
    }
    obj.template = template;
    obj.ext = ext;
    if kind == Kind::BackupJob {
        backupjob_defaults(&mut obj.template);
    }
    oned.insert(obj);
    if kind == Kind::Datastore {
        if let Some(Ext::Cluster(c)) = oned
            .get_mut(Kind::Cluster, p.int_or(1, -1).max(0))
            .map(|c| &mut c.ext)
        {
            c.datastores.insert(id);
        }
    }
    Ok(Value::Int(id))
}

fn update(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
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
                    INTERNAL,
                    "Cannot update template. No VN_MAD in template for Virtual Network.",
                ))
            }
            Kind::Hook
                if (obj.template.has("STATE") || obj.template.has("ON"))
                    && !new.has("STATE")
                    && !new.has("ON") =>
            {
                return Err(fail(
                    INTERNAL,
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
        backupjob_defaults(&mut obj.template);
    }
    if let Ext::Datastore(ds) = &mut obj.ext {
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
    Ok(Value::Int(id))
}

fn rename(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let (id, name) = (p.int(0), p.str(1));
    let obj = fetch(oned, caller, kind, id, Op::Manage, 2)?;
    if name.is_empty() {
        return Err(fail(ACTION, "Invalid NAME, it cannot be empty"));
    }
    let uid = obj.uid;
    if kind.name_scope() != NameScope::None {
        let clash = oned.pool(kind).values().find(|o| {
            o.id != id && o.name == name && (kind.name_scope() == NameScope::Global || o.uid == uid)
        });
        if let Some(other) = clash {
            let word = kind.display();
            return Err(fail(
                ACTION,
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

fn chown(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
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

fn chmod(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
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

/// A new virtual network from its allocation template (`one.vn.allocate`, or a VN template's
/// instantiation): takes the template's ARs and sets oned's defaults in it. An AR oned
/// rejects leaves the network in ERROR with the reason in the template's ERROR, and the
/// following ARs are not read.
pub(crate) fn new_vnet(oned: &Oned, template: &mut Tmpl) -> Result<VnetData, super::Failure> {
    let Some(vn_mad) = template.get("VN_MAD").map(str::to_string) else {
        return Err(fail(INTERNAL, "No VN_MAD in template for Virtual Network."));
    };
    let bridge = match template.get("BRIDGE") {
        Some(bridge) => bridge.to_string(),
        None => format!(
            "onebr{}",
            oned.next_ids.get(&Kind::Vnet).copied().unwrap_or(0)
        ),
    };
    let mut data = VnetData {
        state: 1,
        ars: Vec::new(),
        next_ar: 0,
        clusters: BTreeSet::from([0]),
        parent: None,
        bridge,
        vn_mad,
        updated_vms: BTreeSet::new(),
    };
    for ar in template.remove("AR") {
        if let Attr::Vector(ar) = ar {
            if let Err(reason) = super::vm::add_address_range(&mut data, &ar) {
                data.state = 5;
                data.ars.clear();
                data.next_ar = 0;
                template.set("ERROR", format!("{} : {reason}", super::ctime(oned.now())));
                break;
            }
        }
    }
    template.set_default("SECURITY_GROUPS", "0");
    template.set_default("BRIDGE", data.bridge.clone());
    template.set_default("BRIDGE_TYPE", "linux");
    template.set_default("VLAN_ID", "");
    template.set_default("OUTER_VLAN_ID", "");
    template.set_default("PHYDEV", "");
    Ok(data)
}

fn lock(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let (id, level, test) = (p.int(0), p.int(1), p.bool_or(2, false));
    let obj = fetch(oned, caller, kind, id, Op::Manage, 0)?;
    if let Some(existing) = &obj.lock {
        if test {
            return Err(fail(ACTION, existing.time.to_string()));
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

fn unlock(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, kind, id, Op::Manage, 0)?;
    oned.get_mut(kind, id).expect("fetched").lock = None;
    Ok(Value::Int(id))
}

fn delete(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    let obj = fetch(oned, caller, kind, id, Op::Manage, 2)?;
    let cannot = |m: &str| {
        Err(fail(
            ACTION,
            format!("Cannot delete {}. {m}", kind.display()),
        ))
    };
    match &obj.ext {
        Ext::Host(h) if !h.vms.is_empty() => {
            return cannot("Can not remove a host with running VMs")
        }
        Ext::Cluster(_) if id < 100 => {
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
                ACTION,
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
        super::vm::vrouter_deleted(oned, caller, id);
    }
    if kind == Kind::SecGroup && id == 0 {
        return Err(fail(
            ACTION,
            "Cannot delete security group. The default security group (ID 0) cannot be deleted.",
        ));
    }
    let obj = oned.pool_mut(kind).remove(&id).expect("fetched");
    match obj.ext {
        Ext::User(user) => {
            for g in user.groups {
                group_data(oned, g).users.remove(&id);
                group_data(oned, g).admins.remove(&id);
            }
        }
        Ext::Host(host) => {
            if let Some(Ext::Cluster(c)) = oned
                .get_mut(Kind::Cluster, host.cluster_id)
                .map(|c| &mut c.ext)
            {
                c.hosts.remove(&id);
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
        Ext::Datastore(ds) => {
            for c in ds.clusters {
                if let Some(Ext::Cluster(c)) = oned.get_mut(Kind::Cluster, c).map(|c| &mut c.ext) {
                    c.datastores.remove(&id);
                }
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
                super::vm::release_reservation(oned, parent, id);
            }
        }
        _ => {}
    }
    Ok(Value::Int(id))
}

fn clone(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    let (id, name) = (p.int(0), p.str(1));
    let source = fetch(oned, caller, kind, id, Op::Use, 1)?.clone();
    let (code, prefix) = if kind == Kind::Image {
        (ALLOCATE, "Error allocating a new image. ")
    } else {
        (INTERNAL, "")
    };
    check_name(oned, kind, name, caller.uid, code, prefix)?;
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
        image.state = 4;
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

// ---------------------------------------------------------------------------------------
// Pools
// ---------------------------------------------------------------------------------------

pub(crate) fn handle_pool(
    oned: &mut Oned,
    caller: Caller,
    kind: Kind,
    action: &str,
    p: &Params<'_>,
) -> Option<Handled> {
    if kind == Kind::Vm {
        return Some(super::vm::vm_pool(oned, caller, action, p));
    }
    if kind == Kind::Host && action == "monitoring" {
        let ids: Vec<i32> = oned.pool(Kind::Host).keys().copied().collect();
        return Some(Ok(Value::from(docs::host_monitoring(oned, &ids))));
    }
    if action != "info" {
        return None;
    }
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
    if kind == Kind::Document {
        let doc_type = p.int_or(3, 100);
        let ids = pool_ids(
            oned,
            caller,
            kind,
            filter,
            start,
            end,
            |o| matches!(o.ext, Ext::Document(t) if t == doc_type),
        );
        return Some(Ok(Value::from(docs::pool(oned, kind, &ids))));
    }
    let ids = pool_ids(oned, caller, kind, filter, start, end, |_| true);
    Some(Ok(Value::from(docs::pool(oned, kind, &ids))))
}

/// The ids a pool call returns, by descending id.
pub(crate) fn pool_ids(
    oned: &Oned,
    caller: Caller,
    kind: Kind,
    filter: i32,
    start: i32,
    end: i32,
    extra: impl Fn(&Obj) -> bool,
) -> Vec<i32> {
    let admin = oned.is_admin(caller.uid);
    let groups = oned.user_groups(caller.uid);
    let visible = |o: &Obj| -> bool {
        if !kind.owned() {
            return match kind {
                Kind::User => admin || o.id == caller.uid || groups.contains(&o.gid),
                Kind::Group => admin || groups.contains(&o.id),
                _ => true,
            };
        }
        let usable = admin
            || o.uid == caller.uid
            || (groups.contains(&o.gid) && o.perms[3] == 1)
            || o.perms[6] == 1
            || super::acl::grants(oned, caller, &groups, kind, o, 1);
        match filter {
            -4 => o.gid == caller.gid && usable,
            -3 => o.uid == caller.uid,
            -2 => usable,
            -1 => usable && (o.uid == caller.uid || groups.contains(&o.gid)),
            uid => o.uid == uid && usable,
        }
    };
    // oned's pagination (PoolSQL::dump): an end below -1 means "start is an offset and
    // -end the page size" over the listing order, with no id range.
    let page = (end < -1).then(|| (start.max(0) as usize, end.unsigned_abs() as usize));
    let in_range = |id: i32| -> bool {
        if page.is_some() || (start < 0 && end < 0) {
            return true;
        }
        let lo = if start < 0 { 0 } else { start };
        if end < 0 {
            id >= lo
        } else {
            id >= lo && id <= end
        }
    };
    let ids = oned
        .pool(kind)
        .values()
        .rev()
        .filter(|o| in_range(o.id) && visible(o) && extra(o))
        .map(|o| o.id);
    match page {
        Some((offset, size)) => ids.skip(offset).take(size).collect(),
        None => ids.collect(),
    }
}

// ---------------------------------------------------------------------------------------
// Type-specific methods
// ---------------------------------------------------------------------------------------

fn specific(
    oned: &mut Oned,
    caller: Caller,
    kind: Kind,
    action: &str,
    p: &Params<'_>,
) -> Option<Handled> {
    let id = p.int(0);
    let admin_only = |oned: &Oned| -> Result<(), super::Failure> {
        if oned.is_admin(caller.uid) {
            Ok(())
        } else {
            Err(fail(
                AUTHORIZATION,
                format!(
                    "User [{}] : Not authorized to perform ADMIN {} [{id}].",
                    caller.uid,
                    kind.auth_name()
                ),
            ))
        }
    };
    let result = match (kind, action) {
        (Kind::User, "passwd") => (|| {
            let obj = oned
                .get(Kind::User, id)
                .ok_or_else(|| no_exists(Kind::User, id))?;
            if id != caller.uid && !oned.is_admin(caller.uid) {
                return Err(fail(
                    AUTHORIZATION,
                    format!(
                        "User [{}] : Not authorized to perform MANAGE USER [{id}].",
                        caller.uid
                    ),
                ));
            }
            let _ = obj;
            let password = p.str(1);
            if password.is_empty() {
                return Err(fail(ACTION, "Invalid password, it cannot be empty"));
            }
            if let Some(Ext::User(u)) = oned.get_mut(Kind::User, id).map(|u| &mut u.ext) {
                u.password = super::sha256_hex(password);
            }
            Ok(Value::Int(id))
        })(),
        (Kind::User, "chauth") => (|| {
            admin_only(oned)?;
            let (driver, password) = (p.str(1), p.str(2));
            match oned.get_mut(Kind::User, id).map(|u| &mut u.ext) {
                Some(Ext::User(u)) => {
                    if !driver.is_empty() {
                        u.driver = driver.to_string();
                    }
                    if !password.is_empty() {
                        u.password = super::sha256_hex(password);
                    }
                    Ok(Value::Int(id))
                }
                _ => Err(no_exists(Kind::User, id)),
            }
        })(),
        (Kind::User, "enable") => (|| {
            admin_only(oned)?;
            match oned.get_mut(Kind::User, id).map(|u| &mut u.ext) {
                Some(Ext::User(u)) => {
                    u.enabled = p.bool_or(1, true);
                    Ok(Value::Int(id))
                }
                _ => Err(no_exists(Kind::User, id)),
            }
        })(),
        (Kind::User, "chgrp") => user_chgrp(oned, caller, id, p.int(1)),
        (Kind::User, "addgroup") => user_group_edit(oned, caller, id, p.int(1), true),
        (Kind::User, "delgroup") => user_group_edit(oned, caller, id, p.int(1), false),
        (Kind::User, "login") => user_login(oned, caller, p),
        (Kind::User | Kind::Group, "quota") => (|| {
            admin_only(oned)?;
            oned.get(kind, id).ok_or_else(|| no_exists(kind, id))?;
            let update = parse_template(p.str(1))?;
            let current = oned.quotas.entry((kind, id)).or_default();
            Oned::merge_quotas(current, &update);
            Ok(Value::Int(id))
        })(),
        (Kind::Group, "addadmin") | (Kind::Group, "deladmin") => {
            (|| {
                admin_only(oned)?;
                let uid = p.int(1);
                oned.get(Kind::Group, id)
                    .ok_or_else(|| no_exists(Kind::Group, id))?;
                oned.get(Kind::User, uid)
                    .ok_or_else(|| no_exists(Kind::User, uid))?;
                let data = group_data(oned, id);
                if action == "addadmin" {
                    if !data.users.contains(&uid) {
                        return Err(fail(
                            INTERNAL,
                            format!("Cannot edit group. User {uid} is not part of Group {id}."),
                        ));
                    }
                    if data.admins.insert(uid) {
                        super::acl::group_admin_added(oned, id, uid);
                    }
                } else {
                    if !data.admins.remove(&uid) {
                        return Err(fail(
                        INTERNAL,
                        format!("Cannot edit group. User {uid} is not an administrator of Group {id}."),
                    ));
                    }
                    super::acl::group_admin_removed(oned, id, uid);
                }
                Ok(Value::Int(id))
            })()
        }
        (Kind::Group, "vlan") => Ok(Value::Int(id)),
        (Kind::Host, "status") => (|| {
            admin_only(oned)?;
            let status = p.int(1);
            let host = oned
                .get_mut(Kind::Host, id)
                .ok_or_else(|| no_exists(Kind::Host, id))?;
            let Ext::Host(h) = &mut host.ext else {
                unreachable!()
            };
            let new_state = match status {
                0 if h.total_cpu == 0 => 0,
                0 => 2,
                1 => 4,
                2 => 8,
                _ => return Err(fail(INTERNAL, "Wrong status code")),
            };
            let was_offline = h.state == 8;
            h.state = if status == 0 && was_offline {
                0
            } else {
                new_state
            };
            h.prev_state = h.state;
            if status == 2 {
                // Offline drops the monitoring data.
                h.total_cpu = 0;
                h.total_mem = 0;
            }
            if h.state == 0 {
                // Back from offline the host waits for the next monitoring cycle (minutes
                // in oned), not for the next call.
                h.settle_ticks = u8::MAX;
            }
            let state = h.state;
            super::hooks::host_state(oned, id, state);
            Ok(Value::Int(id))
        })(),
        (Kind::Host, "monitoring") => (|| {
            oned.get(Kind::Host, id)
                .ok_or_else(|| no_exists(Kind::Host, id))?;
            Ok(Value::from(docs::host_monitoring(oned, &[id])))
        })(),
        (Kind::Cluster, a) if a.starts_with("add") || a.starts_with("del") => {
            cluster_edit(oned, caller, id, a, p.int(1))
        }
        (Kind::Cluster, "optimize") => (|| {
            oned.get(Kind::Cluster, id)
                .ok_or_else(|| no_exists(Kind::Cluster, id))?;
            Ok(Value::Int(id))
        })(),
        (Kind::Cluster, "plandelete") => Err(fail(
            ACTION,
            format!("Plan for cluster {id} does not exist"),
        )),
        (Kind::Cluster, "planexecute") => Err(fail(ACTION, "Plan is not ready")),
        (Kind::Datastore, "enable") => (|| {
            let ds = fetch(oned, caller, kind, id, Op::Manage, 2)?;
            let Ext::Datastore(d) = &ds.ext else {
                unreachable!()
            };
            if d.ds_type != 1 {
                return Err(fail(INTERNAL, "Only SYSTEM_DS can be disabled or enabled"));
            }
            if let Some(Ext::Datastore(d)) = oned.get_mut(kind, id).map(|d| &mut d.ext) {
                d.state = if p.bool_or(1, true) { 0 } else { 1 };
            }
            Ok(Value::Int(id))
        })(),
        (Kind::Image, _) => return image_specific(oned, caller, action, p),
        (Kind::Vnet, _) => return super::vm::vnet_specific(oned, caller, action, p),
        (Kind::Template, "instantiate") => super::vm::instantiate(oned, caller, p),
        (Kind::VnTemplate, "instantiate") => super::vm::vntemplate_instantiate(oned, caller, p),
        (Kind::Zone, "raftstatus") => Ok(Value::from(super::docs::raft_status())),
        (Kind::Zone, "enable") | (Kind::Zone, "resetserver") => (|| {
            oned.get(Kind::Zone, id)
                .ok_or_else(|| no_exists(Kind::Zone, id))?;
            Ok(Value::Int(id))
        })(),
        (Kind::Zone, "delserver") => (|| {
            oned.get(Kind::Zone, id)
                .ok_or_else(|| no_exists(Kind::Zone, id))?;
            Err(fail(ACTION, "SERVER not found in zone"))
        })(),
        (Kind::Zone, "addserver") => (|| {
            if oned.get(Kind::Zone, id).is_none() || id != 0 {
                return Err(fail(
                    ACTION,
                    "Servers have to be added through the target zone endpoints",
                ));
            }
            Err(fail(
                ACTION,
                "Servers have to be added through the target zone endpoints",
            ))
        })(),
        (Kind::Zone | Kind::Market | Kind::MarketApp, "updatedb") => Err(no_exists(kind, id)),
        (Kind::Market | Kind::MarketApp, "enable") => (|| {
            fetch(oned, caller, kind, id, Op::Manage, 2)?;
            if let Some(obj) = oned.get_mut(kind, id) {
                if let Ext::Market(state) = &mut obj.ext {
                    *state = if p.bool_or(1, true) { 0 } else { 1 };
                }
                if let Ext::MarketApp(app) = &mut obj.ext {
                    app.state = if p.bool_or(1, true) { 1 } else { 4 };
                }
            }
            Ok(Value::Int(id))
        })(),
        (Kind::Vdc, a) if a.starts_with("add") || a.starts_with("del") => {
            vdc_edit(oned, caller, a, p)
        }
        (Kind::SecGroup, "commit") => (|| {
            fetch(oned, caller, kind, id, Op::Manage, 2)?;
            Ok(Value::Int(id))
        })(),
        (Kind::Hook, "retry") => (|| {
            oned.get(Kind::Hook, id)
                .ok_or_else(|| no_exists(Kind::Hook, id))?;
            super::hooks::retry(oned, id, p.int(1))
                .map_err(|()| fail(INTERNAL, "Invalid HookLog body. Arguments not found."))?;
            Ok(Value::Int(id))
        })(),
        (Kind::BackupJob, "priority") => (|| {
            fetch(oned, caller, kind, id, Op::Manage, 2)?;
            let priority = p.int(1);
            if !(0..=100).contains(&priority) {
                return Err(fail(ACTION, "Wrong priority value"));
            }
            if let Some(obj) = oned.get_mut(kind, id) {
                obj.template.set("PRIORITY", priority.to_string());
            }
            Ok(Value::Int(id))
        })(),
        (Kind::BackupJob, "schedadd" | "schedupdate" | "scheddelete") => {
            super::vm::backupjob_sched(oned, caller, action, p)
        }
        (Kind::VmGroup, "roleadd" | "roleupdate" | "roledelete") => {
            vmgroup_role(oned, caller, action, p)
        }
        (Kind::VRouter, "instantiate") => super::vm::vrouter_instantiate(oned, caller, p),
        (Kind::VRouter, "attachnic" | "detachnic") => (|| {
            fetch(oned, caller, kind, id, Op::Manage, 2)?;
            let parsed = if action == "attachnic" {
                Some(parse_template(p.str(1))?)
            } else {
                None
            };
            // The NIC names its network, as at allocation.
            let network = parsed
                .as_ref()
                .and_then(|t| t.vectors("NIC").first()?.get("NETWORK_ID").cloned())
                .and_then(|n| n.parse::<i32>().ok())
                .and_then(|n| oned.get(Kind::Vnet, n))
                .map(|v| v.name.clone());
            let obj = oned.get_mut(kind, id).expect("fetched");
            if let Some(t) = parsed {
                let Some(mut nic) = t.vectors("NIC").first().map(|n| (*n).clone()) else {
                    return Err(fail(ACTION, "No NIC in template"));
                };
                if let Some(network) = network {
                    nic.entry("NETWORK".into()).or_insert(network);
                }
                let next = obj
                    .template
                    .vectors("NIC")
                    .iter()
                    .filter_map(|n| n.get("NIC_ID")?.parse::<i32>().ok())
                    .max()
                    .map_or(0, |m| m + 1);
                nic.insert("NIC_ID".into(), next.to_string());
                obj.template.push("NIC", Attr::Vector(nic));
            } else {
                let nic = p.int(1).to_string();
                let nics = obj.template.remove("NIC");
                let before = nics.len();
                let kept: Vec<Attr> = nics
                    .into_iter()
                    .filter(|a| !matches!(a, Attr::Vector(v) if v.get("NIC_ID") == Some(&nic)))
                    .collect();
                let after = kept.len();
                for n in kept {
                    obj.template.push("NIC", n);
                }
                if before == after {
                    return Err(fail(
                        ACTION,
                        format!("NIC with NIC_ID {nic} does not exist."),
                    ));
                }
            }
            super::vm::vrouter_nic_changed(oned, caller, id, action == "attachnic");
            Ok(Value::Int(id))
        })(),
        (Kind::BackupJob, "backup" | "cancel" | "retry") => (|| {
            fetch(oned, caller, kind, id, Op::Manage, 2)?;
            if action == "backup" {
                // The job starts now (kept with the job like its PRIORITY; the document
                // shows it as LAST_BACKUP_TIME).
                let now = oned.now();
                if let Some(job) = oned.get_mut(kind, id) {
                    job.template.set("LAST_BACKUP_TIME", now.to_string());
                }
            }
            Ok(Value::Int(id))
        })(),
        _ => return None,
    };
    Some(result)
}

/// The attributes oned fills in on every backup job.
fn backupjob_defaults(template: &mut Tmpl) {
    for (name, value) in [
        ("BACKUP_VOLATILE", "NO"),
        ("EXECUTION", "SEQUENTIAL"),
        ("FS_FREEZE", "NONE"),
        ("KEEP_LAST", "0"),
        ("MODE", "FULL"),
    ] {
        template.set_default(name, value);
    }
    if template.get("MODE") == Some("INCREMENT") {
        template.set_default("INCREMENT_MODE", "CBT");
    }
}

fn vmgroup_role(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::VmGroup, id, Op::Manage, 2)?;
    let obj = oned.get_mut(Kind::VmGroup, id).expect("fetched");
    let mut roles: Vec<BTreeMap<String, String>> =
        obj.template.vectors("ROLE").into_iter().cloned().collect();
    match action {
        "roleadd" => {
            let t = parse_template(p.str(1))?;
            let Some(mut role) = t.vectors("ROLE").first().map(|r| (*r).clone()) else {
                return Err(fail(INTERNAL, "No ROLE in template"));
            };
            if roles.iter().any(|r| r.get("NAME") == role.get("NAME")) {
                return Err(fail(INTERNAL, "Role already exists"));
            }
            let next = roles
                .iter()
                .filter_map(|r| r.get("ID")?.parse::<i32>().ok())
                .max()
                .map_or(0, |m| m + 1);
            role.insert("ID".into(), next.to_string());
            roles.push(role);
        }
        "roleupdate" => {
            let role_id = p.int(1).to_string();
            let t = parse_template(p.str(2))?;
            let update = t
                .vectors("ROLE")
                .first()
                .map(|r| (*r).clone())
                .unwrap_or_default();
            let Some(role) = roles.iter_mut().find(|r| r.get("ID") == Some(&role_id)) else {
                return Err(fail(INTERNAL, format!("Role {role_id} does not exist")));
            };
            for (k, v) in update {
                if k != "ID" && k != "NAME" {
                    role.insert(k, v);
                }
            }
        }
        _ => {
            let role_id = p.int(1).to_string();
            let before = roles.len();
            roles.retain(|r| r.get("ID") != Some(&role_id));
            if roles.len() == before {
                return Err(fail(INTERNAL, format!("Role {role_id} does not exist")));
            }
        }
    }
    obj.template.remove("ROLE");
    for role in roles {
        obj.template.push("ROLE", Attr::Vector(role));
    }
    Ok(Value::Int(id))
}

/// What oned checks before any change of a user's groups (chgrp, addgroup, delgroup): the
/// caller is an admin, the user and the group exist.
fn check_user_group_change(
    oned: &Oned,
    caller: Caller,
    id: i32,
    gid: i32,
) -> Result<(), super::Failure> {
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            AUTHORIZATION,
            format!(
                "User [{}] : Not authorized to perform MANAGE USER [{id}].",
                caller.uid
            ),
        ));
    }
    oned.get(Kind::User, id)
        .ok_or_else(|| no_exists(Kind::User, id))?;
    if oned.get(Kind::Group, gid).is_none() {
        return Err(fail_id(
            NO_EXISTS,
            format!("Error getting group [{gid}]."),
            gid,
        ));
    }
    Ok(())
}

fn user_chgrp(oned: &mut Oned, caller: Caller, id: i32, gid: i32) -> Handled {
    check_user_group_change(oned, caller, id, gid)?;
    let user = oned.get_mut(Kind::User, id).expect("checked");
    let old = user.gid;
    user.gid = gid;
    if let Ext::User(u) = &mut user.ext {
        u.groups.remove(&old);
        u.groups.insert(gid);
    }
    group_data(oned, old).users.remove(&id);
    group_data(oned, gid).users.insert(id);
    Ok(Value::Int(id))
}

fn user_group_edit(oned: &mut Oned, caller: Caller, id: i32, gid: i32, add: bool) -> Handled {
    check_user_group_change(oned, caller, id, gid)?;
    let user = oned.get_mut(Kind::User, id).expect("checked");
    let main = user.gid;
    if let Ext::User(u) = &mut user.ext {
        if add {
            u.groups.insert(gid);
        } else if gid != main {
            u.groups.remove(&gid);
        } else {
            return Err(fail(ACTION, "Cannot remove user from its main group."));
        }
    }
    if add {
        group_data(oned, gid).users.insert(id);
    } else {
        group_data(oned, gid).users.remove(&id);
        group_data(oned, gid).admins.remove(&id);
    }
    Ok(Value::Int(id))
}

fn user_login(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, token, valid, egid) = (p.str(0), p.str(1), p.int(2), p.int_or(3, -1));
    let Some(user) = oned
        .pool(Kind::User)
        .values()
        .find(|u| u.name == name)
        .cloned()
    else {
        return Err(fail(
            super::AUTHENTICATION,
            "User couldn't be authenticated, aborting call.",
        ));
    };
    if user.id != caller.uid && !oned.is_admin(caller.uid) {
        return Err(fail(
            AUTHORIZATION,
            format!(
                "User [{}] : Not authorized to perform MANAGE USER [{}].",
                caller.uid, user.id
            ),
        ));
    }
    if egid >= 0 && !oned.user_groups(user.id).contains(&egid) {
        return Err(fail(XML_RPC_API, "EGID is not in user group list"));
    }
    if valid == 0 {
        oned.revoke_token(user.id, token);
        return Ok(Value::from(token));
    }
    let expires = if valid < 0 {
        -1
    } else {
        oned.now() + valid as i64
    };
    let token = if token.is_empty() {
        oned.new_token(user.id, expires, egid)
    } else {
        token.to_string()
    };
    Ok(Value::from(token))
}

fn cluster_edit(oned: &mut Oned, caller: Caller, id: i32, action: &str, object: i32) -> Handled {
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            AUTHORIZATION,
            format!(
                "User [{}] : Not authorized to perform ADMIN CLUSTER [{id}].",
                caller.uid
            ),
        ));
    }
    oned.get(Kind::Cluster, id)
        .ok_or_else(|| no_exists(Kind::Cluster, id))?;
    let (kind, add) = match action {
        "addhost" => (Kind::Host, true),
        "delhost" => (Kind::Host, false),
        "adddatastore" => (Kind::Datastore, true),
        "deldatastore" => (Kind::Datastore, false),
        "addvnet" => (Kind::Vnet, true),
        "delvnet" => (Kind::Vnet, false),
        _ => {
            return Err(fail(
                ACTION,
                format!("one.cluster.{action} is not supported"),
            ))
        }
    };
    oned.get(kind, object)
        .ok_or_else(|| no_exists(kind, object))?;
    // A host lives in one cluster; removing it sends it back to the default cluster.
    let target = if add { id } else { 0 };
    let mut clusters_to_update = vec![];
    match oned.get_mut(kind, object).map(|o| &mut o.ext) {
        Some(Ext::Host(h)) => {
            clusters_to_update.push((h.cluster_id, false));
            h.cluster_id = target;
            clusters_to_update.push((target, true));
        }
        Some(Ext::Datastore(d)) => {
            if add {
                d.clusters.insert(id);
            } else {
                d.clusters.remove(&id);
            }
            clusters_to_update.push((id, add));
        }
        Some(Ext::Vnet(v)) => {
            if add {
                v.clusters.insert(id);
            } else {
                v.clusters.remove(&id);
            }
            clusters_to_update.push((id, add));
        }
        _ => {}
    }
    for (cluster, insert) in clusters_to_update {
        if let Some(Ext::Cluster(c)) = oned.get_mut(Kind::Cluster, cluster).map(|c| &mut c.ext) {
            let set = match kind {
                Kind::Host => &mut c.hosts,
                Kind::Datastore => &mut c.datastores,
                _ => &mut c.vnets,
            };
            if insert {
                set.insert(object);
            } else {
                set.remove(&object);
            }
        }
    }
    Ok(Value::Int(id))
}

fn vdc_edit(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            AUTHORIZATION,
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
                INTERNAL,
                format!("Group {gid} is already assigned to the VDC {id}"),
            ));
        }
        if !add && !vdc.groups.remove(&gid) {
            return Err(fail(
                INTERNAL,
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
        _ => return Err(fail(ACTION, format!("one.vdc.{action} is not supported"))),
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

fn image_specific(
    oned: &mut Oned,
    caller: Caller,
    action: &str,
    p: &Params<'_>,
) -> Option<Handled> {
    let id = p.int(0);
    let kind = Kind::Image;
    let result = (|| {
        let image = fetch(oned, caller, kind, id, Op::Manage, 2)?;
        let Ext::Image(data) = &image.ext else {
            unreachable!()
        };
        let data = data.clone();
        let set = |oned: &mut Oned, f: &dyn Fn(&mut ImageData)| {
            if let Some(Ext::Image(d)) = oned.get_mut(kind, id).map(|i| &mut i.ext) {
                f(d);
            }
        };
        match action {
            "chtype" => {
                let t = match p.str(1) {
                    "OS" => 0,
                    "CDROM" => 1,
                    "DATABLOCK" => 2,
                    "KERNEL" => 3,
                    "RAMDISK" => 4,
                    "CONTEXT" => 5,
                    _ => return Err(fail(INTERNAL, "known type ")),
                };
                set(oned, &|d| d.image_type = t);
            }
            "persistent" => {
                let on = p.bool_or(1, true);
                set(oned, &|d| d.persistent = on);
            }
            "enable" => {
                let on = p.bool_or(1, true);
                if !matches!(data.state, 1 | 3) {
                    return Err(fail(
                        ACTION,
                        "Image cannot be enabled or disabled in its current state",
                    ));
                }
                set(oned, &|d| {
                    d.state = if on { 1 } else { 3 };
                    d.prev_state = d.state;
                });
            }
            "snapshotdelete" | "snapshotrevert" | "snapshotflatten" => {
                return Err(fail(ACTION, "Snapshot does not exist"));
            }
            "restore" => {
                if data.image_type != 6 {
                    return Err(fail(ACTION, "Can only restore images of type BACKUP"));
                }
                return Err(fail(ACTION, "Restore is not supported by the test server"));
            }
            _ => {
                return Err(fail(
                    ACTION,
                    format!("one.image.{action} is not supported by the test server"),
                ))
            }
        }
        Ok(Value::Int(id))
    })();
    Some(result)
}

/// Methods outside a typed prefix: quotas, hook log, sql.
pub(crate) fn handle_other(
    oned: &mut Oned,
    caller: Caller,
    object: &str,
    action: &str,
    p: &Params<'_>,
) -> Option<Handled> {
    let admin = oned.is_admin(caller.uid);
    let result = match (object, action) {
        ("userquota" | "groupquota", "info") => Ok(Value::from(docs::default_quotas(oned, object))),
        ("userquota" | "groupquota", "update") => (|| {
            if !admin {
                return Err(fail(
                    AUTHORIZATION,
                    format!(
                        "User [{}] : Not authorized to perform MANAGE QUOTA.",
                        caller.uid
                    ),
                ));
            }
            let t = parse_template(p.str(0))?;
            for vm in t.vectors("VM") {
                // Default quotas cannot use the -1 ("default") marker nor negative limits.
                if vm.values().any(|v| v.starts_with('-') && v != "-2") {
                    let body: Vec<String> = vm.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    return Err(fail(
                        ACTION,
                        format!(
                            "Negative limits or bad format in quota VM = [ {} ]",
                            body.join(",")
                        ),
                    ));
                }
            }
            let current = oned.default_quotas.entry(object.to_string()).or_default();
            Oned::merge_quotas(current, &t);
            Ok(Value::from(docs::default_quotas(oned, object)))
        })(),
        ("hooklog", "info") => (|| {
            if !admin {
                return Err(fail(
                    AUTHORIZATION,
                    format!(
                        "User [{}] not authorized to perform action on hook.",
                        caller.uid
                    ),
                ));
            }
            let log = super::hooks::log_filtered(
                oned,
                i64::from(p.int(0)),
                i64::from(p.int(1)),
                p.int(2),
                p.int(3),
            );
            Ok(Value::from(log.to_xml()))
        })(),
        ("system", "sql") | ("system", "sqlquery") => (|| {
            if !admin {
                return Err(fail(
                    AUTHORIZATION,
                    format!(
                        "User [{}] not authorized to perform action on -.",
                        caller.uid
                    ),
                ));
            }
            Err(fail(
                ACTION,
                "SQL access is not supported by the test server",
            ))
        })(),
        ("market" | "marketapp", "allocatedb") if !admin => Err(fail(
            AUTHORIZATION,
            format!(
                "User [{}] not authorized to perform action on {}.",
                caller.uid,
                if object == "market" {
                    "marketplace"
                } else {
                    "marketplaceapp"
                }
            ),
        )),
        ("marketapp", "dropdb") => Err(no_exists(Kind::MarketApp, p.int(0))),
        ("zone", "voterequest") if admin => Err(fail_id(INTERNAL, "", 0)),
        ("zone", "fedreplicate") if admin && p.str(2).is_empty() => Err(fail(
            super::REPLICATION,
            format!(
                "Error replicating log entry {}: Received an empty SQL command at index{}.",
                u64::MAX,
                match p.0.first() {
                    Some(Value::I8(index)) => *index,
                    _ => -1,
                }
            ),
        )),
        // A refused log replication answers with the current raft term (0: no federation).
        ("zone", "replicate") if !admin => Err(fail_id(
            AUTHORIZATION,
            format!(
                "User [{}] not authorized to perform action on zone.",
                caller.uid
            ),
            0,
        )),
        ("zone", "fedreplicate" | "voterequest" | "updatedb") if !admin => Err(fail(
            AUTHORIZATION,
            format!(
                "User [{}] not authorized to perform action on zone.",
                caller.uid
            ),
        )),
        _ => return None,
    };
    let _ = p.len();
    Some(result)
}
