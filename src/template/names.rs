//! Well-known attribute names, shared instead of stored per template.
//!
//! A 10,000-VM pool repeats names such as `DISK_ID`, `DATASTORE` or `NETWORK_ID` half a
//! million times. Templates and vector attributes keep a name from this table as a small
//! number (vectors) or a `&'static str` (templates) instead of a copy, which is about a
//! sixth of a decoded VM's memory. Any other name is stored as written; the table only
//! changes how names are stored, never what a template holds.
//!
//! The names are those oned writes into VM, host, image and network templates (the VM
//! template reference and the attributes oned adds itself), plus the usual monitoring ones.

use std::sync::OnceLock;

/// The table. Order matters only in that an index is stored: append, never reorder, within
/// one build (indexes are not persisted anywhere, so any order is fine across builds).
static NAMES: &[&str] = &[
    // Top level of a VM template and what oned adds.
    "NAME",
    "CPU",
    "VCPU",
    "MEMORY",
    "MEMORY_UNIT_COST",
    "CPU_COST",
    "MEMORY_COST",
    "DISK_COST",
    "DISK",
    "NIC",
    "NIC_ALIAS",
    "NIC_DEFAULT",
    "PCI",
    "CONTEXT",
    "GRAPHICS",
    "INPUT",
    "OS",
    "FEATURES",
    "RAW",
    "VIDEO",
    "TOPOLOGY",
    "NUMA_NODE",
    "CPU_MODEL",
    "MEMORY_RESIZE_MODE",
    "MEMORY_MAX",
    "VCPU_MAX",
    "HOT_RESIZE",
    "SCHED_REQUIREMENTS",
    "SCHED_RANK",
    "SCHED_DS_REQUIREMENTS",
    "SCHED_DS_RANK",
    "SCHED_ACTION",
    "USER_INPUTS",
    "INPUTS_ORDER",
    "LOGO",
    "LABELS",
    "DESCRIPTION",
    "HYPERVISOR",
    "VMID",
    "TEMPLATE_ID",
    "AUTOMATIC_REQUIREMENTS",
    "AUTOMATIC_DS_REQUIREMENTS",
    "AUTOMATIC_NIC_REQUIREMENTS",
    "SECURITY_GROUP_RULE",
    "SNAPSHOT",
    "ERROR",
    "BACKUP_CONFIG",
    "TM_MAD_SYSTEM",
    "VROUTER_ID",
    "VROUTER_KEEPALIVED_ID",
    "VROUTER_KEEPALIVED_PASSWORD",
    "ROLE_NAME",
    "SERVICE_ID",
    "ORIGINAL_NAME",
    "CLONING_TEMPLATE_ID",
    "MEMORY_SLOTS",
    "OWNER_U",
    "OWNER_M",
    "OWNER_A",
    "GROUP_U",
    "GROUP_M",
    "GROUP_A",
    "OTHER_U",
    "OTHER_M",
    "OTHER_A",
    // DISK.
    "DISK_ID",
    "DATASTORE",
    "DATASTORE_ID",
    "IMAGE",
    "IMAGE_ID",
    "IMAGE_UID",
    "IMAGE_UNAME",
    "IMAGE_STATE",
    "SIZE",
    "TYPE",
    "CLONE",
    "CLONE_TARGET",
    "LN_TARGET",
    "TARGET",
    "DEV_PREFIX",
    "DRIVER",
    "FORMAT",
    "CACHE",
    "IO",
    "DISCARD",
    "READONLY",
    "SAVE",
    "PERSISTENT",
    "SOURCE",
    "TM_MAD",
    "DISK_TYPE",
    "DISK_SNAPSHOT_TOTAL_SIZE",
    "ALLOW_ORPHANS",
    "ORIGINAL_SIZE",
    "POOL_NAME",
    "CEPH_HOST",
    "CEPH_SECRET",
    "CEPH_USER",
    "SECRET",
    "TOTAL_BYTES_SEC",
    "READ_BYTES_SEC",
    "WRITE_BYTES_SEC",
    "TOTAL_IOPS_SEC",
    "READ_IOPS_SEC",
    "WRITE_IOPS_SEC",
    "VIRTIO_BLK_QUEUES",
    "SIZE_PREV",
    "LAST_SNAPSHOT",
    "BOOT",
    "FS",
    // NIC, NIC_ALIAS, network leases.
    "NIC_ID",
    "NETWORK",
    "NETWORK_ID",
    "NETWORK_UID",
    "NETWORK_UNAME",
    "NETWORK_MODE",
    "IP",
    "IP6",
    "IP6_LINK",
    "IP6_GLOBAL",
    "IP6_ULA",
    "MAC",
    "BRIDGE",
    "BRIDGE_TYPE",
    "VN_MAD",
    "MODEL",
    "PHYDEV",
    "VLAN_ID",
    "AUTOMATIC_VLAN_ID",
    "GATEWAY",
    "GATEWAY6",
    "DNS",
    "SEARCH_DOMAIN",
    "NETWORK_ADDRESS",
    "NETWORK_MASK",
    "MTU",
    "GUEST_MTU",
    "SECURITY_GROUPS",
    "CLUSTER_ID",
    "AR_ID",
    "FILTER",
    "VIRTIO_QUEUES",
    "EXTERNAL",
    "METHOD",
    "IP6_METHOD",
    "PARENT",
    "ALIAS_ID",
    "ALIAS_IDS",
    "PARENT_ID",
    "NAME_PREFIX",
    "ADDR",
    "BUS",
    "SLOT",
    "FUNCTION",
    "DEVICE",
    "VENDOR",
    "CLASS",
    "SHORT_ADDRESS",
    "ADDRESS",
    "PCI_ID",
    "NUMA_NODE_ID",
    "PROFILE",
    "ACTION",
    "PROTOCOL",
    "RULE_TYPE",
    "RANGE",
    "ICMP_TYPE",
    "ICMPV6_TYPE",
    "SIZE6",
    // CONTEXT.
    "SSH_PUBLIC_KEY",
    "NETWORK_CONTEXT",
    "TOKEN",
    "REPORT_READY",
    "START_SCRIPT",
    "START_SCRIPT_BASE64",
    "SET_HOSTNAME",
    "USERNAME",
    "PASSWORD",
    "FILES_DS",
    "INIT_SCRIPTS",
    "ETH0_IP",
    "ETH0_MAC",
    "ETH0_MASK",
    "ETH0_GATEWAY",
    "ETH0_DNS",
    "ETH0_NETWORK",
    "ETH0_SEARCH_DOMAIN",
    "ETH0_MTU",
    "ETH0_IP6",
    "ETH0_IP6_ULA",
    "ETH0_GATEWAY6",
    "ETH0_CONTEXT_FORCE_IPV4",
    "ETH0_EXTERNAL",
    "ETH0_ROUTES",
    "ETH0_VLAN_ID",
    "ETH0_METHOD",
    "ETH0_IP6_METHOD",
    "ETH0_IP6_PREFIX_LENGTH",
    "ETH0_VROUTER_IP",
    "ETH0_VROUTER_IP6",
    "ETH0_VROUTER_MANAGEMENT",
    // GRAPHICS, INPUT, OS, FEATURES, RAW, TOPOLOGY.
    "LISTEN",
    "PORT",
    "KEYMAP",
    "RANDOM_PASSWD",
    "COMMAND",
    "ARCH",
    "MACHINE",
    "KERNEL",
    "KERNEL_DS",
    "INITRD",
    "INITRD_DS",
    "ROOT",
    "KERNEL_CMD",
    "BOOTLOADER",
    "FIRMWARE",
    "FIRMWARE_SECURE",
    "SD_DISK_BUS",
    "UUID",
    "PAE",
    "ACPI",
    "APIC",
    "LOCALTIME",
    "HYPERV",
    "GUEST_AGENT",
    "IOTHREADS",
    "VIRTIO_SCSI_QUEUES",
    "DATA",
    "VALIDATE",
    "CORES",
    "SOCKETS",
    "THREADS",
    "PIN_POLICY",
    "HUGEPAGE_SIZE",
    "MEMORY_ACCESS",
    "NODE_ID",
    "CPUS",
    "TOTAL_CPUS",
    "VRAM",
    "RESOLUTION",
    "IOMMU",
    "ATS",
    // SCHED_ACTION and snapshots.
    "ID",
    "TIME",
    "REPEAT",
    "DAYS",
    "END_TYPE",
    "END_VALUE",
    "DONE",
    "MESSAGE",
    "ARGS",
    "WARNING",
    "SNAPSHOT_ID",
    "HYPERVISOR_ID",
    "SYSTEM_DISK_SIZE",
    "ACTIVE",
    // Monitoring (VM and host) and host templates.
    "STATE",
    "DISKRDBYTES",
    "DISKRDIOPS",
    "DISKWRBYTES",
    "DISKWRIOPS",
    "NETRX",
    "NETTX",
    "TIMESTAMP",
    "CPUSPEED",
    "MODELNAME",
    "HOSTNAME",
    "IM_MAD",
    "VM_MAD",
    "KVM_MACHINES",
    "KVM_CPU_MODEL",
    "KVM_CPU_MODELS",
    "KVM_CPU_FEATURES",
    "RESERVED_CPU",
    "RESERVED_MEM",
    "VERSION",
    "HUGEPAGE",
    "FREE",
    "PAGES",
    "USAGE",
    "NODE",
    "MEMORY_NODE",
    "TOTAL",
    "USED",
    "DISTANCE",
    "FREE_CPU",
    "FREE_MEM",
    "USED_CPU",
    "USED_MEM",
    "TOTAL_CPU",
    "TOTAL_MEM",
    "HOST",
    "VM",
    "DEPLOY_ID",
    "POLL",
    "GUEST_IP",
    "GUEST_IP_ADDRESSES",
    "DISK_SIZE",
    "DISK_SNAPSHOT_SIZE",
    "CPU_USAGE",
    "MEMORY_USAGE",
    "ZONE_ID",
    // Images, datastores, networks, users.
    "DS_MAD",
    "BASE_PATH",
    "RESTRICTED_DIRS",
    "SAFE_DIRS",
    "LIMIT_MB",
    "STAGING_DIR",
    "BRIDGE_LIST",
    "PATH",
    "CHECKSUM",
    "MD5",
    "SHA1",
    "APP_ID",
    "FROM_APP",
    "FROM_APP_NAME",
    "TEMPLATE",
    "DEFAULT_VIEW",
    "VIEWS",
    "LANG",
    "SSH_PRIVATE_KEY",
    "SSH_PASSPHRASE",
    "EMAIL",
    "TABLE_ORDER",
    "THEME",
];

