//! Attacks on the command line's own handling of state and output, through the `writ`
//! binary: a reader that closes its end early, audit logs made to crash the verifier,
//! files of a state directory readable by others, the administrator's commands.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::*;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Many requests as JSON Lines: far more output than a pipe buffers.
fn many_requests(dir: &Path) -> PathBuf {
    let one =
        std::fs::read_to_string(repo().join("policies/prod-database/requests/prod-write.json"))
            .unwrap();
    let line =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&one).unwrap()).unwrap();
    let path = dir.join("requests.jsonl");
    std::fs::write(&path, format!("{line}\n").repeat(20_000)).unwrap();
    path
}

fn assert_quiet_success(stderr: &[u8], status: std::process::ExitStatus) {
    let stderr = String::from_utf8_lossy(stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn a_reader_that_stops_reading_ends_decide_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let requests = many_requests(tmp.path());
    let policies = repo().join("policies/prod-database");
    let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["decide", s(&policies), "--requests", s(&requests)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, as `| head -n 1` does, and close the pipe.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"decision\""), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_quiet_success(&out.stderr, out.status);
}

#[test]
fn a_closed_output_ends_every_printing_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let policies = repo().join("policies/prod-database");
    let request = policies.join("requests/prod-write.json");
    let log = tmp.path().join("audit.jsonl");
    std::fs::write(&log, "{\"seq\":0}\n").unwrap();
    let commands: Vec<Vec<String>> = vec![
        vec!["decide".into(), s(&policies).into(), s(&request).into()],
        vec!["explain".into(), s(&policies).into(), s(&request).into()],
        vec!["check".into(), s(&policies).into()],
        vec!["audit".into(), "verify".into(), s(&log).into()],
        vec![
            "webauthn".into(),
            "get-challenge".into(),
            "--challenge".into(),
            "ch_4mFzT2bq9XyV0kLr8sPd1w".into(),
            "--digest".into(),
            "sha256:bd998adfd46eaff944ee5125a9ffaff2ecbf67d11ee8a2a3d2afd0946bc8adbb".into(),
        ],
    ];
    for args in commands {
        // The read end is closed before the command starts: every write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_writ"))
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        // `audit verify` of a bad log still says so (exit 1) on stderr; the rest end 0.
        if args[0] != "audit" {
            assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        }
    }
}

fn verify_quickly(text: &str) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("audit.jsonl");
    std::fs::write(&log, text).unwrap();
    let started = Instant::now();
    let out = writ(&["audit", "verify", s(&log)]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    out
}

#[test]
fn audit_verify_reports_seq_zero_instead_of_panicking() {
    let out = verify_quickly("{\"seq\":0}\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("seq 0 is never written"), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn audit_verify_reports_a_huge_seq_without_allocating_the_gap() {
    let out = verify_quickly("{\"seq\":100000000000}\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("99999999999 records (seq 1 to 99999999999) are missing"),
        "{stdout}"
    );
}

#[test]
fn audit_verify_reports_a_tail_at_the_largest_seq() {
    let out = verify_quickly(&format!("{{\"seq\":{}}}\n", u64::MAX));
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

const OTP_POLICY: &str = r#"
rule "refunds need a code" {
  when action == "payments.refund"
  approve { approvers 1 of group "finance"  method otp  ttl 2m }
}
"#;

/// 16 bytes of secret, padded base32 as authenticator apps and pyotp write it.
const PADDED_SECRET: &str = "AEBAGBAFAYDQQCIKBMGA2DQPCA======";

fn otp_world() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let policies = tmp.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("refunds.writ"), OTP_POLICY).unwrap();
    std::fs::write(
        policies.join("approvers.toml"),
        format!(
            "[[approver]]\nid = \"otto\"\ngroups = [\"finance\"]\ntotp = \"{PADDED_SECRET}\"\n"
        ),
    )
    .unwrap();
    let state = tmp.path().join("state");
    (tmp, policies, state)
}

