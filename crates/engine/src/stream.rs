//! One pass from request text to typed slots: the text is read once, by this module's
//! own scanner, which at the same time
//!
//! - applies every rule of [`crate::strict`] to the whole request, read by the set or
//!   not (depth, repeated keys, exact numbers);
//! - follows the set's path trie ([`crate::trie::PathTrie`]): objects on a known path
//!   are descended, known leaves typed straight into their slots (strings are ranges of
//!   the request text, not copies), every other value checked and skipped;
//! - keeps where the values of captured paths are in the text (what the transaction
//!   digest, approver groups and CEL leaves read), so that they are built as JSON only
//!   when something reads them ([`captured_tree`]), from the text already checked.
//!
//! A fault of the text (not JSON, too deep, a repeated key, an inexact number) anywhere
//! wins over a binding fault (a wrong type, an unknown root): the first of those, in
//! document order, is reported only when the text has no fault of its own. This is what
//! checking the text first and binding it after would report.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Number, Value as Json};
use writ_check::types::{Type, ROOTS};

use crate::compile::Compiled;
use crate::slots::{SetVal, Slot, Text};
use crate::strict::{self, At, Float, MAX_EXACT_INT, MAX_REQUEST_DEPTH};
use crate::typing::{err, kind, typed, BindError};

/// What reading a request gives.
pub(crate) struct Read {
    /// Typed values by `PathId`.
    pub slots: Vec<Slot>,
    /// The request's own `time`.
    pub time: Option<Timestamp>,
    /// Where the captured values are in the text (`None` when the set captures nothing).
    pub captured: Option<Vec<Span>>,
}

/// Reads request text for a compiled set: the typed slots, the request's `time` and
/// the captured values. `src` is the request text as the request keeps it: the
/// strings of the slots are ranges of it.
pub(crate) fn read(set: &Compiled, src: &Arc<str>) -> Result<Read, BindError> {
    let mut scan = Scan::new(src, Some((set, src)));
    let outcome = scan.document();
    scan.finish(outcome)?;
    Ok(Read {
        slots: scan.slots,
        time: scan.time,
        captured: set.trie.keeps.then_some(scan.spans),
    })
}

/// Where a captured value is in the request text: the index of its path in the trie's
/// `captures`, and its byte range.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub capture: u32,
    pub start: usize,
    pub end: usize,
}

/// The value of a captured span, built from the text it was read from (which was
/// checked then: any fault now fails closed, `None`).
pub(crate) fn captured_value(src: &str, span: &Span) -> Option<Json> {
    let mut scan = Scan::new(src, None);
    scan.pos = span.start;
    let v = scan.build(&At::Root, 0).ok()?;
    (scan.pos == span.end).then_some(v)
}

/// One object holding each value at its dotted path.
pub(crate) fn tree_of<'p>(parts: impl Iterator<Item = (&'p str, Json)>) -> Option<Json> {
    let mut root = Map::new();
    for (path, v) in parts {
        insert_at(&mut root, path, v)?;
    }
    Some(Json::Object(root))
}

/// Puts `v` at dotted `path` below `map`, making the objects on the way.
fn insert_at(mut map: &mut Map<String, Json>, path: &str, v: Json) -> Option<()> {
    let mut segments = path.split('.').peekable();
    while let Some(seg) = segments.next() {
        if segments.peek().is_none() {
            map.insert(seg.to_string(), v);
            return Some(());
        }
        let inner = map
            .entry(seg.to_string())
            .or_insert_with(|| Json::Object(Map::new()));
        match inner {
            Json::Object(m) => map = m,
            // Captured paths never nest (the outermost covers the rest).
            _ => return Some(()),
        }
    }
    Some(())
}

/// Checks request text against every rule of [`crate::strict`], naming the path of the
/// first fault in document order. Text that is not JSON is refused with serde_json's
/// own description of the fault.
pub(crate) fn scan_text(text: &str) -> Result<(), BindError> {
    let mut scan = Scan::new(text, None);
    let outcome = scan.document();
    scan.finish(outcome)
}

