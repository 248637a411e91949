//! WebAuthn evidence through the approval flow, with a real software authenticator:
//! registration into the registry (through the service's signed, expiring, once-only
//! registration challenges), a good assertion over the challenge (id and digest), and the
//! refusals — another challenge or digest, a wrong origin or rp id, no user verification, a
//! replayed assertion or its high-S twin, a cloned counter, a key shared by two approvers,
//! a non-WebAuthn method where WebAuthn is required.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use fixture::World;
use serde_json::json;
use writ_approvals::{Evidence, RefusalCode, RegistryFile};
use writ_webauthn::soft::SoftAuthenticator;

use writ_testkit::sets::{ORIGIN, RP_ID as RP};

fn enrolled(w: &World, mut key: SoftAuthenticator) -> SoftAuthenticator {
    let challenge = w
        .approvals
        .webauthn_registration_challenge("wendy")
        .unwrap()
        .unwrap();
    let attestation = key.register(RP, ORIGIN, &challenge);
    let entry = w
        .approvals
        .register_webauthn("wendy", &challenge, &attestation)
        .unwrap()
        .unwrap();
    assert!(
        entry.starts_with("[[webauthn]]\napprover = \"wendy\""),
        "{entry}"
    );
    assert!(entry.contains("attestation = \"none\""), "{entry}");
    // Registering the same credential twice is refused (the library call, without a
    // registration challenge of the service's).
    let again = key.register(RP, ORIGIN, &[7u8; 32]);
    let registry = RegistryFile::in_dir(&w.policy_dir()).unwrap();
    let refused = registry
        .register_webauthn("wendy", &[7u8; 32], &again)
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("registered already"), "{refused}");
    key
}

fn wire(w: &World) -> serde_json::Value {
    let mut r = w.transfer();
    r["action"] = json!("payments.wire");
    r
}

/// The WebAuthn challenge that approves challenge `id` over `digest`.
fn approving(id: &str, digest: &str) -> [u8; 32] {
    writ_approvals::webauthn_challenge(id, digest)
}

fn answer(w: &World, id: &str, assertion: writ_webauthn::Assertion) -> writ_approvals::Answered {
    w.answer("wendy", id, true, Evidence::Webauthn { assertion })
}

#[test]
fn a_registered_security_key_approves_and_the_grant_redeems() {
    for key in [
        SoftAuthenticator::es256(b"wendy"),
        SoftAuthenticator::ed25519(b"wendy"),
    ] {
        let w = World::new();
        let mut key = enrolled(&w, key);
        let req = wire(&w);
        let (id, digest) = w.open(&req);
        let a = answer(
            &w,
            &id,
            key.assert(RP, ORIGIN, &approving(&id, &digest), true),
        );
        assert_eq!(a.status, "accepted", "{:?}", a.refusal);
        let c = a.challenge.unwrap();
        assert_eq!(c.approvals[0].method.as_str(), "webauthn");
        let grant = w.collect(&id);
        assert_eq!(w.redeem(&req, &grant, Some(&w.proof(&grant))).0, "allow");
    }
}

#[test]
fn an_assertion_over_another_digest_is_refused() {
    let w = World::new();
    let mut key = enrolled(&w, SoftAuthenticator::es256(b"wendy"));
    let (id, _) = w.open(&wire(&w));
    let mut other = wire(&w);
    other["request"]["params"]["amount"] = json!(1);
    let (other_id, other_digest) = w.open(&other);
    let a = answer(
        &w,
        &id,
        key.assert(RP, ORIGIN, &approving(&other_id, &other_digest), true),
    );
    assert_eq!(a.refusal.unwrap().code, RefusalCode::BadWebauthn);
}

