//! What every request must be, wherever it is bound (docs/language.md §4):
//! nested at most [`MAX_REQUEST_DEPTH`] objects and lists deep, no key repeated in any
//! object, and every number one the canonical form (RFC 8785, used by the transaction
//! digest) represents exactly. Checked over the whole request, read by the policy set or
//! not, so that the rules, the digest, CEL leaves and the service that executes the
//! request can never read two different values from one request.
//!
//! Both binders apply these rules: the streaming binder over the text ([`scan_text`],
//! before its own parse, so no parser recursion ever sees a too-deep request), the tree
//! binder over the parsed value ([`check_value`]). A parsed value has already lost
//! repeated keys and number texts; [`parse_request`] parses text with every rule applied.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::Value as Json;

use crate::request::BindError;

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

fn too_deep(path: &str) -> BindError {
    err(
        path,
        format!(
            "objects and lists nest deeper than {MAX_REQUEST_DEPTH} levels; a request nests at most {MAX_REQUEST_DEPTH} deep"
        ),
    )
}

fn repeated(path: &str) -> BindError {
    err(
        path,
        "the key appears twice in the request; send each key once",
    )
}

fn inexact(path: &str, text: &str) -> BindError {
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

/// Where a value sits, built on the stack as the walk descends; turned into a path
/// text only for an error.
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    fn path(&self) -> String {
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

/// Parses request text with every rule of this module applied, for callers that bind
/// the parsed value ([`crate::Engine::bind`]) but received text.
pub fn parse_request(text: &str) -> Result<Json, BindError> {
    scan_text(text)?;
    serde_json::from_str(text).map_err(|e| err("", format!("not valid JSON: {e}")))
}

/// Checks request text: depth, repeated keys and exact numbers, naming the path of the
/// first fault in document order. Text that is not JSON is refused with serde_json's
/// own description of the fault.
pub(crate) fn scan_text(text: &str) -> Result<(), BindError> {
    let mut s = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    match s.document() {
        Ok(()) => Ok(()),
        Err(Fault::Request(e)) => Err(e),
        Err(Fault::Syntax) => {
            // Let serde_json describe the fault (line and column); should it accept
            // what this scanner did not, refuse anyway: fail closed.
            let message = match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Err(e) => format!("not valid JSON: {e}"),
                Ok(_) => format!("not valid JSON at byte {}", s.pos),
            };
            Err(err("", message))
        }
    }
}

enum Fault {
    Request(BindError),
    Syntax,
}

impl From<BindError> for Fault {
    fn from(e: BindError) -> Fault {
        Fault::Request(e)
    }
}

/// One open container while scanning, with the segment of the value being read in it.
enum Frame<'t> {
    /// An object: the keys seen so far (the last one is the current member's), and
    /// the same as a set once there are many.
    Object {
        keys: Vec<Cow<'t, str>>,
        index: Option<HashSet<Cow<'t, str>>>,
    },
    /// A list: the index of the current element.
    List { index: usize },
}

