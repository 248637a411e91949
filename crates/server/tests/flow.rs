//! The approval flow over HTTP with real keys: an AuthZEN evaluation answers `false` with
//! an `access_request`; the challenge is shown in full; the requester long-polls for the
//! grant while an approver answers; the PEP's retry carrying `context.approval` is
//! redeemed once — and the attacks the CLI refuses are refused here too (self-approval,
//! tampering, relay to another principal, replay, a collector who is not the requester).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{get, post};
use serde_json::{json, Value};
use writ_approvals::KeyPair;
use writ_server::StateConfig;

const POLICY: &str = r#"
schema {
  request.params.amount: number
  request.params.payee:  string
}

rule "transfers need finance" {
  when action == "payments.transfer"
  approve {
    approvers 1 of group "finance"
    method signature
    bind principal.id, action, resource.id, request.params.amount, request.params.payee
    ttl 5m
  }
  obligations notify("finance-ops")
}
"#;

struct World {
    _dir: tempfile::TempDir,
    dana: KeyPair,
    ann: KeyPair,
    server: writ_server::Server,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let (policies, [dana, ann]) = common::policy_dir(
        dir.path(),
        "payments.writ",
        POLICY,
        [("dana", "finance"), ("ann", "finance")],
    );
    let state = dir.path().join("state");
    let server = common::start(&policies, |c| c.state = StateConfig::Dir(state)).await;
    World {
        _dir: dir,
        dana,
        ann,
        server,
    }
}

fn transfer(amount: u32) -> Value {
    json!({"subject": {"type": "user", "id": "ann"},
           "action": {"name": "payments.transfer", "properties": {"amount": amount, "payee": "ACME"}},
           "resource": {"type": "account", "id": "acct-1"}})
}

