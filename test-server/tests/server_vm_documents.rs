//! The VM documents of the test server, read back with the generated models: history
//! records as oned keeps them (plans, copies on driver actions, prolog/running/epilog
//! times, request ids), disk snapshots, scheduled actions last in TEMPLATE, the lock after
//! DEPLOY_ID, and pool listings without monitoring.

mod server_support;

use opennebula::models::{Vm, VmHistory, VmPoolExtended};
use opennebula::xml::FromXml;
use opennebula::Client;
use opennebula_test_server::TestServer;
use server_support::{doc, int};

async fn vm(client: &Client, id: i32) -> (String, Vm) {
    let xml = doc(client.call("one.vm.info", (id,)).await.unwrap());
    let model = Vm::from_xml(&xml).expect("a VM document");
    (xml, model)
}

async fn records(client: &Client, id: i32) -> Vec<VmHistory> {
    vm(client, id).await.1.history_records.history
}

/// Two monitored hosts and `vms` VMs allocated (PENDING), with the scheduler off.
async fn setup(vms: usize) -> (TestServer, Client) {
    let server = TestServer::builder()
        .auto_schedule(false)
        .start()
        .await
        .unwrap();
    let client = server.client().unwrap();
    for name in ["host-a", "host-b"] {
        client
            .call("one.host.allocate", (name, "dummy", "dummy", -1))
            .await
            .unwrap();
    }
    for i in 0..vms {
        let template =
            format!("NAME=\"vm-{i}\"\nCPU=\"0.1\"\nMEMORY=\"64\"\nDISK=[TYPE=\"fs\",SIZE=\"10\"]");
        client
            .call("one.vm.allocate", (template, false))
            .await
            .unwrap();
    }
    (server, client)
}

#[tokio::test]
async fn a_plan_puts_one_vm_per_host_and_numbers_its_placements() {
    let (server, client) = setup(3).await;
    assert_eq!(server.schedule(), 3);
    let mut placed = Vec::new();
    for id in 0..3 {
        let history = records(&client, id).await;
        assert_eq!(history.len(), 1, "VM {id}: one placement");
        let h = &history[0];
        assert_eq!(h.plan_id, -1, "placed by the scheduler");
        assert!(h.pstime > 0 && h.petime > 0, "a placement has a prolog");
        assert!(h.rstime > 0);
        assert_eq!((h.retime, h.estime, h.eetime, h.etime), (0, 0, 0, 0));
        assert_eq!((h.action, h.uid, h.request_id.as_str()), (0, -1, "-1"));
        placed.push((h.hid, h.action_id));
    }
    // The first plan takes one VM per host (both hosts empty: the highest id first); the
    // third VM waits for the next plan, where it is the first placement.
    assert_eq!(placed, [(1, 0), (0, 1), (1, 0)]);
}

#[tokio::test]
async fn driver_actions_close_and_copy_history_records_as_oned() {
    let (server, client) = setup(2).await;
    server.schedule();
    let act = |action: &'static str, id: i32| {
        let client = client.clone();
        async move {
            client
                .call("one.vm.action", (action, id))
                .await
                .unwrap_or_else(|e| panic!("{action} {id}: {e}"));
        }
    };

    // poweroff: the record stays open, with the action, its user and request noted.
    act("poweroff", 0).await;
    let h = records(&client, 0).await;
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].action, h[0].uid, h[0].etime), (19, 0, 0));
    assert!(h[0].retime > 0, "the VM stopped running");
    assert!(h[0].request_id.parse::<i64>().unwrap() > 0);

    // A driver action while powered off closes the record with its own action and opens
    // a copy that keeps the poweroff, without who ran it and without prolog.
    client
        .call("one.vm.resize", (0, "MEMORY=\"128\"", false))
        .await
        .unwrap();
    let h = records(&client, 0).await;
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].action, 35, "resize");
    assert!(h[0].etime > 0);
    assert_eq!((h[1].seq, h[1].action, h[1].uid), (1, 19, -1));
    assert_eq!((h[1].pstime, h[1].petime, h[1].etime), (0, 0, 0));
    assert_eq!(h[1].request_id, "-1");
    assert_eq!(h[1].hid, h[0].hid);

    // resume ends the copy without an action of its own and opens a running record.
    act("resume", 0).await;
    let h = records(&client, 0).await;
    assert_eq!(h.len(), 3);
    assert_eq!(h[1].action, 19);
    assert!(h[1].etime > 0);
    assert_eq!(
        (h[2].action, h[2].pstime, h[2].retime, h[2].etime),
        (0, 0, 0, 0)
    );

    // stop and undeploy run the epilog and end the record; DEPLOY_ID stays.
    act("stop", 1).await;
    let (_, stopped) = vm(&client, 1).await;
    let h = &stopped.history_records.history[0];
    assert_eq!(h.action, 9);
    assert!(h.estime > 0 && h.eetime > 0 && h.etime > 0);
    assert!(!stopped.deploy_id.is_empty());
    let request_ids: Vec<String> = [&records(&client, 0).await[0], h]
        .iter()
        .map(|h| h.request_id.clone())
        .collect();
    assert_ne!(
        request_ids[0], request_ids[1],
        "every request has its own id"
    );
}

