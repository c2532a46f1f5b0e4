//! Replays inputs the template fuzz targets once failed on (and a few hand-picked ones), with
//! the same checks as the targets (`fuzz/src/checks.rs`).
//!
//! Inputs live in `tests/fuzz-regressions/template_text/` and `.../template_xml/`; a new
//! crash artifact is kept by copying it there.

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::fs;
use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        eprintln!("replaying {}", path.display());
        check(&data);
        count += 1;
    }
    count
}

#[test]
fn template_text_regressions() {
    assert!(replay("template_text", checks::check_text) > 0);
}

#[test]
fn template_xml_regressions() {
    assert!(replay("template_xml", checks::check_xml) > 0);
}
