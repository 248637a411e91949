//! Elevation over HTTP, through real sockets: a 30-minute support elevation approved once
//! is redeemed three times through `/v1/redeem` (three allows, numbered uses), refused for
//! another ticket; `/v1/challenges/{id}/revoke` refuses whoever may not revoke (403), says
//! 404 and 409 where there is nothing to revoke and 400 for a body that proves nobody,
//! revokes for the requester (200) and again (200, `was: revoked`); the next redemption is
//! refused. Over one real redis-server, a revocation through server A is seen at once by
//! server B.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::post;
use serde_json::{json, Value};
use writ_approvals::{proof_text, revoke_message, KeyPair};
use writ_server::StateConfig;

struct Keys {
    cara: KeyPair,
    erin: KeyPair,
}

/// The policy directory: the support rule; cara approves for customer-admins, erin for
/// ops.
fn policies(dir: &Path) -> (std::path::PathBuf, Keys) {
    let (policies, [cara, erin]) = common::policy_dir(
        dir,
        "support.writ",
        &writ_testkit::sets::support_elevation("customer-admins"),
        [("cara", "customer-admins"), ("erin", "ops")],
    );
    (policies, Keys { cara, erin })
}

fn session(action: &str, ticket: &str) -> Value {
    json!({"principal": {"id": "vic", "kind": "human"}, "action": action,
           "resource": {"id": "tenant-acme"}, "session": {"id": "sess-1"},
           "request": {"params": {"ticket": ticket}}})
}

/// Decides through `a`, approves by cara through `b`, collects through `a`: the
/// challenge id, the collection secret and the grant.
async fn approved(a: SocketAddr, b: SocketAddr, keys: &Keys) -> (String, String, String) {
    let d = post(a, "/v1/decide", &session("support.logs.read", "SUP-1"))
        .await
        .json();
    assert_eq!(d["decision"], "approve", "{d}");
    assert_eq!(d["challenge"]["elevation_s"], 1800);
    let id = d["challenge"]["id"].as_str().unwrap().to_string();
    let digest = d["challenge"]["digest"].as_str().unwrap();
    let secret = d["collection_secret"].as_str().unwrap().to_string();
    let r = post(
        b,
        &format!("/v1/challenges/{id}/answers"),
        &common::signed_answer("cara", &keys.cara, &id, digest, true),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = post(
        a,
        &format!("/v1/challenges/{id}/grant"),
        &json!({"secret": secret}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let grant = r.json()["grant"].as_str().unwrap().to_string();
    (id, secret, grant)
}

async fn redeem(addr: SocketAddr, request: Value, grant: &str) -> Value {
    let r = post(
        addr,
        "/v1/redeem",
        &json!({"request": request, "grant": grant}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elevation_is_redeemed_again_and_revoked_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (policies, keys) = policies(dir.path());
    let state = dir.path().join("state");
    let server = common::start(&policies, |c| c.state = StateConfig::Dir(state)).await;
    let addr = server.addr;
    let (id, secret, grant) = approved(addr, addr, &keys).await;
    for (n, action) in [
        (1, "support.logs.read"),
        (2, "support.session.open"),
        (3, "support.logs.read"),
    ] {
        let r = redeem(addr, session(action, "SUP-1"), &grant).await;
        assert_eq!(r["decision"], "allow", "{r}");
        assert_eq!(r["grant"]["elevation"]["use"], n);
    }
    let r = redeem(addr, session("support.logs.read", "SUP-2"), &grant).await;
    assert_eq!(r["refusal"]["code"], "digest_mismatch");
    // An AuthZEN retry carrying the grant is a use too, and says which.
    let r = post(
        addr,
        "/access/v1/evaluation",
        &json!({"subject": {"type": "user", "id": "vic"},
                "action": {"name": "support.logs.read", "properties": {"ticket": "SUP-1"}},
                "resource": {"type": "tenant", "id": "tenant-acme"},
                "context": {"session": {"id": "sess-1"}, "approval": {"grant": grant}}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["decision"], true, "{v}");
    assert_eq!(v["context"]["grant"]["elevation"]["use"], 4, "{v}");
    assert_eq!(
        v["context"]["grant"]["elevation"]["elevation_s"], 1800,
        "{v}"
    );

    let revoke = format!("/v1/challenges/{id}/revoke");
    // erin approves for ops, not for this challenge: 403.
    let iat = now();
    let r = post(
        addr,
        &revoke,
        &json!({"approver": "erin", "proof": proof_text(iat, &keys.erin.sign_b64(&revoke_message(&id, iat)))}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["refusal"]["code"], "not_allowed");
    // A secret that is not the requester's: 403.
    let r = post(addr, &revoke, &json!({"secret": "cs_nope"})).await;
    assert_eq!(r.status, 403);
    // A body that proves nobody, or an unknown field: 400 saying what is expected.
    for body in [json!({}), json!({"secret": secret, "operator": "me"})] {
        let r = post(addr, &revoke, &body).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("writ-revoke-v1"), "{}", r.text());
    }
    // No such challenge: 404; a challenge without a grant: 409.
    let r = post(
        addr,
        "/v1/challenges/ch_nope/revoke",
        &json!({"secret": "x"}),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["refusal"]["code"], "challenge_not_found");
    let open = post(addr, "/v1/decide", &session("support.logs.read", "SUP-3"))
        .await
        .json();
    let open_id = open["challenge"]["id"].as_str().unwrap();
    let open_secret = open["collection_secret"].as_str().unwrap();
    let r = post(
        addr,
        &format!("/v1/challenges/{open_id}/revoke"),
        &json!({"secret": open_secret}),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    // Still good: nothing above revoked it.
    let r = redeem(addr, session("support.logs.read", "SUP-1"), &grant).await;
    assert_eq!(r["grant"]["elevation"]["use"], 5, "{r}");

    // The requester revokes: 200, never the grant; the next use is refused.
    let r = post(addr, &revoke, &json!({"secret": secret})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains(&grant));
    let v = r.json();
    assert_eq!(
        (&v["status"], &v["was"], &v["uses"]),
        (&json!("revoked"), &json!("active"), &json!(5))
    );
    let r = redeem(addr, session("support.logs.read", "SUP-1"), &grant).await;
    assert_eq!(r["decision"], "deny");
    assert_eq!(r["refusal"]["code"], "grant_revoked");
    // Again: 200, and it says it was revoked before.
    let iat = now();
    let r = post(
        addr,
        &revoke,
        &json!({"approver": "cara", "proof": proof_text(iat, &keys.cara.sign_b64(&revoke_message(&id, iat)))}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["was"], "revoked");
    assert_eq!(r.json()["by"], "approver:cara");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_one_server_is_seen_at_once_by_the_other() {
    let redis = writ_testkit::Redis::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let (policies, keys) = policies(dir.path());
    let (a, b) = common::replicas(dir.path(), &policies, &url).await;
    let (id, secret, grant) = approved(a.addr, b.addr, &keys).await;
    for (n, addr) in [(1, a.addr), (2, b.addr)] {
        let r = redeem(addr, session("support.logs.read", "SUP-1"), &grant).await;
        assert_eq!(r["grant"]["elevation"]["use"], n, "{r}");
    }
    let r = post(
        a.addr,
        &format!("/v1/challenges/{id}/revoke"),
        &json!({"secret": secret}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = redeem(b.addr, session("support.logs.read", "SUP-1"), &grant).await;
    assert_eq!(r["refusal"]["code"], "grant_revoked", "{r}");
    a.shutdown().await;
    b.shutdown().await;
}
