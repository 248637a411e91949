//! A typed request builder for services that embed the engine: values go straight into
//! the typed slots, without JSON text and without parsing, with the same typing errors
//! as binding; and deciding many bound requests at once ([`Engine::decide_batch`]).
//!
//! ```
//! use writ_engine::Engine;
//!
//! let mut sources = writ_syntax::SourceMap::default();
//! sources.add("p.writ", r#"rule "reads" { when action == "db.read" and device.managed allow }"#);
//! let engine = Engine::new(writ_check::check(sources).unwrap());
//!
//! let req = engine.request().str("action", "db.read").bool("device.managed", true).build().unwrap();
//! assert_eq!(engine.decide(&req).decision.as_str(), "allow");
//!
//! // The same typing as binding JSON: a bool is a bool.
//! let err = engine.request().str("device.managed", "yes").build().unwrap_err();
//! assert_eq!(err.to_string(), "invalid request at `device.managed`: expected a bool, found a string");
//! ```

use std::net::IpAddr;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Number, Value as Json};
use writ_check::types::{Type, ROOTS};

use crate::compile::Compiled;
use crate::request::{finish, Parts, Request};
use crate::slots::{SetVal, Slot, Text};
use crate::strict::{self, MAX_EXACT_INT, MAX_REQUEST_DEPTH};
use crate::trie::covers;
use crate::typing::{err, find, typed, BindError};
use crate::{Decision, Engine};

/// A value given to the builder.
#[derive(Clone, Debug)]
enum Lit {
    Str(Text),
    Int(i64),
    Num(f64),
    Bool(bool),
    Strs(Vec<Text>),
    Json(Json),
}

impl Lit {
    fn to_json(&self) -> Json {
        match self {
            Lit::Str(s) => Json::String(s.to_string()),
            Lit::Int(i) => Json::Number(Number::from(*i)),
            Lit::Num(n) => Number::from_f64(*n).map_or(Json::Null, Json::Number),
            Lit::Bool(b) => Json::Bool(*b),
            Lit::Strs(items) => {
                Json::Array(items.iter().map(|s| Json::String(s.to_string())).collect())
            }
            Lit::Json(v) => v.clone(),
        }
    }
}

/// The values a request was built from, kept to give its JSON on demand.
#[derive(Debug)]
pub(crate) struct Built {
    entries: Vec<(Box<str>, Lit)>,
}

impl Built {
    /// The request as JSON: every value at its path.
    pub(crate) fn to_json(&self) -> Json {
        let mut root = Map::new();
        for (path, lit) in &self.entries {
            let mut map = &mut root;
            let mut segments = path.split('.').peekable();
            while let Some(seg) = segments.next() {
                if segments.peek().is_none() {
                    map.insert(seg.to_string(), lit.to_json());
                    break;
                }
                let inner = map
                    .entry(seg.to_string())
                    .or_insert_with(|| Json::Object(Map::new()));
                match inner {
                    Json::Object(m) => map = m,
                    // `build` refuses paths inside one another.
                    _ => break,
                }
            }
        }
        Json::Object(root)
    }
}

/// Builds a [`Request`] value by value ([`Engine::request`]). Each value is typed as
/// binding types it (a path the set declares `bool` takes a bool, an `ip` path a valid
/// address, …), and every rule binding applies holds: known roots only, no `risk`,
/// each path given once, integers within ±(2^53−1), at most
/// [`crate::MAX_REQUEST_DEPTH`] levels. The first fault is the error of
/// [`RequestBuilder::build`].
#[derive(Debug)]
#[must_use = "a request builder does nothing until `build`"]
pub struct RequestBuilder<'e> {
    engine: &'e Engine,
    entries: Vec<(Box<str>, Lit)>,
}

impl Engine {
    /// A builder for a request to this engine, without JSON:
    /// `engine.request().str("action", "db.read").bool("device.managed", true).build()`.
    pub fn request(&self) -> RequestBuilder<'_> {
        RequestBuilder {
            engine: self,
            entries: Vec::new(),
        }
    }

    /// Decides many bound requests, in order: the decision of each is
    /// [`Engine::decide`]'s. Large batches are spread over the machine's cores.
    pub fn decide_batch(&self, requests: &[Request]) -> Vec<Decision> {
        const PER_THREAD: usize = 256;
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(requests.len() / PER_THREAD);
        if threads <= 1 {
            return requests.iter().map(|r| self.decide(r)).collect();
        }
        let chunk = requests.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = requests
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || part.iter().map(|r| self.decide(r)).collect::<Vec<_>>())
                })
                .collect();
            let mut out = Vec::with_capacity(requests.len());
            for (h, part) in handles.into_iter().zip(requests.chunks(chunk)) {
                match h.join() {
                    Ok(decisions) => out.extend(decisions),
                    // A thread that could not finish: decide its part here instead.
                    Err(_) => out.extend(part.iter().map(|r| self.decide(r))),
                }
            }
            out
        })
    }
}

