//! writ: an authorization engine for sensitive actions.
//!
//! This crate is the embedding facade over the pipeline crates: `writ-syntax` (grammar,
//! AST, formatter, diagnostics) and `writ-check` (names, types, validation, typed IR).
//!
//! ```
//! let mut sources = writ::SourceMap::default();
//! sources.add("inline.writ", r#"rule "read" { when action == "db.read" allow }"#);
//! let set = writ::check(sources).expect("a valid set");
//! assert_eq!(set.rules.len(), 1);
//! ```

pub use writ_check::{check, ir, load_path, LoadError, PolicySet, Rejected};
pub use writ_syntax::{format_source, render, Diagnostic, SourceMap, Style};
