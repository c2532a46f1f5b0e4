//! The in-memory `oned`: pools of objects, users and sessions, ACL rules, and the handlers of
//! the `one.*` methods.
//!
//! Every call runs under one lock (see [`super::Shared`]), so handlers are plain functions over
//! `&mut Oned`: simple, and a concurrent client never sees half an update.
//!
//! [`Oned::call`] numbers each call (oned's request ids, which locks and history records
//! note) and runs the API hooks after it. The handlers live in `objects` (what every type
//! shares, and most types' own methods), `vm` (VMs, the scheduler, networks' leases,
//! virtual routers), `acl` and `hooks`; `docs` writes the XML documents from the generated
//! models and `kinds` names the object types.

mod acl;
mod docs;
mod hooks;
mod kinds;
mod objects;
mod vm;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use super::tmpl::Tmpl;
use opennebula::wire::Value;

pub(crate) use kinds::Kind;
use objects::{Ext, Obj};

/// The result of a handler.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// `[true, payload, 0]`
    Ok(Value),
    /// `[false, message, code, object id, -1]`
    Err { code: i32, message: String, id: i32 },
    /// A bare value (the `system.*` introspection methods).
    Raw(Value),
    /// An xmlrpc-c `<fault>`.
    Fault(i32, String),
    /// `[true, document, 0]` of an `info` call run with [`Oned::call_writing_documents`]:
    /// the prefix it was given, then the document escaped as `<string>` text.
    Document(String),
}

impl Reply {
    pub(crate) fn error(code: i32, message: String, id: i32) -> Reply {
        Reply::Err { code, message, id }
    }
}

pub(crate) const AUTHENTICATION: i32 = 0x100;
pub(crate) const AUTHORIZATION: i32 = 0x200;
pub(crate) const NO_EXISTS: i32 = 0x400;
pub(crate) const ACTION: i32 = 0x800;
pub(crate) const XML_RPC_API: i32 = 0x1000;
pub(crate) const INTERNAL: i32 = 0x2000;
pub(crate) const ALLOCATE: i32 = 0x4000;
pub(crate) const REPLICATION: i32 = 0x10000;

/// A handler failure: code, message (without the `[method]` prefix) and object id.
#[derive(Debug)]
pub(crate) struct Failure {
    code: i32,
    message: String,
    id: i32,
}

pub(crate) type Handled = Result<Value, Failure>;

pub(crate) fn fail(code: i32, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
        id: -1,
    }
}

pub(crate) fn fail_id(code: i32, message: impl Into<String>, id: i32) -> Failure {
    Failure {
        code,
        message: message.into(),
        id,
    }
}

/// The authenticated caller of a method.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    pub(crate) uid: i32,
    pub(crate) gid: i32,
    /// The number oned gives the request being run (see [`Oned::call`]); history records
    /// and locks note it. 0 until the call is numbered.
    pub(crate) request: i64,
}

/// A login token.
#[derive(Debug, Clone)]
struct Token {
    token: String,
    expires: i64,
    egid: i32,
}

/// The whole daemon state.
pub(crate) struct Oned {
    pools: BTreeMap<Kind, BTreeMap<i32, Obj>>,
    next_ids: BTreeMap<Kind, i32>,
    acls: Vec<acl::Rule>,
    next_acl: i32,
    tokens: BTreeMap<i32, Vec<Token>>,
    token_counter: u64,
    /// Whether pending VMs are deployed after every call.
    pub(crate) auto_schedule: bool,
    /// A fixed clock for tests (`None`: the system clock).
    clock: Option<i64>,
    /// Quota limits of users and groups, as `VM=[...]` / `DATASTORE=[...]` vectors.
    pub(crate) quotas: BTreeMap<(Kind, i32), Tmpl>,
    /// Default quotas, under `userquota` / `groupquota`.
    pub(crate) default_quotas: BTreeMap<String, Tmpl>,
    /// Every hook execution, in order.
    hook_log: Vec<hooks::Execution>,
    /// How many calls were made: oned's request ids, which locks and history records note.
    pub(crate) requests: i64,
}

