//! Fuzz target `webauthn_attestation`: the body is `writ_fuzzing::webauthn_attestation`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| writ_fuzzing::webauthn_attestation(data));
