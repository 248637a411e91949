//! The checker of the writ policy language: from source files to a typed, validated
//! [`PolicySet`] the compiler consumes.
//!
//! Names are resolved across every file of a set; paths are checked against the
//! well-known request types and the `schema` blocks; comparisons are type-checked; CIDRs,
//! patterns, time windows, IANA zones and CEL leaves are validated at load. Every problem
//! is reported, with file, line, column and a suggestion where one exists.
//!
//! Architecture Invariant: this crate knows nothing of decision trees or evaluation
//! strategy; its output is the IR in [`ir`].

#![allow(
    clippy::result_large_err,
    reason = "diagnostics travel only on the error path, where their size does not matter"
)]

mod cel_expr;
pub mod cel_lib;
mod check;
pub mod expr;
pub mod glob;
pub mod hours;
pub mod ir;
mod literals;
mod load;
mod lone;
pub mod net;
mod scope;
mod suggest;
pub mod types;

pub use cel_expr::{CelError, CelExpr};
pub use cel_lib::{CelFunction, CEL_FUNCTIONS};
pub use check::{
    check, Rejected, DEFAULT_APPROVAL_TTL_S, DEFAULT_BIND, DEFAULT_METHOD, MAX_COND_DEPTH,
    MAX_ELEVATION_S,
};
pub use ir::PolicySet;
pub use load::{load_path, LoadError};
pub use lone::{check_expr, LoneExpr};
pub use suggest::closest;
