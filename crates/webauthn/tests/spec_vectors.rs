//! Test vectors from outside this crate: the W3C Web Authentication Level 3 specification's
//! own test vectors (§16, "Test Vectors"), made by the working group's generator with
//! another implementation (Python `cryptography` and `fido2`). The hex below is transcribed
//! from the specification's examples §16.2 (ES256, no attestation), §16.3 (ES256, packed
//! self attestation), §16.4 (`crossOrigin: true`) and §16.11 (Ed25519, packed attestation).
//! rp id `example.org`, origin `https://example.org`.
//!
//! Further vectors, captured from real authenticators, come from the py_webauthn test
//! suite (duo-labs, `tests/test_verify_authentication_response.py`), as the browser's
//! `PublicKeyCredential.toJSON()` sent them: an RS256 credential (Windows Hello), an
//! ES256 one whose signature has a high `S`, and an Ed25519 one. rp id `localhost`,
//! origin `http://localhost:5000`.
//!
//! The vectors set UV and the counter as the generator drew them: several carry no UV, and
//! every count is 0, so they also exercise the lenient settings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use writ_webauthn::{
    register, verify_assertion, Assertion, Attestation, Credential, RelyingParty, Verified,
    WebauthnError,
};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The lenient relying party the vectors need: no UV, counters at 0.
fn lenient() -> RelyingParty {
    RelyingParty {
        require_user_verification: false,
        allow_counterless: true,
        ..RelyingParty::new("example.org", ["https://example.org"])
    }
}

// §16.2 ES256 Credential with No Attestation.
const NONE_ES256_REG_CHALLENGE: &str =
    "00c30fb78531c464d2b6771dab8d7b603c01162f2fa486bea70f283ae556e130";
const NONE_ES256_CREDENTIAL_ID: &str =
    "f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4";
const NONE_ES256_REG_CLIENT_DATA: &str = "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a22414d4d507434557878475453746e63647134313759447742466938767049612d7077386f4f755657345441222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a20426b5165446a646354427258426941774a544c453551227d";
const NONE_ES256_ATTESTATION_OBJECT: &str = "a363666d74646e6f6e656761747453746d74a068617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b559000000008446ccb9ab1db374750b2367ff6f3a1f0020f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220";
const NONE_ES256_COSE_KEY: &str = "a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220";
const NONE_ES256_GET_CHALLENGE: &str =
    "39c0e7521417ba54d43e8dc95174f423dee9bf3cd804ff6d65c857c9abf4d408";
const NONE_ES256_GET_AUTH_DATA: &str =
    "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b51900000000";
const NONE_ES256_GET_CLIENT_DATA: &str = "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a224f63446e55685158756c5455506f334a5558543049393770767a7a59425039745a63685879617630314167222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d";
const NONE_ES256_GET_SIGNATURE: &str = "3046022100f50a4e2e4409249c4a853ba361282f09841df4dd4547a13a87780218deffcd380221008480ac0f0b93538174f575bf11a1dd5d78c6e486013f937295ea13653e331e87";

fn none_es256_attestation() -> Attestation {
    Attestation {
        credential_id: None,
        attestation_object: hex(NONE_ES256_ATTESTATION_OBJECT),
        client_data_json: hex(NONE_ES256_REG_CLIENT_DATA),
    }
}

fn none_es256_assertion() -> Assertion {
    Assertion {
        credential_id: hex(NONE_ES256_CREDENTIAL_ID),
        authenticator_data: hex(NONE_ES256_GET_AUTH_DATA),
        client_data_json: hex(NONE_ES256_GET_CLIENT_DATA),
        signature: hex(NONE_ES256_GET_SIGNATURE),
        user_handle: None,
    }
}

#[test]
fn spec_es256_none_registration() {
    let challenge = hex(NONE_ES256_REG_CHALLENGE);
    let credential = register(&lenient(), &challenge, &none_es256_attestation())
        .unwrap()
        .credential;
    assert_eq!(
        credential,
        Credential {
            id: hex(NONE_ES256_CREDENTIAL_ID),
            public_key: hex(NONE_ES256_COSE_KEY),
            sign_count: 0,
        }
    );
    // Its flags (0x59: UP, BE, BS, AT) carry no UV.
    let strict = RelyingParty::new("example.org", ["https://example.org"]);
    assert_eq!(
        register(&strict, &challenge, &none_es256_attestation()),
        Err(WebauthnError::UserVerificationMissing)
    );
    let elsewhere = RelyingParty {
        rp_id: "example.com".into(),
        ..lenient()
    };
    assert_eq!(
        register(&elsewhere, &challenge, &none_es256_attestation()),
        Err(WebauthnError::RpIdHashMismatch {
            rp_id: "example.com".into()
        })
    );
}

