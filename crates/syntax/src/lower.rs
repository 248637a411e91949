//! The tree builder: pest's pairs lowered into the spanned AST, with the literal checks
//! (integer range, escapes, durations) collected as diagnostics on the way.

use pest::iterators::Pair;
use std::collections::HashMap;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::lexical::{parse_duration, parse_int, parse_number, parse_points, unescape};
use crate::parser::{is_keyword, Rule};
use crate::source::{FileId, Span};

/// Builds AST nodes from pest pairs of one text (a file or a piece of it).
pub(crate) struct Converter<'t> {
    file: FileId,
    /// The text parsed: the file, or a piece of it.
    text: &'t str,
    /// Where `text` starts in the file.
    base: usize,
    /// Comment end offset → start offset (in the file), to trim spans back past
    /// trailing comments.
    comment_ends: &'t HashMap<usize, usize>,
    /// The literal checks' diagnostics, in order.
    pub(crate) errors: Vec<Diagnostic>,
}

/// Children of a pair without the keyword tokens.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

impl<'t> Converter<'t> {
    pub(crate) fn new(
        file: FileId,
        text: &'t str,
        base: usize,
        comment_ends: &'t HashMap<usize, usize>,
    ) -> Self {
        Converter {
            file,
            text,
            base,
            comment_ends,
            errors: Vec::new(),
        }
    }

