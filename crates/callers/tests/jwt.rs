//! Bearer JWTs: each accepted algorithm, and every refusal — a bad signature, the wrong
//! issuer or audience, expiry, `nbf`, `iat` in the future, `alg` `none`, HMAC (also signed
//! with the server's public key), an unknown `kid`, a `kid` of another algorithm, `crit`,
//! and malformed tokens and headers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use serde_json::{json, Value};
use writ_callers::{AuthCode, AuthMethod, Callers, Presented, Role};
use writ_testkit::jwt::{b64, hs256_token, jwks, unsigned_token, JwtKey};

const ISSUER: &str = "https://issuer.example.org";
const NOW: i64 = 1_800_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    callers: Callers,
    es: JwtKey,
    ed: JwtKey,
    rs: JwtKey,
}

fn fixture() -> Fixture {
    let es = JwtKey::es256("es-1");
    let ed = JwtKey::ed25519("ed-1");
    let rs = JwtKey::rs256("rs-1");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&es, &ed, &rs])).unwrap();
    let toml = format!(
        r#"
trust_domains = ["example.org"]

[jwt]
issuer = "{ISSUER}"
audience = "writ"
jwks = "jwks.json"
leeway_seconds = 30

[[enforcement_point]]
id = "spiffe://example.org/gateway"

[[actor]]
id = "user-42"
kind = "human"

[[actor]]
id = "spiffe://example.org/payments"
kind = "workload"
"#
    );
    let path = dir.path().join("callers.toml");
    std::fs::write(&path, toml).unwrap();
    let callers = Callers::load(&path).unwrap();
    Fixture {
        _dir: dir,
        callers,
        es,
        ed,
        rs,
    }
}

fn claims(sub: &str) -> Value {
    json!({
        "iss": ISSUER,
        "sub": sub,
        "aud": "writ",
        "exp": NOW + 300,
        "iat": NOW - 10,
        "nbf": NOW - 10,
    })
}

fn bearer(callers: &Callers, token: &str) -> Result<writ_callers::Caller, writ_callers::AuthError> {
    let header = format!("Bearer {token}");
    callers.authenticate(
        &Presented {
            authorization: Some(&header),
            ..Presented::default()
        },
        jiff::Timestamp::from_second(NOW).unwrap(),
    )
}

#[test]
fn each_algorithm_verifies() {
    let f = fixture();
    for key in [&f.es, &f.ed, &f.rs] {
        let caller = bearer(&f.callers, &key.sign(&claims("user-42"))).unwrap();
        assert_eq!(caller.id, "user-42", "{}", key.alg());
        assert_eq!(caller.method, AuthMethod::Jwt);
        assert_eq!(caller.role, Role::Actor);
        assert_eq!(caller.principal_kind.as_deref(), Some("human"));
        assert!(caller.attested);
        assert_eq!(caller.cert_thumbprint, None);
    }
    // A JWT-SVID: `sub` is a SPIFFE ID, `aud` an array.
    let mut svid = claims("spiffe://example.org/gateway");
    svid["aud"] = json!(["other", "writ"]);
    let caller = bearer(&f.callers, &f.es.sign(&svid)).unwrap();
    assert_eq!(caller.role, Role::EnforcementPoint);
    // `typ` `at+jwt` (RFC 9068) and no `typ` are accepted; fractional times too.
    let mut header = f.ed.header();
    header["typ"] = json!("at+jwt");
    let mut fractional = claims("user-42");
    fractional["exp"] = json!(NOW as f64 + 0.5);
    assert!(bearer(&f.callers, &f.ed.sign_with_header(&header, &fractional)).is_ok());
    let header = json!({"alg": "EdDSA", "kid": "ed-1"});
    assert!(bearer(
        &f.callers,
        &f.ed.sign_with_header(&header, &claims("user-42"))
    )
    .is_ok());
    // The scheme is case-insensitive.
    let token = f.es.sign(&claims("user-42"));
    let header = format!("bearer {token}");
    assert!(f
        .callers
        .authenticate(
            &Presented {
                authorization: Some(&header),
                ..Presented::default()
            },
            jiff::Timestamp::from_second(NOW).unwrap(),
        )
        .is_ok());
}