/// The request ids a server notes come from its own count of calls: two servers in one
/// process, given the same calls, note the same ids (and a lock notes the same numbering).
#[tokio::test]
async fn request_ids_are_numbered_per_server() {
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (server, client) = setup(1).await;
        server.schedule();
        // setup made 3 calls (2 hosts, 1 VM); info, lock and unlock are calls 4 to 6.
        vm(&client, 0).await;
        client.call("one.vm.lock", (0, 1, false)).await.unwrap();
        client.call("one.vm.unlock", (0,)).await.unwrap();
        client.call("one.vm.action", ("poweroff", 0)).await.unwrap();
        let h = records(&client, 0).await;
        seen.push(h[0].request_id.clone());
    }
    assert_eq!(seen[0], seen[1], "independent servers number alike");
    assert_eq!(seen[0], "7", "the poweroff is the 7th call of the server");
}

/// attachpci takes the dummy host's device the request names (by SHORT_ADDRESS, or by
/// VENDOR/DEVICE/CLASS) and notes where the VM sees it, one bus per device.
#[tokio::test]
async fn attachpci_assigns_the_hosts_device() {
    let (server, client) = setup(1).await;
    server.schedule();
    client.call("one.vm.action", ("poweroff", 0)).await.unwrap();
    for request in [
        "PCI=[SHORT_ADDRESS=\"00:06.0\"]",
        "PCI=[VENDOR=\"10de\", CLASS=\"0302\"]",
    ] {
        client.call("one.vm.attachpci", (0, request)).await.unwrap();
    }
    let (xml, _) = vm(&client, 0).await;
    let pcis: Vec<&str> = xml.split("<PCI>").skip(1).collect();
    assert_eq!(pcis.len(), 2, "{xml}");
    for (pci, wanted) in [
        (
            pcis[0],
            ["0000:00:06:0", "1b21", "0c03", "06", "01:00.0", "0x01"],
        ),
        (
            pcis[1],
            ["0000:02:00:0", "10de", "0302", "00", "02:00.0", "0x02"],
        ),
    ] {
        for (name, value) in ["ADDRESS", "VENDOR", "CLASS", "SLOT", "VM_ADDRESS", "VM_BUS"]
            .iter()
            .zip(wanted)
        {
            assert!(
                pci.contains(&format!("<{name}><![CDATA[{value}]]></{name}>"))
                    || pci.contains(&format!("<{name}>{value}</{name}>")),
                "{name} {value} in {pci}"
            );
        }
    }
}

