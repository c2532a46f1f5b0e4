//! Documents of the test server built from the generated models: hook executions, quota
//! usage, the dummy driver's hosts and IPv6 address ranges, read back with the same models.

mod server_support;

use base64::Engine as _;
use opennebula::models;
use opennebula::xml::FromXml;
use opennebula::{Client, Value};
use opennebula_test_server::TestServer;
use server_support::{doc, int};

async fn admin() -> (TestServer, Client) {
    let server = TestServer::start().await.unwrap();
    let client = server.client().unwrap();
    (server, client)
}

#[tokio::test]
async fn api_hooks_log_their_executions_and_can_be_retried() {
    let (_server, one) = admin().await;
    let hook = int(one
        .call(
            "one.hook.allocate",
            ("NAME=\"api\"\nTYPE=\"api\"\nCOMMAND=\"/bin/echo\"\nARGUMENTS=\"$API\"\nCALL=\"one.user.passwd\"",),
        )
        .await
        .unwrap());
    let user = int(one
        .call(
            "one.user.allocate",
            ("bob", "bobpw", "core", Value::Array(vec![])),
        )
        .await
        .unwrap());
    one.call("one.user.passwd", (user, "secret-pw"))
        .await
        .unwrap();

    let info =
        models::Hook::from_xml(&doc(one.call("one.hook.info", (hook,)).await.unwrap())).unwrap();
    let log = info.hooklog.expect("hook.info carries the log");
    assert_eq!(log.hook_execution_record.len(), 1);
    let record = &log.hook_execution_record[0];
    assert_eq!((record.hook_id, record.execution_id), (i64::from(hook), 0));
    assert_eq!(record.execution_result.code, "0");
    // $API is the call's CALL_INFO, base64-encoded, with the session and password hidden.
    let call_info = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&record.arguments)
            .unwrap(),
    )
    .unwrap();
    assert!(call_info.starts_with("<CALL_INFO>\n  <RESULT>1</RESULT>"));
    assert!(!call_info.contains("secret-pw"));
    assert_eq!(call_info.matches("<VALUE>****</VALUE>").count(), 2);
    assert_eq!(
        record.execution_result.command,
        format!("/bin/echo {}", record.arguments)
    );
    // echo's output, encoded again in lines of 60 characters.
    let stdout: String = record.execution_result.stdout.lines().collect();
    let echoed = base64::engine::general_purpose::STANDARD
        .decode(stdout)
        .unwrap();
    assert_eq!(echoed, format!("{}\n", record.arguments).into_bytes());

    // A retry runs the execution again; the log lists it newest first.
    assert_eq!(
        int(one.call("one.hook.retry", (hook, 0)).await.unwrap()),
        hook
    );
    assert!(one.call("one.hook.retry", (hook, 42)).await.is_err());
    let all = models::HookLog::from_xml(&doc(one
        .call("one.hooklog.info", (0, -1, hook, 0))
        .await
        .unwrap()))
    .unwrap();
    let ids: Vec<(i64, Option<&str>)> = all
        .hook_execution_record
        .iter()
        .map(|r| (r.execution_id, r.retry.as_deref()))
        .collect();
    assert_eq!(ids, [(1, Some("yes")), (0, None)]);
}

#[tokio::test]
async fn host_state_hooks_fire_and_failed_runs_are_filtered() {
    let (_server, one) = admin().await;
    let hook = int(one
        .call(
            "one.hook.allocate",
            ("NAME=\"h\"\nTYPE=\"state\"\nCOMMAND=\"/bin/false\"\nARGUMENTS=\"$ID\"\nRESOURCE=\"HOST\"\nSTATE=\"DISABLED\"",),
        )
        .await
        .unwrap());
    let host = int(one
        .call("one.host.allocate", ("h1", "dummy", "dummy", -1))
        .await
        .unwrap());
    let log_of = |rc: i32| {
        let one = one.clone();
        async move {
            models::HookLog::from_xml(&doc(one
                .call("one.hooklog.info", (0, -1, -1, rc))
                .await
                .unwrap()))
            .unwrap()
            .hook_execution_record
        }
    };
    assert!(log_of(0).await.is_empty(), "no execution before the state");
    one.call("one.host.status", (host, 1)).await.unwrap();
    let failed = log_of(-1).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].hook_id, i64::from(hook));
    assert_eq!(failed[0].execution_result.code, "1");
    assert_eq!(failed[0].execution_result.command, "/bin/false $ID");
    assert!(log_of(1).await.is_empty(), "nothing succeeded");
}

