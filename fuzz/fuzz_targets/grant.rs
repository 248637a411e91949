//! Fuzz target `grant`: the body is `writ_fuzzing::grant`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::grant(data));
