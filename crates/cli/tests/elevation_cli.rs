//! Elevation through the `writ` binary, each step its own process: a 30-minute support
//! elevation is approved once and redeemed three times (three allows, three audit
//! records numbered 1, 2, 3), refused for another ticket, revoked by the requester (not by
//! an approver of another group), refused after that, revoked again idempotently — and,
//! over one real redis-server, a revocation through one replica is seen by the other. The
//! audit log verifies at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value as Json};

/// A policy directory with the support rule and two approvers: cara (customer-admins)
/// and erin (ops, who may not revoke).
struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    policies: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let policies = dir.join("policies");
        std::fs::create_dir_all(&policies).unwrap();
        std::fs::write(
            policies.join("support.writ"),
            writ_testkit::sets::support_elevation("customer-admins"),
        )
        .unwrap();
        let mut registry = String::new();
        for (who, group) in [("cara", "customer-admins"), ("erin", "ops")] {
            let out = writ(&[
                "keygen",
                s(&dir.join(format!("{who}.key"))),
                "--approver",
                who,
                "--groups",
                group,
            ]);
            assert_eq!(out.status.code(), Some(0));
            registry.push_str(&String::from_utf8(out.stdout).unwrap());
        }
        std::fs::write(policies.join("approvers.toml"), registry).unwrap();
        Setup {
            _tmp: tmp,
            dir,
            policies,
        }
    }

    /// A request file for `action` under `ticket`.
    fn request(&self, action: &str, ticket: &str) -> PathBuf {
        let path = self.dir.join(format!("{action}-{ticket}.json"));
        let request = json!({
            "principal": {"id": "vic@vendor.example", "kind": "human"},
            "action": action,
            "resource": {"id": "tenant-acme"},
            "session": {"id": "sess-1"},
            "request": {"params": {"ticket": ticket}}
        });
        std::fs::write(&path, request.to_string()).unwrap();
        path
    }

    fn key(&self, who: &str) -> PathBuf {
        self.dir.join(format!("{who}.key"))
    }
}

/// `writ` with the state arguments appended.
fn run(args: &[&str], state: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(state);
    writ(&all)
}

