//! What every request must be, wherever it is bound (docs/language.md §4):
//! nested at most [`MAX_REQUEST_DEPTH`] objects and lists deep, no key repeated in any
//! object, and every number one the canonical form (RFC 8785, used by the transaction
//! digest) represents exactly. Checked over the whole request, read by the policy set or
//! not, so that the rules, the digest, CEL leaves and the service that executes the
//! request can never read two different values from one request.
//!
//! Both binders apply these rules: the one-pass binder over the text as it reads it
//! (`crate::stream`, which refuses a too-deep container before descending into it), the
//! tree binder over the parsed value ([`check_value`]). A parsed value has already lost
//! repeated keys and number texts; `parse_request` parses text with every rule applied.

use serde_json::Value as Json;

use crate::typing::BindError;

/// How deep objects and lists may nest in a request (the root object is level 1).
/// serde_json stops at 128 on its own; writ's limit is lower and the same in both
/// binders, so a request is refused alike however it is bound.
pub const MAX_REQUEST_DEPTH: usize = 64;

/// The largest integer the canonical form (an IEEE double) represents exactly, and
/// every integer below it: 2^53 − 1 (`Number.MAX_SAFE_INTEGER`).
pub const MAX_EXACT_INT: u64 = (1 << 53) - 1;

fn err(path: &str, message: impl Into<String>) -> BindError {
    BindError {
        path: path.to_string(),
        message: message.into(),
    }
}

pub(crate) fn too_deep(path: &str) -> BindError {
    err(
        path,
        format!(
            "objects and lists nest deeper than {MAX_REQUEST_DEPTH} levels; a request nests at most {MAX_REQUEST_DEPTH} deep"
        ),
    )
}

pub(crate) fn repeated(path: &str) -> BindError {
    err(
        path,
        "the key appears twice in the request; send each key once",
    )
}

pub(crate) fn inexact(path: &str, text: &str) -> BindError {
    let why = if is_integer_token(text) {
        format!("is outside ±(2^53−1) = ±{MAX_EXACT_INT}")
    } else {
        "is not exactly a 64-bit IEEE double".to_string()
    };
    err(
        path,
        format!(
            "the number `{text}` {why}, so the transaction digest cannot represent it exactly; send it as a string"
        ),
    )
}

fn is_integer_token(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

/// A path one level down: `a.b` for an object member, `a[3]` for a list element.
fn member(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn element(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// Checks a parsed request: depth, and every integer within ±(2^53−1) (a parsed double
/// is always exact). Recursion stops at [`MAX_REQUEST_DEPTH`] whatever the value's depth.
pub(crate) fn check_value(json: &Json) -> Result<(), BindError> {
    walk(json, &At::Root, 1)
}

/// [`check_value`] for a value whose containers start at nesting level `depth` (the
/// root object is level 1); error paths are relative to the value.
pub(crate) fn check_value_at(json: &Json, depth: usize) -> Result<(), BindError> {
    walk(json, &At::Root, depth)
}

/// Where a value sits, built on the stack as the walk descends; turned into a path
/// text only for an error.
pub(crate) enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    pub(crate) fn path(&self) -> String {
        match self {
            At::Root => String::new(),
            At::Key(parent, key) => member(&parent.path(), key),
            At::Index(parent, i) => element(&parent.path(), *i),
        }
    }
}

fn walk(v: &Json, at: &At<'_>, depth: usize) -> Result<(), BindError> {
    match v {
        Json::Object(map) => {
            if depth > MAX_REQUEST_DEPTH {
                return Err(too_deep(&at.path()));
            }
            for (k, v) in map {
                walk(v, &At::Key(at, k), depth + 1)?;
            }
        }
        Json::Array(items) => {
            if depth > MAX_REQUEST_DEPTH {
                return Err(too_deep(&at.path()));
            }
            for (i, v) in items.iter().enumerate() {
                walk(v, &At::Index(at, i), depth + 1)?;
            }
        }
        Json::Number(n) => {
            let exact = match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => i.unsigned_abs() <= MAX_EXACT_INT,
                (None, Some(u)) => u <= MAX_EXACT_INT,
                // A double: exactly itself in the canonical form.
                (None, None) => true,
            };
            if !exact {
                return Err(inexact(&at.path(), &n.to_string()));
            }
        }
        Json::Null | Json::Bool(_) | Json::String(_) => {}
    }
    Ok(())
}

/// Whether a JSON number's text denotes exactly the value the canonical form writes:
/// an integer within ±(2^53−1), or a number whose decimal value is that of the double
/// it parses to (the double serde_json produces, written shortest, as RFC 8785 does).
#[cfg(test)]
fn exact(text: &str) -> bool {
    if is_integer_token(text) {
        let magnitude = text.trim_start_matches('-');
        return magnitude.len() <= 16 && magnitude.parse::<u64>().is_ok_and(|m| m <= MAX_EXACT_INT);
    }
    // Out of range: serde_json refuses the request itself.
    !matches!(float(text), Float::Inexact)
}

/// What the canonical form makes of a number that is not an integer token.
pub(crate) enum Float {
    /// The double it is, exactly.
    Exact(f64),
    /// A decimal the double it parses to does not equal.
    Inexact,
    /// Beyond the doubles: not valid JSON for serde_json.
    OutOfRange,
}

/// Classifies a number token with a fraction or an exponent (see [`exact`]).
pub(crate) fn float(text: &str) -> Float {
    match serde_json::from_str::<f64>(text) {
        Ok(double) if decimal(text) == decimal(&format!("{double:e}")) => Float::Exact(double),
        Ok(_) => Float::Inexact,
        Err(_) => Float::OutOfRange,
    }
}

/// A decimal number as (negative, significant digits without leading or trailing
/// zeros, exponent of the last digit); zero is `(false, "", 0)` whatever its sign.
fn decimal(text: &str) -> (bool, String, i128) {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => {
            let e = e.strip_prefix('+').unwrap_or(e);
            // A huge exponent saturates: it can only compare unequal, as it should.
            let e = e.parse::<i128>().unwrap_or(if e.starts_with('-') {
                i128::MIN / 2
            } else {
                i128::MAX / 2
            });
            (m, e)
        }
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{int}{frac}");
    let mut exp = exponent - i128::try_from(frac.len()).unwrap_or(i128::MAX / 2);
    let trimmed_end = all.trim_end_matches('0');
    exp += i128::try_from(all.len() - trimmed_end.len()).unwrap_or(0);
    let digits = trimmed_end.trim_start_matches('0');
    if digits.is_empty() {
        return (false, String::new(), 0);
    }
    (negative, digits.to_string(), exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactness_follows_the_double() {
        for ok in [
            "0",
            "-0",
            "1",
            "-1",
            "1.0",
            "100",
            "1e2",
            "1E+2",
            "0.1",
            "1.5",
            "1200.50",
            "9007199254740991",
            "-9007199254740991",
            "1e21",
            "5e-324",
            "0.0e0",
            "1.7976931348623157e308",
        ] {
            assert!(exact(ok), "{ok}");
        }
        for bad in [
            "9007199254740992",
            "-9007199254740992",
            "1234567890123456789",
            "18446744073709551616",
            "0.10000000000000000001",
            "9007199254740993.0",
            "4e-324",
            "1e-400",
        ] {
            assert!(!exact(bad), "{bad}");
        }
    }
}
