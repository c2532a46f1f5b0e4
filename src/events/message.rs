//! The bus codec, without any IO: event keys, the two frames of a message, and the
//! `HOOK_MESSAGE` documents, read and written exactly as oned and its hook driver `one_hm`
//! produce them. The [`Subscriber`](super::Subscriber) reads messages with it, and a
//! publisher (the test server's) writes them with it: one codec for the bus.
//!
//! A message is two ZeroMQ frames ([`Frames`]): the key, which subscribers filter on by
//! prefix, and the base64 of a `HOOK_MESSAGE` document (for `RETRY`, the base64 followed by
//! a space). One change is published under several keys:
//!
//! | event | keys (note the trailing spaces) |
//! |---|---|
//! | an API call | `EVENT API one.vm.deploy 1` (`0` when it failed) |
//! | a state change | `EVENT VM 5/ACTIVE/RUNNING `, `EVENT STATE VM/ACTIVE/RUNNING/5 `, and `EVENT SERVICE 3 ` for a VM of a OneFlow service; hosts, images and networks (`NET`) alike, with an empty LCM part: `EVENT HOST 0/MONITORED/ ` |
//! | a hook retry | `RETRY` |
//!
//! ```
//! use opennebula::events::message::{ApiMessage, Key, ObjectKind, StateMessage};
//!
//! let state = StateMessage::new(ObjectKind::Host, 3, "MONITORED", "<HOST><ID>3</ID></HOST>")
//!     .with_remote_host("node-3");
//! let keys: Vec<String> = state.keys().iter().map(Key::to_string).collect();
//! assert_eq!(keys, ["EVENT HOST 3/MONITORED/ ", "EVENT STATE HOST/MONITORED//3 "]);
//! let frames = state.frames();
//! assert_eq!(StateMessage::parse(&frames[0].xml().unwrap()).unwrap(), state);
//!
//! let xml = "<HOOK_MESSAGE><HOOK_TYPE>API</HOOK_TYPE><CALL>one.vm.deploy</CALL><CALL_INFO>\
//!     <RESULT>1</RESULT><PARAMETERS><PARAMETER><POSITION>1</POSITION><TYPE>IN</TYPE>\
//!     <VALUE>****</VALUE></PARAMETER></PARAMETERS><EXTRA></EXTRA></CALL_INFO></HOOK_MESSAGE>";
//! let api = ApiMessage::parse(xml).unwrap();
//! assert_eq!(api.key().to_string(), "EVENT API one.vm.deploy 1");
//! assert_eq!(api.to_xml(), xml);
//! ```
//!
//! # What oned does not escape
//!
//! oned writes the parameters of an API message as they came, without escaping: a template
//! holding `<` or `&` makes the document malformed XML, and a template given as XML nests
//! elements inside `<VALUE>`. [`ApiMessage::parse`] therefore reads the document by its fixed
//! layout, not with an XML parser, and keeps each value's text verbatim; [`ApiMessage::to_xml`]
//! writes it back verbatim, as oned does. State messages hold documents oned escapes
//! properly, and are read with the XML reader.

use std::fmt;

use base64::Engine as _;

use crate::wire::Value;
use crate::xml::{XmlReader, XmlWriter};

/// The key of hook retry messages.
pub const RETRY_KEY: &str = "RETRY";

/// The kind of object a state message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A virtual machine (`VM`).
    Vm,
    /// A host (`HOST`).
    Host,
    /// An image (`IMAGE`).
    Image,
    /// A virtual network (`NET` in keys and `HOOK_OBJECT`, `VNET` as its document's root).
    Network,
}

impl ObjectKind {
    /// Every kind, in oned's order.
    pub const ALL: [ObjectKind; 4] = [
        ObjectKind::Vm,
        ObjectKind::Host,
        ObjectKind::Image,
        ObjectKind::Network,
    ];

    /// The name in keys and in `HOOK_OBJECT`: `VM`, `HOST`, `IMAGE`, `NET`.
    pub fn key_name(self) -> &'static str {
        match self {
            ObjectKind::Vm => "VM",
            ObjectKind::Host => "HOST",
            ObjectKind::Image => "IMAGE",
            ObjectKind::Network => "NET",
        }
    }

    /// The root element of the object's document: `VM`, `HOST`, `IMAGE`, `VNET`.
    pub fn element(self) -> &'static str {
        match self {
            ObjectKind::Vm => "VM",
            ObjectKind::Host => "HOST",
            ObjectKind::Image => "IMAGE",
            ObjectKind::Network => "VNET",
        }
    }

    /// The kind named `name` in a key or `HOOK_OBJECT` (`VNET`, which the official schema
    /// says for networks, is accepted too).
    pub fn from_key_name(name: &str) -> Option<Self> {
        match name {
            "VM" => Some(ObjectKind::Vm),
            "HOST" => Some(ObjectKind::Host),
            "IMAGE" => Some(ObjectKind::Image),
            "NET" | "VNET" => Some(ObjectKind::Network),
            _ => None,
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key_name())
    }
}

/// An event key (the first frame), parsed.
///
/// `Display` writes it exactly as `one_hm` does, trailing space included.
///
/// ```
/// use opennebula::events::message::{Key, ObjectKind};
/// let key = Key::parse("EVENT STATE VM/ACTIVE/RUNNING/42 ").unwrap();
/// assert_eq!(key, Key::State {
///     object: ObjectKind::Vm, id: 42, state: "ACTIVE".into(), lcm_state: "RUNNING".into(),
/// });
/// assert_eq!(key.to_string(), "EVENT STATE VM/ACTIVE/RUNNING/42 ");
/// assert!(Key::parse("EVENT VM 42/ACTIVE").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// `EVENT API <method> <1|0>`.
    Api {
        /// `one.vm.deploy`.
        method: String,
        /// Whether the call succeeded (`1`).
        success: bool,
    },
    /// `EVENT <OBJ> <id>/<STATE>/<LCM_STATE> `: one object's changes.
    Object {
        /// The object kind.
        object: ObjectKind,
        /// The object's ID.
        id: i32,
        /// oned's name of the new state.
        state: String,
        /// oned's name of the new LCM state (empty except for VMs).
        lcm_state: String,
    },
    /// `EVENT STATE <OBJ>/<STATE>/<LCM_STATE>/<id> `: changes to a state.
    State {
        /// The object kind.
        object: ObjectKind,
        /// The object's ID.
        id: i32,
        /// oned's name of the new state.
        state: String,
        /// oned's name of the new LCM state (empty except for VMs).
        lcm_state: String,
    },
    /// `EVENT SERVICE <id> `: a VM of OneFlow service `id` changed state.
    Service {
        /// The service ID.
        id: i32,
    },
    /// `RETRY`: a hook execution is retried.
    Retry,
}

