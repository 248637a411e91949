//! Fuzz target `audit`: the body is `writ_fuzzing::audit`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::audit(data));
