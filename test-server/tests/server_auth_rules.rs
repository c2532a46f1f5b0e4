//! Users, groups, ACL rules, quotas, locks and ownership on the test server: each test
//! asserts the answer real oned 7.5.80 gives (src/um, src/group, src/acl, src/rm/api).

mod server_support;

use opennebula::{Client, ErrorCode, Value};
use opennebula_test_server::TestServer;
use server_support::{assert_one_error, doc, field, int, pool_ids};

fn groups(ids: &[i32]) -> Value {
    Value::Array(ids.iter().map(|i| Value::Int(*i)).collect())
}

async fn user(admin: &Client, name: &str, password: &str, driver: &str, gids: &[i32]) -> i32 {
    int(admin
        .call("one.user.allocate", (name, password, driver, groups(gids)))
        .await
        .unwrap())
}

#[tokio::test]
async fn user_names_passwords_and_drivers() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let long_name = "u".repeat(129);
    assert_one_error(
        admin
            .call(
                "one.user.allocate",
                (long_name.as_str(), "pw", "core", groups(&[])),
            )
            .await,
        ErrorCode::Internal,
        "[one.user.allocate] Invalid NAME, max length is 128 chars.",
    );
    assert_one_error(
        admin
            .call("one.user.allocate", ("a#b", "pw", "core", groups(&[])))
            .await,
        ErrorCode::Internal,
        "[one.user.allocate] Invalid NAME, char '#' is not allowed.",
    );
    let long_password = "p".repeat(257);
    assert_one_error(
        admin
            .call("one.user.allocate", ("pw257", long_password.as_str(), "core", groups(&[])))
            .await,
        ErrorCode::Internal,
        "[one.user.allocate] Password is longer than max allowed length. Max allowed length for the driver core : 256 bytes.",
    );
    assert_one_error(
        admin
            .call("one.user.allocate", ("nopw", "", "public", groups(&[])))
            .await,
        ErrorCode::Internal,
        "[one.user.allocate] Invalid password, it cannot be empty.",
    );
    // No id was used by the refusals; ldap needs no password; server_cipher keeps it as is.
    assert_eq!(user(&admin, "ldapu", "", "ldap", &[]).await, 2);
    let cipher = user(&admin, "cipher", "key", "server_cipher", &[]).await;
    let info = doc(admin.call("one.user.info", (cipher,)).await.unwrap());
    assert_eq!(field(&info, "PASSWORD").as_deref(), Some("key"));
    assert_eq!(field(&info, "GID").as_deref(), Some("1"));
    // A password the new driver refuses puts the old driver back.
    let u = user(&admin, "rollback", "pw", "core", &[]).await;
    assert_one_error(
        admin.call("one.user.chauth", (u, "ldap", "a\tb")).await,
        ErrorCode::Action,
        "[one.user.chauth] Invalid password, character '\t' is not allowed",
    );
    let info = doc(admin.call("one.user.info", (u,)).await.unwrap());
    assert_eq!(field(&info, "AUTH_DRIVER").as_deref(), Some("core"));
    // An ldap or public user cannot log in with a password (no driver runs).
    let public = user(&admin, "pub", "pubpw", "public", &[]).await;
    let as_public = Client::new(server.url(), "pub:pubpw").unwrap();
    assert_one_error(
        as_public.call("one.user.info", (public,)).await,
        ErrorCode::Authentication,
        "[one.user.info] User couldn't be authenticated, aborting call.",
    );
    assert_one_error(
        admin.call("one.user.enable", (0, false)).await,
        ErrorCode::Action,
        "[one.user.enable] Cannot enable/disable oneadmin user",
    );
    assert_one_error(
        admin.call("one.user.quota", (0, "VM=[VMS=1]")).await,
        ErrorCode::Action,
        "[one.user.quota] Cannot set quotas for oneadmin user",
    );
    assert_one_error(
        admin.call("one.user.chgrp", (0, 1)).await,
        ErrorCode::Internal,
        "[one.user.chgrp] user [0] oneadmin cannot be moved outside of the group [0] oneadmin",
    );
}

