//! The approval flow end to end: decide (and open a challenge for `approve`), answer
//! (evidence, separation of duties, quorum, grant), collect (the requester, and only the
//! requester, takes the grant), redeem (re-decide now, re-derive the digest, verify the
//! grant and its proof of possession, consume it once). Every step is audited.
//!
//! Where a decision has effect (opening a challenge, redeeming) the time is the engine's
//! clock: a request whose `time` is further from it than the clock skew is refused
//! (`time_out_of_skew`), and one within the skew is evaluated at the clock's instant, not
//! at its own `time`.
//!
//! Architecture Invariant: approvals never weaken a decision. They only turn `approve`
//! into `allow` for one exact transaction, once; a rule that denies now wins over any
//! grant, and any failure to check or record fails closed.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde_json::Value as Json;
use writ_engine::{ApprovalOut, BindError, Clock, Decision, Engine, Request, Verdict};
use writ_reload::PolicyStore;

use crate::audit::{
    AuditConfig, AuditLog, AuditSink, AuditStats, Durability, Entry, Pending, Writer,
};
use crate::challenge::{
    summary, warnings, Bound, BoundValue, Challenge, Requester, Requirements, Signal, State,
};
use crate::encode::{binding_code, hex, new_id, UniqueId};
use crate::error::{Error, Refusal, RefusalCode};
use crate::grant::GrantKey;
use crate::identity;
use crate::keys::{thumbprint, KeyPair, WorkloadKey};
use crate::proof;
use crate::quorum::tally;
use crate::redb_store::RedbStore;
use crate::registry::{Registry, RegistryFile};
use crate::store::{OpenLimits, Opened, OtpLimits, StateStore, Update};

mod admin;
mod answer;
mod collect;
mod enrol;
mod observe;
mod passkeys;
mod redeem;
mod revoke;
mod token;
mod views;

pub use observe::{ChallengeOutcome, Metrics, NoMetrics};
pub use passkeys::{webauthn_invite, INVITE_TTL_S, SIGN_IN_REFUSED};
pub use revoke::Revoker;

pub use views::{
    AnswerStatus, Answered, Basis, ChallengeState, ChallengeView, CollectStatus, Collected,
    Decided, ElevationUse, Redeemed, Redemption, RevokeStatus, Revoked, RevokedBefore,
};

/// The grant key's file in a state directory.
pub const GRANT_KEY_FILE: &str = "grant.key";
/// The audit log's file in a state directory.
pub const AUDIT_LOG_FILE: &str = "audit.jsonl";
/// The file of the key that signs the audit log's records, in a state directory.
pub const AUDIT_KEY_FILE: &str = "audit.key";

/// How long a used WebAuthn assertion is remembered (it can only ever match challenges
/// over the same digest): 30 days.
const ASSERTION_MEMORY_S: i64 = 30 * 24 * 3600;

/// At most this many refused inputs (requests that do not bind) are audited per minute;
/// beyond it they are counted, and one `input.refused.suppressed` record with the count
/// is written when the next minute's first refusal comes. Each record holds at most
/// 300 characters of reason, the input's size and its SHA-256
/// (never the input), so refused inputs add at most about 20 KiB a minute to the log.
/// The minute's count lives in the state store, so the bound holds across every process
/// sharing it (each `writ` command is a process of its own); when the store cannot be
/// reached, each process bounds its own.
pub const REFUSED_INPUTS_PER_MINUTE: u32 = 20;

/// The longest reason a refused-input record keeps, in characters.
const REFUSED_INPUT_REASON_MAX: usize = 300;

/// This process's count of refused inputs in the current minute: the fallback when the
/// state store cannot count them.
#[derive(Debug, Default)]
struct InputBudget {
    minute: i64,
    count: u64,
}

impl InputBudget {
    /// Counts one more in `minute`, as [`StateStore::count_event`] does.
    fn count(&mut self, minute: i64) -> (u64, Option<(i64, u64)>) {
        if self.minute == minute {
            self.count = self.count.saturating_add(1);
            (self.count, None)
        } else {
            let before = (self.count > 0).then_some((self.minute, self.count));
            self.minute = minute;
            self.count = 1;
            (1, before)
        }
    }
}

