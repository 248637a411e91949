//! Passkeys for the approver's pages, with a real software authenticator: a one-time
//! invitation enrols one passkey (forged, expired, another approver's, used twice:
//! refused), and signing in names the passkey's approver once per assertion (a replay, an
//! unknown passkey, another challenge, a wrong origin: refused).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use fixture::World;
use writ_approvals::{RefusalCode, INVITE_TTL_S};
use writ_webauthn::soft::SoftAuthenticator;

use writ_testkit::sets::{ORIGIN, RP_ID as RP};

fn enrol_by_invite(w: &World, token: &str, key: &mut SoftAuthenticator) -> Result<String, String> {
    let approver = w.approvals.webauthn_invitee(token)?;
    let challenge = w
        .approvals
        .webauthn_registration_challenge(&approver)
        .unwrap()
        .unwrap();
    let attestation = key.register(RP, ORIGIN, &challenge);
    w.approvals
        .register_webauthn_by_invite(token, &challenge, &attestation)
        .unwrap()
        .map(|(who, _)| who)
}

#[test]
fn an_invitation_enrols_one_passkey_for_its_approver() {
    let w = World::new();
    let token = w.approvals.webauthn_invite("wendy").unwrap().unwrap();
    // The same token from the free function (what `writ webauthn invite` calls).
    let offline =
        writ_approvals::webauthn_invite(&w.policy_dir(), &w.state_dir(), "wendy").unwrap();
    assert_eq!(
        w.approvals.webauthn_invitee(&offline.unwrap()).unwrap(),
        "wendy"
    );
    let mut key = SoftAuthenticator::es256(b"wendy");
    assert_eq!(enrol_by_invite(&w, &token, &mut key).unwrap(), "wendy");
    assert!(w.audit_text().contains("webauthn.registered"));
    // Used: a second device with the same link is refused.
    let mut other = SoftAuthenticator::es256(b"wendy-2");
    let refused = enrol_by_invite(&w, &token, &mut other).unwrap_err();
    assert!(refused.contains("used already"), "{refused}");
}

#[test]
fn forged_altered_and_expired_invitations_are_refused() {
    let w = World::new();
    let token = w.approvals.webauthn_invite("wendy").unwrap().unwrap();
    // Another approver's name on wendy's signature.
    let (_, body) = token.split_once('.').unwrap();
    let swapped = format!("{}.{body}", writ_approvals::b64(b"alice"));
    assert!(w
        .approvals
        .webauthn_invitee(&swapped)
        .unwrap_err()
        .contains("not one this server issued"));
    assert!(w.approvals.webauthn_invitee("garbage").is_err());
    assert!(w.approvals.webauthn_invitee("").is_err());
    // Not in the registry, or nobody to enrol.
    assert!(w
        .approvals
        .webauthn_invite("mallory")
        .unwrap()
        .unwrap_err()
        .contains("not in"));
    w.advance(INVITE_TTL_S);
    let expired = w.approvals.webauthn_invitee(&token).unwrap_err();
    assert!(expired.contains("expired"), "{expired}");
}

#[test]
fn signing_in_names_the_passkeys_approver_once_per_assertion() {
    let w = World::new();
    let token = w.approvals.webauthn_invite("wendy").unwrap().unwrap();
    let mut key = SoftAuthenticator::es256(b"wendy");
    enrol_by_invite(&w, &token, &mut key).unwrap();
    let challenge = [9u8; 32];
    let assertion = key.assert(RP, ORIGIN, &challenge, true);
    let who = w
        .approvals
        .webauthn_sign_in(&challenge, &assertion)
        .unwrap()
        .unwrap();
    assert_eq!(who, "wendy");
    assert!(w.audit_text().contains("webauthn.signin"));
    // The same assertion again: a replay.
    let replay = w
        .approvals
        .webauthn_sign_in(&challenge, &assertion)
        .unwrap()
        .unwrap_err();
    assert_eq!(replay.code, RefusalCode::PossibleClone);
    // Over another challenge than the server's.
    let other = key.assert(RP, ORIGIN, &[1u8; 32], true);
    let refused = w
        .approvals
        .webauthn_sign_in(&challenge, &other)
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.code, RefusalCode::BadWebauthn);
    // From a look-alike origin.
    let phished = key.assert(
        RP,
        "https://approvals.example.com.evil.test",
        &challenge,
        true,
    );
    let refused = w
        .approvals
        .webauthn_sign_in(&challenge, &phished)
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.code, RefusalCode::BadWebauthn);
    // Without user verification.
    let unverified = key.assert(RP, ORIGIN, &challenge, false);
    assert!(w
        .approvals
        .webauthn_sign_in(&challenge, &unverified)
        .unwrap()
        .is_err());
    // A passkey nobody registered.
    let mut stranger = SoftAuthenticator::es256(b"stranger");
    let unknown = stranger.assert(RP, ORIGIN, &challenge, true);
    let refused = w
        .approvals
        .webauthn_sign_in(&challenge, &unknown)
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.code, RefusalCode::NoCredential);
}

