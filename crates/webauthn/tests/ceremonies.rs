//! Registration and assertion through the software authenticator, both algorithms: what
//! must be accepted is, and every refusal comes back as its own variant.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use writ_webauthn::soft::{self, SoftAuthenticator, AT, BE, BS, ED, UP, UV};
use writ_webauthn::{
    register, verify_assertion, Assertion, Credential, Part, RelyingParty, Verified, WebauthnError,
};

const RP_ID: &str = "approve.example.com";
const ORIGIN: &str = "https://approve.example.com";
/// Stands in for a transaction digest: 32 bytes.
const DIGEST: [u8; 32] = [0xd1; 32];
const OTHER_DIGEST: [u8; 32] = [0xd2; 32];
const REGISTRATION_CHALLENGE: &[u8] = b"registration challenge, 32 bytes";

#[derive(Clone, Copy, Debug)]
enum Alg {
    Es256,
    Ed25519,
    Rs256,
}

const ALGS: [Alg; 2] = [Alg::Es256, Alg::Ed25519];

fn authenticator(alg: Alg, seed: &[u8]) -> SoftAuthenticator {
    match alg {
        Alg::Es256 => SoftAuthenticator::es256(seed),
        Alg::Ed25519 => SoftAuthenticator::ed25519(seed),
        Alg::Rs256 => SoftAuthenticator::rs256(seed),
    }
}

fn rp() -> RelyingParty {
    RelyingParty::new(RP_ID, [ORIGIN, "https://writ.example.com:8443"])
}

/// A relying party, an authenticator and its credential, registered the honest way.
fn registered(alg: Alg) -> (RelyingParty, SoftAuthenticator, Credential) {
    let rp = rp();
    let mut auth = authenticator(alg, b"approver alice");
    let attestation = auth.register(RP_ID, ORIGIN, REGISTRATION_CHALLENGE);
    let credential = register(&rp, REGISTRATION_CHALLENGE, &attestation)
        .unwrap()
        .credential;
    (rp, auth, credential)
}

/// Checks that `result` is the refusal `expected`, for every algorithm's run.
#[track_caller]
fn refused<T: std::fmt::Debug>(
    alg: Alg,
    result: Result<T, WebauthnError>,
    expected: &WebauthnError,
) {
    match result {
        Err(e) => assert_eq!(&e, expected, "{alg:?}"),
        Ok(v) => panic!("{alg:?}: accepted ({v:?}), expected {expected}"),
    }
}

#[track_caller]
fn malformed<T: std::fmt::Debug>(
    alg: Alg,
    result: Result<T, WebauthnError>,
    part: Part,
    detail: &str,
) {
    match result {
        Err(WebauthnError::Malformed { part: p, detail: d }) => {
            assert_eq!(p, part, "{alg:?}: {d}");
            assert!(
                d.contains(detail),
                "{alg:?}: `{d}` does not mention `{detail}`"
            );
        }
        other => panic!("{alg:?}: expected a malformed {part}, got {other:?}"),
    }
}

// ---- registration -------------------------------------------------------------------

#[test]
fn registration_returns_the_credential_with_its_initial_count() {
    for alg in ALGS {
        let (_, auth, credential) = registered(alg);
        assert_eq!(credential.id, auth.credential_id(), "{alg:?}");
        assert_eq!(credential.public_key, auth.cose_public_key(), "{alg:?}");
        assert_eq!(credential.sign_count, 0, "{alg:?}");

        let mut counting = authenticator(alg, b"approver bob");
        counting.set_sign_count(41);
        let attestation = counting.register(RP_ID, ORIGIN, REGISTRATION_CHALLENGE);
        let credential = register(&rp(), REGISTRATION_CHALLENGE, &attestation)
            .unwrap()
            .credential;
        assert_eq!(credential.sign_count, 41, "{alg:?}");
        assert_ne!(
            credential.id,
            auth.credential_id(),
            "{alg:?}: seeds give distinct ids"
        );
    }
}

#[test]
fn registration_is_deterministic_from_the_seed() {
    for alg in ALGS {
        let a = authenticator(alg, b"seed").register(RP_ID, ORIGIN, REGISTRATION_CHALLENGE);
        let b = authenticator(alg, b"seed").register(RP_ID, ORIGIN, REGISTRATION_CHALLENGE);
        assert_eq!(a, b, "{alg:?}");
    }
    let es = SoftAuthenticator::es256(b"seed");
    let ed = SoftAuthenticator::ed25519(b"seed");
    assert_ne!(es.credential_id(), ed.credential_id());
    assert_eq!((es.alg(), ed.alg()), (-7, -8));
}

