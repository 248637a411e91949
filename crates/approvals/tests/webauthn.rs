//! WebAuthn evidence through the approval flow, with a real software authenticator:
//! registration into the registry, a good assertion over the digest, and the refusals —
//! another digest, a wrong origin or rp id, no user verification, a replayed or cloned
//! counter, a non-WebAuthn method where WebAuthn is required.

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

const RP: &str = "approvals.example.com";
const ORIGIN: &str = "https://approvals.example.com";

fn enrolled(w: &World, mut key: SoftAuthenticator) -> SoftAuthenticator {
    let challenge = [7u8; 32];
    let attestation = key.register(RP, ORIGIN, &challenge);
    let registry = RegistryFile::in_dir(&w.policy_dir()).unwrap();
    let entry = registry
        .register_webauthn("wendy", &challenge, &attestation)
        .unwrap()
        .unwrap();
    assert!(
        entry.starts_with("[[webauthn]]\napprover = \"wendy\""),
        "{entry}"
    );
    // Registering the same credential twice is refused.
    let again = key.register(RP, ORIGIN, &challenge);
    let refused = registry
        .register_webauthn("wendy", &challenge, &again)
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

fn digest_bytes(digest: &str) -> Vec<u8> {
    writ_approvals::webauthn_challenge(digest).unwrap()
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
            key.assert(RP, ORIGIN, &digest_bytes(&digest), true),
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
    let (_, other_digest) = w.open(&other);
    let a = answer(
        &w,
        &id,
        key.assert(RP, ORIGIN, &digest_bytes(&other_digest), true),
    );
    assert_eq!(a.refusal.unwrap().code, RefusalCode::BadWebauthn);
}

#[test]
fn a_wrong_origin_a_wrong_rp_id_and_missing_user_verification_are_refused() {
    let w = World::new();
    let mut key = enrolled(&w, SoftAuthenticator::es256(b"wendy"));
    let (id, digest) = w.open(&wire(&w));
    let d = digest_bytes(&digest);
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
    let first = key.assert(RP, ORIGIN, &digest_bytes(&digest), true);
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
    let replayed = answer(&w, &id2, first);
    let r = replayed.refusal.unwrap();
    assert_eq!(r.code, RefusalCode::PossibleClone, "{}", r.message);
    let mut clone = clone;
    let cloned = answer(
        &w,
        &id2,
        clone.assert(RP, ORIGIN, &digest_bytes(&digest2), true),
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
        stranger.assert(RP, ORIGIN, &digest_bytes(&digest), true),
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
    let deny_bytes = writ_approvals::webauthn_deny_challenge(&digest);
    let denial = key.assert(RP, ORIGIN, &deny_bytes, true);
    // Intercepted and sent as an approval: refused.
    assert_eq!(
        answer(&w, &id, denial.clone()).refusal.unwrap().code,
        RefusalCode::BadWebauthn
    );
    // An approval's assertion sent as a denial: refused too.
    let approval = key.assert(RP, ORIGIN, &digest_bytes(&digest), true);
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

#[test]
fn a_counterless_authenticator_cannot_replay_an_assertion() {
    let w = World::new();
    // The relying party accepts authenticators without a counter (synced passkeys).
    let path = w.policy_dir().join("approvers.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "[relying_party]\n",
            "[relying_party]\nallow_counterless = true\n",
        ),
    )
    .unwrap();
    let mut key = SoftAuthenticator::es256(b"wendy");
    key.set_sign_count(0);
    key.hold_counter(true);
    let mut key = enrolled(&w, key);
    let req = wire(&w);
    let (id, digest) = w.open(&req);
    let captured = key.assert(RP, ORIGIN, &digest_bytes(&digest), true);
    assert_eq!(
        answer(&w, &id, captured.clone()).challenge.unwrap().state,
        "granted"
    );
    let grant = w.collect(&id);
    assert_eq!(w.redeem(&req, &grant, Some(&w.proof(&grant))).0, "allow");
    // The identical transaction again: the captured assertion is refused. (This software
    // authenticator signs deterministically, RFC 6979, so even its fresh assertion is
    // byte-for-byte the replay and would be refused too: without a counter nothing tells
    // them apart. docs/language.md §21 says so.)
    let (id2, _) = w.open(&req);
    assert_eq!(
        answer(&w, &id2, captured).refusal.unwrap().code,
        RefusalCode::PossibleClone
    );
    // Another transaction is another digest: the same key approves it.
    let mut other = req.clone();
    other["request"]["params"]["amount"] = json!(2);
    let (id3, digest3) = w.open(&other);
    let fresh = answer(
        &w,
        &id3,
        key.assert(RP, ORIGIN, &digest_bytes(&digest3), true),
    );
    assert_eq!(fresh.status, "accepted", "{:?}", fresh.refusal);
}
