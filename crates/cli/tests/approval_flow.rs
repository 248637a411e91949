//! The README walkthrough, end to end through the `writ` binary: generate keys, decide
//! with a state directory (a challenge opens), approve with the key, collect the grant as
//! the requester, redeem it, see a second redemption refused, verify the audit log — then
//! tamper with it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;

/// A copy of the bundled prod-database set in a temporary directory, with its request.
struct Bundle {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    policies: PathBuf,
    state: PathBuf,
    request: PathBuf,
}

impl Bundle {
    fn new() -> Bundle {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let policies = dir.join("policies");
        copy_dir(&repo().join("policies/prod-database"), &policies);
        // The request as a service sends it at execution: without the example's fixed
        // `time` (where a decision has effect, the engine's clock is the time), as the
        // README does with `grep -v '"time"'`.
        let example =
            std::fs::read_to_string(repo().join("policies/prod-database/requests/prod-write.json"))
                .unwrap();
        let now: String = example
            .lines()
            .filter(|l| !l.contains("\"time\""))
            .map(|l| format!("{l}\n"))
            .collect();
        let request = dir.join("prod-write.json");
        std::fs::write(&request, now).unwrap();
        Bundle {
            state: dir.join("state"),
            request,
            _tmp: tmp,
            dir,
            policies,
        }
    }

    /// `writ keygen` for dana (a db owner); her entry appended to the registry. Returns
    /// the entry as printed.
    fn enrol_dana(&self) -> String {
        let out = writ(&[
            "keygen",
            s(&self.dir.join("dana.key")),
            "--approver",
            "dana@example.com",
            "--groups",
            "db-owners",
        ]);
        assert_eq!(out.status.code(), Some(0));
        let entry = String::from_utf8(out.stdout).unwrap();
        let path = self.policies.join("approvers.toml");
        let mut registry = std::fs::read_to_string(&path).unwrap();
        registry.push_str(&entry);
        std::fs::write(path, registry).unwrap();
        entry
    }
}