/// How the flow is tuned.
#[derive(Clone, Debug)]
pub struct Config {
    /// Clock skew tolerated, seconds (30 by default): on a grant's `iat`/`exp`, on a
    /// request's `time` where a decision has effect, and on a proof's `iat`.
    pub clock_skew_s: i64,
    /// Failed pieces of evidence after which a challenge accepts nothing more.
    pub max_failures: u32,
    /// Limits on opening challenges (approval fatigue).
    pub limits: OpenLimits,
    /// Limits on guessing one approver's one-time codes, across every challenge.
    pub otp: OtpLimits,
    /// How decision records reach the audit log (in the background by default).
    pub audit: AuditConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clock_skew_s: 30,
            max_failures: 5,
            limits: OpenLimits::default(),
            otp: OtpLimits::default(),
            audit: AuditConfig::default(),
        }
    }
}

/// The approval service over a policy store: `Send + Sync`, shared by every request
/// handler (an `Arc<Approvals>`).
///
/// # Blocking
///
/// The steps of the flow block the calling thread: each appends to the audit log, and
/// [`Approvals::decide`] (for `approve`), [`Approvals::answer`], [`Approvals::collect`]
/// and [`Approvals::redeem`] read or write the state store — a durable redb commit (an
/// `fdatasync`, hundreds of microseconds) or Redis round trips. Each method says what it
/// does. An async service runs them on the blocking pool, never on a reactor thread:
///
/// ```text
/// let approvals = approvals.clone(); // Arc<Approvals>
/// let decided = tokio::task::spawn_blocking(move || approvals.decide_value(request)).await??;
/// ```
///
/// [`Approvals::registry_stats`], [`Approvals::with_clock`] and [`Approvals::with_metrics`]
/// do not block. docs/embedding.md walks a service through the whole flow.
pub struct Approvals {
    policies: Arc<PolicyStore>,
    registry: RegistryFile,
    store: Arc<dyn StateStore>,
    grant_key: GrantKey,
    audit: Option<Writer>,
    clock: Clock,
    config: Config,
    refused_inputs: Mutex<InputBudget>,
    metrics: Arc<dyn Metrics>,
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
    /// `store`, signing grants with `grant_key`, auditing to `audit` through a writer
    /// thread tuned by [`Config::audit`] (nothing is audited without a sink).
    ///
    /// Blocks: reads the registry file and starts the audit writer. Build the service once,
    /// at start.
    pub fn new(
        policies: Arc<PolicyStore>,
        store: Arc<dyn StateStore>,
        grant_key: GrantKey,
        audit: Option<Arc<dyn AuditSink>>,
        config: Config,
    ) -> Result<Approvals, Error> {
        let registry = RegistryFile::in_dir(policies.dir())?;
        let audit = audit
            .map(|sink| Writer::start(sink, &config.audit))
            .transpose()?;
        Ok(Approvals {
            policies,
            registry,
            store,
            grant_key,
            audit,
            clock: Arc::new(Timestamp::now),
            config,
            refused_inputs: Mutex::new(InputBudget::default()),
            metrics: Arc::new(NoMetrics),
        })
    }

    /// The embedded default: state (`state.redb`), grant key (`grant.key`), audit log
    /// (`audit.jsonl`) and audit key (`audit.key`) in `state_dir`.
    ///
    /// Blocks: opens (or creates) the files, and reads the whole audit log to check its
    /// chain. Build the service once, at start.
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
    ///
    /// Blocks: opens (or creates) the files, and reads the whole audit log to check its
    /// chain. Build the service once, at start.
    pub fn with_store(
        policies: Arc<PolicyStore>,
        state_dir: &Path,
        store: Arc<dyn StateStore>,
        config: Config,
    ) -> Result<Approvals, Error> {
        crate::files::create_private_dir(state_dir)
            .map_err(|e| Error::Store(format!("cannot create `{}`: {e}", state_dir.display())))?;
        crate::files::check_private_dir(state_dir).map_err(Error::Store)?;
        let key = GrantKey::load_or_create(&state_dir.join(GRANT_KEY_FILE))?;
        let audit = AuditLog::open(&state_dir.join(AUDIT_LOG_FILE), false)?
            .signed(KeyPair::load_or_create(&state_dir.join(AUDIT_KEY_FILE))?);
        Approvals::new(policies, store, key, Some(Arc::new(audit)), config)
    }