use common::signed_answer as answer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_over_http_and_its_attacks() {
    let w = world().await;
    let addr = w.server.addr;
    // The PEP asks; the policy wants an approval.
    let r = post(addr, "/access/v1/evaluation", &transfer(1200)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["decision"], false);
    assert_eq!(v["context"]["reason"], "approval_required");
    let ar = &v["context"]["access_request"];
    let id = ar["challenge_id"].as_str().unwrap().to_string();
    let digest = ar["binding_hash"].as_str().unwrap().to_string();
    let secret = ar["collection_secret"].as_str().unwrap().to_string();
    assert_eq!(
        ar["endpoint"],
        json!(format!("http://{addr}/v1/challenges/{id}"))
    );
    assert!(ar["expires_at"].as_str().is_some());
    // Operators see it on the admin listener.
    let admin = w.server.admin_addr.unwrap();
    let r = get(admin, &format!("/challenges/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], json!(id));
    assert_eq!(get(admin, "/challenges/ch_unknown").await.status, 404);
    assert_eq!(v["context"]["evaluation_id"], v["context"]["decision_id"]);
    // Discovery says the server takes access requests.
    let d = get(addr, "/.well-known/authzen-configuration").await.json();
    assert_eq!(
        d["capabilities"][0],
        "urn:openid:authzen:capability:access-request"
    );
    // What is being approved, in full, never the grant.
    let c = get(addr, &format!("/v1/challenges/{id}")).await;
    assert_eq!(c.status, 200);
    let c = c.json();
    assert_eq!(c["state"], "open");
    assert_eq!(c["digest"], json!(digest));
    assert!(c["summary"].as_str().unwrap().contains("1200"), "{c}");
    assert!(c.get("grant").is_none());
    assert_eq!(get(addr, "/v1/challenges/c_nope").await.status, 404);

    // A wrong secret is refused at once, not after the long poll it asked for.
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        post(
            addr,
            &format!("/v1/challenges/{id}/grant"),
            &json!({"secret": "cs_wrong", "wait_s": 20}),
        ),
    )
    .await
    .expect("a wrong collection secret is refused without waiting");
    assert_eq!(r.status, 403, "{}", r.text());
    // The requester long-polls for the grant while approvers answer.
    let poll = tokio::spawn({
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            post(
                addr,
                &format!("/v1/challenges/{id}/grant"),
                &json!({"secret": secret, "wait_s": 20}),
            )
            .await
        }
    });
    // Self-approval: ann may not approve her own transfer.
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/answers"),
        &answer("ann", &w.ann, &id, &digest, true),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["status"], "refused");
    // A signature over another digest is refused.
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/answers"),
        &answer("dana", &w.dana, &id, "sha256:00", true),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // dana approves.
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/answers"),
        &answer("dana", &w.dana, &id, &digest, true),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["challenge"]["state"], "granted");
    let collected = poll.await.unwrap();
    assert_eq!(collected.status, 200, "{}", collected.text());
    let grant = collected.json()["grant"].as_str().unwrap().to_string();
    // Someone else who knows the challenge id cannot collect it.
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/grant"),
        &json!({"secret": "guess"}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.json().get("grant").is_none());

    let retry = |body: Value| {
        let mut b = body;
        b["context"] = json!({"approval": {"grant": grant.clone()}});
        b
    };
    // Tampered: another amount under the same grant.
    let r = post(addr, "/access/v1/evaluation", &retry(transfer(9999)))
        .await
        .json();
    assert_eq!(r["decision"], false, "{r}");
    assert!(
        r["context"]["reason"].as_str().unwrap().contains("digest"),
        "{r}"
    );
    // Relayed to another principal.
    let mut relayed = retry(transfer(1200));
    relayed["subject"]["id"] = json!("mallory");
    let r = post(addr, "/access/v1/evaluation", &relayed).await.json();
    assert_eq!(r["decision"], false, "{r}");
    assert_eq!(r["context"]["reason"], "wrong_principal", "{r}");
    // The exact transaction: allowed once, with the obligations.
    let r = post(addr, "/access/v1/evaluation", &retry(transfer(1200)))
        .await
        .json();
    assert_eq!(r["decision"], true, "{r}");
    assert_eq!(r["context"]["obligations"][0]["name"], "notify");
    assert_eq!(r["context"]["grant"]["approvers"][0]["id"], "dana");
    // Replayed: refused.
    let r = post(addr, "/access/v1/evaluation", &retry(transfer(1200)))
        .await
        .json();
    assert_eq!(r["decision"], false);
    assert_eq!(r["context"]["reason"], "replayed", "{r}");
    // The native route refuses it the same way.
    let native = json!({"principal": {"id": "ann", "type": "user", "kind": "human"}, "action": "payments.transfer",
                        "resource": {"id": "acct-1", "kind": "account"},
                        "request": {"params": {"amount": 1200, "payee": "ACME"}}});
    let r = post(
        addr,
        "/v1/redeem",
        &json!({"request": native, "grant": grant}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["decision"], "deny");
    assert_eq!(r.json()["refusal"]["code"], "replayed");
    // The metrics saw it all.
    let m = get(w.server.admin_addr.unwrap(), "/metrics").await.text();
    for want in [
        "writ_challenges_total{event=\"opened\"} 1",
        "writ_challenges_total{event=\"granted\"} 1",
        "writ_redemptions_total{result=\"allowed\"} 1",
        "writ_redemptions_total{result=\"refused\"} 4",
    ] {
        assert!(m.contains(want), "missing {want}:\n{m}");
    }
    w.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_decide_opens_a_challenge_and_redeem_allows_once() {
    let w = world().await;
    let addr = w.server.addr;
    let req = json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.transfer",
                     "resource": {"id": "acct-9"}, "request": {"params": {"amount": 50, "payee": "ACME"}}});
    let d = post(addr, "/v1/decide", &req).await.json();
    assert_eq!(d["decision"], "approve");
    let id = d["challenge"]["id"].as_str().unwrap().to_string();
    let digest = d["challenge"]["digest"].as_str().unwrap().to_string();
    let secret = d["collection_secret"].as_str().unwrap().to_string();
    // Not granted yet: 409, and no wait asked for, so at once.
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/grant"),
        &json!({"secret": secret}),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    // A denial closes it.
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/answers"),
        &answer("dana", &w.dana, &id, &digest, false),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["challenge"]["state"], "denied");
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/grant"),
        &json!({"secret": secret, "wait_s": 5}),
    )
    .await;
    assert_eq!(r.status, 409);
    // A fresh request, approved, redeemed through the native route once.
    let mut req2 = req.clone();
    req2["resource"]["id"] = json!("acct-10");
    let d = post(addr, "/v1/decide", &req2).await.json();
    let id = d["challenge"]["id"].as_str().unwrap().to_string();
    let digest = d["challenge"]["digest"].as_str().unwrap().to_string();
    let secret = d["collection_secret"].as_str().unwrap().to_string();
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/answers"),
        &answer("dana", &w.dana, &id, &digest, true),
    )
    .await;
    assert_eq!(r.status, 200);
    let grant = post(
        addr,
        &format!("/v1/challenges/{id}/grant"),
        &json!({"secret": secret}),
    )
    .await
    .json()["grant"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(
        addr,
        "/v1/redeem",
        &json!({"request": req2, "grant": grant}),
    )
    .await
    .json();
    assert_eq!(r["decision"], "allow", "{r}");
    let r = post(
        addr,
        "/v1/redeem",
        &json!({"request": req2, "grant": grant}),
    )
    .await
    .json();
    assert_eq!(r["refusal"]["code"], "replayed", "{r}");
    // Malformed flow bodies are 400s that say what was expected.
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/answers"),
        &json!({"approver": "dana"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = post(
        addr,
        &format!("/v1/challenges/{id}/grant"),
        &json!({"wait_s": 1}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post(addr, "/v1/redeem", &json!({"grant": "x"})).await;
    assert_eq!(r.status, 400);
    w.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_with_blank_space_or_hidden_characters_opens_no_challenge() {
    let w = world().await;
    let addr = w.server.addr;
    // `dana` is an approver: ` dana` (or with a zero-width or no-break space) would pass
    // separation of duties as another person. Refused, with its own code.
    for id in [" dana", "dana ", "dana\u{200b}", "\u{a0}dana"] {
        let mut req = transfer(1200);
        req["subject"]["id"] = json!(id);
        let r = post(addr, "/access/v1/evaluation", &req).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["decision"], false, "{v}");
        assert_eq!(v["context"]["refusal"]["code"], "identity_malformed", "{v}");
        assert!(v["context"].get("access_request").is_none(), "{v}");
        let native = json!({"principal": {"id": id, "kind": "human"}, "action": "payments.transfer",
                            "resource": {"id": "acct-1"},
                            "request": {"params": {"amount": 5, "payee": "ACME"}}});
        let r = post(addr, "/v1/decide", &native).await;
        let v = r.json();
        assert_eq!(v["decision"], "deny", "{v}");
        assert_eq!(v["refusal"]["code"], "identity_malformed", "{v}");
        assert!(v.get("challenge").is_none(), "{v}");
    }
    // The plain name still opens one.
    let r = post(addr, "/access/v1/evaluation", &transfer(1200)).await;
    assert!(
        r.json()["context"]["access_request"].is_object(),
        "{}",
        r.text()
    );
}
