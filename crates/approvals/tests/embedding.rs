//! The flow as a service embeds it: requests as JSON values, the bound request and the
//! deciding engine handed back (explain on the same version), bind errors that keep their
//! path, the approver's view (every bound value in full with its type, the rules, risk and
//! signals; never the grant), and registry reloads as events and stats (the spans and the
//! metrics hook: spans.rs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use std::sync::{Arc, Mutex};

use fixture::{clock, World};
use serde_json::json;
use writ_approvals::{
    AnswerStatus, Approvals, ChallengeState, Config, Error, JsonType, RefusalCode, RegistryEvent,
};
use writ_engine::Verdict;

#[test]
fn a_json_value_goes_through_the_flow_and_comes_back_bound_with_its_engine() {
    let w = World::new();
    let request = w.transfer();
    let decided = w.approvals.decide_value(request.clone()).unwrap();
    assert_eq!(decided.decision.decision, Verdict::Approve);
    assert_eq!(decided.basis.request.json(), &request);
    assert_eq!(
        decided.basis.engine().version(),
        &*decided.decision.policy_version
    );
    let explained = decided.basis.explain();
    assert_eq!(explained.decision.decision, Verdict::Approve);
    assert_eq!(explained.decision.rules, decided.decision.rules);

    // The policy changes on disk; the answer still explains the version that decided.
    std::fs::write(
        w.policy_dir().join("payments.writ"),
        fixture::POLICY.replace("transfers need finance", "transfers need finance now"),
    )
    .unwrap();
    w.policies.reload();
    assert_ne!(
        w.policies.engine().version(),
        decided.basis.engine().version()
    );
    assert_eq!(
        decided.basis.explain().decision.rules,
        vec![Arc::<str>::from("transfers need finance")]
    );

    // The grant redeems a value too, once.
    let c = decided.challenge.unwrap();
    let answered = w.sign("dana", &c.id, &c.digest, true);
    assert_eq!(
        answered.status,
        AnswerStatus::Accepted,
        "{:?}",
        answered.refusal
    );
    let grant = w.collect(&c.id);
    let proof = w.proof(&grant);
    let redeemed = w
        .approvals
        .redeem_value(request.clone(), &grant, Some(&proof))
        .unwrap();
    assert_eq!(
        redeemed.decision.decision,
        Verdict::Allow,
        "{:?}",
        redeemed.refusal
    );
    assert_eq!(redeemed.basis.request.json(), &request);
    assert_eq!(
        redeemed.basis.engine().version(),
        w.policies.engine().version()
    );
    let again = w
        .approvals
        .redeem(&request.to_string(), &grant, Some(&w.proof(&grant)))
        .unwrap();
    assert_eq!(again.refusal.map(|r| r.code), Some(RefusalCode::Replayed));
}

#[test]
fn a_request_that_does_not_bind_keeps_its_path_and_says_so_once() {
    let w = World::new();
    let mut request = w.transfer();
    request["request"]["params"]["amount"] = json!("a lot");
    let Err(Error::Request(e)) = w.approvals.decide_value(request.clone()) else {
        panic!("bound")
    };
    assert_eq!(e.path, "request.params.amount");
    let text = Error::Request(e).to_string();
    assert!(
        text.starts_with("invalid request at `request.params.amount`: "),
        "{text}"
    );
    assert_eq!(text.matches("invalid request").count(), 1, "{text}");
    // A bad workload key names its path too.
    request["request"]["params"]["amount"] = json!(5);
    request["principal"]["key"] = json!({"kty": "RSA"});
    let Err(Error::Request(e)) = w.approvals.decide(&request.to_string()) else {
        panic!("bound")
    };
    assert_eq!(e.path, "principal.key");
}

#[test]
fn the_approver_s_view_shows_every_bound_value_in_full_with_its_type_and_never_the_grant() {
    let w = World::new();
    let mut request = w.transfer();
    let payee = format!("ACME {} Ltd", "long ".repeat(100));
    request["request"]["params"]["payee"] = json!(payee);
    let (id, digest) = w.open(&request);
    let view = w.approvals.challenge(&id).unwrap().unwrap();
    let payee_bound = view
        .bound
        .iter()
        .find(|b| b.path == "request.params.payee")
        .unwrap();
    assert_eq!(payee_bound.value, Some(json!(payee)));
    assert_eq!(payee_bound.json_type, JsonType::String);
    let amount = view
        .bound
        .iter()
        .find(|b| b.path == "request.params.amount")
        .unwrap();
    assert_eq!(amount.json_type, JsonType::Number);
    let missing = view
        .bound
        .iter()
        .find(|b| b.path == "principal.on_behalf_of")
        .unwrap();
    assert!(missing.missing);
    assert_eq!(missing.json_type, JsonType::Missing);
    assert_eq!(view.rules, vec!["transfers need finance".to_string()]);
    assert_eq!(view.risk, 0);
    assert!(view.signals.is_empty());
    assert!(!view.decision_id.is_empty());
    assert!(view.summary.contains("SHORTENED"), "{}", view.summary);
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["bound"][5]["type"], "number", "{json}");

    let answered = w.sign("dana", &id, &digest, true);
    assert_eq!(answered.status, AnswerStatus::Accepted);
    let granted = w.approvals.challenge(&id).unwrap().unwrap();
    assert_eq!(granted.state, ChallengeState::Granted);
    let grant = w.collect(&id);
    for shown in [
        serde_json::to_string(&granted).unwrap(),
        format!("{granted:?}"),
        serde_json::to_string(&answered).unwrap(),
    ] {
        assert!(
            !shown.contains(&grant),
            "the approver's view leaks the grant"
        );
        assert!(!shown.contains("\"grant\""), "{shown}");
    }
}

#[test]
fn a_broken_registry_edit_is_an_event_and_a_stat_and_the_last_registry_stays() {
    let w = World::new();
    let events: Arc<Mutex<Vec<RegistryEvent>>> = Arc::default();
    let sink = events.clone();
    let approvals = Approvals::with_state_dir(
        w.policies.clone(),
        &w.dir.path().join("other-state"),
        Config::default(),
    )
    .unwrap()
    .with_clock(clock(&w.now))
    .on_registry_event(move |e| sink.lock().unwrap().push(e.clone()));
    let file = w.policy_dir().join("approvers.toml");
    let good = std::fs::read_to_string(&file).unwrap();
    let approvers = approvals.registry().unwrap().iter().count();
    assert_eq!(approvals.reload_registry().unwrap(), None);
    std::fs::write(&file, format!("{good}\n[[approver]\n")).unwrap();
    let Some(RegistryEvent::RegistryRejected { kept, error, .. }) =
        approvals.reload_registry().unwrap()
    else {
        panic!("no rejection")
    };
    assert_eq!(kept, approvers);
    assert!(error.contains("approvers.toml"), "{error}");
    let stats = approvals.registry_stats();
    assert_eq!(stats.rejected, 1);
    assert_eq!(stats.last_error.as_deref(), Some(error.as_str()));
    // Looked at again, unchanged: no second event; still the last good registry.
    assert_eq!(approvals.reload_registry().unwrap(), None);
    assert_eq!(approvals.registry().unwrap().iter().count(), approvers);
    std::fs::write(&file, &good).unwrap();
    approvals.registry().unwrap();
    assert_eq!(approvals.registry_stats().last_error, None);
    let seen = events.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        matches!(seen[1], RegistryEvent::RegistryLoaded { approvers: n, .. } if n == approvers)
    );
    assert_eq!(
        serde_json::to_value(&seen[0]).unwrap()["event"],
        "registry_rejected"
    );
}
