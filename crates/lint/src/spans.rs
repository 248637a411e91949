//! Where things are written: the lints reason over the IR, which keeps a span per rule
//! and per test; the spans of a rule's name, its effect and its approver groups come from
//! the syntax tree, parsed again from the set's own sources.

use std::collections::HashMap;

use writ_check::ir::PolicySet;
use writ_syntax::ast::{ApproveItem, EffectKind, Item};
use writ_syntax::Span;

/// The places of one rule.
#[derive(Clone, Debug, Default)]
pub struct RuleSpans {
    /// `rule "name"`: from the keyword to the end of the name.
    pub header: Option<Span>,
    /// The effect (`allow for 2h`, `approve { ... }`).
    pub effect: Option<Span>,
    /// Each `approvers N of group "g"` line: the group name and its span.
    pub groups: Vec<(String, Span)>,
}

/// The places of every rule, by name.
pub fn rule_spans(set: &PolicySet) -> HashMap<String, RuleSpans> {
    let mut out = HashMap::new();
    for (id, file) in set.sources.iter() {
        // The set checked, so it parses; a file that does not is skipped (spans fall
        // back to the whole rule).
        let Ok(ast) = writ_syntax::parse_file(id, &file.text) else {
            continue;
        };
        for item in ast.items {
            let Item::Rule(r) = item else { continue };
            let groups = match &r.effect.kind {
                EffectKind::Approve(items) => items
                    .iter()
                    .filter_map(|i| match i {
                        ApproveItem::Approvers { group, .. } => {
                            Some((group.value.clone(), group.span))
                        }
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            out.insert(
                r.name.value.clone(),
                RuleSpans {
                    header: Some(Span {
                        end: r.name.span.end,
                        ..r.span
                    }),
                    effect: Some(r.effect.span),
                    groups,
                },
            );
        }
    }
    out
}
