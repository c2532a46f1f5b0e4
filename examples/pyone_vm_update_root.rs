//! PyONE's "Structured Parameters" with a root dictionary, sent as XML:
//!
//! ```python
//! one.vm.update(1,
//!   {
//!     'TEMPLATE': {
//!       'NAME': 'abc',
//!       'MEMORY': '1024',
//!       'ATT1': 'value1'
//!     }
//!   }, 1)
//! ```
//!
//! `Template::rooted("TEMPLATE", template! { ... })` is the root dictionary; it is sent as
//! `<TEMPLATE><NAME>abc</NAME>...</TEMPLATE>`, escaped.
//!
//! ```text
//! cargo run --example pyone_vm_update_root
//! ```

mod common;

use opennebula::api::UpdateType;
use opennebula::template;
use opennebula::template::Template;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect().await?;
    // A VM of our own, on hold so that it never runs anywhere.
    let vm_id = one
        .vm()
        .allocate_full(r#"NAME = "pyone-update" CPU = "0.1" MEMORY = "64""#, true)
        .await?;

    // one.vm.update(1, {'TEMPLATE': {'NAME': 'abc', 'MEMORY': '1024', 'ATT1': 'value1'}}, 1)
    let update = Template::rooted(
        "TEMPLATE",
        template! { NAME = "abc", MEMORY = "1024", ATT1 = "value1" },
    );
    one.vm()
        .update_full(vm_id, update, UpdateType::Merge)
        .await?;

    // vm.update changes the USER_TEMPLATE.
    let vm = one.vm().info(vm_id).await?;
    println!("VM {vm_id} USER_TEMPLATE:");
    for line in vm.user_template.to_string().lines() {
        println!("  {line}");
    }
    assert_eq!(vm.user_template.get("ATT1"), Some("value1"));

    one.vm().action("terminate-hard", vm_id).await?;
    Ok(())
}
