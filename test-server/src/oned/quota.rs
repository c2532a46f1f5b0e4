//! Quotas of users and groups and the default quotas (src/um/Quota.cc, Quotas.cc,
//! QuotaVirtualMachine.cc, QuotaDatastore.cc, QuotaNetwork.cc, QuotaImage.cc): the limits
//! `one.user.quota`, `one.group.quota`, `one.userquota.update` and `one.groupquota.update`
//! set, with oned's formats and refusals; the usage, counted from what each user and group
//! owns (oned keeps running counters of the same things); the checks the creating calls
//! make ([`authorize_vm`], [`authorize_image`], [`authorize_leases`], [`authorize_vm_delta`]);
//! and the quota documents.

use super::prelude::*;
use opennebula::models;
use opennebula::xml::ToXml;

/// A limit meaning "the default quota applies" (`Quota::DEFAULT`).
const DEFAULT: f32 = -1.0;
/// A limit meaning "no limit" (`Quota::UNLIMITED`).
const UNLIMITED: f32 = -2.0;

/// The four kinds of quota, in the order oned sets and prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Datastore,
    Network,
    Image,
    Vm,
}

const SECTIONS: [Section; 4] = [
    Section::Datastore,
    Section::Network,
    Section::Image,
    Section::Vm,
];

impl Section {
    /// The attribute (and element) name of one quota.
    fn name(self) -> &'static str {
        match self {
            Section::Datastore => "DATASTORE",
            Section::Network => "NETWORK",
            Section::Image => "IMAGE",
            Section::Vm => "VM",
        }
    }

    /// The limits, in the order oned checks them.
    fn metrics(self) -> &'static [&'static str] {
        match self {
            Section::Datastore => &["SIZE", "IMAGES"],
            Section::Network => &["LEASES"],
            Section::Image => &["RVMS"],
            Section::Vm => &[
                "VMS",
                "RUNNING_VMS",
                "CPU",
                "RUNNING_CPU",
                "MEMORY",
                "RUNNING_MEMORY",
                "PCI_DEV",
                "RUNNING_PCI_DEV",
                "PCI_NIC",
                "RUNNING_PCI_NIC",
                "SYSTEM_DISK_SIZE",
            ],
        }
    }

    /// The attribute naming an entry: ID (of a datastore, network or image); VM quotas are
    /// the global one and one per set of clusters (CLUSTER_IDS).
    fn key(self) -> &'static str {
        match self {
            Section::Vm => "CLUSTER_IDS",
            _ => "ID",
        }
    }
}

/// One quota entry: its limits (as oned writes them: `-1`, `2`, `0.50`) and its ID or
/// CLUSTER_IDS.
pub(crate) type Entry = BTreeMap<String, String>;

/// The limits of a user, a group or of the defaults, in the order oned added them.
#[derive(Debug, Clone, Default)]
pub(crate) struct QuotaSet {
    entries: [Vec<Entry>; 4],
}

impl QuotaSet {
    fn section(&self, s: Section) -> &Vec<Entry> {
        &self.entries[s as usize]
    }

    fn section_mut(&mut self, s: Section) -> &mut Vec<Entry> {
        &mut self.entries[s as usize]
    }

    fn find(&self, s: Section, key: &str) -> Option<&Entry> {
        self.section(s)
            .iter()
            .find(|e| e.get(s.key()).map_or("", String::as_str) == key)
    }
}

