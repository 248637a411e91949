//! The worked examples of docs/language.md §21 ("Every message, byte by byte"): the binding
//! code and the Ed25519 answers, computed through the public API from the same challenge id
//! and digest as the WebAuthn example, so a third party can check an implementation of its
//! own against these bytes.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use serde_json::json;
use writ_approvals::{answer_message, binding_code, KeyPair};

const CHALLENGE: &str = "ch_4mFzT2bq9XyV0kLr8sPd1w";
const DIGEST: &str = "sha256:bd998adfd46eaff944ee5125a9ffaff2ecbf67d11ee8a2a3d2afd0946bc8adbb";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 8037 appendix A's Ed25519 key, the approver of the examples.
fn rfc8037_key() -> KeyPair {
    KeyPair::from_jwk(&json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }))
    .unwrap()
}

#[test]
fn the_binding_code_is_the_documented_derivation() {
    // SHA-256("writ-code-v1" 0x00 digest-text) = 956228ca…; 0x956228ca = 2506238154;
    // mod 10^6 = 238154.
    assert_eq!(binding_code(DIGEST), "238154");
}

#[test]
fn the_ed25519_answers_are_the_documented_messages_and_signatures() {
    let approve = answer_message(CHALLENGE, DIGEST, true);
    assert_eq!(approve.len(), 122);
    assert_eq!(
        hex(&approve),
        "777269742d617070726f76616c2d76310063685f346d467a5432627139587956306b4c72387350643177007368613235363a6264393938616466643436656166663934346565353132356139666661666632656362663637643131656538613261336432616664303934366263386164626200617070726f7665"
    );
    let deny = answer_message(CHALLENGE, DIGEST, false);
    assert_eq!(deny.len(), 119);
    assert!(hex(&deny).ends_with("0064656e79"));
    let key = rfc8037_key();
    // Ed25519 is deterministic (RFC 8032): these are the only signatures of these messages.
    assert_eq!(key.sign_b64(&approve), APPROVE_SIGNATURE);
    assert_eq!(key.sign_b64(&deny), DENY_SIGNATURE);
}

const APPROVE_SIGNATURE: &str =
    "z-A7unnfbCdVYWFrvhDkBsW-om9DyPsKFONI5a0ZqjrWY3gvdgsBNwdxDwP1yG5bfx3sZjY0kTdTbryHF7GVCQ";
const DENY_SIGNATURE: &str =
    "WCrikSSv90tGSUuzb-aCuEEQMy9B4Fg5w6UTSoAVbPlEFLfjmXl-_5NNdBYkoBKc36Kml-NBH0IVglB4IpBYDA";
