//! Type checking of expressions and their lowering to [`Cond`].

use std::sync::Arc;

use writ_syntax::ast::{self, ArithOp, BinOp, ExprKind, LiteralKind};
use writ_syntax::{Diagnostic, Span};

use crate::cel_expr;
use crate::glob::Glob;
use crate::hours::Hours;
use crate::ir::{Arith, Atom, AtomKind, CmpOp, Cond, LetValue, Operand, SetOperand, Value};
use crate::literals::inner_span;
pub use crate::literals::{cidr_value, hours_value, list_value, literal_value};
use crate::net::CidrSet;
use crate::scope::Scope;
use crate::suggest::closest;
use crate::types::{Type, ROOTS};

/// What an expression turned out to be.
#[derive(Clone, Debug)]
pub enum Typed {
    /// A condition.
    Cond(Cond),
    /// A single value (path or constant) and its type.
    Value(Operand, Type),
    /// A list of constants and the type of its elements (`None` when empty).
    List(Arc<[Value]>, Option<Type>),
    /// A CIDR set.
    Cidr(Arc<CidrSet>),
    /// An `hours` window.
    Hours(Arc<Hours>),
    /// Already reported.
    Error,
}

/// Where an expression is checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Inside a `risk` block: `risk` itself is not available.
    Risk,
    /// A rule condition (or the REPL).
    Rule,
}

/// Checks expressions against a scope, collecting diagnostics.
pub struct ExprChecker<'a> {
    /// Names and paths.
    pub scope: &'a mut Scope,
    /// Problems found.
    pub diags: &'a mut Vec<Diagnostic>,
    /// Where we are.
    pub context: Context,
}

fn describe(t: &Typed) -> String {
    match t {
        Typed::Cond(_) => "a condition".into(),
        Typed::Value(_, ty) => format!("{} `{ty}`", article(ty)),
        Typed::List(_, Some(ty)) => format!("a list of `{ty}`"),
        Typed::List(_, None) => "an empty list".into(),
        Typed::Cidr(_) => "a CIDR set".into(),
        Typed::Hours(_) => "an `hours` window".into(),
        Typed::Error => "an invalid expression".into(),
    }
}

/// The help for a number compared with a string: a quoted number loses its quotes
/// (`resource.sensitivity == "3"`); a number literal compared with a string path gains
/// them (`action == 5`), or, for a union, the members are listed. Between two paths, or
/// with a word in quotes, there is nothing to suggest.
fn number_vs_string(
    (number, number_text): (&Operand, &str),
    (string, string_ty, string_text): (&Operand, &Type, &str),
) -> Option<String> {
    match (number, string) {
        (_, Operand::Const(Value::String(s))) if s.trim().parse::<f64>().is_ok() => Some(format!(
            "numbers are written without quotes: `{}`",
            s.trim()
        )),
        (Operand::Const(_), Operand::Path(_)) => Some(match string_ty {
            Type::Enum(_) => format!("`{string_text}` is one of {string_ty}"),
            _ => format!(
                "`{string_text}` is a string, and strings are written in quotes: `{}`",
                writ_syntax::quote(number_text)
            ),
        }),
        _ => None,
    }
}

fn article(ty: &Type) -> &'static str {
    match ty {
        Type::Int | Type::Ip | Type::Object => "an",
        _ => "a",
    }
}