/// A number as oned writes quota values (`one_util::float_to_str`): no decimals when whole,
/// else two.
fn float_to_str(value: f32) -> String {
    if value == value.ceil() {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// A float as a C++ stream prints it by default (6 significant digits, `%g`): the limits in
/// "limit of ... reached" messages.
fn float_g(value: f32) -> String {
    let v = f64::from(value);
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-5..6).contains(&exp) {
        let mantissa = format!("{:.5e}", v);
        let (m, e) = mantissa.split_once('e').unwrap_or((&mantissa, "0"));
        let m = trim_zeros(m);
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (5 - exp).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A value read as `istringstream >> float` with nothing left over
/// (`VectorAttribute::vector_value_str`): `None` for anything else ("abc", "", "5 x").
fn read_float(text: &str) -> Option<f32> {
    let s = text.trim_start();
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let digits = mantissa.chars().filter(char::is_ascii_digit).count();
    let valid_mantissa = digits > 0
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.matches('.').count() <= 1;
    let valid_exponent = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    if !(valid_mantissa && valid_exponent) {
        return None;
    }
    s.parse::<f32>().ok()
}

// ---------------------------------------------------------------------------------------
// Setting limits
// ---------------------------------------------------------------------------------------

/// The limits of a new or updated entry (`Quota::new_quota`, `Quota::update_limits`): a
/// limit missing or not a number is the default (-1), or unlimited (-2) in the defaults;
/// other negative limits are refused.
fn limits(s: Section, given: &Entry, is_default: bool) -> Option<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    for metric in s.metrics() {
        let limit = given
            .get(*metric)
            .and_then(|v| read_float(v))
            .unwrap_or(if is_default { UNLIMITED } else { DEFAULT });
        let allowed = if is_default {
            limit >= 0.0 || limit == UNLIMITED
        } else {
            limit >= 0.0 || limit == UNLIMITED || limit == DEFAULT
        };
        if !allowed {
            return None;
        }
        out.push((*metric, float_to_str(limit)));
    }
    Some(out)
}

/// Whether an entry's limits are all the implicit one (default, or unlimited in the
/// defaults and for cluster quotas): oned drops such an entry once nothing is used
/// (`Quota::cleanup_quota`); the usage shows again when there is some.
fn is_implicit(s: Section, entry: &Entry, is_default: bool) -> bool {
    let cluster = entry.get("CLUSTER_IDS").is_some_and(|c| !c.is_empty());
    let implicit = if is_default || cluster {
        UNLIMITED
    } else {
        DEFAULT
    };
    s.metrics()
        .iter()
        .all(|m| entry.get(*m).and_then(|v| read_float(v)) == Some(implicit))
}

/// `oss << quota` of the refusal: `SECTION = [ A=1,B=2 ]` (`VectorAttribute::marshall`).
fn bad_format(s: Section, given: &Entry) -> String {
    let body: Vec<String> = given.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "Negative limits or bad format in quota {} = [ {} ]",
        s.name(),
        body.join(",")
    )
}

/// Normalises CLUSTER_IDS as oned does (`one_util::split_unique` then `join`): unique,
/// sorted, comma separated.
fn cluster_ids(text: &str) -> (String, BTreeSet<i32>) {
    let ids: BTreeSet<i32> = text
        .split(',')
        .filter_map(|id| id.trim().parse::<i32>().ok())
        .collect();
    let joined: Vec<String> = ids.iter().map(i32::to_string).collect();
    (joined.join(","), ids)
}

/// Sets the entries `given` of section `s` into `set` (`Quota::set`,
/// `QuotaVirtualMachine::set`).
fn set_section(
    oned: &Oned,
    set: &mut QuotaSet,
    s: Section,
    given: &[Entry],
    is_default: bool,
) -> Result<(), String> {
    for va in given {
        let mut va = va.clone();
        let mut clusters = BTreeSet::new();
        let key = if s == Section::Vm {
            let raw = va.get("CLUSTER_IDS").cloned().unwrap_or_default();
            if raw.is_empty() {
                String::new()
            } else {
                let (joined, ids) = cluster_ids(&raw);
                va.insert("CLUSTER_IDS".into(), joined.clone());
                clusters = ids;
                joined
            }
        } else {
            let id = va.get("ID").cloned().unwrap_or_default();
            // `istringstream >> int` with nothing left (Quota::get_quota).
            if id.trim_start().parse::<i32>().is_err() {
                return Err(bad_format(s, &va));
            }
            id
        };
        let mut limits = limits(s, &va, is_default).ok_or_else(|| bad_format(s, &va))?;
        if !clusters.is_empty() {
            // A cluster quota has no default: an unset limit is unlimited
            // (Quota::cleanup_quota).
            for (_, limit) in &mut limits {
                if read_float(limit) == Some(DEFAULT) {
                    *limit = float_to_str(UNLIMITED);
                }
            }
        }
        let section = set.section_mut(s);
        match section
            .iter_mut()
            .find(|e| e.get(s.key()).map_or("", String::as_str) == key)
        {
            Some(existing) => {
                for (metric, limit) in limits {
                    existing.insert(metric.into(), limit);
                }
            }
            None => {
                for cluster in &clusters {
                    if oned.get(Kind::Cluster, *cluster).is_none() {
                        return Err(format!("Cluster {cluster} does not exist"));
                    }
                    let taken = section.iter().any(|e| {
                        e.get("CLUSTER_IDS")
                            .is_some_and(|c| cluster_ids(c).1.contains(cluster))
                    });
                    if taken {
                        return Err(format!("Quota for cluster id {cluster} already exists"));
                    }
                }
                let mut entry: Entry = limits
                    .into_iter()
                    .map(|(m, l)| (m.to_string(), l))
                    .collect();
                if !key.is_empty() {
                    entry.insert(s.key().into(), key.clone());
                }
                section.push(entry);
            }
        }
    }
    Ok(())
}

/// Sets limits from a quota template (`Quotas::set`): DATASTORE, NETWORK, IMAGE then VM
/// vectors; `extra` is what oned adds to VM vectors before (UID or GID), seen in refusals.
fn set_all(
    oned: &Oned,
    set: &mut QuotaSet,
    template: &Tmpl,
    extra: Option<(&str, i32)>,
    is_default: bool,
) -> Result<(), String> {
    for s in SECTIONS {
        let mut given: Vec<Entry> = template.vectors(s.name()).into_iter().cloned().collect();
        if s == Section::Vm {
            if let Some((name, id)) = extra {
                for va in &mut given {
                    va.insert(name.into(), id.to_string());
                }
            }
        }
        set_section(oned, set, s, &given, is_default)?;
        set.section_mut(s)
            .retain(|e| !is_implicit(s, e, is_default));
    }
    Ok(())
}

/// A quota template as `Template::parse_str_or_xml` reads it (oned answers its parse
/// errors with ACTION here).
fn parse(text: &str) -> Result<Tmpl, Failure> {
    parse_template(text).map_err(|f| fail(ErrorCode::Action, f.message))
}

/// `one.user.quota` and `one.group.quota` after their checks: the limits of the template
/// replace those of the same entries (a limit not given goes back to the default); nothing
/// changes when one is refused.
pub(crate) fn set(oned: &mut Oned, kind: Kind, id: i32, text: &str) -> Result<(), Failure> {
    let template = parse(text)?;
    let mut limits = oned.quotas.get(&(kind, id)).cloned().unwrap_or_default();
    let extra = if kind == Kind::User { "UID" } else { "GID" };
    set_all(oned, &mut limits, &template, Some((extra, id)), false)
        .map_err(|e| fail(ErrorCode::Action, e))?;
    oned.quotas.insert((kind, id), limits);
    Ok(())
}

/// `one.userquota.info`.
pub(crate) fn user_defaults(oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Ok(Value::from(default_quotas(oned, Kind::User)))
}

/// `one.groupquota.info`.
pub(crate) fn group_defaults(oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Ok(Value::from(default_quotas(oned, Kind::Group)))
}

/// `one.userquota.update`.
pub(crate) fn update_user_defaults(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    update_defaults(oned, caller, Kind::User, p)
}

/// `one.groupquota.update`.
pub(crate) fn update_group_defaults(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    update_defaults(oned, caller, Kind::Group, p)
}

/// `SharedAPI::quota_update`: callers whose group is oneadmin's only, one VM quota without
/// clusters; the new defaults' document. oned changes the defaults in place, so the
/// sections set before a refused one stay set.
fn update_defaults(oned: &mut Oned, caller: Caller, kind: Kind, p: &Params<'_>) -> Handled {
    if caller.gid != 0 {
        return Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] : The default quotas can only be updated by users in the oneadmin group.",
                caller.uid
            ),
        ));
    }
    let template = parse(p.str(0))?;
    let vms = template.vectors("VM");
    if vms.len() > 1 {
        return Err(fail(
            ErrorCode::Action,
            "Only one default VM quota can be defined",
        ));
    }
    if vms
        .first()
        .is_some_and(|vm| vm.get("CLUSTER_IDS").is_some_and(|c| !c.is_empty()))
    {
        return Err(fail(
            ErrorCode::Action,
            "CLUSTER_IDS attribute is not allowed for default VM quota",
        ));
    }
    let mut defaults = oned.default_quotas.remove(&kind).unwrap_or_default();
    let result = set_all(oned, &mut defaults, &template, None, true);
    oned.default_quotas.insert(kind, defaults);
    result.map_err(|e| fail(ErrorCode::Action, e))?;
    Ok(Value::from(default_quotas(oned, kind)))
}

