//! The attacks transaction-bound approvals exist to stop — relay, replay, tampering,
//! expiry, separation of duties, weak methods, forged evidence, policy changes — each
//! through the real flow with real keys, each refused with its own reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use fixture::{World, TOTP_SECRET};
use serde_json::json;
use writ_approvals::{Answer, Evidence, KeyPair, RefusalCode};

#[test]
fn the_whole_flow_allows_once_with_the_obligations() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    let r = w
        .approvals
        .redeem(&req.to_string(), &grant, Some(&w.proof(&grant)))
        .unwrap();
    assert_eq!(r.decision.decision.as_str(), "allow", "{:?}", r.refusal);
    assert_eq!(r.decision.obligations[0].name.as_ref(), "notify");
    assert_eq!(r.grant.unwrap().approvers[0].id, "dana");
}

#[test]
fn replay_is_refused_also_after_a_restart() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    let proof = w.proof(&grant);
    assert_eq!(w.redeem(&req, &grant, Some(&proof)).0, "allow");
    assert_eq!(
        w.redeem(&req, &grant, Some(&proof)),
        ("deny".into(), Some(RefusalCode::Replayed))
    );
    let w = w.restart();
    assert_eq!(
        w.redeem(&req, &grant, Some(&proof)),
        ("deny".into(), Some(RefusalCode::Replayed))
    );
}

#[test]
fn an_unredeemed_grant_survives_a_restart_and_is_then_used_once() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    let proof = w.proof(&grant);
    let w = w.restart();
    assert_eq!(w.redeem(&req, &grant, Some(&proof)).0, "allow");
    assert_eq!(
        w.redeem(&req, &grant, Some(&proof)).1,
        Some(RefusalCode::Replayed)
    );
}

#[test]
fn relay_to_another_principal_is_refused() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    let mut other = req.clone();
    other["principal"]["id"] = json!("mallory");
    assert_eq!(
        w.redeem(&other, &grant, Some(&w.proof(&grant))).1,
        Some(RefusalCode::WrongPrincipal)
    );
    // The same principal now claiming to act for someone: not what was approved.
    let mut acting = req.clone();
    acting["principal"]["on_behalf_of"] = json!("mallory");
    assert_eq!(
        w.redeem(&acting, &grant, Some(&w.proof(&grant))).1,
        Some(RefusalCode::WrongPrincipal)
    );
}

#[test]
fn a_replica_that_does_not_share_the_store_refuses_the_grant() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    let proof = w.proof(&grant);
    let elsewhere = w.replica_with_its_own_store();
    let r = elsewhere
        .redeem(&req.to_string(), &grant, Some(&proof))
        .unwrap();
    assert_eq!(r.decision.decision.as_str(), "deny");
    assert_eq!(r.refusal.unwrap().code, RefusalCode::WrongStore);
    // Where it was issued it is good, once.
    assert_eq!(w.redeem(&req, &grant, Some(&proof)).0, "allow");
    assert_eq!(
        w.redeem(&req, &grant, Some(&proof)).1,
        Some(RefusalCode::Replayed)
    );
}

#[test]
fn relay_to_another_workload_key_is_refused() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    // The thief presents its own key and a proof made with it.
    let thief = KeyPair::generate().unwrap();
    let mut relayed = req.clone();
    relayed["principal"]["key"] = thief.public_jwk();
    let digest = writ_approvals::grant_digest(&grant).unwrap();
    let iat = w.now.load(std::sync::atomic::Ordering::SeqCst);
    let thief_proof = writ_approvals::proof_text(
        iat,
        &thief.sign_b64(&writ_approvals::pop_message(&grant, &digest, iat)),
    );
    assert_eq!(
        w.redeem(&relayed, &grant, Some(&thief_proof)).1,
        Some(RefusalCode::KeyMismatch)
    );
    // The thief presents the victim's public key but cannot sign with it.
    assert_eq!(
        w.redeem(&req, &grant, Some(&thief_proof)).1,
        Some(RefusalCode::ProofInvalid)
    );
    assert_eq!(
        w.redeem(&req, &grant, None).1,
        Some(RefusalCode::ProofMissing)
    );
    // None of that consumed the grant: its holder still redeems it.
    assert_eq!(w.redeem(&req, &grant, Some(&w.proof(&grant))).0, "allow");
}

#[test]
fn tampering_with_a_bound_field_is_refused_and_an_unbound_one_is_not() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    let proof = w.proof(&grant);
    let changed = |path: &[&str], value: serde_json::Value| {
        let mut r = req.clone();
        let mut at = &mut r;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        r
    };
    let amount = changed(&["request", "params", "amount"], json!(12000));
    assert_eq!(
        w.redeem(&amount, &grant, Some(&proof)).1,
        Some(RefusalCode::DigestMismatch)
    );
    let payee = changed(&["request", "params", "payee"], json!("EVIL"));
    assert_eq!(
        w.redeem(&payee, &grant, Some(&proof)).1,
        Some(RefusalCode::DigestMismatch)
    );
    let session = changed(&["session", "id"], json!("s-2"));
    assert_eq!(
        w.redeem(&session, &grant, Some(&proof)).1,
        Some(RefusalCode::DigestMismatch)
    );
    let resource = changed(&["resource", "id"], json!("acct-2"));
    assert_eq!(
        w.redeem(&resource, &grant, Some(&proof)).1,
        Some(RefusalCode::WrongResource)
    );
    let note = changed(&["request", "params", "note"], json!("another note"));
    assert_eq!(
        w.redeem(&note, &grant, Some(&proof)),
        ("allow".into(), None)
    );
}

