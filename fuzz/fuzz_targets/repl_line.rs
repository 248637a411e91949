#![no_main]
//! Fuzz target `repl_line`: the body is `writ_fuzzing::repl_line`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::repl_line(data));
