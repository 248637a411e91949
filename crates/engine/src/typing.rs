//! Typing one request value against its path's type (LANGUAGE.md §2): the rules both
//! binders share, and the errors they give, word for word.

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use serde_json::Value as Json;
use writ_check::types::Type;

use crate::slots::{SetVal, Slot, Text};

/// Why a request could not be bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindError {
    /// The path at fault (empty for the whole request).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "invalid request: {}", self.message)
        } else {
            write!(f, "invalid request at `{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for BindError {}

pub(crate) fn err(path: &str, message: impl Into<String>) -> BindError {
    BindError {
        path: path.to_string(),
        message: message.into(),
    }
}

pub(crate) fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

/// Parses a request duration: integer seconds or `"90s"`, `"5m"`, `"24h"`, `"30d"`.
pub fn duration_of(v: &Json) -> Option<u64> {
    match v {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => writ_syntax::parse_duration(s),
        _ => None,
    }
}

/// Checks one value against its type and converts it to a slot.
pub fn typed(
    path: &str,
    ty: &Type,
    v: &Json,
    intern: &dyn Fn(&str) -> u32,
) -> Result<Slot, BindError> {
    let wrong = |what: &str| err(path, format!("expected {what}, found {}", kind(v)));
    Ok(match ty {
        Type::String => match v {
            Json::String(s) => Slot::Str(intern(s), Text::from(s.as_str())),
            _ => return Err(wrong("a string")),
        },
        Type::Enum(members) => match v {
            Json::String(s) if members.iter().any(|m| m == s) => {
                Slot::Str(intern(s), Text::from(s.as_str()))
            }
            Json::String(s) => {
                let list: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
                return Err(err(
                    path,
                    format!("`\"{s}\"` is not one of {}", list.join(", ")),
                ));
            }
            _ => return Err(wrong("a string")),
        },
        Type::Int => match v {
            Json::Number(n) => match n.as_i64() {
                Some(i) => Slot::Int(i),
                // JSON has no integer range; ints are 64-bit here as in the language.
                None if n.is_u64() => {
                    return Err(err(
                        path,
                        format!("`{n}` is out of range for a 64-bit integer"),
                    ))
                }
                None => return Err(wrong("an integer")),
            },
            _ => return Err(wrong("an integer")),
        },
        Type::Number => match v {
            Json::Number(n) if n.is_i64() => Slot::Int(n.as_i64().unwrap_or_default()),
            Json::Number(n) => Slot::Num(n.as_f64().unwrap_or(f64::NAN)),
            _ => return Err(wrong("a number")),
        },
        Type::Bool => match v {
            Json::Bool(b) => Slot::Bool(*b),
            _ => return Err(wrong("a bool")),
        },
        Type::Duration => match duration_of(v) {
            Some(d) => Slot::Dur(d),
            // A negative number of seconds is a duration of the wrong sign, not of the
            // wrong type: say so.
            None if v.as_i64().is_some_and(|n| n < 0) || v.as_f64().is_some_and(|n| n < 0.0) => {
                return Err(err(
                    path,
                    format!("a duration cannot be negative, found `{v}` seconds"),
                ))
            }
            None => {
                return Err(wrong(
                    "a duration (integer seconds or a string such as \"5m\")",
                ))
            }
        },
        Type::Ip => match v {
            Json::String(s) => match s.parse::<IpAddr>() {
                Ok(ip) => Slot::Ip(ip),
                Err(_) => return Err(err(path, format!("`{s}` is not an IPv4 or IPv6 address"))),
            },
            _ => return Err(wrong("an IP address string")),
        },
        Type::Time => match v {
            Json::String(s) => match s.parse::<Timestamp>() {
                Ok(t) => Slot::Time(t),
                Err(_) => return Err(err(path, format!("`{s}` is not an RFC 3339 instant"))),
            },
            _ => return Err(wrong("an RFC 3339 instant string")),
        },
        Type::Set => match v {
            Json::Array(items) => {
                let mut texts = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Json::String(s) => texts.push(Text::from(s.as_str())),
                        other => {
                            return Err(err(
                                &format!("{path}[{i}]"),
                                format!("expected a string, found {}", kind(other)),
                            ))
                        }
                    }
                }
                Slot::Set(SetVal::new(texts, intern))
            }
            _ => return Err(wrong("a list of strings")),
        },
        Type::Object => match v {
            Json::Object(_) => Slot::Object,
            _ => return Err(wrong("an object")),
        },
        Type::Jwk => {
            public_jwk(path, v)?;
            Slot::Object
        }
    })
}