#[test]
fn a_wrong_origin_a_wrong_rp_id_and_missing_user_verification_are_refused() {
    let w = World::new();
    let mut key = enrolled(&w, SoftAuthenticator::es256(b"wendy"));
    let (id, digest) = w.open(&wire(&w));
    let d = approving(&id, &digest);
    let phished = answer(
        &w,
        &id,
        key.assert(RP, "https://approvals.example.com.evil.test", &d, true),
    );
    let refusal = phished.refusal.unwrap();
    assert_eq!(refusal.code, RefusalCode::BadWebauthn);
    assert!(refusal.message.contains("evil.test"), "{}", refusal.message);
    let wrong_rp = answer(&w, &id, key.assert("evil.test", ORIGIN, &d, true));
    assert_eq!(wrong_rp.refusal.unwrap().code, RefusalCode::BadWebauthn);
    let no_uv = answer(&w, &id, key.assert(RP, ORIGIN, &d, false));
    assert_eq!(no_uv.refusal.unwrap().code, RefusalCode::BadWebauthn);
    // Still open; the right assertion is accepted.
    let ok = answer(&w, &id, key.assert(RP, ORIGIN, &d, true));
    assert_eq!(ok.status, "accepted", "{:?}", ok.refusal);
}

#[test]
fn a_replayed_assertion_or_a_cloned_key_is_refused_and_reported() {
    let w = World::new();
    let mut key = enrolled(&w, SoftAuthenticator::es256(b"wendy"));
    let req = wire(&w);
    let (id, digest) = w.open(&req);
    let clone = key.clone();
    let first = key.assert(RP, ORIGIN, &approving(&id, &digest), true);
    assert_eq!(
        answer(&w, &id, first.clone()).challenge.unwrap().state,
        "granted"
    );
    // The same transaction again (a new challenge with the same digest): the captured
    // assertion is replayed, then a clone of the key signs with the old counter.
    let grant = w.collect(&id);
    assert_eq!(w.redeem(&req, &grant, Some(&w.proof(&grant))).0, "allow");
    let (id2, digest2) = w.open(&req);
    assert_eq!(digest2, digest);
    // Refused by construction: the assertion answers the first challenge only.
    let replayed = answer(&w, &id2, first);
    let r = replayed.refusal.unwrap();
    assert_eq!(r.code, RefusalCode::BadWebauthn, "{}", r.message);
    assert!(r.message.contains("challenge"), "{}", r.message);
    let mut clone = clone;
    let cloned = answer(
        &w,
        &id2,
        clone.assert(RP, ORIGIN, &approving(&id2, &digest2), true),
    );
    assert_eq!(cloned.refusal.unwrap().code, RefusalCode::PossibleClone);
}

#[test]
fn a_signature_is_too_weak_where_webauthn_is_required() {
    let w = World::new();
    let (id, digest) = w.open(&wire(&w));
    let a = w.sign("dana", &id, &digest, true);
    assert_eq!(a.refusal.unwrap().code, RefusalCode::MethodTooWeak);
}

#[test]
fn an_approver_without_a_credential_is_refused() {
    let w = World::new();
    let mut stranger = SoftAuthenticator::es256(b"stranger");
    let (id, digest) = w.open(&wire(&w));
    let a = answer(
        &w,
        &id,
        stranger.assert(RP, ORIGIN, &approving(&id, &digest), true),
    );
    assert_eq!(a.refusal.unwrap().code, RefusalCode::NoCredential);
}

fn deny_with(w: &World, id: &str, assertion: writ_webauthn::Assertion) -> writ_approvals::Answered {
    w.answer("wendy", id, false, Evidence::Webauthn { assertion })
}

