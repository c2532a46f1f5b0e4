//! Generator of the typed documents in `src/models/` (`Vm`, `VmPool`, `Document`, ...).
//!
//! Pipeline: xsd-parser's `Parser` + `Interpreter` read the XSD files into its type model
//! ([`load`]), which we reduce to our own small model ([`ir`]), which [`render`] turns into
//! Rust source. We do not use xsd-parser's renderers: their quick-xml deserializers reject
//! unknown and reordered elements (upstream issue #293), and oned's real output has both.

pub mod ir;
pub mod load;
pub mod render;

use std::path::Path;

/// Reads the `*.xsd` files of `xsd_dir` and returns the generated Rust source, plus the files
/// read (for `cargo:rerun-if-changed`). `work_dir` is scratch space (build scripts pass
/// `OUT_DIR`). A missing or empty directory generates a module with no types.
/// `label` names the input in the generated header.
pub fn generate(
    xsd_dir: &Path,
    work_dir: &Path,
    label: &str,
) -> Result<(String, Vec<std::path::PathBuf>), String> {
    let model = load::load_dir(xsd_dir, work_dir)?;
    let source = render::render(&model, label);
    Ok((source, model.files))
}
