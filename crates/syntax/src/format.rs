//! The canonical formatter: prints a parsed file back in one style, keeping every comment.
//!
//! Style: two-space indentation; one item per paragraph, a blank line between blocks and
//! rules (consecutive `let`s stay together unless the author separated them); schema
//! types, `let` values and risk conditions aligned in columns; a `when` longer than
//! [`MAX_WIDTH`] broken before each top-level `and`/`or`. Literals keep the text the author
//! wrote. Comments stay before the item they preceded or at the end of their line; a
//! comment inside an expression moves to the line above it.

use crate::ast::*;
use crate::lexical::{points_text, quote};

/// Lines longer than this have their `when` condition broken at top-level operators.
pub const MAX_WIDTH: usize = 100;

/// Formats one parsed file. `text` must be the text `file` was parsed from.
pub fn format_file(file: &File, text: &str) -> String {
    let mut f = Formatter {
        text,
        comments: &file.comments,
        next_comment: 0,
        out: String::new(),
    };
    f.file(file);
    f.out
}

struct Formatter<'a> {
    text: &'a str,
    comments: &'a [Comment],
    next_comment: usize,
    out: String,
}

fn indent(level: usize) -> String {
    "  ".repeat(level)
}

impl Formatter<'_> {
    fn file(&mut self, file: &File) {
        let mut prev: Option<&Item> = None;
        for item in &file.items {
            if let Some(p) = prev {
                let both_lets = matches!((p, item), (Item::Let(_), Item::Let(_)));
                let start = self.first_comment_start(item.span().start);
                if !both_lets || self.blank_line_between(p.span().end, start) {
                    self.out.push('\n');
                }
            }
            match item {
                Item::Schema(s) => self.schema(s),
                Item::Let(l) => {
                    let width = self.let_name_width(&file.items, l);
                    self.let_decl(l, width);
                }
                Item::Risk(r) => self.risk(r),
                Item::Rule(r) => self.rule(r),
                Item::Obligations(o) => self.obligations(o),
            }
            prev = Some(item);
        }
        // Comments after the last item.
        let rest: Vec<&Comment> = self.comments[self.next_comment..].iter().collect();
        if !rest.is_empty() && !file.items.is_empty() {
            self.out.push('\n');
        }
        for c in rest {
            self.out.push_str(&c.text);
            self.out.push('\n');
        }
        self.next_comment = self.comments.len();
    }

    /// Where the comments before `start` begin (so blank lines are judged above them).
    fn first_comment_start(&self, start: u32) -> u32 {
        match self.comments.get(self.next_comment) {
            Some(c) if c.span.start < start => c.span.start,
            _ => start,
        }
    }

    fn blank_line_between(&self, end: u32, start: u32) -> bool {
        let between = self.text.get(end as usize..start as usize).unwrap_or("");
        between.matches('\n').count() >= 2
    }

    fn same_line(&self, a: u32, b: u32) -> bool {
        let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
        !self.text.get(lo..hi).unwrap_or("\n").contains('\n')
    }

    /// Prints every comment that starts before `before`, each on its own line.
    fn leading(&mut self, before: u32, level: usize) {
        let mut prev_end: Option<u32> = None;
        while let Some(c) = self.comments.get(self.next_comment) {
            if c.span.start >= before {
                break;
            }
            if let Some(end) = prev_end {
                if self.blank_line_between(end, c.span.start) {
                    self.out.push('\n');
                }
            }
            self.out.push_str(&indent(level));
            self.out.push_str(&c.text);
            self.out.push('\n');
            prev_end = Some(c.span.end);
            self.next_comment += 1;
        }
        if let Some(end) = prev_end {
            if self.blank_line_between(end, before) {
                self.out.push('\n');
            }
        }
    }

    /// Ends a line whose source ended at `end`: takes a comment on the same source line.
    fn end_line(&mut self, end: u32, limit: u32) {
        if let Some(c) = self.comments.get(self.next_comment) {
            if c.span.start >= end
                && c.span.start < limit.max(end + 1)
                && self.same_line(end, c.span.start)
            {
                self.out.push_str("  ");
                self.out.push_str(&c.text);
                self.next_comment += 1;
            }
        }
        self.out.push('\n');
    }

    /// Prints one logical line for a node spanning `start..end`: comments before it and
    /// inside it first, then the line, then a trailing comment.
    fn line(&mut self, level: usize, text: &str, start: u32, end: u32) {
        self.leading(start, level);
        self.leading(end, level);
        self.out.push_str(&indent(level));
        self.out.push_str(text);
        self.end_line(end, u32::MAX);
    }

    fn open_block(&mut self, level: usize, header: &str, start: u32, first_inner: u32) {
        self.leading(start, level);
        self.out.push_str(&indent(level));
        self.out.push_str(header);
        self.out.push_str(" {");
        self.end_line(start, first_inner);
    }

    fn close_block(&mut self, level: usize, end: u32) {
        // Comments after the last entry of a block, before its closing brace.
        self.leading(end.saturating_sub(1), level + 1);
        self.out.push_str(&indent(level));
        self.out.push('}');
        self.end_line(end, u32::MAX);
    }

    /// The name width of the run of `let`s holding `target`: consecutive lets not
    /// separated by a blank line are aligned together.
    fn let_name_width(&self, items: &[Item], target: &LetDecl) -> usize {
        let mut width = 0;
        let mut in_run = false;
        let mut prev_end: Option<u32> = None;
        for item in items {
            let Item::Let(l) = item else {
                if in_run {
                    return width;
                }
                width = 0;
                prev_end = None;
                continue;
            };
            if prev_end.is_some_and(|end| self.blank_line_between(end, l.span.start)) {
                if in_run {
                    return width;
                }
                width = 0;
            }
            width = width.max(l.name.name.len());
            in_run |= std::ptr::eq(l, target);
            prev_end = Some(l.span.end);
        }
        width
    }

    fn schema(&mut self, s: &SchemaBlock) {
        let first = s.entries.first().map_or(s.span.end, |e| e.span.start);
        self.open_block(0, "schema", s.span.start, first);
        let width = s
            .entries
            .iter()
            .map(|e| e.path.text().len() + 1)
            .max()
            .unwrap_or(0);
        let mut prev_end = None;
        for e in &s.entries {
            self.blank_between(prev_end, e.span.start);
            let head = format!("{}:", e.path.text());
            let text = format!("{head:width$} {}", type_text(&e.ty));
            self.line(1, &text, e.span.start, e.span.end);
            prev_end = Some(e.span.end);
        }
        self.close_block(0, s.span.end);
    }

    /// Keeps one blank line where the author left one between two entries of a block.
    fn blank_between(&mut self, prev_end: Option<u32>, start: u32) {
        if let Some(end) = prev_end {
            let start = self.first_comment_start(start);
            if self.blank_line_between(end, start) {
                self.out.push('\n');
            }
        }
    }

    fn let_decl(&mut self, l: &LetDecl, width: usize) {
        let value = match &l.value {
            LetValue::List(list) => list_text(list),
            LetValue::Cidr(c) => cidr_text(c),
            LetValue::Hours(h) => hours_text(h),
            LetValue::Literal(lit) => literal_text(lit),
            LetValue::Cond(e) => expr_text(e),
        };
        let text = format!("let {:width$} = {value}", l.name.name);
        self.line(0, &text, l.span.start, l.span.end);
    }

    fn obligations(&mut self, o: &ObligationsBlock) {
        let first = o.entries.first().map_or(o.span.end, |e| e.span.start);
        self.open_block(0, "obligations", o.span.start, first);
        let mut prev_end = None;
        for e in &o.entries {
            self.blank_between(prev_end, e.span.start);
            let text = if e.parens || !e.params.is_empty() {
                let params: Vec<&str> = e.params.iter().map(|p| p.name.as_str()).collect();
                format!("{}({})", e.name.name, params.join(", "))
            } else {
                e.name.name.clone()
            };
            self.line(1, &text, e.span.start, e.span.end);
            prev_end = Some(e.span.end);
        }
        self.close_block(0, o.span.end);
    }

    fn risk(&mut self, r: &RiskBlock) {
        let first = r.signals.first().map_or(r.span.end, |s| s.span.start);
        self.open_block(0, "risk", r.span.start, first);
        let heads: Vec<String> = r
            .signals
            .iter()
            .map(|s| format!("{} {}", points_text(s.points), quote(&s.name.value)))
            .collect();
        let width = heads.iter().map(String::len).max().unwrap_or(0);
        let mut prev_end = None;
        for (s, head) in r.signals.iter().zip(&heads) {
            self.blank_between(prev_end, s.span.start);
            let text = format!("{head:width$} when {}", expr_text(&s.when));
            self.line(1, &text, s.span.start, s.span.end);
            prev_end = Some(s.span.end);
        }
        self.close_block(0, r.span.end);
    }

    fn rule(&mut self, r: &RuleDecl) {
        let first = r
            .when
            .as_ref()
            .map_or(r.effect.span.start, |w| w.span.start);
        self.open_block(
            0,
            &format!("rule {}", quote(&r.name.value)),
            r.span.start,
            first,
        );
        if let Some(w) = &r.when {
            self.when(w);
        }
        self.effect(&r.effect);
        if let (Some(first), Some(last)) = (r.obligations.first(), r.obligations.last()) {
            let list: Vec<String> = r.obligations.iter().map(obligation_text).collect();
            self.line(
                1,
                &format!("obligations {}", list.join(", ")),
                first.span.start,
                last.span.end,
            );
        }
        self.close_block(0, r.span.end);
    }

    fn when(&mut self, w: &Expr) {
        let flat = format!("when {}", expr_text(w));
        let parts = match &w.kind {
            ExprKind::And(parts) => Some(("and", parts)),
            ExprKind::Or(parts) => Some(("or", parts)),
            _ => None,
        };
        match parts {
            Some((word, parts)) if flat.len() + 2 > MAX_WIDTH => {
                self.leading(w.span.start, 1);
                for (i, p) in parts.iter().enumerate() {
                    self.leading(p.span.end, if i == 0 { 1 } else { 2 });
                    let head = if i == 0 {
                        format!("{}when ", indent(1))
                    } else {
                        format!("{}{word} ", indent(2))
                    };
                    self.out.push_str(&broken_lines(&head, p, 2).join("\n"));
                    self.end_line(
                        p.span.end,
                        parts.get(i + 1).map_or(u32::MAX, |n| n.span.start),
                    );
                }
            }
            _ if flat.len() + 2 > MAX_WIDTH => {
                self.leading(w.span.start, 1);
                self.leading(w.span.end, 1);
                let head = format!("{}when ", indent(1));
                self.out.push_str(&broken_lines(&head, w, 1).join("\n"));
                self.end_line(w.span.end, u32::MAX);
            }
            _ => self.line(1, &flat, w.span.start, w.span.end),
        }
    }

    fn effect(&mut self, e: &Effect) {
        match &e.kind {
            EffectKind::Allow(None) => self.line(1, "allow", e.span.start, e.span.end),
            EffectKind::Allow(Some(d)) => self.line(
                1,
                &format!("allow for {}", d.text),
                e.span.start,
                e.span.end,
            ),
            EffectKind::Deny(None) => self.line(1, "deny", e.span.start, e.span.end),
            EffectKind::Deny(Some(m)) => self.line(
                1,
                &format!("deny {}", quote(&m.value)),
                e.span.start,
                e.span.end,
            ),
            EffectKind::Approve { elevation, items } => {
                let first = items.first().map_or(e.span.end, approve_item_start);
                let header = match elevation {
                    Some(d) => format!("approve for {}", d.text),
                    None => "approve".to_string(),
                };
                self.open_block(1, &header, e.span.start, first);
                for item in items {
                    let (text, start, end) = approve_item_text(item);
                    self.line(2, &text, start, end);
                }
                self.close_block(1, e.span.end);
            }
        }
    }
}

