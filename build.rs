#[path = "src/codegen/api.rs"]
mod codegen_api;

fn main() {
    generate_api();
}

/// The typed API (`src/api/`) from `schemas/api/`. Runs after the models generator so that it
/// can see which model types exist.
fn generate_api() {
    let out_dir =
        std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=schemas/api");
    println!("cargo:rerun-if-changed=src/codegen/api.rs");
    println!("cargo:rerun-if-changed=src/template");
    println!("cargo:rustc-check-cfg=cfg(opennebula_models)");
    let env = codegen_api::Environment {
        model_types: generated_model_types(&out_dir),
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
    if let Err(e) = codegen_api::generate(std::path::Path::new("schemas/api"), &out_dir, &env) {
        panic!("generating the typed API from schemas/api failed: {e}");
    }
}

/// Type names declared by the generated models (every `.rs` in OUT_DIR but ours).
fn generated_model_types(out_dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(out_dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !file.ends_with(".rs") || file.starts_with("api_") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap_or_default().lines() {
            let line = line.trim_start();
            for prefix in ["pub struct ", "pub enum "] {
                if let Some(rest) = line.strip_prefix(prefix) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(name);
                }
            }
        }
    }
    names
}