#[tokio::test]
async fn quota_usage_counts_what_a_user_owns() {
    let (server, one) = admin().await;
    let user = int(one
        .call(
            "one.user.allocate",
            ("carol", "carolpw", "core", Value::Array(vec![1.into()])),
        )
        .await
        .unwrap());
    one.call(
        "one.user.quota",
        (
            user,
            "VM=[VMS=\"4\", CPU=\"2\", MEMORY=\"1024\", RUNNING_CPU=\"1\"]",
        ),
    )
    .await
    .unwrap();
    // A later quota call sets every limit of the entry: RUNNING_CPU goes back to -1.
    one.call(
        "one.user.quota",
        (user, "VM=[VMS=\"4\", CPU=\"2\", MEMORY=\"1024\"]"),
    )
    .await
    .unwrap();
    let carol = Client::new(server.url(), "carol:carolpw").unwrap();
    carol
        .call(
            "one.vm.allocate",
            ("NAME=\"q\"\nCPU=\"0.25\"\nMEMORY=\"96\"", true),
        )
        .await
        .unwrap();
    carol
        .call(
            "one.image.allocate",
            ("NAME=\"img\"\nTYPE=\"DATABLOCK\"\nSIZE=\"16\"", 1),
        )
        .await
        .unwrap();

    let info =
        models::User::from_xml(&doc(one.call("one.user.info", (user,)).await.unwrap())).unwrap();
    let vm = &info.vm_quota.unwrap().vm[0];
    assert_eq!((vm.vms.as_str(), vm.vms_used.as_str()), ("4", "1"));
    assert_eq!(vm.cpu_used, "0.25");
    assert_eq!(vm.memory_used, "96");
    assert_eq!(vm.running_cpu, "-1");
    let ds = &info.datastore_quota.unwrap().datastore[0];
    assert_eq!(
        (
            ds.id.as_str(),
            ds.images.as_str(),
            ds.images_used.as_str(),
            ds.size_used.as_str()
        ),
        ("1", "-1", "1", "16")
    );
    // oneadmin's own objects are not counted.
    let admin_info =
        models::User::from_xml(&doc(one.call("one.user.info", (0,)).await.unwrap())).unwrap();
    assert!(admin_info.vm_quota.unwrap().vm.is_empty());
}

#[tokio::test]
async fn a_dummy_host_reports_the_dummy_drivers_hardware() {
    let (_server, one) = admin().await;
    let dummy = int(one
        .call("one.host.allocate", ("d1", "dummy", "dummy", -1))
        .await
        .unwrap());
    let kvm = int(one
        .call("one.host.allocate", ("k1", "kvm", "kvm", -1))
        .await
        .unwrap());
    // Monitoring happens as calls go by; a few reads let it settle.
    let mut host = models::Host::default();
    for _ in 0..5 {
        host = models::Host::from_xml(&doc(one.call("one.host.info", (dummy,)).await.unwrap()))
            .unwrap();
    }
    assert_eq!(host.state, 2, "MONITORED");
    assert_eq!(host.host_share.pci_devices.pci.len(), 22);
    assert_eq!(host.host_share.numa_nodes.node.len(), 2);
    assert_eq!(host.host_share.datastores.free_disk, 20480);
    assert_eq!(host.template.get("HOSTNAME"), Some("d1"));
    assert_eq!(host.template.get("ARCH"), Some("x86_64"));
    assert_eq!(host.monitoring.id, Some(i64::from(dummy)));
    assert_eq!(host.monitoring.numa_node.len(), 2);
    // The pool listing has no monitoring sample; host.monitoring has one per dummy host.
    let pool =
        models::HostPool::from_xml(&doc(one.call("one.hostpool.info", ()).await.unwrap())).unwrap();
    assert!(pool.host.iter().all(|h| h.monitoring.id.is_none()));
    let kvm_host = pool.host.iter().find(|h| h.id == i64::from(kvm)).unwrap();
    assert!(kvm_host.host_share.pci_devices.pci.is_empty());
    assert_eq!(kvm_host.template.get("ARCH"), None);
}

#[tokio::test]
async fn ipv6_address_ranges_derive_their_addresses_from_the_mac() {
    let (_server, one) = admin().await;
    let vnet = int(one
        .call(
            "one.vn.allocate",
            ("NAME=\"v6\"\nVN_MAD=\"bridge\"\nBRIDGE=\"br0\"\nAR=[TYPE=\"IP6\", SIZE=\"4\", MAC=\"02:00:99:dd:23:55\", ULA_PREFIX=\"fd00::\", GLOBAL_PREFIX=\"2001:db8::\"]", -1),
        )
        .await
        .unwrap());
    let net =
        models::VirtualNetwork::from_xml(&doc(one.call("one.vn.info", (vnet,)).await.unwrap()))
            .unwrap();
    let ar = &net.ar_pool.ar[0];
    assert_eq!(ar.ip6_ula.as_deref(), Some("fd00::99ff:fedd:2355"));
    assert_eq!(ar.ip6_ula_end.as_deref(), Some("fd00::99ff:fedd:2358"));
    assert_eq!(ar.ip6_global.as_deref(), Some("2001:db8::99ff:fedd:2355"));
    // An abridged AR without allocations has no ALLOCATED.
    let pool = models::VirtualNetworkPool::from_xml(&doc(one
        .call("one.vnpool.info", (-2, -1, -1))
        .await
        .unwrap()))
    .unwrap();
    assert_eq!(pool.vnet[0].ar_pool.ar[0].allocated, None);
}