impl RequestBuilder<'_> {
    fn with(mut self, path: &str, lit: Lit) -> Self {
        self.entries.push((Box::from(path), lit));
        self
    }

    /// A string at `path` (for `string`, enum, `ip`, `time` and `duration` paths, read
    /// as binding reads a JSON string).
    pub fn str(self, path: &str, value: &str) -> Self {
        self.with(path, Lit::Str(Text::from(value)))
    }

    /// An integer at `path` (`int`, `number`, or `duration` in seconds).
    pub fn int(self, path: &str, value: i64) -> Self {
        self.with(path, Lit::Int(value))
    }

    /// A number at `path` (`number`); as binding reads a JSON number with a fraction.
    pub fn num(self, path: &str, value: f64) -> Self {
        self.with(path, Lit::Num(value))
    }

    /// A bool at `path`.
    pub fn bool(self, path: &str, value: bool) -> Self {
        self.with(path, Lit::Bool(value))
    }

    /// A set of strings at `path`.
    pub fn strs<S: AsRef<str>>(self, path: &str, values: impl IntoIterator<Item = S>) -> Self {
        let texts = values.into_iter().map(|s| Text::from(s.as_ref())).collect();
        self.with(path, Lit::Strs(texts))
    }

    /// An instant at `path` (`time`, or a path declared `time`).
    pub fn time(self, path: &str, value: Timestamp) -> Self {
        self.with(path, Lit::Str(Text::from(value.to_string())))
    }

    /// An address at `path` (`network.ip`, or a path declared `ip`).
    pub fn ip(self, path: &str, value: IpAddr) -> Self {
        self.with(path, Lit::Str(Text::from(value.to_string())))
    }

    /// Any JSON value at `path` (an object such as `request.params` or `principal.key`);
    /// the paths the set knows inside it are typed as binding types them.
    pub fn json(self, path: &str, value: Json) -> Self {
        self.with(path, Lit::Json(value))
    }

    /// The bound request, or the first fault.
    pub fn build(self) -> Result<Request, BindError> {
        let engine = self.engine;
        let set = &engine.compiled;
        check_entries(&self.entries)?;
        let built = Arc::new(Built {
            entries: self.entries,
        });
        let mut slots = vec![Slot::Missing; set.paths.len()];
        let mut time = None;
        // The whole request as JSON, made only when a value must be typed from it.
        let mut tree: Option<Json> = None;
        for (path, lit) in &built.entries {
            let mut node = 0u32;
            let mut segments = path.split('.').peekable();
            while let Some(seg) = segments.next() {
                let Some(next) = set.trie.child(node, seg) else {
                    break;
                };
                node = next;
                let Some(n) = set.trie.nodes.get(node as usize) else {
                    break;
                };
                let Some(k) = n.known.and_then(|k| set.known.get(k as usize)) else {
                    continue;
                };
                let slot = if segments.peek().is_none() {
                    lit_slot(set, k, lit)?
                } else if k.ty == Type::Object {
                    // A path inside an object: the object is there.
                    Slot::Object
                } else {
                    // A path inside a value that is not an object: typed as binding
                    // types that value (a wrong type, or a key's shape).
                    let whole = tree.get_or_insert_with(|| built.to_json());
                    match find(whole, &k.segments, 0)? {
                        Some(v) => typed(&k.text, &k.ty, v, &|s| set.intern_id(s))?,
                        None => Slot::Missing,
                    }
                };
                if let (Slot::Time(t), "time") = (&slot, k.text.as_str()) {
                    time = Some(*t);
                }
                if let Some(i) = k.slot {
                    slots[i as usize] = slot;
                }
            }
            if let Lit::Json(v) = lit {
                // The known paths inside a JSON value.
                for k in set
                    .known
                    .iter()
                    .filter(|k| k.text.len() > path.len() && covers(path, &k.text))
                {
                    let depth = path.split('.').count();
                    let Some(at) = find(v, &k.segments, depth)? else {
                        continue;
                    };
                    let slot = typed(&k.text, &k.ty, at, &|s| set.intern_id(s))?;
                    if let Some(i) = k.slot {
                        slots[i as usize] = slot;
                    }
                }
            }
        }
        // What the set reads as JSON (digests, groups, CEL) reads it from the values.
        let json = set
            .trie
            .keeps
            .then(|| tree.unwrap_or_else(|| built.to_json()));
        Ok(finish(
            set,
            Parts {
                slots,
                time,
                raw: None,
                built: Some(built),
                json,
                captured: None,
            },
            &*engine.clock,
        ))
    }
}

