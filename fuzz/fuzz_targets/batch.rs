//! Fuzz target `batch`: the body is `writ_fuzzing::batch`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::batch(data));
