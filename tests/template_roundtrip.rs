//! Property tests: random templates survive every form (text, XML, wire, JSON) unchanged.
//!
//! Values are drawn from the whole Unicode range, salted with every character that matters to
//! one of the syntaxes: quotes, backslashes (trailing ones too), line breaks, `]`, `,`, `=`,
//! `#`, `[`, `<`, `&`, `]]>`, blanks.

use opennebula::template::{Template, TemplateArg, Value, Vector, WireForm};
use opennebula::xml::{escape, FromXml, ToXml};
use proptest::prelude::*;

/// Fragments that stress the syntaxes.
const SPECIAL: &[&str] = &[
    "\"",
    "\\",
    "\\\"",
    "\"\\",
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
    "]",
    "[",
    ",",
    "=",
    "#",
    "<",
    ">",
    "&",
    "]]>",
    "<![CDATA[",
    "&amp;",
    "'",
    "é",
    "日本",
    "😀",
    "\u{2028}",
    "\u{feff}",
    "$VAR",
];

fn xml_forbids(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(SPECIAL).prop_map(str::to_owned),
        2 => "[A-Za-z0-9 ._/:-]{1,6}",
        // Any Unicode scalar value except those XML 1.0 forbids (NUL, the other C0 controls
        // but tab, LF and CR, U+FFFE/U+FFFF), which no form can carry: tested separately.
        2 => any::<char>().prop_filter("XML 1.0 characters", |c| !xml_forbids(*c)).prop_map(String::from),
    ]
}

fn value_string() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..6).prop_map(|parts| parts.concat())
}

/// Names valid in both the attribute-vector syntax and XML, in mixed case.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,7}"
}

fn vector(min: usize) -> impl Strategy<Value = Vector> {
    prop::collection::vec((name(), value_string()), min..4).prop_map(|pairs| {
        let mut v = Vector::new();
        for (k, s) in pairs {
            v.set(&k, s);
        }
        v
    })
}

fn template(min_vector: usize) -> impl Strategy<Value = Template> {
    let value = prop_oneof![
        3 => value_string().prop_map(Value::Single),
        1 => vector(min_vector).prop_map(Value::Vector),
    ];
    // Few distinct names, so that repetitions are frequent.
    let entry = (
        prop::sample::select(vec!["A", "disk", "NIC", "Memory", "x_1"]),
        name(),
        any::<bool>(),
        value,
    )
        .prop_map(|(common, random, use_common, value)| {
            (
                if use_common {
                    common.to_owned()
                } else {
                    random
                },
                value,
            )
        });
    prop::collection::vec(entry, 0..8).prop_map(|entries| entries.into_iter().collect())
}

fn has_value(t: &Template, pred: &dyn Fn(&str) -> bool) -> bool {
    t.iter().any(|(_, v)| match v {
        Value::Single(s) => pred(s),
        Value::Vector(vec) => vec.iter().any(|(_, s)| pred(s)),
        Value::Nested(_) => true,
    })
}

/// The documented reasons the attribute-vector form refuses a template (names are valid here).
fn attribute_vector_may_refuse(t: &Template) -> bool {
    has_value(t, &|s| {
        s.contains("]]>") || (s.ends_with('\\') && s.bytes().any(|b| b" \t\n=#,[]\"".contains(&b)))
    })
}

/// How a random writer of OpenNebula templates could lay this template out.
#[derive(Debug, Clone)]
struct Layout {
    spaces: Vec<(bool, bool)>,
    comments: Vec<bool>,
    unquoted: Vec<bool>,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::collection::vec(any::<(bool, bool)>(), 64),
        prop::collection::vec(any::<bool>(), 64),
        prop::collection::vec(any::<bool>(), 64),
    )
        .prop_map(|(spaces, comments, unquoted)| Layout {
            spaces,
            comments,
            unquoted,
        })
}

/// Writes `value` the way a person might: unquoted when oned would read it back, else quoted
/// with every `"` escaped.
fn write_value(out: &mut String, value: &str, unquoted: bool) {
    let safe = !value.is_empty() && !value.bytes().any(|b| b" \t\n=#,[]\"\r".contains(&b));
    if unquoted && safe || value.ends_with('\\') {
        out.push_str(value);
    } else {
        out.push('"');
        out.push_str(&value.replace('"', "\\\""));
        out.push('"');
    }
}

/// Hand-written-looking text: blanks around `=`, comments, unquoted values, one-line vectors.
fn write_text(t: &Template, layout: &Layout) -> String {
    let mut out = String::from("# generated\n");
    for (i, (name, value)) in t.iter().enumerate() {
        let (before, after) = layout.spaces[i % 64];
        out.push_str(&name.to_ascii_lowercase());
        out.push_str(if before { " =" } else { "=" });
        if after {
            out.push_str("  ");
        }
        match value {
            Value::Single(s) => write_value(&mut out, s, layout.unquoted[i % 64]),
            Value::Vector(v) => {
                out.push_str("[ ");
                for (j, (k, s)) in v.iter().enumerate() {
                    if j > 0 {
                        out.push_str(if layout.comments[(i + j) % 64] {
                            " ,\n   "
                        } else {
                            ", "
                        });
                    }
                    out.push_str(k);
                    out.push_str(" = ");
                    write_value(&mut out, s, layout.unquoted[(i + j) % 64]);
                }
                out.push_str(" ]");
            }
            Value::Nested(_) => unreachable!("not generated"),
        }
        if layout.comments[i % 64] {
            out.push_str(" # comment, with \"quotes\" and = signs");
        }
        out.push('\n');
    }
    out
}