impl ExprChecker<'_> {
    /// Checks an expression used as a condition.
    pub fn cond(&mut self, e: &ast::Expr, source: &str) -> Cond {
        let t = self.expr(e, source);
        self.as_cond(t, e)
    }

    fn as_cond(&mut self, t: Typed, e: &ast::Expr) -> Cond {
        match t {
            Typed::Cond(c) => c,
            Typed::Value(Operand::Path(id), Type::Bool) => Cond::Atom(Atom {
                kind: AtomKind::Truthy(id),
                span: e.span,
            }),
            Typed::Value(Operand::Const(Value::Bool(b)), _) => Cond::Const(b),
            Typed::Error => Cond::Const(false),
            other => {
                let help = match &other {
                    Typed::Value(_, ty) if ty.is_string() => "compare it, e.g. `… == \"value\"`",
                    Typed::Value(_, Type::Set) => {
                        "test it with `has`, `has any`, `has all` or `within`"
                    }
                    Typed::Cidr(_) => "test an address against it: `network.ip in …`",
                    Typed::Hours(_) => "test the time against it: `time in …`",
                    _ => "conditions are comparisons, tests, `cel(...)` or bool attributes",
                };
                self.diags.push(
                    Diagnostic::new(
                        "writ::type",
                        format!("expected a condition, found {}", describe(&other)),
                        e.span,
                        "not a condition",
                    )
                    .with_help(help),
                );
                Cond::Const(false)
            }
        }
    }

    /// Types an expression.
    // INVARIANT: `expr` ↔ `cond` recurse once per level of the AST, which the parser
    // bounded (`writ_syntax::MAX_NESTING`, checked before pest runs); `and`/`or` chains
    // are flat lists, iterated, however long.
    pub fn expr(&mut self, e: &ast::Expr, source: &str) -> Typed {
        match &e.kind {
            ExprKind::Or(parts) => Typed::Cond(Cond::Or(
                parts.iter().map(|p| self.cond(p, source)).collect(),
            )),
            ExprKind::And(parts) => Typed::Cond(Cond::And(
                parts.iter().map(|p| self.cond(p, source)).collect(),
            )),
            ExprKind::Not(inner) => Typed::Cond(Cond::Not(Box::new(self.cond(inner, source)))),
            ExprKind::Paren(inner) => self.expr(inner, source),
            ExprKind::Literal(l) => {
                let (v, t) = literal_value(l);
                Typed::Value(Operand::Const(v), t)
            }
            ExprKind::List(list) => match list_value(list) {
                Ok((values, ty)) => Typed::List(values, ty),
                Err(d) => {
                    self.diags.push(d);
                    Typed::Error
                }
            },
            ExprKind::Cidr(c) => self.reported(cidr_value(c).map(Typed::Cidr)),
            ExprKind::Hours(h) => self.reported(hours_value(h, source).map(Typed::Hours)),
            ExprKind::Cel(s) => self.cel(s, e.span, source),
            ExprKind::Path(p) => self.path(p),
            ExprKind::Present(p) => self.present(p),
            ExprKind::Lower(p) => self.lower(p),
            ExprKind::Arith {
                op,
                op_span,
                lhs,
                rhs,
            } => match self.operands(lhs, rhs, source) {
                Some((l, r)) => self.arith(*op, *op_span, (lhs, l), (rhs, r)),
                None => Typed::Error,
            },
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => {
                let Some((l, r)) = self.operands(lhs, rhs, source) else {
                    return Typed::Error;
                };
                let atom = |kind| Typed::Cond(Cond::Atom(Atom { kind, span: e.span }));
                let ctx = BinCtx {
                    op: *op,
                    op_span: *op_span,
                    lhs,
                    rhs,
                };
                match self.binary(&ctx, l, r, source) {
                    Some(Bin::Atom(kind)) => atom(kind),
                    Some(Bin::NotAtom(kind)) => {
                        Typed::Cond(Cond::Not(Box::new(Cond::Atom(Atom { kind, span: e.span }))))
                    }
                    None => Typed::Error,
                }
            }
        }
    }

    /// Both sides of a binary or arithmetic expression, checked; `None` when either is
    /// invalid (already reported).
    fn operands(
        &mut self,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        source: &str,
    ) -> Option<(Typed, Typed)> {
        let l = self.expr(lhs, source);
        let r = self.expr(rhs, source);
        (!matches!(l, Typed::Error) && !matches!(r, Typed::Error)).then_some((l, r))
    }

    /// A literal's value, or its diagnostics reported.
    fn reported(&mut self, value: Result<Typed, Vec<Diagnostic>>) -> Typed {
        value.unwrap_or_else(|ds| {
            self.diags.extend(ds);
            Typed::Error
        })
    }

    fn cel(&mut self, s: &ast::Str, call: Span, source: &str) -> Typed {
        let raw = source
            .get(s.span.start as usize..s.span.end as usize)
            .unwrap_or("");
        match cel_expr::compile(&s.value) {
            Ok(c) => Typed::Cond(Cond::Atom(Atom {
                kind: AtomKind::Cel(Arc::new(c)),
                span: call,
            })),
            Err(err) => {
                let mut d = Diagnostic::new(
                    "writ::cel",
                    err.message,
                    inner_span(s, err.offset, 1, raw),
                    "here",
                );
                d.help = err.help;
                self.diags.push(d);
                Typed::Error
            }
        }
    }

    /// `present(path)`: any request path, of any type.
    fn present(&mut self, p: &ast::Path) -> Typed {
        let text = p.text();
        if text == "risk" {
            self.diags.push(
                Diagnostic::new(
                    "writ::type",
                    "`risk` is always present",
                    p.span,
                    "computed by the engine",
                )
                .with_help("`present` tests a path of the request"),
            );
            return Typed::Error;
        }
        match self.scope.type_of(&text).cloned() {
            Some(ty) => {
                let id = self.scope.intern(&text, &p.segments, &ty);
                Typed::Cond(Cond::Atom(Atom {
                    kind: AtomKind::Present(id),
                    span: p.span,
                }))
            }
            None => {
                let d = if p.segments.len() == 1 && ROOTS.contains(&text.as_str()) {
                    Diagnostic::new(
                        "writ::type",
                        format!("`{text}` is a request root, not a path"),
                        p.span,
                        "a root",
                    )
                    .with_help("test one of its attributes, such as `present(resource.id)`")
                } else if p.segments.len() == 1 && self.scope.lets.contains_key(&text) {
                    Diagnostic::new(
                        "writ::type",
                        format!("`{text}` is a `let` name, not a request path"),
                        p.span,
                        "not a request path",
                    )
                    .with_help("`present` tests a path of the request, such as `present(request.params.payee)`")
                } else {
                    self.scope.unknown_path(p)
                };
                self.diags.push(d);
                Typed::Error
            }
        }
    }

    /// `lower(path)`: a string path.
    fn lower(&mut self, p: &ast::Path) -> Typed {
        match self.path(p) {
            Typed::Value(Operand::Path(id), ty) if ty.is_string() => {
                Typed::Value(Operand::Lower(id), Type::String)
            }
            Typed::Error => Typed::Error,
            other => {
                self.diags.push(
                    Diagnostic::new(
                        "writ::type",
                        format!("`lower` takes a string path, found {}", describe(&other)),
                        p.span,
                        "not a string path",
                    )
                    .with_help("write `lower(action)` or another string attribute of the request"),
                );
                Typed::Error
            }
        }
    }

    /// `a + b`, `a - b` over instants and durations.
    fn arith(
        &mut self,
        op: ArithOp,
        op_span: Span,
        (lhs, l): (&ast::Expr, Typed),
        (rhs, r): (&ast::Expr, Typed),
    ) -> Typed {
        let (Typed::Value(lv, lt), Typed::Value(rv, rt)) = (&l, &r) else {
            return self.arith_mismatch(op, op_span, (lhs, &l), (rhs, &r));
        };
        // A quoted instant next to an instant is an instant (`time - "2026-01-01T00:00:00Z"`).
        let rhs_text = writ_syntax::expr_text(rhs);
        let lhs_text = writ_syntax::expr_text(lhs);
        let Some((rv, rt)) = self.coerce_time(lt, (rv.clone(), rt.clone()), rhs.span, &lhs_text)
        else {
            return Typed::Error;
        };
        let Some((lv, lt)) = self.coerce_time(&rt, (lv.clone(), lt.clone()), lhs.span, &rhs_text)
        else {
            return Typed::Error;
        };
        let ty = match (&lt, op, &rt) {
            (Type::Time, ArithOp::Sub, Type::Time) => Type::Duration,
            (Type::Time, _, Type::Duration) => Type::Time,
            (Type::Duration, ArithOp::Add, Type::Time) => Type::Time,
            (Type::Duration, _, Type::Duration) => Type::Duration,
            _ => {
                return self.arith_mismatch(
                    op,
                    op_span,
                    (lhs, &Typed::Value(lv, lt)),
                    (rhs, &Typed::Value(rv, rt)),
                )
            }
        };
        Typed::Value(
            Operand::Arith(Box::new(Arith {
                lhs: lv,
                op,
                rhs: rv,
            })),
            ty,
        )
    }

    /// [`Self::coerce`] where the other side is an instant; the value as it is elsewhere.
    fn coerce_time(
        &mut self,
        other: &Type,
        (value, ty): (Operand, Type),
        span: Span,
        other_text: &str,
    ) -> Option<(Operand, Type)> {
        if *other == Type::Time {
            self.coerce(other, value, ty, span, other_text)
        } else {
            Some((value, ty))
        }
    }

    fn arith_mismatch(
        &mut self,
        op: ArithOp,
        op_span: Span,
        (lhs, l): (&ast::Expr, &Typed),
        (rhs, r): (&ast::Expr, &Typed),
    ) -> Typed {
        self.diags.push(
            Diagnostic::new(
                "writ::type",
                format!(
                    "`{}` cannot be applied to {} and {}",
                    op.as_str(),
                    describe(l),
                    describe(r)
                ),
                op_span,
                "type mismatch",
            )
            .with_label(lhs.span, describe(l))
            .with_label(rhs.span, describe(r))
            .with_help(
                "arithmetic is on instants and durations: instant - instant, instant + duration, instant - duration, duration + duration, duration - duration",
            ),
        );
        Typed::Error
    }

    /// Checks a named condition no rule used (it must check all the same).
    pub fn resolve_unused(&mut self, name: &str) {
        let _ = self.named(name, Span::default());
    }

    /// A named condition used by name: checked on first use (cycles refused).
    fn named(&mut self, name: &str, at: Span) -> Option<Typed> {
        if let Some(i) = self.scope.resolving.iter().position(|n| n == name) {
            let mut chain: Vec<String> = self.scope.resolving[i..]
                .iter()
                .map(|n| format!("`{n}`"))
                .collect();
            chain.push(format!("`{name}`"));
            self.diags.push(
                Diagnostic::new(
                    "writ::let-cycle",
                    format!(
                        "the named condition `{name}` refers to itself: {}",
                        chain.join(" → ")
                    ),
                    at,
                    "refers back here",
                )
                .with_help("a named condition may use other named conditions, but not itself, directly or through others"),
            );
            return Some(Typed::Error);
        }
        let pending = self.scope.pending.remove(name)?;
        self.scope.resolving.push(name.to_string());
        let context = std::mem::replace(&mut self.context, Context::Rule);
        let cond = self.cond(&pending.expr, &pending.source);
        self.context = context;
        self.scope.resolving.pop();
        let cond = if cond.depth() > crate::check::MAX_COND_DEPTH {
            self.diags.push(
                Diagnostic::new(
                    "writ::nesting",
                    format!(
                        "the named condition `{name}` nests more than {} levels deep, counting the named conditions it uses",
                        crate::check::MAX_COND_DEPTH
                    ),
                    pending.expr.span,
                    "too deep",
                )
                .with_help("flatten the chain of named conditions"),
            );
            Cond::Const(false)
        } else {
            cond
        };
        let span = self
            .scope
            .lets
            .get(name)
            .map_or(pending.expr.span, |(_, s)| *s);
        self.scope
            .lets
            .insert(name.to_string(), (LetValue::Cond(Arc::new(cond)), span));
        None
    }

    fn path(&mut self, p: &ast::Path) -> Typed {
        let text = p.text();
        if p.segments.len() == 1 {
            if let Some(t) = self.named(&text, p.span) {
                return t;
            }
            if let Some((value, _)) = self.scope.lets.get(&text) {
                let value = value.clone();
                self.scope.used_lets.insert(text.clone());
                return match value {
                    LetValue::List(values, ty) => Typed::List(values, Some(ty)),
                    LetValue::Cidr(c) => Typed::Cidr(c),
                    LetValue::Hours(h) => Typed::Hours(h),
                    LetValue::Cond(c) => {
                        if self.context == Context::Risk && reads_risk(&c, &self.scope.paths) {
                            self.diags.push(
                                Diagnostic::new(
                                    "writ::risk",
                                    format!("the named condition `{text}` uses `risk`, which cannot be used inside a `risk` block"),
                                    p.span,
                                    "uses risk",
                                )
                                .with_help("use it in rule conditions, where `risk` is computed before the rules run"),
                            );
                            return Typed::Error;
                        }
                        Typed::Cond(Cond::Named {
                            name: Arc::from(text.as_str()),
                            cond: c,
                        })
                    }
                    LetValue::Scalar(v) => {
                        let ty = match &v {
                            Value::String(_) => Type::String,
                            Value::Int(_) => Type::Int,
                            Value::Number(_) => Type::Number,
                            Value::Bool(_) => Type::Bool,
                            Value::Duration(_) => Type::Duration,
                            Value::Ip(_) => Type::Ip,
                            Value::Time(_) => Type::Time,
                        };
                        Typed::Value(Operand::Const(v), ty)
                    }
                };
            }
        }
        if text == "risk" && self.context == Context::Risk {
            self.diags.push(
                Diagnostic::new(
                    "writ::risk",
                    "`risk` cannot be used inside a `risk` block",
                    p.span,
                    "risk is the sum of these signals",
                )
                .with_help(
                    "use `risk` in rule conditions, where it is computed before the rules run",
                ),
            );
            return Typed::Error;
        }
        match self.scope.type_of(&text).cloned() {
            Some(ty) => {
                let id = self.scope.intern(&text, &p.segments, &ty);
                if ty == Type::Jwk {
                    self.diags.push(
                        Diagnostic::new("writ::type", format!("`{text}` is a public key, not a value"), p.span, "a public key")
                            .with_help("a key is only for `bind` (a grant issued for the request is bound to it)"),
                    );
                    return Typed::Error;
                }
                if ty == Type::Object {
                    self.diags.push(
                        Diagnostic::new("writ::type", format!("`{text}` is an object, not a value"), p.span, "an object")
                            .with_help(format!("compare one of its attributes declared in the schema, such as `{text}.amount`; whole objects are only for `bind`")),
                    );
                    return Typed::Error;
                }
                Typed::Value(Operand::Path(id), ty)
            }
            None if p.segments.len() == 1 && ROOTS.contains(&text.as_str()) => {
                self.diags.push(self.scope.object_as_value(p));
                Typed::Error
            }
            None => {
                self.diags.push(self.scope.unknown_path(p));
                Typed::Error
            }
        }
    }
}

