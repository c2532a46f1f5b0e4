//! Build-time generator of the typed API (`crate::api`) from our tables in `schemas/api/`:
//!
//! - `methods.api`: every OpenNebula XML-RPC method, its Rust name, typed parameters, defaults,
//!   return type and idempotency → request builders, the runtime method table, and the async
//!   and blocking namespace handles;
//! - `constants.api`: every state/type constant → enums with raw conversions and `Display`;
//! - `documents.api`: XML roots → model type names.
//!
//! Compiled into `build.rs` only (`#[path = "src/codegen/api.rs"] mod codegen_api;`): it uses
//! nothing but `std` and cannot use the `opennebula` crate. Output is deterministic.

// Build scripts have no consumer for some helpers in every configuration.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// What the generator needs to know about the rest of the crate.
#[derive(Debug, Default)]
pub struct Environment {
    /// Names of the types `crate::models` defines (a document root whose model is missing
    /// decodes into `crate::api::RawDocument`).
    pub model_types: BTreeSet<String>,
    /// `crate::template::TemplateArg` exists: template parameters take `impl TemplateArg`
    /// (otherwise `impl Into<String>`).
    pub template_arg: bool,
}

/// One parameter of a method, in wire order (a `Permissions` parameter stands for nine ints).
#[derive(Debug, Clone)]
pub struct Param {
    /// snake_case name.
    pub name: String,
    /// Table type (`int`, `bool`, `str`, `i8`, `ints`, `template`, `Permissions`, an enum...).
    pub ty: String,
    /// Default (a Rust expression) for an optional trailing parameter.
    pub default: Option<String>,
    /// The protobuf type over gRPC where it is not the usual one for `ty` (`-`: not sent).
    pub proto: Option<String>,
}

/// An extra short form of a method.
#[derive(Debug, Clone)]
pub struct Short {
    /// Rust name.
    pub name: String,
    /// Parameters the caller gives.
    pub kept: Vec<String>,
    /// Parameters fixed to a value (others not kept take their default).
    pub fixed: BTreeMap<String, String>,
}

/// One method of `methods.api`.
#[derive(Debug, Clone)]
pub struct Method {
    /// Object (`vm`).
    pub object: String,
    /// OpenNebula verb (`info`).
    pub verb: String,
    /// Rust base name (`info`, `info_extended`).
    pub rust: String,
    /// Parameters in wire order.
    pub params: Vec<Param>,
    /// `int`, `i8`, `string` or `xml:ROOT`.
    pub returns: String,
    /// Read-only, safe to retry.
    pub idempotent: bool,
    /// First release with the name.
    pub since: String,
    /// Registered by oned but absent from the reference documentation.
    pub server_only: bool,
    /// Rename of the full form.
    pub full_name: Option<String>,
    /// Rename of the generated short form.
    pub short_name: Option<String>,
    /// Extra short forms.
    pub shorts: Vec<Short>,
    /// Notes (discrepancies).
    pub notes: Vec<String>,
    /// The gRPC rpc's name where it is not the section's prefix + the Rust name.
    pub grpc_rpc: Option<String>,
    /// A raft answer message instead of `ResponseID` / `ResponseXML`.
    pub grpc_reply: Option<String>,
}

impl Method {
    /// `one.vm.info`.
    pub fn full_method(&self) -> String {
        format!("one.{}.{}", self.object, self.verb)
    }

    fn has_optional(&self) -> bool {
        self.params.iter().any(|p| p.default.is_some())
    }

    /// Name of the wrapper taking every parameter.
    pub fn full_form_name(&self) -> String {
        match &self.full_name {
            Some(n) => n.clone(),
            None if self.has_optional() => format!("{}_full", self.rust),
            None => self.rust.clone(),
        }
    }

    /// Name of the wrapper taking only the required parameters, if there is one.
    pub fn short_form_name(&self) -> Option<String> {
        if !self.has_optional() {
            return None;
        }
        Some(self.short_name.clone().unwrap_or_else(|| self.rust.clone()))
    }
}

/// One section (`[vm] VmApi  doc`).
#[derive(Debug, Clone)]
pub struct Namespace {
    /// Object (`vm`): the accessor name on the client.
    pub object: String,
    /// Handle type (`VmApi`).
    pub handle: String,
    /// Doc line.
    pub doc: String,
    /// Methods in table order.
    pub methods: Vec<Method>,
    /// The gRPC service of its rpcs (`one.vm.VirtualMachineService`).
    pub grpc_service: Option<String>,
    /// What the rpc names of its methods start with (`Pool` for `one.vmpool.*`).
    pub grpc_prefix: String,
}

/// One enum of `constants.api`.
#[derive(Debug, Clone)]
pub struct Enum {
    /// Rust name.
    pub name: String,
    /// Where OpenNebula defines it.
    pub source: String,
    /// Doc text.
    pub doc: String,
    /// String constants (`one.vm.action`) instead of numbers.
    pub names_only: bool,
    /// (value, OpenNebula name, variant).
    pub rows: Vec<(i64, String, String)>,
}

fn bad(file: &str, line_no: usize, line: &str, why: &str) -> String {
    format!("{file}:{}: {why}: {line}", line_no + 1)
}

/// UpperCamelCase of `SNAKE_CASE` / `kebab-case` / `lower`.
pub fn camel(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Splits on `sep` outside brackets and quotes.
fn split_top(text: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 && !quoted {
            parts.push(current.trim().to_string());
            current.clear();
        } else {
            current.push(c);
        }
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_string());
    }
    parts
}

