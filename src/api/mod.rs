//! The typed OpenNebula API: one handle per object with one method per XML-RPC call, the
//! constants as enums, and the helpers PyONE and goca users rely on.
//!
//! Everything here is generated at build time from our tables in `schemas/api/`
//! (`methods.api`, `constants.api`, `documents.api`) by `src/codegen/api.rs`, except the
//! hand-written parameter types, [`RawDocument`], [`acl`] and [`helpers`].
//!
//! # Namespaces
//!
//! Every `one.<object>.<verb>` method is reached as `client.<object>().<verb>(..)`, on the
//! async [`Client`](crate::Client) and, with the same names, on the
//! [`blocking::Client`](crate::blocking::Client):
//!
//! ```no_run
//! use opennebula::api::{PoolFilter, VmAction, VmStateFilter};
//! # async fn run(one: opennebula::Client) -> opennebula::Result<()> {
//! let vm = one.vm().info(42).await?;                          // one.vm.info(42, false)
//! let pool = one.vmpool().info(PoolFilter::All, -1, -1, VmStateFilter::NotDone).await?;
//! let same = one.vmpool().info_all().await?;                  // the short form of the above
//! one.vm().action(VmAction::Terminate, 42).await?;            // one.vm.action("terminate", 42)
//! let id = one.template().instantiate(0, "my_VM", false, "MEMORY=512", false).await?;
//! let id = one.template().instantiate_simple(0, "my_VM").await?;
//! # Ok(()) }
//! ```
//!
//! Naming: the Rust name splits OpenNebula's run-together verbs (`infoextended` →
//! `info_extended`, `attachnic` → `attach_nic`). A method with optional trailing parameters has
//! a short form taking only the required ones (the server defaults fill the rest) and a
//! `<name>_full` form taking all of them; a few have further short forms (`info_decrypt`,
//! `info_all`, `info_mine`...). Every wrapper's documentation names the OpenNebula method and
//! its parameters.
//!
//! The verbs most objects share (`info`, `allocate`, `update`, `rename`, `chmod`, `chown`,
//! `lock`, `unlock`, `delete`, pool `info`) are written once, in the generator, and rendered
//! the same way for every object from its table line: same names, same parameter types
//! ([`UpdateType`], [`Permissions`], [`LockLevel`], [`PoolFilter`]) and the same short forms.
//!
//! Methods returning an ID return `i32`; methods returning a document return its model type
//! (e.g. `Vm` for `one.vm.info`), or a [`RawDocument`] where no model exists.
//!
//! # Requests without a network
//!
//! [`request`] has one builder per method returning the [`Request`] the wrapper sends (method
//! name, parameters, idempotency, the method's table row and the return type: see
//! [`crate::rpc`]), and [`METHODS`] / [`method_info`] describe every method at runtime
//! (parameters, wire types, defaults, idempotency).
//!
//! # Constants
//!
//! Every state and type constant of OpenNebula is an enum with `Unknown(i64)` for numbers a
//! newer release may add (`VmState`, `LcmState`, `HostState`, `ImageState`...), converting
//! from the models' raw integers (`VmState::from(vm.state)`, or `vm.state()` on the model),
//! parsing OpenNebula's names (`"RUNNING".parse::<LcmState>()`) and displaying them.
//!
//! # A new OpenNebula release
//!
//! Add or change lines in `schemas/api/methods.api` (one per method) and
//! `schemas/api/constants.api`; the wrappers, request builders, [`METHODS`], the blocking
//! twins and the enums follow at the next build, and `cargo test --features conformance`
//! compares the tables with the reference facts and recorded traffic.

mod params;
mod raw;

pub mod acl;
pub mod helpers;
#[cfg(opennebula_models)]
mod model_ext;

pub use params::{
    IntArg, PermissionSet, Permissions, PermissionsOutOfRange, PoolFilter, VmStateFilter,
};
pub use raw::{RawDocument, RawElement};

use crate::wire::Value;

mod constants {
    //! Generated from `schemas/api/constants.api`.
    include!(concat!(env!("OUT_DIR"), "/api_constants.rs"));
}
pub use constants::*;

pub mod request {
    //! Sans-IO request builders: one function per OpenNebula method, in a module per object,
    //! taking every parameter and returning the [`Request`](super::Request) the typed wrapper
    //! sends. Useful to inspect, log or batch calls (`system.multicall`) and in tests.
    // Generated code: one push per parameter reads like the table.
    #![allow(clippy::vec_init_then_push, clippy::too_many_arguments)]
    include!(concat!(env!("OUT_DIR"), "/api_requests.rs"));
}

