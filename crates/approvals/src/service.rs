//! The approval flow end to end: decide (and open a challenge for `approve`), answer
//! (evidence, separation of duties, quorum, grant), redeem (re-decide now, re-derive the
//! digest, verify the grant and its proof of possession, consume it once). Every step is
//! audited.
//!
//! Architecture Invariant: approvals never weaken a decision. They only turn `approve`
//! into `allow` for one exact transaction, once; a rule that denies now wins over any
//! grant, and any failure to check or record fails closed.

use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value as Json;
use writ_engine::{Clock, Decision, Request, Verdict};
use writ_reload::PolicyStore;

use crate::audit::{AuditLog, Entry};
use crate::challenge::{
    summary, Approved, Challenge, Clause, Method, Requester, Requirements, State,
};
use crate::encode::{binding_code, new_id};
use crate::error::{Error, Refusal, RefusalCode};
use crate::evidence::{self, Answer};
use crate::grant::{instant, Claims, Confirmation, GrantApprover, GrantKey};
use crate::keys::{pop_message, thumbprint, WorkloadKey};
use crate::quorum::tally;
use crate::redb_store::RedbStore;
use crate::registry::{Registry, RegistryFile};
use crate::store::{OpenLimits, Opened, StateStore, Update};

/// How long a used WebAuthn assertion is remembered (it can only ever match challenges
/// over the same digest): 30 days.
const ASSERTION_MEMORY_S: i64 = 30 * 24 * 3600;

/// How the flow is tuned.
#[derive(Clone, Debug)]
pub struct Config {
    /// Clock skew tolerated on a grant's `iat`/`exp`, seconds (at most 30 by default).
    pub clock_skew_s: i64,
    /// Failed pieces of evidence after which a challenge accepts nothing more.
    pub max_failures: u32,
    /// Limits on opening challenges (approval fatigue).
    pub limits: OpenLimits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clock_skew_s: 30,
            max_failures: 5,
            limits: OpenLimits::default(),
        }
    }
}

/// A challenge as shown to requesters and approvers (never a secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChallengeView {
    /// Its id.
    pub id: String,
    /// The binding code to compare between requester and approver.
    pub code: String,
    /// What is approved.
    pub summary: String,
    /// The transaction digest.
    pub digest: String,
    /// Open, granted, denied or locked (`expired` when open past its expiry).
    pub state: String,
    /// Accepts answers until (RFC 3339).
    pub expires_at: String,
    /// The required method.
    pub method: String,
    /// Every approver clause.
    pub approvers: Vec<Clause>,
    /// Accepted approvals.
    pub approvals: Vec<Approved>,
    /// What is still missing.
    pub missing: Vec<Clause>,
    /// The grant, once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// Whether this request joined an identical open challenge.
    pub merged: bool,
}

/// The answer to `decide`: the decision, its id, and the challenge it opened.
#[derive(Clone, Debug, Serialize)]
pub struct Decided {
    /// The engine's decision (turned into `deny` when the challenge could not be opened).
    #[serde(flatten)]
    pub decision: Decision,
    /// This decision's id (in the audit log).
    pub decision_id: String,
    /// For `approve`: the challenge to answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeView>,
    /// Why an `approve` could not open a challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

/// The answer to an approver.
#[derive(Clone, Debug, Serialize)]
pub struct Answered {
    /// `accepted` or `refused`.
    pub status: &'static str,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The challenge after the answer (absent when there is no such challenge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeView>,
}

/// What a redemption granted, when it did.
#[derive(Clone, Debug, Serialize)]
pub struct Redemption {
    /// The grant's id, now consumed.
    pub jti: String,
    /// The challenge it answered.
    pub challenge: String,
    /// Who approved.
    pub approvers: Vec<GrantApprover>,
}

/// The answer to `redeem`: `allow` with the obligations, or `deny` with the reason.
#[derive(Clone, Debug, Serialize)]
pub struct Redeemed {
    /// The decision after redemption.
    #[serde(flatten)]
    pub decision: Decision,
    /// This decision's id.
    pub decision_id: String,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The consumed grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<Redemption>,
}

/// The approval service over a policy store.
pub struct Approvals {
    policies: Arc<PolicyStore>,
    registry: RegistryFile,
    store: Arc<dyn StateStore>,
    grant_key: GrantKey,
    audit: Option<AuditLog>,
    clock: Clock,
    config: Config,
}

impl std::fmt::Debug for Approvals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approvals")
            .field("policies", &self.policies)
            .field("grant_key", &self.grant_key)
            .finish_non_exhaustive()
    }
}