/// Parses `methods.api`.
pub fn parse_methods(text: &str) -> Result<Vec<Namespace>, String> {
    const FILE: &str = "methods.api";
    let mut spaces: Vec<Namespace> = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let (object, rest) = rest
                .split_once(']')
                .ok_or_else(|| bad(FILE, no, line, "section"))?;
            let rest = rest.trim();
            let (handle, doc) = rest
                .split_once(' ')
                .ok_or_else(|| bad(FILE, no, line, "section needs a handle and a doc"))?;
            spaces.push(Namespace {
                object: object.trim().to_string(),
                handle: handle.trim().to_string(),
                doc: doc.trim().to_string(),
                methods: Vec::new(),
                grpc_service: None,
                grpc_prefix: String::new(),
            });
            continue;
        }
        let space = spaces
            .last_mut()
            .ok_or_else(|| bad(FILE, no, line, "method before any section"))?;
        let trimmed = line.trim_start();
        if let Some(grpc) = trimmed.strip_prefix("> grpc ") {
            let mut words = grpc.split_whitespace();
            space.grpc_service = Some(
                words
                    .next()
                    .ok_or_else(|| bad(FILE, no, line, "> grpc needs a service"))?
                    .to_string(),
            );
            space.grpc_prefix = words.next().unwrap_or_default().to_string();
            continue;
        }
        if let Some(note) = trimmed.strip_prefix("! ") {
            let method = space
                .methods
                .last_mut()
                .ok_or_else(|| bad(FILE, no, line, "note before any method"))?;
            method.notes.push(note.trim().to_string());
            continue;
        }
        if let Some(short) = trimmed.strip_prefix("+ ") {
            let method = space
                .methods
                .last_mut()
                .ok_or_else(|| bad(FILE, no, line, "short form before any method"))?;
            let open = short
                .find('(')
                .ok_or_else(|| bad(FILE, no, line, "short form needs ("))?;
            let close = short
                .find(')')
                .ok_or_else(|| bad(FILE, no, line, "short form needs )"))?;
            let name = short[..open].trim().to_string();
            let kept: Vec<String> = split_top(&short[open + 1..close], ',');
            let mut fixed = BTreeMap::new();
            for assignment in split_top(&short[close + 1..], ',') {
                let (k, v) = assignment
                    .split_once('=')
                    .ok_or_else(|| bad(FILE, no, line, "fixed parameter needs ="))?;
                fixed.insert(k.trim().to_string(), v.trim().to_string());
            }
            for p in kept.iter().chain(fixed.keys()) {
                if !method.params.iter().any(|q| &q.name == p) {
                    return Err(bad(FILE, no, line, &format!("unknown parameter {p}")));
                }
            }
            method.shorts.push(Short { name, kept, fixed });
            continue;
        }
        // verb  rust(params) -> ret  flags
        let (verb, rest) = trimmed
            .split_once(' ')
            .ok_or_else(|| bad(FILE, no, line, "method line"))?;
        let rest = rest.trim();
        let open = rest
            .find('(')
            .ok_or_else(|| bad(FILE, no, line, "missing ("))?;
        let close = rest
            .rfind(") ->")
            .ok_or_else(|| bad(FILE, no, line, "missing ) ->"))?;
        let rust = rest[..open].trim().to_string();
        let mut params = Vec::new();
        for p in split_top(&rest[open + 1..close], ',') {
            let (name, ty) = p
                .split_once(':')
                .ok_or_else(|| bad(FILE, no, line, "parameter needs name: type"))?;
            let (ty, default) = match ty.split_once('=') {
                Some((t, d)) => (t.trim().to_string(), Some(d.trim().to_string())),
                None => (ty.trim().to_string(), None),
            };
            let (ty, proto) = match ty.split_once('@') {
                Some((t, proto)) => (t.to_string(), Some(proto.to_string())),
                None => (ty, None),
            };
            if default.is_none() && params.iter().any(|q: &Param| q.default.is_some()) {
                return Err(bad(
                    FILE,
                    no,
                    line,
                    "a required parameter after an optional one",
                ));
            }
            params.push(Param {
                name: name.trim().to_string(),
                ty,
                default,
                proto,
            });
        }
        let after = rest[close + 4..].trim();
        let (returns, flags) = after.split_once(' ').unwrap_or((after, ""));
        let mut method = Method {
            object: space.object.clone(),
            verb: verb.to_string(),
            rust,
            params,
            returns: returns.trim().to_string(),
            idempotent: false,
            since: String::new(),
            server_only: false,
            full_name: None,
            short_name: None,
            shorts: Vec::new(),
            notes: Vec::new(),
            grpc_rpc: None,
            grpc_reply: None,
        };
        for flag in flags.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let (key, value) = flag.split_once(' ').unwrap_or((flag, ""));
            match key {
                "idempotent" => method.idempotent = true,
                "server-only" => method.server_only = true,
                "since" => method.since = value.trim().to_string(),
                "full-name" => method.full_name = Some(value.trim().to_string()),
                "short-name" => method.short_name = Some(value.trim().to_string()),
                "grpc" => method.grpc_rpc = Some(value.trim().to_string()),
                "grpc-reply" => method.grpc_reply = Some(value.trim().to_string()),
                other => return Err(bad(FILE, no, line, &format!("unknown flag {other}"))),
            }
        }
        space.methods.push(method);
    }
    Ok(spaces)
}

/// Parses `constants.api`.
pub fn parse_constants(text: &str) -> Result<Vec<Enum>, String> {
    const FILE: &str = "constants.api";
    let mut enums: Vec<Enum> = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("enum ") {
            let (head, source) = rest.split_once('#').unwrap_or((rest, ""));
            let mut words = head.split_whitespace();
            let name = words
                .next()
                .ok_or_else(|| bad(FILE, no, line, "enum name"))?
                .to_string();
            let names_only = words.next() == Some("names");
            enums.push(Enum {
                name,
                source: source.trim().to_string(),
                doc: String::new(),
                names_only,
                rows: Vec::new(),
            });
            continue;
        }
        let current = enums
            .last_mut()
            .ok_or_else(|| bad(FILE, no, line, "row before any enum"))?;
        let row = line.trim();
        if let Some(doc) = row.strip_prefix("doc ") {
            current.doc = doc.trim().to_string();
            continue;
        }
        let (row, variant) = match row.split_once('=') {
            Some((r, v)) => (r.trim(), Some(v.trim().to_string())),
            None => (row, None),
        };
        if current.names_only {
            let value = current.rows.len() as i64;
            current.rows.push((
                value,
                row.to_string(),
                variant.unwrap_or_else(|| camel(row)),
            ));
        } else {
            let (value, name) = row
                .split_once(' ')
                .ok_or_else(|| bad(FILE, no, line, "value NAME"))?;
            let value: i64 = value
                .parse()
                .map_err(|_| bad(FILE, no, line, "value is not an integer"))?;
            let name = name.trim().to_string();
            current
                .rows
                .push((value, name.clone(), variant.unwrap_or_else(|| camel(&name))));
        }
    }
    for e in &enums {
        let mut seen = BTreeSet::new();
        for (v, _, variant) in &e.rows {
            if variant == "Unknown" || variant == "Other" || !seen.insert(variant.clone()) {
                return Err(format!(
                    "{FILE}: enum {} has a clashing variant {variant}",
                    e.name
                ));
            }
            if !e.names_only && e.rows.iter().filter(|r| r.0 == *v).count() > 1 {
                return Err(format!("{FILE}: enum {} repeats the value {v}", e.name));
            }
        }
    }
    Ok(enums)
}

