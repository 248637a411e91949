#![no_main]
//! Fuzz target `invariants`: the body is `writ_fuzzing::invariants`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::invariants(data));
