//! Typed method namespaces (`client.vm().info(id)` ...), generated from `schemas/`.
//!
//! PLACEHOLDER: filled in by the API namespaces issue.