pub(crate) fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `epoch` as C's `ctime` writes it in UTC (`Tue Nov 24 09:32:23 2026`, the day padded with
/// a space): how oned dates the ERROR messages it leaves in templates.
pub(crate) fn ctime(epoch: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {day:>2} {:02}:{:02}:{:02} {year}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

pub(crate) fn sha256_hex(text: &str) -> String {
    // Every call authenticates through this: a table lookup per nibble, not a `format!`
    // (an allocation) per byte.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut out = String::with_capacity(2 * digest.as_ref().len());
    for b in digest.as_ref() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// What a method returned: a value, or a document written by an escaped writer.
enum Done {
    Value(Value),
    Document(String),
}

/// The object kind of a `one.<object>.info` method, which [`objects::info_written`] serves
/// (as [`Oned::dispatch`] would route it).
fn info_kind(method: &str) -> Option<Kind> {
    let object = method.strip_prefix("one.")?.strip_suffix(".info")?;
    if matches!(object, "system" | "acl") || object.contains('.') {
        return None;
    }
    Kind::from_prefix(object)
}

/// The text [`opennebula::xml::escape_markup`] escaped: [`opennebula::xml::unescape`], which reads
/// every entity `escape_markup` writes. Its output has no stray `&`, so the fallback to the
/// text as given never runs.
pub(crate) fn unescape_markup(escaped: &str) -> String {
    opennebula::xml::unescape(escaped)
        .map_or_else(|_| escaped.to_string(), |text| text.into_owned())
}

/// Reads a parameter the signature check has already typed.
pub(crate) struct Params<'a>(pub(crate) &'a [Value]);

impl Params<'_> {
    pub(crate) fn int(&self, index: usize) -> i32 {
        match self.0.get(index) {
            Some(Value::Int(i)) => *i,
            _ => -1,
        }
    }
    pub(crate) fn int_or(&self, index: usize, default: i32) -> i32 {
        match self.0.get(index) {
            Some(Value::Int(i)) => *i,
            _ => default,
        }
    }
    pub(crate) fn str(&self, index: usize) -> &str {
        match self.0.get(index) {
            Some(Value::String(s)) => s,
            _ => "",
        }
    }
    pub(crate) fn bool_or(&self, index: usize, default: bool) -> bool {
        match self.0.get(index) {
            Some(Value::Bool(b)) => *b,
            _ => default,
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl Oned {
    /// The state of a freshly bootstrapped oned.
    pub(crate) fn bootstrap(admin_password: &str) -> Oned {
        let mut oned = Oned {
            pools: BTreeMap::new(),
            next_ids: BTreeMap::new(),
            acls: Vec::new(),
            next_acl: 0,
            tokens: BTreeMap::new(),
            token_counter: 0,
            auto_schedule: true,
            clock: None,
            quotas: BTreeMap::new(),
            default_quotas: BTreeMap::new(),
            hook_log: Vec::new(),
            requests: 0,
        };
        objects::bootstrap(&mut oned, admin_password);
        oned
    }

    /// Stops the clock at `now` (tests that compare documents written at different times).
    #[cfg(test)]
    pub(crate) fn set_clock(&mut self, now: i64) {
        self.clock = Some(now);
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.unwrap_or_else(now_epoch)
    }

    pub(crate) fn pool(&self, kind: Kind) -> &BTreeMap<i32, Obj> {
        static EMPTY: BTreeMap<i32, Obj> = BTreeMap::new();
        self.pools.get(&kind).unwrap_or(&EMPTY)
    }

    pub(crate) fn pool_mut(&mut self, kind: Kind) -> &mut BTreeMap<i32, Obj> {
        self.pools.entry(kind).or_default()
    }

    pub(crate) fn get(&self, kind: Kind, id: i32) -> Option<&Obj> {
        self.pool(kind).get(&id)
    }

    pub(crate) fn get_mut(&mut self, kind: Kind, id: i32) -> Option<&mut Obj> {
        self.pool_mut(kind).get_mut(&id)
    }

    /// Takes the next id of `kind`.
    pub(crate) fn take_id(&mut self, kind: Kind) -> i32 {
        let next = self.next_ids.entry(kind).or_insert(kind.first_id());
        let id = *next;
        *next += 1;
        id
    }

    pub(crate) fn insert(&mut self, obj: Obj) -> i32 {
        let id = obj.id;
        self.pool_mut(obj.kind).insert(id, obj);
        id
    }

    /// The name of user `uid` (empty if gone).
    pub(crate) fn uname(&self, uid: i32) -> String {
        self.get(Kind::User, uid)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    }

    pub(crate) fn gname(&self, gid: i32) -> String {
        self.get(Kind::Group, gid)
            .map(|g| g.name.clone())
            .unwrap_or_default()
    }

    /// Creates a regular user (builder `user(...)`), in group `users`.
    pub(crate) fn add_user(&mut self, name: &str, password: &str) -> Result<i32, String> {
        objects::create_user(self, name, password, "core", &[]).map_err(|f| f.message)
    }

    /// Checks a `user:password` (or `user:token`) session.
    pub(crate) fn authenticate(&mut self, session: &str) -> Option<Caller> {
        let (name, secret) = session.split_once(':')?;
        let now = self.now();
        let user = self
            .pool(Kind::User)
            .values()
            .find(|u| u.name == name)?
            .clone();
        let Ext::User(data) = &user.ext else {
            return None;
        };
        if !data.enabled {
            return None;
        }
        if data.password == sha256_hex(secret) {
            return Some(Caller {
                uid: user.id,
                gid: user.gid,
                request: 0,
            });
        }
        let tokens = self.tokens.get(&user.id)?;
        let token = tokens
            .iter()
            .find(|t| t.token == secret && (t.expires < 0 || t.expires > now))?;
        Some(Caller {
            uid: user.id,
            gid: if token.egid >= 0 {
                token.egid
            } else {
                user.gid
            },
            request: 0,
        })
    }

    /// Whether `uid` belongs to the oneadmin group (or is oneadmin).
    pub(crate) fn is_admin(&self, uid: i32) -> bool {
        if uid == 0 {
            return true;
        }
        match self.get(Kind::User, uid).map(|u| &u.ext) {
            Some(Ext::User(data)) => data.groups.contains(&0),
            _ => false,
        }
    }

    pub(crate) fn user_groups(&self, uid: i32) -> BTreeSet<i32> {
        match self.get(Kind::User, uid).map(|u| &u.ext) {
            Some(Ext::User(data)) => data.groups.clone(),
            _ => BTreeSet::new(),
        }
    }

    /// Runs one method (already authenticated and type-checked).
    pub(crate) fn call(&mut self, caller: Caller, method: &str, params: &[Value]) -> Reply {
        self.run(caller, method, params, None)
    }

    /// [`call`](Self::call), except that the document of an `info` call is written escaped
    /// (as the text of an XML-RPC `<string>`) after `prefix`, and returned as
    /// [`Reply::Document`]: a response is written without building and escaping the
    /// document separately, which was a large share of a document call's cost.
    pub(crate) fn call_writing_documents(
        &mut self,
        caller: Caller,
        method: &str,
        params: &[Value],
        prefix: &str,
    ) -> Reply {
        self.run(caller, method, params, Some(prefix))
    }

    fn run(
        &mut self,
        caller: Caller,
        method: &str,
        params: &[Value],
        prefix: Option<&str>,
    ) -> Reply {
        self.requests += 1;
        let caller = Caller {
            request: self.requests,
            ..caller
        };
        let p = Params(params);
        let result = match prefix.and_then(|prefix| Some((prefix, info_kind(method)?))) {
            Some((prefix, kind)) => {
                // Room for a VM's document (10 KiB escaped) or a host's (23 KiB) without
                // growing the buffer on the way.
                let mut out = String::with_capacity(prefix.len() + 32 * 1024);
                out.push_str(prefix);
                let writer = opennebula::xml::XmlWriter::escaped(out);
                objects::info_written(self, caller, kind, &p, writer).map(Done::Document)
            }
            None => self.dispatch(caller, method, &p).map(Done::Value),
        }
        .map_err(|f| (f.code, format!("[{method}] {}", f.message), f.id));
        if hooks::has_api_hooks(self, method) {
            let document;
            // The hooks borrow the outcome: cloning it for them copied every document once
            // more.
            let outcome = match &result {
                Ok(Done::Value(payload)) => Ok(payload),
                Ok(Done::Document(text)) => {
                    let escaped = &text[prefix.map_or(0, str::len)..];
                    document = Value::String(unescape_markup(escaped));
                    Ok(&document)
                }
                Err((code, message, _)) => Err((*code, message.as_str())),
            };
            hooks::api_call(self, method, params, outcome);
        }
        match result {
            Ok(Done::Value(payload)) => Reply::Ok(payload),
            Ok(Done::Document(text)) => Reply::Document(text),
            Err((code, message, id)) => Reply::Err { code, message, id },
        }
    }

    fn dispatch(&mut self, caller: Caller, method: &str, p: &Params<'_>) -> Handled {
        let rest = method.strip_prefix("one.").unwrap_or(method);
        let (object, action) = rest.split_once('.').unwrap_or((rest, ""));
        match (object, action) {
            ("system", "version") => return Ok(Value::from("7.5.80")),
            ("system", "config") => return Ok(Value::from(docs::config())),
            ("acl", _) => return acl::handle(self, caller, action, p),
            ("vm", _) => {
                if let Some(result) = vm::handle(self, caller, action, p) {
                    return result;
                }
            }
            _ => {}
        }
        if let Some(kind) = object.strip_suffix("pool").and_then(Kind::from_prefix) {
            if let Some(result) = objects::handle_pool(self, caller, kind, action, p) {
                return result;
            }
        }
        if let Some(kind) = Kind::from_prefix(object) {
            if let Some(result) = objects::handle(self, caller, kind, action, p) {
                return result;
            }
        }
        if let Some(result) = objects::handle_other(self, caller, object, action, p) {
            return result;
        }
        // A method of oned's API this server does not model: oned answers an unsupported
        // call with an ACTION failure, never a success.
        Err(fail(
            ACTION,
            format!("{method} is not supported by the test server"),
        ))
    }

    /// The built-in scheduler: deploys pending VMs on hosts with room. Returns how many.
    pub(crate) fn schedule(&mut self) -> usize {
        objects::monitor_hosts(self, false);
        if !self.auto_schedule {
            return 0;
        }
        vm::schedule(self, false)
    }

    /// Runs the scheduler even with automatic scheduling off.
    pub(crate) fn schedule_now(&mut self) -> usize {
        objects::monitor_hosts(self, true);
        vm::schedule(self, true)
    }

    pub(crate) fn new_token(&mut self, uid: i32, expires: i64, egid: i32) -> String {
        self.token_counter += 1;
        let token = sha256_hex(&format!(
            "{uid}:{}:{}:{:?}",
            self.token_counter,
            now_epoch(),
            std::time::Instant::now()
        ));
        self.tokens.entry(uid).or_default().push(Token {
            token: token.clone(),
            expires,
            egid,
        });
        token
    }

    /// The live login tokens of `uid`: (token, expiration, egid), ordered by token.
    pub(crate) fn login_tokens(&self, uid: i32) -> Vec<(String, i64, i32)> {
        let now = self.now();
        let mut tokens: Vec<(String, i64, i32)> = self
            .tokens
            .get(&uid)
            .map(|list| {
                list.iter()
                    .filter(|t| t.expires < 0 || t.expires > now)
                    .map(|t| (t.token.clone(), t.expires, t.egid))
                    .collect()
            })
            .unwrap_or_default();
        tokens.sort();
        tokens
    }

    /// Merges quota limits (`VM=[...]`, `DATASTORE=[ID=..., ...]` ...) into `current`.
    /// Each entry given replaces the limits of the entry with the same ID (or is added).
    pub(crate) fn merge_quotas(current: &mut Tmpl, update: &Tmpl) {
        for section in ["DATASTORE", "NETWORK", "VM", "IMAGE"] {
            for entry in update.vectors(section) {
                let id = entry.get("ID").cloned();
                let mut merged = false;
                for existing in current.vectors_mut(section) {
                    if existing.get("ID") == id.as_ref() {
                        // oned sets every limit of the entry: the ones not given go back
                        // to -1 (the default applies); the usage counters stay.
                        existing.retain(|name, _| name == "ID" || name.ends_with("_USED"));
                        existing.extend(entry.clone());
                        merged = true;
                    }
                }
                if !merged {
                    current.push(section, super::tmpl::Attr::Vector(entry.clone()));
                }
            }
        }
    }

    pub(crate) fn revoke_token(&mut self, uid: i32, token: &str) -> bool {
        let Some(list) = self.tokens.get_mut(&uid) else {
            return false;
        };
        let before = list.len();
        list.retain(|t| t.token != token);
        list.len() != before
    }
}

pub(crate) fn parse_template(text: &str) -> Result<Tmpl, Failure> {
    Tmpl::parse(text).map_err(|e| fail(INTERNAL, format!("Parse error: {e}")))
}

impl Oned {
    /// Benchmark preload: see [`crate::TestServerBuilder::seed_hosts`].
    pub(crate) fn seed(&mut self, hosts: usize, vms: usize) {
        let admin = Caller {
            uid: 0,
            gid: 0,
            request: 0,
        };
        for i in 0..hosts {
            let params = [
                Value::from(format!("seed-host-{i:04}")),
                Value::from("dummy"),
                Value::from("dummy"),
                Value::Int(-1),
            ];
            let _ = self.call(admin, "one.host.allocate", &params);
        }
        objects::monitor_hosts(self, true);
        // Give every seeded host room for its share of VMs.
        let per_host = if hosts == 0 {
            0
        } else {
            vms.div_ceil(hosts) as i64
        };
        for host in self.pool_mut(Kind::Host).values_mut() {
            if let Ext::Host(data) = &mut host.ext {
                data.total_cpu = data.total_cpu.max(per_host * 10 + 800);
                data.total_mem = data.total_mem.max(per_host * 128 * 1024 + 16 * 1024 * 1024);
            }
        }
        if vms == 0 {
            return;
        }
        // What a "rich" VM refers to: an OS image and a network with room for two NICs each.
        let image = self.call(
            admin,
            "one.image.allocate",
            &[
                Value::from("NAME=\"seed-os\"\nPATH=\"/var/tmp/seed-os.qcow2\"\nSIZE=\"2048\""),
                Value::Int(1),
            ],
        );
        let net = self.call(
            admin,
            "one.vn.allocate",
            &[
                Value::from(format!(
                    "NAME=\"seed-net\"\nVN_MAD=\"bridge\"\nBRIDGE=\"br0\"\n\
                     NETWORK_ADDRESS=\"10.0.0.0\"\nNETWORK_MASK=\"255.0.0.0\"\n\
                     GATEWAY=\"10.0.0.1\"\nDNS=\"10.0.0.1\"\n\
                     AR=[TYPE=\"IP4\",IP=\"10.0.1.0\",SIZE=\"{}\"]",
                    vms * 2 + 16
                )),
                Value::Int(-1),
            ],
        );
        objects::monitor_hosts(self, true);
        let (Reply::Ok(Value::Int(image)), Reply::Ok(Value::Int(net))) = (image, net) else {
            return;
        };
        for i in 0..vms {
            let template = format!(
                "NAME=\"seed-vm-{i:05}\"\nCPU=\"0.1\"\nVCPU=\"1\"\nMEMORY=\"128\"\n\
                 DISK=[IMAGE_ID=\"{image}\"]\n\
                 DISK=[TYPE=\"fs\",SIZE=\"1024\",FORMAT=\"raw\"]\n\
                 DISK=[TYPE=\"swap\",SIZE=\"512\"]\n\
                 NIC=[NETWORK_ID=\"{net}\"]\nNIC=[NETWORK_ID=\"{net}\"]\n\
                 GRAPHICS=[TYPE=\"VNC\",LISTEN=\"0.0.0.0\"]\n\
                 OS=[ARCH=\"x86_64\"]\n\
                 CONTEXT=[NETWORK=\"YES\",SSH_PUBLIC_KEY=\"$USER[SSH_PUBLIC_KEY]\"]\n\
                 SCHED_REQUIREMENTS=\"HYPERVISOR=dummy\"\n\
                 DESCRIPTION=\"benchmark VM {i}\"\nLABELS=\"seed,bench\""
            );
            let _ = self.call(
                admin,
                "one.vm.allocate",
                &[Value::from(template), Value::Bool(false)],
            );
        }
        if hosts > 0 {
            vm::schedule(self, true);
            // Seeded VMs have been running for a while: monitored.
            let now = self.now();
            for obj in self.pool_mut(Kind::Vm).values_mut() {
                if let Ext::Vm(data) = &mut obj.ext {
                    if data.state == vm::ACTIVE {
                        data.last_poll = now;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod ctime_tests {
    use super::ctime;

    #[test]
    fn formats_as_c_ctime_in_utc() {
        // The tour's image error was dated 1795512743 = Tue Nov 24 09:32:23 2026.
        assert_eq!(ctime(1_795_512_743), "Tue Nov 24 09:32:23 2026");
        assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime(951_782_400), "Tue Feb 29 00:00:00 2000");
    }
}
