//! Fuzz target `callers_toml`: the body is `writ_fuzzing::callers_toml`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::callers_toml(data));