#[test]
fn an_approver_removes_a_passkey_but_never_the_last() {
    let w = World::new();
    let mut laptop = SoftAuthenticator::es256(b"wendy-laptop");
    let mut phone = SoftAuthenticator::ed25519(b"wendy-phone");
    for key in [&mut laptop, &mut phone] {
        let token = w.approvals.webauthn_invite("wendy").unwrap().unwrap();
        enrol_by_invite(&w, &token, key).unwrap();
    }
    let ids: Vec<String> = w
        .approvals
        .registry()
        .unwrap()
        .get("wendy")
        .unwrap()
        .webauthn
        .iter()
        .map(|c| writ_approvals::b64(&c.id))
        .collect();
    assert_eq!(ids.len(), 2);
    // Someone else's name on it, or an id nobody has: refused.
    assert!(w
        .approvals
        .remove_webauthn("alice", &ids[1])
        .unwrap()
        .is_err());
    assert!(w
        .approvals
        .remove_webauthn("wendy", "AAAA")
        .unwrap()
        .unwrap_err()
        .contains("no passkey"));
    w.approvals
        .remove_webauthn("wendy", &ids[1])
        .unwrap()
        .unwrap();
    assert!(w.audit_text().contains("webauthn.removed"));
    let left = w.approvals.registry().unwrap();
    let left: Vec<String> = left
        .get("wendy")
        .unwrap()
        .webauthn
        .iter()
        .map(|c| writ_approvals::b64(&c.id))
        .collect();
    assert_eq!(left, vec![ids[0].clone()]);
    // The removed passkey signs in no more; the other one does.
    let challenge = [3u8; 32];
    let gone = phone.assert(RP, ORIGIN, &challenge, true);
    assert!(w
        .approvals
        .webauthn_sign_in(&challenge, &gone)
        .unwrap()
        .is_err());
    let kept = laptop.assert(RP, ORIGIN, &challenge, true);
    assert_eq!(
        w.approvals
            .webauthn_sign_in(&challenge, &kept)
            .unwrap()
            .unwrap(),
        "wendy"
    );
    // The last one stays.
    let refused = w
        .approvals
        .remove_webauthn("wendy", &ids[0])
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("only passkey"), "{refused}");
}

#[test]
fn concurrent_enrolments_and_removals_all_land() {
    let w = World::new();
    // Two passkeys first, so one can be removed while others enrol.
    let mut first = SoftAuthenticator::es256(b"wendy-first");
    let mut second = SoftAuthenticator::es256(b"wendy-second");
    for key in [&mut first, &mut second] {
        let token = w.approvals.webauthn_invite("wendy").unwrap().unwrap();
        enrol_by_invite(&w, &token, key).unwrap();
    }
    let removed = writ_approvals::b64(
        &w.approvals
            .registry()
            .unwrap()
            .get("wendy")
            .unwrap()
            .webauthn[1]
            .id,
    );
    // Twelve enrolments, each prepared (invitation, challenge, attestation) beforehand,
    // then all finished at once with the removal among them.
    let prepared: Vec<_> = (0..12)
        .map(|i| {
            let token = w.approvals.webauthn_invite("wendy").unwrap().unwrap();
            let challenge = w
                .approvals
                .webauthn_registration_challenge("wendy")
                .unwrap()
                .unwrap();
            let mut key = SoftAuthenticator::es256(format!("wendy-{i}").as_bytes());
            let attestation = key.register(RP, ORIGIN, &challenge);
            (token, challenge, attestation)
        })
        .collect();
    let start = std::sync::Barrier::new(prepared.len() + 1);
    std::thread::scope(|s| {
        for (token, challenge, attestation) in &prepared {
            let (w, start) = (&w, &start);
            s.spawn(move || {
                start.wait();
                w.approvals
                    .register_webauthn_by_invite(token, challenge, attestation)
                    .unwrap()
                    .unwrap();
            });
        }
        let (w, start, removed) = (&w, &start, &removed);
        s.spawn(move || {
            start.wait();
            w.approvals
                .remove_webauthn("wendy", removed)
                .unwrap()
                .unwrap();
        });
    });
    let registry = w.approvals.registry().unwrap();
    let ids: Vec<String> = registry
        .get("wendy")
        .unwrap()
        .webauthn
        .iter()
        .map(|c| writ_approvals::b64(&c.id))
        .collect();
    assert_eq!(ids.len(), 1 + 12, "{ids:?}");
    assert!(!ids.contains(&removed), "the removed passkey came back");
}