#[tokio::test]
async fn user_groups_and_their_checks() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let team = int(admin.call("one.group.allocate", ("team",)).await.unwrap());
    let ann = user(&admin, "ann", "annpw", "core", &[team, 1]).await;
    let ben = user(&admin, "ben", "benpw", "", &[]).await;
    let ldap = user(&admin, "lu", "", "ldap", &[]).await;
    let as_ben = Client::new(server.url(), "ben:benpw").unwrap();
    assert_one_error(
        as_ben.call("one.user.addgroup", (ben, team)).await,
        ErrorCode::Authorization,
        "[one.user.addgroup] User [3] : Not authorized to perform MANAGE GROUP [100].",
    );
    assert_one_error(
        admin.call("one.user.addgroup", (ann, 1)).await,
        ErrorCode::Action,
        "[one.user.addgroup] User is already in this group",
    );
    assert_one_error(
        admin.call("one.user.delgroup", (ann, team)).await,
        ErrorCode::Action,
        "[one.user.delgroup] Cannot remove user from the primary group",
    );
    assert_one_error(
        admin.call("one.user.addgroup", (ldap, team)).await,
        ErrorCode::Action,
        "[one.user.addgroup] Groups cannot be manually managed for auth driver ldap",
    );
    assert_one_error(
        admin.call("one.user.chgrp", (ldap, team)).await,
        ErrorCode::XmlRpcApi,
        "[one.user.chgrp] Groups cannot be manually managed for auth driver ldap",
    );
    assert_one_error(
        admin.call("one.user.chgrp", (ann, -3)).await,
        ErrorCode::XmlRpcApi,
        "[one.user.chgrp] Wrong group ID",
    );
    // A secondary group becomes primary and the old primary stays secondary.
    admin.call("one.user.chgrp", (ann, 1)).await.unwrap();
    let info = doc(admin.call("one.user.info", (ann,)).await.unwrap());
    assert!(
        info.contains("<GID>1</GID><GROUPS><ID>1</ID><ID>100</ID></GROUPS>"),
        "{info}"
    );
    assert_one_error(
        admin.call("one.group.delete", (0,)).await,
        ErrorCode::Action,
        "[one.group.delete] Cannot delete group. System Groups (ID < 100) cannot be deleted.",
    );
    assert_one_error(
        admin.call("one.group.quota", (0, "VM=[VMS=1]")).await,
        ErrorCode::Action,
        "[one.group.quota] Cannot set quotas for oneadmin group",
    );
    // A group that does not exist is an AUTHORIZATION refusal here.
    assert_one_error(
        admin.call("one.group.quota", (999, "VM=[VMS=1]")).await,
        ErrorCode::Authorization,
        "[one.group.quota] User [0] not authorized to perform action on group.",
    );
    assert_one_error(
        admin.call("one.group.addadmin", (team, ben)).await,
        ErrorCode::Internal,
        "[one.group.addadmin] Cannot edit group. User 3 is not part of Group 100.",
    );
    // A non-admin sees only itself in the user pool.
    let pool = doc(as_ben.call("one.userpool.info", ()).await.unwrap());
    assert_eq!(pool_ids(&pool, "USER"), [ben]);
}

