//! CEL leaves (`cel("...")`): compiled once at load, behind this one module.
//!
//! The `cel` crate's parser returns positioned errors; it is still called under
//! `catch_unwind` so that a parser bug can never take a service down on a bad policy edit.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::types::ROOTS;

/// A compiled CEL expression.
#[derive(Debug)]
pub struct CelExpr {
    /// The CEL text.
    pub source: String,
    /// The compiled program.
    pub program: cel::Program,
    /// The request roots it reads (`request`, `principal`...), sorted.
    pub roots: Vec<String>,
}

/// Why a CEL expression was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CelError {
    /// Byte offset in the CEL text (0 when unknown).
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do, when known.
    pub help: Option<String>,
}

/// Compiles a CEL expression and checks that it only reads request roots.
pub fn compile(source: &str) -> Result<CelExpr, CelError> {
    if source.trim().is_empty() {
        return Err(CelError {
            offset: 0,
            message: "empty CEL expression".into(),
            help: None,
        });
    }
    let parsed = catch_unwind(AssertUnwindSafe(|| cel::Program::compile(source)));
    let program = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(errors)) => {
            let first = errors.errors.first();
            let offset = first.map_or(0, |e| offset_of(source, e.pos.0, e.pos.1));
            let message = first.map_or_else(|| "invalid CEL expression".to_string(), |e| e.msg.clone());
            return Err(CelError {
                offset,
                message: format!("invalid CEL expression: {message}"),
                help: None,
            });
        }
        Err(_) => {
            return Err(CelError {
                offset: 0,
                message: "the CEL parser failed on this expression".into(),
                help: Some("simplify the expression; this is a bug in the CEL parser".into()),
            })
        }
    };
    let mut roots: Vec<String> = Vec::new();
    for var in program.references().variables() {
        if !ROOTS.contains(&var) {
            let offset = source.find(var).unwrap_or(0);
            let help = crate::suggest::closest(var, ROOTS.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("CEL here reads the request: {}", ROOTS.join(", ")));
            return Err(CelError {
                offset,
                message: format!("unknown variable `{var}` in CEL expression"),
                help: Some(help),
            });
        }
        roots.push(var.to_string());
    }
    roots.sort();
    Ok(CelExpr {
        source: source.to_string(),
        program,
        roots,
    })
}

/// Byte offset of a CEL error position (1-based line, 0-based column).
fn offset_of(source: &str, line: isize, col: isize) -> usize {
    let line = usize::try_from(line.max(1) - 1).unwrap_or(0);
    let col = usize::try_from(col.max(0)).unwrap_or(0);
    let start: usize = source.split_inclusive('\n').take(line).map(str::len).sum();
    (start + col).min(source.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_and_lists_roots() {
        let e = compile("request.params.amount > 10000 && request.params.currency == 'EUR'").unwrap();
        assert_eq!(e.roots, vec!["request".to_string()]);
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        for bad in ["request.params.amount >", "(((", "'unterminated", "a.b.", "1 +", ")", "&&"] {
            assert!(compile(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_variables_are_refused() {
        let e = compile("reqest.params.amount > 1").unwrap_err();
        assert!(e.message.contains("reqest"));
        assert_eq!(e.help.as_deref(), Some("did you mean `request`?"));
    }
}
