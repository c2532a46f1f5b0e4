//! Fuzzes the template text parser (`Template::parse`) and every form of what it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::check_text(data));
