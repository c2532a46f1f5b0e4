//! Virtual networks: creation with the driver's attributes and the address ranges of the
//! template, address-range changes, holds, releases and reservations
//! (src/vnm/VirtualNetwork.cc, VirtualNetworkPool.cc, src/rm/api/VirtualNetworkAPI.cc), and
//! their documents. A VM's leases are taken in [`super::vm::nics`].

pub(crate) mod address_range;
pub(crate) mod document;

use super::prelude::*;
use address_range::parse_ip;
pub(crate) use address_range::{add_address_range, format_ip, format_mac, AddressRange};

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

/// `one.vn.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Vnet)?;
    let (name, mut template) = super::naming::named_template(p.str(0))?;
    super::naming::check_name(oned, Kind::Vnet, &name, caller.uid, ErrorCode::Internal, "")?;
    let ext = Ext::Vnet(new_vnet(oned, &mut template)?);
    let id = super::naming::insert_new(oned, caller, Kind::Vnet, &name, template, ext);
    Ok(Value::Int(id))
}

/// A new virtual network from its allocation template (`one.vn.allocate`, or a VN template's
/// instantiation): takes the template's ARs and sets oned's defaults in it. An AR oned
/// rejects leaves the network in ERROR with the reason in the template's ERROR, and the
/// following ARs are not read.
pub(crate) fn new_vnet(oned: &Oned, template: &mut Tmpl) -> Result<VnetData, Failure> {
    let Some(vn_mad) = template.get("VN_MAD").map(str::to_string) else {
        return Err(fail(
            ErrorCode::Internal,
            "No VN_MAD in template for Virtual Network.",
        ));
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
            if let Err(reason) = add_address_range(&mut data, &ar) {
                data.state = 5;
                data.ars.clear();
                data.next_ar = 0;
                template.set(
                    "ERROR",
                    format!("{} : {reason}", crate::oned::ctime(oned.now())),
                );
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

/// `one.vn.add_ar`.
pub(crate) fn add_ar(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::Vnet, id, Op::Manage, 2)?;
    let t = parse_template(p.str(1))?;
    let data = data_mut(oned, id);
    let Some(ar) = t.vectors("AR").first().map(|a| (*a).clone()) else {
        return Err(fail(ErrorCode::Internal, "No AR in template"));
    };
    add_address_range(data, &ar).map_err(|e| fail(ErrorCode::Internal, e))?;
    Ok(Value::Int(id))
}

/// `one.vn.rm_ar`, `one.vn.free_ar`.
pub(crate) fn rm_ar(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::Vnet, id, Op::Manage, 2)?;
    let data = data_mut(oned, id);
    let ar_id = p.int(1);
    let Some(pos) = data.ars.iter().position(|a| a.id == ar_id) else {
        return Err(fail(ErrorCode::Internal, "Address Range does not exist"));
    };
    data.ars.remove(pos);
    Ok(Value::Int(id))
}

/// `one.vn.update_ar`.
pub(crate) fn update_ar(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::Vnet, id, Op::Manage, 2)?;
    let t = parse_template(p.str(1))?;
    let data = data_mut(oned, id);
    let Some(ar) = t.vectors("AR").first().map(|a| (*a).clone()) else {
        return Err(fail(ErrorCode::Internal, "No AR in template"));
    };
    let ar_id = ar
        .get("AR_ID")
        .and_then(|a| a.parse::<i32>().ok())
        .unwrap_or(-1);
    let Some(existing) = data.ars.iter_mut().find(|a| a.id == ar_id) else {
        return Err(fail(ErrorCode::Internal, "Address Range does not exist"));
    };
    if let Some(size) = ar.get("SIZE").and_then(|s| s.parse::<u32>().ok()) {
        existing.size = size;
    }
    // oned rewrites the range's allocation map when it updates it.
    existing.ever_allocated = true;
    for (k, v) in ar {
        if !matches!(k.as_str(), "AR_ID" | "SIZE" | "TYPE" | "IP" | "MAC") {
            existing.extra.insert(k, v);
        }
    }
    Ok(Value::Int(id))
}

/// `one.vn.hold`.
pub(crate) fn hold(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    hold_or_release(oned, caller, p, true)
}

/// `one.vn.release`.
pub(crate) fn release(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    hold_or_release(oned, caller, p, false)
}

