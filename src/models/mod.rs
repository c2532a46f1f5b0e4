//! Typed OpenNebula documents generated at build time from the XSD files in `schemas/`.
//!
//! PLACEHOLDER: filled in by the schema-generated types issue.