/// Parses request text with every rule of [`crate::strict`] applied, for callers that
/// bind the parsed value ([`crate::Engine::bind`]) but received text.
pub fn parse_request(text: &str) -> Result<Json, BindError> {
    scan_text(text)?;
    serde_json::from_str(text).map_err(|e| err("", format!("not valid JSON: {e}")))
}

/// Why reading stopped.
enum Fault {
    /// The text breaks a rule of [`crate::strict`].
    Request(Box<BindError>),
    /// The text is not JSON.
    Syntax,
}

impl From<BindError> for Fault {
    fn from(e: BindError) -> Fault {
        Fault::Request(Box::new(e))
    }
}

/// The first binding fault, kept while the rest of the text is checked.
enum Pending {
    Bind(BindError),
    /// A number beyond the doubles (serde_json refuses the text).
    Range,
}

/// How many elements of a set are gathered on the stack.
const FEW: usize = 8;

/// A string as read: a range of the text, or decoded (it had escapes).
enum Str {
    Range(usize, usize),
    Owned(String),
}

/// A number as read: its value as serde_json reads it.
struct Num {
    /// An integer token (serde_json reads `-0` as a double).
    int: Option<i64>,
    /// A double (a fraction or an exponent, or `-0`); `None` when out of range.
    float: Option<f64>,
}

impl Num {
    fn json(&self) -> Json {
        match (self.int, self.float) {
            (Some(i), _) => Json::Number(Number::from(i)),
            (None, Some(f)) => Number::from_f64(f).map_or(Json::Null, Json::Number),
            // Out of range: the request is refused, the value is never read.
            (None, None) => Json::Null,
        }
    }
}

struct Scan<'t, 'c> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    /// The set, and the text the slots' strings are ranges of.
    bind: Option<(&'c Compiled, &'c Arc<str>)>,
    slots: Vec<Slot>,
    time: Option<Timestamp>,
    spans: Vec<Span>,
    pending: Option<Pending>,
}

impl<'t, 'c> Scan<'t, 'c> {
    fn new(text: &'t str, bind: Option<(&'c Compiled, &'c Arc<str>)>) -> Scan<'t, 'c> {
        let slots = bind.map_or_else(Vec::new, |(set, _)| {
            (0..set.paths.len()).map(|_| Slot::Missing).collect()
        });
        Scan {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            bind,
            slots,
            time: None,
            spans: Vec::new(),
            pending: None,
        }
    }

