//! Request binding: request JSON → a typed [`Request`] (docs/language.md §4).
//!
//! Every known path present in the request is type-checked (a wrong type, an invalid
//! address or instant is an error naming the path); the paths the policy set reads are
//! stored in typed slots, strings interned against the set's constants. A path that is
//! absent (or `null`) is unknown. `time` defaults to the engine's clock.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use serde_json::Value as Json;
use writ_check::types::{Type, ROOTS};

use crate::compile::Compiled;

/// Interned id of a string the policy set never mentions.
pub const NO_ID: u32 = u32::MAX;

/// A typed value at one path of a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Slot {
    /// Absent or `null`: unknown.
    Missing,
    /// A string and its interned id ([`NO_ID`] when the set never mentions it). Texts are
    /// shared, so that a copy of a bound request ([`crate::Engine::at_time`]) is cheap.
    Str(u32, Arc<str>),
    /// An int.
    Int(i64),
    /// A number.
    Num(f64),
    /// A bool.
    Bool(bool),
    /// A duration in seconds.
    Dur(u64),
    /// An address.
    Ip(IpAddr),
    /// An instant.
    Time(Timestamp),
    /// A set of strings.
    Set(SetVal),
    /// An object (only `bind` reads it, from the JSON).
    Object,
}

/// A set of strings as bound: the interned ids (sorted, without strings the policy set
/// never mentions), the texts, and whether some text was not interned.
#[derive(Clone, Debug, PartialEq)]
pub struct SetVal {
    /// Interned ids, sorted, deduplicated.
    pub ids: Arc<[u32]>,
    /// Every element as sent.
    pub texts: Arc<[Box<str>]>,
    /// True when some element is a string the policy set never mentions.
    pub foreign: bool,
}

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

fn err(path: &str, message: impl Into<String>) -> BindError {
    BindError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// A request bound to one compiled policy set.
#[derive(Clone, Debug)]
pub struct Request {
    /// The request text as received, when bound from text.
    pub(crate) raw: Option<Arc<str>>,
    /// The request as JSON: given, or parsed from `raw` on first use (`None` if that
    /// parse fails, which binding is built to rule out).
    pub(crate) json: OnceLock<Option<Json>>,
    /// The compiled set it was bound for.
    pub(crate) set_id: u64,
    /// Typed values by `PathId`.
    pub(crate) slots: Vec<Slot>,
    /// The request time (from the request, or the clock at binding).
    pub(crate) time: Timestamp,
    /// The roots CEL leaves read, converted once.
    pub(crate) cel_vars: crate::cel_run::Vars,
    /// Whether `time` was set by [`Request::at`] rather than read from the request: the
    /// JSON then reads `time` as that instant, and a re-bind for another version keeps it.
    pub(crate) pinned_time: bool,
    /// Whether `time` came from the request (or was pinned), not from the clock.
    pub(crate) time_given: bool,
}

impl Request {
    /// The request JSON as received (parsed on first use when bound from text).
    pub fn json(&self) -> &Json {
        static NULL: Json = Json::Null;
        self.parsed().unwrap_or(&NULL)
    }

    /// The request JSON, or `None` when the text cannot be re-read (callers that bind
    /// values to it, such as the digest, must then fail closed).
    pub(crate) fn parsed(&self) -> Option<&Json> {
        self.json
            .get_or_init(|| {
                let parsed = self
                    .raw
                    .as_deref()
                    .and_then(|t| serde_json::from_str(t).ok());
                if self.pinned_time {
                    parsed.and_then(|json| with_time(json, self.time))
                } else {
                    parsed
                }
            })
            .as_ref()
    }

    /// The same request at `time`: its `time` is `time` whatever it carried — in the
    /// typed values, in [`Request::json`] and across a re-bind for another policy version
    /// — and everything else is shared with `self` (no re-parse, no re-bind). This is how
    /// a request is evaluated where it has effect, at the engine's clock.
    pub(crate) fn at(&self, set: &Compiled, time: Timestamp) -> Request {
        let json = match self.json.get() {
            Some(Some(json)) => OnceLock::from(with_time(json.clone(), time)),
            // Not parsed yet (or not parseable): parsed on first use, `time` pinned then.
            _ => OnceLock::new(),
        };
        let mut slots = self.slots.clone();
        if let Some(slot) = set.time_path.and_then(|i| slots.get_mut(i as usize)) {
            *slot = Slot::Time(time);
        }
        let mut at = Request {
            raw: self.raw.clone(),
            json,
            set_id: self.set_id,
            slots,
            time,
            cel_vars: self.cel_vars.clone(),
            pinned_time: true,
            time_given: true,
        };
        if !set.cel_roots.is_empty() {
            at.cel_vars = crate::cel_run::variables(&set.cel_roots, at.json(), time, &set.known);
        }
        at
    }

    /// The request text as received, when it was bound from text.
    pub fn text(&self) -> Option<&Arc<str>> {
        self.raw.as_ref()
    }

    /// The `time` the request carried (or was given by [`crate::Engine::at_time`]);
    /// `None` when it carried none and [`Request::time`] is the clock's at binding.
    pub fn given_time(&self) -> Option<Timestamp> {
        self.time_given.then_some(self.time)
    }

    /// The request time used for decisions.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// The JSON value at a dotted path (`None` when absent).
    pub fn value_at(&self, path: &str) -> Option<&Json> {
        lookup(self.parsed()?, path.split('.'))
    }
}

/// A request document whose `time` is `time` (`None` when it is not an object, which
/// binding rules out).
fn with_time(mut json: Json, time: Timestamp) -> Option<Json> {
    json.as_object_mut()?
        .insert("time".into(), Json::String(time.to_string()));
    Some(json)
}

/// The value at a path of a JSON document; `null` counts as absent.
pub fn lookup<'j, 'p>(
    json: &'j Json,
    segments: impl IntoIterator<Item = &'p str>,
) -> Option<&'j Json> {
    let mut cur = json;
    for s in segments {
        cur = cur.as_object()?.get(s)?;
    }
    (!cur.is_null()).then_some(cur)
}

