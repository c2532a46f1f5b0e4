//! The VM documents: `one.vm.info`'s full VM, the abridged VM of `one.vmpool.info`, and the
//! history records of `one.vmpool.accounting`.

use super::super::objects::{Ext, Obj};
use super::super::vm::VmData;
use super::super::{Kind, Oned};
use super::{ids, lock, owner, permissions, write};
use crate::server::xmlout::Doc;

/// The full VM document body (inside `<VM>`), as `one.vm.info` writes it; `full: false`
/// keeps only the last history record.
pub(super) fn vm_body(doc: &mut Doc, oned: &Oned, obj: &Obj, vm: &VmData, full: bool) {
    owner(doc, oned, obj);
    permissions(doc, obj);
    lock(doc, obj);
    doc.text("LAST_POLL", vm.last_poll)
        .text("STATE", vm.state)
        .text("LCM_STATE", vm.lcm_state)
        .text("PREV_STATE", vm.prev_state)
        .text("PREV_LCM_STATE", vm.prev_lcm_state)
        .text("RESCHED", u8::from(vm.resched))
        .text("STIME", vm.stime)
        .text("ETIME", vm.etime)
        .text("DEPLOY_ID", &vm.deploy_id);
    doc.open("MONITORING");
    super::super::vm::write_monitoring(doc, obj.id, vm);
    doc.close("MONITORING");
    ids(
        doc,
        "SCHED_ACTIONS",
        vm.sched_actions
            .iter()
            .filter_map(|a| a.get("ID")?.parse().ok()),
    );
    obj.template.write(doc, "TEMPLATE");
    vm.user_template.write(doc, "USER_TEMPLATE");
    if vm.history.is_empty() {
        doc.empty("HISTORY_RECORDS");
    } else {
        doc.open("HISTORY_RECORDS");
        let records: &[super::super::vm::History] = if full {
            &vm.history
        } else {
            &vm.history[vm.history.len() - 1..]
        };
        for h in records {
            doc.open("HISTORY")
                .text("OID", obj.id)
                .text("SEQ", h.seq)
                .text("HOSTNAME", &h.hostname)
                .text("HID", h.hid)
                .text("CID", h.cid)
                .text("STIME", h.stime)
                .text("ETIME", h.etime)
                .cdata("VM_MAD", &h.vm_mad)
                .cdata("TM_MAD", "dummy")
                .text("DS_ID", h.ds_id)
                .text("PLAN_ID", h.plan_id)
                .text("ACTION_ID", if h.plan_id == -2 { -1 } else { 0 })
                .text("PSTIME", h.stime)
                .text("PETIME", h.stime)
                .text("RSTIME", h.stime)
                .text("RETIME", h.etime)
                .text("ESTIME", 0)
                .text("EETIME", 0)
                .text("ACTION", h.action)
                .text("UID", h.uid)
                .text("GID", h.gid)
                .text("REQUEST_ID", -1)
                .close("HISTORY");
        }
        doc.close("HISTORY_RECORDS");
    }
    doc.raw("<BACKUPS><BACKUP_CONFIG/><BACKUP_IDS></BACKUP_IDS></BACKUPS>");
}

