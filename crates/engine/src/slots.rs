//! The typed values of a bound request: one [`Slot`] per path the policy set reads,
//! strings interned against the set's constants and borrowed from the request text.
//!
//! This module depends on nothing else in the engine: the compiler, the binders and the
//! evaluator all point at it.

use std::fmt;
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

use jiff::Timestamp;

/// Interned id of a string the policy set never mentions.
pub const NO_ID: u32 = u32::MAX;

/// How many bytes a [`Text`] holds inline.
pub(crate) const INLINE: usize = 22;

impl Default for Text {
    fn default() -> Text {
        Text::inline("")
    }
}

/// A string of a request: short ones (most: names, ids, groups) held inline, longer ones
/// a range of a shared text (the request as received, so that binding copies no long
/// string) or a text of their own. Reads as `&str`; cloning it copies at most 24 bytes
/// or counts a reference, and making one allocates nothing unless it is long and has
/// no shared text to point into.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared { src: Arc<str>, start: u32, end: u32 },
}

impl Text {
    /// The range `start..end` of `src`: inline when short, else pointing into `src`;
    /// `None` when it is not a range of `src` (out of bounds, not on character
    /// boundaries, or beyond 4 GiB).
    pub(crate) fn slice(src: &Arc<str>, start: usize, end: usize) -> Option<Text> {
        let s = src.get(start..end)?;
        if s.len() <= INLINE {
            return Some(Text::inline(s));
        }
        Some(Text(Repr::Shared {
            src: src.clone(),
            start: u32::try_from(start).ok()?,
            end: u32::try_from(end).ok()?,
        }))
    }

    /// A short string held inline (at most [`INLINE`] bytes; longer is cut, which the
    /// callers rule out).
    fn inline(s: &str) -> Text {
        let mut bytes = [0u8; INLINE];
        let len = s.len().min(INLINE);
        bytes[..len].copy_from_slice(&s.as_bytes()[..len]);
        Text(Repr::Inline {
            len: u8::try_from(len).unwrap_or(0),
            bytes,
        })
    }

    /// The text as a `&str`.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Copied from a `&str` whole (never cut: see `inline`'s callers), so valid
            // UTF-8; the check is a few word compares on these lengths.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            // Built only over valid ranges (see `slice`, `From`).
            Repr::Shared { src, start, end } => {
                src.get(*start as usize..*end as usize).unwrap_or_default()
            }
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        if s.len() <= INLINE {
            return Text::inline(s);
        }
        Text::from(Arc::<str>::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.len() <= INLINE {
            return Text::inline(&s);
        }
        Text::from(Arc::<str>::from(s))
    }
}

