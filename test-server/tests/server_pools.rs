//! Pools, ownership, permissions and locks on the test server.

mod server_support;

use opennebula::{Client, ErrorCode, Value};
use opennebula_test_server::TestServer;
use server_support::{assert_one_error, doc, field, int, pool_ids};

/// A server with users alice (2, group 100 "devs") and bob (3, group "users"), and five
/// templates: 0-2 owned by oneadmin, 3 by alice, 4 by bob.
async fn populated() -> (TestServer, Client, Client, Client) {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let devs = int(admin.call("one.group.allocate", ("devs",)).await.unwrap());
    let alice = int(admin
        .call(
            "one.user.allocate",
            ("alice", "alicepw", "core", Value::Array(vec![devs.into()])),
        )
        .await
        .unwrap());
    let bob = int(admin
        .call(
            "one.user.allocate",
            ("bob", "bobpw", "", Value::Array(vec![])),
        )
        .await
        .unwrap());
    assert_eq!((devs, alice, bob), (100, 2, 3));
    // Only group users may create templates by oned's default rules: devs gets the right.
    admin
        .call(
            "one.acl.addrule",
            ("200000064", "20400000000", "8", "400000000"),
        )
        .await
        .unwrap();
    let alice_client = Client::new(server.url(), "alice:alicepw").unwrap();
    let bob_client = Client::new(server.url(), "bob:bobpw").unwrap();
    for i in 0..3 {
        admin
            .call(
                "one.template.allocate",
                (format!("NAME=\"t{i}\"\nMEMORY=\"8\""),),
            )
            .await
            .unwrap();
    }
    alice_client
        .call("one.template.allocate", ("NAME=\"alice-t\"\nMEMORY=\"8\"",))
        .await
        .unwrap();
    bob_client
        .call("one.template.allocate", ("NAME=\"bob-t\"\nMEMORY=\"8\"",))
        .await
        .unwrap();
    (server, admin, alice_client, bob_client)
}

async fn template_ids(client: &Client, filter: i32, start: i32, end: i32) -> Vec<i32> {
    let pool = doc(client
        .call("one.templatepool.info", (filter, start, end))
        .await
        .unwrap());
    pool_ids(&pool, "VMTEMPLATE")
}

#[tokio::test]
async fn pool_filters_and_ranges() {
    let (_server, admin, alice, bob) = populated().await;
    assert_eq!(
        template_ids(&admin, -2, -1, -1).await,
        [4, 3, 2, 1, 0],
        "all, descending"
    );
    assert_eq!(template_ids(&admin, -3, -1, -1).await, [2, 1, 0], "mine");
    assert_eq!(template_ids(&admin, 2, -1, -1).await, [3], "by uid");
    assert_eq!(template_ids(&admin, -2, 1, 3).await, [3, 2, 1], "range");
    assert_eq!(
        template_ids(&admin, -2, 3, 1).await,
        Vec::<i32>::new(),
        "reversed range"
    );
    assert_eq!(
        template_ids(&admin, -2, 50, 60).await,
        Vec::<i32>::new(),
        "past the end"
    );
    assert_eq!(
        template_ids(&alice, -1, -1, -1).await,
        [3],
        "a user sees only hers"
    );
    assert_eq!(template_ids(&alice, -2, -1, -1).await, [3]);
    assert_eq!(template_ids(&bob, -4, -1, -1).await, [4], "group filter");
    // Sharing with the group (chmod GROUP_U) makes alice's template visible to group mates.
    admin
        .call("one.template.chmod", (0, -1, -1, -1, 1, -1, -1, 1, -1, -1))
        .await
        .unwrap();
    assert_eq!(
        template_ids(&bob, -2, -1, -1).await,
        [4, 0],
        "OTHER_U shares"
    );
}