#[test]
fn a_denial_made_with_a_security_key_cannot_be_turned_into_an_approval() {
    let w = World::new();
    let mut key = enrolled(&w, SoftAuthenticator::es256(b"wendy"));
    let (id, digest) = w.open(&wire(&w));
    let deny_bytes = writ_approvals::webauthn_deny_challenge(&id, &digest);
    let denial = key.assert(RP, ORIGIN, &deny_bytes, true);
    // Intercepted and sent as an approval: refused.
    assert_eq!(
        answer(&w, &id, denial.clone()).refusal.unwrap().code,
        RefusalCode::BadWebauthn
    );
    // An approval's assertion sent as a denial: refused too.
    let approval = key.assert(RP, ORIGIN, &approving(&id, &digest), true);
    assert_eq!(
        deny_with(&w, &id, approval).refusal.unwrap().code,
        RefusalCode::BadWebauthn
    );
    // The denial as made closes the challenge.
    assert_eq!(
        deny_with(&w, &id, key.assert(RP, ORIGIN, &deny_bytes, true))
            .challenge
            .unwrap()
            .state,
        "denied"
    );
}

/// A synced passkey: sign count 0, always.
fn passkey(seed: &[u8]) -> SoftAuthenticator {
    let mut key = SoftAuthenticator::es256(seed);
    key.set_sign_count(0);
    key.hold_counter(true);
    key
}

#[test]
fn a_synced_passkey_without_a_counter_approves_by_default() {
    let w = World::new();
    let mut key = enrolled(&w, passkey(b"wendy"));
    let req = wire(&w);
    for _ in 0..2 {
        // The identical transaction twice: each challenge has its own id, so each fresh
        // assertion is new (even from this deterministic signer).
        let (id, digest) = w.open(&req);
        let a = answer(
            &w,
            &id,
            key.assert(RP, ORIGIN, &approving(&id, &digest), true),
        );
        assert_eq!(a.status, "accepted", "{:?}", a.refusal);
        assert_eq!(a.challenge.unwrap().state, "granted");
        let grant = w.collect(&id);
        assert_eq!(w.redeem(&req, &grant, Some(&w.proof(&grant))).0, "allow");
    }
}

#[test]
fn a_counterless_assertion_cannot_approve_a_second_execution() {
    let w = World::new();
    let mut key = enrolled(&w, passkey(b"wendy"));
    let req = wire(&w);
    let (id, digest) = w.open(&req);
    let captured = key.assert(RP, ORIGIN, &approving(&id, &digest), true);
    assert_eq!(
        answer(&w, &id, captured.clone()).challenge.unwrap().state,
        "granted"
    );
    let grant = w.collect(&id);
    assert_eq!(w.redeem(&req, &grant, Some(&w.proof(&grant))).0, "allow");
    // The identical transaction again: the captured assertion answers the first
    // challenge only, whatever the (absent) counter says. Its high-S twin neither.
    let (id2, _) = w.open(&req);
    for replay in [captured.clone(), twin(&captured)] {
        let r = answer(&w, &id2, replay).refusal.unwrap();
        assert_eq!(r.code, RefusalCode::BadWebauthn, "{}", r.message);
    }
}

/// The other ES256 signature over the same bytes: `(r, s)` becomes `(r, n − s)`.
fn twin(assertion: &writ_webauthn::Assertion) -> writ_webauthn::Assertion {
    let sig = p256::ecdsa::Signature::from_der(&assertion.signature).unwrap();
    let (r, s) = sig.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r, -s).unwrap();
    assert_ne!(flipped, sig);
    let mut twin = assertion.clone();
    twin.signature = flipped.to_der().as_bytes().to_vec();
    assert_ne!(twin.signature, assertion.signature);
    twin
}

#[test]
fn a_high_s_twin_has_the_identity_of_its_original() {
    let mut key = passkey(b"wendy");
    let a = key.assert(RP, ORIGIN, &[1; 32], true);
    assert_eq!(
        writ_approvals::webauthn_assertion_id(&a),
        writ_approvals::webauthn_assertion_id(&twin(&a))
    );
}

