//! Preloaded hosts and VMs for benchmarks (`--seed-hosts`, `--seed-vms`): monitored dummy
//! hosts and running VMs with realistic templates (disks, NICs, context, history), made with
//! the same handlers as the calls a client would send.

use opennebula::api::VmState;
use opennebula::wire::Value;

use crate::oned::vm::scheduler;
use crate::oned::{drivers, Caller, Ext, Failure, Kind, Oned, Params};

/// Adds `hosts` hosts and `vms` VMs (running on the hosts when there are any).
pub(crate) fn seed(oned: &mut Oned, hosts: usize, vms: usize) {
    if hosts == 0 && vms == 0 {
        return;
    }
    seed_objects(oned, hosts, vms);
}

/// Runs `method` as `caller`, numbered like a call from a client.
fn call(oned: &mut Oned, caller: Caller, method: &str, params: &[Value]) -> Result<Value, Failure> {
    let (info, handler) =
        crate::dispatch::method(method).expect("the seed calls methods of the table");
    oned.requests += 1;
    let caller = Caller {
        request: oned.requests,
        ..caller
    };
    handler.run(oned, caller, &Params::new(params, Some(info)))
}

fn seed_objects(oned: &mut Oned, hosts: usize, vms: usize) {
    let admin = Caller {
        uid: 0,
        gid: 0,
        request: 0,
    };
    for i in 0..hosts {
        let params = [
            Value::from(format!("seed-host-{i:04}")),
            Value::from("dummy"),
            Value::from("dummy"),
            Value::Int(-1),
        ];
        let _ = call(oned, admin, "one.host.allocate", &params);
    }
    drivers::settle(oned, true);
    // Give every seeded host room for its share of VMs.
    let per_host = if hosts == 0 {
        0
    } else {
        vms.div_ceil(hosts) as i64
    };
    for host in oned.pool_mut(Kind::Host).values_mut() {
        if let Ext::Host(data) = &mut host.ext {
            data.total_cpu = data.total_cpu.max(per_host * 10 + 800);
            data.total_mem = data.total_mem.max(per_host * 128 * 1024 + 16 * 1024 * 1024);
        }
    }
    if vms == 0 {
        return;
    }
    // What a "rich" VM refers to: an OS image and a network with room for two NICs each.
    let image = call(
        oned,
        admin,
        "one.image.allocate",
        &[
            Value::from("NAME=\"seed-os\"\nPATH=\"/var/tmp/seed-os.qcow2\"\nSIZE=\"2048\""),
            Value::Int(1),
        ],
    );
    let net = call(
        oned,
        admin,
        "one.vn.allocate",
        &[
            Value::from(format!(
                "NAME=\"seed-net\"\nVN_MAD=\"bridge\"\nBRIDGE=\"br0\"\n\
                 NETWORK_ADDRESS=\"10.0.0.0\"\nNETWORK_MASK=\"255.0.0.0\"\n\
                 GATEWAY=\"10.0.0.1\"\nDNS=\"10.0.0.1\"\n\
                 AR=[TYPE=\"IP4\",IP=\"10.0.1.0\",SIZE=\"{}\"]",
                vms * 2 + 16
            )),
            Value::Int(-1),
        ],
    );
    drivers::settle(oned, true);
    let (Ok(Value::Int(image)), Ok(Value::Int(net))) = (image, net) else {
        return;
    };
    for i in 0..vms {
        let template = format!(
            "NAME=\"seed-vm-{i:05}\"\nCPU=\"0.1\"\nVCPU=\"1\"\nMEMORY=\"128\"\n\
             DISK=[IMAGE_ID=\"{image}\"]\n\
             DISK=[TYPE=\"fs\",SIZE=\"1024\",FORMAT=\"raw\"]\n\
             DISK=[TYPE=\"swap\",SIZE=\"512\"]\n\
             NIC=[NETWORK_ID=\"{net}\"]\nNIC=[NETWORK_ID=\"{net}\"]\n\
             GRAPHICS=[TYPE=\"VNC\",LISTEN=\"0.0.0.0\"]\n\
             OS=[ARCH=\"x86_64\"]\n\
             CONTEXT=[NETWORK=\"YES\",SSH_PUBLIC_KEY=\"$USER[SSH_PUBLIC_KEY]\"]\n\
             SCHED_REQUIREMENTS=\"HYPERVISOR=dummy\"\n\
             DESCRIPTION=\"benchmark VM {i}\"\nLABELS=\"seed,bench\""
        );
        let _ = call(
            oned,
            admin,
            "one.vm.allocate",
            &[Value::from(template), Value::Bool(false)],
        );
    }
    if hosts > 0 {
        scheduler::schedule(oned, true);
        // Seeded VMs have been running for a while: monitored.
        let now = oned.now();
        for obj in oned.pool_mut(Kind::Vm).values_mut() {
            if let Ext::Vm(data) = &mut obj.ext {
                if data.state == VmState::Active {
                    data.last_poll = now;
                }
            }
        }
    }
}