/// An ACL rule lists what the permissions do not: "#2 TEMPLATE/* USE" shows alice every
/// template, one on one object (#id) shows that one only, and a rule for another user or
/// without USE shows nothing more.
#[tokio::test]
async fn acl_rules_widen_a_listing() {
    let (_server, admin, alice, bob) = populated().await;
    let add = |user: &'static str, resource: &'static str, rights: &'static str| {
        let admin = admin.clone();
        async move {
            int(admin
                .call("one.acl.addrule", (user, resource, rights, "100000000"))
                .await
                .unwrap())
        }
    };
    assert_eq!(template_ids(&alice, -2, -1, -1).await, [3]);
    // Bob's rule, and a CREATE-only rule of alice's, give her nothing to list.
    add("100000003", "20400000000", "1").await;
    add("100000002", "20400000000", "8").await;
    assert_eq!(template_ids(&alice, -2, -1, -1).await, [3]);
    // One template by id.
    let one = add("100000002", "20100000001", "1").await;
    assert_eq!(template_ids(&alice, -2, -1, -1).await, [3, 1]);
    admin.call("one.acl.delrule", (one,)).await.unwrap();
    // All templates; the "mine and my groups" filter is still only hers.
    add("100000002", "20400000000", "3").await;
    assert_eq!(template_ids(&alice, -2, -1, -1).await, [4, 3, 2, 1, 0]);
    assert_eq!(template_ids(&alice, -1, -1, -1).await, [3]);
    // Bob's own rule shows him all of them too.
    assert_eq!(template_ids(&bob, -2, -1, -1).await, [4, 3, 2, 1, 0]);
}

#[tokio::test]
async fn vm_pool_state_filter() {
    let server = TestServer::builder()
        .auto_schedule(false)
        .start()
        .await
        .unwrap();
    let admin = server.client().unwrap();
    let mut vms = Vec::new();
    for i in 0..3 {
        vms.push(int(admin
            .call(
                "one.vm.allocate",
                (format!("NAME=\"v{i}\"\nMEMORY=\"8\""), i == 2),
            )
            .await
            .unwrap()));
    }
    admin
        .call("one.vm.action", ("terminate", vms[0]))
        .await
        .unwrap();
    let ids = |state: i32| {
        let admin = admin.clone();
        async move {
            let pool = doc(admin
                .call("one.vmpool.info", (-2, -1, -1, state))
                .await
                .unwrap());
            pool_ids(&pool, "VM")
        }
    };
    assert_eq!(ids(-1).await, [2, 1], "-1 hides DONE");
    assert_eq!(ids(-2).await, [2, 1, 0], "-2 includes DONE");
    assert_eq!(ids(6).await, [0], "DONE only");
    assert_eq!(ids(2).await, [2], "HOLD only");
    let extended = doc(admin
        .call("one.vmpool.infoextended", (-2, -1, -1, -1))
        .await
        .unwrap());
    assert!(
        extended.contains("<PERMISSIONS>"),
        "infoextended gives full documents"
    );
    let set = doc(admin
        .call("one.vmpool.infoset", ("0,2,999", false))
        .await
        .unwrap());
    assert_eq!(pool_ids(&set, "VM"), [2, 0]);
    assert_one_error(
        admin
            .call("one.vmpool.info", (-2, -1, -1, -1, "VM.NAME=v1"))
            .await,
        ErrorCode::Internal,
        "[one.vmpool.info] JSON query search is not supported by the SQL backend",
    );
}