    /// The span of a pair without the whitespace and comments pest may leave at its end
    /// (a rule ending in an optional part keeps the skipped trivia).
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let start = s.start();
        let mut end = s.end();
        loop {
            let trimmed = self.text.get(start..end).map_or(0, |t| t.trim_end().len());
            end = start + trimmed;
            match self.comment_ends.get(&(end + self.base)) {
                Some(&c) if c >= start + self.base => end = c - self.base,
                _ => break,
            }
        }
        Span::new(self.file, start + self.base, end + self.base)
    }

    fn error(&mut self, span: Span, message: String, label: &str) {
        self.errors
            .push(Diagnostic::new("writ::literal", message, span, label));
    }

    pub(crate) fn schema(&mut self, pair: Pair<'_, Rule>) -> SchemaBlock {
        let span = self.span(&pair);
        let entries = children(pair)
            .filter(|p| p.as_rule() == Rule::schema_entry)
            .map(|entry| {
                let span = self.span(&entry);
                let mut it = children(entry);
                let path = it.next().map(|p| self.path(p));
                let ty = it.next().map(|t| match t.as_rule() {
                    Rule::string_union => {
                        let span = self.span(&t);
                        TypeExpr::Union(children(t).map(|s| self.string(s)).collect(), span)
                    }
                    _ => TypeExpr::Named(self.ident(t)),
                });
                SchemaEntry {
                    path: path.unwrap_or_else(|| self.missing_path(span)),
                    ty: ty.unwrap_or(TypeExpr::Union(Vec::new(), span)),
                    span,
                }
            })
            .collect();
        SchemaBlock { entries, span }
    }

    fn missing_path(&self, span: Span) -> Path {
        Path {
            segments: Vec::new(),
            span,
        }
    }

    pub(crate) fn let_decl(&mut self, pair: Pair<'_, Rule>) -> LetDecl {
        let span = self.span(&pair);
        let mut it = children(pair);
        let name = it.next().map(|p| self.ident(p));
        let value = it.next().map(|p| let_value(self.expr(p)));
        LetDecl {
            name: name.unwrap_or(empty_ident(span)),
            value: value.unwrap_or(LetValue::List(List {
                items: Vec::new(),
                span,
            })),
            span,
        }
    }

    pub(crate) fn obligations_decl(&mut self, pair: Pair<'_, Rule>) -> ObligationsBlock {
        let span = self.span(&pair);
        let entries = children(pair)
            .filter(|p| p.as_rule() == Rule::obligation_sig)
            .map(|sig| {
                let (name, params, parens, span) = self.call(sig, Self::ident);
                ObligationSig {
                    name,
                    params,
                    parens,
                    span,
                }
            })
            .collect();
        ObligationsBlock { entries, span }
    }

    pub(crate) fn risk(&mut self, pair: Pair<'_, Rule>) -> RiskBlock {
        let span = self.span(&pair);
        let signals = children(pair)
            .filter(|p| p.as_rule() == Rule::signal)
            .map(|s| {
                let span = self.span(&s);
                let mut it = children(s);
                let (points, points_span) = match it.next() {
                    Some(p) => {
                        let ps = self.span(&p);
                        let text = p.as_str().trim_start_matches('+');
                        (self.int_value(parse_points(p.as_str()), text, ps), ps)
                    }
                    None => (0, span),
                };
                let name = it.next().map(|p| self.string(p));
                let when = it.next().map(|p| self.expr(p));
                Signal {
                    points,
                    points_span,
                    name: name.unwrap_or(empty_str(span)),
                    when: when.unwrap_or(Expr {
                        kind: ExprKind::Literal(Literal {
                            kind: LiteralKind::Bool(false),
                            span,
                        }),
                        span,
                    }),
                    span,
                }
            })
            .collect();
        RiskBlock { signals, span }
    }

    pub(crate) fn rule(&mut self, pair: Pair<'_, Rule>) -> RuleDecl {
        let span = self.span(&pair);
        let mut name = empty_str(span);
        let mut when = None;
        let mut effect = Effect {
            kind: EffectKind::Deny(None),
            span,
        };
        let mut obligations = Vec::new();
        for p in children(pair) {
            match p.as_rule() {
                Rule::string => name = self.string(p),
                Rule::when_clause => when = children(p).next().map(|e| self.expr(e)),
                Rule::allow_effect | Rule::deny_effect | Rule::approve_effect => {
                    effect = self.effect(p)
                }
                Rule::obligations => {
                    obligations = children(p).map(|o| self.obligation(o)).collect();
                }
                _ => {}
            }
        }
        RuleDecl {
            name,
            when,
            effect,
            obligations,
            span,
        }
    }

    fn effect(&mut self, pair: Pair<'_, Rule>) -> Effect {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::allow_effect => {
                EffectKind::Allow(children(pair).next().map(|d| self.duration(d)))
            }
            Rule::deny_effect => EffectKind::Deny(children(pair).next().map(|s| self.string(s))),
            _ => {
                let mut elevation = None;
                let mut items = Vec::new();
                for p in children(pair) {
                    if p.as_rule() == Rule::duration {
                        elevation = Some(self.duration(p));
                    } else {
                        items.push(self.approve_item(p));
                    }
                }
                EffectKind::Approve { elevation, items }
            }
        };
        Effect { kind, span }
    }

    fn approve_item(&mut self, pair: Pair<'_, Rule>) -> ApproveItem {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::approvers_item => {
                let mut it = children(pair);
                let (count, count_span) = match it.next() {
                    Some(c) => {
                        let cs = self.span(&c);
                        (self.int_value(parse_int(c.as_str()), c.as_str(), cs), cs)
                    }
                    None => (0, span),
                };
                let group = match it.next() {
                    Some(g) if g.as_rule() == Rule::path => GroupRef::Path(self.path(g)),
                    Some(g) => GroupRef::Name(self.string(g)),
                    None => GroupRef::Name(empty_str(span)),
                };
                ApproveItem::Approvers {
                    count,
                    count_span,
                    group,
                    span,
                }
            }
            Rule::method_item => ApproveItem::Method(
                children(pair)
                    .next()
                    .map(|i| self.ident(i))
                    .unwrap_or(empty_ident(span)),
            ),
            Rule::bind_item => {
                ApproveItem::Bind(children(pair).map(|p| self.path(p)).collect(), span)
            }
            _ => {
                let d = children(pair)
                    .next()
                    .map(|d| self.duration(d))
                    .unwrap_or(Duration {
                        seconds: 0,
                        text: String::new(),
                        span,
                    });
                ApproveItem::Ttl(d, span)
            }
        }
    }

    /// `NAME` or `NAME(ARG, ...)` (an obligation or its declaration): the name, the
    /// arguments, whether there were parentheses, the span.
    fn call<T>(
        &mut self,
        pair: Pair<'_, Rule>,
        mut arg: impl FnMut(&mut Self, Pair<'_, Rule>) -> T,
    ) -> (Ident, Vec<T>, bool, Span) {
        let span = self.span(&pair);
        let parens = pair.as_str().contains('(');
        let mut it = children(pair);
        let name = it
            .next()
            .map(|i| self.ident(i))
            .unwrap_or(empty_ident(span));
        let args = it.map(|a| arg(self, a)).collect();
        (name, args, parens, span)
    }

    fn obligation(&mut self, pair: Pair<'_, Rule>) -> Obligation {
        let (name, args, parens, span) = self.call(pair, Self::literal);
        Obligation {
            name,
            args,
            parens,
            span,
        }
    }

    // INVARIANT: recursion here follows the pest tree, and `crate::depth` bounded the
    // parentheses and `not`s before pest ran. The single-child layers pest builds for
    // each level (expr → or → and → not → cmp) are unwrapped in a loop, so a
    // parenthesis costs two frames; `not` chains and `and`/`or` chains are built in loops.
    pub(crate) fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let mut pair = pair;
        while let Some(inner) = single_child(&pair) {
            pair = inner;
        }
        self.expr_node(pair)
    }

    fn expr_node(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => match children(pair).next() {
                Some(p) => self.expr(p),
                None => self.bad_expr(span),
            },
            Rule::or_expr | Rule::and_expr => {
                let is_or = pair.as_rule() == Rule::or_expr;
                let mut parts: Vec<Expr> = children(pair).map(|p| self.expr(p)).collect();
                if parts.len() == 1 {
                    parts.remove(0)
                } else if is_or {
                    Expr {
                        kind: ExprKind::Or(parts),
                        span,
                    }
                } else {
                    Expr {
                        kind: ExprKind::And(parts),
                        span,
                    }
                }
            }
            Rule::not_expr => {
                let mut nots = Vec::new();
                let mut inner = None;
                for p in children(pair) {
                    if p.as_rule() == Rule::not_op {
                        nots.push(self.span(&p));
                    } else {
                        inner = Some(self.expr(p));
                    }
                }
                let mut e = inner.unwrap_or_else(|| self.bad_expr(span));
                for not_span in nots.into_iter().rev() {
                    let s = not_span.to(e.span);
                    e = Expr {
                        kind: ExprKind::Not(Box::new(e)),
                        span: s,
                    };
                }
                e
            }
            Rule::cmp_expr => {
                let mut it = children(pair);
                let lhs = it.next().map(|p| self.expr(p));
                let op = it.next();
                let rhs = it.next().map(|p| self.expr(p));
                match (lhs, op, rhs) {
                    (Some(lhs), Some(op), Some(rhs)) => {
                        let op_span = self.span(&op);
                        Expr {
                            kind: ExprKind::Binary {
                                op: binop(&op),
                                op_span,
                                lhs: Box::new(lhs),
                                rhs: Box::new(rhs),
                            },
                            span,
                        }
                    }
                    (Some(lhs), _, _) => lhs,
                    _ => self.bad_expr(span),
                }
            }
            Rule::sum_expr => self.sum(pair, span),
            _ => {
                let kind = self.operand(pair, span);
                Expr { kind, span }
            }
        }
    }

    /// An operand's node: a call, parentheses, a literal form, a path or a literal.
    fn operand(&mut self, pair: Pair<'_, Rule>, span: Span) -> ExprKind {
        match pair.as_rule() {
            Rule::present_call | Rule::lower_call => {
                let present = pair.as_rule() == Rule::present_call;
                let p = children(pair)
                    .next()
                    .map(|p| self.path(p))
                    .unwrap_or_else(|| self.missing_path(span));
                if present {
                    ExprKind::Present(p)
                } else {
                    ExprKind::Lower(p)
                }
            }
            Rule::paren => {
                let inner = children(pair).next().map(|p| self.expr(p));
                ExprKind::Paren(Box::new(inner.unwrap_or_else(|| self.bad_expr(span))))
            }
            Rule::cel_call => ExprKind::Cel(
                children(pair)
                    .next()
                    .map(|s| self.string(s))
                    .unwrap_or(empty_str(span)),
            ),
            Rule::cidr_set => ExprKind::Cidr(self.cidr(pair)),
            Rule::hours_window => ExprKind::Hours(self.hours(pair)),
            Rule::list => ExprKind::List(self.list(pair)),
            Rule::path => ExprKind::Path(self.path(pair)),
            _ => ExprKind::Literal(self.literal(pair)),
        }
    }

    /// `a + b - c`, left to right; at most [`MAX_TERMS`] terms, so that a chain cannot
    /// deepen the tree past what later stages' recursion is bounded for.
    fn sum(&mut self, pair: Pair<'_, Rule>, span: Span) -> Expr {
        let mut it = children(pair);
        let mut acc = match it.next() {
            Some(p) => self.expr(p),
            None => return self.bad_expr(span),
        };
        let mut terms = 1;
        while let (Some(op), Some(rhs)) = (it.next(), it.next()) {
            terms += 1;
            let op_span = self.span(&op);
            if terms > MAX_TERMS {
                self.error(
                    op_span,
                    format!("an arithmetic expression has at most {MAX_TERMS} terms"),
                    "one term too many",
                );
                break;
            }
            let rhs = self.expr(rhs);
            let whole = acc.span.to(rhs.span);
            acc = Expr {
                kind: ExprKind::Arith {
                    op: if op.as_str().starts_with('+') {
                        ArithOp::Add
                    } else {
                        ArithOp::Sub
                    },
                    op_span,
                    lhs: Box::new(acc),
                    rhs: Box::new(rhs),
                },
                span: whole,
            };
        }
        acc
    }

    fn bad_expr(&self, span: Span) -> Expr {
        Expr {
            kind: ExprKind::Literal(Literal {
                kind: LiteralKind::Bool(false),
                span,
            }),
            span,
        }
    }

    fn cidr(&mut self, pair: Pair<'_, Rule>) -> CidrLit {
        let span = self.span(&pair);
        let list = children(pair).next().map(|l| self.list(l)).unwrap_or(List {
            items: Vec::new(),
            span,
        });
        CidrLit { list, span }
    }

    fn hours(&mut self, pair: Pair<'_, Rule>) -> HoursLit {
        let span = self.span(&pair);
        let mut it = children(pair);
        let empty = empty_str(span);
        let windows = it.next().map(|s| self.string(s)).unwrap_or(empty.clone());
        let zone = it.next().map(|s| self.string(s)).unwrap_or(empty);
        HoursLit {
            windows,
            zone,
            span,
        }
    }

    fn list(&mut self, pair: Pair<'_, Rule>) -> List {
        let span = self.span(&pair);
        let items = children(pair).map(|p| self.literal(p)).collect();
        List { items, span }
    }

    fn literal(&mut self, pair: Pair<'_, Rule>) -> Literal {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::duration => LiteralKind::Duration(self.duration(pair)),
            Rule::number => match parse_number(pair.as_str()) {
                Some(v) => LiteralKind::Number(v, pair.as_str().to_string()),
                None => {
                    self.error(
                        span,
                        format!("`{}` is not a valid number", pair.as_str()),
                        "here",
                    );
                    LiteralKind::Number(0.0, pair.as_str().to_string())
                }
            },
            Rule::int => {
                LiteralKind::Int(self.int_value(parse_int(pair.as_str()), pair.as_str(), span))
            }
            Rule::boolean => LiteralKind::Bool(pair.as_str() == "true"),
            _ => LiteralKind::String(self.string(pair).value),
        };
        Literal { kind, span }
    }

    /// An integer's value, or 0 with the diagnostic for `text` out of range.
    fn int_value(&mut self, value: Option<i64>, text: &str, span: Span) -> i64 {
        match value {
            Some(v) => v,
            None => {
                self.error(
                    span,
                    format!("the integer `{text}` is out of range"),
                    "too large",
                );
                0
            }
        }
    }

    fn duration(&mut self, pair: Pair<'_, Rule>) -> Duration {
        let span = self.span(&pair);
        let text = pair.as_str().to_string();
        let seconds = parse_duration(&text);
        if seconds.is_none() {
            self.error(
                span,
                format!("the duration `{text}` is out of range"),
                "too long",
            );
        }
        Duration {
            seconds: seconds.unwrap_or(0),
            text,
            span,
        }
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> Str {
        let span = self.span(&pair);
        let body = pair.as_str();
        let body = body
            .strip_prefix('"')
            .and_then(|b| b.strip_suffix('"'))
            .unwrap_or(body);
        match unescape(body) {
            Ok(value) => Str { value, span },
            Err(msg) => {
                self.error(span, msg, "in this string");
                Str {
                    value: body.to_string(),
                    span,
                }
            }
        }
    }

    fn ident(&mut self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            span: self.span(&pair),
            name: pair.as_str().to_string(),
        }
    }

    fn path(&mut self, pair: Pair<'_, Rule>) -> Path {
        Path {
            span: self.span(&pair),
            segments: pair.as_str().split('.').map(str::to_string).collect(),
        }
    }
}