#[test]
fn an_expired_grant_is_refused_within_the_skew_it_is_not() {
    let w = World::new();
    let req = w.transfer();
    let g1 = w.granted(&req);
    let mut other = req.clone();
    other["request"]["params"]["amount"] = json!(5);
    let g2 = w.granted(&other);
    w.advance(300 + 20); // ttl 5m, skew 30 s
    assert_eq!(w.redeem(&req, &g1, Some(&w.proof(&g1))).0, "allow");
    w.advance(11);
    assert_eq!(
        w.redeem(&other, &g2, Some(&w.proof(&g2))).1,
        Some(RefusalCode::GrantExpired)
    );
}

#[test]
fn an_expired_challenge_accepts_nothing() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    w.advance(301);
    let a = w.sign("dana", &id, &digest, true);
    assert_eq!(a.refusal.unwrap().code, RefusalCode::ChallengeExpired);
    assert_eq!(a.challenge.unwrap().state, "expired");
}

#[test]
fn self_approval_is_refused() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    assert_eq!(
        w.sign("ann", &id, &digest, true).refusal.unwrap().code,
        RefusalCode::SelfApproval
    );
}

#[test]
fn the_human_an_agent_acts_for_cannot_approve_it() {
    let w = World::new();
    let req = json!({
        "principal": {"id": "agent-7", "kind": "agent", "on_behalf_of": "hal"},
        "action": "payments.transfer", "resource": {"id": "acct-1"}, "session": {"id": "s-9"},
        "request": {"params": {"amount": 10, "payee": "ACME"}}
    });
    let (id, digest) = w.open(&req);
    let a = w.sign("hal", &id, &digest, true);
    assert_eq!(a.refusal.unwrap().code, RefusalCode::OnBehalfOfApproval);
    // Someone else may, and the grant names the agent and the human.
    let b = w.sign("dana", &id, &digest, true);
    assert_eq!(b.challenge.unwrap().state, "granted");
}

#[test]
fn a_duplicate_approver_counts_once() {
    let w = World::new();
    let req = json!({"principal": {"id": "ann", "kind": "human"}, "action": "db.drop",
                     "resource": {"id": "orders"}, "session": {"id": "s-1"}});
    let (id, digest) = w.open(&req);
    // frank is in both groups but fills one slot.
    assert_eq!(
        w.sign("frank", &id, &digest, true).challenge.unwrap().state,
        "open"
    );
    let again = w.sign("frank", &id, &digest, true);
    assert_eq!(again.refusal.unwrap().code, RefusalCode::DuplicateApprover);
    let c = again.challenge.unwrap();
    assert_eq!(c.state, "open");
    assert_eq!(c.missing.len(), 1);
    // A second, distinct person completes it, whichever group frank's approval is
    // counted in.
    assert_eq!(
        w.sign("sam", &id, &digest, true).challenge.unwrap().state,
        "granted"
    );
}

#[test]
fn a_workload_never_approves() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    assert_eq!(
        w.sign("bot", &id, &digest, true).refusal.unwrap().code,
        RefusalCode::NotAHuman
    );
}

#[test]
fn otp_is_refused_where_a_phishing_resistant_method_is_required() {
    let w = World::new();
    let (id, _) = w.open(&w.transfer());
    let a = w.otp(&id, w.totp_now());
    assert_eq!(a.refusal.unwrap().code, RefusalCode::MethodTooWeak);
}

#[test]
fn otp_is_accepted_where_the_policy_says_otp_and_a_wrong_code_is_not() {
    let w = World::new();
    let req = json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.refund",
                     "resource": {"id": "acct-1"}, "session": {"id": "s-1"}, "request": {"params": {}}});
    let (id, _) = w.open(&req);
    let wrong = if w.totp_now() == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(
        w.otp(&id, wrong.into()).refusal.unwrap().code,
        RefusalCode::BadOtp
    );
    let ok = w.otp(&id, w.totp_now());
    assert_eq!(ok.status, "accepted", "{:?}", ok.refusal);
    let grant = w.collect(&id);
    // No key in the request: the grant is not key-bound and needs no proof.
    assert_eq!(w.redeem(&req, &grant, None).0, "allow");
}

#[test]
fn a_forged_signature_is_refused() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    let forger = KeyPair::generate().unwrap();
    let signature = forger.sign_b64(&writ_approvals::answer_message(&id, &digest, true));
    let a = w.answer("dana", &id, true, Evidence::Signature { signature });
    assert_eq!(a.refusal.unwrap().code, RefusalCode::BadSignature);
}

#[test]
fn a_signature_over_another_challenge_is_refused() {
    let w = World::new();
    let req = w.transfer();
    let (first, first_digest) = w.open(&req);
    let mut other = req.clone();
    other["request"]["params"]["amount"] = json!(99_999);
    let (second, _) = w.open(&other);
    // dana approved the first; the attacker replays her signature on the second.
    let signature =
        w.key("dana")
            .sign_b64(&writ_approvals::answer_message(&first, &first_digest, true));
    let a = w.answer("dana", &second, true, Evidence::Signature { signature });
    assert_eq!(a.refusal.unwrap().code, RefusalCode::BadSignature);
}

