//! Tests of the generated code against the fixture schemas in `src/models/fixture/`: tolerant
//! decoding, exact encoding and round trips, whatever `schemas/` currently holds.

use proptest::prelude::*;

use super::fixture::{
    Document, Host, Lock, Permissions, Vm, VmExtra, VmPool, VmPoolExtended, VmSnapshots,
    VmSnapshotsSnapshot,
};
use crate::template::Template;
use crate::xml::{FromXml, ToXml};

const FULL_VM: &str = "<VM><ID>7</ID><NAME>web</NAME><TYPE>kvm</TYPE><CPU>0.5</CPU>\
<MEMORY>1024</MEMORY><LOAD>1.25</LOAD><POWER>ON</POWER>\
<PERMISSIONS><OWNER_U>1</OWNER_U><GROUP_U>0</GROUP_U><OTHER_U>0</OTHER_U></PERMISSIONS>\
<LOCK><LOCKED>1</LOCKED><TIME>1700000000</TIME><REQ_ID>9</REQ_ID></LOCK>\
<TEMPLATE><CPU>0.5</CPU><DISK><IMAGE_ID>3</IMAGE_ID></DISK></TEMPLATE>\
<MONITORING><CPU>12</CPU><DISK_SIZE><ID>0</ID><SIZE>10</SIZE></DISK_SIZE></MONITORING>\
<SNAPSHOTS><SNAPSHOT><ID>0</ID><NAME>s0</NAME><SIZE>5</SIZE></SNAPSHOT><SNAPSHOT><ID>1</ID><NAME>s1</NAME></SNAPSHOT></SNAPSHOTS>\
<EXTRA><KNOWN>k</KNOWN><FREE><A>1</A></FREE><MORE/></EXTRA>\
<CHOICE_B>4</CHOICE_B><BACKUP_IDS><ID>1</ID><ID>2</ID></BACKUP_IDS></VM>";

#[test]
fn decodes_every_kind_of_field() {
    let vm = Vm::from_xml(FULL_VM).unwrap();
    assert_eq!(vm.id, 7);
    assert_eq!(vm.name, "web");
    assert_eq!(vm.type_.as_deref(), Some("kvm"));
    assert_eq!(vm.cpu, 0.5);
    assert_eq!(vm.memory, Some(1024));
    assert_eq!(vm.load, Some(1.25));
    assert_eq!(vm.power.as_deref(), Some("ON"));
    assert_eq!(vm.permissions.owner_u, 1);
    assert_eq!(
        vm.lock,
        Some(Lock {
            locked: 1,
            time: 1_700_000_000,
            req_id: Some(9)
        })
    );
    assert_eq!(
        vm.template,
        Template::from_xml(
            "<TEMPLATE><CPU>0.5</CPU><DISK><IMAGE_ID>3</IMAGE_ID></DISK></TEMPLATE>"
        )
        .unwrap()
    );
    // xs:any-only content is a template, so it stays reachable.
    let monitoring = vm.monitoring.as_ref().unwrap();
    assert_ne!(monitoring, &Template::default());
    assert_eq!(vm.snapshots.snapshot.len(), 2);
    assert_eq!(vm.snapshots.snapshot[0].size, Some(5));
    assert_eq!(vm.snapshots.snapshot[1].size, None);
    let extra = vm.extra.as_ref().unwrap();
    assert_eq!(extra.known, "k");
    assert_eq!(extra.unknown_xml, "<FREE><A>1</A></FREE><MORE/>");
    assert_eq!(vm.choice_a, None);
    assert_eq!(vm.choice_b, Some(4));
    assert_eq!(vm.backup_ids.id, vec![1, 2]);
}

#[test]
fn encodes_in_schema_order_without_whitespace() {
    let vm = Vm::from_xml(FULL_VM).unwrap();
    let xml = vm.to_xml();
    assert!(
        xml.starts_with("<VM><ID>7</ID><NAME>web</NAME><TYPE>kvm</TYPE><CPU>0.5</CPU>"),
        "{xml}"
    );
    assert!(
        xml.contains("<EXTRA><KNOWN>k</KNOWN><FREE><A>1</A></FREE><MORE/></EXTRA>"),
        "{xml}"
    );
    assert!(
        xml.ends_with("<CHOICE_B>4</CHOICE_B><BACKUP_IDS><ID>1</ID><ID>2</ID></BACKUP_IDS></VM>"),
        "{xml}"
    );
    assert!(
        !xml.contains("CHOICE_A"),
        "absent optional elements are not written: {xml}"
    );
    assert_eq!(Vm::from_xml(&xml).unwrap(), vm);
}

