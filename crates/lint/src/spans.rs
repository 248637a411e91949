//! Where things are written: the lints reason over the IR, which keeps a span per rule,
//! per signal and per test; the spans of a rule's name, its effect and its approver
//! groups, and of a signal's points and name, come from the syntax tree, parsed again
//! from the set's own sources.

use std::collections::HashMap;

use writ_check::ir::PolicySet;
use writ_syntax::ast::{ApproveItem, EffectKind, GroupRef, Item};
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

/// Where the rules and signals of a set are written.
#[derive(Clone, Debug, Default)]
pub struct Places {
    /// The places of every rule, by name.
    pub rules: HashMap<String, RuleSpans>,
    /// Each signal's header, `+10 "name"` (its points and name), by name.
    pub signals: HashMap<String, Span>,
}

/// The places of every rule and signal.
pub fn places(set: &PolicySet) -> Places {
    let mut out = HashMap::new();
    let mut signals = HashMap::new();
    for (id, file) in set.sources.iter() {
        // The set checked, so it parses; a file that does not is skipped (spans fall
        // back to the whole rule or signal).
        let Ok(ast) = writ_syntax::parse_file(id, &file.text) else {
            continue;
        };
        for item in ast.items {
            let r = match item {
                Item::Rule(r) => r,
                Item::Risk(block) => {
                    for s in block.signals {
                        let header = Span {
                            end: s.name.span.end,
                            ..s.span
                        };
                        signals.insert(s.name.value, header);
                    }
                    continue;
                }
                _ => continue,
            };
            let groups = match &r.effect.kind {
                EffectKind::Approve { items, .. } => items
                    .iter()
                    .filter_map(|i| match i {
                        ApproveItem::Approvers {
                            group: GroupRef::Name(group),
                            ..
                        } => Some((group.value.clone(), group.span)),
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
    Places {
        rules: out,
        signals,
    }
}
