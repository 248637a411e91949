//! `approver-group`: an `approve` that can never be met, because its approver group has
//! no member — or fewer members than the clause needs distinct approvers — in the
//! approver registry (`approvers.toml` beside the policies). Without a registry the lint
//! does not run. A warning when the group has just enough members: approvers are never
//! the principal, so a request by one of them is left with one approver too few
//! (separation of duties).

use writ_check::ir::{ApproverGroup, Effect};
use writ_syntax::{Diagnostic, Severity};

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
            let count = clause.count as usize;
            if members >= count {
                // Who could approve a member's own request: every member but that one.
                if members == count {
                    let span = written
                        .iter()
                        .find(|(g, _)| g == group)
                        .map_or_else(|| ctx.header(rule), |(_, s)| *s);
                    out.push(
                        Diagnostic::new(
                            CODE,
                            format!(
                                "rule \"{}\" needs {count} distinct approver{} from group `{group}`, which has exactly {members}: a request by one of them can never be approved",
                                rule.name,
                                if count == 1 { "" } else { "s" }
                            ),
                            span,
                            format!("only {} other{} for a member's own request", members - 1, if members == 2 { "" } else { "s" }),
                        )
                        .with_help(format!(
                            "approvers are never the principal (separation of duties): add a member to `{group}` in `approvers.toml`, or keep its members from making such requests"
                        ))
                        .with_severity(Severity::Warning),
                    );
                }
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