/// The rules binding applies to a request as a whole, over the builder's values.
fn check_entries(entries: &[(Box<str>, Lit)]) -> Result<(), BindError> {
    for (i, (path, lit)) in entries.iter().enumerate() {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(err(
                path,
                "expected a dotted path of names, such as `device.managed`",
            ));
        }
        let root = segments.first().copied().unwrap_or_default();
        if root == "risk" {
            return Err(err(
                "risk",
                "`risk` is computed by the engine and cannot be part of a request",
            ));
        }
        if !ROOTS.contains(&root) {
            let help = writ_check::closest(root, ROOTS.iter().copied())
                .map_or_else(String::new, |r| format!("; did you mean `{r}`?"));
            return Err(err(root, format!("unknown request root{help}")));
        }
        for (other, _) in &entries[..i] {
            if other == path {
                return Err(err(
                    path,
                    "the key appears twice in the request; send each key once",
                ));
            }
            if covers(other, path) || covers(path, other) {
                let (outer, inner) = if covers(other, path) {
                    (other, path)
                } else {
                    (path, other)
                };
                return Err(err(
                    inner,
                    format!("the value is given twice, at `{inner}` and inside `{outer}`; give each value once"),
                ));
            }
        }
        match lit {
            Lit::Int(n) if n.unsigned_abs() > MAX_EXACT_INT => {
                return Err(strict::inexact(path, &n.to_string()));
            }
            Lit::Num(n) if !n.is_finite() => {
                return Err(err(
                    path,
                    format!("`{n}` is not a JSON number: expected a finite number"),
                ));
            }
            Lit::Json(v) => {
                // Depth counted from the root: the value sits inside its path's objects.
                if segments.len() >= MAX_REQUEST_DEPTH {
                    return Err(strict::too_deep(path));
                }
                strict::check_value_at(v, segments.len() + 1).map_err(|mut e| {
                    e.path = match e.path.as_str() {
                        "" => path.to_string(),
                        p if p.starts_with('[') => format!("{path}{p}"),
                        p => format!("{path}.{p}"),
                    };
                    e
                })?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The slot of a known path given `lit`: the common shapes straight, anything else
/// typed as JSON (so every error is binding's, word for word).
fn lit_slot(set: &Compiled, k: &crate::trie::KnownPath, lit: &Lit) -> Result<Slot, BindError> {
    let intern = |s: &str| set.intern_id(s);
    let fast = match (lit, &k.ty) {
        (Lit::Str(s), Type::String) => Some(Slot::Str(intern(s), s.clone())),
        (Lit::Str(s), Type::Enum(members)) if members.iter().any(|m| **m == **s) => {
            Some(Slot::Str(intern(s), s.clone()))
        }
        (Lit::Str(s), Type::Ip) => s.parse::<IpAddr>().ok().map(Slot::Ip),
        (Lit::Str(s), Type::Time) => s.parse::<Timestamp>().ok().map(Slot::Time),
        (Lit::Str(s), Type::Duration) => writ_syntax::parse_duration(s).map(Slot::Dur),
        (Lit::Int(i), Type::Int | Type::Number) => Some(Slot::Int(*i)),
        (Lit::Int(i), Type::Duration) => u64::try_from(*i).ok().map(Slot::Dur),
        (Lit::Num(n), Type::Number) => Some(Slot::Num(*n)),
        (Lit::Bool(b), Type::Bool) => Some(Slot::Bool(*b)),
        (Lit::Strs(items), Type::Set) => Some(Slot::Set(SetVal::new(items.clone(), &intern))),
        _ => None,
    };
    match fast {
        Some(slot) => Ok(slot),
        None => {
            let v = lit.to_json();
            if v.is_null() {
                return Ok(Slot::Missing);
            }
            typed(&k.text, &k.ty, &v, &intern)
        }
    }
}
