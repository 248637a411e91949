//! Fuzz target `invariants`: the body is `writ_fuzzing::invariants`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::invariants(data));