// ---------------------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------------------

/// What a user or group uses: per quota entry key, per metric.
#[derive(Debug, Default)]
struct Usage {
    used: [BTreeMap<String, BTreeMap<&'static str, f64>>; 4],
}

impl Usage {
    fn add(&mut self, s: Section, key: &str, metric: &'static str, value: f64) {
        *self.used[s as usize]
            .entry(key.to_string())
            .or_default()
            .entry(metric)
            .or_default() += value;
    }

    fn get(&self, s: Section, key: &str, metric: &str) -> f64 {
        self.used[s as usize]
            .get(key)
            .and_then(|m| m.get(metric))
            .copied()
            .unwrap_or(0.0)
    }
}

/// Whether a VM in this state counts for the RUNNING_* quotas (`is_running_quota`).
fn running_quota(state: VmState, lcm: LcmState) -> bool {
    match state {
        VmState::Pending | VmState::Cloning | VmState::CloningFailure | VmState::Hold => true,
        VmState::Active => !matches!(
            lcm,
            LcmState::HotplugSaveasPoweroff
                | LcmState::HotplugSaveasSuspended
                | LcmState::DiskSnapshotPoweroff
                | LcmState::DiskSnapshotRevertPoweroff
                | LcmState::DiskSnapshotDeletePoweroff
                | LcmState::DiskSnapshotSuspended
                | LcmState::DiskSnapshotDeleteSuspended
                | LcmState::DiskResizePoweroff
                | LcmState::DiskResizeUndeployed
                | LcmState::HotplugNicPoweroff
                | LcmState::HotplugSaveasUndeployed
                | LcmState::HotplugSaveasStopped
                | LcmState::HotplugPrologPoweroff
                | LcmState::HotplugEpilogPoweroff
        ),
        _ => false,
    }
}

/// The size a disk takes in the system datastore (`VirtualMachineDisk::system_ds_size`):
/// volatile disks and disks whose datastore puts them there (TM target SYSTEM), with their
/// snapshots.
fn system_disk_size(disk: &BTreeMap<String, String>) -> f64 {
    let Some(size) = disk.get("SIZE").and_then(|s| s.parse::<i64>().ok()) else {
        return 0.0;
    };
    let snapshots = disk
        .get("DISK_SNAPSHOT_TOTAL_SIZE")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    let target = if disk.get("CLONE").map(String::as_str) == Some("YES") {
        disk.get("CLONE_TARGET")
    } else {
        disk.get("LN_TARGET")
    };
    let volatile = !disk.contains_key("IMAGE_ID") && !disk.contains_key("IMAGE");
    if volatile || target.map(String::as_str) == Some("SYSTEM") {
        (size + snapshots) as f64
    } else {
        0.0
    }
}

/// A VM's demand on the VM, network and image quotas (`get_quota_template`,
/// `update_quota_attributes`).
#[derive(Debug, Clone, Default)]
pub(crate) struct VmDemand {
    pub(crate) cpu: Option<f64>,
    pub(crate) memory: Option<f64>,
    pub(crate) pci_dev: u32,
    pub(crate) pci_nic: u32,
    pub(crate) system_disk: f64,
    /// Whether it counts for the RUNNING_* quotas.
    pub(crate) running: bool,
    /// The networks of its NICs, one per NIC that takes a lease.
    pub(crate) networks: Vec<i32>,
    /// The images of its disks, one per disk.
    pub(crate) images: Vec<i32>,
}

impl VmDemand {
    /// The demand of a VM made of `template` (CPU, MEMORY, PCI) with `disks` and `nics`.
    pub(crate) fn of(
        template: &Tmpl,
        disks: &[&BTreeMap<String, String>],
        nics: &[&BTreeMap<String, String>],
        running: bool,
    ) -> VmDemand {
        let pcis = template.vectors("PCI");
        let pci_nic = pcis
            .iter()
            .filter(|p| p.get("TYPE").map(String::as_str) == Some("NIC"))
            .count() as u32;
        VmDemand {
            cpu: template.get("CPU").and_then(read_float).map(f64::from),
            memory: template.get("MEMORY").and_then(read_float).map(f64::from),
            pci_dev: pcis.len() as u32 - pci_nic,
            pci_nic,
            system_disk: disks.iter().map(|d| system_disk_size(d)).sum(),
            running,
            networks: nics
                .iter()
                .filter_map(|n| n.get("NETWORK_ID")?.parse::<i32>().ok())
                .collect(),
            images: disks
                .iter()
                .filter_map(|d| d.get("IMAGE_ID")?.parse::<i32>().ok())
                .collect(),
        }
    }