#[test]
fn registration_refuses_the_wrong_ceremony_challenge_origin_and_rp() {
    for alg in ALGS {
        let rp = rp();
        let mut auth = authenticator(alg, b"approver alice");

        let att = auth.register(RP_ID, ORIGIN, b"another challenge");
        refused(
            alg,
            register(&rp, REGISTRATION_CHALLENGE, &att),
            &WebauthnError::ChallengeMismatch {
                expected: "cmVnaXN0cmF0aW9uIGNoYWxsZW5nZSwgMzIgYnl0ZXM".into(),
                received: "YW5vdGhlciBjaGFsbGVuZ2U".into(),
            },
        );

        let att = auth.register(RP_ID, "https://evil.example.net", REGISTRATION_CHALLENGE);
        refused(
            alg,
            register(&rp, REGISTRATION_CHALLENGE, &att),
            &WebauthnError::OriginNotAllowed {
                origin: "https://evil.example.net".into(),
            },
        );

        let att = auth.register("evil.example.net", ORIGIN, REGISTRATION_CHALLENGE);
        refused(
            alg,
            register(&rp, REGISTRATION_CHALLENGE, &att),
            &WebauthnError::RpIdHashMismatch {
                rp_id: RP_ID.into(),
            },
        );

        let auth_data = auth.attested_authenticator_data(RP_ID, UP | UV | AT, 0);
        let get = soft::client_data_json("webauthn.get", REGISTRATION_CHALLENGE, ORIGIN);
        refused(
            alg,
            register(
                &rp,
                REGISTRATION_CHALLENGE,
                &soft::none_attestation(auth_data, get),
            ),
            &WebauthnError::WrongType {
                expected: "webauthn.create",
                received: "webauthn.get".into(),
            },
        );
    }
}

#[test]
fn registration_checks_the_flags() {
    for alg in ALGS {
        let auth = authenticator(alg, b"approver alice");
        let create = || soft::client_data_json("webauthn.create", REGISTRATION_CHALLENGE, ORIGIN);
        let with_flags = |flags| {
            soft::none_attestation(auth.attested_authenticator_data(RP_ID, flags, 0), create())
        };

        refused(
            alg,
            register(&rp(), REGISTRATION_CHALLENGE, &with_flags(UP | AT)),
            &WebauthnError::UserVerificationMissing,
        );
        let lenient = RelyingParty {
            require_user_verification: false,
            ..rp()
        };
        let credential = register(&lenient, REGISTRATION_CHALLENGE, &with_flags(UP | AT))
            .unwrap()
            .credential;
        assert_eq!(credential.id, auth.credential_id());

        refused(
            alg,
            register(&lenient, REGISTRATION_CHALLENGE, &with_flags(UV | AT)),
            &WebauthnError::UserNotPresent,
        );

        // Backup flags are fine when consistent, refused when BS comes without BE.
        register(
            &rp(),
            REGISTRATION_CHALLENGE,
            &with_flags(UP | UV | AT | BE | BS),
        )
        .unwrap();
        malformed(
            alg,
            register(
                &rp(),
                REGISTRATION_CHALLENGE,
                &with_flags(UP | UV | AT | BS),
            ),
            Part::AuthenticatorData,
            "backup state",
        );

        // Attested data present but not announced: trailing bytes.
        malformed(
            alg,
            register(&rp(), REGISTRATION_CHALLENGE, &with_flags(UP | UV)),
            Part::AuthenticatorData,
            "follow the announced data",
        );
        // Nothing attested at all.
        let bare = soft::none_attestation(soft::authenticator_data(RP_ID, UP | UV, 0), create());
        malformed(
            alg,
            register(&rp(), REGISTRATION_CHALLENGE, &bare),
            Part::AuthenticatorData,
            "no attested credential data",
        );
        // Announced, but cut short.
        let mut cut = auth.attested_authenticator_data(RP_ID, UP | UV | AT, 0);
        cut.truncate(cut.len() - 1);
        malformed(
            alg,
            register(
                &rp(),
                REGISTRATION_CHALLENGE,
                &soft::none_attestation(cut, create()),
            ),
            Part::AuthenticatorData,
            "credential public key",
        );
    }
}

#[test]
fn registration_takes_the_key_bytes_exactly_when_extensions_follow() {
    for alg in ALGS {
        let auth = authenticator(alg, b"approver alice");
        let mut data = auth.attested_authenticator_data(RP_ID, UP | UV | AT | ED, 0);
        // {"credProtect": 2}
        data.extend_from_slice(&[
            0xa1, 0x6b, b'c', b'r', b'e', b'd', b'P', b'r', b'o', b't', b'e', b'c', b't', 0x02,
        ]);
        let att = soft::none_attestation(
            data,
            soft::client_data_json("webauthn.create", REGISTRATION_CHALLENGE, ORIGIN),
        );
        let credential = register(&rp(), REGISTRATION_CHALLENGE, &att)
            .unwrap()
            .credential;
        assert_eq!(credential.public_key, auth.cose_public_key(), "{alg:?}");
    }
}