    /// The same service reading time from `clock` (tests, simulations). Does not block.
    pub fn with_clock(mut self, clock: Clock) -> Approvals {
        self.clock = clock;
        self
    }

    /// The registry in use. Blocks briefly: re-reads the file when it changed.
    pub fn registry(&self) -> Result<Arc<Registry>, Error> {
        self.registry.current()
    }

    fn now(&self) -> i64 {
        (self.clock)().as_second()
    }

    /// Returns once every audit record recorded before is written and synced (the
    /// writer's last error when it could not). Dropping the service does the same.
    pub fn flush(&self) -> Result<(), Error> {
        self.audit.as_ref().map_or(Ok(()), Writer::flush)
    }

    /// What the audit writer has done (`None` without an audit sink).
    pub fn audit_stats(&self) -> Option<AuditStats> {
        self.audit.as_ref().map(Writer::stats)
    }

    /// Records a security record (challenge, answer, collection, redemption, enrolment,
    /// reset): on stable storage before it returns.
    fn audit(&self, entry: Entry) -> Result<(), Error> {
        self.record(entry.into(), Durability::Durable)
    }

    /// Records a plain decision record as [`Config::audit`] says: queued, or synced with
    /// the concurrent ones.
    fn audit_decision(&self, entry: Entry) -> Result<(), Error> {
        self.record(entry.into(), Durability::Plain)
    }

    fn record(&self, entry: Pending, durability: Durability) -> Result<(), Error> {
        match &self.audit {
            Some(writer) => writer.record(entry, (self.clock)(), durability),
            None => Ok(()),
        }
    }

    /// Binds `request` where a decision has effect: as sent (its digest, its requester)
    /// and as evaluated (its `time` replaced by the engine clock's `instant`), on the
    /// engine version current now, with the thumbprint of its `principal.key` (checked).
    /// A request that does not bind is audited (bounded, see [`REFUSED_INPUTS_PER_MINUTE`])
    /// and returned as [`Error::Request`].
    fn bind_for_effect(
        &self,
        step: &str,
        request: Input<'_>,
        instant: Timestamp,
    ) -> Result<Effective, Error> {
        let mut effective = self.bind_at_clock(step, request, instant)?;
        effective.jkt = self.checked_key(step, request, &effective.sent)?;
        Ok(effective)
    }

    /// [`Approvals::bind_for_effect`] without reading `principal.key` (whose shape binding
    /// checks): a decision needs it only to open a challenge ([`Approvals::checked_key`]).
    /// The request is bound once; the request as evaluated shares its typed values.
    fn bind_at_clock(
        &self,
        step: &str,
        request: Input<'_>,
        instant: Timestamp,
    ) -> Result<Effective, Error> {
        let engine = self.policies.engine();
        let bound = match request {
            Input::Text(text) => engine.bind_str(text),
            Input::Value(value) => engine.bind(value.clone()),
        };
        match bound {
            Ok(sent) => Ok(Effective {
                at_clock: engine.at_time(&sent, instant),
                engine,
                sent,
                jkt: None,
                x5t: None,
            }),
            Err(reason) => Err(self.refused_input(step, request, reason)),
        }
    }

    /// The thumbprint of the request's `principal.key`, when it carries one; a key that is
    /// not a usable public key refuses the request, as binding does.
    fn checked_key(
        &self,
        step: &str,
        request: Input<'_>,
        sent: &Request,
    ) -> Result<Option<String>, Error> {
        Self::key_thumbprint(sent).map_err(|reason| self.refused_input(step, request, reason))
    }

    /// A request refused at `step`: audited (bounded), and the error to return.
    fn refused_input(&self, step: &str, request: Input<'_>, reason: BindError) -> Error {
        let text = match request {
            Input::Text(text) => std::borrow::Cow::Borrowed(text),
            Input::Value(value) => std::borrow::Cow::Owned(value.to_string()),
        };
        match self.audit_refused_input(step, &text, &reason.to_string()) {
            Ok(()) => Error::Request(reason),
            Err(e) => e,
        }
    }

