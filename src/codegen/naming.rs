//! Turning XML names into readable Rust identifiers.

/// Words of OpenNebula element names that read badly when merely capitalised. Applied per
/// `_`-separated word, so `VNET_POOL` becomes `VirtualNetworkPool`.
const WORD_OVERRIDES: &[(&str, &str)] = &[
    ("BACKUPJOB", "BackupJob"),
    // `Document` is the enum of all documents; OpenNebula calls these generic documents.
    ("DOCUMENT", "GenericDocument"),
    ("MARKETPLACE", "MarketPlace"),
    ("MARKETPLACEAPP", "MarketPlaceApp"),
    ("SECGROUP", "SecurityGroup"),
    ("VMTEMPLATE", "VmTemplate"),
    ("VNET", "VirtualNetwork"),
    ("VNTEMPLATE", "VnTemplate"),
    ("VROUTER", "VirtualRouter"),
];

/// Rust keywords (strict and reserved) that cannot be used as field names.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

fn words(name: &str) -> Vec<&str> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// `true` when `name` already looks like a Rust type name (`Vm`, `MarketPlaceApp`).
fn is_upper_camel(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && name.chars().any(|c| c.is_ascii_lowercase())
}

/// UpperCamelCase of an XML name: camel names are kept (`MarketPlaceApp`), `SNAKE_CASE` and
/// `ALLCAPS` names are split on non-alphanumerics and capitalised word by word, with the
/// [`WORD_OVERRIDES`] applied (`PERMISSIONS` → `Permissions`, `VNET_POOL` →
/// `VirtualNetworkPool`).
pub fn upper_camel(name: &str) -> String {
    if is_upper_camel(name) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    for word in words(name) {
        let upper = word.to_ascii_uppercase();
        if let Some((_, replacement)) = WORD_OVERRIDES.iter().find(|(w, _)| *w == upper) {
            out.push_str(replacement);
            continue;
        }
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            let rest: String = chars.collect();
            if word.chars().any(|c| c.is_ascii_lowercase())
                && word.chars().any(|c| c.is_ascii_uppercase())
            {
                // Already camel inside (`vmPool`): keep the inner capitals.
                out.push_str(&rest);
            } else {
                out.push_str(&rest.to_ascii_lowercase());
            }
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'X');
    }
    out
}

/// Appends the UpperCamelCase `part` to the type name `name`, dropping a leading word of
/// `part` that repeats the last word of `name` (`Host` + `HostShare` → `HostShare`,
/// not `HostHostShare`).
pub fn join_camel(name: &str, part: &str) -> String {
    let last_word_start = name
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_ascii_uppercase())
        .map(|(i, _)| i)
        .unwrap_or(0);
    let last_word = &name[last_word_start..];
    let rest = part.strip_prefix(last_word).unwrap_or("");
    if !last_word.is_empty() && rest.starts_with(|c: char| c.is_ascii_uppercase()) {
        format!("{name}{rest}")
    } else {
        format!("{name}{part}")
    }
}

/// snake_case field name of an XML element name, with Rust keywords escaped by a trailing
/// underscore (`TYPE` → `type_`) and camel names split (`vmId` → `vm_id`).
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for word in words(name) {
        if !out.is_empty() {
            out.push('_');
        }
        let chars: Vec<char> = word.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                if prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next_lower)
                {
                    out.push('_');
                }
            }
            out.push(c.to_ascii_lowercase());
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// Makes `candidate` unique against `taken` by appending 2, 3, ... and records it.
pub fn unique(candidate: String, taken: &mut std::collections::BTreeSet<String>) -> String {
    if taken.insert(candidate.clone()) {
        return candidate;
    }
    let mut n = 2;
    loop {
        let next = format!("{candidate}{n}");
        if taken.insert(next.clone()) {
            return next;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(upper_camel("PERMISSIONS"), "Permissions");
        assert_eq!(upper_camel("VM_POOL"), "VmPool");
        assert_eq!(upper_camel("VNET_POOL"), "VirtualNetworkPool");
        assert_eq!(upper_camel("MarketPlaceApp"), "MarketPlaceApp");
        assert_eq!(upper_camel("vm_pool_extended"), "VmPoolExtended");
        assert_eq!(upper_camel("DOCUMENT_POOL"), "GenericDocumentPool");
        assert_eq!(join_camel("Host", "HostShare"), "HostShare");
        assert_eq!(join_camel("VmPool", "Vm"), "VmPoolVm");
        assert_eq!(join_camel("Host", "Hostname"), "HostHostname");
        assert_eq!(snake("TYPE"), "type_");
        assert_eq!(snake("LCM_STATE"), "lcm_state");
        assert_eq!(snake("vmId"), "vm_id");
        assert_eq!(snake("IP6_ULA"), "ip6_ula");
    }
}