/// The name with index `id`.
pub(crate) fn name(id: u16) -> &'static str {
    NAMES[usize::from(id)]
}

/// The index of `name` (already upper-case), when the table has it.
#[inline]
pub(crate) fn lookup(name: &str) -> Option<u16> {
    if name.is_empty() || name.len() > 40 {
        return None;
    }
    let table = TABLE.get_or_init(build);
    let mut slot = hash(name.as_bytes()) as usize & MASK;
    loop {
        match table[slot] {
            0 => return None,
            entry if NAMES[usize::from(entry - 1)] == name => return Some(entry - 1),
            _ => slot = (slot + 1) & MASK,
        }
    }
}

/// Open addressing, at most a quarter full: a lookup is one hash and about one compare.
const SLOTS: usize = 2048;
const MASK: usize = SLOTS - 1;
static TABLE: OnceLock<Box<[u16; SLOTS]>> = OnceLock::new();

fn build() -> Box<[u16; SLOTS]> {
    let mut table = Box::new([0u16; SLOTS]);
    for (id, name) in NAMES.iter().enumerate() {
        let mut slot = hash(name.as_bytes()) as usize & MASK;
        loop {
            match table[slot] {
                0 => {
                    table[slot] = id as u16 + 1;
                    break;
                }
                _ => slot = (slot + 1) & MASK,
            }
        }
    }
    table
}