fn rfc3339(unix: i64) -> String {
    Timestamp::from_second(unix).map_or_else(|_| unix.to_string(), |t| t.to_string())
}

fn opt(s: &Option<String>) -> Json {
    s.as_ref().map_or(Json::Null, |v| Json::from(v.as_str()))
}

impl Approvals {
    /// The service over `policies` (its directory holds `approvers.toml`), keeping state in
    /// `store`, signing grants with `grant_key`, auditing to `audit`.
    pub fn new(
        policies: Arc<PolicyStore>,
        store: Arc<dyn StateStore>,
        grant_key: GrantKey,
        audit: Option<AuditLog>,
        config: Config,
    ) -> Result<Approvals, Error> {
        let registry = RegistryFile::in_dir(policies.dir())?;
        Ok(Approvals {
            policies,
            registry,
            store,
            grant_key,
            audit,
            clock: Arc::new(Timestamp::now),
            config,
        })
    }

    /// The embedded default: state (`state.redb`), grant key (`grant.key`) and audit log
    /// (`audit.jsonl`) in `state_dir`.
    pub fn with_state_dir(
        policies: Arc<PolicyStore>,
        state_dir: &Path,
        config: Config,
    ) -> Result<Approvals, Error> {
        let store = Arc::new(RedbStore::open(state_dir)?);
        let key = GrantKey::load_or_create(&state_dir.join("grant.key"))?;
        let audit = AuditLog::open(&state_dir.join("audit.jsonl"), false)?;
        Approvals::new(policies, store, key, Some(audit), config)
    }

    /// The same service reading time from `clock` (tests, simulations).
    pub fn with_clock(mut self, clock: Clock) -> Approvals {
        self.clock = clock;
        self
    }

    /// The registry in use.
    pub fn registry(&self) -> Result<Arc<Registry>, Error> {
        self.registry.current()
    }

    fn now(&self) -> i64 {
        (self.clock)().as_second()
    }

    fn audit(&self, entry: Entry) -> Result<(), Error> {
        match &self.audit {
            Some(log) => log.append(entry, &(self.clock)().to_string()).map(|_| ()),
            None => Ok(()),
        }
    }

    fn bind(&self, request: &str) -> Result<(Arc<writ_engine::Engine>, Request), Error> {
        let engine = self.policies.engine();
        let req = engine
            .bind_str(request)
            .map_err(|e| Error::Request(e.to_string()))?;
        Ok((engine, req))
    }

    /// The thumbprint of `principal.key`, when the request carries one.
    fn key_thumbprint(req: &Request) -> Result<Option<String>, Error> {
        match req.value_at("principal.key") {
            None => Ok(None),
            Some(jwk) => {
                WorkloadKey::from_jwk(jwk)
                    .map_err(|e| Error::Request(format!("`principal.key`: {e}")))?;
                thumbprint(jwk)
                    .map(Some)
                    .map_err(|e| Error::Request(format!("`principal.key`: {e}")))
            }
        }
    }

    fn decision_entry(event: &str, id: &str, d: &Decision, r: &Requester) -> Entry {
        Entry::new(event)
            .with("decision_id", id)
            .with("policy_version", &*d.policy_version)
            .with("decision", d.decision.as_str())
            .with("principal", opt(&r.principal))
            .with("action", opt(&r.action))
            .with("resource", opt(&r.resource))
            .with(
                "digest",
                d.approval
                    .as_ref()
                    .map_or(Json::Null, |a| Json::from(a.digest.as_str())),
            )
            .with(
                "rules",
                Json::from(d.rules.iter().map(|r| Json::from(&**r)).collect::<Vec<_>>()),
            )
            .with("risk", d.risk)
    }

