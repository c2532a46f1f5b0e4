//! Virtual routers: creation with their NICs, instantiation into VMs, NIC hotplug on the
//! router's VMs (src/vrouter/VirtualRouter.cc, src/rm/api/VirtualRouterAPI.cc), and their
//! documents.

use super::prelude::*;
use super::xml_parts::{ids_of, lock_of, owner_of, permissions_of};
use opennebula::models;

/// `one.vrouter.allocate`: each NIC names its network, and is numbered.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (name, mut template) = super::naming::named_template(p.str(0))?;
    super::naming::check_name(
        oned,
        Kind::VRouter,
        &name,
        caller.uid,
        ErrorCode::Internal,
        "",
    )?;
    for (index, nic) in template.vectors_mut("NIC").into_iter().enumerate() {
        if let Some(net) = nic.get("NETWORK_ID").cloned() {
            let net_id = net.parse::<i32>().unwrap_or(-1);
            let Some(vnet) = oned.get(Kind::Vnet, net_id) else {
                return Err(fail(
                    ErrorCode::Internal,
                    format!("Virtual network with ID: {net} does not exist"),
                ));
            };
            nic.insert("NETWORK".into(), vnet.name.clone());
        }
        nic.insert("NIC_ID".into(), index.to_string());
    }
    let id = super::naming::insert_new(oned, caller, Kind::VRouter, &name, template, Ext::None);
    Ok(Value::Int(id))
}

/// `one.vrouter.attachnic`.
pub(crate) fn attachnic(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit_nic(oned, caller, "attachnic", p)
}

/// `one.vrouter.detachnic`.
pub(crate) fn detachnic(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    edit_nic(oned, caller, "detachnic", p)
}

fn edit_nic(oned: &mut Oned, caller: Caller, action: &str, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    fetch(oned, caller, Kind::VRouter, id, Op::Manage, 2)?;
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
    let obj = oned.get_mut(Kind::VRouter, id).expect("fetched");
    if let Some(t) = parsed {
        let Some(mut nic) = t.vectors("NIC").first().map(|n| (*n).clone()) else {
            return Err(fail(ErrorCode::Action, "No NIC in template"));
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
                ErrorCode::Action,
                format!("NIC with NIC_ID {nic} does not exist."),
            ));
        }
    }
    nic_changed(oned, caller, id, action == "attachnic");
    Ok(Value::Int(id))
}

/// `one.vrouter.instantiate`: VMs from a template, each with the router's NICs.
pub(crate) fn instantiate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let (id, count, template_id, pattern, hold, extra) = (
        p.int(0),
        p.int(1),
        p.int(2),
        p.str(3),
        p.bool_or(4, false),
        p.str(5),
    );
    let router = fetch(oned, caller, Kind::VRouter, id, Op::Manage, 2)?.clone();
    let template = fetch(oned, caller, Kind::Template, template_id, Op::Use, 1)?
        .template
        .clone();
    let mut base = template;
    if !extra.is_empty() {
        base.merge(parse_template(extra)?);
    }
    base.remove("NIC");
    for nic in router.template.vectors("NIC") {
        let mut nic = nic.clone();
        nic.remove("NIC_ID");
        nic.remove("NETWORK");
        base.push("NIC", Attr::Vector(nic));
    }
    base.set("VROUTER_ID", id.to_string());
    for index in 0..count.max(0) {
        let name = if pattern.contains("%i") {
            pattern.replace("%i", &index.to_string())
        } else {
            format!("{pattern}-{index}")
        };
        super::vm::create::create_vm(
            oned,
            caller,
            base.clone(),
            Some(name),
            hold,
            Some(template_id),
        )?;
    }
    if let Some(obj) = oned.get_mut(Kind::VRouter, id) {
        obj.template.set("TEMPLATE_ID", template_id.to_string());
    }
    Ok(Value::Int(id))
}

/// The VMs of a virtual router are terminated with it.
pub(crate) fn deleted(oned: &mut Oned, caller: Caller, id: i32) {
    let vms: Vec<i32> = vms(oned, id);
    let now = oned.now();
    for vm in vms {
        if super::vm::vm_data(oned.get(Kind::Vm, vm).expect("listed")).state == VmState::Done {
            continue;
        }
        let data = super::vm::vm_mut(oned, vm);
        data.close_history(
            super::vm::actions::action_code("terminate-hard"),
            caller,
            now,
        );
        data.epilog(now);
        super::vm::actions::leave_host(oned, vm, now);
        super::vm::actions::release_resources(oned, vm);
        let data = super::vm::vm_mut(oned, vm);
        data.set_state(VmState::Done, LcmState::Init);
        data.etime = now;
    }
}

/// A NIC attached to (`attach`) or detached from virtual router `id`: oned hot-plugs it on
/// every VM of the router, which each record the action in their history.
pub(crate) fn nic_changed(oned: &mut Oned, caller: Caller, id: i32, attach: bool) {
    let now = oned.now();
    let code = super::vm::actions::action_code(if attach { "nic-attach" } else { "nic-detach" });
    for vm in vms(oned, id) {
        super::vm::vm_mut(oned, vm).record_action(code, caller, now);
    }
}

/// The ids of the VMs of virtual router `id`.
pub(crate) fn vms(oned: &Oned, id: i32) -> Vec<i32> {
    oned.pool(Kind::Vm)
        .values()
        .filter(|v| v.template.get("VROUTER_ID") == Some(&id.to_string()))
        .filter(|v| super::vm::vm_data(v).state != VmState::Done)
        .map(|v| v.id)
        .collect()
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::VirtualRouter> {
    let o = owner_of(oned, obj);
    Some(models::VirtualRouter {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        permissions: permissions_of(obj),
        lock: lock_of(obj),
        vms: ids_of(vms(oned, obj.id)),
        template: obj.template.to_template(),
    })
}