#[test]
fn unknown_elements_are_skipped_at_every_level() {
    let xml =
        "<VM><NEW_TOP><DEEP><DEEPER>x</DEEPER></DEEP></NEW_TOP><ID>3</ID><NEW_LEAF>1</NEW_LEAF>\
<PERMISSIONS><NEW_PERM>1</NEW_PERM><OWNER_U>1</OWNER_U></PERMISSIONS>\
<SNAPSHOTS><NEW_IN_LIST/><SNAPSHOT><NEW_IN_ITEM><X/></NEW_IN_ITEM><ID>4</ID></SNAPSHOT></SNAPSHOTS>\
<NAME>n</NAME></VM>";
    let vm = Vm::from_xml(xml).unwrap();
    assert_eq!(vm.id, 3);
    assert_eq!(vm.name, "n");
    assert_eq!(vm.permissions.owner_u, 1);
    assert_eq!(vm.snapshots.snapshot.len(), 1);
    assert_eq!(vm.snapshots.snapshot[0].id, 4);
}

#[test]
fn missing_elements_become_none_or_documented_defaults() {
    let vm = Vm::from_xml("<VM/>").unwrap();
    assert_eq!(vm, Vm::default());
    assert_eq!((vm.id, vm.cpu, vm.name.as_str()), (0, 0.0, ""));
    assert_eq!((vm.memory, vm.lock, vm.extra), (None, None, None));
    let vm = Vm::from_xml("<VM><NAME>only</NAME></VM>").unwrap();
    assert_eq!(vm.name, "only");
    assert_eq!(vm.permissions, Permissions::default());
}

#[test]
fn empty_and_odd_numbers_are_values_not_errors() {
    let vm = Vm::from_xml(
        "<VM><ID></ID><CPU>abc</CPU><MEMORY/><LOAD> </LOAD>\
<SNAPSHOTS><SNAPSHOT><ID>2.9</ID><SIZE>1e3</SIZE></SNAPSHOT></SNAPSHOTS>\
<LOCK><LOCKED><![CDATA[1]]></LOCKED><TIME> 5 </TIME><REQ_ID>NaN</REQ_ID></LOCK></VM>",
    )
    .unwrap();
    assert_eq!(vm.id, 0, "empty required number is 0");
    assert_eq!(vm.cpu, 0.0, "non-numeric required decimal is 0");
    assert_eq!(vm.memory, None, "empty optional number is None");
    assert_eq!(vm.load, None);
    assert_eq!(vm.snapshots.snapshot[0].id, 2, "decimals truncate");
    assert_eq!(vm.snapshots.snapshot[0].size, Some(1000));
    let lock = vm.lock.unwrap();
    assert_eq!((lock.locked, lock.time, lock.req_id), (1, 5, None));
}

#[test]
fn elements_in_any_order() {
    let xml = "<VM><BACKUP_IDS><ID>5</ID></BACKUP_IDS><NAME>r</NAME>\
<PERMISSIONS><OTHER_U>1</OTHER_U><OWNER_U>1</OWNER_U></PERMISSIONS><ID>9</ID>\
<SNAPSHOTS><SNAPSHOT><NAME>b</NAME><ID>1</ID></SNAPSHOT></SNAPSHOTS><CPU>2</CPU></VM>";
    let vm = Vm::from_xml(xml).unwrap();
    assert_eq!((vm.id, vm.name.as_str(), vm.cpu), (9, "r", 2.0));
    assert_eq!((vm.permissions.owner_u, vm.permissions.other_u), (1, 1));
    assert_eq!(vm.snapshots.snapshot[0].name, "b");
    assert_eq!(vm.backup_ids.id, vec![5]);
    // An `xs:all` group likewise.
    let host = Host::from_xml(
        "<HOST><HOST_SHARE><TOTAL_CPU>800</TOTAL_CPU></HOST_SHARE><NAME>h</NAME><ID>1</ID></HOST>",
    )
    .unwrap();
    assert_eq!(
        (host.id, host.name.as_str(), host.host_share.total_cpu),
        (1, "h", 800)
    );
}