/// The requester collects the grant of challenge `id` (`writ collect`); `proof` is
/// `--secret S` or `--workload-key K` (and `--redis URL` where the store is shared).
fn collect(policies: &Path, state: &Path, id: &str, proof: &[&str]) -> String {
    let mut args = vec!["collect", s(policies), id, "--state", s(state)];
    args.extend(proof);
    let out = writ(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let collected = json(&out);
    assert_eq!(collected["status"], "granted");
    collected["grant"].as_str().unwrap().to_string()
}

/// `writ CMD POLICIES ARGS.. --state STATE`: a flow command against one set and one state
/// directory.
fn flow(policies: &Path, state: &Path, cmd: &str, args: &[&str]) -> Output {
    let mut all = vec![cmd, s(policies)];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--state", s(state)]);
    writ(&all)
}

/// Dana (enrolled by [`Bundle::enrol_dana`], her key in `dir`) answers challenge `id` with
/// her key: `writ approve POLICIES ID --as dana@example.com --key DIR/dana.key MORE..`.
fn dana_approves(policies: &Path, state: &Path, id: &str, dir: &Path, more: &[&str]) -> Output {
    let key = dir.join("dana.key");
    let mut args = vec![id, "--as", "dana@example.com", "--key", s(&key)];
    args.extend_from_slice(more);
    flow(policies, state, "approve", &args)
}

/// The collection secret a `decide --state` output hands the requester.
fn secret(decided: &Json) -> String {
    decided["collection_secret"].as_str().unwrap().to_string()
}

#[test]
fn the_readme_walkthrough_runs_and_replay_is_refused() {
    let b = Bundle::new();
    let (dir, policies, state, request) = (
        b.dir.as_path(),
        b.policies.clone(),
        b.state.clone(),
        b.request.clone(),
    );
    let entry = b.enrol_dana();
    assert!(
        entry.starts_with("[[approver]]\nid = \"dana@example.com\""),
        "{entry}"
    );
    assert_eq!(
        writ(&["keygen", s(&dir.join("workload.key"))])
            .status
            .code(),
        Some(0)
    );
    // A key file is never overwritten.
    assert_eq!(
        writ(&["keygen", s(&dir.join("workload.key"))])
            .status
            .code(),
        Some(1)
    );

    let wk = dir.join("workload.key");
    let decided = flow(
        &policies,
        &state,
        "decide",
        &[s(&request), "--workload-key", s(&wk)],
    );
    assert_eq!(decided.status.code(), Some(0));
    let decided = json(&decided);
    assert_eq!(decided["decision"], "approve");
    let challenge = decided["challenge"]["id"].as_str().unwrap().to_string();
    let code = decided["challenge"]["code"].as_str().unwrap().to_string();
    assert!(decided["challenge"]["summary"]
        .as_str()
        .unwrap()
        .contains("alice@example.com"));

    // The wrong person, then the right one.
    let key = dir.join("dana.key");
    let wrong = flow(
        &policies,
        &state,
        "approve",
        &[&challenge, "--as", "owen@example.com", "--key", s(&key)],
    );
    assert_eq!(wrong.status.code(), Some(3));
    assert_eq!(json(&wrong)["refusal"]["code"], "bad_signature");
    let approved = flow(
        &policies,
        &state,
        "approve",
        &[
            &challenge,
            "--as",
            "dana@example.com",
            "--key",
            s(&key),
            "--code",
            &code,
        ],
    );
    assert_eq!(
        approved.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&approved.stdout)
    );
    let approved = json(&approved);
    assert_eq!(approved["challenge"]["state"], "granted");
    // The approver is never handed the grant; the requester collects it with its key.
    assert!(approved["challenge"].get("grant").is_none(), "{approved}");
    assert!(decided.get("collection_secret").is_none(), "{decided}");
    let grant = collect(&policies, &state, &challenge, &["--workload-key", s(&wk)]);
    let grant_file = dir.join("grant");
    std::fs::write(&grant_file, &grant).unwrap();
    let at_grant = format!("@{}", s(&grant_file));

    // Without the workload key the key-bound grant is useless.
    let stolen = flow(
        &policies,
        &state,
        "redeem",
        &[s(&request), "--grant", &at_grant],
    );
    assert_eq!(stolen.status.code(), Some(3));
    assert_eq!(json(&stolen)["refusal"]["code"], "key_mismatch");

    let redeemed = flow(
        &policies,
        &state,
        "redeem",
        &[s(&request), "--grant", &at_grant, "--workload-key", s(&wk)],
    );
    assert_eq!(
        redeemed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&redeemed.stdout)
    );
    let redeemed = json(&redeemed);
    assert_eq!(redeemed["decision"], "allow");
    assert_eq!(redeemed["obligations"][0]["name"], "record_session");

    let again = flow(
        &policies,
        &state,
        "redeem",
        &[s(&request), "--grant", &at_grant, "--workload-key", s(&wk)],
    );
    assert_eq!(again.status.code(), Some(3));
    let again = json(&again);
    assert_eq!(again["decision"], "deny");
    assert_eq!(again["refusal"]["code"], "replayed");

    // The audit log verifies; an edited record is named.
    let log = state.join("audit.jsonl");
    let ok = writ(&["audit", "verify", s(&log)]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("chain intact"));
    let head = String::from_utf8_lossy(&ok.stdout)
        .rsplit("head ")
        .next()
        .unwrap()
        .trim()
        .to_string();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(&grant));
    // Every record is signed by the state's audit key; its public half verifies them, a
    // record without its signature is named.
    let public = writ(&["audit", "key", "--state", s(&state)]);
    assert_eq!(public.status.code(), Some(0));
    let public_file = dir.join("audit.pub.jwk");
    std::fs::write(&public_file, &public.stdout).unwrap();
    let signed = writ(&["audit", "verify", s(&log), "--key", s(&public_file)]);
    assert_eq!(
        signed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&signed.stdout)
    );
    assert!(String::from_utf8_lossy(&signed.stdout).contains("every record signed"));
    let private = writ(&[
        "audit",
        "verify",
        s(&log),
        "--key",
        s(&state.join("audit.key")),
    ]);
    assert_eq!(private.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&private.stderr).contains("public key only"));
    let mut first: Json = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    first.as_object_mut().unwrap().remove("sig").unwrap();
    let unsigned = text.replacen(
        text.lines().next().unwrap(),
        &serde_json::to_string(&first).unwrap(),
        1,
    );
    std::fs::write(&log, &unsigned).unwrap();
    assert_eq!(writ(&["audit", "verify", s(&log)]).status.code(), Some(0));
    let named = writ(&["audit", "verify", s(&log), "--key", s(&public_file)]);
    assert_eq!(named.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&named.stdout).contains("line 1 (seq 1): unsigned"));
    let none = writ(&["audit", "key", "--state", s(&dir.join("nowhere"))]);
    assert_eq!(none.status.code(), Some(1));
    // Cut the last record: the chain alone still verifies, the kept head does not.
    let cut: String = text
        .lines()
        .take(text.lines().count() - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&log, &cut).unwrap();
    assert_eq!(writ(&["audit", "verify", s(&log)]).status.code(), Some(0));
    let lost = writ(&["audit", "verify", s(&log), "--head", &head]);
    assert_eq!(lost.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&lost.stdout).contains("not in the log"));
    std::fs::write(
        &log,
        text.replacen("alice@example.com", "mallory@example.com", 1),
    )
    .unwrap();
    let bad = writ(&["audit", "verify", s(&log)]);
    assert_eq!(bad.status.code(), Some(1));
    let report = String::from_utf8_lossy(&bad.stdout).into_owned();
    assert!(report.contains("line 1 (seq 1): edited"), "{report}");
}

