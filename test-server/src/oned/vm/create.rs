//! A new VM: `one.vm.allocate` and what oned adds to the template of a new VM (disks from
//! their images, context, NICs with their leases, the automatic requirements), shared by
//! template and virtual router instantiation (src/vm/VirtualMachine.cc `insert`,
//! VirtualMachineDisk.cc, VirtualMachineNic.cc, src/rm/api/VirtualMachineAPI.cc allocate).

use super::super::prelude::*;
use super::VmData;

/// `one.vm.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let hold = p.bool_or(1, false);
    parse_template(p.str(0)).and_then(|t| create_vm(oned, caller, t, None, hold, None))
}

/// Attributes oned keeps in a VM's TEMPLATE; everything else goes to USER_TEMPLATE.
const VM_TEMPLATE_ATTRIBUTES: &[&str] = &[
    "AS_GID",
    "AS_UID",
    "AUTOMATIC_DS_REQUIREMENTS",
    "AUTOMATIC_NIC_REQUIREMENTS",
    "AUTOMATIC_REQUIREMENTS",
    "BACKUP_CONFIG",
    "CONTEXT",
    "CPU",
    "CPU_MODEL",
    "DISK",
    "EMULATOR",
    "FEATURES",
    "GRAPHICS",
    "HYPERV_OPTIONS",
    "INPUT",
    "MEMORY",
    "MEMORY_MAX",
    "MEMORY_RESIZE_MODE",
    "MEMORY_SLOTS",
    "NIC",
    "NIC_ALIAS",
    "NIC_DEFAULT",
    "NUMA_NODE",
    "OS",
    "PCI",
    "RAW",
    "SCHED_ACTION",
    "SECURITY_GROUP_RULE",
    "SNAPSHOT",
    "SPICE_OPTIONS",
    "SUBMIT_ON_HOLD",
    "TEMPLATE_ID",
    "TM_MAD_SYSTEM",
    "TOPOLOGY",
    "VCPU",
    "VCPU_MAX",
    "VMGROUP",
    "VMID",
    "VROUTER_ID",
    "VROUTER_KEEPALIVED_ID",
    "VROUTER_KEEPALIVED_PASSWORD",
    "VIDEO",
];

pub(crate) fn disk_target(index: usize) -> String {
    format!("sd{}", (b'a' + (index % 26) as u8) as char)
}