    /// The whole document.
    fn document(&mut self) -> Result<(), Fault> {
        match self.bind {
            Some(_) => self.node(0, &At::Root, 0)?,
            None => self.skip(&At::Root, 0)?,
        }
        self.skip_ws();
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(Fault::Syntax)
        }
    }

    /// The outcome: a fault of the text first, then the first binding fault.
    fn finish(&mut self, outcome: Result<(), Fault>) -> Result<(), BindError> {
        match outcome {
            Err(Fault::Request(e)) => Err(*e),
            Err(Fault::Syntax) => {
                // Let serde_json describe the fault (line and column); should it accept
                // what this scanner did not, refuse anyway: fail closed.
                let message = match serde_json::from_str::<serde::de::IgnoredAny>(self.text) {
                    Err(e) => format!("not valid JSON: {e}"),
                    Ok(_) => format!("not valid JSON at byte {}", self.pos),
                };
                Err(err("", message))
            }
            Ok(()) => match self.pending.take() {
                None => Ok(()),
                Some(Pending::Bind(e)) => Err(e),
                Some(Pending::Range) => {
                    let message = match serde_json::from_str::<Json>(self.text) {
                        Err(e) => format!("not valid JSON: {e}"),
                        Ok(_) => "not valid JSON: a number is out of range".to_string(),
                    };
                    Err(err("", message))
                }
            },
        }
    }

    /// Keeps the first binding fault; reading goes on, to find any fault of the text.
    fn fail(&mut self, e: BindError) {
        if self.pending.is_none() {
            self.pending = Some(Pending::Bind(e));
        }
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline]
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

    fn literal(&mut self, word: &[u8]) -> Result<(), Fault> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Fault::Syntax)
        }
    }

    /// Before opening a container at `at`, enclosed in `depth` others.
    fn open(&self, at: &At<'_>, depth: usize) -> Result<(), Fault> {
        if depth >= MAX_REQUEST_DEPTH {
            return Err(strict::too_deep(&at.path()).into());
        }
        Ok(())
    }

    /// An object (at its `{`): `member` reads each member's value, at its path.
    fn object(
        &mut self,
        at: &At<'_>,
        depth: usize,
        mut member: impl FnMut(&mut Self, &str, &At<'_>) -> Result<(), Fault>,
    ) -> Result<(), Fault> {
        self.open(at, depth)?;
        self.pos += 1;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        let mut seen = Seen::new();
        loop {
            if self.peek() != Some(b'"') {
                return Err(Fault::Syntax);
            }
            let key = self.string()?;
            let key = self.cow(key)?;
            self.expect(b':')?;
            let here = At::Key(at, &key);
            if !seen.insert(&key) {
                return Err(strict::repeated(&here.path()).into());
            }
            member(self, &key, &here)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Fault::Syntax),
            }
        }
    }

    /// A list (at its `[`): `element` reads each element, at its path.
    fn list(
        &mut self,
        at: &At<'_>,
        depth: usize,
        mut element: impl FnMut(&mut Self, &At<'_>) -> Result<(), Fault>,
    ) -> Result<(), Fault> {
        self.open(at, depth)?;
        self.pos += 1;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut i = 0usize;
        loop {
            element(self, &At::Index(at, i))?;
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    i += 1;
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Fault::Syntax),
            }
        }
    }

    /// Checks a value and reads past it.
    fn skip(&mut self, at: &At<'_>, depth: usize) -> Result<(), Fault> {
        match self.peek() {
            Some(b'{') => self.object(at, depth, |s, _, here| s.skip(here, depth + 1)),
            Some(b'[') => self.list(at, depth, |s, here| s.skip(here, depth + 1)),
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number(at).map(drop),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => Err(Fault::Syntax),
        }
    }

    /// Checks a value and builds it as JSON.
    fn build(&mut self, at: &At<'_>, depth: usize) -> Result<Json, Fault> {
        Ok(match self.peek() {
            Some(b'{') => {
                let mut map = Map::new();
                self.object(at, depth, |s, key, here| {
                    let v = s.build(here, depth + 1)?;
                    map.insert(key.to_string(), v);
                    Ok(())
                })?;
                Json::Object(map)
            }
            Some(b'[') => {
                let mut items = Vec::new();
                self.list(at, depth, |s, here| {
                    items.push(s.build(here, depth + 1)?);
                    Ok(())
                })?;
                Json::Array(items)
            }
            Some(b'"') => {
                let s = self.string()?;
                Json::String(self.cow(s)?.into_owned())
            }
            Some(b'-' | b'0'..=b'9') => self.number(at)?.json(),
            Some(b't') => {
                self.literal(b"true")?;
                Json::Bool(true)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                Json::Bool(false)
            }
            Some(b'n') => {
                self.literal(b"null")?;
                Json::Null
            }
            _ => return Err(Fault::Syntax),
        })
    }

    /// Reads the value at trie node `node`.
    fn node(&mut self, node: u32, at: &At<'_>, depth: usize) -> Result<(), Fault> {
        let Some((set, _)) = self.bind else {
            return self.skip(at, depth);
        };
        let trie = &set.trie;
        let Some(n) = trie.nodes.get(node as usize) else {
            return self.skip(at, depth);
        };
        if let Some(capture) = n.capture {
            // The value is kept as a range of the text; the known paths in it are typed
            // as anywhere else.
            self.skip_ws();
            let start = self.pos;
            if n.known_below {
                self.descend(set, node, at, depth)?;
            } else {
                self.skip(at, depth)?;
            }
            self.spans.push(Span {
                capture,
                start,
                end: self.pos,
            });
            return Ok(());
        }
        self.descend(set, node, at, depth)
    }

    /// [`Scan::node`] of a node whose value is typed or descended into.
    fn descend(
        &mut self,
        set: &'c Compiled,
        node: u32,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), Fault> {
        let trie = &set.trie;
        let Some(n) = trie.nodes.get(node as usize) else {
            return self.skip(at, depth);
        };
        if n.children.is_empty() && node != 0 {
            return self.leaf(set, n.known, at, depth);
        }
        match self.peek() {
            Some(b'{') => {
                self.object(at, depth, |s, key, here| match trie.child(node, key) {
                    Some(_) if node == 0 && key == "risk" => {
                        s.fail(root_key_error(key));
                        s.skip(here, depth + 1)
                    }
                    Some(child) => s.node(child, here, depth + 1),
                    None => {
                        if node == 0 {
                            s.fail(root_key_error(key));
                        }
                        s.skip(here, depth + 1)
                    }
                })?;
                if let Some(k) = n.known.and_then(|k| set.known.get(k as usize)) {
                    if let (Type::Object, Some(i)) = (&k.ty, k.slot) {
                        self.slots[i as usize] = Slot::Object;
                    }
                }
                Ok(())
            }
            Some(b'n') if node != 0 => self.literal(b"null"),
            _ => {
                let v = self.build(at, depth)?;
                self.fail(if node == 0 {
                    err(
                        "",
                        format!("a request is a JSON object, found {}", kind(&v)),
                    )
                } else {
                    err(&n.path, format!("expected an object, found {}", kind(&v)))
                });
                Ok(())
            }
        }
    }

    /// Stores the slot of known path `k` (and the request time).
    #[inline]
    fn put(&mut self, set: &Compiled, k: u32, slot: Slot) {
        let Some(known) = set.known.get(k as usize) else {
            return;
        };
        if let Slot::Time(t) = slot {
            if set.trie.time == Some(k) {
                self.time = Some(t);
            }
        }
        if let Some(i) = known.slot {
            self.slots[i as usize] = slot;
        }
    }

    /// The text of a string read from the request: a range of the request's text
    /// when it had no escape.
    #[inline]
    fn text_of(&self, s: Str) -> Result<Text, Fault> {
        match (s, self.bind) {
            (Str::Range(a, b), Some((_, src))) if b - a > crate::slots::INLINE => {
                Text::slice(src, a, b).ok_or(Fault::Syntax)
            }
            (Str::Range(a, b), Some(_)) => self.text.get(a..b).map(Text::from).ok_or(Fault::Syntax),
            (Str::Range(a, b), None) => self.text.get(a..b).map(Text::from).ok_or(Fault::Syntax),
            (Str::Owned(o), _) => Ok(Text::from(o)),
        }
    }

    /// Reads the value of a known leaf into its slot: the common shapes straight from
    /// the text, anything else built as JSON and typed as the tree binder does (so
    /// every error is word for word the same).
    fn leaf(
        &mut self,
        set: &Compiled,
        known: Option<u32>,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), Fault> {
        let Some((k, path)) = known.and_then(|k| Some((k, set.known.get(k as usize)?))) else {
            return self.skip(at, depth);
        };
        let intern = |s: &str| set.intern_id(s);
        let fast = match (self.peek(), &path.ty) {
            (Some(b'n'), _) => return self.literal(b"null"),
            (Some(b'"'), Type::String | Type::Enum(_) | Type::Ip | Type::Time | Type::Duration) => {
                let start = self.pos;
                let s = self.string()?;
                let slot = match &path.ty {
                    Type::String => {
                        let id = intern(&self.cow_ref(&s)?);
                        Some(Slot::Str(id, self.text_of(s)?))
                    }
                    Type::Enum(members) => {
                        let str = self.cow_ref(&s)?;
                        match members.iter().any(|m| **m == *str) {
                            true => {
                                let id = intern(&str);
                                Some(Slot::Str(id, self.text_of(s)?))
                            }
                            false => None,
                        }
                    }
                    Type::Ip => self.cow(s)?.parse::<IpAddr>().ok().map(Slot::Ip),
                    Type::Time => crate::typing::instant(&self.cow(s)?).map(Slot::Time),
                    Type::Duration => writ_syntax::parse_duration(&self.cow(s)?).map(Slot::Dur),
                    _ => None,
                };
                if slot.is_none() {
                    // Read again as JSON, for the error: a fault path only.
                    self.pos = start;
                }
                slot
            }
            (Some(b't' | b'f'), Type::Bool) => {
                let b = self.bytes.get(self.pos) == Some(&b't');
                self.literal(if b { b"true" } else { b"false" })?;
                Some(Slot::Bool(b))
            }
            (Some(b'-' | b'0'..=b'9'), Type::Int | Type::Number | Type::Duration) => {
                let start = self.pos;
                let n = self.number(at)?;
                let slot = match (&path.ty, n.int, n.float) {
                    (Type::Int | Type::Number, Some(i), _) => Some(Slot::Int(i)),
                    (Type::Number, None, Some(f)) => Some(Slot::Num(f)),
                    (Type::Duration, Some(i), _) => u64::try_from(i).ok().map(Slot::Dur),
                    _ => None,
                };
                if slot.is_none() {
                    self.pos = start;
                }
                slot
            }
            (Some(b'['), Type::Set) => self.set(at, depth, &intern)?,
            (Some(b'{'), Type::Object) => {
                self.skip(at, depth)?;
                Some(Slot::Object)
            }
            _ => None,
        };
        let slot = match fast {
            Some(slot) => slot,
            None => {
                let v = self.build(at, depth)?;
                match typed(&path.text, &path.ty, &v, &intern) {
                    Ok(slot) => slot,
                    Err(e) => {
                        self.fail(e);
                        return Ok(());
                    }
                }
            }
        };
        self.put(set, k, slot);
        Ok(())
    }

    /// A set of strings (at its `[`); `None` (read again as JSON) when an element is
    /// not a string.
    fn set(
        &mut self,
        at: &At<'_>,
        depth: usize,
        intern: &dyn Fn(&str) -> u32,
    ) -> Result<Option<Slot>, Fault> {
        let start = self.pos;
        // Most sets are small: gathered on the stack, then allocated once at their size.
        let mut few: [(u32, Text); FEW] = Default::default();
        let mut n = 0usize;
        let mut more: Vec<(u32, Text)> = Vec::new();
        let mut strings = true;
        self.list(at, depth, |s, here| {
            if strings && s.peek() == Some(b'"') {
                let v = s.string()?;
                let id = intern(&s.cow_ref(&v)?);
                let text = s.text_of(v)?;
                match few.get_mut(n) {
                    Some(slot) => {
                        *slot = (id, text);
                        n += 1;
                    }
                    None => more.push((id, text)),
                }
                Ok(())
            } else {
                strings = false;
                s.skip(here, depth + 1)
            }
        })?;
        if !strings {
            self.pos = start;
            return Ok(None);
        }
        Ok(Some(Slot::Set(SetVal::gathered(&mut few[..n], more))))
    }

    /// A string read, as text (borrowed from the request, or from `s`).
    #[inline]
    fn cow_ref<'s>(&self, s: &'s Str) -> Result<Cow<'s, str>, Fault>
    where
        't: 's,
    {
        match s {
            Str::Range(a, b) => self
                .text
                .get(*a..*b)
                .map(Cow::Borrowed)
                .ok_or(Fault::Syntax),
            Str::Owned(o) => Ok(Cow::Borrowed(o.as_str())),
        }
    }

    /// A decoded string as text borrowed from the request when it had no escape.
    #[inline]
    fn cow(&self, s: Str) -> Result<Cow<'t, str>, Fault> {
        match s {
            Str::Range(a, b) => self.text.get(a..b).map(Cow::Borrowed).ok_or(Fault::Syntax),
            Str::Owned(o) => Ok(Cow::Owned(o)),
        }
    }

    /// Reads a string (at its opening quote): its range in the text when it has no
    /// escape, decoded otherwise.
    #[inline]
    fn string(&mut self) -> Result<Str, Fault> {
        let start = self.pos + 1;
        let end = plain_run(self.bytes, start);
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            return Ok(Str::Range(start, end));
        }
        self.pos = start;
        self.escaped(start)
    }

    /// [`Scan::string`] past its first escape (or fault).
    #[cold]
    fn escaped(&mut self, start: usize) -> Result<Str, Fault> {
        let mut out: Option<String> = None;
        loop {
            let run = self.pos;
            self.pos = plain_run(self.bytes, self.pos);
            if let Some(o) = out.as_mut() {
                o.push_str(self.text.get(run..self.pos).ok_or(Fault::Syntax)?);
            }
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match out {
                        Some(o) => Str::Owned(o),
                        None => Str::Range(start, self.pos - 1),
                    });
                }
                Some(b'\\') => {
                    let o = match out.as_mut() {
                        Some(o) => o,
                        None => out.insert(
                            self.text
                                .get(start..self.pos)
                                .ok_or(Fault::Syntax)?
                                .to_string(),
                        ),
                    };
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
                            let hi = hex4(self.text, &mut self.pos)?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(Fault::Syntax);
                                }
                                self.pos += 2;
                                let lo = hex4(self.text, &mut self.pos)?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(Fault::Syntax);
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            o.push(char::from_u32(code).ok_or(Fault::Syntax)?);
                            continue;
                        }
                        _ => return Err(Fault::Syntax),
                    };
                    self.pos += 1;
                    o.push(c);
                }
                _ => return Err(Fault::Syntax),
            }
        }
    }

    /// Reads a number (JSON's grammar), refusing one the canonical form cannot represent
    /// exactly; a double beyond range is a binding fault (serde_json's, kept pending).
    fn number(&mut self, at: &At<'_>) -> Result<Num, Fault> {
        let start = self.pos;
        let negative = self.bytes.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Fault::Syntax),
        }
        let int_end = self.pos;
        let mut integer = true;
        if self.bytes.get(self.pos) == Some(&b'.') {
            integer = false;
            self.pos += 1;
            if !self.digits_some() {
                return Err(Fault::Syntax);
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if !self.digits_some() {
                return Err(Fault::Syntax);
            }
        }
        let text = self.text.get(start..self.pos).ok_or(Fault::Syntax)?;
        if integer {
            let digits = self.bytes.get(int_start..int_end).unwrap_or_default();
            let magnitude = (digits.len() <= 16)
                .then(|| {
                    digits
                        .iter()
                        .fold(0u64, |m, d| m * 10 + u64::from(d - b'0'))
                })
                .filter(|m| *m <= MAX_EXACT_INT);
            let Some(m) = magnitude.and_then(|m| i64::try_from(m).ok()) else {
                return Err(strict::inexact(&at.path(), text).into());
            };
            return Ok(match (negative, m) {
                (true, 0) => Num {
                    int: None,
                    float: Some(-0.0),
                },
                (true, m) => Num {
                    int: Some(-m),
                    float: None,
                },
                (false, m) => Num {
                    int: Some(m),
                    float: None,
                },
            });
        }
        match strict::float(text) {
            Float::Exact(f) => Ok(Num {
                int: None,
                float: Some(f),
            }),
            Float::Inexact => Err(strict::inexact(&at.path(), text).into()),
            Float::OutOfRange => {
                if self.pending.is_none() {
                    self.pending = Some(Pending::Range);
                }
                Ok(Num {
                    int: None,
                    float: None,
                })
            }
        }
    }

    fn digits(&mut self) {
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }

    fn digits_some(&mut self) -> bool {
        let from = self.pos;
        self.digits();
        self.pos > from
    }
}

