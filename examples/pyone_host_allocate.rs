//! PyONE's "Allocate localhost as new host":
//!
//! ```python
//! one.host.allocate('localhost', 'kvm', 'kvm', 0)
//! ```
//!
//! ```text
//! cargo run --example pyone_host_allocate
//! ```

mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect().await?;

    // one.host.allocate('localhost', 'kvm', 'kvm', 0): name, IM_MAD, VM_MAD, cluster (0 is
    // the "default" cluster). The example uses a distinct name so it never clashes with a
    // real host.
    let host_id = one
        .host()
        .allocate("pyone-localhost", "kvm", "kvm", 0)
        .await?;
    let host = one.host().info(host_id).await?;
    println!(
        "Host {} ({}) in cluster {} ({}), IM_MAD {}, VM_MAD {}, state {}",
        host.id,
        host.name,
        host.cluster_id,
        host.cluster,
        host.im_mad,
        host.vm_mad,
        host.state()
    );

    // Allocating the same name again is refused, with oned's error code and message.
    match one
        .host()
        .allocate("pyone-localhost", "kvm", "kvm", 0)
        .await
    {
        Err(err) => println!("Second allocate refused: {err}"),
        Ok(id) => return Err(format!("a second host {id} with the same name was created").into()),
    }

    one.host().delete(host_id).await?;
    Ok(())
}
