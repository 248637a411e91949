//! The values of literals and their validation at load: a literal's type and value, a
//! list's element type, a `cidr [...]` set's networks and an `hours` window's spans and
//! zone, each problem reported with the span of the part at fault.

use std::sync::Arc;

use writ_syntax::ast::{self, LiteralKind};
use writ_syntax::{Diagnostic, Span};

use crate::hours::{self, Hours};
use crate::ir::Value;
use crate::net::{self, CidrSet};
use crate::types::Type;

/// The type and value of a literal.
pub fn literal_value(l: &ast::Literal) -> (Value, Type) {
    match &l.kind {
        LiteralKind::String(s) => (Value::String(Arc::from(s.as_str())), Type::String),
        LiteralKind::Int(i) => (Value::Int(*i), Type::Int),
        LiteralKind::Number(n, _) => (Value::Number(*n), Type::Number),
        LiteralKind::Bool(b) => (Value::Bool(*b), Type::Bool),
        LiteralKind::Duration(d) => (Value::Duration(d.seconds), Type::Duration),
    }
}

/// The type shared by a list of literals, or the diagnostic for the first misfit.
pub fn list_value(list: &ast::List) -> Result<(Arc<[Value]>, Option<Type>), Diagnostic> {
    let mut elem: Option<Type> = None;
    let mut values = Vec::with_capacity(list.items.len());
    for item in &list.items {
        let (v, t) = literal_value(item);
        elem = match elem {
            None => Some(t),
            Some(e) if e == t => Some(e),
            Some(e) if e.is_numeric() && t.is_numeric() => Some(Type::Number),
            Some(e) => {
                return Err(Diagnostic::new(
                    "writ::type",
                    format!("a list mixes `{e}` and `{t}` elements"),
                    item.span,
                    format!("a `{t}`"),
                )
                .with_help("every element of a list has the same type"))
            }
        };
        values.push(v);
    }
    Ok((values.into(), elem))
}

/// Builds a CIDR set from a `cidr [...]` literal.
pub fn cidr_value(c: &ast::CidrLit) -> Result<Arc<CidrSet>, Vec<Diagnostic>> {
    let mut nets = Vec::new();
    let mut errors = Vec::new();
    for item in &c.list.items {
        match &item.kind {
            LiteralKind::String(s) => match net::parse_net(s) {
                Ok(n) => nets.push(n),
                Err((message, help)) => {
                    let mut d =
                        Diagnostic::new("writ::cidr", message, item.span, "invalid network");
                    d.help = help;
                    errors.push(d);
                }
            },
            _ => errors.push(
                Diagnostic::new(
                    "writ::cidr",
                    "a CIDR network is written as a string",
                    item.span,
                    "not a string",
                )
                .with_help("write `\"10.0.0.0/8\"`"),
            ),
        }
    }
    if c.list.items.is_empty() {
        errors.push(
            Diagnostic::new("writ::cidr", "empty CIDR set", c.span, "matches no address")
                .with_help("list at least one network"),
        );
    }
    if errors.is_empty() {
        Ok(Arc::new(CidrSet { nets }))
    } else {
        Err(errors)
    }
}

/// A span inside a string literal (after its opening quote), when the string has no
/// escapes so that offsets map one to one.
pub(crate) fn inner_span(s: &ast::Str, offset: usize, len: usize, raw: &str) -> Span {
    if raw.len() == s.value.len() + 2 {
        let start = s.span.start as usize + 1 + offset;
        Span::new(s.span.file, start, start + len.max(1))
    } else {
        s.span
    }
}

/// Builds an `hours` window from its literal.
pub fn hours_value(h: &ast::HoursLit, sources_text: &str) -> Result<Arc<Hours>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let raw_windows = sources_text
        .get(h.windows.span.start as usize..h.windows.span.end as usize)
        .unwrap_or("");
    let windows = match hours::parse_windows(&h.windows.value) {
        Ok(w) => Some(w),
        Err(e) => {
            let mut d = Diagnostic::new(
                "writ::hours",
                e.message,
                inner_span(&h.windows, e.offset, e.len, raw_windows),
                "invalid window",
            );
            d.help = e.help;
            errors.push(d);
            None
        }
    };
    let zone = match hours::zone(&h.zone.value) {
        Ok(z) => Some(z),
        Err(suggestion) => {
            let help = suggestion.map_or_else(
                || "use an IANA time zone name such as `Europe/Berlin` or `UTC`".to_string(),
                |s| format!("did you mean `{s}`?"),
            );
            errors.push(
                Diagnostic::new(
                    "writ::zone",
                    format!("unknown time zone `{}`", h.zone.value),
                    h.zone.span,
                    "not an IANA time zone",
                )
                .with_help(help),
            );
            None
        }
    };
    match (windows, zone) {
        (Some(windows), Some(zone)) if errors.is_empty() => Ok(Arc::new(Hours {
            spec: h.windows.value.clone(),
            zone_name: h.zone.value.clone(),
            zone,
            windows,
        })),
        _ => Err(errors),
    }
}
