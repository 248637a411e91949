//! What can go wrong: operational errors (a store that cannot be read, a request that does
//! not bind) and refusals (a security decision with a stable code and a reason).

use serde::Serialize;
use writ_engine::BindError;

/// An operation that could not be carried out. A caller that gets one must fail closed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request does not bind to the policy set: the path at fault (empty for the
    /// whole request) and what is wrong there. Its message is the [`BindError`]'s
    /// (`invalid request at `PATH`: …`).
    #[error("{0}")]
    Request(BindError),
    /// The challenge/replay store failed.
    #[error("state store: {0}")]
    Store(String),
    /// The audit log could not be written.
    #[error("audit log: {0}")]
    Audit(String),
    /// A key file could not be read, written or parsed.
    #[error("key: {0}")]
    Key(String),
    /// The approver registry could not be read.
    #[error("approver registry: {0}")]
    Registry(String),
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
}

impl From<writ_registry::Error> for Error {
    fn from(e: writ_registry::Error) -> Error {
        Error::Registry(e.0)
    }
}

/// Why a step of the approval flow was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The policy denies the request now.
    PolicyDenies,
    /// The request needs no approval and none was asked for.
    NotAnApproval,
    /// The grant is not a well-formed token signed by this engine.
    GrantInvalid,
    /// The grant was signed by a key this engine does not hold.
    GrantUnknownKey,
    /// The grant's `exp` has passed (beyond the allowed clock skew).
    GrantExpired,
    /// The grant's `iat` lies in the future (beyond the allowed clock skew).
    GrantNotYetValid,
    /// The grant was issued to another principal.
    WrongPrincipal,
    /// The grant was issued for another action.
    WrongAction,
    /// The grant was issued for another resource.
    WrongResource,
    /// A bound field differs from the approved transaction.
    DigestMismatch,
    /// The grant is bound (`cnf`) to another workload key.
    KeyMismatch,
    /// The grant is key-bound and no proof of possession came with it.
    ProofMissing,
    /// The proof of possession does not verify.
    ProofInvalid,
    /// The grant was redeemed before.
    Replayed,
    /// The grant was issued by an engine whose replay store is another: consuming it here
    /// would not make it single-use (replicas must share one store), or the store was
    /// created anew since (a flushed Redis, a deleted `state.redb`) and no longer knows
    /// what was consumed.
    WrongStore,
    /// The grant's approvals no longer meet the policy's requirements.
    RequirementsNotMet,
    /// No such challenge.
    ChallengeNotFound,
    /// The challenge expired.
    ChallengeExpired,
    /// The challenge was granted or denied already.
    ChallengeClosed,
    /// Too many failed attempts: the challenge accepts nothing more.
    TooManyFailures,
    /// The approver is not in the registry.
    UnknownApprover,
    /// The approver is a workload or an agent.
    NotAHuman,
    /// The approver is the principal.
    SelfApproval,
    /// The approver is the human the agent acts for.
    OnBehalfOfApproval,
    /// The approver answered this challenge already.
    DuplicateApprover,
    /// The evidence is weaker than the method the policy requires.
    MethodTooWeak,
    /// The approver belongs to none of the required groups.
    NotInGroup,
    /// The signature does not verify against the approver's registered keys.
    BadSignature,
    /// The one-time code is wrong.
    BadOtp,
    /// The WebAuthn assertion does not verify.
    BadWebauthn,
    /// The authenticator's sign count did not increase: a replayed assertion or a cloned
    /// authenticator.
    PossibleClone,
    /// The binding code the approver typed is not the challenge's (no longer given: a
    /// valid proof with another binding code is [`RefusalCode::RelaySuspected`]).
    CodeMismatch,
    /// The approver has no credential of the kind presented.
    NoCredential,
    /// The store could not be reached: fail closed.
    StoreUnavailable,
    /// The approver's one-time codes are refused for a while after repeated failures
    /// (every challenge counts).
    OtpLocked,
    /// The approver's one-time codes are refused until an administrator resets them
    /// (`writ approver reset`), after too many failures without a success.
    OtpBlocked,
    /// A valid proof came with another challenge's binding code: the approver is looking
    /// at another transaction than the one they are approving (a relayed request). The
    /// challenge is closed.
    RelaySuspected,
    /// Too many challenges are open for this principal or action.
    TooManyOpen,
    /// The principal's recent challenges were denied too often.
    CoolingOff,
    /// The request's `time` (or a proof's `iat`) is further from the engine's clock than
    /// the allowed skew: where a decision has effect, the engine's clock is the time.
    TimeOutOfSkew,
    /// The request lacks an identity fact the approval checks need (`principal.id`;
    /// `principal.on_behalf_of` for an agent).
    IdentityMissing,
    /// `principal.id` or `principal.on_behalf_of` begins or ends with blank space or holds
    /// a hidden character (`" mallory"`): separation of duties compares names exactly, so
    /// the request is refused rather than passed as another person.
    IdentityMalformed,
    /// The challenge has no grant to collect (not granted yet, denied, locked or expired).
    NotGranted,
    /// An elevation grant used after its time box ended (`approve for D`: `D` after the
    /// grant was issued, or less when the policy now grants a shorter elevation).
    ElevationExpired,
    /// The grant was revoked (`writ revoke`, [`crate::Approvals::revoke`]).
    GrantRevoked,
    /// Whoever asked to revoke a grant may not: not its requester, not an approver of
    /// its challenge's groups.
    NotAllowed,
}

/// A refusal: a stable code and a sentence saying what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The stable code.
    pub code: RefusalCode,
    /// What was wrong, for people.
    pub message: String,
}

impl Refusal {
    /// A refusal with this code and message.
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// Whether the refusal is a failed guess (counted against the challenge's cap on
    /// failures): only a wrong one-time code, the one kind of evidence that can be
    /// guessed. A signature or an assertion that does not verify is refused without
    /// counting: it cannot be guessed, and counting it would let anyone who knows an
    /// approver's name lock every challenge with garbage.
    pub fn is_failed_evidence(&self) -> bool {
        matches!(self.code, RefusalCode::BadOtp)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
