//! Virtual network documents: the full network of `one.vn.info` with its address ranges and
//! leases, and the abridged one of `one.vnpool.info`.

use super::super::prelude::*;
use super::super::xml_parts::{ids_of, lock_of, owner_of, permissions_of};
use super::address_range::{format_ip, format_mac, AddressRange};
use opennebula::models;

/// The attributes an address range stores, as oned keeps them (its own attributes and the
/// ones given at `add_ar`/`update_ar`); the computed ones (`MAC_END`, leases ...) come apart.
struct ArStored<'a> {
    ar: &'a AddressRange,
}

impl ArStored<'_> {
    fn extra(&self, name: &str) -> Option<String> {
        self.ar.extra.get(name).cloned()
    }

    fn ip(&self) -> Option<String> {
        self.ar.ip.map(format_ip)
    }
}

/// The `ALLOCATED` map of an abridged address range: ` index owner` pairs (each with a
/// leading space, as oned writes them), the owner encoding its object type and id; absent
/// until the range has had a lease.
fn allocated(ar: &AddressRange) -> Option<String> {
    if !ar.ever_allocated {
        return None;
    }
    let mut out = String::new();
    for (index, owner) in &ar.leases {
        let encoded: i64 = if *owner <= -1000 {
            0x40_0000_0000 | i64::from(-1000 - owner)
        } else if *owner >= 0 {
            0x10_0000_0000 | i64::from(*owner)
        } else {
            0x10_0000_0000 | 0xFFFF_FFFF
        };
        out.push_str(&format!(" {index} {encoded}"));
    }
    Some(out)
}

/// The IPv6 address of lease `index` under the /64 `prefix` (`fd00::`): the interface id
/// is the modified EUI-64 of the lease's MAC (U/L bit flipped, `ff:fe` in the middle), as
/// oned derives it.
fn ip6_of(prefix: &str, mac: u64) -> Option<String> {
    let prefix: std::net::Ipv6Addr = prefix.parse().ok()?;
    let mac = mac & 0xFFFF_FFFF_FFFF;
    let high = (mac >> 24) ^ 0x02_0000;
    let low = mac & 0xFF_FFFF;
    let interface = (high << 40) | (0xFF_FE << 24) | low;
    let network = u128::from(prefix) & !u128::from(u64::MAX);
    Some(std::net::Ipv6Addr::from(network | u128::from(interface)).to_string())
}

fn ar_summary(ar: &AddressRange) -> models::AddressRangeSummary {
    let s = ArStored { ar };
    models::AddressRangeSummary {
        allocated: allocated(ar),
        ar_id: ar.id.to_string(),
        cvlans: s.extra("CVLANS"),
        global_prefix: s.extra("GLOBAL_PREFIX"),
        ip: s.ip(),
        mac: format_mac(ar.mac),
        next_index: i64::from(ar.next_index),
        parent_network_ar_id: s.extra("PARENT_NETWORK_AR_ID"),
        shared: Some("NO".into()),
        size: i64::from(ar.size),
        type_: ar.ar_type.clone(),
        ula_prefix: s.extra("ULA_PREFIX"),
        vlan_id: s.extra("VLAN_ID"),
        vn_mad: s.extra("VN_MAD"),
    }
}

fn ar_full(ar: &AddressRange) -> models::AddressRange {
    let s = ArStored { ar };
    let (ula, global) = (s.extra("ULA_PREFIX"), s.extra("GLOBAL_PREFIX"));
    let leases = ar
        .leases
        .iter()
        .map(|(index, owner)| models::Lease {
            ip: ar.ip.map(|ip| format_ip(ip + index)),
            ip6_global: global
                .as_deref()
                .and_then(|p| ip6_of(p, ar.mac + u64::from(*index))),
            ip6_link: matches!(ar.ar_type.as_str(), "IP6" | "IP4_6")
                .then(|| ip6_of("fe80::", ar.mac + u64::from(*index)))
                .flatten(),
            ip6_ula: ula
                .as_deref()
                .and_then(|p| ip6_of(p, ar.mac + u64::from(*index))),
            mac: Some(format_mac(ar.mac + u64::from(*index))),
            vm: (*owner > -1000).then_some(i64::from((*owner).max(-1))),
            vnet: (*owner <= -1000).then_some(i64::from(-1000 - owner)),
            ..models::Lease::default()
        })
        .collect();
    let (first, last) = (ar.mac, ar.mac + u64::from(ar.size) - 1);
    models::AddressRange {
        ar_id: ar.id.to_string(),
        cvlans: s.extra("CVLANS"),
        global_prefix: s.extra("GLOBAL_PREFIX"),
        ip: s.ip(),
        mac: format_mac(ar.mac),
        next_index: i64::from(ar.next_index),
        parent_network_ar_id: s.extra("PARENT_NETWORK_AR_ID"),
        shared: Some("NO".into()),
        size: i64::from(ar.size),
        type_: ar.ar_type.clone(),
        ula_prefix: s.extra("ULA_PREFIX"),
        vlan_id: s.extra("VLAN_ID"),
        vn_mad: s.extra("VN_MAD"),
        mac_end: Some(format_mac(ar.mac + u64::from(ar.size) - 1)),
        ip_end: ar.ip.map(|ip| format_ip(ip + ar.size - 1)),
        ip6_ula: ula.as_deref().and_then(|p| ip6_of(p, first)),
        ip6_ula_end: ula.as_deref().and_then(|p| ip6_of(p, last)),
        ip6_global: global.as_deref().and_then(|p| ip6_of(p, first)),
        ip6_global_end: global.as_deref().and_then(|p| ip6_of(p, last)),
        ip6: s.extra("IP6"),
        ip6_end: s.extra("IP6_END"),
        port_start: s.extra("PORT_START"),
        port_size: s.extra("PORT_SIZE"),
        used_leases: ar.leases.len().to_string(),
        leases: Some(models::Leases { lease: leases }),
    }
}

