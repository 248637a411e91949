//! Request binding: request JSON → a typed [`Request`] (docs/language.md §4).
//!
//! Every known path present in the request is type-checked (a wrong type, an invalid
//! address or instant is an error naming the path); the paths the policy set reads are
//! stored in typed slots, strings interned against the set's constants. A path that is
//! absent (or `null`) is unknown. `time` defaults to the engine's clock.
//!
//! Three ways in, one tail: text is read in one pass ([`crate::stream`]), a parsed value
//! is walked path by path ([`bind`]), a builder ([`crate::builder`]) types values as it
//! is given them; all three end in [`finish`].

use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use serde_json::Value as Json;
use writ_check::types::ROOTS;

use crate::compile::Compiled;
use crate::typing::{check_type, err, find, kind};

pub(crate) use crate::slots::{SetVal, Slot, NO_ID};
pub use crate::typing::{typed, BindError};

/// The values a request kept while it was read, for what the set reads as JSON: where
/// they are in the request text, built as JSON the first time something reads them (an
/// `allow` or a `deny` of a set without CEL never does).
#[derive(Debug)]
pub(crate) struct Captured {
    /// The text the spans are ranges of (`None` when the tree was given).
    src: Option<Arc<str>>,
    spans: Box<[crate::stream::Span]>,
    /// The value of each span, in order (`None` when the text cannot be read again,
    /// which fails closed).
    values: OnceLock<Option<Vec<Json>>>,
    /// An object holding the captured paths with their values, for CEL and a pinned
    /// time: built from the spans on first use, or given. Once there, lookups read it
    /// and `values` is never built.
    tree: OnceLock<Option<Json>>,
    /// The paths the tree holds (with everything below them); a span's `capture`
    /// indexes them.
    pub covers: Arc<[Box<str>]>,
}

impl Captured {
    /// The values at `spans` of `src`, built on first use.
    pub(crate) fn of_text(
        src: Arc<str>,
        spans: Vec<crate::stream::Span>,
        covers: Arc<[Box<str>]>,
    ) -> Captured {
        Captured {
            src: Some(src),
            spans: spans.into(),
            values: OnceLock::new(),
            tree: OnceLock::new(),
            covers,
        }
    }

    /// The values as built already.
    fn of_tree(tree: Json, covers: Arc<[Box<str>]>) -> Captured {
        Captured {
            src: None,
            spans: Box::default(),
            values: OnceLock::new(),
            tree: OnceLock::from(Some(tree)),
            covers,
        }
    }

    /// The value of each span, in order.
    fn values(&self) -> Option<&[Json]> {
        self.values
            .get_or_init(|| {
                let src = self.src.as_ref()?;
                self.spans
                    .iter()
                    .map(|span| crate::stream::captured_value(src, span))
                    .collect()
            })
            .as_deref()
    }

    /// Whether the values can be read (the text read again, or the tree given).
    fn readable(&self) -> bool {
        match self.tree.get() {
            Some(tree) => tree.is_some(),
            None => self.values().is_some(),
        }
    }

    /// The object holding the captured paths with their values.
    pub(crate) fn tree(&self) -> Option<&Json> {
        self.tree
            .get_or_init(|| {
                let src = self.src.as_ref()?;
                let parts = self
                    .spans
                    .iter()
                    .map(|span| {
                        let path = self.covers.get(span.capture as usize)?;
                        Some((&**path, crate::stream::captured_value(src, span)?))
                    })
                    .collect::<Option<Vec<_>>>()?;
                crate::stream::tree_of(parts.into_iter())
            })
            .as_ref()
    }

    /// The value at a dotted path, `null` counting as absent: from the tree when it is
    /// there already, else from the value of the captured path that covers it, without
    /// building the tree.
    pub(crate) fn lookup(&self, path: &str) -> Option<&Json> {
        if let Some(tree) = self.tree.get() {
            return lookup(tree.as_ref()?, path.split('.'));
        }
        let values = self.values()?;
        for (span, v) in self.spans.iter().zip(values) {
            let covering = self.covers.get(span.capture as usize)?;
            if **covering == *path {
                return (!v.is_null()).then_some(v);
            }
            if let Some(rest) = path
                .strip_prefix(&**covering)
                .and_then(|r| r.strip_prefix('.'))
            {
                return lookup(v, rest.split('.'));
            }
        }
        None
    }
}

