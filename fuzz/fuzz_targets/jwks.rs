//! Fuzz target `jwks`: the body is `writ_fuzzing::jwks`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::jwks(data));