#[test]
fn spec_es256_none_assertion() {
    let credential = register(
        &lenient(),
        &hex(NONE_ES256_REG_CHALLENGE),
        &none_es256_attestation(),
    )
    .unwrap()
    .credential;
    let challenge = hex(NONE_ES256_GET_CHALLENGE);
    assert_eq!(
        verify_assertion(&lenient(), &credential, &challenge, &none_es256_assertion()),
        Ok(Verified {
            sign_count: 0,
            user_verified: false
        })
    );
    // Counter 0 after 0: refused unless the relying party accepts counterless authenticators.
    let counting = RelyingParty {
        allow_counterless: false,
        ..lenient()
    };
    assert_eq!(
        verify_assertion(&counting, &credential, &challenge, &none_es256_assertion()),
        Err(WebauthnError::SignCountMissing)
    );
    // The registration challenge is not this assertion's.
    assert!(matches!(
        verify_assertion(
            &lenient(),
            &credential,
            &hex(NONE_ES256_REG_CHALLENGE),
            &none_es256_assertion()
        ),
        Err(WebauthnError::ChallengeMismatch { .. })
    ));
    // One bit of the published signature changed.
    let mut tampered = none_es256_assertion();
    tampered.signature[10] ^= 0x01;
    assert_eq!(
        verify_assertion(&lenient(), &credential, &challenge, &tampered),
        Err(WebauthnError::BadSignature)
    );
}

// §16.3 ES256 Credential with Self Attestation.
const PACKED_SELF_ES256_REG_CHALLENGE: &str =
    "7869c2b772d4b58eba9378cf8f29e26cf935aa77df0da89fa99c0bdc0a76f7e5";
const PACKED_SELF_ES256_CREDENTIAL_ID: &str =
    "455ef34e2043a87db3d4afeb39bbcb6cc32df9347c789a865ecdca129cbef58c";
const PACKED_SELF_ES256_REG_CLIENT_DATA: &str = "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a2265476e4374334c55745936366b336a506a796e6962506b31716e666644616966715a774c33417032392d55222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a205539685458764b453255526b4d6e625f307859485667227d";
const PACKED_SELF_ES256_ATTESTATION_OBJECT: &str = "a363666d74667061636b65646761747453746d74a263616c672663736967584630440220067a20754ab925005dbf378097c92120031581c73228d1fb4f5b881bcd7da98302207fc7b147558c7c0eba3af18bd9d121fa3d3a26d17fe3f220272178f473b6006d68617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b55d00000000df850e09db6afbdfab51697791506cfc0020455ef34e2043a87db3d4afeb39bbcb6cc32df9347c789a865ecdca129cbef58ca5010203262001215820eb151c8176b225cc651559fecf07af450fd85802046656b34c18f6cf193843c5225820927b8aa427a2be1b8834d233a2d34f61f13bfd44119c325d5896e183fee484f2";
/// The COSE key as it stands in the attested credential data above.
const PACKED_SELF_ES256_COSE_KEY: &str = "a5010203262001215820eb151c8176b225cc651559fecf07af450fd85802046656b34c18f6cf193843c5225820927b8aa427a2be1b8834d233a2d34f61f13bfd44119c325d5896e183fee484f2";
const PACKED_SELF_ES256_GET_CHALLENGE: &str =
    "4478a10b1352348dd160c1353b0d469b5db19eb91c27f7dfa6fed39fe26af20b";
const PACKED_SELF_ES256_GET_AUTH_DATA: &str =
    "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50900000000";
const PACKED_SELF_ES256_GET_CLIENT_DATA: &str = "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a225248696843784e534e493352594d45314f7731476d3132786e726b634a5f6666707637546e2d4a71386773222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a206754623533727a36456853576f6d58477a696d433151227d";
const PACKED_SELF_ES256_GET_SIGNATURE: &str = "304402203310b9431903c401f1be2bdc8d23a4007682dbbddcf846994947b7f465daf84002204e94dd00047b316061b3b99772b7efd95994a83ef584b3b6b825ea3550251b66";

