//! Erases every span of a tree, so two trees can be compared for meaning alone (the
//! formatter's round-trip tests: format → parse → the same tree modulo spans).

use crate::ast::*;
use crate::source::Span;

/// Returns `file` with every span set to the default and comments dropped.
pub fn erase_spans(mut file: File) -> File {
    file.comments.clear();
    for item in &mut file.items {
        match item {
            Item::Schema(s) => {
                s.span = Span::default();
                for e in &mut s.entries {
                    e.span = Span::default();
                    path(&mut e.path);
                    match &mut e.ty {
                        TypeExpr::Named(i) => i.span = Span::default(),
                        TypeExpr::Union(items, span) => {
                            *span = Span::default();
                            items.iter_mut().for_each(string);
                        }
                    }
                }
            }
            Item::Let(l) => {
                l.span = Span::default();
                l.name.span = Span::default();
                match &mut l.value {
                    LetValue::List(list_) => list(list_),
                    LetValue::Cidr(c) => cidr(c),
                    LetValue::Hours(h) => hours(h),
                    LetValue::Literal(lit) => literal(lit),
                    LetValue::Cond(e) => erase_expr(e),
                }
            }
            Item::Risk(r) => {
                r.span = Span::default();
                for s in &mut r.signals {
                    s.span = Span::default();
                    s.points_span = Span::default();
                    string(&mut s.name);
                    erase_expr(&mut s.when);
                }
            }
            Item::Obligations(o) => {
                o.span = Span::default();
                for e in &mut o.entries {
                    e.span = Span::default();
                    e.name.span = Span::default();
                    e.params.iter_mut().for_each(|p| p.span = Span::default());
                }
            }
            Item::Rule(r) => {
                r.span = Span::default();
                string(&mut r.name);
                if let Some(w) = &mut r.when {
                    erase_expr(w);
                }
                r.effect.span = Span::default();
                match &mut r.effect.kind {
                    EffectKind::Allow(d) => d.iter_mut().for_each(duration),
                    EffectKind::Deny(m) => m.iter_mut().for_each(string),
                    EffectKind::Approve { elevation, items } => {
                        elevation.iter_mut().for_each(duration);
                        items.iter_mut().for_each(approve_item);
                    }
                }
                for o in &mut r.obligations {
                    o.span = Span::default();
                    o.name.span = Span::default();
                    o.args.iter_mut().for_each(literal);
                }
            }
        }
    }
    file
}

fn approve_item(item: &mut ApproveItem) {
    match item {
        ApproveItem::Approvers {
            count_span,
            group,
            span,
            ..
        } => {
            *count_span = Span::default();
            *span = Span::default();
            match group {
                GroupRef::Name(s) => string(s),
                GroupRef::Path(p) => path(p),
            }
        }
        ApproveItem::Method(m) => m.span = Span::default(),
        ApproveItem::Bind(paths, span) => {
            *span = Span::default();
            paths.iter_mut().for_each(path);
        }
        ApproveItem::Ttl(d, span) => {
            *span = Span::default();
            duration(d);
        }
    }
}

/// Erases every span in an expression.
pub fn erase_expr(e: &mut Expr) {
    e.span = Span::default();
    match &mut e.kind {
        ExprKind::Or(parts) | ExprKind::And(parts) => parts.iter_mut().for_each(erase_expr),
        ExprKind::Not(inner) | ExprKind::Paren(inner) => erase_expr(inner),
        ExprKind::Binary {
            op_span, lhs, rhs, ..
        } => {
            *op_span = Span::default();
            erase_expr(lhs);
            erase_expr(rhs);
        }
        ExprKind::Path(p) => path(p),
        ExprKind::Literal(l) => literal(l),
        ExprKind::List(l) => list(l),
        ExprKind::Cidr(c) => cidr(c),
        ExprKind::Hours(h) => hours(h),
        ExprKind::Cel(s) => string(s),
        ExprKind::Present(p) | ExprKind::Lower(p) => path(p),
        ExprKind::Arith {
            op_span, lhs, rhs, ..
        } => {
            *op_span = Span::default();
            erase_expr(lhs);
            erase_expr(rhs);
        }
    }
}

fn path(p: &mut Path) {
    p.span = Span::default();
}

fn string(s: &mut Str) {
    s.span = Span::default();
}

fn duration(d: &mut Duration) {
    d.span = Span::default();
}

fn literal(l: &mut Literal) {
    l.span = Span::default();
    if let LiteralKind::Duration(d) = &mut l.kind {
        duration(d);
    }
}

fn list(l: &mut List) {
    l.span = Span::default();
    l.items.iter_mut().for_each(literal);
}

fn cidr(c: &mut CidrLit) {
    c.span = Span::default();
    list(&mut c.list);
}

fn hours(h: &mut HoursLit) {
    h.span = Span::default();
    string(&mut h.windows);
    string(&mut h.zone);
}
