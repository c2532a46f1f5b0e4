//! Hook executions, as oned's hook manager records them: API hooks fire after a call of
//! their `CALL`, state hooks when a host enters their `STATE`. Each execution is logged with
//! its arguments and result (`one.hook.info` shows a hook's log, `one.hooklog.info` filters
//! all logs, `one.hook.retry` runs one again).
//!
//! The test server runs no programs: the commands of oned's own examples and tests
//! (`/bin/echo`, `/bin/true`, `/bin/false`) behave as they would, any other command is
//! recorded as not run (code -1 and a message on STDERR).
//!
//! oned's side: src/hm/HookManager.cc, HookAPI.cc, HookStateHost.cc, HookLog.cc, and the
//! hook methods in src/rm/api/RMHookAPI.cc.

use base64::Engine as _;

use super::prelude::*;
use opennebula::api::HostState;
use opennebula::models;

/// One execution of a hook.
#[derive(Debug, Clone)]
pub(crate) struct Execution {
    hook_id: i32,
    execution_id: i32,
    timestamp: i64,
    arguments: String,
    command: String,
    stdout: String,
    stderr: String,
    code: i32,
    retry: bool,
}

/// Ruby's `Base64.encode64`, which the hook manager uses for the command output: lines of 60
/// characters, each ending with a newline.
fn encode64(data: &[u8]) -> String {
    let flat = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(flat.len() + flat.len() / 60 + 1);
    for chunk in flat.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// What running `command` with `arguments` gives: (stdout, stderr, exit code).
fn run(command: &str, arguments: &str) -> (String, String, i32) {
    match command.trim() {
        "/bin/echo" | "echo" => (format!("{arguments}\n"), String::new(), 0),
        "/bin/true" | "true" => (String::new(), String::new(), 0),
        "/bin/false" | "false" => (String::new(), String::new(), 1),
        other => (
            String::new(),
            format!("{other}: hook commands are not run by the test server\n"),
            -1,
        ),
    }
}

/// A call parameter as oned prints it in `CALL_INFO`.
fn param_text(value: &Value) -> String {
    match value {
        Value::Int(i) => i.to_string(),
        Value::I8(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Double(d) => d.to_string(),
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// The parameters oned hides in a `CALL_INFO` (1-based, the session being 1): passwords.
fn hidden(method: &str, position: usize) -> bool {
    position == 1
        || matches!(
            (method, position),
            ("one.user.allocate", 3) | ("one.user.passwd", 3) | ("one.user.login", 3)
        )
}

/// The `$API` argument of an API hook: the call's `CALL_INFO`, indented as oned writes it,
/// base64-encoded. Written by hand rather than from [`opennebula::models::CallInfo`]: the hook
/// gets these exact bytes (newlines and two-space indentation inside the base64), which the
/// models' compact writer does not produce.
fn call_info(method: &str, params: &[Value], result: Result<&Value, (i32, &str)>) -> String {
    let mut xml = String::from("<CALL_INFO>\n");
    xml.push_str(&format!(
        "  <RESULT>{}</RESULT>\n",
        u8::from(result.is_ok())
    ));
    xml.push_str("  <PARAMETERS>\n");
    let mut param = |position: usize, kind: &str, value: &str| {
        xml.push_str("    <PARAMETER>\n");
        xml.push_str(&format!("      <POSITION>{position}</POSITION>\n"));
        xml.push_str(&format!("      <TYPE>{kind}</TYPE>\n"));
        xml.push_str(&format!(
            "      <VALUE>{}</VALUE>\n",
            opennebula::xml::escape(value)
        ));
        xml.push_str("    </PARAMETER>\n");
    };
    // Position 1 is the session, which the server's dispatch does not see (always hidden).
    param(1, "IN", "****");
    for (i, value) in params.iter().enumerate() {
        let position = i + 2;
        let text = if hidden(method, position) {
            "****".to_string()
        } else {
            param_text(value)
        };
        param(position, "IN", &text);
    }
    match result {
        Ok(value) => {
            param(1, "OUT", "true");
            param(2, "OUT", &param_text(value));
            param(3, "OUT", "0");
        }
        Err((code, message)) => {
            param(1, "OUT", "false");
            param(2, "OUT", message);
            param(3, "OUT", &code.to_string());
        }
    }
    xml.push_str("  </PARAMETERS>\n  <EXTRA/>\n</CALL_INFO>");
    base64::engine::general_purpose::STANDARD.encode(xml)
}

fn hooks_of_type<'a>(oned: &'a Oned, wanted: &'a str) -> impl Iterator<Item = &'a Obj> + 'a {
    oned.pool(Kind::Hook)
        .values()
        .filter(move |h| matches!(&h.ext, Ext::Hook(t) if t == wanted))
}

/// Runs hook `hook_id` with its `ARGUMENTS` (`$API` / `$TEMPLATE` replaced by `payload`).
fn execute(oned: &mut Oned, hook_id: i32, payload: &str) {
    let Some(hook) = oned.get(Kind::Hook, hook_id) else {
        return;
    };
    let command = hook.template.get("COMMAND").unwrap_or_default().to_string();
    let arguments = hook
        .template
        .get("ARGUMENTS")
        .unwrap_or_default()
        .replace("$API", payload)
        .replace("$TEMPLATE", payload);
    record(oned, hook_id, command, arguments, false);
}

/// How many executions oned keeps per hook (HOOK_LOG_CONF/LOG_RETENTION of its default
/// configuration); older ones are dropped.
const LOG_RETENTION: usize = 20;

fn record(oned: &mut Oned, hook_id: i32, command: String, arguments: String, retry: bool) {
    let (stdout, stderr, code) = run(&command, &arguments);
    let execution_id = oned
        .hook_log
        .iter()
        .filter(|e| e.hook_id == hook_id)
        .map(|e| e.execution_id + 1)
        .max()
        .unwrap_or(0);
    let command = if arguments.is_empty() {
        command
    } else {
        format!("{command} {arguments}")
    };
    let timestamp = oned.now();
    oned.hook_log.push(Execution {
        hook_id,
        execution_id,
        timestamp,
        arguments,
        command,
        stdout: encode64(stdout.as_bytes()),
        stderr: encode64(stderr.as_bytes()),
        code,
        retry,
    });
    let kept = oned
        .hook_log
        .iter()
        .filter(|e| e.hook_id == hook_id)
        .count();
    if kept > LOG_RETENTION {
        if let Some(oldest) = oned.hook_log.iter().position(|e| e.hook_id == hook_id) {
            oned.hook_log.remove(oldest);
        }
    }
}

/// After a call: runs the API hooks whose `CALL` is `method`.
/// Whether any API hook fires after `method`.
pub(crate) fn has_api_hooks(oned: &Oned, method: &str) -> bool {
    hooks_of_type(oned, "api").any(|h| h.template.get("CALL") == Some(method))
}

pub(crate) fn api_call(
    oned: &mut Oned,
    method: &str,
    params: &[Value],
    result: Result<&Value, (i32, &str)>,
) {
    let hooks: Vec<i32> = hooks_of_type(oned, "api")
        .filter(|h| h.template.get("CALL") == Some(method))
        .map(|h| h.id)
        .collect();
    if hooks.is_empty() {
        return;
    }
    let payload = call_info(method, params, result);
    for id in hooks {
        execute(oned, id, &payload);
    }
}

/// A host entered `state`: runs the state hooks of hosts in that state, with the host's
/// document `xml` as their argument.
pub(crate) fn host_state(oned: &mut Oned, host_id: i32, state: HostState, xml: &str) {
    // oned's names of host states in hook templates (`Host::state_to_str`).
    let name = match state {
        HostState::Init => "INIT",
        HostState::Monitored => "MONITORED",
        HostState::Error => "ERROR",
        HostState::Disabled => "DISABLED",
        HostState::Offline => "OFFLINE",
        _ => return,
    };
    let hooks: Vec<i32> = hooks_of_type(oned, "state")
        .filter(|h| {
            h.template.get("RESOURCE") == Some("HOST") && h.template.get("STATE") == Some(name)
        })
        .map(|h| h.id)
        .collect();
    if hooks.is_empty() || oned.get(Kind::Host, host_id).is_none() {
        return;
    }
    let payload = base64::engine::general_purpose::STANDARD.encode(xml);
    for id in hooks {
        execute(oned, id, &payload);
    }
}

/// `one.hook.retry`: runs execution `execution_id` of `hook_id` again.
pub(crate) fn retry(oned: &mut Oned, hook_id: i32, execution_id: i32) -> Result<(), ()> {
    let Some(previous) = oned
        .hook_log
        .iter()
        .find(|e| e.hook_id == hook_id && e.execution_id == execution_id)
    else {
        return Err(());
    };
    let arguments = previous.arguments.clone();
    let command = oned
        .get(Kind::Hook, hook_id)
        .and_then(|h| h.template.get("COMMAND"))
        .unwrap_or_default()
        .to_string();
    record(oned, hook_id, command, arguments, true);
    Ok(())
}

fn model(e: &Execution) -> models::HookExecution {
    models::HookExecution {
        hook_id: i64::from(e.hook_id),
        execution_id: i64::from(e.execution_id),
        timestamp: e.timestamp,
        arguments: e.arguments.clone(),
        execution_result: models::HookExecutionResult {
            command: e.command.clone(),
            stdout: e.stdout.clone(),
            stderr: e.stderr.clone(),
            code: e.code.to_string(),
        },
        remote_host: None,
        retry: e.retry.then(|| "yes".to_string()),
    }
}

/// The log of one hook, oldest first (`HOOK/HOOKLOG`).
pub(crate) fn log_of(oned: &Oned, hook_id: i32) -> models::HookLog {
    models::HookLog {
        hook_execution_record: oned
            .hook_log
            .iter()
            .filter(|e| e.hook_id == hook_id)
            .map(model)
            .collect(),
    }
}

/// `one.hooklog.info`: executions from `min_ts` to `max_ts` (-1: no bound) of `hook_id`
/// (-1: all), with `rc` 1 successful only, -1 failed only, 0 all; newest first.
pub(crate) fn log_filtered(
    oned: &Oned,
    min_ts: i64,
    max_ts: i64,
    hook_id: i32,
    rc: i32,
) -> models::HookLog {
    let mut records: Vec<&Execution> = oned
        .hook_log
        .iter()
        .filter(|e| e.timestamp >= min_ts && (max_ts < 0 || e.timestamp <= max_ts))
        .filter(|e| hook_id < 0 || e.hook_id == hook_id)
        .filter(|e| match rc {
            1 => e.code == 0,
            -1 => e.code != 0,
            _ => true,
        })
        .collect();
    records.reverse();
    models::HookLog {
        hook_execution_record: records.into_iter().map(model).collect(),
    }
}

/// `one.hook.allocate`: an API hook's `CALL` must be a method oned has (info calls have no
/// hooks); a state hook's `ON` a state it knows (src/hm/HookAPI.cc, HookStateVM.cc,
/// HookStateHost.cc). A VM state hook is stored with the STATE / LCM_STATE pair of its `ON`.
pub(crate) fn allocate(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    super::auth::check_create(oned, caller, Kind::Hook)?;
    let (name, mut template) = super::naming::named_template(p.str(0))?;
    super::naming::check_name(oned, Kind::Hook, &name, caller.uid, ErrorCode::Internal, "")?;
    let hook_type = template.get("TYPE").unwrap_or("").to_string();
    if hook_type == "api" {
        let call = template.get("CALL").unwrap_or("");
        if !opennebula::api::METHODS.iter().any(|m| m.name == call) || call.ends_with(".info") {
            return Err(fail(
                ErrorCode::Internal,
                format!("API call does not exist or is not supported: {call}"),
            ));
        }
    } else if hook_type == "state" {
        if let Some(on) = template.get("ON") {
            if !matches!(
                on,
                "CREATE"
                    | "RUNNING"
                    | "SHUTDOWN"
                    | "STOP"
                    | "DONE"
                    | "UNKNOWN"
                    | "CUSTOM"
                    | "ERROR"
                    | "DISABLED"
                    | "MONITORED"
                    | "OFFLINE"
                    | "POWEROFF"
                    | "SUSPENDED"
                    | "UPDATE"
            ) {
                return Err(fail(
                    ErrorCode::Internal,
                    format!("Unkown state condition: {on}"),
                ));
            }
        }
    }
    template.remove("TYPE");
    template.set_default("REMOTE", "NO");
    if template.get("RESOURCE") == Some("VM") {
        let pair = match template.get("ON") {
            Some("RUNNING") => Some(("ACTIVE", "RUNNING")),
            Some("DONE") => Some(("DONE", "LCM_INIT")),
            Some("POWEROFF") => Some(("POWEROFF", "LCM_INIT")),
            Some("STOP") => Some(("STOPPED", "LCM_INIT")),
            Some("CREATE") => Some(("PENDING", "LCM_INIT")),
            _ => None,
        };
        if let Some((state, lcm)) = pair {
            template.remove("ON");
            template.set("STATE", state);
            template.set("LCM_STATE", lcm);
        }
    }
    let id = super::naming::insert_new(
        oned,
        caller,
        Kind::Hook,
        &name,
        template,
        Ext::Hook(hook_type),
    );
    Ok(Value::Int(id))
}

/// `one.hook.retry`.
pub(crate) fn retry_call(oned: &mut Oned, _caller: Caller, p: &Params<'_>) -> Handled {
    let id = p.int(0);
    oned.get(Kind::Hook, id)
        .ok_or_else(|| no_exists(Kind::Hook, id))?;
    retry(oned, id, p.int(1)).map_err(|()| {
        fail(
            ErrorCode::Internal,
            "Invalid HookLog body. Arguments not found.",
        )
    })?;
    Ok(Value::Int(id))
}

/// `one.hooklog.info`.
pub(crate) fn log_info(oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
    use opennebula::xml::ToXml;
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] not authorized to perform action on hook.",
                caller.uid
            ),
        ));
    }
    let log = log_filtered(
        oned,
        i64::from(p.int(0)),
        i64::from(p.int(1)),
        p.int(2),
        p.int(3),
    );
    Ok(Value::from(log.to_xml()))
}