fn kind(v: &Json) -> &'static str {
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
            Json::String(s) => Slot::Str(intern(s), s.as_str().into()),
            _ => return Err(wrong("a string")),
        },
        Type::Enum(members) => match v {
            Json::String(s) if members.iter().any(|m| m == s) => {
                Slot::Str(intern(s), s.as_str().into())
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
                        Json::String(s) => texts.push(Box::<str>::from(s.as_str())),
                        other => {
                            return Err(err(
                                &format!("{path}[{i}]"),
                                format!("expected a string, found {}", kind(other)),
                            ))
                        }
                    }
                }
                let mut ids: Vec<u32> = texts.iter().map(|t| intern(t)).collect();
                let foreign = ids.contains(&NO_ID);
                ids.retain(|id| *id != NO_ID);
                ids.sort_unstable();
                ids.dedup();
                Slot::Set(SetVal {
                    ids: ids.into(),
                    texts: texts.into(),
                    foreign,
                })
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

/// Binds request JSON text for a compiled set, streaming it straight into typed slots.
pub fn bind_str(set: &Compiled, text: &str, now: Timestamp) -> Result<Request, BindError> {
    // INVARIANT: after this, the text nests at most `MAX_REQUEST_DEPTH` deep, repeats
    // no key and holds only exact numbers; every later parse of it relies on that.
    crate::strict::scan_text(text)?;
    let (mut slots, time) = crate::stream::bind_slots(set, text)?;
    let time_given = time.is_some();
    let time = time.unwrap_or(now);
    if let Some(i) = set.time_path {
        if matches!(slots[i as usize], Slot::Missing) {
            slots[i as usize] = Slot::Time(time);
        }
    }
    let raw: Arc<str> = Arc::from(text);
    let json = OnceLock::new();
    let cel_vars = if set.cel_roots.is_empty() {
        Arc::from(Vec::new())
    } else {
        let parsed: Json =
            serde_json::from_str(text).map_err(|e| err("", format!("not valid JSON: {e}")))?;
        let vars = crate::cel_run::variables(&set.cel_roots, &parsed, time, &set.known);
        let _ = json.set(Some(parsed));
        vars
    };
    Ok(Request {
        raw: Some(raw),
        json,
        set_id: set.id,
        slots,
        time,
        cel_vars,
        pinned_time: false,
        time_given,
    })
}

