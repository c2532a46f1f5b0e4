//! Which handler runs which method: one entry per (object, verb) of the method table
//! (`opennebula::api::METHODS`, generated from the library's `schemas/api/methods.api`),
//! the only list of methods the server has. A method is known to the server exactly when it
//! is in that table; [`handler`] finds its handler, and a test proves every method of the
//! table has one.

use std::collections::HashMap;
use std::sync::OnceLock;

use opennebula::api::{MethodInfo, METHODS};

use crate::oned::{self, Caller, Handled, Kind, Oned, Params};

/// A method's handler.
#[derive(Clone, Copy)]
pub(crate) enum Handler {
    /// A method of one object kind.
    Own(fn(&mut Oned, Caller, &Params<'_>) -> Handled),
    /// A method every kind shares ([`oned::verbs`]), for this kind.
    Shared(fn(&mut Oned, Caller, Kind, &Params<'_>) -> Handled, Kind),
    /// A handler of several methods, told the verb.
    Verb(
        fn(&mut Oned, Caller, &str, &Params<'_>) -> Handled,
        &'static str,
    ),
    /// `one.<kind>.info`, whose document can be written straight into a response.
    Info(Kind),
}

impl Handler {
    /// Runs the handler (an `info` writes its document with a plain writer).
    pub(crate) fn run(self, oned: &mut Oned, caller: Caller, p: &Params<'_>) -> Handled {
        match self {
            Handler::Own(f) => f(oned, caller, p),
            Handler::Shared(f, kind) => f(oned, caller, kind, p),
            Handler::Verb(f, verb) => f(oned, caller, verb, p),
            Handler::Info(kind) => oned::verbs::info(oned, caller, kind, p),
        }
    }
}

/// The method's table entry and handler.
pub(crate) fn method(name: &str) -> Option<(&'static MethodInfo, Handler)> {
    static INDEX: OnceLock<HashMap<&'static str, (&'static MethodInfo, Handler)>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            METHODS
                .iter()
                .filter_map(|m| Some((m.name, (m, handler(m)?))))
                .collect()
        })
        .get(name)
        .copied()
}

/// The handler of a method of the table, by its object (`vm`, `vmpool`, `userquota` ...)
/// and verb.
pub(crate) fn handler(method: &MethodInfo) -> Option<Handler> {
    let verb = method.name.rsplit('.').next()?;
    let object = method.namespace;
    if let Some(kind) = object.strip_suffix("pool").and_then(Kind::from_prefix) {
        return pool_handler(kind, verb);
    }
    match object {
        "system" => system(verb),
        "acl" => acl(verb),
        "userquota" | "groupquota" => quota_defaults(object, verb),
        "hooklog" => (verb == "info").then_some(Handler::Own(oned::hook::log_info)),
        _ => {
            let kind = Kind::from_prefix(object)?;
            own_handler(kind, verb).or_else(|| shared_handler(kind, verb))
        }
    }
}

use Handler::{Own, Shared, Verb};

/// The verbs every kind shares.
fn shared_handler(kind: Kind, verb: &'static str) -> Option<Handler> {
    use oned::verbs;
    Some(match verb {
        "info" => Handler::Info(kind),
        "update" => Shared(verbs::update, kind),
        "rename" => Shared(verbs::rename, kind),
        "chown" if kind.owned() => Shared(verbs::chown, kind),
        "chmod" if kind.owned() => Shared(verbs::chmod, kind),
        "lock" if kind.lockable() => Shared(verbs::lock, kind),
        "unlock" if kind.lockable() => Shared(verbs::unlock, kind),
        "delete" => Shared(verbs::delete, kind),
        "clone" => Shared(verbs::clone, kind),
        _ => return None,
    })
}

fn pool_handler(kind: Kind, verb: &'static str) -> Option<Handler> {
    use oned::vm::pool;
    Some(match (kind, verb) {
        (Kind::Vm, "info" | "infoextended") => Verb(pool::info, verb),
        (Kind::Vm, "infoset") => Own(pool::infoset),
        (Kind::Vm, "monitoring") => Own(pool::monitoring),
        (Kind::Vm, "accounting") => Own(pool::accounting),
        (Kind::Vm, "showback") => Own(pool::showback),
        (Kind::Vm, "calculateshowback") => Own(pool::calculate_showback),
        (Kind::Host, "monitoring") => Own(oned::host::pool_monitoring),
        (_, "info") => Shared(oned::verbs::pool_info, kind),
        _ => return None,
    })
}

/// The methods of one kind (the shared verbs are in [`shared_handler`]).
fn own_handler(kind: Kind, verb: &'static str) -> Option<Handler> {
    use oned::*;
    Some(match kind {
        Kind::User => match verb {
            "allocate" => Own(user::allocate),
            "passwd" => Own(user::passwd),
            "chauth" => Own(user::chauth),
            "enable" => Own(user::enable),
            "chgrp" => Own(user::chgrp),
            "addgroup" => Own(user::addgroup),
            "delgroup" => Own(user::delgroup),
            "login" => Own(user::login),
            "quota" => Shared(quota::set, kind),
            _ => return None,
        },
        Kind::Group => match verb {
            "allocate" => Own(group::allocate),
            "addadmin" => Own(group::addadmin),
            "deladmin" => Own(group::deladmin),
            "quota" => Shared(quota::set, kind),
            "vlan" => Own(group::vlan),
            _ => return None,
        },
        Kind::Host => match verb {
            "allocate" => Own(host::allocate),
            "status" => Own(host::status),
            "monitoring" => Own(host::monitoring),
            _ => return None,
        },
        Kind::Cluster => match verb {
            "allocate" => Own(cluster::allocate),
            "addhost" => Own(cluster::addhost),
            "delhost" => Own(cluster::delhost),
            "adddatastore" => Own(cluster::adddatastore),
            "deldatastore" => Own(cluster::deldatastore),
            "addvnet" => Own(cluster::addvnet),
            "delvnet" => Own(cluster::delvnet),
            "optimize" => Own(cluster::optimize),
            "planexecute" => Own(cluster::planexecute),
            "plandelete" => Own(cluster::plandelete),
            _ => return None,
        },
        Kind::Datastore => match verb {
            "allocate" => Own(datastore::allocate),
            "enable" => Own(datastore::enable),
            _ => return None,
        },
        Kind::Image => match verb {
            "allocate" => Own(image::allocate),
            "enable" => Own(image::enable),
            "persistent" => Own(image::persistent),
            "chtype" => Own(image::chtype),
            "snapshotdelete" | "snapshotrevert" | "snapshotflatten" => Own(image::snapshot),
            "restore" => Own(image::restore),
            _ => return None,
        },
        Kind::Template => match verb {
            "allocate" => Own(vmtemplate::allocate),
            "instantiate" => Own(vmtemplate::instantiate),
            _ => return None,
        },
        Kind::Vm => vm_handler(verb)?,
        Kind::Vnet => match verb {
            "allocate" => Own(vnet::allocate),
            "add_ar" => Own(vnet::add_ar),
            "rm_ar" | "free_ar" => Own(vnet::rm_ar),
            "update_ar" => Own(vnet::update_ar),
            "reserve" => Own(vnet::reserve),
            "hold" => Own(vnet::hold),
            "release" => Own(vnet::release),
            "recover" => Own(vnet::recover),
            _ => return None,
        },
        Kind::VnTemplate => match verb {
            "allocate" => Own(vntemplate::allocate),
            "instantiate" => Own(vntemplate::instantiate),
            _ => return None,
        },
        Kind::SecGroup => match verb {
            "allocate" => Own(secgroup::allocate),
            "commit" => Own(secgroup::commit),
            _ => return None,
        },
        Kind::VRouter => match verb {
            "allocate" => Own(vrouter::allocate),
            "instantiate" => Own(vrouter::instantiate),
            "attachnic" => Own(vrouter::attachnic),
            "detachnic" => Own(vrouter::detachnic),
            _ => return None,
        },
        Kind::VmGroup => match verb {
            "allocate" => Own(vmgroup::allocate),
            "roleadd" => Own(vmgroup::roleadd),
            "roledelete" => Own(vmgroup::roledelete),
            "roleupdate" => Own(vmgroup::roleupdate),
            _ => return None,
        },
        _ => other_handler(kind, verb)?,
    })
}

/// The methods of the kinds [`own_handler`] leaves to it.
fn other_handler(kind: Kind, verb: &'static str) -> Option<Handler> {
    use oned::*;
    Some(match kind {
        Kind::Zone => match verb {
            "allocate" => Own(zone::allocate),
            "updatedb" => Own(zone::updatedb),
            "replicate" => Own(zone::replicate),
            "fedreplicate" => Own(zone::fedreplicate),
            "voterequest" => Own(zone::voterequest),
            "raftstatus" => Own(zone::raftstatus),
            "enable" | "resetserver" => Own(zone::accept),
            "addserver" => Own(zone::addserver),
            "delserver" => Own(zone::delserver),
            _ => return None,
        },
        Kind::Vdc => match verb {
            "allocate" => Own(vdc::allocate),
            "addgroup" | "delgroup" | "addcluster" | "delcluster" | "addhost" | "delhost"
            | "adddatastore" | "deldatastore" | "addvnet" | "delvnet" => Verb(vdc::edit, verb),
            _ => return None,
        },
        Kind::Document => match verb {
            "allocate" => Own(document::allocate),
            _ => return None,
        },
        Kind::Market => match verb {
            "allocate" => Own(market::allocate),
            "enable" => Own(market::enable),
            "updatedb" => Own(market::updatedb),
            "allocatedb" => Own(market::allocatedb),
            _ => return None,
        },
        Kind::MarketApp => match verb {
            "allocate" => Own(marketapp::allocate),
            "enable" => Own(marketapp::enable),
            "updatedb" => Own(marketapp::updatedb),
            "allocatedb" => Own(marketapp::allocatedb),
            "dropdb" => Own(marketapp::dropdb),
            _ => return None,
        },
        Kind::Hook => match verb {
            "allocate" => Own(hook::allocate),
            "retry" => Own(hook::retry_call),
            _ => return None,
        },
        Kind::BackupJob => match verb {
            "allocate" => Own(backupjob::allocate),
            "priority" => Own(backupjob::priority),
            "backup" => Own(backupjob::backup),
            "cancel" | "retry" => Own(backupjob::cancel_or_retry),
            "schedadd" | "schedupdate" | "scheddelete" => Verb(backupjob::sched_edit, verb),
            _ => return None,
        },
        _ => return None,
    })
}

fn vm_handler(verb: &'static str) -> Option<Handler> {
    use oned::vm::*;
    Some(match verb {
        "allocate" => Own(create::allocate),
        "action" => Own(actions::action),
        "deploy" => Own(actions::deploy),
        "migrate" => Own(actions::migrate),
        "recover" => Own(actions::recover),
        "monitoring" => Own(monitoring),
        "attach" => Own(disks::attach),
        "detach" => Own(disks::detach),
        "diskresize" => Own(disks::resize),
        "disksaveas" => Own(disks::saveas),
        "attachnic" => Own(nics::attach),
        "detachnic" => Own(nics::detach),
        "updatenic" => Own(nics::update),
        "attachsg" => Own(nics::attach_sg),
        "detachsg" => Own(nics::detach_sg),
        "snapshotcreate" => Own(snapshots::create),
        "snapshotrevert" => Own(snapshots::revert),
        "snapshotdelete" => Own(snapshots::delete),
        "disksnapshotcreate" => Own(snapshots::disk_create),
        "disksnapshotrename" | "disksnapshotrevert" | "disksnapshotdelete" => {
            Verb(snapshots::disk_edit, verb)
        }
        "resize" => Own(config::resize),
        "updateconf" => Own(config::updateconf),
        "vmgroupadd" => Own(config::vmgroup_add),
        "vmgroupdel" => Own(config::vmgroup_del),
        "schedadd" | "schedupdate" => Verb(config::sched_set, verb),
        "scheddelete" => Own(config::sched_delete),
        "attachpci" => Own(pci::attach),
        "detachpci" => Own(pci::detach),
        "exec" => Own(exec::exec),
        "retryexec" => Own(exec::retry),
        "cancelexec" => Own(exec::cancel),
        "backup" => Own(exec::backup),
        "backupcancel" => Own(exec::backup_cancel),
        "restore" => Own(exec::restore),
        _ => return None,
    })
}

fn system(verb: &str) -> Option<Handler> {
    use oned::system;
    Some(match verb {
        "version" => Own(system::version),
        "config" => Own(system::config),
        "sql" | "sqlquery" => Own(system::sql),
        _ => return None,
    })
}

fn acl(verb: &str) -> Option<Handler> {
    use oned::acl;
    Some(match verb {
        "info" => Own(acl::info),
        "addrule" => Own(acl::add_rule),
        "delrule" => Own(acl::del_rule),
        _ => return None,
    })
}

fn quota_defaults(object: &str, verb: &str) -> Option<Handler> {
    use oned::quota;
    Some(match (object, verb) {
        ("userquota", "info") => Own(quota::user_defaults),
        ("groupquota", "info") => Own(quota::group_defaults),
        ("userquota", "update") => Own(quota::update_user_defaults),
        ("groupquota", "update") => Own(quota::update_group_defaults),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every method of the table has a handler: none answers "unknown method" while the
    /// client's table (and oned) have it.
    #[test]
    fn every_method_of_the_table_has_a_handler() {
        let missing: Vec<&str> = METHODS
            .iter()
            .filter(|m| handler(m).is_none())
            .map(|m| m.name)
            .collect();
        assert_eq!(missing, Vec::<&str>::new());
        assert_eq!(METHODS.len(), 307);
        assert!(method("one.vm.info").is_some());
        assert!(method("one.vm.nope").is_none());
    }
}
