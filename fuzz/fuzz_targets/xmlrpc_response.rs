//! Fuzz target `xmlrpc_response`: see `fuzz_checks::check_xmlrpc`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::check_xmlrpc(data));
