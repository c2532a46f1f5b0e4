//! VM NICs: hot attach, detach and update, security groups, and the leases a NIC takes from
//! its network (src/vm/VirtualMachineNic.cc, src/vnm/VirtualNetwork.cc `nic_attribute`).

use super::super::prelude::*;
use super::super::vnet::address_range::{format_ip, format_mac, parse_ip, parse_mac, take_lease};
use super::actions::action_code;
use super::create::refresh_context;
use super::vm_mut;

/// `one.vm.attachnic`.
pub(crate) fn attach(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, text) = (p.int(0), p.str(1));
    fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
    attach_nic_inner(oned, id, text)?;
    refresh_context(oned, id);
    let now = oned.now();
    vm_mut(oned, id).record_action(action_code("nic-attach"), caller, now);
    Ok(Value::Int(id))
}

/// `one.vm.detachnic`.
pub(crate) fn detach(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);

    fetch(oned, caller, Kind::Vm, id, Op::Manage, 2)?;
    let nic_id = p.int(1).to_string();
    let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
    let nics = obj.template.remove("NIC");
    let before = nics.len();
    let mut released = None;
    let kept: Vec<Attr> = nics
        .into_iter()
        .filter(|a| match a {
            Attr::Vector(v) if v.get("NIC_ID") == Some(&nic_id) => {
                released = Some(v.clone());
                false
            }
            _ => true,
        })
        .collect();
    let after = kept.len();
    for nic in kept {
        obj.template.push("NIC", nic);
    }
    if before == after {
        return Err(fail(
            ErrorCode::Action,
            format!("Could not detach NIC with NIC_ID {nic_id}, it does not exist."),
        ));
    }
    if let Some(nic) = released {
        release_nic(oned, id, &nic);
    }
    refresh_context(oned, id);
    let now = oned.now();
    vm_mut(oned, id).record_action(action_code("nic-detach"), caller, now);
    Ok(Value::Int(id))
}

/// `one.vm.updatenic`.
pub(crate) fn update(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;
    let now = oned.now();

    let nic = p.int(1).to_string();
    let t = parse_template(p.str(2))?;
    let update = t
        .vectors("NIC")
        .first()
        .map(|v| (*v).clone())
        .unwrap_or_default();
    let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
    let mut found = false;
    for n in obj.template.vectors_mut("NIC") {
        if n.get("NIC_ID") == Some(&nic) {
            found = true;
            n.extend(update.clone());
        }
    }
    if !found {
        return Err(fail(
            ErrorCode::Action,
            format!("VM {id}: NIC {nic} does not exist"),
        ));
    }
    vm_mut(oned, id).record_action(action_code("nic-update"), caller, now);
    Ok(Value::Int(id))
}

/// `one.vm.attachsg`.
pub(crate) fn attach_sg(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit_sg(oned, caller, p, true)
}

/// `one.vm.detachsg`.
pub(crate) fn detach_sg(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit_sg(oned, caller, p, false)
}

