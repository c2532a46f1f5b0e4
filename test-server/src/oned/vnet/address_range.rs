//! Address ranges of a virtual network: their types and attributes, and leases taken from
//! them (src/vnm/AddressRange.cc, AddressRangePool.cc).

use super::super::prelude::*;
use super::VnetData;

#[derive(Debug, Clone)]
pub(crate) struct AddressRange {
    pub(crate) id: i32,
    pub(crate) ar_type: String,
    pub(crate) ip: Option<u32>,
    pub(crate) mac: u64,
    pub(crate) size: u32,
    pub(crate) extra: BTreeMap<String, String>,
    /// index → (vm id, or -1 for a hold / reservation)
    pub(crate) leases: BTreeMap<u32, i32>,
    /// Where oned's next free-address search starts (after the last allocation).
    pub(crate) next_index: u32,
    /// Whether oned has written the range's ALLOCATED map (on a lease, or when it updates
    /// the range): once written it stays, empty when nothing is leased.
    pub(crate) ever_allocated: bool,
}

impl AddressRange {
    /// Gives lease `index` to `owner` (see `leases`).
    pub(crate) fn lease(&mut self, index: u32, owner: i32) {
        self.leases.insert(index, owner);
        self.ever_allocated = true;
    }
}

// ---------------------------------------------------------------------------------------
// Networks
// ---------------------------------------------------------------------------------------

pub(crate) fn parse_ip(text: &str) -> Option<u32> {
    text.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

pub(crate) fn format_ip(ip: u32) -> String {
    std::net::Ipv4Addr::from(ip).to_string()
}

pub(crate) fn format_mac(mac: u64) -> String {
    let b = mac.to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

pub(crate) fn parse_mac(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    parts.iter().try_fold(0u64, |acc, p| {
        u8::from_str_radix(p, 16).ok().map(|b| acc << 8 | b as u64)
    })
}

/// Adds an address range from its AR vector; the error is oned's message.
pub(crate) fn add_address_range(
    data: &mut VnetData,
    ar: &BTreeMap<String, String>,
) -> Result<i32, String> {
    let ar_type = ar
        .get("TYPE")
        .cloned()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let ip = match ar_type.as_str() {
        "IP4" | "IP4_6" => Some(
            ar.get("IP")
                .and_then(|ip| parse_ip(ip))
                .ok_or("Wrong or empty IP attribute")?,
        ),
        "ETHER" | "IP6" | "IP6_STATIC" => None,
        _ => return Err("Unknown or missing address range TYPE.".into()),
    };
    let mac = match ar.get("MAC") {
        Some(mac) => parse_mac(mac).ok_or("Wrong format for MAC attribute")?,
        // oned's default prefix 02:00 followed by the IPv4 address.
        None => 0x0200_0000_0000 | ip.unwrap_or(0x0a0a_0000 + data.ars.len() as u32 * 0x100) as u64,
    };
    // oned reads the type, then the start addresses (IP, MAC), and the size last.
    let size = ar
        .get("SIZE")
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|s| *s > 0)
        .ok_or("Wrong SIZE for address range")?;
    let id = data.next_ar;
    data.next_ar += 1;
    let mut extra = ar.clone();
    for known in ["TYPE", "SIZE", "IP", "MAC", "AR_ID"] {
        extra.remove(known);
    }
    data.ars.push(AddressRange {
        id,
        ar_type,
        ip,
        mac,
        size,
        extra,
        leases: BTreeMap::new(),
        next_index: 0,
        ever_allocated: false,
    });
    Ok(id)
}

/// Takes a lease on `net` for VM `vm` (a given IP, or the first free address).
pub(crate) fn take_lease(data: &mut VnetData, vm: i32, ip: Option<&str>) -> Option<(i32, u32)> {
    for ar in &mut data.ars {
        let index = match ip {
            Some(ip) => {
                let ip = parse_ip(ip)?;
                let first = ar.ip?;
                if ip < first || ip - first >= ar.size {
                    continue;
                }
                let index = ip - first;
                if ar.leases.contains_key(&index) {
                    return None;
                }
                index
            }
            None => match (0..ar.size).find(|i| !ar.leases.contains_key(i)) {
                Some(i) => {
                    // Only a free-address search moves oned's NEXT_INDEX; a requested
                    // address leaves it.
                    ar.next_index = i + 1;
                    i
                }
                None => continue,
            },
        };
        ar.lease(index, vm);
        return Some((ar.id, index));
    }
    None
}