#[test]
fn sign_makes_the_same_answer_remotely() {
    let b = Bundle::new();
    let (dir, policies, state, request) = (
        b.dir.as_path(),
        b.policies.clone(),
        b.state.clone(),
        b.request.clone(),
    );
    b.enrol_dana();

    let decided = json(&flow(&policies, &state, "decide", &[s(&request)]));
    let id = decided["challenge"]["id"].as_str().unwrap();
    let digest = decided["challenge"]["digest"].as_str().unwrap();
    let shown = json(&flow(&policies, &state, "challenge", &[id]));
    assert_eq!(shown["state"], "open");
    let sig = writ(&[
        "sign",
        "--key",
        s(&dir.join("dana.key")),
        "--challenge",
        id,
        "--digest",
        digest,
    ]);
    let sig = String::from_utf8(sig.stdout).unwrap();
    // base64url text may begin with `-`: it is a value, never taken for a flag.
    let forged = format!("-{}", &sig.trim()[1..]);
    let refused = flow(
        &policies,
        &state,
        "approve",
        &[id, "--as", "dana@example.com", "--signature", &forged],
    );
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(json(&refused)["refusal"]["code"].is_string());
    let answered = flow(
        &policies,
        &state,
        "approve",
        &[id, "--as", "dana@example.com", "--signature", sig.trim()],
    );
    assert_eq!(
        answered.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&answered.stderr)
    );
    let grant = collect(&policies, &state, id, &["--secret", &secret(&decided)]);
    // Not key-bound: no proof needed.
    let redeemed = flow(
        &policies,
        &state,
        "redeem",
        &[s(&request), "--grant", &grant],
    );
    assert_eq!(redeemed.status.code(), Some(0));
}

