//! The approver's pages in a real browser: Debian's Chromium driven by Playwright
//! (`tests/browser/run.mjs`, npm `playwright-core`) with a CDP virtual authenticator
//! (CTAP2, internal, resident keys, user verification on), against a real `writ serve`
//! on a loopback port over the bundled prod-database set: enrolment through invitations,
//! sign-in, approving (the service then redeems the grant once), denying, a 2-of quorum
//! completed by a second approver (the first one's page updating by itself), a wrong code
//! closing the challenge as a suspected relay, an expired challenge, a page framed by
//! another origin refused, a page on the wrong origin whose assertion is refused, and
//! another approver's passkey refused.
//!
//! It needs `node`, Chromium (`/usr/bin/chromium`, or `WRIT_CHROMIUM`) and `npm ci` in
//! tests/browser (`.ci/run` installs them): without them it FAILS, saying what to install.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use writ_server::StateConfig;

use writ_testkit::sets::{copy_dir, repo};

/// What the browser test needs, or a failure saying how to get it.
fn prerequisites() -> (PathBuf, PathBuf) {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "`node` is missing: install Node.js 18+ (Debian: apt-get install -y nodejs npm); .ci/run does"
    );
    let chromium = std::env::var_os("WRIT_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        chromium.exists(),
        "Chromium is missing at `{}`: install it (Debian: apt-get install -y chromium) or set WRIT_CHROMIUM; .ci/run does",
        chromium.display()
    );
    let dir = repo().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm ci` in tests/browser; .ci/run does"
    );
    (chromium, dir)
}

/// The prod-database set with a relying party on `origin`, and a rule whose approval
/// expires within seconds (the expired-challenge case).
fn policy_set(tmp: &Path, origin: &str) -> PathBuf {
    let dir = tmp.join("policies");
    copy_dir(&repo().join("policies/prod-database"), &dir);
    let path = dir.join("approvers.toml");
    let mut registry = std::fs::read_to_string(&path).unwrap();
    registry.push_str(&format!(
        "\n[relying_party]\nrp_id = \"localhost\"\norigins = [\"{origin}\"]\n"
    ));
    std::fs::write(path, registry).unwrap();
    std::fs::write(
        dir.join("quick.writ"),
        r#"
rule "quick approvals expire fast" {
  when action == "db.quick.write"
  approve {
    approvers 1 of group "db-owners"
    method webauthn
    bind principal.id, action, request.params
    ttl 3s
  }
}
"#,
    )
    .unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvers_enrol_sign_in_and_answer_in_chromium() {
    let (chromium, browser_dir) = prerequisites();
    let tmp = tempfile::tempdir().unwrap();
    // The origin must be known before the server starts (approvers.toml names it).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let origin = format!("http://localhost:{port}");
    let dir = policy_set(tmp.path(), &origin);
    let state = tmp.path().join("state");
    let server = common::start(&dir, |c| {
        c.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.state = StateConfig::Dir(state.clone());
    })
    .await;
    let approvals = server.state().approvals().unwrap().clone();
    let mut invites = serde_json::Map::new();
    for who in [
        "owen@example.com",
        "priya@example.com",
        "dmitri@example.com",
    ] {
        // As `writ webauthn invite` makes them: only the grant key of the state directory.
        let token = writ_approvals::webauthn_invite(&dir, &state, who)
            .unwrap()
            .unwrap();
        invites.insert(who.into(), token.into());
    }
    // A second device of Owen's: one invitation per passkey.
    let second = writ_approvals::webauthn_invite(&dir, &state, "owen@example.com")
        .unwrap()
        .unwrap();
    invites.insert("owen@example.com#2".into(), second.into());
    // An invitation for someone who is not an approver is refused outright.
    let refused = approvals.webauthn_invite("mallory@example.com").unwrap();
    assert!(refused.is_err_and(|m| m.contains("not in")));
    let shots = std::env::var("WRIT_SCREENSHOTS").unwrap_or_default();
    let child = Command::new("node")
        .arg("run.mjs")
        .current_dir(&browser_dir)
        .env("WRIT_BASE", &origin)
        .env("WRIT_CHROMIUM", &chromium)
        .env(
            "WRIT_INVITES",
            serde_json::Value::Object(invites).to_string(),
        )
        .env("WRIT_SCREENSHOTS", shots)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A watchdog: a browser run that hangs is killed, and the test fails.
    let pid = child.id().to_string();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            finished.recv_timeout(std::time::Duration::from_secs(300))
        {
            let _ = Command::new("kill").args(["-9", &pid]).status();
        }
    });
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let _ = done.send(());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all browser checks passed"), "{stdout}");
    // What the browser did is on record in the audit log.
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    for event in [
        "webauthn.registered",
        "webauthn.signin",
        "grant.issued",
        "challenge.denied",
        "webauthn.removed",
    ] {
        assert!(audit.contains(event), "no `{event}` in the audit log");
    }
    server.shutdown().await;
}
