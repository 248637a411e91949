//! Fuzz target `webauthn_client_data`: the body is `writ_fuzzing::webauthn_client_data`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::webauthn_client_data(data));
