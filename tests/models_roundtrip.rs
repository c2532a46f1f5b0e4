//! Random VM, VM_POOL, HOST, IMAGE and USER documents survive parse → serialize → parse, and
//! tolerate what real oned output does (unknown elements at every level, missing elements,
//! empty numbers, any order, CDATA, the namespace present or absent).
//!
//! The documents are built from each resource's element vocabulary (names and nesting as
//! oned prints them) with random values, random omissions, random unknown elements and a
//! random order; they are decoded through [`Document`] only, so these tests hold for any
//! schema set that generates those roots (`schemas/`, or `OPENNEBULA_XSD_DIR`).
#![cfg(all(
    opennebula_root = "VM",
    opennebula_root = "VM_POOL",
    opennebula_root = "HOST",
    opennebula_root = "IMAGE",
    opennebula_root = "USER"
))]

use opennebula::models::Document;
use proptest::prelude::*;

/// What an element holds.
#[derive(Clone, Copy)]
enum Spec {
    Int,
    Text,
    /// A template-like dictionary of free attributes.
    Dict,
    /// Child elements, each possibly repeated.
    Node(&'static [(&'static str, Spec, bool)]),
}

use Spec::{Dict, Int, Node, Text};

const PERMISSIONS: Spec = Node(&[
    ("OWNER_U", Int, false),
    ("OWNER_M", Int, false),
    ("OWNER_A", Int, false),
    ("GROUP_U", Int, false),
    ("GROUP_M", Int, false),
    ("GROUP_A", Int, false),
    ("OTHER_U", Int, false),
    ("OTHER_M", Int, false),
    ("OTHER_A", Int, false),
]);
const LOCK: Spec = Node(&[
    ("LOCKED", Int, false),
    ("OWNER", Int, false),
    ("TIME", Int, false),
    ("REQ_ID", Int, false),
]);
const IDS: Spec = Node(&[("ID", Int, true)]);
const HISTORY: Spec = Node(&[
    ("OID", Int, false),
    ("SEQ", Int, false),
    ("HOSTNAME", Text, false),
    ("HID", Int, false),
    ("CID", Int, false),
    ("STIME", Int, false),
    ("ETIME", Int, false),
    ("VM_MAD", Text, false),
    ("TM_MAD", Text, false),
    ("DS_ID", Int, false),
    ("ACTION", Int, false),
]);
const VM: Spec = Node(&[
    ("ID", Int, false),
    ("UID", Int, false),
    ("GID", Int, false),
    ("UNAME", Text, false),
    ("GNAME", Text, false),
    ("NAME", Text, false),
    ("PERMISSIONS", PERMISSIONS, false),
    ("LAST_POLL", Int, false),
    ("STATE", Int, false),
    ("LCM_STATE", Int, false),
    ("PREV_STATE", Int, false),
    ("PREV_LCM_STATE", Int, false),
    ("RESCHED", Int, false),
    ("STIME", Int, false),
    ("ETIME", Int, false),
    ("DEPLOY_ID", Text, false),
    ("LOCK", LOCK, false),
    ("MONITORING", Dict, false),
    ("TEMPLATE", Dict, false),
    ("USER_TEMPLATE", Dict, false),
    (
        "HISTORY_RECORDS",
        Node(&[("HISTORY", HISTORY, true)]),
        false,
    ),
]);
const VM_POOL: Spec = Node(&[("VM", VM, true)]);
const HOST: Spec = Node(&[
    ("ID", Int, false),
    ("NAME", Text, false),
    ("STATE", Int, false),
    ("PREV_STATE", Int, false),
    ("IM_MAD", Text, false),
    ("VM_MAD", Text, false),
    ("CLUSTER_ID", Int, false),
    ("CLUSTER", Text, false),
    (
        "HOST_SHARE",
        Node(&[
            ("MEM_USAGE", Int, false),
            ("CPU_USAGE", Int, false),
            ("TOTAL_MEM", Int, false),
            ("TOTAL_CPU", Int, false),
            ("MAX_MEM", Int, false),
            ("MAX_CPU", Int, false),
            ("RUNNING_VMS", Int, false),
        ]),
        false,
    ),
    ("VMS", IDS, false),
    ("TEMPLATE", Dict, false),
    ("MONITORING", Dict, false),
]);
const IMAGE: Spec = Node(&[
    ("ID", Int, false),
    ("UID", Int, false),
    ("GID", Int, false),
    ("UNAME", Text, false),
    ("GNAME", Text, false),
    ("NAME", Text, false),
    ("LOCK", LOCK, false),
    ("PERMISSIONS", PERMISSIONS, false),
    ("TYPE", Int, false),
    ("DISK_TYPE", Int, false),
    ("PERSISTENT", Int, false),
    ("REGTIME", Int, false),
    ("SOURCE", Text, false),
    ("PATH", Text, false),
    ("FORMAT", Text, false),
    ("FS", Text, false),
    ("SIZE", Int, false),
    ("STATE", Int, false),
    ("PREV_STATE", Int, false),
    ("RUNNING_VMS", Int, false),
    ("CLONING_OPS", Int, false),
    ("CLONING_ID", Int, false),
    ("TARGET_SNAPSHOT", Int, false),
    ("DATASTORE_ID", Int, false),
    ("DATASTORE", Text, false),
    ("VMS", IDS, false),
    ("CLONES", IDS, false),
    ("APP_CLONES", IDS, false),
    ("TEMPLATE", Dict, false),
    (
        "SNAPSHOTS",
        Node(&[
            ("ALLOW_ORPHANS", Text, false),
            ("CURRENT_BASE", Int, false),
            ("NEXT_SNAPSHOT", Int, false),
            (
                "SNAPSHOT",
                Node(&[
                    ("ACTIVE", Text, false),
                    ("DATE", Int, false),
                    ("ID", Int, false),
                    ("NAME", Text, false),
                    ("PARENT", Int, false),
                    ("SIZE", Int, false),
                ]),
                true,
            ),
        ]),
        false,
    ),
]);
const USER: Spec = Node(&[
    ("ID", Int, false),
    ("GID", Int, false),
    ("GROUPS", IDS, false),
    ("GNAME", Text, false),
    ("NAME", Text, false),
    ("PASSWORD", Text, false),
    ("AUTH_DRIVER", Text, false),
    ("ENABLED", Int, false),
    (
        "LOGIN_TOKEN",
        Node(&[
            ("TOKEN", Text, false),
            ("EXPIRATION_TIME", Int, false),
            ("EGID", Int, false),
        ]),
        true,
    ),
    ("TEMPLATE", Dict, false),
]);