/// Parses `documents.api` into ROOT → type name (`None` for roots without a model).
pub fn parse_documents(text: &str) -> Result<BTreeMap<String, Option<String>>, String> {
    let mut map = BTreeMap::new();
    for (no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(root), Some(ty)) = (words.next(), words.next()) else {
            return Err(bad("documents.api", no, line, "ROOT Type"));
        };
        map.insert(root.to_string(), (ty != "-").then(|| ty.to_string()));
    }
    Ok(map)
}

/// The generated sources, one per `include!` site in `src/api/`.
#[derive(Debug, Default)]
pub struct Output {
    /// `api_constants.rs`: the enums.
    pub constants: String,
    /// `api_requests.rs`: sans-IO request builders, one module per object.
    pub requests: String,
    /// `api_info.rs`: the runtime method table.
    pub info: String,
    /// `api_handles.rs`: async handles and the `Client` accessors.
    pub handles: String,
    /// `api_blocking.rs`: blocking handles and the `blocking::Client` accessors.
    pub blocking: String,
    /// `api_documents.rs`: one alias per document root, naming the type its methods return.
    pub documents: String,
}

const HEADER: &str = "// @generated by src/codegen/api.rs from schemas/api/. DO NOT EDIT.\n\n";

/// Reads the tables in `dir` and writes the generated files into `out_dir`.
pub fn generate(dir: &Path, out_dir: &Path, env: &Environment) -> Result<(), String> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let spaces = parse_methods(&read("methods.api")?)?;
    let enums = parse_constants(&read("constants.api")?)?;
    let documents = parse_documents(&read("documents.api")?)?;
    let output = render(&spaces, &enums, &documents, env)?;
    for (name, text) in [
        ("api_constants.rs", &output.constants),
        ("api_requests.rs", &output.requests),
        ("api_info.rs", &output.info),
        ("api_handles.rs", &output.handles),
        ("api_blocking.rs", &output.blocking),
        ("api_documents.rs", &output.documents),
    ] {
        let path = out_dir.join(name);
        // Rewrite only on change so that an unchanged table does not recompile the crate.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// The Rust type, wire conversion and wire types of a table type.
struct TypeInfo {
    /// Type in the wrapper's signature.
    rust: String,
    /// Expression pushing the parameter `x` onto `params`.
    push: String,
    /// Wire types it occupies.
    wire: Vec<&'static str>,
    /// A placeholder value for the generated arity test.
    sample: String,
}

fn type_info(ty: &str, name: &str, enums: &[Enum], env: &Environment) -> Result<TypeInfo, String> {
    let simple = |rust: &str, push: String, wire: &'static str, sample: &str| TypeInfo {
        rust: rust.to_string(),
        push,
        wire: vec![wire],
        sample: sample.to_string(),
    };
    Ok(match ty {
        "int" => simple("impl IntArg", format!("params.push({name}.into_wire_int());"), "int", "0"),
        "bool" => simple("bool", format!("params.push(Value::Bool({name}));"), "bool", "false"),
        "str" => simple("&str", format!("params.push(Value::String({name}.to_owned()));"), "string", "\"\""),
        "i8" => simple("i64", format!("params.push(Value::I8({name}));"), "i8", "0"),
        "ints" => simple(
            "impl IntoIterator<Item = impl IntArg>",
            format!("params.push(Value::Array({name}.into_iter().map(IntArg::into_wire_int).collect()));"),
            "array",
            "[0_i32]",
        ),
        // A template no wire form carries exactly refuses the request (it is never sent); the
        // empty string only holds the parameter's place.
        "template" if env.template_arg => simple(
            "impl crate::template::TemplateArg",
            format!("match crate::template::TemplateArg::into_template_string({name}) {{ Ok(text) => params.push(Value::String(text)), Err(e) => {{ problem.get_or_insert_with(|| format!(\"parameter `{name}`: {{e}}\")); params.push(Value::String(String::new())); }} }}"),
            "string",
            "\"\"",
        ),
        "template" => simple("impl Into<String>", format!("params.push(Value::String({name}.into()));"), "string", "\"\""),
        "Permissions" => TypeInfo {
            rust: "Permissions".into(),
            push: format!("params.extend({name}.to_wire().into_iter().map(Value::Int));"),
            wire: vec!["int"; 9],
            sample: "Permissions::UNCHANGED".into(),
        },
        "PoolFilter" => simple("impl Into<PoolFilter>", format!("params.push(Value::Int({name}.into().raw()));"), "int", "PoolFilter::All"),
        "VmStateFilter" => simple("impl Into<VmStateFilter>", format!("params.push(Value::Int({name}.into().raw()));"), "int", "VmStateFilter::Any"),
        other => {
            let (enum_name, by_name) = match other.strip_suffix(":name") {
                Some(n) => (n, true),
                None => (other, false),
            };
            let e = enums
                .iter()
                .find(|e| e.name == enum_name)
                .ok_or_else(|| format!("methods.api: unknown parameter type {other}"))?;
            let sample = format!("{}::{}", e.name, e.rows[0].2);
            if e.names_only || by_name {
                simple(&format!("impl Into<{enum_name}>"), format!("params.push(Value::String({name}.into().to_string()));"), "string", &sample)
            } else {
                simple(&format!("impl Into<{enum_name}>"), format!("params.push(crate::api::wire_int({name}.into().code()));"), "int", &sample)
            }
        }
    })
}

fn return_info(
    ret: &str,
    documents: &BTreeMap<String, Option<String>>,
    env: &Environment,
) -> Result<(String, String), String> {
    // (Rust type, doc)
    Ok(match ret {
        "int" => (
            "i32".into(),
            "the ID of the object (new or acted upon)".into(),
        ),
        "i8" => ("i64".into(), "a 64-bit integer (a log index)".into()),
        "string" => ("String".into(), "a string".into()),
        xml => {
            let spec = xml
                .strip_prefix("xml:")
                .ok_or_else(|| format!("methods.api: unknown return type {xml}"))?;
            let (root, shape) = match spec.split_once('=') {
                Some((root, shape)) => (root, Some(shape.to_string())),
                None => (spec, None),
            };
            let model = documents
                .get(root)
                .ok_or_else(|| format!("documents.api: no entry for {root}"))?;
            match shape.or_else(|| model.clone()) {
                Some(ty) if env.model_types.contains(&ty) => (
                    format!("crate::models::{ty}"),
                    format!("the `{root}` document as [`crate::models::{ty}`]"),
                ),
                _ => (
                    "crate::api::RawDocument".into(),
                    format!("the `{root}` document as a [`crate::api::RawDocument`]"),
                ),
            }
        }
    })
}