/// A request bound to one compiled policy set.
#[derive(Clone, Debug)]
pub struct Request {
    /// The request text as received, when bound from text.
    pub(crate) raw: Option<Arc<str>>,
    /// The values given to a builder, when built.
    pub(crate) built: Option<Arc<crate::builder::Built>>,
    /// The request as JSON: given, or parsed from `raw` (built from `built`) on first
    /// use (`None` if that parse fails, which binding is built to rule out).
    pub(crate) json: OnceLock<Option<Json>>,
    /// The values of the paths the set reads as JSON (approval bindings, approver
    /// groups, CEL roots), kept while binding.
    pub(crate) captured: Option<Arc<Captured>>,
    /// The compiled set it was bound for.
    pub(crate) set_id: u64,
    /// Typed values by `PathId`.
    pub(crate) slots: Vec<Slot>,
    /// The compact copy of `slots` a decision reads (built from them when binding ends).
    pub(crate) hot: crate::hot::Hot,
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
                let parsed = match (&self.raw, &self.built) {
                    (Some(t), _) => serde_json::from_str(t).ok(),
                    (None, Some(b)) => Some(b.to_json()),
                    (None, None) => None,
                };
                if self.pinned_time {
                    parsed.and_then(|json| with_time(json, self.time))
                } else {
                    parsed
                }
            })
            .as_ref()
    }

    /// The request as JSON for what the set reads as JSON (the paths approvals bind,
    /// approver groups, CEL roots): the values kept while binding, never a new parse;
    /// the whole request when it was bound from a value. `None` fails closed.
    pub(crate) fn bound(&self) -> Option<&Json> {
        match &self.captured {
            Some(c) => c.tree(),
            None => self.parsed(),
        }
    }

    /// Whether what the set reads as JSON can be read ([`Request::bound_at`] fails closed
    /// otherwise: an approval must never bind values it could not read).
    pub(crate) fn bound_readable(&self) -> bool {
        match &self.captured {
            Some(c) => c.readable(),
            None => self.parsed().is_some(),
        }
    }

    /// The value at a dotted path the set reads as JSON (a bound path, a group's path),
    /// `null` counting as absent: from the values kept while binding, without building
    /// them into one object.
    pub(crate) fn bound_at(&self, path: &str) -> Option<&Json> {
        match &self.captured {
            Some(c) => c.lookup(path),
            None => lookup(self.parsed()?, path.split('.')),
        }
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
        let captured = match &self.captured {
            Some(c) if c.covers.iter().any(|p| &**p == "time") => c
                .tree()
                .and_then(|tree| with_time(tree.clone(), time))
                .map(|tree| Arc::new(Captured::of_tree(tree, c.covers.clone()))),
            other => other.clone(),
        };
        let mut slots = self.slots.clone();
        if let Some(slot) = set.time_path.and_then(|i| slots.get_mut(i as usize)) {
            *slot = Slot::Time(time);
        }
        let mut at = Request {
            raw: self.raw.clone(),
            built: self.built.clone(),
            json,
            captured,
            set_id: self.set_id,
            hot: crate::hot::Hot::of(&slots),
            slots,
            time,
            cel_vars: self.cel_vars.clone(),
            pinned_time: true,
            time_given: true,
        };
        if !set.cel_roots.is_empty() {
            static NULL: Json = Json::Null;
            let json = at.bound().unwrap_or(&NULL);
            at.cel_vars = crate::cel_run::variables(&set.cel_roots, json, time, &set.known);
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

    /// The JSON value at a dotted path (`None` when absent): from the values kept while
    /// binding when they hold it, from the whole request (parsed on first use) otherwise.
    pub fn value_at(&self, path: &str) -> Option<&Json> {
        if let Some(c) = &self.captured {
            if c.covers.iter().any(|p| crate::trie::covers(p, path)) {
                return c.lookup(path);
            }
        }
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
        cur = member(cur.as_object()?, s)?;
    }
    (!cur.is_null()).then_some(cur)
}

/// The member `key` of an object. A request's objects are small: up to a dozen members
/// are compared in place, length first, rather than hashed (a `serde_json` map is a hash
/// map wherever another crate of the build turns on its `preserve_order`).
#[inline]
fn member<'j>(object: &'j serde_json::Map<String, Json>, key: &str) -> Option<&'j Json> {
    if object.len() <= 12 {
        object
            .iter()
            .find(|(k, _)| crate::stream::same(k.as_bytes(), key.as_bytes()))
            .map(|(_, v)| v)
    } else {
        object.get(key)
    }
}