#[test]
fn namespace_present_or_absent() {
    let plain = Vm::from_xml(
        "<VM><ID>1</ID><NAME>a</NAME><PERMISSIONS><OWNER_U>1</OWNER_U></PERMISSIONS></VM>",
    )
    .unwrap();
    let default_ns = Vm::from_xml(
        "<VM xmlns=\"http://opennebula.org/XMLSchema\"><ID>1</ID><NAME>a</NAME><PERMISSIONS><OWNER_U>1</OWNER_U></PERMISSIONS></VM>",
    )
    .unwrap();
    let prefixed = Vm::from_xml(
        "<one:VM xmlns:one=\"http://opennebula.org/XMLSchema\"><one:ID>1</one:ID><one:NAME>a</one:NAME>\
<one:PERMISSIONS><one:OWNER_U>1</one:OWNER_U></one:PERMISSIONS></one:VM>",
    )
    .unwrap();
    assert_eq!(plain.id, 1);
    assert_eq!(plain, default_ns);
    assert_eq!(plain, prefixed);
}

#[test]
fn malformed_xml_is_an_error_with_position() {
    let err = Vm::from_xml("<VM><ID>1</ID><NAME>a</VM>").unwrap_err();
    assert!(err.position > 0, "{err}");
    let err = Document::from_xml("<VM><ID>1</ID>").unwrap_err();
    assert!(err.message.contains("end of document"), "{err}");
    assert!(Document::from_xml("not xml").is_err());
}

