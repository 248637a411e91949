//! Answering a challenge: evidence checked (OTP and WebAuthn consumed in the store first),
//! separation of duties, the quorum counted, and the grant issued — or withdrawn when its
//! issuance cannot be audited. The grant stays with the challenge for its requester to
//! collect; no approver is handed it. A denial is audited before it takes effect.

use serde_json::Value as Json;

use super::{rfc3339, AnswerStatus, Answered, Approvals, ASSERTION_MEMORY_S};
use crate::audit::Entry;
use crate::challenge::{Approved, Challenge, State};
use crate::encode::new_id;
use crate::error::{Error, Refusal, RefusalCode};
use crate::evidence::{self, Answer};
use crate::grant::{Claims, Confirmation, GrantApprover};
use crate::quorum::tally;
use crate::registry::Registry;
use crate::store::Update;

impl Approvals {
    /// An approver's answer: checked, counted, and when the quorum is met, a grant issued
    /// (kept for the requester: [`Approvals::collect`]).
    ///
    /// Blocks: the answer is applied in the state store (a durable redb commit, or Redis
    /// round trips; one-time codes and WebAuthn assertions are consumed there first) and
    /// audited; a denial is audited before it takes effect.
    pub fn answer(&self, answer: &Answer) -> Result<Answered, Error> {
        self.observe_answer(&answer.challenge, || self.answer_unobserved(answer))
    }

