//! Shared helpers of the conformance tests: where the reference data lives, the recorded
//! oned tour, and the comparator that decides whether the test server answered a call the
//! way oned did once the volatile fields (named in the tour's README) are normalised.
//!
//! The comparator works on decoded XML-RPC values. A `<string>` payload that holds an XML
//! document is parsed into an element tree (CDATA and escaped text are the same value), the
//! volatile leaves are replaced by placeholders, and trees are compared in document order:
//! oned's README says nothing makes element order meaningless, so order counts.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use opennebula::wire::{decode_response, MethodResponse, Value};
use opennebula::xml::{Element, Node, XmlReader};

/// `$OPENNEBULA_REFERENCE_DIR`, or `../shared/reference` next to the workspace.
pub fn reference_dir() -> PathBuf {
    match std::env::var_os("OPENNEBULA_REFERENCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/reference"
        )),
    }
}

/// The recorded tour of oned 7.5.80.
pub fn tour_dir() -> PathBuf {
    scenario_dir("tour")
}

/// A recorded scenario of oned 7.5.80 (`tour`, `edges`).
pub fn scenario_dir(name: &str) -> PathBuf {
    reference_dir().join("oned-7.5.80").join(name)
}

/// One recorded call of the tour.
#[derive(Debug, Clone)]
pub struct TourCall {
    /// Call order (1-based).
    pub seq: u32,
    /// XML-RPC method name.
    pub method: String,
    /// What the call checks (may be empty).
    pub label: String,
    /// HTTP status oned answered with.
    pub http_status: u16,
    /// The complete `methodCall` body, byte for byte.
    pub request: Vec<u8>,
    /// oned's complete `methodResponse` body, byte for byte.
    pub response: Vec<u8>,
}

/// Loads every call of the tour in order, from `index.tsv` and the body files.
pub fn load_tour() -> Vec<TourCall> {
    load_scenario("tour")
}

/// Loads every call of scenario `name` (same layout as the tour) in order.
pub fn load_scenario(name: &str) -> Vec<TourCall> {
    let dir = scenario_dir(name);
    let index = std::fs::read_to_string(dir.join("index.tsv")).unwrap_or_else(|e| {
        panic!(
            "cannot read the {name} index in {} ({e}); set OPENNEBULA_REFERENCE_DIR",
            dir.display()
        )
    });
    let mut calls = Vec::new();
    for line in index.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 8, "malformed index line: {line}");
        let seq: u32 = cols[0].parse().expect("seq column");
        let method = cols[1].to_string();
        let label = cols[2].to_string();
        let http_status = cols[7].parse().unwrap_or(200);
        let stem = if label.is_empty() {
            format!("{seq:03}-{method}")
        } else {
            format!("{seq:03}-{method}.{label}")
        };
        let read = |suffix: &str| -> Vec<u8> {
            let path = dir.join(format!("{stem}.{suffix}.xml"));
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        calls.push(TourCall {
            seq,
            method,
            label,
            http_status,
            request: read("request"),
            response: read("response"),
        });
    }
    assert!(!calls.is_empty(), "the tour index lists no calls");
    calls
}

/// A node of a parsed payload document.
#[derive(Debug, Clone, PartialEq)]
pub struct XmlNode {
    /// Element name.
    pub name: String,
    /// Concatenated character data directly in this element (CDATA and text alike).
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<XmlNode>,
}

/// A normalised view of a response, ready to be compared.
#[derive(Debug, Clone, PartialEq)]
pub enum Normal {
    /// An XML-RPC `<fault>`.
    Fault {
        /// faultCode.
        code: i32,
        /// faultString, with volatile parts replaced.
        message: String,
    },
    /// A `<params>` response: its single value, normalised.
    Params(NValue),
    /// The body was not a decodable `methodResponse`.
    Undecodable(String),
}

