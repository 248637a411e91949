//! The fast path of the parser: a hand-written recursive-descent reader of the grammar
//! (`grammar/writ.pest`) that builds the very AST the pest path builds, about ten times
//! faster, and gives up (`None`) at anything it is not sure of, so that the pest path
//! parses the file again and produces its diagnostics exactly.
//!
//! It follows pest's semantics step by step: trivia (whitespace and `#` comments) between
//! tokens, keywords that refuse the start of a longer name, ordered choices committed to
//! the alternative pest would take (an operand's keyword form only when its opener
//! follows), greedy repetitions, and spans from a node's first token to its last. Every
//! literal check that would report a diagnostic (an integer or duration out of range, a
//! bad escape, a sum of too many terms) makes it give up too: it only ever returns trees
//! pest accepts without a word. `tests/fast_path.rs` (and the root crate's
//! `tests/fast_parse.rs` on the generated sets) hold it to the pest path's trees.

use crate::ast::*;
use crate::lexical::{parse_duration, parse_int, parse_number, parse_points, unescape};
use crate::lower::{let_value, MAX_TERMS};
use crate::source::{FileId, Span};

/// The items of `text`, as the pest path would build them with no diagnostic; `None` to
/// leave the file to the pest path.
pub(crate) fn items(file: FileId, text: &str) -> Option<Vec<Item>> {
    let mut p = Reader {
        file,
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let mut items = Vec::new();
    loop {
        p.trivia();
        if p.pos >= p.bytes.len() {
            return Some(items);
        }
        let start = p.pos;
        let item = match p.word()? {
            "schema" => Item::Schema(p.schema(start)?),
            "obligations" => Item::Obligations(p.obligations_decl(start)?),
            "let" => Item::Let(p.let_decl(start)?),
            "risk" => Item::Risk(p.risk(start)?),
            "rule" => Item::Rule(p.rule(start)?),
            _ => return None,
        };
        items.push(item);
    }
}

/// The words that can never be a name (the grammar's `keyword`).
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "has", "within", "matches", "true", "false",
];

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

struct Reader<'t> {
    file: FileId,
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
}