fn open_refund(tmp: &Path, policies: &Path, state: &Path, account: &str) -> String {
    let request = tmp.join(format!("{account}.json"));
    std::fs::write(
        &request,
        serde_json::json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.refund",
            "resource": {"id": account}, "request": {"params": {}}})
        .to_string(),
    )
    .unwrap();
    let out = writ(&["decide", s(policies), s(&request), "--state", s(state)]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["challenge"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

fn otp_code_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    writ_testkit::totp_code(PADDED_SECRET, now)
}

fn refusal_code(out: &Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["refusal"]["code"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_padded_totp_secret_passes_writ_check() {
    let (_tmp, policies, _) = otp_world();
    let out = writ(&["check", s(&policies)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn guessing_codes_locks_the_approver_until_the_administrator_resets_it() {
    let (tmp, policies, state) = otp_world();
    let right = otp_code_now();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    // Ten wrong codes over two challenges (five lock a challenge).
    for account in ["a", "b"] {
        let id = open_refund(tmp.path(), &policies, &state, account);
        for _ in 0..5 {
            let out = writ(&[
                "approve",
                s(&policies),
                &id,
                "--as",
                "otto",
                "--otp",
                wrong,
                "--state",
                s(&state),
            ]);
            assert_eq!(out.status.code(), Some(3));
            assert_eq!(refusal_code(&out), "bad_otp");
        }
    }
    // Two locked challenges keep their slots; a third opens (per action: three).
    let id = open_refund(tmp.path(), &policies, &state, "c");
    let out = writ(&[
        "approve",
        s(&policies),
        &id,
        "--as",
        "otto",
        "--otp",
        &otp_code_now(),
        "--state",
        s(&state),
    ]);
    assert_eq!(refusal_code(&out), "otp_locked");
    // The administrator resets otto; the right code is accepted again.
    let out = writ(&[
        "approver",
        "reset",
        s(&policies),
        "--as",
        "otto",
        "--state",
        s(&state),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["before"]["failures"], 10, "{v}");
    let out = writ(&[
        "approve",
        s(&policies),
        &id,
        "--as",
        "otto",
        "--otp",
        &otp_code_now(),
        "--state",
        s(&state),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // An approver who is not in the registry: a clear error, exit 1.
    let out = writ(&[
        "approver",
        "reset",
        s(&policies),
        "--as",
        "nobody",
        "--state",
        s(&state),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`nobody` is not in the approver registry")
    );
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `writ ARGS` under `umask 000`: whatever it creates gets exactly the mode it asks for.
fn writ_umask_000(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_writ"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn under_umask_000_the_state_and_keys_are_readable_by_their_owner_only() {
    let tmp = tempfile::tempdir().unwrap();
    let policies = repo().join("policies/prod-database");
    let request = policies.join("requests/prod-write.json");
    let state = tmp.path().join("state");
    let out = writ_umask_000(&["decide", s(&policies), s(&request), "--state", s(&state)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&state), 0o700, "the state directory");
    for file in ["state.redb", "audit.jsonl", "grant.key", "audit.key"] {
        assert_eq!(mode(&state.join(file)), 0o600, "{file}");
    }
    // Nothing temporary is left behind.
    let names: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    let key = tmp.path().join("dana.key");
    let out = writ_umask_000(&["keygen", s(&key)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(mode(&key), 0o600, "a keygen key");
    // keygen never overwrites.
    let out = writ_umask_000(&["keygen", s(&key)]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn registering_a_security_key_keeps_the_registry_file_private() {
    use writ::webauthn::soft::SoftAuthenticator;
    let tmp = tempfile::tempdir().unwrap();
    let policies = tmp.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("refunds.writ"), OTP_POLICY).unwrap();
    let registry = policies.join("approvers.toml");
    std::fs::write(
        &registry,
        format!("[relying_party]\nrp_id = \"approvals.example.com\"\norigins = [\"https://approvals.example.com\"]\n\n[[approver]]\nid = \"otto\"\ngroups = [\"finance\"]\ntotp = \"{PADDED_SECRET}\"\n"),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&registry, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let state = tmp.path().join("state");
    let issued = writ_umask_000(&[
        "webauthn",
        "challenge",
        s(&policies),
        "--state",
        s(&state),
        "--as",
        "otto",
    ]);
    assert_eq!(
        issued.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let challenge = String::from_utf8_lossy(&issued.stdout).trim().to_string();
    let attestation = SoftAuthenticator::es256(b"otto").register(
        "approvals.example.com",
        "https://approvals.example.com",
        &writ::approvals::unb64(&challenge, "challenge").unwrap(),
    );
    let att = tmp.path().join("att.json");
    std::fs::write(&att, serde_json::to_string(&attestation).unwrap()).unwrap();
    let out = writ_umask_000(&[
        "webauthn",
        "register",
        s(&policies),
        "--state",
        s(&state),
        "--as",
        "otto",
        "--challenge",
        &challenge,
        "--attestation",
        s(&att),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&registry)
        .unwrap()
        .contains("[[webauthn]]"));
    assert_eq!(mode(&registry), 0o600, "the rewrite kept the file's mode");
}

#[test]
fn a_verifier_gets_the_public_grant_key_without_the_private_file() {
    let tmp = tempfile::tempdir().unwrap();
    let policies = repo().join("policies/prod-database");
    let request = policies.join("requests/prod-write.json");
    let state = tmp.path().join("state");
    let out = writ(&["grant", "key", "--state", s(&state)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no grant key"));
    assert_eq!(
        writ(&["decide", s(&policies), s(&request), "--state", s(&state)])
            .status
            .code(),
        Some(0)
    );
    let out = writ(&["grant", "key", "--state", s(&state)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = writ::approvals::GrantKey::load_or_create(&state.join("grant.key")).unwrap();
    assert_eq!(v["kid"], key.kid());
    assert!(v["kid"].as_str().unwrap().starts_with("k4.pid."), "{v}");
    assert!(
        v["paserk"].as_str().unwrap().starts_with("k4.public."),
        "{v}"
    );
    assert_eq!(v["jwk"]["kty"], "OKP");
    assert_eq!(v["jwk"]["kid"], v["kid"]);
    assert!(v["jwk"].get("d").is_none(), "never the private half: {v}");
    let text = String::from_utf8_lossy(&out.stdout);
    let private = std::fs::read_to_string(state.join("grant.key")).unwrap();
    let d: serde_json::Value = serde_json::from_str(&private).unwrap();
    assert!(!text.contains(d["d"].as_str().unwrap()));
}