#[tokio::test]
async fn vm_documents_follow_the_schema_order() {
    let (server, client) = setup(1).await;
    server.schedule();

    // Disk snapshots: one tree per disk, kept (empty) once the snapshots are deleted.
    let sid = int(client
        .call("one.vm.disksnapshotcreate", (0, 0, "snap-a"))
        .await
        .unwrap());
    assert_eq!(sid, 0);
    let (_, model) = vm(&client, 0).await;
    assert_eq!(model.snapshots.len(), 1);
    let tree = &model.snapshots[0];
    assert_eq!((tree.disk_id, tree.next_snapshot), (0, 1));
    assert_eq!(tree.snapshot.len(), 1);
    assert_eq!(tree.snapshot[0].name.as_deref(), Some("snap-a"));
    assert_eq!(tree.snapshot[0].size, 10);
    let disk = model.template.vectors("DISK").next().unwrap();
    assert_eq!(disk.get("DISK_SNAPSHOT_TOTAL_SIZE"), Some("10"));
    client.call("one.vm.action", ("poweroff", 0)).await.unwrap();
    client
        .call("one.vm.disksnapshotdelete", (0, 0, 0))
        .await
        .unwrap();
    let (_, model) = vm(&client, 0).await;
    assert_eq!(model.snapshots.len(), 1);
    assert!(model.snapshots[0].snapshot.is_empty());
    client.call("one.vm.action", ("resume", 0)).await.unwrap();

    // A scheduled action is the last child of TEMPLATE, its members in oned's order.
    client
        .call(
            "one.vm.schedadd",
            (0, "SCHED_ACTION=[ACTION=\"reboot\",TIME=\"+3600\"]"),
        )
        .await
        .unwrap();
    let (xml, model) = vm(&client, 0).await;
    assert_eq!(model.template.names().last(), Some("SCHED_ACTION"));
    let action = model.template.vector("SCHED_ACTION").unwrap();
    let members: Vec<&str> = action.names().collect();
    assert_eq!(
        members,
        [
            "ID",
            "PARENT_ID",
            "TYPE",
            "ACTION",
            "ARGS",
            "TIME",
            "REPEAT",
            "DAYS",
            "END_TYPE",
            "END_VALUE",
            "DONE",
            "MESSAGE",
            "WARNING"
        ]
    );
    assert_eq!(model.sched_actions.id, [0]);
    assert!(xml.contains("</SCHED_ACTION></TEMPLATE>"));

    // The lock comes right after DEPLOY_ID, with the request that set it.
    client.call("one.vm.lock", (0, 1)).await.unwrap();
    let (xml, model) = vm(&client, 0).await;
    let lock = model.lock.expect("locked");
    assert!(lock.req_id.unwrap() > 0);
    assert!(xml.contains("</DEPLOY_ID><LOCK>"));
    client.call("one.vm.unlock", (0,)).await.unwrap();

    // Pool listings carry no monitoring, even for a VM that was polled.
    let xml = doc(client
        .call("one.vmpool.infoextended", (-2, -1, -1, -1))
        .await
        .unwrap());
    let pool = VmPoolExtended::from_xml(&xml).expect("an extended VM pool");
    assert_eq!(pool.vm.len(), 1);
    assert_eq!(pool.vm[0].last_poll, 0);
    assert_eq!(pool.vm[0].monitoring, Default::default());
    assert_eq!(
        pool.vm[0].history_records.history.len(),
        1,
        "the last record"
    );
}

#[tokio::test]
async fn the_dummy_monitor_keeps_a_series_per_vm() {
    // The monitor runs with the automatic scheduler, which places the VMs itself.
    let server = TestServer::start().await.unwrap();
    let client = server.client().unwrap();
    for name in ["host-a", "host-b"] {
        client
            .call("one.host.allocate", (name, "dummy", "dummy", -1))
            .await
            .unwrap();
    }
    for i in 0..2 {
        let template = format!("NAME=\"vm-{i}\"\nCPU=\"0.1\"\nMEMORY=\"64\"");
        client
            .call("one.vm.allocate", (template, false))
            .await
            .unwrap();
    }
    let count = |xml: &str| xml.matches("<MONITORING>").count();
    let series = |id: i32| {
        let client = client.clone();
        async move { doc(client.call("one.vm.monitoring", (id,)).await.unwrap()) }
    };
    assert_eq!(count(&series(0).await), 0, "not polled yet");
    // Every call is a tick of the server's clock; two monitoring periods of calls.
    let mut cycles = 0;
    for _ in 0..200 {
        let xml = series(0).await;
        cycles = count(&xml);
        if cycles == 2 {
            break;
        }
    }
    assert_eq!(cycles, 2, "two monitoring cycles within 200 calls");
    let xml = series(0).await;
    let data = opennebula::models::MonitoringData::from_xml(&xml).unwrap();
    assert!(data.monitoring.iter().all(|m| m.id == Some(0)));
    assert!(data.monitoring[0].timestamp <= data.monitoring[1].timestamp);
    assert_eq!(data.monitoring[0].memory, Some(65536.0));
    // Both VMs are polled in each cycle; `0` asks for the last record of each.
    let all = doc(client
        .call("one.vmpool.monitoring", (-2, -1))
        .await
        .unwrap());
    assert_eq!(count(&all), 4);
    let last = doc(client.call("one.vmpool.monitoring", (-2, 0)).await.unwrap());
    let last = opennebula::models::MonitoringData::from_xml(&last).unwrap();
    let ids: Vec<Option<i64>> = last.monitoring.iter().map(|m| m.id).collect();
    assert_eq!(ids, [Some(0), Some(1)]);
    // VM documents carry the last sample; pool listings none.
    let (_, model) = vm(&client, 1).await;
    assert!(model.last_poll > 0);
    assert_eq!(model.monitoring.id, Some(1));
}
