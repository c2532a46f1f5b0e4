//! Fuzz target `document`: see `fuzz_checks::check_document`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::check_document(data));
