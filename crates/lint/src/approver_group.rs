//! `approver-group`: an `approve` that can never be met, because its approver group has
//! no member — or fewer members than the clause needs distinct approvers — in the
//! approver registry (`approvers.toml` beside the policies). Without a registry the lint
//! does not run.

use writ_check::ir::{ApproverGroup, Effect};
use writ_syntax::Diagnostic;

use crate::Ctx;

/// The lint's code.
pub const CODE: &str = "writ::lint::approver-group";

/// Reports every approver clause the registry cannot meet.
pub fn run(ctx: &Ctx<'_>) -> Vec<Diagnostic> {
    let Some(registry) = &ctx.config.registry else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rule in &ctx.set.rules {
        let Effect::Approve(approval) = &rule.effect else {
            continue;
        };
        let written = ctx
            .spans
            .get(&rule.name)
            .map(|s| s.groups.as_slice())
            .unwrap_or(&[]);
        for clause in &approval.approvers {
            // A group the request names is known only per request: nothing to prove here.
            let ApproverGroup::Name(group) = &clause.group else {
                continue;
            };
            let members = registry.members(group).len();
            if members >= clause.count as usize {
                continue;
            }
            let span = written
                .iter()
                .find(|(g, _)| g == group)
                .map_or_else(|| ctx.header(rule), |(_, s)| *s);
            let (message, label) = if members == 0 {
                (
                    format!(
                        "approver group `{}` of rule \"{}\" has no member in the approver registry",
                        group, rule.name
                    ),
                    "nobody can approve".to_string(),
                )
            } else {
                (
                    format!(
                        "rule \"{}\" needs {} distinct approvers from group `{}`, which has {members}",
                        rule.name, clause.count, group
                    ),
                    format!("only {members} member{}", if members == 1 { "" } else { "s" }),
                )
            };
            out.push(
                Diagnostic::new(CODE, message, span, label).with_help(format!(
                    "this approval can never be met: add approvers to `{}` in `approvers.toml`, or fix the group name",
                    group
                )),
            );
        }
    }
    out
}
