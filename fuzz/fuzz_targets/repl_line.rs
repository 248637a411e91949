//! Fuzz target `repl_line`: the body is `writ_fuzzing::repl_line`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::repl_line(data));
