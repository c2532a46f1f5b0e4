//! VM life cycle on the test server: instantiate, the built-in scheduler, the actions of
//! oned's state table, history records and times.

mod server_support;

use opennebula::xml::FromXml;
use opennebula::{Client, ErrorCode, Value};
use opennebula_test_server::TestServer;
use server_support::{assert_one_error, doc, field, int};

/// (STATE, LCM_STATE) of a VM.
async fn state(client: &Client, id: i32) -> (i32, i32) {
    let vm = doc(client.call("one.vm.info", (id,)).await.unwrap());
    (
        field(&vm, "STATE").unwrap().parse().unwrap(),
        field(&vm, "LCM_STATE").unwrap().parse().unwrap(),
    )
}

async fn setup(server: &TestServer) -> (Client, i32) {
    let client = server.client().unwrap();
    let host = int(client
        .call("one.host.allocate", ("host-a", "dummy", "dummy", -1))
        .await
        .unwrap());
    assert_eq!(host, 0);
    let template = int(client
        .call(
            "one.template.allocate",
            ("NAME=\"small\"\nCPU=\"0.5\"\nMEMORY=\"256\"\nDESCRIPTION=\"test vm\"",),
        )
        .await
        .unwrap());
    (client, template)
}

#[tokio::test]
async fn instantiate_schedule_and_walk_the_state_table() {
    let server = TestServer::builder()
        .auto_schedule(false)
        .start()
        .await
        .unwrap();
    let (client, template) = setup(&server).await;
    let vm = int(client
        .call(
            "one.template.instantiate",
            (template, "vm-1", false, "", false),
        )
        .await
        .unwrap());
    assert_eq!(state(&client, vm).await, (1, 0), "PENDING");
    let info = doc(client.call("one.vm.info", (vm,)).await.unwrap());
    assert_eq!(field(&info, "NAME").as_deref(), Some("vm-1"));
    assert_eq!(field(&info, "TEMPLATE_ID").as_deref(), Some("0"));
    let vm_model = opennebula::models::Vm::from_xml(&info).expect("a VM document");
    assert_eq!(vm_model.user_template.get("DESCRIPTION"), Some("test vm"));
    assert!(vm_model.history_records.history.is_empty());
    assert_ne!(field(&info, "STIME").as_deref(), Some("0"));

    // Nothing moves until the scheduler runs.
    assert_eq!(state(&client, vm).await, (1, 0));
    assert_eq!(server.schedule(), 1);
    assert_eq!(state(&client, vm).await, (3, 3), "ACTIVE/RUNNING");
    let info = doc(client.call("one.vm.info", (vm,)).await.unwrap());
    assert_eq!(field(&info, "HOSTNAME").as_deref(), Some("host-a"));
    assert_eq!(
        field(&info, "DEPLOY_ID").as_deref(),
        Some("host-a:vm-1:dummy")
    );
    let host = doc(client.call("one.host.info", (0,)).await.unwrap());
    assert_eq!(field(&host, "RUNNING_VMS").as_deref(), Some("1"));
    assert!(host.contains("<VMS><ID>0</ID></VMS>"));

    for (action, expected) in [
        ("poweroff", (8, 0)),
        ("resume", (3, 3)),
        ("suspend", (5, 0)),
        ("resume", (3, 3)),
        ("reboot", (3, 3)),
        ("undeploy", (9, 0)),
        ("resume", (1, 0)),
    ] {
        assert_eq!(
            int(client.call("one.vm.action", (action, vm)).await.unwrap()),
            vm
        );
        assert_eq!(state(&client, vm).await, expected, "after {action}");
    }
    // Back to PENDING: the scheduler deploys it again, with a new history record.
    server.schedule();
    assert_eq!(state(&client, vm).await, (3, 3));
    let info = doc(client.call("one.vm.info", (vm,)).await.unwrap());
    assert!(info.matches("<HISTORY>").count() >= 3, "{info}");

    assert_one_error(
        client.call("one.vm.action", ("release", vm)).await,
        ErrorCode::Action,
        "[one.vm.action] Error performing action \"release\": This action is not available for state RUNNING",
    );
    assert_one_error(
        client.call("one.vm.action", ("fly", vm)).await,
        ErrorCode::Action,
        "[one.vm.action] Action \"fly\" is not supported",
    );
    assert_one_error(
        client.call("one.vm.deploy", (vm, 0, false, -1)).await,
        ErrorCode::Action,
        "[one.vm.deploy] Deploy action is not available for state RUNNING",
    );

    client
        .call("one.vm.action", ("terminate", vm))
        .await
        .unwrap();
    assert_eq!(state(&client, vm).await, (6, 0), "DONE");
    let info = doc(client.call("one.vm.info", (vm,)).await.unwrap());
    assert_ne!(field(&info, "ETIME").as_deref(), Some("0"));
    // terminate on a DONE VM succeeds, as in oned; anything else is refused.
    client
        .call("one.vm.action", ("terminate", vm))
        .await
        .unwrap();
    assert_one_error(
        client.call("one.vm.action", ("resume", vm)).await,
        ErrorCode::Action,
        "[one.vm.action] Error performing action \"resume\": This action is not available for state DONE",
    );
    let host = doc(client.call("one.host.info", (0,)).await.unwrap());
    assert_eq!(field(&host, "RUNNING_VMS").as_deref(), Some("0"));
}