    /// Audits a refused input, within [`REFUSED_INPUTS_PER_MINUTE`].
    fn audit_refused_input(&self, step: &str, input: &str, reason: &str) -> Result<(), Error> {
        let minute = self.now().div_euclid(60);
        let counted = match self.store.count_event("input.refused", minute) {
            Ok(counted) => counted,
            Err(_) => self
                .refused_inputs
                .lock()
                .map_err(|_| Error::Audit("the refused-input budget is poisoned".into()))?
                .count(minute),
        };
        let (count, previous) = counted;
        let limit = u64::from(REFUSED_INPUTS_PER_MINUTE);
        if let Some((_, before)) = previous.filter(|&(_, before)| before > limit) {
            self.audit_decision(
                Entry::new("input.refused.suppressed")
                    .with("count", before - limit)
                    .with("per_minute", REFUSED_INPUTS_PER_MINUTE),
            )?;
        }
        let write = count <= limit;
        if !write {
            return Ok(());
        }
        let digest = {
            use sha2::{Digest as _, Sha256};
            format!("sha256:{}", hex(&Sha256::digest(input.as_bytes())))
        };
        let mut shown: String = reason.chars().take(REFUSED_INPUT_REASON_MAX).collect();
        if reason.chars().count() > REFUSED_INPUT_REASON_MAX {
            shown.push('…');
        }
        self.audit_decision(
            Entry::new("input.refused")
                .with("step", step)
                .with("reason", identity::visible(&shown))
                .with("bytes", input.len())
                .with("input_sha256", digest),
        )
    }

    /// The refusal of a request whose `time` is further from the engine's clock than the
    /// skew.
    fn time_refusal(&self, sent: &Request, now: i64) -> Option<Refusal> {
        let given = sent.given_time()?;
        let skew = self.config.clock_skew_s;
        let off = given.as_second().saturating_sub(now);
        if off.saturating_abs() <= skew {
            return None;
        }
        let sent_text = sent.value_at("time").and_then(Json::as_str);
        let text = sent_text.map_or_else(|| given.to_string(), str::to_string);
        Some(Refusal::new(
            RefusalCode::TimeOutOfSkew,
            format!(
                "the request's `time` `{}` is {} s {} the engine's clock ({}): where a decision has effect the engine's clock is the time, within {skew} s; send the current time, or no `time`",
                identity::visible(&text),
                off.saturating_abs(),
                if off < 0 { "behind" } else { "ahead of" },
                rfc3339(now)
            ),
        ))
    }