/// A normalised XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum NValue {
    /// Any scalar, as `type:text`.
    Scalar(String),
    /// A string payload that is an XML document.
    Document(XmlNode),
    /// An array.
    Array(Vec<NValue>),
    /// A struct (member order kept).
    Struct(Vec<(String, NValue)>),
}

/// Leaves holding the server clock (epoch seconds). `0`/`-1` mean "never" and are kept.
const TIME_FIELDS: &[&str] = &[
    "REGTIME",
    "STIME",
    "ETIME",
    "MODTIME",
    "LAST_POLL",
    "PSTIME",
    "PETIME",
    "RSTIME",
    "RETIME",
    "ESTIME",
    "EETIME",
    "TIMESTAMP",
    "EXPIRATION_TIME",
    "LAST_BACKUP_TIME",
    // LOCK/TIME and SNAPSHOT/DATE are the clock at lock/snapshot time.
    "TIME",
    "DATE",
];

/// Random secrets.
const SECRET_FIELDS: &[&str] = &["TOKEN", "TOKEN_PASSWORD", "ONE_KEY"];

/// Request ids (a counter that the recorder's unrecorded polling calls advanced).
const REQUEST_ID_FIELDS: &[&str] = &["REQUEST_ID", "REQ_ID"];

/// Options of the normaliser; the defaults are what the replay uses.
#[derive(Debug, Clone, Copy)]
pub struct NormaliseContext<'a> {
    /// The call's method (a `one.user.login` success payload is a random token).
    pub method: &'a str,
}

/// Decodes and normalises one response body.
pub fn normalise_response(body: &[u8], ctx: NormaliseContext<'_>) -> Normal {
    match decode_response(body) {
        Err(e) => Normal::Undecodable(e.to_string()),
        Ok(MethodResponse::Fault { code, message }) => Normal::Fault {
            code,
            message: normalise_message(&message),
        },
        Ok(MethodResponse::Params(params)) => {
            let value = match params.as_slice() {
                [single] => single.clone(),
                _ => Value::Array(params),
            };
            Normal::Params(normalise_top(&value, ctx))
        }
    }
}

/// OpenNebula's `[success, payload, code, ...]` array: the payload of a successful
/// `one.user.login` is a random token; failure messages may carry a timestamp.
fn normalise_top(value: &Value, ctx: NormaliseContext<'_>) -> NValue {
    if let Value::Array(items) = value {
        let success = items.first().and_then(Value::as_bool);
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let normal = match (i, success, item) {
                (1, Some(true), Value::String(_)) if ctx.method == "one.user.login" => {
                    NValue::Scalar("string:<token>".into())
                }
                (1, Some(false), Value::String(message)) => {
                    NValue::Scalar(format!("string:{}", normalise_message(message)))
                }
                _ => normalise_value(item),
            };
            out.push(normal);
        }
        return NValue::Array(out);
    }
    normalise_value(value)
}