/// What a binder produced, before the common tail.
pub(crate) struct Parts {
    pub slots: Vec<Slot>,
    /// The request's own `time`.
    pub time: Option<Timestamp>,
    pub raw: Option<Arc<str>>,
    pub built: Option<Arc<crate::builder::Built>>,
    pub json: Option<Json>,
    /// Where the captured values are in `raw`.
    pub captured: Option<Vec<crate::stream::Span>>,
}

/// The clock binding reads when a request carries no `time`.
pub(crate) type Now<'a> = &'a dyn Fn() -> Timestamp;

/// The tail every binder shares: the request time (the request's, or the clock's) in its
/// slot, the CEL variables, the request.
pub(crate) fn finish(set: &Compiled, parts: Parts, now: Now<'_>) -> Request {
    let Parts {
        mut slots,
        time,
        raw,
        built,
        json,
        captured,
    } = parts;
    let time_given = time.is_some();
    let time = time.unwrap_or_else(now);
    if let Some(slot) = set.time_path.and_then(|i| slots.get_mut(i as usize)) {
        if matches!(slot, Slot::Missing) {
            *slot = Slot::Time(time);
        }
    }
    let captured = match (captured, &raw) {
        (Some(spans), Some(src)) => Some(Arc::new(Captured::of_text(
            src.clone(),
            spans,
            set.trie.captures.clone(),
        ))),
        _ => None,
    };
    let json = match json {
        Some(j) => OnceLock::from(Some(j)),
        None => OnceLock::new(),
    };
    let cel_vars = if set.cel_roots.is_empty() {
        crate::cel_run::Vars::default()
    } else {
        static NULL: Json = Json::Null;
        let source = match &captured {
            Some(c) => c.tree(),
            None => json.get().and_then(Option::as_ref),
        };
        crate::cel_run::variables(&set.cel_roots, source.unwrap_or(&NULL), time, &set.known)
    };
    Request {
        raw,
        built,
        json,
        captured,
        set_id: set.id,
        hot: crate::hot::Hot::of(&slots),
        slots,
        time,
        cel_vars,
        pinned_time: false,
        time_given,
    }
}

/// Binds request JSON text for a compiled set, reading it once, straight into typed
/// slots (see [`crate::stream`]).
pub fn bind_str(set: &Compiled, text: &str, now: Now<'_>) -> Result<Request, BindError> {
    bind_text(set, Arc::from(text), now)
}

/// [`bind_str`] of a text already shared.
pub(crate) fn bind_text(set: &Compiled, raw: Arc<str>, now: Now<'_>) -> Result<Request, BindError> {
    let read = crate::stream::read(set, &raw)?;
    Ok(finish(
        set,
        Parts {
            slots: read.slots,
            time: read.time,
            raw: Some(raw),
            built: None,
            json: None,
            captured: read.captured,
        },
        now,
    ))
}

/// Binds a parsed request for a compiled set: one pass over the known paths types every
/// value present and fills the slots of the paths the set reads.
pub fn bind(set: &Compiled, json: Json, now: Now<'_>) -> Result<Request, BindError> {
    check_roots(&json)?;
    crate::strict::check_value(&json)?;
    let slots = tree_slots(set, &json)?;
    let time = match lookup(&json, ["time"]) {
        Some(Json::String(s)) => Some(
            s.parse()
                .map_err(|_| err("time", format!("`{s}` is not an RFC 3339 instant")))?,
        ),
        Some(other) => {
            return Err(err(
                "time",
                format!("expected an RFC 3339 instant string, found {}", kind(other)),
            ))
        }
        None => None,
    };
    Ok(finish(
        set,
        Parts {
            slots,
            time,
            raw: None,
            built: None,
            json: Some(json),
            captured: None,
        },
        now,
    ))
}

/// The slots of a parsed request, every known path present type-checked.
pub(crate) fn tree_slots(set: &Compiled, json: &Json) -> Result<Vec<Slot>, BindError> {
    let intern = |s: &str| set.intern_id(s);
    let mut slots = vec![Slot::Missing; set.paths.len()];
    for k in &set.known {
        let Some(v) = find(json, &k.segments, 0)? else {
            continue;
        };
        match k.slot {
            Some(i) => slots[i as usize] = typed(&k.text, &k.ty, v, &intern)?,
            None => check_type(&k.text, &k.ty, v)?,
        }
    }
    Ok(slots)
}

/// The request is an object of known roots, without `risk`.
pub(crate) fn check_roots(json: &Json) -> Result<(), BindError> {
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
