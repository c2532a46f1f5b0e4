//! The protocol-free core of the server: the daemon state behind one lock, the log of
//! received calls, and running one call — authenticate the session, run the method's
//! handler, run the API hooks, let the drivers and the scheduler move on — whatever protocol
//! carried it. The protocol adapters ([`crate::xmlrpc`] today) decode a request, check what
//! their protocol checks (xmlrpc-c's parameter types), call [`Daemon::authenticate`] and
//! [`Daemon::run`], and encode the answer.

use std::borrow::Cow;
use std::sync::{Mutex, MutexGuard};

use opennebula::api::MethodInfo;
use opennebula::wire::Value;
use opennebula::xml::XmlWriter;
use opennebula::ErrorCode;

use crate::dispatch::Handler;
use crate::oned::{self, Caller, Failure, Oned, Params};

/// The server's state and its log of received calls, shared by every connection.
pub(crate) struct Core {
    oned: Mutex<Oned>,
    calls: Mutex<Vec<Cow<'static, str>>>,
}

/// How a document a call returns is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DocumentForm<'a> {
    /// As a plain XML document in a string value.
    Plain,
    /// Escaped as the text of an element (an XML-RPC `<string>`), after `prefix`, straight
    /// into the response: no plain copy is made and escaped afterwards.
    Escaped {
        /// What comes before the document in the response.
        prefix: &'a str,
    },
}

/// What a successful call returns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Payload {
    /// An id, a string, a plain document ...
    Value(Value),
    /// A document written in a [`DocumentForm::Escaped`]: the prefix, then the escaped
    /// document.
    Escaped(String),
}

/// A call oned refused: its error code, the message with the `[one.x.y]` prefix, and the
/// object it is about (-1 if none).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    pub(crate) object_id: i32,
}

impl Core {
    pub(crate) fn new(oned: Oned) -> Core {
        Core {
            oned: Mutex::new(oned),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The daemon, locked for one call (every call runs under this one lock: a concurrent
    /// client never sees half an update).
    pub(crate) fn daemon(&self) -> Daemon<'_> {
        Daemon {
            oned: lock(&self.oned),
        }
    }

    /// Notes a received call (`method` as sent, `system.*` and unknown names included).
    pub(crate) fn log_call(&self, method: &str) {
        let name = match crate::dispatch::method(method) {
            // The table's own `&'static str` for a known method: no allocation per call.
            Some((info, _)) => Cow::Borrowed(info.name),
            None => Cow::Owned(method.to_string()),
        };
        lock(&self.calls).push(name);
    }

    /// The names of the calls received so far, in arrival order.
    pub(crate) fn received_calls(&self) -> Vec<String> {
        lock(&self.calls)
            .iter()
            .map(|name| name.to_string())
            .collect()
    }
}

/// The daemon state, locked.
pub(crate) struct Daemon<'a> {
    oned: MutexGuard<'a, Oned>,
}

impl Daemon<'_> {
    /// Checks the session of a call to `method`, as oned does before reading the other
    /// parameters (`Request::execute` → `UserPool::authenticate`).
    pub(crate) fn authenticate(&mut self, method: &str, session: &str) -> Result<Caller, Refusal> {
        self.oned.authenticate(session).ok_or_else(|| Refusal {
            code: ErrorCode::Authentication,
            message: format!("[{method}] User couldn't be authenticated, aborting call."),
            object_id: -1,
        })
    }

    /// Runs `method` (with `handler`, see [`crate::dispatch::method`]) for `caller`, then the
    /// API hooks of the method and what the drivers and the scheduler do after a call.
    pub(crate) fn run(
        &mut self,
        caller: Caller,
        method: &'static MethodInfo,
        handler: Handler,
        params: &[Value],
        form: DocumentForm<'_>,
    ) -> Result<Payload, Refusal> {
        let oned = &mut *self.oned;
        oned.requests += 1;
        let caller = Caller {
            request: oned.requests,
            ..caller
        };
        let p = Params::new(params, Some(method));
        let result = match (handler, form) {
            (Handler::Info(kind), DocumentForm::Escaped { prefix }) => {
                // Room for a VM's document (10 KiB escaped) or a host's (23 KiB) without
                // growing the buffer on the way.
                let mut out = String::with_capacity(prefix.len() + 32 * 1024);
                out.push_str(prefix);
                let writer = XmlWriter::escaped(out);
                oned::verbs::info_written(oned, caller, kind, &p, writer).map(Payload::Escaped)
            }
            _ => handler.run(oned, caller, &p).map(Payload::Value),
        }
        .map_err(|f: Failure| Refusal {
            code: f.code,
            message: format!("[{}] {}", method.name, f.message),
            object_id: f.id,
        });
        if oned::hook::has_api_hooks(oned, method.name) {
            let document;
            // The hooks borrow the outcome: cloning it for them copied every document once
            // more.
            let outcome = match &result {
                Ok(Payload::Value(payload)) => Ok(payload),
                Ok(Payload::Escaped(text)) => {
                    let prefix = match form {
                        DocumentForm::Escaped { prefix } => prefix.len(),
                        DocumentForm::Plain => 0,
                    };
                    document = Value::String(unescape(&text[prefix..]));
                    Ok(&document)
                }
                Err(refusal) => Err((refusal.code.code(), refusal.message.as_str())),
            };
            oned::hook::api_call(oned, method.name, params, outcome);
        }
        after_call(oned);
        result
    }

