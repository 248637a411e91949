//! The native API through a real socket: `/v1/decide` (one request and batches),
//! `/v1/explain`, the limits (body size, batch size, depth, concurrency) and the rule that
//! client input never gets a 5xx.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::{post, post_text, request, start};
use serde_json::{json, Value};

fn prod_write() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(common::policies("prod-database/requests/prod-write.json"))
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decide_answers_the_full_decision_json() {
    let s = start(&common::policies("prod-database"), |_| {}).await;
    let r = post(s.addr, "/v1/decide", &prod_write()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    // Every field of docs/language.md §14, plus the id and the version.
    for field in [
        "decision",
        "risk",
        "signals",
        "rules",
        "message",
        "obligations",
        "approval",
        "ttl_s",
        "unknown",
        "policy_version",
        "decision_id",
    ] {
        assert!(v.get(field).is_some(), "missing `{field}` in {v}");
    }
    assert_eq!(v["decision"], "approve");
    assert!(v["approval"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(v["policy_version"], json!(s.state().store().version()));
    // The same decision as the engine gives in-process.
    let engine = s.state().store().engine();
    let local = engine.decide(&engine.bind(prod_write()).unwrap());
    let mut without_id = v.clone();
    without_id.as_object_mut().unwrap().remove("decision_id");
    assert_eq!(without_id, serde_json::to_value(&local).unwrap());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_answer_in_order_and_bad_items_say_why() {
    let s = start(&common::policies("prod-database"), |_| {}).await;
    let body = json!({"requests": [prod_write(), {"devise": {}}, 7, prod_write()]});
    let r = post(s.addr, "/v1/decide", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let d = v["decisions"].as_array().unwrap();
    assert_eq!(d.len(), 4);
    assert_eq!(d[0]["decision"], "approve");
    let refused = d[1]["error"]["message"].as_str().unwrap();
    assert!(refused.starts_with("`requests[1]`: "), "{refused}");
    assert!(refused.contains("devise"), "{refused}");
    assert!(d[2]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("requests[2]"));
    assert_eq!(d[3]["decision"], "approve");
    assert_ne!(d[0]["decision_id"], d[3]["decision_id"]);
    // Each item is the decision the engine gives in-process, written as a single one is.
    let engine = s.state().store().engine();
    let local = serde_json::to_value(engine.decide(&engine.bind(prod_write()).unwrap())).unwrap();
    for item in [&d[0], &d[3]] {
        let mut without_id = item.clone();
        without_id.as_object_mut().unwrap().remove("decision_id");
        assert_eq!(without_id, local);
    }
    // `requests` beside a request root, in either order: refused, saying a batch is alone.
    for text in [
        r#"{"action": "db.read", "requests": []}"#,
        r#"{"requests": [], "action": "db.read"}"#,
    ] {
        let r = post_text(s.addr, "/v1/decide", text).await;
        assert_eq!(r.status, 400, "{text}");
        assert!(r.text().contains("alone"), "{}", r.text());
    }
    // Over the batch limit: 400 saying the limit.
    let many = json!({"requests": vec![prod_write(); 51]});
    let r = post(s.addr, "/v1/decide", &many).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("at most 50"), "{}", r.text());
    // A batch whose every item binds is read as spans of the body; one whose text breaks a
    // strict rule anywhere (a key twice inside an item, `requests` twice) is refused whole,
    // as the tree path words it, before anything is decided.
    let item = serde_json::to_string(&prod_write()).unwrap();
    for text in [
        format!(r#"{{"requests": [{item}, {{"action": "a", "action": "b"}}]}}"#),
        format!(r#"{{"requests": [{item}], "requests": [{item}]}}"#),
    ] {
        let r = post_text(s.addr, "/v1/decide", &text).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(
            r.text().contains("twice") || r.text().contains("duplicate"),
            "{}",
            r.text()
        );
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_traces_every_rule() {
    let s = start(&common::policies("prod-database"), |_| {}).await;
    let r = post(s.addr, "/v1/explain", &prod_write()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["decision"]["decision"], "approve");
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        s.state().store().engine().policy_set().rules.len()
    );
    assert!(v["reason"].as_str().is_some());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_input_is_never_a_5xx() {
    let s = start(&common::policies("prod-database"), |c| {
        c.limits.max_body_bytes = 4096;
    })
    .await;
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let bodies: Vec<String> = vec![
        String::new(),
        "null".into(),
        "[]".into(),
        "\"x\"".into(),
        "{".into(),
        "{\"action\": 1}".into(),
        "{\"risk\": 5}".into(),
        "{\"time\": \"yesterday\"}".into(),
        format!("{{\"request\": {{\"params\": {{\"x\": {deep}}}}}}}"),
        "{\"request\": {\"params\": {\"n\": 12345678901234567890}}}".into(),
        "{\"action\": \"a\", \"action\": \"b\"}".into(),
        "{\"requests\": 5}".into(),
        "{\"requests\": [], \"action\": \"x\"}".into(),
        "\u{feff}{}".into(),
        String::from_utf8_lossy(&[0xff, 0xfe]).into_owned(),
    ];
    for path in [
        "/v1/decide",
        "/v1/explain",
        "/access/v1/evaluation",
        "/access/v1/evaluations",
    ] {
        for b in &bodies {
            let r = post_text(s.addr, path, b).await;
            assert!(
                (400..500).contains(&r.status),
                "{path} {b:?}: {} {}",
                r.status,
                r.text()
            );
            assert!(r.json()["error"]["message"].as_str().is_some());
        }
        // Too large: 413 saying the limit.
        let big = format!("{{\"action\": \"{}\"}}", "x".repeat(5000));
        let r = post_text(s.addr, path, &big).await;
        assert_eq!(r.status, 413, "{path}");
        assert!(r.text().contains("4096"));
        // A declared length over the limit is refused at once, before any body is sent
        // (not held until the time limit).
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n"
        );
        let r = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            common::raw(s.addr, head.as_bytes()),
        )
        .await
        .expect("a declared length over the limit is answered at once");
        assert_eq!(r.status, 413, "{path}: {}", r.text());
    }
    // Invalid UTF-8 bytes.
    let r = request(
        s.addr,
        "POST",
        "/v1/decide",
        &[("Content-Type", "application/json")],
        &[b'{', 0xff, b'}'],
    )
    .await;
    assert_eq!(r.status, 400);
    // Every refusal carries the JSON error body: unknown routes (404), the wrong method
    // (405, with `Allow`), a path segment that does not decode (400).
    for (method, path, status, code) in [
        ("GET", "/v2/decide", 404, "not_found"),
        ("GET", "/v1/decide", 405, "method_not_allowed"),
        ("DELETE", "/v1/redeem", 405, "method_not_allowed"),
        ("PUT", "/openapi.json", 405, "method_not_allowed"),
        ("GET", "/v1/challenges/%FF%FE", 400, "invalid_request"),
    ] {
        let r = request(s.addr, method, path, &[], b"").await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json()["error"]["code"], code, "{method} {path}");
        assert!(r.json()["error"]["message"].as_str().is_some());
        if status == 405 {
            assert!(r.header("allow").is_some(), "{method} {path}");
        }
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_cannot_ask_for_someone_else() {
    use std::sync::Arc;
    use writ_server::{Authenticate, Caller, Identity, Presented, Refusal, Role};

    // A verifier for this test only: the bearer token *is* the identity. It stands in for
    // the callers crate to exercise the rule, not to authenticate anyone.
    struct BearerIsIdentity;
    impl Authenticate for BearerIsIdentity {
        fn authenticate(
            &self,
            p: &Presented<'_>,
            _now: jiff::Timestamp,
        ) -> Result<Caller, Refusal> {
            let token = p
                .authorization
                .and_then(|a| a.strip_prefix("Bearer "))
                .ok_or_else(|| Refusal {
                    code: "no_credentials",
                    message: "an `Authorization: Bearer` token is required".into(),
                })?;
            Ok(Caller {
                id: token.to_string(),
                method: "test",
                role: if token == "gateway" {
                    Role::EnforcementPoint
                } else {
                    Role::Actor
                },
                principal_kind: Some("workload".into()),
                attested: true,
                cert_thumbprint: None,
                groups: None,
                on_behalf_of: None,
                explain: false,
            })
        }
    }
    let s = start(&common::policies("prod-database"), |c| {
        c.identity = Identity::Verified(Arc::new(BearerIsIdentity));
    })
    .await;
    let body = prod_write().to_string();
    let call = |token: Option<&'static str>| {
        let body = body.clone();
        let addr = s.addr;
        async move {
            let auth = token.map(|t| format!("Bearer {t}"));
            let mut headers = vec![("Content-Type", "application/json")];
            if let Some(a) = &auth {
                headers.push(("Authorization", a.as_str()));
            }
            request(addr, "POST", "/v1/decide", &headers, body.as_bytes()).await
        }
    };
    // No credentials: 401.
    let r = call(None).await;
    assert_eq!(r.status, 401, "{}", r.text());
    // The enforcement point asks about the body's principal.
    assert_eq!(call(Some("gateway")).await.status, 200);
    // An actor whose identity is not the body's principal is refused.
    let r = call(Some("spiffe://corp/mallory")).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "identity_conflict");
    // An actor asking about itself: its identity fills the principal.
    let me = prod_write()["principal"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut mine = prod_write();
    mine["principal"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k != "kind" && k != "attested");
    let auth = format!("Bearer {me}");
    let r = request(
        s.addr,
        "POST",
        "/v1/decide",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        mine.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_dev_identity_listens_on_loopback_only() {
    let mut config = writ_server::ServerConfig::new(
        common::policies("prod-database"),
        writ_server::Identity::InsecureDevFromBody,
    );
    config.listen = "0.0.0.0:0".parse().unwrap();
    config.admin = None;
    let e = writ_server::Server::start(config).await.unwrap_err();
    assert!(e.to_string().contains("loopback"), "{e}");
}