/// Binds a parsed request for a compiled set: one pass over the known paths types every
/// value present and fills the slots of the paths the set reads.
pub fn bind(set: &Compiled, json: Json, now: Timestamp) -> Result<Request, BindError> {
    check_roots(&json)?;
    crate::strict::check_value(&json)?;
    let intern = |s: &str| set.intern_id(s);
    let mut slots = vec![Slot::Missing; set.paths.len()];
    for k in &set.known {
        let Some(v) = find(&json, &k.segments)? else {
            continue;
        };
        match k.slot {
            Some(i) => slots[i as usize] = typed(&k.text, &k.ty, v, &intern)?,
            None => check_type(&k.text, &k.ty, v)?,
        }
    }
    let time_given = lookup(&json, ["time"]).is_some();
    let time = match lookup(&json, ["time"]) {
        Some(Json::String(s)) => s
            .parse()
            .map_err(|_| err("time", format!("`{s}` is not an RFC 3339 instant")))?,
        Some(other) => {
            return Err(err(
                "time",
                format!("expected an RFC 3339 instant string, found {}", kind(other)),
            ))
        }
        None => now,
    };
    if let Some(i) = set.time_path {
        if matches!(slots[i as usize], Slot::Missing) {
            slots[i as usize] = Slot::Time(time);
        }
    }
    let cel_vars = if set.cel_roots.is_empty() {
        Arc::from(Vec::new())
    } else {
        crate::cel_run::variables(&set.cel_roots, &json, time, &set.known)
    };
    Ok(Request {
        raw: None,
        json: OnceLock::from(Some(json)),
        set_id: set.id,
        slots,
        time,
        cel_vars,
        pinned_time: false,
        time_given,
    })
}

/// The value at a path, `None` when absent or `null`; an error when the path goes
/// through something that is not an object.
fn find<'j>(json: &'j Json, segments: &[Box<str>]) -> Result<Option<&'j Json>, BindError> {
    let mut cur = json;
    for (i, seg) in segments.iter().enumerate() {
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
fn check_type(path: &str, ty: &Type, v: &Json) -> Result<(), BindError> {
    let ok = match ty {
        Type::String => v.is_string(),
        Type::Int => v.is_i64(),
        Type::Number => v.is_number(),
        Type::Bool => v.is_boolean(),
        Type::Object => v.is_object(),
        // The rest need parsing or element checks: reuse the full conversion.
        _ => return typed(path, ty, v, &|_| NO_ID).map(|_| ()),
    };
    if ok {
        Ok(())
    } else {
        typed(path, ty, v, &|_| NO_ID).map(|_| ())
    }
}

/// The request is an object of known roots, without `risk`.
fn check_roots(json: &Json) -> Result<(), BindError> {
    let Json::Object(root) = json else {
        return Err(err(
            "",
            format!("a request is a JSON object, found {}", kind(json)),
        ));
    };
    for key in root.keys() {
        if key == "risk" {
            return Err(err(
                "risk",
                "`risk` is computed by the engine and cannot be part of a request",
            ));
        }
        if !ROOTS.contains(&key.as_str()) {
            let help = writ_check::closest(key, ROOTS.iter().copied())
                .map_or_else(String::new, |r| format!("; did you mean `{r}`?"));
            return Err(err(key, format!("unknown request root{help}")));
        }
    }
    Ok(())
}