#[test]
fn registration_checks_the_attestation_statement() {
    use ciborium::Value;
    use writ_webauthn::AttestationTrust;
    let text = |t: &str| Value::Text(t.into());
    for alg in [Alg::Es256, Alg::Ed25519, Alg::Rs256] {
        let auth = authenticator(alg, b"approver alice");
        let auth_data = auth.attested_authenticator_data(RP_ID, UP | UV | AT, 0);
        let client_data = soft::client_data_json("webauthn.create", REGISTRATION_CHALLENGE, ORIGIN);
        let object = |fmt: &str, statement: Vec<(Value, Value)>| {
            soft::attestation_object(
                fmt,
                Value::Map(statement),
                auth_data.clone(),
                client_data.clone(),
            )
        };
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha256(&client_data));
        let alg_value = Value::Integer(i64::try_from(auth.alg()).unwrap().into());
        let sig = auth.sign(&signed);

        // `packed` self attestation: verified with the credential's own key, accepted.
        let packed = object(
            "packed",
            vec![
                (text("alg"), alg_value.clone()),
                (text("sig"), Value::Bytes(sig.clone())),
            ],
        );
        let registration = register(&rp(), REGISTRATION_CHALLENGE, &packed).unwrap();
        assert_eq!(registration.trust, AttestationTrust::SelfSigned, "{alg:?}");
        assert_eq!(registration.fmt, "packed");
        assert_eq!(registration.credential.public_key, auth.cose_public_key());
        // A self signature over anything else, or by another key, is refused.
        let mut forged = sig.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        for bad in [forged, auth.sign(b"other bytes")] {
            let statement = vec![
                (text("alg"), alg_value.clone()),
                (text("sig"), Value::Bytes(bad)),
            ];
            let result = register(&rp(), REGISTRATION_CHALLENGE, &object("packed", statement));
            assert!(
                matches!(result, Err(WebauthnError::BadAttestationSignature)),
                "{alg:?}: {result:?}"
            );
        }
        // Its `alg` must be the credential key's.
        malformed(
            alg,
            register(
                &rp(),
                REGISTRATION_CHALLENGE,
                &object(
                    "packed",
                    vec![
                        (text("alg"), Value::Integer((-36).into())),
                        (text("sig"), Value::Bytes(sig.clone())),
                    ],
                ),
            ),
            Part::AttestationObject,
            "`alg` is -36",
        );
        malformed(
            alg,
            register(
                &rp(),
                REGISTRATION_CHALLENGE,
                &object("packed", vec![(text("sig"), Value::Bytes(sig.clone()))]),
            ),
            Part::AttestationObject,
            "`packed` `alg` is missing",
        );

        // `packed` with a certificate chain: accepted, the chain not verified.
        let chain = Value::Array(vec![Value::Bytes(vec![0x30, 0x82, 0x01, 0x00])]);
        let with_chain = object(
            "packed",
            vec![
                (text("alg"), alg_value.clone()),
                (text("sig"), Value::Bytes(sig.clone())),
                (text("x5c"), chain.clone()),
            ],
        );
        let registration = register(&rp(), REGISTRATION_CHALLENGE, &with_chain).unwrap();
        assert_eq!(registration.trust, AttestationTrust::Unverified, "{alg:?}");
        // ... unless the relying party asks for attestation: refused, saying why.
        let demanding = RelyingParty {
            require_attestation: true,
            ..rp()
        };
        let err = register(&demanding, REGISTRATION_CHALLENGE, &with_chain).unwrap_err();
        assert_eq!(
            err,
            WebauthnError::AttestationRequired {
                fmt: "packed".into(),
                trust: "not verified"
            }
        );
        assert!(
            err.to_string().contains("`require_attestation = true`"),
            "{err}"
        );
        for refused_too in [&packed, &object("none", vec![])] {
            assert!(matches!(
                register(&demanding, REGISTRATION_CHALLENGE, refused_too),
                Err(WebauthnError::AttestationRequired { .. })
            ));
        }

        // `fido-u2f`: for ES256 credentials, accepted unverified.
        let u2f = object(
            "fido-u2f",
            vec![
                (text("sig"), Value::Bytes(sig.clone())),
                (text("x5c"), chain.clone()),
            ],
        );
        match alg {
            Alg::Es256 => {
                let registration = register(&rp(), REGISTRATION_CHALLENGE, &u2f).unwrap();
                assert_eq!(registration.trust, AttestationTrust::Unverified);
                assert_eq!(registration.fmt, "fido-u2f");
            }
            _ => malformed(
                alg,
                register(&rp(), REGISTRATION_CHALLENGE, &u2f),
                Part::AttestationObject,
                "ES256 (P-256) credential only",
            ),
        }
        malformed(
            alg,
            register(
                &rp(),
                REGISTRATION_CHALLENGE,
                &object("fido-u2f", vec![(text("sig"), Value::Bytes(sig.clone()))]),
            ),
            Part::AttestationObject,
            "`fido-u2f` `x5c` is missing",
        );
        // Members outside the format, and formats this crate does not know.
        malformed(
            alg,
            register(
                &rp(),
                REGISTRATION_CHALLENGE,
                &object(
                    "packed",
                    vec![
                        (text("alg"), alg_value.clone()),
                        (text("sig"), Value::Bytes(sig.clone())),
                        (text("ecdaaKeyId"), Value::Bytes(vec![1])),
                    ],
                ),
            ),
            Part::AttestationObject,
            "ECDAA",
        );
        refused(
            alg,
            register(&rp(), REGISTRATION_CHALLENGE, &object("tpm", vec![])),
            &WebauthnError::UnsupportedAttestation { fmt: "tpm".into() },
        );
        malformed(
            alg,
            register(
                &rp(),
                REGISTRATION_CHALLENGE,
                &object("none", vec![(text("x5c"), Value::Array(vec![]))]),
            ),
            Part::AttestationObject,
            "non-empty `attStmt`",
        );
        let none = register(&rp(), REGISTRATION_CHALLENGE, &object("none", vec![])).unwrap();
        assert_eq!(none.trust, AttestationTrust::None);
    }
}

#[test]
fn the_soft_authenticator_sends_packed_self_attestation() {
    use writ_webauthn::AttestationTrust;
    for alg in [Alg::Es256, Alg::Ed25519, Alg::Rs256] {
        let mut auth = authenticator(alg, b"approver alice");
        let attestation = auth.register_packed_self(RP_ID, ORIGIN, REGISTRATION_CHALLENGE);
        let registration = register(&rp(), REGISTRATION_CHALLENGE, &attestation).unwrap();
        assert_eq!(registration.trust, AttestationTrust::SelfSigned, "{alg:?}");
        assert_eq!(registration.credential.id, auth.credential_id());
    }
}