/// A key that is not one `one_hm` sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an OpenNebula event key: {key:?}")]
pub struct KeyError {
    /// The key, lossily decoded.
    pub key: String,
}

impl Key {
    /// Parses a key; the trailing space of state keys is optional.
    pub fn parse(key: &str) -> Result<Key, KeyError> {
        Self::parse_inner(key).ok_or_else(|| KeyError { key: key.into() })
    }

    fn parse_inner(key: &str) -> Option<Key> {
        if key == RETRY_KEY {
            return Some(Key::Retry);
        }
        let rest = key.strip_prefix("EVENT ")?;
        if let Some(call) = rest.strip_prefix("API ") {
            let (method, result) = call.rsplit_once(' ')?;
            let success = match result {
                "1" => true,
                "0" => false,
                _ => return None,
            };
            if method.is_empty() || method.contains(' ') {
                return None;
            }
            return Some(Key::Api {
                method: method.into(),
                success,
            });
        }
        let rest = rest.strip_suffix(' ').unwrap_or(rest);
        if let Some(state) = rest.strip_prefix("STATE ") {
            let mut parts = state.split('/');
            let (object, state, lcm, id) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            return Some(Key::State {
                object: ObjectKind::from_key_name(object)?,
                id: parse_id(id)?,
                state: state.into(),
                lcm_state: lcm.into(),
            });
        }
        if let Some(id) = rest.strip_prefix("SERVICE ") {
            return Some(Key::Service { id: parse_id(id)? });
        }
        let (object, change) = rest.split_once(' ')?;
        let mut parts = change.split('/');
        let (id, state, lcm) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Key::Object {
            object: ObjectKind::from_key_name(object)?,
            id: parse_id(id)?,
            state: state.into(),
            lcm_state: lcm.into(),
        })
    }
}

fn parse_id(text: &str) -> Option<i32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Api { method, success } => {
                write!(f, "EVENT API {method} {}", u8::from(*success))
            }
            Key::Object {
                object,
                id,
                state,
                lcm_state,
            } => write!(f, "EVENT {object} {id}/{state}/{lcm_state} "),
            Key::State {
                object,
                id,
                state,
                lcm_state,
            } => write!(f, "EVENT STATE {object}/{state}/{lcm_state}/{id} "),
            Key::Service { id } => write!(f, "EVENT SERVICE {id} "),
            Key::Retry => f.write_str(RETRY_KEY),
        }
    }
}

/// The two frames of one message, as they travel: the key, and the base64 payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frames {
    /// Frame 1: the key.
    pub key: String,
    /// Frame 2: the base64 of the `HOOK_MESSAGE` document (for `RETRY`, followed by a space).
    pub payload: String,
}

impl Frames {
    /// The `HOOK_MESSAGE` document the payload carries.
    pub fn xml(&self) -> Result<String, MessageError> {
        decode_payload(self.payload.as_bytes())
    }
}

/// A message that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The payload is not base64.
    #[error("the payload is not base64: {0}")]
    Base64(String),
    /// The decoded payload is not UTF-8.
    #[error("the payload is not UTF-8 text")]
    NotUtf8,
    /// The document is not a `HOOK_MESSAGE` of the expected shape.
    #[error("malformed HOOK_MESSAGE: {0}")]
    Document(String),
}

/// The base64 payload of a document (standard alphabet with padding, no line breaks, as
/// OpenSSL's `EVP_EncodeBlock` writes it for oned).
pub fn encode_payload(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}

/// The document a payload carries (surrounding ASCII whitespace ignored).
pub fn decode_payload(payload: &[u8]) -> Result<String, MessageError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.trim_ascii())
        .map_err(|e| MessageError::Base64(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| MessageError::NotUtf8)
}

// ---------------------------------------------------------------------------------------
// API messages
// ---------------------------------------------------------------------------------------

/// Whether a parameter of an API message is an argument or a returned value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `IN`: an argument of the call (position 1 is the session, always `****`).
    In,
    /// `OUT`: a returned value (position 1 is `true`/`false`, 2 the value or the error
    /// message, 3 the error code, 4 on failure the object ID).
    Out,
}

impl Direction {
    /// `IN` or `OUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "IN",
            Direction::Out => "OUT",
        }
    }
}

/// One `<PARAMETER>` of an API message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// 1-based position (IN and OUT are numbered separately).
    pub position: u32,
    /// IN or OUT.
    pub direction: Direction,
    /// The value's text, verbatim (oned does not escape it; see the module docs).
    pub value: String,
}

impl Parameter {
    /// An IN parameter.
    pub fn input(position: u32, value: impl Into<String>) -> Self {
        Parameter {
            position,
            direction: Direction::In,
            value: value.into(),
        }
    }

    /// An OUT parameter.
    pub fn output(position: u32, value: impl Into<String>) -> Self {
        Parameter {
            position,
            direction: Direction::Out,
            value: value.into(),
        }
    }
}

/// How an API call ended, for [`ApiMessage::from_xmlrpc`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ApiOutcome<'a> {
    /// It succeeded and returned this value (an ID, a string, a boolean...).
    Success(&'a Value),
    /// It failed.
    Failure {
        /// oned's error message.
        message: &'a str,
        /// oned's error code ([`ErrorCode::code`](crate::ErrorCode::code)).
        code: i32,
        /// The ID of the object concerned, -1 when none (oned's `resp_id`).
        object_id: i32,
    },
}

/// The `HOOK_MESSAGE` of an API call (`HOOK_TYPE` `API`), as `HookAPI::format_message` in
/// oned writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiMessage {
    /// The method, `one.vm.deploy`.
    pub method: String,
    /// Whether the call succeeded (`RESULT` 1).
    pub success: bool,
    /// The IN parameters (session masked as `****`), then the OUT ones.
    pub parameters: Vec<Parameter>,
    /// The content of `EXTRA`, verbatim: the object's document for allocate and delete calls,
    /// empty otherwise.
    pub extra: String,
}