    /// The refusal of a request that lacks an identity fact an approval checks:
    /// `principal.id`, and `principal.on_behalf_of` when the principal is an agent.
    fn identity_refusal(requester: &Requester) -> Option<Refusal> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| identity::fold(s).is_empty());
        let mut missing = Vec::new();
        if blank(&requester.principal) {
            missing.push("`principal.id`");
        }
        // An unknown kind may be an agent's: missing evidence never lowers the bar, so the
        // human it would act for must be named, or the kind given.
        match requester.kind.as_deref() {
            Some("agent") if blank(&requester.on_behalf_of) => {
                missing.push("`principal.on_behalf_of` (the principal is an agent)");
            }
            None if blank(&requester.on_behalf_of) => missing.push(
                "`principal.kind` (without it the principal may be an agent, and then `principal.on_behalf_of` is needed too)",
            ),
            _ => {}
        }
        if missing.is_empty() {
            return Self::malformed_identity(requester);
        }
        Some(Refusal::new(
            RefusalCode::IdentityMissing,
            format!(
                "the request lacks {}: separation of duties cannot be checked without knowing who asks, so no approval is possible",
                missing.join(" and ")
            ),
        ))
    }

    /// The refusal of a request whose `principal.id` or `principal.on_behalf_of` begins or
    /// ends with blank space or holds a hidden character: separation of duties compares
    /// names exactly, so `" mallory"` would pass as another person than `mallory`. Fails
    /// closed rather than guess which name was meant.
    fn malformed_identity(requester: &Requester) -> Option<Refusal> {
        let fields = [
            ("principal.id", &requester.principal),
            ("principal.on_behalf_of", &requester.on_behalf_of),
        ];
        let bad: Vec<String> = fields
            .iter()
            .filter_map(|(path, v)| {
                let v = v.as_deref()?;
                (v.trim() != v || identity::has_hidden(v))
                    .then(|| format!("`{path}` `{}`", identity::visible(v)))
            })
            .collect();
        if bad.is_empty() {
            return None;
        }
        Some(Refusal::new(
            RefusalCode::IdentityMalformed,
            format!(
                "{} begins or ends with blank space or holds a hidden character: separation of duties compares names exactly, so no approval is possible; send the name exactly as the identity has it",
                bad.join(" and ")
            ),
        ))
    }

    /// The decision as the engine made it at the clock, with the approval's digest and
    /// missing paths taken from the request as sent (its `time`, when bound, is the one
    /// the approver sees).
    fn decide_at_clock(e: &Effective) -> Decision {
        let mut decision = e.engine.decide(&e.at_clock);
        if let Some(a) = decision.approval.as_mut() {
            let sent = e.sent.json();
            a.digest = writ_engine::digest::transaction_digest(sent, a.bind.iter().map(|p| &**p));
            a.missing = ApprovalOut::missing_in(sent, a.bind.iter());
        }
        decision
    }

    /// The thumbprint of `principal.key`, when the request carries one.
    fn key_thumbprint(req: &Request) -> Result<Option<String>, BindError> {
        let refused = |e: String| BindError {
            path: "principal.key".into(),
            message: e,
        };
        match req.value_at("principal.key") {
            None => Ok(None),
            Some(jwk) => {
                WorkloadKey::from_jwk(jwk).map_err(refused)?;
                thumbprint(jwk).map(Some).map_err(refused)
            }
        }
    }

    fn decision_entry(event: &str, id: &str, d: &Decision, r: &Requester) -> Entry {
        DecisionFacts::of(d).entry(event, id, r)
    }

    /// A plain decision's record, built later (on the audit writer's thread): the
    /// requester's names need the request parsed, which an allow or a deny does not.
    fn later_decision_entry(id: UniqueId, d: &Decision, sent: &Request) -> Pending {
        let facts = DecisionFacts::of(d);
        match sent.text() {
            // The text alone: parsed there (binding has checked it), nothing else copied.
            Some(text) => {
                let text = text.clone();
                Pending::Later(Box::new(move || {
                    let json = serde_json::from_str(&text).unwrap_or(Json::Null);
                    facts.entry(
                        "decision",
                        &id.to_string(),
                        &Requester::of_json(&json, None),
                    )
                }))
            }
            // A value: already parsed, read here.
            None => {
                Pending::Ready(facts.entry("decision", &id.to_string(), &Requester::of(sent, None)))
            }
        }
    }

    /// Decides a request given as JSON text: [`Approvals::decide_value`] of the text,
    /// except that text keeps what a parsed value loses (a repeated key is refused, a
    /// number the digest cannot represent exactly is refused).
    ///
    /// Blocks: see [`Approvals::decide_value`].
    pub fn decide(&self, request: &str) -> Result<Decided, Error> {
        self.observe_decide(|| {
            let instant = (self.clock)();
            let input = Input::Text(request);
            let effective = self.bind_at_clock("decide", input, instant)?;
            self.decide_bound(effective, input, instant)
        })
    }

    /// Decides a request; an `approve` opens (or joins) a challenge. The request's `time`
    /// must be within the skew of the engine's clock, at which it is evaluated. The answer
    /// carries the bound request and the engine version that decided
    /// ([`Basis::explain`](crate::Basis::explain)).
    ///
    /// Blocks: every decision is appended to the audit log; an `approve` also opens the
    /// challenge in the state store (a durable redb commit, or Redis round trips) and
    /// audits it.
    pub fn decide_value(&self, request: Json) -> Result<Decided, Error> {
        self.observe_decide(|| {
            let instant = (self.clock)();
            let input = Input::Value(&request);
            let effective = self.bind_at_clock("decide", input, instant)?;
            self.decide_bound(effective, input, instant)
        })
    }

    /// [`Approvals::decide`] for a request that came over mutual TLS with the client
    /// certificate whose RFC 8705 thumbprint is `x5t` (`x5t#S256`): a challenge it opens
    /// records it, and the grant is bound to it (`cnf`), unless the request carries
    /// `principal.key` (then the grant is bound to that key, as always). Redeem it with
    /// [`Approvals::redeem_over_certificate`].
    pub fn decide_over_certificate(&self, request: &str, x5t: &str) -> Result<Decided, Error> {
        self.observe_decide(|| {
            let instant = (self.clock)();
            let input = Input::Text(request);
            let mut effective = self.bind_at_clock("decide", input, instant)?;
            effective.x5t = Some(x5t.to_string());
            self.decide_bound(effective, input, instant)
        })
    }

    fn decide_bound(
        &self,
        mut effective: Effective,
        input: Input<'_>,
        instant: Timestamp,
    ) -> Result<Decided, Error> {
        let now = instant.as_second();
        let decision = Self::decide_at_clock(&effective);
        let approve = decision.decision == Verdict::Approve;
        if approve {
            // The key the grant will be bound to: a request whose key is unusable is
            // refused before anything is recorded.
            effective.jkt = self.checked_key("decide", input, &effective.sent)?;
        }
        let uid = UniqueId::next("d_");
        let decision_id = uid.to_string();
        if let Some(refusal) = self.time_refusal(&effective.sent, now) {
            let denied = denied(decision, &refusal);
            let requester = Requester::of(&effective.sent, effective.jkt.clone());
            self.audit_decision(
                Self::decision_entry("decision", &decision_id, &denied, &requester)
                    .with(
                        "code",
                        serde_json::to_value(refusal.code).unwrap_or(Json::Null),
                    )
                    .with("reason", refusal.message.as_str()),
            )?;
            return Ok(Decided {
                refusal: Some(refusal),
                ..Decided::plain(denied, decision_id, effective.basis())
            });
        }
        let Some(approval) = decision.approval.as_ref().filter(|_| approve) else {
            // An allow or a deny: its record is built on the audit writer's thread (the
            // requester's names need the request parsed, which the decision does not).
            self.record(
                Self::later_decision_entry(uid, &decision, &effective.sent),
                Durability::Plain,
            )?;
            return Ok(Decided::plain(decision, decision_id, effective.basis()));
        };
        let mut requester = Requester::of(&effective.sent, effective.jkt.clone());
        requester.x5t = effective.x5t.clone();
        // An `approve` opens a challenge whose record is durable, and so everything queued
        // before it: its decision record is queued surely, never dropped.
        self.record(
            Self::decision_entry("decision", &decision_id, &decision, &requester).into(),
            Durability::Kept,
        )?;
        let requirements = Requirements::of(approval);
        let ttl = i64::try_from(requirements.ttl_s).unwrap_or(i64::MAX);
        let bound = Bound::of(&effective.sent, &requirements.bind);
        let warnings = warnings(&requester);
        // Only the requester collects the grant: by a proof with `principal.key`, or else
        // with this secret, handed out once, here.
        let secret = match requester.jkt {
            Some(_) => None,
            None => Some(proof::new_secret()?),
        };
        let challenge = Challenge {
            id: new_id("ch_")?,
            digest: approval.digest.clone(),
            code: binding_code(&approval.digest),
            summary: summary(&bound, &requester, &warnings, requirements.elevation_s),
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
            bound,
            warnings,
            collect: secret.iter().map(|(_, hash)| hash.clone()).collect(),
            rules: decision.rules.iter().map(|r| r.to_string()).collect(),
            risk: decision.risk,
            signals: decision
                .signals
                .iter()
                .map(|s| Signal {
                    name: s.name.to_string(),
                    points: s.points,
                })
                .collect(),
            revoked_at: None,
        };
        let unidentified = Self::identity_refusal(&challenge.requester);
        // A store that cannot be reached refuses the approval (fail closed), as a decision.
        let opened = match unidentified {
            Some(refusal) => Err(refusal),
            None => self.store.open(challenge, &self.config.limits, now).unwrap_or_else(|e| {
                Err(Refusal::new(
                    RefusalCode::StoreUnavailable,
                    format!("the challenge store cannot be reached, so no approval can be asked for: refused ({e})"),
                ))
            }),
        };
        match opened {
            Ok(opened) => {
                let (c, merged) = match opened {
                    Opened::New(c) => (c, false),
                    Opened::Merged(c) => (c, true),
                };
                // A merged request gets its own secret for the challenge it joined.
                let c = match (&secret, merged) {
                    (Some((_, hash)), true) => self.add_collect_hash(&c, hash)?,
                    _ => c,
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
                    .with("expires_at", rfc3339(c.expires_at))
                    .with(
                        "missing",
                        Json::from(
                            c.bound
                                .iter()
                                .filter(|b| b.missing)
                                .map(|b| Json::from(b.path.as_str()))
                                .collect::<Vec<_>>(),
                        ),
                    )
                    .with("warnings", Json::from(c.warnings.clone())),
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
                    challenge: Some(view),
                    collection_secret: secret.map(|(s, _)| s),
                    ..Decided::plain(decision, decision_id, effective.basis())
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
                let decision = denied(decision, &refusal);
                Ok(Decided {
                    refusal: Some(refusal),
                    ..Decided::plain(decision, decision_id, effective.basis())
                })
            }
        }
    }

    /// Adds a collection secret's hash to a challenge a request merged into.
    fn add_collect_hash(&self, c: &Challenge, hash: &str) -> Result<Challenge, Error> {
        let updated = self.store.update(&c.id, &mut |c: &mut Challenge| {
            c.collect.push(hash.to_string());
            Update::Write(Ok(()))
        })?;
        updated.map(|(c, _)| c).ok_or_else(|| {
            Error::Store(format!(
                "the challenge `{}` disappeared while a request joined it",
                c.id
            ))
        })
    }

    /// A challenge as approvers see it ([`ChallengeView`]: every bound value in full, the
    /// rules, risk and signals; never the grant), or `None` when there is no such
    /// challenge. Anyone who knows the id may see it: show it to approvers.
    ///
    /// Blocks: a state-store read (redb, or a Redis round trip).
    pub fn challenge(&self, id: &str) -> Result<Option<ChallengeView>, Error> {
        let now = self.now();
        match self.store.get(id)? {
            Some(c) => Ok(Some(self.view(&c, false, now)?)),
            None => Ok(None),
        }
    }

    /// [`Approvals::challenge`] as `viewer` may see it: only its requester (the
    /// `principal.id` that asked) and the approvers it names (an approver in one of its
    /// clauses' groups) see it; to anyone else it is `None`, as if there were no such
    /// challenge (its existence is not confirmed).
    ///
    /// Blocks: a state-store read.
    pub fn challenge_for(&self, id: &str, viewer: &str) -> Result<Option<ChallengeView>, Error> {
        let now = self.now();
        let Some(c) = self.store.get(id)? else {
            return Ok(None);
        };
        match self.party(&c, viewer)? {
            Some(_) => self.view(&c, false, now).map(Some),
            None => Ok(None),
        }
    }

    /// What `viewer` is to challenge `id`: its requester (the `principal.id` that asked),
    /// an approver it names (in one of its clauses' groups), or `None` — nothing to it, or
    /// no such challenge (the same answer: existence is not confirmed). What a server asks
    /// before it lets an actor act on a challenge ([`Approvals::challenge_for`] shows it).
    ///
    /// Blocks: a state-store read.
    pub fn party_of(&self, id: &str, viewer: &str) -> Result<Option<Party>, Error> {
        match self.store.get(id)? {
            Some(c) => self.party(&c, viewer),
            None => Ok(None),
        }
    }

    fn party(&self, c: &Challenge, viewer: &str) -> Result<Option<Party>, Error> {
        if c.requester.principal.as_deref() == Some(viewer) {
            return Ok(Some(Party::Requester));
        }
        let registry = self.registry.current()?;
        let approver = registry.get(viewer).is_some() && {
            let groups = registry.groups_of(viewer);
            c.requirements
                .approvers
                .iter()
                .any(|clause| groups.contains(&clause.group))
        };
        Ok(approver.then_some(Party::Approver))
    }

    fn view(&self, c: &Challenge, merged: bool, now: i64) -> Result<ChallengeView, Error> {
        let registry = self.registry.current()?;
        let counted: Vec<_> = c
            .approvals
            .iter()
            .map(|a| (a.approver.clone(), registry.groups_of(&a.approver)))
            .collect();
        let state = match c.state {
            State::Open if !c.is_live(now) => ChallengeState::Expired,
            State::Open => ChallengeState::Open,
            State::Granted if c.revoked_at.is_some() => ChallengeState::Revoked,
            State::Granted => ChallengeState::Granted,
            State::Denied => ChallengeState::Denied,
            State::Locked => ChallengeState::Locked,
            State::RelaySuspected => ChallengeState::RelaySuspected,
        };
        Ok(ChallengeView {
            id: c.id.clone(),
            decision_id: c.decision_id.clone(),
            policy_version: c.policy_version.clone(),
            code: c.code.clone(),
            summary: c.summary.clone(),
            bound: c.bound.iter().map(BoundValue::from).collect(),
            warnings: c.warnings.clone(),
            digest: c.digest.clone(),
            state,
            expires_at: rfc3339(c.expires_at),
            method: c.requirements.method,
            elevation_s: c.requirements.elevation_s,
            approvers: c.requirements.approvers.clone(),
            approvals: c.approvals.clone(),
            denied_by: c.denied_by.clone(),
            missing: if c.state == State::Granted {
                Vec::new()
            } else {
                tally(&c.requirements.approvers, &counted).missing
            },
            merged,
            rules: c.rules.clone(),
            risk: c.risk,
            signals: c.signals.clone(),
            requester: c.requester.clone(),
            opened_at: rfc3339(c.opened_at),
        })
    }
}

