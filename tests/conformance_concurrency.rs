//! 200 clients hit one test server at once with a mix of writes and reads; no call may fail
//! and no write may be lost: every allocated template, VM and host is in its pool afterwards,
//! with the name it was given and the last update applied, and no id is handed out twice.
//!
//! Bounded by a round count per client and an overall deadline (no sleeps).

#![cfg(all(feature = "conformance", feature = "test-server"))]

#[path = "support_conformance/mod.rs"]
mod support_conformance;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use opennebula::server::TestServer;
use opennebula::wire::Value;
use support_conformance::{parse_document, XmlNode};

const CLIENTS: usize = 200;
/// Rounds per client; each round makes 4 to 7 calls.
const ROUNDS: usize = 5;
/// No new round starts after this; the test fails if any client did not finish a round.
const DEADLINE: Duration = Duration::from_secs(60);

/// What one client created.
#[derive(Default, Debug)]
struct Created {
    templates: Vec<(i32, String, usize)>,
    vms: Vec<(i32, String)>,
    hosts: Vec<(i32, String)>,
    calls: usize,
    rounds: usize,
}

fn document(value: Value, what: &str) -> XmlNode {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what}: not a string: {value:?}"))
        .to_owned();
    parse_document(&text).unwrap_or_else(|| panic!("{what}: not a document: {text}"))
}

fn child<'a>(node: &'a XmlNode, name: &str) -> Option<&'a XmlNode> {
    node.children.iter().find(|c| c.name == name)
}

fn text_of(node: &XmlNode, path: &[&str]) -> Option<String> {
    let mut at = node;
    for name in path {
        at = child(at, name)?;
    }
    Some(at.text.clone())
}

async fn client_work(
    client: opennebula::Client,
    c: usize,
    deadline: Instant,
) -> Result<Created, String> {
    let mut created = Created::default();
    for r in 0..ROUNDS {
        if Instant::now() >= deadline {
            break;
        }
        let name = format!("conc-{c}-{r}");
        let id: i32 = client
            .call_as(
                "one.template.allocate",
                (format!(
                    "NAME=\"{name}\"\nCPU=\"0.1\"\nMEMORY=\"32\"\nROUND=\"{r}\"\n"
                ),),
            )
            .await
            .map_err(|e| format!("client {c} round {r}: template.allocate: {e}"))?;
        created.calls += 1;
        // Merge an attribute, then read it back from this client's own write.
        client
            .call(
                "one.template.update",
                (
                    id,
                    format!("UPDATED_BY=\"client-{c}\"\nUPDATE_ROUND=\"{r}\""),
                    1,
                ),
            )
            .await
            .map_err(|e| format!("client {c} round {r}: template.update {id}: {e}"))?;
        let info = client
            .call("one.template.info", (id, false, false))
            .await
            .map_err(|e| format!("client {c} round {r}: template.info {id}: {e}"))?;
        created.calls += 2;
        let doc = document(info, "template.info");
        let got_name = text_of(&doc, &["NAME"]);
        let updated_by = text_of(&doc, &["TEMPLATE", "UPDATED_BY"]);
        if got_name.as_deref() != Some(name.as_str())
            || updated_by.as_deref() != Some(format!("client-{c}").as_str())
        {
            return Err(format!(
                "client {c}: template {id} reads back NAME {got_name:?} UPDATED_BY {updated_by:?}"
            ));
        }
        created.templates.push((id, name.clone(), r));

        if r % 3 == 0 {
            let vm_name = format!("conc-vm-{c}-{r}");
            let vm: i32 = client
                .call_as(
                    "one.template.instantiate",
                    (id, vm_name.clone(), false, String::new(), false),
                )
                .await
                .map_err(|e| format!("client {c} round {r}: template.instantiate {id}: {e}"))?;
            client
                .call("one.vm.info", (vm, false))
                .await
                .map_err(|e| format!("client {c} round {r}: vm.info {vm}: {e}"))?;
            created.calls += 2;
            created.vms.push((vm, vm_name));
        }
        if c % 20 == 0 {
            let host_name = format!("conc-host-{c}-{r}");
            let host: i32 = client
                .call_as(
                    "one.host.allocate",
                    (host_name.clone(), "dummy", "dummy", -1),
                )
                .await
                .map_err(|e| format!("client {c} round {r}: host.allocate: {e}"))?;
            created.calls += 1;
            created.hosts.push((host, host_name));
        }
        // A pool read, different per client: ranges near its own ids (whole pools of
        // thousands of objects would make the test measure XML rendering, not concurrency;
        // the whole pools are read and checked at the end).
        let low = (id - 20).max(0);
        let (method, params): (&str, Vec<Value>) = match (c + r) % 4 {
            0 => (
                "one.templatepool.info",
                vec![(-2).into(), low.into(), id.into()],
            ),
            1 => (
                "one.vmpool.info",
                vec![(-2).into(), low.into(), id.into(), (-1).into()],
            ),
            2 => ("one.hostpool.info", vec![]),
            _ => ("one.user.info", vec![(-1).into()]),
        };
        client
            .call(method, params)
            .await
            .map_err(|e| format!("client {c} round {r}: {method}: {e}"))?;
        created.calls += 1;
        created.rounds += 1;
    }
    Ok(created)
}