/// Replaces epoch timestamps in a message (a failed `lock` with test=true answers the
/// lock's time as its message).
pub fn normalise_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let bytes = message.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let end = bytes[i..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(bytes.len(), |n| i + n);
            let digits = &message[i..end];
            let boundary = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
            if boundary && digits.len() == 10 && digits.starts_with('1') {
                out.push_str("<time>");
            } else {
                out.push_str(digits);
            }
            i = end;
        } else {
            let ch = message[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn normalise_value(value: &Value) -> NValue {
    match value {
        Value::Int(v) => NValue::Scalar(format!("int:{v}")),
        Value::I8(v) => NValue::Scalar(format!("i8:{v}")),
        Value::Bool(v) => NValue::Scalar(format!("bool:{v}")),
        Value::Double(v) => NValue::Scalar(format!("double:{v}")),
        Value::DateTime(v) => NValue::Scalar(format!("datetime:{v}")),
        Value::Base64(v) => NValue::Scalar(format!("base64:{v:?}")),
        Value::Nil => NValue::Scalar("nil".into()),
        Value::String(s) => match parse_document(s) {
            Some(mut doc) => {
                normalise_tree(&mut doc, false);
                NValue::Document(doc)
            }
            None => NValue::Scalar(format!("string:{s}")),
        },
        Value::Array(items) => NValue::Array(items.iter().map(normalise_value).collect()),
        Value::Struct(members) => NValue::Struct(
            members
                .iter()
                .map(|(k, v)| (k.clone(), normalise_value(v)))
                .collect(),
        ),
    }
}

/// Parses a payload string as an XML document; `None` when it is not one.
pub fn parse_document(text: &str) -> Option<XmlNode> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('<') {
        return None;
    }
    let mut reader = XmlReader::new(trimmed.as_bytes());
    let root = reader.root().ok()?;
    let node = read_node(&mut reader, &root).ok()?;
    reader.finish().ok()?;
    Some(node)
}

fn read_node(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
) -> Result<XmlNode, opennebula::xml::XmlError> {
    let mut node = XmlNode {
        name: element.name_str().into_owned(),
        text: String::new(),
        children: Vec::new(),
    };
    if element.is_empty() {
        return Ok(node);
    }
    while let Some(child) = reader.next_node(element)? {
        match child {
            Node::Text(text) => node.text.push_str(&text),
            Node::Element(el) => node.children.push(read_node(reader, &el)?),
        }
    }
    // Whitespace between child elements is layout, not content.
    if !node.children.is_empty() && node.text.trim().is_empty() {
        node.text.clear();
    }
    Ok(node)
}

/// Replaces the volatile leaves of a document (see the tour's README) by placeholders.
pub fn normalise_tree(node: &mut XmlNode, in_monitoring: bool) {
    let in_monitoring = in_monitoring || node.name == "MONITORING";
    // A MAC is random (the AR's random prefix) unless it was derived from an IPv4 address
    // that sits next to it.
    let has_ip4 = node.children.iter().any(|c| c.name == "IP");
    for child in &mut node.children {
        if child.children.is_empty() {
            normalise_leaf(child, in_monitoring, has_ip4);
        } else {
            normalise_tree(child, in_monitoring);
        }
    }
}

fn normalise_leaf(leaf: &mut XmlNode, in_monitoring: bool, has_ip4: bool) {
    let name = leaf.name.as_str();
    let value = leaf.text.trim();
    let keep = value.is_empty() || value == "0" || value == "-1";
    let replacement: Option<String> = if TIME_FIELDS.contains(&name) {
        (!keep && value.bytes().all(|b| b.is_ascii_digit())).then(|| "<time>".into())
    } else if in_monitoring {
        // Fake monitoring values are random; the ids that say what was monitored are not.
        (!matches!(name, "ID" | "NODE_ID" | "SIZE") && !value.is_empty()).then(|| "<mon>".into())
    } else if SECRET_FIELDS.contains(&name) {
        (!value.is_empty()).then(|| "<secret>".into())
    } else if REQUEST_ID_FIELDS.contains(&name) {
        (!keep).then(|| "<request-id>".into())
    } else if name == "UUID" {
        (!value.is_empty()).then(|| "<uuid>".into())
    } else if name == "DEPLOY_ID" {
        (!value.is_empty()).then(|| "<deploy-id>".into())
    } else if name == "SOURCE" || name == "PATH" {
        normalise_datastore_path(value)
    } else if (name == "MAC" || name.ends_with("_MAC") || name == "MAC_END") && !has_ip4 {
        (!value.is_empty()).then(|| "<random-mac>".into())
    } else if name.starts_with("IP6") {
        normalise_ip6(value)
    } else {
        normalise_dated_message(value)
    };
    if let Some(replacement) = replacement {
        leaf.text = replacement;
    }
}

/// A message oned stamps with the time, like an image's ERROR
/// (`Tue Nov 24 09:32:23 2026 : Error copying image ...`): the time is volatile (README:
/// times), the message is not. `Www Mmm dd hh:mm:ss yyyy : ` -> `<time> : `.
fn normalise_dated_message(value: &str) -> Option<String> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (stamp, message) = value.split_once(" : ")?;
    let parts: Vec<&str> = stamp.split_whitespace().collect();
    let [day, month, date, time, year] = parts.as_slice() else {
        return None;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let is_time = time.split(':').count() == 3 && time.split(':').all(digits);
    (DAYS.contains(day) && MONTHS.contains(month) && digits(date) && is_time && digits(year))
        .then(|| format!("<time> : {message}"))
}

/// `/var/lib/one//datastores/1/f236976e...` -> `/var/lib/one//datastores/1/<file>`.
fn normalise_datastore_path(value: &str) -> Option<String> {
    let at = value.find("/datastores/")?;
    let rest = &value[at + "/datastores/".len()..];
    let slash = rest.find('/')?;
    let ds = &rest[..slash];
    if ds.is_empty() || !ds.bytes().all(|b| b.is_ascii_digit()) || rest.len() == slash + 1 {
        return None;
    }
    Some(format!("{}/datastores/{ds}/<file>", &value[..at]))
}

/// The interface id of an IPv6 address is derived from the (random) MAC: keep the prefix.
fn normalise_ip6(value: &str) -> Option<String> {
    let addr: Ipv6Addr = value.parse().ok()?;
    let prefix = u128::from(addr) & !((1u128 << 64) - 1);
    Some(format!("{}/64+<from-mac>", Ipv6Addr::from(prefix)))
}

/// Differences between two normalised responses, as short human-readable lines (empty when
/// identical). At most `limit` lines.
pub fn diff(expected: &Normal, got: &Normal, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    match (expected, got) {
        (
            Normal::Fault { code, message },
            Normal::Fault {
                code: got_code,
                message: got_message,
            },
        ) => {
            if code != got_code || message != got_message {
                out.push(format!(
                    "fault: expected {code} {message:?}, got {got_code} {got_message:?}"
                ));
            }
        }
        (Normal::Params(a), Normal::Params(b)) => diff_value("", a, b, &mut out, limit),
        _ => out.push(format!(
            "shape: expected {}, got {}",
            summary(expected),
            summary(got)
        )),
    }
    out.truncate(limit);
    out
}

fn summary(normal: &Normal) -> String {
    let mut s = match normal {
        Normal::Fault { code, message } => format!("fault {code} {message:?}"),
        Normal::Params(v) => format!("params {}", short_value(v)),
        Normal::Undecodable(e) => format!("undecodable body ({e})"),
    };
    truncate(&mut s, 200);
    s
}

fn short_value(v: &NValue) -> String {
    let mut s = match v {
        NValue::Scalar(s) => s.clone(),
        NValue::Document(d) => format!("<{}> document", d.name),
        NValue::Array(items) => format!(
            "[{}]",
            items.iter().map(short_value).collect::<Vec<_>>().join(", ")
        ),
        NValue::Struct(m) => format!("struct of {} members", m.len()),
    };
    truncate(&mut s, 160);
    s
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
}

fn diff_value(path: &str, a: &NValue, b: &NValue, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    match (a, b) {
        (NValue::Array(x), NValue::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff_value(&format!("{path}[{i}]"), p, q, out, limit);
            }
        }
        (NValue::Document(x), NValue::Document(y)) => diff_xml(path, x, y, None, out, limit),
        _ => out.push(format!(
            "{}: expected {}, got {}",
            if path.is_empty() { "value" } else { path },
            short_value(a),
            short_value(b)
        )),
    }
}