#[test]
fn document_dispatches_on_the_root_element() {
    let doc = Document::from_xml(FULL_VM).unwrap();
    assert_eq!(doc.root_name(), "VM");
    assert_eq!((doc.id(), doc.name()), (Some(7), Some("web")));
    assert!(matches!(doc, Document::Vm(ref vm) if vm.snapshots.snapshot.len() == 2));

    let pool =
        Document::from_xml("<VM_POOL><VM><ID>1</ID></VM><VM><ID>2</ID></VM></VM_POOL>").unwrap();
    assert!(matches!(pool, Document::VmPool(ref p) if p.vm.len() == 2));
    assert_eq!(pool.entry_count(), Some(2));
    assert_eq!(pool.id(), None);

    let unknown =
        Document::from_xml("<?xml version=\"1.0\"?><SOMETHING><X>1</X></SOMETHING>").unwrap();
    match unknown {
        Document::Unknown { root, xml } => {
            assert_eq!(root, "SOMETHING");
            assert!(xml.contains("<X>1</X>"));
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    assert_eq!(Document::ROOTS, &["HOST", "VM", "VM_POOL", "ZONE"]);
    assert_eq!(Document::from_xml(&doc.to_xml()).unwrap(), doc);
    assert_eq!(pool.to_xml(), "<VM_POOL><VM><ID>1</ID><NAME></NAME><CPU>0</CPU><PERMISSIONS><OWNER_U>0</OWNER_U><GROUP_U>0</GROUP_U><OTHER_U>0</OTHER_U></PERMISSIONS><TEMPLATE></TEMPLATE><SNAPSHOTS></SNAPSHOTS><BACKUP_IDS></BACKUP_IDS></VM><VM><ID>2</ID><NAME></NAME><CPU>0</CPU><PERMISSIONS><OWNER_U>0</OWNER_U><GROUP_U>0</GROUP_U><OTHER_U>0</OTHER_U></PERMISSIONS><TEMPLATE></TEMPLATE><SNAPSHOTS></SNAPSHOTS><BACKUP_IDS></BACKUP_IDS></VM></VM_POOL>");
}

#[test]
fn duplicate_global_elements_get_their_own_types() {
    // VM_POOL is declared in vm.xsd and vm_pool_extended.xsd: the file named after the element
    // owns the name and the dispatch, the other is named after its file.
    let extended =
        VmPoolExtended::from_xml("<VM_POOL><VM><ID>4</ID></VM><TOTAL>1</TOTAL></VM_POOL>").unwrap();
    assert_eq!(extended.vm[0].id, 4);
    assert_eq!(extended.total, Some(1));
    assert_eq!(extended.root_name(), "VM_POOL");
    assert_eq!(VmPool::default().root_name(), "VM_POOL");
}

#[test]
fn serializes_json_with_xml_names() {
    let vm = Vm::from_xml(FULL_VM).unwrap();
    let json = serde_json::to_value(&vm).unwrap();
    assert_eq!(json["ID"], 7);
    assert_eq!(json["NAME"], "web");
    assert_eq!(json["PERMISSIONS"]["OWNER_U"], 1);
    assert_eq!(json["SNAPSHOTS"]["SNAPSHOT"][1]["NAME"], "s1");
    assert!(json.get("CHOICE_A").is_none(), "None is not serialized");
}

#[test]
fn text_is_escaped_and_round_trips() {
    let vm = Vm {
        name: "a<b>&c ]]> \"q\"".into(),
        ..Vm::default()
    };
    let xml = vm.to_xml();
    assert!(
        xml.contains("<NAME>a&lt;b&gt;&amp;c ]]&gt; \"q\"</NAME>"),
        "{xml}"
    );
    assert_eq!(Vm::from_xml(&xml).unwrap(), vm);
}

#[test]
fn extensions_inherit_the_base_elements_once() {
    let zone = super::fixture::Zone::from_xml(
        "<ZONE><ENDPOINT>http://x</ENDPOINT><ID>0</ID><NAME>z</NAME></ZONE>",
    )
    .unwrap();
    assert_eq!(
        (zone.id, zone.name.as_str(), zone.endpoint.as_str()),
        (0, "z", "http://x")
    );
    assert_eq!(
        zone.to_xml(),
        "<ZONE><ID>0</ID><NAME>z</NAME><ENDPOINT>http://x</ENDPOINT></ZONE>"
    );
}

#[test]
fn recursive_types_are_boxed_and_decode() {
    use super::fixture::{Rule, RuleGroup};
    let rule = Rule::from_xml(
        "<RULE><NAME>a</NAME><GROUP><FIRST><NAME>b</NAME><GROUP><RULE><NAME>c</NAME></RULE></GROUP></FIRST></GROUP></RULE>",
    )
    .unwrap();
    let group: &RuleGroup = rule.group.as_deref().unwrap();
    let first: &Rule = group.first.as_deref().unwrap();
    assert_eq!(first.name, "b");
    assert_eq!(first.group.as_deref().unwrap().rule[0].name, "c");
    assert_eq!(Rule::from_xml(&rule.to_xml()).unwrap(), rule);
}

fn text() -> impl Strategy<Value = String> {
    // Any text XML 1.0 can carry, including markup characters.
    proptest::string::string_regex("[a-zA-Z0-9 <>&\"'\\]\\[/_.:-]{0,12}").unwrap()
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![any::<i32>().prop_map(f64::from), (-1.0e12f64..1.0e12f64)]
}

prop_compose! {
    fn snapshot()(id in any::<i64>(), name in text(), size in proptest::option::of(any::<i64>()))
        -> VmSnapshotsSnapshot {
        VmSnapshotsSnapshot { id, name, size }
    }
}

prop_compose! {
    fn vm()(
        id in any::<i64>(),
        name in text(),
        type_ in proptest::option::of(text()),
        cpu in finite(),
        memory in proptest::option::of(any::<i64>()),
        load in proptest::option::of(finite()),
        owner_u in 0i64..2,
        lock in proptest::option::of((any::<i64>(), any::<i64>(), proptest::option::of(any::<i64>()))),
        snapshots in proptest::collection::vec(snapshot(), 0..3),
        extra in proptest::option::of((text(), prop_oneof![Just(String::new()), Just("<FREE>x</FREE>".to_string()), Just("<A/><B><C>1</C></B>".to_string())])),
        choice_b in proptest::option::of(any::<i64>()),
        backup_ids in proptest::collection::vec(any::<i64>(), 0..4),
    ) -> Vm {
        Vm {
            id,
            name,
            type_,
            cpu,
            memory,
            load,
            permissions: Permissions { owner_u, ..Permissions::default() },
            lock: lock.map(|(locked, time, req_id)| Lock { locked, time, req_id }),
            snapshots: VmSnapshots { snapshot: snapshots },
            extra: extra.map(|(known, unknown_xml)| VmExtra { known, unknown_xml }),
            choice_b,
            backup_ids: super::fixture::Ids { id: backup_ids },
            ..Vm::default()
        }
    }
}

proptest! {
    #[test]
    fn vm_round_trips(vm in vm()) {
        let xml = vm.to_xml();
        let parsed = Vm::from_xml(&xml).unwrap();
        prop_assert_eq!(&parsed, &vm);
        prop_assert_eq!(parsed.to_xml(), xml);
    }

    #[test]
    fn pool_round_trips(vms in proptest::collection::vec(vm(), 0..4)) {
        let pool = VmPool { vm: vms };
        let xml = pool.to_xml();
        let parsed = match Document::from_xml(&xml).unwrap() {
            Document::VmPool(pool) => pool,
            other => panic!("dispatched to {}", other.root_name()),
        };
        prop_assert_eq!(parsed, pool);
    }
}
