//! The checker proper: parses every file of a set, resolves names across files, checks
//! types and builds the [`PolicySet`]. Every problem is collected, none stops the run.

use std::collections::HashMap;

use writ_syntax::ast::{self, ApproveItem, EffectKind, Item, LetValue as AstLet, LiteralKind};
use writ_syntax::{parse_file, Diagnostic, FileId, SourceMap, Span};

use crate::expr::{cidr_value, hours_value, list_value, literal_value, Context, ExprChecker};
use crate::ir::{
    Approval, ApproverClause, ApproverGroup, Effect, LetDef, LetValue, Method, Obligation, PathId,
    PolicySet, Rule, Signal,
};
use crate::scope::{PendingLet, Scope};
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

/// The longest elevation an `approve for D` may grant, in seconds (12h).
pub const MAX_ELEVATION_S: u64 = 12 * 3600;

/// How deeply a named condition may nest, counting the named conditions it uses: a
/// bound every later stage's recursion relies on, as on `writ_syntax::MAX_NESTING`.
pub const MAX_COND_DEPTH: usize = 4 * writ_syntax::MAX_NESTING;

/// The types an obligation's arguments may be declared with.
const OBLIGATION_TYPES: &[&str] = &["string", "int", "number", "bool", "duration"];

/// Parses every file of `sources`, in order; several files are parsed on several threads
/// (each thread takes every n-th file).
fn parse_all(
    sources: &SourceMap,
) -> Vec<(FileId, Result<writ_syntax::ast::File, Vec<Diagnostic>>)> {
    let all: Vec<(FileId, &str)> = sources
        .iter()
        .map(|(id, f)| (id, f.text.as_str()))
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(all.len());
    if threads <= 1 {
        return all
            .into_iter()
            .map(|(id, t)| (id, parse_file(id, t)))
            .collect();
    }
    let mut parsed: Vec<(
        usize,
        FileId,
        Result<writ_syntax::ast::File, Vec<Diagnostic>>,
    )> = std::thread::scope(|scope| {
        let all = &all;
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                scope.spawn(move || {
                    all.iter()
                        .enumerate()
                        .skip(k)
                        .step_by(threads)
                        .map(|(i, (id, t))| (i, *id, parse_file(*id, t)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(all.len());
        for (k, h) in handles.into_iter().enumerate() {
            match h.join() {
                Ok(done) => out.extend(done),
                // A thread that could not finish: its files are parsed here.
                Err(_) => out.extend(
                    all.iter()
                        .enumerate()
                        .skip(k)
                        .step_by(threads)
                        .map(|(i, (id, t))| (i, *id, parse_file(*id, t))),
                ),
            }
        }
        out
    });
    parsed.sort_by_key(|(i, _, _)| *i);
    parsed.into_iter().map(|(_, id, r)| (id, r)).collect()
}

/// Parses and checks every file of `sources`.
pub fn check(sources: SourceMap) -> Result<PolicySet, Rejected> {
    let mut diags = Vec::new();
    let mut files = Vec::new();
    for (id, parsed) in parse_all(&sources) {
        match parsed {
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
        declared: None,
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
    /// The obligations the set declares (name → argument types), when it has an
    /// `obligations { ... }` block.
    declared: Option<HashMap<String, Vec<String>>>,
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
        self.declare_obligations(files);
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
                    Item::Schema(_) | Item::Let(_) | Item::Obligations(_) => {}
                }
            }
        }
        // Named conditions no rule uses are checked all the same.
        let mut unused: Vec<String> = self.scope.pending.keys().cloned().collect();
        unused.sort();
        for name in unused {
            let mut ec = ExprChecker {
                scope: &mut self.scope,
                diags: &mut self.diags,
                context: Context::Rule,
            };
            ec.resolve_unused(&name);
        }
        let lets = lets
            .into_iter()
            .map(|l| LetDef {
                used: self.scope.used_lets.contains(&l.name),
                value: match l.value {
                    LetValue::Cond(_) => self
                        .scope
                        .lets
                        .get(&l.name)
                        .map_or(l.value, |(v, _)| v.clone()),
                    other => other,
                },
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
                    AstLet::Cond(expr) => {
                        // Checked when first used, so that named conditions may use each
                        // other in any order; a placeholder holds the name meanwhile.
                        self.scope.pending.insert(
                            l.name.name.clone(),
                            PendingLet {
                                expr: expr.clone(),
                                source: std::sync::Arc::from(self.text(*id)),
                            },
                        );
                        Some(LetValue::Cond(std::sync::Arc::new(crate::ir::Cond::Const(
                            false,
                        ))))
                    }
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

    /// Reads every `obligations { ... }` block of the set.
    fn declare_obligations(&mut self, files: &[(FileId, ast::File)]) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        for (_, file) in files {
            for item in &file.items {
                let Item::Obligations(block) = item else {
                    continue;
                };
                let declared = self.declared.get_or_insert_with(HashMap::new);
                for e in &block.entries {
                    if let Some(first) = seen.insert(e.name.name.clone(), e.name.span) {
                        self.diags
                            .push(duplicate("obligation", &e.name.name, first, e.name.span));
                        continue;
                    }
                    let mut params = Vec::new();
                    for p in &e.params {
                        // Kept even when unknown (reported here), so that uses are not
                        // reported a second time for their number of arguments.
                        params.push(p.name.clone());
                        if !OBLIGATION_TYPES.contains(&p.name.as_str()) {
                            let help = closest(&p.name, OBLIGATION_TYPES.iter().copied())
                                .map_or_else(
                                    || {
                                        format!(
                                            "argument types are {}",
                                            OBLIGATION_TYPES.join(", ")
                                        )
                                    },
                                    |t| format!("did you mean `{t}`?"),
                                );
                            self.diags.push(
                                Diagnostic::new(
                                    "writ::obligation",
                                    format!("unknown argument type `{}`", p.name),
                                    p.span,
                                    "unknown type",
                                )
                                .with_help(help),
                            );
                        }
                    }
                    declared.insert(e.name.name.clone(), params);
                }
            }
        }
    }

    /// Checks a rule's obligation against the declared ones (when the set declares any).
    fn check_obligation(&mut self, o: &ast::Obligation) {
        let Some(declared) = &self.declared else {
            return;
        };
        let Some(params) = declared.get(&o.name.name) else {
            let help = closest(&o.name.name, declared.keys().map(String::as_str)).map_or_else(
                || {
                    let mut names: Vec<&str> = declared.keys().map(String::as_str).collect();
                    names.sort_unstable();
                    format!(
                        "the set declares {}; add it to the `obligations {{ ... }}` block",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                |n| format!("did you mean `{n}`?"),
            );
            self.diags.push(
                Diagnostic::new(
                    "writ::obligation",
                    format!("unknown obligation `{}`", o.name.name),
                    o.name.span,
                    "not declared",
                )
                .with_help(help),
            );
            return;
        };
        if params.len() != o.args.len() {
            let sig = if params.is_empty() {
                o.name.name.clone()
            } else {
                format!("{}({})", o.name.name, params.join(", "))
            };
            self.diags.push(
                Diagnostic::new(
                    "writ::obligation",
                    format!(
                        "`{}` takes {} argument{}, found {}",
                        o.name.name,
                        params.len(),
                        if params.len() == 1 { "" } else { "s" },
                        o.args.len()
                    ),
                    o.span,
                    "wrong number of arguments",
                )
                .with_help(format!("it is declared as `{sig}`")),
            );
            return;
        }
        let mut bad = Vec::new();
        for (arg, want) in o.args.iter().zip(params) {
            let (_, ty) = literal_value(arg);
            let fits = ty.to_string() == *want
                || (want == "number" && ty == Type::Int)
                || !OBLIGATION_TYPES.contains(&want.as_str());
            if !fits {
                bad.push(
                    Diagnostic::new(
                        "writ::obligation",
                        format!(
                            "`{}` expects {} `{want}` here, found {} `{ty}`",
                            o.name.name,
                            if want == "int" { "an" } else { "a" },
                            if ty == Type::Int { "an" } else { "a" }
                        ),
                        arg.span,
                        "wrong type",
                    )
                    .with_help(match want.as_str() {
                        "duration" => "write a duration such as `24h`".to_string(),
                        "string" => "write a string in double quotes".to_string(),
                        other => format!("write a literal of type `{other}`"),
                    }),
                );
            }
        }
        self.diags.extend(bad);
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
        for o in &r.obligations {
            self.check_obligation(o);
        }
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
            EffectKind::Approve { elevation, items } => {
                let elevation_s = match elevation {
                    Some(d) if d.seconds == 0 || d.seconds > MAX_ELEVATION_S => {
                        self.diags.push(
                            Diagnostic::new(
                                "writ::approve",
                                format!(
                                    "an elevation lasts more than zero and at most 12h, found `{}`",
                                    d.text
                                ),
                                d.span,
                                if d.seconds == 0 {
                                    "zero"
                                } else {
                                    "longer than 12h"
                                },
                            )
                            .with_help(
                                "time-boxed elevation is for one task: ask again for the next one",
                            ),
                        );
                        return None;
                    }
                    Some(d) => Some(d.seconds),
                    None => None,
                };
                let mut a = self.approval(e.span, items)?;
                a.elevation_s = elevation_s;
                Some(Effect::Approve(a))
            }
        }
    }

    fn approval(&mut self, span: Span, items: &[ApproveItem]) -> Option<Approval> {
        let before = self.diags.len();
        let mut approvers = Vec::new();
        let mut method: Option<(Method, Span)> = None;
        let mut bind: Option<(Vec<PathId>, Span)> = None;
        let mut ttl: Option<(u64, Span)> = None;
        let mut group_paths: Vec<PathId> = Vec::new();
        let mut bad_group = false;
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
                    let group = match group {
                        ast::GroupRef::Name(group) => {
                            if group.value.trim().is_empty() {
                                self.diags.push(Diagnostic::new(
                                    "writ::approve",
                                    "an approver group needs a name",
                                    group.span,
                                    "empty group",
                                ));
                            }
                            ApproverGroup::Name(group.value.clone())
                        }
                        ast::GroupRef::Path(p) => match self.group_path(p) {
                            Some(id) => {
                                group_paths.push(id);
                                ApproverGroup::Path(id)
                            }
                            None => {
                                bad_group = true;
                                continue;
                            }
                        },
                    };
                    approvers.push(ApproverClause {
                        count: u32::try_from((*count).clamp(1, 100)).unwrap_or(1),
                        group,
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
        if approvers.is_empty() && !bad_group {
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
        let mut bind = match bind {
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
        // A group named by the request is bound with the approval: it cannot change
        // between the approval and its use.
        for id in group_paths {
            if !bind.contains(&id) {
                bind.push(id);
            }
        }
        (self.diags.len() == before).then(|| Approval {
            approvers,
            method: method.map_or(DEFAULT_METHOD, |m| m.0),
            bind,
            ttl_s: ttl.map_or(DEFAULT_APPROVAL_TTL_S, |t| t.0),
            elevation_s: None,
        })
    }

    /// The path of `approvers N of group PATH`: a string path of the request.
    fn group_path(&mut self, p: &ast::Path) -> Option<PathId> {
        let text = p.text();
        match self.scope.type_of(&text).cloned() {
            Some(ty) if ty.is_string() => Some(self.scope.intern(&text, &p.segments, &ty)),
            Some(ty) => {
                self.diags.push(
                    Diagnostic::new(
                        "writ::approve",
                        format!("an approver group is a string, and `{text}` is `{ty}`"),
                        p.span,
                        "not a string",
                    )
                    .with_help("name the group with a string path such as `resource.admin_group`, or write it in quotes"),
                );
                None
            }
            None => {
                self.diags.push(self.scope.unknown_path(p));
                None
            }
        }
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
