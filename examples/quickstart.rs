//! Quick start: the first things everyone does with OpenNebula, typed.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Runs against a fresh in-process test server, or against a real front-end when `ONE_XMLRPC`
//! is set (the session is read from the `ONE_AUTH` file, as the CLI does). It connects,
//! registers a host, lists the hosts, reads and updates the host's TEMPLATE, creates two disk
//! images and a VM template using both (from a raw template string with two `DISK` vectors),
//! instantiates it, lists the VMs, powers the VM off and on again, terminates it and cleans up
//! what it created.

mod common;

use std::time::Duration;

use opennebula::api::helpers::{wait_for_vm_state, wait_until, Check, WaitOptions};
use opennebula::api::{ImageState, LcmState, VmAction, VmState};
use opennebula::{template, Client};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect().await?;
    println!("OpenNebula {}", one.system().version().await?);

    // Register a hypervisor host (one.host.allocate) in the default cluster.
    let host_id = one
        .host()
        .allocate("quickstart-host", "dummy", "dummy", -1)
        .await?;
    println!("\nRegistered host {host_id}");

    // List the hosts (one.hostpool.info).
    println!("\nHosts:");
    for host in one.hostpool().info().await?.host {
        println!(
            "  {:>3}  {:<20} {:<10} {} VMs",
            host.id,
            host.name,
            host.state().to_string(),
            host.vms.id.len()
        );
    }

    // Read the host TEMPLATE, change it and send it back (one.host.info + one.host.update).
    let mut host = one.host().info(host_id).await?;
    println!(
        "\nHost {} TEMPLATE has {} attributes, e.g. IM_MAD = {:?}",
        host.name,
        host.template.len(),
        host.template.get("IM_MAD").unwrap_or("-")
    );
    host.template
        .set("NOTES", "Just updated by the quick start");
    one.host().update(host_id, &host.template).await?;
    let host = one.host().info(host_id).await?;
    println!(
        "NOTES is now {:?}",
        host.template.get("NOTES").unwrap_or("-")
    );

    // Two disk images in the default image datastore (1). oned refuses to instantiate a VM
    // template whose images do not exist, so they come first.
    let os_image = create_image(&one, "quickstart-os", 2048).await?;
    let data_image = create_image(&one, "quickstart-data", 1024).await?;
    println!("\nImages {os_image} and {data_image} are READY");

    // A VM template from a raw string with two DISK vectors (one.template.allocate).
    let template_id = one
        .template()
        .allocate(format!(
            r#"NAME = "quickstart-template"
               CPU = "0.5"
               VCPU = "1"
               MEMORY = "512"
               DISK = [ IMAGE_ID = "{os_image}" ]
               DISK = [ IMAGE_ID = "{data_image}" ]
               GRAPHICS = [ TYPE = "VNC", LISTEN = "0.0.0.0" ]"#
        ))
        .await?;
    let vm_template = one.template().info(template_id).await?;
    println!(
        "\nTemplate {} ({}) has {} disks",
        vm_template.id,
        vm_template.name,
        vm_template.template.vectors("DISK").count()
    );

    // Instantiate it (one.template.instantiate) and wait for the VM to run.
    let vm_id = one
        .template()
        .instantiate_simple(template_id, "quickstart-vm")
        .await?;
    let wait = WaitOptions::with_timeout(Duration::from_secs(120));
    let vm = wait_for_vm_state(&one, vm_id, VmState::Active, Some(LcmState::Running), wait).await?;
    println!(
        "\nVM {vm_id} ({}) is {}/{}",
        vm.name,
        vm.state(),
        vm.lcm_state()
    );

    // List the VMs (one.vmpool.info -2 -1 -1 -1).
    println!("\nVMs:");
    for vm in one.vmpool().info_all().await?.vm {
        let state = VmState::from(vm.state);
        let lcm = LcmState::from(vm.lcm_state);
        println!("  {:>3}  {:<20} {state}/{lcm}", vm.id, vm.name);
    }

    // Act on the VM: power it off and resume it (one.vm.action).
    one.vm().action(VmAction::Poweroff, vm_id).await?;
    let vm = wait_for_vm_state(&one, vm_id, VmState::Poweroff, None, wait).await?;
    println!("\nAfter poweroff: {}", vm.state());
    one.vm().action(VmAction::Resume, vm_id).await?;
    let vm = wait_for_vm_state(&one, vm_id, VmState::Active, Some(LcmState::Running), wait).await?;
    println!("After resume: {}/{}", vm.state(), vm.lcm_state());

    // Terminate it.
    one.vm().action(VmAction::Terminate, vm_id).await?;
    let vm = wait_for_vm_state(&one, vm_id, VmState::Done, None, wait).await?;
    println!("After terminate: {}", vm.state());

    // Clean up what the quick start created.
    one.template().delete(template_id).await?;
    for image in [os_image, data_image] {
        wait_for_image(&one, image, ImageState::Ready).await?;
        one.image().delete(image).await?;
    }
    one.host().delete(host_id).await?;
    println!(
        "\nCleaned up: template {template_id}, images {os_image} and {data_image}, host {host_id}"
    );
    Ok(())
}

/// Allocates an empty data block of `size_mb` in datastore 1 and waits until it is READY.
async fn create_image(
    one: &Client,
    name: &str,
    size_mb: u32,
) -> Result<i32, Box<dyn std::error::Error>> {
    let image = template! { NAME = name, TYPE = "DATABLOCK", SIZE = size_mb };
    let id = one.image().allocate(image, 1).await?;
    wait_for_image(one, id, ImageState::Ready).await?;
    Ok(id)
}

/// Polls `one.image.info` until the image is in `state` (a real datastore copies the image
/// first; the test server is immediate).
async fn wait_for_image(
    one: &Client,
    id: i32,
    state: ImageState,
) -> Result<(), Box<dyn std::error::Error>> {
    wait_until(
        &format!("image {id} to be {state}"),
        WaitOptions::with_timeout(Duration::from_secs(120)),
        || one.image().info(id),
        |image| match image.state() {
            now if now == state => Check::Done,
            ImageState::Error => Check::Unreachable("the image is in ERROR".into()),
            now => Check::Pending(now.to_string()),
        },
    )
    .await?;
    Ok(())
}
