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

const ORIGIN: &str = "https://writ.example.com";

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