#[test]
fn spec_packed_self_attestation_is_verified_and_its_assertion_verifies() {
    let attestation = Attestation {
        credential_id: Some(hex(PACKED_SELF_ES256_CREDENTIAL_ID)),
        attestation_object: hex(PACKED_SELF_ES256_ATTESTATION_OBJECT),
        client_data_json: hex(PACKED_SELF_ES256_REG_CLIENT_DATA),
    };
    let registration = register(
        &lenient(),
        &hex(PACKED_SELF_ES256_REG_CHALLENGE),
        &attestation,
    )
    .unwrap();
    assert_eq!(registration.fmt, "packed");
    assert_eq!(
        registration.trust,
        writ_webauthn::AttestationTrust::SelfSigned
    );
    let credential = Credential {
        id: hex(PACKED_SELF_ES256_CREDENTIAL_ID),
        public_key: hex(PACKED_SELF_ES256_COSE_KEY),
        sign_count: 0,
    };
    assert_eq!(registration.credential, credential);
    // Its self signature does not verify over other client data.
    let mut other = attestation.clone();
    other.client_data_json = hex(NONE_ES256_REG_CLIENT_DATA);
    assert_eq!(
        register(&lenient(), &hex(NONE_ES256_REG_CHALLENGE), &other),
        Err(WebauthnError::BadAttestationSignature)
    );
    let assertion = Assertion {
        credential_id: hex(PACKED_SELF_ES256_CREDENTIAL_ID),
        authenticator_data: hex(PACKED_SELF_ES256_GET_AUTH_DATA),
        client_data_json: hex(PACKED_SELF_ES256_GET_CLIENT_DATA),
        signature: hex(PACKED_SELF_ES256_GET_SIGNATURE),
        user_handle: None,
    };
    assert_eq!(
        verify_assertion(
            &lenient(),
            &credential,
            &hex(PACKED_SELF_ES256_GET_CHALLENGE),
            &assertion
        ),
        Ok(Verified {
            sign_count: 0,
            user_verified: false
        })
    );
    // The §16.2 credential's key does not verify it.
    let other_key = Credential {
        public_key: hex(NONE_ES256_COSE_KEY),
        ..credential
    };
    assert_eq!(
        verify_assertion(
            &lenient(),
            &other_key,
            &hex(PACKED_SELF_ES256_GET_CHALLENGE),
            &assertion
        ),
        Err(WebauthnError::BadSignature)
    );
}

// §16.4 ES256 Credential with "crossOrigin": true in clientDataJSON.
const CROSS_ORIGIN_REG_CHALLENGE: &str =
    "3be5aacd03537142472340ab5969f240f1d87716e20b6807ac230655fa4b3b49";
const CROSS_ORIGIN_REG_CLIENT_DATA: &str = "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a224f2d57717a514e5463554a484930437257576e7951504859647862694332674872434d475666704c4f306b222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a747275652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a207a5a7175457444523944577170573574425754467567227d";
const CROSS_ORIGIN_ATTESTATION_OBJECT: &str = "a363666d74646e6f6e656761747453746d74a068617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b54500000000883f4f6014f19c09d87aa38123be48d000206e1050c0d2ca2f07c755cb2c66a74c64fa43065c18f938354d9915db2bd5ce57a501020326200121582022200a473f90b11078851550d03b4e44a2279f8c4eca27b3153dedfe03e4e97d225820cbd0be95e746ad6f5a8191be11756e4c0420e72f65b466d39bc56b8b123a9c6e";

#[test]
fn spec_cross_origin_registration_is_refused() {
    let attestation = Attestation {
        credential_id: None,
        attestation_object: hex(CROSS_ORIGIN_ATTESTATION_OBJECT),
        client_data_json: hex(CROSS_ORIGIN_REG_CLIENT_DATA),
    };
    let challenge = hex(CROSS_ORIGIN_REG_CHALLENGE);
    assert_eq!(
        register(&lenient(), &challenge, &attestation),
        Err(WebauthnError::CrossOrigin)
    );
    // Everything else in it is sound: the same attestation object with the client data
    // of a same-origin ceremony would pass the authenticator-data checks (flags 0x45: UP,
    // UV, AT), which shows the refusal is for `crossOrigin` alone.
    let same_origin = String::from_utf8(hex(CROSS_ORIGIN_REG_CLIENT_DATA))
        .unwrap()
        .replace("\"crossOrigin\":true", "\"crossOrigin\":false");
    let credential = register(
        &RelyingParty::new("example.org", ["https://example.org"]),
        &challenge,
        &Attestation {
            client_data_json: same_origin.into_bytes(),
            ..attestation
        },
    )
    .unwrap()
    .credential;
    assert_eq!(
        credential.id,
        hex("6e1050c0d2ca2f07c755cb2c66a74c64fa43065c18f938354d9915db2bd5ce57")
    );
}

// §16.11 Packed Attestation with Ed25519 Credential: the assertion, verified with the
// credential public key from the registration's attested credential data.
const PACKED_ED25519_CREDENTIAL_ID: &str =
    "ce9f840ed96599580cd140fbc7bb3230633f50f61041aff73308ae71caa8a2bd";
const PACKED_ED25519_COSE_KEY: &str =
    "a401010327200621582044e06ddd331c36a8dc667bab52bcae63486c916aa5e339e6acebaa84934bf832";
const PACKED_ED25519_GET_CHALLENGE: &str =
    "895957e01c633a698348a2d8a31a54b7db27e8c1c43b2080d79ae2190267bfd2";