#[tokio::test]
async fn hold_release_and_manual_deploy() {
    let server = TestServer::builder()
        .auto_schedule(false)
        .start()
        .await
        .unwrap();
    let (client, template) = setup(&server).await;
    let vm = int(client
        .call(
            "one.template.instantiate",
            (template, "held", true, "", false),
        )
        .await
        .unwrap());
    assert_eq!(state(&client, vm).await, (2, 0), "HOLD");
    assert_eq!(server.schedule(), 0, "a held VM is not scheduled");
    assert_one_error(
        client.call("one.vm.action", ("hold", vm)).await,
        ErrorCode::Action,
        "[one.vm.action] Error performing action \"hold\": This action is not available for state HOLD",
    );
    client.call("one.vm.action", ("release", vm)).await.unwrap();
    assert_eq!(state(&client, vm).await, (1, 0));
    client.call("one.vm.action", ("hold", vm)).await.unwrap();
    assert_one_error(
        client.call("one.vm.deploy", (vm, 7, false, -1)).await,
        ErrorCode::NoExists,
        "[one.vm.deploy] Error getting host [7].",
    );
    client
        .call("one.vm.deploy", (vm, 0, false, 0))
        .await
        .unwrap();
    assert_eq!(state(&client, vm).await, (3, 3));
    let info = doc(client.call("one.vm.info", (vm,)).await.unwrap());
    assert_eq!(field(&info, "PLAN_ID").as_deref(), Some("-2"));
}

#[tokio::test]
async fn automatic_scheduling_places_vms_one_call_later() {
    let server = TestServer::start().await.unwrap();
    let (client, template) = setup(&server).await;
    let vm = int(client
        .call("one.template.instantiate", (template, "", false, "", false))
        .await
        .unwrap());
    // As with oned's periodic scheduler, the VM is PENDING right after instantiate...
    assert_eq!(state(&client, vm).await, (1, 0));
    // ...and running once the scheduler has had its turn.
    assert_eq!(state(&client, vm).await, (3, 3));
    let info = doc(client.call("one.vm.info", (vm,)).await.unwrap());
    assert_eq!(field(&info, "NAME").as_deref(), Some("small-0"));
}

#[tokio::test]
async fn scheduler_respects_host_capacity() {
    let server = TestServer::builder()
        .auto_schedule(false)
        .start()
        .await
        .unwrap();
    let client = server.client().unwrap();
    client
        .call("one.host.allocate", ("tiny", "dummy", "dummy", -1))
        .await
        .unwrap();
    // A dummy host has 800 CPU (8 cores) and 16 GiB.
    let big = "NAME=\"big\"\nCPU=\"3\"\nMEMORY=\"1024\"";
    let mut vms = Vec::new();
    for _ in 0..3 {
        vms.push(int(client
            .call("one.vm.allocate", (big, false))
            .await
            .unwrap()));
    }
    assert_eq!(server.schedule(), 2, "only two 3-CPU VMs fit in 8 CPUs");
    assert_eq!(state(&client, vms[2]).await, (1, 0));
    client
        .call("one.vm.action", ("terminate", vms[0]))
        .await
        .unwrap();
    assert_eq!(server.schedule(), 1);
    assert_eq!(state(&client, vms[2]).await, (3, 3));
}