/// Holds (`hold`) a free address of the network, or releases a held one.
fn hold_or_release(oned: &mut Oned, caller: Caller, p: &Params<'_>, hold: bool) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::Vnet, id, Op::Manage, 2)?;
    let t = parse_template(p.str(1))?;
    let data = data_mut(oned, id);
    let ip = t
        .vectors("LEASES")
        .first()
        .and_then(|l| l.get("IP").cloned())
        .unwrap_or_default();
    let refused = || {
        fail(
            ErrorCode::Internal,
            "Address is not part of the address range or in use.",
        )
    };
    let addr = parse_ip(&ip).ok_or_else(refused)?;
    let mut done = false;
    for ar in &mut data.ars {
        let Some(first) = ar.ip else { continue };
        if addr < first || addr - first >= ar.size {
            continue;
        }
        let index = addr - first;
        if hold && !ar.leases.contains_key(&index) {
            ar.lease(index, -1);
            done = true;
        } else if !hold && ar.leases.get(&index) == Some(&-1) {
            ar.leases.remove(&index);
            done = true;
        }
    }
    if !done {
        return Err(refused());
    }
    Ok(Value::Int(id))
}

/// `one.vn.reserve`: a new network holding `SIZE` free addresses of this one.
pub(crate) fn reserve(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::Vnet, id, Op::Manage, 2)?;
    let t = parse_template(p.str(1))?;
    let next_vnet_id = oned.next_ids.get(&Kind::Vnet).copied().unwrap_or(0);
    let obj = oned.get_mut(Kind::Vnet, id).expect("fetched");
    let Ext::Vnet(data) = &mut obj.ext else {
        unreachable!("the network pool holds networks")
    };
    let size = t
        .get("SIZE")
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(0);
    let name = t.get("NAME").unwrap_or("").to_string();
    let child = next_vnet_id;
    let Some(ar) = data
        .ars
        .iter_mut()
        .find(|a| (0..a.size).filter(|i| !a.leases.contains_key(i)).count() as u32 >= size)
    else {
        // oned consumes the new network's id before failing.
        oned.take_id(Kind::Vnet);
        return Err(fail(
            ErrorCode::Action,
            "Not enough free addresses in an address range",
        ));
    };
    let free: Vec<u32> = (0..ar.size)
        .filter(|i| !ar.leases.contains_key(i))
        .take(size as usize)
        .collect();
    for i in &free {
        ar.lease(*i, -1000 - child);
        ar.next_index = *i + 1;
    }
    let first_ip = ar.ip.map(|ip| ip + free[0]);
    let first_mac = ar.mac + free[0] as u64;
    let ar_type = ar.ar_type.clone();
    let ar_id = ar.id;
    let parent_template = obj.template.clone();
    let bridge = data.bridge.clone();
    let vn_mad = data.vn_mad.clone();
    let mut child_data = VnetData {
        state: 1,
        ars: Vec::new(),
        next_ar: 0,
        clusters: data.clusters.clone(),
        parent: Some(id),
        vn_mad,
        bridge,
        updated_vms: BTreeSet::new(),
    };
    let mut ar_vec = BTreeMap::from([
        ("TYPE".to_string(), ar_type),
        ("SIZE".to_string(), size.to_string()),
        ("MAC".to_string(), format_mac(first_mac)),
    ]);
    if let Some(ip) = first_ip {
        ar_vec.insert("IP".into(), format_ip(ip));
    }
    ar_vec.insert("PARENT_NETWORK_AR_ID".into(), ar_id.to_string());
    let _ = add_address_range(&mut child_data, &ar_vec);
    let new_id = oned.take_id(Kind::Vnet);
    let now = oned.now();
    let mut child_obj = Obj::new(Kind::Vnet, new_id, &name, caller.uid, caller.gid, now);
    child_obj.template = parent_template;
    child_obj.ext = Ext::Vnet(child_data);
    oned.insert(child_obj);
    Ok(Value::Int(new_id))
}

/// The data of network `id`, which the caller has fetched.
fn data_mut(oned: &mut Oned, id: i32) -> &mut VnetData {
    match oned.get_mut(Kind::Vnet, id).map(|o| &mut o.ext) {
        Some(Ext::Vnet(data)) => data,
        _ => unreachable!("the network pool holds networks"),
    }
}

/// `one.vn.recover`.
pub(crate) fn recover(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::Vnet, id, Op::Manage, 2)?;
    Err(fail(
        ErrorCode::Internal,
        format!("Could not perform 'recover success' on VN {id}, wrong state READY."),
    ))
}

/// Frees the addresses a reservation `child` holds on `parent`.
pub(crate) fn release_reservation(oned: &mut Oned, parent: i32, child: i32) {
    if let Some(Ext::Vnet(data)) = oned.get_mut(Kind::Vnet, parent).map(|n| &mut n.ext) {
        for ar in &mut data.ars {
            ar.leases.retain(|_, owner| *owner != -1000 - child);
        }
    }
}