/// Opens a challenge through `state_a`, approves it by cara through `state_b`, collects
/// the grant: the challenge id, the collection secret, the grant.
fn approved(w: &Setup, request: &Path, a: &[&str], b: &[&str]) -> (String, String, String) {
    let decided = json(&run(&["decide", s(&w.policies), s(request)], a));
    assert_eq!(decided["decision"], "approve", "{decided}");
    assert_eq!(decided["approval"]["elevation_s"], 1800);
    let id = decided["challenge"]["id"].as_str().unwrap().to_string();
    assert_eq!(decided["challenge"]["elevation_s"], 1800);
    let secret = decided["collection_secret"].as_str().unwrap().to_string();
    let out = run(
        &[
            "approve",
            s(&w.policies),
            &id,
            "--as",
            "cara",
            "--key",
            s(&w.key("cara")),
        ],
        b,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(&["collect", s(&w.policies), &id, "--secret", &secret], a);
    assert_eq!(out.status.code(), Some(0));
    let grant = json(&out)["grant"].as_str().unwrap().to_string();
    (id, secret, grant)
}

fn redeem(w: &Setup, request: &Path, grant: &str, state: &[&str]) -> Output {
    run(
        &["redeem", s(&w.policies), s(request), "--grant", grant],
        state,
    )
}

#[test]
fn an_elevation_is_redeemed_three_times_then_revoked_through_the_cli() {
    let w = Setup::new();
    let state = w.dir.join("state");
    let st = ["--state", s(&state)];
    let logs = w.request("support.logs.read", "SUP-1");
    let open = w.request("support.session.open", "SUP-1");
    let (id, secret, grant) = approved(&w, &logs, &st, &st);
    for (n, request) in [(1, &logs), (2, &open), (3, &logs)] {
        let out = redeem(&w, request, &grant, &st);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let r = json(&out);
        assert_eq!(r["decision"], "allow");
        assert_eq!(r["grant"]["elevation"]["use"], n);
        assert_eq!(r["grant"]["elevation"]["elevation_s"], 1800);
        assert_eq!(r["obligations"][0]["name"], "record_session");
    }
    // Another ticket: another transaction.
    let other = redeem(&w, &w.request("support.logs.read", "SUP-2"), &grant, &st);
    assert_eq!(other.status.code(), Some(3));
    assert_eq!(json(&other)["refusal"]["code"], "digest_mismatch");
    // erin approves for ops, not for this challenge's group: she may not revoke it.
    let erin = run(
        &[
            "revoke",
            s(&w.policies),
            &id,
            "--as",
            "erin",
            "--key",
            s(&w.key("erin")),
        ],
        &st,
    );
    assert_eq!(erin.status.code(), Some(3));
    assert_eq!(json(&erin)["refusal"]["code"], "not_allowed");
    // The requester revokes it; the next use is refused.
    let revoked = run(&["revoke", s(&w.policies), &id, "--secret", &secret], &st);
    assert_eq!(
        revoked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&revoked.stdout)
    );
    let text = String::from_utf8(revoked.stdout.clone()).unwrap();
    assert!(!text.contains(&grant), "never the grant");
    let r = json(&revoked);
    assert_eq!(
        (&r["status"], &r["was"], &r["uses"], &r["by"]),
        (
            &json!("revoked"),
            &json!("active"),
            &json!(3),
            &json!("requester")
        )
    );
    let after = redeem(&w, &logs, &grant, &st);
    assert_eq!(after.status.code(), Some(3));
    assert_eq!(json(&after)["refusal"]["code"], "grant_revoked");
    // Revoking again is no error, and says it was revoked before.
    let again = run(
        &["revoke", s(&w.policies), &id, "--operator", "oncall"],
        &st,
    );
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(json(&again)["was"], "revoked");
    // cara, an approver of its group, with a proof made elsewhere by `writ sign --revoke`.
    let signed = writ(&["sign", "--key", s(&w.key("cara")), "--revoke", &id]);
    assert_eq!(signed.status.code(), Some(0));
    let proof = String::from_utf8(signed.stdout).unwrap();
    let by_cara = run(
        &[
            "revoke",
            s(&w.policies),
            &id,
            "--as",
            "cara",
            "--proof",
            proof.trim(),
        ],
        &st,
    );
    assert_eq!(
        by_cara.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&by_cara.stdout)
    );
    assert_eq!(json(&by_cara)["by"], "approver:cara");
    // Usage: nobody named, or two at once.
    assert_eq!(
        run(&["revoke", s(&w.policies), &id], &st).status.code(),
        Some(2)
    );

    // Every use, refusal and revocation is on record, and the log verifies.
    let log = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    assert!(!log.contains(&grant));
    let records: Vec<Json> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let uses: Vec<&Json> = records
        .iter()
        .filter(|r| r["event"] == "grant.redeemed")
        .map(|r| &r["use"])
        .collect();
    assert_eq!(uses, [&json!(1), &json!(2), &json!(3)]);
    let events = |name: &str| records.iter().filter(|r| r["event"] == name).count();
    assert_eq!(
        (
            events("grant.revoked"),
            events("revoke.refused"),
            events("redeem.refused")
        ),
        (3, 1, 2)
    );
    let verified = writ(&["audit", "verify", s(&state.join("audit.jsonl"))]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

#[test]
fn a_revocation_through_one_replica_is_seen_by_the_other_through_the_cli() {
    let redis = writ_testkit::Redis::start();
    let url = redis.url();
    let w = Setup::new();
    let (a, b) = (w.dir.join("a"), w.dir.join("b"));
    let sa = ["--state", s(&a), "--redis", url.as_str()];
    let sb = ["--state", s(&b), "--redis", url.as_str()];
    let logs = w.request("support.logs.read", "SUP-1");
    // A makes the grant key; B holds a copy, as every replica must.
    let decided = json(&run(&["decide", s(&w.policies), s(&logs)], &sa));
    assert_eq!(decided["decision"], "approve");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(a.join("grant.key"), b.join("grant.key")).unwrap();
    let (id, secret, grant) = approved(&w, &logs, &sa, &sb);
    for state in [&sa, &sb, &sa] {
        let out = redeem(&w, &logs, &grant, state);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let revoked = run(&["revoke", s(&w.policies), &id, "--secret", &secret], &sa);
    assert_eq!(revoked.status.code(), Some(0));
    assert_eq!(json(&revoked)["uses"], 3);
    let on_b = redeem(&w, &logs, &grant, &sb);
    assert_eq!(on_b.status.code(), Some(3));
    assert_eq!(json(&on_b)["refusal"]["code"], "grant_revoked");
    // With Redis gone, revoking fails closed and says why, in its own shape.
    drop(redis);
    let down = run(&["revoke", s(&w.policies), &id, "--operator", "ops"], &sb);
    assert_eq!(down.status.code(), Some(3));
    let down = json(&down);
    assert_eq!(
        (&down["status"], &down["refusal"]["code"]),
        (&json!("refused"), &json!("store_unavailable"))
    );
}