/// A small deterministic generator (xorshift64*), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Options for one generated document.
#[derive(Debug, Clone, Copy)]
struct Noise {
    unknown: bool,
    shuffle: bool,
    omit: bool,
    odd_numbers: bool,
}

fn text(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "web", "a<b", "x&y", "ü", "1.5", " ", "]]", "\"q\"", "kvm", "",
    ];
    (0..rng.below(4))
        .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn leaf_text(rng: &mut Rng, text: &str) -> String {
    if !text.contains("]]>") && rng.chance(50) {
        format!("<![CDATA[{text}]]>")
    } else {
        escape(text)
    }
}

fn number(rng: &mut Rng, noise: Noise) -> String {
    if noise.odd_numbers && rng.chance(10) {
        return ["", " ", "abc", "2.5"][rng.below(4) as usize].to_string();
    }
    match rng.below(3) {
        0 => rng.below(10).to_string(),
        1 => (rng.next() as i64).to_string(),
        _ => (rng.below(1 << 40) as i64 - (1 << 39)).to_string(),
    }
}

fn unknown_element(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => "<NEW_FIELD>1</NEW_FIELD>".to_string(),
        1 => "<NEW_EMPTY/>".to_string(),
        _ => format!(
            "<NEW_TREE><A>{}</A><B><C/></B></NEW_TREE>",
            escape(&text(rng))
        ),
    }
}

fn element(rng: &mut Rng, name: &str, spec: Spec, noise: Noise, depth: usize) -> String {
    let inner = match spec {
        Int => {
            let n = number(rng, noise);
            leaf_text(rng, &n)
        }
        Text => {
            let t = text(rng);
            leaf_text(rng, &t)
        }
        Dict => {
            let mut out = String::new();
            for i in 0..rng.below(4) {
                let key = ["CPU", "MEMORY", "LABELS", "DISK_SIZE"][i as usize];
                if rng.chance(25) {
                    out.push_str(&format!(
                        "<{key}><ID>{}</ID><SIZE>{}</SIZE></{key}>",
                        rng.below(9),
                        rng.below(999)
                    ));
                } else {
                    let t = text(rng);
                    out.push_str(&format!("<{key}>{}</{key}>", leaf_text(rng, &t)));
                }
            }
            out
        }
        Node(children) => {
            let mut parts = Vec::new();
            for &(child, child_spec, repeated) in children {
                let count = if repeated {
                    rng.below(if depth == 0 { 4 } else { 3 })
                } else if noise.omit && rng.chance(15) {
                    0
                } else {
                    1
                };
                for _ in 0..count {
                    parts.push(element(rng, child, child_spec, noise, depth + 1));
                }
            }
            if noise.unknown {
                for _ in 0..rng.below(3) {
                    let at = rng.below(parts.len() as u64 + 1) as usize;
                    parts.insert(at, unknown_element(rng));
                }
            }
            if noise.shuffle {
                for i in (1..parts.len()).rev() {
                    let j = rng.below(i as u64 + 1) as usize;
                    parts.swap(i, j);
                }
            }
            parts.concat()
        }
    };
    if inner.is_empty() && rng.chance(30) {
        format!("<{name}/>")
    } else {
        format!("<{name}>{inner}</{name}>")
    }
}

