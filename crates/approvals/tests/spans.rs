//! The flow's `tracing` spans (with the decision id and policy version) and its metrics
//! hook. A test binary of its own: `tracing` caches per call site whether any subscriber
//! wants it, and other tests calling the flow at the same time on threads without a
//! subscriber made that cache miss this test's scoped subscriber now and then.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod fixture;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fixture::{clock, World};
use serde_json::json;
use writ_approvals::{
    AnswerStatus, Approvals, ChallengeOutcome, CollectStatus, Config, Error, Metrics, RefusalCode,
    RevokeStatus, Revoker,
};
use writ_engine::Verdict;

/// Every span's name and fields, as recorded.
#[derive(Default)]
struct Spans {
    next: AtomicU64,
    spans: Mutex<Vec<(String, BTreeMap<String, String>)>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for Spans {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        spans.push((attrs.metadata().name().to_string(), fields));
        self.next.fetch_add(1, Ordering::SeqCst);
        tracing::span::Id::from_u64(spans.len() as u64)
    }

    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        let index = usize::try_from(span.into_u64()).unwrap() - 1;
        values.record(&mut Fields(&mut spans[index].1));
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[derive(Default)]
struct Counted(Mutex<Vec<String>>);

impl Metrics for Counted {
    fn decision(&self, verdict: Verdict, refusal: Option<RefusalCode>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("decision {} {refusal:?}", verdict.as_str()));
    }
    fn challenge(&self, outcome: ChallengeOutcome) {
        self.0
            .lock()
            .unwrap()
            .push(format!("challenge {outcome:?}"));
    }
    fn answer(&self, status: AnswerStatus, refusal: Option<RefusalCode>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("answer {status} {refusal:?}"));
    }
    fn collection(&self, status: CollectStatus, refusal: Option<RefusalCode>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("collection {status} {refusal:?}"));
    }
    fn redemption(&self, verdict: Verdict, refusal: Option<RefusalCode>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("redemption {} {refusal:?}", verdict.as_str()));
    }
    fn revocation(&self, status: RevokeStatus, refusal: Option<RefusalCode>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("revocation {status} {refusal:?}"));
    }
    fn failure(&self, step: &'static str, _: &Error) {
        self.0.lock().unwrap().push(format!("failure {step}"));
    }
}

#[test]
fn each_step_has_a_span_with_its_decision_and_policy_version_and_is_counted() {
    let w = World::new();
    let counted = Arc::new(Counted::default());
    let approvals = Approvals::with_state_dir(
        w.policies.clone(),
        &w.dir.path().join("other-state"),
        Config::default(),
    )
    .unwrap()
    .with_clock(clock(&w.now))
    .with_metrics(counted.clone());
    let spans = Arc::new(Spans::default());
    let request = w.transfer();
    let (decided, redeemed) = tracing::subscriber::with_default(spans.clone(), || {
        let decided = approvals.decide_value(request.clone()).unwrap();
        let c = decided.challenge.clone().unwrap();
        let signature = w
            .key("dana")
            .sign_b64(&writ_approvals::answer_message(&c.id, &c.digest, true));
        approvals
            .answer(&writ_approvals::Answer {
                challenge: c.id.clone(),
                approver: "dana".into(),
                approve: true,
                code: None,
                evidence: writ_approvals::Evidence::Signature { signature },
            })
            .unwrap();
        let grant = w.collect_from(&approvals, &c.id);
        let redeemed = approvals
            .redeem_value(request.clone(), &grant, Some(&w.proof(&grant)))
            .unwrap();
        let revoked = approvals
            .revoke(&c.id, &Revoker::Operator { by: "ops".into() })
            .unwrap();
        assert_eq!(revoked.status, RevokeStatus::Revoked);
        let _ = approvals.decide_value(json!({"action": 5}));
        (decided, redeemed)
    });
    let version = decided.decision.policy_version.to_string();
    let spans = spans.spans.lock().unwrap().clone();
    let named = |name: &str| {
        spans
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
            .1
            .clone()
    };
    for (name, id) in [
        ("writ.decide", &decided.decision_id),
        ("writ.answer", &decided.decision_id),
        ("writ.collect", &decided.decision_id),
        ("writ.redeem", &redeemed.decision_id),
    ] {
        let fields = named(name);
        assert_eq!(fields.get("decision_id"), Some(id), "{name}: {fields:?}");
        assert_eq!(fields.get("policy_version"), Some(&version), "{name}");
    }
    let revoke = named("writ.revoke");
    assert_eq!(
        (
            revoke.get("challenge"),
            revoke.get("status").map(String::as_str),
            revoke.get("was").map(String::as_str)
        ),
        (
            decided.challenge.as_ref().map(|c| &c.id),
            Some("revoked"),
            Some("redeemed")
        ),
        "{revoke:?}"
    );
    assert_eq!(
        counted.0.lock().unwrap().clone(),
        vec![
            "decision approve None".to_string(),
            "challenge Opened".into(),
            "answer accepted None".into(),
            "collection granted None".into(),
            "redemption allow None".into(),
            "revocation revoked None".into(),
            "failure decide".into(),
        ]
    );
}
