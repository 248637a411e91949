//! The checker proper: parses every file of a set, resolves names across files, checks
//! types and builds the [`PolicySet`]. Every problem is collected, none stops the run.

use std::collections::HashMap;

use writ_syntax::ast::{self, ApproveItem, EffectKind, Item, LetValue as AstLet, LiteralKind};
use writ_syntax::{parse_file, Diagnostic, FileId, SourceMap, Span};

use crate::expr::{cidr_value, hours_value, list_value, literal_value, Context, ExprChecker};
use crate::ir::{
    Approval, ApproverClause, Effect, LetDef, LetValue, Method, Obligation, PathId, PolicySet,
    Rule, Signal,
};
use crate::scope::Scope;
use crate::suggest::closest;
use crate::types::{Type, ROOTS};

/// A policy set that did not check: its sources (to render) and every problem found.
#[derive(Debug)]
pub struct Rejected {
    /// The sources, for rendering.
    pub sources: SourceMap,
    /// Every problem, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// The paths an `approve` binds when it has no `bind` line.
pub const DEFAULT_BIND: &[&str] = &[
    "principal.id",
    "action",
    "resource.id",
    "session.id",
    "request.params",
];
/// The method of an `approve` without a `method` line.
pub const DEFAULT_METHOD: Method = Method::PhishingResistant;
/// The longest `ttl` an `approve` may give, in seconds (24h): a challenge and its grant
/// expire within a day, and their instants always fit a timestamp.
pub const MAX_APPROVAL_TTL_S: u64 = 24 * 3600;

/// The ttl of an `approve` without a `ttl` line, in seconds.
pub const DEFAULT_APPROVAL_TTL_S: u64 = 300;

/// Parses and checks every file of `sources`.
pub fn check(sources: SourceMap) -> Result<PolicySet, Rejected> {
    let mut diags = Vec::new();
    let mut files = Vec::new();
    for (id, f) in sources.iter() {
        match parse_file(id, &f.text) {
            Ok(file) => files.push((id, file)),
            Err(ds) => diags.extend(ds),
        }
    }
    if !diags.is_empty() {
        return Err(Rejected {
            sources,
            diagnostics: diags,
        });
    }
    let mut checker = Checker {
        sources: &sources,
        scope: Scope::new(),
        diags: Vec::new(),
    };
    let (lets, signals, rules) = checker.run(&files);
    let Checker { scope, diags, .. } = checker;
    if diags.is_empty() {
        let known = scope
            .known_paths()
            .into_iter()
            .filter_map(|p| Some((p.to_string(), scope.type_of(p)?.clone())))
            .collect();
        Ok(PolicySet {
            sources,
            known,
            paths: scope.paths,
            lets,
            signals,
            rules,
        })
    } else {
        Err(Rejected {
            sources,
            diagnostics: diags,
        })
    }
}

struct Checker<'s> {
    sources: &'s SourceMap,
    scope: Scope,
    diags: Vec<Diagnostic>,
}

/// Reports the second of two items with the same name.
fn duplicate(kind: &str, name: &str, first: Span, again: Span) -> Diagnostic {
    Diagnostic::new(
        "writ::duplicate",
        format!("{kind} `{name}` is defined twice"),
        again,
        "defined again here",
    )
    .with_label(first, "first defined here")
    .with_help(format!(
        "{kind} names are unique across every file of the set; rename one"
    ))
}