mod handles {
    //! The async namespace handles (generated).
    // Signatures follow OpenNebula's (one.zone.replicate takes nine parameters).
    #![allow(clippy::too_many_arguments)]
    #[allow(unused_imports)]
    use super::*;
    include!(concat!(env!("OUT_DIR"), "/api_handles.rs"));
}
pub use handles::*;

#[cfg(feature = "blocking")]
pub mod blocking {
    //! The blocking namespace handles: the same methods as the async ones, on
    //! [`crate::blocking::Client`].
    #![allow(clippy::too_many_arguments)]
    #[allow(unused_imports)]
    use super::*;
    include!(concat!(env!("OUT_DIR"), "/api_blocking.rs"));
}

mod info {
    use super::*;
    include!(concat!(env!("OUT_DIR"), "/api_info.rs"));
}
pub use info::{METHODS, TABLE_ORDER};

pub use crate::rpc::{
    GrpcMethod, GrpcReply, MethodInfo, ParamInfo, ProtoField, ProtoType, Request, ReturnKind,
    Returns, WireType,
};

impl<R> Request<R> {
    /// The request for `method` (`"vm.info"` or `"one.vm.info"`) with `params` in wire order,
    /// as [`Client::call`](crate::Client::call) sends it: described by its row of the method
    /// table when the table knows it (so it is retried and carried by every transport like
    /// the typed builders' requests; its parameters are sent as given, see
    /// [`Request::untyped`]), else sent as given and retried only if its name says it reads
    /// ([`is_idempotent`]).
    ///
    /// ```
    /// use opennebula::api::{request, Request};
    /// let by_name: Request = Request::by_name("vm.info", vec![7.into(), false.into()]);
    /// assert_eq!(by_name, request::vm::info(7, false).returning());
    /// assert!(Request::<()>::by_name("one.newobject.info", vec![]).idempotent());
    /// ```
    pub fn by_name(method: &str, params: Vec<Value>) -> Self {
        match method_info(method) {
            Some(info) => Request::untyped(info, params),
            None => {
                let name = if method.starts_with("one.") {
                    method.to_owned()
                } else {
                    format!("one.{method}")
                };
                let idempotent = reads_by_name(&name);
                Request::unlisted(name, params, idempotent)
            }
        }
    }
}

/// Whether an OpenNebula method only reads (so sending it twice is harmless).
///
/// The method table (`schemas/api/methods.api`, see [`method_info`]) decides for every known
/// method. A name it does not know (a newer OpenNebula's) is judged by its last part, the rule
/// the table itself follows: `info`, `infoextended`, `infoset`, `monitoring`, `accounting`,
/// `showback`, `raftstatus`, `version`, `config` and `sqlquery` read; everything else
/// (`calculateshowback`, `system.sql` ...) may write.
///
/// ```
/// use opennebula::api::is_idempotent;
/// assert!(is_idempotent("one.vm.info"));
/// assert!(!is_idempotent("one.vm.action"));
/// assert!(is_idempotent("one.newobject.info"));
/// ```
pub fn is_idempotent(method: &str) -> bool {
    match method_info(method) {
        Some(info) => info.idempotent,
        None => reads_by_name(method),
    }
}

fn reads_by_name(method: &str) -> bool {
    let last = method.rsplit('.').next().unwrap_or(method);
    matches!(
        last,
        "info"
            | "infoextended"
            | "infoset"
            | "monitoring"
            | "accounting"
            | "showback"
            | "raftstatus"
            | "version"
            | "config"
            | "sqlquery"
    )
}

/// The description of `method` (`"one.vm.info"` or `"vm.info"`), if the typed API knows it.
///
/// ```
/// let info = opennebula::api::method_info("vm.info").unwrap();
/// assert!(info.idempotent);
/// assert_eq!(info.params.len(), 2);
/// assert!(!opennebula::api::method_info("one.vm.action").unwrap().idempotent);
/// ```
pub fn method_info(method: &str) -> Option<&'static MethodInfo> {
    let owned;
    let name = if method.starts_with("one.") {
        method
    } else {
        owned = format!("one.{method}");
        &owned
    };
    METHODS
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &METHODS[i])
}