fn diff_xml(
    path: &str,
    a: &XmlNode,
    b: &XmlNode,
    occurrence: Option<usize>,
    out: &mut Vec<String>,
    limit: usize,
) {
    if out.len() >= limit || a == b {
        return;
    }
    let here = match occurrence {
        Some(k) => format!("{path}/{}[{k}]", a.name),
        None => format!("{path}/{}", a.name),
    };
    if a.name != b.name {
        out.push(format!("{path}: expected <{}>, got <{}>", a.name, b.name));
        return;
    }
    if a.text != b.text {
        let (mut x, mut y) = (a.text.clone(), b.text.clone());
        truncate(&mut x, 120);
        truncate(&mut y, 120);
        out.push(format!("{here}: expected {x:?}, got {y:?}"));
    }
    let names_a: Vec<&str> = a.children.iter().map(|c| c.name.as_str()).collect();
    let names_b: Vec<&str> = b.children.iter().map(|c| c.name.as_str()).collect();
    if names_a != names_b {
        let missing: Vec<&str> = names_a
            .iter()
            .filter(|n| count(&names_a, n) > count(&names_b, n))
            .copied()
            .collect();
        let extra: Vec<&str> = names_b
            .iter()
            .filter(|n| count(&names_b, n) > count(&names_a, n))
            .copied()
            .collect();
        let mut line = format!("{here}: children differ");
        if !missing.is_empty() {
            let _ = write!(line, "; missing {}", dedup(&missing).join(","));
        }
        if !extra.is_empty() {
            let _ = write!(line, "; extra {}", dedup(&extra).join(","));
        }
        if missing.is_empty() && extra.is_empty() {
            line.push_str("; same elements in another order");
        }
        truncate(&mut line, 300);
        out.push(line);
    }
    // Children are matched by name and occurrence (in order, so a reordering was reported
    // above and the values are still compared).
    for (i, child) in a.children.iter().enumerate() {
        let k = names_a[..i].iter().filter(|n| **n == child.name).count();
        let repeated =
            count(&names_a, &child.name.as_str()) > 1 || count(&names_b, &child.name.as_str()) > 1;
        if let Some(other) = b.children.iter().filter(|c| c.name == child.name).nth(k) {
            diff_xml(&here, child, other, repeated.then_some(k), out, limit);
        }
    }
}