/// The calls after which oned publishes no API message (`unsupported_calls` in
/// `src/hm/HookAPI.cc`): the info and pool-info calls. Every other call is published, failed
/// ones with `RESULT` 0.
pub const UNPUBLISHED_CALLS: [&str; 43] = [
    "one.vm.info",
    "one.vmpool.info",
    "one.vmpool.infoextended",
    "one.template.info",
    "one.templatepool.info",
    "one.host.info",
    "one.hostpool.info",
    "one.group.info",
    "one.grouppool.info",
    "one.groupquota.info",
    "one.vn.info",
    "one.vnpool.info",
    "one.user.info",
    "one.userpool.info",
    "one.userquota.info",
    "one.datastore.info",
    "one.datastorepool.info",
    "one.image.info",
    "one.imagepool.info",
    "one.acl.info",
    "one.vntemplate.info",
    "one.vntemplatepool.info",
    "one.cluster.info",
    "one.clusterpool.info",
    "one.document.info",
    "one.documentpool.info",
    "one.zone.info",
    "one.zonepool.info",
    "one.secgroup.info",
    "one.secgrouppool.info",
    "one.vmgroup.info",
    "one.vmgrouppool.info",
    "one.vdc.info",
    "one.vdcpool.info",
    "one.vrouter.info",
    "one.vrouterpool.info",
    "one.market.info",
    "one.marketpool.info",
    "one.marketapp.info",
    "one.marketapppool.info",
    "one.hook.info",
    "one.hookpool.info",
    "one.hooklog.info",
];

/// Whether oned publishes an API message after a call of `method` (all but
/// [`UNPUBLISHED_CALLS`]).
///
/// ```
/// use opennebula::events::message::publishes_api_message;
/// assert!(publishes_api_message("one.vm.deploy"));
/// assert!(publishes_api_message("one.system.version"));
/// assert!(!publishes_api_message("one.vm.info"));
/// ```
pub fn publishes_api_message(method: &str) -> bool {
    !UNPUBLISHED_CALLS.contains(&method)
}

/// The text of `<VALUE>` for positions oned hides (its `hidden_params`), and always the
/// session.
pub const MASKED: &str = "****";

/// The 0-based parameter positions (session = 0) oned masks in API messages of `method`,
/// besides the session: passwords and tokens (`UserAPI.h`).
pub fn hidden_parameters(method: &str) -> &'static [usize] {
    match method {
        "one.user.allocate" | "one.user.passwd" | "one.user.login" => &[2],
        "one.user.chauth" => &[3],
        _ => &[],
    }
}

impl ApiMessage {
    /// The message oned publishes for an XML-RPC call: `params` are the call's parameters as
    /// sent, session first; each becomes an IN parameter as oned prints it (integers in
    /// decimal, booleans `1`/`0`, strings verbatim, other types empty), with the session and
    /// the [`hidden_parameters`] masked; the outcome becomes the OUT parameters
    /// (`Request::make_xml_response`). `extra` is the object's document for allocate and
    /// delete calls, else empty.
    ///
    /// Info calls produce no message in oned (`HookAPI::supported_call`); deciding that is
    /// the publisher's business.
    ///
    /// ```
    /// use opennebula::events::message::{ApiMessage, ApiOutcome};
    /// use opennebula::Value;
    /// let params = [Value::from("oneadmin:secret"), Value::Int(7), Value::Bool(true)];
    /// let message = ApiMessage::from_xmlrpc("one.vm.lock", &params, ApiOutcome::Success(&Value::Int(7)), "");
    /// let values: Vec<&str> = message.parameters.iter().map(|p| p.value.as_str()).collect();
    /// assert_eq!(values, ["****", "7", "1", "true", "7", "0"]);
    /// ```
    pub fn from_xmlrpc(
        method: &str,
        params: &[Value],
        outcome: ApiOutcome<'_>,
        extra: impl Into<String>,
    ) -> Self {
        let hidden = hidden_parameters(method);
        let mut parameters: Vec<Parameter> = params
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let text = if i == 0 || hidden.contains(&i) {
                    MASKED.to_string()
                } else {
                    xmlrpc_in_text(value)
                };
                Parameter::input(i as u32 + 1, text)
            })
            .collect();
        let success = matches!(outcome, ApiOutcome::Success(_));
        match outcome {
            ApiOutcome::Success(value) => {
                parameters.push(Parameter::output(1, "true"));
                parameters.push(Parameter::output(2, out_text(value)));
                parameters.push(Parameter::output(3, "0"));
            }
            ApiOutcome::Failure {
                message,
                code,
                object_id,
            } => {
                parameters.push(Parameter::output(1, "false"));
                parameters.push(Parameter::output(2, message));
                parameters.push(Parameter::output(3, code.to_string()));
                parameters.push(Parameter::output(4, object_id.to_string()));
            }
        }
        ApiMessage {
            method: method.into(),
            success,
            parameters,
            extra: extra.into(),
        }
    }

    /// The message's key, `EVENT API <method> <1|0>`.
    pub fn key(&self) -> Key {
        Key::Api {
            method: self.method.clone(),
            success: self.success,
        }
    }

    /// The document, byte for byte as oned writes it (values verbatim).
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(
            160 + self.method.len()
                + self.extra.len()
                + self
                    .parameters
                    .iter()
                    .map(|p| p.value.len() + 80)
                    .sum::<usize>(),
        );
        out.push_str("<HOOK_MESSAGE><HOOK_TYPE>API</HOOK_TYPE><CALL>");
        out.push_str(&self.method);
        out.push_str("</CALL><CALL_INFO><RESULT>");
        out.push_str(if self.success { "1" } else { "0" });
        out.push_str("</RESULT><PARAMETERS>");
        for parameter in &self.parameters {
            out.push_str("<PARAMETER><POSITION>");
            out.push_str(&parameter.position.to_string());
            out.push_str("</POSITION><TYPE>");
            out.push_str(parameter.direction.as_str());
            out.push_str("</TYPE><VALUE>");
            out.push_str(&parameter.value);
            out.push_str("</VALUE></PARAMETER>");
        }
        out.push_str("</PARAMETERS><EXTRA>");
        out.push_str(&self.extra);
        out.push_str("</EXTRA></CALL_INFO></HOOK_MESSAGE>");
        out
    }

    /// The two frames oned's driver publishes for this message.
    pub fn frames(&self) -> Frames {
        Frames {
            key: self.key().to_string(),
            payload: encode_payload(&self.to_xml()),
        }
    }

    /// Reads an API message by oned's fixed layout (whitespace between the fixed tags is
    /// tolerated); values are kept verbatim. A value is taken to end at the first
    /// `</VALUE></PARAMETER>` followed by the next parameter or the end of the list.
    pub fn parse(xml: &str) -> Result<Self, MessageError> {
        let mut scan = Scanner(xml.trim());
        scan.tag("<HOOK_MESSAGE>")?;
        scan.tag("<HOOK_TYPE>")?;
        let hook_type = scan.text_until("</HOOK_TYPE>")?;
        if hook_type.trim() != "API" {
            return Err(doc_error(format!("HOOK_TYPE is {hook_type:?}, not API")));
        }
        scan.tag("<CALL>")?;
        let method = scan.text_until("</CALL>")?.trim().to_string();
        scan.tag("<CALL_INFO>")?;
        scan.tag("<RESULT>")?;
        let success = match scan.text_until("</RESULT>")?.trim() {
            "1" => true,
            "0" => false,
            other => return Err(doc_error(format!("RESULT is {other:?}, not 1 or 0"))),
        };
        let mut parameters = Vec::new();
        if !scan.optional_tag("<PARAMETERS/>") {
            scan.tag("<PARAMETERS>")?;
            while !scan.optional_tag("</PARAMETERS>") {
                scan.tag("<PARAMETER>")?;
                scan.tag("<POSITION>")?;
                let position = scan.text_until("</POSITION>")?;
                let position = position
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| doc_error(format!("POSITION {position:?} is not a number")))?;
                scan.tag("<TYPE>")?;
                let direction = match scan.text_until("</TYPE>")?.trim() {
                    "IN" => Direction::In,
                    "OUT" => Direction::Out,
                    other => return Err(doc_error(format!("TYPE is {other:?}, not IN or OUT"))),
                };
                let value = if scan.optional_tag("<VALUE/>") {
                    scan.tag("</PARAMETER>")?;
                    String::new()
                } else {
                    scan.tag("<VALUE>")?;
                    scan.value()?.to_string()
                };
                parameters.push(Parameter {
                    position,
                    direction,
                    value,
                });
            }
        }
        let extra = if scan.optional_tag("<EXTRA/>") {
            String::new()
        } else {
            scan.tag("<EXTRA>")?;
            scan.until_end("</EXTRA></CALL_INFO></HOOK_MESSAGE>")?
                .to_string()
        };
        Ok(ApiMessage {
            method,
            success,
            parameters,
            extra,
        })
    }

    /// The object's document in `EXTRA` (allocate and delete calls), decoded by its root
    /// element; `None` when `EXTRA` is empty.
    pub fn extra_document(&self) -> Option<Result<crate::api::AnyDocument, crate::xml::XmlError>> {
        // `Document::from_xml` is inherent; the trait serves `RawDocument` (no models).
        #[allow(unused_imports)]
        use crate::xml::FromXml as _;
        let extra = self.extra.trim();
        (!extra.is_empty()).then(|| crate::api::AnyDocument::from_xml(extra))
    }

    /// The IN parameter at `position` (1 is the session).
    pub fn input(&self, position: u32) -> Option<&str> {
        self.parameter(Direction::In, position)
    }

    /// The OUT parameter at `position`.
    pub fn output(&self, position: u32) -> Option<&str> {
        self.parameter(Direction::Out, position)
    }

    fn parameter(&self, direction: Direction, position: u32) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.direction == direction && p.position == position)
            .map(|p| p.value.as_str())
    }

    /// The arguments of the call after the session (IN positions 2...), in order.
    pub fn arguments(&self) -> Vec<&str> {
        let mut inputs: Vec<&Parameter> = self
            .parameters
            .iter()
            .filter(|p| p.direction == Direction::In && p.position > 1)
            .collect();
        inputs.sort_by_key(|p| p.position);
        inputs.into_iter().map(|p| p.value.as_str()).collect()
    }

    /// What a successful call returned (OUT 2): the new object's ID for allocations.
    pub fn returned(&self) -> Option<&str> {
        self.success.then(|| self.output(2)).flatten()
    }

    /// The error message of a failed call (OUT 2).
    pub fn error_message(&self) -> Option<&str> {
        (!self.success).then(|| self.output(2)).flatten()
    }

    /// The error code of a failed call (OUT 3).
    pub fn error_code(&self) -> Option<crate::ErrorCode> {
        if self.success {
            return None;
        }
        let code = self.output(3)?.trim().parse::<i32>().ok()?;
        Some(crate::ErrorCode::from_code(code))
    }
}

