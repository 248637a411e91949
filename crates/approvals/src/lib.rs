//! Transaction-bound approvals (docs/language.md §9 and §21): an `approve` decision opens
//! a challenge over the transaction digest; approvers answer with evidence over that
//! challenge (an Ed25519 signature, or a TOTP code where the policy allows `otp`); when
//! every approver clause is met by distinct, eligible people, the engine issues a grant —
//! a PASETO v4.public token bound to the principal, action, resource, digest and, when the
//! request carries the workload's key, to that key (`cnf`). At execution the service
//! redeems the grant: the policy is evaluated again, the digest re-derived from the actual
//! request, the grant and its proof of possession verified, and its `jti` consumed once in
//! the replay store — or, for an elevation (`approve for D`), counts one more use within
//! its time box, until it ends or is revoked ([`Approvals::revoke`]). Every step lands in
//! a hash-chained audit log.
//!
//! ```
//! use std::sync::Arc;
//! use writ_approvals::{Approvals, Config};
//! use writ_reload::{PolicyStore, StoreConfig};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("p.writ"), r#"
//!     rule "writes" { when action == "db.write" approve { approvers 1 of group "owners" } }
//! "#).unwrap();
//! let store = Arc::new(PolicyStore::open(dir.path(), StoreConfig::default()).unwrap());
//! let state = dir.path().join("state");
//! let approvals = Approvals::with_state_dir(store, &state, Config::default()).unwrap();
//!
//! let decided = approvals.decide(r#"{"principal": {"id": "ann", "kind": "human"}, "action": "db.write"}"#).unwrap();
//! let challenge = decided.challenge.unwrap();
//! assert_eq!(challenge.state, "open");
//! assert_eq!(challenge.code.len(), 6);
//! ```
//!
//! Architecture Invariant: approvals never weaken a decision; they only turn `approve`
//! into `allow` for one exact transaction, once — or, for an elevation, for requests with
//! the approved bound values until its box ends or it is revoked. Secrets (TOTP seeds, private keys, grant
//! tokens) never reach the audit log or a `Debug` output.

pub mod audit;
mod challenge;
mod encode;
mod error;
mod evidence;
mod files;
mod grant;
mod keys;
mod proof;
mod quorum;
mod redb_store;
mod redis_store;
mod registry;
mod service;
mod store;

pub use writ_registry::identity;

pub use audit::{AuditConfig, AuditLog, AuditMode, AuditSink, AuditStats, Stamped};
pub use challenge::{
    answer_message, Approved, Bound, BoundValue, Challenge, Clause, JsonType, Method, Requester,
    Requirements, Signal, State,
};
pub use ed25519_dalek::VerifyingKey;
pub use encode::{b64, binding_code, unb64, unique_id};
pub use error::{Error, Refusal, RefusalCode};
pub use evidence::{
    webauthn_answer_challenge, webauthn_assertion_id, webauthn_challenge, webauthn_deny_challenge,
    Answer, Evidence, WEBAUTHN_DOMAIN,
};
pub use grant::{Claims, Confirmation, GrantApprover, GrantKey};
pub use keys::{pop_message, public_from_jwk, thumbprint, KeyPair, WorkloadKey, WorkloadKeyPair};
pub use proof::{collect_message, grant_digest, parse_proof, proof_text, revoke_message, Collect};
pub use quorum::{tally, Tally};
pub use redb_store::RedbStore;
pub use redis_store::RedisStore;
pub use registry::{
    Approver, Kind, Registry, RegistryEvent, RegistryFile, RegistryStats, TotpSecret,
    FILE_NAME as REGISTRY_FILE,
};
pub use service::{
    webauthn_invite, AnswerStatus, Answered, Approvals, Basis, ChallengeOutcome, ChallengeState,
    ChallengeView, CollectStatus, Collected, Config, Decided, ElevationUse, Metrics, NoMetrics,
    Party, Redeemed, Redemption, RevokeStatus, Revoked, RevokedBefore, Revoker, AUDIT_KEY_FILE,
    AUDIT_LOG_FILE, GRANT_KEY_FILE, INVITE_TTL_S, REFUSED_INPUTS_PER_MINUTE, SIGN_IN_REFUSED,
};
pub use store::{
    admit, GrantUse, OpenLimits, Opened, OtpLimits, OtpRecord, Revocation, StateStore, Update,
    Updated,
};
