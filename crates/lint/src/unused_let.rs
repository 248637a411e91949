//! `unused-let`: a `let` declaration that no rule and no risk signal refers to. It
//! changes no decision, so it is policy hygiene (a warning): most often a leftover of an
//! edit, or a rule that was meant to use it and reads a literal instead.

use writ_syntax::{Diagnostic, Severity};

use crate::Ctx;

/// The lint's code.
pub const CODE: &str = "writ::lint::unused-let";

/// Reports every declaration nothing refers to.
pub fn run(ctx: &Ctx<'_>) -> Vec<Diagnostic> {
    ctx.set
        .lets
        .iter()
        .filter(|l| !l.used)
        .map(|l| {
            Diagnostic::new(
                CODE,
                format!(
                    "`{}` is declared but no rule or signal refers to it",
                    l.name
                ),
                l.span,
                "never used",
            )
            .with_help("remove the declaration, or use it where its value is written out")
            .with_severity(Severity::Warning)
        })
        .collect()
}