/// `head` followed by `e`, on one line when it fits in [`MAX_WIDTH`]; otherwise a
/// parenthesised `and`/`or` group (or `not` of one) is opened on this line, its parts go
/// one per line one level deeper, each after its `and`/`or`, and the group closes on a
/// line of its own. Other expressions stay on one line, however long.
// INVARIANT: one frame per parenthesis level, which the parser bounded (`MAX_NESTING`).
fn broken_lines(head: &str, e: &Expr, level: usize) -> Vec<String> {
    let one = format!("{head}{}", expr_text(e));
    if one.len() <= MAX_WIDTH {
        return vec![one];
    }
    let (prefix, inner) = match &e.kind {
        ExprKind::Paren(inner) => ("(", &**inner),
        ExprKind::Not(n) => match &n.kind {
            ExprKind::Paren(inner) => ("not (", &**inner),
            _ => return vec![one],
        },
        _ => return vec![one],
    };
    let (word, parts) = match &inner.kind {
        ExprKind::And(parts) => ("and", parts),
        ExprKind::Or(parts) => ("or", parts),
        _ => return vec![one],
    };
    let mut lines = vec![format!("{head}{prefix}")];
    for (i, p) in parts.iter().enumerate() {
        let sub = if i == 0 {
            indent(level + 1)
        } else {
            format!("{}{word} ", indent(level + 1))
        };
        lines.extend(broken_lines(&sub, p, level + 1));
    }
    lines.push(format!("{})", indent(level)));
    lines
}