/// Whether a condition reads `risk` (named conditions included).
// INVARIANT: bounded by `MAX_COND_DEPTH`, checked for every named condition.
pub fn reads_risk(c: &Cond, paths: &[crate::ir::PathInfo]) -> bool {
    let is_risk = |o: &Operand| {
        let mut v = Vec::new();
        o.paths(&mut v);
        v.iter()
            .any(|p| paths.get(p.0 as usize).is_some_and(|i| i.text == "risk"))
    };
    match c {
        Cond::Const(_) => false,
        Cond::Atom(a) => match &a.kind {
            AtomKind::Compare { lhs, rhs, .. } => is_risk(lhs) || is_risk(rhs),
            AtomKind::InList { value, .. } => is_risk(value),
            _ => false,
        },
        Cond::Not(c) => reads_risk(c, paths),
        Cond::Named { cond, .. } => reads_risk(cond, paths),
        Cond::And(p) | Cond::Or(p) => p.iter().any(|c| reads_risk(c, paths)),
    }
}

struct BinCtx<'a> {
    op: BinOp,
    op_span: Span,
    lhs: &'a ast::Expr,
    rhs: &'a ast::Expr,
}

enum Bin {
    Atom(AtomKind),
    NotAtom(AtomKind),
}

impl ExprChecker<'_> {
    fn mismatch(&mut self, ctx: &BinCtx<'_>, l: &Typed, r: &Typed, help: Option<String>) {
        let message = format!(
            "`{}` cannot be applied to {} and {}",
            ctx.op.as_str(),
            describe(l),
            describe(r)
        );
        let mut d = Diagnostic::new("writ::type", message, ctx.op_span, "type mismatch")
            .with_label(ctx.lhs.span, describe(l))
            .with_label(ctx.rhs.span, describe(r));
        d.help = help;
        self.diags.push(d);
    }

    fn binary(&mut self, ctx: &BinCtx<'_>, l: Typed, r: Typed, source: &str) -> Option<Bin> {
        match ctx.op {
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.compare(ctx, l, r)
            }
            BinOp::In | BinOp::NotIn => {
                let kind = self.membership(ctx, l, r)?;
                Some(if ctx.op == BinOp::NotIn {
                    Bin::NotAtom(kind)
                } else {
                    Bin::Atom(kind)
                })
            }
            BinOp::Matches => self.matches(ctx, l, source),
            BinOp::Has | BinOp::HasAny | BinOp::HasAll | BinOp::Within => self.set_op(ctx, l, r),
        }
    }

    /// Adapts a string constant to an `ip` or `time` on the other side, and checks enum
    /// members; returns the (possibly converted) constant.
    fn coerce(
        &mut self,
        other: &Type,
        value: Operand,
        ty: Type,
        span: Span,
        other_text: &str,
    ) -> Option<(Operand, Type)> {
        let Operand::Const(Value::String(s)) = &value else {
            return Some((value, ty));
        };
        match other {
            Type::Ip => match s.parse() {
                Ok(ip) => Some((Operand::Const(Value::Ip(ip)), Type::Ip)),
                Err(_) => {
                    self.diags.push(Diagnostic::new("writ::type", format!("`{s}` is not an IP address"), span, "invalid address").with_help("write an address such as `10.1.2.3` or `fd00::1`; for networks use `in cidr [...]`"));
                    None
                }
            },
            Type::Time => match s.parse::<jiff::Timestamp>() {
                Ok(t) => Some((Operand::Const(Value::Time(t)), Type::Time)),
                Err(_) => {
                    self.diags.push(
                        Diagnostic::new(
                            "writ::type",
                            format!("`{s}` is not an RFC 3339 instant"),
                            span,
                            "invalid time",
                        )
                        .with_help("write an instant such as `2026-11-27T10:00:00Z`"),
                    );
                    None
                }
            },
            Type::Enum(members) => {
                if members.iter().any(|m| m.as_str() == &**s) {
                    Some((value, ty))
                } else {
                    let help = match closest(s, members.iter().map(String::as_str)) {
                        Some(m) => format!("did you mean `\"{m}\"`?"),
                        None => format!("`{other_text}` is one of {other}"),
                    };
                    self.diags.push(
                        Diagnostic::new(
                            "writ::type",
                            format!("`\"{s}\"` is not a possible value of `{other_text}`"),
                            span,
                            "never equal",
                        )
                        .with_help(help),
                    );
                    None
                }
            }
            _ => Some((value, ty)),
        }
    }

    fn compare(&mut self, ctx: &BinCtx<'_>, l: Typed, r: Typed) -> Option<Bin> {
        let (Typed::Value(lv, lt), Typed::Value(rv, rt)) = (&l, &r) else {
            let help = matches!(r, Typed::List(..) | Typed::Cidr(_) | Typed::Hours(_))
                .then(|| "to test membership use `in`".to_string());
            self.mismatch(ctx, &l, &r, help);
            return None;
        };
        let lhs_text = writ_syntax::expr_text(ctx.lhs);
        let rhs_text = writ_syntax::expr_text(ctx.rhs);
        let (rv, rt) = self.coerce(lt, rv.clone(), rt.clone(), ctx.rhs.span, &lhs_text)?;
        let (lv, lt) = self.coerce(&rt, lv.clone(), lt.clone(), ctx.lhs.span, &rhs_text)?;
        if !lt.comparable_with(&rt) {
            let help = match (&lt, &rt) {
                (Type::Duration, t) | (t, Type::Duration) if t.is_numeric() => {
                    Some("write a duration such as `30d`, `12h`, `5m` or `90s`".to_string())
                }
                (Type::Bool, t) | (t, Type::Bool) if t.is_string() => {
                    Some("write `true` or `false` without quotes".to_string())
                }
                (t, u) if t.is_numeric() && u.is_string() => {
                    number_vs_string((&lv, &lhs_text), (&rv, u, &rhs_text))
                }
                (t, u) if t.is_string() && u.is_numeric() => {
                    number_vs_string((&rv, &rhs_text), (&lv, t, &lhs_text))
                }
                _ => None,
            };
            self.mismatch(ctx, &Typed::Value(lv, lt), &Typed::Value(rv, rt), help);
            return None;
        }
        let op = match ctx.op {
            BinOp::Eq => CmpOp::Eq,
            BinOp::Ne => CmpOp::Ne,
            BinOp::Lt => CmpOp::Lt,
            BinOp::Le => CmpOp::Le,
            BinOp::Gt => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        if !matches!(op, CmpOp::Eq | CmpOp::Ne) && !lt.is_ordered() {
            let mut d = Diagnostic::new(
                "writ::type",
                format!(
                    "`{}` has no order: `{}` cannot be used on it",
                    lt,
                    op.as_str()
                ),
                ctx.op_span,
                "not ordered",
            );
            d.help = Some("only numbers, durations and times are ordered".into());
            self.diags.push(d);
            return None;
        }
        Some(Bin::Atom(AtomKind::Compare {
            lhs: lv,
            op,
            rhs: rv,
        }))
    }

    fn membership(&mut self, ctx: &BinCtx<'_>, l: Typed, r: Typed) -> Option<AtomKind> {
        let Typed::Value(value, lt) = &l else {
            self.mismatch(ctx, &l, &r, None);
            return None;
        };
        if *lt == Type::Set {
            self.mismatch(
                ctx,
                &l,
                &r,
                Some("for sets use `within` (every element in the list) or `has any`".into()),
            );
            return None;
        }
        let lhs_text = writ_syntax::expr_text(ctx.lhs);
        match &r {
            Typed::List(values, elem) => {
                let mut converted = Vec::with_capacity(values.len());
                if let Some(et) = elem {
                    if !(lt.comparable_with(et)
                        || matches!(lt, Type::Ip | Type::Time) && et.is_string())
                    {
                        let help = (*lt == Type::Ip)
                            .then(|| "for networks write `cidr [...]`".to_string());
                        self.mismatch(ctx, &l, &r, help);
                        return None;
                    }
                }
                for v in values.iter() {
                    let ty = elem.clone().unwrap_or(Type::String);
                    let (op, _) =
                        self.coerce(lt, Operand::Const(v.clone()), ty, ctx.rhs.span, &lhs_text)?;
                    if let Operand::Const(c) = op {
                        converted.push(c);
                    }
                }
                Some(AtomKind::InList {
                    value: value.clone(),
                    list: converted.into(),
                })
            }
            Typed::Cidr(nets) if *lt == Type::Ip => Some(AtomKind::InCidr {
                value: value.clone(),
                nets: nets.clone(),
            }),
            Typed::Hours(hours) if *lt == Type::Time => Some(AtomKind::InHours {
                value: value.clone(),
                hours: hours.clone(),
            }),
            Typed::Value(Operand::Path(set), Type::Set) if lt.is_string() => {
                Some(AtomKind::InSet {
                    value: value.clone(),
                    set: *set,
                })
            }
            _ => {
                self.mismatch(ctx, &l, &r, None);
                None
            }
        }
    }

    fn matches(&mut self, ctx: &BinCtx<'_>, l: Typed, source: &str) -> Option<Bin> {
        let Typed::Value(value, lt) = &l else {
            self.mismatch(ctx, &l, &Typed::Error, None);
            return None;
        };
        if !lt.is_string() {
            self.diags.push(Diagnostic::new(
                "writ::type",
                format!("`matches` needs a string, found a `{lt}`"),
                ctx.lhs.span,
                "not a string",
            ));
            return None;
        }
        let ExprKind::Literal(ast::Literal {
            kind: LiteralKind::String(pattern),
            ..
        }) = &ctx.rhs.kind
        else {
            self.diags.push(
                Diagnostic::new(
                    "writ::glob",
                    "`matches` takes a pattern written as a string literal",
                    ctx.rhs.span,
                    "not a string literal",
                )
                .with_help("write a pattern such as `\"db.*.write\"`"),
            );
            return None;
        };
        match Glob::parse(pattern) {
            Ok(glob) => Some(Bin::Atom(AtomKind::Matches {
                value: value.clone(),
                glob: Arc::new(glob),
            })),
            Err(e) => {
                let raw = source
                    .get(ctx.rhs.span.start as usize..ctx.rhs.span.end as usize)
                    .unwrap_or("");
                let s = ast::Str {
                    value: pattern.clone(),
                    span: ctx.rhs.span,
                };
                let span = inner_span(
                    &s,
                    e.offset,
                    if e.message.starts_with("`**`") { 2 } else { 1 },
                    raw,
                );
                self.diags.push(
                    Diagnostic::new(
                        "writ::glob",
                        format!("invalid pattern: {}", e.message),
                        span,
                        "here",
                    )
                    .with_help(e.help),
                );
                None
            }
        }
    }

    fn set_op(&mut self, ctx: &BinCtx<'_>, l: Typed, r: Typed) -> Option<Bin> {
        let set = match &l {
            Typed::Value(Operand::Path(id), Type::Set) => *id,
            _ => {
                let help = match &l {
                    Typed::Value(_, t) if t.is_string() && ctx.op == BinOp::Has => {
                        Some("to test a string against a list use `in`".to_string())
                    }
                    _ => None,
                };
                self.mismatch(ctx, &l, &r, help);
                return None;
            }
        };
        if ctx.op == BinOp::Has {
            return match &r {
                Typed::Value(item, t) if t.is_string() => Some(Bin::Atom(AtomKind::Has {
                    set,
                    item: item.clone(),
                })),
                Typed::List(..) => {
                    self.mismatch(
                        ctx,
                        &l,
                        &r,
                        Some("use `has any [...]` or `has all [...]` with a list".into()),
                    );
                    None
                }
                _ => {
                    self.mismatch(ctx, &l, &r, None);
                    None
                }
            };
        }
        let items = match &r {
            Typed::List(values, elem) => {
                if elem.as_ref().is_some_and(|t| !t.is_string()) {
                    self.mismatch(ctx, &l, &r, Some("sets hold strings".into()));
                    return None;
                }
                SetOperand::Const(
                    values
                        .iter()
                        .filter_map(|v| match v {
                            Value::String(s) => Some(s.to_string()),
                            _ => None,
                        })
                        .collect(),
                )
            }
            Typed::Value(Operand::Path(id), Type::Set) => SetOperand::Path(*id),
            _ => {
                self.mismatch(ctx, &l, &r, None);
                return None;
            }
        };
        Some(Bin::Atom(match ctx.op {
            BinOp::HasAny => AtomKind::HasAny { set, items },
            BinOp::HasAll => AtomKind::HasAll { set, items },
            _ => AtomKind::Within { set, items },
        }))
    }
}