#[test]
fn a_high_s_twin_of_a_used_assertion_is_refused_as_a_replay() {
    let w = World::new();
    let mut key = enrolled(&w, passkey(b"wendy"));
    let (id, digest) = w.open(&wire(&w));
    let a = key.assert(RP, ORIGIN, &approving(&id, &digest), true);
    // Used once (it verified and was recorded), refused for its binding code.
    let wrong_code = w
        .approvals
        .answer(&writ_approvals::Answer {
            challenge: id.clone(),
            approver: "wendy".into(),
            approve: true,
            code: Some("000000".into()),
            evidence: Evidence::Webauthn {
                assertion: a.clone(),
            },
        })
        .unwrap();
    assert!(wrong_code.refusal.is_some());
    // Its twin, re-encoded by whoever saw it: the same assertion, refused.
    let again = answer(&w, &id, twin(&a));
    assert!(again.refusal.is_some(), "the twin was accepted");
    assert_ne!(
        w.approvals.challenge(&id).unwrap().unwrap().state,
        "granted"
    );
}

#[test]
fn a_counter_that_goes_backwards_is_still_a_possible_clone() {
    let w = World::new();
    let mut key = SoftAuthenticator::es256(b"wendy");
    key.set_sign_count(10);
    let mut key = enrolled(&w, key);
    let (id, digest) = w.open(&wire(&w));
    let mut behind = key.clone();
    behind.set_sign_count(3);
    let r = answer(
        &w,
        &id,
        behind.assert(RP, ORIGIN, &approving(&id, &digest), true),
    )
    .refusal
    .unwrap();
    assert_eq!(r.code, RefusalCode::PossibleClone, "{}", r.message);
    // A counter that stops (held at its registered value) is refused as well.
    let mut stuck = key.clone();
    stuck.hold_counter(true);
    let r = answer(
        &w,
        &id,
        stuck.assert(RP, ORIGIN, &approving(&id, &digest), true),
    )
    .refusal
    .unwrap();
    assert_eq!(r.code, RefusalCode::PossibleClone, "{}", r.message);
    let ok = answer(
        &w,
        &id,
        key.assert(RP, ORIGIN, &approving(&id, &digest), true),
    );
    assert_eq!(ok.status, "accepted", "{:?}", ok.refusal);
}

#[test]
fn a_registration_challenge_is_good_once_for_its_approver_and_unexpired() {
    let w = World::new();
    let mut key = SoftAuthenticator::es256(b"wendy");
    let challenge = w
        .approvals
        .webauthn_registration_challenge("wendy")
        .unwrap()
        .unwrap();
    // A challenge the engine did not issue.
    let mut forged = challenge.clone();
    forged[0] ^= 1;
    let r = w
        .approvals
        .register_webauthn("wendy", &forged, &key.register(RP, ORIGIN, &forged))
        .unwrap()
        .unwrap_err();
    assert!(r.contains("not issued by this engine"), "{r}");
    let r = w
        .approvals
        .register_webauthn("wendy", &[7; 32], &key.register(RP, ORIGIN, &[7; 32]))
        .unwrap()
        .unwrap_err();
    assert!(r.contains("ask for one"), "{r}");
    // Issued for someone else.
    let r = w
        .approvals
        .register_webauthn("dana", &challenge, &key.register(RP, ORIGIN, &challenge))
        .unwrap()
        .unwrap_err();
    assert!(r.contains("not issued by this engine for `dana`"), "{r}");
    // Good once.
    let attestation = key.register(RP, ORIGIN, &challenge);
    w.approvals
        .register_webauthn("wendy", &challenge, &attestation)
        .unwrap()
        .unwrap();
    let mut other = SoftAuthenticator::ed25519(b"wendy's second key");
    let r = w
        .approvals
        .register_webauthn("wendy", &challenge, &other.register(RP, ORIGIN, &challenge))
        .unwrap()
        .unwrap_err();
    assert!(r.contains("used already"), "{r}");
}

