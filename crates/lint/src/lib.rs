//! `writ lint`: finds what in a checked policy set can never matter, or should not be
//! written that way.
//!
//! The lints reason over the typed IR ([`writ_check::ir`]), rule by rule: a condition is
//! expanded into conjunctions of tests that must come out true or false (Kleene logic:
//! a test that is true or false reads paths that are present), the tests become facts
//! about one path each (equalities, lists, patterns, ranges, CIDR sets, `hours` windows,
//! set membership), and a conjunction is refuted only when the facts of one path admit
//! no value. A finding that claims a fact (never true, never wins, never counts) is a
//! proof; what the reasoning does not understand (CEL, tests between two paths) only
//! hides findings. docs/repl-and-lint.md says what each lint proves.
//!
//! | code | severity | finding |
//! |---|---|---|
//! | `writ::lint::never-true` | error | a rule or signal condition that can never be true |
//! | `writ::lint::signal-never-counts` | error | a risk signal whose condition is always false |
//! | `writ::lint::shadowed-allow` | error | an `allow` that a `deny` or `approve` always outranks |
//! | `writ::lint::approver-group` | error | an approver group with too few members in `approvers.toml` |
//! | `writ::lint::allow-for` | error | `allow for` longer than the cap; break-glass `allow` with no time box |
//! | `writ::lint::break-glass-agent` | error | a break-glass `allow` that an agent or a workload can satisfy |
//! | `writ::lint::unused-let` | warning | a `let` that no rule or signal refers to |
//! | `writ::lint::approver-group` | warning | an approver group with exactly as many members as needed: a member's own request can never be approved |
//! | `writ::lint::glob-domain` | warning | a `*@domain` pattern in an `allow` rule's condition: not a domain check |

mod allow_for;
mod approver_group;
mod approvers;
mod break_glass;
mod glob_domain;
mod logic;
mod never_true;
mod shadowed_allow;
mod signal;
mod spans;
mod unused_let;

use std::collections::HashMap;

use writ_check::ir::{Effect, PolicySet, Rule};
use writ_syntax::{Diagnostic, Severity, Span};

pub use approvers::ApproverGroups;

/// The default cap on `allow for`, in seconds (one hour).
pub const DEFAULT_MAX_ALLOW_FOR_S: u64 = 3600;

/// What the lints are told beyond the set.
#[derive(Clone, Debug)]
pub struct Config {
    /// The longest acceptable `allow for`, in seconds.
    pub max_allow_for_s: u64,
    /// Who can approve in each group, from the directory's approver registry when it
    /// has one (read by [`ApproverGroups::load`]).
    pub registry: Option<ApproverGroups>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_allow_for_s: DEFAULT_MAX_ALLOW_FOR_S,
            registry: None,
        }
    }
}

/// What every lint reads: the set, where its rules are written, the configuration.
pub(crate) struct Ctx<'a> {
    pub set: &'a PolicySet,
    pub spans: HashMap<String, spans::RuleSpans>,
    /// Each signal's `+N "name"`, by name.
    pub signal_headers: HashMap<String, Span>,
    pub config: &'a Config,
}

impl Ctx<'_> {
    /// `rule "name"`, or the whole rule when the name cannot be found.
    pub fn header(&self, rule: &Rule) -> Span {
        self.spans
            .get(&rule.name)
            .and_then(|s| s.header)
            .unwrap_or(rule.span)
    }

    /// The rule's effect as written, or its header.
    pub fn effect(&self, rule: &Rule) -> Span {
        self.spans
            .get(&rule.name)
            .and_then(|s| s.effect)
            .unwrap_or_else(|| self.header(rule))
    }
}

/// The effect's name.
pub(crate) fn effect_name(e: &Effect) -> &'static str {
    match e {
        Effect::Allow { .. } => "allow",
        Effect::Deny { .. } => "deny",
        Effect::Approve(_) => "approve",
    }
}

/// Runs every lint; findings sorted by position.
pub fn lint(set: &PolicySet, config: &Config) -> Vec<Diagnostic> {
    let places = spans::places(set);
    let ctx = Ctx {
        set,
        spans: places.rules,
        signal_headers: places.signals,
        config,
    };
    let mut out = Vec::new();
    out.extend(never_true::run(&ctx));
    out.extend(signal::run(&ctx));
    out.extend(shadowed_allow::run(&ctx));
    out.extend(approver_group::run(&ctx));
    out.extend(allow_for::run(&ctx));
    out.extend(break_glass::run(&ctx));
    out.extend(unused_let::run(&ctx));
    out.extend(glob_domain::run(&ctx));
    out.sort_by_key(|d| (d.primary.span.file, d.primary.span.start, d.code));
    out
}

/// How many findings are errors and how many warnings.
pub fn counts(findings: &[Diagnostic]) -> (usize, usize) {
    let errors = findings
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    (errors, findings.len() - errors)
}