#[test]
fn skew_is_honoured_at_the_edges() {
    let f = fixture();
    let at = |exp: i64, nbf: i64| {
        let mut c = claims("user-42");
        c["exp"] = json!(exp);
        c["nbf"] = json!(nbf);
        c["iat"] = json!(nbf);
        bearer(&f.callers, &f.es.sign(&c))
            .map(|_| ())
            .map_err(|e| e.code)
    };
    // Leeway 30 s: exp may be up to 29 s past, nbf up to 30 s ahead.
    assert_eq!(at(NOW - 29, NOW - 100), Ok(()));
    assert_eq!(at(NOW - 30, NOW - 100), Err(AuthCode::TokenExpired));
    assert_eq!(at(NOW + 300, NOW + 30), Ok(()));
    assert_eq!(at(NOW + 300, NOW + 31), Err(AuthCode::TokenNotYetValid));
}

/// One refusal: the token, the code, a fragment of the message.
type Case = (&'static str, String, AuthCode, &'static str);

#[test]
fn every_refusal_has_its_code_and_says_why() {
    let f = fixture();
    let good = claims("user-42");
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        if value.is_null() {
            c.as_object_mut().unwrap().remove(key);
        } else {
            c[key] = value;
        }
        f.es.sign(&c)
    };
    let stranger = JwtKey::es256("es-1");
    let valid = f.es.sign(&good);
    let (head, rest) = valid.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut flipped = signature.as_bytes().to_vec();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let other_payload = b64(json!({"iss": ISSUER, "sub": "spiffe://example.org/gateway", "aud": "writ", "exp": NOW + 300}).to_string().as_bytes());
    let es_public = serde_json::to_vec(&f.es.public_jwk()).unwrap();

    let cases: Vec<Case> = vec![
        (
            "signed by another key with the same kid",
            stranger.sign(&good),
            AuthCode::InvalidToken,
            "signature does not verify",
        ),
        (
            "a flipped signature byte",
            format!("{head}.{payload}.{flipped}"),
            AuthCode::InvalidToken,
            "signature does not verify",
        ),
        (
            "claims swapped under a valid signature",
            format!("{head}.{other_payload}.{signature}"),
            AuthCode::InvalidToken,
            "signature does not verify",
        ),
        (
            "an empty signature",
            format!("{head}.{payload}."),
            AuthCode::InvalidToken,
            "signature does not verify",
        ),
        (
            "the wrong issuer",
            with("iss", json!("https://evil.example")),
            AuthCode::InvalidToken,
            "issuer is not `https://issuer.example.org`",
        ),
        ("no issuer", with("iss", Value::Null), AuthCode::InvalidToken, "no `iss`"),
        (
            "the wrong audience",
            with("aud", json!("other")),
            AuthCode::InvalidToken,
            "audience does not include `writ`",
        ),
        (
            "an audience array without ours",
            with("aud", json!(["a", "b"])),
            AuthCode::InvalidToken,
            "audience does not include `writ`",
        ),
        ("no audience", with("aud", Value::Null), AuthCode::InvalidToken, "no `aud`"),
        (
            "expired",
            with("exp", json!(NOW - 3600)),
            AuthCode::TokenExpired,
            "has expired",
        ),
        ("no exp", with("exp", Value::Null), AuthCode::InvalidToken, "no `exp`"),
        (
            "not yet valid",
            with("nbf", json!(NOW + 3600)),
            AuthCode::TokenNotYetValid,
            "not valid yet",
        ),
        (
            "issued in the future",
            with("iat", json!(NOW + 3600)),
            AuthCode::TokenNotYetValid,
            "issued in the future",
        ),
        (
            "exp as text",
            with("exp", json!("soon")),
            AuthCode::MalformedCredential,
            "claims are not a JSON object",
        ),
        ("no sub", with("sub", Value::Null), AuthCode::InvalidToken, "no `sub`"),
        ("an empty sub", with("sub", json!("")), AuthCode::InvalidToken, "`sub` is empty"),
        (
            "a sub with a newline",
            with("sub", json!("a\nb")),
            AuthCode::InvalidToken,
            "control characters",
        ),
        (
            "a malformed SPIFFE sub",
            with("sub", json!("spiffe://example.org/a/../b")),
            AuthCode::InvalidToken,
            "looks like a SPIFFE ID but has a `..` path segment",
        ),
        (
            "a SPIFFE sub of another trust domain",
            with("sub", json!("spiffe://evil.example/gateway")),
            AuthCode::UntrustedDomain,
            "`evil.example`",
        ),
        (
            "an unlisted sub",
            with("sub", json!("user-43")),
            AuthCode::UnknownCaller,
            "`user-43` is not listed",
        ),
        (
            "alg none",
            unsigned_token(&good),
            AuthCode::InvalidToken,
            "unsigned (`alg` `none`)",
        ),
        (
            "alg None",
            f.es.sign_with_header(&json!({"alg": "None", "kid": "es-1"}), &good),
            AuthCode::InvalidToken,
            "unsigned",
        ),
        (
            "HS256 with the public key as the secret",
            hs256_token(&es_public, Some("es-1"), &good),
            AuthCode::InvalidToken,
            "shared secret (`HS256`)",
        ),
        (
            "HS512",
            hs256_token(b"secret", None, &good).replacen(
                &b64(br#"{"alg":"HS256","typ":"JWT"}"#),
                &b64(br#"{"alg":"HS512","typ":"JWT"}"#),
                1,
            ),
            AuthCode::InvalidToken,
            "shared secret (`HS512`)",
        ),
        (
            "PS256",
            f.rs.sign_with_header(&json!({"alg": "PS256", "kid": "rs-1"}), &good),
            AuthCode::InvalidToken,
            "`PS256` is not accepted",
        ),
        (
            "a lowercase alg",
            f.es.sign_with_header(&json!({"alg": "es256", "kid": "es-1"}), &good),
            AuthCode::InvalidToken,
            "`es256` is not accepted",
        ),
        (
            "no alg",
            f.es.sign_with_header(&json!({"kid": "es-1"}), &good),
            AuthCode::MalformedCredential,
            "no `alg`",
        ),
        (
            "an unknown kid",
            f.es.sign_with_header(&json!({"alg": "ES256", "kid": "nope"}), &good),
            AuthCode::InvalidToken,
            "no key of the JWKS has the token's `kid`",
        ),
        (
            "a kid of an EdDSA key on an ES256 token",
            f.es.sign_with_header(&json!({"alg": "ES256", "kid": "ed-1"}), &good),
            AuthCode::InvalidToken,
            "names an EdDSA key, and the token says ES256",
        ),
        (
            "an RS256 key's kid on an ES256 signature claiming RS256",
            f.es.sign_with_header(&json!({"alg": "RS256", "kid": "rs-1"}), &good),
            AuthCode::InvalidToken,
            "signature does not verify",
        ),
        (
            "crit",
            f.es.sign_with_header(&json!({"alg": "ES256", "kid": "es-1", "crit": ["b64"], "b64": false}), &good),
            AuthCode::InvalidToken,
            "`crit`",
        ),
        (
            "typ of an ID token elsewhere",
            f.es.sign_with_header(&json!({"alg": "ES256", "kid": "es-1", "typ": "dpop+jwt"}), &good),
            AuthCode::InvalidToken,
            "`typ`",
        ),
        (
            "two parts",
            format!("{head}.{payload}"),
            AuthCode::MalformedCredential,
            "2 dot-separated parts",
        ),
        (
            "a JWE",
            "a.b.c.d.e".to_owned(),
            AuthCode::MalformedCredential,
            "encrypted JWT (JWE)",
        ),
        (
            "padding",
            format!("{head}=.{payload}.{signature}"),
            AuthCode::MalformedCredential,
            "character outside base64url",
        ),
        (
            "a header that is not base64url",
            format!("!!.{payload}.{signature}"),
            AuthCode::MalformedCredential,
            "character outside base64url",
        ),
        (
            "a header that is not JSON",
            format!("{}.{payload}.{signature}", b64(b"alg=ES256")),
            AuthCode::MalformedCredential,
            "header is not a JSON object",
        ),
        (
            "a header that is a JSON array",
            format!("{}.{payload}.{signature}", b64(b"[1]")),
            AuthCode::MalformedCredential,
            "header is not a JSON object",
        ),
        (
            "a header with `alg` twice",
            f.es.sign_raw(br#"{"alg":"ES256","alg":"none","kid":"es-1"}"#, good.to_string().as_bytes()),
            AuthCode::MalformedCredential,
            "header is not a JSON object",
        ),
        (
            "claims with `sub` twice",
            f.es.sign_raw(
                f.es.header().to_string().as_bytes(),
                format!(r#"{{"iss":"{ISSUER}","aud":"writ","exp":{},"sub":"user-42","sub":"spiffe://example.org/gateway"}}"#, NOW + 300).as_bytes(),
            ),
            AuthCode::MalformedCredential,
            "claims are not a JSON object",
        ),
        (
            "claims that are not JSON",
            f.es.sign_raw(f.es.header().to_string().as_bytes(), b"sub=user-42"),
            AuthCode::MalformedCredential,
            "claims are not a JSON object",
        ),
        (
            "too long",
            format!("{head}.{}.{signature}", "A".repeat(20_000)),
            AuthCode::MalformedCredential,
            "at most 16384",
        ),
    ];
    for (what, token, code, fragment) in &cases {
        let err = bearer(&f.callers, token).unwrap_err();
        assert_eq!(err.code, *code, "{what}: {err}");
        assert!(err.message.contains(fragment), "{what}: {}", err.message);
        // No refusal repeats the token or a part of it.
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(!err.message.contains(part), "{what} echoes the token");
        }
    }
}

#[test]
fn the_authorization_header_must_be_bearer() {
    let f = fixture();
    let token = f.es.sign(&claims("user-42"));
    for header in [
        format!("Basic {token}"),
        token.clone(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Bearer {token} extra"),
        format!("Bearer\t{token}"),
    ] {
        let err = f
            .callers
            .authenticate(
                &Presented {
                    authorization: Some(&header),
                    ..Presented::default()
                },
                jiff::Timestamp::from_second(NOW).unwrap(),
            )
            .unwrap_err();
        assert_eq!(err.code, AuthCode::MalformedCredential, "{header:?}: {err}");
        assert!(!err.message.contains(&token[..20]));
    }
}

#[test]
fn kid_selection_without_a_kid() {
    // One key per algorithm: a token without `kid` finds it; two keys for one algorithm
    // need a `kid`.
    let one = JwtKey::ed25519("x").without_kid();
    let a = JwtKey::es256("a");
    let b = JwtKey::es256("b");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&one, &a, &b])).unwrap();
    let callers = Callers::parse_in(
        "callers.toml",
        &format!(
            "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"writ\"\njwks = \"jwks.json\"\n[unlisted]\nkind = \"workload\"\n"
        ),
        dir.path(),
    )
    .unwrap();
    assert!(bearer(&callers, &one.sign(&claims("svc"))).is_ok());
    let no_kid = json!({"alg": "ES256"});
    let err = bearer(&callers, &a.sign_with_header(&no_kid, &claims("svc"))).unwrap_err();
    assert_eq!(err.code, AuthCode::InvalidToken);
    assert!(
        err.message
            .contains("several ES256 keys; a `kid` is needed"),
        "{err}"
    );
    assert!(bearer(&callers, &b.sign(&claims("svc"))).is_ok());
    let err = bearer(
        &callers,
        &JwtKey::rs256("r").without_kid().sign(&claims("svc")),
    )
    .unwrap_err();
    assert!(err.message.contains("no RS256 key"), "{err}");
}