#[test]
fn two_replicas_share_one_redis_through_the_cli() {
    let redis = writ_testkit::Redis::start();
    let url = redis.url();
    let bundle = Bundle::new();
    let (dir, policies, request) = (
        bundle.dir.as_path(),
        bundle.policies.clone(),
        bundle.request.clone(),
    );
    bundle.enrol_dana();
    // Replica A opens the challenge; replica B (its own state directory, the same grant
    // key) approves it and redeems the grant; A then refuses the replay.
    let (a, b) = (dir.join("a"), dir.join("b"));
    let decided = json(&flow(
        &policies,
        &a,
        "decide",
        &[s(&request), "--redis", &url],
    ));
    let id = decided["challenge"]["id"].as_str().unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(a.join("grant.key"), b.join("grant.key")).unwrap();
    let approved = flow(
        &policies,
        &b,
        "approve",
        &[
            id,
            "--redis",
            &url,
            "--as",
            "dana@example.com",
            "--key",
            s(&dir.join("dana.key")),
        ],
    );
    assert_eq!(
        approved.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&approved.stdout)
    );
    let grant = collect(
        &policies,
        &b,
        id,
        &["--redis", &url, "--secret", &secret(&decided)],
    );
    let on_b = flow(
        &policies,
        &b,
        "redeem",
        &[s(&request), "--redis", &url, "--grant", &grant],
    );
    assert_eq!(on_b.status.code(), Some(0));
    let on_a = flow(
        &policies,
        &a,
        "redeem",
        &[s(&request), "--redis", &url, "--grant", &grant],
    );
    assert_eq!(on_a.status.code(), Some(3));
    assert_eq!(json(&on_a)["refusal"]["code"], "replayed");
    // Without Redis nothing is approved and nothing is redeemed: refusals that say why.
    let again = json(&flow(
        &policies,
        &b,
        "decide",
        &[s(&request), "--redis", &url],
    ));
    let id = again["challenge"]["id"].as_str().unwrap().to_string();
    let a2 = flow(
        &policies,
        &b,
        "approve",
        &[
            &id,
            "--redis",
            &url,
            "--as",
            "dana@example.com",
            "--key",
            s(&dir.join("dana.key")),
        ],
    );
    assert_eq!(json(&a2)["status"], "accepted");
    let grant_b = collect(
        &policies,
        &b,
        &id,
        &["--redis", &url, "--secret", &secret(&again)],
    );
    drop(redis);
    let down = flow(&policies, &a, "decide", &[s(&request), "--redis", &url]);
    assert_eq!(down.status.code(), Some(0));
    let down = json(&down);
    assert_eq!(down["decision"], "deny");
    assert_eq!(down["refusal"]["code"], "store_unavailable");
    let refused = flow(
        &policies,
        &b,
        "redeem",
        &[s(&request), "--redis", &url, "--grant", &grant_b],
    );
    assert_eq!(refused.status.code(), Some(3));
    assert_eq!(json(&refused)["refusal"]["code"], "store_unavailable");
    // Showing or answering a challenge: the same refusal, in their shape.
    for args in [
        vec![
            "challenge",
            s(&policies),
            &id,
            "--state",
            s(&b),
            "--redis",
            &url,
        ],
        vec![
            "approve",
            s(&policies),
            &id,
            "--state",
            s(&b),
            "--redis",
            &url,
            "--as",
            "dana@example.com",
            "--key",
            s(&dir.join("dana.key")),
        ],
        vec![
            "approve",
            s(&policies),
            &id,
            "--state",
            s(&b),
            "--redis",
            &url,
            "--as",
            "dana@example.com",
            "--signature",
            "AAAA",
        ],
    ] {
        let out = writ(&args);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = json(&out);
        assert_eq!(out["status"], "refused");
        assert_eq!(out["refusal"]["code"], "store_unavailable");
    }
    let bad_url = flow(
        &policies,
        &a,
        "decide",
        &[s(&request), "--redis", "notaurl"],
    );
    assert_eq!(bad_url.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad_url.stderr).into_owned();
    assert!(
        err.contains("redis://host:port/db") && !err.contains("InvalidClientConfig"),
        "{err}"
    );
}