    fn answer_unobserved(&self, answer: &Answer) -> Result<Answered, Error> {
        let registry = self.registry.current()?;
        let now = self.now();
        let jti = new_id("g_")?;
        let store_id = self.store.identity()?;
        let max = self.config.max_failures;
        let pre = self.pre_verify(answer, &registry, now)?;
        let mut failure: Option<Error> = None;
        let mut granted = false;
        let mut denying = false;
        let updated = self
            .store
            .update(&answer.challenge, &mut |c: &mut Challenge| {
                granted = false;
                denying = false;
                failure = None;
                if c.state != State::Open {
                    let what = match c.state {
                        State::Granted => "granted",
                        State::Denied => "denied",
                        State::Locked => "locked after too many failed attempts",
                        State::RelaySuspected => {
                            "closed as a suspected relay (a valid answer carried another binding code)"
                        }
                        State::Open => "open",
                    };
                    let code = if c.state == State::Locked {
                        RefusalCode::TooManyFailures
                    } else {
                        RefusalCode::ChallengeClosed
                    };
                    c.refused = c.refused.saturating_add(1);
                    return Update::Write(Err(Refusal::new(
                        code,
                        format!("the challenge was {what} already and accepts no more answers"),
                    )));
                }
                if !c.is_live(now) {
                    c.refused = c.refused.saturating_add(1);
                    return Update::Write(Err(Refusal::new(
                        RefusalCode::ChallengeExpired,
                        format!("the challenge expired at {}", rfc3339(c.expires_at)),
                    )));
                }
                let method = match evidence::check(c, &registry, answer, pre.as_ref()) {
                    Ok(m) => m,
                    Err(r) => {
                        // Every refusal is counted (to bound its audit records); only a
                        // wrong one-time code — guessable — counts towards the lock, and
                        // a valid proof with another binding code closes the challenge.
                        c.refused = c.refused.saturating_add(1);
                        if r.code == RefusalCode::RelaySuspected {
                            c.state = State::RelaySuspected;
                        } else if r.is_failed_evidence() {
                            c.failures += 1;
                            if c.failures >= max {
                                c.state = State::Locked;
                            }
                        }
                        return Update::Write(Err(r));
                    }
                };
                if !answer.approve {
                    // Takes effect once it is on record (below).
                    denying = true;
                    return Update::Keep(Ok(()));
                }
                c.approvals.push(Approved {
                    approver: answer.approver.clone(),
                    method,
                    at: rfc3339(now),
                });
                let counted: Vec<_> = c
                    .approvals
                    .iter()
                    .map(|a| (a.approver.clone(), registry.groups_of(&a.approver)))
                    .collect();
                if tally(&c.requirements.approvers, &counted).met {
                    match self.issue(c, &jti, &store_id, now) {
                        Ok(token) => {
                            c.state = State::Granted;
                            c.grant = Some(token);
                            granted = true;
                        }
                        Err(e) => {
                            failure = Some(e);
                            return Update::Keep(Ok(()));
                        }
                    }
                }
                Update::Write(Ok(()))
            })?;
        if let Some(e) = failure {
            return Err(e);
        }
        let Some((c, mut result)) = updated else {
            let refusal = Refusal::new(
                RefusalCode::ChallengeNotFound,
                format!("there is no challenge `{}`", answer.challenge),
            );
            self.audit(
                Entry::new("answer.refused")
                    .with("challenge", answer.challenge.as_str())
                    .with("approver", answer.approver.as_str())
                    .with("code", "challenge_not_found")
                    .with("reason", refusal.message.as_str()),
            )?;
            return Ok(Answered {
                status: AnswerStatus::Refused,
                refusal: Some(refusal),
                challenge: None,
            });
        };
        let base = |c: &Challenge, event: &str| {
            Entry::new(event)
                .with("challenge", c.id.as_str())
                .with("decision_id", c.decision_id.as_str())
                .with("policy_version", c.policy_version.as_str())
                .with("digest", c.digest.as_str())
                .with("approver", answer.approver.as_str())
                .with("method", answer.evidence.method().as_str())
        };
        let mut c = c;
        if denying && result.is_ok() {
            // On record first: a denial nobody can read in the log never takes effect.
            self.audit(base(&c, "challenge.denied"))?;
            let approver = answer.approver.clone();
            let applied = self.store.update(&c.id, &mut |c: &mut Challenge| {
                if c.state == State::Open && c.is_live(now) {
                    c.state = State::Denied;
                    c.denied_by = Some(approver.clone());
                    Update::Write(Ok(()))
                } else {
                    Update::Keep(Err(Refusal::new(
                        RefusalCode::ChallengeClosed,
                        "the challenge closed before the denial took effect",
                    )))
                }
            })?;
            if let Some((now_c, r)) = applied {
                c = now_c;
                result = r;
            }
        }
        match &result {
            Err(r) => {
                let code = serde_json::to_value(r.code).unwrap_or(Json::Null);
                match refusal_record(&c, r) {
                    Some(Recorded::Full) => self.audit(
                        base(&c, "answer.refused")
                            .with("code", code)
                            .with("reason", r.message.as_str())
                            .with("failures", c.failures)
                            .with("refused", c.refused),
                    )?,
                    // Past the bound: how many, and the latest code, not every answer.
                    Some(Recorded::Count) => self.audit(
                        base(&c, "answer.refused.suppressed")
                            .with("code", code)
                            .with("refused", c.refused)
                            .with("recorded_in_full", AUDITED_REFUSALS),
                    )?,
                    None => {}
                }
            }
            Ok(()) if c.state == State::Denied => {
                if let Some(p) = &c.requester.principal {
                    self.store.record_denial(p, now)?;
                }
            }
            Ok(()) => {
                let logged = self.audit(base(&c, "answer.accepted")).and_then(|()| {
                    if !granted {
                        return Ok(());
                    }
                    self.audit(
                        base(&c, "grant.issued")
                            .with("jti", jti.as_str())
                            .with(
                                "approvers",
                                Json::from(
                                    c.approvals
                                        .iter()
                                        .map(|a| Json::from(a.approver.as_str()))
                                        .collect::<Vec<_>>(),
                                ),
                            )
                            .with("key_bound", c.requester.jkt.is_some()),
                    )
                });
                if let Err(e) = logged {
                    // A grant whose issuance is not on record is never released.
                    if granted {
                        self.void(&c.id)?;
                    }
                    return Err(e);
                }
            }
        }
        let view = self.view(&c, false, now)?;
        Ok(Answered {
            status: if result.is_ok() {
                AnswerStatus::Accepted
            } else {
                AnswerStatus::Refused
            },
            refusal: result.err(),
            challenge: Some(view),
        })
    }

