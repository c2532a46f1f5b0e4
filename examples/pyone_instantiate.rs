//! PyONE's "See VM template" and "Instantiate it":
//!
//! ```python
//! vm_template = one.templatepool.info(-1, -1, -1).VMTEMPLATE[0]
//! vm_template.get_ID()
//! vm_template.get_NAME()
//!
//! one.template.instantiate(0, "my_VM")
//! ```
//!
//! `PoolFilter::Mine...All` are the filter flags (`-1` still works: `info(-1, -1, -1)`).
//!
//! ```text
//! cargo run --example pyone_instantiate
//! ```

mod common;

use opennebula::api::PoolFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect().await?;

    // A template of our own, so that VMTEMPLATE[0] exists and instantiating it is harmless.
    let created = one
        .template()
        .allocate(r#"NAME = "pyone-template" CPU = "0.1" MEMORY = "64""#)
        .await?;

    // vm_template = one.templatepool.info(-1, -1, -1).VMTEMPLATE[0]
    let pool = one
        .templatepool()
        .info(PoolFilter::MineAndGroup, -1, -1)
        .await?;
    let vm_template = &pool.vmtemplate[0];
    println!(
        "VMTEMPLATE[0]: ID {} NAME {}",
        vm_template.id, vm_template.name
    );

    // one.template.instantiate(0, "my_VM")
    let vm_id = one.template().instantiate_simple(created, "my_VM").await?;
    let vm = one.vm().info(vm_id).await?;
    println!("Instantiated VM {vm_id} ({}): {}", vm.name, vm.state());

    one.vm().action("terminate-hard", vm_id).await?;
    one.template().delete(created).await?;
    Ok(())
}
