//! What authenticating one request costs, per method: a client certificate (parse the DER,
//! the SAN, the SPIFFE ID, the thumbprint), a bearer JWT per algorithm the first time it
//! is seen (ES256, EdDSA, RS256: decode, verify, claims) and once remembered, an API key (SHA-256 and a constant-time pass over 100
//! stored hashes), and a refused token (`alg` `none`: no signature work).
//!
//! `cargo bench -p writ-callers --bench authenticate`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a bench fails loudly"
)]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use serde_json::json;
use writ_callers::{hash_api_key, Callers, Presented};
use writ_testkit::jwt::{jwks, unsigned_token, JwtKey};
use writ_testkit::pki::TestCa;

const NOW: i64 = 1_800_000_000;

fn bench(c: &mut Criterion) {
    let es = JwtKey::es256("es");
    let ed = JwtKey::ed25519("ed");
    let rs = JwtKey::rs256("rs");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&es, &ed, &rs])).unwrap();
    let mut toml = String::from(
        "trust_domains = [\"example.org\"]\n[jwt]\nissuer = \"https://i\"\naudience = \"writ\"\njwks = \"jwks.json\"\n\
         [[actor]]\nid = \"spiffe://example.org/payments\"\nkind = \"workload\"\n",
    );
    for i in 0..100 {
        toml.push_str(&format!(
            "[[api_key]]\nname = \"key-{i}\"\nhash = \"{}\"\nrole = \"actor\"\nkind = \"workload\"\n",
            hash_api_key(&format!("writ_key_{i}"))
        ));
    }
    let callers = Callers::parse_in("callers.toml", &toml, dir.path()).unwrap();
    let now = jiff::Timestamp::from_second(NOW).unwrap();
    let claims = json!({"iss": "https://i", "sub": "spiffe://example.org/payments", "aud": "writ", "exp": NOW + 300, "iat": NOW});

    let ca = TestCa::new("bench CA");
    let cert = ca.client("spiffe://example.org/payments").cert_der;
    let mut g = c.benchmark_group("authenticate");
    g.bench_function("mtls", |b| {
        let p = Presented {
            peer_certificate: Some(&cert),
            ..Presented::default()
        };
        b.iter(|| callers.authenticate(&p, now).unwrap())
    });
    for (name, key) in [("jwt_es256", &es), ("jwt_eddsa", &ed), ("jwt_rs256", &rs)] {
        let header = format!("Bearer {}", key.sign(&claims));
        // A token seen for the first time: a fresh `Callers` (parsed outside the timing)
        // has remembered none.
        g.bench_function(format!("{name}_first_time"), |b| {
            let p = Presented {
                authorization: Some(&header),
                ..Presented::default()
            };
            b.iter_batched(
                || Callers::parse_in("callers.toml", &toml, dir.path()).unwrap(),
                |fresh| fresh.authenticate(&p, now).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    let header = format!("Bearer {}", es.sign(&claims));
    g.bench_function("jwt_seen_before", |b| {
        let p = Presented {
            authorization: Some(&header),
            ..Presented::default()
        };
        b.iter(|| callers.authenticate(&p, now).unwrap())
    });
    g.bench_function("api_key_of_100", |b| {
        let p = Presented {
            api_key: Some("writ_key_99"),
            ..Presented::default()
        };
        b.iter(|| callers.authenticate(&p, now).unwrap())
    });
    let none = format!("Bearer {}", unsigned_token(&claims));
    g.bench_function("jwt_alg_none_refused", |b| {
        let p = Presented {
            authorization: Some(&none),
            ..Presented::default()
        };
        b.iter(|| callers.authenticate(&p, now).unwrap_err())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