    /// Verifies OTP and WebAuthn evidence before the challenge is updated: what they
    /// consume lives in the store and is consumed atomically there, so a code's time step,
    /// an assertion and a sign count each count once, on any replica. `None` for other
    /// evidence, and — consuming nothing — when the challenge does not exist, is no longer
    /// open, or the approver may not answer it this way (the update refuses those).
    fn pre_verify(
        &self,
        answer: &Answer,
        registry: &Registry,
        now: i64,
    ) -> Result<Option<Result<(), Refusal>>, Error> {
        let Some(challenge) = self.store.get(&answer.challenge)? else {
            return Ok(None);
        };
        if challenge.state != State::Open
            || !challenge.is_live(now)
            || evidence::eligible(&challenge, registry, answer).is_err()
        {
            return Ok(None);
        }
        match &answer.evidence {
            evidence::Evidence::Signature { .. } => Ok(None),
            evidence::Evidence::Otp { code } => self.pre_verify_otp(answer, registry, code, now),
            evidence::Evidence::Webauthn { assertion } => {
                self.pre_verify_webauthn(&challenge, answer, registry, assertion, now)
            }
        }
    }

    fn pre_verify_otp(
        &self,
        answer: &Answer,
        registry: &Registry,
        code: &str,
        now: i64,
    ) -> Result<Option<Result<(), Refusal>>, Error> {
        let id = answer.approver.as_str();
        let Some(secret) = registry.get(id).and_then(|a| a.totp.as_ref()) else {
            return Ok(Some(Err(Refusal::new(
                RefusalCode::NoCredential,
                format!("`{id}` has no enrolled one-time code"),
            ))));
        };
        // Guessing is limited per approver across every challenge (a requester can open
        // challenge after challenge): a locked-out approver's codes are not even checked.
        if let Some(refusal) = self.store.otp_record(id)?.refusal(now) {
            return Ok(Some(Err(refusal)));
        }
        let Some(step) = secret.matching_step(code, u64::try_from(now).unwrap_or(0)) else {
            let record = self.store.otp_failed(id, &self.config.otp, now)?;
            let then = record
                .refusal(now)
                .map(|r| format!(": {}", r.message))
                .unwrap_or_default();
            return Ok(Some(Err(Refusal::new(
                RefusalCode::BadOtp,
                format!("the one-time code is wrong or expired{then}"),
            ))));
        };
        // RFC 6238 §5.2: a code is accepted once.
        let key = format!("otp:{id}:{step}");
        let keep_until = i64::try_from((step + 2) * 30).unwrap_or(i64::MAX);
        if !self.store.consume(&key, keep_until, now)? {
            return Ok(Some(Err(Refusal::new(
                RefusalCode::BadOtp,
                "this one-time code was used already: wait for the next one",
            ))));
        }
        self.store.otp_succeeded(id)?;
        Ok(Some(Ok(())))
    }

