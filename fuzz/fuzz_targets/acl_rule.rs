//! Fuzz target `acl_rule`: see `fuzz_checks::check_acl_rule`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::check_acl_rule(data));