#[test]
fn a_signed_denial_cannot_be_replayed_as_an_approval() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    let deny_sig = w
        .key("dana")
        .sign_b64(&writ_approvals::answer_message(&id, &digest, false));
    let a = w.answer(
        "dana",
        &id,
        true,
        Evidence::Signature {
            signature: deny_sig,
        },
    );
    assert_eq!(a.refusal.unwrap().code, RefusalCode::BadSignature);
}

#[test]
fn a_policy_that_now_denies_wins_over_the_grant() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    let denying = format!(
        "{}\nrule \"transfers frozen\" {{ when action == \"payments.transfer\" deny \"transfers are frozen\" }}\n",
        fixture::POLICY
    );
    std::fs::write(w.policy_dir().join("payments.writ"), denying).unwrap();
    assert!(matches!(
        w.policies.reload(),
        writ_reload::ReloadEvent::Loaded { .. }
    ));
    let r = w
        .approvals
        .redeem(&req.to_string(), &grant, Some(&w.proof(&grant)))
        .unwrap();
    assert_eq!(r.refusal.as_ref().unwrap().code, RefusalCode::PolicyDenies);
    assert!(r.refusal.unwrap().message.contains("transfers are frozen"));
}

#[test]
fn a_policy_that_now_asks_for_more_approvers_refuses_the_old_grant() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    let stricter = fixture::POLICY.replace(
        "approvers 1 of group \"finance\"\n    method phishing_resistant",
        "approvers 2 of group \"finance\"\n    method phishing_resistant",
    );
    assert_ne!(stricter, fixture::POLICY);
    std::fs::write(w.policy_dir().join("payments.writ"), stricter).unwrap();
    assert!(matches!(
        w.policies.reload(),
        writ_reload::ReloadEvent::Loaded { .. }
    ));
    assert_eq!(
        w.redeem(&req, &grant, Some(&w.proof(&grant))).1,
        Some(RefusalCode::RequirementsNotMet)
    );
}

#[test]
fn one_denial_closes_the_challenge() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    assert_eq!(
        w.sign("dana", &id, &digest, false).challenge.unwrap().state,
        "denied"
    );
    assert_eq!(
        w.sign("erin", &id, &digest, true).refusal.unwrap().code,
        RefusalCode::ChallengeClosed
    );
}

#[test]
fn five_wrong_one_time_codes_lock_the_challenge() {
    let w = World::new();
    let req = json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.refund",
                     "resource": {"id": "acct-1"}, "session": {"id": "s-1"}, "request": {"params": {}}});
    let (id, _) = w.open(&req);
    let right = w.totp_now();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let a = w.otp(&id, wrong.into());
        assert_eq!(a.refusal.unwrap().code, RefusalCode::BadOtp);
    }
    let a = w.otp(&id, right);
    assert_eq!(a.refusal.unwrap().code, RefusalCode::TooManyFailures);
    assert_eq!(a.challenge.unwrap().state, "locked");
}

#[test]
fn a_wrong_binding_code_is_refused() {
    let w = World::new();
    let d = w.approvals.decide(&w.transfer().to_string()).unwrap();
    let c = d.challenge.unwrap();
    let wrong = fixture::other_code(&c.code);
    let signature = w
        .key("dana")
        .sign_b64(&writ_approvals::answer_message(&c.id, &c.digest, true));
    let answer = |code: &str| Answer {
        challenge: c.id.clone(),
        approver: "dana".into(),
        approve: true,
        code: Some(code.into()),
        evidence: Evidence::Signature {
            signature: signature.clone(),
        },
    };
    // A valid signature with another binding code: the approver was shown another
    // request. The challenge closes as a suspected relay.
    let refused = w.approvals.answer(&answer(wrong)).unwrap();
    assert_eq!(refused.refusal.unwrap().code, RefusalCode::RelaySuspected);
    assert_eq!(refused.challenge.unwrap().state, "relay_suspected");
    assert_eq!(
        w.approvals
            .answer(&answer(&c.code))
            .unwrap()
            .refusal
            .unwrap()
            .code,
        RefusalCode::ChallengeClosed
    );
}

#[test]
fn a_grant_from_another_engine_or_altered_is_refused() {
    let w = World::new();
    let other = World::new();
    let req = w.transfer();
    let foreign = other.granted(&other.transfer());
    assert_eq!(
        w.redeem(&req, &foreign, Some(&w.proof(&foreign))).1,
        Some(RefusalCode::GrantUnknownKey)
    );
    assert_eq!(
        w.redeem(&req, "v4.public.AAAA", None).1,
        Some(RefusalCode::GrantInvalid)
    );
}