/// The name that stands in for a missing one (the grammar always gives one).
fn empty_ident(span: Span) -> Ident {
    Ident {
        name: String::new(),
        span,
    }
}

/// The string that stands in for a missing one (the grammar always gives one).
fn empty_str(span: Span) -> Str {
    Str {
        value: String::new(),
        span,
    }
}

/// The most terms one arithmetic expression may have (`time - a + 1h` has three).
pub const MAX_TERMS: usize = 4;

/// What a `let` binds: a list, CIDR set, window or literal as such, anything else as a
/// named condition (the checker tells whether it is one).
pub(crate) fn let_value(e: Expr) -> LetValue {
    match e.kind {
        ExprKind::List(l) => LetValue::List(l),
        ExprKind::Cidr(c) => LetValue::Cidr(c),
        ExprKind::Hours(h) => LetValue::Hours(h),
        ExprKind::Literal(l) => LetValue::Literal(l),
        kind => LetValue::Cond(Expr { kind, span: e.span }),
    }
}

/// The one child that stands for a whole expression layer (`a` of an `or_expr` without
/// `or`, a `not_expr` without `not`, a `cmp_expr` without operator); `None` when the
/// layer does something itself.
fn single_child<'i>(pair: &Pair<'i, Rule>) -> Option<Pair<'i, Rule>> {
    match pair.as_rule() {
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::sum_expr => {
            let mut it = children(pair.clone());
            let first = it.next()?;
            if it.next().is_some() || first.as_rule() == Rule::not_op {
                return None;
            }
            Some(first)
        }
        _ => None,
    }
}

fn binop(pair: &Pair<'_, Rule>) -> BinOp {
    match pair.as_rule() {
        Rule::op_not_in => BinOp::NotIn,
        Rule::op_in => BinOp::In,
        Rule::op_matches => BinOp::Matches,
        Rule::op_has_any => BinOp::HasAny,
        Rule::op_has_all => BinOp::HasAll,
        Rule::op_has => BinOp::Has,
        Rule::op_within => BinOp::Within,
        _ => match pair.as_str() {
            "==" => BinOp::Eq,
            "!=" => BinOp::Ne,
            "<=" => BinOp::Le,
            ">=" => BinOp::Ge,
            "<" => BinOp::Lt,
            _ => BinOp::Gt,
        },
    }
}