#[test]
fn tokens_need_a_jwt_section() {
    let callers = Callers::parse("callers.toml", "").unwrap();
    let token = JwtKey::es256("k").sign(&claims("user-42"));
    let err = bearer(&callers, &token).unwrap_err();
    assert_eq!(err.code, AuthCode::MethodNotEnabled);
    assert!(!callers.accepts_tokens());
}

#[test]
fn attested_follows_the_jwt_section() {
    let key = JwtKey::ed25519("k");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&key])).unwrap();
    let callers = Callers::parse_in(
        "callers.toml",
        &format!("[jwt]\nissuer = \"{ISSUER}\"\naudience = \"writ\"\njwks = \"jwks.json\"\nattested = false\n[unlisted]\nkind = \"human\"\n"),
        dir.path(),
    )
    .unwrap();
    let caller = bearer(&callers, &key.sign(&claims("alice"))).unwrap();
    assert!(!caller.attested);
    assert_eq!(caller.principal_kind.as_deref(), Some("human"));
}

fn bearer_at(
    callers: &Callers,
    token: &str,
    at: i64,
) -> Result<writ_callers::Caller, writ_callers::AuthError> {
    let header = format!("Bearer {token}");
    callers.authenticate(
        &Presented {
            authorization: Some(&header),
            ..Presented::default()
        },
        jiff::Timestamp::from_second(at).unwrap(),
    )
}

