//! The approval flow's costs with the embedded store: opening a challenge (decide + durable
//! redb commit + audit record), redeeming a grant (re-decide, verify the PASETO grant and
//! the proof of possession, consume the `jti` durably, audit), one more use of an
//! elevation grant (the same checks, the use counted durably), and one signed audit append.
//!
//! `cargo bench -p writ-approvals --bench approvals`

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

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use serde_json::json;
use writ_approvals::audit::{AuditLog, Entry};
use writ_approvals::{
    answer_message, pop_message, Answer, Approvals, Config, Evidence, KeyPair, OpenLimits,
};
use writ_reload::{PolicyStore, StoreConfig};

const POLICY: &str = r#"
schema { request.params.amount: number  request.params.payee: string }
rule "transfers need finance" {
  when action == "payments.transfer"
  approve { approvers 1 of group "finance" bind principal.id, action, resource.id, session.id, request.params ttl 5m }
  obligations notify("finance-ops")
}
rule "support sessions" {
  when action == "support.logs.read"
  approve for 12h { approvers 1 of group "finance" bind principal.id, resource.id ttl 5m }
}
"#;

struct Setup {
    dir: tempfile::TempDir,
    approvals: Approvals,
    approver: KeyPair,
    workload: KeyPair,
}

fn unlimited() -> Config {
    Config {
        limits: OpenLimits {
            per_principal: u32::MAX,
            per_action: u32::MAX,
            ..OpenLimits::default()
        },
        ..Config::default()
    }
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let approver = KeyPair::generate().unwrap();
    let policies = writ_testkit::sets::policy_dir(
        dir.path(),
        "p.writ",
        POLICY,
        &[("dana", "finance", &approver.public_b64())],
    );
    let store = Arc::new(PolicyStore::open(&policies, StoreConfig::default()).unwrap());
    let approvals =
        Approvals::with_state_dir(store, &dir.path().join("state"), unlimited()).unwrap();
    Setup {
        dir,
        approvals,
        approver,
        workload: KeyPair::generate().unwrap(),
    }
}

fn request(s: &Setup, n: u64) -> String {
    request_with(&s.workload, n)
}

fn request_with(workload: &KeyPair, n: u64) -> String {
    json!({
        "principal": {"id": format!("user-{}", n % 1000), "kind": "human", "key": workload.public_jwk()},
        "action": "payments.transfer", "resource": {"id": "acct-1"}, "session": {"id": "s-1"},
        "request": {"params": {"amount": n, "payee": "ACME"}}
    })
    .to_string()
}

fn grant(s: &Setup, req: &str) -> String {
    grant_with(&s.approvals, &s.approver, &s.workload, req)
}

/// The workload's proof of possession for `token`, made now.
fn pop(workload: &KeyPair, token: &str) -> String {
    let digest = writ_approvals::grant_digest(token).unwrap();
    let iat = jiff::Timestamp::now().as_second();
    writ_approvals::proof_text(iat, &workload.sign_b64(&pop_message(token, &digest, iat)))
}