    /// Decides a request; an `approve` opens (or joins) a challenge.
    pub fn decide(&self, request: &str) -> Result<Decided, Error> {
        let (engine, req) = self.bind(request)?;
        let decision = engine.decide(&req);
        let decision_id = new_id("d_")?;
        let now = self.now();
        let jkt = Self::key_thumbprint(&req)?;
        let requester = Requester::of(&req, jkt);
        self.audit(Self::decision_entry(
            "decision",
            &decision_id,
            &decision,
            &requester,
        ))?;
        let Some(approval) = decision
            .approval
            .as_ref()
            .filter(|_| decision.decision == Verdict::Approve)
        else {
            return Ok(Decided {
                decision,
                decision_id,
                challenge: None,
                refusal: None,
            });
        };
        let requirements = Requirements::of(approval);
        let ttl = i64::try_from(requirements.ttl_s).unwrap_or(i64::MAX);
        let challenge = Challenge {
            id: new_id("ch_")?,
            digest: approval.digest.clone(),
            code: binding_code(&approval.digest),
            summary: summary(&req, &requester, &requirements.bind),
            requester,
            requirements,
            policy_version: decision.policy_version.to_string(),
            decision_id: decision_id.clone(),
            opened_at: now,
            expires_at: now.saturating_add(ttl),
            state: State::Open,
            approvals: Vec::new(),
            denied_by: None,
            failures: 0,
            grant: None,
            merged: Vec::new(),
        };
        match self.store.open(challenge, &self.config.limits, now)? {
            Ok(opened) => {
                let (c, merged) = match opened {
                    Opened::New(c) => (c, false),
                    Opened::Merged(c) => (c, true),
                };
                self.audit(
                    Entry::new(if merged {
                        "challenge.merged"
                    } else {
                        "challenge.opened"
                    })
                    .with("decision_id", decision_id.as_str())
                    .with("challenge", c.id.as_str())
                    .with("policy_version", c.policy_version.as_str())
                    .with("digest", c.digest.as_str())
                    .with("principal", opt(&c.requester.principal))
                    .with("action", opt(&c.requester.action))
                    .with("expires_at", rfc3339(c.expires_at)),
                )
                .inspect_err(|_| {
                    // Unaudited, the challenge must not go on: lock it (best effort; the
                    // caller gets the audit error either way).
                    if !merged {
                        let _ = self.void(&c.id);
                    }
                })?;
                let view = self.view(&c, merged, now)?;
                Ok(Decided {
                    decision,
                    decision_id,
                    challenge: Some(view),
                    refusal: None,
                })
            }
            Err(refusal) => {
                self.audit(
                    Entry::new("challenge.refused")
                        .with("decision_id", decision_id.as_str())
                        .with("digest", approval.digest.as_str())
                        .with("reason", refusal.message.as_str())
                        .with(
                            "code",
                            serde_json::to_value(refusal.code).unwrap_or(Json::Null),
                        ),
                )?;
                let mut denied = decision;
                denied.decision = Verdict::Deny;
                denied.message = Some(refusal.message.as_str().into());
                denied.approval = None;
                denied.obligations.clear();
                Ok(Decided {
                    decision: denied,
                    decision_id,
                    challenge: None,
                    refusal: Some(refusal),
                })
            }
        }
    }

    /// A challenge as shown to people.
    pub fn challenge(&self, id: &str) -> Result<Option<ChallengeView>, Error> {
        let now = self.now();
        match self.store.get(id)? {
            Some(c) => Ok(Some(self.view(&c, false, now)?)),
            None => Ok(None),
        }
    }

    fn view(&self, c: &Challenge, merged: bool, now: i64) -> Result<ChallengeView, Error> {
        let registry = self.registry.current()?;
        let counted: Vec<_> = c
            .approvals
            .iter()
            .map(|a| (a.approver.clone(), registry.groups_of(&a.approver)))
            .collect();
        let state = match c.state {
            State::Open if !c.is_live(now) => "expired",
            State::Open => "open",
            State::Granted => "granted",
            State::Denied => "denied",
            State::Locked => "locked",
        };
        Ok(ChallengeView {
            id: c.id.clone(),
            code: c.code.clone(),
            summary: c.summary.clone(),
            digest: c.digest.clone(),
            state: state.into(),
            expires_at: rfc3339(c.expires_at),
            method: c.requirements.method.clone(),
            approvers: c.requirements.approvers.clone(),
            approvals: c.approvals.clone(),
            missing: if c.state == State::Granted {
                Vec::new()
            } else {
                tally(&c.requirements.approvers, &counted).missing
            },
            grant: c.grant.clone(),
            merged,
        })
    }