/// Hashes a name from its length and its first and last eight bytes (all of it up to 16
/// bytes, which most names are), in one multiply: every element name of a template is looked
/// up, and a byte-at-a-time hash was a tenth of reading a VM. Names that agree on all of that
/// only make a longer probe; lookups still compare whole names.
#[inline]
fn hash(bytes: &[u8]) -> u32 {
    let len = bytes.len();
    let (head, tail) = if len >= 8 {
        (word(&bytes[..8]), word(&bytes[len - 8..]))
    } else if len >= 4 {
        (word(&bytes[..4]), word(&bytes[len - 4..]))
    } else {
        (bytes.iter().fold(0, |h, &b| h << 8 | u64::from(b)), 0)
    };
    let mixed = (head ^ tail.rotate_left(29) ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 32) as u32
}

/// Up to eight bytes as a little-endian number.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |word, &b| word << 8 | u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_found_and_others_are_not() {
        assert!(NAMES.len() < SLOTS / 4 && NAMES.len() < usize::from(u16::MAX));
        let distinct: std::collections::HashSet<_> = NAMES.iter().collect();
        assert_eq!(distinct.len(), NAMES.len(), "a name is listed twice");
        for name in NAMES {
            let id = lookup(name).expect(name);
            assert_eq!(super::name(id), *name);
        }
        // The hash spreads the table: no name is more than a few probes from its slot.
        let table = TABLE.get_or_init(build);
        for name in NAMES {
            let home = hash(name.as_bytes()) as usize & MASK;
            let probes = (0..SLOTS)
                .position(|i| NAMES[usize::from(table[(home + i) & MASK] - 1)] == *name)
                .unwrap();
            assert!(probes <= 4, "{name} is {probes} probes away");
        }
        for other in ["", "disk", "DISK_", "NOT_A_KNOWN_NAME", "Ünïcode"] {
            assert_eq!(lookup(other), None, "{other}");
        }
    }
}