/// What a caller is to a challenge ([`Approvals::party_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The `principal.id` that asked for it.
    Requester,
    /// An approver in one of its clauses' groups.
    Approver,
}

/// What a decision record says of the decision (cheap to take: shared texts).
struct DecisionFacts {
    policy_version: Arc<str>,
    verdict: Verdict,
    digest: Option<String>,
    rules: writ_engine::Few<Arc<str>>,
    risk: u32,
}

impl DecisionFacts {
    fn of(d: &Decision) -> DecisionFacts {
        DecisionFacts {
            policy_version: d.policy_version.clone(),
            verdict: d.decision,
            digest: d.approval.as_ref().map(|a| a.digest.clone()),
            rules: d.rules.clone(),
            risk: d.risk,
        }
    }

    /// The record `event` of decision `id` for requester `r`.
    fn entry(&self, event: &str, id: &str, r: &Requester) -> Entry {
        Entry::new(event)
            .with("decision_id", id)
            .with("policy_version", &*self.policy_version)
            .with("decision", self.verdict.as_str())
            .with("principal", opt(&r.principal))
            .with("action", opt(&r.action))
            .with("resource", opt(&r.resource))
            .with(
                "digest",
                self.digest.as_deref().map_or(Json::Null, Json::from),
            )
            .with(
                "rules",
                Json::from(
                    self.rules
                        .iter()
                        .map(|r| Json::from(&**r))
                        .collect::<Vec<_>>(),
                ),
            )
            .with("risk", self.risk)
    }
}

/// A request as a caller hands it to the flow: JSON text, or a JSON value.
#[derive(Clone, Copy)]
enum Input<'a> {
    Text(&'a str),
    Value(&'a Json),
}

/// A request bound where a decision has effect.
struct Effective {
    engine: Arc<Engine>,
    /// As sent: its digest, its requester, its `principal.key`.
    sent: Request,
    /// As evaluated: `time` is the engine clock's.
    at_clock: Request,
    /// The thumbprint of `principal.key`, when it carries one.
    jkt: Option<String>,
    /// The client certificate's `x5t#S256`, when the caller came over mutual TLS and said
    /// so.
    x5t: Option<String>,
}

impl Effective {
    /// What the decision was made on, for the answer to keep.
    fn basis(self) -> Basis {
        Basis {
            request: self.sent,
            evaluated: self.at_clock,
            engine: self.engine,
        }
    }
}

/// `decision` turned into a `deny` for `refusal`.
fn denied(mut decision: Decision, refusal: &Refusal) -> Decision {
    decision.refuse(refusal.message.as_str());
    decision
}