impl Checker<'_> {
    fn text(&self, file: FileId) -> &str {
        self.sources.get(file).map_or("", |f| f.text.as_str())
    }

    fn run(&mut self, files: &[(FileId, ast::File)]) -> (Vec<LetDef>, Vec<Signal>, Vec<Rule>) {
        // Schemas first: a path declared in any file is known in every file.
        for (_, file) in files {
            for item in &file.items {
                if let Item::Schema(s) = item {
                    self.scope.declare(s, &mut self.diags);
                }
            }
        }
        let lets = self.lets(files);
        let mut signals = Vec::new();
        let mut rules = Vec::new();
        let mut signal_names: HashMap<String, Span> = HashMap::new();
        let mut rule_names: HashMap<String, Span> = HashMap::new();
        for (id, file) in files {
            for item in &file.items {
                match item {
                    Item::Risk(block) => {
                        for s in &block.signals {
                            if let Some(first) =
                                signal_names.insert(s.name.value.clone(), s.name.span)
                            {
                                self.diags.push(duplicate(
                                    "risk signal",
                                    &s.name.value,
                                    first,
                                    s.name.span,
                                ));
                            }
                            if let Some(sig) = self.signal(*id, s) {
                                signals.push(sig);
                            }
                        }
                    }
                    Item::Rule(r) => {
                        if let Some(first) = rule_names.insert(r.name.value.clone(), r.name.span) {
                            self.diags
                                .push(duplicate("rule", &r.name.value, first, r.name.span));
                        }
                        if let Some(rule) = self.rule(*id, r) {
                            rules.push(rule);
                        }
                    }
                    Item::Schema(_) | Item::Let(_) => {}
                }
            }
        }
        let lets = lets
            .into_iter()
            .map(|l| LetDef {
                used: self.scope.used_lets.contains(&l.name),
                ..l
            })
            .collect();
        (lets, signals, rules)
    }

    fn lets(&mut self, files: &[(FileId, ast::File)]) -> Vec<LetDef> {
        let mut out = Vec::new();
        for (id, file) in files {
            for item in &file.items {
                let Item::Let(l) = item else { continue };
                if ROOTS.contains(&l.name.name.as_str()) {
                    self.diags.push(
                        Diagnostic::new(
                            "writ::duplicate",
                            format!(
                                "`{}` is a request root and cannot be a `let` name",
                                l.name.name
                            ),
                            l.name.span,
                            "reserved",
                        )
                        .with_help("choose another name"),
                    );
                    continue;
                }
                if let Some((_, first)) = self.scope.lets.get(&l.name.name) {
                    self.diags
                        .push(duplicate("let", &l.name.name, *first, l.name.span));
                    continue;
                }
                let value = match &l.value {
                    AstLet::List(list) => match list_value(list) {
                        Ok((values, ty)) => {
                            Some(LetValue::List(values, ty.unwrap_or(Type::String)))
                        }
                        Err(d) => {
                            self.diags.push(d);
                            None
                        }
                    },
                    AstLet::Cidr(c) => match cidr_value(c) {
                        Ok(set) => Some(LetValue::Cidr(set)),
                        Err(ds) => {
                            self.diags.extend(ds);
                            None
                        }
                    },
                    AstLet::Hours(h) => match hours_value(h, self.text(*id)) {
                        Ok(hours) => Some(LetValue::Hours(hours)),
                        Err(ds) => {
                            self.diags.extend(ds);
                            None
                        }
                    },
                    AstLet::Literal(lit) => Some(LetValue::Scalar(literal_value(lit).0)),
                };
                // A broken value is still registered (as an empty list) so that its uses
                // are not reported a second time as unknown names.
                let value =
                    value.unwrap_or_else(|| LetValue::List(Vec::new().into(), Type::String));
                self.scope
                    .lets
                    .insert(l.name.name.clone(), (value.clone(), l.name.span));
                out.push(LetDef {
                    name: l.name.name.clone(),
                    value,
                    span: l.span,
                    used: false,
                });
            }
        }
        out
    }

    fn signal(&mut self, file: FileId, s: &ast::Signal) -> Option<Signal> {
        let sources = self.sources;
        let source = sources.get(file).map_or("", |f| f.text.as_str());
        let mut ec = ExprChecker {
            scope: &mut self.scope,
            diags: &mut self.diags,
            context: Context::Risk,
        };
        let cond = ec.cond(&s.when, source);
        if s.points <= 0 {
            self.diags.push(
                Diagnostic::new(
                    "writ::risk",
                    format!("risk points must be positive, found `{}`", s.points),
                    s.points_span,
                    "not positive",
                )
                .with_help("missing evidence never lowers the bar: a signal can only add risk"),
            );
            return None;
        }
        Some(Signal {
            name: s.name.value.clone(),
            points: u32::try_from(s.points.min(100)).unwrap_or(100),
            cond,
            span: s.span,
        })
    }

    fn rule(&mut self, file: FileId, r: &ast::RuleDecl) -> Option<Rule> {
        let sources = self.sources;
        let source = sources.get(file).map_or("", |f| f.text.as_str());
        if r.name.value.trim().is_empty() {
            self.diags.push(Diagnostic::new(
                "writ::rule",
                "a rule needs a name",
                r.name.span,
                "empty name",
            ));
        }
        let cond = match &r.when {
            Some(w) => {
                let mut ec = ExprChecker {
                    scope: &mut self.scope,
                    diags: &mut self.diags,
                    context: Context::Rule,
                };
                ec.cond(w, source)
            }
            None => crate::ir::Cond::Const(true),
        };
        let effect = self.effect(&r.effect)?;
        let mut obligations: Vec<Obligation> = Vec::new();
        for o in &r.obligations {
            let ob = Obligation {
                name: o.name.name.clone(),
                args: o.args.iter().map(obligation_arg).collect(),
            };
            if !obligations.contains(&ob) {
                obligations.push(ob);
            }
        }
        Some(Rule {
            name: r.name.value.clone(),
            cond,
            effect,
            obligations,
            span: r.span,
        })
    }

    fn effect(&mut self, e: &ast::Effect) -> Option<Effect> {
        match &e.kind {
            EffectKind::Allow(None) => Some(Effect::Allow { ttl_s: None }),
            EffectKind::Allow(Some(d)) => {
                if d.seconds == 0 {
                    self.diags.push(Diagnostic::new(
                        "writ::effect",
                        "`allow for` needs a duration longer than zero",
                        d.span,
                        "zero",
                    ));
                    return None;
                }
                Some(Effect::Allow {
                    ttl_s: Some(d.seconds),
                })
            }
            EffectKind::Deny(m) => Some(Effect::Deny {
                message: m.as_ref().map(|s| s.value.clone()),
            }),
            EffectKind::Approve(items) => self.approval(e.span, items).map(Effect::Approve),
        }
    }

    fn approval(&mut self, span: Span, items: &[ApproveItem]) -> Option<Approval> {
        let before = self.diags.len();
        let mut approvers = Vec::new();
        let mut method: Option<(Method, Span)> = None;
        let mut bind: Option<(Vec<PathId>, Span)> = None;
        let mut ttl: Option<(u64, Span)> = None;
        for item in items {
            match item {
                ApproveItem::Approvers {
                    count,
                    count_span,
                    group,
                    ..
                } => {
                    if *count < 1 || *count > 100 {
                        self.diags.push(Diagnostic::new(
                            "writ::approve",
                            format!("an approver count must be between 1 and 100, found `{count}`"),
                            *count_span,
                            "invalid count",
                        ));
                    }
                    if group.value.trim().is_empty() {
                        self.diags.push(Diagnostic::new(
                            "writ::approve",
                            "an approver group needs a name",
                            group.span,
                            "empty group",
                        ));
                    }
                    approvers.push(ApproverClause {
                        count: u32::try_from((*count).clamp(1, 100)).unwrap_or(1),
                        group: group.value.clone(),
                    });
                }
                ApproveItem::Method(m) => {
                    if let Some((_, first)) = method {
                        self.diags.push(
                            Diagnostic::new(
                                "writ::approve",
                                "`method` is given twice",
                                m.span,
                                "again here",
                            )
                            .with_label(first, "first here"),
                        );
                        continue;
                    }
                    match Method::from_name(&m.name) {
                        Some(found) => method = Some((found, m.span)),
                        None => {
                            let names = ["otp", "signature", "webauthn", "phishing_resistant"];
                            let help = closest(&m.name, names).map_or_else(
                                || format!("methods are {}", names.join(", ")),
                                |n| format!("did you mean `{n}`?"),
                            );
                            self.diags.push(
                                Diagnostic::new(
                                    "writ::approve",
                                    format!("unknown approval method `{}`", m.name),
                                    m.span,
                                    "unknown method",
                                )
                                .with_help(help),
                            );
                        }
                    }
                }
                ApproveItem::Bind(paths, bind_span) => {
                    if let Some((_, first)) = &bind {
                        self.diags.push(
                            Diagnostic::new(
                                "writ::approve",
                                "`bind` is given twice",
                                *bind_span,
                                "again here",
                            )
                            .with_label(*first, "first here")
                            .with_help("list every bound path on one `bind` line"),
                        );
                        continue;
                    }
                    let mut ids = Vec::new();
                    let mut seen: HashMap<String, Span> = HashMap::new();
                    for p in paths {
                        let text = p.text();
                        if let Some(first) = seen.insert(text.clone(), p.span) {
                            self.diags.push(
                                Diagnostic::new(
                                    "writ::approve",
                                    format!("`{text}` is bound twice"),
                                    p.span,
                                    "again here",
                                )
                                .with_label(first, "first here"),
                            );
                            continue;
                        }
                        if text == "risk" {
                            self.diags.push(
                                Diagnostic::new(
                                    "writ::approve",
                                    "`risk` cannot be bound",
                                    p.span,
                                    "computed by the engine",
                                )
                                .with_help("bind the request's own fields"),
                            );
                            continue;
                        }
                        match self.scope.type_of(&text).cloned() {
                            Some(ty) => ids.push(self.scope.intern(&text, &p.segments, &ty)),
                            None => self.diags.push(self.scope.unknown_path(p)),
                        }
                    }
                    bind = Some((ids, *bind_span));
                }
                ApproveItem::Ttl(d, ttl_span) => {
                    if let Some((_, first)) = ttl {
                        self.diags.push(
                            Diagnostic::new(
                                "writ::approve",
                                "`ttl` is given twice",
                                *ttl_span,
                                "again here",
                            )
                            .with_label(first, "first here"),
                        );
                        continue;
                    }
                    if d.seconds == 0 {
                        self.diags.push(Diagnostic::new(
                            "writ::approve",
                            "an approval `ttl` must be longer than zero",
                            d.span,
                            "zero",
                        ));
                    }
                    if d.seconds > MAX_APPROVAL_TTL_S {
                        self.diags.push(
                            Diagnostic::new(
                                "writ::approve",
                                "an approval `ttl` is at most 24h",
                                d.span,
                                "longer than a day",
                            )
                            .with_help(
                                "an approval is for one transaction, now: ask again later rather than keep it open",
                            ),
                        );
                    }
                    ttl = Some((d.seconds, *ttl_span));
                }
            }
        }
        if approvers.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    "writ::approve",
                    "an `approve` block needs at least one `approvers` line",
                    span,
                    "who approves?",
                )
                .with_help("add a line such as `approvers 1 of group \"db-owners\"`"),
            );
        }
        let bind = match bind {
            Some((ids, _)) => ids,
            None => DEFAULT_BIND
                .iter()
                .filter_map(|p| {
                    let ty = self.scope.type_of(p)?.clone();
                    let segments: Vec<String> = p.split('.').map(str::to_string).collect();
                    Some(self.scope.intern(p, &segments, &ty))
                })
                .collect(),
        };
        (self.diags.len() == before).then(|| Approval {
            approvers,
            method: method.map_or(DEFAULT_METHOD, |m| m.0),
            bind,
            ttl_s: ttl.map_or(DEFAULT_APPROVAL_TTL_S, |t| t.0),
        })
    }
}

fn obligation_arg(l: &ast::Literal) -> String {
    match &l.kind {
        LiteralKind::String(s) => s.clone(),
        LiteralKind::Int(i) => i.to_string(),
        LiteralKind::Number(_, text) => text.clone(),
        LiteralKind::Bool(b) => b.to_string(),
        LiteralKind::Duration(d) => d.text.clone(),
    }
}