fn approve_item_start(item: &ApproveItem) -> u32 {
    approve_item_text(item).1
}

fn approve_item_text(item: &ApproveItem) -> (String, u32, u32) {
    match item {
        ApproveItem::Approvers {
            count, group, span, ..
        } => (
            format!(
                "approvers {count} of group {}",
                match group {
                    GroupRef::Name(s) => quote(&s.value),
                    GroupRef::Path(p) => p.text(),
                }
            ),
            span.start,
            span.end,
        ),
        ApproveItem::Method(m) => (format!("method {}", m.name), m.span.start, m.span.end),
        ApproveItem::Bind(paths, span) => {
            let list: Vec<String> = paths.iter().map(Path::text).collect();
            (format!("bind {}", list.join(", ")), span.start, span.end)
        }
        ApproveItem::Ttl(d, span) => (format!("ttl {}", d.text), span.start, span.end),
    }
}

fn type_text(ty: &TypeExpr) -> String {
    match ty {
        TypeExpr::Named(i) => i.name.clone(),
        TypeExpr::Union(items, _) => items
            .iter()
            .map(|s| quote(&s.value))
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

fn obligation_text(o: &Obligation) -> String {
    if o.parens || !o.args.is_empty() {
        let args: Vec<String> = o.args.iter().map(literal_text).collect();
        format!("{}({})", o.name.name, args.join(", "))
    } else {
        o.name.name.clone()
    }
}

/// A literal as canonical text.
pub fn literal_text(l: &Literal) -> String {
    match &l.kind {
        LiteralKind::String(s) => quote(s),
        LiteralKind::Int(i) => i.to_string(),
        LiteralKind::Number(_, text) => text.clone(),
        LiteralKind::Bool(b) => b.to_string(),
        LiteralKind::Duration(d) => d.text.clone(),
    }
}

fn list_text(list: &List) -> String {
    let items: Vec<String> = list.items.iter().map(literal_text).collect();
    format!("[{}]", items.join(", "))
}

fn cidr_text(c: &CidrLit) -> String {
    format!("cidr {}", list_text(&c.list))
}

fn hours_text(h: &HoursLit) -> String {
    format!(
        "hours {} in {}",
        quote(&h.windows.value),
        quote(&h.zone.value)
    )
}

/// An expression as canonical one-line text.
// INVARIANT: one frame per AST level; parsed ASTs nest at most `MAX_NESTING` deep
// (crate::depth), and `and`/`or` chains are flat lists.
pub fn expr_text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Or(parts) => parts.iter().map(expr_text).collect::<Vec<_>>().join(" or "),
        ExprKind::And(parts) => parts
            .iter()
            .map(expr_text)
            .collect::<Vec<_>>()
            .join(" and "),
        ExprKind::Not(inner) => format!("not {}", expr_text(inner)),
        ExprKind::Binary { op, lhs, rhs, .. } => {
            format!("{} {} {}", expr_text(lhs), op.as_str(), expr_text(rhs))
        }
        ExprKind::Paren(inner) => format!("({})", expr_text(inner)),
        ExprKind::Path(p) => p.text(),
        ExprKind::Literal(l) => literal_text(l),
        ExprKind::List(l) => list_text(l),
        ExprKind::Cidr(c) => cidr_text(c),
        ExprKind::Hours(h) => hours_text(h),
        ExprKind::Cel(s) => format!("cel({})", quote(&s.value)),
        ExprKind::Present(p) => format!("present({})", p.text()),
        ExprKind::Lower(p) => format!("lower({})", p.text()),
        ExprKind::Arith { op, lhs, rhs, .. } => {
            format!("{} {} {}", expr_text(lhs), op.as_str(), expr_text(rhs))
        }
    }
}