/// Hand-written-looking XML: CDATA or escaped text, `<A/>` for empty values, whitespace
/// between elements.
fn write_xml(t: &Template, layout: &Layout) -> String {
    fn text(out: &mut String, s: &str, cdata: bool) {
        if cdata
            && !s.contains("]]>")
            && !s.contains('\r')
            && !s.chars().any(|c| c < ' ' && c != '\n' && c != '\t')
        {
            out.push_str("<![CDATA[");
            out.push_str(s);
            out.push_str("]]>");
        } else {
            out.push_str(&escape(s));
        }
    }
    let mut out = String::from("<?xml version=\"1.0\"?>\n<TEMPLATE>\n");
    for (i, (name, value)) in t.iter().enumerate() {
        let cdata = layout.unquoted[i % 64];
        match value {
            Value::Single(s) if s.is_empty() && layout.comments[i % 64] => {
                out.push_str(&format!("  <{name}/>\n"));
            }
            Value::Single(s) => {
                out.push_str(&format!("  <{name}>"));
                text(&mut out, s, cdata);
                out.push_str(&format!("</{name}>\n"));
            }
            Value::Vector(v) => {
                out.push_str(&format!("  <{name}>\n"));
                for (k, s) in v.iter() {
                    out.push_str(&format!("    <{k}>"));
                    text(&mut out, s, cdata);
                    out.push_str(&format!("</{k}>\n"));
                }
                out.push_str(&format!("  </{name}>\n"));
            }
            Value::Nested(_) => unreachable!("not generated"),
        }
    }
    out.push_str("</TEMPLATE>\n");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    /// The attribute-vector form reads back as exactly the same attributes, or is refused for
    /// a documented reason only.
    #[test]
    fn attribute_vector_form_parses_back_identically(t in template(0)) {
        match t.to_attribute_vector() {
            Ok(text) => {
                let back = Template::parse(&text)
                    .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
                prop_assert_eq!(back, t);
            }
            Err(e) => prop_assert!(attribute_vector_may_refuse(&t), "refused without cause: {}", e),
        }
    }

    /// text → parse → serialize → parse is the identity.
    #[test]
    fn text_parse_serialize_parse_is_identity(t in template(0), layout in layout()) {
        prop_assume!(!attribute_vector_may_refuse(&t));
        let text = write_text(&t, &layout);
        let parsed = Template::parse(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&parsed, &t);
        let again = Template::parse(&parsed.to_attribute_vector().unwrap()).unwrap();
        prop_assert_eq!(again, parsed);
    }

    /// XML → parse → serialize → parse is the identity.
    #[test]
    fn xml_parse_serialize_parse_is_identity(t in template(1), layout in layout()) {
        let xml = write_xml(&t, &layout);
        let parsed = Template::from_xml(&xml)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(&parsed, &t);
        let again = Template::from_xml(&parsed.to_xml()).unwrap();
        prop_assert_eq!(again, parsed);
    }

    /// Whatever form `to_wire_string` picks, reading it the way oned does (XML when it starts
    /// with `<`) gives back the same template.
    #[test]
    fn wire_string_reads_back_identically(t in template(0)) {
        match t.to_wire_string() {
            Ok(wire) => {
                let back = if wire.starts_with('<') {
                    prop_assert_eq!(t.wire_form().unwrap(), WireForm::Xml);
                    Template::from_xml(&wire).unwrap()
                } else {
                    Template::parse(&wire).unwrap()
                };
                prop_assert_eq!(back, t);
            }
            Err(_) => {
                // Only when the attribute-vector form is refused and XML would drop an empty
                // value.
                prop_assert!(attribute_vector_may_refuse(&t));
                prop_assert!(has_value(&t, &str::is_empty) || t.vectors_any_empty());
            }
        }
    }

    /// With any names at all (control characters, markup, non-ASCII, empty), what
    /// `TemplateArg` sends is either read back as exactly the same template or refused as a
    /// whole.
    #[test]
    fn any_names_are_sent_exactly_or_refused(
        entries in prop::collection::vec(
            (prop_oneof![name(), "\\PC{0,5}", prop::sample::select(SPECIAL).prop_map(str::to_owned)],
             value_string()),
            0..6,
        )
    ) {
        let t: Template = entries.into_iter().collect();
        match (&t).into_template_string() {
            Err(refused) => {
                prop_assert_eq!(t.to_wire_string().unwrap_err(), refused);
            }
            Ok(wire) => {
                if wire.starts_with('<') {
                    prop_assert_eq!(Template::from_xml(&wire).unwrap(), t);
                } else {
                    prop_assert_eq!(Template::parse(&wire).unwrap(), t);
                }
            }
        }
    }

    /// JSON → back is the identity.
    #[test]
    fn json_round_trip(t in template(0)) {
        let json = serde_json::to_string(&t).unwrap();
        let back: Template = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, t);
    }
}

trait AnyEmptyVector {
    fn vectors_any_empty(&self) -> bool;
}

impl AnyEmptyVector for Template {
    fn vectors_any_empty(&self) -> bool {
        self.iter()
            .any(|(_, v)| v.as_vector().is_some_and(Vector::is_empty))
    }
}
