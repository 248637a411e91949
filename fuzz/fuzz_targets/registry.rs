//! Fuzz target `registry`: the body is `writ_fuzzing::registry`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::registry(data));