fn grant_with(approvals: &Approvals, approver: &KeyPair, workload: &KeyPair, req: &str) -> String {
    let c = approvals.decide(req).unwrap().challenge.unwrap();
    let signature = approver.sign_b64(&answer_message(&c.id, &c.digest, true));
    let a = approvals
        .answer(&Answer {
            challenge: c.id.clone(),
            approver: "dana".into(),
            approve: true,
            code: None,
            evidence: Evidence::Signature { signature },
        })
        .unwrap();
    assert_eq!(a.status, "accepted");
    let iat = jiff::Timestamp::now().as_second();
    let proof = writ_approvals::proof_text(
        iat,
        &workload.sign_b64(&writ_approvals::collect_message(&c.id, iat)),
    );
    let collect = writ_approvals::Collect::Key {
        jwk: workload.public_jwk(),
        proof,
    };
    approvals.collect(&c.id, &collect).unwrap().grant.unwrap()
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let mut n = 0u64;
    let mut g = c.benchmark_group("approvals");
    g.sample_size(30);
    g.bench_function("challenge_open", |b| {
        b.iter(|| {
            n += 1;
            let d = s.approvals.decide(&request(&s, n)).unwrap();
            assert!(d.challenge.is_some());
        })
    });
    g.bench_function("redeem", |b| {
        b.iter_batched(
            || {
                n += 1;
                let req = request(&s, n);
                let token = grant(&s, &req);
                let proof = pop(&s.workload, &token);
                (req, token, proof)
            },
            |(req, token, proof)| {
                let r = s.approvals.redeem(&req, &token, Some(&proof)).unwrap();
                assert!(r.refusal.is_none());
            },
            BatchSize::SmallInput,
        )
    });
    // One more use of an elevation grant (a bearer one: a key-bound elevation needs a
    // proof made in a second of its own for each use).
    let support = json!({
        "principal": {"id": "vic", "kind": "human"},
        "action": "support.logs.read", "resource": {"id": "tenant-1"}
    })
    .to_string();
    let decided = s.approvals.decide(&support).unwrap();
    let c = decided.challenge.unwrap();
    let signature = s.approver.sign_b64(&answer_message(&c.id, &c.digest, true));
    s.approvals
        .answer(&Answer {
            challenge: c.id.clone(),
            approver: "dana".into(),
            approve: true,
            code: None,
            evidence: Evidence::Signature { signature },
        })
        .unwrap();
    let elevation = s
        .approvals
        .collect(
            &c.id,
            &writ_approvals::Collect::Secret(decided.collection_secret.unwrap()),
        )
        .unwrap()
        .grant
        .unwrap();
    g.bench_function("redeem_elevation_use", |b| {
        b.iter(|| {
            let r = s.approvals.redeem(&support, &elevation, None).unwrap();
            assert!(r.refusal.is_none());
        })
    });
    // The same redemption against Redis on loopback (the store replicas share).
    let redis = writ_testkit::Redis::start();
    let store = Arc::new(
        writ_approvals::RedisStore::open(&redis.url(), "writ:", std::time::Duration::from_secs(2))
            .unwrap(),
    );
    let policies =
        Arc::new(PolicyStore::open(s.dir.path().join("policies"), StoreConfig::default()).unwrap());
    let key =
        writ_approvals::GrantKey::load_or_create(&s.dir.path().join("state/grant.key")).unwrap();
    let on_redis = Approvals::new(policies, store, key, None, unlimited()).unwrap();
    g.bench_function("redeem_redis", |b| {
        b.iter_batched(
            || {
                n += 1;
                let req = request_with(&s.workload, n);
                let token = grant_with(&on_redis, &s.approver, &s.workload, &req);
                let proof = pop(&s.workload, &token);
                (req, token, proof)
            },
            |(req, token, proof)| {
                let r = on_redis.redeem(&req, &token, Some(&proof)).unwrap();
                assert!(r.refusal.is_none());
            },
            BatchSize::SmallInput,
        )
    });
    drop(on_redis);
    drop(redis);
    let dir = tempfile::tempdir().unwrap();
    // As the service writes it (every record signed by the audit key), and unsigned (the
    // chain alone) to show what the signature costs.
    let signed = AuditLog::open(&dir.path().join("signed.jsonl"), false)
        .unwrap()
        .signed(writ_approvals::KeyPair::generate().unwrap());
    let unsigned = AuditLog::open(&dir.path().join("unsigned.jsonl"), false).unwrap();
    for (name, log) in [
        ("audit_append", &signed),
        ("audit_append_unsigned", &unsigned),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                log.append(
                    Entry::new("decision")
                        .with("decision_id", "d_KD5gYXvxVq83TkbZt5rbvg")
                        .with("policy_version", "a20f1708cae83a348d3e4059")
                        .with("decision", "allow")
                        .with("principal", "alice@example.com")
                        .with("action", "db.orders.write")
                        .with("resource", "pg-prod-eu1/orders")
                        .with("digest", serde_json::Value::Null)
                        .with("rules", json!(["engineers read prod at low risk"]))
                        .with("risk", 10),
                    "2026-11-27T10:15:00Z",
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