#[test]
fn every_step_is_audited_in_a_verifiable_chain_without_secrets() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    w.redeem(&req, &grant, Some(&w.proof(&grant)));
    w.redeem(&req, &grant, Some(&w.proof(&grant)));
    let text = w.audit_text();
    let events: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        events,
        [
            "decision",
            "challenge.opened",
            "answer.accepted",
            "grant.issued",
            "grant.collected",
            "grant.redeemed",
            "redeem.refused"
        ]
    );
    assert!(
        !text.contains(&grant),
        "the grant token is a credential: never logged"
    );
    // The refused replay names the grant it refused and the transaction.
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (redeemed, refused) = (&records[5], &records[6]);
    assert_eq!(refused["code"], "replayed");
    assert_eq!(refused["jti"], redeemed["jti"]);
    assert_eq!(refused["grant_digest"], redeemed["digest"]);
    assert_eq!(refused["digest"], redeemed["digest"]);
    assert_eq!(refused["challenge"], redeemed["challenge"]);
    assert!(!text.contains(TOTP_SECRET));
    // Signed by the state's audit key, every record.
    let key = writ_approvals::KeyPair::read(&w.state_dir().join(writ_approvals::AUDIT_KEY_FILE))
        .unwrap()
        .public();
    let checks = writ_approvals::audit::Verify {
        head: None,
        key: Some(&key),
    };
    let v = writ_approvals::audit::verify_with(&w.state_dir().join("audit.jsonl"), checks)
        .unwrap()
        .unwrap();
    assert_eq!(v.records, 7);
}

#[test]
fn a_one_time_code_is_accepted_once() {
    let w = World::new();
    let refund = |account: &str| {
        json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.refund",
               "resource": {"id": account}, "session": {"id": "s-1"}, "request": {"params": {}}})
    };
    let (first, _) = w.open(&refund("acct-1"));
    let (second, _) = w.open(&refund("acct-2"));
    let code = w.totp_now();
    assert_eq!(w.otp(&first, code.clone()).status, "accepted");
    let replayed = w.otp(&second, code);
    let r = replayed.refusal.unwrap();
    assert_eq!(r.code, RefusalCode::BadOtp);
    assert!(r.message.contains("used already"), "{}", r.message);
}

#[test]
fn an_answer_refused_for_who_gives_it_does_not_use_up_the_code() {
    let w = World::new();
    // The transfer needs a phishing-resistant method: a code is refused before it is
    // looked at, so it stays good for the refund that takes codes.
    let (strict, _) = w.open(&w.transfer());
    let refund = json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.refund",
                        "resource": {"id": "acct-1"}, "session": {"id": "s-1"}, "request": {"params": {}}});
    let (lenient, _) = w.open(&refund);
    let code = w.totp_now();
    let weak = w.otp(&strict, code.clone());
    assert_eq!(weak.refusal.unwrap().code, RefusalCode::MethodTooWeak);
    assert_eq!(w.otp(&lenient, code).status, "accepted");
}

#[test]
fn names_alone_cannot_lock_a_challenge() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    for _ in 0..10 {
        let a = w
            .approvals
            .answer(&Answer {
                challenge: id.clone(),
                approver: "nobody".into(),
                approve: true,
                code: Some("000000".into()),
                evidence: Evidence::Otp { code: "1".into() },
            })
            .unwrap();
        assert_eq!(a.refusal.unwrap().code, RefusalCode::UnknownApprover);
    }
    assert_eq!(
        w.sign("dana", &id, &digest, true).challenge.unwrap().state,
        "granted"
    );
}

#[test]
fn a_grant_whose_issuance_cannot_be_audited_is_withdrawn() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    // Another writer leaves the log with a torn record: appends now fail.
    use std::io::Write as _;
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(w.state_dir().join("audit.jsonl"))
        .unwrap();
    log.write_all(b"{\"torn\":").unwrap();
    let signature = w
        .key("dana")
        .sign_b64(&writ_approvals::answer_message(&id, &digest, true));
    let answered = w.approvals.answer(&Answer {
        challenge: id.clone(),
        approver: "dana".into(),
        approve: true,
        code: None,
        evidence: Evidence::Signature { signature },
    });
    assert!(answered.is_err());
    let c = w.approvals.challenge(&id).unwrap().unwrap();
    assert_eq!(c.state, "locked");
    // Nothing to collect (and, the log being unwritable, nothing is handed out).
    assert!(w.approvals.collect(&id, &w.requester_proof(&id)).is_err());
}

#[test]
fn a_grant_bound_to_a_p256_workload_key_needs_its_es256_proof() {
    use p256::ecdsa::signature::Signer as _;
    let w = World::new();
    let secret = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    let point = secret.verifying_key().to_encoded_point(false);
    let mut req = w.transfer();
    req["principal"]["key"] = json!({"kty": "EC", "crv": "P-256",
        "x": writ_approvals::b64(point.x().unwrap()), "y": writ_approvals::b64(point.y().unwrap())});
    let (id, digest) = w.open(&req);
    assert_eq!(w.sign("dana", &id, &digest, true).status, "accepted");
    let iat = w.now.load(std::sync::atomic::Ordering::SeqCst);
    let es256 = |message: &[u8]| {
        let sig: p256::ecdsa::Signature = secret.sign(message);
        writ_approvals::proof_text(iat, &writ_approvals::b64(&sig.to_bytes()))
    };
    // The requester collects with its ES256 key.
    let collected = w
        .approvals
        .collect(
            &id,
            &writ_approvals::Collect::Key {
                jwk: req["principal"]["key"].clone(),
                proof: es256(&writ_approvals::collect_message(&id, iat)),
            },
        )
        .unwrap();
    let grant = collected.grant.unwrap();
    let proof = es256(&writ_approvals::pop_message(&grant, &digest, iat));
    // An Ed25519 proof by someone else is refused; the holder's ES256 proof is accepted.
    assert_eq!(
        w.redeem(&req, &grant, Some(&w.proof(&grant))).1,
        Some(RefusalCode::ProofInvalid)
    );
    assert_eq!(w.redeem(&req, &grant, Some(&proof)), ("allow".into(), None));
}