/// The return type as the reference tables write it (`xml:VM_POOL`, without a shape).
fn wire_return(ret: &str) -> &str {
    ret.split_once('=').map_or(ret, |(root, _)| root)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Produces all generated sources.
pub fn render(
    spaces: &[Namespace],
    enums: &[Enum],
    documents: &BTreeMap<String, Option<String>>,
    env: &Environment,
) -> Result<Output, String> {
    Ok(Output {
        constants: render_enums(enums),
        requests: render_requests(spaces, enums, documents, env)?,
        info: render_info(spaces, enums, env)?,
        handles: render_handles(spaces, enums, documents, env, false)?,
        blocking: render_handles(spaces, enums, documents, env, true)?,
        documents: render_documents(spaces, documents, env)?,
    })
}

fn render_documents(
    spaces: &[Namespace],
    documents: &BTreeMap<String, Option<String>>,
    env: &Environment,
) -> Result<String, String> {
    let mut o = String::from(HEADER);
    let mut aliases: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (root, model) in documents {
        let Some(name) = model else { continue };
        let (ty, _) = return_info(&format!("xml:{root}"), documents, env)?;
        aliases.insert(name.clone(), (root.clone(), ty));
    }
    let xml_methods: Vec<&Method> = spaces
        .iter()
        .flat_map(|s| s.methods.iter())
        .filter(|m| m.returns.starts_with("xml:"))
        .collect();
    for m in &xml_methods {
        if let Some((root, shape)) = m.returns["xml:".len()..].split_once('=') {
            let (ty, _) = return_info(&m.returns, documents, env)?;
            aliases.insert(shape.to_string(), (root.to_string(), ty));
        }
    }
    for (name, (root, ty)) in &aliases {
        let _ = writeln!(
            o,
            "/// The type `{root}` documents decode into (as `{name}`).\npub type {name} = {ty};"
        );
    }
    let _ = writeln!(o, "\n/// Decodes `xml` into the type `method` returns (`None` for methods not returning a\n/// document). For conformance tests.\n#[doc(hidden)]\npub fn check_document(method: &str, xml: &str) -> Option<Result<(), crate::xml::XmlError>> {{");
    let _ = writeln!(
        o,
        "    use crate::xml::FromXml as _;\n    Some(match method {{"
    );
    for m in &xml_methods {
        let (ty, _) = return_info(&m.returns, documents, env)?;
        let _ = writeln!(
            o,
            "        \"{}\" => <{ty}>::from_xml(xml).map(|_| ()),",
            m.full_method()
        );
    }
    let _ = writeln!(o, "        _ => return None,\n    }})\n}}");
    Ok(o)
}

fn render_enums(enums: &[Enum]) -> String {
    let mut o = String::from(HEADER);
    let _ = writeln!(o, "/// Every enum of `constants.api` as (enum, [(value, OpenNebula name)]), for conformance tests.");
    let _ = writeln!(
        o,
        "#[doc(hidden)]\npub static CONSTANT_TABLES: &[(&str, &[(i64, &str)])] = &["
    );
    for e in enums {
        let rows: Vec<String> = e
            .rows
            .iter()
            .map(|(v, n, _)| format!("({v}, \"{n}\")"))
            .collect();
        let _ = writeln!(o, "    (\"{}\", &[{}]),", e.name, rows.join(", "));
    }
    let _ = writeln!(o, "];\n");
    for e in enums {
        let n = &e.name;
        let _ = writeln!(o, "/// {}", e.doc);
        let _ = writeln!(o, "///");
        if e.names_only {
            let _ = writeln!(o, "/// Defined in OpenNebula's {}. `Display` gives the string oned takes; strings this", e.source);
            let _ = writeln!(o, "/// version does not know are kept in [`{n}::Other`].");
            let _ = writeln!(
                o,
                "#[derive(Debug, Clone, PartialEq, Eq, Hash)]\n#[non_exhaustive]\npub enum {n} {{"
            );
            for (_, name, variant) in &e.rows {
                let _ = writeln!(o, "    /// `{name}`\n    {variant},");
            }
            let _ = writeln!(
                o,
                "    /// Any other string, sent as is.\n    Other(String),\n}}\n"
            );
            let _ = writeln!(o, "impl {n} {{");
            let _ = writeln!(o, "    /// Every known value, in OpenNebula's order.");
            let list: Vec<String> = e.rows.iter().map(|r| format!("{n}::{}", r.2)).collect();
            let _ = writeln!(
                o,
                "    pub const ALL: &'static [{n}] = &[{}];",
                list.join(", ")
            );
            let _ = writeln!(o, "    /// The string oned takes.\n    pub fn as_str(&self) -> &str {{\n        match self {{");
            for (_, name, variant) in &e.rows {
                let _ = writeln!(o, "            {n}::{variant} => \"{name}\",");
            }
            let _ = writeln!(
                o,
                "            {n}::Other(s) => s,\n        }}\n    }}\n}}\n"
            );
            let _ = writeln!(
                o,
                "impl From<&str> for {n} {{\n    fn from(s: &str) -> Self {{\n        match s {{"
            );
            for (_, name, variant) in &e.rows {
                let _ = writeln!(o, "            \"{name}\" => {n}::{variant},");
            }
            let _ = writeln!(
                o,
                "            other => {n}::Other(other.to_owned()),\n        }}\n    }}\n}}\n"
            );
            let _ = writeln!(o, "impl From<String> for {n} {{\n    fn from(s: String) -> Self {{\n        {n}::from(s.as_str())\n    }}\n}}\n");
            let _ = writeln!(o, "impl std::str::FromStr for {n} {{\n    type Err = std::convert::Infallible;\n    fn from_str(s: &str) -> Result<Self, Self::Err> {{\n        Ok({n}::from(s))\n    }}\n}}\n");
            let _ = writeln!(o, "impl std::fmt::Display for {n} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        f.write_str(self.as_str())\n    }}\n}}\n");
            continue;
        }
        let _ = writeln!(
            o,
            "/// Defined in OpenNebula's {}. Converts from the raw number (`From<i64>`,",
            e.source
        );
        let _ = writeln!(o, "/// `From<i32>`) and from OpenNebula's name (`FromStr`); `Display` gives the name. Values");
        let _ = writeln!(
            o,
            "/// this version does not know are kept in [`{n}::Unknown`]."
        );
        let _ = writeln!(o, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n#[non_exhaustive]\npub enum {n} {{");
        for (value, name, variant) in &e.rows {
            let _ = writeln!(o, "    /// `{name}` ({value})\n    {variant},");
        }
        let _ = writeln!(
            o,
            "    /// A value this version of the binding does not know.\n    Unknown(i64),\n}}\n"
        );
        let _ = writeln!(o, "impl {n} {{");
        let list: Vec<String> = e.rows.iter().map(|r| format!("{n}::{}", r.2)).collect();
        let _ = writeln!(o, "    /// Every known value, in OpenNebula's order.\n    pub const ALL: &'static [{n}] = &[{}];", list.join(", "));
        let _ = writeln!(o, "    /// The raw number OpenNebula uses.\n    pub fn code(self) -> i64 {{\n        match self {{");
        for (value, _, variant) in &e.rows {
            let _ = writeln!(o, "            {n}::{variant} => {value},");
        }
        let _ = writeln!(
            o,
            "            {n}::Unknown(code) => code,\n        }}\n    }}"
        );
        let _ = writeln!(o, "    /// The value of a raw number (unknown numbers give [`{n}::Unknown`]).\n    pub fn from_code(code: i64) -> Self {{\n        match code {{");
        for (value, _, variant) in &e.rows {
            let _ = writeln!(o, "            {value} => {n}::{variant},");
        }
        let _ = writeln!(
            o,
            "            other => {n}::Unknown(other),\n        }}\n    }}"
        );
        let _ = writeln!(o, "    /// OpenNebula's name for the value (`None` for [`{n}::Unknown`]).\n    pub fn name(self) -> Option<&'static str> {{\n        match self {{");
        for (_, name, variant) in &e.rows {
            let _ = writeln!(o, "            {n}::{variant} => Some(\"{name}\"),");
        }
        let _ = writeln!(
            o,
            "            {n}::Unknown(_) => None,\n        }}\n    }}"
        );
        let _ = writeln!(o, "    /// The value named `name` (ASCII case-insensitive), if it is known.\n    pub fn from_name(name: &str) -> Option<Self> {{\n        Self::ALL.iter().copied().find(|v| v.name().is_some_and(|n| n.eq_ignore_ascii_case(name)))\n    }}\n}}\n");
        let _ = writeln!(o, "impl From<i64> for {n} {{\n    fn from(code: i64) -> Self {{\n        {n}::from_code(code)\n    }}\n}}\n");
        let _ = writeln!(o, "impl From<i32> for {n} {{\n    fn from(code: i32) -> Self {{\n        {n}::from_code(code.into())\n    }}\n}}\n");
        let _ = writeln!(o, "impl From<{n}> for i64 {{\n    fn from(value: {n}) -> i64 {{\n        value.code()\n    }}\n}}\n");
        let _ = writeln!(o, "impl std::str::FromStr for {n} {{\n    type Err = crate::api::UnknownConstant;\n    /// Parses OpenNebula's name (as written in XML for string-encoded fields) or a number.\n    fn from_str(s: &str) -> Result<Self, Self::Err> {{\n        let s = s.trim();\n        if let Some(v) = {n}::from_name(s) {{\n            return Ok(v);\n        }}\n        s.parse::<i64>().map({n}::from_code).map_err(|_| crate::api::UnknownConstant {{ kind: \"{n}\", text: s.to_owned() }})\n    }}\n}}\n");
        let _ = writeln!(o, "impl std::fmt::Display for {n} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        match self.name() {{\n            Some(name) => f.write_str(name),\n            None => write!(f, \"{{}}\", self.code()),\n        }}\n    }}\n}}\n");
    }
    o
}

/// Full-form signature pieces for a method: (`name: Type` list, push statements).
fn signature(
    m: &Method,
    enums: &[Enum],
    env: &Environment,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut args = Vec::new();
    let mut pushes = Vec::new();
    for p in &m.params {
        let t = type_info(&p.ty, &p.name, enums, env)?;
        args.push(format!("{}: {}", p.name, t.rust));
        pushes.push(t.push);
    }
    Ok((args, pushes))
}

fn param_doc(
    m: &Method,
    enums: &[Enum],
    env: &Environment,
    only: Option<&[String]>,
) -> Result<String, String> {
    let mut d = String::new();
    let listed: Vec<&Param> = m
        .params
        .iter()
        .filter(|p| only.is_none_or(|keep| keep.contains(&p.name)))
        .collect();
    if listed.is_empty() {
        return Ok(d);
    }
    d.push_str("\n# Parameters\n");
    for p in listed {
        let t = type_info(&p.ty, &p.name, enums, env)?;
        let wire = if t.wire.len() == 1 {
            t.wire[0].to_string()
        } else {
            format!("{} × {}", t.wire.len(), t.wire[0])
        };
        let _ = write!(d, "- `{}`: `{}` (XML-RPC {wire})", p.name, t.rust);
        if let Some(def) = &p.default {
            let _ = write!(d, ", optional, server default `{def}`");
        }
        d.push('\n');
    }
    Ok(d)
}

fn method_doc(m: &Method, ret_doc: &str) -> String {
    let mut d = String::new();
    let _ = writeln!(d, "\n# Returns\n{}.", capitalise(ret_doc));
    let mut facts = Vec::new();
    if m.idempotent {
        facts.push("read-only (idempotent, safe to retry)".to_string());
    } else {
        facts.push("changes state (not idempotent)".to_string());
    }
    if !m.since.is_empty() {
        facts.push(format!("since OpenNebula {}", m.since));
    }
    if m.server_only {
        facts.push("registered by oned but absent from the reference documentation".to_string());
    }
    let _ = writeln!(d, "\n`{}`: {}.", m.full_method(), facts.join("; "));
    for note in &m.notes {
        let _ = writeln!(
            d,
            "\nNote ({}).",
            note.replace('<', "&lt;").replace('>', "&gt;")
        );
    }
    d
}

/// A one-line summary of what common verbs do (others get only the method name).
fn verb_summary(m: &Method) -> Option<String> {
    let what = if m.object.ends_with("pool") {
        "the pool"
    } else {
        "the object"
    };
    let text = match m.verb.as_str() {
        "info" if m.object.ends_with("pool") => "Lists the objects of the pool.".to_string(),
        "info" => format!("Reads {what} with its full information."),
        "infoextended" => "Lists the objects of the pool with their full information.".to_string(),
        "allocate" => "Creates a new object.".to_string(),
        "delete" => format!("Deletes {what}."),
        "update" => format!("Replaces or merges {what}'s template."),
        "rename" => format!("Renames {what}."),
        "chmod" => format!("Changes the permissions of {what}."),
        "chown" => format!("Changes the owner and/or group of {what} (-1 keeps either)."),
        "lock" => format!("Locks {what} against the operations of a level."),
        "unlock" => format!("Unlocks {what}."),
        "clone" => format!("Clones {what} under a new name."),
        "monitoring" => "Reads the monitoring records.".to_string(),
        "enable" => format!("Enables or disables {what}."),
        "instantiate" => "Creates a new object from the template.".to_string(),
        "action" => "Runs a life-cycle action on a VM.".to_string(),
        "accounting" | "showback" => "Reads accounting records.".to_string(),
        _ => return None,
    };
    Some(text)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn doc_block(o: &mut String, indent: &str, text: &str) {
    for line in text.trim_matches('\n').lines() {
        if line.is_empty() {
            let _ = writeln!(o, "{indent}///");
        } else {
            let _ = writeln!(o, "{indent}/// {line}");
        }
    }
}

/// The position of each method in the sorted runtime table (`METHODS`), by full name.
fn table_positions(spaces: &[Namespace]) -> BTreeMap<String, usize> {
    let mut names: Vec<String> = spaces
        .iter()
        .flat_map(|s| s.methods.iter().map(Method::full_method))
        .collect();
    names.sort();
    names.into_iter().enumerate().map(|(i, n)| (n, i)).collect()
}

fn render_requests(
    spaces: &[Namespace],
    enums: &[Enum],
    documents: &BTreeMap<String, Option<String>>,
    env: &Environment,
) -> Result<String, String> {
    let positions = table_positions(spaces);
    let mut o = String::from(HEADER);
    for s in spaces {
        let _ = writeln!(
            o,
            "/// Request builders for `one.{}.*` ({}).",
            s.object,
            s.doc.to_lowercase()
        );
        let _ = writeln!(o, "pub mod {} {{", s.object);
        let _ = writeln!(o, "    #[allow(unused_imports)]\n    use crate::api::*;\n    #[allow(unused_imports)]\n    use crate::wire::Value;\n");
        for m in &s.methods {
            let (args, pushes) = signature(m, enums, env)?;
            let doc = format!(
                "The `{}` call with every parameter, without sending it.\n{}",
                m.full_method(),
                param_doc(m, enums, env, None)?
            );
            doc_block(&mut o, "    ", &doc);
            let (ret_ty, _) = return_info(&m.returns, documents, env)?;
            let _ = writeln!(
                o,
                "    pub fn {}({}) -> Request<{ret_ty}> {{",
                m.rust,
                args.join(", ")
            );
            let wire_len: usize = m
                .params
                .iter()
                .map(|p| if p.ty == "Permissions" { 9 } else { 1 })
                .sum();
            let _ = writeln!(o, "        #[allow(unused_mut)]\n        let mut params: Vec<Value> = Vec::with_capacity({wire_len});");
            let fallible = env.template_arg && m.params.iter().any(|p| p.ty == "template");
            if fallible {
                let _ = writeln!(o, "        let mut problem: Option<String> = None;");
            }
            for push in pushes {
                let _ = writeln!(o, "        {push}");
            }
            let build = format!(
                "Request::new(&crate::api::METHODS[{}], params)",
                positions[&m.full_method()]
            );
            if fallible {
                let _ = writeln!(
                    o,
                    "        let request = {build};\n        match problem {{\n            Some(why) => request.refuse(why),\n            None => request,\n        }}\n    }}\n"
                );
            } else {
                let _ = writeln!(o, "        {build}\n    }}\n");
            }
        }
        let _ = writeln!(o, "}}\n");
    }
    Ok(o)
}

/// The wire value (a const Rust expression of `crate::wire::Value`) of the server default `d`
/// of a parameter sent as `wire`: what oned uses when the parameter is not sent.
fn default_value(d: &str, wire: &str, enums: &[Enum]) -> Result<String, String> {
    let bad = || format!("methods.api: default `{d}` cannot be sent as XML-RPC {wire}");
    Ok(match (wire, d) {
        ("Bool", "true" | "false") => format!("Value::Bool({d})"),
        ("String", "\"\"") => "Value::String(String::new())".into(),
        ("Array", "&[]") => "Value::Array(Vec::new())".into(),
        ("Int", number) if number.parse::<i32>().is_ok() => format!("Value::Int({number})"),
        ("Int", path) => {
            let (enum_name, variant) = path.split_once("::").ok_or_else(bad)?;
            let code = enums
                .iter()
                .find(|e| e.name == enum_name && !e.names_only)
                .and_then(|e| e.rows.iter().find(|(_, _, v)| v == variant))
                .map(|(code, _, _)| *code)
                .ok_or_else(bad)?;
            format!("Value::Int({code})")
        }
        _ => return Err(bad()),
    })
}

/// The protobuf type of a parameter over gRPC (`ProtoType` variant), `None` if not sent.
fn proto_type(p: &Param, enums: &[Enum]) -> Result<Option<&'static str>, String> {
    let given = match p.proto.as_deref() {
        Some("-") => return Ok(None),
        Some(given) => given,
        None => match p.ty.as_str() {
            "int" | "LockLevel" => "int32",
            "PoolFilter" | "VmStateFilter" | "Permissions" => "sint32",
            "bool" => "bool",
            "str" | "template" => "string",
            "ints" => "repeated-int32",
            "i8" => "uint64",
            other => {
                let (name, by_name) = match other.strip_suffix(":name") {
                    Some(n) => (n, true),
                    None => (other, false),
                };
                match enums.iter().find(|e| e.name == name) {
                    Some(e) if e.names_only || by_name => "string",
                    Some(_) => "int32",
                    None => return Err(format!("methods.api: no protobuf type for {other}")),
                }
            }
        },
    };
    Ok(Some(match given {
        "int32" => "Int32",
        "sint32" => "Sint32",
        "int64" => "Int64",
        "uint32" => "Uint32",
        "uint64" => "Uint64",
        "bool" => "Bool",
        "string" => "String",
        "repeated-int32" => "RepeatedInt32",
        other => return Err(format!("methods.api: unknown protobuf type {other}")),
    }))
}

/// The `GrpcMethod` of a method (path and answer message), as a Rust expression.
fn grpc_method(s: &Namespace, m: &Method) -> Result<String, String> {
    let Some(service) = &s.grpc_service else {
        return Ok("None".into());
    };
    let rpc = match &m.grpc_rpc {
        Some(rpc) => rpc.clone(),
        None => format!("{}{}", s.grpc_prefix, camel(&m.rust)),
    };
    let reply = match (m.grpc_reply.as_deref(), m.returns.as_str()) {
        (Some("success-term"), _) => "SuccessTerm",
        (Some("success-index"), _) => "SuccessIndex",
        (Some(other), _) => return Err(format!("methods.api: unknown grpc-reply {other}")),
        (None, "int") => "Id",
        (None, ret) if ret == "string" || ret.starts_with("xml:") => "Xml",
        (None, ret) => {
            return Err(format!(
                "methods.api: {} returns {ret}: which gRPC message carries it?",
                m.full_method()
            ))
        }
    };
    Ok(format!(
        "Some(GrpcMethod {{ path: \"/{service}/{rpc}\", reply: GrpcReply::{reply} }})"
    ))
}

fn render_info(spaces: &[Namespace], enums: &[Enum], env: &Environment) -> Result<String, String> {
    let mut all: Vec<(&Namespace, &Method)> = spaces
        .iter()
        .flat_map(|s| s.methods.iter().map(move |m| (s, m)))
        .collect();
    all.sort_by_key(|(_, m)| m.full_method());
    for pair in all.windows(2) {
        if pair[0].1.full_method() == pair[1].1.full_method() {
            return Err(format!(
                "methods.api: {} appears twice",
                pair[0].1.full_method()
            ));
        }
    }
    let mut o = String::from(HEADER);
    let _ = writeln!(o, "/// Every method of the typed API, sorted by name (generated from the same table as the wrappers).");
    let _ = writeln!(o, "pub static METHODS: &[MethodInfo] = &[");
    for (s, m) in &all {
        let _ = writeln!(
            o,
            "    MethodInfo {{\n        name: \"{}\",\n        namespace: \"{}\",",
            m.full_method(),
            s.object
        );
        let _ = writeln!(o, "        rust_name: \"{}\",", m.full_form_name());
        let _ = writeln!(o, "        params: &[");
        // gRPC field numbers: the session is 1.
        let mut field_number = 1;
        for p in &m.params {
            let t = type_info(&p.ty, &p.name, enums, env)?;
            let names: Vec<String> = if p.ty == "Permissions" {
                [
                    "user_use",
                    "user_manage",
                    "user_admin",
                    "group_use",
                    "group_manage",
                    "group_admin",
                    "other_use",
                    "other_manage",
                    "other_admin",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect()
            } else {
                vec![p.name.clone()]
            };
            for (name, wire) in names.iter().zip(&t.wire) {
                let wire = match *wire {
                    "int" => "Int",
                    "bool" => "Bool",
                    "string" => "String",
                    "i8" => "I8",
                    _ => "Array",
                };
                let default = match &p.default {
                    Some(d) => format!("Some(\"{}\")", escape(d)),
                    None => "None".into(),
                };
                let default_value = match &p.default {
                    Some(d) => format!("Some({})", default_value(d, wire, enums)?),
                    None => "None".into(),
                };
                let proto = match proto_type(p, enums)? {
                    Some(ty) => {
                        field_number += 1;
                        format!(
                            "Some(ProtoField {{ number: {field_number}, ty: ProtoType::{ty} }})"
                        )
                    }
                    None => "None".into(),
                };
                let _ = writeln!(o, "            ParamInfo {{ name: \"{name}\", wire: WireType::{wire}, rust_type: \"{}\", default: {default}, default_value: {default_value}, proto: {proto} }},", escape(&p.ty));
            }
        }
        let _ = writeln!(o, "        ],");
        let _ = writeln!(o, "        returns: \"{}\",\n        idempotent: {},\n        since: \"{}\",\n        server_only: {},", wire_return(&m.returns), m.idempotent, m.since, m.server_only);
        let notes: Vec<String> = m
            .notes
            .iter()
            .map(|n| format!("\"{}\"", escape(n)))
            .collect();
        let _ = writeln!(o, "        notes: &[{}],", notes.join(", "));
        let _ = writeln!(o, "        grpc: {},\n    }},", grpc_method(s, m)?);
    }
    let _ = writeln!(o, "];\n");
    let _ = writeln!(o, "/// Every method name in the order of `methods.api`, which is the order oned registers them\n/// (what `system.listMethods` lists after xmlrpc-c's own `system.*` methods).");
    let _ = writeln!(o, "pub static TABLE_ORDER: &[&str] = &[");
    for s in spaces {
        for m in &s.methods {
            let _ = writeln!(o, "    \"{}\",", m.full_method());
        }
    }
    let _ = writeln!(o, "];\n");
    // Arity test: each request builder produces exactly the wire parameters of its MethodInfo.
    let _ = writeln!(
        o,
        "#[cfg(test)]\n#[test]\nfn every_request_builder_matches_its_method_info() {{"
    );
    let _ = writeln!(
        o,
        "    #[allow(unused_imports)]\n    use crate::api::*;\n    let mut checked = 0;"
    );
    for (s, m) in &all {
        let samples: Result<Vec<String>, String> = m
            .params
            .iter()
            .map(|p| type_info(&p.ty, &p.name, enums, env).map(|t| t.sample))
            .collect();
        let _ = writeln!(
            o,
            "    check_request(request::{}::{}({}));\n    checked += 1;",
            s.object,
            m.rust,
            samples?.join(", ")
        );
    }
    let _ = writeln!(o, "    assert_eq!(checked, METHODS.len());\n}}");
    Ok(o)
}

fn render_handles(
    spaces: &[Namespace],
    enums: &[Enum],
    documents: &BTreeMap<String, Option<String>>,
    env: &Environment,
    blocking: bool,
) -> Result<String, String> {
    let mut o = String::from(HEADER);
    let client = if blocking {
        "crate::blocking::Client"
    } else {
        "crate::Client"
    };
    // Accessors on the client.
    let _ = writeln!(o, "/// # Typed namespaces\n///\n/// One accessor per OpenNebula object, e.g. `client.vm()` for `one.vm.*`.");
    let _ = writeln!(o, "impl {client} {{");
    for s in spaces {
        let _ = writeln!(o, "    /// {} (`one.{}.*`).\n    pub fn {}(&self) -> {}<'_> {{\n        {} {{ client: self }}\n    }}\n", s.doc, s.object, s.object, s.handle, s.handle);
    }
    let _ = writeln!(o, "}}\n");
    for s in spaces {
        let _ = writeln!(
            o,
            "/// {} (`one.{}.*`), reached with [`{client}::{}`].",
            s.doc, s.object, s.object
        );
        let _ = writeln!(o, "///\n/// A short-lived handle borrowing the client; every method sends one XML-RPC call.");
        let _ = writeln!(
            o,
            "#[derive(Debug, Clone, Copy)]\npub struct {}<'a> {{\n    pub(crate) client: &'a {client},\n}}\n",
            s.handle
        );
        let _ = writeln!(o, "impl<'a> {}<'a> {{", s.handle);
        for m in &s.methods {
            let (ret_ty, ret_doc) = return_info(&m.returns, documents, env)?;
            let (args, _) = signature(m, enums, env)?;
            let arg_names: Vec<String> = m.params.iter().map(|p| p.name.clone()).collect();
            // Full form.
            let mut intro = verb_summary(m)
                .map(|s| format!("{s}\n\n"))
                .unwrap_or_default();
            if m.has_optional() {
                intro.push_str(&format!(
                    "Calls `{}` with every parameter.\n",
                    m.full_method()
                ));
            } else {
                intro.push_str(&format!("Calls `{}`.\n", m.full_method()));
            }
            let doc = format!(
                "{intro}{}{}",
                param_doc(m, enums, env, None)?,
                method_doc(m, &ret_doc)
            );
            write_wrapper(
                &mut o,
                blocking,
                &doc,
                &m.full_form_name(),
                &args,
                &ret_ty,
                &format!(
                    "request::{}::{}({})",
                    s.object,
                    m.rust,
                    arg_names.join(", ")
                ),
            );
            // Generated short form (required parameters only) and the table's extra ones.
            let mut shorts: Vec<Short> = Vec::new();
            if let Some(name) = m.short_form_name() {
                shorts.push(Short {
                    name,
                    kept: m
                        .params
                        .iter()
                        .filter(|p| p.default.is_none())
                        .map(|p| p.name.clone())
                        .collect(),
                    fixed: BTreeMap::new(),
                });
            }
            shorts.extend(m.shorts.iter().cloned());
            for short in shorts {
                let mut sargs = Vec::new();
                let mut call_args = Vec::new();
                let mut fixed_doc = Vec::new();
                let mut omitted_doc = Vec::new();
                // Wire parameters sent: up to the last kept or fixed one. Trailing parameters
                // left at their defaults are not sent at all (oned applies the same default),
                // so a short form sends what PyONE or the CLI send for the same call.
                let mut wire_len = 0usize;
                let mut wire_pos = 0usize;
                for p in &m.params {
                    wire_pos += if p.ty == "Permissions" { 9 } else { 1 };
                    if short.kept.contains(&p.name) {
                        let t = type_info(&p.ty, &p.name, enums, env)?;
                        sargs.push(format!("{}: {}", p.name, t.rust));
                        call_args.push(p.name.clone());
                        wire_len = wire_pos;
                    } else if let Some(v) = short.fixed.get(&p.name) {
                        call_args.push(v.clone());
                        fixed_doc.push(format!("`{} = {v}`", p.name));
                        wire_len = wire_pos;
                    } else if let Some(d) = &p.default {
                        // An empty ID list needs its item type spelled out for `impl IntArg`.
                        if p.ty == "ints" && d == "&[]" {
                            call_args.push("[0_i32; 0]".into());
                        } else {
                            call_args.push(d.clone());
                        }
                        omitted_doc.push(format!("`{}` (server default `{d}`)", p.name));
                    } else {
                        return Err(format!(
                            "methods.api: short form {} of {} leaves the required {} unset",
                            short.name,
                            m.full_method(),
                            p.name
                        ));
                    }
                }
                let mut how = Vec::new();
                if !fixed_doc.is_empty() {
                    how.push(format!("with {}", fixed_doc.join(", ")));
                }
                if !omitted_doc.is_empty() {
                    how.push(format!("without {}", omitted_doc.join(", ")));
                }
                let doc = format!(
                    "Calls `{}` {}: a short form of [`{}`](Self::{}).\n{}{}",
                    m.full_method(),
                    how.join(" and "),
                    m.full_form_name(),
                    m.full_form_name(),
                    param_doc(m, enums, env, Some(&short.kept))?,
                    method_doc(m, &ret_doc)
                );
                let build = format!(
                    "request::{}::{}({})",
                    s.object,
                    m.rust,
                    call_args.join(", ")
                );
                let build = if wire_len < wire_pos {
                    format!("{build}.truncate_params({wire_len})")
                } else {
                    build
                };
                write_wrapper(&mut o, blocking, &doc, &short.name, &sargs, &ret_ty, &build);
            }
        }
        let _ = writeln!(o, "}}\n");
    }
    Ok(o)
}

#[allow(clippy::too_many_arguments)]
fn write_wrapper(
    o: &mut String,
    blocking: bool,
    doc: &str,
    name: &str,
    args: &[String],
    ret_ty: &str,
    build: &str,
) {
    doc_block(o, "    ", doc);
    let mut all_args = vec!["&self".to_string()];
    all_args.extend(args.iter().cloned());
    if blocking {
        let _ = writeln!(
            o,
            "    pub fn {name}({}) -> crate::Result<{ret_ty}> {{",
            all_args.join(", ")
        );
        let _ = writeln!(o, "        self.client.send({build})\n    }}\n");
    } else {
        let _ = writeln!(o, "    pub fn {name}({}) -> impl std::future::Future<Output = crate::Result<{ret_ty}>> + Send + 'a {{", all_args.join(", "));
        let _ = writeln!(o, "        let request = {build};");
        let _ = writeln!(o, "        let client = self.client;");
        let _ = writeln!(
            o,
            "        async move {{ client.send(request).await }}\n    }}\n"
        );
    }
}