/// An IN value as `ParamListXRPC::api_value` prints it.
fn xmlrpc_in_text(value: &Value) -> String {
    match value {
        Value::Int(n) => n.to_string(),
        Value::I8(n) => n.to_string(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Value::String(s) => s.clone(),
        Value::Double(d) => cpp_double(*d),
        _ => String::new(),
    }
}

/// An OUT value as `Request::make_xml_response` prints it (booleans as `true`/`false`).
fn out_text(value: &Value) -> String {
    match value {
        Value::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        other => xmlrpc_in_text(other),
    }
}

/// A double as C++'s `ostream << double` prints it by default (`%g`, 6 significant digits).
fn cpp_double(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "nan".into()
        } else if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let exponent = value.abs().log10().floor() as i32;
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    // %g: scientific when the exponent is < -4 or >= the precision (6).
    let scientific = format!("{value:.5e}");
    let (mantissa, exp) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exp: i32 = exp.parse().unwrap_or(exponent);
    if !(-4..6).contains(&exp) {
        let mantissa = trim(mantissa.to_string());
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim(format!("{value:.decimals$}"))
    }
}

fn doc_error(message: impl Into<String>) -> MessageError {
    MessageError::Document(message.into())
}

/// A cursor over oned's fixed message layout.
struct Scanner<'a>(&'a str);

impl<'a> Scanner<'a> {
    fn skip_space(&mut self) {
        self.0 = self.0.trim_start();
    }

    fn tag(&mut self, tag: &str) -> Result<(), MessageError> {
        if self.optional_tag(tag) {
            return Ok(());
        }
        let found: String = self.0.chars().take(40).collect();
        Err(doc_error(format!("expected {tag}, found {found:?}")))
    }

    fn optional_tag(&mut self, tag: &str) -> bool {
        self.skip_space();
        match self.0.strip_prefix(tag) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    fn text_until(&mut self, end: &str) -> Result<&'a str, MessageError> {
        let at = self
            .0
            .find(end)
            .ok_or_else(|| doc_error(format!("{end} is missing")))?;
        let text = &self.0[..at];
        self.0 = &self.0[at + end.len()..];
        Ok(text)
    }