#[tokio::test]
async fn login_tokens_follow_oned() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let team = int(admin.call("one.group.allocate", ("team",)).await.unwrap());
    let ann = user(&admin, "ann", "a:n:n", "core", &[team, 1]).await;
    user(&admin, "ben", "benpw", "core", &[]).await;
    let as_ann = Client::new(server.url(), "ann:a:n:n").unwrap();
    let scoped = match as_ann.call("one.user.login", ("ann", "", 600, team)).await {
        Ok(Value::String(token)) => token,
        other => panic!("{other:?}"),
    };
    let as_scoped = Client::new(server.url(), format!("ann:{scoped}")).unwrap();
    assert_one_error(
        as_scoped.call("one.user.login", ("ann", "", 600, -1)).await,
        ErrorCode::XmlRpcApi,
        "[one.user.login] Cannot create a full token with a specific group token",
    );
    // The token acts in its group only.
    let me = doc(as_scoped.call("one.user.info", (-1,)).await.unwrap());
    assert_eq!(field(&me, "ID").as_deref(), Some("2"));
    let group = doc(as_scoped.call("one.group.info", (-1,)).await.unwrap());
    assert_eq!(field(&group, "ID").as_deref(), Some("100"));
    assert_one_error(
        as_ann.call("one.user.login", ("ann", "", -7, -1)).await,
        ErrorCode::XmlRpcApi,
        "[one.user.login] Wrong valid period for token",
    );
    assert_one_error(
        admin.call("one.user.login", ("ben", "", 60, -1)).await,
        ErrorCode::XmlRpcApi,
        "[one.user.login] Cannot create a full token with a specific group token",
    );
    assert_one_error(
        as_ann
            .call("one.user.login", ("ann", "nosuch", 0, -1))
            .await,
        ErrorCode::XmlRpcApi,
        "[one.user.login] Could not find token: nosuch",
    );
    // A new password revokes every token.
    admin
        .call("one.user.passwd", (ann, "a:n:n:2"))
        .await
        .unwrap();
    assert_one_error(
        as_scoped.call("one.user.info", (-1,)).await,
        ErrorCode::Authentication,
        "[one.user.info] User couldn't be authenticated, aborting call.",
    );
    let info = doc(admin.call("one.user.info", (ann,)).await.unwrap());
    assert!(!info.contains("<LOGIN_TOKEN>"), "{info}");
}

#[tokio::test]
async fn acl_rules_are_checked_printed_and_applied() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let bare = int(admin.call("one.group.allocate", ("bare",)).await.unwrap());
    admin.call("one.vdc.delgroup", (0, bare)).await.unwrap();
    let ben = user(&admin, "ben", "benpw", "core", &[]).await;
    let cal = user(&admin, "cal", "calpw", "core", &[bare]).await;
    assert_eq!(cal, 3);
    let as_cal = Client::new(server.url(), "cal:calpw").unwrap();
    assert_one_error(
        as_cal.call("one.user.info", (ben,)).await,
        ErrorCode::Authorization,
        "[one.user.info] User [3] : Not authorized to perform USE USER [2].",
    );
    let added = int(admin
        .call(
            "one.acl.addrule",
            ("100000003", "10100000002", "1", "400000000"),
        )
        .await
        .unwrap());
    as_cal.call("one.user.info", (ben,)).await.unwrap();
    assert_one_error(
        admin
            .call(
                "one.acl.addrule",
                ("100000003", "10100000002", "1", "400000000"),
            )
            .await,
        ErrorCode::Internal,
        "[one.acl.addrule] Rule #3 USER/#2 USE * already exists",
    );
    assert_one_error(
        admin
            .call("one.acl.addrule", ("100000004", "2900000000", "1", "100000000"))
            .await,
        ErrorCode::Internal,
        "[one.acl.addrule] Rule #4 HOST/#0 USE #0 is malformed: [resource] INDIVIDUAL (#), GROUP (@), CLUSTER (%) and ALL (*) bits are exclusive",
    );
    assert_one_error(
        admin
            .call("one.acl.addrule", ("100000004", "8800000000", "1", "100000000"))
            .await,
        ErrorCode::Internal,
        "[one.acl.addrule] Rule #4 IMAGE/%0 USE #0 is malformed: [resource] CLUSTER(%) selector can be applied only to DATASTORE, HOST and NET types",
    );
    // Refused rules use up no id; 0x prefixes are read.
    let next = int(admin
        .call(
            "one.acl.addrule",
            ("0x100000003", "0x20000400000000", "0x3", "0x100000000"),
        )
        .await
        .unwrap());
    assert_eq!(next, added + 1);
    let acls = doc(admin.call("one.acl.info", ()).await.unwrap());
    assert!(
        acls.contains("<STRING>#3 VMGROUP/* USE+MANAGE #0</STRING>"),
        "{acls}"
    );
    // Rules are listed by their user field: the individual rules come first.
    assert!(
        acls.starts_with(&format!("<ACL_POOL><ACL><ID>{added}</ID>")),
        "{acls}"
    );
    admin.call("one.acl.delrule", (added,)).await.unwrap();
    assert_one_error(
        admin.call("one.acl.delrule", (added,)).await,
        ErrorCode::Internal,
        &format!("[one.acl.delrule] Rule {added} does not exist"),
    );
    assert_one_error(
        as_cal.call("one.acl.info", ()).await,
        ErrorCode::Authorization,
        "[one.acl.info] User [3] : Not authorized to perform MANAGE ACL.",
    );
    // Without the default VDC's rules the group sees no networks, a cluster rule shows them.
    admin
        .call(
            "one.vn.allocate",
            ("NAME=\"n\"\nVN_MAD=\"dummy\"\nBRIDGE=\"br0\"", -1),
        )
        .await
        .unwrap();
    let nets = |c: Client| async move {
        pool_ids(
            &doc(c.call("one.vnpool.info", (-2, -1, -1)).await.unwrap()),
            "VNET",
        )
    };
    assert_eq!(nets(as_cal.clone()).await, Vec::<i32>::new());
    admin
        .call(
            "one.acl.addrule",
            (format!("2{bare:08x}"), "4800000000", "1", "400000000"),
        )
        .await
        .unwrap();
    assert_eq!(nets(as_cal).await, [0]);
}