#[test]
fn a_registration_naming_another_credential_is_refused() {
    let mut auth = SoftAuthenticator::es256(b"approver alice");
    let mut attestation = auth.register(RP_ID, ORIGIN, REGISTRATION_CHALLENGE);
    attestation.credential_id = Some(vec![1, 2, 3]);
    let err = register(&rp(), REGISTRATION_CHALLENGE, &attestation).unwrap_err();
    assert!(
        matches!(err, WebauthnError::CredentialIdMismatch { ref reported, .. } if reported == "AQID"),
        "{err:?}"
    );
}

// ---- RS256 (Windows Hello) ------------------------------------------------------------

#[test]
fn an_rs256_authenticator_registers_and_approves() {
    let (rp, mut auth, credential) = registered(Alg::Rs256);
    assert_eq!(auth.alg(), -257);
    let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
    assert_eq!(assertion.signature.len(), 256);
    let verified = verify_assertion(&rp, &credential, &DIGEST, &assertion).unwrap();
    assert_eq!(verified.sign_count, 1);
    // Over another challenge, tampered, or cut short: refused.
    refused(
        Alg::Rs256,
        verify_assertion(&rp, &credential, &OTHER_DIGEST, &assertion),
        &WebauthnError::ChallengeMismatch {
            expected: b64(&OTHER_DIGEST),
            received: b64(&DIGEST),
        },
    );
    let mut tampered = assertion.clone();
    tampered.signature[100] ^= 1;
    refused(
        Alg::Rs256,
        verify_assertion(&rp, &credential, &DIGEST, &tampered),
        &WebauthnError::BadSignature,
    );
    let mut short = assertion.clone();
    short.signature.pop();
    malformed(
        Alg::Rs256,
        verify_assertion(&rp, &credential, &DIGEST, &short),
        Part::Signature,
        "as long as the modulus (256 bytes), not 255",
    );
}

// ---- ES256 signature malleability -----------------------------------------------------

/// The other ES256 signature over the same bytes: `(r, s)` becomes `(r, n − s)`.
fn twin(signature: &[u8]) -> Vec<u8> {
    let sig = p256::ecdsa::Signature::from_der(signature).unwrap();
    let (r, s) = sig.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r, -s).unwrap();
    flipped.to_der().as_bytes().to_vec()
}

#[test]
fn a_high_s_twin_is_the_same_assertion() {
    let (rp, mut auth, credential) = registered(Alg::Es256);
    auth.hold_counter(true);
    let original = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
    let mut flipped = original.clone();
    flipped.signature = twin(&original.signature);
    assert_ne!(flipped.signature, original.signature);
    // Both verify (real authenticators send either), and both are one assertion: the
    // identity a relying party records does not depend on the signature's encoding.
    verify_assertion(&rp, &credential, &DIGEST, &original).unwrap();
    verify_assertion(&rp, &credential, &DIGEST, &flipped).unwrap();
    assert_eq!(original.identity(), flipped.identity());
    // What the identity does cover.
    let other = auth.assert(RP_ID, ORIGIN, &OTHER_DIGEST, true);
    assert_ne!(original.identity(), other.identity());
    let mut renamed = original.clone();
    renamed.credential_id.push(0);
    assert_ne!(original.identity(), renamed.identity());
}

