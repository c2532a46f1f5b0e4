//! Build-time code generators. Compiled into `build.rs` only (through
//! `#[path = "src/codegen/mod.rs"] mod codegen;`); this is not part of the library's module tree
//! and cannot use anything from the `opennebula` crate.
//!
//! - [`models`]: the typed documents (`Vm`, `VmPool`, ...) from the XSD files in `schemas/`.
//!
//! A later generator for the API namespaces (from the method table in `schemas/`) belongs beside
//! it as `codegen::api`, reusing [`naming`] and [`writer`].

// Build scripts have no consumer for some helpers in every configuration.
#![allow(dead_code)]

pub mod models;
pub mod naming;
pub mod writer;