fn count(names: &[&str], name: &&str) -> usize {
    names.iter().filter(|n| *n == name).count()
}

fn dedup<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(n) {
            out.push(n);
        }
    }
    out
}

/// Finds a login token in a normalised-away payload: the raw token string of a successful
/// `one.user.login` response (to map oned's tokens onto the server's in later sessions).
pub fn login_token(body: &[u8]) -> Option<String> {
    match decode_response(body).ok()? {
        MethodResponse::Params(params) => {
            let items = params.first()?.as_array()?;
            if items.first()?.as_bool()? {
                items.get(1)?.as_str().map(str::to_owned)
            } else {
                None
            }
        }
        MethodResponse::Fault { .. } => None,
    }
}

/// Path of a file under the crate's `target/` directory (created if needed).
pub fn target_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    std::fs::create_dir_all(&dir).expect("create target dir");
    dir.join(name)
}

/// What the server answered to one replayed tour call.
#[derive(Debug)]
pub struct Replayed {
    /// HTTP status (0 when the request failed at the transport level).
    pub status: u16,
    /// The response body, or the transport error.
    pub body: Result<Vec<u8>, String>,
    /// When the replay waited for the server to catch up before this call's compared
    /// answer (see [`behind`]).
    pub waited: Option<Wait>,
}

/// A wait of the replay for a state that only time brings.
#[derive(Debug, Clone)]
pub struct Wait {
    /// Why (the first answer's transient state).
    pub reason: String,
    /// Extra (uncompared) polls sent.
    pub polls: u32,
    /// Time spent.
    pub elapsed: std::time::Duration,
    /// Whether the server got there before the limit.
    pub reached: bool,
}

/// How many extra polls the replay sends, at most, at one call while waiting for the server
/// to catch up. A count, not a time: every poll is a call, and a server that settles objects
/// after a number of calls (as the test server does) must see the same calls on every run.
pub const WAIT_POLLS: u32 = 40;
/// Total extra polls allowed in one replay (keeps a server that never catches up from making
/// the test slow; later waits are skipped and reported).
pub const WAIT_POLL_BUDGET: u32 = 600;
/// Pause between two polls of a wait, so that a server settling on wall-clock time gets some
/// (at most [`WAIT_POLLS`] times this per call); it is pacing, not synchronisation: the wait
/// ends on the state, or on the poll count.
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