#[test]
fn registration_refuses_unsupported_and_invalid_keys() {
    use ciborium::Value;
    let int = |i: i64| Value::Integer(i.into());
    let with_key = |key: Vec<(Value, Value)>| {
        let mut cose = Vec::new();
        ciborium::ser::into_writer(&Value::Map(key), &mut cose).unwrap();
        let mut auth_data = soft::authenticator_data(RP_ID, UP | UV | AT, 0);
        auth_data.extend_from_slice(&[0; 16]);
        auth_data.extend_from_slice(&[0, 4, 1, 2, 3, 4]);
        auth_data.extend_from_slice(&cose);
        let att = soft::none_attestation(
            auth_data,
            soft::client_data_json("webauthn.create", REGISTRATION_CHALLENGE, ORIGIN),
        );
        register(&rp(), REGISTRATION_CHALLENGE, &att)
    };
    // ES384: not supported.
    refused(
        Alg::Es256,
        with_key(vec![
            (int(1), int(2)),
            (int(3), int(-35)),
            (int(-1), int(2)),
            (int(-2), Value::Bytes(vec![1; 48])),
            (int(-3), Value::Bytes(vec![2; 48])),
        ]),
        &WebauthnError::UnsupportedAlgorithm { alg: -35 },
    );
    // RS256 keys too small, with a bad exponent, or with the EC labels.
    let rsa = |n: Vec<u8>, e: Vec<u8>| {
        vec![
            (int(1), int(3)),
            (int(3), int(-257)),
            (int(-1), Value::Bytes(n)),
            (int(-2), Value::Bytes(e)),
        ]
    };
    malformed(
        Alg::Es256,
        with_key(rsa(vec![0xc5; 128], vec![1, 0, 1])),
        Part::PublicKey,
        "1024 bits, 2048 to 4096 expected",
    );
    malformed(
        Alg::Es256,
        with_key(rsa(vec![0xc5; 256], vec![1])),
        Part::PublicKey,
        "exponent",
    );
    malformed(
        Alg::Es256,
        with_key(rsa(vec![0xc5; 256], vec![1, 0, 0])),
        Part::PublicKey,
        "exponent",
    );
    malformed(
        Alg::Es256,
        with_key(vec![(int(1), int(2)), (int(3), int(-257))]),
        Part::PublicKey,
        "RS256 needs `kty` 3, not 2",
    );
    let ec2 = |crv: i64, x: Vec<u8>, y: Vec<u8>| {
        vec![
            (int(1), int(2)),
            (int(3), int(-7)),
            (int(-1), int(crv)),
            (int(-2), Value::Bytes(x)),
            (int(-3), Value::Bytes(y)),
        ]
    };
    malformed(
        Alg::Es256,
        with_key(ec2(1, vec![1; 32], vec![2; 32])),
        Part::PublicKey,
        "not a point on P-256",
    );
    malformed(
        Alg::Es256,
        with_key(ec2(2, vec![1; 32], vec![2; 32])),
        Part::PublicKey,
        "ES256 needs `crv` 1, not 2",
    );
    malformed(
        Alg::Es256,
        with_key(ec2(1, vec![1; 33], vec![2; 32])),
        Part::PublicKey,
        "`x` is 33 bytes",
    );
    malformed(
        Alg::Es256,
        with_key(vec![(int(1), int(2)), (int(-1), int(1))]),
        Part::PublicKey,
        "`alg` is missing",
    );
    malformed(
        Alg::Es256,
        with_key(vec![(int(3), int(-7)), (int(3), int(-7))]),
        Part::PublicKey,
        "twice",
    );
    // The Ed25519 identity point: a valid encoding of a small-order point.
    let mut identity = vec![0u8; 32];
    identity[0] = 1;
    malformed(
        Alg::Ed25519,
        with_key(vec![
            (int(1), int(1)),
            (int(3), int(-8)),
            (int(-1), int(6)),
            (int(-2), Value::Bytes(identity)),
        ]),
        Part::PublicKey,
        "small order",
    );
}

#[test]
fn registration_refuses_a_cross_origin_ceremony() {
    let auth = SoftAuthenticator::ed25519(b"approver alice");
    let json = format!(
        r#"{{"type":"webauthn.create","challenge":"{}","origin":"{ORIGIN}","crossOrigin":true,"topOrigin":"https://framer.example.net"}}"#,
        b64(REGISTRATION_CHALLENGE)
    );
    let att = soft::none_attestation(
        auth.attested_authenticator_data(RP_ID, UP | UV | AT, 0),
        json.into_bytes(),
    );
    refused(
        Alg::Ed25519,
        register(&rp(), REGISTRATION_CHALLENGE, &att),
        &WebauthnError::CrossOrigin,
    );
}

// ---- assertion ----------------------------------------------------------------------

#[test]
fn a_good_assertion_is_accepted_and_the_count_moves_on() {
    for alg in ALGS {
        let (rp, mut auth, mut credential) = registered(alg);
        for expected in 1..=3 {
            let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
            let verified = verify_assertion(&rp, &credential, &DIGEST, &assertion).unwrap();
            assert_eq!(
                verified,
                Verified {
                    sign_count: expected,
                    user_verified: true
                },
                "{alg:?}"
            );
            credential.sign_count = verified.sign_count;
        }
        // The second allowed origin.
        let assertion = auth.assert(RP_ID, "https://writ.example.com:8443", &DIGEST, true);
        verify_assertion(&rp, &credential, &DIGEST, &assertion).unwrap();
    }
}

#[test]
fn an_assertion_over_another_digest_is_refused() {
    for alg in ALGS {
        let (rp, mut auth, credential) = registered(alg);
        let assertion = auth.assert(RP_ID, ORIGIN, &OTHER_DIGEST, true);
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &assertion),
            &WebauthnError::ChallengeMismatch {
                expected: b64(&DIGEST),
                received: b64(&OTHER_DIGEST),
            },
        );
    }
}

#[test]
fn the_challenge_is_compared_exactly() {
    // Bytes whose encoding uses both characters that differ between the alphabets.
    const CHALLENGE: [u8; 32] = [0xfb; 32];
    assert!(b64(&CHALLENGE).contains('-') && b64(&CHALLENGE).contains('_'));
    for alg in ALGS {
        let (rp, auth, credential) = registered(alg);
        // The same bytes, encoded with padding or with the standard alphabet.
        let padded = format!("{}=", b64(&CHALLENGE));
        let standard = b64(&CHALLENGE).replace('_', "/").replace('-', "+");
        for challenge in [padded, standard] {
            let json = format!(
                r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":"{ORIGIN}"}}"#
            );
            let assertion = auth.sign_assertion(
                soft::authenticator_data(RP_ID, UP | UV, 1),
                json.into_bytes(),
            );
            let result = verify_assertion(&rp, &credential, &CHALLENGE, &assertion);
            assert!(
                matches!(result, Err(WebauthnError::ChallengeMismatch { .. })),
                "{alg:?}: {result:?}"
            );
        }
        let assertion = auth.sign_assertion(
            soft::authenticator_data(RP_ID, UP | UV, 1),
            soft::client_data_json("webauthn.get", &CHALLENGE, ORIGIN),
        );
        verify_assertion(&rp, &credential, &CHALLENGE, &assertion).unwrap();
    }
}