const PACKED_ED25519_GET_AUTH_DATA: &str =
    "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50100000000";
const PACKED_ED25519_GET_CLIENT_DATA: &str = "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a2269566c583442786a4f6d6d44534b4c596f7870557439736e364d48454f7943413135726947514a6e763949222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d";
const PACKED_ED25519_GET_SIGNATURE: &str = "f5c59c7e46c34f6f8cc197101ddf9934fa2595f68eb1913a637e8419eb9ba4cfdfc48f85393bc0d40b011f0d6fecb097d6607525713223a0dc0d453993dae00b";

#[test]
fn spec_ed25519_assertion() {
    let credential = Credential {
        id: hex(PACKED_ED25519_CREDENTIAL_ID),
        public_key: hex(PACKED_ED25519_COSE_KEY),
        sign_count: 0,
    };
    let assertion = Assertion {
        credential_id: hex(PACKED_ED25519_CREDENTIAL_ID),
        authenticator_data: hex(PACKED_ED25519_GET_AUTH_DATA),
        client_data_json: hex(PACKED_ED25519_GET_CLIENT_DATA),
        signature: hex(PACKED_ED25519_GET_SIGNATURE),
        user_handle: None,
    };
    let challenge = hex(PACKED_ED25519_GET_CHALLENGE);
    assert_eq!(
        verify_assertion(&lenient(), &credential, &challenge, &assertion),
        Ok(Verified {
            sign_count: 0,
            user_verified: false
        })
    );
    let mut tampered = assertion.clone();
    tampered.authenticator_data[32] |= 0x04; // claim UV after the fact
    assert_eq!(
        verify_assertion(&lenient(), &credential, &challenge, &tampered),
        Err(WebauthnError::BadSignature)
    );
    let strict = RelyingParty::new("example.org", ["https://example.org"]);
    assert_eq!(
        verify_assertion(&strict, &credential, &challenge, &assertion),
        Err(WebauthnError::UserVerificationMissing)
    );
}

// ---- py_webauthn's captured assertions (toJSON() output) --------------------------------

fn localhost(require_user_verification: bool) -> RelyingParty {
    RelyingParty {
        require_user_verification,
        ..RelyingParty::new("localhost", ["http://localhost:5000"])
    }
}

fn b64url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// Verifies a captured `toJSON()` assertion against its key and challenge.
fn captured(
    json: &str,
    key: &str,
    challenge: &str,
    stored: u32,
    rp: &RelyingParty,
) -> Result<Verified, WebauthnError> {
    let assertion: Assertion = serde_json::from_str(json).unwrap();
    let credential = Credential {
        id: assertion.credential_id.clone(),
        public_key: b64url(key),
        sign_count: stored,
    };
    verify_assertion(rp, &credential, &b64url(challenge), &assertion)
}

const PY_RS256_ASSERTION: &str = r#"{
    "id": "ZoIKP1JQvKdrYj1bTUPJ2eTUsbLeFkv-X5xJQNr4k6s",
    "rawId": "ZoIKP1JQvKdrYj1bTUPJ2eTUsbLeFkv-X5xJQNr4k6s",
    "response": {
        "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
        "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiaVBtQWkxUHAxWEw2b0FncTNQV1p0WlBuWmExekZVRG9HYmFRMF9LdlZHMWxGMnMzUnRfM280dVN6Y2N5MHRtY1RJcFRUVDRCVTFULUk0bWFhdm5kalEiLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        "signature": "iOHKX3erU5_OYP_r_9HLZ-CexCE4bQRrxM8WmuoKTDdhAnZSeTP0sjECjvjfeS8MJzN1ArmvV0H0C3yy_FdRFfcpUPZzdZ7bBcmPh1XPdxRwY747OrIzcTLTFQUPdn1U-izCZtP_78VGw9pCpdMsv4CUzZdJbEcRtQuRS03qUjqDaovoJhOqEBmxJn9Wu8tBi_Qx7A33RbYjlfyLm_EDqimzDZhyietyop6XUcpKarKqVH0M6mMrM5zTjp8xf3W7odFCadXEJg-ERZqFM0-9Uup6kJNLbr6C5J4NDYmSm3HCSA6lp2iEiMPKU8Ii7QZ61kybXLxsX4w4Dm3fOLjmDw",
        "userHandle": "T1RWa1l6VXdPRFV0WW1NNVlTMDBOVEkxTFRnd056Z3RabVZpWVdZNFpEVm1ZMk5p"
    },
    "type": "public-key",
    "clientExtensionResults": {}
}"#;
const PY_RS256_KEY: &str = "pAEDAzkBACBZAQDfV20epzvQP-HtcdDpX-cGzdOxy73WQEvsU7Dnr9UWJophEfpngouvgnRLXaEUn_d8HGkp_HIx8rrpkx4BVs6X_B6ZjhLlezjIdJbLbVeb92BaEsmNn1HW2N9Xj2QM8cH-yx28_vCjf82ahQ9gyAr552Bn96G22n8jqFRQKdVpO-f-bvpvaP3IQ9F5LCX7CUaxptgbog1SFO6FI6ob5SlVVB00lVXsaYg8cIDZxCkkENkGiFPgwEaZ7995SCbiyCpUJbMqToLMgojPkAhWeyktu7TlK6UBWdJMHc3FPAIs0lH_2_2hKS-mGI1uZAFVAfW1X-mzKL0czUm2P1UlUox7IUMBAAE";
const PY_RS256_CHALLENGE: &str =
    "iPmAi1Pp1XL6oAgq3PWZtZPnZa1zFUDoGbaQ0_KvVG1lF2s3Rt_3o4uSzccy0tmcTIpTTT4BU1T-I4maavndjQ";

