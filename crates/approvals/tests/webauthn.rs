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
use writ_approvals::{Answer, Evidence, RefusalCode, RegistryFile};
use writ_webauthn::soft::SoftAuthenticator;

const RP: &str = "approvals.example.com";
const ORIGIN: &str = "https://approvals.example.com";

fn enrolled(w: &World, mut key: SoftAuthenticator) -> SoftAuthenticator {
    let challenge = [7u8; 32];
    let attestation = key.register(RP, ORIGIN, &challenge);
    let registry = RegistryFile::in_dir(&w.policy_dir()).unwrap();
    let entry = registry
        .register_webauthn("wendy", &challenge, &attestation)
        .unwrap();
    assert!(
        entry.starts_with("[[webauthn]]\napprover = \"wendy\""),
        "{entry}"
    );
    // Registering the same credential twice is refused.
    let again = key.register(RP, ORIGIN, &challenge);
    assert!(registry
        .register_webauthn("wendy", &challenge, &again)
        .is_err());
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
    w.approvals
        .answer(&Answer {
            challenge: id.into(),
            approver: "wendy".into(),
            approve: true,
            code: None,
            evidence: Evidence::Webauthn { assertion },
        })
        .unwrap()
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
        let grant = c.grant.unwrap();
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
    let grant = w.approvals.challenge(&id).unwrap().unwrap().grant.unwrap();
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
