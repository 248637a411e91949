//! Properties over generated inputs: random bytes and mutated good responses are refused
//! with an error, never a panic and never an acceptance; and the JSON shapes the registry
//! and the wire use.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use proptest::prelude::*;
use writ_webauthn::soft::{self, SoftAuthenticator, AT, UP, UV};
use writ_webauthn::{
    register, verify_assertion, Assertion, Attestation, Credential, RelyingParty, WebauthnError,
};

const RP_ID: &str = "approve.example.com";
const ORIGIN: &str = "https://approve.example.com";
const DIGEST: [u8; 32] = [7; 32];

fn rp() -> RelyingParty {
    RelyingParty::new(RP_ID, [ORIGIN])
}

fn authenticator(ed25519: bool) -> SoftAuthenticator {
    if ed25519 {
        SoftAuthenticator::ed25519(b"prop")
    } else {
        SoftAuthenticator::es256(b"prop")
    }
}

fn credential(auth: &mut SoftAuthenticator) -> Credential {
    register(&rp(), b"reg", &auth.register(RP_ID, ORIGIN, b"reg"))
        .unwrap()
        .credential
}

/// Bytes that look a little like what they replace: often CBOR maps or JSON objects.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut v| {
            v.insert(0, 0xa3);
            v
        }),
        "\\PC{0,120}".prop_map(|s| format!("{{\"type\":\"webauthn.get\",{s}}}").into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_registrations_are_refused(object in noise(), json in noise()) {
        let result = register(&rp(), b"reg", &Attestation { credential_id: None, attestation_object: object, client_data_json: json });
        prop_assert!(result.is_err());
    }

    #[test]
    fn random_attestation_objects_behind_good_client_data_are_refused(object in noise()) {
        let json = soft::client_data_json("webauthn.create", b"reg", ORIGIN);
        let result = register(&rp(), b"reg", &Attestation { credential_id: None, attestation_object: object, client_data_json: json });
        prop_assert!(result.is_err());
    }

    #[test]
    fn random_authenticator_data_in_a_good_attestation_object_is_refused(
        ed25519: bool,
        cut in 0usize..200,
        flip in any::<(usize, u8)>(),
    ) {
        // A real attested authenticator data, cut short or with one byte changed: it must
        // parse cleanly or be refused, and never panic. (A changed byte may leave it valid,
        // e.g. in the AAGUID; that is fine for registration.)
        let auth = authenticator(ed25519);
        let mut data = auth.attested_authenticator_data(RP_ID, UP | UV | AT, 0);
        let len = data.len();
        data.truncate(len.saturating_sub(cut % len));
        if !data.is_empty() {
            let i = flip.0 % data.len();
            data[i] ^= flip.1;
        }
        let json = soft::client_data_json("webauthn.create", b"reg", ORIGIN);
        let _ = register(&rp(), b"reg", &soft::none_attestation(data, json));
    }

    #[test]
    fn random_assertions_are_refused(
        ed25519: bool,
        auth_data in noise(),
        json in noise(),
        signature in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut auth = authenticator(ed25519);
        let credential = credential(&mut auth);
        let assertion = Assertion {
            credential_id: credential.id.clone(),
            authenticator_data: auth_data,
            client_data_json: json,
            signature,
            user_handle: None,
        };
        prop_assert!(verify_assertion(&rp(), &credential, &DIGEST, &assertion).is_err());
    }

    #[test]
    fn random_stored_keys_are_refused(key in noise()) {
        let mut auth = authenticator(false);
        let mut credential = credential(&mut auth);
        credential.public_key = key;
        let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
        prop_assert!(verify_assertion(&rp(), &credential, &DIGEST, &assertion).is_err());
    }

    #[test]
    fn no_changed_byte_of_a_good_assertion_is_accepted(
        ed25519: bool,
        part in 0usize..3,
        at in any::<usize>(),
        xor in 1u8..=255,
    ) {
        let mut auth = authenticator(ed25519);
        let credential = credential(&mut auth);
        let good = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
        prop_assert!(verify_assertion(&rp(), &credential, &DIGEST, &good).is_ok());
        let mut bad = good;
        let bytes = match part {
            0 => &mut bad.authenticator_data,
            1 => &mut bad.client_data_json,
            _ => &mut bad.signature,
        };
        let i = at % bytes.len();
        bytes[i] ^= xor;
        let result = verify_assertion(&rp(), &credential, &DIGEST, &bad);
        prop_assert!(result.is_err(), "accepted with byte {} of part {} changed", i, part);
    }
}

