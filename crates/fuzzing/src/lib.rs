//! Fuzz target bodies for every place writ parses bytes from outside: policy text, request
//! JSON (alone and as the items of a batch body, and AuthZEN evaluation bodies as `writ serve`
//! writes them to request text), `approvers.toml`, WebAuthn client data, authenticator data, attestation objects
//! and COSE keys, grant tokens and proofs, enrolment invitations, audit logs, the REPL's
//! command line, the callers of `writ serve` (callers.toml, JWKS, bearer JWTs, client
//! certificates), and the engine's promised invariants.
//!
//! Each target is a plain `pub fn NAME(data: &[u8])` that must return normally for every
//! input: a panic, an abort, a stack overflow, a hang or an unbounded allocation is a bug
//! in the library under test (or a broken invariant, reported by an `assert!`). The same
//! functions run under libFuzzer (`fuzz/`, nightly) and under a stable `cargo test` that
//! replays the committed corpus and every past crash (`tests/corpus.rs`).
//!
//! The bodies hide nothing: no depth pre-check, no `catch_unwind`, no size cap beyond what
//! the library itself enforces.

mod authzen;
mod callers;
mod fixture;
mod policy;
mod repl;
mod request;
mod secrets;
mod webauthn;

pub use authzen::authzen;
pub use callers::{callers_toml, client_cert, jwks_doc as jwks, jwt};
pub use policy::{invariants, policy};
pub use repl::repl_line;
pub use request::{batch, request};
pub use secrets::{audit, grant, invitation, registry};
pub use webauthn::{cose_key, webauthn_attestation, webauthn_auth_data, webauthn_client_data};

/// A target body.
pub type Target = fn(&[u8]);

/// Every target, by name, for the replay test and tools that loop over them.
pub const TARGETS: &[(&str, Target)] = &[
    ("policy", policy),
    ("request", request),
    ("batch", batch),
    ("authzen", authzen),
    ("registry", registry),
    ("webauthn_client_data", webauthn_client_data),
    ("webauthn_auth_data", webauthn_auth_data),
    ("webauthn_attestation", webauthn_attestation),
    ("cose_key", cose_key),
    ("grant", grant),
    ("invitation", invitation),
    ("audit", audit),
    ("repl_line", repl_line),
    ("invariants", invariants),
    ("callers_toml", callers_toml),
    ("jwks", jwks),
    ("jwt", jwt),
    ("client_cert", client_cert),
];
