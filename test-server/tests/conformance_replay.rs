//! Replays the recorded oned 7.5.80 scenarios (the tour, and the edge cases of `edges/`)
//! against a fresh test server each and compares every response with oned's, after
//! normalising the volatile fields the tour's README names (times, tokens, request ids,
//! UUIDs, random MACs, random image file names, DEPLOY_ID, monitoring values). Prints the
//! share of identical calls and the differing ones, writes a full report to
//! `target/conformance-replay.txt` (`conformance-replay-edges.txt`), and fails below
//! [`MIN_IDENTICAL_SHARE`] ([`MIN_IDENTICAL_SHARE_EDGES`]).
//!
//! Before trusting it on the server, the comparator is checked on the tour itself: every
//! response equals itself after normalisation, volatile fields do not matter, and real
//! differences (another VM, another state, another name) are caught.

#![cfg(feature = "conformance")]

#[path = "support_conformance/mod.rs"]
mod support_conformance;

use std::collections::HashMap;
use std::fmt::Write as _;

use opennebula_test_server::TestServer;
use support_conformance::{
    diff, load_tour, login_token, normalise_response, parse_document, replay_tour, target_path,
    NormaliseContext, TourCall,
};

/// The share of tour calls the test server must answer exactly like oned (after
/// normalisation). Set to the figure the server reached when this test was last tuned; raise
/// it as the server improves, never lower it below what it achieves.
const MIN_IDENTICAL_SHARE: f64 = 0.935;

/// The same for the edge-case scenario (validation rules and edge behaviour per object
/// type): raised as the server follows more of oned's rules, never lowered.
const MIN_IDENTICAL_SHARE_EDGES: f64 = 0.33;

/// How many difference lines the report keeps per call.
const DIFF_LINES_PER_CALL: usize = 40;

fn ctx(call: &TourCall) -> NormaliseContext<'_> {
    NormaliseContext {
        method: &call.method,
    }
}

fn find(tour: &[TourCall], seq: u32) -> &TourCall {
    tour.iter()
        .find(|c| c.seq == seq)
        .unwrap_or_else(|| panic!("tour call {seq} missing"))
}

#[test]
fn comparator_finds_every_tour_response_identical_to_itself() {
    let tour = load_tour();
    assert!(tour.len() >= 700, "tour has only {} calls", tour.len());
    let (mut documents, mut xml_payloads) = (0, 0);
    for call in &tour {
        if String::from_utf8_lossy(&call.response).contains("<string>&lt;") {
            xml_payloads += 1;
        }
        let a = normalise_response(&call.response, ctx(call));
        let b = normalise_response(&call.response, ctx(call));
        assert!(
            !matches!(a, support_conformance::Normal::Undecodable(_)),
            "{}: oned's response does not decode: {a:?}",
            call.seq
        );
        assert_eq!(diff(&a, &b, 5), Vec::<String>::new(), "call {}", call.seq);
        if format!("{a:?}").contains("Document(") {
            documents += 1;
        }
    }
    // Every XML payload must parse as a document, or the comparator would compare it as an
    // opaque string (and report a whole-document difference for a single volatile field).
    assert!(
        xml_payloads > 150,
        "only {xml_payloads} XML payloads in the tour"
    );
    assert_eq!(documents, xml_payloads, "some XML payloads did not parse");
}

/// Rewrites the text of every `<NAME>value` occurrence inside the escaped payload.
fn replace_escaped_leaf(body: &[u8], name: &str, new_value: &str) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let open = format!("&lt;{name}&gt;");
    let close = format!("&lt;/{name}&gt;");
    let mut out = String::new();
    let mut rest = text.as_str();
    let mut replaced = 0;
    while let Some(start) = rest.find(&open) {
        let value_start = start + open.len();
        let Some(len) = rest[value_start..].find(&close) else {
            break;
        };
        out.push_str(&rest[..value_start]);
        let old = &rest[value_start..value_start + len];
        if old.starts_with("&lt;![CDATA[") {
            let _ = write!(out, "&lt;![CDATA[{new_value}]]&gt;");
        } else {
            out.push_str(new_value);
        }
        replaced += 1;
        rest = &rest[value_start + len..];
    }
    out.push_str(rest);
    assert!(replaced > 0, "no <{name}> in the body");
    out.into_bytes()
}