#[test]
fn a_wrong_origin_is_refused_and_named() {
    for alg in ALGS {
        let (rp, mut auth, credential) = registered(alg);
        for origin in [
            "https://approve.example.com.evil.net",
            "http://approve.example.com",
            "https://approve.example.com/",
            "https://approve.example.com:443",
        ] {
            let assertion = auth.assert(RP_ID, origin, &DIGEST, true);
            let err = verify_assertion(&rp, &credential, &DIGEST, &assertion).unwrap_err();
            assert_eq!(
                err,
                WebauthnError::OriginNotAllowed {
                    origin: origin.into()
                },
                "{alg:?}"
            );
            assert_eq!(err.to_string(), format!("origin `{origin}` is not allowed"));
        }
    }
}

#[test]
fn a_wrong_rp_id_is_refused() {
    for alg in ALGS {
        let (rp, mut auth, credential) = registered(alg);
        for rp_id in ["example.com", "evil.example.net", "APPROVE.example.com"] {
            let assertion = auth.assert(rp_id, ORIGIN, &DIGEST, true);
            refused(
                alg,
                verify_assertion(&rp, &credential, &DIGEST, &assertion),
                &WebauthnError::RpIdHashMismatch {
                    rp_id: RP_ID.into(),
                },
            );
        }
    }
}

#[test]
fn user_verification_is_required_where_configured() {
    for alg in ALGS {
        let (rp, mut auth, mut credential) = registered(alg);
        let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, false);
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &assertion),
            &WebauthnError::UserVerificationMissing,
        );
        let lenient = RelyingParty {
            require_user_verification: false,
            ..rp.clone()
        };
        let verified = verify_assertion(&lenient, &credential, &DIGEST, &assertion).unwrap();
        assert!(!verified.user_verified, "{alg:?}");
        credential.sign_count = verified.sign_count;
        // Where not required, a verified user is still reported as such.
        let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
        let verified = verify_assertion(&lenient, &credential, &DIGEST, &assertion).unwrap();
        assert!(verified.user_verified, "{alg:?}");
    }
}

#[test]
fn user_presence_is_always_required() {
    for alg in ALGS {
        let (rp, auth, credential) = registered(alg);
        let lenient = RelyingParty {
            require_user_verification: false,
            ..rp.clone()
        };
        for flags in [0, UV] {
            let assertion = auth.sign_assertion(
                soft::authenticator_data(RP_ID, flags, 1),
                soft::client_data_json("webauthn.get", &DIGEST, ORIGIN),
            );
            refused(
                alg,
                verify_assertion(&rp, &credential, &DIGEST, &assertion),
                &WebauthnError::UserNotPresent,
            );
            refused(
                alg,
                verify_assertion(&lenient, &credential, &DIGEST, &assertion),
                &WebauthnError::UserNotPresent,
            );
        }
    }
}

#[test]
fn a_registration_response_is_no_assertion() {
    for alg in ALGS {
        let (rp, auth, credential) = registered(alg);
        let assertion = auth.sign_assertion(
            soft::authenticator_data(RP_ID, UP | UV, 1),
            soft::client_data_json("webauthn.create", &DIGEST, ORIGIN),
        );
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &assertion),
            &WebauthnError::WrongType {
                expected: "webauthn.get",
                received: "webauthn.create".into(),
            },
        );
        // Attested credential data has no place in an assertion.
        let assertion = auth.sign_assertion(
            auth.attested_authenticator_data(RP_ID, UP | UV | AT, 1),
            soft::client_data_json("webauthn.get", &DIGEST, ORIGIN),
        );
        malformed(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &assertion),
            Part::AuthenticatorData,
            "AT flag set",
        );
    }
}

#[test]
fn a_cross_origin_assertion_is_refused() {
    for alg in ALGS {
        let (rp, auth, credential) = registered(alg);
        let json = format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}","crossOrigin":true}}"#,
            b64(&DIGEST)
        );
        let assertion = auth.sign_assertion(
            soft::authenticator_data(RP_ID, UP | UV, 1),
            json.into_bytes(),
        );
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &assertion),
            &WebauthnError::CrossOrigin,
        );
    }
}

#[test]
fn unknown_client_data_members_are_ignored_and_duplicates_refused() {
    for alg in ALGS {
        let (rp, auth, credential) = registered(alg);
        let json = format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}","crossOrigin":false,"other_keys_can_be_added_here":"do not compare clientDataJSON against a template"}}"#,
            b64(&DIGEST)
        );
        let assertion = auth.sign_assertion(
            soft::authenticator_data(RP_ID, UP | UV, 1),
            json.into_bytes(),
        );
        verify_assertion(&rp, &credential, &DIGEST, &assertion).unwrap();

        let json = format!(
            r#"{{"type":"webauthn.create","type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}"}}"#,
            b64(&DIGEST)
        );
        let assertion = auth.sign_assertion(
            soft::authenticator_data(RP_ID, UP | UV, 1),
            json.into_bytes(),
        );
        malformed(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &assertion),
            Part::ClientData,
            "duplicate field `type`",
        );
    }
}

