//! API keys: made, hashed, stored as hashes, recognised; and refused when unknown,
//! malformed, or presented beside another credential.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use writ_callers::{hash_api_key, new_api_key, AuthCode, AuthMethod, Callers, Presented, Role};

fn callers(keys: &[(&str, &str, &str)]) -> Callers {
    let mut toml = String::new();
    for (name, hash, role) in keys {
        toml.push_str(&format!(
            "[[api_key]]\nname = \"{name}\"\nhash = \"{hash}\"\nrole = \"{role}\"\n"
        ));
        if *role == "actor" {
            toml.push_str("kind = \"workload\"\n");
        }
    }
    Callers::parse("callers.toml", &toml).unwrap()
}

fn with_key(callers: &Callers, key: &str) -> Result<writ_callers::Caller, writ_callers::AuthError> {
    callers.authenticate(
        &Presented {
            api_key: Some(key),
            ..Presented::default()
        },
        jiff::Timestamp::now(),
    )
}

#[test]
fn new_keys_are_random_and_hash_as_documented() {
    let a = new_api_key().unwrap();
    let b = new_api_key().unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with("writ_"));
    assert_eq!(a.len(), 5 + 43);
    // SHA-256 of "abc" (FIPS 180-2 test vector).
    assert_eq!(
        hash_api_key("abc"),
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn a_key_is_recognised_by_its_hash_in_every_form() {
    let batch = new_api_key().unwrap();
    let pep = new_api_key().unwrap();
    let batch_hash = hash_api_key(&batch);
    let bare_upper = pep_hash_bare_upper(&pep);
    let callers = callers(&[
        ("nightly-batch", &batch_hash, "actor"),
        ("edge.gateway_1", &bare_upper, "enforcement_point"),
    ]);
    let caller = with_key(&callers, &batch).unwrap();
    assert_eq!(caller.id, "nightly-batch");
    assert_eq!(caller.method, AuthMethod::ApiKey);
    assert_eq!(caller.role, Role::Actor);
    assert_eq!(caller.principal_kind.as_deref(), Some("workload"));
    assert!(!caller.attested, "a shared secret is not attested");
    assert_eq!(caller.cert_thumbprint, None);

    let caller = with_key(&callers, &pep).unwrap();
    assert_eq!(caller.id, "edge.gateway_1");
    assert_eq!(caller.role, Role::EnforcementPoint);
    assert_eq!(caller.principal_kind, None);
}

/// The 64 hex digits alone, in capitals (accepted as well as `sha256:` + lowercase).
fn pep_hash_bare_upper(key: &str) -> String {
    hash_api_key(key)
        .strip_prefix("sha256:")
        .unwrap()
        .to_ascii_uppercase()
}

#[test]
fn unknown_and_malformed_keys_are_refused_without_echo() {
    let key = new_api_key().unwrap();
    let callers = callers(&[("batch", &hash_api_key(&key), "actor")]);
    let almost = format!("{}x", &key[..key.len() - 1]);
    let long = "k".repeat(257);
    let cases: [(&str, AuthCode, &str); 6] = [
        (&almost, AuthCode::UnknownApiKey, "matches none"),
        ("writ_", AuthCode::UnknownApiKey, "matches none"),
        ("", AuthCode::MalformedCredential, "is empty"),
        (&long, AuthCode::MalformedCredential, "at most 256"),
        (
            "two words",
            AuthCode::MalformedCredential,
            "not visible ASCII",
        ),
        ("ключ", AuthCode::MalformedCredential, "not visible ASCII"),
    ];
    for (presented, code, fragment) in cases {
        let err = with_key(&callers, presented).unwrap_err();
        assert_eq!(err.code, code, "{presented:?}: {err}");
        assert!(err.message.contains(fragment), "{presented:?}: {err}");
        if presented.len() > 4 {
            assert!(!err.message.contains(presented), "echoes the key");
        }
    }
    // Surrounding whitespace is not trimmed: the key is exactly what was sent.
    let err = with_key(&callers, &format!("{key} ")).unwrap_err();
    assert_eq!(err.code, AuthCode::MalformedCredential);
}

#[test]
fn keys_need_an_api_key_entry() {
    let callers = Callers::parse("callers.toml", "").unwrap();
    let err = with_key(&callers, "writ_abc").unwrap_err();
    assert_eq!(err.code, AuthCode::MethodNotEnabled);
    assert!(!callers.accepts_api_keys());
}

#[test]
fn exactly_one_credential() {
    let key = new_api_key().unwrap();
    let callers = callers(&[("batch", &hash_api_key(&key), "actor")]);
    let now = jiff::Timestamp::now();
    let err = callers
        .authenticate(&Presented::default(), now)
        .unwrap_err();
    assert_eq!(err.code, AuthCode::NoCredentials);
    assert_eq!(err.code(), "no_credentials");
    // A valid key beside anything else — even something malformed — is ambiguous.
    let cert = b"not a certificate".as_slice();
    for presented in [
        Presented {
            api_key: Some(&key),
            authorization: Some("Bearer a.b.c"),
            peer_certificate: None,
        },
        Presented {
            api_key: Some(&key),
            authorization: None,
            peer_certificate: Some(cert),
        },
        Presented {
            api_key: None,
            authorization: Some("Bearer a.b.c"),
            peer_certificate: Some(cert),
        },
    ] {
        let err = callers.authenticate(&presented, now).unwrap_err();
        assert_eq!(err.code, AuthCode::AmbiguousCredentials, "{err}");
        assert_eq!(err.code(), "ambiguous_credentials");
        assert!(err.message.contains("exactly one credential"), "{err}");
        assert!(!err.message.contains(&key));
    }
}

#[test]
fn presented_credentials_never_show_in_debug() {
    let presented = Presented {
        api_key: Some("writ_secret-key"),
        authorization: Some("Bearer secret.token.here"),
        peer_certificate: None,
    };
    let shown = format!("{presented:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(
        shown.contains("<present>") && shown.contains("<absent>"),
        "{shown}"
    );
}