/// Fills in what oned adds to each DISK of a new VM (from its image and datastore).
pub(crate) fn expand_disks(
    oned: &Oned,
    disks: Vec<BTreeMap<String, String>>,
    has_context: bool,
    for_vm: bool,
) -> Result<Vec<BTreeMap<String, String>>, Failure> {
    let mut expanded = Vec::with_capacity(disks.len());
    for (index, mut disk) in disks.into_iter().enumerate() {
        let image = match (disk.get("IMAGE_ID").cloned(), disk.get("IMAGE").cloned()) {
            (Some(image), _) => {
                let image_id = image.parse::<i32>().unwrap_or(-1);
                Some(oned.get(Kind::Image, image_id).ok_or_else(|| {
                    fail(
                        ErrorCode::Internal,
                        format!("DISK {index}: Image with ID: {image} does not exist"),
                    )
                })?)
            }
            (None, Some(name)) => Some(
                oned.pool(Kind::Image)
                    .values()
                    .find(|i| i.name == name)
                    .ok_or_else(|| {
                        fail(
                            ErrorCode::Internal,
                            format!("DISK {index}: Image {name} does not exist"),
                        )
                    })?,
            ),
            _ => None,
        };
        disk.insert("DISK_ID".into(), index.to_string());
        if for_vm {
            disk.entry("DEV_PREFIX".into())
                .or_insert_with(|| "sd".into());
        }
        if let Some(img) = image {
            let Ext::Image(data) = &img.ext else {
                unreachable!("image pool")
            };
            let ds = oned.get(Kind::Datastore, data.datastore_id);
            let tm_mad = match ds.map(|d| &d.ext) {
                Some(Ext::Datastore(d)) => d.tm_mad.clone(),
                _ => String::new(),
            };
            let persistent = if data.persistent { "YES" } else { "NO" };
            for (k, v) in [
                ("ALLOW_ORPHANS", "NO".to_string()),
                (
                    "CLONE",
                    if data.persistent { "NO" } else { "YES" }.to_string(),
                ),
                ("CLONE_TARGET", "SYSTEM".to_string()),
                ("CLUSTER_ID", "0".to_string()),
                ("DATASTORE", ds.map(|d| d.name.clone()).unwrap_or_default()),
                ("DATASTORE_ID", data.datastore_id.to_string()),
                ("DISK_SNAPSHOT_TOTAL_SIZE", "0".to_string()),
                ("DISK_TYPE", "FILE".to_string()),
                ("DRIVER", "raw".to_string()),
                ("FORMAT", "raw".to_string()),
                ("IMAGE", img.name.clone()),
                ("IMAGE_ID", img.id.to_string()),
                // A VM's disk holds its image in USED (2); a template shows the image's state.
                (
                    "IMAGE_STATE",
                    if for_vm {
                        opennebula::api::ImageState::Used
                    } else {
                        data.state
                    }
                    .code()
                    .to_string(),
                ),
                ("LN_TARGET", "NONE".to_string()),
                ("ORIGINAL_SIZE", data.size.to_string()),
                ("PERSISTENT_SNAPSHOTS", "YES".to_string()),
                ("READONLY", "NO".to_string()),
                ("SAVE", persistent.to_string()),
                ("SIZE", data.size.to_string()),
                ("SOURCE", data.source.clone()),
                ("TM_MAD", tm_mad),
                ("TYPE", "FILE".to_string()),
            ] {
                disk.entry(k.into()).or_insert(v);
            }
            if let Some(prefix) = img.template.get("DEV_PREFIX") {
                disk.insert("DEV_PREFIX".into(), prefix.to_string());
            }
        }
        expanded.push(disk);
    }
    if !for_vm {
        return Ok(expanded);
    }
    // Targets: image disks first, then the context CD-ROM, then volatile disks.
    let mut next = 0;
    for disk in expanded.iter_mut().filter(|d| d.contains_key("IMAGE_ID")) {
        disk.entry("TARGET".into())
            .or_insert_with(|| disk_target(next));
        next += 1;
    }
    if has_context {
        next += 1;
    }
    for disk in expanded.iter_mut().filter(|d| !d.contains_key("IMAGE_ID")) {
        disk.entry("TARGET".into())
            .or_insert_with(|| disk_target(next));
        next += 1;
    }
    Ok(expanded)
}

/// The CONTEXT target: the letter after the image disks.
pub(crate) fn context_target(disks: &[BTreeMap<String, String>]) -> String {
    disk_target(disks.iter().filter(|d| d.contains_key("IMAGE_ID")).count())
}

