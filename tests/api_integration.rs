//! The typed API against a fresh test server: at least one call of every namespace handle,
//! every call of PyONE's documented examples, and the helpers, through both the async and the
//! blocking client.
//!
//! The scenarios are written once, as macros over a `call!` that is `.await` for the async
//! client and nothing for the blocking one, so both surfaces run exactly the same calls and
//! assertions. A fresh server starts in the state of a freshly bootstrapped oned, so the IDs
//! asserted here are the ones oned would give.

use opennebula::api::helpers::{self, WaitOptions};
use opennebula::api::{
    acl::AclRule, HostState, ImageState, LcmState, MarketPlaceAppState, PoolFilter, UpdateType,
    VmAction, VmState, VmStateFilter,
};
use opennebula::template::Template;
use opennebula::{template, Error, ErrorCode};
#[cfg(feature = "blocking")]
use opennebula_test_server::BlockingTestServer;
use opennebula_test_server::TestServer;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Asserts that `result` is OpenNebula's refusal with `code` and a message starting with
/// `message` (oned's own words, from the recorded traffic).
#[track_caller]
fn assert_one_error<T: std::fmt::Debug>(
    result: opennebula::Result<T>,
    code: ErrorCode,
    message: &str,
) {
    match result {
        Err(Error::OpenNebula(e)) => {
            assert_eq!(e.code, code, "{e}");
            assert!(
                e.message.starts_with(message),
                "expected {message:?}, got {:?}",
                e.message
            );
        }
        other => panic!("expected OpenNebula error {code} {message:?}, got {other:?}"),
    }
}