#[tokio::test]
async fn quotas_formats_and_checks() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let ann = user(&admin, "ann", "annpw", "core", &[]).await;
    let as_ann = Client::new(server.url(), "ann:annpw").unwrap();
    // A limit that is not a number is the default one.
    admin
        .call("one.user.quota", (ann, "VM=[VMS=\"abc\"]"))
        .await
        .unwrap();
    assert_one_error(
        admin.call("one.user.quota", (ann, "VM=[VMS=\"-5\"]")).await,
        ErrorCode::Action,
        "[one.user.quota] Negative limits or bad format in quota VM = [ UID=2,VMS=-5 ]",
    );
    assert_one_error(
        admin
            .call("one.user.quota", (ann, "DATASTORE=[IMAGES=1]"))
            .await,
        ErrorCode::Action,
        "[one.user.quota] Negative limits or bad format in quota DATASTORE = [ IMAGES=1 ]",
    );
    admin
        .call(
            "one.user.quota",
            (
                ann,
                "VM=[VMS=1, CPU=1, MEMORY=128]\nDATASTORE=[ID=1, IMAGES=1, SIZE=4]",
            ),
        )
        .await
        .unwrap();
    assert_one_error(
        as_ann
            .call("one.image.allocate", ("NAME=\"big\"\nTYPE=\"DATABLOCK\"\nSIZE=\"5\"", 1))
            .await,
        ErrorCode::Authorization,
        "[one.image.allocate] User [2] : user [2] limit of 4 reached for SIZE quota in DATASTORE with ID: 1.",
    );
    let template = int(as_ann
        .call(
            "one.template.allocate",
            ("NAME=\"t\"\nCPU=\"0.5\"\nMEMORY=\"64\"",),
        )
        .await
        .unwrap());
    as_ann
        .call(
            "one.template.instantiate",
            (template, "vm-1", false, "", false),
        )
        .await
        .unwrap();
    assert_one_error(
        as_ann
            .call(
                "one.template.instantiate",
                (template, "vm-2", false, "", false),
            )
            .await,
        ErrorCode::Authorization,
        "[one.template.instantiate] User [2] : user [2] limit of 1 reached for VMS quota in VM.",
    );
    let info = doc(admin.call("one.user.info", (ann,)).await.unwrap());
    assert_eq!(field(&info, "CPU_USED").as_deref(), Some("0.50"));
    assert_eq!(field(&info, "VMS_USED").as_deref(), Some("1"));
    assert_one_error(
        as_ann.call("one.userquota.update", ("VM=[VMS=1]",)).await,
        ErrorCode::Authorization,
        "[one.userquota.update] User [2] : The default quotas can only be updated by users in the oneadmin group.",
    );
    assert_one_error(
        admin
            .call("one.user.quota", (ann, "VM=[CLUSTER_IDS=\"100\", VMS=1]"))
            .await,
        ErrorCode::Action,
        "[one.user.quota] Cluster 100 does not exist",
    );
    // A cluster quota's unset limits are unlimited, not the default.
    admin
        .call("one.user.quota", (ann, "VM=[CLUSTER_IDS=\"0,0\", VMS=3]"))
        .await
        .unwrap();
    let info = doc(admin.call("one.user.info", (ann,)).await.unwrap());
    assert!(
        info.contains("<CLUSTER_IDS>0</CLUSTER_IDS><CPU>-2</CPU>"),
        "{info}"
    );
    assert_one_error(
        admin.call("one.userquota.update", ("VM=[VMS=-1]",)).await,
        ErrorCode::Action,
        "[one.userquota.update] Negative limits or bad format in quota VM = [ VMS=-1 ]",
    );
}