/// The path of the value being read: the segments of the open containers. Built as
/// text only for an error.
fn path_of(stack: &[Frame<'_>]) -> String {
    let mut out = String::new();
    for f in stack {
        match f {
            Frame::Object { keys, .. } => {
                if let Some(k) = keys.last() {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
            }
            Frame::List { index } => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

struct Scanner<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
}

impl<'t> Scanner<'t> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, b: u8) -> Result<(), Fault> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Fault::Syntax)
        }
    }

    /// The whole document, iteratively: an explicit stack of open containers, so the
    /// scanner's own depth never depends on the input.
    fn document(&mut self) -> Result<(), Fault> {
        let mut stack: Vec<Frame<'t>> = Vec::new();
        loop {
            // Read one value at the current path; containers push a frame and read on.
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    if stack.len() >= MAX_REQUEST_DEPTH {
                        return Err(too_deep(&path_of(&stack)).into());
                    }
                    self.pos += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else if open == b'{' {
                        stack.push(Frame::Object {
                            keys: Vec::new(),
                            index: None,
                        });
                        self.key(&mut stack)?;
                        continue;
                    } else {
                        stack.push(Frame::List { index: 0 });
                        continue;
                    }
                }
                Some(b'"') => {
                    self.string(false)?;
                }
                Some(b'-' | b'0'..=b'9') => self.number(&stack)?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                _ => return Err(Fault::Syntax),
            }
            // After a value: close containers that end here, then find the next value.
            loop {
                let Some(frame) = stack.last_mut() else {
                    self.skip_ws();
                    return if self.pos == self.bytes.len() {
                        Ok(())
                    } else {
                        Err(Fault::Syntax)
                    };
                };
                match (self.peek(), frame) {
                    (Some(b','), Frame::Object { .. }) => {
                        self.pos += 1;
                        self.key(&mut stack)?;
                        break;
                    }
                    (Some(b','), Frame::List { index }) => {
                        self.pos += 1;
                        *index += 1;
                        break;
                    }
                    (Some(b'}'), Frame::Object { .. }) | (Some(b']'), Frame::List { .. }) => {
                        self.pos += 1;
                        stack.pop();
                    }
                    _ => return Err(Fault::Syntax),
                }
            }
        }
    }

    /// Reads `"key" :` in the innermost object, refusing a key it has already seen.
    fn key(&mut self, stack: &mut [Frame<'t>]) -> Result<(), Fault> {
        if self.peek() != Some(b'"') {
            return Err(Fault::Syntax);
        }
        let key = self.string(true)?;
        self.expect(b':')?;
        let Some(Frame::Object { keys, index }) = stack.last_mut() else {
            return Err(Fault::Syntax);
        };
        // Objects are small: a linear search, then a hash set past a few dozen keys.
        let seen = match index {
            Some(set) => !set.insert(key.clone()),
            None => keys.contains(&key),
        };
        keys.push(key);
        if index.is_none() && keys.len() >= 32 {
            *index = Some(keys.iter().cloned().collect());
        }
        if seen {
            return Err(repeated(&path_of(stack)).into());
        }
        Ok(())
    }

    /// Reads a string (at its opening quote); returns its decoded text when `decode`,
    /// borrowed from the request when it has no escape, and nothing otherwise.
    fn string(&mut self, decode: bool) -> Result<Cow<'t, str>, Fault> {
        let text = self.text;
        self.pos += 1;
        let start = self.pos;
        let mut out: Option<String> = None;
        loop {
            let run = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            if let Some(o) = out.as_mut() {
                o.push_str(text.get(run..self.pos).ok_or(Fault::Syntax)?);
            }
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match out {
                        Some(o) => Cow::Owned(o),
                        None if decode => {
                            Cow::Borrowed(text.get(start..self.pos - 1).ok_or(Fault::Syntax)?)
                        }
                        None => Cow::Borrowed(""),
                    });
                }
                Some(b'\\') => {
                    if decode && out.is_none() {
                        out = Some(text.get(start..self.pos).ok_or(Fault::Syntax)?.to_string());
                    }
                    self.pos += 1;
                    let c = match self.bytes.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(Fault::Syntax);
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(Fault::Syntax);
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code).ok_or(Fault::Syntax)?;
                            if let Some(o) = out.as_mut() {
                                o.push(c);
                            }
                            continue;
                        }
                        _ => return Err(Fault::Syntax),
                    };
                    self.pos += 1;
                    if let Some(o) = out.as_mut() {
                        o.push(c);
                    }
                }
                _ => return Err(Fault::Syntax),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Fault> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or(Fault::Syntax)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Fault::Syntax);
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| Fault::Syntax)
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Fault> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Fault::Syntax)
        }
    }

    /// Reads a number (JSON's grammar) and refuses one the canonical form cannot
    /// represent exactly.
    fn number(&mut self, stack: &[Frame<'_>]) -> Result<(), Fault> {
        let start = self.pos;
        let digits = |s: &mut Self| {
            let from = s.pos;
            while s.bytes.get(s.pos).is_some_and(u8::is_ascii_digit) {
                s.pos += 1;
            }
            s.pos > from
        };
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(Fault::Syntax),
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(Fault::Syntax);
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(Fault::Syntax);
            }
        }
        let text = self.text.get(start..self.pos).ok_or(Fault::Syntax)?;
        if exact(text) {
            Ok(())
        } else {
            Err(inexact(&path_of(stack), text).into())
        }
    }
}

/// Whether a JSON number's text denotes exactly the value the canonical form writes:
/// an integer within ±(2^53−1), or a number whose decimal value is that of the double
/// it parses to (the double serde_json produces, written shortest, as RFC 8785 does).
pub(crate) fn exact(text: &str) -> bool {
    if is_integer_token(text) {
        let magnitude = text.trim_start_matches('-');
        return magnitude.len() <= 16 && magnitude.parse::<u64>().is_ok_and(|m| m <= MAX_EXACT_INT);
    }
    let Ok(double) = serde_json::from_str::<f64>(text) else {
        // Out of range: serde_json refuses the request itself.
        return true;
    };
    decimal(text) == decimal(&format!("{double:e}"))
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

    #[test]
    fn scan_names_paths() {
        let e = scan_text(r#"{"a":{"b":[1,{"c":1,"c":2}]}}"#).unwrap_err();
        assert_eq!(e.path, "a.b[1].c");
        let e = scan_text(r#"{"a":[0, 1, 12345678901234567890]}"#).unwrap_err();
        assert_eq!(e.path, "a[2]");
        let e = scan_text(r#"{"a":{"b":"\u0063","\u0062":1}}"#).unwrap_err();
        assert_eq!(e.path, "a.b");
        assert!(scan_text(r#"{"a":[[],{},[{}]],"b":"x\"y\\","c":null}"#).is_ok());
        let e = scan_text("{\"a\": tru}").unwrap_err();
        assert!(e.message.starts_with("not valid JSON"), "{e}");
    }

    #[test]
    fn depth_is_counted_alike() {
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let req = |n: usize| format!(r#"{{"x":{}}}"#, nest(n));
        assert!(scan_text(&req(MAX_REQUEST_DEPTH - 1)).is_ok());
        assert!(scan_text(&req(MAX_REQUEST_DEPTH)).is_err());
        let v: Json = serde_json::from_str(&req(MAX_REQUEST_DEPTH - 1)).unwrap();
        assert!(check_value(&v).is_ok());
        let v: Json = serde_json::from_str(&req(MAX_REQUEST_DEPTH)).unwrap();
        assert!(check_value(&v).is_err());
        // Far beyond serde_json's own limit: refused, no recursion.
        assert!(scan_text(&req(100_000)).is_err());
    }
}