// ---- Hardening (issues 11 and 17): time of effect, identity, what the approver sees,
// ---- who collects the grant, what is on record.

fn at(w: &World, rfc3339: &str) -> i64 {
    let t: jiff::Timestamp = rfc3339.parse().unwrap();
    w.now
        .store(t.as_second(), std::sync::atomic::Ordering::SeqCst);
    t.as_second()
}

fn instant(unix: i64) -> serde_json::Value {
    json!(jiff::Timestamp::from_second(unix).unwrap().to_string())
}

#[test]
fn a_friday_deny_is_not_passed_by_redeeming_with_thursdays_time() {
    let w = World::new();
    let friday_deny = format!(
        "{}\nlet fridays = hours \"Fri 00:00-24:00\" in \"UTC\"\nrule \"no transfers on Friday\" {{ when action == \"payments.transfer\" and time in fridays deny \"no transfers on Friday\" }}\n",
        fixture::POLICY
    );
    std::fs::write(w.policy_dir().join("payments.writ"), friday_deny).unwrap();
    assert!(matches!(
        w.policies.reload(),
        writ_reload::ReloadEvent::Loaded { .. }
    ));
    // Thursday 23:58: approved and collected.
    let thursday = at(&w, "2026-12-03T23:58:00Z");
    let req = w.transfer();
    let grant = w.granted(&req);
    // Friday 00:01, the grant still fresh: the request claims Thursday's time.
    at(&w, "2026-12-04T00:01:00Z");
    let mut backdated = req.clone();
    backdated["time"] = instant(thursday);
    let r = w
        .approvals
        .redeem(&backdated.to_string(), &grant, Some(&w.proof(&grant)))
        .unwrap();
    assert_eq!(r.decision.decision.as_str(), "deny");
    let refusal = r.refusal.unwrap();
    assert_eq!(refusal.code, RefusalCode::TimeOutOfSkew);
    assert!(
        refusal.message.contains("engine's clock"),
        "{}",
        refusal.message
    );
    // Within the skew (Thursday 23:59:59, the clock at Friday 00:00:20) the request is
    // decided at the engine's clock: Friday, denied.
    at(&w, "2026-12-04T00:00:20Z");
    backdated["time"] = json!("2026-12-03T23:59:59Z");
    let r = w
        .approvals
        .redeem(&backdated.to_string(), &grant, Some(&w.proof(&grant)))
        .unwrap();
    assert_eq!(r.refusal.unwrap().code, RefusalCode::PolicyDenies);
    // Plain decisions still answer what-if questions at any time.
    let engine = w.policies.engine();
    let thursday_req = engine.bind(backdated.clone()).unwrap();
    assert_eq!(engine.decide(&thursday_req).decision.as_str(), "approve");
}

#[test]
fn a_request_eight_days_old_opens_no_challenge() {
    let w = World::new();
    let now = w.now.load(std::sync::atomic::Ordering::SeqCst);
    let mut req = w.transfer();
    req["time"] = instant(now - 8 * 24 * 3600);
    let d = w.approvals.decide(&req.to_string()).unwrap();
    assert_eq!(d.decision.decision.as_str(), "deny");
    assert!(d.challenge.is_none());
    assert!(d.decision.approval.is_none());
    assert_eq!(d.refusal.unwrap().code, RefusalCode::TimeOutOfSkew);
    // So is one from the future; within the skew it opens.
    req["time"] = instant(now + 31);
    assert_eq!(
        w.approvals
            .decide(&req.to_string())
            .unwrap()
            .refusal
            .unwrap()
            .code,
        RefusalCode::TimeOutOfSkew
    );
    req["time"] = instant(now - 30);
    let d = w.approvals.decide(&req.to_string()).unwrap();
    assert_eq!(d.decision.decision.as_str(), "approve", "{:?}", d.refusal);
    let audit = w.audit_text();
    assert!(audit.contains("\"code\":\"time_out_of_skew\""), "{audit}");
}

#[test]
fn letter_case_does_not_make_the_requester_another_person() {
    let w = World::new();
    // The agent acts for `HAL`; the registry knows `hal`.
    let req = json!({
        "principal": {"id": "agent-7", "kind": "agent", "on_behalf_of": "HAL"},
        "action": "payments.transfer", "resource": {"id": "acct-1"}, "session": {"id": "s-9"},
        "request": {"params": {"amount": 10, "payee": "ACME"}}
    });
    let (id, digest) = w.open(&req);
    assert_eq!(
        w.sign("hal", &id, &digest, true).refusal.unwrap().code,
        RefusalCode::OnBehalfOfApproval
    );
    // Nor do compatibility forms: fullwidth `ＤＡＮＡ` asking is dana asking.
    let mut own = w.transfer();
    own["principal"]["id"] = json!("ＤＡＮＡ");
    let (id, digest) = w.open(&own);
    assert_eq!(
        w.sign("dana", &id, &digest, true).refusal.unwrap().code,
        RefusalCode::SelfApproval
    );
    // Someone else still approves.
    assert_eq!(w.sign("erin", &id, &digest, true).status, "accepted");
}

