//! `allow-for`: time-boxed elevation that is not time-boxed enough — an `allow for D` or
//! an `approve for D` (an elevation grant) with `D` above the cap (default 1h,
//! `--max-allow-for`), or a break-glass rule (one that reads `request.break_glass`
//! positively) that allows with no time box at all.

use writ_check::ir::Effect;
use writ_syntax::{duration_text, Diagnostic};

use crate::break_glass::is_break_glass;
use crate::Ctx;

/// The lint's code.
pub const CODE: &str = "writ::lint::allow-for";

/// Reports every over-long or missing time box.
pub fn run(ctx: &Ctx<'_>) -> Vec<Diagnostic> {
    let cap = ctx.config.max_allow_for_s;
    let mut out = Vec::new();
    for rule in &ctx.set.rules {
        let d = match rule.effect {
            Effect::Allow { ttl_s: Some(t) } if t > cap => Diagnostic::new(
                CODE,
                format!(
                    "rule \"{}\" allows for {}, longer than the {} cap",
                    rule.name,
                    duration_text(t),
                    duration_text(cap)
                ),
                ctx.effect(rule),
                "time box too long",
            )
            .with_help(format!(
                "elevation is meant to be short: shorten the box to at most {}, or raise the cap with `--max-allow-for`",
                duration_text(cap)
            )),
            Effect::Approve(ref a) if a.elevation_s.is_some_and(|e| e > cap) => {
                let e = a.elevation_s.unwrap_or_default();
                Diagnostic::new(
                    CODE,
                    format!(
                        "rule \"{}\" grants elevation for {}, longer than the {} cap",
                        rule.name,
                        duration_text(e),
                        duration_text(cap)
                    ),
                    ctx.effect(rule),
                    "elevation too long",
                )
                .with_help(format!(
                    "an elevation grant is redeemed again and again until it expires: shorten it to at most {}, or raise the cap with `--max-allow-for`",
                    duration_text(cap)
                ))
            }
            Effect::Allow { ttl_s: None } if is_break_glass(ctx.set, &rule.cond) => Diagnostic::new(
                CODE,
                format!("break-glass rule \"{}\" allows with no time box", rule.name),
                ctx.effect(rule),
                "not time-boxed",
            )
            .with_help(format!(
                "write `allow for {}` or shorter (the cap)",
                duration_text(cap)
            )),
            _ => continue,
        };
        out.push(d);
    }
    out
}
