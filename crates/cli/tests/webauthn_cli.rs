//! `writ webauthn …` end to end through the binary, with the software authenticator: a
//! registration challenge issued by the engine and accepted once, a registration from
//! `PublicKeyCredential.toJSON()` output, an approval whose WebAuthn challenge comes from
//! `writ webauthn get-challenge`, and the refusals.

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

use writ::webauthn::soft::SoftAuthenticator;

use writ_testkit::sets::{ORIGIN, RP_ID as RP};

fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// The bundled prod-database set, with `wendy@example.com` (a db owner without
/// credentials yet) and a relying party in its registry.
struct Set {
    tmp: tempfile::TempDir,
    policies: PathBuf,
    state: PathBuf,
    request: PathBuf,
}

impl Set {
    fn new() -> Set {
        let tmp = tempfile::tempdir().unwrap();
        let policies = tmp.path().join("policies");
        copy_dir(&repo().join("policies/prod-database"), &policies);
        let path = policies.join("approvers.toml");
        let mut registry = std::fs::read_to_string(&path).unwrap();
        registry.push_str(&format!(
            "\n[[approver]]\nid = \"wendy@example.com\"\ngroups = [\"db-owners\"]\n\n[relying_party]\nrp_id = \"{RP}\"\norigins = [\"{ORIGIN}\"]\n"
        ));
        std::fs::write(path, registry).unwrap();
        // The bundled request without its fixed `time`: through the flow, a decision takes
        // effect at the engine's clock, and a request from another day is refused.
        let mut request: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                repo().join("policies/prod-database/requests/prod-write.json"),
            )
            .unwrap(),
        )
        .unwrap();
        request.as_object_mut().unwrap().remove("time");
        let request_path = tmp.path().join("request.json");
        std::fs::write(&request_path, request.to_string()).unwrap();
        Set {
            state: tmp.path().join("state"),
            request: request_path,
            policies,
            tmp,
        }
    }

    fn file(&self, name: &str, body: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    }

    fn challenge(&self, approver: &str) -> String {
        let out = writ(&[
            "webauthn",
            "challenge",
            s(&self.policies),
            "--state",
            s(&self.state),
            "--as",
            approver,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out).trim().to_string()
    }

    fn register(&self, approver: &str, challenge: &str, attestation: &Path) -> Output {
        writ(&[
            "webauthn",
            "register",
            s(&self.policies),
            "--state",
            s(&self.state),
            "--as",
            approver,
            "--challenge",
            challenge,
            "--attestation",
            s(attestation),
        ])
    }

    /// A registration response from `key` over `challenge`, as `toJSON()` writes it.
    fn response(&self, key: &mut SoftAuthenticator, challenge: &str, name: &str) -> PathBuf {
        let attestation = key.register(RP, ORIGIN, &unb64(challenge));
        self.file(name, &serde_json::to_string(&attestation).unwrap())
    }
}