/// The method whose gRPC rpc has the HTTP/2 path `path` (`/one.vm.VirtualMachineService/Info`),
/// for a gRPC server.
///
/// ```
/// let info = opennebula::api::method_by_path("/one.vm.VirtualMachineService/Info").unwrap();
/// assert_eq!(info.name, "one.vm.info");
/// assert!(opennebula::api::method_by_path("/one.vm.VirtualMachineService/Nope").is_none());
/// ```
pub fn method_by_path(path: &str) -> Option<&'static MethodInfo> {
    static BY_PATH: std::sync::OnceLock<std::collections::HashMap<&'static str, usize>> =
        std::sync::OnceLock::new();
    let index = BY_PATH.get_or_init(|| {
        METHODS
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.grpc.map(|g| (g.path, i)))
            .collect()
    });
    index.get(path).map(|&i| &METHODS[i])
}

/// A constant's name or number could not be parsed (see the `FromStr` impls of the enums).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is neither a {kind} name nor a number")]
pub struct UnknownConstant {
    /// The enum.
    pub kind: &'static str,
    /// The text given.
    pub text: String,
}

/// An enum's raw number as a wire int (numbers outside `i32` go as `i8`, which oned refuses
/// with a clear fault rather than silently reading a truncated value).
pub(crate) fn wire_int(code: i64) -> Value {
    match i32::try_from(code) {
        Ok(i) => Value::Int(i),
        Err(_) => Value::I8(code),
    }
}

/// The document type [`Client::call_any_document`](crate::Client::call_any_document) decodes
/// into: the models' `Document` enum once the models are generated, else [`RawDocument`].
#[cfg(opennebula_models)]
pub type AnyDocument = crate::models::Document;
/// The document type [`Client::call_any_document`](crate::Client::call_any_document) decodes
/// into: the models' `Document` enum once the models are generated, else [`RawDocument`].
#[cfg(not(opennebula_models))]
pub type AnyDocument = RawDocument;

/// Decodes a document payload by its root element.
fn any_document(payload: crate::Value) -> crate::Result<AnyDocument> {
    #[allow(unused_imports)]
    use crate::xml::FromXml as _;
    match payload {
        crate::Value::String(xml) => AnyDocument::from_xml_bytes(xml.as_bytes())
            .map_err(|e| crate::Error::from_xml(crate::error::DecodeStage::Document, e)),
        other => Err(crate::Error::decode(
            crate::error::DecodeStage::Value,
            format!(
                "expected an XML document in a string, found XML-RPC {}",
                other.type_name()
            ),
        )),
    }
}

impl crate::Client {
    /// Like [`call`](crate::Client::call) for any method returning an XML document, decoding
    /// it by its root element into [`AnyDocument`].
    pub async fn call_any_document(
        &self,
        method: &str,
        params: impl crate::wire::IntoParams,
    ) -> crate::Result<AnyDocument> {
        any_document(self.call(method, params).await?)
    }
}

#[cfg(feature = "blocking")]
impl crate::blocking::Client {
    /// See [`crate::Client::call_any_document`].
    pub fn call_any_document(
        &self,
        method: &str,
        params: impl crate::wire::IntoParams,
    ) -> crate::Result<AnyDocument> {
        any_document(self.call(method, params)?)
    }
}