/// Creates a VM from a template (vm.allocate, template.instantiate).
pub(crate) fn create_vm(
    oned: &mut Oned,
    caller: Caller,
    mut template: Tmpl,
    name: Option<String>,
    hold: bool,
    template_id: Option<i32>,
) -> Handled {
    let memory = template.get("MEMORY").map(str::to_string);
    let memory_mb = match memory.as_deref().map(str::parse::<i64>) {
        Some(Ok(m)) if m > 0 => m,
        _ => {
            let message = "MEMORY attribute must be a positive integer value.";
            return Err(if template_id.is_some() {
                fail(
                    ErrorCode::Allocate,
                    format!("Error allocating a new virtual machine template. {message}"),
                )
            } else {
                fail(ErrorCode::Internal, message)
            });
        }
    };
    let cpu = template
        .get("CPU")
        .and_then(|c| c.parse::<f64>().ok())
        .unwrap_or(1.0);
    let has_context = template.has("CONTEXT");
    let disks: Vec<BTreeMap<String, String>> = template
        .remove("DISK")
        .into_iter()
        .filter_map(|d| match d {
            Attr::Vector(v) => Some(v),
            Attr::Single(_) => None,
        })
        .collect();
    let disks = expand_disks(oned, disks, has_context, true)?;
    for nic in template.vectors("NIC") {
        if let Some(net) = nic.get("NETWORK_ID") {
            let net_id = net.parse::<i32>().unwrap_or(-1);
            if oned.get(Kind::Vnet, net_id).is_none() {
                return Err(fail(
                    ErrorCode::Internal,
                    format!("NIC 0: Virtual network with ID: {net} does not exist"),
                ));
            }
        }
    }
    let now = oned.now();
    let id = oned.take_id(Kind::Vm);
    let vm_name = match name.filter(|n| !n.is_empty()) {
        Some(n) => n,
        None => match (template.get("NAME"), template_id) {
            (_, Some(t)) => format!(
                "{}-{id}",
                oned.get(Kind::Template, t)
                    .map(|t| t.name.clone())
                    .unwrap_or_default()
            ),
            (Some(n), None) => n.to_string(),
            (None, None) => format!("one-{id}"),
        },
    };
    template.remove("NAME");
    // oned splits the attributes between TEMPLATE and USER_TEMPLATE.
    let mut user_template = Tmpl::default();
    let names: Vec<String> = template.names();
    for attr in names {
        if !VM_TEMPLATE_ATTRIBUTES.contains(&attr.as_str()) {
            for value in template.remove(&attr) {
                user_template.push(&attr, value);
            }
        }
    }
    for disk in &disks {
        if let Some(image_id) = disk.get("IMAGE_ID").and_then(|i| i.parse::<i32>().ok()) {
            if let Some(Ext::Image(i)) = oned.get_mut(Kind::Image, image_id).map(|i| &mut i.ext) {
                i.vms.insert(id);
                i.set_state(opennebula::api::ImageState::Used);
            }
        }
    }
    let image_disks = disks.iter().any(|d| d.contains_key("IMAGE_ID"));
    expand_user_variables(oned, caller, &mut template);
    if has_context {
        let target = context_target(&disks);
        for context in template.vectors_mut("CONTEXT") {
            context.insert("DISK_ID".into(), disks.len().to_string());
            context.insert("TARGET".into(), target.clone());
        }
    }
    for disk in disks {
        template.push("DISK", Attr::Vector(disk));
    }
    template.set("VMID", id.to_string());
    if let Some(t) = template_id {
        template.set("TEMPLATE_ID", t.to_string());
    }
    if hold {
        template.set("SUBMIT_ON_HOLD", "YES");
    }
    set_automatic_requirements(&mut template, image_disks);
    set_os(&mut template, &format!("{id}-{now}-{vm_name}"));
    let mut obj = Obj::new(Kind::Vm, id, &vm_name, caller.uid, caller.gid, now);
    let nics = template.remove("NIC");
    obj.template = template;
    let state = if hold {
        VmState::Hold
    } else {
        VmState::Pending
    };
    obj.ext = Ext::Vm(Box::new(VmData {
        user_template,
        cpu,
        memory_mb,
        ..VmData::new(state, now)
    }));
    oned.insert(obj);
    for nic in nics {
        if let Attr::Vector(nic) = nic {
            let text = nic_text(&nic);
            if let Err(e) = super::nics::attach_nic_inner(oned, id, &text) {
                super::actions::release_resources(oned, id);
                oned.pool_mut(Kind::Vm).remove(&id);
                return Err(e);
            }
        }
    }
    refresh_context(oned, id);
    Ok(Value::Int(id))
}

/// `$USER[ATTR]` in the context reads the owner's template.
fn expand_user_variables(oned: &Oned, caller: Caller, template: &mut Tmpl) {
    let owner_template = oned
        .get(Kind::User, caller.uid)
        .map(|u| u.template.clone())
        .unwrap_or_default();
    for context in template.vectors_mut("CONTEXT") {
        for value in context.values_mut() {
            while let Some(start) = value.find("$USER[") {
                let Some(len) = value[start..].find(']') else {
                    break;
                };
                let attr = value[start + 6..start + len].to_string();
                let replacement = owner_template.get(&attr).unwrap_or("").to_string();
                value.replace_range(start..start + len + 1, &replacement);
            }
        }
    }
}

/// The cluster requirements oned derives from where a VM's images and networks are
/// (`VirtualMachine::automatic_requirements`): all in cluster 0 here.
fn set_automatic_requirements(template: &mut Tmpl, image_disks: bool) {
    let in_cluster = image_disks || template.has("NIC");
    if image_disks {
        template.set("AUTOMATIC_DS_REQUIREMENTS", "(\"CLUSTERS/ID\" @> 0)");
    }
    if template.has("NIC") {
        template.set("AUTOMATIC_NIC_REQUIREMENTS", "(\"CLUSTERS/ID\" @> 0)");
    }
    template.set(
        "AUTOMATIC_REQUIREMENTS",
        if in_cluster {
            "(CLUSTER_ID = 0) & !(PIN_POLICY = PINNED)"
        } else {
            "!(PIN_POLICY = PINNED)"
        },
    );
}

