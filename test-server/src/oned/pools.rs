//! Which objects a pool listing shows and in which order: visibility by owner, group,
//! permissions and ACL rules for the filter flags (-4 group, -3 mine, -2 all, -1 mine and my
//! groups, or a user id), id ranges and pages, by descending id (`RequestManagerPoolInfoFilter`
//! in src/rm/RequestManagerPoolInfoFilter.cc, `PoolSQL::dump`).

use super::prelude::*;

/// The ids a pool call returns, by descending id.
pub(crate) fn pool_ids(
    oned: &Oned,
    caller: Caller,
    kind: Kind,
    filter: i32,
    start: i32,
    end: i32,
    extra: impl Fn(&Obj) -> bool,
) -> Vec<i32> {
    let admin = oned.is_admin(caller.uid);
    let groups = oned.user_groups(caller.uid);
    let visible = |o: &Obj| -> bool {
        if !kind.owned() {
            return match kind {
                Kind::User => admin || o.id == caller.uid || groups.contains(&o.gid),
                Kind::Group => admin || groups.contains(&o.id),
                _ => true,
            };
        }
        let usable = admin
            || o.uid == caller.uid
            || (groups.contains(&o.gid) && o.perms[3] == 1)
            || o.perms[6] == 1
            || super::acl::grants(oned, caller, &groups, kind, o, 1);
        match filter {
            -4 => o.gid == caller.gid && usable,
            -3 => o.uid == caller.uid,
            -2 => usable,
            -1 => usable && (o.uid == caller.uid || groups.contains(&o.gid)),
            uid => o.uid == uid && usable,
        }
    };
    // oned's pagination (PoolSQL::dump): an end below -1 means "start is an offset and
    // -end the page size" over the listing order, with no id range.
    let page = (end < -1).then(|| (start.max(0) as usize, end.unsigned_abs() as usize));
    let in_range = |id: i32| -> bool {
        if page.is_some() || (start < 0 && end < 0) {
            return true;
        }
        let lo = if start < 0 { 0 } else { start };
        if end < 0 {
            id >= lo
        } else {
            id >= lo && id <= end
        }
    };
    let ids = oned
        .pool(kind)
        .values()
        .rev()
        .filter(|o| in_range(o.id) && visible(o) && extra(o))
        .map(|o| o.id);
    match page {
        Some((offset, size)) => ids.skip(offset).take(size).collect(),
        None => ids.collect(),
    }
}