/// id -> NAME of every element `item` of a pool document.
fn pool_names(pool: &XmlNode, item: &str) -> BTreeMap<i32, String> {
    let mut out = BTreeMap::new();
    for node in pool.children.iter().filter(|c| c.name == item) {
        let id: i32 = text_of(node, &["ID"]).unwrap().parse().unwrap();
        let name = text_of(node, &["NAME"]).unwrap();
        assert!(
            out.insert(id, name).is_none(),
            "id {id} listed twice in the pool"
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_mixed_calls_no_error_no_lost_update() {
    let server = TestServer::start().await.expect("start the test server");
    let started = Instant::now();
    let deadline = started + DEADLINE;
    let mut tasks = Vec::with_capacity(CLIENTS);
    for c in 0..CLIENTS {
        // Each task has its own client (its own connection pool), like separate programs.
        let client = server.client().expect("client");
        tasks.push(tokio::spawn(client_work(client, c, deadline)));
    }
    let mut results = Vec::with_capacity(CLIENTS);
    let mut errors = Vec::new();
    for task in tasks {
        match task.await.expect("client task panicked") {
            Ok(created) => results.push(created),
            Err(e) => errors.push(e),
        }
    }
    let elapsed = started.elapsed();
    assert!(
        errors.is_empty(),
        "{} clients failed, first: {:#?}",
        errors.len(),
        &errors[..errors.len().min(10)]
    );
    let calls: usize = results.iter().map(|r| r.calls).sum();
    let unfinished = results.iter().filter(|r| r.rounds == 0).count();
    println!(
        "{CLIENTS} clients, {calls} calls in {elapsed:.2?} ({:.0} calls/s); rounds done: {}/{}",
        calls as f64 / elapsed.as_secs_f64(),
        results.iter().map(|r| r.rounds).sum::<usize>(),
        CLIENTS * ROUNDS
    );
    assert_eq!(
        unfinished, 0,
        "clients that finished no round before the deadline"
    );

    // No lost update: everything allocated is listed, under its own name, once.
    let admin = server.client().unwrap();
    let read_started = Instant::now();
    let templates = pool_names(
        &document(
            admin
                .call("one.templatepool.info", (-2, -1, -1))
                .await
                .unwrap(),
            "templatepool",
        ),
        "VMTEMPLATE",
    );
    let vms = pool_names(
        &document(
            admin
                .call("one.vmpool.info", (-2, -1, -1, -2))
                .await
                .unwrap(),
            "vmpool",
        ),
        "VM",
    );
    let hosts = pool_names(
        &document(
            admin.call("one.hostpool.info", ()).await.unwrap(),
            "hostpool",
        ),
        "HOST",
    );
    println!(
        "final reads of the template, VM and host pools ({} + {} + {} objects): {:.2?}",
        templates.len(),
        vms.len(),
        hosts.len(),
        read_started.elapsed()
    );
    let mut seen_ids = BTreeSet::new();
    let mut template_count = 0;
    for created in &results {
        for (id, name, _) in &created.templates {
            assert!(seen_ids.insert(*id), "template id {id} handed out twice");
            assert_eq!(
                templates.get(id),
                Some(name),
                "template {id} lost or renamed"
            );
            template_count += 1;
        }
        for (id, name) in &created.vms {
            assert_eq!(vms.get(id), Some(name), "VM {id} lost or renamed");
        }
        for (id, name) in &created.hosts {
            assert_eq!(hosts.get(id), Some(name), "host {id} lost or renamed");
        }
    }
    assert_eq!(
        templates.len(),
        template_count,
        "the pool holds templates nobody allocated"
    );
    // The merged attribute of every template survived the concurrent writes.
    for created in results.iter().step_by(17) {
        for (id, _, _) in &created.templates {
            let doc = document(
                admin
                    .call("one.template.info", (*id, false, false))
                    .await
                    .unwrap(),
                "template.info",
            );
            assert!(text_of(&doc, &["TEMPLATE", "UPDATED_BY"]).is_some());
        }
    }
}
