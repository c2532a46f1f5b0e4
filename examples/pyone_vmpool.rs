//! PyONE's "See it":
//!
//! ```python
//! my_vm = one.vmpool.info(-1,-1,-1,-1).VM[0]
//! my_vm.get_ID()
//! my_vm.get_NAME()
//! my_vm.get_TEMPLATE()
//! ```
//!
//! ```text
//! cargo run --example pyone_vmpool
//! ```

mod common;

use opennebula::api::{PoolFilter, VmStateFilter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect_blocking()?;

    // A VM of our own (on hold, so it never runs anywhere) so that VM[0] exists.
    let vm_id = one
        .vm()
        .allocate_full(r#"NAME = "pyone-vmpool" CPU = "0.1" MEMORY = "64""#, true)?;

    // my_vm = one.vmpool.info(-1, -1, -1, -1).VM[0]
    let pool = one
        .vmpool()
        .info(PoolFilter::MineAndGroup, -1, -1, VmStateFilter::NotDone)?;
    let my_vm = &pool.vm[0];
    println!("VM[0]: ID {} NAME {}", my_vm.id, my_vm.name);
    println!("VM[0] TEMPLATE:");
    for line in my_vm.template.to_string().lines() {
        println!("  {line}");
    }

    one.vm().action("terminate-hard", vm_id)?;
    Ok(())
}
