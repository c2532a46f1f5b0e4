//! Fuzzes the template XML reader (`Template::from_xml_bytes`) and every form of what it reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::check_xml(data));
