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
use crate::challenge::{summary, Approved, Challenge, Clause, Requester, Requirements, State};
use crate::encode::{binding_code, new_id};
use crate::error::{Error, Refusal, RefusalCode};
use crate::grant::{GrantApprover, GrantKey};
use crate::keys::{thumbprint, KeyPair, WorkloadKey};
use crate::quorum::tally;
use crate::redb_store::RedbStore;
use crate::registry::{Registry, RegistryFile};
use crate::store::{OpenLimits, Opened, OtpLimits, StateStore};

mod admin;
mod answer;
mod enrol;
mod redeem;

/// The grant key's file in a state directory.
pub const GRANT_KEY_FILE: &str = "grant.key";
/// The audit log's file in a state directory.
pub const AUDIT_LOG_FILE: &str = "audit.jsonl";
/// The file of the key that signs the audit log's records, in a state directory.
pub const AUDIT_KEY_FILE: &str = "audit.key";

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
    /// Limits on guessing one approver's one-time codes, across every challenge.
    pub otp: OtpLimits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clock_skew_s: 30,
            max_failures: 5,
            limits: OpenLimits::default(),
            otp: OtpLimits::default(),
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
    /// Who denied it, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_by: Option<String>,
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

    /// The embedded default: state (`state.redb`), grant key (`grant.key`), audit log
    /// (`audit.jsonl`) and audit key (`audit.key`) in `state_dir`.
    pub fn with_state_dir(
        policies: Arc<PolicyStore>,
        state_dir: &Path,
        config: Config,
    ) -> Result<Approvals, Error> {
        let store = Arc::new(RedbStore::open(state_dir)?);
        Approvals::with_store(policies, state_dir, store, config)
    }

    /// Challenges and consumed grants in `store` (Redis, for replicas); the grant key
    /// (`grant.key`, shared by replicas), the audit log (`audit.jsonl`) and the key that
    /// signs its records (`audit.key`, one per log) in `state_dir`. Both keys are created,
    /// owner-only, when absent.
    pub fn with_store(
        policies: Arc<PolicyStore>,
        state_dir: &Path,
        store: Arc<dyn StateStore>,
        config: Config,
    ) -> Result<Approvals, Error> {
        crate::files::create_private_dir(state_dir)
            .map_err(|e| Error::Store(format!("cannot create `{}`: {e}", state_dir.display())))?;
        let key = GrantKey::load_or_create(&state_dir.join(GRANT_KEY_FILE))?;
        let audit = AuditLog::open(&state_dir.join(AUDIT_LOG_FILE), false)?
            .signed(KeyPair::load_or_create(&state_dir.join(AUDIT_KEY_FILE))?);
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
            refused: 0,
            grant: None,
            merged: Vec::new(),
        };
        // A store that cannot be reached refuses the approval (fail closed), as a decision.
        let opened = self
            .store
            .open(challenge, &self.config.limits, now)
            .unwrap_or_else(|e| {
                Err(Refusal::new(
                    RefusalCode::StoreUnavailable,
                    format!("the challenge store cannot be reached, so no approval can be asked for: refused ({e})"),
                ))
            });
        match opened {
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
            State::RelaySuspected => "relay_suspected",
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
            denied_by: c.denied_by.clone(),
            missing: if c.state == State::Granted {
                Vec::new()
            } else {
                tally(&c.requirements.approvers, &counted).missing
            },
            grant: c.grant.clone(),
            merged,
        })
    }
}
