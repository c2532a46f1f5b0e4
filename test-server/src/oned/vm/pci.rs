//! PCI devices of a VM: hot attach and detach, and the dummy host's device a request gets
//! (src/host/HostSharePCI.cc, src/rm/api/VirtualMachineAPI.cc).

use super::super::prelude::*;
use super::actions::action_code;
use super::{remove_by_id, vm_data, vm_mut};

/// `one.vm.attachpci`.
pub(crate) fn attach(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;
    let now = oned.now();

    let t = parse_template(p.str(1))?;
    let Some(mut pci) = t.vectors("PCI").first().map(|v| (*v).clone()) else {
        return Err(fail(ErrorCode::Action, "No PCI in template"));
    };
    let host = vm_data(oned.get(Kind::Vm, id).expect("fetched"))
        .history
        .last()
        .map(|h| h.hid);
    let probed = host
        .and_then(|h| oned.get(Kind::Host, h))
        .is_some_and(|h| matches!(&h.ext, Ext::Host(d) if d.probed));
    let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
    let next = obj.template.vectors("PCI").len();
    pci.insert("PCI_ID".into(), next.to_string());
    if probed {
        assign_pci(&mut pci, next);
    }
    obj.template.push("PCI", Attr::Vector(pci));
    vm_mut(oned, id).record_action(action_code("pci-attach"), caller, now);
    Ok(Value::Int(id))
}

/// `one.vm.detachpci`.
pub(crate) fn detach(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    super::managed(oned, caller, id)?;
    let now = oned.now();

    let pci = p.int(1).to_string();
    let obj = oned.get_mut(Kind::Vm, id).expect("fetched");
    if !remove_by_id(obj, "PCI", "PCI_ID", &pci) {
        return Err(fail(ErrorCode::Action, "PCI device not found"));
    }
    vm_mut(oned, id).record_action(action_code("pci-detach"), caller, now);
    Ok(Value::Int(id))
}

/// Fills the VM's PCI request `pci` (the VM's `index`-th) with the dummy host's device it
/// names, as oned assigns one on a host: the device's address (ADDRESS, DOMAIN, BUS, SLOT,
/// FUNCTION), ids (VENDOR, DEVICE, CLASS) and NUMA node, and where the VM sees it (each
/// device on its own bus: VM_BUS 0x01 for the first ...). A request by SHORT_ADDRESS names
/// one device; one by VENDOR / DEVICE / CLASS takes the first device matching all it
/// gives. A request no device matches is left as given.
fn assign_pci(pci: &mut BTreeMap<String, String>, index: usize) {
    let devices = super::super::host::dummy::pci_devices().pci;
    let wanted = |name: &str, value: &str| pci.get(name).is_none_or(|v| v == value);
    let by_address = pci.contains_key("SHORT_ADDRESS");
    let Some(device) = devices.iter().find(|d| {
        if by_address {
            wanted("SHORT_ADDRESS", &d.short_address)
        } else {
            ["VENDOR", "DEVICE", "CLASS"]
                .iter()
                .any(|k| pci.contains_key(*k))
                && wanted("VENDOR", &d.vendor)
                && wanted("DEVICE", &d.device)
                && wanted("CLASS", &d.class)
        }
    }) else {
        return;
    };
    let vm_bus = index + 1;
    for (name, value) in [
        ("ADDRESS", device.address.clone()),
        ("DOMAIN", device.domain.clone()),
        ("BUS", device.bus.clone()),
        ("SLOT", device.slot.clone()),
        ("FUNCTION", device.function.clone()),
        ("VENDOR", device.vendor.clone()),
        ("DEVICE", device.device.clone()),
        ("CLASS", device.class.clone()),
        ("NUMA_NODE", device.numa_node.clone()),
        ("SHORT_ADDRESS", device.short_address.clone()),
        ("VM_DOMAIN", "0x0000".to_string()),
        ("VM_BUS", format!("0x{vm_bus:02x}")),
        ("VM_SLOT", "0000".to_string()),
        ("VM_FUNCTION", "0".to_string()),
        ("VM_ADDRESS", format!("{vm_bus:02x}:00.0")),
    ] {
        pci.insert(name.to_string(), value);
    }
}
