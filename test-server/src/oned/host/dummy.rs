//! The fake hardware oned's dummy information driver (IM_MAD "dummy") reports for every
//! host: a 2-socket machine with 8 cores of 4 threads per NUMA node, 2 MiB and 1 GiB huge
//! pages, 22 PCI devices (a GPU with vGPU profiles, two USB controllers, a NIC, and an
//! SR-IOV card with 2 physical and 16 virtual functions), and a 20 GiB local disk. These
//! are the driver's constants, so a test server host looks the way a dummy host of oned does.

use opennebula::models;

/// The local disk the driver reports: (free, max, used) MB.
pub(super) const DISK_MB: (i64, i64, i64) = (20480, 20480, 9720);

/// Attributes the first monitoring adds to a host's template (besides HOSTNAME).
pub(crate) const TEMPLATE: [(&str, &str); 9] = [
    ("ARCH", "x86_64"),
    ("CPUSPEED", "3200"),
    ("HYPERVISOR", "dummy"),
    (
        "KVM_CPU_FEATURES",
        "vme,ds,acpi,ss,ht,tm,pbe,dtes64,monitor,ds_cpl,vmx,smx,est,tm2,xtpr,pdcm,osxsave,\
         f16c,rdrand,arat,tsc_adjust,clflushopt,clwb,intel-pt,sha-ni,umip,pku,ospke,waitpkg,\
         gfni,vaes,vpclmulqdq,rdpid,movdiri,movdir64b,pks,fsrm,md-clear,serialize,arch-lbr,\
         stibp,arch-capabilities,core-capability,ssbd,avx-vnni,xsaveopt,xsavec,xgetbv1,xsaves,\
         pdpe1gb,abm,invtsc,rdctl-no,ibrs-all,skip-l1dfl-vmentry,mds-no,pschange-mc-no",
    ),
    (
        "KVM_CPU_MODELS",
        "486 pentium pentium2 pentium3 pentiumpro coreduo n270 core2duo qemu32 kvm32 \
         cpu64-rhel5 cpu64-rhel6 kvm64 Conroe Penryn Nehalem Nehalem-IBRS Westmere \
         Westmere-IBRS SandyBridge SandyBridge-IBRS IvyBridge IvyBridge-IBRS SapphireRapids \
         SapphireRapids-noTSX Opteron_G1",
    ),
    ("MEMORY_ENCRYPTION", "SEV"),
    ("MODELNAME", "Dummy(R) Core @ 3.2GHz"),
    ("TOTALCPU", "800"),
    ("TOTALMEMORY", "16777216"),
];

/// The vGPU profiles of the GPU: ids 1145.. for the L40S sizes and kinds.
fn gpu_profiles() -> String {
    let sizes_b = ["1B", "2B"];
    let sizes_q = [
        "1Q", "2Q", "3Q", "4Q", "6Q", "8Q", "12Q", "16Q", "24Q", "48Q",
    ];
    let sizes_a = [
        "1A", "2A", "3A", "4A", "6A", "8A", "12A", "16A", "24A", "48A",
    ];
    sizes_b
        .iter()
        .chain(&sizes_q)
        .chain(&sizes_a)
        .enumerate()
        .map(|(i, size)| format!("{} (NVIDIA L40S-{size})", 1145 + i))
        .collect::<Vec<_>>()
        .join(",")
}

/// One PCI device: (bus, slot, function, class, class name, vendor, vendor name, device,
/// device name, interface, NUMA node, SR-IOV role).
type Pci<'a> = (
    &'a str,
    u8,
    u8,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    String,
    u8,
    &'a str,
);

fn pci(device: Pci<'_>, profiles: Option<String>, sriov_num: Option<&str>) -> models::PciDevice {
    let (
        bus,
        slot,
        function,
        class,
        class_name,
        vendor,
        vendor_name,
        dev,
        dev_name,
        ifname,
        numa,
        sriov,
    ) = device;
    models::PciDevice {
        address: format!("0000:{bus}:{slot:02x}:{function}"),
        bus: bus.into(),
        class: class.into(),
        class_name: class_name.into(),
        device: dev.into(),
        device_name: dev_name.into(),
        domain: "0000".into(),
        function: function.to_string(),
        ifname,
        numa_node: numa.to_string(),
        profiles,
        short_address: format!("{bus}:{slot:02x}.{function}"),
        slot: format!("{slot:02x}"),
        sriov: sriov.into(),
        sriov_num: sriov_num.map(str::to_string),
        type_: format!("{vendor}:{dev}:{class}"),
        uuid: None,
        vendor: vendor.into(),
        vendor_name: vendor_name.into(),
        vmid: -1,
    }
}

/// The PCI devices, in the order the driver lists them. Built once: every `one.host.info`
/// needs them, and cloning is much cheaper than formatting them again.
pub(crate) fn pci_devices() -> models::PciDevices {
    static DEVICES: std::sync::OnceLock<models::PciDevices> = std::sync::OnceLock::new();
    DEVICES.get_or_init(build_pci_devices).clone()
}

