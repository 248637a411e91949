//! The challenge and replay store: what every replica must agree on. A trait, so the
//! embedded default ([`crate::RedbStore`]) and a shared backend (Redis) are
//! interchangeable; every method is atomic on its own.

use serde::{Deserialize, Serialize};

use crate::challenge::{Challenge, State};
use crate::error::{Error, Refusal, RefusalCode};

/// Limits on opening challenges: the defence against approval fatigue (MFA bombing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenLimits {
    /// Open challenges one principal may have at once.
    pub per_principal: u32,
    /// Open challenges one principal may have for one action at once.
    pub per_action: u32,
    /// Denials within `denial_window_s` that put a principal into cooling off.
    pub denials: u32,
    /// The window denials are counted in, seconds.
    pub denial_window_s: i64,
    /// How long a principal in cooling off is refused new challenges, seconds (from its
    /// latest denial).
    pub cooling_off_s: i64,
}

impl Default for OpenLimits {
    fn default() -> Self {
        OpenLimits {
            per_principal: 5,
            per_action: 3,
            denials: 3,
            denial_window_s: 3600,
            cooling_off_s: 900,
        }
    }
}

/// Limits on guessing one-time codes (NIST SP 800-63B §5.2.2), per approver across every
/// challenge: a code has 10^6 values, so failures must be capped per secret, not per
/// challenge (a requester can open challenge after challenge).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpLimits {
    /// Consecutive failures after which the approver's codes are refused for `lockout_s`.
    pub consecutive: u32,
    /// How long codes are refused after `consecutive` failures, seconds.
    pub lockout_s: i64,
    /// Failures without a success after which codes are refused until an administrator
    /// resets the approver (`writ approver reset`). At most 100 (SP 800-63B).
    pub total: u32,
}

impl Default for OtpLimits {
    fn default() -> Self {
        OtpLimits {
            consecutive: 10,
            lockout_s: 900,
            total: 100,
        }
    }
}

/// An approver's one-time-code failures, as a store keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpRecord {
    /// Failures since the last accepted code.
    pub failures: u32,
    /// Codes are refused until then (unix seconds; 0: not locked).
    pub locked_until: i64,
    /// Codes are refused until an administrator resets the approver.
    pub blocked: bool,
}

impl OtpRecord {
    /// Whether codes are refused at `now`: `None` when they are accepted, otherwise the
    /// refusal.
    pub fn refusal(&self, now: i64) -> Option<Refusal> {
        if self.blocked {
            return Some(Refusal::new(
                RefusalCode::OtpBlocked,
                format!(
                    "this approver's one-time codes are refused after {} failures without a success: an administrator must reset them (`writ approver reset`)",
                    self.failures
                ),
            ));
        }
        (now < self.locked_until).then(|| {
            Refusal::new(
                RefusalCode::OtpLocked,
                format!(
                    "this approver's one-time codes are refused for {} s after {} failed codes: wait, or answer with a signature or a security key",
                    self.locked_until - now,
                    self.failures
                ),
            )
        })
    }

    /// The record after one more failure at `now`.
    pub fn failed(mut self, limits: &OtpLimits, now: i64) -> OtpRecord {
        self.failures = self.failures.saturating_add(1);
        if limits.total > 0 && self.failures >= limits.total {
            self.blocked = true;
        } else if limits.consecutive > 0 && self.failures.is_multiple_of(limits.consecutive) {
            self.locked_until = now.saturating_add(limits.lockout_s);
        }
        self
    }
}

/// What opening a challenge did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// A new challenge.
    New(Challenge),
    /// An identical request's challenge is open already: this request joins it.
    Merged(Challenge),
}

/// What an update closure decided.
pub enum Update<T> {
    /// Write the changed challenge, return the value.
    Write(T),
    /// Leave the challenge as it was, return the value.
    Keep(T),
}

/// What a store says of one use of a grant ([`StateStore::use_grant`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantUse {
    /// This use is counted: its number, 1 for the first.
    Counted(u64),
    /// A single-use grant that was used before.
    Replayed,
    /// The grant was revoked: no use is counted.
    Revoked,
}