/// What a public key must look like.
const PUBLIC_JWK: &str = r#"a public JWK, Ed25519 ({"kty":"OKP","crv":"Ed25519","x":…}) or P-256 ({"kty":"EC","crv":"P-256","x":…,"y":…})"#;

/// Checks the shape of a public key as a JWK: an Ed25519 or P-256 public key, without a
/// private part. Only the shape: the approvals service parses the key itself.
fn public_jwk(path: &str, v: &Json) -> Result<(), BindError> {
    let Json::Object(jwk) = v else {
        return Err(err(
            path,
            format!("expected {PUBLIC_JWK}, found {}", kind(v)),
        ));
    };
    if jwk.contains_key("d") {
        return Err(err(
            path,
            format!("the JWK holds a private key (`d`): send the public key only, {PUBLIC_JWK}"),
        ));
    }
    let member = |name: &str| jwk.get(name).and_then(Json::as_str);
    let coordinates: &[&str] = match (member("kty"), member("crv")) {
        (Some("OKP"), Some("Ed25519")) => &["x"],
        (Some("EC"), Some("P-256")) => &["x", "y"],
        (kty, crv) => {
            let found = match (kty, crv) {
                (None, _) => "a JWK without a `kty` string".to_string(),
                (Some(k), None) => format!("a key of type `{k}`"),
                (Some(k), Some(c)) => format!("a key of type `{k}` on curve `{c}`"),
            };
            return Err(err(path, format!("expected {PUBLIC_JWK}, found {found}")));
        }
    };
    match coordinates.iter().find(|c| member(c).is_none()) {
        Some(c) => Err(err(
            path,
            format!("the JWK has no `{c}` string: expected {PUBLIC_JWK}"),
        )),
        None => Ok(()),
    }
}

/// The value at `segments[from..]` below `json` (which is the value at
/// `segments[..from]`), `None` when absent or `null`; an error, naming the path, when the
/// path goes through something that is not an object.
pub(crate) fn find<'j>(
    json: &'j Json,
    segments: &[Box<str>],
    from: usize,
) -> Result<Option<&'j Json>, BindError> {
    let mut cur = json;
    for (i, seg) in segments.iter().enumerate().skip(from) {
        match cur {
            Json::Object(map) => match map.get(&**seg) {
                Some(v) => cur = v,
                None => return Ok(None),
            },
            Json::Null => return Ok(None),
            other => {
                let at = segments[..i].join(".");
                return Err(err(
                    &at,
                    format!("expected an object, found {}", kind(other)),
                ));
            }
        }
    }
    Ok((!cur.is_null()).then_some(cur))
}

/// Type-checks a value the set does not read, without building a slot.
pub(crate) fn check_type(path: &str, ty: &Type, v: &Json) -> Result<(), BindError> {
    let ok = match ty {
        Type::String => v.is_string(),
        Type::Int => v.is_i64(),
        Type::Number => v.is_number(),
        Type::Bool => v.is_boolean(),
        Type::Object => v.is_object(),
        // The rest need parsing or element checks: reuse the full conversion.
        _ => return typed(path, ty, v, &|_| crate::slots::NO_ID).map(|_| ()),
    };
    if ok {
        Ok(())
    } else {
        typed(path, ty, v, &|_| crate::slots::NO_ID).map(|_| ())
    }
}