async fn send(http: &reqwest::Client, url: &str, request: &str) -> Replayed {
    let sent = http
        .post(url)
        .header("content-type", "text/xml")
        .body(request.to_owned())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| e.to_string());
            Replayed {
                status,
                body,
                waited: None,
            }
        }
        Err(e) => Replayed {
            status: 0,
            body: Err(e.to_string()),
            waited: None,
        },
    }
}

fn behind_body(call: &TourCall, reply: &Replayed) -> Option<String> {
    let body = reply.body.as_ref().ok()?;
    let ctx = NormaliseContext {
        method: &call.method,
    };
    behind(
        &normalise_response(&call.response, ctx),
        &normalise_response(body, ctx),
    )
}

/// Sends every request of `tour`, in order and byte for byte, to the XML-RPC endpoint `url`.
/// oned's random login tokens are the only thing rewritten: each token oned returned is
/// replaced, in later requests, by the token the server returned to the same login call.
/// Like the recorder, the replay waits (by repeating a read-only call) where oned's answer
/// shows a state that only time brings and the server is not there yet (see [`behind`]).
pub async fn replay_tour(url: &str, tour: &[TourCall]) -> Vec<Replayed> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    let mut tokens: Vec<(String, String)> = Vec::new();
    let mut out = Vec::with_capacity(tour.len());
    let mut polls_total = 0;
    for call in tour {
        let mut request = String::from_utf8(call.request.clone()).expect("UTF-8 request");
        for (recorded, ours) in &tokens {
            request = request.replace(recorded.as_str(), ours);
        }
        let mut reply = send(&http, url, &request).await;
        if is_read_only(&call.method) && polls_total < WAIT_POLL_BUDGET {
            if let Some(reason) = behind_body(call, &reply) {
                let started = std::time::Instant::now();
                let mut polls = 0;
                let reached = loop {
                    if polls >= WAIT_POLLS || polls_total + polls >= WAIT_POLL_BUDGET {
                        break false;
                    }
                    tokio::time::sleep(POLL_INTERVAL).await;
                    polls += 1;
                    reply = send(&http, url, &request).await;
                    if behind_body(call, &reply).is_none() {
                        break true;
                    }
                };
                polls_total += polls;
                reply.waited = Some(Wait {
                    reason,
                    polls,
                    elapsed: started.elapsed(),
                    reached,
                });
            }
        }
        if call.method == "one.user.login" {
            if let (Some(recorded), Ok(body)) = (login_token(&call.response), &reply.body) {
                if let Some(ours) = login_token(body) {
                    if !recorded.is_empty() && recorded != ours {
                        tokens.push((recorded, ours));
                    }
                }
            }
        }
        out.push(reply);
    }
    out
}

/// VM LCM states that a driver ends (the VM is on its way somewhere). The `*_FAILURE` states,
/// LCM_INIT, RUNNING and UNKNOWN are stable.
fn vm_lcm_transient(lcm: u32) -> bool {
    !matches!(lcm, 0 | 3 | 16 | 36..=42 | 44 | 46..=50 | 61)
}

/// Whether an object of type `kind` in `(state, lcm_state)` is in a transient state that
/// changes with time alone (drivers, monitoring, the scheduler, hooks).
fn transient(kind: &str, state: u32, lcm: Option<u32>) -> bool {
    match kind {
        "VM" => state == 1 || state == 10 || (state == 3 && lcm.is_some_and(vm_lcm_transient)),
        "HOST" => matches!(state, 0 | 1 | 5 | 6 | 7),
        "IMAGE" => matches!(state, 0 | 4 | 6 | 7 | 9 | 10),
        "MARKETPLACEAPP" => matches!(state, 0 | 2),
        "VNET" => matches!(state, 0 | 2 | 3),
        _ => false,
    }
}