/// Several `writ` processes on one state directory at once (scripts, parallel jobs): each
/// waits its turn for `state.redb`, and the grant is redeemed exactly once — every other
/// process is refused as a replay, none fails for the lock.
#[test]
fn concurrent_processes_on_one_state_directory_take_turns() {
    let b = Bundle::new();
    b.enrol_dana();
    let (policies, state, request) = (b.policies.clone(), b.state.clone(), b.request.clone());
    let decided = json(&flow(&policies, &state, "decide", &[s(&request)]));
    let id = decided["challenge"]["id"].as_str().unwrap().to_string();
    let approved = json(&dana_approves(&policies, &state, &id, &b.dir, &[]));
    assert_eq!(approved["status"], "accepted");
    let grant = collect(&policies, &state, &id, &["--secret", &secret(&decided)]);
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_writ"))
                .args([
                    "redeem",
                    s(&policies),
                    s(&request),
                    "--state",
                    s(&state),
                    "--grant",
                    &grant,
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        1,
        "{codes:?}: {}",
        outs.iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect::<String>()
    );
    for o in outs.iter().filter(|o| o.status.code() != Some(0)) {
        assert_eq!(
            o.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(json(o)["refusal"]["code"], "replayed");
    }
}

/// A workload whose platform signs ES256: a P-256 key from `writ keygen --p256` binds the
/// grant (`cnf`), and its proofs — made by `redeem --workload-key` or by `writ sign` — redeem
/// it; an Ed25519 key's proof does not.
#[test]
fn a_p256_workload_key_binds_and_redeems_its_grant() {
    let b = Bundle::new();
    b.enrol_dana();
    let (dir, policies, state, request) = (
        b.dir.as_path(),
        b.policies.clone(),
        b.state.clone(),
        b.request.clone(),
    );
    let wk = dir.join("workload-p256.key");
    let public = writ(&["keygen", s(&wk), "--p256"]);
    assert_eq!(public.status.code(), Some(0));
    let public = json(&public);
    assert_eq!(
        (public["kty"].as_str(), public["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert!(
        public.get("d").is_none(),
        "the private part is never printed"
    );
    let grant_for = |key: &Path| {
        let decided = json(&flow(
            &policies,
            &state,
            "decide",
            &[s(&request), "--workload-key", s(key)],
        ));
        let id = decided["challenge"]["id"].as_str().unwrap().to_string();
        let approved = json(&dana_approves(&policies, &state, &id, dir, &[]));
        assert_eq!(approved["status"], "accepted");
        collect(&policies, &state, &id, &["--workload-key", s(key)])
    };
    let redeem = |grant: &str, key_args: &[&str]| {
        let mut args = vec!["redeem", s(&policies), s(&request), "--state", s(&state)];
        args.extend(["--grant", grant]);
        args.extend(key_args);
        writ(&args)
    };
    let grant = grant_for(&wk);
    let ok = redeem(&grant, &["--workload-key", s(&wk)]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // A proof made elsewhere with `writ sign`; and another key's proof refused.
    let grant = grant_for(&wk);
    let other = dir.join("other-ed25519.key");
    assert_eq!(writ(&["keygen", s(&other)]).status.code(), Some(0));
    let wrong = writ(&["sign", "--key", s(&other), "--grant", &grant]);
    let wrong = String::from_utf8(wrong.stdout).unwrap();
    // The request as the workload sends it: its public key at `principal.key`.
    let mut sent: Json = serde_json::from_str(&std::fs::read_to_string(&request).unwrap()).unwrap();
    sent["principal"]["key"] = public.clone();
    let req = dir.join("sent.json");
    std::fs::write(&req, sent.to_string()).unwrap();
    let refused = flow(
        &policies,
        &state,
        "redeem",
        &[s(&req), "--grant", &grant, "--proof", wrong.trim()],
    );
    assert_eq!(refused.status.code(), Some(3));
    assert_eq!(json(&refused)["refusal"]["code"], "proof_invalid");
    let proof = writ(&["sign", "--key", s(&wk), "--grant", &grant]);
    let proof = String::from_utf8(proof.stdout).unwrap();
    let ok = flow(
        &policies,
        &state,
        "redeem",
        &[s(&req), "--grant", &grant, "--proof", proof.trim()],
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
}

/// The bundle's request with `edit` applied, written beside it as `name`.
fn edited(b: &Bundle, name: &str, edit: impl FnOnce(&mut Json)) -> PathBuf {
    let mut req: Json =
        serde_json::from_str(&std::fs::read_to_string(&b.request).unwrap()).unwrap();
    edit(&mut req);
    let path = b.dir.join(name);
    std::fs::write(&path, req.to_string()).unwrap();
    path
}

fn decide_with_state(b: &Bundle, request: &Path) -> Json {
    let out = writ(&["decide", s(&b.policies), s(request), "--state", s(&b.state)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

#[test]
fn a_backdated_request_opens_no_challenge_through_the_cli() {
    let b = Bundle::new();
    // The example request carries a fixed `time`, long past.
    let example = repo().join("policies/prod-database/requests/prod-write.json");
    let decided = decide_with_state(&b, &example);
    assert_eq!(decided["decision"], "deny");
    assert_eq!(decided["refusal"]["code"], "time_out_of_skew");
    assert!(decided.get("challenge").is_none());
    // A what-if question at that time is still answered.
    let plain = json(&writ(&["decide", s(&b.policies), s(&example)]));
    assert_eq!(plain["decision"], "approve");
}

#[test]
fn letter_case_does_not_pass_separation_of_duties_through_the_cli() {
    let b = Bundle::new();
    b.enrol_dana();
    let shouting = edited(&b, "shouting.json", |r| {
        r["principal"]["id"] = "DANA@Example.com".into();
    });
    let decided = decide_with_state(&b, &shouting);
    let id = decided["challenge"]["id"].as_str().unwrap();
    let own = dana_approves(&b.policies, &b.state, id, &b.dir, &[]);
    assert_eq!(own.status.code(), Some(3));
    assert_eq!(json(&own)["refusal"]["code"], "self_approval");
    // A registry with one person under two spellings does not check.
    let registry = b.policies.join("approvers.toml");
    let mut text = std::fs::read_to_string(&registry).unwrap();
    text.push_str("\n[[approver]]\nid = \"Dana@Example.com\"\ngroups = [\"dba\"]\n");
    std::fs::write(&registry, text).unwrap();
    let check = writ(&["check", s(&b.policies)]);
    assert_eq!(check.status.code(), Some(1));
    let err = String::from_utf8_lossy(&check.stderr).into_owned()
        + &String::from_utf8_lossy(&check.stdout);
    assert!(err.contains("one identity"), "{err}");
}

#[test]
fn the_approver_sees_the_hidden_tail_and_the_hidden_characters() {
    let b = Bundle::new();
    let query = format!(
        "UPDATE orders SET status = 'refunded' WHERE id = 884213{}; DROP TABLE orders",
        " ".repeat(200)
    );
    let tail = edited(&b, "tail.json", |r| {
        r["request"]["params"]["query"] = query.clone().into();
        r["request"]["params"]["note"] = "ok\u{202e}gnp.exe".into();
        r.as_object_mut().unwrap().remove("session");
    });
    let decided = decide_with_state(&b, &tail);
    let id = decided["challenge"]["id"].as_str().unwrap();
    let shown = writ(&["challenge", s(&b.policies), id, "--state", s(&b.state)]);
    assert_eq!(shown.status.code(), Some(0));
    let text = String::from_utf8(shown.stdout.clone()).unwrap();
    // The bidirectional override is printed as an escape, never raw.
    assert!(!text.contains('\u{202e}'), "{text}");
    assert!(text.contains("\\u202e"), "{text}");
    let view = json(&shown);
    let params = view["bound"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["path"] == "request.params")
        .unwrap();
    assert_eq!(params["value"]["query"], query.as_str());
    let summary = view["summary"].as_str().unwrap();
    assert!(summary.contains("; DROP TABLE"), "{summary}");
    assert!(summary.contains("SHORTENED"), "{summary}");
    // `session.id` is bound and absent: shown as missing, named in the decision.
    let session = view["bound"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["path"] == "session.id")
        .unwrap();
    assert_eq!(
        session,
        &serde_json::json!({"path": "session.id", "type": "missing", "missing": true})
    );
    assert_eq!(
        decided["approval"]["missing"],
        serde_json::json!(["session.id"])
    );
    assert!(summary.contains("session.id = <missing>"), "{summary}");
}

#[test]
fn a_request_without_a_principal_opens_no_challenge_through_the_cli() {
    let b = Bundle::new();
    let nobody = edited(&b, "nobody.json", |r| {
        r["principal"].as_object_mut().unwrap().remove("id");
    });
    let decided = decide_with_state(&b, &nobody);
    assert_eq!(decided["decision"], "deny");
    assert_eq!(decided["refusal"]["code"], "identity_missing");
    assert!(decided.get("challenge").is_none());
}

#[test]
fn only_the_requester_collects_the_grant_through_the_cli() {
    let b = Bundle::new();
    b.enrol_dana();
    let decided = decide_with_state(&b, &b.request);
    let id = decided["challenge"]["id"].as_str().unwrap();
    let approved = dana_approves(&b.policies, &b.state, id, &b.dir, &[]);
    assert_eq!(approved.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&approved.stdout).contains("v4.public"));
    let shown = writ(&["challenge", s(&b.policies), id, "--state", s(&b.state)]);
    assert!(!String::from_utf8_lossy(&shown.stdout).contains("v4.public"));
    let guessed = flow(
        &b.policies,
        &b.state,
        "collect",
        &[id, "--secret", "cs_guess"],
    );
    assert_eq!(guessed.status.code(), Some(3));
    assert_eq!(json(&guessed)["refusal"]["code"], "proof_invalid");
    let grant = collect(&b.policies, &b.state, id, &["--secret", &secret(&decided)]);
    assert!(grant.starts_with("v4.public."));
}

#[test]
fn a_proof_of_possession_covers_the_digest_and_its_time() {
    let b = Bundle::new();
    b.enrol_dana();
    let wk = b.dir.join("workload.key");
    assert_eq!(writ(&["keygen", s(&wk)]).status.code(), Some(0));
    let out = flow(
        &b.policies,
        &b.state,
        "decide",
        &[s(&b.request), "--workload-key", s(&wk)],
    );
    let decided = json(&out);
    let id = decided["challenge"]["id"].as_str().unwrap();
    let approved = dana_approves(&b.policies, &b.state, id, &b.dir, &[]);
    assert_eq!(approved.status.code(), Some(0));
    let grant = collect(&b.policies, &b.state, id, &["--workload-key", s(&wk)]);
    // A proof over another digest is refused; `writ sign --grant` signs the grant's own.
    let request_with_key = {
        let text = std::fs::read_to_string(&b.request).unwrap();
        let mut r: Json = serde_json::from_str(&text).unwrap();
        let public: Json = {
            let pair: Json = serde_json::from_str(&std::fs::read_to_string(&wk).unwrap()).unwrap();
            serde_json::json!({"kty": pair["kty"], "crv": pair["crv"], "x": pair["x"]})
        };
        r["principal"]["key"] = public;
        let path = b.dir.join("with-key.json");
        std::fs::write(&path, r.to_string()).unwrap();
        path
    };
    let zero = format!("sha256:{}", "0".repeat(64));
    let other = writ(&[
        "sign",
        "--key",
        s(&wk),
        "--grant",
        &grant,
        "--digest",
        &zero,
    ]);
    let other = String::from_utf8(other.stdout).unwrap();
    let (iat, _) = other.trim().split_once('.').unwrap();
    assert!(iat.parse::<i64>().is_ok(), "{other}");
    let redeem = |proof: &str| {
        flow(
            &b.policies,
            &b.state,
            "redeem",
            &[s(&request_with_key), "--grant", &grant, "--proof", proof],
        )
    };
    let refused = redeem(other.trim());
    assert_eq!(refused.status.code(), Some(3));
    assert_eq!(json(&refused)["refusal"]["code"], "proof_invalid");
    // A proof made a minute ago is stale.
    let stale_iat: i64 = iat.parse::<i64>().unwrap() - 120;
    let stale = format!("{stale_iat}.{}", other.trim().split_once('.').unwrap().1);
    assert_eq!(json(&redeem(&stale))["refusal"]["code"], "time_out_of_skew");
    let good = writ(&["sign", "--key", s(&wk), "--grant", &grant]);
    let good = String::from_utf8(good.stdout).unwrap();
    let ok = redeem(good.trim());
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
}

#[test]
fn a_refused_input_is_on_record_without_its_content() {
    let b = Bundle::new();
    let bad = b.dir.join("bad.json");
    std::fs::write(&bad, r#"{"principal": {"id": "SECRET-MARKER""#).unwrap();
    let out = writ(&["decide", s(&b.policies), s(&bad), "--state", s(&b.state)]);
    assert_eq!(out.status.code(), Some(1));
    let log = std::fs::read_to_string(b.state.join("audit.jsonl")).unwrap();
    let record: Json = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(record["event"], "input.refused");
    assert_eq!(record["step"], "decide");
    assert!(!log.contains("SECRET-MARKER"), "{log}");
    assert_eq!(
        writ(&["audit", "verify", s(&b.state.join("audit.jsonl"))])
            .status
            .code(),
        Some(0)
    );
}

/// Each `writ` command is a process of its own: the bound on refused-input records is kept
/// in the state store, so thirty refused commands in a row write at most twenty records a
/// minute, not thirty. (A minute boundary between the commands can let one more minute's
/// twenty through; the assertion allows for it.)
#[test]
fn refused_inputs_from_many_commands_stay_within_the_bound() {
    let b = Bundle::new();
    let bad = b.dir.join("bad.json");
    std::fs::write(&bad, "{bad").unwrap();
    for _ in 0..30 {
        let out = writ(&["decide", s(&b.policies), s(&bad), "--state", s(&b.state)]);
        assert_eq!(out.status.code(), Some(1));
    }
    let log = std::fs::read_to_string(b.state.join("audit.jsonl")).unwrap();
    let refused = log
        .lines()
        .filter(|l| l.contains("\"event\":\"input.refused\""))
        .count();
    let suppressed = log
        .lines()
        .filter(|l| l.contains("\"event\":\"input.refused.suppressed\""))
        .count();
    assert!(
        refused == 20 || (refused > 20 && suppressed == 1),
        "{refused} refused-input records, {suppressed} suppressed: {log}"
    );
}
