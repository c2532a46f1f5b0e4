//! `one.system.*`: the version, the configuration clients read, and SQL access (refused).

use super::prelude::*;
use opennebula::models;
use opennebula::xml::ToXml;

/// The version this server behaves as.
pub(crate) const VERSION: &str = "7.5.80";

/// `one.system.version`.
pub(crate) fn version(_oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Ok(Value::from(VERSION))
}

/// `one.system.config`.
pub(crate) fn config(_oned: &mut Oned, _caller: Caller, _p: &Params<'_>) -> Handled {
    Ok(Value::from(config_document()))
}

/// `one.system.sql`, `one.system.sqlquery`.
pub(crate) fn sql(oned: &mut Oned, caller: Caller, _p: &Params<'_>) -> Handled {
    if !oned.is_admin(caller.uid) {
        return Err(fail(
            ErrorCode::Authorization,
            format!(
                "User [{}] not authorized to perform action on -.",
                caller.uid
            ),
        ));
    }
    Err(fail(
        ErrorCode::Action,
        "SQL access is not supported by the test server",
    ))
}

/// `one.system.config`: the configuration attributes clients read.
fn config_document() -> String {
    let s = |v: &str| vec![v.to_string()];
    models::OpenNebulaConfiguration {
        action_timeout: Some(300),
        api_list_order: s("DESC"),
        default_auth: s("default"),
        default_device_prefix: s("sd"),
        default_umask: s("177"),
        host_encrypted_attr: s("EC2_ACCESS"),
        manager_timer: vec![15],
        monitoring_interval_host: Some(180),
        port: Some(2633),
        scripts_remote_dir: Some("/var/tmp/one".into()),
        vm_submit_on_hold: Some("NO".into()),
        ..models::OpenNebulaConfiguration::default()
    }
    .to_xml()
}