pub(crate) fn document(oned: &Oned, obj: &Obj) -> Option<models::VirtualNetwork> {
    let Ext::Vnet(vnet) = &obj.ext else {
        return None;
    };
    let o = owner_of(oned, obj);
    let used: usize = vnet.ars.iter().map(|a| a.leases.len()).sum();
    Some(models::VirtualNetwork {
        id: o.id,
        uid: o.uid,
        gid: o.gid,
        uname: o.uname,
        gname: o.gname,
        name: o.name,
        lock: lock_of(obj),
        permissions: permissions_of(obj),
        clusters: ids_of(vnet.clusters.iter().copied()),
        bridge: vnet.bridge.clone(),
        bridge_type: Some("linux".into()),
        state: i64::from(vnet.state),
        prev_state: i64::from(vnet.state),
        parent_network_id: vnet.parent.map(|p| p.to_string()).unwrap_or_default(),
        template_id: obj
            .template
            .get("TEMPLATE_ID")
            .unwrap_or_default()
            .to_string(),
        vn_mad: vnet.vn_mad.clone(),
        phydev: String::new(),
        vlan_id: Some(String::new()),
        outer_vlan_id: Some(String::new()),
        vlan_id_automatic: "0".into(),
        outer_vlan_id_automatic: "0".into(),
        used_leases: used as i64,
        vrouters: models::Ids::default(),
        updated_vms: ids_of(vnet.updated_vms.iter().copied()),
        outdated_vms: models::Ids::default(),
        updating_vms: models::Ids::default(),
        error_vms: models::Ids::default(),
        template: {
            // The template a network was instantiated from is an element of its own.
            let mut template = obj.template.clone();
            template.remove("TEMPLATE_ID");
            template.to_template()
        },
        ar_pool: models::AddressRanges {
            ar: vnet.ars.iter().map(ar_full).collect(),
        },
    })
}

pub(crate) fn summary(oned: &Oned, obj: &Obj) -> Option<models::VirtualNetworkSummary> {
    let Ext::Vnet(data) = &obj.ext else {
        return None;
    };
    let v = document(oned, obj)?;
    Some(models::VirtualNetworkSummary {
        id: v.id,
        uid: v.uid,
        gid: v.gid,
        uname: v.uname,
        gname: v.gname,
        name: v.name,
        lock: v.lock,
        permissions: v.permissions,
        clusters: v.clusters,
        bridge: v.bridge,
        bridge_type: v.bridge_type,
        state: v.state,
        prev_state: v.prev_state,
        parent_network_id: v.parent_network_id,
        template_id: v.template_id,
        vn_mad: v.vn_mad,
        phydev: v.phydev,
        vlan_id: v.vlan_id,
        outer_vlan_id: v.outer_vlan_id,
        vlan_id_automatic: v.vlan_id_automatic,
        outer_vlan_id_automatic: v.outer_vlan_id_automatic,
        used_leases: v.used_leases,
        vrouters: v.vrouters,
        updated_vms: v.updated_vms,
        outdated_vms: v.outdated_vms,
        updating_vms: v.updating_vms,
        error_vms: v.error_vms,
        template: v.template,
        ar_pool: models::AddressRangeSummaries {
            ar: data.ars.iter().map(ar_summary).collect(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::ip6_of;

    #[test]
    fn ipv6_addresses_come_from_the_mac_as_modified_eui64() {
        // oned: MAC 02:00:99:dd:23:55 under fd00:: gives fd00::99ff:fedd:2355.
        assert_eq!(
            ip6_of("fd00::", 0x02_00_99_dd_23_55).as_deref(),
            Some("fd00::99ff:fedd:2355")
        );
        assert_eq!(
            ip6_of("2001:db8::", 0x02_00_99_dd_23_5c).as_deref(),
            Some("2001:db8::99ff:fedd:235c")
        );
        assert_eq!(
            ip6_of("fe80::", 0x00_11_22_33_44_55).as_deref(),
            Some("fe80::211:22ff:fe33:4455")
        );
        assert_eq!(ip6_of("not an address", 1), None);
    }
}