/// The keys of one object read so far: a repeated key is refused.
struct Seen<'t> {
    /// The first keys borrowed from the text (most objects have no more).
    small: [&'t str; 8],
    n: usize,
    /// The rest.
    more: Vec<Cow<'t, str>>,
    /// All of them once there are many.
    index: Option<HashSet<Cow<'t, str>>>,
}

impl<'t> Seen<'t> {
    fn new() -> Seen<'t> {
        Seen {
            small: [""; 8],
            n: 0,
            more: Vec::new(),
            index: None,
        }
    }

    /// Adds `key`; `false` when it was there already.
    #[allow(
        clippy::ptr_arg,
        reason = "a borrowed key is kept as the text's own `&'t str`"
    )]
    #[inline]
    fn insert(&mut self, key: &Cow<'t, str>) -> bool {
        if let Some(index) = self.index.as_mut() {
            return index.insert(key.clone());
        }
        let k = key.as_bytes();
        if self.small[..self.n].iter().any(|s| same(s.as_bytes(), k))
            || self.more.iter().any(|s| same(s.as_bytes(), k))
        {
            return false;
        }
        match key {
            Cow::Borrowed(b) if self.n < self.small.len() => {
                self.small[self.n] = b;
                self.n += 1;
            }
            _ => self.more.push(key.clone()),
        }
        // Objects are small: a linear search, then a hash set past a few dozen keys.
        if self.n + self.more.len() >= 32 {
            let mut index: HashSet<Cow<'t, str>> = self.small[..self.n]
                .iter()
                .map(|s| Cow::Borrowed(*s))
                .collect();
            index.extend(self.more.drain(..));
            self.index = Some(index);
        }
        true
    }
}

