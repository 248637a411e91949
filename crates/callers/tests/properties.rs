//! Property tests: no input panics a parser of outside bytes, and what the SPIFFE ID
//! parser accepts reads back as itself; a valid token with any one byte changed is refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::sync::OnceLock;

use proptest::prelude::*;
use writ_callers::{Callers, Jwks, Presented, SpiffeId};
use writ_testkit::jwt::{jwks, JwtKey};

const NOW: i64 = 1_800_000_000;

struct World {
    _dir: tempfile::TempDir,
    callers: Callers,
    key: JwtKey,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let key = JwtKey::ed25519("ed");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jwks.json"), jwks(&[&key, &JwtKey::es256("es")]))
            .unwrap();
        let callers = Callers::parse_in(
            "callers.toml",
            "trust_domains = [\"example.org\"]\n[jwt]\nissuer = \"i\"\naudience = \"writ\"\njwks = \"jwks.json\"\n[unlisted]\nkind = \"workload\"\n",
            dir.path(),
        )
        .unwrap();
        World {
            _dir: dir,
            callers,
            key,
        }
    })
}

fn at() -> jiff::Timestamp {
    jiff::Timestamp::from_second(NOW).unwrap()
}

fn spiffe_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["spiffe://", "SPIFFE://", "spiffe:/", "http://", ""]),
        "[a-zA-Z0-9.:@%_-]{0,12}",
        prop::collection::vec("[a-zA-Z0-9.%?#_ -]{0,6}", 0..4),
        prop::sample::select(vec!["", "/", "?q", "#f"]),
    )
        .prop_map(|(scheme, domain, segments, tail)| {
            let mut s = format!("{scheme}{domain}");
            for seg in segments {
                s.push('/');
                s.push_str(&seg);
            }
            s.push_str(tail);
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn spiffe_ids_read_back(text in spiffe_like()) {
        if let Ok(id) = SpiffeId::parse(&text) {
            prop_assert_eq!(id.as_str(), text.as_str());
            prop_assert_eq!(format!("spiffe://{}{}", id.trust_domain(), id.path()), text.clone());
            prop_assert!(!id.trust_domain().is_empty());
            let rest = &text["spiffe://".len()..];
            prop_assert!(!rest.contains("//"));
            prop_assert!(!text.ends_with('/'));
            prop_assert!(!text.contains("/../") && !text.ends_with("/.."));
            prop_assert!(!rest.contains([':', '?', '#', '%', '@', ' ']));
        }
    }

    #[test]
    fn any_text_is_answered(text in "\\PC{0,200}") {
        let _ = SpiffeId::parse(&text);
        let _ = Jwks::parse("jwks.json", &text);
        let _ = Callers::parse("callers.toml", &text);
        let w = world();
        for presented in [
            Presented { authorization: Some(&text), ..Presented::default() },
            Presented { api_key: Some(&text), ..Presented::default() },
            Presented { peer_certificate: Some(text.as_bytes()), ..Presented::default() },
        ] {
            prop_assert!(w.callers.authenticate(&presented, at()).is_err());
        }
    }

    #[test]
    fn any_signed_header_and_claims_are_answered(
        header in "\\PC{0,80}",
        claims in "\\PC{0,120}",
    ) {
        let w = world();
        let token = w.key.sign_raw(header.as_bytes(), claims.as_bytes());
        let value = format!("Bearer {token}");
        let _ = w.callers.authenticate(
            &Presented { authorization: Some(&value), ..Presented::default() },
            at(),
        );
    }

    #[test]
    fn one_changed_character_is_refused(position in any::<prop::sample::Index>(), with in "[A-Za-z0-9_.-]") {
        let w = world();
        let claims = serde_json::json!({"iss": "i", "sub": "svc", "aud": "writ", "exp": NOW + 60});
        let token = w.key.sign(&claims);
        let good = format!("Bearer {token}");
        let accepted = w.callers.authenticate(
            &Presented { authorization: Some(&good), ..Presented::default() }, at());
        prop_assert!(accepted.is_ok());
        let i = position.index(token.len());
        let mut changed = token.clone().into_bytes();
        changed[i] = with.as_bytes()[0];
        let changed = String::from_utf8(changed).unwrap();
        // The last character of a base64url part may carry unused bits: a change there can
        // decode to the same bytes, which is the same token.
        let same_bytes = {
            let parts: Vec<&str> = changed.split('.').collect();
            let orig: Vec<&str> = token.split('.').collect();
            parts.len() == 3 && parts.iter().zip(&orig).all(|(a, b)| {
                use base64::Engine as _;
                let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                matches!((e.decode(a), e.decode(b)), (Ok(x), Ok(y)) if x == y)
            })
        };
        if changed != token && !same_bytes {
            let value = format!("Bearer {changed}");
            let refused = w.callers.authenticate(
                &Presented { authorization: Some(&value), ..Presented::default() }, at());
            prop_assert!(refused.is_err(), "accepted with position {} changed", i);
        }
    }
}