#[test]
fn registry_ids_that_differ_only_in_case_are_refused() {
    let registry = |a: &str, b: &str| {
        format!("[[approver]]\nid = \"{a}\"\ngroups = [\"x\"]\n\n[[approver]]\nid = \"{b}\"\ngroups = [\"x\"]\n")
    };
    let err = writ_approvals::Registry::parse(
        "approvers.toml",
        &registry("Frank@example.com", "frank@example.com"),
    )
    .unwrap_err();
    assert!(err.contains("one identity"), "{err}");
    assert!(
        writ_approvals::Registry::parse("approvers.toml", &registry("ｆｒａｎｋ", "frank"))
            .is_err()
    );
    assert!(
        writ_approvals::Registry::parse("approvers.toml", &registry("frank", "frankie")).is_ok()
    );
}

#[test]
fn a_missing_bound_field_is_named_not_shown_as_null() {
    let w = World::new();
    let mut req = w.transfer();
    req["request"]["params"]
        .as_object_mut()
        .unwrap()
        .remove("payee");
    let d = w.approvals.decide(&req.to_string()).unwrap();
    let approval = d.decision.approval.as_ref().unwrap();
    // (ann acts for nobody: the bound `principal.on_behalf_of` is missing too.)
    assert_eq!(
        approval.missing.iter().map(|p| &**p).collect::<Vec<_>>(),
        ["principal.on_behalf_of", "request.params.payee"]
    );
    // The digest keeps `null` for it (§6), so any language still recomputes it.
    let bind: Vec<&str> = approval.bind.iter().map(|p| &**p).collect();
    let mut with_null = req.clone();
    with_null["request"]["params"]["payee"] = serde_json::Value::Null;
    assert_eq!(
        approval.digest,
        writ_engine::digest::transaction_digest(&with_null, bind.iter().copied())
    );
    let c = d.challenge.unwrap();
    let payee = c
        .bound
        .iter()
        .find(|b| b.path == "request.params.payee")
        .unwrap();
    assert!(payee.missing);
    assert_eq!(payee.value, None);
    assert!(
        c.summary.contains("request.params.payee = <missing>"),
        "{}",
        c.summary
    );
    let view = serde_json::to_value(&c).unwrap();
    let shown = view["bound"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["path"] == "request.params.payee")
        .unwrap()
        .clone();
    assert_eq!(
        shown,
        json!({"path": "request.params.payee", "type": "missing", "missing": true})
    );
    let audit = w.audit_text();
    let opened: serde_json::Value = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["event"] == "challenge.opened")
        .unwrap();
    assert_eq!(
        opened["missing"],
        json!(["principal.on_behalf_of", "request.params.payee"])
    );
}

#[test]
fn a_hidden_tail_is_shown_to_the_approver() {
    let w = World::new();
    let query = format!(
        "SELECT * FROM orders WHERE id = 884213{}; DROP TABLE orders",
        " ".repeat(200)
    );
    let mut req = w.transfer();
    req["request"]["params"]["payee"] = json!(query);
    let d = w.approvals.decide(&req.to_string()).unwrap();
    let c = d.challenge.unwrap();
    // The exact value, in full.
    let payee = c
        .bound
        .iter()
        .find(|b| b.path == "request.params.payee")
        .unwrap();
    assert_eq!(payee.value, Some(json!(query)));
    // The summary shows the tail and says what it shortened.
    assert!(c.summary.contains("; DROP TABLE orders"), "{}", c.summary);
    assert!(c.summary.contains("[200 spaces]"), "{}", c.summary);
    assert!(c.summary.contains("SHORTENED"), "{}", c.summary);
    assert!(c.summary.contains("`bound`"), "{}", c.summary);
    // A long value is clipped, and the summary says so.
    req["request"]["params"]["payee"] = json!("x".repeat(500));
    let c = w
        .approvals
        .decide(&req.to_string())
        .unwrap()
        .challenge
        .unwrap();
    assert!(c.summary.contains("SHORTENED"), "{}", c.summary);
    assert_eq!(
        c.bound
            .iter()
            .find(|b| b.path == "request.params.payee")
            .unwrap()
            .value,
        Some(json!("x".repeat(500)))
    );
}

#[test]
fn bidi_overrides_and_look_alike_names_are_shown_for_what_they_are() {
    let w = World::new();
    let mut req = w.transfer();
    // `ACME` + RIGHT-TO-LEFT OVERRIDE + reversed text, and a zero-width space.
    req["request"]["params"]["payee"] = json!("ACME\u{202e}txt.exe\u{200b}");
    // A Cyrillic `а` in the principal's name.
    req["principal"]["id"] = json!("\u{0430}nn");
    let c = w
        .approvals
        .decide(&req.to_string())
        .unwrap()
        .challenge
        .unwrap();
    assert!(!c.summary.contains('\u{202e}'), "{}", c.summary);
    assert!(!c.summary.contains('\u{200b}'), "{}", c.summary);
    assert!(c.summary.contains("\\u{202e}"), "{}", c.summary);
    assert!(c.summary.contains("\\u{200b}"), "{}", c.summary);
    assert!(c.summary.contains("WARNING"), "{}", c.summary);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("Cyrillic"), "{:?}", c.warnings);
    assert!(
        c.warnings[0].starts_with("`principal.id`"),
        "{:?}",
        c.warnings
    );
}

