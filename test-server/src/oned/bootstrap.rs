//! The objects of a freshly bootstrapped oned 7.5, with their ids: groups oneadmin (0) and
//! users (1), users oneadmin (0) and serveradmin (1), cluster default (0), datastores system
//! (0), default (1) and files (2), zone 0, VDC default (0), security group default (0), the
//! two public marketplaces, and the default ACL rules (src/nebula/Nebula.cc bootstrap, and
//! each pool's constructor).

use super::prelude::*;

pub(crate) fn bootstrap(oned: &mut Oned, admin_password: &str) {
    let now = oned.now();
    // Groups oneadmin (0) and users (1).
    for (id, name) in [(0, "oneadmin"), (1, "users")] {
        let mut group = Obj::new(Kind::Group, id, name, 0, 0, now);
        group.ext = Ext::Group(super::group::GroupData::default());
        if id == 1 {
            group.template = Tmpl::parse(
                "SUNSTONE=[DEFAULT_VIEW=\"cloud\",GROUP_ADMIN_DEFAULT_VIEW=\"groupadmin\",\
                 GROUP_ADMIN_VIEWS=\"groupadmin,cloud\",VIEWS=\"cloud\"]",
            )
            .unwrap_or_default();
        }
        oned.insert(group);
    }
    // Users oneadmin (0) and serveradmin (1).
    for (id, name, password, driver) in [
        (0, "oneadmin", admin_password.to_string(), "core"),
        (
            1,
            "serveradmin",
            format!("serveradmin-{now}"),
            "server_cipher",
        ),
    ] {
        let mut user = Obj::new(Kind::User, id, name, id, 0, now);
        user.ext = Ext::User(super::user::UserData {
            password: super::sha256_hex(&password),
            driver: driver.into(),
            enabled: true,
            groups: BTreeSet::from([0]),
        });
        user.template.set(
            "TOKEN_PASSWORD",
            super::sha256_hex(&format!("token-{id}-{now}")),
        );
        oned.insert(user);
        super::group::group_data(oned, 0).users.insert(id);
    }
    // Cluster 0.
    let mut cluster = Obj::new(Kind::Cluster, 0, "default", 0, 0, now);
    cluster.template.set("RESERVED_CPU", "");
    cluster.template.set("RESERVED_MEM", "");
    oned.insert(cluster);
    // Datastores system (0), default (1), files (2).
    for (id, name, ds_type, ds_mad, type_name) in [
        (0, "system", 1, "-", "SYSTEM_DS"),
        (1, "default", 0, "fs", "IMAGE_DS"),
        (2, "files", 2, "fs", "FILE_DS"),
    ] {
        let mut ds = Obj::new(Kind::Datastore, id, name, 0, 0, now);
        ds.perms = [1, 1, 0, 1, 0, 0, 0, 0, 0];
        ds.template.set("ALLOW_ORPHANS", "FORMAT");
        ds.template.set("PERSISTENT_SNAPSHOTS", "YES");
        ds.template.set("RESTRICTED_DIRS", "/");
        ds.template.set("SAFE_DIRS", "/var/tmp");
        ds.template.set("TM_MAD", "local");
        ds.template.set("TYPE", type_name);
        if id != 2 {
            ds.template.set("DISK_TYPE", "FILE");
        }
        if id == 0 {
            ds.template.set("DS_LIVE_MIGRATE", "YES");
            ds.template.set("DS_MIGRATE", "YES");
            ds.template.set("DS_MIGRATE_SNAP", "YES");
            ds.template.set("SHARED", "NO");
        } else {
            ds.template.set("CLONE_TARGET", "SYSTEM");
            ds.template.set("DS_MAD", "fs");
            ds.template.set("LN_TARGET", "SYSTEM");
        }
        ds.ext = Ext::Datastore(super::datastore::DatastoreData {
            ds_mad: ds_mad.into(),
            tm_mad: "local".into(),
            ds_type,
            state: 0,
            clusters: BTreeSet::from([0]),
            images: BTreeSet::new(),
        });
        oned.insert(ds);
    }
    // Zone 0.
    let mut zone = Obj::new(Kind::Zone, 0, "OpenNebula", 0, 0, now);
    zone.template.set("ENDPOINT", "http://localhost:2633/RPC2");
    zone.template.set("ENDPOINT_GRPC", "localhost:2634");
    oned.insert(zone);
    // VDC 0, with every cluster of zone 0.
    let mut vdc = Obj::new(Kind::Vdc, 0, "default", 0, 0, now);
    vdc.template.set(
        "DESCRIPTION",
        "Every new group is added to this VDC. Use it to store default access rules for \
         your groups. NOTE: You may need to remove a group from the default VDC before \
         assigning it to other VDC.",
    );
    vdc.ext = Ext::Vdc(super::vdc::VdcData {
        groups: BTreeSet::from([1]),
        resources: BTreeSet::from([(Kind::Cluster, 0, -10)]),
    });
    oned.insert(vdc);
    // Security group 0.
    let mut sg = Obj::new(Kind::SecGroup, 0, "default", 0, 0, now);
    sg.perms = [1, 1, 1, 1, 0, 0, 1, 0, 0];
    sg.template.set(
        "DESCRIPTION",
        "The default security group is added to every network. Use it to add default filter \
         rules for your networks. You may remove this security group from any network by \
         updating its properties.",
    );
    for rule_type in ["OUTBOUND", "INBOUND"] {
        sg.template.push(
            "RULE",
            Attr::Vector(BTreeMap::from([
                ("PROTOCOL".to_string(), "ALL".to_string()),
                ("RULE_TYPE".to_string(), rule_type.to_string()),
            ])),
        );
    }
    oned.insert(sg);
    // Marketplaces 0 and 1.
    for (id, name, mad, state, description) in [
        (
            0,
            "OpenNebula Public",
            "one",
            0,
            "OpenNebula Systems MarketPlace",
        ),
        (
            1,
            "Linux Containers",
            "linuxcontainers",
            1,
            "MarketPlace for the public image server fo LXC & LXD hosted at linuxcontainers.org",
        ),
    ] {
        let mut market = Obj::new(Kind::Market, id, name, 0, 0, now);
        market.perms = [1, 1, 1, 1, 0, 0, 1, 0, 0];
        market.template.set("DESCRIPTION", description);
        market.template.set("MARKET_MAD", mad);
        market.ext = Ext::Market(state);
        oned.insert(market);
    }
    super::acl::bootstrap(oned);
}