impl<'t> Reader<'t> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips whitespace and comments (pest's implicit `WHITESPACE | COMMENT`).
    fn trivia(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'#' => self.pos = crate::lexical::skip_comment(self.bytes, self.pos),
                _ => break,
            }
        }
    }

    /// Skips trivia, then reads the punctuation `p`; `None` when something else is next.
    fn punct(&mut self, p: u8) -> Option<usize> {
        self.trivia();
        (self.peek() == Some(p)).then(|| {
            self.pos += 1;
            self.pos
        })
    }

    /// Skips trivia; where the token that starts with `p` begins, or `None` when
    /// something else is next.
    fn opening(&mut self, p: u8) -> Option<usize> {
        self.trivia();
        (self.peek() == Some(p)).then_some(self.pos)
    }

    /// Whether the punctuation `p` comes next (after trivia), without reading it.
    fn at(&mut self, p: u8) -> bool {
        self.trivia();
        self.peek() == Some(p)
    }

    /// The word (`[A-Za-z_][A-Za-z0-9_]*`) at the current position, without reading it.
    fn peek_word(&self) -> Option<&'t str> {
        let first = self.peek()?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let len = self.bytes[self.pos..]
            .iter()
            .position(|&b| !is_ident_char(b))
            .unwrap_or(self.bytes.len() - self.pos);
        self.text.get(self.pos..self.pos + len)
    }

    /// Reads a word (no trivia skipped before it).
    fn word(&mut self) -> Option<&'t str> {
        let w = self.peek_word()?;
        self.pos += w.len();
        Some(w)
    }

    /// Skips trivia and reads the keyword `kw` (a whole word); `None` otherwise, with the
    /// position past the trivia.
    fn keyword(&mut self, kw: &str) -> Option<usize> {
        self.trivia();
        (self.peek_word()? == kw).then(|| {
            self.pos += kw.len();
            self.pos
        })
    }

    /// Whether the next word (after trivia) is `kw`, without reading it.
    fn at_keyword(&mut self, kw: &str) -> bool {
        self.trivia();
        self.peek_word() == Some(kw)
    }

    /// A name that is no keyword (the grammar's `ident`).
    fn ident(&mut self) -> Option<Ident> {
        self.trivia();
        let w = self.peek_word()?;
        if KEYWORDS.contains(&w) {
            return None;
        }
        self.name_token(w)
    }

    /// A type name (the grammar's `type_name`: any word, keywords included).
    fn type_name(&mut self) -> Option<Ident> {
        self.trivia();
        self.name_token(self.peek_word()?)
    }

    /// The word `w` at the current position read as a name.
    fn name_token(&mut self, w: &str) -> Option<Ident> {
        let start = self.pos;
        self.pos += w.len();
        Some(Ident {
            name: w.to_string(),
            span: self.span(start, self.pos),
        })
    }

    /// A dotted path of names. Gives up when a `.` follows it (pest stops before the
    /// dot, and nothing may follow there).
    fn path(&mut self) -> Option<Path> {
        self.trivia();
        let start = self.pos;
        let mut segments = Vec::new();
        loop {
            let w = self.peek_word()?;
            if KEYWORDS.contains(&w) {
                return None;
            }
            self.pos += w.len();
            segments.push(w.to_string());
            if self.peek() != Some(b'.') {
                break;
            }
            self.pos += 1;
        }
        Some(Path {
            segments,
            span: self.span(start, self.pos),
        })
    }

    /// A string literal, unescaped; `None` on an unterminated string or a bad escape.
    fn string(&mut self) -> Option<Str> {
        let start = self.opening(b'"')?;
        let mut i = start + 1;
        loop {
            match *self.bytes.get(i)? {
                b'"' => break,
                b'\n' => return None,
                b'\\' => {
                    i += 1;
                    match *self.bytes.get(i)? {
                        b'\n' => return None,
                        b'u' if self.bytes.get(i + 1) == Some(&b'{') => {
                            // `\u{…}` up to a `}` before any `"` or newline; otherwise
                            // the escape is `\u` alone (pest's second alternative).
                            let rest = &self.bytes[i + 2..];
                            match rest.iter().position(|&b| matches!(b, b'}' | b'"' | b'\n')) {
                                Some(n) if rest[n] == b'}' => i += 2 + n + 1,
                                _ => i += 1,
                            }
                        }
                        _ => i += 1,
                    }
                }
                _ => i += 1,
            }
        }
        let body = self.text.get(start + 1..i)?;
        let value = unescape(body).ok()?;
        self.pos = i + 1;
        Some(Str {
            value,
            span: self.span(start, self.pos),
        })
    }

    /// Digits from the current position: how many.
    fn digits_at(&self, i: usize) -> usize {
        self.bytes
            .get(i..)
            .map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count())
    }

    fn ends_token(&self, i: usize) -> bool {
        !self.bytes.get(i).is_some_and(|&b| is_ident_char(b))
    }

    /// The end of a duration literal starting at the current position, if one is there.
    fn duration_end(&self) -> Option<usize> {
        let mut i = self.pos;
        let mut end = None;
        loop {
            let d = self.digits_at(i);
            if d == 0 || !matches!(self.bytes.get(i + d), Some(b's' | b'm' | b'h' | b'd')) {
                break;
            }
            i += d + 1;
            end = Some(i);
        }
        end.filter(|&e| self.ends_token(e))
    }

    /// A literal: duration, number, integer, boolean or string, tried in the grammar's
    /// order.
    fn literal(&mut self) -> Option<Literal> {
        self.trivia();
        let start = self.pos;
        let kind = match self.peek()? {
            b'"' => LiteralKind::String(self.string()?.value),
            b'0'..=b'9' | b'-' => {
                if let Some(end) = self.duration_end() {
                    let d = self.duration_from(start, end)?;
                    LiteralKind::Duration(d)
                } else {
                    let sign = usize::from(self.peek() == Some(b'-'));
                    let whole = self.digits_at(start + sign);
                    if whole == 0 {
                        return None;
                    }
                    let mut end = start + sign + whole;
                    let frac = if self.bytes.get(end) == Some(&b'.') {
                        self.digits_at(end + 1)
                    } else {
                        0
                    };
                    if frac > 0 && self.ends_token(end + 1 + frac) {
                        end += 1 + frac;
                        let t = self.text.get(start..end)?;
                        self.pos = end;
                        LiteralKind::Number(parse_number(t)?, t.to_string())
                    } else if self.ends_token(end) {
                        let t = self.text.get(start..end)?;
                        self.pos = end;
                        LiteralKind::Int(parse_int(t)?)
                    } else {
                        return None;
                    }
                }
            }
            _ => match self.peek_word()? {
                w @ ("true" | "false") => {
                    self.pos += w.len();
                    LiteralKind::Bool(w == "true")
                }
                _ => return None,
            },
        };
        Some(Literal {
            kind,
            span: self.span(start, self.pos),
        })
    }

    fn duration_from(&mut self, start: usize, end: usize) -> Option<Duration> {
        let text = self.text.get(start..end)?;
        let seconds = parse_duration(text)?;
        self.pos = end;
        Some(Duration {
            seconds,
            text: text.to_string(),
            span: self.span(start, end),
        })
    }

    fn duration(&mut self) -> Option<Duration> {
        self.trivia();
        let start = self.pos;
        let end = self.duration_end()?;
        self.duration_from(start, end)
    }

    // ---------------------------------------------------------------------------------
    // items

    fn schema(&mut self, start: usize) -> Option<SchemaBlock> {
        self.punct(b'{')?;
        let mut entries = Vec::new();
        while !self.at(b'}') {
            let path = self.path()?;
            self.punct(b':')?;
            self.trivia();
            let ty = if self.peek() == Some(b'"') {
                let mut strings = vec![self.string()?];
                while self.at(b'|') {
                    self.pos += 1;
                    strings.push(self.string()?);
                }
                let span = strings[0].span.to(strings[strings.len() - 1].span);
                TypeExpr::Union(strings, span)
            } else {
                TypeExpr::Named(self.type_name()?)
            };
            let end = match &ty {
                TypeExpr::Named(i) => i.span,
                TypeExpr::Union(_, s) => *s,
            };
            entries.push(SchemaEntry {
                span: path.span.to(end),
                path,
                ty,
            });
        }
        self.pos += 1;
        Some(SchemaBlock {
            entries,
            span: self.span(start, self.pos),
        })
    }

    /// `NAME` or `NAME(...)` of an obligation, its declaration or use. Gives up when the
    /// trivia after the name holds a `(` (pest's span of the node would include it).
    fn obligation_head(&mut self) -> Option<(Ident, bool)> {
        let name = self.ident()?;
        let after = self.pos;
        self.trivia();
        if self.text.get(after..self.pos)?.contains('(') {
            return None;
        }
        let parens = self.peek() == Some(b'(');
        if parens {
            self.pos += 1;
        }
        Some((name, parens))
    }

    /// The arguments after `(`, up to and with the `)`.
    fn arguments<T>(&mut self, mut one: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut out = Vec::new();
        if self.at(b')') {
            self.pos += 1;
            return Some(out);
        }
        loop {
            out.push(one(self)?);
            if self.at(b',') {
                self.pos += 1;
            } else {
                self.punct(b')')?;
                return Some(out);
            }
        }
    }

    fn obligations_decl(&mut self, start: usize) -> Option<ObligationsBlock> {
        self.punct(b'{')?;
        let mut entries = Vec::new();
        while !self.at(b'}') {
            let (name, parens) = self.obligation_head()?;
            let params = if parens {
                self.arguments(Self::type_name)?
            } else {
                Vec::new()
            };
            entries.push(ObligationSig {
                span: self.span(name.span.start as usize, self.end_of_last(parens, &name)),
                name,
                params,
                parens,
            });
        }
        self.pos += 1;
        Some(ObligationsBlock {
            entries,
            span: self.span(start, self.pos),
        })
    }

    /// Where an obligation ends: its `)`, or its name.
    fn end_of_last(&self, parens: bool, name: &Ident) -> usize {
        if parens {
            self.pos
        } else {
            name.span.end as usize
        }
    }

    fn let_decl(&mut self, start: usize) -> Option<LetDecl> {
        let name = self.ident()?;
        self.punct(b'=')?;
        let value = self.expr()?;
        let span = self.span(start, value.span.end as usize);
        Some(LetDecl {
            name,
            value: let_value(value),
            span,
        })
    }

    fn risk(&mut self, start: usize) -> Option<RiskBlock> {
        self.punct(b'{')?;
        let mut signals = Vec::new();
        while !self.at(b'}') {
            let ps = self.pos;
            let sign = usize::from(matches!(self.peek(), Some(b'+' | b'-')));
            let digits = self.digits_at(ps + sign);
            if digits == 0 {
                return None;
            }
            let pe = ps + sign + digits;
            let points = parse_points(self.text.get(ps..pe)?)?;
            self.pos = pe;
            let name = self.string()?;
            self.keyword("when")?;
            let when = self.expr()?;
            signals.push(Signal {
                points,
                points_span: self.span(ps, pe),
                name,
                span: self.span(ps, when.span.end as usize),
                when,
            });
        }
        self.pos += 1;
        Some(RiskBlock {
            signals,
            span: self.span(start, self.pos),
        })
    }

    fn rule(&mut self, start: usize) -> Option<RuleDecl> {
        let name = self.string()?;
        self.punct(b'{')?;
        let when = if self.keyword("when").is_some() {
            Some(self.expr()?)
        } else {
            None
        };
        let effect = self.effect()?;
        let mut obligations = Vec::new();
        if self.keyword("obligations").is_some() {
            loop {
                let (name, parens) = self.obligation_head()?;
                let args = if parens {
                    self.arguments(Self::literal)?
                } else {
                    Vec::new()
                };
                obligations.push(Obligation {
                    span: self.span(name.span.start as usize, self.end_of_last(parens, &name)),
                    name,
                    args,
                    parens,
                });
                if !self.at(b',') {
                    break;
                }
                self.pos += 1;
            }
        }
        self.punct(b'}')?;
        Some(RuleDecl {
            name,
            when,
            effect,
            obligations,
            span: self.span(start, self.pos),
        })
    }

    fn effect(&mut self) -> Option<Effect> {
        self.trivia();
        let start = self.pos;
        let kind = match self.word()? {
            "allow" => EffectKind::Allow(self.elevation()?),
            "deny" => {
                self.trivia();
                EffectKind::Deny(if self.peek() == Some(b'"') {
                    Some(self.string()?)
                } else {
                    None
                })
            }
            "approve" => {
                let elevation = self.elevation()?;
                self.punct(b'{')?;
                let mut items = Vec::new();
                while !self.at(b'}') {
                    items.push(self.approve_item()?);
                }
                self.pos += 1;
                EffectKind::Approve { elevation, items }
            }
            _ => return None,
        };
        let end = match &kind {
            EffectKind::Allow(None) | EffectKind::Deny(None) => start + self.effect_word(start),
            EffectKind::Allow(Some(d)) => d.span.end as usize,
            EffectKind::Deny(Some(s)) => s.span.end as usize,
            EffectKind::Approve { .. } => self.pos,
        };
        Some(Effect {
            kind,
            span: self.span(start, end),
        })
    }

    /// The length of the effect keyword at `start`.
    fn effect_word(&self, start: usize) -> usize {
        self.bytes[start..]
            .iter()
            .take_while(|&&b| is_ident_char(b))
            .count()
    }

    /// An optional `for DURATION`; `Some(None)` when there is none, `None` when `for`
    /// is not followed by a duration.
    fn elevation(&mut self) -> Option<Option<Duration>> {
        if !self.at_keyword("for") {
            return Some(None);
        }
        self.pos += 3;
        self.duration().map(Some)
    }

    fn approve_item(&mut self) -> Option<ApproveItem> {
        self.trivia();
        let start = self.pos;
        Some(match self.word()? {
            "approvers" => {
                self.trivia();
                let cs = self.pos;
                let d = self.digits_at(cs);
                if d == 0 || !self.ends_token(cs + d) {
                    return None;
                }
                let count = parse_int(self.text.get(cs..cs + d)?)?;
                self.pos = cs + d;
                self.keyword("of")?;
                self.keyword("group")?;
                self.trivia();
                let group = if self.peek() == Some(b'"') {
                    GroupRef::Name(self.string()?)
                } else {
                    GroupRef::Path(self.path()?)
                };
                ApproveItem::Approvers {
                    count,
                    count_span: self.span(cs, cs + d),
                    span: self.span(start, group.span().end as usize),
                    group,
                }
            }
            "method" => ApproveItem::Method(self.ident()?),
            "bind" => {
                let mut paths = vec![self.path()?];
                while self.at(b',') {
                    self.pos += 1;
                    paths.push(self.path()?);
                }
                let end = paths[paths.len() - 1].span.end as usize;
                ApproveItem::Bind(paths, self.span(start, end))
            }
            "ttl" => {
                let d = self.duration()?;
                let end = d.span.end as usize;
                ApproveItem::Ttl(d, self.span(start, end))
            }
            _ => return None,
        })
    }

    // ---------------------------------------------------------------------------------
    // expressions

    // INVARIANT: recursion only through parentheses, which `crate::depth` bounded before
    // this runs; `not`s and `and`/`or` chains are loops.
    fn expr(&mut self) -> Option<Expr> {
        let mut parts = vec![self.and_expr()?];
        while self.keyword("or").is_some() {
            parts.push(self.and_expr()?);
        }
        Some(joined(parts, ExprKind::Or))
    }

    fn and_expr(&mut self) -> Option<Expr> {
        let mut parts = vec![self.not_expr()?];
        while self.keyword("and").is_some() {
            parts.push(self.not_expr()?);
        }
        Some(joined(parts, ExprKind::And))
    }

    fn not_expr(&mut self) -> Option<Expr> {
        let mut nots = Vec::new();
        loop {
            self.trivia();
            let start = self.pos;
            if self.keyword("not").is_none() {
                break;
            }
            nots.push(start);
        }
        let mut e = self.cmp_expr()?;
        for start in nots.into_iter().rev() {
            let span = self.span(start, e.span.end as usize);
            e = Expr {
                kind: ExprKind::Not(Box::new(e)),
                span,
            };
        }
        Some(e)
    }

    fn cmp_expr(&mut self) -> Option<Expr> {
        let lhs = self.sum_expr()?;
        self.trivia();
        let op_start = self.pos;
        let Some(op) = self.binary_op() else {
            self.pos = op_start;
            return Some(lhs);
        };
        let op_span = self.span(op_start, self.pos);
        let rhs = self.sum_expr()?;
        let span = lhs.span.to(rhs.span);
        Some(Expr {
            kind: ExprKind::Binary {
                op,
                op_span,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        })
    }

    /// A binary operator at the current position (trivia skipped), in the grammar's
    /// order: `not in`, `in`, `matches`, `has any`, `has all`, `has`, `within`, then the
    /// comparisons.
    fn binary_op(&mut self) -> Option<BinOp> {
        if let Some(w) = self.peek_word() {
            let op = match w {
                "not" => {
                    self.pos += 3;
                    self.keyword("in")?;
                    BinOp::NotIn
                }
                "in" => BinOp::In,
                "matches" => BinOp::Matches,
                "within" => BinOp::Within,
                "has" => {
                    self.pos += 3;
                    let after = self.pos;
                    if self.keyword("any").is_some() {
                        return Some(BinOp::HasAny);
                    }
                    if self.keyword("all").is_some() {
                        return Some(BinOp::HasAll);
                    }
                    self.pos = after;
                    return Some(BinOp::Has);
                }
                _ => return None,
            };
            if !matches!(op, BinOp::NotIn) {
                self.pos += w.len();
            }
            return Some(op);
        }
        let two = self.bytes.get(self.pos..self.pos + 2);
        let (op, len) = match two {
            Some(b"==") => (BinOp::Eq, 2),
            Some(b"!=") => (BinOp::Ne, 2),
            Some(b"<=") => (BinOp::Le, 2),
            Some(b">=") => (BinOp::Ge, 2),
            _ => match self.peek()? {
                b'<' => (BinOp::Lt, 1),
                b'>' => (BinOp::Gt, 1),
                _ => return None,
            },
        };
        self.pos += len;
        Some(op)
    }

    fn sum_expr(&mut self) -> Option<Expr> {
        let mut acc = self.operand()?;
        let mut terms = 1;
        loop {
            self.trivia();
            let op = match (self.peek(), self.bytes.get(self.pos + 1)) {
                (Some(b'+'), Some(b' ' | b'\t' | b'\r' | b'\n' | b'#')) => ArithOp::Add,
                (Some(b'-'), Some(b' ' | b'\t' | b'\r' | b'\n' | b'#')) => ArithOp::Sub,
                _ => return Some(acc),
            };
            let op_span = self.span(self.pos, self.pos + 1);
            self.pos += 1;
            terms += 1;
            if terms > MAX_TERMS {
                return None;
            }
            let rhs = self.operand()?;
            let span = acc.span.to(rhs.span);
            acc = Expr {
                kind: ExprKind::Arith {
                    op,
                    op_span,
                    lhs: Box::new(acc),
                    rhs: Box::new(rhs),
                },
                span,
            };
        }
    }

    fn operand(&mut self) -> Option<Expr> {
        self.trivia();
        let start = self.pos;
        let kind = match self.peek()? {
            b'(' => {
                self.pos += 1;
                let inner = self.expr()?;
                self.punct(b')')?;
                ExprKind::Paren(Box::new(inner))
            }
            b'[' => ExprKind::List(self.list()?),
            b'"' | b'0'..=b'9' | b'-' => ExprKind::Literal(self.literal()?),
            _ => {
                let w = self.peek_word()?;
                let after = self.pos + w.len();
                // What follows the word, past trivia, picks the alternative: a keyword
                // form (`cel(`, `cidr [`, ...) or a path.
                self.pos = after;
                self.trivia();
                let opener = self.peek();
                self.pos = start;
                match (w, opener) {
                    ("cel", Some(b'(')) => {
                        self.pos = after;
                        self.punct(b'(')?;
                        let s = self.string()?;
                        self.punct(b')')?;
                        ExprKind::Cel(s)
                    }
                    ("present" | "lower", Some(b'(')) => {
                        self.pos = after;
                        self.punct(b'(')?;
                        let p = self.path()?;
                        self.punct(b')')?;
                        if w == "present" {
                            ExprKind::Present(p)
                        } else {
                            ExprKind::Lower(p)
                        }
                    }
                    ("cidr", Some(b'[')) => {
                        self.pos = after;
                        self.trivia();
                        let list = self.list()?;
                        ExprKind::Cidr(CidrLit {
                            span: self.span(start, self.pos),
                            list,
                        })
                    }
                    ("hours", Some(b'"')) => {
                        self.pos = after;
                        let windows = self.string()?;
                        self.keyword("in")?;
                        let zone = self.string()?;
                        ExprKind::Hours(HoursLit {
                            windows,
                            zone,
                            span: self.span(start, self.pos),
                        })
                    }
                    ("true" | "false", _) => ExprKind::Literal(self.literal()?),
                    _ => ExprKind::Path(self.path()?),
                }
            }
        };
        Some(Expr {
            kind,
            span: self.span(start, self.pos),
        })
    }

    /// `[` literals, an optional trailing comma, `]`.
    fn list(&mut self) -> Option<List> {
        let start = self.opening(b'[')?;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            if self.at(b']') {
                break;
            }
            items.push(self.literal()?);
            if self.at(b',') {
                self.pos += 1;
            } else {
                self.punct(b']')?;
                self.pos -= 1;
                break;
            }
        }
        self.pos += 1;
        Some(List {
            items,
            span: self.span(start, self.pos),
        })
    }
}

/// One part as itself, several joined (`Or`/`And`) with the span from the first to the
/// last.
fn joined(mut parts: Vec<Expr>, kind: fn(Vec<Expr>) -> ExprKind) -> Expr {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    let span = parts[0].span.to(parts[parts.len() - 1].span);
    Expr {
        kind: kind(parts),
        span,
    }
}
