//! Typing one request value against its path's type (docs/language.md §4): the rules both
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
            Json::String(s) => match instant(s) {
                Some(t) => Slot::Time(t),
                None => return Err(err(path, format!("`{s}` is not an RFC 3339 instant"))),
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

/// Parses an RFC 3339 instant as `jiff` does; the common shape
/// `YYYY-MM-DDTHH:MM:SSZ` is read directly (the same instant, tested against `jiff`),
/// anything else by `jiff`.
pub(crate) fn instant(s: &str) -> Option<Timestamp> {
    match plain_utc(s.as_bytes()) {
        Some(t) => Some(t),
        None => s.parse().ok(),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (years 0001–9998, seconds below 60), or `None` for anything
/// else, which `jiff` then reads (or refuses).
fn plain_utc(b: &[u8]) -> Option<Timestamp> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1, b'Z'] =
        b
    else {
        return None;
    };
    let num = |digits: &[u8]| {
        digits.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let year = num(&[y0, y1, y2, y3])?;
    let month = num(&[m0, m1])?;
    let day = num(&[d0, d1])?;
    let (hour, minute, second) = (num(&[h0, h1])?, num(&[i0, i1])?, num(&[s0, s1])?);
    if !(1..=9998).contains(&year) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    // Days from 1970-01-01 to the civil date (H. Hinnant's `days_from_civil`).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Timestamp::from_second(days * 86_400 + hour * 3_600 + minute * 60 + second).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_instants_read_as_jiff_reads_them() {
        let mut texts: Vec<String> = Vec::new();
        for year in [
            1, 4, 99, 100, 400, 1600, 1900, 1969, 1970, 1999, 2000, 2024, 2026, 2100, 9998,
        ] {
            for month in 0..=13 {
                for day in [0, 1, 15, 28, 29, 30, 31, 32] {
                    for (h, m, s) in [
                        (0, 0, 0),
                        (23, 59, 59),
                        (12, 30, 60),
                        (24, 0, 0),
                        (7, 60, 1),
                    ] {
                        texts.push(format!(
                            "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z"
                        ));
                    }
                }
            }
        }
        texts.extend(
            [
                "2026-11-27t10:00:00z",
                "2026-11-27T10:00:00+01:00",
                "2026-11-27T10:00:00.5Z",
                "0000-01-01T00:00:00Z",
                "9999-12-31T23:59:59Z",
                "2026-1-27T10:00:00Z",
                "2026-11-27 10:00:00Z",
                "+2026-11-27T10:00:00Z",
            ]
            .map(String::from),
        );
        for t in &texts {
            let fast = plain_utc(t.as_bytes());
            let jiff = t.parse::<Timestamp>().ok();
            if fast.is_some() {
                assert_eq!(fast, jiff, "{t}");
            }
            assert_eq!(instant(t), jiff, "{t}");
        }
        assert!(plain_utc(b"2026-11-27T10:00:00Z").is_some());
    }
}
