//! Fuzz target `client_cert`: the body is `writ_fuzzing::client_cert`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::client_cert(data));
