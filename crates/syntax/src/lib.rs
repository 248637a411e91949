//! The syntax of the writ policy language: grammar, spanned AST, parser, formatter and the
//! diagnostics every later stage reports through.
//!
//! Architecture Invariant: this crate knows nothing of types, decisions or evaluation; pest
//! types never leave it.

#![allow(
    clippy::result_large_err,
    reason = "diagnostics travel only on the error path, where their size does not matter"
)]

pub mod ast;
mod comments;
pub mod depth;
pub mod diagnostic;
pub mod erase;
mod fast;
pub mod format;
mod lexical;
mod lower;
mod parser;
mod pieces;
pub mod source;
mod wording;

pub use depth::MAX_NESTING;
pub use diagnostic::{render, Diagnostic, Label, Severity, Style};
pub use format::{expr_text, format_file, literal_text};
pub use lexical::{duration_text, parse_duration, quote};
pub use parser::{parse_expr, parse_file, parse_file_fast, parse_file_with_pest};
pub use source::{FileId, Location, SourceFile, SourceMap, Span};

/// Parses `text` and prints it in canonical style.
pub fn format_source(text: &str) -> Result<String, Vec<Diagnostic>> {
    let file = parse_file(FileId(0), text)?;
    Ok(format_file(&file, text))
}
