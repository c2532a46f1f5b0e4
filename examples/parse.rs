//! Decodes OpenNebula XML documents with the generated types and prints one line per file.
//!
//! ```text
//! cargo run --example parse -- FILE...
//! ```
//!
//! Each FILE is a bare document (`<VM>…</VM>`) or a whole XML-RPC `methodResponse` whose
//! payload is an escaped document (as oned sends it). Prints the root element and a summary
//! (ID, name, entry count, element count); exits with status 1 if any file fails to decode.
//! Responses whose payload is not a document (an ID, an error message) are reported and
//! not counted as failures.

use std::process::ExitCode;

use opennebula::models::Document;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: parse FILE...");
        return ExitCode::from(2);
    }
    let (mut decoded, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    for file in &files {
        let raw = match std::fs::read_to_string(file) {
            Ok(raw) => raw,
            Err(err) => {
                println!("{file}: FAILED: cannot read: {err}");
                failed += 1;
                continue;
            }
        };
        let document = if raw.contains("<methodResponse") {
            match xmlrpc_document_payload(&raw) {
                Some(body) => body,
                None => {
                    println!("{file}: skipped: the response carries no XML document");
                    skipped += 1;
                    continue;
                }
            }
        } else {
            raw
        };
        match Document::from_xml(&document) {
            Ok(Document::Unknown { root, .. }) => {
                println!("{file}: FAILED: no generated type for root <{root}>");
                failed += 1;
            }
            Ok(doc) => {
                println!(
                    "{file}: {} elements={}",
                    doc.summary(),
                    count_elements(&document)
                );
                decoded += 1;
            }
            Err(err) => {
                println!("{file}: FAILED: {err}");
                failed += 1;
            }
        }
    }
    eprintln!("{decoded} decoded, {failed} failed, {skipped} without a document");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The escaped document inside a successful XML-RPC response: the `<string>` (or untyped
/// text) of the second `<value>` of the response array, unescaped. `None` when that value is
/// not a document (an ID, an error message, a fault).
///
/// A deliberately small local extraction for this example; the crate's XML-RPC codec will
/// replace it.
fn xmlrpc_document_payload(response: &str) -> Option<String> {
    let data = &response[response.find("<data>")? + "<data>".len()..];
    // Skip the first <value> (the success boolean).
    let first_end = data.find("</value>")? + "</value>".len();
    let rest = &data[first_end..];
    let start = rest.find("<value>")? + "<value>".len();
    let mut body = &rest[start..];
    if let Some(inner) = body.strip_prefix("<string>") {
        body = &inner[..inner.find("</string>")?];
    } else if body.starts_with('<') {
        return None; // <i4>, <boolean>, <array>...: not a document.
    } else {
        body = &body[..body.find("</value>")?];
    }
    let text = unescape(body);
    text.trim_start().starts_with('<').then_some(text)
}

/// Resolves the five predefined XML entities and numeric character references.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let resolved = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match resolved {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Number of elements in `document` (start and empty tags).
fn count_elements(document: &str) -> usize {
    let bytes = document.as_bytes();
    let mut count = 0;
    let mut in_cdata = false;
    let mut i = 0;
    while i < bytes.len() {
        if in_cdata {
            if bytes[i..].starts_with(b"]]>") {
                in_cdata = false;
                i += 3;
                continue;
            }
        } else if bytes[i] == b'<' {
            match bytes.get(i + 1) {
                Some(b'/' | b'?') => {}
                Some(b'!') => in_cdata = bytes[i..].starts_with(b"<![CDATA["),
                Some(_) => count += 1,
                None => {}
            }
        }
        i += 1;
    }
    count
}
