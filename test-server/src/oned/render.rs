//! Any object's document by its kind (each kind writes its own, in its module), and pool
//! documents: what the shared `info` and pool `info` verbs and the hooks write.

use super::prelude::*;
use opennebula::models;
use opennebula::xml::{ToXml, XmlWriter};

/// The document of one object (`full`: as `info` returns it, else as listed in a pool), written
/// by `writer` (an [escaped](XmlWriter::escaped) one writes it straight
/// into an XML-RPC response).
pub(crate) fn write_document(oned: &Oned, obj: &Obj, full: bool, writer: &mut XmlWriter) {
    element(oned, obj, full, writer)
}

/// A pool document with the objects `ids` (already filtered and ordered).
pub(crate) fn pool(oned: &Oned, kind: Kind, ids: &[i32]) -> String {
    let objs = || ids.iter().filter_map(|id| oned.get(kind, *id));
    macro_rules! typed {
        ($pool:ident { $field:ident }, $build:expr) => {
            models::$pool {
                $field: objs().filter_map(|o| $build(oned, o)).collect(),
            }
            .to_xml()
        };
    }
    match kind {
        // The VM listings are written by the VM documents (`vm.rs`).
        Kind::Vm => super::vm::document::pool(oned, ids, false),
        // The user and group pools interleave each entry with its quotas (and a group with
        // its VLAN rules), which the pool types (one list per element name) cannot say: the
        // root is written here, every element in it comes from the model types.
        Kind::User => {
            let mut writer = XmlWriter::new();
            writer.start("USER_POOL");
            for obj in objs() {
                if let Some(user) = super::user::summary(oned, obj) {
                    user.write_xml(&mut writer, "USER");
                    super::quota::quotas_model(oned, Kind::User, obj.id)
                        .write_xml(&mut writer, "QUOTAS");
                }
            }
            super::quota::default_user_quotas(oned).write_xml(&mut writer, "DEFAULT_USER_QUOTAS");
            writer.end("USER_POOL");
            writer.into_string()
        }
        Kind::Group => {
            let mut writer = XmlWriter::new();
            writer.start("GROUP_POOL");
            for obj in objs() {
                if let Some(group) = super::group::summary(oned, obj) {
                    group.write_xml(&mut writer, "GROUP");
                    super::quota::quotas_model(oned, Kind::Group, obj.id)
                        .write_xml(&mut writer, "QUOTAS");
                    super::group::vlan_rules(obj).write_xml(&mut writer, "VLAN_RULES");
                }
            }
            super::quota::default_group_quotas(oned).write_xml(&mut writer, "DEFAULT_GROUP_QUOTAS");
            writer.end("GROUP_POOL");
            writer.into_string()
        }
        Kind::Host => typed!(HostPool { host }, |oned, obj| super::host::document(
            oned, obj, false
        )),
        Kind::Cluster => typed!(ClusterPool { cluster }, super::cluster::document),
        Kind::Datastore => typed!(DatastorePool { datastore }, super::datastore::document),
        Kind::Image => typed!(ImagePool { image }, super::image::document),
        Kind::Template => typed!(VmTemplatePool { vmtemplate }, super::vmtemplate::document),
        Kind::VnTemplate => typed!(VnTemplatePool { vntemplate }, super::vntemplate::document),
        Kind::Vnet => typed!(VirtualNetworkPool { vnet }, super::vnet::document::summary),
        Kind::SecGroup => typed!(
            SecurityGroupPool { security_group },
            super::secgroup::document
        ),
        Kind::VRouter => typed!(VirtualRouterPool { vrouter }, super::vrouter::document),
        Kind::VmGroup => typed!(VmGroupPool { vm_group }, super::vmgroup::document),
        Kind::Zone => typed!(ZonePool { zone }, super::zone::document),
        Kind::Vdc => typed!(VdcPool { vdc }, super::vdc::document),
        Kind::Document => typed!(DocumentPool { document }, super::document::document),
        Kind::Market => typed!(MarketPlacePool { marketplace }, super::market::document),
        Kind::MarketApp => typed!(
            MarketPlaceAppPool { marketplaceapp },
            super::marketapp::document
        ),
        Kind::Hook => typed!(HookPool { hook }, |oned, obj| super::hook::document(
            oned, obj, false
        )),
        Kind::BackupJob => typed!(BackupJobPool { backupjob }, super::backupjob::document),
    }
}

/// The document of `obj`, its root element named after its kind.
fn element(oned: &Oned, obj: &Obj, full: bool, writer: &mut XmlWriter) {
    fn of<T: ToXml>(value: Option<T>, root: &str, writer: &mut XmlWriter) {
        if let Some(value) = value {
            value.write_xml(writer, root);
        }
    }
    let root = obj.kind.root();
    match obj.kind {
        Kind::Vm => {
            if let Ext::Vm(data) = &obj.ext {
                let vm = super::vm::document::vm(oned, obj, data, full);
                vm.write_xml(writer, vm.root_name());
            }
        }
        Kind::User if full => of(super::user::document(oned, obj), root, writer),
        Kind::User => of(super::user::summary(oned, obj), root, writer),
        Kind::Group if full => of(super::group::document(oned, obj), root, writer),
        Kind::Group => of(super::group::summary(oned, obj), root, writer),
        Kind::Host => of(super::host::document(oned, obj, full), root, writer),
        Kind::Cluster => of(super::cluster::document(oned, obj), root, writer),
        Kind::Datastore => of(super::datastore::document(oned, obj), root, writer),
        Kind::Image => of(super::image::document(oned, obj), root, writer),
        Kind::Template => of(super::vmtemplate::document(oned, obj), root, writer),
        Kind::VnTemplate => of(super::vntemplate::document(oned, obj), root, writer),
        Kind::Vnet if full => of(super::vnet::document::document(oned, obj), root, writer),
        Kind::Vnet => of(super::vnet::document::summary(oned, obj), root, writer),
        Kind::SecGroup => of(super::secgroup::document(oned, obj), root, writer),
        Kind::VRouter => of(super::vrouter::document(oned, obj), root, writer),
        Kind::VmGroup => of(super::vmgroup::document(oned, obj), root, writer),
        Kind::Zone => of(super::zone::document(oned, obj), root, writer),
        Kind::Vdc => of(super::vdc::document(oned, obj), root, writer),
        Kind::Document => of(super::document::document(oned, obj), root, writer),
        Kind::Market => of(super::market::document(oned, obj), root, writer),
        Kind::MarketApp => of(super::marketapp::document(oned, obj), root, writer),
        Kind::Hook => of(super::hook::document(oned, obj, full), root, writer),
        Kind::BackupJob => of(super::backupjob::document(oned, obj), root, writer),
    }
}