    /// The VM quota metrics it asks for: each counted metric, and its RUNNING_ twin when
    /// the VM counts as running (SYSTEM_DISK_SIZE has none).
    fn vm_metrics(&self) -> Vec<(&'static str, f64)> {
        let pci = |n: u32| (n > 0).then_some(f64::from(n));
        let counted: [(&'static str, &'static str, Option<f64>); 5] = [
            ("VMS", "RUNNING_VMS", Some(1.0)),
            ("CPU", "RUNNING_CPU", self.cpu),
            ("MEMORY", "RUNNING_MEMORY", self.memory),
            ("PCI_DEV", "RUNNING_PCI_DEV", pci(self.pci_dev)),
            ("PCI_NIC", "RUNNING_PCI_NIC", pci(self.pci_nic)),
        ];
        let mut out: Vec<(&'static str, f64)> = counted
            .iter()
            .filter_map(|(metric, _, value)| Some((*metric, (*value)?)))
            .collect();
        out.push(("SYSTEM_DISK_SIZE", self.system_disk));
        if self.running {
            out.extend(
                counted
                    .iter()
                    .filter_map(|(_, running, value)| Some((*running, (*value)?))),
            );
        }
        out
    }
}

/// The demand of an existing VM.
fn vm_demand(obj: &Obj) -> Option<VmDemand> {
    let Ext::Vm(vm) = &obj.ext else { return None };
    if vm.state == VmState::Done {
        return None;
    }
    let disks = obj.template.vectors("DISK");
    let nics = obj.template.vectors("NIC");
    Some(VmDemand::of(
        &obj.template,
        &disks,
        &nics,
        running_quota(vm.state, vm.lcm_state),
    ))
}

/// The CLUSTER_IDS of the VM quota of `limits` that has cluster `cid`.
fn cluster_quota_key(limits: Option<&QuotaSet>, cid: i32) -> Option<String> {
    limits?
        .section(Section::Vm)
        .iter()
        .filter_map(|e| e.get("CLUSTER_IDS"))
        .find(|ids| cluster_ids(ids).1.contains(&cid))
        .cloned()
}

/// The usage of user or group `id`: its VMs that are not DONE (VM quota, a lease per NIC,
/// an RVMS per image disk), its images (IMAGES and SIZE per datastore), its reservations and
/// its virtual routers' floating IPs (leases of the parent network). oned counts nothing for
/// oneadmin nor for the oneadmin group.
fn usage(oned: &Oned, kind: Kind, id: i32) -> Usage {
    let mut u = Usage::default();
    if id == 0 {
        return u;
    }
    let owned = |obj: &&Obj| match kind {
        Kind::User => obj.uid == id,
        _ => obj.gid == id,
    };
    let limits = oned.quotas.get(&(kind, id));
    for obj in oned.pool(Kind::Vm).values().filter(owned) {
        let Some(demand) = vm_demand(obj) else {
            continue;
        };
        // A VM placed in a cluster also counts in the cluster quota that names it
        // (QuotaVirtualMachine::get_quota_id).
        let cluster = match &obj.ext {
            Ext::Vm(vm) => vm.history.last().map(|h| h.cid),
            _ => None,
        };
        let cluster_key = cluster.and_then(|cid| cluster_quota_key(limits, cid));
        for (metric, value) in demand.vm_metrics() {
            u.add(Section::Vm, "", metric, value);
            if let Some(key) = &cluster_key {
                u.add(Section::Vm, key, metric, value);
            }
        }
        for net in demand.networks {
            u.add(Section::Network, &net.to_string(), "LEASES", 1.0);
        }
        for image in demand.images {
            u.add(Section::Image, &image.to_string(), "RVMS", 1.0);
        }
    }
    for obj in oned.pool(Kind::Image).values().filter(owned) {
        if let Ext::Image(image) = &obj.ext {
            let ds = image.datastore_id.to_string();
            u.add(Section::Datastore, &ds, "IMAGES", 1.0);
            u.add(Section::Datastore, &ds, "SIZE", image.size as f64);
        }
    }
    for obj in oned.pool(Kind::Vnet).values().filter(owned) {
        if let Ext::Vnet(vnet) = &obj.ext {
            if let Some(parent) = vnet.parent {
                let size: u64 = vnet.ars.iter().map(|ar| u64::from(ar.size)).sum();
                u.add(Section::Network, &parent.to_string(), "LEASES", size as f64);
            }
        }
    }
    for obj in oned.pool(Kind::VRouter).values().filter(owned) {
        for nic in obj.template.vectors("NIC") {
            let floating = nic
                .get("FLOATING_IP")
                .is_some_and(|f| f.eq_ignore_ascii_case("YES"));
            if let (true, Some(net)) = (floating, nic.get("NETWORK_ID")) {
                u.add(Section::Network, net, "LEASES", 1.0);
            }
        }
    }
    u
}

// ---------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------

/// One quota owner being checked: its limits, the defaults for its kind, what it uses and
/// what the checks of this request already took (`Quota::check_quota` adds as it goes).
struct Owner<'a> {
    oned: &'a Oned,
    kind: Kind,
    name: &'static str,
    id: i32,
    limits: Option<&'a QuotaSet>,
    defaults: Option<&'a QuotaSet>,
    /// What it uses, counted when a limit first needs it.
    used: std::cell::OnceCell<Usage>,
    /// What this request took so far.
    taken: Usage,
}

impl Owner<'_> {
    fn limit(&self, s: Section, key: &str, metric: &str) -> f32 {
        let own = self
            .limits
            .and_then(|l| l.find(s, key))
            .and_then(|e| e.get(metric))
            .and_then(|v| read_float(v))
            .unwrap_or(DEFAULT);
        if own != DEFAULT {
            return own;
        }
        match self.defaults.and_then(|d| d.find(s, key)) {
            Some(entry) => entry
                .get(metric)
                .and_then(|v| read_float(v))
                .unwrap_or(UNLIMITED),
            None => UNLIMITED,
        }
    }

