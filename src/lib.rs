//! writ: an authorization engine for sensitive actions.
//!
//! Load a policy set, bind a request, decide: allow, deny, or approve with the binding
//! terms of a transaction-bound approval.
//!
//! ```
//! let engine = writ::from_sources(&[(
//!     "payments.writ",
//!     r#"
//!     schema { request.params.amount: number }
//!     rule "small transfers" {
//!       when action == "payments.transfer" and request.params.amount <= 100
//!       allow
//!     }
//!     rule "large transfers" {
//!       when action == "payments.transfer" and request.params.amount > 100
//!       approve { approvers 2 of group "treasury" method webauthn bind action, request.params ttl 2m }
//!     }
//!     "#,
//! )])?;
//! let request = engine.bind_str(r#"{"action": "payments.transfer", "request": {"params": {"amount": 5000}}}"#)?;
//! let decision = engine.decide(&request);
//! assert_eq!(decision.decision, writ::Verdict::Approve);
//! let approval = decision.approval.as_ref().unwrap();
//! assert_eq!(approval.ttl_s, 120);
//! assert!(approval.digest.starts_with("sha256:"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The crates behind this facade follow the pipeline: `writ-syntax` (grammar, AST,
//! formatter, diagnostics), `writ-check` (names, types, validation, typed IR),
//! `writ-engine` (compile, bind, evaluate, explain), `writ-reload` (a [`PolicyStore`]
//! that follows a directory and swaps compiled versions atomically), `writ-approvals`
//! ([`approvals`]: challenges, approver evidence, grants, single-use redemption or
//! time-boxed elevation, revocation, audit).
//!
//! This facade is the one door to the pipeline: the `writ` command line reaches every
//! stage through it (never around it, by a stage's crate), so what it can do an embedding
//! host can do too.

use std::fmt;
use std::path::Path;

/// Time, as [`Clock`] returns it ([`jiff::Timestamp`]): the crate the engine's clock uses,
/// re-exported so that a host injects a clock without depending on it by name.
pub use jiff;
pub use jiff::Timestamp;
/// JSON values, as [`Engine::bind`] and [`approvals::Approvals::decide_value`] take them.
pub use serde_json;
/// Transaction-bound approvals: challenge, evidence, quorum, grant, redeem once (or within
/// an elevation's time box), revoke, audit.
/// [`approvals::Approvals`] is the service a host embeds; docs/embedding.md walks through it.
#[doc(inline)]
pub use writ_approvals as approvals;
/// The nearest of some names to a misspelt one, when one is close enough to be a likely
/// typo: the "did you mean" of writ's own messages, for a host's or a tool's.
pub use writ_check::closest;
/// The well-known request roots (`principal`, `action`, `resource`, …) and the type of
/// each of their paths, as the checker types a request: for tools that complete, check or
/// explain request paths.
pub use writ_check::types;
pub use writ_check::{check, check_expr, ir, load_path, LoadError, LoneExpr, PolicySet, Rejected};
pub use writ_engine::{
    digest, ApprovalOut, ApproverOut, BindError, Clock, CondTrace, Decision, DecisionRef, Engine,
    Evaluated, Explanation, Few, ObligationOut, Request, RequestBuilder, RuleTrace, SignalHit,
    SignalTrace, Truth, Verdict,
};
pub use writ_engine::{parse_request, MAX_EXACT_INT, MAX_REQUEST_DEPTH};
pub use writ_reload::{
    watch, EngineGuard, OpenError, PolicyStore, ReloadEvent, Stats, StoreConfig, WatchConfig,
    WatchError, WatchHandle,
};
pub use writ_syntax::{format_source, render, Diagnostic, SourceMap, Style};

/// The policy language's text, piece by piece, for tools that read or write it beside the
/// pipeline (a command line, a REPL): a name quoted as the language writes it, durations
/// read and written, and a lone expression parsed into its spanned AST (checked against a
/// set with [`check_expr`]).
pub mod syntax {
    pub use writ_syntax::{ast, duration_text, parse_duration, parse_expr, quote, FileId};
}
/// WebAuthn registration and assertion verification, as the approval flow's types use it
/// ([`approvals::Approver`] credentials, registrations). The `soft-authenticator` feature
/// adds `webauthn::soft`, a software authenticator for tests and demos.
#[doc(inline)]
pub use writ_webauthn as webauthn;

/// Why a policy set could not be loaded.
#[derive(Debug)]
pub enum Error {
    /// The files could not be read.
    Load(LoadError),
    /// The set does not check: every diagnostic, with the sources to render them.
    Rejected(Rejected),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Load(e) => e.fmt(f),
            Error::Rejected(r) => {
                f.write_str(render(&r.diagnostics, &r.sources, Style::Plain).trim_end())
            }
        }
    }
}

impl std::error::Error for Error {}

/// Loads, checks and compiles the policy set in a directory (or one file).
pub fn load(path: impl AsRef<Path>) -> Result<Engine, Error> {
    let sources = load_path(path.as_ref()).map_err(Error::Load)?;
    check(sources).map(Engine::new).map_err(Error::Rejected)
}

/// Checks and compiles a policy set given as `(name, text)` pairs.
pub fn from_sources(files: &[(&str, &str)]) -> Result<Engine, Error> {
    let mut sources = SourceMap::default();
    for (name, text) in files {
        sources.add(*name, *text);
    }
    check(sources).map(Engine::new).map_err(Error::Rejected)
}