/// One call of every namespace handle, with typed results checked. `$one` is the client and
/// `$call` the macro that completes a call (`.await` or nothing).
macro_rules! every_namespace {
    ($one:expr, $call:ident, $wait:path) => {{
        let one = $one;

        // system
        assert_eq!($call!(one.system().version())?, "7.5.80");
        let config = $call!(one.system().config())?;
        assert_eq!(config.action_timeout, Some(300));
        assert_eq!(config.api_list_order, ["DESC"]);

        // userpool, user, userquota
        let users = $call!(one.userpool().info())?;
        let names: Vec<&str> = users.user.iter().map(|u| u.name.as_str()).collect();
        assert!(names.contains(&"oneadmin") && names.contains(&"serveradmin"), "{names:?}");
        let alice = $call!(one.user().allocate("alice", "alicepw", "core"))?;
        assert_eq!(alice, 2, "users start at 2");
        $call!(one.user().update_merge(alice, template! { TEAM = "qa" }))?;
        let user = $call!(one.user().info(alice))?;
        assert_eq!((user.name.as_str(), user.gid), ("alice", 1));
        assert_eq!(user.template.get("TEAM"), Some("qa"));
        $call!(one.userquota().info())?;
        let quotas = $call!(one.userquota().update(r#"VM=[VMS="50", MEMORY="65536", CPU="32"]"#))?;
        // oned answers with the new limits.
        let vm_quota = quotas.vm_quota.and_then(|q| q.vm).expect("VM_QUOTA/VM after an update");
        assert_eq!((vm_quota.vms.as_str(), vm_quota.memory.as_str(), vm_quota.cpu.as_str()), ("50", "65536", "32"));

        // grouppool, group, groupquota
        let groups = $call!(one.grouppool().info())?;
        assert_eq!(
            groups.group.iter().map(|g| (g.id, g.name.as_str())).collect::<Vec<_>>(),
            [(1, "users"), (0, "oneadmin")]
        );
        let group = $call!(one.group().allocate("testers"))?;
        assert_eq!(group, 100, "groups start at 100");
        assert_eq!($call!(one.group().info(group))?.name, "testers");
        $call!(one.groupquota().info())?;

        // acl
        let rules = $call!(one.acl().info())?.acl.len();
        let rule: AclRule = "#2 HOST+VM/* USE+MANAGE #0".parse()?;
        let rule_id = $call!(one.acl().add(&rule))?;
        let acls = $call!(one.acl().info())?;
        assert_eq!(acls.acl.len(), rules + 1);
        let added = acls.acl.iter().find(|a| a.id == i64::from(rule_id)).expect("the new rule");
        assert_eq!(added.rule()?, rule);
        assert_eq!(added.string, "#2 VM+HOST/* USE+MANAGE #0");
        $call!(one.acl().del_rule(rule_id))?;
        assert_eq!($call!(one.acl().info())?.acl.len(), rules);

        // zonepool, zone
        let zones = $call!(one.zonepool().info())?;
        assert_eq!(zones.zone.len(), 1);
        assert_eq!($call!(one.zone().info(0))?.name, "OpenNebula");
        assert_one_error(
            $call!(one.zone().del_server(0, 99)),
            ErrorCode::Action,
            "[one.zone.delserver] SERVER not found in zone",
        );

        // vdcpool, vdc
        assert_eq!($call!(one.vdcpool().info())?.vdc[0].name, "default");
        let vdc = $call!(one.vdc().allocate(r#"NAME="test-vdc""#))?;
        assert_eq!(vdc, 100);
        $call!(one.vdc().add_group(vdc, group))?;
        assert_eq!($call!(one.vdc().info(vdc))?.name, "test-vdc");

        // clusterpool, cluster
        let cluster = $call!(one.cluster().allocate("test-cluster"))?;
        assert_eq!(cluster, 100);
        assert_eq!($call!(one.cluster().info(cluster))?.name, "test-cluster");
        let clusters = $call!(one.clusterpool().info())?;
        assert_eq!(clusters.cluster.iter().map(|c| c.id).collect::<Vec<_>>(), [100, 0]);
        assert_one_error(
            $call!(one.cluster().plan_delete(cluster)),
            ErrorCode::Action,
            "[one.cluster.plandelete] Plan for cluster 100 does not exist",
        );

        // datastorepool, datastore
        let datastores = $call!(one.datastorepool().info())?;
        let mut ds_names: Vec<&str> = datastores.datastore.iter().map(|d| d.name.as_str()).collect();
        ds_names.sort_unstable();
        assert_eq!(ds_names, ["default", "files", "system"]);
        assert_eq!($call!(one.datastore().info(1))?.name, "default");

        // host, hostpool
        let host = $call!(one.host().allocate("host-a", "dummy", "dummy", -1))?;
        assert_eq!(host, 0);
        let host_doc = $call!(one.host().info(host))?;
        assert_eq!((host_doc.name.as_str(), host_doc.cluster_id), ("host-a", 0));
        assert_eq!($call!(one.hostpool().info())?.host.len(), 1);

        // image, imagepool
        let image = $call!(one.image().allocate(
            template! { NAME = "disk-a", TYPE = "DATABLOCK", SIZE = 64 },
            1
        ))?;
        assert_eq!(image, 0);
        let image_doc = $call!(one.image().info(image))?;
        assert_eq!(image_doc.name, "disk-a");
        // LOCKED while the datastore copies it, as in oned; READY a few calls later.
        assert_eq!(image_doc.state(), ImageState::Locked);
        assert_eq!($call!(one.imagepool().info_all())?.image.len(), 1);

        // template, templatepool
        let template = $call!(one.template().allocate(format!(
            "NAME=\"tmpl-a\"\nCPU=\"0.1\"\nMEMORY=\"64\"\nDISK=[IMAGE_ID=\"{image}\"]"
        )))?;
        assert_eq!(template, 0);
        let tmpl = $call!(one.template().info(template))?;
        assert_eq!(tmpl.template.vector("DISK").and_then(|d| d.get("IMAGE_ID")), Some("0"));
        assert_eq!($call!(one.templatepool().info_all())?.vmtemplate[0].name, "tmpl-a");
        assert_eq!($call!(one.image().info(image))?.state(), ImageState::Ready);

        // vm, vmpool: the scheduler deploys the VM on host-a
        let vm = $call!(one.template().instantiate_simple(template, "vm-a"))?;
        assert_eq!(vm, 0);
        // PENDING at first, as in oned; RUNNING once the host is monitored and the
        // scheduler has placed it (wait_for_vm_state polls one.vm.info).
        assert_eq!($call!(one.vm().info(vm))?.state(), VmState::Pending);
        let vm_doc = $call!($wait(one, vm, VmState::Active, Some(LcmState::Running), quick_wait()))?;
        assert_eq!(vm_doc.name, "vm-a");
        assert_eq!(
            (vm_doc.state(), vm_doc.lcm_state()),
            (VmState::Active, LcmState::Running)
        );
        assert_eq!(vm_doc.history_records.history.last().map(|h| h.hid), Some(host.into()));
        let pool = $call!(one.vmpool().info(PoolFilter::All, -1, -1, VmStateFilter::NotDone))?;
        assert_eq!(pool.vm.iter().map(|v| v.id).collect::<Vec<_>>(), [0]);
        $call!(one.vm().action(VmAction::Poweroff, vm))?;
        assert_eq!($call!(one.vm().info(vm))?.state(), VmState::Poweroff);
        // Not allowed in POWEROFF: oned's ACTION error.
        let refused = $call!(one.vm().action(VmAction::Suspend, vm));
        assert_eq!(refused.as_ref().err().and_then(Error::code), Some(ErrorCode::Action), "{refused:?}");

        // vn, vnpool
        let vn = $call!(one.vn().allocate(
            "NAME=\"net-a\"\nVN_MAD=\"bridge\"\nBRIDGE=\"br0\"\nAR=[TYPE=\"IP4\", IP=\"10.0.0.1\", SIZE=\"16\"]",
            -1
        ))?;
        assert_eq!(vn, 0);
        assert_eq!($call!(one.vn().info(vn))?.name, "net-a");
        assert_eq!($call!(one.vnpool().info_all())?.vnet.len(), 1);
        assert_one_error(
            $call!(one.vn().allocate("NAME=\"no-mad\"\nBRIDGE=\"br-x\"", -1)),
            ErrorCode::Internal,
            "[one.vn.allocate] No VN_MAD in template for Virtual Network.",
        );

        // vntemplate, vntemplatepool
        let vnt = $call!(one.vntemplate().allocate("NAME=\"vnt-a\"\nVN_MAD=\"bridge\"\nBRIDGE=\"br1\""))?;
        assert_eq!(vnt, 0);
        assert_eq!($call!(one.vntemplate().info(vnt))?.name, "vnt-a");
        assert_eq!($call!(one.vntemplatepool().info_all())?.vntemplate.len(), 1);

        // secgroup, secgrouppool (security group 0 is oned's "default")
        let sg = $call!(one.secgroup().allocate(
            "NAME=\"sg-a\"\nRULE=[PROTOCOL=\"TCP\", RULE_TYPE=\"inbound\", RANGE=\"22\"]"
        ))?;
        assert_eq!(sg, 100);
        assert_eq!($call!(one.secgroup().info(sg))?.name, "sg-a");
        let sgs = $call!(one.secgrouppool().info_all())?;
        assert_eq!(sgs.security_group.iter().map(|s| s.id).collect::<Vec<_>>(), [100, 0]);

        // vrouter, vrouterpool
        let vr = $call!(one.vrouter().allocate(format!("NAME=\"vr-a\"\nNIC=[NETWORK_ID=\"{vn}\"]")))?;
        assert_eq!(vr, 0);
        assert_eq!($call!(one.vrouter().info(vr))?.name, "vr-a");
        assert_eq!($call!(one.vrouterpool().info_all())?.vrouter.len(), 1);

        // vmgroup, vmgrouppool
        let vmg = $call!(one.vmgroup().allocate("NAME=\"vmg-a\"\nROLE=[NAME=\"web\"]"))?;
        assert_eq!(vmg, 0);
        assert_eq!($call!(one.vmgroup().info(vmg))?.name, "vmg-a");
        assert_eq!($call!(one.vmgrouppool().info_all())?.vm_group.len(), 1);
        assert_one_error(
            $call!(one.vmgroup().allocate("NAME=\"dup\"\nROLE=[NAME=\"a\"]\nROLE=[NAME=\"a\"]")),
            ErrorCode::Internal,
            "[one.vmgroup.allocate] Role already exists",
        );

        // document, documentpool
        let doc = $call!(one.document().allocate("NAME=\"doc-a\"\nKIND=\"test\"", 100))?;
        assert_eq!(doc, 0);
        let doc_doc = $call!(one.document().info(doc))?;
        assert_eq!((doc_doc.name.as_str(), doc_doc.type_.as_str()), ("doc-a", "100"));
        assert_eq!($call!(one.documentpool().info_all(100))?.document.len(), 1);
        assert!($call!(one.documentpool().info_all(101))?.document.is_empty());

        // market, marketpool, marketapp, marketapppool
        let markets = $call!(one.marketpool().info())?;
        assert_eq!(markets.marketplace.len(), 2);
        let market = $call!(one.market().allocate(
            "NAME=\"mk-a\"\nMARKET_MAD=\"http\"\nBASE_URL=\"http://127.0.0.1:8099/\"\nPUBLIC_DIR=\"/var/tmp/mk\""
        ))?;
        assert_eq!(market, 100);
        assert_eq!($call!(one.market().info(market))?.market_mad, "http");
        let app = $call!(one.marketapp().allocate("NAME=\"app-a\"\nORIGIN_ID=\"-1\"\nSIZE=\"1\"", market))?;
        assert_eq!(app, 0);
        let app_doc = $call!(one.marketapp().info(app))?;
        assert_eq!((app_doc.name.as_str(), app_doc.marketplace_id), ("app-a", 100));
        assert!(MarketPlaceAppState::ALL.contains(&app_doc.state()));
        assert_eq!($call!(one.marketapppool().info_all())?.marketplaceapp.len(), 1);
        assert_one_error(
            $call!(one.marketapp().drop_db(999)),
            ErrorCode::NoExists,
            "[one.marketapp.dropdb] Error getting marketplaceapp [999].",
        );

        // hook, hookpool, hooklog
        let hook = $call!(one.hook().allocate(
            "NAME=\"hook-a\"\nTYPE=\"api\"\nCOMMAND=\"/bin/true\"\nCALL=\"one.vm.allocate\""
        ))?;
        assert_eq!(hook, 0);
        assert_eq!($call!(one.hook().info(hook))?.name, "hook-a");
        assert_eq!($call!(one.hookpool().info())?.hook.len(), 1);
        assert_one_error(
            $call!(one.hook().allocate(
                "NAME=\"bad-call\"\nTYPE=\"api\"\nCOMMAND=\"/bin/true\"\nCALL=\"one.zone.info\""
            )),
            ErrorCode::Internal,
            "[one.hook.allocate] API call does not exist or is not supported: one.zone.info",
        );
        // The hook log is a document whatever it holds.
        $call!(one.hooklog().info(0, -1, hook, 0))?;

        // backupjob, backupjobpool
        let bj = $call!(one.backupjob().allocate(format!("NAME=\"bj-a\"\nBACKUP_VMS=\"{vm}\"")))?;
        assert_eq!(bj, 0);
        assert_eq!($call!(one.backupjob().info(bj))?.name, "bj-a");
        assert_eq!($call!(one.backupjobpool().info_all())?.backupjob.len(), 1);

        // Terminate the VM; a DONE VM leaves the default pool listing.
        $call!(one.vm().action(VmAction::TerminateHard, vm))?;
        assert_eq!($call!(one.vm().info(vm))?.state(), VmState::Done);
        assert!($call!(one.vmpool().info_all())?.vm.is_empty());
        let with_done = $call!(one.vmpool().info(PoolFilter::All, -1, -1, VmStateFilter::Any))?;
        assert_eq!(with_done.vm.len(), 1);

        // Errors oned gives for calls on objects that do not exist.
        assert_one_error(
            $call!(one.vm().info(42)),
            ErrorCode::NoExists,
            "[one.vm.info] Error getting virtual machine [42].",
        );
        Ok::<(), Box<dyn std::error::Error>>(())
    }};
}

/// Every call of PyONE's documented examples (the "Usage" page), in its order.
macro_rules! pyone_examples {
    ($one:expr, $call:ident) => {{
        let one = $one;

        // one.host.allocate('localhost', 'kvm', 'kvm', 0)
        let host_id = $call!(one.host().allocate("localhost", "kvm", "kvm", 0))?;
        assert_eq!(host_id, 0);

        // hostpool = one.hostpool.info(); host = hostpool.HOST[0]; id = host.ID
        let hostpool = $call!(one.hostpool().info())?;
        let host = &hostpool.host[0];
        assert_eq!((host.id, host.name.as_str()), (0, "localhost"));
        // dict(host.TEMPLATE)
        assert_eq!(host.template.get("IM_MAD"), Some("kvm"));
        assert_eq!(host.state(), HostState::Init);

        // marketpool = one.marketpool.info(); m0 = marketpool.MARKETPLACE[0]; m0.NAME
        let marketpool = $call!(one.marketpool().info())?;
        let m0 = &marketpool.marketplace[0];
        assert_eq!(m0.name, "Linux Containers");

        // one.host.update(0, {"LABELS": "HD"}, 1)
        let labels = std::collections::BTreeMap::from([("LABELS", "HD")]);
        assert_eq!($call!(one.host().update_full(0, labels, 1))?, 0);
        // host = one.host.info(0); arch = host.TEMPLATE['ARCH'] (a fresh host reports none yet)
        let host = $call!(one.host().info(0))?;
        assert_eq!(host.template.get("LABELS"), Some("HD"));
        assert_eq!(host.template.get("ARCH"), None);
        // host.TEMPLATE['NOTES'] = "Just updated"; one.host.update(0, host.TEMPLATE, 1)
        let mut host = $call!(one.host().info(0))?;
        host.template.set("NOTES", "Just updated");
        $call!(one.host().update_full(0, &host.template, UpdateType::Merge))?;
        let host = $call!(one.host().info(0))?;
        assert_eq!(&host.template["NOTES"], "Just updated");
        assert_eq!(host.template.get("LABELS"), Some("HD"));

        // Images 1 and 2 for the template below (oned checks them at instantiate).
        for name in ["img-0", "img-1", "img-2"] {
            $call!(one.image().allocate(template! { NAME = name, TYPE = "DATABLOCK", SIZE = 8 }, 1))?;
        }

        // one.template.allocate('''NAME="test100" ... DISK=[ IMAGE_ID= "1" ] DISK=[ IMAGE_ID= "2" ] ...''')
        let template_id = $call!(one.template().allocate(
            r#"NAME="test100"
               MEMORY="1024"
               DISK=[ IMAGE_ID= "1" ]
               DISK=[ IMAGE_ID= "2" ]
               CPU="1"
               VCPU="2"
            "#
        ))?;
        assert_eq!(template_id, 0);

        // vm_template = one.templatepool.info(-1, -1, -1).VMTEMPLATE[0]; get_ID(); get_NAME()
        let vm_template = $call!(one.templatepool().info(-1, -1, -1))?.vmtemplate.remove(0);
        assert_eq!((vm_template.id, vm_template.name.as_str()), (0, "test100"));
        let disks: Vec<&str> = vm_template.template.vectors("DISK").filter_map(|d| d.get("IMAGE_ID")).collect();
        assert_eq!(disks, ["1", "2"]);

        // one.template.instantiate(0, "my_VM")
        let vm_id = $call!(one.template().instantiate_simple(0, "my_VM"))?;
        assert_eq!(vm_id, 0);

        // my_vm = one.vmpool.info(-1,-1,-1,-1).VM[0]; get_ID(); get_NAME(); get_TEMPLATE()
        let my_vm = $call!(one.vmpool().info(-1, -1, -1, -1))?.vm.remove(0);
        assert_eq!((my_vm.id, my_vm.name.as_str()), (0, "my_VM"));
        assert_eq!(my_vm.template.get("MEMORY"), Some("1024"));

        // one.vm.update(1, {'TEMPLATE': {'NAME': 'abc', 'MEMORY': '1024', 'ATT1': 'value1'}}, 1)
        let rooted = Template::rooted(
            "TEMPLATE",
            template! { NAME = "abc", MEMORY = "1024", ATT1 = "value1" },
        );
        assert_eq!($call!(one.vm().update_full(vm_id, rooted, 1))?, vm_id);
        let vm = $call!(one.vm().info(vm_id))?;
        assert_eq!(vm.user_template.get("ATT1"), Some("value1"));
        assert_eq!(vm.user_template.get("MEMORY"), Some("1024"));

        // if app.STATE == MARKETPLACEAPP_STATES.READY
        let market = $call!(one.market().allocate(
            "NAME=\"pyone-mk\"\nMARKET_MAD=\"http\"\nBASE_URL=\"http://127.0.0.1:8099/\"\nPUBLIC_DIR=\"/var/tmp/mk\""
        ))?;
        let app_id = $call!(one.marketapp().allocate("NAME=\"pyone-app\"\nORIGIN_ID=\"-1\"\nSIZE=\"1\"", market))?;
        let app = $call!(one.marketapp().info(app_id))?;
        assert_eq!(app.state(), MarketPlaceAppState::from(app.state));
        assert_eq!(MarketPlaceAppState::Ready.code(), 1);
        assert_eq!(MarketPlaceAppState::Ready.to_string(), "READY");

        // one.vm.action('terminate', 0)
        assert_eq!($call!(one.vm().action("terminate", 0))?, 0);
        assert_eq!($call!(one.vm().info(0))?.state(), VmState::Done);
        Ok::<(), Box<dyn std::error::Error>>(())
    }};
}

/// Fast polling: the test server changes state after calls, never with time.
fn quick_wait() -> WaitOptions {
    WaitOptions {
        timeout: std::time::Duration::from_secs(30),
        initial_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(20),
        factor: 2.0,
    }
}

macro_rules! await_call {
    ($e:expr) => {
        $e.await
    };
}
#[cfg(feature = "blocking")]
macro_rules! blocking_call {
    ($e:expr) => {
        $e
    };
}

#[tokio::test]
async fn every_namespace_async() -> TestResult {
    let server = TestServer::start().await?;
    let one = server.client()?;
    every_namespace!(&one, await_call, helpers::wait_for_vm_state)
}

#[cfg(feature = "blocking")]
#[test]
fn every_namespace_blocking() -> TestResult {
    let server = BlockingTestServer::start()?;
    let one = server.client()?;
    every_namespace!(&one, blocking_call, helpers::blocking::wait_for_vm_state)
}

#[tokio::test]
async fn pyone_examples_async() -> TestResult {
    let server = TestServer::start().await?;
    let one = server.client()?;
    pyone_examples!(&one, await_call)
}

#[cfg(feature = "blocking")]
#[test]
fn pyone_examples_blocking() -> TestResult {
    let server = BlockingTestServer::start()?;
    let one = server.client()?;
    pyone_examples!(&one, blocking_call)
}

/// A server with `count` VMs on hold (so that no scheduling changes the pool meanwhile).
async fn server_with_held_vms(
    count: usize,
) -> Result<(TestServer, opennebula::Client), Box<dyn std::error::Error>> {
    let server = TestServer::start().await?;
    let one = server.client()?;
    for i in 0..count {
        one.vm()
            .allocate_full(format!("NAME=\"vm-{i}\"\nCPU=\"0.1\"\nMEMORY=\"64\""), true)
            .await?;
    }
    Ok((server, one))
}

#[tokio::test]
async fn pages_of_a_pool_smaller_than_a_page() -> TestResult {
    use futures_util::TryStreamExt;

    let (_server, one) = server_with_held_vms(3).await?;
    let pages: Vec<_> = one
        .vmpool()
        .pages(PoolFilter::All, VmStateFilter::NotDone, 10)
        .try_collect()
        .await?;
    assert_eq!(pages.len(), 1, "a short page ends the walk");
    let ids: Vec<i64> = pages[0].vm.iter().map(|vm| vm.id).collect();
    assert_eq!(ids, [2, 1, 0]);
    Ok(())
}

#[tokio::test]
async fn pages_walk_the_pools_async() -> TestResult {
    use futures_util::TryStreamExt;

    let (_server, one) = server_with_held_vms(7).await?;
    let pages: Vec<_> = one
        .vmpool()
        .pages(PoolFilter::All, VmStateFilter::NotDone, 3)
        .try_collect()
        .await?;
    let ids: Vec<Vec<i64>> = pages
        .iter()
        .map(|page| page.vm.iter().map(|vm| vm.id).collect())
        .collect();
    // oned lists by descending ID; the short last page ends the walk.
    assert_eq!(ids, [vec![6, 5, 4], vec![3, 2, 1], vec![0]]);

    for i in 0..4 {
        one.template()
            .allocate(format!("NAME=\"t-{i}\"\nMEMORY=\"64\""))
            .await?;
    }
    let sizes: Vec<usize> = one
        .templatepool()
        .pages(PoolFilter::All, 2)
        .map_ok(|page| page.vmtemplate.len())
        .try_collect()
        .await?;
    // A pool that is a multiple of the page size ends with an empty page.
    assert_eq!(sizes, [2, 2, 0]);
    Ok(())
}

#[cfg(feature = "blocking")]
#[test]
fn pages_walk_the_pools_blocking() -> TestResult {
    let server = BlockingTestServer::start()?;
    let one = server.client()?;
    for i in 0..5 {
        one.vm()
            .allocate_full(format!("NAME=\"vm-{i}\"\nCPU=\"0.1\"\nMEMORY=\"64\""), true)?;
    }
    let pages = one
        .vmpool()
        .pages(PoolFilter::All, VmStateFilter::NotDone, 2)
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<Vec<i64>> = pages
        .iter()
        .map(|page| page.vm.iter().map(|vm| vm.id).collect())
        .collect();
    assert_eq!(ids, [vec![4, 3], vec![2, 1], vec![0]]);
    Ok(())
}

#[tokio::test]
async fn wait_for_vm_state_follows_a_life_cycle_and_stops_at_done() -> TestResult {
    let server = TestServer::start().await?;
    let one = server.client()?;
    one.host().allocate("host-a", "dummy", "dummy", -1).await?;
    let vm = one
        .vm()
        .allocate("NAME=\"life\"\nCPU=\"0.1\"\nMEMORY=\"64\"")
        .await?;
    let running = helpers::wait_for_vm_state(
        &one,
        vm,
        VmState::Active,
        Some(LcmState::Running),
        quick_wait(),
    )
    .await?;
    assert_eq!(running.lcm_state(), LcmState::Running);
    one.vm().action(VmAction::Poweroff, vm).await?;
    helpers::wait_for_vm_state(&one, vm, VmState::Poweroff, None, quick_wait()).await?;
    one.vm().action(VmAction::TerminateHard, vm).await?;
    // Waiting for RUNNING on a DONE VM fails at once instead of running into the timeout.
    match helpers::wait_for_vm_state(&one, vm, VmState::Active, None, quick_wait()).await {
        Err(helpers::HelperError::Unreachable { reason, .. }) => {
            assert_eq!(reason, "the VM is DONE")
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    Ok(())
}

#[cfg(feature = "blocking")]
#[test]
fn acl_round_trip_blocking() -> TestResult {
    let server = BlockingTestServer::start()?;
    let one = server.client()?;
    let before = one.acl().info()?;
    // Every bootstrap rule decodes and prints as oned's STRING.
    for acl in &before.acl {
        assert_eq!(acl.rule()?.to_string(), acl.string);
    }
    let rule: AclRule = "@1 IMAGE+TEMPLATE/@1 USE *".parse()?;
    let id = one.acl().add(&rule)?;
    let after = one.acl().info()?;
    let added = after
        .acl
        .iter()
        .find(|a| a.id == i64::from(id))
        .expect("the new rule is listed");
    assert_eq!(added.rule()?, rule);
    // A malformed rule is refused before anything is sent.
    assert!("#2 NOTHING/* USE".parse::<AclRule>().is_err());
    Ok(())
}

#[tokio::test]
async fn errors_are_oneds() -> TestResult {
    let server = TestServer::builder()
        .user("alice", "alicepw")
        .start()
        .await?;
    let admin = server.client()?;

    // A wrong password.
    let wrong = opennebula::Client::new(server.url(), "oneadmin:wrongpass")?;
    assert_one_error(
        wrong.system().version().await,
        ErrorCode::Authentication,
        "[one.system.version] User couldn't be authenticated, aborting call.",
    );

    // A regular user is refused admin-only calls.
    let alice = opennebula::Client::new(server.url(), "alice:alicepw")?;
    assert_one_error(
        alice
            .host()
            .allocate("alice-host", "dummy", "dummy", -1)
            .await,
        ErrorCode::Authorization,
        "[one.host.allocate] User [2] : Not authorized to perform CREATE HOST",
    );
    assert_one_error(
        alice.acl().info().await,
        ErrorCode::Authorization,
        "[one.acl.info] User [2] : Not authorized to perform MANAGE ACL.",
    );
    assert_one_error(
        alice.system().sql("SELECT 1", false).await,
        ErrorCode::Authorization,
        "[one.system.sql] User [2] not authorized to perform action on -.",
    );

    // An action oned does not know.
    let vm = admin
        .vm()
        .allocate_full("NAME=\"held\"\nCPU=\"0.1\"\nMEMORY=\"64\"", true)
        .await?;
    assert_one_error(
        admin.vm().action("fly", vm).await,
        ErrorCode::Action,
        "[one.vm.action] Action \"fly\" is not supported",
    );

    // A method oned does not have: an XML-RPC fault, not an OpenNebula error.
    match admin.call("one.no.such.method", ()).await {
        Err(Error::Fault { code, message }) => {
            assert_eq!(code, -506);
            assert_eq!(message, "Method 'one.no.such.method' not defined");
        }
        other => panic!("expected fault -506, got {other:?}"),
    }

    // Calls a standalone oned refuses.
    assert_one_error(
        admin
            .zone()
            .allocate("NAME=\"zone-2\"\nENDPOINT=\"http://127.0.0.1:2634/RPC2\"")
            .await,
        ErrorCode::Allocate,
        "[one.zone.allocate] Error allocating a new zone. New zones can only be created at federation master",
    );
    assert_one_error(
        admin.vm().backup_cancel(vm).await,
        ErrorCode::Internal,
        "[one.vm.backupcancel] Could not cancel backup for VM 0, no backup in progress",
    );
    Ok(())
}
