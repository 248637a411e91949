//! Two servers sharing one real redis-server and one grant key, through HTTP: a challenge
//! opened through A is answered through B and collected and redeemed through A; sixteen
//! concurrent redemptions of one grant spread over both give exactly one allow; with Redis
//! stopped, redemption is refused, never allowed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::os::unix::fs::DirBuilderExt as _;

use common::post;
use serde_json::{json, Value};
use writ_approvals::{answer_message, KeyPair};
use writ_server::{Server, StateConfig};

const POLICY: &str = r#"
schema { request.params.amount: number }
rule "transfers need finance" {
  when action == "payments.transfer"
  approve { approvers 1 of group "finance"  method signature  bind principal.id, action, request.params.amount  ttl 5m }
}
"#;

fn private_dir(path: &std::path::Path) {
    std::fs::DirBuilder::new().mode(0o700).create(path).unwrap();
}

struct Pair {
    _dir: tempfile::TempDir,
    a: Server,
    b: Server,
    dana: KeyPair,
}

async fn pair(url: &str) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("payments.writ"), POLICY).unwrap();
    let dana = KeyPair::generate().unwrap();
    std::fs::write(
        policies.join("approvers.toml"),
        format!(
            "[[approver]]\nid = \"dana\"\ngroups = [\"finance\"]\ned25519 = [\"{}\"]\n",
            dana.public_b64()
        ),
    )
    .unwrap();
    let (sa, sb) = (dir.path().join("state-a"), dir.path().join("state-b"));
    let a = common::start(&policies, |c| {
        c.state = StateConfig::Redis {
            dir: sa.clone(),
            url: url.to_string(),
        };
    })
    .await;
    // B holds the same grant key, as every replica must.
    private_dir(&sb);
    std::fs::copy(sa.join("grant.key"), sb.join("grant.key")).unwrap();
    let b = common::start(&policies, |c| {
        c.state = StateConfig::Redis {
            dir: sb.clone(),
            url: url.to_string(),
        };
    })
    .await;
    Pair {
        _dir: dir,
        a,
        b,
        dana,
    }
}

fn request(amount: u32) -> Value {
    json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.transfer",
           "request": {"params": {"amount": amount}}})
}

/// Opens through A, answers through B, collects through A: the grant.
async fn granted(p: &Pair, req: &Value) -> String {
    let d = post(p.a.addr, "/v1/decide", req).await.json();
    assert_eq!(d["decision"], "approve", "{d}");
    let id = d["challenge"]["id"].as_str().unwrap();
    let digest = d["challenge"]["digest"].as_str().unwrap();
    let secret = d["collection_secret"].as_str().unwrap();
    let signature = p.dana.sign_b64(&answer_message(id, digest, true));
    let r = post(
        p.b.addr,
        &format!("/v1/challenges/{id}/answers"),
        &json!({"approver": "dana", "approve": true, "evidence": {"method": "signature", "signature": signature}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["challenge"]["state"], "granted");
    let c = post(
        p.a.addr,
        &format!("/v1/challenges/{id}/grant"),
        &json!({"secret": secret}),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.text());
    c.json()["grant"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_replicas_a_grant_is_consumed_exactly_once() {
    let redis = tokio::task::spawn_blocking(writ_testkit::Redis::start)
        .await
        .unwrap();
    let p = pair(&redis.url()).await;
    let req = request(1200);
    let grant = granted(&p, &req).await;
    // Sixteen concurrent redemptions, alternating replicas: exactly one allow.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let addr = if i % 2 == 0 { p.a.addr } else { p.b.addr };
        let body = json!({"request": req, "grant": grant});
        tasks.push(tokio::spawn(async move {
            post(addr, "/v1/redeem", &body).await
        }));
    }
    let mut allowed = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        if v["decision"] == "allow" {
            allowed += 1;
        } else {
            assert_eq!(v["refusal"]["code"], "replayed", "{v}");
        }
    }
    assert_eq!(allowed, 1);
    // A second grant; Redis goes away; redemption is refused, never allowed.
    let req2 = request(40);
    let grant2 = granted(&p, &req2).await;
    drop(redis);
    for addr in [p.a.addr, p.b.addr] {
        let r = post(
            addr,
            "/v1/redeem",
            &json!({"request": req2, "grant": grant2}),
        )
        .await;
        let v = r.json();
        match r.status {
            503 => assert_eq!(v["error"]["code"], "store_unavailable", "{v}"),
            200 => {
                assert_eq!(v["decision"], "deny", "{v}");
                assert_eq!(v["refusal"]["code"], "store_unavailable", "{v}");
            }
            other => panic!("{other}: {v}"),
        }
    }
    p.a.shutdown().await;
    p.b.shutdown().await;
}
