//! `signal-never-counts` and `never-true` for risk signals.
//!
//! A signal counts when its condition is true or unknown. It can never count when its
//! condition is never true (as for rules) and never unknown: every test it reads only
//! `time` (always known: the engine's clock when the request has none) or constants, or
//! its unknown parts are always outweighed by known ones (`x and false`). A signal whose
//! condition is never true but may be unknown counts only when evidence is missing: that
//! is reported as `never-true`.

use writ_syntax::Diagnostic;

use crate::logic;
use crate::never_true::{self, explain};
use crate::Ctx;

/// The lint's code.
pub const CODE: &str = "writ::lint::signal-never-counts";

/// Reports every signal whose condition is provably never true.
pub fn run(ctx: &Ctx<'_>) -> Vec<Diagnostic> {
    let paths = &ctx.set.paths;
    let mut out = Vec::new();
    for s in &ctx.set.signals {
        let Some(Err(conflicts)) = logic::can_be(paths, &s.cond, true) else {
            continue;
        };
        // The points and name, so the tests that conflict are underlined apart from it
        // (as for a rule's header).
        let header = ctx.signal_headers.get(&s.name).copied().unwrap_or(s.span);
        let d = if logic::may_be_unknown(paths, &s.cond) {
            Diagnostic::new(
                never_true::CODE,
                format!(
                    "the condition of risk signal \"{}\" can never be true",
                    s.name
                ),
                header,
                "counts only when evidence is missing (unknown)",
            )
        } else {
            Diagnostic::new(
                CODE,
                format!("risk signal \"{}\" can never count", s.name),
                header,
                format!("its {} points are never added", s.points),
            )
        };
        out.push(explain(d, paths, &conflicts));
    }
    out
}