impl From<Arc<str>> for Text {
    fn from(src: Arc<str>) -> Text {
        if src.len() <= INLINE {
            return Text::inline(&src);
        }
        match u32::try_from(src.len()) {
            Ok(end) => Text(Repr::Shared { src, start: 0, end }),
            // Longer than 4 GiB: no request is (a request text is bounded far below).
            Err(_) => Text::inline(""),
        }
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed value at one path of a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Slot {
    /// Absent or `null`: unknown.
    Missing,
    /// A string and its interned id ([`NO_ID`] when the set never mentions it). Texts are
    /// shared, so that a copy of a bound request ([`crate::Engine::at_time`]) is cheap.
    Str(u32, Text),
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
    /// An object (its members are read through their own paths).
    Object,
}

/// A set of strings as bound: the interned ids (sorted, without strings the policy set
/// never mentions), the texts, and whether some text was not interned.
#[derive(Clone, Debug, PartialEq)]
pub struct SetVal {
    /// Interned ids, sorted, deduplicated.
    pub ids: Box<[u32]>,
    /// Every element as sent.
    pub texts: Box<[Text]>,
    /// True when some element is a string the policy set never mentions.
    pub foreign: bool,
}

impl SetVal {
    /// A set of `texts`, interned with `intern`.
    pub(crate) fn new(texts: Vec<Text>, intern: &dyn Fn(&str) -> u32) -> SetVal {
        let ids = texts.iter().map(|t| intern(t)).collect();
        SetVal::interned(texts, ids)
    }

    /// A set of the `(id, text)` pairs in `few` then `more` (ids as in
    /// [`SetVal::interned`]); allocates each part once, at its size.
    pub(crate) fn gathered(few: &mut [(u32, Text)], more: Vec<(u32, Text)>) -> SetVal {
        if !more.is_empty() || few.len() > 8 {
            let (ids, texts) = few
                .iter_mut()
                .map(|(id, t)| (*id, std::mem::take(t)))
                .chain(more)
                .unzip();
            return SetVal::interned(texts, ids);
        }
        let foreign = few.iter().any(|(id, _)| *id == NO_ID);
        let mut ids: [u32; 8] = [NO_ID; 8];
        let mut m = 0;
        for (id, _) in few.iter() {
            if *id != NO_ID {
                if let Some(slot) = ids.get_mut(m) {
                    *slot = *id;
                    m += 1;
                }
            }
        }
        let ids = &mut ids[..m];
        ids.sort_unstable();
        let mut kept = 0;
        for i in 0..ids.len() {
            if i == 0 || ids[i] != ids[kept - 1] {
                ids[kept] = ids[i];
                kept += 1;
            }
        }
        SetVal {
            ids: Box::from(&ids[..kept]),
            texts: few.iter_mut().map(|(_, t)| std::mem::take(t)).collect(),
            foreign,
        }
    }

    /// A set of `texts` whose ids (in the same order, [`NO_ID`] for a string the set
    /// never mentions) are `ids`.
    pub(crate) fn interned(texts: Vec<Text>, mut ids: Vec<u32>) -> SetVal {
        let foreign = ids.contains(&NO_ID);
        ids.retain(|id| *id != NO_ID);
        ids.sort_unstable();
        ids.dedup();
        SetVal {
            ids: ids.into_boxed_slice(),
            texts: texts.into_boxed_slice(),
            foreign,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gathered_set_is_the_interned_set() {
        let intern = |s: &str| match s {
            "a" => 1,
            "b" => 2,
            "c" => 0,
            _ => NO_ID,
        };
        for case in [
            vec![],
            vec!["a"],
            vec!["x"],
            vec!["b", "a", "b", "x", "c"],
            vec!["c"; 8],
            vec!["a", "b", "c", "x", "a", "b", "c", "y", "z", "a"],
        ] {
            let texts: Vec<Text> = case.iter().map(|s| Text::from(*s)).collect();
            let expected = SetVal::new(texts.clone(), &intern);
            let mut pairs: Vec<(u32, Text)> =
                texts.iter().map(|t| (intern(t), t.clone())).collect();
            let more = pairs.split_off(pairs.len().min(8));
            assert_eq!(SetVal::gathered(&mut pairs, more), expected, "{case:?}");
        }
    }

    #[test]
    fn a_slot_stays_small() {
        // Slots are moved and copied per request: keep them at most six words.
        assert!(
            std::mem::size_of::<Slot>() <= 48,
            "{}",
            std::mem::size_of::<Slot>()
        );
    }

    #[test]
    fn texts_read_as_their_range() {
        let long = "a string of more than twenty-two bytes, é";
        let text = format!(r#"{{"a":"héllo","b":"{long}"}}"#);
        let src: Arc<str> = Arc::from(text.as_str());
        let t = Text::slice(&src, 6, 12).unwrap();
        assert_eq!(&*t, "héllo");
        assert_eq!(t, Text::from("héllo"));
        let start = text.find(long).unwrap();
        let t = Text::slice(&src, start, start + long.len()).unwrap();
        assert_eq!(&*t, long);
        assert_eq!(t, Text::from(long.to_string()));
        assert_eq!(&*Text::from(Arc::<str>::from(long)), long);
        // Exactly the inline size, and one more.
        for s in ["é".repeat(11), format!("{}x", "é".repeat(11))] {
            assert_eq!(&*Text::from(s.as_str()), s);
        }
        // Not on a character boundary: refused, never a wrong text.
        assert!(Text::slice(&src, 6, 8).is_none());
        assert!(Text::slice(&src, 6, 1000).is_none());
    }
}