#[test]
fn captured_rs256_windows_hello_assertion_verifies() {
    let verified = captured(
        PY_RS256_ASSERTION,
        PY_RS256_KEY,
        PY_RS256_CHALLENGE,
        0,
        &localhost(true),
    )
    .unwrap();
    assert_eq!(
        verified,
        Verified {
            sign_count: 1,
            user_verified: true
        }
    );
    // Over another challenge, it is refused.
    assert!(matches!(
        captured(
            PY_RS256_ASSERTION,
            PY_RS256_KEY,
            "AAAA",
            0,
            &localhost(true)
        ),
        Err(WebauthnError::ChallengeMismatch { .. })
    ));
    // Its key is a 2048-bit RSA key; a changed signature byte does not verify.
    let tampered = PY_RS256_ASSERTION.replace("iOHKX3erU5", "iOHKX3erU6");
    assert_eq!(
        captured(
            &tampered,
            PY_RS256_KEY,
            PY_RS256_CHALLENGE,
            0,
            &localhost(true)
        ),
        Err(WebauthnError::BadSignature)
    );
}

/// Its signature's `S` is above n/2: an authenticator that does not normalise.
const PY_ES256_HIGH_S_ASSERTION: &str = r#"{
    "id": "EDx9FfAbp4obx6oll2oC4-CZuDidRVV4gZhxC529ytlnqHyqCStDUwfNdm1SNHAe3X5KvueWQdAX3x9R1a2b9Q",
    "rawId": "EDx9FfAbp4obx6oll2oC4-CZuDidRVV4gZhxC529ytlnqHyqCStDUwfNdm1SNHAe3X5KvueWQdAX3x9R1a2b9Q",
    "response": {
        "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAATg",
        "clientDataJSON": "eyJjaGFsbGVuZ2UiOiJ4aTMwR1BHQUZZUnhWRHBZMXNNMTBEYUx6VlFHNjZudi1fN1JVYXpIMHZJMll2RzhMWWdERW52TjVmWlpOVnV2RUR1TWk5dGUzVkxxYjQyTjBma0xHQSIsImNsaWVudEV4dGVuc2lvbnMiOnt9LCJoYXNoQWxnb3JpdGhtIjoiU0hBLTI1NiIsIm9yaWdpbiI6Imh0dHA6Ly9sb2NhbGhvc3Q6NTAwMCIsInR5cGUiOiJ3ZWJhdXRobi5nZXQifQ",
        "signature": "MEUCIGisVZOBapCWbnJJvjelIzwpixxIwkjCCb5aCHafQu68AiEA88v-2pJNNApPFwAKFiNuf82-2hBxYW5kGwVweeoxCwo"
    },
    "type": "public-key",
    "clientExtensionResults": {}
}"#;
const PY_ES256_KEY: &str = "pQECAyYgASFYIIeDTe-gN8A-zQclHoRnGFWN8ehM1b7yAsa8I8KIvmplIlgg4nFGT5px8o6gpPZZhO01wdy9crDSA_Ngtkx0vGpvPHI";
const PY_ES256_CHALLENGE: &str =
    "xi30GPGAFYRxVDpY1sM10DaLzVQG66nv-_7RUazH0vI2YvG8LYgDEnvN5fZZNVuvEDuMi9te3VLqb42N0fkLGA";