#[test]
fn comparator_ignores_volatile_fields_and_catches_real_differences() {
    let tour = load_tour();
    // 337: VM 0 RUNNING (has STIME, DEPLOY_ID, OS/UUID, SOURCE under /datastores/1/).
    let running = find(&tour, 337);
    let base = normalise_response(&running.response, ctx(running));
    for (field, value) in [
        ("STIME", "1700000001"),
        ("RSTIME", "1700000002"),
        ("DEPLOY_ID", "other-host:other:dummy"),
        ("UUID", "00000000-0000-0000-0000-000000000000"),
        ("SOURCE", "/var/lib/one//datastores/1/0123456789abcdef"),
    ] {
        let changed = replace_escaped_leaf(&running.response, field, value);
        let normal = normalise_response(&changed, ctx(running));
        assert_eq!(
            diff(&base, &normal, 5),
            Vec::<String>::new(),
            "changing volatile {field} must not count"
        );
    }
    // An ETIME that goes from 0 ("still running") to a time is a real difference.
    for (field, value) in [
        ("ETIME", "1700000003"),
        ("NAME", "another-name"),
        ("MEMORY", "4096"),
        ("IP", "10.10.0.99"),
        (
            "SOURCE",
            "/var/lib/one//datastores/2/f236976e77a28d4b7b01b9951a1541e4",
        ),
    ] {
        let changed = replace_escaped_leaf(&running.response, field, value);
        let normal = normalise_response(&changed, ctx(running));
        assert!(
            !diff(&base, &normal, 5).is_empty(),
            "changing {field} to {value} must be a difference"
        );
    }

    // oned stamps an image's ERROR with the time: the stamp is volatile, the message is not.
    let failed_image = find(&tour, 192);
    let text = String::from_utf8_lossy(&failed_image.response).into_owned();
    let start = text
        .find("ERROR&gt;&lt;![CDATA[")
        .expect("192 has an ERROR")
        + 21;
    let end = start + text[start..].find("]]&gt;").unwrap();
    let (_, message) = text[start..end].split_once(" : ").expect("a dated message");
    let image_base = normalise_response(&failed_image.response, ctx(failed_image));
    let restamped = format!("Wed Dec  2 01:02:03 2026 : {message}");
    let changed = replace_escaped_leaf(&failed_image.response, "ERROR", &restamped);
    assert_eq!(
        diff(
            &image_base,
            &normalise_response(&changed, ctx(failed_image)),
            5
        ),
        Vec::<String>::new(),
        "another time stamp on the same ERROR must not count"
    );
    let other_error = "Tue Nov 24 09:32:23 2026 : Error copying image: another cause";
    let changed = replace_escaped_leaf(&failed_image.response, "ERROR", other_error);
    assert!(
        !diff(
            &image_base,
            &normalise_response(&changed, ctx(failed_image)),
            5
        )
        .is_empty(),
        "another ERROR message must be a difference"
    );

    // Two different VMs' documents are never identical; nor one VM in two states.
    let other_vm = tour
        .iter()
        .find(|c| {
            c.method == "one.vm.info"
                && c.seq != 337
                && String::from_utf8_lossy(&c.request).contains("<i4>1</i4>")
                && String::from_utf8_lossy(&c.response).contains("<boolean>1</boolean>")
        })
        .expect("an info of VM 1");
    let other = normalise_response(&other_vm.response, ctx(other_vm));
    let lines = diff(&base, &other, 10);
    assert!(
        !lines.is_empty(),
        "VM 0 and VM 1 must differ ({})",
        other_vm.seq
    );
    let pending = find(&tour, 331);
    let lines = diff(
        &normalise_response(&pending.response, ctx(pending)),
        &base,
        10,
    );
    assert!(
        lines.iter().any(|l| l.contains("/VM/STATE")),
        "PENDING vs RUNNING must show STATE: {lines:?}"
    );

    // Error responses: same code and text only.
    let wrong_password = find(&tour, 11);
    let unknown_user = find(&tour, 12);
    let a = normalise_response(&wrong_password.response, ctx(wrong_password));
    let b = normalise_response(&unknown_user.response, ctx(unknown_user));
    assert_eq!(a == b, wrong_password.response == unknown_user.response);

    // A failed lock test answers the lock's timestamp: the time is volatile, the code is not.
    let lock = find(&tour, 319);
    let text = String::from_utf8_lossy(&lock.response).replace("1795512748", "1700000000");
    let a = normalise_response(&lock.response, ctx(lock));
    assert_eq!(
        diff(&a, &normalise_response(text.as_bytes(), ctx(lock)), 5),
        Vec::<String>::new()
    );
    let text = text.replace("<i4>2048</i4>", "<i4>512</i4>");
    assert!(!diff(&a, &normalise_response(text.as_bytes(), ctx(lock)), 5).is_empty());

    // The random MAC of an address range without IPv4 (and the IPv6 addresses derived from
    // it) is volatile; a MAC derived from an IPv4 address is not.
    let ars = find(&tour, 236);
    let text = String::from_utf8_lossy(&ars.response)
        .replace("02:00:99:dd:23:5", "02:00:12:34:56:7")
        .replace("99ff:fedd:235", "12ff:fe34:567");
    assert_ne!(text.as_bytes(), ars.response.as_slice());
    assert_eq!(
        diff(
            &normalise_response(&ars.response, ctx(ars)),
            &normalise_response(text.as_bytes(), ctx(ars)),
            5
        ),
        Vec::<String>::new()
    );
    let text = String::from_utf8_lossy(&running.response)
        .replace("02:00:0a:0a:00:0e", "02:00:0a:0a:00:0f");
    assert!(!diff(&base, &normalise_response(text.as_bytes(), ctx(running)), 5).is_empty());

    // CDATA and escaped text are the same value; layout whitespace between elements is not
    // content; element order is.
    let cdata = parse_document("<A><B><![CDATA[x & <y>]]></B><C>1</C></A>").unwrap();
    let escaped = parse_document("<A>\n  <B>x &amp; &lt;y&gt;</B>\n  <C>1</C>\n</A>").unwrap();
    assert_eq!(cdata, escaped);
    let reordered = parse_document("<A><C>1</C><B>x &amp; &lt;y&gt;</B></A>").unwrap();
    assert_ne!(cdata, reordered);

    // Login tokens are random.
    let login = find(&tour, 63);
    let token = login_token(&login.response).expect("token");
    let text = String::from_utf8_lossy(&login.response).replace(&token, "feedbeef");
    assert_eq!(
        diff(
            &normalise_response(&login.response, ctx(login)),
            &normalise_response(text.as_bytes(), ctx(login)),
            5
        ),
        Vec::<String>::new()
    );
}

