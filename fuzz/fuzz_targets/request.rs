//! Fuzz target `request`: the body is `writ_fuzzing::request`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::request(data));
