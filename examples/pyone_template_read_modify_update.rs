//! PyONE's TEMPLATE as a dictionary: read it, modify it and send it back.
//!
//! ```python
//! host = one.host.info(0)
//! arch = host.TEMPLATE['ARCH']
//!
//! host = one.host.info(0)
//! host.TEMPLATE['NOTES']="Just updated"
//! one.host.update(0,host.TEMPLATE,1)
//! ```
//!
//! ```text
//! cargo run --example pyone_template_read_modify_update
//! ```

mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect().await?;
    // The example changes a host of its own rather than host 0 of your cloud.
    let host_id = one
        .host()
        .allocate("pyone-notes-host", "dummy", "dummy", -1)
        .await?;

    // host = one.host.info(0); arch = host.TEMPLATE['ARCH']
    let host = one.host().info(host_id).await?;
    let arch = host.template.get("ARCH");
    println!(
        "Host {} ARCH = {}",
        host.name,
        arch.unwrap_or("(not reported yet)")
    );

    // host.TEMPLATE['NOTES'] = "Just updated"; one.host.update(0, host.TEMPLATE, 1)
    let mut host = one.host().info(host_id).await?;
    host.template.set("NOTES", "Just updated");
    one.host().update_full(host_id, &host.template, 1).await?;

    let host = one.host().info(host_id).await?;
    println!("Host {} NOTES = {}", host.name, &host.template["NOTES"]);
    assert_eq!(host.template.get("NOTES"), Some("Just updated"));

    one.host().delete(host_id).await?;
    Ok(())
}