/// What revoking a grant found ([`StateStore::revoke_grant`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// Whether this call revoked it (`false`: it was revoked before; nothing changed).
    pub first: bool,
    /// How many times the grant was used before (a single-use grant: 0 or 1).
    pub uses: u64,
}

/// What [`StateStore::update`] returns: the challenge as it now stands and the closure's
/// verdict, or `None` when there is no such challenge.
pub type Updated = Option<(Challenge, Result<(), Refusal>)>;

/// Challenges, denials and consumed grant ids.
pub trait StateStore: Send + Sync {
    /// The store's identity: a random id fixed when the store was created, the same for
    /// every replica sharing it, another for a store created anew (another state
    /// directory, a flushed Redis). A grant names the store it must be consumed in, so a
    /// grant is single-use only where its consumption is remembered.
    fn identity(&self) -> Result<String, Error>;

    /// Opens `challenge` for its principal, unless an identical one is open (same digest and
    /// requirements: merged) or the limits refuse it. Atomic: two replicas opening at once
    /// see each other.
    fn open(
        &self,
        challenge: Challenge,
        limits: &OpenLimits,
        now: i64,
    ) -> Result<Result<Opened, Refusal>, Error>;

    /// The challenge with this id.
    fn get(&self, id: &str) -> Result<Option<Challenge>, Error>;

    /// Reads, changes and writes one challenge atomically (`None` when there is no such
    /// challenge). The closure may run more than once (optimistic backends retry).
    fn update(
        &self,
        id: &str,
        f: &mut dyn FnMut(&mut Challenge) -> Update<Result<(), Refusal>>,
    ) -> Result<Updated, Error>;

    /// Records a denial of one of `principal`'s challenges at `now`.
    fn record_denial(&self, principal: &str, now: i64) -> Result<(), Error>;

    /// Marks grant `jti` used; `false` when it was used before. Kept until `keep_until`
    /// (unix seconds), after which the grant's own expiry refuses it.
    fn consume(&self, jti: &str, keep_until: i64, now: i64) -> Result<bool, Error>;

    /// Uses grant `jti` once more, unless it was revoked: a single-use grant (`repeat`
    /// false) is consumed once, as [`StateStore::consume`] does (the same record, so a
    /// grant consumed by either is used); an elevation (`repeat` true) counts its uses.
    /// The record is kept until `keep_until` (unix seconds on the caller's clock; a
    /// shared backend turns it into a duration from `now`), after which the grant's own
    /// expiry refuses it. Atomic with [`StateStore::revoke_grant`]: a use on one replica
    /// and a revocation on another are ordered, and no use is counted after a revocation.
    fn use_grant(
        &self,
        jti: &str,
        repeat: bool,
        keep_until: i64,
        now: i64,
    ) -> Result<GrantUse, Error>;

    /// Revokes grant `jti`: every later [`StateStore::use_grant`] answers
    /// [`GrantUse::Revoked`], on every replica sharing the store. Kept until `keep_until`
    /// (as for `use_grant`). Idempotent: revoking again changes nothing and says so.
    fn revoke_grant(&self, jti: &str, keep_until: i64, now: i64) -> Result<Revocation, Error>;

    /// The latest sign count recorded for a WebAuthn credential.
    fn sign_count(&self, credential: &[u8]) -> Result<Option<u32>, Error>;

    /// The one-time-code failures recorded for `approver` (a default record when none).
    fn otp_record(&self, approver: &str) -> Result<OtpRecord, Error>;

    /// Records a failed one-time code by `approver` at `now` and returns the record as it
    /// now stands ([`OtpRecord::failed`]). Atomic: failures on several replicas all count.
    fn otp_failed(&self, approver: &str, limits: &OtpLimits, now: i64) -> Result<OtpRecord, Error>;