/// Byte equality without a call (keys are short).
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Where the run of plain string bytes from `pos` ends: at the first `"`, `\\` or
/// control character (or the end of the text), eight bytes at a time.
#[inline]
pub(crate) fn plain_run(bytes: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    while let Some(word) = bytes
        .get(pos..pos + 8)
        .and_then(|c| <[u8; 8]>::try_from(c).ok())
    {
        let w = u64::from_le_bytes(word);
        // A byte equal to `"` or `\\`, or below 0x20 (`w - 0x20…` borrows there);
        // the lowest flagged byte is exact (a false flag can only sit above a true one).
        let found = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if found != 0 {
            return pos + (found.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while let Some(&b) = bytes.get(pos) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        pos += 1;
    }
    pos
}

/// Four hex digits at `*pos`.
fn hex4(text: &str, pos: &mut usize) -> Result<u32, Fault> {
    let digits = text.get(*pos..*pos + 4).ok_or(Fault::Syntax)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Fault::Syntax);
    }
    *pos += 4;
    u32::from_str_radix(digits, 16).map_err(|_| Fault::Syntax)
}

/// A root the request may not carry.
fn root_key_error(key: &str) -> BindError {
    if key == "risk" {
        return err(
            "risk",
            "`risk` is computed by the engine and cannot be part of a request",
        );
    }
    if ROOTS.contains(&key) {
        // A known root with nothing known under it in this set cannot happen (every
        // root has well-known paths), but stay correct if it does.
        return err(key, "unexpected request root");
    }
    let help = writ_check::closest(key, ROOTS.iter().copied())
        .map_or_else(String::new, |r| format!("; did you mean `{r}`?"));
    err(key, format!("unknown request root{help}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(strict::check_value(&v).is_ok());
        let v: Json = serde_json::from_str(&req(MAX_REQUEST_DEPTH)).unwrap();
        assert!(strict::check_value(&v).is_err());
        // Far beyond serde_json's own limit: refused, no deep recursion.
        assert!(scan_text(&req(100_000)).is_err());
    }

    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        for text in [
            "0",
            "-0",
            "5",
            "-5",
            "1.5",
            "-0.0",
            "1e2",
            "9007199254740991",
        ] {
            let mut scan = Scan::new(text, None);
            let n = scan.number(&At::Root).unwrap_or_else(|_| panic!("{text}"));
            let expected: Json = serde_json::from_str(text).unwrap();
            assert_eq!(n.json(), expected, "{text}");
            assert_eq!(n.json().is_f64(), expected.is_f64(), "{text}");
        }
    }
}