#[test]
fn extensions_are_parsed_and_must_be_a_map() {
    for alg in ALGS {
        let (rp, auth, credential) = registered(alg);
        let with_ext = |ext: &[u8]| {
            let mut data = soft::authenticator_data(RP_ID, UP | UV | ED, 1);
            data.extend_from_slice(ext);
            auth.sign_assertion(
                data,
                soft::client_data_json("webauthn.get", &DIGEST, ORIGIN),
            )
        };
        // {"credProtect": 2}
        let map = [
            0xa1, 0x6b, b'c', b'r', b'e', b'd', b'P', b'r', b'o', b't', b'e', b'c', b't', 0x02,
        ];
        verify_assertion(&rp, &credential, &DIGEST, &with_ext(&map)).unwrap();
        malformed(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &with_ext(&[0x02])),
            Part::AuthenticatorData,
            "not a CBOR map",
        );
        malformed(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &with_ext(&[])),
            Part::AuthenticatorData,
            "extensions",
        );
        let mut trailing = map.to_vec();
        trailing.push(0);
        malformed(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &with_ext(&trailing)),
            Part::AuthenticatorData,
            "1 bytes follow",
        );
    }
}

// ---- sign count -------------------------------------------------------------------------

#[test]
fn a_replayed_assertion_is_a_possible_clone() {
    for alg in ALGS {
        let (rp, mut auth, mut credential) = registered(alg);
        let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
        let verified = verify_assertion(&rp, &credential, &DIGEST, &assertion).unwrap();
        credential.sign_count = verified.sign_count;
        let err = verify_assertion(&rp, &credential, &DIGEST, &assertion).unwrap_err();
        assert_eq!(
            err,
            WebauthnError::SignCountNotIncreased {
                stored: 1,
                received: 1
            },
            "{alg:?}"
        );
        assert!(err.is_possible_clone());
        assert_eq!(
            err.to_string(),
            "sign count did not increase (stored 1, received 1): a replayed assertion or a cloned authenticator"
        );
    }
}

#[test]
fn a_held_or_lower_counter_is_refused() {
    for alg in ALGS {
        let (rp, mut auth, mut credential) = registered(alg);
        auth.set_sign_count(9);
        let verified = verify_assertion(
            &rp,
            &credential,
            &DIGEST,
            &auth.assert(RP_ID, ORIGIN, &DIGEST, true),
        )
        .unwrap();
        assert_eq!(verified.sign_count, 10);
        credential.sign_count = verified.sign_count;

        auth.hold_counter(true);
        refused(
            alg,
            verify_assertion(
                &rp,
                &credential,
                &DIGEST,
                &auth.assert(RP_ID, ORIGIN, &DIGEST, true),
            ),
            &WebauthnError::SignCountNotIncreased {
                stored: 10,
                received: 10,
            },
        );
        auth.set_sign_count(3);
        refused(
            alg,
            verify_assertion(
                &rp,
                &credential,
                &DIGEST,
                &auth.assert(RP_ID, ORIGIN, &DIGEST, true),
            ),
            &WebauthnError::SignCountNotIncreased {
                stored: 10,
                received: 3,
            },
        );
        // A counter that drops to 0 is not "no counter".
        auth.set_sign_count(0);
        refused(
            alg,
            verify_assertion(
                &rp,
                &credential,
                &DIGEST,
                &auth.assert(RP_ID, ORIGIN, &DIGEST, true),
            ),
            &WebauthnError::SignCountNotIncreased {
                stored: 10,
                received: 0,
            },
        );
    }
}

#[test]
fn a_cloned_authenticator_is_caught_when_it_falls_behind() {
    for alg in ALGS {
        let (rp, mut original, mut credential) = registered(alg);
        let mut clone = original.clone();
        for _ in 0..2 {
            let v = verify_assertion(
                &rp,
                &credential,
                &DIGEST,
                &original.assert(RP_ID, ORIGIN, &DIGEST, true),
            )
            .unwrap();
            credential.sign_count = v.sign_count;
        }
        let err = verify_assertion(
            &rp,
            &credential,
            &DIGEST,
            &clone.assert(RP_ID, ORIGIN, &DIGEST, true),
        )
        .unwrap_err();
        assert!(err.is_possible_clone(), "{alg:?}: {err}");
    }
}

#[test]
fn counterless_authenticators_are_accepted_unless_a_counter_is_required() {
    for alg in ALGS {
        let (rp, mut auth, credential) = registered(alg);
        auth.hold_counter(true);
        let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
        // Synced passkeys report 0 every time: accepted by default.
        let verified = verify_assertion(&rp, &credential, &DIGEST, &assertion).unwrap();
        assert_eq!(verified.sign_count, 0);

        let strict = RelyingParty {
            allow_counterless: false,
            ..rp.clone()
        };
        let err = verify_assertion(&strict, &credential, &DIGEST, &assertion).unwrap_err();
        assert_eq!(err, WebauthnError::SignCountMissing, "{alg:?}");
        assert!(!err.is_possible_clone());

        // An authenticator that starts counting is held to its counter from then on.
        auth.hold_counter(false);
        let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
        let verified = verify_assertion(&rp, &credential, &DIGEST, &assertion).unwrap();
        assert_eq!(verified.sign_count, 1);
        let moved = Credential {
            sign_count: verified.sign_count,
            ..credential.clone()
        };
        refused(
            alg,
            verify_assertion(&rp, &moved, &DIGEST, &assertion),
            &WebauthnError::SignCountNotIncreased {
                stored: 1,
                received: 1,
            },
        );
        // A counter that falls back to 0 is a possible clone, not a counterless key.
        let mut zero = auth.clone();
        zero.set_sign_count(0);
        zero.hold_counter(true);
        refused(
            alg,
            verify_assertion(
                &rp,
                &moved,
                &DIGEST,
                &zero.assert(RP_ID, ORIGIN, &DIGEST, true),
            ),
            &WebauthnError::SignCountNotIncreased {
                stored: 1,
                received: 0,
            },
        );
    }
}