#[tokio::test]
async fn locks_and_ownership() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let ann = user(&admin, "ann", "annpw", "core", &[]).await;
    let ben = user(&admin, "ben", "benpw", "core", &[]).await;
    let as_ann = Client::new(server.url(), "ann:annpw").unwrap();
    let as_ben = Client::new(server.url(), "ben:benpw").unwrap();
    let t = int(as_ann
        .call("one.template.allocate", ("NAME=\"t\"\nMEMORY=\"8\"",))
        .await
        .unwrap());
    assert_one_error(
        as_ann.call("one.template.lock", (t, 5)).await,
        ErrorCode::Action,
        "[one.template.lock] Wrong lock level specified",
    );
    // Level 4 ("all") is kept as USE.
    as_ann.call("one.template.lock", (t, 4)).await.unwrap();
    let info = doc(as_ann.call("one.template.info", (t,)).await.unwrap());
    assert_eq!(field(&info, "LOCKED").as_deref(), Some("1"));
    assert_one_error(
        as_ann.call("one.template.update", (t, "A=1", 1)).await,
        ErrorCode::Authorization,
        "[one.template.update] User [2] : Not authorized to perform MANAGE TEMPLATE [0].",
    );
    assert_one_error(
        admin.call("one.template.update", (t, "A=1", 1)).await,
        ErrorCode::Authorization,
        "[one.template.update] User [0] : TEMPLATE is locked. [0].",
    );
    as_ann.call("one.template.unlock", (t,)).await.unwrap();
    // The owner may share MANAGE with its group, not ADMIN.
    assert_one_error(
        as_ann
            .call("one.template.chmod", (t, 1, 1, 1, 1, 1, 1, 0, 0, 0))
            .await,
        ErrorCode::Authorization,
        "[one.template.chmod] User [2] : Not authorized to perform ADMIN TEMPLATE [0].",
    );
    as_ann
        .call("one.template.chmod", (t, 1, 1, 0, 1, 1, 0, 0, 0, 0))
        .await
        .unwrap();
    // A group member may not take over the owner's lock, nor lift it.
    as_ann.call("one.template.lock", (t, 2)).await.unwrap();
    assert_one_error(
        as_ben.call("one.template.lock", (t, 3)).await,
        ErrorCode::Action,
        "[one.template.lock] Error trying to lock the resource.",
    );
    assert_one_error(
        as_ben.call("one.template.unlock", (t,)).await,
        ErrorCode::Action,
        "[one.template.unlock] Cannot unlock: Lock is owned by another user",
    );
    admin.call("one.template.unlock", (t,)).await.unwrap();
    // chown to a group the owner is not in needs USE on it.
    let team = int(admin.call("one.group.allocate", ("team",)).await.unwrap());
    assert_one_error(
        as_ann.call("one.template.chown", (t, -1, team)).await,
        ErrorCode::Authorization,
        "[one.template.chown] User [2] : Not authorized to perform USE GROUP [100].",
    );
    assert_one_error(
        as_ann.call("one.template.chown", (t, ben, -1)).await,
        ErrorCode::Authorization,
        "[one.template.chown] User [2] : Not authorized to perform MANAGE USER [3].",
    );
    assert_eq!((ann, ben), (2, 3));
}

