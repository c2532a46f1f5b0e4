//! PyONE's "Terminate it":
//!
//! ```python
//! one.vm.action('terminate', 0)
//! ```
//!
//! The action is a `VmAction` (`VmAction::Terminate`), or its OpenNebula name as a string.
//!
//! ```text
//! cargo run --example pyone_vm_terminate
//! ```

mod common;

use std::time::Duration;

use opennebula::api::helpers::{blocking::wait_for_vm_state, WaitOptions};
use opennebula::api::{LcmState, VmAction, VmState};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect_blocking()?;

    // A running VM of our own: a host to run on (the test server's scheduler places it).
    let host_id = one
        .host()
        .allocate("pyone-terminate-host", "dummy", "dummy", -1)?;
    let vm_id = one
        .vm()
        .allocate(r#"NAME = "pyone-terminate" CPU = "0.1" MEMORY = "64""#)?;
    let wait = WaitOptions::with_timeout(Duration::from_secs(120));
    wait_for_vm_state(&one, vm_id, VmState::Active, Some(LcmState::Running), wait)?;
    println!("VM {vm_id} is RUNNING");

    // one.vm.action('terminate', 0)
    one.vm().action("terminate", vm_id)?;
    // or, typed: one.vm().action(VmAction::Terminate, vm_id)?;
    let vm = wait_for_vm_state(&one, vm_id, VmState::Done, None, wait)?;
    println!("VM {vm_id} is {}", vm.state());

    // Terminating a DONE VM again is accepted by oned, as by the test server.
    one.vm().action(VmAction::Terminate, vm_id)?;
    one.host().delete(host_id)?;
    Ok(())
}