fn leaf_u32(node: &XmlNode, name: &str) -> Option<u32> {
    node.children
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.text.trim().parse().ok())
}

fn payload_document(normal: &Normal) -> Option<&XmlNode> {
    match normal {
        Normal::Params(NValue::Array(items)) => match items.get(1) {
            Some(NValue::Document(doc)) => Some(doc),
            _ => None,
        },
        _ => None,
    }
}

/// Why the server's object `got` is still behind oned's `expected` on a progression that
/// only time drives, if it is.
fn object_behind(expected: &XmlNode, got: &XmlNode) -> Option<String> {
    let kind = got.name.as_str();
    let state = leaf_u32(got, "STATE")?;
    let lcm = leaf_u32(got, "LCM_STATE");
    let oned = (leaf_u32(expected, "STATE"), leaf_u32(expected, "LCM_STATE"));
    if transient(kind, state, lcm) && oned != (Some(state), lcm) {
        let id = leaf_u32(got, "ID").map_or(String::new(), |i| format!(" {i}"));
        return Some(format!(
            "{kind}{id} in transient state {state}/{lcm:?}, oned's was {:?}/{:?}",
            oned.0, oned.1
        ));
    }
    None
}

fn count_children(node: &XmlNode, name: &str) -> usize {
    node.children.iter().filter(|c| c.name == name).count()
}

/// When an info call's answer differs from oned's only because the server has not yet got
/// where oned was when the call was recorded (the recorder waited for host MONITORED, image
/// READY, VM RUNNING, hook executions... with unrecorded polling calls), says why. The replay
/// then polls the same request, as the recorder did, before comparing. A server that is ahead
/// of oned, or in another stable state, is never waited for.
pub fn behind(expected: &Normal, got: &Normal) -> Option<String> {
    let (expected, got) = (payload_document(expected)?, payload_document(got)?);
    if expected.name != got.name {
        return None;
    }
    match got.name.as_str() {
        "VM" | "HOST" | "IMAGE" | "MARKETPLACEAPP" | "VNET" => object_behind(expected, got),
        "VM_POOL" | "HOST_POOL" | "IMAGE_POOL" | "MARKETPLACEAPP_POOL" | "VNET_POOL" => {
            got.children.iter().find_map(|object| {
                let id = leaf_u32(object, "ID");
                let oned = expected
                    .children
                    .iter()
                    .find(|o| o.name == object.name && leaf_u32(o, "ID") == id)?;
                object_behind(oned, object)
            })
        }
        // Hook executions and monitoring records only accumulate.
        "HOOKLOG" => {
            let (want, have) = (
                count_children(expected, "HOOK_EXECUTION_RECORD"),
                count_children(got, "HOOK_EXECUTION_RECORD"),
            );
            (have < want).then(|| format!("{have} hook executions logged, oned had {want}"))
        }
        "HOOK" => {
            let log = |n: &XmlNode| {
                n.children
                    .iter()
                    .find(|c| c.name == "HOOKLOG")
                    .map_or(0, |l| count_children(l, "HOOK_EXECUTION_RECORD"))
            };
            let (want, have) = (log(expected), log(got));
            (have < want).then(|| format!("{have} hook executions logged, oned had {want}"))
        }
        "MONITORING_DATA" => {
            let (want, have) = (
                count_children(expected, "MONITORING"),
                count_children(got, "MONITORING"),
            );
            (have < want).then(|| format!("{have} monitoring records, oned had {want}"))
        }
        _ => None,
    }
}

/// Read-only calls the replay may repeat while waiting (see [`behind`]).
pub fn is_read_only(method: &str) -> bool {
    method.ends_with(".info")
        || method.ends_with(".infoextended")
        || method.ends_with(".infoset")
        || method.ends_with(".monitoring")
}