#[tokio::test]
async fn allocation_errors_match_oned() {
    let server = TestServer::start().await.unwrap();
    let (client, _) = setup(&server).await;
    assert_one_error(
        client
            .call("one.vm.allocate", ("NAME=\"x\"\nCPU=\"0.1\"", false))
            .await,
        ErrorCode::Internal,
        "[one.vm.allocate] MEMORY attribute must be a positive integer value.",
    );
    assert_one_error(
        client
            .call(
                "one.vm.allocate",
                ("NAME=\"x\"\nMEMORY=\"32\"\nDISK=[IMAGE_ID=\"999\"]", false),
            )
            .await,
        ErrorCode::Internal,
        "[one.vm.allocate] DISK 0: Image with ID: 999 does not exist",
    );
    assert_one_error(
        client.call("one.template.instantiate", (999, "x")).await,
        ErrorCode::NoExists,
        "[one.template.instantiate] Error getting virtual machine template [999].",
    );
    assert_one_error(
        client
            .call("one.host.allocate", ("host-a", "dummy", "dummy", -1))
            .await,
        ErrorCode::Allocate,
        "[one.host.allocate] Error allocating a new host. NAME is already taken by HOST 0.",
    );
    assert_one_error(
        client
            .call("one.template.allocate", ("NAME=\"broken\nCPU=",))
            .await
            .map(|_| Value::Nil),
        ErrorCode::Internal,
        "[one.template.allocate] Parse error: syntax error, unexpected $end, expecting OBRACKET or CCDATA or STRING at line 1, columns 17:18",
    )
}

#[tokio::test]
async fn disks_nics_and_leases() {
    let server = TestServer::start().await.unwrap();
    let (client, _) = setup(&server).await;
    let image = int(client
        .call(
            "one.image.allocate",
            ("NAME=\"os\"\nPATH=\"/srv/os.img\"", 1),
        )
        .await
        .unwrap());
    let net = int(client
        .call(
            "one.vn.allocate",
            (
                "NAME=\"net\"\nVN_MAD=\"bridge\"\nAR=[TYPE=\"IP4\",IP=\"10.0.0.10\",SIZE=\"4\"]",
                -1,
            ),
        )
        .await
        .unwrap());
    let vm = int(client
        .call(
            "one.vm.allocate",
            (
                format!(
                    "NAME=\"web\"\nMEMORY=\"64\"\nDISK=[IMAGE_ID=\"{image}\"]\nNIC=[NETWORK_ID=\"{net}\"]"
                ),
                false,
            ),
        )
        .await
        .unwrap());
    let info = doc(client.call("one.vm.info", (vm,)).await.unwrap());
    assert_eq!(field(&info, "IP").as_deref(), Some("10.0.0.10"));
    assert_eq!(field(&info, "IMAGE").as_deref(), Some("os"));
    assert_eq!(field(&info, "TARGET").as_deref(), Some("sda"));
    let vnet = doc(client.call("one.vn.info", (net,)).await.unwrap());
    assert!(vnet.contains(&format!("<VM>{vm}</VM>")), "{vnet}");
    assert!(
        vnet.contains(&format!("<UPDATED_VMS><ID>{vm}</ID></UPDATED_VMS>")),
        "the VM's NIC counts it among the network's VMs: {vnet}"
    );
    // The image is in use: it cannot be deleted while the VM lives.
    assert_one_error(
        client.call("one.image.delete", (image,)).await,
        ErrorCode::Action,
        "[one.image.delete] Cannot delete image. There are 1 VMs using it.",
    );
    assert_one_error(
        client
            .call(
                "one.vm.attachnic",
                (vm, "NIC=[NETWORK_ID=\"0\", IP=\"10.0.0.10\"]"),
            )
            .await,
        ErrorCode::Action,
        "[one.vm.attachnic] Cannot get IP/MAC lease from virtual network 0.",
    );
    client
        .call("one.vm.action", ("terminate", vm))
        .await
        .unwrap();
    let vnet = doc(client.call("one.vn.info", (net,)).await.unwrap());
    assert_eq!(field(&vnet, "USED_LEASES").as_deref(), Some("0"));
    assert!(vnet.contains("<UPDATED_VMS></UPDATED_VMS>") || vnet.contains("<UPDATED_VMS/>"));
    client.call("one.image.delete", (image,)).await.unwrap();
}
