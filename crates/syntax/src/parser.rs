//! The pest parser and the conversion of its pairs into the spanned AST.
//!
//! pest types never leave this module: callers get an [`ast::File`] or diagnostics.

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser as _;
use std::collections::HashMap;

use crate::ast::*;
use crate::comments;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../../grammar/writ.pest"]
struct WritParser;

/// Parses one file. Syntax errors stop at the first (pest reports one), but the literal
/// checks done while building the tree (integer range, escapes, durations) are all
/// collected.
///
/// A large file is parsed in pieces, on several threads: it is cut before lines that
/// start a rule (`rule "…"` outside any bracket, string or comment, which nothing but a
/// rule can begin), each piece is parsed and converted on its own, and the items are
/// joined in order. Should any piece fail, the whole file is parsed again in one piece,
/// so a syntax error is reported exactly as a whole-file parse reports it.
pub fn parse_file(file: FileId, text: &str) -> Result<File, Vec<Diagnostic>> {
    // INVARIANT: past this line the text nests at most `MAX_NESTING` deep, so pest's
    // recursion, the converter's and every later stage's are bounded (crate::depth).
    crate::depth::check_nesting(file, text).map_err(|d| vec![d])?;
    let comments = comments::scan(file, text);
    let comment_ends: HashMap<usize, usize> = comments
        .iter()
        .map(|c| (c.span.end as usize, c.span.start as usize))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let cuts = crate::pieces::cuts(text, threads);
    let parsed = if cuts.len() > 2 {
        crate::pieces::parse(file, text, &cuts, &comment_ends)
    } else {
        None
    };
    let (items, errors) = match parsed {
        Some(done) => done,
        None => {
            items_of(file, text, 0, &comment_ends).map_err(|e| vec![syntax_error(file, text, e)])?
        }
    };
    if errors.is_empty() {
        Ok(File { items, comments })
    } else {
        Err(errors)
    }
}

/// [`items_of`] without pest's error: `None` when the piece does not parse.
pub(crate) fn piece_items(
    file: FileId,
    text: &str,
    base: usize,
    comment_ends: &HashMap<usize, usize>,
) -> Option<(Vec<Item>, Vec<Diagnostic>)> {
    items_of(file, text, base, comment_ends).ok()
}

/// Parses `text` (the piece of a file that starts at byte `base`) as a sequence of
/// items, and converts them: the items and the conversion's errors.
fn items_of(
    file: FileId,
    text: &str,
    base: usize,
    comment_ends: &HashMap<usize, usize>,
) -> Result<(Vec<Item>, Vec<Diagnostic>), pest::error::Error<Rule>> {
    let mut pairs = WritParser::parse(Rule::file, text)?;
    let mut conv = Converter::new(file, text, base, comment_ends);
    let mut items = Vec::new();
    if let Some(root) = pairs.next() {
        for pair in root.into_inner() {
            match pair.as_rule() {
                Rule::schema_block => items.push(Item::Schema(conv.schema(pair))),
                Rule::let_decl => items.push(Item::Let(conv.let_decl(pair))),
                Rule::risk_block => items.push(Item::Risk(conv.risk(pair))),
                Rule::rule_decl => items.push(Item::Rule(conv.rule(pair))),
                Rule::obligations_decl => {
                    items.push(Item::Obligations(conv.obligations_decl(pair)))
                }
                _ => {}
            }
        }
    }
    Ok((items, conv.errors))
}

/// Parses a lone expression (as typed in the REPL).
pub fn parse_expr(file: FileId, text: &str) -> Result<Expr, Vec<Diagnostic>> {
    // INVARIANT: as in `parse_file`, nesting is bounded before pest runs.
    crate::depth::check_nesting(file, text).map_err(|d| vec![d])?;
    let mut pairs =
        WritParser::parse(Rule::expr_only, text).map_err(|e| vec![syntax_error(file, text, e)])?;
    let comment_ends: HashMap<usize, usize> = comments::scan(file, text)
        .iter()
        .map(|c| (c.span.end as usize, c.span.start as usize))
        .collect();
    let mut conv = Converter::new(file, text, 0, &comment_ends);
    let expr = pairs
        .next()
        .and_then(|root| root.into_inner().find(|p| p.as_rule() == Rule::expr))
        .map(|p| conv.expr(p));
    match expr {
        Some(e) if conv.errors.is_empty() => Ok(e),
        Some(_) => Err(conv.errors),
        None => Err(vec![Diagnostic::new(
            "writ::syntax",
            "expected an expression",
            Span::new(file, 0, text.len()),
            "here",
        )]),
    }
}

fn is_keyword(rule: Rule) -> bool {
    keyword_text(rule).is_some()
}