fn build_pci_devices() -> models::PciDevices {
    const ETH: &str = "Ethernet controller";
    const USB: &str = "USB controller";
    const MLX: &str = "Mellanox Technologies";
    let mut list = vec![
        pci(
            (
                "02",
                0,
                0,
                "0302",
                "3D controller",
                "10de",
                "NVIDIA Corporation",
                "0863",
                "C79 [GeForce 9400M]",
                "-".into(),
                1,
                "no",
            ),
            Some(gpu_profiles()),
            None,
        ),
        pci(
            (
                "00",
                6,
                0,
                "0c03",
                USB,
                "1b21",
                "ASMedia Technology Inc.",
                "0aa7",
                "MCP79 OHCI USB 1.1 Controller",
                "-".into(),
                1,
                "no",
            ),
            None,
            None,
        ),
        pci(
            (
                "00",
                6,
                1,
                "0c03",
                USB,
                "1022",
                "Advanced Micro Devices, Inc.",
                "0aa9",
                "MCP79 EHCI USB 2.0 Controller",
                "-".into(),
                0,
                "no",
            ),
            None,
            None,
        ),
        pci(
            (
                "04",
                0,
                1,
                "0200",
                ETH,
                "14e4",
                "Broadcom Inc. and subsidiaries",
                "165f",
                "NetXtreme BCM5720 Gigabit Ethernet PCIe",
                "eno8403".into(),
                0,
                "no",
            ),
            None,
            None,
        ),
    ];
    for function in 0..2u8 {
        list.push(pci(
            (
                "81",
                0,
                function,
                "0200",
                ETH,
                "15b3",
                MLX,
                "1015",
                "MT27710 Family [ConnectX-4 Lx]",
                format!("pf{function}"),
                0,
                "pf",
            ),
            None,
            Some("8"),
        ));
    }
    // The virtual functions follow at 81:00.2 ... 81:02.1.
    for n in 2..18u8 {
        let (slot, function) = (n / 8, n % 8);
        list.push(pci(
            (
                "81",
                slot,
                function,
                "0200",
                ETH,
                "15b3",
                MLX,
                "1016",
                "MT27710 Family [ConnectX-4 Lx Virtual Function]",
                format!("vf{slot:02}{function}"),
                0,
                "vf",
            ),
            None,
            None,
        ));
    }
    models::PciDevices { pci: list }
}

const HUGEPAGE_SIZES: [i64; 2] = [2048, 1_048_576];

/// The two NUMA nodes: 8 cores of 4 threads each (thread ids core, core+16, core+32,
/// core+48), 1024 huge pages of each size, 8 GiB of memory.
pub(super) fn numa_nodes() -> models::NumaNodes {
    static NODES: std::sync::OnceLock<models::NumaNodes> = std::sync::OnceLock::new();
    NODES.get_or_init(build_numa_nodes).clone()
}

fn build_numa_nodes() -> models::NumaNodes {
    models::NumaNodes {
        node: (0..2i64)
            .map(|node| models::NumaNode {
                core: (node * 8..node * 8 + 8)
                    .map(|core| models::NumaCore {
                        cpus: (0..4)
                            .map(|t| format!("{}:-1", core + 16 * t))
                            .collect::<Vec<_>>()
                            .join(","),
                        dedicated: "NO".into(),
                        free: 4,
                        id: core,
                    })
                    .collect(),
                hugepage: HUGEPAGE_SIZES
                    .iter()
                    .map(|&size| models::NumaHugepage {
                        pages: 1024,
                        size,
                        usage: 0,
                    })
                    .collect(),
                memory: models::NumaMemory {
                    distance: if node == 0 { "0 1" } else { "1 0" }.into(),
                    total: 8_388_608,
                    usage: 0,
                },
                node_id: node,
            })
            .collect(),
    }
}

/// A monitoring sample of host `id` using `used_cpu` (percent) and `used_memory` (KiB) of
/// its 800 CPU / 16 GiB.
pub(super) fn monitoring(
    id: i32,
    timestamp: i64,
    used_cpu: i64,
    used_memory: i64,
) -> models::HostMonitoring {
    let (total_cpu, total_memory) = (800, 16 * 1024 * 1024);
    models::HostMonitoring {
        timestamp: Some(timestamp),
        id: Some(i64::from(id)),
        capacity: Some(models::HostCapacity {
            free_cpu: Some(total_cpu - used_cpu),
            free_memory: Some(total_memory - used_memory),
            used_cpu: Some(used_cpu),
            used_memory: Some(used_memory),
            ..models::HostCapacity::default()
        }),
        system: Some(models::HostSystemMonitoring {
            netrx: Some(0),
            nettx: Some(0),
            ..models::HostSystemMonitoring::default()
        }),
        numa_node: (0..2i64)
            .map(|node| models::NumaNodeMonitoring {
                hugepage: HUGEPAGE_SIZES
                    .iter()
                    .map(|&size| models::HugepageMonitoring { free: 1024, size })
                    .collect(),
                memory: models::NumaMemoryMonitoring {
                    free: (total_memory / 2 - used_memory / 2).to_string(),
                    used: used_memory / 2,
                },
                node_id: node,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_host_has_22_pci_devices_and_two_numa_nodes() {
        let pci = pci_devices().pci;
        assert_eq!(pci.len(), 22);
        assert_eq!(pci[0].short_address, "02:00.0");
        assert!(pci[0]
            .profiles
            .as_deref()
            .unwrap()
            .ends_with("1166 (NVIDIA L40S-48A)"));
        assert_eq!(pci[6].address, "0000:81:00:2");
        assert_eq!(pci[6].ifname, "vf002");
        assert_eq!(pci[21].address, "0000:81:02:1");
        assert_eq!(pci[21].ifname, "vf021");
        let numa = numa_nodes().node;
        assert_eq!(numa.len(), 2);
        assert_eq!(numa[1].core[0].cpus, "8:-1,24:-1,40:-1,56:-1");
    }
}