#[test]
fn captured_high_s_es256_assertion_verifies_and_its_twin_is_the_same_assertion() {
    let verified = captured(
        PY_ES256_HIGH_S_ASSERTION,
        PY_ES256_KEY,
        PY_ES256_CHALLENGE,
        77,
        &localhost(false),
    )
    .unwrap();
    assert_eq!(verified.sign_count, 78);
    let original: Assertion = serde_json::from_str(PY_ES256_HIGH_S_ASSERTION).unwrap();
    let sig = p256::ecdsa::Signature::from_der(&original.signature).unwrap();
    let low = sig
        .normalize_s()
        .expect("the captured signature has a high S");
    let mut twin = original.clone();
    twin.signature = low.to_der().as_bytes().to_vec();
    let credential = Credential {
        id: original.credential_id.clone(),
        public_key: b64url(PY_ES256_KEY),
        sign_count: 77,
    };
    verify_assertion(
        &localhost(false),
        &credential,
        &b64url(PY_ES256_CHALLENGE),
        &twin,
    )
    .unwrap();
    assert_eq!(twin.identity(), original.identity());
}

const PY_ED25519_ASSERTION: &str = r#"{
    "id": "fq9Nj0nS24B5y6Pkw_h3-9GEAEA3-0LBPxE2zvTdLjDqtSeCSNYFe9VMRueSpAZxT3YDc6L1lWXdQNwI-sVNYrefEcRR1Nsb_0jpHE955WEtFud2xxZg3MvoLMxHLet63i5tajd1fHtP7I-00D6cehM8ZWlLp2T3s9lfZgVIFcA",
    "rawId": "fq9Nj0nS24B5y6Pkw_h3-9GEAEA3-0LBPxE2zvTdLjDqtSeCSNYFe9VMRueSpAZxT3YDc6L1lWXdQNwI-sVNYrefEcRR1Nsb_0jpHE955WEtFud2xxZg3MvoLMxHLet63i5tajd1fHtP7I-00D6cehM8ZWlLp2T3s9lfZgVIFcA",
    "response": {
        "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAABw",
        "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiZVo0ZWVBM080ank1Rkl6cURhU0o2SkROR3UwYkJjNXpJMURqUV9rTHNvMVdOcWtHNms1bUNZZjFkdFFoVlVpQldaV2xaa3pSNU1GZWVXQ3BKUlVOWHciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        "signature": "RRWV8mYDRvK7YdQgdtZD4pJ2dh1D_IWZ_D6jsZo6FHJBoenbj0CVT5nA20vUzlRhN4R6dOEUHmUwP1F8eRBhBg"
    },
    "type": "public-key",
    "clientExtensionResults": {}
}"#;

#[test]
fn captured_ed25519_assertion_verifies() {
    let verified = captured(
        PY_ED25519_ASSERTION,
        "pAEBAycgBiFYIMz6_SUFLiDid2Yhlq0YboyJ-CDrIrNpkPUGmJp4D3Dp",
        "eZ4eeA3O4jy5FIzqDaSJ6JDNGu0bBc5zI1DjQ_kLso1WNqkG6k5mCYf1dtQhVUiBWZWlZkzR5MFeeWCpJRUNXw",
        3,
        &localhost(false),
    )
    .unwrap();
    assert_eq!(verified.sign_count, 7);
}

