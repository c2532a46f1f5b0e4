//! Generates the typed OpenNebula documents (`src/models/`) from the XSD files in `schemas/`
//! (or `$OPENNEBULA_XSD_DIR`) into `$OUT_DIR/models.rs`. See `src/codegen/`.
//!
//! With the `conformance` feature, also generates `$OUT_DIR/official_models.rs` from the
//! official XSD set (`$OPENNEBULA_REFERENCE_DIR/opennebula-xsd`, by default
//! `../shared/reference/opennebula-xsd`) to prove that it generates code that compiles and
//! parses.

#[path = "src/codegen/mod.rs"]
mod codegen;
#[path = "src/codegen/api.rs"]
mod codegen_api;

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/codegen");
    println!("cargo:rerun-if-env-changed=OPENNEBULA_XSD_DIR");
    println!("cargo:rerun-if-env-changed=OPENNEBULA_REFERENCE_DIR");
    println!("cargo:rustc-check-cfg=cfg(opennebula_model, values(any()))");
    println!("cargo:rustc-check-cfg=cfg(opennebula_root, values(any()))");

    let (xsd_dir, label) = match env("OPENNEBULA_XSD_DIR") {
        Some(dir) => (PathBuf::from(&dir), dir),
        None => (manifest_dir.join("schemas"), "schemas/".to_string()),
    };
    println!("cargo:rerun-if-changed={}", xsd_dir.display());
    let source = generate(&xsd_dir, &label, &out_dir.join("models-work"));
    // Lets tests and examples that need particular types say so: `#[cfg(opennebula_model = "Vm")]`.
    // and `#[cfg(opennebula_root = "VM")]` for document roots `Document` dispatches.
    for name in defined_types(&source) {
        println!("cargo:rustc-cfg=opennebula_model=\"{name}\"");
    }
    for root in dispatched_roots(&source) {
        println!("cargo:rustc-cfg=opennebula_root=\"{root}\"");
    }
    write(&out_dir.join("models.rs"), &source);
    generate_api(
        &out_dir,
        defined_types(&source)
            .into_iter()
            .map(String::from)
            .collect(),
    );

    // The generator's own test fixture (used by the library's unit tests only).
    let fixture = manifest_dir.join("src/models/fixture");
    let source = generate(
        &fixture,
        "src/models/fixture",
        &out_dir.join("fixture-work"),
    );
    write(&out_dir.join("fixture_models.rs"), &source);

    if env("CARGO_FEATURE_CONFORMANCE").is_some() {
        let reference = env("OPENNEBULA_REFERENCE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest_dir.join("../shared/reference"));
        let official = reference.join("opennebula-xsd");
        println!("cargo:rerun-if-changed={}", official.display());
        let source = generate(
            &official,
            "the official OpenNebula set",
            &out_dir.join("official-work"),
        );
        write(&out_dir.join("official_models.rs"), &source);
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn generate(dir: &Path, label: &str, work_dir: &Path) -> String {
    match codegen::models::generate(dir, work_dir, label) {
        Ok((source, files)) => {
            for file in files {
                println!("cargo:rerun-if-changed={}", file.display());
            }
            source
        }
        Err(message) => {
            // A schema error is a build error: say which file and why.
            eprintln!(
                "error: cannot generate models from {}: {message}",
                dir.display()
            );
            std::process::exit(1);
        }
    }
}

/// The `pub struct` names in generated source.
fn defined_types(source: &str) -> Vec<&str> {
    source
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("pub struct "))
        .filter_map(|rest| rest.split([' ', '{']).next())
        .collect()
}

/// The root element names listed in the generated `Document::ROOTS`.
fn dispatched_roots(source: &str) -> Vec<&str> {
    source
        .lines()
        .find_map(|l| {
            l.trim_start()
                .strip_prefix("pub const ROOTS: &'static [&'static str] = &[")
        })
        .map(|list| {
            list.trim_end_matches("];")
                .split(", ")
                .map(|r| r.trim_matches('"'))
                .filter(|r| !r.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn write(path: &Path, contents: &str) {
    // Only rewrite when changed, so an unchanged schema does not rebuild the crate.
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return;
    }
    std::fs::write(path, contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The typed API (`src/api/`) from `schemas/api/`, told which model types exist so that
/// document-returning methods get their typed return.
fn generate_api(out_dir: &Path, model_types: std::collections::BTreeSet<String>) {
    println!("cargo:rerun-if-changed=schemas/api");
    println!("cargo:rerun-if-changed=src/codegen/api.rs");
    println!("cargo:rerun-if-changed=src/template");
    println!("cargo:rustc-check-cfg=cfg(opennebula_models)");
    let env = codegen_api::Environment {
        model_types,
        template_arg: std::fs::read_dir("src/template")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .any(|text| text.contains("pub trait TemplateArg")),
    };
    if !env.model_types.is_empty() {
        println!("cargo:rustc-cfg=opennebula_models");
    }
    if let Err(e) = codegen_api::generate(Path::new("schemas/api"), out_dir, &env) {
        eprintln!("error: generating the typed API from schemas/api failed: {e}");
        std::process::exit(1);
    }
}
