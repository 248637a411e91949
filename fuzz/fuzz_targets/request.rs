#![no_main]
//! Fuzz target `request`: the body is `writ_fuzzing::request`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::request(data));