#[test]
fn a_security_key_registers_through_the_cli_and_approves() {
    let set = Set::new();
    let mut key = SoftAuthenticator::es256(b"wendy");
    let challenge = set.challenge("wendy@example.com");
    let response = set.response(&mut key, &challenge, "att.json");
    let text = std::fs::read_to_string(&response).unwrap();
    assert!(text.starts_with(r#"{"id":"#), "toJSON() shape: {text}");
    let reg = set.register("wendy@example.com", &challenge, &response);
    assert_eq!(reg.status.code(), Some(0), "{}", stderr(&reg));
    assert!(
        stdout(&reg)
            .trim()
            .to_string()
            .contains("attestation = \"none\""),
        "{}",
        stdout(&reg).trim().to_string()
    );

    let decided = json(&writ(&[
        "decide",
        s(&set.policies),
        s(&set.request),
        "--state",
        s(&set.state),
    ]));
    let id = decided["challenge"]["id"].as_str().unwrap();
    let digest = decided["challenge"]["digest"].as_str().unwrap();
    let get = writ(&[
        "webauthn",
        "get-challenge",
        "--challenge",
        id,
        "--digest",
        digest,
    ]);
    assert_eq!(get.status.code(), Some(0), "{}", stderr(&get));
    let bytes = unb64(stdout(&get).trim());
    assert_eq!(bytes, writ::approvals::webauthn_challenge(id, digest));
    let assertion = key.assert(RP, ORIGIN, &bytes, true);
    let assertion = set.file(
        "assertion.json",
        &serde_json::to_string(&assertion).unwrap(),
    );
    let approve = |file: &Path| {
        writ(&[
            "approve",
            s(&set.policies),
            id,
            "--state",
            s(&set.state),
            "--as",
            "wendy@example.com",
            "--webauthn",
            s(file),
        ])
    };
    let approved = approve(&assertion);
    assert_eq!(approved.status.code(), Some(0), "{}", stdout(&approved));
    assert_eq!(
        json(&approved)["challenge"]["approvals"][0]["method"],
        "webauthn"
    );
}

#[test]
fn an_assertion_over_the_bare_digest_is_refused() {
    // WebAuthn challenges of version 1 (the digest's 32 bytes) answer no challenge now.
    let set = Set::new();
    let mut key = SoftAuthenticator::es256(b"wendy");
    let challenge = set.challenge("wendy@example.com");
    let response = set.response(&mut key, &challenge, "att.json");
    assert_eq!(
        set.register("wendy@example.com", &challenge, &response)
            .status
            .code(),
        Some(0)
    );
    let decided = json(&writ(&[
        "decide",
        s(&set.policies),
        s(&set.request),
        "--state",
        s(&set.state),
    ]));
    let id = decided["challenge"]["id"].as_str().unwrap();
    let digest = decided["challenge"]["digest"].as_str().unwrap();
    let v1: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&digest[7 + 2 * i..9 + 2 * i], 16).unwrap())
        .collect();
    let assertion = set.file(
        "v1.json",
        &serde_json::to_string(&key.assert(RP, ORIGIN, &v1, true)).unwrap(),
    );
    let out = writ(&[
        "approve",
        s(&set.policies),
        id,
        "--state",
        s(&set.state),
        "--as",
        "wendy@example.com",
        "--webauthn",
        s(&assertion),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert_eq!(json(&out)["refusal"]["code"], "bad_webauthn");
}

#[test]
fn a_registration_challenge_is_refused_for_someone_not_in_the_registry() {
    let set = Set::new();
    let out = writ(&[
        "webauthn",
        "challenge",
        s(&set.policies),
        "--state",
        s(&set.state),
        "--as",
        "mallory@example.com",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("`mallory@example.com` is not in"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_registration_challenge_is_accepted_once_through_the_cli() {
    let set = Set::new();
    let challenge = set.challenge("wendy@example.com");
    let first = set.response(
        &mut SoftAuthenticator::es256(b"wendy"),
        &challenge,
        "a.json",
    );
    let second = set.response(
        &mut SoftAuthenticator::ed25519(b"wendy 2"),
        &challenge,
        "b.json",
    );
    assert_eq!(
        set.register("wendy@example.com", &challenge, &first)
            .status
            .code(),
        Some(0)
    );
    let again = set.register("wendy@example.com", &challenge, &second);
    assert_eq!(again.status.code(), Some(3));
    assert!(
        stderr(&again).contains("used already"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_registration_challenge_the_engine_did_not_issue_is_refused() {
    let set = Set::new();
    // Made up by the registrant: the response is over it, and it is still refused.
    let made_up = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let response = set.response(&mut SoftAuthenticator::es256(b"wendy"), made_up, "a.json");
    let out = set.register("wendy@example.com", made_up, &response);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("ask for one"), "{}", stderr(&out));
    // Issued for another approver.
    let owen = set.challenge("owen@example.com");
    let response = set.response(&mut SoftAuthenticator::es256(b"wendy"), &owen, "b.json");
    let out = set.register("wendy@example.com", &owen, &response);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("not issued by this engine for `wendy@example.com`"),
        "{}",
        stderr(&out)
    );
    // Nothing was written.
    let registry = std::fs::read_to_string(set.policies.join("approvers.toml")).unwrap();
    assert!(!registry.contains("[[webauthn]]"));
}

/// Registering against a registry that cannot be read is a bad path (exit 1), not a
/// refused registration (exit 3).
#[test]
fn a_registration_against_a_missing_registry_is_invalid_input() {
    let set = Set::new();
    let attestation = set.file(
        "attestation.json",
        r#"{"attestation_object": "oA", "client_data_json": "e30"}"#,
    );
    let out = writ(&[
        "webauthn",
        "register",
        s(&set.tmp.path().join("nowhere")),
        "--state",
        s(&set.state),
        "--as",
        "dana@example.com",
        "--challenge",
        "AAAA",
        "--attestation",
        s(&attestation),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn get_challenge_prints_the_documented_worked_example() {
    // docs/language.md §21 gives these bytes.
    let digest = "sha256:bd998adfd46eaff944ee5125a9ffaff2ecbf67d11ee8a2a3d2afd0946bc8adbb";
    let id = "ch_4mFzT2bq9XyV0kLr8sPd1w";
    let approve = writ(&[
        "webauthn",
        "get-challenge",
        "--challenge",
        id,
        "--digest",
        digest,
    ]);
    assert_eq!(
        stdout(&approve).trim().to_string(),
        "wTDc4ZWHhFDd2D54P-xIYmIh4EiA5gHySzhneqwaXsA"
    );
    let deny = writ(&[
        "webauthn",
        "get-challenge",
        "--challenge",
        id,
        "--digest",
        digest,
        "--deny",
    ]);
    assert_eq!(
        stdout(&deny).trim().to_string(),
        "qozeAjXPTKJ10L3-sxSVN4WeH2Wq0NjDAsn-tr3z8vE"
    );
}

#[test]
fn an_invitation_link_enrols_one_passkey_through_the_service() {
    let set = Set::new();
    let invite = |who: &str, extra: &[&str]| {
        let mut args = vec![
            "webauthn",
            "invite",
            s(&set.policies),
            "--state",
            s(&set.state),
            "--as",
            who,
        ];
        args.extend_from_slice(extra);
        writ(&args)
    };
    // Before the server ever ran on this state there is no key to sign with.
    let early = invite("wendy@example.com", &[]);
    assert_eq!(early.status.code(), Some(1), "{}", stderr(&early));
    assert!(
        stderr(&early).contains("start `writ serve --state"),
        "{}",
        stderr(&early)
    );
    // The service over the state (as `writ serve --state` opens it).
    let store = std::sync::Arc::new(
        writ::PolicyStore::open(&set.policies, writ::StoreConfig::default()).unwrap(),
    );
    let approvals = writ::approvals::Approvals::with_state_dir(
        store,
        &set.state,
        writ::approvals::Config::default(),
    )
    .unwrap();
    let out = invite("wendy@example.com", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let link = stdout(&out).trim().to_string();
    let token = link
        .strip_prefix(&format!("{ORIGIN}/enroll/"))
        .unwrap_or_else(|| panic!("a link on the relying party's origin: {link}"));
    assert!(stderr(&out).contains("15 minutes"), "{}", stderr(&out));
    let with_url = invite(
        "wendy@example.com",
        &["--url", "https://elsewhere.example/"],
    );
    assert!(stdout(&with_url).starts_with("https://elsewhere.example/enroll/"));
    // The service over the same state accepts the token and names the approver.
    assert_eq!(
        approvals.webauthn_invitee(token).unwrap(),
        "wendy@example.com"
    );
    // Someone who is not an approver: refused, exit 3.
    let refused = invite("mallory@example.com", &[]);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("not in"), "{}", stderr(&refused));
}
