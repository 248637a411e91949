//! The callers of `writ serve` (writ-callers): callers.toml text, JWKS documents, bearer
//! JWTs and client certificates (DER), each through the library's public entries and then
//! through `Callers::authenticate` as the server calls it.

#![allow(
    clippy::expect_used,
    reason = "a fixture that cannot be built is a harness bug; failing loudly is the point"
)]

use std::sync::OnceLock;

use writ_callers::{Callers, Jwks, Presented};
use writ_testkit::jwt::{jwks, JwtKey};

use crate::fixture;

/// The issuer and audience of the fixture's `[jwt]`.
pub const ISSUER: &str = "https://issuer.example.org";

/// The fixture's token keys: Ed25519 `ed` (seed 21), P-256 `es` (seed 22), the fixed RSA
/// test key `rs`.
fn keys() -> &'static [JwtKey; 3] {
    static K: OnceLock<[JwtKey; 3]> = OnceLock::new();
    K.get_or_init(|| {
        [
            JwtKey::ed25519_from_seed("ed", fixture::seed(21)),
            JwtKey::es256_from_seed("es", fixture::seed(22)),
            JwtKey::rs256("rs"),
        ]
    })
}

/// A callers.toml that enables every method: the SPIFFE part the callers' tests use
/// (trust domain `example.org`, exact and prefixed identities), `[jwt]` with the fixture's
/// keys, one API key (`writ_fuzz`) and unlisted identities.
pub fn fixture_callers_toml() -> String {
    format!(
        "{}{}",
        writ_testkit::sets::SPIFFE_CALLERS,
        r#"
[jwt]
issuer = "https://issuer.example.org"
audience = "writ"
jwks = "jwks.json"

[[api_key]]
name = "batch"
hash = "sha256:aa0d02c900b17fb3a51be9552da1879b89c117657c57b3fac3e3559b3d13cfdc"
role = "actor"
kind = "workload"

[unlisted]
kind = "workload"
"#
    )
}

/// The fixture's callers, read once from a scratch directory holding its JWKS.
fn callers() -> &'static Callers {
    static C: OnceLock<Callers> = OnceLock::new();
    C.get_or_init(|| {
        let dir = fixture::scratch("callers");
        let [ed, es, rs] = keys();
        std::fs::write(dir.join("jwks.json"), jwks(&[ed, es, rs]))
            .expect("the fixture's JWKS can be written");
        Callers::parse_in("callers.toml", &fixture_callers_toml(), &dir)
            .expect("the fixture's callers.toml parses")
    })
}

fn authenticate(presented: &Presented<'_>) {
    let _ = callers().authenticate(presented, fixture::now());
}

/// callers.toml text through `Callers::parse` (a relative `jwks` is looked for in a
/// scratch directory holding the fixture's JWKS), then each credential kind through what
/// it parsed.
pub fn callers_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Make sure the fixture (and its JWKS file) exists, then parse beside it.
    let _ = callers();
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = fixture::scratch("callers-toml");
        let [ed, es, rs] = keys();
        std::fs::write(dir.join("jwks.json"), jwks(&[ed, es, rs]))
            .expect("the fixture's JWKS can be written");
        dir
    });
    let Ok(parsed) = Callers::parse_in("callers.toml", text, dir) else {
        return;
    };
    let token = keys()[0].sign(&claims("spiffe://example.org/payments"));
    let header = format!("Bearer {token}");
    for presented in [
        Presented::default(),
        Presented {
            api_key: Some("writ_fuzz"),
            ..Presented::default()
        },
        Presented {
            authorization: Some(&header),
            ..Presented::default()
        },
    ] {
        let _ = parsed.authenticate(&presented, fixture::now());
    }
    let _ = (
        parsed.accepts_certificates(),
        parsed.accepts_tokens(),
        parsed.accepts_api_keys(),
    );
}

