//! Test vectors from outside this crate: the W3C Web Authentication Level 3 specification's
//! own test vectors (§16, "Test Vectors"), made by the working group's generator with
//! another implementation (Python `cryptography` and `fido2`). The hex below is transcribed
//! from the specification's examples §16.2 (ES256, no attestation), §16.3 (ES256, packed
//! self attestation), §16.4 (`crossOrigin: true`) and §16.11 (Ed25519, packed attestation).
//! rp id `example.org`, origin `https://example.org`.
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