    /// An approver's answer: checked, counted, and when the quorum is met, a grant issued.
    pub fn answer(&self, answer: &Answer) -> Result<Answered, Error> {
        let registry = self.registry.current()?;
        let now = self.now();
        let jti = new_id("g_")?;
        let max = self.config.max_failures;
        let pre = self.pre_verify(answer, &registry, now)?;
        let mut failure: Option<Error> = None;
        let mut granted = false;
        let updated = self
            .store
            .update(&answer.challenge, &mut |c: &mut Challenge| {
                granted = false;
                failure = None;
                if c.state != State::Open {
                    let what = match c.state {
                        State::Granted => "granted",
                        State::Denied => "denied",
                        State::Locked => "locked after too many failed attempts",
                        State::Open => "open",
                    };
                    let code = if c.state == State::Locked {
                        RefusalCode::TooManyFailures
                    } else {
                        RefusalCode::ChallengeClosed
                    };
                    return Update::Keep(Err(Refusal::new(
                        code,
                        format!("the challenge was {what} already and accepts no more answers"),
                    )));
                }
                if !c.is_live(now) {
                    return Update::Keep(Err(Refusal::new(
                        RefusalCode::ChallengeExpired,
                        format!("the challenge expired at {}", rfc3339(c.expires_at)),
                    )));
                }
                let method = match evidence::check(c, &registry, answer, pre.as_ref()) {
                    Ok(m) => m,
                    Err(r) if r.is_failed_evidence() => {
                        c.failures += 1;
                        if c.failures >= max {
                            c.state = State::Locked;
                        }
                        return Update::Write(Err(r));
                    }
                    Err(r) => return Update::Keep(Err(r)),
                };
                if !answer.approve {
                    c.state = State::Denied;
                    c.denied_by = Some(answer.approver.clone());
                    return Update::Write(Ok(()));
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
                    match self.issue(c, &jti, now) {
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
        let Some((c, result)) = updated else {
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
                status: "refused",
                refusal: Some(refusal),
                challenge: None,
            });
        };
        let base = |event: &str| {
            Entry::new(event)
                .with("challenge", c.id.as_str())
                .with("decision_id", c.decision_id.as_str())
                .with("policy_version", c.policy_version.as_str())
                .with("digest", c.digest.as_str())
                .with("approver", answer.approver.as_str())
                .with("method", answer.evidence.method().as_str())
        };
        match &result {
            Err(r) => {
                self.audit(
                    base("answer.refused")
                        .with("code", serde_json::to_value(r.code).unwrap_or(Json::Null))
                        .with("reason", r.message.as_str())
                        .with("failures", c.failures),
                )?;
            }
            Ok(()) if c.state == State::Denied => {
                if let Some(p) = &c.requester.principal {
                    self.store.record_denial(p, now)?;
                }
                self.audit(base("challenge.denied"))?;
            }
            Ok(()) => {
                let logged = self.audit(base("answer.accepted")).and_then(|()| {
                    if !granted {
                        return Ok(());
                    }
                    self.audit(
                        base("grant.issued")
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
        Ok(Answered {
            status: if result.is_ok() {
                "accepted"
            } else {
                "refused"
            },
            refusal: result.err(),
            challenge: Some(self.view(&c, false, now)?),
        })
    }

    /// Verifies OTP and WebAuthn evidence before the challenge is updated: what they
    /// consume lives in the store and is consumed atomically there, so a code's time step,
    /// an assertion and a sign count each count once, on any replica. `None` for other
    /// evidence, or when the challenge does not exist (the update refuses that).
    fn pre_verify(
        &self,
        answer: &Answer,
        registry: &Registry,
        now: i64,
    ) -> Result<Option<Result<(), Refusal>>, Error> {
        let Some(challenge) = self.store.get(&answer.challenge)? else {
            return Ok(None);
        };
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
        let Some(step) = secret.matching_step(code, u64::try_from(now).unwrap_or(0)) else {
            return Ok(Some(Err(Refusal::new(
                RefusalCode::BadOtp,
                "the one-time code is wrong or expired",
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
        let fingerprint = {
            use sha2::{Digest as _, Sha256};
            let mut h = Sha256::new();
            h.update(&assertion.authenticator_data);
            h.update(&assertion.client_data_json);
            h.update(&assertion.signature);
            crate::encode::b64(&h.finalize())
        };
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
    fn void(&self, id: &str) -> Result<(), Error> {
        self.store.update(id, &mut |c: &mut Challenge| {
            c.grant = None;
            c.state = State::Locked;
            Update::Write(Ok(()))
        })?;
        Ok(())
    }

    fn issue(&self, c: &Challenge, jti: &str, now: i64) -> Result<String, Error> {
        let r = &c.requester;
        let ttl = i64::try_from(c.requirements.ttl_s).unwrap_or(i64::MAX);
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
            cnf: r.jkt.clone().map(|jkt| Confirmation { jkt }),
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
        };
        self.grant_key.issue(&claims)
    }

    /// Redeems a grant for a request at execution: `allow` once, or `deny` with the reason.
    pub fn redeem(
        &self,
        request: &str,
        grant: &str,
        proof: Option<&str>,
    ) -> Result<Redeemed, Error> {
        let (engine, req) = self.bind(request)?;
        let decision = engine.decide(&req);
        let decision_id = new_id("d_")?;
        let now = self.now();
        let jkt = Self::key_thumbprint(&req)?;
        let requester = Requester::of(&req, jkt);
        match self.check_grant(&req, &decision, &requester, grant, proof, now) {
            Ok(claims) => {
                let mut allowed = decision;
                allowed.decision = Verdict::Allow;
                allowed.approval = None;
                allowed.message = None;
                self.audit(
                    Self::decision_entry("grant.redeemed", &decision_id, &allowed, &requester)
                        .with("digest", claims.digest.as_str())
                        .with("jti", claims.jti.as_str())
                        .with("challenge", claims.chl.as_str())
                        .with(
                            "approvers",
                            Json::from(
                                claims
                                    .approvers
                                    .iter()
                                    .map(|a| Json::from(a.id.as_str()))
                                    .collect::<Vec<_>>(),
                            ),
                        ),
                )?;
                Ok(Redeemed {
                    decision: allowed,
                    decision_id,
                    refusal: None,
                    grant: Some(Redemption {
                        jti: claims.jti,
                        challenge: claims.chl,
                        approvers: claims.approvers,
                    }),
                })
            }
            Err(Refused::Operational(e)) => Err(e),
            Err(Refused::Refusal(refusal)) => {
                let mut denied = decision;
                denied.decision = Verdict::Deny;
                denied.message = Some(refusal.message.as_str().into());
                denied.approval = None;
                denied.obligations.clear();
                denied.ttl_s = None;
                self.audit(
                    Self::decision_entry("redeem.refused", &decision_id, &denied, &requester)
                        .with(
                            "code",
                            serde_json::to_value(refusal.code).unwrap_or(Json::Null),
                        )
                        .with("reason", refusal.message.as_str()),
                )?;
                Ok(Redeemed {
                    decision: denied,
                    decision_id,
                    refusal: Some(refusal),
                    grant: None,
                })
            }
        }
    }

    fn check_grant(
        &self,
        req: &Request,
        decision: &Decision,
        requester: &Requester,
        grant: &str,
        proof: Option<&str>,
        now: i64,
    ) -> Result<Claims, Refused> {
        let no = |code, msg: String| Err(Refused::Refusal(Refusal::new(code, msg)));
        if decision.decision == Verdict::Deny {
            let why = decision
                .message
                .as_deref()
                .map(str::to_string)
                .or_else(|| {
                    (!decision.rules.is_empty())
                        .then(|| format!("rules: {}", decision.rules.join(", ")))
                })
                .unwrap_or_else(|| "no rule allows it".into());
            return no(
                RefusalCode::PolicyDenies,
                format!(
                    "the policy denies this request now ({why}); a grant never overrides a deny"
                ),
            );
        }
        let claims = self.grant_key.verify(grant).map_err(Refused::Refusal)?;
        let skew = self.config.clock_skew_s;
        let exp = instant(&claims.exp, "exp").map_err(Refused::Refusal)?;
        let iat = instant(&claims.iat, "iat").map_err(Refused::Refusal)?;
        if now > exp.saturating_add(skew) {
            return no(
                RefusalCode::GrantExpired,
                format!("the grant expired at {}", claims.exp),
            );
        }
        if iat > now.saturating_add(skew) {
            return no(
                RefusalCode::GrantNotYetValid,
                format!("the grant is issued in the future ({})", claims.iat),
            );
        }
        let show = |v: &Option<String>| {
            v.as_deref()
                .map_or("nobody".to_string(), |s| format!("`{s}`"))
        };
        if claims.sub != requester.principal || claims.obo != requester.on_behalf_of {
            return no(
                RefusalCode::WrongPrincipal,
                format!(
                    "the grant was issued to {}, this request is from {}",
                    show(&claims.sub),
                    show(&requester.principal)
                ),
            );
        }
        if claims.act != requester.action {
            return no(
                RefusalCode::WrongAction,
                format!(
                    "the grant is for action {}, not {}",
                    show(&claims.act),
                    show(&requester.action)
                ),
            );
        }
        if claims.res != requester.resource {
            return no(
                RefusalCode::WrongResource,
                format!(
                    "the grant is for resource {}, not {}",
                    show(&claims.res),
                    show(&requester.resource)
                ),
            );
        }
        let digest = match decision
            .approval
            .as_ref()
            .filter(|_| decision.decision == Verdict::Approve)
        {
            Some(approval) => {
                let bind: Vec<String> = approval.bind.iter().map(|b| b.to_string()).collect();
                if bind != claims.bind {
                    return no(
                        RefusalCode::DigestMismatch,
                        format!(
                            "the policy now binds [{}], the grant covers [{}]: approve again",
                            bind.join(", "),
                            claims.bind.join(", ")
                        ),
                    );
                }
                approval.digest.clone()
            }
            // The policy allows the request outright now: the grant must still be for this
            // exact transaction.
            None => writ_engine::digest::transaction_digest(
                req.json(),
                claims.bind.iter().map(String::as_str),
            ),
        };
        if digest != claims.digest {
            return no(
                RefusalCode::DigestMismatch,
                format!(
                    "the request differs from the approved transaction in a bound field ({}): approved {}, got {digest}",
                    claims.bind.join(", "),
                    claims.digest
                ),
            );
        }
        if let Some(approval) = decision
            .approval
            .as_ref()
            .filter(|_| decision.decision == Verdict::Approve)
        {
            self.requirements_still_met(approval, &claims)?;
        }
        if let Some(cnf) = &claims.cnf {
            if requester.jkt.as_deref() != Some(cnf.jkt.as_str()) {
                return no(
                    RefusalCode::KeyMismatch,
                    match &requester.jkt {
                        None => "the grant is bound to a workload key and the request carries none (`principal.key`)".into(),
                        Some(_) => "the grant is bound to another workload key than this request's `principal.key`".into(),
                    },
                );
            }
            let Some(proof) = proof else {
                return no(
                    RefusalCode::ProofMissing,
                    "the grant is bound to a workload key: send a proof of possession signed with it".into(),
                );
            };
            let key = req
                .value_at("principal.key")
                .ok_or(())
                .and_then(|jwk| WorkloadKey::from_jwk(jwk).map_err(|_| ()));
            match key {
                Ok(key) if key.verify_b64(&pop_message(grant.trim()), proof) => {}
                _ => return no(
                    RefusalCode::ProofInvalid,
                    "the proof of possession does not verify with the request's `principal.key`"
                        .into(),
                ),
            }
        }
        let keep_until = exp.saturating_add(skew).saturating_add(1);
        match self.store.consume(&claims.jti, keep_until, now) {
            Ok(true) => Ok(claims),
            Ok(false) => no(
                RefusalCode::Replayed,
                format!("the grant `{}` was redeemed already: a grant is good for one execution", claims.jti),
            ),
            Err(e) => no(
                RefusalCode::StoreUnavailable,
                format!("the replay store cannot be reached, so the grant cannot be consumed once: refused ({e})"),
            ),
        }
    }

    fn requirements_still_met(
        &self,
        approval: &writ_engine::ApprovalOut,
        claims: &Claims,
    ) -> Result<(), Refused> {
        let registry = self.registry.current().map_err(Refused::Operational)?;
        let required = approval.method;
        let minimum = Method::minimum_for(required);
        let weak: Vec<&str> = claims
            .approvers
            .iter()
            .filter(|a| a.method < minimum || (a.method == Method::Otp && required != "otp"))
            .map(|a| a.id.as_str())
            .collect();
        if !weak.is_empty() {
            return Err(Refused::Refusal(Refusal::new(
                RefusalCode::RequirementsNotMet,
                format!(
                    "the policy now requires `{required}` evidence; {} approved with less",
                    weak.join(", ")
                ),
            )));
        }
        let requirements = Requirements::of(approval);
        let counted: Vec<_> = claims
            .approvers
            .iter()
            .map(|a| (a.id.clone(), registry.groups_of(&a.id)))
            .collect();
        let t = tally(&requirements.approvers, &counted);
        if !t.met {
            let missing: Vec<String> = t
                .missing
                .iter()
                .map(|c| format!("{} of group `{}`", c.count, c.group))
                .collect();
            return Err(Refused::Refusal(Refusal::new(
                RefusalCode::RequirementsNotMet,
                format!(
                    "the grant's approvals no longer meet the policy: missing {}",
                    missing.join(", ")
                ),
            )));
        }
        Ok(())
    }
}

/// Why a grant check stopped.
enum Refused {
    Refusal(Refusal),
    Operational(Error),
}