#[cfg(test)]
fn check_request<R>(request: Request<R>) {
    let info = method_info(request.method())
        .unwrap_or_else(|| panic!("{} has no MethodInfo", request.method()));
    assert_eq!(request.info(), Some(info), "{}", request.method());
    assert_eq!(
        request.idempotent(),
        info.idempotent,
        "{}",
        request.method()
    );
    assert_eq!(
        request.params().len(),
        info.params.len(),
        "{}: the builder sends {} parameters, the table says {}",
        request.method(),
        request.params().len(),
        info.params.len()
    );
    for (value, param) in request.params().iter().zip(info.params) {
        assert!(
            param.wire.matches(value),
            "{}: {} is sent as {}, the table says {}",
            request.method(),
            param.name,
            value.type_name(),
            param.wire.as_str()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_optional_parameter_has_its_wire_default() {
        for method in METHODS {
            for param in method.params {
                assert_eq!(
                    param.default.is_some(),
                    param.default_value.is_some(),
                    "{}",
                    method.name
                );
                if let Some(value) = &param.default_value {
                    assert!(param.wire.matches(value), "{} {}", method.name, param.name);
                }
            }
        }
        let deploy = method_info("vm.deploy").unwrap();
        let defaults: Vec<_> = deploy
            .params
            .iter()
            .map(|p| p.default_value.clone())
            .collect();
        assert_eq!(
            defaults,
            [
                None,
                None,
                Some(Value::Bool(false)),
                Some(Value::Int(-1)),
                Some(Value::String(String::new()))
            ]
        );
        assert_eq!(
            method_info("vm.update").unwrap().params[2].default_value,
            Some(Value::Int(0)),
            "UpdateType::Replace"
        );
    }

    #[test]
    fn the_table_order_lists_every_method_once() {
        assert_eq!(TABLE_ORDER.len(), METHODS.len());
        let mut sorted = TABLE_ORDER.to_vec();
        sorted.sort_unstable();
        let names: Vec<_> = METHODS.iter().map(|m| m.name).collect();
        assert_eq!(sorted, names);
        assert_eq!(
            &TABLE_ORDER[..4],
            [
                "one.acl.addrule",
                "one.acl.delrule",
                "one.acl.info",
                "one.host.allocate"
            ]
        );
    }

    #[test]
    fn the_method_table_is_sorted_and_complete() {
        assert_eq!(METHODS.len(), 307);
        assert!(METHODS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(method_info("one.vm.info"), method_info("vm.info"));
        assert!(method_info("one.vm.nope").is_none());
    }

    #[test]
    fn only_read_methods_are_idempotent() {
        for m in [
            "one.vm.info",
            "one.vmpool.infoextended",
            "one.zone.raftstatus",
            "one.system.version",
            "one.vmpool.showback",
        ] {
            assert!(is_idempotent(m), "{m}");
        }
        for m in [
            "one.vm.allocate",
            "one.vm.action",
            "one.template.instantiate",
            "one.vmpool.calculateshowback",
            "one.system.sql",
            "one.image.clone",
        ] {
            assert!(!is_idempotent(m), "{m}");
        }
    }

    #[test]
    fn the_name_rule_agrees_with_the_method_table() {
        for method in METHODS {
            assert_eq!(
                reads_by_name(method.name),
                method.idempotent,
                "{}",
                method.name
            );
        }
        assert!(reads_by_name("one.newobject.info"));
        assert!(!reads_by_name("one.newobject.frobnicate"));
    }

    #[test]
    fn enums_convert_both_ways_and_display_opennebula_names() {
        assert_eq!(VmState::from(3i64), VmState::Active);
        assert_eq!(VmState::from(7i64), VmState::Unknown(7));
        assert_eq!(VmState::Unknown(7).to_string(), "7");
        assert_eq!(LcmState::Running.to_string(), "RUNNING");
        assert_eq!(LcmState::Init.to_string(), "LCM_INIT");
        assert_eq!("running".parse::<LcmState>(), Ok(LcmState::Running));
        assert_eq!("16".parse::<LcmState>(), Ok(LcmState::UnknownState));
        assert!("bogus".parse::<LcmState>().is_err());
        assert_eq!(HostState::Monitored.code(), 2);
        assert_eq!(MarketPlaceAppState::from(1), MarketPlaceAppState::Ready);
        assert_eq!(HookType::Api.to_string(), "api");
        assert_eq!("IP4".parse::<AddressRangeType>(), Ok(AddressRangeType::Ip4));
        assert_eq!(HistoryAction::from(1), HistoryAction::Migrate);
        for state in VmState::ALL {
            assert_eq!(VmState::from(state.code()), *state);
            assert_eq!(state.to_string().parse::<VmState>(), Ok(*state));
        }
        assert_eq!(VmAction::TerminateHard.to_string(), "terminate-hard");
        assert_eq!(VmAction::from("poweroff"), VmAction::Poweroff);
        assert_eq!(
            VmAction::from("frobnicate"),
            VmAction::Other("frobnicate".into())
        );
        assert_eq!(VmAction::ALL.len(), 15);
    }
}

pub mod documents {
    //! The type each document root decodes into, by model name (`documents::Vm` is the type
    //! `one.vm.info` returns): the generated model, or [`RawDocument`](super::RawDocument)
    //! where none exists. Lets code name those types without depending on which is which.
    include!(concat!(env!("OUT_DIR"), "/api_documents.rs"));
}
