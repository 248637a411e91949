//! The approver's pages over real sockets, without a browser: the hardening headers on
//! every page and asset, the origin check, nothing before sign-in, and the rate limit on
//! sign-ins (429 with `Retry-After`). The browser flows are in `browser.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::path::Path;

use writ_server::{StateConfig, WebLimits};
use writ_webauthn::soft::SoftAuthenticator;

const ORIGIN: &str = "https://writ.example.com";
const RP_ID: &str = "writ.example.com";

fn set(tmp: &Path) -> std::path::PathBuf {
    let dir = tmp.join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    let from = common::policies("prod-database");
    for f in ["access.writ", "risk.writ", "approvers.toml"] {
        std::fs::copy(from.join(f), dir.join(f)).unwrap();
    }
    let mut registry = std::fs::read_to_string(dir.join("approvers.toml")).unwrap();
    registry.push_str(&format!(
        "\n[relying_party]\nrp_id = \"writ.example.com\"\norigins = [\"{ORIGIN}\"]\n"
    ));
    std::fs::write(dir.join("approvers.toml"), registry).unwrap();
    dir
}

#[tokio::test]
async fn pages_are_hardened_origin_bound_and_rate_limited() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path());
    let state = tmp.path().join("state");
    let server = common::start(&dir, |c| {
        c.state = StateConfig::Dir(state.clone());
        c.limits.web = WebLimits {
            per_address_per_minute: 3,
            per_approver_per_minute: 2,
        };
    })
    .await;
    let addr = server.addr;
    for (path, kind) in [
        ("/enroll/anything", "text/html"),
        ("/signin", "text/html"),
        ("/approve/ch_x", "text/html"),
        ("/web/app.js", "text/javascript"),
        ("/web/app.css", "text/css"),
    ] {
        let r = common::get(addr, path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with(kind),
            "{path}"
        );
        assert_eq!(r.header("content-security-policy"), Some(writ_server::CSP));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    assert!(writ_server::CSP.contains("frame-ancestors 'none'"));
    assert!(!writ_server::CSP.contains("unsafe"));
    // Nothing before sign-in.
    assert_eq!(common::get(addr, "/web/api/session").await.status, 401);
    assert_eq!(
        common::get(addr, "/web/api/challenges/ch_x").await.status,
        401
    );
    assert_eq!(common::get(addr, "/web/api/passkeys").await.status, 401);
    // POSTs only from the configured origin.
    let post = |origin: Option<&'static str>, path: &'static str, body: &'static str| async move {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(o) = origin {
            headers.push(("Origin", o));
        }
        common::request(addr, "POST", path, &headers, body.as_bytes()).await
    };
    let r = post(None, "/web/api/signin/options", "{}").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "wrong_origin");
    let r = post(
        Some("https://writ.example.com.evil.test"),
        "/web/api/signin/options",
        "{}",
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(Some(ORIGIN), "/web/api/signin/options", "{}").await;
    assert_eq!(r.status, 200);
    let options = r.json();
    assert_eq!(options["rpId"], "writ.example.com");
    assert_eq!(options["userVerification"], "required");
    // A forged invitation is refused; an answer without a session is 401.
    let r = post(
        Some(ORIGIN),
        "/web/api/enroll/options",
        r#"{"token": "a.b"}"#,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // Sign-in attempts from one address: three, then 429 with Retry-After.
    let garbage = r#"{"challenge": "AAAA", "credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {"clientDataJSON": "AAAA", "authenticatorData": "AAAA", "signature": "AAAA"}}}"#;
    for _ in 0..3 {
        let r = post(Some(ORIGIN), "/web/api/signin/finish", garbage).await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], "challenge_unknown");
    }
    let r = post(Some(ORIGIN), "/web/api/signin/finish", garbage).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "rate_limited");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // Answers count against the same address.
    let r = post(Some(ORIGIN), "/web/api/challenges/ch_x/answer", "{}").await;
    assert_eq!(r.status, 429);
    server.shutdown().await;
}

/// The policy set with `sara@example.com`'s passkey registered.
fn with_passkey(tmp: &Path, key: &SoftAuthenticator) -> std::path::PathBuf {
    let dir = set(tmp);
    let mut registry = std::fs::read_to_string(dir.join("approvers.toml")).unwrap();
    registry.push_str(&format!(
        "\n[[webauthn]]\napprover = \"sara@example.com\"\nid = \"{}\"\npublic_key = \"{}\"\nsign_count = 0\n",
        writ_approvals::b64(key.credential_id()),
        writ_approvals::b64(&key.cose_public_key()),
    ));
    std::fs::write(dir.join("approvers.toml"), registry).unwrap();
    dir
}

/// The JSON the browser sends for an assertion.
fn assertion_json(a: &writ_webauthn::Assertion) -> serde_json::Value {
    let b = |x: &[u8]| writ_approvals::b64(x);
    serde_json::json!({
        "id": b(&a.credential_id),
        "rawId": b(&a.credential_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b(&a.client_data_json),
            "authenticatorData": b(&a.authenticator_data),
            "signature": b(&a.signature),
        },
    })
}

