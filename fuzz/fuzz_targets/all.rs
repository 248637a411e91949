//! Every target in one binary, for carrying prebuilt to another machine (one file instead of
//! fifteen): the environment variable `WRIT_FUZZ_TARGET` names the target to run.
#![no_main]

use std::sync::OnceLock;

static TARGET: OnceLock<writ_fuzzing::Target> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let body = TARGET.get_or_init(|| {
        let name = std::env::var("WRIT_FUZZ_TARGET").unwrap_or_default();
        match writ_fuzzing::TARGETS.iter().find(|(n, _)| *n == name) {
            Some((_, f)) => *f,
            None => {
                let names: Vec<&str> = writ_fuzzing::TARGETS.iter().map(|(n, _)| *n).collect();
                eprintln!("set WRIT_FUZZ_TARGET to one of: {}", names.join(", "));
                std::process::exit(2)
            }
        }
    });
    body(data)
});
