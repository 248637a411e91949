//! What the flow tells operators: a `tracing` span around each step (`writ.decide`,
//! `writ.answer`, `writ.collect`, `writ.redeem`, `writ.revoke`) carrying the `decision_id` and the
//! `policy_version`, a [`Metrics`] hook counting outcomes, and the approver registry's
//! reloads as events and stats (as the policy store reports its own).

use std::sync::Arc;

use tracing::field::Empty;
use tracing::Span;
use writ_engine::Verdict;

use super::{
    AnswerStatus, Answered, Approvals, ChallengeView, CollectStatus, Collected, Decided, Redeemed,
    RevokeStatus, Revoked,
};
use crate::error::{Error, RefusalCode};
use crate::registry::{RegistryEvent, RegistryStats};

/// Counts what the flow does, by outcome: set one with [`Approvals::with_metrics`] to feed
/// a metrics system. Every method has a no-op default; each is called once per step, on
/// the caller's thread, after the step is done (and audited), so it must be quick and
/// must not call back into the flow.
pub trait Metrics: Send + Sync {
    /// A decision (`decide`): its verdict, and the refusal that made it a `deny` (a request
    /// `time` out of skew, or an approval that could not be asked for).
    fn decision(&self, verdict: Verdict, refusal: Option<RefusalCode>) {
        let _ = (verdict, refusal);
    }

    /// An `approve` decision's challenge: opened, joined, or refused.
    fn challenge(&self, outcome: ChallengeOutcome) {
        let _ = outcome;
    }

    /// An approver's answer: accepted or refused, and why.
    fn answer(&self, status: AnswerStatus, refusal: Option<RefusalCode>) {
        let _ = (status, refusal);
    }

    /// A requester's collection: granted or refused, and why.
    fn collection(&self, status: CollectStatus, refusal: Option<RefusalCode>) {
        let _ = (status, refusal);
    }

    /// A redemption: `allow` (the grant consumed) or `deny`, and why.
    fn redemption(&self, verdict: Verdict, refusal: Option<RefusalCode>) {
        let _ = (verdict, refusal);
    }

    /// A revocation: revoked or refused, and why.
    fn revocation(&self, status: RevokeStatus, refusal: Option<RefusalCode>) {
        let _ = (status, refusal);
    }

    /// A step that failed operationally (the store, the audit log, the registry, or a
    /// request that does not bind): `decide`, `answer`, `collect`, `redeem` or `revoke`.
    fn failure(&self, step: &'static str, error: &Error) {
        let _ = (step, error);
    }
}

/// What became of an `approve` decision's challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengeOutcome {
    /// A new challenge was opened.
    Opened,
    /// The request joined an identical open challenge.
    Merged,
    /// No challenge: the approval could not be asked for (the decision is a `deny`).
    Refused(RefusalCode),
}

/// The metrics hook that counts nothing (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {}

