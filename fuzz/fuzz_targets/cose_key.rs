//! Fuzz target `cose_key`: the body is `writ_fuzzing::cose_key`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::cose_key(data));
