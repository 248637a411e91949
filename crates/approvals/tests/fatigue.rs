//! Approval fatigue (MFA bombing): identical requests share one challenge, a principal may
//! hold only so many open challenges, and one whose requests keep being denied is refused
//! new ones for a while.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use fixture::World;
use serde_json::json;
use writ_approvals::{Config, OpenLimits, RefusalCode};

fn limits(per_principal: u32, per_action: u32, denials: u32) -> Config {
    Config {
        limits: OpenLimits {
            per_principal,
            per_action,
            denials,
            denial_window_s: 3600,
            cooling_off_s: 900,
        },
        ..Config::default()
    }
}

fn transfer_of(w: &World, amount: i64) -> serde_json::Value {
    let mut r = w.transfer();
    r["request"]["params"]["amount"] = json!(amount);
    r
}

#[test]
fn identical_requests_join_one_challenge_with_one_code() {
    let w = World::new();
    let a = w
        .approvals
        .decide(&w.transfer().to_string())
        .unwrap()
        .challenge
        .unwrap();
    let b = w
        .approvals
        .decide(&w.transfer().to_string())
        .unwrap()
        .challenge
        .unwrap();
    assert!(!a.merged);
    assert!(b.merged);
    assert_eq!((a.id, a.code), (b.id, b.code));
    // A different transaction is a different challenge with its own code.
    let c = w
        .approvals
        .decide(&transfer_of(&w, 7).to_string())
        .unwrap()
        .challenge
        .unwrap();
    assert!(!c.merged);
    assert_ne!(c.digest, b.digest);
}

#[test]
fn open_challenges_are_capped_per_action_and_per_principal() {
    let w = World::with_config(limits(3, 2, 3));
    w.open(&transfer_of(&w, 1));
    w.open(&transfer_of(&w, 2));
    let third = w.approvals.decide(&transfer_of(&w, 3).to_string()).unwrap();
    assert_eq!(third.decision.decision.as_str(), "deny");
    assert_eq!(third.refusal.unwrap().code, RefusalCode::TooManyOpen);
    // Another action still opens, up to the per-principal cap.
    let drop = json!({"principal": {"id": "ann", "kind": "human"}, "action": "db.drop",
                      "resource": {"id": "orders"}, "session": {"id": "s-1"}});
    w.open(&drop);
    let mut refund = drop.clone();
    refund["action"] = json!("payments.refund");
    let refused = w.approvals.decide(&refund.to_string()).unwrap();
    assert_eq!(refused.refusal.unwrap().code, RefusalCode::TooManyOpen);
    // Another principal is not affected.
    let mut erin = transfer_of(&w, 1);
    erin["principal"]["id"] = json!("erin");
    w.open(&erin);
    // Expired challenges stop counting.
    w.advance(301);
    w.open(&transfer_of(&w, 4));
}

#[test]
fn repeated_denials_cool_the_principal_off() {
    let w = World::with_config(limits(10, 10, 2));
    for amount in [1, 2] {
        let (id, digest) = w.open(&transfer_of(&w, amount));
        assert_eq!(
            w.sign("dana", &id, &digest, false).challenge.unwrap().state,
            "denied"
        );
    }
    let refused = w.approvals.decide(&transfer_of(&w, 3).to_string()).unwrap();
    let refusal = refused.refusal.unwrap();
    assert_eq!(refusal.code, RefusalCode::CoolingOff);
    assert!(refusal.message.contains("900 s"), "{}", refusal.message);
    w.advance(901);
    w.open(&transfer_of(&w, 3));
}