#[tokio::test]
async fn vdc_resources_give_their_groups_rules() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let team = int(admin.call("one.group.allocate", ("team",)).await.unwrap());
    let cluster = int(admin.call("one.cluster.allocate", ("c1",)).await.unwrap());
    let vdc = int(admin
        .call("one.vdc.allocate", ("NAME=\"v\"",))
        .await
        .unwrap());
    admin.call("one.vdc.addgroup", (vdc, team)).await.unwrap();
    admin
        .call("one.vdc.addcluster", (vdc, 0, cluster))
        .await
        .unwrap();
    let acls = doc(admin.call("one.acl.info", ()).await.unwrap());
    for rule in [
        "@100 HOST/%100 MANAGE #0",
        "@100 NET/%100 USE #0",
        "@100 DATASTORE/%100 USE #0",
    ] {
        assert!(
            acls.contains(&format!("<STRING>{rule}</STRING>")),
            "{rule}: {acls}"
        );
    }
    assert_one_error(
        admin.call("one.vdc.addcluster", (vdc, 0, cluster)).await,
        ErrorCode::Internal,
        "[one.vdc.addcluster] CLUSTER 100 from Zone 0 is already assigned to the VDC",
    );
    // Every cluster of the zone replaces the single one, and its rules.
    admin
        .call("one.vdc.addcluster", (vdc, 0, -10))
        .await
        .unwrap();
    let acls = doc(admin.call("one.acl.info", ()).await.unwrap());
    assert!(!acls.contains("%100"), "{acls}");
    admin.call("one.vdc.delete", (vdc,)).await.unwrap();
    let acls = doc(admin.call("one.acl.info", ()).await.unwrap());
    // Rules are removed by value: the default VDC's equal rules for the group go too, as
    // in oned.
    assert_eq!(acls.matches("<USER>200000064</USER>").count(), 0, "{acls}");
}

#[tokio::test]
async fn vm_operation_lists_of_users_and_groups() {
    let server = TestServer::start().await.unwrap();
    let admin = server.client().unwrap();
    let ann = user(&admin, "ann", "annpw", "core", &[]).await;
    let as_ann = Client::new(server.url(), "ann:annpw").unwrap();
    assert_one_error(
        as_ann
            .call("one.user.update", (ann, "VM_ADMIN_OPERATIONS=\"release\"", 1))
            .await,
        ErrorCode::Internal,
        "[one.user.update] Cannot update template. User Template includes a restricted attribute VM_ADMIN_OPERATIONS",
    );
    assert_one_error(
        admin
            .call(
                "one.user.update",
                (ann, "VM_ADMIN_OPERATIONS=\"nosuch\"", 1),
            )
            .await,
        ErrorCode::Internal,
        "[one.user.update] Cannot update template. Unknown vm operation: nosuch",
    );
    admin
        .call("one.user.update", (ann, "VM_ADMIN_OPERATIONS=\"hold\"", 1))
        .await
        .unwrap();
    // A replace by the user keeps the list; hold is now ADMIN for her.
    as_ann
        .call("one.user.update", (ann, "EMAIL=\"a@b\"", 0))
        .await
        .unwrap();
    let info = doc(admin.call("one.user.info", (ann,)).await.unwrap());
    assert_eq!(field(&info, "VM_ADMIN_OPERATIONS").as_deref(), Some("hold"));
    let t = int(as_ann
        .call("one.template.allocate", ("NAME=\"t\"\nMEMORY=\"8\"",))
        .await
        .unwrap());
    let vm = int(as_ann
        .call("one.template.instantiate", (t, "v", false, "", false))
        .await
        .unwrap());
    assert_one_error(
        as_ann.call("one.vm.action", ("hold", vm)).await,
        ErrorCode::Authorization,
        &format!("[one.vm.action] User [2] : Not authorized to perform ADMIN VM [{vm}]."),
    );
}