    /// Runs the scheduler once, placing every PENDING VM there is room for (also with
    /// automatic scheduling off); returns how many were placed.
    pub(crate) fn schedule_now(&mut self) -> usize {
        oned::drivers::settle(&mut self.oned, true);
        oned::vm::scheduler::schedule(&mut self.oned, true)
    }
}

/// What happens between two calls: the drivers finish what they started, and (unless turned
/// off) the scheduler places pending VMs.
fn after_call(oned: &mut Oned) {
    oned::drivers::settle(oned, false);
    if oned.auto_schedule {
        oned::vm::scheduler::schedule(oned, false);
    }
}

/// The text [`opennebula::xml::escape_markup`] escaped: [`opennebula::xml::unescape`] reads
/// every entity it writes, so the fallback to the text as given never runs.
pub(crate) fn unescape(escaped: &str) -> String {
    opennebula::xml::unescape(escaped)
        .map_or_else(|_| escaped.to_string(), |text| text.into_owned())
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock would be a server bug; the state is still usable for
    // the remaining calls of a test, so poisoning is ignored rather than cascading panics.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn admin() -> Caller {
        Caller {
            uid: 0,
            gid: 0,
            request: 0,
        }
    }

    /// Runs `method` through the daemon as oneadmin.
    fn run(
        core: &Core,
        method: &str,
        params: &[Value],
        form: DocumentForm<'_>,
    ) -> Result<Payload, Refusal> {
        let (info, handler) = crate::dispatch::method(method).expect("a method of the table");
        core.daemon().run(admin(), info, handler, params, form)
    }

    #[test]
    fn hooks_of_document_calls_get_the_plain_document() {
        let mut oned = Oned::bootstrap("onepass");
        oned.set_clock(1_795_000_000);
        crate::seed::seed(&mut oned, 1, 2);
        let core = Core::new(oned);
        // oned refuses API hooks on `info` calls; one is set up behind its back to check
        // that the escaped document path would still give hooks the plain document.
        let hook =
            "NAME = h\nTYPE = api\nCOMMAND = /bin/echo\nARGUMENTS = $API\nCALL = one.vm.rename";
        let reply = run(
            &core,
            "one.hook.allocate",
            &[Value::from(hook)],
            DocumentForm::Plain,
        );
        let Ok(Payload::Value(Value::Int(id))) = reply else {
            panic!("{reply:?}")
        };
        core.daemon()
            .oned
            .get_mut(crate::oned::Kind::Hook, id)
            .unwrap()
            .template
            .set("CALL", "one.vm.info");
        let params = [Value::Int(0)];
        let reply = run(
            &core,
            "one.vm.info",
            &params,
            DocumentForm::Escaped { prefix: "head<" },
        );
        assert!(matches!(&reply, Ok(Payload::Escaped(d)) if d.starts_with("head<&lt;VM&gt;")));
        let reply = run(&core, "one.vm.info", &params, DocumentForm::Plain);
        let Ok(Payload::Value(Value::String(plain))) = reply else {
            panic!("{reply:?}")
        };
        let daemon = core.daemon();
        let arguments: Vec<String> = daemon.oned.hook_arguments();
        assert_eq!(arguments.len(), 2);
        assert_eq!(arguments[0], arguments[1]);
        let info = base64::engine::general_purpose::STANDARD
            .decode(&arguments[0])
            .unwrap();
        let info = String::from_utf8(info).unwrap();
        assert!(info.contains(&opennebula::xml::escape(&plain).into_owned()));
    }

    #[test]
    fn refusals_carry_the_method_and_the_object() {
        let core = Core::new(Oned::bootstrap("pw"));
        let refusal =
            run(&core, "one.vm.info", &[Value::Int(42)], DocumentForm::Plain).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::NoExists);
        assert_eq!(
            refusal.message,
            "[one.vm.info] Error getting virtual machine [42]."
        );
        assert_eq!(refusal.object_id, 42);
        let refusal = core
            .daemon()
            .authenticate("one.vm.info", "oneadmin:wrong")
            .unwrap_err();
        assert_eq!(refusal.code, ErrorCode::Authentication);
        assert!(core
            .daemon()
            .authenticate("one.vm.info", "oneadmin:pw")
            .is_ok());
    }
}
