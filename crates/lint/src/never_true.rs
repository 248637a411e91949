//! `never-true`: a rule whose condition can never be true.
//!
//! Proved when every conjunction under which the condition is true holds facts about
//! one path that no value satisfies (`x == "a" and x == "b"`, `amount > 100 and amount <
//! 50`, `hours` windows of one zone that never meet, `groups has "a" and not (groups has
//! any ["a"])`). An `allow` rule so written never fires; a `deny` or `approve` rule fires
//! only when evidence is missing (unknown), which is almost never what was meant.

use writ_check::ir::{Cond, Effect, PathInfo};
use writ_syntax::{Diagnostic, Span};

use crate::logic::{self, Conflict};
use crate::{effect_name, Ctx};

/// The lint's code.
pub const CODE: &str = "writ::lint::never-true";

/// Adds the conflicting tests as labels and says which paths they are about.
pub(crate) fn explain(mut d: Diagnostic, paths: &[PathInfo], conflicts: &[Conflict]) -> Diagnostic {
    let mut spans: Vec<Span> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for c in conflicts {
        for s in &c.spans {
            if !spans.contains(s) && spans.len() < 8 {
                spans.push(*s);
            }
        }
        if let Some(info) = paths.get(c.path.0 as usize) {
            let n = format!("`{}`", info.text);
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    for s in spans {
        d = d.with_label(s, "");
    }
    if names.is_empty() {
        d.with_help("the condition reduces to the constant `false`")
    } else {
        d.with_help(format!(
            "no value of {} passes every underlined test together",
            names.join(" or ")
        ))
    }
}

/// Reports every rule whose condition is provably never true.
pub fn run(ctx: &Ctx<'_>) -> Vec<Diagnostic> {
    let paths = &ctx.set.paths;
    let mut out = Vec::new();
    for rule in &ctx.set.rules {
        let Some(Err(conflicts)) = logic::can_be(paths, &rule.cond, true) else {
            continue;
        };
        let label = match rule.effect {
            Effect::Allow { .. } => "this rule never fires",
            _ if logic::may_be_unknown(paths, &rule.cond) => {
                "fires only when evidence is missing (unknown)"
            }
            _ => "this rule never fires",
        };
        let trivially = matches!(rule.cond, Cond::Const(false));
        let message = if trivially {
            format!(
                "{} rule \"{}\" has the condition `false`",
                effect_name(&rule.effect),
                rule.name
            )
        } else {
            format!(
                "the condition of {} rule \"{}\" can never be true",
                effect_name(&rule.effect),
                rule.name
            )
        };
        let d = Diagnostic::new(CODE, message, ctx.header(rule), label);
        out.push(explain(d, paths, &conflicts));
    }
    out
}