#[test]
fn a_verified_token_is_remembered_only_while_it_is_good() {
    let f = fixture();
    assert_eq!(f.callers.cached_tokens(), 0);
    let token = f.ed.sign(&claims("user-42"));
    let first = bearer_at(&f.callers, &token, NOW).unwrap();
    assert_eq!(f.callers.cached_tokens(), 1);
    let again = bearer_at(&f.callers, &token, NOW + 1).unwrap();
    assert_eq!(first, again);
    assert_eq!(f.callers.cached_tokens(), 1);
    // exp is NOW + 300 and the leeway 30 s: good until NOW + 329, expired at NOW + 330,
    // remembered or not.
    assert!(bearer_at(&f.callers, &token, NOW + 329).is_ok());
    let err = bearer_at(&f.callers, &token, NOW + 330).unwrap_err();
    assert_eq!(err.code, AuthCode::TokenExpired);
    // nbf and iat are NOW - 10: not good before NOW - 40, remembered or not.
    let err = bearer_at(&f.callers, &token, NOW - 41).unwrap_err();
    assert_eq!(err.code, AuthCode::TokenNotYetValid);
    // A clone shares what is remembered.
    assert_eq!(f.callers.clone().cached_tokens(), 1);

    // Refusals are not remembered.
    let mut late = claims("user-42");
    late["nbf"] = json!(NOW + 100);
    let token = f.es.sign(&late);
    assert_eq!(
        bearer_at(&f.callers, &token, NOW).unwrap_err().code,
        AuthCode::TokenNotYetValid
    );
    assert_eq!(f.callers.cached_tokens(), 1);
    let unknown = f.es.sign(&claims("user-43"));
    assert_eq!(
        bearer_at(&f.callers, &unknown, NOW).unwrap_err().code,
        AuthCode::UnknownCaller
    );
    assert_eq!(f.callers.cached_tokens(), 1);
    // Good later: accepted then, and remembered from then on.
    assert!(bearer_at(&f.callers, &token, NOW + 100).is_ok());
    assert_eq!(f.callers.cached_tokens(), 2);
    // The same token with one signature character changed is another token: verified,
    // and refused.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(
        bearer_at(&f.callers, &tampered, NOW + 100)
            .unwrap_err()
            .code,
        AuthCode::InvalidToken
    );
}