#[tokio::test]
async fn ownership_permissions_and_admin_only_actions() {
    let (_server, admin, alice, bob) = populated().await;
    assert_one_error(
        alice
            .call("one.host.allocate", ("h", "dummy", "dummy", -1))
            .await,
        ErrorCode::Authorization,
        "[one.host.allocate] User [2] : Not authorized to perform CREATE HOST; Not authorized to perform ADMIN CLUSTER [0].",
    );
    assert_one_error(
        alice.call("one.user.info", (0,)).await,
        ErrorCode::Authorization,
        "[one.user.info] User [2] : Not authorized to perform USE USER [0].",
    );
    assert_one_error(
        alice.call("one.acl.info", ()).await,
        ErrorCode::Authorization,
        "[one.acl.info] User [2] : Not authorized to perform MANAGE ACL.",
    );
    assert_one_error(
        bob.call("one.template.update", (3, "X=\"1\"", 1)).await,
        ErrorCode::Authorization,
        "[one.template.update] User [3] : Not authorized to perform MANAGE TEMPLATE [3].",
    );
    // The owner may, and chown moves ownership.
    alice
        .call("one.template.update", (3, "X=\"1\"", 1))
        .await
        .unwrap();
    admin.call("one.template.chown", (3, 3, 1)).await.unwrap();
    let t = doc(admin.call("one.template.info", (3,)).await.unwrap());
    assert_eq!(field(&t, "UNAME").as_deref(), Some("bob"));
    assert_eq!(field(&t, "GNAME").as_deref(), Some("users"));
    bob.call("one.template.update", (3, "Y=\"2\"", 1))
        .await
        .unwrap();
    // chmod is recorded.
    admin
        .call("one.template.chmod", (3, 1, 1, 1, 1, 0, 0, 1, 0, 0))
        .await
        .unwrap();
    let t = doc(admin.call("one.template.info", (3,)).await.unwrap());
    assert_eq!(field(&t, "OWNER_A").as_deref(), Some("1"));
    assert_eq!(field(&t, "OTHER_U").as_deref(), Some("1"));
}

#[tokio::test]
async fn update_replace_merge_and_rename() {
    let (_server, admin, _, _) = populated().await;
    admin
        .call("one.template.update", (0, "A=\"1\"\nB=\"2\"", 0))
        .await
        .unwrap();
    admin
        .call("one.template.update", (0, "B=\"3\"\nC=\"4\"", 1))
        .await
        .unwrap();
    let t = doc(admin.call("one.template.info", (0,)).await.unwrap());
    assert_eq!(field(&t, "A").as_deref(), Some("1"));
    assert_eq!(field(&t, "B").as_deref(), Some("3"));
    assert_eq!(field(&t, "C").as_deref(), Some("4"));
    assert_eq!(
        field(&t, "MEMORY"),
        None,
        "replace dropped the old attributes"
    );
    admin
        .call("one.template.rename", (0, "renamed"))
        .await
        .unwrap();
    let t = doc(admin.call("one.template.info", (0,)).await.unwrap());
    assert_eq!(field(&t, "NAME").as_deref(), Some("renamed"));
    assert_one_error(
        admin.call("one.datastore.rename", (2, "default")).await,
        ErrorCode::Action,
        "[one.datastore.rename] datastore cannot be renamed to default because it collides with datastore 1",
    );
}

#[tokio::test]
async fn locks_block_by_level() {
    let (_server, admin, _, _) = populated().await;
    // Level 1 (USE) blocks management.
    admin.call("one.template.lock", (1, 1)).await.unwrap();
    let t = doc(admin.call("one.template.info", (1,)).await.unwrap());
    assert_eq!(field(&t, "LOCKED").as_deref(), Some("1"));
    assert_one_error(
        admin.call("one.template.update", (1, "X=\"1\"", 1)).await,
        ErrorCode::Authorization,
        "[one.template.update] User [0] : TEMPLATE is locked. [1].",
    );
    assert_one_error(
        admin.call("one.template.rename", (1, "x")).await,
        ErrorCode::Authorization,
        "[one.template.rename] User [0] : TEMPLATE is locked. [1].",
    );
    // lock with test=true on a locked object: ACTION, with the lock time as message.
    let err = admin
        .call("one.template.lock", (1, 1, true))
        .await
        .unwrap_err();
    let one = err.one_error().unwrap();
    assert_eq!(one.code, ErrorCode::Action);
    assert!(one.message["[one.template.lock] ".len()..]
        .parse::<i64>()
        .is_ok());
    admin.call("one.template.unlock", (1,)).await.unwrap();
    admin
        .call("one.template.update", (1, "X=\"1\"", 1))
        .await
        .unwrap();
    // A VM locked at USE level refuses actions.
    let vm = int(admin
        .call("one.vm.allocate", ("NAME=\"v\"\nMEMORY=\"8\"", true))
        .await
        .unwrap());
    admin.call("one.vm.lock", (vm, 1)).await.unwrap();
    assert_one_error(
        admin.call("one.vm.action", ("release", vm)).await,
        ErrorCode::Authorization,
        &format!("[one.vm.action] User [0] : VM is locked. [{vm}]."),
    );
    admin.call("one.vm.unlock", (vm,)).await.unwrap();
    admin.call("one.vm.action", ("release", vm)).await.unwrap();
}