// ---- tampering and the wrong credential --------------------------------------------

#[test]
fn tampered_data_breaks_the_signature() {
    for alg in ALGS {
        let (rp, mut auth, credential) = registered(alg);
        let good = auth.assert(RP_ID, ORIGIN, &DIGEST, true);

        // A higher count, written after signing.
        let mut tampered = good.clone();
        tampered.authenticator_data[36] = 0x7f;
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &tampered),
            &WebauthnError::BadSignature,
        );
        // UV added after signing.
        let mut tampered = auth.assert(RP_ID, ORIGIN, &DIGEST, false);
        tampered.authenticator_data[32] |= UV;
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &tampered),
            &WebauthnError::BadSignature,
        );
        // The client data re-serialised: same members, other bytes.
        let mut tampered = good.clone();
        let json = String::from_utf8(good.client_data_json.clone()).unwrap();
        tampered.client_data_json = json.replace(",\"", ", \"").into_bytes();
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &tampered),
            &WebauthnError::BadSignature,
        );
        // The signature itself.
        let mut tampered = good.clone();
        let last = tampered.signature.len() - 1;
        tampered.signature[last] ^= 0x01;
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &tampered),
            &WebauthnError::BadSignature,
        );
        verify_assertion(&rp, &credential, &DIGEST, &good).unwrap();
    }
}

#[test]
fn signatures_in_the_wrong_shape_are_malformed() {
    let (rp, mut auth, credential) = registered(Alg::Es256);
    let mut a = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
    a.signature = vec![0x30, 0x02, 0x02, 0x00];
    malformed(
        Alg::Es256,
        verify_assertion(&rp, &credential, &DIGEST, &a),
        Part::Signature,
        "DER",
    );
    let (rp, mut auth, credential) = registered(Alg::Ed25519);
    let mut a = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
    a.signature.pop();
    malformed(
        Alg::Ed25519,
        verify_assertion(&rp, &credential, &DIGEST, &a),
        Part::Signature,
        "63",
    );
}

#[test]
fn the_wrong_credential_is_refused() {
    for alg in ALGS {
        let (rp, _, credential) = registered(alg);
        let mut mallory = authenticator(alg, b"approver mallory");
        let assertion = mallory.assert(RP_ID, ORIGIN, &DIGEST, true);
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &assertion),
            &WebauthnError::UnknownCredential {
                id: b64(mallory.credential_id()),
            },
        );
        // Claiming the registered credential's id does not help.
        let mut claimed = assertion;
        claimed.credential_id = credential.id.clone();
        refused(
            alg,
            verify_assertion(&rp, &credential, &DIGEST, &claimed),
            &WebauthnError::BadSignature,
        );
    }
    // The other algorithm's authenticator, under the registered id.
    let (rp, _, credential) = registered(Alg::Es256);
    let mut other = authenticator(Alg::Ed25519, b"approver alice");
    let mut assertion = other.assert(RP_ID, ORIGIN, &DIGEST, true);
    assertion.credential_id = credential.id.clone();
    malformed(
        Alg::Es256,
        verify_assertion(&rp, &credential, &DIGEST, &assertion),
        Part::Signature,
        "DER",
    );
}

#[test]
fn a_corrupt_stored_key_is_reported() {
    let (rp, mut auth, mut credential) = registered(Alg::Es256);
    credential.public_key.truncate(10);
    let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
    malformed(
        Alg::Es256,
        verify_assertion(&rp, &credential, &DIGEST, &assertion),
        Part::PublicKey,
        "truncated",
    );
}

#[test]
fn messages_are_lowercase_with_input_in_backticks() {
    let cases: Vec<(WebauthnError, &str)> = vec![
        (
            WebauthnError::BadSignature,
            "the signature does not verify with the registered credential's public key",
        ),
        (
            WebauthnError::WrongType {
                expected: "webauthn.get",
                received: "webauthn.create".into(),
            },
            "client data type is `webauthn.create`, expected `webauthn.get`",
        ),
        (
            WebauthnError::UnknownCredential { id: "AAEC".into() },
            "credential `AAEC` is not the registered credential",
        ),
        (
            WebauthnError::UnsupportedAlgorithm { alg: -35 },
            "the COSE algorithm `-35` is not supported (ES256, -7, EdDSA, -8, and RS256, -257, are)",
        ),
        (
            WebauthnError::UnsupportedAttestation { fmt: "tpm".into() },
            "attestation format `tpm` is not supported (`none`, `packed` and `fido-u2f` are; ask the browser for attestation `none`)",
        ),
        (
            WebauthnError::Malformed {
                part: Part::AttestationObject,
                detail: "`fmt` is missing".into(),
            },
            "malformed attestation object: `fmt` is missing",
        ),
    ];
    for (err, message) in cases {
        assert_eq!(err.to_string(), message);
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}

#[test]
fn an_assertion_travels_as_json() {
    let (rp, mut auth, credential) = registered(Alg::Ed25519);
    let assertion = auth.assert(RP_ID, ORIGIN, &DIGEST, true);
    let json = serde_json::to_string(&assertion).unwrap();
    let back: Assertion = serde_json::from_str(&json).unwrap();
    verify_assertion(&rp, &credential, &DIGEST, &back).unwrap();
}