#[test]
fn deep_and_huge_cbor_is_refused_cheaply() {
    let mut auth = SoftAuthenticator::es256(b"prop");
    let mut credential = credential(&mut auth);
    let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
    // 10,000 nested arrays; a map announcing 2^32 entries; a byte string announcing 2^63 bytes.
    let cases: [Vec<u8>; 3] = [
        vec![0x81; 10_000],
        vec![0xba, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02],
        vec![0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00],
    ];
    for key in cases {
        credential.public_key = key.clone();
        assert!(matches!(
            verify_assertion(&rp(), &credential, &DIGEST, &assertion),
            Err(WebauthnError::Malformed { .. })
        ));
        let attestation = Attestation {
            credential_id: None,
            attestation_object: key,
            client_data_json: soft::client_data_json("webauthn.create", b"reg", ORIGIN),
        };
        assert!(matches!(
            register(&rp(), b"reg", &attestation),
            Err(WebauthnError::Malformed { .. })
        ));
    }
}

// ---- JSON shapes ------------------------------------------------------------------------

#[test]
fn credential_json_shape() {
    let credential = Credential {
        id: vec![0xfb, 0xff, 0x01],
        public_key: vec![0xa5, 0x01, 0x02],
        sign_count: 7,
    };
    let json = serde_json::to_string(&credential).unwrap();
    assert_eq!(json, r#"{"id":"-_8B","public_key":"pQEC","sign_count":7}"#);
    assert_eq!(
        serde_json::from_str::<Credential>(&json).unwrap(),
        credential
    );
}

#[test]
fn assertion_and_attestation_json_shapes() {
    let assertion = Assertion {
        credential_id: vec![1],
        authenticator_data: vec![2],
        client_data_json: vec![3],
        signature: vec![4],
        user_handle: None,
    };
    // Serialised as `PublicKeyCredential.toJSON()` writes it.
    // (Compared as JSON values: member order depends on serde_json's features in the build.)
    let json = serde_json::to_value(&assertion).unwrap();
    assert_eq!(
        json,
        serde_json::from_str::<serde_json::Value>(r#"{"id":"AQ","rawId":"AQ","type":"public-key","response":{"authenticatorData":"Ag","clientDataJSON":"Aw","signature":"BA"},"clientExtensionResults":{}}"#).unwrap()
    );
    assert_eq!(
        serde_json::from_value::<Assertion>(json).unwrap(),
        assertion
    );
    // The earlier flat shape still reads.
    let flat: Assertion = serde_json::from_str(
        r#"{"credential_id":"AQ","authenticator_data":"Ag","client_data_json":"Aw","signature":"BA","user_handle":"BQ"}"#,
    )
    .unwrap();
    assert_eq!(flat.user_handle, Some(vec![5]));
    let null_handle: Assertion = serde_json::from_str(
        r#"{"credential_id":"AQ","authenticator_data":"Ag","client_data_json":"Aw","signature":"BA","user_handle":null}"#,
    )
    .unwrap();
    assert_eq!(null_handle, assertion);

    let attestation = Attestation {
        credential_id: None,
        attestation_object: vec![0xa0],
        client_data_json: vec![0x7b, 0x7d],
    };
    let json = serde_json::to_string(&attestation).unwrap();
    assert_eq!(
        json,
        r#"{"attestation_object":"oA","client_data_json":"e30"}"#
    );
    assert_eq!(
        serde_json::from_str::<Attestation>(&json).unwrap(),
        attestation
    );
    let with_id = Attestation {
        credential_id: Some(vec![1]),
        ..attestation
    };
    // (Compared as JSON values: member order depends on serde_json's features in the build.)
    let json = serde_json::to_value(&with_id).unwrap();
    assert_eq!(
        json,
        serde_json::from_str::<serde_json::Value>(r#"{"id":"AQ","rawId":"AQ","type":"public-key","response":{"attestationObject":"oA","clientDataJSON":"e30"},"clientExtensionResults":{}}"#).unwrap()
    );
    assert_eq!(
        serde_json::from_value::<Attestation>(json).unwrap(),
        with_id
    );
}

/// What a browser's `PublicKeyCredential.toJSON()` returns, every member it may send.
#[test]
fn browser_to_json_output_is_accepted() {
    let assertion: Assertion = serde_json::from_str(
        r#"{
            "id": "AQI", "rawId": "AQI", "type": "public-key",
            "response": {
                "clientDataJSON": "Aw", "authenticatorData": "Ag", "signature": "BA",
                "userHandle": "BQ"
            },
            "authenticatorAttachment": "cross-platform",
            "clientExtensionResults": {"credProps": {"rk": true}}
        }"#,
    )
    .unwrap();
    assert_eq!(assertion.credential_id, vec![1, 2]);
    assert_eq!(assertion.user_handle, Some(vec![5]));
    let nulls: Assertion = serde_json::from_str(
        r#"{"id": "AQI", "rawId": "AQI", "type": "public-key", "authenticatorAttachment": null,
            "response": {"clientDataJSON": "Aw", "authenticatorData": "Ag", "signature": "BA", "userHandle": null},
            "clientExtensionResults": {}}"#,
    )
    .unwrap();
    assert_eq!(nulls.user_handle, None);
    let registration: Attestation = serde_json::from_str(
        r#"{
            "id": "AQI", "rawId": "AQI", "type": "public-key",
            "response": {
                "clientDataJSON": "e30", "attestationObject": "oA",
                "authenticatorData": "Ag", "transports": ["internal", "hybrid"],
                "publicKeyAlgorithm": -7, "publicKey": "MFkw"
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {}
        }"#,
    )
    .unwrap();
    assert_eq!(registration.credential_id, Some(vec![1, 2]));
    assert_eq!(registration.attestation_object, vec![0xa0]);
}

#[test]
fn json_that_is_neither_shape_is_refused_saying_why() {
    let refused = |text: &str, says: &str| {
        let e = serde_json::from_str::<Assertion>(text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "`{e}` does not say `{says}`");
    };
    let response =
        r#""response": {"clientDataJSON": "Aw", "authenticatorData": "Ag", "signature": "BA"}"#;
    refused(
        &format!(r#"{{"id": "AQ", "rawId": "Ag", "type": "public-key", {response}}}"#),
        "name different credentials",
    );
    refused(
        &format!(r#"{{"id": "AQ", "rawId": "AQ", "type": "password", {response}}}"#),
        "`type` is `password`",
    );
    refused(
        &format!(r#"{{"id": "AQ", "rawId": "AQ", {response}}}"#),
        "`type`",
    );
    refused(
        r#"{"id": "AQ", "rawId": "AQ", "type": "public-key"}"#,
        "`response`",
    );
    refused(
        &format!(
            r#"{{"id": "AQ", "rawId": "AQ", "type": "public-key", "credential_id": "AQ", {response}}}"#
        ),
        "mixes",
    );
    refused(
        &format!(r#"{{"id": "AQ", "rawId": "AQ", "type": "public-key", "extra": 1, {response}}}"#),
        "unknown field `extra`",
    );
    refused(
        r#"{"id": "AQ", "rawId": "AQ", "type": "public-key", "response": {"clientDataJSON": "Aw", "authenticatorData": "Ag", "signature": "BA", "sig2": "AA"}}"#,
        "unknown field `sig2`",
    );
    refused(
        r#"{"id": "AQ", "rawId": "AQ", "type": "public-key", "response": {"clientDataJSON": "Aw", "authenticatorData": "Ag", "signature": "BA="}}"#,
        "not base64url without padding",
    );
    refused(r#"{}"#, "toJSON()");
    refused(
        r#"{"credential_id": "AQ"}"#,
        "missing field `authenticator_data`",
    );
    let e = serde_json::from_str::<Attestation>(r#"{"id": "AQ"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`type`"), "{e}");
}

#[test]
fn json_is_strict() {
    for bad in [
        r#"{"id":"-_8B=","public_key":"pQEC","sign_count":7}"#, // padding
        r#"{"id":"+/8B","public_key":"pQEC","sign_count":7}"#,  // standard alphabet
        r#"{"id":"-_9","public_key":"pQEC","sign_count":7}"#,   // non-zero trailing bits
        r#"{"id":"-_8B","public_key":"pQEC","sign_count":-1}"#, // negative count
        r#"{"id":"-_8B","public_key":"pQEC","sign_count":7,"alg":-7}"#, // unknown field
        r#"{"id":"-_8B","public_key":"pQEC"}"#,                 // missing count
    ] {
        assert!(serde_json::from_str::<Credential>(bad).is_err(), "{bad}");
    }
}

#[test]
fn relying_party_json_defaults_are_strict() {
    let rp: RelyingParty =
        serde_json::from_str(r#"{"rp_id":"example.org","origins":["https://example.org"]}"#)
            .unwrap();
    assert_eq!(
        rp,
        RelyingParty::new("example.org", ["https://example.org"])
    );
    assert!(rp.require_user_verification);
    assert!(
        rp.allow_counterless,
        "synced passkeys are accepted by default"
    );
    assert!(!rp.require_attestation);
}
