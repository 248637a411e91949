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

use fixture::{audit_text, World, TOTP_SECRET};
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
    let thief_proof = thief.sign_b64(&writ_approvals::pop_message(&grant));
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

fn otp_answer(w: &World, id: &str, code: String) -> writ_approvals::Answered {
    w.answer("otto", id, true, Evidence::Otp { code })
}

fn totp_now(w: &World) -> String {
    let reg = writ_approvals::Registry::parse(
        "t",
        &format!("[[approver]]\nid = \"otto\"\ntotp = \"{TOTP_SECRET}\"\n"),
    )
    .unwrap();
    let now = w.now.load(std::sync::atomic::Ordering::SeqCst) as u64;
    reg.get("otto")
        .unwrap()
        .totp
        .as_ref()
        .unwrap()
        .generate(now)
        .unwrap()
}

#[test]
fn otp_is_refused_where_a_phishing_resistant_method_is_required() {
    let w = World::new();
    let (id, _) = w.open(&w.transfer());
    let a = otp_answer(&w, &id, totp_now(&w));
    assert_eq!(a.refusal.unwrap().code, RefusalCode::MethodTooWeak);
}

#[test]
fn otp_is_accepted_where_the_policy_says_otp_and_a_wrong_code_is_not() {
    let w = World::new();
    let req = json!({"principal": {"id": "ann", "kind": "human"}, "action": "payments.refund",
                     "resource": {"id": "acct-1"}, "session": {"id": "s-1"}, "request": {"params": {}}});
    let (id, _) = w.open(&req);
    let wrong = if totp_now(&w) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(
        otp_answer(&w, &id, wrong.into()).refusal.unwrap().code,
        RefusalCode::BadOtp
    );
    let ok = otp_answer(&w, &id, totp_now(&w));
    assert_eq!(ok.status, "accepted", "{:?}", ok.refusal);
    let grant = ok.challenge.unwrap().grant.unwrap();
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
    let right = totp_now(&w);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let a = otp_answer(&w, &id, wrong.into());
        assert_eq!(a.refusal.unwrap().code, RefusalCode::BadOtp);
    }
    let a = otp_answer(&w, &id, right);
    assert_eq!(a.refusal.unwrap().code, RefusalCode::TooManyFailures);
    assert_eq!(a.challenge.unwrap().state, "locked");
}

#[test]
fn a_wrong_binding_code_is_refused() {
    let w = World::new();
    let d = w.approvals.decide(&w.transfer().to_string()).unwrap();
    let c = d.challenge.unwrap();
    let wrong = if c.code == "000000" {
        "000001"
    } else {
        "000000"
    };
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
    let foreign = other.granted(&req);
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
    let text = audit_text(&w.state_dir());
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
    let (redeemed, refused) = (&records[4], &records[5]);
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
    assert_eq!(v.records, 6);
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
    let code = totp_now(&w);
    assert_eq!(otp_answer(&w, &first, code.clone()).status, "accepted");
    let replayed = otp_answer(&w, &second, code);
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
    let code = totp_now(&w);
    let weak = otp_answer(&w, &strict, code.clone());
    assert_eq!(weak.refusal.unwrap().code, RefusalCode::MethodTooWeak);
    assert_eq!(otp_answer(&w, &lenient, code).status, "accepted");
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
    assert!(c.grant.is_none());
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
    let grant = w.granted(&req);
    let sig: p256::ecdsa::Signature = secret.sign(&writ_approvals::pop_message(&grant));
    let proof = writ_approvals::b64(&sig.to_bytes());
    // An Ed25519 proof by someone else is refused; the holder's ES256 proof is accepted.
    assert_eq!(
        w.redeem(&req, &grant, Some(&w.proof(&grant))).1,
        Some(RefusalCode::ProofInvalid)
    );
    assert_eq!(w.redeem(&req, &grant, Some(&proof)), ("allow".into(), None));
}