async fn web_post(
    addr: std::net::SocketAddr,
    path: &str,
    body: &serde_json::Value,
) -> common::Resp {
    common::request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json"), ("Origin", ORIGIN)],
        body.to_string().as_bytes(),
    )
    .await
}

async fn sign_in_challenge(addr: std::net::SocketAddr) -> Vec<u8> {
    let r = web_post(addr, "/web/api/signin/options", &serde_json::json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    writ_approvals::unb64(r.json()["challenge"].as_str().unwrap(), "challenge").unwrap()
}

#[tokio::test]
async fn a_stranger_naming_a_passkey_cannot_lock_its_approver_out() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sara = SoftAuthenticator::es256(b"sara-laptop");
    let dir = with_passkey(tmp.path(), &sara);
    let state = tmp.path().join("state");
    let server = common::start(&dir, |c| {
        c.state = StateConfig::Dir(state.clone());
        c.limits.web = WebLimits {
            per_address_per_minute: 50,
            per_approver_per_minute: 2,
        };
    })
    .await;
    let addr = server.addr;
    // Assertions by another key, naming sara's (public) credential id: more than her
    // allowance of sign-ins, each refused.
    let mut mallory = SoftAuthenticator::es256(b"mallory");
    for _ in 0..5 {
        let challenge = sign_in_challenge(addr).await;
        let mut forged = mallory.assert(RP_ID, ORIGIN, &challenge, true);
        forged.credential_id = sara.credential_id().to_vec();
        let body = serde_json::json!({"challenge": writ_approvals::b64(&challenge), "credential": assertion_json(&forged)});
        let r = web_post(addr, "/web/api/signin/finish", &body).await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], "signin_refused");
        assert_eq!(
            r.json()["error"]["message"],
            writ_approvals::SIGN_IN_REFUSED
        );
    }
    // A passkey registered to nobody: the same words, so ids cannot be probed.
    let challenge = sign_in_challenge(addr).await;
    let unknown = mallory.assert(RP_ID, ORIGIN, &challenge, true);
    let body = serde_json::json!({"challenge": writ_approvals::b64(&challenge), "credential": assertion_json(&unknown)});
    let r = web_post(addr, "/web/api/signin/finish", &body).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["error"]["message"],
        writ_approvals::SIGN_IN_REFUSED
    );
    // Sara still signs in: her allowance counts only sign-ins her passkey signed.
    for _ in 0..2 {
        let challenge = sign_in_challenge(addr).await;
        let real = sara.assert(RP_ID, ORIGIN, &challenge, true);
        let body = serde_json::json!({"challenge": writ_approvals::b64(&challenge), "credential": assertion_json(&real)});
        let r = web_post(addr, "/web/api/signin/finish", &body).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["approver"], "sara@example.com");
    }
    // The refusals are counted and audited (the reason, never a secret).
    let metrics = common::get(server.admin_addr.unwrap(), "/metrics")
        .await
        .text();
    assert!(
        metrics.contains("writ_web_signins_total{result=\"refused\"} 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("writ_web_signins_total{result=\"signed_in\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("writ_http_requests_total{route=\"/web/api/signin\",status=\"4xx\"} 6"),
        "{metrics}"
    );
    server.shutdown().await;
    let audit = std::fs::read_to_string(state.join(writ_approvals::AUDIT_LOG_FILE)).unwrap();
    assert_eq!(
        audit.matches("webauthn.signin_refused").count(),
        6,
        "{audit}"
    );
    assert!(audit.contains("bad_webauthn"), "{audit}");
    assert!(audit.contains("no_credential"), "{audit}");
}

#[tokio::test]
async fn sign_in_challenges_are_rate_limited_per_address_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path());
    let state = tmp.path().join("state");
    let server = common::start(&dir, |c| {
        c.state = StateConfig::Dir(state.clone());
        c.limits.web = WebLimits {
            per_address_per_minute: 3,
            per_approver_per_minute: 2,
        };
    })
    .await;
    let addr = server.addr;
    for _ in 0..3 {
        sign_in_challenge(addr).await;
    }
    let r = web_post(addr, "/web/api/signin/options", &serde_json::json!({})).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    let metrics = common::get(server.admin_addr.unwrap(), "/metrics")
        .await
        .text();
    assert!(
        metrics.contains("writ_web_rate_limited_total 1"),
        "{metrics}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_decision_gives_the_approval_pages_link() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path());
    let state = tmp.path().join("state");
    let server = common::start(&dir, |c| {
        c.state = StateConfig::Dir(state.clone());
    })
    .await;
    let mut request: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::policies("prod-database").join("requests/prod-write.json"),
        )
        .unwrap(),
    )
    .unwrap();
    request.as_object_mut().unwrap().remove("time");
    let d = common::post(server.addr, "/v1/decide", &request)
        .await
        .json();
    assert_eq!(d["decision"], "approve", "{d}");
    let id = d["challenge"]["id"].as_str().unwrap();
    assert_eq!(d["challenge"]["page"], format!("{ORIGIN}/approve/{id}"));
    // The code to show is there too; the page is where the approver types it.
    assert!(d["challenge"]["code"].is_string());
    server.shutdown().await;
}