#[tokio::test]
async fn users_groups_and_tokens() {
    let (server, admin, alice, _) = populated().await;
    admin.call("one.user.passwd", (2, "newpw")).await.unwrap();
    assert_eq!(
        alice
            .call("one.system.version", ())
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Authentication)
    );
    let alice = Client::new(server.url(), "alice:newpw").unwrap();
    let token: String = alice
        .call_as("one.user.login", ("alice", "", 3600, -1))
        .await
        .unwrap();
    let with_token = Client::new(server.url(), format!("alice:{token}")).unwrap();
    let me = doc(with_token.call("one.user.info", (-1,)).await.unwrap());
    assert_eq!(field(&me, "NAME").as_deref(), Some("alice"));
    alice
        .call("one.user.login", ("alice", token.as_str(), 0, -1))
        .await
        .unwrap();
    assert_eq!(
        with_token
            .call("one.user.info", (-1,))
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Authentication),
        "a revoked token no longer logs in"
    );
    admin.call("one.user.enable", (2, false)).await.unwrap();
    assert_eq!(
        alice
            .call("one.system.version", ())
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Authentication),
        "a disabled user cannot log in"
    );
    assert_one_error(
        admin.call("one.group.delete", (100,)).await,
        ErrorCode::Action,
        "[one.group.delete] Cannot delete group. Group 100 is not empty.",
    );
    assert_one_error(
        admin.call("one.user.delete", (0,)).await,
        ErrorCode::Action,
        "[one.user.delete] Cannot delete user. oneadmin cannot be deleted.",
    );
    admin.call("one.user.delete", (2,)).await.unwrap();
    admin.call("one.group.delete", (100,)).await.unwrap();
    assert_one_error(
        admin.call("one.group.info", (100,)).await,
        ErrorCode::NoExists,
        "[one.group.info] Error getting group [100].",
    );
}

#[tokio::test]
async fn unmodelled_methods_fail_instead_of_faking_success() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let err = admin
        .call("one.system.sqlquery", ("SELECT 1",))
        .await
        .unwrap_err();
    assert!(err.one_error().is_some(), "{err:?}");
}

#[tokio::test]
async fn seeded_hosts_and_running_vms() {
    let server = TestServer::builder()
        .seed_hosts(3)
        .seed_vms(30)
        .start()
        .await
        .unwrap();
    let admin = server.client().unwrap();
    let hosts = doc(admin.call("one.hostpool.info", ()).await.unwrap());
    assert_eq!(pool_ids(&hosts, "HOST"), [2, 1, 0]);
    assert_eq!(hosts.matches("<RUNNING_VMS>10</RUNNING_VMS>").count(), 3);
    let vms = doc(admin
        .call("one.vmpool.info", (-2, -1, -1, 3))
        .await
        .unwrap());
    assert_eq!(pool_ids(&vms, "VM").len(), 30, "all seeded VMs are ACTIVE");
    let vm = doc(admin.call("one.vm.info", (29,)).await.unwrap());
    assert_eq!(vm.matches("<NIC>").count(), 2);
    assert_eq!(vm.matches("<DISK>").count(), 3);
    assert_eq!(field(&vm, "LCM_STATE").as_deref(), Some("3"));
    assert!(field(&vm, "ETH1_IP").is_some(), "context has both NICs");
}
