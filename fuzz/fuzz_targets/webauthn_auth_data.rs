//! Fuzz target `webauthn_auth_data`: the body is `writ_fuzzing::webauthn_auth_data`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::webauthn_auth_data(data));