#[test]
fn an_expired_registration_challenge_is_refused() {
    let w = World::new();
    let challenge = w
        .approvals
        .webauthn_registration_challenge("wendy")
        .unwrap()
        .unwrap();
    w.now.fetch_add(600, std::sync::atomic::Ordering::SeqCst);
    let mut key = SoftAuthenticator::es256(b"wendy");
    let r = w
        .approvals
        .register_webauthn("wendy", &challenge, &key.register(RP, ORIGIN, &challenge))
        .unwrap()
        .unwrap_err();
    assert!(r.contains("expired"), "{r}");
}

#[test]
fn two_approvers_cannot_share_a_webauthn_public_key() {
    let w = World::new();
    // Two credential ids, one key: the RS256 soft key is one fixed key for every seed.
    enrolled(&w, SoftAuthenticator::rs256(b"wendy"));
    let text = std::fs::read_to_string(w.policy_dir().join("approvers.toml")).unwrap();
    let mut second = SoftAuthenticator::rs256(b"dana");
    let challenge = w
        .approvals
        .webauthn_registration_challenge("dana")
        .unwrap()
        .unwrap();
    let r = w
        .approvals
        .register_webauthn("dana", &challenge, &second.register(RP, ORIGIN, &challenge))
        .unwrap()
        .unwrap_err();
    assert!(
        r.contains("public key is registered already (to `wendy`)"),
        "{r}"
    );
    // Written by hand into the file, it is a registry error with file, line and column.
    let cred = |a: &SoftAuthenticator| writ_approvals::b64(a.credential_id());
    let key = writ_approvals::b64(&second.cose_public_key());
    let appended = format!(
        "{text}\n[[webauthn]]\napprover = \"dana\"\nid = \"{}\"\npublic_key = \"{key}\"\nsign_count = 0\n",
        cred(&second)
    );
    let e = writ_approvals::Registry::parse("approvers.toml", &appended).unwrap_err();
    let line = appended.lines().count() - 4;
    assert!(
        e.starts_with(&format!(
            "approvers.toml:{line}:1: approvers `dana` and `wendy` share a WebAuthn public key"
        )) || e.starts_with(&format!(
            "approvers.toml:{line}:1: approvers `wendy` and `dana` share a WebAuthn public key"
        )),
        "{e}"
    );
}

/// The worked example of docs/language.md §21, byte by byte (run with `--nocapture` to
/// see it).
#[test]
fn the_webauthn_challenge_is_the_documented_derivation() {
    let id = "ch_4mFzT2bq9XyV0kLr8sPd1w";
    let digest = "sha256:bd998adfd46eaff944ee5125a9ffaff2ecbf67d11ee8a2a3d2afd0946bc8adbb";
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut input = b"writ-webauthn-v2\0".to_vec();
    input.extend_from_slice(id.as_bytes());
    input.push(0);
    input.extend_from_slice(digest.as_bytes());
    input.extend_from_slice(b"\0approve");
    println!("input  {}", hex(&input));
    let approve = writ_approvals::webauthn_challenge(id, digest);
    let deny = writ_approvals::webauthn_deny_challenge(id, digest);
    println!(
        "approve {} {}",
        hex(&approve),
        writ_approvals::b64(&approve)
    );
    println!("deny    {} {}", hex(&deny), writ_approvals::b64(&deny));
    assert_eq!(
        hex(&approve),
        "c130dce195878450ddd83e783fec48626221e04880e601f24b38677aac1a5ec0"
    );
    assert_eq!(
        writ_approvals::b64(&approve),
        "wTDc4ZWHhFDd2D54P-xIYmIh4EiA5gHySzhneqwaXsA"
    );
    assert_eq!(
        hex(&deny),
        "aa8cde0235cf4ca275d0bdfeb3149537859e1f65aad0d8c302c9feb6bdf3f2f1"
    );
    assert_eq!(
        approve,
        writ_approvals::webauthn_answer_challenge(id, digest, true)
    );
    // Another challenge over the same digest gets another WebAuthn challenge.
    assert_ne!(
        approve,
        writ_approvals::webauthn_challenge("ch_other", digest)
    );
}