/// The hook's document.
pub(crate) fn document(oned: &Oned, obj: &Obj, full: bool) -> Option<models::Hook> {
    let Ext::Hook(hook_type) = &obj.ext else {
        return None;
    };
    Some(models::Hook {
        id: i64::from(obj.id),
        name: obj.name.clone(),
        type_: hook_type.clone(),
        lock: super::xml_parts::lock_of(obj),
        template: obj.template.to_template(),
        hooklog: full.then(|| log_of(oned, obj.id)),
    })
}

/// The arguments of every hook execution, oldest first (for tests).
#[cfg(test)]
impl Oned {
    pub(crate) fn hook_arguments(&self) -> Vec<String> {
        self.hook_log.iter().map(|e| e.arguments.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{encode64, run};

    #[test]
    fn output_is_encoded_in_lines_of_sixty() {
        let text = "x".repeat(100);
        let encoded = encode64(text.as_bytes());
        let lines: Vec<&str> = encoded.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].len(), 60);
        assert!(encoded.ends_with('\n'));
        assert_eq!(encode64(b""), "");
    }

    #[test]
    fn the_log_keeps_the_last_executions_of_each_hook() {
        let mut oned = super::Oned::bootstrap("onepass");
        for _ in 0..25 {
            super::record(&mut oned, 7, "/bin/true".into(), String::new(), false);
        }
        super::record(&mut oned, 8, "/bin/true".into(), String::new(), false);
        let ids: Vec<i32> = oned
            .hook_log
            .iter()
            .filter(|e| e.hook_id == 7)
            .map(|e| e.execution_id)
            .collect();
        assert_eq!(ids, (5..25).collect::<Vec<_>>());
        assert_eq!(oned.hook_log.iter().filter(|e| e.hook_id == 8).count(), 1);
    }

    #[test]
    fn known_commands_behave_and_others_are_not_run() {
        assert_eq!(run("/bin/echo", "a b").0, "a b\n");
        assert_eq!(run("/bin/false", "").2, 1);
        assert_eq!(run("/bin/true", "").2, 0);
        let (_, stderr, code) = run("/usr/bin/rm", "-rf /");
        assert_eq!(code, -1);
        assert!(stderr.contains("not run"));
    }
}
