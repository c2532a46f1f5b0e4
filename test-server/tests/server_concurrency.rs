//! Many clients at once: no error, no lost update.

mod server_support;

use std::collections::BTreeSet;

use opennebula_test_server::TestServer;
use server_support::{doc, int, pool_ids};

const CLIENTS: usize = 200;
const ROUNDS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_clients_doing_mixed_calls() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    admin
        .call("one.host.allocate", ("shared-host", "dummy", "dummy", -1))
        .await
        .unwrap();
    // Building a native-tls HTTP stack costs ~100 ms (it loads the system's root
    // certificates), so the 200 clients share one; each call still opens its own connection
    // (the server answers `Connection: close`, as oned does), so 200 tasks mean 200
    // concurrent connections.
    let http = reqwest::Client::new();
    let mut tasks = Vec::with_capacity(CLIENTS);
    for client_no in 0..CLIENTS {
        let client = server
            .client_builder()
            .http_client(http.clone())
            .build()
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let mut created = Vec::new();
            for round in 0..ROUNDS {
                let name = format!("c{client_no}-r{round}");
                let template = int(client
                    .call(
                        "one.template.allocate",
                        (format!("NAME=\"{name}\"\nMEMORY=\"8\""),),
                    )
                    .await
                    .unwrap());
                client
                    .call("one.template.update", (template, "LABEL=\"x\"", 1))
                    .await
                    .unwrap();
                let info = doc(client.call("one.template.info", (template,)).await.unwrap());
                assert!(info.contains(&format!("<NAME>{name}</NAME>")));
                let vm = int(client
                    .call(
                        "one.template.instantiate",
                        (template, name.as_str(), false, "", false),
                    )
                    .await
                    .unwrap());
                client.call("one.hostpool.info", ()).await.unwrap();
                client.call("one.vm.info", (vm,)).await.unwrap();
                created.push((template, vm));
            }
            created
        }));
    }
    let mut templates = BTreeSet::new();
    let mut vms = BTreeSet::new();
    for task in tasks {
        for (template, vm) in task.await.expect("no client failed") {
            assert!(
                templates.insert(template),
                "template id {template} given twice"
            );
            assert!(vms.insert(vm), "vm id {vm} given twice");
        }
    }
    assert_eq!(templates.len(), CLIENTS * ROUNDS);
    // Every allocation is visible in the pools afterwards.
    let pool = doc(admin
        .call("one.templatepool.info", (-2, -1, -1))
        .await
        .unwrap());
    let listed: BTreeSet<i32> = pool_ids(&pool, "VMTEMPLATE").into_iter().collect();
    assert_eq!(listed, templates);
    let pool = doc(admin
        .call("one.vmpool.info", (-2, -1, -1, -2))
        .await
        .unwrap());
    let listed: BTreeSet<i32> = pool_ids(&pool, "VM").into_iter().collect();
    assert_eq!(listed, vms);
    let calls = server.received_calls().len();
    assert_eq!(calls, 1 + CLIENTS * ROUNDS * 6 + 2);
}