/// The abridged VM of `one.vmpool.info` listings.
pub(super) fn vm_short(doc: &mut Doc, oned: &Oned, obj: &Obj, vm: &VmData) {
    doc.open("VM")
        .text("ID", obj.id)
        .text("UID", obj.uid)
        .text("GID", obj.gid)
        .text("UNAME", oned.uname(obj.uid))
        .text("GNAME", oned.gname(obj.gid))
        .text("NAME", &obj.name)
        .text("LAST_POLL", 0)
        .text("STATE", vm.state)
        .text("LCM_STATE", vm.lcm_state)
        .text("RESCHED", u8::from(vm.resched))
        .text("STIME", vm.stime)
        .text("ETIME", vm.etime)
        .text("DEPLOY_ID", &vm.deploy_id);
    doc.open("TEMPLATE")
        .text("CPU", obj.template.get("CPU").unwrap_or(""))
        .text("MEMORY", obj.template.get("MEMORY").unwrap_or(""))
        .text("VCPU", obj.template.get("VCPU").unwrap_or(""));
    for disk in obj.template.vectors("DISK") {
        doc.open("DISK");
        for key in [
            "DISK_ID",
            "DATASTORE",
            "DATASTORE_ID",
            "IMAGE",
            "IMAGE_ID",
            "SIZE",
            "TYPE",
            "CLONE",
            "CLONE_TARGET",
            "LN_TARGET",
            "DISK_SNAPSHOT_TOTAL_SIZE",
        ] {
            doc.cdata(key, disk.get(key).map_or("", String::as_str));
        }
        doc.close("DISK");
    }
    for nic in obj.template.vectors("NIC") {
        doc.open("NIC");
        for key in [
            "IP",
            "MAC",
            "NETWORK",
            "NETWORK_ID",
            "NIC_ID",
            "SECURITY_GROUPS",
        ] {
            if let Some(value) = nic.get(key) {
                doc.cdata(key, value);
            }
        }
        doc.close("NIC");
    }
    for graphics in obj.template.vectors("GRAPHICS") {
        doc.open("GRAPHICS");
        for key in ["LISTEN", "PORT", "TYPE"] {
            if let Some(value) = graphics.get(key) {
                doc.cdata(key, value);
            }
        }
        doc.close("GRAPHICS");
    }
    doc.close("TEMPLATE").empty("MONITORING");
    let mut user = crate::server::tmpl::Tmpl::default();
    for key in [
        "LABELS",
        "ERROR",
        "SCHED_MESSAGE",
        "SCHED_RANK",
        "SCHED_REQUIREMENTS",
    ] {
        if let Some(value) = vm.user_template.get(key) {
            user.set(key, value.to_string());
        }
    }
    if user.names().is_empty() {
        doc.empty("USER_TEMPLATE");
    } else {
        user.write(doc, "USER_TEMPLATE");
    }
    match vm.history.last() {
        None => {
            doc.empty("HISTORY_RECORDS");
        }
        Some(h) => {
            doc.open("HISTORY_RECORDS")
                .open("HISTORY")
                .text("OID", obj.id)
                .text("SEQ", h.seq)
                .cdata("HOSTNAME", &h.hostname)
                .text("HID", h.hid)
                .text("CID", h.cid)
                .text("DS_ID", h.ds_id)
                .cdata("VM_MAD", &h.vm_mad)
                .cdata("TM_MAD", "dummy")
                .cdata("ACTION", &h.action.to_string())
                .close("HISTORY")
                .close("HISTORY_RECORDS");
        }
    }
    doc.close("VM");
}

/// `<HISTORY_RECORDS>` of `one.vmpool.accounting`.
pub(crate) fn accounting(oned: &Oned, vms: &[i32]) -> String {
    let mut doc = Doc::new();
    doc.open("HISTORY_RECORDS");
    for id in vms.iter().rev() {
        let Some(Obj {
            ext: Ext::Vm(vm), ..
        }) = oned.get(Kind::Vm, *id)
        else {
            continue;
        };
        for h in &vm.history {
            doc.open("HISTORY")
                .text("OID", id)
                .text("SEQ", h.seq)
                .text("HOSTNAME", &h.hostname)
                .text("HID", h.hid)
                .text("CID", h.cid)
                .text("STIME", h.stime)
                .text("ETIME", h.etime)
                .cdata("VM_MAD", &h.vm_mad)
                .cdata("TM_MAD", "dummy")
                .text("DS_ID", h.ds_id)
                .text("PLAN_ID", h.plan_id)
                .text("ACTION_ID", if h.plan_id == -2 { -1 } else { 0 })
                .text("PSTIME", h.stime)
                .text("PETIME", h.stime)
                .text("RSTIME", h.stime)
                .text("RETIME", h.etime)
                .text("ESTIME", 0)
                .text("EETIME", 0)
                .text("ACTION", h.action)
                .text("UID", h.uid)
                .text("GID", h.gid)
                .text("REQUEST_ID", -1)
                .close("HISTORY");
            if let Some(obj) = oned.get(Kind::Vm, *id) {
                // Each record carries the VM's body, as oned stores it with the history.
                let at = doc.out.rfind("</HISTORY>").expect("just written");
                let mut body = Doc::new();
                write(&mut body, oned, obj, true);
                doc.out.insert_str(at, &body.finish());
            }
        }
    }
    doc.close("HISTORY_RECORDS");
    doc.finish()
}