    /// A parameter's value: up to the `</VALUE></PARAMETER>` that is followed by the next
    /// parameter or by the end of the list.
    fn value(&mut self) -> Result<&'a str, MessageError> {
        const END: &str = "</VALUE></PARAMETER>";
        let mut from = 0;
        while let Some(at) = self.0[from..].find(END) {
            let end = from + at;
            let after = self.0[end + END.len()..].trim_start();
            if after.starts_with("<PARAMETER>") || after.starts_with("</PARAMETERS>") {
                let value = &self.0[..end];
                self.0 = &self.0[end + END.len()..];
                return Ok(value);
            }
            from = end + END.len();
        }
        Err(doc_error("a parameter's </VALUE></PARAMETER> is missing"))
    }

    /// Everything up to `tail`, which must end the document.
    fn until_end(&mut self, tail: &str) -> Result<&'a str, MessageError> {
        let rest = self.0.trim_end();
        let body = rest
            .strip_suffix(tail)
            .ok_or_else(|| doc_error(format!("the document does not end with {tail}")))?;
        self.0 = "";
        Ok(body)
    }
}

// ---------------------------------------------------------------------------------------
// State messages
// ---------------------------------------------------------------------------------------

/// The `HOOK_MESSAGE` of a state change (`HOOK_TYPE` `STATE`), as oned's
/// `HookState{VM,Host,Image,VirtualNetwork}::format_message` write it, with the object's
/// whole document (`to_xml_extended` for VMs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMessage {
    /// The object kind.
    pub object: ObjectKind,
    /// The object's ID (`RESOURCE_ID`).
    pub id: i32,
    /// oned's name of the new state (`STATE`). Images in USED_PERS and LOCKED_USED_PERS are
    /// `USED` and `LOCKED_USED`; a network in UPDATE_FAILURE has an empty name.
    pub state: String,
    /// oned's name of the new LCM state (`LCM_STATE`, VMs only).
    pub lcm_state: Option<String>,
    /// `SERVICE_ID` of a VM's user template, for VMs of a OneFlow service.
    pub service_id: Option<String>,
    /// `REMOTE_HOST`: for a VM the host it runs on (`None`, written `<REMOTE_HOST/>`, before
    /// it was placed); for a host its name; absent for images and networks.
    pub remote_host: Option<String>,
    /// The object's document (`<VM>...</VM>`, `<HOST>`, `<IMAGE>`, `<VNET>`), verbatim.
    pub object_xml: String,
}

impl StateMessage {
    /// A message about `object` `id` entering `state` (oned's name), with the object's
    /// document. LCM state, service and remote host can be added with the `with_` methods.
    pub fn new(
        object: ObjectKind,
        id: i32,
        state: impl Into<String>,
        object_xml: impl Into<String>,
    ) -> Self {
        StateMessage {
            object,
            id,
            state: state.into(),
            lcm_state: None,
            service_id: None,
            remote_host: None,
            object_xml: object_xml.into(),
        }
    }

    /// Sets the LCM state name (VMs).
    pub fn with_lcm_state(mut self, lcm_state: impl Into<String>) -> Self {
        self.lcm_state = Some(lcm_state.into());
        self
    }

    /// Sets the OneFlow service ID (VMs).
    pub fn with_service_id(mut self, service_id: impl Into<String>) -> Self {
        self.service_id = Some(service_id.into());
        self
    }

    /// Sets the remote host (VMs: the host it runs on; hosts: their name).
    pub fn with_remote_host(mut self, host: impl Into<String>) -> Self {
        self.remote_host = Some(host.into());
        self
    }

    /// The keys it is published under, in `one_hm`'s order: the object's, the state's, and
    /// the service's when there is one.
    pub fn keys(&self) -> Vec<Key> {
        let lcm_state = match self.object {
            ObjectKind::Vm => self.lcm_state.clone().unwrap_or_default(),
            _ => String::new(),
        };
        let mut keys = vec![
            Key::Object {
                object: self.object,
                id: self.id,
                state: self.state.clone(),
                lcm_state: lcm_state.clone(),
            },
            Key::State {
                object: self.object,
                id: self.id,
                state: self.state.clone(),
                lcm_state,
            },
        ];
        if let Some(service) = &self.service_id {
            if let Ok(id) = service.trim().parse() {
                keys.push(Key::Service { id });
            }
        }
        keys
    }

