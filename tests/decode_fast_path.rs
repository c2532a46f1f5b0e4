//! The fast document path (`wire::decode_document_response`, reading the escaped payload in
//! place) and the streaming path (`stream::PoolDecoder`) give exactly what the ordinary path
//! gives (unescape, then `FromXml`) on a pool shaped like oned's `one.vmpool.info` output.

use opennebula::models::{VmPool, VmSummary};
use opennebula::stream::PoolDecoder;
use opennebula::wire::{self, Value};
use opennebula::xml::FromXml;

/// A VM_POOL in oned's short-body shape: CDATA almost everywhere, entities in CDATA and text,
/// vector attributes, several histories.
fn pool_document(count: usize) -> String {
    let mut doc = String::from("<VM_POOL>");
    for id in 0..count {
        doc.push_str(&format!(
            "<VM><ID>{id}</ID><UID>2</UID><GID>100</GID><UNAME>alice</UNAME><GNAME>eng</GNAME>\
             <NAME>web-{id:06}</NAME><LAST_POLL>1755680000</LAST_POLL><STATE>3</STATE>\
             <LCM_STATE>3</LCM_STATE><RESCHED>0</RESCHED><STIME>1750000000</STIME><ETIME>0</ETIME>\
             <DEPLOY_ID>one-{id}</DEPLOY_ID><TEMPLATE><CPU>0.5</CPU><MEMORY>2048</MEMORY><VCPU>2</VCPU>\
             <DISK><DISK_ID><![CDATA[0]]></DISK_ID><IMAGE><![CDATA[Ubuntu 24.04 & <friends>]]></IMAGE>\
             <SIZE><![CDATA[10240]]></SIZE></DISK><DISK><DISK_ID><![CDATA[1]]></DISK_ID>\
             <IMAGE><![CDATA[]]></IMAGE></DISK><NIC><IP><![CDATA[10.0.0.{}]]></IP>\
             <SCHED_REQUIREMENTS><![CDATA[TRAFFIC = \"public\" & VLAN > 100]]></SCHED_REQUIREMENTS>\
             </NIC><GRAPHICS><LISTEN><![CDATA[0.0.0.0]]></LISTEN></GRAPHICS></TEMPLATE>\
             <MONITORING><CPU><![CDATA[0.00]]></CPU></MONITORING><USER_TEMPLATE>\
             <LABELS><![CDATA[Prod/Web,Team/eng]]></LABELS><NOTE>a &lt; b &amp; c &#233;</NOTE>\
             </USER_TEMPLATE><HISTORY_RECORDS><HISTORY><OID>{id}</OID><SEQ>0</SEQ>\
             <HOSTNAME><![CDATA[kvm-1]]></HOSTNAME><HID>1</HID><CID>100</CID><DS_ID>0</DS_ID>\
             <VM_MAD><![CDATA[kvm]]></VM_MAD><TM_MAD><![CDATA[ceph]]></TM_MAD>\
             <ACTION><![CDATA[0]]></ACTION></HISTORY></HISTORY_RECORDS></VM>",
            id % 250
        ));
    }
    doc.push_str("</VM_POOL>");
    doc
}

fn response(document: &str) -> String {
    wire::encode_response(&Value::Array(vec![
        true.into(),
        document.into(),
        Value::Int(0),
    ]))
}

#[test]
fn fast_path_equals_the_ordinary_path_on_a_pool() {
    let document = pool_document(40);
    let expected = VmPool::from_xml(&document).unwrap();
    assert_eq!(expected.vm.len(), 40);
    let body = response(&document);
    let fast: VmPool = wire::decode_document_response(body.as_bytes()).unwrap();
    assert_eq!(fast, expected);
    let first_disk = fast.vm[3].template.vectors("DISK").next().expect("a DISK");
    assert_eq!(first_disk.get("IMAGE"), Some("Ubuntu 24.04 & <friends>"));
    assert_eq!(fast.vm[3].user_template.get("NOTE"), Some("a < b & c é"));
}

#[test]
fn streamed_items_equal_the_pool_entries() {
    let document = pool_document(25);
    let expected = VmPool::from_xml(&document).unwrap().vm;
    let body = response(&document);
    for chunk in [1usize, 7, 4096] {
        let mut decoder = PoolDecoder::<VmSummary>::new();
        let mut got = Vec::new();
        for piece in body.as_bytes().chunks(chunk) {
            decoder.feed(piece);
            while let Some(vm) = decoder.next_item() {
                got.push(vm.unwrap());
            }
        }
        decoder.finish();
        while let Some(vm) = decoder.next_item() {
            got.push(vm.unwrap());
        }
        assert_eq!(got, expected, "chunks of {chunk} bytes");
    }
}
