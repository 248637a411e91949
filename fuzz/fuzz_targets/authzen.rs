//! Fuzz target `authzen`: the body is `writ_fuzzing::authzen`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::authzen(data));