    /// Checks and takes `request` on the entry `key` of `s`.
    fn take(
        &mut self,
        s: Section,
        key: &str,
        request: &[(&'static str, f64)],
    ) -> Result<(), String> {
        for metric in s.metrics() {
            let Some((_, value)) = request.iter().find(|(m, _)| m == metric) else {
                continue;
            };
            let limit = self.limit(s, key, metric);
            if limit == UNLIMITED {
                continue;
            }
            let counted = self
                .used
                .get_or_init(|| usage(self.oned, self.kind, self.id))
                .get(s, key, metric)
                + self.taken.get(s, key, metric);
            // oned keeps the usage as the text it writes and reads it back as a float.
            let used = read_float(&float_to_str(counted as f32)).unwrap_or(0.0);
            if used + *value as f32 > limit {
                let mut message = format!(
                    "{} [{}] limit of {} reached for {metric} quota in {}",
                    self.name,
                    self.id,
                    float_g(limit),
                    s.name()
                );
                if !key.is_empty() {
                    message.push_str(&format!(" with ID: {key}"));
                }
                return Err(message);
            }
        }
        for (metric, value) in request {
            self.taken.add(s, key, metric, *value);
        }
        Ok(())
    }
}

/// The owners a request is checked against (`SharedAPI::quota_authorization`): user `uid`
/// unless oneadmin, then group `gid` unless oneadmin's.
fn owners(oned: &Oned, uid: i32, gid: i32) -> Vec<Owner<'_>> {
    let mut out = Vec::new();
    if uid != 0 && uid != -1 {
        out.push(Owner {
            oned,
            kind: Kind::User,
            name: "user",
            id: uid,
            limits: oned.quotas.get(&(Kind::User, uid)),
            defaults: oned.default_quotas.get(&Kind::User),
            used: std::cell::OnceCell::new(),
            taken: Usage::default(),
        });
    }
    if gid != 0 && gid != -1 {
        out.push(Owner {
            oned,
            kind: Kind::Group,
            name: "group",
            id: gid,
            limits: oned.quotas.get(&(Kind::Group, gid)),
            defaults: oned.default_quotas.get(&Kind::Group),
            used: std::cell::OnceCell::new(),
            taken: Usage::default(),
        });
    }
    out
}

/// Runs `checks` for each owner in turn; the first refusal is the call's answer:
/// AUTHORIZATION `User [caller] : user [uid] limit of ... reached for ... quota in ...`.
fn authorize(
    oned: &Oned,
    caller: Caller,
    uid: i32,
    gid: i32,
    checks: impl Fn(&mut Owner<'_>) -> Result<(), String>,
) -> Result<(), Failure> {
    for mut owner in owners(oned, uid, gid) {
        checks(&mut owner).map_err(|e| {
            fail(
                ErrorCode::Authorization,
                format!("User [{}] : {e}.", caller.uid),
            )
        })?;
    }
    Ok(())
}

/// A new VM of owner `uid`, group `gid` (`Quotas::VIRTUALMACHINE`: a lease per NIC, the VM
/// quota, an RVMS per image disk).
pub(crate) fn authorize_vm(
    oned: &Oned,
    caller: Caller,
    uid: i32,
    gid: i32,
    demand: &VmDemand,
) -> Result<(), Failure> {
    authorize(oned, caller, uid, gid, |owner| {
        for net in &demand.networks {
            owner.take(Section::Network, &net.to_string(), &[("LEASES", 1.0)])?;
        }
        owner.take(Section::Vm, "", &demand.vm_metrics())?;
        for image in &demand.images {
            owner.take(Section::Image, &image.to_string(), &[("RVMS", 1.0)])?;
        }
        Ok(())
    })
}

/// A change of a VM's CPU and memory, as `one.vm.resize` asks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VmDelta {
    pub(crate) cpu: f64,
    pub(crate) memory: f64,
    /// Whether the RUNNING_* quotas change too.
    pub(crate) running: bool,
    /// The cluster of a placed VM.
    pub(crate) cluster: Option<i32>,
}

/// A change of a VM's CPU and memory (`Quotas::VM` with deltas): the cluster quota of a
/// placed VM first, then the global one (`QuotaVirtualMachine::update`).
pub(crate) fn authorize_vm_delta(
    oned: &Oned,
    caller: Caller,
    uid: i32,
    gid: i32,
    delta: VmDelta,
) -> Result<(), Failure> {
    let mut request = vec![("CPU", delta.cpu), ("MEMORY", delta.memory)];
    if delta.running {
        request.extend([("RUNNING_CPU", delta.cpu), ("RUNNING_MEMORY", delta.memory)]);
    }
    authorize(oned, caller, uid, gid, |owner| {
        if let Some(key) = delta
            .cluster
            .and_then(|cid| cluster_quota_key(owner.limits, cid))
        {
            owner.take(Section::Vm, &key, &request)?;
        }
        owner.take(Section::Vm, "", &request)
    })
}

/// A new image of `size` MB in datastore `ds` (`Quotas::DATASTORE`).
pub(crate) fn authorize_image(
    oned: &Oned,
    caller: Caller,
    uid: i32,
    gid: i32,
    ds: i32,
    size: f64,
) -> Result<(), Failure> {
    authorize(oned, caller, uid, gid, |owner| {
        owner.take(
            Section::Datastore,
            &ds.to_string(),
            &[("SIZE", size), ("IMAGES", 1.0)],
        )
    })
}

/// `count` leases of network `net` (`Quotas::NETWORK`: a NIC, a reservation).
pub(crate) fn authorize_leases(
    oned: &Oned,
    caller: Caller,
    uid: i32,
    gid: i32,
    net: i32,
    count: usize,
) -> Result<(), Failure> {
    authorize(oned, caller, uid, gid, |owner| {
        for _ in 0..count {
            owner.take(Section::Network, &net.to_string(), &[("LEASES", 1.0)])?;
        }
        Ok(())
    })
}

/// The demand of VM `id`, for a change of owner.
pub(crate) fn demand_of_vm(oned: &Oned, id: i32) -> Option<VmDemand> {
    oned.get(Kind::Vm, id).and_then(vm_demand)
}

// ---------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------

/// The entries of a user or group (limits with usage) or of the defaults (usage 0): the set
/// entries in order, then entries for what is used beyond them.
fn entries(set: Option<&QuotaSet>, usage: &Usage, s: Section, unset: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in set.map(|q| q.section(s).as_slice()).unwrap_or_default() {
        let key = entry.get(s.key()).cloned().unwrap_or_default();
        seen.insert(key.clone());
        out.push(with_usage(entry.clone(), usage, s, &key, unset));
    }
    let mut extra: Vec<&String> = usage.used[s as usize]
        .keys()
        .filter(|k| !seen.contains(*k))
        .collect();
    extra.sort_by_key(|k| k.parse::<i64>().unwrap_or(i64::MAX));
    for key in extra {
        let mut entry = Entry::new();
        if !key.is_empty() {
            entry.insert(s.key().into(), key.clone());
        }
        out.push(with_usage(entry, usage, s, key, unset));
    }
    out
}

fn with_usage(mut entry: Entry, usage: &Usage, s: Section, key: &str, unset: &str) -> Entry {
    for metric in s.metrics() {
        entry
            .entry(metric.to_string())
            .or_insert_with(|| unset.to_string());
        let used = float_to_str(usage.get(s, key, metric) as f32);
        entry.insert(format!("{metric}_USED"), used);
    }
    entry
}

fn value(entry: &Entry, name: &str) -> String {
    entry.get(name).cloned().unwrap_or_default()
}

fn datastore_model(e: &Entry) -> models::DatastoreQuotaUsage {
    models::DatastoreQuotaUsage {
        id: value(e, "ID"),
        images: value(e, "IMAGES"),
        images_used: value(e, "IMAGES_USED"),
        size: value(e, "SIZE"),
        size_used: value(e, "SIZE_USED"),
    }
}

fn network_model(e: &Entry) -> models::NetworkQuotaUsage {
    models::NetworkQuotaUsage {
        id: value(e, "ID"),
        leases: value(e, "LEASES"),
        leases_used: value(e, "LEASES_USED"),
    }
}

fn image_model(e: &Entry) -> models::ImageQuotaUsage {
    models::ImageQuotaUsage {
        id: value(e, "ID"),
        rvms: value(e, "RVMS"),
        rvms_used: value(e, "RVMS_USED"),
    }
}

fn vm_model(e: &Entry) -> models::VmQuotaUsage {
    models::VmQuotaUsage {
        cluster_ids: e.get("CLUSTER_IDS").cloned(),
        cpu: value(e, "CPU"),
        cpu_used: value(e, "CPU_USED"),
        memory: value(e, "MEMORY"),
        memory_used: value(e, "MEMORY_USED"),
        pci_dev: value(e, "PCI_DEV"),
        pci_dev_used: value(e, "PCI_DEV_USED"),
        pci_nic: value(e, "PCI_NIC"),
        pci_nic_used: value(e, "PCI_NIC_USED"),
        running_cpu: value(e, "RUNNING_CPU"),
        running_cpu_used: value(e, "RUNNING_CPU_USED"),
        running_memory: value(e, "RUNNING_MEMORY"),
        running_memory_used: value(e, "RUNNING_MEMORY_USED"),
        running_pci_dev: value(e, "RUNNING_PCI_DEV"),
        running_pci_dev_used: value(e, "RUNNING_PCI_DEV_USED"),
        running_pci_nic: value(e, "RUNNING_PCI_NIC"),
        running_pci_nic_used: value(e, "RUNNING_PCI_NIC_USED"),
        running_vms: value(e, "RUNNING_VMS"),
        running_vms_used: value(e, "RUNNING_VMS_USED"),
        system_disk_size: value(e, "SYSTEM_DISK_SIZE"),
        system_disk_size_used: value(e, "SYSTEM_DISK_SIZE_USED"),
        vms: value(e, "VMS"),
        vms_used: value(e, "VMS_USED"),
    }
}

/// The four quota sections of a set with its usage.
struct QuotaSections {
    datastore: models::DatastoreQuota,
    network: models::NetworkQuota,
    vm: models::VmQuota,
    image: models::ImageQuota,
}

fn quota_sections(set: Option<&QuotaSet>, usage: &Usage, unset: &str) -> QuotaSections {
    QuotaSections {
        datastore: models::DatastoreQuota {
            datastore: entries(set, usage, Section::Datastore, unset)
                .iter()
                .map(datastore_model)
                .collect(),
        },
        network: models::NetworkQuota {
            network: entries(set, usage, Section::Network, unset)
                .iter()
                .map(network_model)
                .collect(),
        },
        vm: models::VmQuota {
            vm: entries(set, usage, Section::Vm, unset)
                .iter()
                .map(vm_model)
                .collect(),
        },
        image: models::ImageQuota {
            image: entries(set, usage, Section::Image, unset)
                .iter()
                .map(image_model)
                .collect(),
        },
    }
}

/// The quotas of a user or group with their usage.
pub(crate) fn quotas_model(oned: &Oned, kind: Kind, id: i32) -> models::Quotas {
    let used = usage(oned, kind, id);
    let q = quota_sections(oned.quotas.get(&(kind, id)), &used, "-1");
    models::Quotas {
        id: i64::from(id),
        datastore_quota: Some(q.datastore),
        network_quota: Some(q.network),
        vm_quota: Some(q.vm),
        image_quota: Some(q.image),
    }
}

fn default_sections(oned: &Oned, kind: Kind) -> QuotaSections {
    quota_sections(oned.default_quotas.get(&kind), &Usage::default(), "-2")
}

pub(crate) fn default_user_quotas(oned: &Oned) -> models::DefaultUserQuotas {
    let q = default_sections(oned, Kind::User);
    models::DefaultUserQuotas {
        datastore_quota: Some(q.datastore),
        network_quota: Some(q.network),
        vm_quota: Some(models::DefaultVmQuota {
            vm: q.vm.vm.into_iter().next(),
        }),
        image_quota: Some(q.image),
    }
}

pub(crate) fn default_group_quotas(oned: &Oned) -> models::DefaultGroupQuotas {
    let q = default_sections(oned, Kind::Group);
    models::DefaultGroupQuotas {
        datastore_quota: Some(q.datastore),
        network_quota: Some(q.network),
        vm_quota: Some(models::DefaultVmQuota {
            vm: q.vm.vm.into_iter().next(),
        }),
        image_quota: Some(q.image),
    }
}

/// `<DEFAULT_USER_QUOTAS>` / `<DEFAULT_GROUP_QUOTAS>`.
pub(crate) fn default_quotas(oned: &Oned, kind: Kind) -> String {
    if kind == Kind::User {
        default_user_quotas(oned).to_xml()
    } else {
        default_group_quotas(oned).to_xml()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_and_read_like_oned() {
        assert_eq!(float_to_str(2.0), "2");
        assert_eq!(float_to_str(0.5), "0.50");
        assert_eq!(float_to_str(-1.0), "-1");
        assert_eq!(float_g(4.0), "4");
        assert_eq!(float_g(0.5), "0.5");
        assert_eq!(float_g(1_048_576.0), "1.04858e+06");
        assert_eq!(read_float("abc"), None);
        assert_eq!(read_float("2"), Some(2.0));
        assert_eq!(read_float(" 1e3"), Some(1000.0));
        assert_eq!(read_float("5 "), None);
        assert_eq!(read_float("."), None);
    }
}