/// A YubiKey registered through Firefox: `fido-u2f` attestation with its certificate
/// (py_webauthn `tests/test_verify_registration_response_fido_u2f.py`).
const PY_YUBIKEY_U2F_REGISTRATION: &str = r#"{
    "id": "lrjqbPdLbWXTJ2sFIreka9aWd2ED-SDx_VAgBAh4XmCJgjCjudEjoi42pGQd-_Bi6nNPQ3T7-xOEgty2I3m7cw",
    "rawId": "lrjqbPdLbWXTJ2sFIreka9aWd2ED-SDx_VAgBAh4XmCJgjCjudEjoi42pGQd-_Bi6nNPQ3T7-xOEgty2I3m7cw",
    "response": {
        "attestationObject": "o2NmbXRoZmlkby11MmZnYXR0U3RtdKJjc2lnWEcwRQIhAIJO_x-FicMO0XDFwnVfXWyF-Dp7GW7oL43QfZyUjKU0AiAxQBUFu17l9rmKmqAWnHL6F1dDaIu54WYc9Mi_jtdNL2N4NWOBWQLBMIICvTCCAaWgAwIBAgIEKudiYzANBgkqhkiG9w0BAQsFADAuMSwwKgYDVQQDEyNZdWJpY28gVTJGIFJvb3QgQ0EgU2VyaWFsIDQ1NzIwMDYzMTAgFw0xNDA4MDEwMDAwMDBaGA8yMDUwMDkwNDAwMDAwMFowbjELMAkGA1UEBhMCU0UxEjAQBgNVBAoMCVl1YmljbyBBQjEiMCAGA1UECwwZQXV0aGVudGljYXRvciBBdHRlc3RhdGlvbjEnMCUGA1UEAwweWXViaWNvIFUyRiBFRSBTZXJpYWwgNzE5ODA3MDc1MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKgOGXmBD2Z4R_xCqJVRXhL8Jr45rHjsyFykhb1USGozZENOZ3cdovf5Ke8fj2rxi5tJGn_VnW4_6iQzKdIaeP6NsMGowIgYJKwYBBAGCxAoCBBUxLjMuNi4xLjQuMS40MTQ4Mi4xLjEwEwYLKwYBBAGC5RwCAQEEBAMCBDAwIQYLKwYBBAGC5RwBAQQEEgQQbUS6m_bsLkm5MAyP6SDLczAMBgNVHRMBAf8EAjAAMA0GCSqGSIb3DQEBCwUAA4IBAQByV9A83MPhFWmEkNb4DvlbUwcjc9nmRzJjKxHc3HeK7GvVkm0H4XucVDB4jeMvTke0WHb_jFUiApvpOHh5VyMx5ydwFoKKcRs5x0_WwSWL0eTZ5WbVcHkDR9pSNcA_D_5AsUKOBcbpF5nkdVRxaQHuuIuwV4k1iK2IqtMNcU8vL6w21U261xCcWwJ6sMq4zzVO8QCKCQhsoIaWrwz828GDmPzfAjFsJiLJXuYivdHACkeJ5KHMt0mjVLpfJ2BCML7_rgbmvwL7wBW80VHfNdcKmKjkLcpEiPzwcQQhiN_qHV90t-p4iyr5xRSpurlP5zic2hlRkLKxMH2_kRjhqSn4aGF1dGhEYXRhWMRJlg3liA6MaHQ0Fw9kdmBbj-SuuaKGMseZXPO6gx2XY0EAAAAAAAAAAAAAAAAAAAAAAAAAAABAlrjqbPdLbWXTJ2sFIreka9aWd2ED-SDx_VAgBAh4XmCJgjCjudEjoi42pGQd-_Bi6nNPQ3T7-xOEgty2I3m7c6UBAgMmIAEhWCDpQmUwrGnn3mk-T27A6awwL4HJG62Plj8Hz-lL0KltuiJYILwFIu48iEB8Ov6mEAqtCxn3mQOoaGIG4eidiWyLRg05",
        "clientDataJSON": "eyJjaGFsbGVuZ2UiOiJaSlZObG1Pclh3d2dRa2QxZ0RNbHk4QklpSU1WNElRRERzQ3I2S1BiQ0lIY09aNXdhS0htLU1adHVZNzQ4U0NxZy1OWlZwUnJZRnlGcmMzNmdRb0Z0dyIsImNsaWVudEV4dGVuc2lvbnMiOnt9LCJoYXNoQWxnb3JpdGhtIjoiU0hBLTI1NiIsIm9yaWdpbiI6Imh0dHA6Ly9sb2NhbGhvc3Q6NTAwMCIsInR5cGUiOiJ3ZWJhdXRobi5jcmVhdGUifQ"
    },
    "type": "public-key",
    "clientExtensionResults": {}
}"#;

#[test]
fn captured_yubikey_fido_u2f_registration_is_accepted_unverified() {
    let attestation: Attestation = serde_json::from_str(PY_YUBIKEY_U2F_REGISTRATION).unwrap();
    let challenge = b64url(
        "ZJVNlmOrXwwgQkd1gDMly8BIiIMV4IQDDsCr6KPbCIHcOZ5waKHm-MZtuY748SCqg-NZVpRrYFyFrc36gQoFtw",
    );
    let registration = register(&localhost(false), &challenge, &attestation).unwrap();
    assert_eq!(registration.fmt, "fido-u2f");
    assert_eq!(
        registration.trust,
        writ_webauthn::AttestationTrust::Unverified
    );
    assert_eq!(
        Some(registration.credential.id.clone()),
        attestation.credential_id
    );
    // A relying party that requires attestation refuses it, saying why.
    let demanding = RelyingParty {
        require_attestation: true,
        ..localhost(false)
    };
    assert_eq!(
        register(&demanding, &challenge, &attestation),
        Err(WebauthnError::AttestationRequired {
            fmt: "fido-u2f".into(),
            trust: "not verified"
        })
    );
}