/// An id with blank space around it (an ASCII space, a no-break or an ideographic space)
/// reads like the approver's own name in the summary: it is flagged, and the invisible
/// blanks are shown escaped.
#[test]
fn blank_space_around_a_name_is_refused_not_passed_off_as_the_name() {
    let w = World::new();
    for id in [
        "frank@example.com ",
        "frank@example.com\u{a0}",
        "\u{3000}frank@example.com",
        "frank@example.com\u{200b}",
    ] {
        let mut req = w.transfer();
        req["principal"]["id"] = json!(id);
        let d = w.approvals.decide(&req.to_string()).unwrap();
        assert_eq!(d.decision.decision.as_str(), "deny", "{id:?}");
        assert!(d.challenge.is_none(), "{id:?}");
        let refusal = d.refusal.unwrap();
        assert_eq!(refusal.code, RefusalCode::IdentityMalformed, "{id:?}");
        assert!(
            !refusal.message.contains('\u{a0}') && !refusal.message.contains('\u{3000}'),
            "{}",
            refusal.message
        );
    }
    // The plain name opens a challenge.
    assert!(w
        .approvals
        .decide(&w.transfer().to_string())
        .unwrap()
        .challenge
        .is_some());
}

#[test]
fn a_request_without_a_principal_opens_no_challenge_and_redeems_nothing() {
    let w = World::new();
    let mut nobody = w.transfer();
    nobody["principal"].as_object_mut().unwrap().remove("id");
    let d = w.approvals.decide(&nobody.to_string()).unwrap();
    assert_eq!(d.decision.decision.as_str(), "deny");
    assert!(d.challenge.is_none());
    let refusal = d.refusal.unwrap();
    assert_eq!(refusal.code, RefusalCode::IdentityMissing);
    assert!(
        refusal.message.contains("`principal.id`"),
        "{}",
        refusal.message
    );
    // An agent must say for whom it acts.
    let agent = json!({
        "principal": {"id": "agent-7", "kind": "agent"},
        "action": "payments.transfer", "resource": {"id": "acct-1"}, "session": {"id": "s-9"},
        "request": {"params": {"amount": 10, "payee": "ACME"}}
    });
    let d = w.approvals.decide(&agent.to_string()).unwrap();
    assert_eq!(d.refusal.unwrap().code, RefusalCode::IdentityMissing);
    // So must a principal of unknown kind (it may be an agent): missing evidence never
    // lowers the bar.
    let unknown_kind = json!({
        "principal": {"id": "bot-8"},
        "action": "payments.transfer", "resource": {"id": "acct-1"}, "session": {"id": "s-9"},
        "request": {"params": {"amount": 10, "payee": "ACME"}}
    });
    let d = w.approvals.decide(&unknown_kind.to_string()).unwrap();
    let refusal = d.refusal.unwrap();
    assert_eq!(refusal.code, RefusalCode::IdentityMissing);
    assert!(
        refusal.message.contains("`principal.kind`"),
        "{}",
        refusal.message
    );
    // A grant is never redeemed by a request that names nobody.
    let grant = w.granted(&w.transfer());
    assert_eq!(
        w.redeem(&nobody, &grant, Some(&w.proof(&grant))).1,
        Some(RefusalCode::IdentityMissing)
    );
}

#[test]
fn approvers_and_onlookers_never_receive_the_grant() {
    let w = World::new();
    let req = w.transfer();
    let (id, digest) = w.open(&req);
    let answered = w.sign("dana", &id, &digest, true);
    assert_eq!(answered.challenge.as_ref().unwrap().state, "granted");
    let shown = serde_json::to_string(&answered).unwrap();
    assert!(!shown.contains("v4.public"), "{shown}");
    let view = serde_json::to_string(&w.approvals.challenge(&id).unwrap().unwrap()).unwrap();
    assert!(!view.contains("v4.public"), "{view}");
    // Another key, or a secret, does not collect a key-bound request's grant.
    let thief = KeyPair::generate().unwrap();
    let iat = w.now.load(std::sync::atomic::Ordering::SeqCst);
    let by_thief = writ_approvals::Collect::Key {
        jwk: thief.public_jwk(),
        proof: writ_approvals::proof_text(
            iat,
            &thief.sign_b64(&writ_approvals::collect_message(&id, iat)),
        ),
    };
    let r = w.approvals.collect(&id, &by_thief).unwrap();
    assert_eq!(r.refusal.unwrap().code, RefusalCode::KeyMismatch);
    assert!(r.grant.is_none());
    let r = w
        .approvals
        .collect(&id, &writ_approvals::Collect::Secret("cs_guess".into()))
        .unwrap();
    assert_eq!(r.refusal.unwrap().code, RefusalCode::ProofMissing);
    // The requester's proof, made long ago, is refused; made now it collects.
    let stale = writ_approvals::Collect::Key {
        jwk: w.workload.public_jwk(),
        proof: writ_approvals::proof_text(
            iat - 600,
            &w.workload
                .sign_b64(&writ_approvals::collect_message(&id, iat - 600)),
        ),
    };
    assert_eq!(
        w.approvals
            .collect(&id, &stale)
            .unwrap()
            .refusal
            .unwrap()
            .code,
        RefusalCode::TimeOutOfSkew
    );
    let grant = w.collect(&id);
    assert_eq!(w.redeem(&req, &grant, Some(&w.proof(&grant))).0, "allow");
}