impl Approvals {
    /// The same service reporting to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Approvals {
        self.metrics = metrics;
        self
    }

    /// The same service handing every change of the approver registry (`approvers.toml`)
    /// to `listener`: a new registry live, or a broken edit refused (the registry in use
    /// stays). The file is looked at on each use, and by [`Approvals::reload_registry`].
    pub fn on_registry_event(
        self,
        listener: impl Fn(&RegistryEvent) + Send + Sync + 'static,
    ) -> Approvals {
        self.registry.on_event(listener);
        self
    }

    /// Looks at the approver registry file now: the event when it changed since the last
    /// look (also handed to the listener), `None` when it did not. Call it from the policy
    /// watcher's callback (`writ_reload::watch`), so that a broken edit surfaces when it is
    /// made, not at the next approval. Blocks: reads the file when it changed.
    pub fn reload_registry(&self) -> Result<Option<RegistryEvent>, Error> {
        self.registry.reload()
    }

    /// The approver registry's counters and last problem (`last_error` is set while the
    /// file on disk is refused and the previous registry is in use). Does not block.
    pub fn registry_stats(&self) -> RegistryStats {
        self.registry.stats()
    }

    /// Runs `step` inside `span`, then hands what it returned to `done` (which records it
    /// on the span and counts it), or counts its failure as `name`'s: the one shape of
    /// every observed step.
    fn observed<T>(
        &self,
        span: &Span,
        name: &'static str,
        step: impl FnOnce() -> Result<T, Error>,
        done: impl FnOnce(&T),
    ) -> Result<T, Error> {
        let result = span.in_scope(step);
        match &result {
            Ok(value) => done(value),
            Err(e) => self.metrics.failure(name, e),
        }
        result
    }

    /// Runs `decide` in its span, then counts its outcome.
    pub(super) fn observe_decide(
        &self,
        step: impl FnOnce() -> Result<Decided, Error>,
    ) -> Result<Decided, Error> {
        let span = tracing::info_span!(
            "writ.decide",
            decision_id = Empty,
            policy_version = Empty,
            verdict = Empty
        );
        self.observed(&span, "decide", step, |d| {
            span.record("decision_id", d.decision_id.as_str());
            span.record("policy_version", &*d.decision.policy_version);
            span.record("verdict", d.decision.decision.as_str());
            let refusal = d.refusal.as_ref().map(|r| r.code);
            self.metrics.decision(d.decision.decision, refusal);
            match (&d.challenge, refusal) {
                (Some(c), _) => self.metrics.challenge(if c.merged {
                    ChallengeOutcome::Merged
                } else {
                    ChallengeOutcome::Opened
                }),
                (None, Some(code)) if code != RefusalCode::TimeOutOfSkew => {
                    self.metrics.challenge(ChallengeOutcome::Refused(code));
                }
                (None, _) => {}
            }
        })
    }

    /// Runs `answer` in its span, then counts its outcome.
    pub(super) fn observe_answer(
        &self,
        challenge: &str,
        step: impl FnOnce() -> Result<Answered, Error>,
    ) -> Result<Answered, Error> {
        let span = tracing::info_span!(
            "writ.answer",
            challenge = challenge,
            decision_id = Empty,
            policy_version = Empty,
            status = Empty
        );
        self.observed(&span, "answer", step, |a| {
            record_challenge(&span, a.challenge.as_ref(), a.status.as_str());
            self.metrics
                .answer(a.status, a.refusal.as_ref().map(|r| r.code));
        })
    }

    /// Runs `collect` in its span, then counts its outcome.
    pub(super) fn observe_collect(
        &self,
        challenge: &str,
        step: impl FnOnce() -> Result<Collected, Error>,
    ) -> Result<Collected, Error> {
        let span = tracing::info_span!(
            "writ.collect",
            challenge = challenge,
            decision_id = Empty,
            policy_version = Empty,
            status = Empty
        );
        self.observed(&span, "collect", step, |c| {
            record_challenge(&span, c.challenge.as_ref(), c.status.as_str());
            self.metrics
                .collection(c.status, c.refusal.as_ref().map(|r| r.code));
        })
    }

    /// Runs `redeem` in its span, then counts its outcome.
    pub(super) fn observe_redeem(
        &self,
        step: impl FnOnce() -> Result<Redeemed, Error>,
    ) -> Result<Redeemed, Error> {
        let span = tracing::info_span!(
            "writ.redeem",
            decision_id = Empty,
            policy_version = Empty,
            verdict = Empty
        );
        self.observed(&span, "redeem", step, |r| {
            span.record("decision_id", r.decision_id.as_str());
            span.record("policy_version", &*r.decision.policy_version);
            span.record("verdict", r.decision.decision.as_str());
            self.metrics
                .redemption(r.decision.decision, r.refusal.as_ref().map(|x| x.code));
        })
    }

    /// Runs `revoke` in its span, then counts its outcome.
    pub(super) fn observe_revoke(
        &self,
        challenge: &str,
        step: impl FnOnce() -> Result<Revoked, Error>,
    ) -> Result<Revoked, Error> {
        let span = tracing::info_span!(
            "writ.revoke",
            challenge = challenge,
            status = Empty,
            was = Empty
        );
        self.observed(&span, "revoke", step, |r| {
            span.record("status", r.status.as_str());
            if let Some(was) = r.was {
                span.record("was", was.as_str());
            }
            self.metrics
                .revocation(r.status, r.refusal.as_ref().map(|x| x.code));
        })
    }
}

/// Records on a challenge step's span the challenge it returned (when it did) and its
/// status.
fn record_challenge(span: &Span, view: Option<&ChallengeView>, status: &str) {
    if let Some(c) = view {
        span.record("decision_id", c.decision_id.as_str());
        span.record("policy_version", c.policy_version.as_str());
    }
    span.record("status", status);
}
