//! PyONE's "Making Calls" example, and "See host template":
//!
//! ```python
//! hostpool = one.hostpool.info()
//! host = hostpool.HOST[0]
//! id = host.ID
//!
//! host = one.hostpool.info().HOST[0]
//! dict(host.TEMPLATE)
//! ```
//!
//! With the blocking client, which reads like PyONE: `one.hostpool().info()?.host[0].id`.
//!
//! ```text
//! cargo run --example pyone_hostpool
//! ```

mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect_blocking()?;

    // A fresh test server has no host yet: register one so that HOST[0] exists.
    if one.hostpool().info()?.host.is_empty() {
        one.host().allocate("localhost", "dummy", "dummy", -1)?;
    }

    // hostpool = one.hostpool.info(); host = hostpool.HOST[0]; id = host.ID
    let hostpool = one.hostpool().info()?;
    let host = &hostpool.host[0];
    let id = host.id;
    println!("HOST[0].ID = {id} ({})", host.name);

    // dict(host.TEMPLATE): the TEMPLATE is a template dictionary (printed in OpenNebula syntax).
    let host = one.hostpool().info()?.host.remove(0);
    println!("HOST[0].TEMPLATE:");
    for line in host.template.to_string().lines() {
        println!("  {line}");
    }
    Ok(())
}