    /// An accepted code: `approver`'s failures are forgotten — unless codes are blocked
    /// (then only [`StateStore::otp_reset`] lifts it).
    fn otp_succeeded(&self, approver: &str) -> Result<(), Error>;

    /// An administrator's reset: `approver`'s failures, lockout and block are forgotten.
    /// `true` when there was something to forget.
    fn otp_reset(&self, approver: &str) -> Result<bool, Error>;

    /// Counts one more event `name` in `window` (a minute number, say) and returns how
    /// many that window holds now; the first count of a new window also returns the
    /// window counted before it, with its count, so the caller can say what it left out
    /// there. Atomic: every process and replica sharing the store counts in one place (a
    /// bound on what many short-lived `writ` commands write holds across them).
    fn count_event(&self, name: &str, window: i64) -> Result<(u64, Option<(i64, u64)>), Error>;

    /// Records `new` as a credential's sign count if it is greater than the one recorded
    /// (and than `floor`, the registry's); otherwise returns the recorded count. Atomic,
    /// so two uses of one assertion on two replicas cannot both pass.
    fn advance_sign_count(
        &self,
        credential: &[u8],
        floor: u32,
        new: u32,
    ) -> Result<Result<(), u32>, Error>;
}

/// The admission rule every backend applies inside its atomic section: `open` are the
/// principal's live open challenges, `denials` the times its challenges were denied.
pub fn admit(
    challenge: Challenge,
    open: &[Challenge],
    denials: &[i64],
    limits: &OpenLimits,
    now: i64,
) -> Result<Opened, Refusal> {
    if let Some(same) = open.iter().find(|c| {
        c.state == State::Open
            && c.is_live(now)
            && c.digest == challenge.digest
            && c.requirements == challenge.requirements
            && c.requester == challenge.requester
    }) {
        let mut merged = same.clone();
        merged.merged.push(challenge.decision_id);
        return Ok(Opened::Merged(merged));
    }
    let recent: Vec<i64> = denials
        .iter()
        .copied()
        .filter(|t| now - t < limits.denial_window_s)
        .collect();
    if limits.denials > 0 && recent.len() >= limits.denials as usize {
        let latest = recent.iter().copied().max().unwrap_or(now);
        let until = latest + limits.cooling_off_s;
        if now < until {
            return Err(Refusal::new(
                RefusalCode::CoolingOff,
                format!(
                    "{} of this principal's approval requests were denied in the last {} s: no new ones for {} s",
                    recent.len(),
                    limits.denial_window_s,
                    until - now
                ),
            ));
        }
    }
    // Locked, denied and relay-suspected challenges keep their slot until they expire:
    // otherwise locking one (by failing on purpose) would open a slot for the next.
    let live: Vec<&Challenge> = open
        .iter()
        .filter(|c| c.state != State::Granted && c.is_live(now))
        .collect();
    if live.len() >= limits.per_principal as usize {
        return Err(Refusal::new(
            RefusalCode::TooManyOpen,
            format!(
                "this principal has {} approval requests open or closed unanswered (at most {}): wait for them to be answered or to expire",
                live.len(),
                limits.per_principal
            ),
        ));
    }
    let same_action = live
        .iter()
        .filter(|c| c.requester.action == challenge.requester.action)
        .count();
    if same_action >= limits.per_action as usize {
        return Err(Refusal::new(
            RefusalCode::TooManyOpen,
            format!(
                "this principal has {same_action} approval requests open for `{}` (at most {})",
                challenge.requester.action.as_deref().unwrap_or(""),
                limits.per_action
            ),
        ));
    }
    Ok(Opened::New(challenge))
}

/// A challenge as stored (JSON).
pub fn encode(challenge: &Challenge) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(challenge)
        .map_err(|e| Error::Store(format!("cannot encode a challenge: {e}")))
}

/// A challenge read back.
pub fn decode(bytes: &[u8]) -> Result<Challenge, Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Store(format!("a stored challenge is damaged: {e}")))
}

/// How long closed and expired challenges are kept for lookups, seconds.
pub const RETENTION_S: i64 = 24 * 3600;