/// The OS section oned completes: the machine type's default and a UUID (derived from
/// `seed` here, so it stays the same from one call to the next).
fn set_os(template: &mut Tmpl, seed: &str) {
    let uuid = crate::oned::sha256_hex(seed);
    let uuid = format!(
        "{}-{}-4{}-8{}-{}",
        &uuid[0..8],
        &uuid[8..12],
        &uuid[13..16],
        &uuid[17..20],
        &uuid[20..32]
    );
    let mut os = template
        .vectors("OS")
        .first()
        .map(|o| (*o).clone())
        .unwrap_or_default();
    os.entry("MACHINE".into()).or_insert_with(|| "q35".into());
    os.insert("UUID".into(), uuid);
    template.remove("OS");
    template.push("OS", Attr::Vector(os));
}

/// Recomputes the ETHn_* context variables and the security group rules from the NICs.
pub(crate) fn refresh_context(oned: &mut Oned, id: i32) {
    let Some(obj) = oned.get(Kind::Vm, id) else {
        return;
    };
    let nics: Vec<BTreeMap<String, String>> =
        obj.template.vectors("NIC").into_iter().cloned().collect();
    let mut rules = Vec::new();
    let mut seen = BTreeSet::new();
    for nic in &nics {
        for sg in nic
            .get("SECURITY_GROUPS")
            .map(|l| {
                l.split(',')
                    .filter_map(|s| s.trim().parse::<i32>().ok())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        {
            if !seen.insert(sg) {
                continue;
            }
            if let Some(group) = oned.get(Kind::SecGroup, sg) {
                for rule in group.template.vectors("RULE") {
                    let mut rule = rule.clone();
                    rule.insert("SECURITY_GROUP_ID".into(), sg.to_string());
                    rule.insert("SECURITY_GROUP_NAME".into(), group.name.clone());
                    rules.push(rule);
                }
            }
        }
    }
    let mut networks = BTreeMap::new();
    for nic in &nics {
        if let Some(net) = nic.get("NETWORK_ID").and_then(|n| n.parse::<i32>().ok()) {
            if let Some(vnet) = oned.get(Kind::Vnet, net) {
                networks.insert(net, vnet.template.clone());
            }
        }
    }
    let obj = oned.get_mut(Kind::Vm, id).expect("VM exists");
    obj.template.remove("SECURITY_GROUP_RULE");
    for rule in rules {
        obj.template.push("SECURITY_GROUP_RULE", Attr::Vector(rule));
    }
    for context in obj.template.vectors_mut("CONTEXT") {
        if !context
            .get("NETWORK")
            .is_some_and(|n| n.eq_ignore_ascii_case("yes"))
        {
            continue;
        }
        context.retain(|k, _| !(k.starts_with("ETH") && k.contains('_')));
        for nic in &nics {
            let index = nic.get("NIC_ID").cloned().unwrap_or_default();
            let net = nic
                .get("NETWORK_ID")
                .and_then(|n| n.parse::<i32>().ok())
                .and_then(|n| networks.get(&n));
            let from_net = |attr: &str| {
                net.and_then(|t| t.get(attr))
                    .map(str::to_string)
                    .unwrap_or_default()
            };
            for (key, value) in [
                ("DNS", from_net("DNS")),
                ("EXTERNAL", String::new()),
                ("GATEWAY", from_net("GATEWAY")),
                ("IP", nic.get("IP").cloned().unwrap_or_default()),
                ("IP6", String::new()),
                ("IP6_GATEWAY", String::new()),
                ("IP6_METHOD", String::new()),
                ("IP6_METRIC", String::new()),
                ("IP6_PREFIX_LENGTH", String::new()),
                ("IP6_ULA", String::new()),
                ("MAC", nic.get("MAC").cloned().unwrap_or_default()),
                ("MASK", from_net("NETWORK_MASK")),
                ("METHOD", String::new()),
                ("METRIC", String::new()),
                ("MTU", String::new()),
                ("NETWORK", from_net("NETWORK_ADDRESS")),
                ("ROUTES", String::new()),
                ("SEARCH_DOMAIN", String::new()),
                ("VLAN_ID", String::new()),
                ("VROUTER_IP", String::new()),
                ("VROUTER_IP6", String::new()),
                ("VROUTER_MANAGEMENT", String::new()),
            ] {
                context.insert(format!("ETH{index}_{key}"), value);
            }
        }
    }
}

pub(crate) fn nic_text(nic: &BTreeMap<String, String>) -> String {
    let body: Vec<String> = nic
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('"', "\\\"")))
        .collect();
    format!("NIC=[{}]", body.join(","))
}
