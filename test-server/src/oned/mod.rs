//! The in-memory `oned`: its pools of objects, users' sessions and login tokens, and the
//! rules of each object kind, one module per kind.
//!
//! Layers, lowest first (a module only uses the ones above it in this list, and the kinds use
//! each other in one direction only: a VM uses images, networks and hosts, never the reverse):
//!
//! - this module: [`Oned`] (pools, ids, clock, sessions), the record every object has
//!   ([`Obj`]) with its kind's data ([`Ext`]), and [`Caller`];
//! - [`failure`], [`params`], [`kind`]: a handler's failure (oned's error code and message),
//!   its typed parameters, the object kinds and their names;
//! - [`auth`], [`acl`], [`naming`], [`pools`], [`xml_parts`], [`sched_action`]: authorization
//!   (permissions, locks, ACL rules), name rules, pool visibility and ranges, the parts every
//!   document shares, scheduled actions;
//! - the kinds, each with its data, its methods and its document: [`user`], [`group`],
//!   [`host`], [`cluster`], [`datastore`], [`image`], [`vmtemplate`], [`vm`], [`vnet`],
//!   [`vntemplate`], [`secgroup`], [`vrouter`], [`vmgroup`], [`zone`], [`vdc`], [`document`],
//!   [`market`], [`marketapp`], [`hook`], [`backupjob`], [`quota`], [`system`];
//! - [`drivers`] (what the dummy drivers do between calls), [`bootstrap`] (a fresh oned's
//!   objects), [`render`] (any object's document by kind) and [`verbs`] (the methods every
//!   kind shares: info, update, rename, chown, chmod, lock, unlock, delete, clone, pool info).
//!
//! Which method runs which handler is said once, in [`crate::dispatch`].
//!
//! Every rule names where oned has it (file and function under `src/` of OpenNebula's
//! source) when it follows oned's code rather than a recording.

pub(crate) mod acl;
pub(crate) mod auth;
pub(crate) mod backupjob;
pub(crate) mod bootstrap;
pub(crate) mod cluster;
pub(crate) mod datastore;
pub(crate) mod document;
pub(crate) mod drivers;
pub(crate) mod failure;
pub(crate) mod group;
pub(crate) mod hook;
pub(crate) mod host;
pub(crate) mod image;
pub(crate) mod kind;
pub(crate) mod market;
pub(crate) mod marketapp;
pub(crate) mod naming;
pub(crate) mod params;
pub(crate) mod pools;
pub(crate) mod quota;
pub(crate) mod render;
pub(crate) mod sched_action;
pub(crate) mod secgroup;
pub(crate) mod system;
pub(crate) mod user;
pub(crate) mod vdc;
pub(crate) mod verbs;
pub(crate) mod vm;
pub(crate) mod vmgroup;
pub(crate) mod vmtemplate;
pub(crate) mod vnet;
pub(crate) mod vntemplate;
pub(crate) mod vrouter;
pub(crate) mod xml_parts;
pub(crate) mod zone;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::tmpl::Tmpl;
pub(crate) use failure::{fail, Failure, Handled};
pub(crate) use kind::Kind;
use opennebula::ErrorCode;
pub(crate) use params::Params;

/// What a handler module needs from the layers below it.
pub(crate) mod prelude {
    pub(crate) use super::auth::{authorize, fetch, Op};
    pub(crate) use super::failure::{fail, fail_id, no_exists, Failure, Handled};
    pub(crate) use super::kind::Kind;
    pub(crate) use super::params::Params;
    pub(crate) use super::{parse_template, Caller, Ext, Obj, Oned};
    pub(crate) use crate::tmpl::{Attr, Tmpl};
    pub(crate) use opennebula::api::{LcmState, VmState};
    pub(crate) use opennebula::wire::Value;
    pub(crate) use opennebula::ErrorCode;
    pub(crate) use std::collections::{BTreeMap, BTreeSet};
}

/// A lock on an object.
#[derive(Debug, Clone)]
pub(crate) struct Lock {
    pub(crate) level: i32,
    pub(crate) owner: i32,
    pub(crate) time: i64,
    /// The id of the request that took the lock.
    pub(crate) req_id: i64,
}

/// The record every pool object has.
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub(crate) kind: Kind,
    pub(crate) id: i32,
    pub(crate) name: String,
    pub(crate) uid: i32,
    pub(crate) gid: i32,
    /// OWNER_U, OWNER_M, OWNER_A, GROUP_U ... OTHER_A.
    pub(crate) perms: [u8; 9],
    pub(crate) lock: Option<Lock>,
    pub(crate) regtime: i64,
    pub(crate) template: Tmpl,
    pub(crate) ext: Ext,
}

/// The data of an object's kind.
#[derive(Debug, Clone)]
pub(crate) enum Ext {
    None,
    User(user::UserData),
    Group(group::GroupData),
    Host(host::HostData),
    Datastore(datastore::DatastoreData),
    Image(image::ImageData),
    Vm(Box<vm::VmData>),
    Vnet(vnet::VnetData),
    /// The document type.
    Document(i32),
    /// The marketplace's state (0 enabled, 1 disabled).
    Market(i32),
    MarketApp(marketapp::MarketAppData),
    /// The hook type (`api`, `state`).
    Hook(String),
    Vdc(vdc::VdcData),
}

impl Obj {
    pub(crate) fn new(kind: Kind, id: i32, name: &str, uid: i32, gid: i32, now: i64) -> Obj {
        Obj {
            kind,
            id,
            name: name.to_string(),
            uid,
            gid,
            perms: [1, 1, 0, 0, 0, 0, 0, 0, 0],
            lock: None,
            regtime: now,
            template: Tmpl::default(),
            ext: Ext::None,
        }
    }
}

/// The authenticated caller of a method.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    pub(crate) uid: i32,
    pub(crate) gid: i32,
    /// The number oned gives the request being run (see [`crate::core`]); history records
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
    hook_log: Vec<hook::Execution>,
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
        bootstrap::bootstrap(&mut oned, admin_password);
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
        user::create_user(self, name, password, "core", &[]).map_err(|f| f.message)
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
    Tmpl::parse(text).map_err(|e| fail(ErrorCode::Internal, format!("Parse error: {e}")))
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