    /// The document, in oned's element order for the object kind.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::with_capacity(self.object_xml.len() + 256);
        w.start("HOOK_MESSAGE");
        w.text_element("HOOK_TYPE", "STATE");
        w.text_element("HOOK_OBJECT", self.object.key_name());
        w.text_element("STATE", &self.state);
        let remote_host = |w: &mut XmlWriter| match &self.remote_host {
            Some(host) => w.text_element("REMOTE_HOST", host),
            None => w.raw("<REMOTE_HOST/>"),
        };
        match self.object {
            ObjectKind::Vm => {
                w.text_element("LCM_STATE", self.lcm_state.as_deref().unwrap_or_default());
                w.text_element("RESOURCE_ID", &self.id.to_string());
                if let Some(service) = &self.service_id {
                    w.text_element("SERVICE_ID", service);
                }
                remote_host(&mut w);
            }
            ObjectKind::Host => {
                remote_host(&mut w);
                w.text_element("RESOURCE_ID", &self.id.to_string());
            }
            ObjectKind::Image | ObjectKind::Network => {
                w.text_element("RESOURCE_ID", &self.id.to_string());
            }
        }
        w.raw(&self.object_xml);
        w.end("HOOK_MESSAGE");
        w.into_string()
    }

    /// The frames oned's driver publishes for this change, one per [`keys`](Self::keys) entry,
    /// all with the same payload.
    pub fn frames(&self) -> Vec<Frames> {
        let payload = encode_payload(&self.to_xml());
        self.keys()
            .iter()
            .map(|key| Frames {
                key: key.to_string(),
                payload: payload.clone(),
            })
            .collect()
    }

    /// Reads a state message. The object's document is kept verbatim (whitespace around it
    /// dropped); elements it does not know are skipped.
    pub fn parse(xml: &str) -> Result<Self, MessageError> {
        let mut reader = XmlReader::new(xml.as_bytes());
        let xml_error = |e: crate::xml::XmlError| doc_error(e.to_string());
        let root = reader.root().map_err(xml_error)?;
        if root.name() != b"HOOK_MESSAGE" {
            return Err(doc_error(format!(
                "the root element is {}, not HOOK_MESSAGE",
                root.name_str()
            )));
        }
        let (mut hook_type, mut object, mut state, mut lcm_state) = (None, None, None, None);
        let (mut id, mut service_id, mut remote_host, mut object_xml) = (None, None, None, None);
        loop {
            let before = reader.position();
            let Some(child) = reader.next_child(&root).map_err(xml_error)? else {
                break;
            };
            match child.name() {
                b"HOOK_TYPE" => hook_type = Some(reader.read_text(&child).map_err(xml_error)?),
                b"HOOK_OBJECT" => object = Some(reader.read_text(&child).map_err(xml_error)?),
                b"STATE" => state = Some(reader.read_text(&child).map_err(xml_error)?),
                b"LCM_STATE" => lcm_state = Some(reader.read_text(&child).map_err(xml_error)?),
                b"RESOURCE_ID" => id = Some(reader.read_text(&child).map_err(xml_error)?),
                b"SERVICE_ID" => service_id = Some(reader.read_text(&child).map_err(xml_error)?),
                b"REMOTE_HOST" => {
                    let empty = child.is_empty();
                    let text = reader.read_text(&child).map_err(xml_error)?;
                    remote_host = (!empty).then(|| text.into_owned());
                }
                b"VM" | b"HOST" | b"IMAGE" | b"VNET" if object_xml.is_none() => {
                    reader.skip(&child).map_err(xml_error)?;
                    let after = reader.position();
                    let raw = reader
                        .xml_between(before, after)
                        .ok_or_else(|| doc_error("cannot cut the object's document"))?;
                    object_xml = Some((child.local_name().to_string(), raw.trim().to_string()));
                }
                _ => reader.skip(&child).map_err(xml_error)?,
            }
        }
        reader.finish().map_err(xml_error)?;
        if hook_type.as_deref().map(str::trim) != Some("STATE") {
            return Err(doc_error(format!(
                "HOOK_TYPE is {:?}, not STATE",
                hook_type.unwrap_or_default()
            )));
        }
        let object_name = object.ok_or_else(|| doc_error("HOOK_OBJECT is missing"))?;
        let object = ObjectKind::from_key_name(object_name.trim())
            .ok_or_else(|| doc_error(format!("unknown HOOK_OBJECT {object_name:?}")))?;
        let id_text = id.ok_or_else(|| doc_error("RESOURCE_ID is missing"))?;
        let id = id_text
            .trim()
            .parse::<i32>()
            .map_err(|_| doc_error(format!("RESOURCE_ID {id_text:?} is not an ID")))?;
        let state = state
            .ok_or_else(|| doc_error("STATE is missing"))?
            .into_owned();
        let (element, object_xml) =
            object_xml.ok_or_else(|| doc_error(format!("the {object} document is missing")))?;
        if element != object.element() {
            return Err(doc_error(format!(
                "a {object} message holds a {element} document"
            )));
        }
        Ok(StateMessage {
            object,
            id,
            state,
            lcm_state: lcm_state.map(|s| s.into_owned()),
            service_id: service_id.map(|s| s.into_owned()),
            remote_host,
            object_xml,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Retry messages
// ---------------------------------------------------------------------------------------

/// A hook retry (`onehook retry`): oned's `HookManager::format_message`, published by
/// `one_hm` under [`RETRY_KEY`] with the base64 document followed by a space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryMessage {
    /// The arguments of the execution to retry, as oned sends them (base64).
    pub arguments: String,
    /// The hook's ID.
    pub hook_id: i64,
    /// The host the hook ran on, for remote hooks.
    pub remote_host: Option<String>,
}

impl RetryMessage {
    /// The document, as oned writes it.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.start("HOOK_MESSAGE");
        w.text_element("ARGUMENTS", &self.arguments);
        w.text_element("HOOK_ID", &self.hook_id.to_string());
        if let Some(host) = self.remote_host.as_deref().filter(|h| !h.is_empty()) {
            w.text_element("REMOTE_HOST", host);
        }
        w.end("HOOK_MESSAGE");
        w.into_string()
    }

    /// The frames: key `RETRY`, and the base64 document followed by a space (the driver
    /// publishes `"<command> <params>"` with empty params).
    pub fn frames(&self) -> Frames {
        Frames {
            key: RETRY_KEY.into(),
            payload: format!("{} ", encode_payload(&self.to_xml())),
        }
    }

    /// Reads the second frame of a retry message (the first word is the base64 document).
    pub fn parse_payload(payload: &[u8]) -> Result<Self, MessageError> {
        let first = payload
            .split(|b| b.is_ascii_whitespace())
            .find(|word| !word.is_empty())
            .unwrap_or_default();
        Self::parse(&decode_payload(first)?)
    }

    /// Reads a retry document.
    pub fn parse(xml: &str) -> Result<Self, MessageError> {
        let mut reader = XmlReader::new(xml.as_bytes());
        let xml_error = |e: crate::xml::XmlError| doc_error(e.to_string());
        let root = reader.root().map_err(xml_error)?;
        let (mut arguments, mut hook_id, mut remote_host) = (None, None, None);
        while let Some(child) = reader.next_child(&root).map_err(xml_error)? {
            match child.name() {
                b"ARGUMENTS" => arguments = Some(reader.read_text(&child).map_err(xml_error)?),
                b"HOOK_ID" => hook_id = Some(reader.read_text(&child).map_err(xml_error)?),
                b"REMOTE_HOST" => {
                    remote_host = Some(reader.read_text(&child).map_err(xml_error)?.into_owned())
                }
                _ => reader.skip(&child).map_err(xml_error)?,
            }
        }
        reader.finish().map_err(xml_error)?;
        let hook_id_text = hook_id.ok_or_else(|| doc_error("HOOK_ID is missing"))?;
        Ok(RetryMessage {
            arguments: arguments
                .ok_or_else(|| doc_error("ARGUMENTS is missing"))?
                .into_owned(),
            hook_id: hook_id_text
                .trim()
                .parse()
                .map_err(|_| doc_error(format!("HOOK_ID {hook_id_text:?} is not a number")))?,
            remote_host,
        })
    }

    /// The arguments, base64-decoded (`None` when they are not base64 of UTF-8 text).
    pub fn decoded_arguments(&self) -> Option<String> {
        decode_payload(self.arguments.as_bytes()).ok()
    }
}

// ---------------------------------------------------------------------------------------
// State names, as oned writes them
// ---------------------------------------------------------------------------------------

/// oned's name of a VM state in keys and messages (`VirtualMachine::vm_state_to_str`).
pub fn vm_state_name(state: crate::api::VmState) -> String {
    state
        .name()
        .map_or_else(|| state.code().to_string(), str::to_string)
}

/// oned's name of a VM LCM state (`VirtualMachine::lcm_state_to_str`: `LCM_INIT`, `RUNNING`...).
pub fn lcm_state_name(state: crate::api::LcmState) -> String {
    state
        .name()
        .map_or_else(|| state.code().to_string(), str::to_string)
}

/// oned's name of a host state (`Host::state_to_str`).
pub fn host_state_name(state: crate::api::HostState) -> String {
    state
        .name()
        .map_or_else(|| state.code().to_string(), str::to_string)
}

/// oned's name of an image state (`Image::state_to_str`: USED_PERS is `USED`,
/// LOCKED_USED_PERS is `LOCKED_USED`).
pub fn image_state_name(state: crate::api::ImageState) -> String {
    use crate::api::ImageState;
    match state {
        ImageState::UsedPers => "USED".into(),
        ImageState::LockedUsedPers => "LOCKED_USED".into(),
        other => other
            .name()
            .map_or_else(|| other.code().to_string(), str::to_string),
    }
}

/// oned's name of a virtual network state (`VirtualNetwork::state_to_str`: UPDATE_FAILURE
/// has none, so its keys have an empty state).
pub fn network_state_name(state: crate::api::VirtualNetworkState) -> String {
    use crate::api::VirtualNetworkState;
    match state {
        VirtualNetworkState::UpdateFailure => String::new(),
        other => other
            .name()
            .map_or_else(|| other.code().to_string(), str::to_string),
    }
}

#[cfg(opennebula_models)]
impl StateMessage {
    /// The message oned publishes when `vm` changes state: state names from its numbers,
    /// `SERVICE_ID` from its user template, `REMOTE_HOST` from its last history record,
    /// and the document written by [`ToXml`](crate::xml::ToXml) (same content as oned's,
    /// CDATA sections aside).
    pub fn for_vm(vm: &crate::models::Vm) -> Self {
        use crate::xml::ToXml as _;
        let mut message = StateMessage::new(
            ObjectKind::Vm,
            vm.id as i32,
            vm_state_name(vm.state()),
            vm.to_xml(),
        )
        .with_lcm_state(lcm_state_name(vm.lcm_state()));
        if let Some(service) = vm.user_template.get("SERVICE_ID").filter(|s| !s.is_empty()) {
            message = message.with_service_id(service);
        }
        if let Some(last) = vm.history_records.history.last() {
            message = message.with_remote_host(last.hostname.clone());
        }
        message
    }

    /// The message oned publishes when `host` changes state (`REMOTE_HOST` is its name).
    pub fn for_host(host: &crate::models::Host) -> Self {
        use crate::xml::ToXml as _;
        StateMessage::new(
            ObjectKind::Host,
            host.id as i32,
            host_state_name(host.state()),
            host.to_xml(),
        )
        .with_remote_host(host.name.clone())
    }

    /// The message oned publishes when `image` changes state.
    pub fn for_image(image: &crate::models::Image) -> Self {
        use crate::xml::ToXml as _;
        StateMessage::new(
            ObjectKind::Image,
            image.id as i32,
            image_state_name(image.state()),
            image.to_xml(),
        )
    }

    /// The message oned publishes when `network` changes state.
    pub fn for_network(network: &crate::models::VirtualNetwork) -> Self {
        use crate::xml::ToXml as _;
        StateMessage::new(
            ObjectKind::Network,
            network.id as i32,
            network_state_name(network.state()),
            network.to_xml(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print_as_one_hm_writes_them() {
        for key in [
            "EVENT API one.vm.deploy 1",
            "EVENT API one.vm.deploy 0",
            "EVENT VM 5/ACTIVE/RUNNING ",
            "EVENT STATE VM/ACTIVE/RUNNING/5 ",
            "EVENT HOST 0/MONITORED/ ",
            "EVENT STATE HOST/MONITORED//0 ",
            "EVENT STATE NET///7 ",
            "EVENT SERVICE 3 ",
            "RETRY",
        ] {
            let parsed = Key::parse(key).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.to_string(), key);
        }
        assert_eq!(
            Key::parse("EVENT IMAGE 0/READY/").unwrap().to_string(),
            "EVENT IMAGE 0/READY/ "
        );
        for bad in [
            "",
            "EVENT",
            "EVENT API one.vm.deploy",
            "EVENT API one.vm.deploy 2",
            "EVENT API  1",
            "EVENT VM x/ACTIVE/RUNNING ",
            "EVENT VM 5/ACTIVE ",
            "EVENT VM 5/ACTIVE/RUNNING/extra ",
            "EVENT STATE VM/ACTIVE/RUNNING ",
            "EVENT STATE DATASTORE/READY//1 ",
            "EVENT SERVICE ",
            "EVENT VM 99999999999/ACTIVE/RUNNING ",
            "RETRY ",
            "EVENT FOO 1/A/B ",
        ] {
            assert!(Key::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn api_messages_roundtrip_and_values_stay_verbatim() {
        let params = [
            Value::from("oneadmin:pw"),
            Value::from("NAME=\"a&b\"\nX=\"<y>\""),
            Value::Int(-1),
        ];
        let message = ApiMessage::from_xmlrpc(
            "one.template.allocate",
            &params,
            ApiOutcome::Failure {
                message: "[one.template.allocate] NAME is already taken by TEMPLATE 0.",
                code: 0x2000,
                object_id: -1,
            },
            "",
        );
        let xml = message.to_xml();
        assert!(
            xml.contains("<VALUE>NAME=\"a&b\"\nX=\"<y>\"</VALUE>"),
            "{xml}"
        );
        let parsed = ApiMessage::parse(&xml).unwrap();
        assert_eq!(parsed, message);
        assert_eq!(parsed.arguments(), ["NAME=\"a&b\"\nX=\"<y>\"", "-1"]);
        assert_eq!(parsed.error_code(), Some(crate::ErrorCode::Internal));
        assert!(parsed.error_message().unwrap().contains("already taken"));
        assert_eq!(parsed.returned(), None);
        assert_eq!(parsed.frames().key, "EVENT API one.template.allocate 0");
    }

    #[test]
    fn a_value_holding_the_end_marker_text_still_parses() {
        let message = ApiMessage {
            method: "one.vm.update".into(),
            success: true,
            parameters: vec![
                Parameter::input(1, MASKED),
                Parameter::input(2, "</VALUE></PARAMETER>oops"),
                Parameter::output(1, "true"),
            ],
            extra: "<VM><ID>1</ID></VM>".into(),
        };
        assert_eq!(ApiMessage::parse(&message.to_xml()).unwrap(), message);
    }

    #[test]
    fn hidden_parameters_are_masked_like_oned() {
        let params = [
            Value::from("oneadmin:pw"),
            Value::from("alice"),
            Value::from("secret"),
            Value::from("core"),
            Value::Array(vec![]),
        ];
        let message = ApiMessage::from_xmlrpc(
            "one.user.allocate",
            &params,
            ApiOutcome::Success(&Value::Int(3)),
            "",
        );
        assert_eq!(message.arguments(), ["alice", MASKED, "core", ""]);
        assert_eq!(message.returned(), Some("3"));
    }

    #[test]
    fn malformed_api_messages_are_errors() {
        for bad in [
            "",
            "<HOOK_MESSAGE>",
            "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE></HOOK_MESSAGE>",
            "<HOOK_MESSAGE><HOOK_TYPE>API</HOOK_TYPE><CALL>x</CALL><CALL_INFO><RESULT>2</RESULT>",
            "<HOOK_MESSAGE><HOOK_TYPE>API</HOOK_TYPE><CALL>x</CALL><CALL_INFO><RESULT>1</RESULT>\
             <PARAMETERS><PARAMETER><POSITION>a</POSITION>",
            "<HOOK_MESSAGE><HOOK_TYPE>API</HOOK_TYPE><CALL>x</CALL><CALL_INFO><RESULT>1</RESULT>\
             <PARAMETERS><PARAMETER><POSITION>1</POSITION><TYPE>IN</TYPE><VALUE>v",
            "<HOOK_MESSAGE><HOOK_TYPE>API</HOOK_TYPE><CALL>x</CALL><CALL_INFO><RESULT>1</RESULT>\
             <PARAMETERS></PARAMETERS><EXTRA></EXTRA></CALL_INFO>",
        ] {
            assert!(ApiMessage::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn state_messages_follow_oneds_order_per_object() {
        let vm = StateMessage::new(ObjectKind::Vm, 7, "ACTIVE", "<VM><ID>7</ID></VM>")
            .with_lcm_state("RUNNING")
            .with_service_id("3");
        assert_eq!(
            vm.to_xml(),
            "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT>\
             <STATE>ACTIVE</STATE><LCM_STATE>RUNNING</LCM_STATE><RESOURCE_ID>7</RESOURCE_ID>\
             <SERVICE_ID>3</SERVICE_ID><REMOTE_HOST/><VM><ID>7</ID></VM></HOOK_MESSAGE>"
        );
        let keys: Vec<String> = vm.keys().iter().map(Key::to_string).collect();
        assert_eq!(
            keys,
            [
                "EVENT VM 7/ACTIVE/RUNNING ",
                "EVENT STATE VM/ACTIVE/RUNNING/7 ",
                "EVENT SERVICE 3 "
            ]
        );
        assert_eq!(StateMessage::parse(&vm.to_xml()).unwrap(), vm);
        let net = StateMessage::new(ObjectKind::Network, 2, "", "<VNET><ID>2</ID></VNET>");
        assert_eq!(
            net.frames()[1].key,
            "EVENT STATE NET///2 ",
            "UPDATE_FAILURE has no name"
        );
        assert_eq!(StateMessage::parse(&net.to_xml()).unwrap(), net);
        let host = StateMessage::new(ObjectKind::Host, 0, "INIT", "<HOST><ID>0</ID></HOST>")
            .with_remote_host("a&b");
        assert!(host
            .to_xml()
            .contains("<STATE>INIT</STATE><REMOTE_HOST>a&amp;b</REMOTE_HOST><RESOURCE_ID>"));
        assert_eq!(StateMessage::parse(&host.to_xml()).unwrap(), host);
    }

    #[test]
    fn malformed_state_messages_are_errors() {
        for bad in [
            "not xml",
            "<OTHER/>",
            "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE></HOOK_MESSAGE>",
            "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT><STATE>A</STATE>\
             <RESOURCE_ID>1</RESOURCE_ID></HOOK_MESSAGE>",
            "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT><STATE>A</STATE>\
             <RESOURCE_ID>x</RESOURCE_ID><VM/></HOOK_MESSAGE>",
            "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT><STATE>A</STATE>\
             <RESOURCE_ID>1</RESOURCE_ID><HOST/></HOOK_MESSAGE>",
            "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT><STATE>A</STATE>\
             <RESOURCE_ID>1</RESOURCE_ID><VM><ID>1</ID>",
        ] {
            assert!(StateMessage::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn retry_messages_roundtrip() {
        let retry = RetryMessage {
            arguments: encode_payload("ARGS"),
            hook_id: 4,
            remote_host: Some("node1".into()),
        };
        let frames = retry.frames();
        assert_eq!(frames.key, "RETRY");
        assert!(frames.payload.ends_with(' '));
        let parsed = RetryMessage::parse_payload(frames.payload.as_bytes()).unwrap();
        assert_eq!(parsed, retry);
        assert_eq!(parsed.decoded_arguments().as_deref(), Some("ARGS"));
        assert!(RetryMessage::parse_payload(b"!!! ").is_err());
    }

    #[test]
    fn payloads_are_plain_base64() {
        let payload = encode_payload("<HOOK_MESSAGE/>");
        assert_eq!(payload, "PEhPT0tfTUVTU0FHRS8+");
        assert_eq!(
            decode_payload(format!(" {payload}\n").as_bytes()).unwrap(),
            "<HOOK_MESSAGE/>"
        );
        assert!(matches!(
            decode_payload(b"%%%"),
            Err(MessageError::Base64(_))
        ));
        assert_eq!(decode_payload(b"//79"), Err(MessageError::NotUtf8));
    }

    #[test]
    fn doubles_print_like_cpp_streams() {
        for (value, text) in [
            (0.5, "0.5"),
            (1.0, "1"),
            (100.0, "100"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
        ] {
            assert_eq!(cpp_double(value), text, "{value}");
        }
    }

    #[test]
    fn state_names_follow_oned() {
        use crate::api::{ImageState, LcmState, VirtualNetworkState};
        assert_eq!(image_state_name(ImageState::UsedPers), "USED");
        assert_eq!(image_state_name(ImageState::LockedUsedPers), "LOCKED_USED");
        assert_eq!(image_state_name(ImageState::Ready), "READY");
        assert_eq!(network_state_name(VirtualNetworkState::UpdateFailure), "");
        assert_eq!(lcm_state_name(LcmState::Init), "LCM_INIT");
        assert_eq!(lcm_state_name(LcmState::UnknownState), "UNKNOWN");
    }
}