fn keyword_text(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::kw_schema => "schema",
        Rule::kw_let => "let",
        Rule::kw_cidr => "cidr",
        Rule::kw_hours => "hours",
        Rule::kw_risk => "risk",
        Rule::kw_when => "when",
        Rule::kw_rule => "rule",
        Rule::kw_allow => "allow",
        Rule::kw_for => "for",
        Rule::kw_deny => "deny",
        Rule::kw_approve => "approve",
        Rule::kw_approvers => "approvers",
        Rule::kw_of => "of",
        Rule::kw_group => "group",
        Rule::kw_method => "method",
        Rule::kw_bind => "bind",
        Rule::kw_ttl => "ttl",
        Rule::kw_obligations => "obligations",
        Rule::kw_cel => "cel",
        Rule::kw_present => "present",
        Rule::kw_lower => "lower",
        Rule::kw_and => "and",
        Rule::kw_or => "or",
        Rule::kw_not => "not",
        Rule::kw_in => "in",
        Rule::kw_has => "has",
        Rule::kw_any => "any",
        Rule::kw_all => "all",
        Rule::kw_within => "within",
        Rule::kw_matches => "matches",
        _ => return None,
    })
}

/// What a grammar rule is called in an error message.
fn describe(rule: Rule) -> String {
    if matches!(
        rule,
        Rule::kw_in
            | Rule::kw_has
            | Rule::kw_any
            | Rule::kw_all
            | Rule::kw_within
            | Rule::kw_matches
    ) {
        return "an operator".to_string();
    }
    if let Some(k) = keyword_text(rule) {
        return format!("`{k}`");
    }
    match rule {
        Rule::EOI => "end of file",
        Rule::path
        | Rule::paren
        | Rule::cel_call
        | Rule::present_call
        | Rule::lower_call
        | Rule::cidr_set
        | Rule::hours_window
        | Rule::not_op
        | Rule::sum_expr
        | Rule::expr => "an expression",
        Rule::ident => "a name",
        Rule::string | Rule::string_union => "a string",
        Rule::int => "an integer",
        Rule::number => "a number",
        Rule::duration => "a duration such as `5m`",
        Rule::boolean => "`true` or `false`",
        Rule::list => "a list `[...]`",
        Rule::cmp_op
        | Rule::op_in
        | Rule::op_not_in
        | Rule::op_matches
        | Rule::op_has
        | Rule::op_has_any
        | Rule::op_has_all
        | Rule::op_within
        | Rule::arith_op => "an operator",
        Rule::points => "risk points such as `+20`",
        Rule::type_name => "a type",
        Rule::schema_entry => "a schema entry `path: type`",
        Rule::signal => "a risk signal `+N \"name\" when ...`",
        Rule::approvers_item => "`approvers`",
        Rule::method_item => "`method`",
        Rule::bind_item => "`bind`",
        Rule::ttl_item => "`ttl`",
        Rule::when_clause => "`when`",
        Rule::allow_effect => "`allow`",
        Rule::deny_effect => "`deny`",
        Rule::approve_effect => "`approve`",
        Rule::obligations => "`obligations`",
        Rule::obligation => "an obligation",
        Rule::obligation_sig => "an obligation such as `review(duration)`",
        Rule::obligations_decl => "`obligations`",
        Rule::schema_block => "`schema`",
        Rule::let_decl => "`let`",
        Rule::risk_block => "`risk`",
        Rule::rule_decl => "`rule`",
        _ => "something else",
    }
    .to_string()
}

fn join_alternatives(mut names: Vec<String>) -> String {
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    match names.len() {
        0 => "something else".to_string(),
        1 => names.remove(0),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} or {}", names.join(", "), last)
        }
    }
}

/// The token found where the error is, for the label.
fn found_at(text: &str, pos: usize) -> String {
    let rest = text.get(pos..).unwrap_or("");
    let Some(c) = rest.chars().next() else {
        return "end of file".to_string();
    };
    if c.is_ascii_alphanumeric() || c == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        format!("`{word}`")
    } else if c == '\n' || c == '\r' {
        "end of line".to_string()
    } else {
        format!("`{c}`")
    }
}

fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, t)) => (s, t),
    };
    let found = found_at(text, start);
    let width = match found.as_str() {
        "end of file" | "end of line" => 0,
        f => f.trim_matches('`').len(),
    };
    let span = Span::new(file, start, (start + width).max(end).min(text.len()));
    let (message, help) = match e.variant {
        ErrorVariant::ParsingError {
            positives,
            negatives,
        } => {
            let mut wanted: Vec<String> = positives.into_iter().map(describe).collect();
            if wanted.iter().any(|w| w == "an expression") {
                // Literals and `cidr`/`hours`/`cel` are all expressions: say it once.
                wanted.retain(|w| {
                    !matches!(
                        w.as_str(),
                        "a list `[...]`"
                            | "a duration such as `5m`"
                            | "a number"
                            | "an integer"
                            | "`true` or `false`"
                            | "a string"
                            | "`cidr`"
                            | "`hours`"
                            | "`cel`"
                            | "`present`"
                            | "`lower`"
                    )
                });
            }
            if wanted.iter().any(|w| w == "an operator") {
                // `not` here can only start `not in`, which "an operator" already covers.
                wanted.retain(|w| w != "`not`");
            }
            let missing_effect = found == "`}`" && wanted.iter().any(|w| w == "`allow`");
            let message = if wanted.is_empty() {
                let unwanted: Vec<String> = negatives.into_iter().map(describe).collect();
                format!("unexpected {}", join_alternatives(unwanted))
            } else {
                format!("expected {}, found {found}", join_alternatives(wanted))
            };
            let help = help_for(text, start).or_else(|| {
                missing_effect.then(|| {
                    "a rule needs an effect: `allow`, `deny` or `approve { ... }`".to_string()
                })
            });
            (message, help)
        }
        ErrorVariant::CustomError { message } => (message, None),
    };
    let mut d = Diagnostic::new("writ::syntax", message, span, format!("unexpected {found}"));
    d.help = help;
    d
}

/// A hint for common slips, judged from the text at the error.
fn help_for(text: &str, pos: usize) -> Option<String> {
    let rest = text.get(pos..).unwrap_or("");
    if rest.starts_with("&&")
        || rest.starts_with("||")
        || rest.starts_with('!') && !rest.starts_with("!=")
    {
        return Some("writ spells logic as `and`, `or` and `not`".to_string());
    }
    if rest.starts_with('=') && !rest.starts_with("==") {
        return Some("compare with `==`".to_string());
    }
    if rest.starts_with('\'') {
        return Some("strings are written in double quotes".to_string());
    }
    None
}

struct Converter<'t> {
    file: FileId,
    /// The text parsed: the file, or a piece of it.
    text: &'t str,
    /// Where `text` starts in the file.
    base: usize,
    /// Comment end offset → start offset (in the file), to trim spans back past
    /// trailing comments.
    comment_ends: &'t HashMap<usize, usize>,
    errors: Vec<Diagnostic>,
}

/// Children of a pair without the keyword tokens.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

