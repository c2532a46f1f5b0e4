//! Hostile values through every wire form come back as the same single attribute.
//!
//! Each produced string is read the way oned reads a template parameter (XML when its first
//! byte is `<`, OpenNebula's template syntax otherwise), with our own parser, which follows
//! oned's lexer rule for rule.

use std::collections::{BTreeMap, HashMap};

use indexmap::IndexMap;
use opennebula::template;
use opennebula::template::{Template, TemplateArg, Vector, WireError};
use opennebula::xml::{FromXml, ToXml};

const HOSTILE: &[&str] = &[
    // PyONE's injection: the quote closes the value and a second attribute follows.
    "abc\"\nMEMORY=\"999999",
    "abc\\\"\nMEMORY=\"999999",
    "\"",
    "\\",
    "trailing backslash\\",
    "C:\\dir\\",
    "\\\\\"",
    "x\" ]\nDISK=[IMAGE_ID=\"0",
    "], NIC=[NETWORK=\"evil\"",
    "a,b=c",
    "#not a comment",
    "line\nbreaks\r\nand\ttabs",
    "</NOTES><MEMORY>999999</MEMORY><NOTES>",
    "<![CDATA[x]]><MEMORY>1</MEMORY>",
    "]]>",
    "a]]>b\n]]>",
    "&amp; &lt; &#x41; &",
    "\u{0}",
    "before\u{0}\nMEMORY=\"999999\"",
    "¡Hola! 日本語 😀 \u{2028}\u{feff}",
    "",
    " ",
    "=",
    "[",
];

fn read_as_oned(wire: &str) -> Template {
    if wire.starts_with('<') {
        Template::from_xml(wire).unwrap_or_else(|e| panic!("{e}\n{wire}"))
    } else {
        Template::parse(wire).unwrap_or_else(|e| panic!("{e}\n{wire}"))
    }
}

/// The victim template: the hostile value between two ordinary attributes, once single and
/// once inside a vector.
fn victim(hostile: &str) -> Template {
    template! {
        NAME = "victim",
        NOTES = hostile,
        NIC = [NETWORK = "safe", DESCRIPTION = hostile, IP = "10.0.0.1"],
        MEMORY = 512,
    }
}

fn assert_intact(t: &Template, hostile: &str, wire: &str) {
    assert_eq!(
        t.names().collect::<Vec<_>>(),
        ["NAME", "NOTES", "NIC", "MEMORY"],
        "{wire}"
    );
    assert_eq!(t.get("NAME"), Some("victim"), "{wire}");
    assert_eq!(t.strings("NOTES").collect::<Vec<_>>(), [hostile], "{wire}");
    assert_eq!(t.get_all("NIC").len(), 1, "{wire}");
    let nic = t.vector("NIC").unwrap();
    assert_eq!(
        nic.names().collect::<Vec<_>>(),
        ["NETWORK", "DESCRIPTION", "IP"],
        "{wire}"
    );
    assert_eq!(nic.get("DESCRIPTION"), Some(hostile), "{wire}");
    assert_eq!(nic.get("NETWORK"), Some("safe"), "{wire}");
    assert_eq!(t.strings("MEMORY").collect::<Vec<_>>(), ["512"], "{wire}");
}

/// A hostile value that no form can carry must make the whole template refused (an error
/// naming the attribute), never partly applied.
fn assert_intact_or_refused(wire: Result<String, WireError>, hostile: &str) {
    match wire {
        Err(refused) => {
            assert!(hostile.contains('\0'), "refused without cause: {refused}");
            assert!(
                ["NOTES", "NIC/DESCRIPTION"].contains(&refused.attribute()),
                "{refused}"
            );
        }
        Ok(wire) => assert_intact(&read_as_oned(&wire), hostile, &wire),
    }
}

#[test]
fn template_arg_of_a_template() {
    for hostile in HOSTILE {
        let t = victim(hostile);
        assert_intact_or_refused((&t).into_template_string(), hostile);
        assert_intact_or_refused(t.into_template_string(), hostile);
    }
}

#[test]
fn attribute_vector_form_when_it_accepts() {
    for hostile in HOSTILE {
        match victim(hostile).to_attribute_vector() {
            Ok(wire) => {
                assert!(!wire.starts_with('<'));
                assert_intact(&Template::parse(&wire).unwrap(), hostile, &wire);
            }
            Err(e) => {
                // Only the documented cases: `]]>`, NUL, a trailing backslash after a blank.
                let documented = hostile.contains("]]>")
                    || hostile.contains('\0')
                    || *hostile == "trailing backslash\\";
                assert!(documented, "{hostile:?} refused: {e}");
            }
        }
    }
}

#[test]
fn xml_forms() {
    for hostile in HOSTILE.iter().filter(|h| !h.is_empty()) {
        let t = victim(hostile);
        let xml = t.to_xml();
        assert!(!xml.contains("<![CDATA["), "never CDATA: {xml}");
        assert_intact(&Template::from_xml(&xml).unwrap(), hostile, &xml);
        let rooted = Template::rooted("TEMPLATE", t.clone()).into_template_string();
        assert_intact_or_refused(rooted, hostile);
    }
}

#[test]
fn flat_maps() {
    for hostile in HOSTILE {
        let index: IndexMap<&str, &str> =
            [("NAME", "victim"), ("NOTES", hostile), ("MEMORY", "512")].into();
        let btree: BTreeMap<&str, &str> = index.iter().map(|(k, v)| (*k, *v)).collect();
        let hash: HashMap<String, String> = index
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let wires = [
            (&index).into_template_string(),
            index.clone().into_template_string(),
            (&btree).into_template_string(),
            btree.clone().into_template_string(),
            (&hash).into_template_string(),
            hash.clone().into_template_string(),
        ];
        for wire in wires {
            let Ok(wire) = wire else {
                assert!(hostile.contains('\0'));
                continue;
            };
            let t = read_as_oned(&wire);
            assert_eq!(t.len(), 3, "{wire}");
            assert_eq!(t.get("NOTES"), Some(*hostile), "{wire}");
            assert_eq!(t.get("NAME"), Some("victim"), "{wire}");
            assert_eq!(t.get("MEMORY"), Some("512"), "{wire}");
        }
    }
}

#[test]
fn names_cannot_inject_either() {
    let mut t = Template::new();
    t.set("NOTES\nMEMORY", "1").set("A=\"1\"", "2");
    let refused = t.clone().into_template_string().unwrap_err();
    assert_eq!(refused.attribute(), "NOTES\nMEMORY");
    let mut v = Vector::new();
    v.set("K\"", "x");
    let refused = template! { NIC = v }.into_template_string().unwrap_err();
    assert_eq!(refused.attribute(), "NIC/K\"");
}

/// The test bites: PyONE's naive quoting lets the value inject a second attribute.
#[test]
fn naive_quoting_would_be_caught() {
    let hostile = HOSTILE[0];
    let naive = format!("NAME=\"victim\"\nNOTES=\"{hostile}\"\n");
    let t = Template::parse(&naive).unwrap();
    assert_eq!(t.get("MEMORY"), Some("999999"));
    assert_ne!(t.get("NOTES"), Some(hostile));
}

#[test]
fn a_raw_string_is_sent_untouched() {
    let raw = "NAME=\"x\"\nDISK=[IMAGE_ID=\"1\"]\n";
    assert_eq!(raw.into_template_string().unwrap(), raw);
    assert_eq!(raw.to_owned().into_template_string().unwrap(), raw);
}