#[test]
fn a_request_without_a_key_collects_only_with_its_secret() {
    let w = World::new();
    let mut req = w.transfer();
    req["principal"].as_object_mut().unwrap().remove("key");
    let d = w.approvals.decide(&req.to_string()).unwrap();
    let secret = d.collection_secret.clone().unwrap();
    let c = d.challenge.unwrap();
    // The secret is the requester's alone: not in the view, not in the log.
    assert!(!serde_json::to_string(&c).unwrap().contains(&secret));
    assert_eq!(w.sign("dana", &c.id, &c.digest, true).status, "accepted");
    for guess in ["", "cs_", &secret[..secret.len() - 1]] {
        let r = w
            .approvals
            .collect(&c.id, &writ_approvals::Collect::Secret(guess.into()))
            .unwrap();
        assert_eq!(r.refusal.unwrap().code, RefusalCode::ProofInvalid);
    }
    let r = w
        .approvals
        .collect(&c.id, &writ_approvals::Collect::Secret(secret.clone()))
        .unwrap();
    let grant = r.grant.unwrap();
    assert_eq!(w.redeem(&req, &grant, None).0, "allow");
    assert!(!w.audit_text().contains(&secret));
}

#[test]
fn a_captured_proof_of_possession_is_useless_a_minute_later() {
    let w = World::new();
    let req = w.transfer();
    let grant = w.granted(&req);
    let captured = w.proof(&grant);
    w.advance(60);
    assert_eq!(
        w.redeem(&req, &grant, Some(&captured)).1,
        Some(RefusalCode::TimeOutOfSkew)
    );
    // The old form (a signature over the grant alone) does not verify.
    let v1 = w.workload.sign_b64(
        b"writ-pop-v1\0"
            .iter()
            .copied()
            .chain(grant.bytes())
            .collect::<Vec<_>>()
            .as_slice(),
    );
    assert_eq!(
        w.redeem(&req, &grant, Some(&v1)).1,
        Some(RefusalCode::ProofInvalid)
    );
    // A proof over another digest does not verify either.
    let iat = w.now.load(std::sync::atomic::Ordering::SeqCst);
    let other = writ_approvals::proof_text(
        iat,
        &w.workload.sign_b64(&writ_approvals::pop_message(
            &grant,
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            iat,
        )),
    );
    assert_eq!(
        w.redeem(&req, &grant, Some(&other)).1,
        Some(RefusalCode::ProofInvalid)
    );
    // A fresh proof redeems it.
    assert_eq!(w.redeem(&req, &grant, Some(&w.proof(&grant))).0, "allow");
}

#[test]
fn a_denial_is_on_record_before_it_takes_effect() {
    let w = World::new();
    let (id, digest) = w.open(&w.transfer());
    // The log cannot be appended to: a denial must not take effect unrecorded.
    use std::io::Write as _;
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(w.state_dir().join("audit.jsonl"))
        .unwrap();
    log.write_all(b"{\"torn\":").unwrap();
    let signature = w
        .key("dana")
        .sign_b64(&writ_approvals::answer_message(&id, &digest, false));
    let denied = w.approvals.answer(&Answer {
        challenge: id.clone(),
        approver: "dana".into(),
        approve: false,
        code: None,
        evidence: Evidence::Signature { signature },
    });
    assert!(denied.is_err());
    assert_eq!(w.approvals.challenge(&id).unwrap().unwrap().state, "open");
}

#[test]
fn refused_inputs_are_audited_within_a_bound() {
    let w = World::new();
    let garbage = r#"{"note":"SECRET-MARKER""#;
    for _ in 0..(writ_approvals::REFUSED_INPUTS_PER_MINUTE + 10) {
        assert!(matches!(
            w.approvals.decide(garbage),
            Err(writ_approvals::Error::Request(_))
        ));
    }
    assert!(matches!(
        w.approvals.redeem(garbage, "v4.public.x", None),
        Err(writ_approvals::Error::Request(_))
    ));
    let records = |w: &World| -> Vec<serde_json::Value> {
        w.audit_text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let refused = records(&w)
        .into_iter()
        .filter(|r| r["event"] == "input.refused")
        .count();
    assert_eq!(refused, writ_approvals::REFUSED_INPUTS_PER_MINUTE as usize);
    // The next minute: the suppressed count, then the new refusal (a redeem).
    w.advance(60);
    assert!(w.approvals.redeem(garbage, "v4.public.x", None).is_err());
    let all = records(&w);
    let suppressed = all
        .iter()
        .find(|r| r["event"] == "input.refused.suppressed")
        .unwrap();
    assert_eq!(suppressed["count"], 11);
    let last = all.last().unwrap();
    assert_eq!(last["event"], "input.refused");
    assert_eq!(last["step"], "redeem");
    assert!(last["input_sha256"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(!w.audit_text().contains("SECRET-MARKER"));
}

#[test]
fn debug_output_never_shows_a_collection_secret_or_a_grant() {
    let w = World::new();
    let mut req = w.transfer();
    req["principal"].as_object_mut().unwrap().remove("key");
    let d = w.approvals.decide(&req.to_string()).unwrap();
    let secret = d.collection_secret.clone().unwrap();
    assert!(!format!("{d:?}").contains(&secret));
    let c = d.challenge.unwrap();
    assert_eq!(w.sign("dana", &c.id, &c.digest, true).status, "accepted");
    let collected = w
        .approvals
        .collect(&c.id, &writ_approvals::Collect::Secret(secret))
        .unwrap();
    let grant = collected.grant.clone().unwrap();
    assert!(!format!("{collected:?}").contains(&grant));
}