fn document(seed: u64, root: &str, spec: Spec, noise: Noise) -> String {
    let mut rng = Rng(seed | 1);
    let xml = element(&mut rng, root, spec, noise, 0);
    if rng.chance(30) {
        // The schema namespace as a default namespace (oned emits none; xmllint wants it).
        xml.replacen(
            &format!("<{root}"),
            &format!("<{root} xmlns=\"http://opennebula.org/XMLSchema\""),
            1,
        )
    } else {
        xml
    }
}

/// parse → serialize → parse is the identity, and serializing again is a fixpoint.
fn assert_round_trip(xml: &str, root: &str) -> Result<(), TestCaseError> {
    let first = Document::from_xml(xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
    prop_assert_eq!(first.root_name(), root);
    prop_assert!(
        !matches!(first, Document::Unknown { .. }),
        "no type for {}",
        root
    );
    let written = first.to_xml();
    let second =
        Document::from_xml(&written).map_err(|e| TestCaseError::fail(format!("{e}\n{written}")))?;
    prop_assert_eq!(&second, &first, "document: {}\nwritten: {}", xml, written);
    prop_assert_eq!(second.to_xml(), written);
    Ok(())
}

fn noise() -> impl Strategy<Value = Noise> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(unknown, shuffle, omit, odd_numbers)| Noise {
            unknown,
            shuffle,
            omit,
            odd_numbers,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn vm_round_trips(seed in any::<u64>(), noise in noise()) {
        assert_round_trip(&document(seed, "VM", VM, noise), "VM")?;
    }

    #[test]
    fn vm_pool_round_trips(seed in any::<u64>(), noise in noise()) {
        assert_round_trip(&document(seed, "VM_POOL", VM_POOL, noise), "VM_POOL")?;
    }

    #[test]
    fn host_round_trips(seed in any::<u64>(), noise in noise()) {
        assert_round_trip(&document(seed, "HOST", HOST, noise), "HOST")?;
    }

    #[test]
    fn image_round_trips(seed in any::<u64>(), noise in noise()) {
        assert_round_trip(&document(seed, "IMAGE", IMAGE, noise), "IMAGE")?;
    }

    #[test]
    fn user_round_trips(seed in any::<u64>(), noise in noise()) {
        assert_round_trip(&document(seed, "USER", USER, noise), "USER")?;
    }
}

/// The tolerance rules give values, not errors, on the real types.
#[test]
fn real_types_tolerate_unknown_missing_empty_and_reordered_elements() {
    let vm = Document::from_xml(
        "<VM><NEW_TOP><X>1</X></NEW_TOP><NAME><![CDATA[web]]></NAME><STATE></STATE>\
<PERMISSIONS><NEW_PERM/><OWNER_U>1</OWNER_U></PERMISSIONS>\
<HISTORY_RECORDS><HISTORY><NEW_H>1</NEW_H><SEQ>abc</SEQ></HISTORY></HISTORY_RECORDS><ID>42</ID></VM>",
    )
    .unwrap();
    assert_eq!(
        (vm.root_name(), vm.id(), vm.name()),
        ("VM", Some(42), Some("web"))
    );

    let with_namespace = Document::from_xml(
        "<VM xmlns=\"http://opennebula.org/XMLSchema\"><ID>42</ID><NAME>web</NAME></VM>",
    )
    .unwrap();
    let prefixed = Document::from_xml(
        "<one:VM xmlns:one=\"http://opennebula.org/XMLSchema\"><one:ID>42</one:ID><one:NAME>web</one:NAME></one:VM>",
    )
    .unwrap();
    let plain = Document::from_xml("<VM><NAME>web</NAME><ID>42</ID></VM>").unwrap();
    assert_eq!(with_namespace, plain);
    assert_eq!(prefixed, plain);

    let pool =
        Document::from_xml("<VM_POOL><VM><ID>1</ID></VM><NEW/><VM><ID>2</ID></VM></VM_POOL>")
            .unwrap();
    assert_eq!(pool.entry_count(), Some(2));

    let err = Document::from_xml("<VM><ID>1</ID><NAME>web</VM>").unwrap_err();
    assert!(err.position > 0, "{err}");
}
