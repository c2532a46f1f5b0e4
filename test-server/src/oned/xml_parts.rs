//! The parts every object's document shares, from the generated models: permissions, lock,
//! id lists, the owner fields.

use super::prelude::*;
use opennebula::models;
use opennebula::xml::{ToXml, XmlWriter};

/// `value` written as element `name`.
pub(crate) fn xml_of<T: ToXml + ?Sized>(value: &T, name: &str) -> String {
    let mut writer = XmlWriter::with_capacity(512);
    value.write_xml(&mut writer, name);
    writer.into_string()
}

pub(crate) fn permissions_of(obj: &Obj) -> models::Permissions {
    let p = obj.perms.map(i64::from);
    models::Permissions {
        owner_u: p[0],
        owner_m: p[1],
        owner_a: p[2],
        group_u: p[3],
        group_m: p[4],
        group_a: p[5],
        other_u: p[6],
        other_m: p[7],
        other_a: p[8],
    }
}

pub(crate) fn lock_of(obj: &Obj) -> Option<models::Lock> {
    obj.lock.as_ref().map(|lock| models::Lock {
        locked: i64::from(lock.level),
        owner: Some(i64::from(lock.owner)),
        time: Some(lock.time),
        req_id: Some(lock.req_id),
    })
}

pub(crate) fn ids_of(ids: impl IntoIterator<Item = i32>) -> models::Ids {
    models::Ids {
        id: ids.into_iter().map(i64::from).collect(),
    }
}

/// The owner fields every owned object has: id, uid, gid, uname, gname, name.
pub(crate) struct Owner {
    pub(crate) id: i64,
    pub(crate) uid: i64,
    pub(crate) gid: i64,
    pub(crate) uname: String,
    pub(crate) gname: String,
    pub(crate) name: String,
}

pub(crate) fn owner_of(oned: &Oned, obj: &Obj) -> Owner {
    Owner {
        id: i64::from(obj.id),
        uid: i64::from(obj.uid),
        gid: i64::from(obj.gid),
        uname: oned.uname(obj.uid),
        gname: oned.gname(obj.gid),
        name: obj.name.clone(),
    }
}
