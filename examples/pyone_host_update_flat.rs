//! PyONE's "Structured Parameters" with a flat dictionary:
//!
//! ```python
//! one.host.update(0,  {"LABELS": "HD"}, 1)
//! ```
//!
//! A flat map (`BTreeMap`, `HashMap`, `IndexMap`) or the `template!` macro is sent as
//! `LABELS="HD"`; the last argument, 1, is `UpdateType::Merge` (`update_merge` for short).
//!
//! ```text
//! cargo run --example pyone_host_update_flat
//! ```

mod common;

use std::collections::BTreeMap;

use opennebula::api::UpdateType;
use opennebula::template;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect_blocking()?;
    // The example changes a host of its own rather than host 0 of your cloud.
    let host_id = one
        .host()
        .allocate("pyone-labels-host", "dummy", "dummy", -1)?;

    // one.host.update(0, {"LABELS": "HD"}, 1)
    one.host()
        .update_full(host_id, BTreeMap::from([("LABELS", "HD")]), 1)?;
    // The same, spelled with the names of the API:
    one.host()
        .update_full(host_id, template! { LABELS = "HD" }, UpdateType::Merge)?;
    one.host()
        .update_merge(host_id, template! { LABELS = "HD" })?;

    let host = one.host().info(host_id)?;
    println!("Host {} LABELS = {}", host.name, &host.template["LABELS"]);
    assert_eq!(host.template.get("LABELS"), Some("HD"));

    one.host().delete(host_id)?;
    Ok(())
}
