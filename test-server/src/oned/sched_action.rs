//! Scheduled actions (`SCHED_ACTION`), which VMs and backup jobs share: parsing one from a
//! template (`ScheduledAction::parse`, src/schedule/ScheduledAction.cc), storing them back,
//! and oned's member order in documents.

use super::prelude::*;

/// Parses a `SCHED_ACTION=[...]` template into scheduled action `id` of `parent` (of `kind`,
/// `VM` or `BACKUPJOB`), updating `existing` when given. A VM's action must be one
/// `vm_action` accepts.
pub(crate) fn parse(
    text: &str,
    id: i32,
    parent: i32,
    kind: &str,
    now: i64,
    existing: Option<&BTreeMap<String, String>>,
    vm_action: impl Fn(&str) -> bool,
) -> Result<BTreeMap<String, String>, Failure> {
    let t = parse_template(text)?;
    let Some(new) = t.vectors("SCHED_ACTION").first().map(|v| (*v).clone()) else {
        return Err(fail(ErrorCode::Action, "No SCHED_ACTION in template"));
    };
    let mut action = existing.cloned().unwrap_or_else(|| {
        BTreeMap::from([
            ("ID".into(), id.to_string()),
            ("PARENT_ID".into(), parent.to_string()),
            ("TYPE".into(), kind.into()),
            (
                "ACTION".into(),
                if kind == "BACKUPJOB" {
                    "backup".into()
                } else {
                    String::new()
                },
            ),
            ("ARGS".into(), String::new()),
            ("REPEAT".into(), "-1".into()),
            ("DAYS".into(), String::new()),
            ("END_TYPE".into(), "-1".into()),
            ("END_VALUE".into(), "-1".into()),
            ("DONE".into(), "-1".into()),
            ("MESSAGE".into(), String::new()),
            ("WARNING".into(), "0".into()),
        ])
    });
    for (k, v) in new {
        action.insert(k, v);
    }
    if kind == "VM" {
        let name = action.get("ACTION").cloned().unwrap_or_default();
        if !vm_action(&name)
            && !matches!(
                name.as_str(),
                "snapshot-create"
                    | "snapshot-revert"
                    | "snapshot-delete"
                    | "disk-snapshot-create"
                    | "disk-snapshot-revert"
                    | "disk-snapshot-delete"
                    | "backup"
            )
        {
            return Err(fail(ErrorCode::Action, format!("{name} is not supported.")));
        }
    }
    let time = action.get("TIME").cloned().unwrap_or_default();
    let resolved = match time.strip_prefix('+') {
        Some(rel) if kind == "VM" => rel.parse::<i64>().ok().map(|r| now + r),
        Some(_) => None,
        None => time.parse::<i64>().ok(),
    };
    let Some(resolved) = resolved else {
        return Err(fail(
            ErrorCode::Action,
            format!("Unable to parse the time value or value is empty: {time}"),
        ));
    };
    action.insert("TIME".into(), resolved.to_string());
    Ok(action)
}

/// Writes the scheduled actions of an object back into its template.
pub(crate) fn store(obj: &mut Obj, actions: &[BTreeMap<String, String>]) {
    obj.template.remove("SCHED_ACTION");
    for action in actions {
        obj.template
            .push("SCHED_ACTION", Attr::Vector(action.clone()));
    }
}

/// The members of a scheduled action in the order oned writes them (its own fixed order, not
/// the sorted order of other vectors).
const ORDER: [&str; 13] = [
    "ID",
    "PARENT_ID",
    "TYPE",
    "ACTION",
    "ARGS",
    "TIME",
    "REPEAT",
    "DAYS",
    "END_TYPE",
    "END_VALUE",
    "DONE",
    "MESSAGE",
    "WARNING",
];

/// A scheduled action's members in oned's order: those of [`ORDER`] first
/// (`every_ordered`: all of them, empty when unset, as a VM's template has them; otherwise only
/// those set, as in a backup job's), then any others in their given order.
pub(crate) fn in_order(
    members: &[(&str, &str)],
    every_ordered: bool,
) -> opennebula::template::Vector {
    let value_of = |name: &str| {
        members
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, v)| *v)
    };
    // One pass (`collect`): each `Vector::set` re-packs the vector.
    ORDER
        .iter()
        .filter_map(|name| match value_of(name) {
            Some(value) => Some((*name, value)),
            None => every_ordered.then_some((*name, "")),
        })
        .chain(
            members
                .iter()
                .copied()
                .filter(|(name, _)| !ORDER.contains(name)),
        )
        .collect()
}

/// `template` with its `SCHED_ACTION` vectors in oned's member order.
pub(crate) fn with_sched_actions_in_order(
    mut template: opennebula::template::Template,
) -> opennebula::template::Template {
    for vector in template.vectors_mut("SCHED_ACTION") {
        let members: Vec<(&str, &str)> = vector.iter().collect();
        let ordered = in_order(&members, false);
        *vector = ordered;
    }
    template
}