/// One replayed call's outcome.
struct Outcome {
    seq: u32,
    method: String,
    label: String,
    differences: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_tour_against_fresh_test_server() {
    replay("tour", MIN_IDENTICAL_SHARE, "conformance-replay.txt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_edges_against_fresh_test_server() {
    replay(
        "edges",
        MIN_IDENTICAL_SHARE_EDGES,
        "conformance-replay-edges.txt",
    )
    .await;
}

/// Replays scenario `name` against a fresh server, writes the report to `report_name` under
/// the target folder, and fails below `threshold`.
async fn replay(name: &str, threshold: f64, report_name: &str) {
    let tour = support_conformance::load_scenario(name);
    let server = TestServer::start().await.expect("start the test server");
    let replies = replay_tour(&server.url(), &tour).await;
    let mut outcomes = Vec::with_capacity(tour.len());
    let mut waits = Vec::new();
    for (call, reply) in tour.iter().zip(replies) {
        if let Some(wait) = &reply.waited {
            waits.push(format!(
                "  {:03} {} {}: {} -> {} after {} polls, {:.2?}",
                call.seq,
                call.method,
                call.label,
                wait.reason,
                if wait.reached {
                    "caught up"
                } else {
                    "NOT reached"
                },
                wait.polls,
                wait.elapsed
            ));
        }
        let mut differences = Vec::new();
        if reply.status != call.http_status {
            differences.push(format!(
                "HTTP status: expected {}, got {}",
                call.http_status, reply.status
            ));
        }
        match reply.body {
            Err(e) => differences.push(format!("transport error: {e}")),
            Ok(body) => {
                let expected = normalise_response(&call.response, ctx(call));
                let got = normalise_response(&body, ctx(call));
                differences.extend(diff(&expected, &got, DIFF_LINES_PER_CALL));
            }
        }
        outcomes.push(Outcome {
            seq: call.seq,
            method: call.method.clone(),
            label: call.label.clone(),
            differences,
        });
    }

    let identical = outcomes.iter().filter(|o| o.differences.is_empty()).count();
    let share = identical as f64 / outcomes.len() as f64;
    let mut report = String::new();
    let _ = writeln!(
        report,
        "oned 7.5.80 {name} replayed against the test server: {identical}/{} calls identical ({:.1}%), threshold {:.1}%",
        outcomes.len(),
        share * 100.0,
        threshold * 100.0
    );
    let mut by_method: HashMap<&str, (usize, usize)> = HashMap::new();
    for o in &outcomes {
        let entry = by_method.entry(o.method.as_str()).or_default();
        entry.1 += 1;
        if o.differences.is_empty() {
            entry.0 += 1;
        }
    }
    let mut summary = String::new();
    let _ = writeln!(summary, "{}", report.trim_end());
    let _ = writeln!(
        summary,
        "differing calls (seq method label: first difference):"
    );
    let _ = writeln!(report, "\nDiffering calls:");
    for o in outcomes.iter().filter(|o| !o.differences.is_empty()) {
        let _ = writeln!(
            summary,
            "  {:03} {} {}: {}{}",
            o.seq,
            o.method,
            o.label,
            o.differences[0],
            if o.differences.len() > 1 {
                format!(" (+{} more)", o.differences.len() - 1)
            } else {
                String::new()
            }
        );
        let _ = writeln!(report, "\n{:03} {} {}", o.seq, o.method, o.label);
        for line in &o.differences {
            let _ = writeln!(report, "    {line}");
        }
    }
    let _ = writeln!(
        report,
        "\nWaits for states only time brings (as the recorder's unrecorded polling did): {}",
        waits.len()
    );
    for line in &waits {
        let _ = writeln!(report, "{line}");
    }
    let _ = writeln!(summary, "waits for time-driven states: {}", waits.len());
    let mut methods: Vec<_> = by_method.into_iter().collect();
    methods.sort();
    let _ = writeln!(report, "\nPer method (identical/total):");
    for (method, (same, total)) in methods {
        let _ = writeln!(report, "  {method}: {same}/{total}");
    }
    let path = target_path(report_name);
    std::fs::write(&path, &report).expect("write the report");
    println!("{summary}full report: {}", path.display());

    assert!(
        share >= threshold,
        "only {:.1}% of the {name} is identical (threshold {:.1}%); see {}",
        share * 100.0,
        threshold * 100.0,
        path.display()
    );
}