    fn pre_verify_webauthn(
        &self,
        challenge: &Challenge,
        answer: &Answer,
        registry: &Registry,
        assertion: &writ_webauthn::Assertion,
        now: i64,
    ) -> Result<Option<Result<(), Refusal>>, Error> {
        let mut read_error = None;
        let verified = evidence::verify_webauthn(
            challenge,
            registry,
            &answer.approver,
            assertion,
            answer.approve,
            |id, floor| match self.store.sign_count(id) {
                Ok(stored) => stored.unwrap_or(0).max(floor),
                Err(e) => {
                    read_error = Some(e);
                    u32::MAX
                }
            },
        );
        if let Some(e) = read_error {
            return Err(e);
        }
        let (credential, count) = match verified {
            Ok(v) => v,
            Err(r) => return Ok(Some(Err(r))),
        };
        // Each assertion is good once, whatever the authenticator's counter does (a
        // counterless authenticator reports 0 every time).
        // Its identity leaves the signature out: an ES256 signature has a twin (r, n − s).
        let fingerprint = evidence::webauthn_assertion_id(assertion);
        let keep_until = now.saturating_add(ASSERTION_MEMORY_S);
        if !self
            .store
            .consume(&format!("wa:{fingerprint}"), keep_until, now)?
        {
            return Ok(Some(Err(Refusal::new(
                RefusalCode::PossibleClone,
                "this WebAuthn assertion was used before: a replay; report it",
            ))));
        }
        let floor = registry
            .get(&answer.approver)
            .and_then(|a| a.webauthn.iter().find(|c| c.id == credential))
            .map_or(0, |c| c.sign_count);
        Ok(Some(match self.store.advance_sign_count(&credential, floor, count)? {
            Ok(()) => Ok(()),
            Err(recorded) => Err(Refusal::new(
                RefusalCode::PossibleClone,
                format!(
                    "the authenticator's sign count {count} is not above the recorded {recorded}: a replayed assertion or a cloned authenticator; report it"
                ),
            )),
        }))
    }

    /// Locks a challenge and withdraws its grant (when its record could not be audited).
    pub(super) fn void(&self, id: &str) -> Result<(), Error> {
        self.store.update(id, &mut |c: &mut Challenge| {
            c.grant = None;
            c.state = State::Locked;
            Update::Write(Ok(()))
        })?;
        Ok(())
    }

    fn issue(&self, c: &Challenge, jti: &str, store_id: &str, now: i64) -> Result<String, Error> {
        let r = &c.requester;
        // An elevation lives its time box from the issue; a single-use grant its ttl.
        let ttl = i64::try_from(c.requirements.elevation_s.unwrap_or(c.requirements.ttl_s))
            .unwrap_or(i64::MAX);
        let claims = Claims {
            iss: "writ".into(),
            sub: r.principal.clone(),
            obo: r.on_behalf_of.clone(),
            act: r.action.clone(),
            res: r.resource.clone(),
            digest: c.digest.clone(),
            bind: c.requirements.bind.clone(),
            jti: jti.into(),
            iat: rfc3339(now),
            exp: rfc3339(now.saturating_add(ttl)),
            // A workload key, when the request carried one, else the client certificate.
            cnf: match (&r.jkt, &r.x5t) {
                (Some(jkt), _) => Some(Confirmation::Jkt(jkt.clone())),
                (None, Some(x5t)) => Some(Confirmation::X5tS256(x5t.clone())),
                (None, None) => None,
            },
            chl: c.id.clone(),
            pv: c.policy_version.clone(),
            approvers: c
                .approvals
                .iter()
                .map(|a| GrantApprover {
                    id: a.approver.clone(),
                    method: a.method,
                })
                .collect(),
            sid: store_id.into(),
            elv: c.requirements.elevation_s,
        };
        self.grant_key.issue(&claims)
    }
}

/// Refused answers to one challenge audited in full; beyond, only counts.
pub(super) const AUDITED_REFUSALS: u32 = 16;

/// How a refused answer is audited.
enum Recorded {
    /// An `answer.refused` record with the reason.
    Full,
    /// An `answer.refused.suppressed` record with the count so far.
    Count,
}

/// How a refused answer is audited, if at all: in full up to [`AUDITED_REFUSALS`] per
/// challenge, and always a wrong one-time code (bounded by the code limits) or a
/// suspected relay (it closes the challenge); beyond that, a count at the first
/// suppressed refusal and at every power of two — so garbage answers add O(log n)
/// records, not n.
fn refusal_record(c: &Challenge, r: &Refusal) -> Option<Recorded> {
    if c.refused <= AUDITED_REFUSALS
        || matches!(r.code, RefusalCode::BadOtp | RefusalCode::RelaySuspected)
    {
        return Some(Recorded::Full);
    }
    (c.refused == AUDITED_REFUSALS + 1 || c.refused.is_power_of_two()).then_some(Recorded::Count)
}
