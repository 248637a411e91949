//! Fuzz target `invitation`: the body is `writ_fuzzing::invitation`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::invitation(data));