#[test]
fn a_registry_attestation_record_must_be_a_known_value() {
    let w = World::new();
    enrolled(&w, SoftAuthenticator::es256(b"wendy"));
    let text = std::fs::read_to_string(w.policy_dir().join("approvers.toml")).unwrap();
    writ_approvals::Registry::parse("approvers.toml", &text).unwrap();
    let bad = text.replace("attestation = \"none\"", "attestation = \"trusted\"");
    let e = writ_approvals::Registry::parse("approvers.toml", &bad).unwrap_err();
    assert!(
        e.contains("`attestation` is one of `none`, `self`, `unverified`"),
        "{e}"
    );
}

#[test]
fn a_packed_self_attested_rs256_key_registers_and_approves() {
    let w = World::new();
    let mut key = SoftAuthenticator::rs256(b"wendy");
    let challenge = w
        .approvals
        .webauthn_registration_challenge("wendy")
        .unwrap()
        .unwrap();
    let attestation = key.register_packed_self(RP, ORIGIN, &challenge);
    // Through JSON, as a browser's toJSON() output.
    let attestation: writ_webauthn::Attestation =
        serde_json::from_str(&serde_json::to_string(&attestation).unwrap()).unwrap();
    let entry = w
        .approvals
        .register_webauthn("wendy", &challenge, &attestation)
        .unwrap()
        .unwrap();
    assert!(entry.contains("attestation = \"self\""), "{entry}");
    let req = wire(&w);
    let (id, digest) = w.open(&req);
    let a = answer(
        &w,
        &id,
        key.assert(RP, ORIGIN, &approving(&id, &digest), true),
    );
    assert_eq!(a.status, "accepted", "{:?}", a.refusal);
}

#[test]
fn a_registration_challenge_is_refused_for_whoever_cannot_approve() {
    let w = World::new();
    for (who, says) in [("nobody", "is not in"), ("bot", "is not a person")] {
        let r = w
            .approvals
            .webauthn_registration_challenge(who)
            .unwrap()
            .unwrap_err();
        assert!(r.contains(says), "{who}: {r}");
    }
}

#[test]
fn a_registration_is_audited() {
    let w = World::new();
    enrolled(&w, SoftAuthenticator::es256(b"wendy"));
    let log = std::fs::read_to_string(w.state_dir().join("audit.jsonl")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("\"webauthn.registered\""))
        .expect("a webauthn.registered record");
    assert!(line.contains("\"approver\":\"wendy\""), "{line}");
    assert!(line.contains("\"attestation\":\"none\""), "{line}");
}

#[test]
fn an_answer_with_a_to_json_assertion_travels_as_json() {
    let mut key = passkey(b"wendy");
    let assertion = key.assert(RP, ORIGIN, &[1; 32], true);
    let answer = writ_approvals::Answer {
        challenge: "ch_x".into(),
        approver: "wendy".into(),
        approve: true,
        code: None,
        evidence: Evidence::Webauthn {
            assertion: assertion.clone(),
        },
    };
    let text = serde_json::to_string(&answer).unwrap();
    assert!(
        text.contains(r#""method":"webauthn","assertion":{"id":"#),
        "{text}"
    );
    let back: writ_approvals::Answer = serde_json::from_str(&text).unwrap();
    assert_eq!(back, answer);
    // The earlier flat shape, inside an answer, still reads.
    let flat = serde_json::json!({
        "challenge": "ch_x", "approver": "wendy", "approve": true,
        "evidence": {"method": "webauthn", "assertion": {
            "credential_id": writ_approvals::b64(&assertion.credential_id),
            "authenticator_data": writ_approvals::b64(&assertion.authenticator_data),
            "client_data_json": writ_approvals::b64(&assertion.client_data_json),
            "signature": writ_approvals::b64(&assertion.signature),
        }}
    });
    let back: writ_approvals::Answer = serde_json::from_value(flat).unwrap();
    assert_eq!(back, answer);
}
