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

use common::post;
use serde_json::{json, Value};
use writ_approvals::KeyPair;
use writ_server::Server;

struct Pair {
    _dir: tempfile::TempDir,
    a: Server,
    b: Server,
    dana: KeyPair,
}

async fn pair(url: &str) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let (policies, [dana]) = common::policy_dir(
        dir.path(),
        "payments.writ",
        writ_testkit::sets::FINANCE_TRANSFERS,
        [("dana", "finance")],
    );
    let (a, b) = common::replicas(dir.path(), &policies, url).await;
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
    let r = post(
        p.b.addr,
        &format!("/v1/challenges/{id}/answers"),
        &common::signed_answer("dana", &p.dana, id, digest, true),
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