/// Claims the fixture accepts for `sub` at the fixture's clock.
pub fn claims(sub: &str) -> serde_json::Value {
    let now = fixture::now().as_second();
    serde_json::json!({
        "iss": ISSUER, "sub": sub, "aud": "writ",
        "exp": now + 300, "nbf": now - 10, "iat": now - 10,
    })
}

/// A JWKS document through `Jwks::parse`.
pub fn jwks_doc(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = Jwks::parse("jwks.json", text) {
        let _ = (set.len(), set.skipped(), set.is_empty());
    }
}

/// A bearer token through `Callers::authenticate`. Input starting with `{` is
/// `HEADER\nCLAIMS` (JSON, or any bytes), signed with the fixture's Ed25519 key first, so
/// the header and claims checks after the signature are reached (a fuzzer cannot forge a
/// signature); anything else is the `Authorization` header's value itself, and also the
/// token after `Bearer `.
pub fn jwt(data: &[u8]) {
    if data.first() == Some(&b'{') {
        let (header, claims) = match data.iter().position(|b| *b == b'\n') {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &b""[..]),
        };
        let token = keys()[0].sign_raw(header, claims);
        let value = format!("Bearer {token}");
        authenticate(&Presented {
            authorization: Some(&value),
            ..Presented::default()
        });
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    authenticate(&Presented {
        authorization: Some(text),
        ..Presented::default()
    });
    let value = format!("Bearer {text}");
    authenticate(&Presented {
        authorization: Some(&value),
        ..Presented::default()
    });
    authenticate(&Presented {
        api_key: Some(text),
        ..Presented::default()
    });
}

/// A client certificate (DER) through `peer_certificate` and `Callers::authenticate`.
pub fn client_cert(data: &[u8]) {
    if let Ok(cert) = writ_callers::peer_certificate(data) {
        let _ = (
            cert.spiffe_id.trust_domain(),
            cert.spiffe_id.path(),
            writ_callers::SpiffeId::parse(cert.spiffe_id.as_str()),
        );
    }
    authenticate(&Presented {
        peer_certificate: Some(data),
        ..Presented::default()
    });
}

#[cfg(test)]
mod tests {
    //! The seeds start where they should: a signed seed and a client certificate seed are
    //! accepted by the fixture, so the fuzzer mutates from inputs that pass every check.

    use super::*;

    fn seed(path: &str) -> Vec<u8> {
        let full = format!("{}/../../fuzz/corpus/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).expect("the seed is committed")
    }

    #[test]
    fn the_signed_seed_is_accepted() {
        let data = seed("jwt/signed-good.txt");
        let text = String::from_utf8(data).expect("text");
        let (header, claims) = text.split_once('\n').expect("two lines");
        let token = keys()[0].sign_raw(header.as_bytes(), claims.as_bytes());
        let value = format!("Bearer {token}");
        let caller = callers()
            .authenticate(
                &Presented {
                    authorization: Some(&value),
                    ..Presented::default()
                },
                fixture::now(),
            )
            .expect("the seed authenticates");
        assert_eq!(caller.id, "spiffe://example.org/payments");
    }

    #[test]
    fn the_certificate_seeds_are_accepted_or_refused_as_named() {
        let ok = |name: &str| {
            callers().authenticate(
                &Presented {
                    peer_certificate: Some(&seed(&format!("client_cert/{name}"))),
                    ..Presented::default()
                },
                fixture::now(),
            )
        };
        assert_eq!(
            ok("svid-payments.der").expect("accepted").id,
            "spiffe://example.org/payments"
        );
        assert!(ok("svid-gateway.der").is_ok());
        assert!(ok("svid-agent.der").is_ok());
        for refused in [
            "svid-two-uris.der",
            "svid-no-san.der",
            "svid-ca.der",
            "svid-query.der",
        ] {
            assert!(ok(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_api_key_of_the_fixture_is_known() {
        let caller = callers()
            .authenticate(
                &Presented {
                    api_key: Some("writ_fuzz"),
                    ..Presented::default()
                },
                fixture::now(),
            )
            .expect("known");
        assert_eq!(caller.id, "batch");
    }
}
