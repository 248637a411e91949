//! Fuzz target `policy`: the body is `writ_fuzzing::policy`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::policy(data));