/// A YubiKey registered through Firefox: `packed` attestation with a certificate chain
/// (py_webauthn `tests/test_verify_registration_response_packed.py`; its top-level
/// `transports`, outside the `toJSON()` shape, left out).
const PY_YUBIKEY_PACKED_REGISTRATION: &str = r#"{
    "id": "syGQPDZRUYdb4m3rdWeyPaIMYlbmydGp1TP_33vE_lqJ3PHNyTd0iKsnKr5WjnCcBzcesZrDEfB_RBLFzU3k4w",
    "rawId": "syGQPDZRUYdb4m3rdWeyPaIMYlbmydGp1TP_33vE_lqJ3PHNyTd0iKsnKr5WjnCcBzcesZrDEfB_RBLFzU3k4w",
    "response": {
        "attestationObject": "o2NmbXRmcGFja2VkZ2F0dFN0bXSjY2FsZyZjc2lnWEcwRQIhAOfrFlQpbavT6dJeTDJSCDzYSYPjBDHli2-syT2c1IiKAiAx5gQ2z5cHjdQX-jEHTb7JcjfQoVSW8fXszF5ihSgeOGN4NWOBWQLBMIICvTCCAaWgAwIBAgIEKudiYzANBgkqhkiG9w0BAQsFADAuMSwwKgYDVQQDEyNZdWJpY28gVTJGIFJvb3QgQ0EgU2VyaWFsIDQ1NzIwMDYzMTAgFw0xNDA4MDEwMDAwMDBaGA8yMDUwMDkwNDAwMDAwMFowbjELMAkGA1UEBhMCU0UxEjAQBgNVBAoMCVl1YmljbyBBQjEiMCAGA1UECwwZQXV0aGVudGljYXRvciBBdHRlc3RhdGlvbjEnMCUGA1UEAwweWXViaWNvIFUyRiBFRSBTZXJpYWwgNzE5ODA3MDc1MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKgOGXmBD2Z4R_xCqJVRXhL8Jr45rHjsyFykhb1USGozZENOZ3cdovf5Ke8fj2rxi5tJGn_VnW4_6iQzKdIaeP6NsMGowIgYJKwYBBAGCxAoCBBUxLjMuNi4xLjQuMS40MTQ4Mi4xLjEwEwYLKwYBBAGC5RwCAQEEBAMCBDAwIQYLKwYBBAGC5RwBAQQEEgQQbUS6m_bsLkm5MAyP6SDLczAMBgNVHRMBAf8EAjAAMA0GCSqGSIb3DQEBCwUAA4IBAQByV9A83MPhFWmEkNb4DvlbUwcjc9nmRzJjKxHc3HeK7GvVkm0H4XucVDB4jeMvTke0WHb_jFUiApvpOHh5VyMx5ydwFoKKcRs5x0_WwSWL0eTZ5WbVcHkDR9pSNcA_D_5AsUKOBcbpF5nkdVRxaQHuuIuwV4k1iK2IqtMNcU8vL6w21U261xCcWwJ6sMq4zzVO8QCKCQhsoIaWrwz828GDmPzfAjFsJiLJXuYivdHACkeJ5KHMt0mjVLpfJ2BCML7_rgbmvwL7wBW80VHfNdcKmKjkLcpEiPzwcQQhiN_qHV90t-p4iyr5xRSpurlP5zic2hlRkLKxMH2_kRjhqSn4aGF1dGhEYXRhWMRJlg3liA6MaHQ0Fw9kdmBbj-SuuaKGMseZXPO6gx2XY0UAAAA0bUS6m_bsLkm5MAyP6SDLcwBAsyGQPDZRUYdb4m3rdWeyPaIMYlbmydGp1TP_33vE_lqJ3PHNyTd0iKsnKr5WjnCcBzcesZrDEfB_RBLFzU3k46UBAgMmIAEhWCBAX_i3O3DvBnkGq_uLNk_PeAX5WwO_MIxBp0mhX6Lw7yJYIOW-1-Fch829McWvRUYAHTWZTx5IycKSGECL1UzUaK_8",
        "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiOExCQ2lPWTNxMWNCWkhGQVd0UzRBWlpDaHpHcGh5NjdsSzdJNzB6S2k0eUM3cGdyUTJQY2g3bkFqTGsxd3E5Z3Jlc2hJQXNXMkFqaWJoWGpqSTBUbVEiLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9"
    },
    "type": "public-key",
    "clientExtensionResults": {}
}"#;

#[test]
fn captured_yubikey_packed_chain_registration_is_accepted_unverified() {
    let attestation: Attestation = serde_json::from_str(PY_YUBIKEY_PACKED_REGISTRATION).unwrap();
    let challenge = b64url(
        "8LBCiOY3q1cBZHFAWtS4AZZChzGphy67lK7I70zKi4yC7pgrQ2Pch7nAjLk1wq9greshIAsW2AjibhXjjI0TmQ",
    );
    let registration = register(&localhost(true), &challenge, &attestation).unwrap();
    assert_eq!(registration.fmt, "packed");
    assert_eq!(
        registration.trust,
        writ_webauthn::AttestationTrust::Unverified
    );
    assert_eq!(registration.credential.sign_count, 52);
    // Over another challenge, refused.
    assert!(matches!(
        register(&localhost(true), b"another challenge", &attestation),
        Err(WebauthnError::ChallengeMismatch { .. })
    ));
}