/// Adds security group `p[2]` to NIC `p[1]` (`attach`) or removes it.
fn edit_sg(oned: &mut Oned, caller: Caller, p: &Params<'_>, attach: bool) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;

    let (nic, sg) = (p.int(1).to_string(), p.int(2));
    if oned.get(Kind::SecGroup, sg).is_none() {
        return Err(no_exists(Kind::SecGroup, sg));
    }
    let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
    let mut found = false;
    for n in obj.template.vectors_mut("NIC") {
        if n.get("NIC_ID") == Some(&nic) {
            found = true;
            let mut list: Vec<String> = n
                .get("SECURITY_GROUPS")
                .map(|l| l.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            list.retain(|x| x != &sg.to_string());
            if attach {
                list.push(sg.to_string());
            }
            n.insert("SECURITY_GROUPS".into(), list.join(","));
        }
    }
    if !found {
        return Err(fail(
            ErrorCode::Action,
            format!("VM {id}: NIC {nic} does not exist"),
        ));
    }
    // The VM's SECURITY_GROUP_RULE list follows its NICs' groups.
    refresh_context(oned, id);
    Ok(Value::Int(id))
}

pub(crate) fn attach_nic_inner(oned: &mut Oned, id: i32, text: &str) -> Result<(), Failure> {
    let t = parse_template(text)?;
    let Some(nic) = t.vectors("NIC").first().map(|n| (*n).clone()) else {
        return Err(fail(ErrorCode::Action, "No NIC in template"));
    };
    let mut nic = nic;
    if let Some(net) = nic.get("NETWORK_ID").cloned().or_else(|| {
        let name = nic.get("NETWORK")?;
        oned.pool(Kind::Vnet)
            .values()
            .find(|n| &n.name == name)
            .map(|n| n.id.to_string())
    }) {
        let net_id = net.parse::<i32>().unwrap_or(-1);
        let Some(vnet) = oned.get_mut(Kind::Vnet, net_id) else {
            return Err(fail(
                ErrorCode::Action,
                format!("Virtual network with ID: {net} does not exist"),
            ));
        };
        let name = vnet.name.clone();
        let mut net_template = vnet.template.clone();
        let Ext::Vnet(data) = &mut vnet.ext else {
            unreachable!()
        };
        let ip = nic.get("IP").cloned();
        let Some((ar_id, index)) = take_lease(data, id, ip.as_deref()) else {
            return Err(fail(
                ErrorCode::Action,
                format!("Cannot get IP/MAC lease from virtual network {net_id}."),
            ));
        };
        data.updated_vms.insert(id);
        let ar = data.ars.iter().find(|a| a.id == ar_id).expect("lease AR");
        if let Some(first) = ar.ip {
            nic.insert("IP".into(), format_ip(first + index));
        }
        nic.insert("MAC".into(), format_mac(ar.mac + index as u64));
        nic.insert("AR_ID".into(), ar_id.to_string());
        nic.insert("NETWORK".into(), name);
        nic.insert("NETWORK_ID".into(), net_id.to_string());
        nic.insert("BRIDGE".into(), data.bridge.clone());
        nic.insert("VN_MAD".into(), data.vn_mad.clone());
        nic.insert("CLUSTER_ID".into(), "0".into());
        for attr in ["DNS", "GATEWAY", "SECURITY_GROUPS", "BRIDGE_TYPE"] {
            if let Some(v) = net_template.get(attr) {
                nic.insert(attr.into(), v.to_string());
            }
        }
        net_template.remove("X");
    }
    let obj = oned.get_mut(Kind::Vm, id).expect("VM exists");
    let next = obj
        .template
        .vectors("NIC")
        .iter()
        .filter_map(|n| n.get("NIC_ID")?.parse::<i32>().ok())
        .max()
        .map_or(0, |m| m + 1);
    nic.insert("NIC_ID".into(), next.to_string());
    nic.insert("NAME".into(), format!("NIC{next}"));
    nic.insert("TARGET".into(), format!("one-{id}-{next}"));
    obj.template.push("NIC", Attr::Vector(nic));
    Ok(())
}

pub(crate) fn release_nic(oned: &mut Oned, vm: i32, nic: &BTreeMap<String, String>) {
    let Some(net_id) = nic.get("NETWORK_ID").and_then(|n| n.parse::<i32>().ok()) else {
        return;
    };
    // Only this NIC's address: the VM may hold other leases on the same network.
    let ip = nic.get("IP").and_then(|ip| parse_ip(ip));
    let mac = nic.get("MAC").and_then(|mac| parse_mac(mac));
    if let Some(Ext::Vnet(data)) = oned.get_mut(Kind::Vnet, net_id).map(|n| &mut n.ext) {
        data.updated_vms.remove(&vm);
        for ar in &mut data.ars {
            ar.leases.retain(|index, owner| {
                let this_nic = match (ip, ar.ip, mac) {
                    (Some(ip), Some(first), _) => first + index == ip,
                    (_, _, Some(mac)) => ar.mac + u64::from(*index) == mac,
                    _ => true,
                };
                !(*owner == vm && this_nic)
            });
        }
    }
}
