//! Fuzz target `jwt`: the body is `writ_fuzzing::jwt`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::jwt(data));