impl<'t> Converter<'t> {
    fn new(
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

    fn schema(&mut self, pair: Pair<'_, Rule>) -> SchemaBlock {
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

    fn let_decl(&mut self, pair: Pair<'_, Rule>) -> LetDecl {
        let span = self.span(&pair);
        let mut it = children(pair);
        let name = it.next().map(|p| self.ident(p));
        let value = it.next().map(|p| let_value(self.expr(p)));
        LetDecl {
            name: name.unwrap_or(Ident {
                name: String::new(),
                span,
            }),
            value: value.unwrap_or(LetValue::List(List {
                items: Vec::new(),
                span,
            })),
            span,
        }
    }

    fn obligations_decl(&mut self, pair: Pair<'_, Rule>) -> ObligationsBlock {
        let span = self.span(&pair);
        let entries = children(pair)
            .filter(|p| p.as_rule() == Rule::obligation_sig)
            .map(|sig| {
                let span = self.span(&sig);
                let parens = sig.as_str().contains('(');
                let mut it = children(sig);
                let name = it.next().map(|i| self.ident(i)).unwrap_or(Ident {
                    name: String::new(),
                    span,
                });
                let params = it.map(|t| self.ident(t)).collect();
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

    fn risk(&mut self, pair: Pair<'_, Rule>) -> RiskBlock {
        let span = self.span(&pair);
        let signals = children(pair)
            .filter(|p| p.as_rule() == Rule::signal)
            .map(|s| {
                let span = self.span(&s);
                let mut it = children(s);
                let (points, points_span) = match it.next() {
                    Some(p) => {
                        let ps = self.span(&p);
                        (self.int_text(p.as_str().trim_start_matches('+'), ps), ps)
                    }
                    None => (0, span),
                };
                let name = it.next().map(|p| self.string(p));
                let when = it.next().map(|p| self.expr(p));
                Signal {
                    points,
                    points_span,
                    name: name.unwrap_or(Str {
                        value: String::new(),
                        span,
                    }),
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

    fn rule(&mut self, pair: Pair<'_, Rule>) -> RuleDecl {
        let span = self.span(&pair);
        let mut name = Str {
            value: String::new(),
            span,
        };
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
                        (self.int_text(c.as_str(), cs), cs)
                    }
                    None => (0, span),
                };
                let group = match it.next() {
                    Some(g) if g.as_rule() == Rule::path => GroupRef::Path(self.path(g)),
                    Some(g) => GroupRef::Name(self.string(g)),
                    None => GroupRef::Name(Str {
                        value: String::new(),
                        span,
                    }),
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
                    .unwrap_or(Ident {
                        name: String::new(),
                        span,
                    }),
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

    fn obligation(&mut self, pair: Pair<'_, Rule>) -> Obligation {
        let span = self.span(&pair);
        let parens = pair.as_str().contains('(');
        let mut it = children(pair);
        let name = it.next().map(|i| self.ident(i)).unwrap_or(Ident {
            name: String::new(),
            span,
        });
        let args = it.map(|a| self.literal(a)).collect();
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
    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
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
            Rule::present_call | Rule::lower_call => {
                let present = pair.as_rule() == Rule::present_call;
                let p = children(pair)
                    .next()
                    .map(|p| self.path(p))
                    .unwrap_or_else(|| self.missing_path(span));
                Expr {
                    kind: if present {
                        ExprKind::Present(p)
                    } else {
                        ExprKind::Lower(p)
                    },
                    span,
                }
            }
            Rule::paren => {
                let inner = children(pair).next().map(|p| self.expr(p));
                Expr {
                    kind: ExprKind::Paren(Box::new(inner.unwrap_or_else(|| self.bad_expr(span)))),
                    span,
                }
            }
            Rule::cel_call => {
                let s = children(pair)
                    .next()
                    .map(|s| self.string(s))
                    .unwrap_or(Str {
                        value: String::new(),
                        span,
                    });
                Expr {
                    kind: ExprKind::Cel(s),
                    span,
                }
            }
            Rule::cidr_set => Expr {
                kind: ExprKind::Cidr(self.cidr(pair)),
                span,
            },
            Rule::hours_window => Expr {
                kind: ExprKind::Hours(self.hours(pair)),
                span,
            },
            Rule::list => Expr {
                kind: ExprKind::List(self.list(pair)),
                span,
            },
            Rule::path => Expr {
                kind: ExprKind::Path(self.path(pair)),
                span,
            },
            _ => Expr {
                kind: ExprKind::Literal(self.literal(pair)),
                span,
            },
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
        let empty = Str {
            value: String::new(),
            span,
        };
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
            Rule::number => match pair.as_str().parse::<f64>() {
                Ok(v) => LiteralKind::Number(v, pair.as_str().to_string()),
                Err(_) => {
                    self.error(
                        span,
                        format!("`{}` is not a valid number", pair.as_str()),
                        "here",
                    );
                    LiteralKind::Number(0.0, pair.as_str().to_string())
                }
            },
            Rule::int => LiteralKind::Int(self.int_text(pair.as_str(), span)),
            Rule::boolean => LiteralKind::Bool(pair.as_str() == "true"),
            _ => LiteralKind::String(self.string(pair).value),
        };
        Literal { kind, span }
    }

    fn int_text(&mut self, text: &str, span: Span) -> i64 {
        match text.parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
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

/// The most terms one arithmetic expression may have (`time - a + 1h` has three).
pub const MAX_TERMS: usize = 4;

/// What a `let` binds: a list, CIDR set, window or literal as such, anything else as a
/// named condition (the checker tells whether it is one).
fn let_value(e: Expr) -> LetValue {
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

/// Seconds in a duration literal such as `1h30m`; `None` on overflow or bad text.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number: u64 = 0;
    let mut digits = 0;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = number.checked_mul(10)?.checked_add(u64::from(d))?;
            digits += 1;
        } else {
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => return None,
            };
            if digits == 0 {
                return None;
            }
            total = total.checked_add(number.checked_mul(unit)?)?;
            number = 0;
            digits = 0;
        }
    }
    (digits == 0 && !text.is_empty()).then_some(total)
}

fn unescape(body: &str) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') => {
                if chars.next() != Some('{') {
                    return Err("write a unicode escape as `\\u{HEX}`".to_string());
                }
                let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("`\\u{{{hex}}}` is not a valid character"))?;
                out.push(ch);
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}`",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

/// Quotes a string value as a writ string literal.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod piece_tests {
    use super::*;

    #[test]
    fn a_fault_in_a_piece_is_reported_as_the_whole_file_reports_it() {
        let mut text = crate::pieces::tests::big(3000);
        let at = text.len() / 2;
        let at = at + text[at..].find("when").unwrap();
        text.insert_str(at, "when && ");
        let err = parse_file(FileId(0), &text).unwrap_err();
        let ends = HashMap::new();
        let whole = items_of(FileId(0), &text, 0, &ends)
            .map_err(|e| syntax_error(FileId(0), &text, e))
            .unwrap_err();
        assert_eq!(err, vec![whole]);
    }
}
