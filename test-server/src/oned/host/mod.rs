//! Hosts: creation, status changes, the dummy information driver's monitoring
//! (src/host/Host.cc, HostPool.cc, src/rm/RequestManagerHost.cc), and their documents.

pub(crate) mod dummy;

use super::auth::admin_only;
use super::prelude::*;
use super::xml_parts::{ids_of, xml_of};
use opennebula::api::HostState;
use opennebula::models;

#[derive(Debug, Clone)]
pub(crate) struct HostData {
    pub(crate) state: HostState,
    pub(crate) prev_state: HostState,
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

/// `one.host.allocate`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Host)?;
    let (name, im_mad, vm_mad, cluster) = (p.str(0), p.str(1), p.str(2), p.int(3));
    let cluster = if cluster < 0 { 0 } else { cluster };
    if oned.get(Kind::Cluster, cluster).is_none() {
        return Err(no_exists(Kind::Cluster, cluster));
    }
    let prefix = "Error allocating a new host. ";
    super::naming::check_name(
        oned,
        Kind::Host,
        name,
        caller.uid,
        ErrorCode::Allocate,
        prefix,
    )?;
    if im_mad.is_empty() {
        return Err(fail(
            ErrorCode::Allocate,
            format!("{prefix}IM_MAD_NAME cannot be empty."),
        ));
    }
    if vm_mad.is_empty() {
        return Err(fail(
            ErrorCode::Allocate,
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
        state: HostState::Init,
        prev_state: HostState::Init,
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
    Ok(Value::Int(id))
}

/// `one.host.status`: enable (0), disable (1) or offline (2).
pub(crate) fn status(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    admin_only(oned, caller, Kind::Host, id)?;
    let status = p.int(1);
    let host = oned
        .get_mut(Kind::Host, id)
        .ok_or_else(|| no_exists(Kind::Host, id))?;
    let Ext::Host(h) = &mut host.ext else {
        unreachable!("the host pool holds hosts")
    };
    let new_state = match status {
        0 if h.total_cpu == 0 => HostState::Init,
        0 => HostState::Monitored,
        1 => HostState::Disabled,
        2 => HostState::Offline,
        _ => return Err(fail(ErrorCode::Internal, "Wrong status code")),
    };
    let was_offline = h.state == HostState::Offline;
    h.state = if status == 0 && was_offline {
        HostState::Init
    } else {
        new_state
    };
    h.prev_state = h.state;
    if status == 2 {
        // Offline drops the monitoring data.
        h.total_cpu = 0;
        h.total_mem = 0;
    }
    if h.state == HostState::Init {
        // Back from offline the host waits for the next monitoring cycle (minutes
        // in oned), not for the next call.
        h.settle_ticks = u8::MAX;
    }
    state_changed(oned, id);
    Ok(Value::Int(id))
}

/// Runs the hooks of the state host `id` has entered.
pub(crate) fn state_changed(oned: &mut Oned, id: i32) {
    let Some(host) = oned.get(Kind::Host, id) else {
        return;
    };
    let Ext::Host(data) = &host.ext else {
        return;
    };
    let state = data.state;
    let xml = {
        let mut writer = opennebula::xml::XmlWriter::with_capacity(4096);
        write_document(oned, host, true, &mut writer);
        writer.into_string()
    };
    super::hook::host_state(oned, id, state, &xml);
}

/// `one.host.monitoring`.
pub(crate) fn monitoring(oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    oned.get(Kind::Host, id)
        .ok_or_else(|| no_exists(Kind::Host, id))?;
    Ok(Value::from(monitoring_document(oned, &[id])))
}

/// `one.hostpool.monitoring`.
pub(crate) fn pool_monitoring(oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    let ids: Vec<i32> = oned.pool(Kind::Host).keys().copied().collect();
    Ok(Value::from(monitoring_document(oned, &ids)))
}

/// The ids of the hosts in cluster `cluster`.
pub(crate) fn in_cluster(oned: &Oned, cluster: i32) -> impl Iterator<Item = i32> + '_ {
    oned.pool(Kind::Host)
        .values()
        .filter(move |h| matches!(&h.ext, Ext::Host(d) if d.cluster_id == cluster))
        .map(|h| h.id)
}

/// The document of host `obj` (`full`: as `one.host.info` writes it).
pub(crate) fn write_document(
    oned: &Oned,
    obj: &Obj,
    full: bool,
    writer: &mut opennebula::xml::XmlWriter,
) {
    use opennebula::xml::ToXml;
    if let Some(host) = document(oned, obj, full) {
        host.write_xml(writer, "HOST");
    }
}

pub(crate) fn document(oned: &Oned, obj: &Obj, full: bool) -> Option<models::Host> {
    let Ext::Host(host) = &obj.ext else {
        return None;
    };
    let cluster = oned
        .get(Kind::Cluster, host.cluster_id)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let (cpu_usage, mem_usage) = host
        .vms
        .iter()
        .filter_map(|id| oned.get(Kind::Vm, *id))
        .fold((0i64, 0i64), |acc, vm| match &vm.ext {
            Ext::Vm(v) => {
                // The capacity the VM's template holds now (a resize changes it).
                let cpu = vm
                    .template
                    .get("CPU")
                    .and_then(|c| c.parse::<f64>().ok())
                    .unwrap_or(v.cpu);
                let memory = vm
                    .template
                    .get("MEMORY")
                    .and_then(|m| m.parse::<i64>().ok())
                    .unwrap_or(v.memory_mb);
                (acc.0 + (cpu * 100.0).round() as i64, acc.1 + memory * 1024)
            }
            _ => acc,
        });
    let (free_disk, max_disk, used_disk) = if host.probed {
        dummy::DISK_MB
    } else {
        (0, 0, 0)
    };
    let (cpu_usage, mem_usage) = (cpu_usage + host.cpu_usage, mem_usage + host.mem_usage);
    Some(models::Host {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        state: host.state.code(),
        prev_state: host.prev_state.code(),
        im_mad: host.im_mad.clone(),
        vm_mad: host.vm_mad.clone(),
        cluster_id: i64::from(host.cluster_id),
        cluster,
        host_share: models::HostShare {
            mem_usage,
            cpu_usage,
            total_mem: host.total_mem,
            total_cpu: host.total_cpu,
            max_mem: host.total_mem,
            max_cpu: host.total_cpu,
            running_vms: host.vms.len() as i64,
            vms_thread: 1,
            datastores: models::HostDatastores {
                disk_usage: 0,
                ds: Vec::new(),
                free_disk,
                max_disk,
                used_disk,
            },
            pci_devices: if host.probed {
                dummy::pci_devices()
            } else {
                models::PciDevices::default()
            },
            numa_nodes: if host.probed {
                dummy::numa_nodes()
            } else {
                models::NumaNodes::default()
            },
        },
        vms: ids_of(host.vms.iter().copied()),
        template: obj.template.to_template(),
        // The last monitoring sample is in `info`, not in the pool listing.
        monitoring: if host.probed && full {
            dummy::monitoring(obj.id, oned.now(), cpu_usage, mem_usage)
        } else {
            models::HostMonitoring::default()
        },
    })
}

/// `<MONITORING_DATA>` for hosts.
pub(crate) fn monitoring_document(oned: &Oned, hosts: &[i32]) -> String {
    let data = models::HostMonitoringData {
        monitoring: hosts
            .iter()
            .filter_map(|id| match oned.get(Kind::Host, *id) {
                Some(Obj {
                    ext: Ext::Host(host),
                    ..
                }) if host.probed => Some(dummy::monitoring(
                    *id,
                    oned.now(),
                    host.cpu_usage,
                    host.mem_usage,
                )),
                _ => None,
            })
            .collect(),
    };
    // A named type without a global element of its own (`MONITORING_DATA` is the VM form).
    xml_of(&data, "MONITORING_DATA")
}
