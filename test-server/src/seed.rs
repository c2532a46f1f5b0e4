//! Preloaded hosts and VMs for benchmarks (`--seed-hosts`, `--seed-vms`): monitored dummy
//! hosts and running VMs with realistic templates (disks, NICs, context, history).

use super::state::Oned;

/// Adds `hosts` hosts and `vms` VMs (running on the hosts when there are any).
pub(crate) fn seed(oned: &mut Oned, hosts: usize, vms: usize) {
    if hosts == 0 && vms == 0 {
        return;
    }
    oned.seed(hosts, vms);
}
