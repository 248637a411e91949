//! Streaming binding: request JSON text → typed slots in one pass, without building a
//! JSON tree. A trie of the known paths steers the parse: objects on a known path are
//! descended, known leaves are typed, every other subtree is skipped unparsed.
//!
//! The full JSON tree is built later, and only when something needs it (a transaction
//! digest, CEL leaves, a re-bind for another policy version).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value as Json;
use writ_check::types::{Type, ROOTS};

use crate::compile::{Compiled, KnownPath};
use crate::request::{typed, BindError, Slot};

/// A trie over the known paths: node 0 is the request root.
#[derive(Clone, Debug, Default)]
pub(crate) struct PathTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Clone, Debug, Default)]
struct TrieNode {
    /// The dotted path to this node (`device`, `device.managed`).
    path: String,
    children: Vec<(Box<str>, u32)>,
    /// Index into `Compiled::known` when this node is a known path.
    known: Option<u32>,
}

impl PathTrie {
    pub(crate) fn new(known: &[KnownPath]) -> PathTrie {
        let mut t = PathTrie {
            nodes: vec![TrieNode::default()],
        };
        for (i, k) in known.iter().enumerate() {
            let mut cur = 0usize;
            for seg in k.segments.iter() {
                let next = t.nodes[cur]
                    .children
                    .iter()
                    .find(|(s, _)| s == seg)
                    .map(|(_, n)| *n as usize);
                cur = match next {
                    Some(n) => n,
                    None => {
                        let path = if cur == 0 {
                            seg.to_string()
                        } else {
                            format!("{}.{seg}", t.nodes[cur].path)
                        };
                        t.nodes.push(TrieNode {
                            path,
                            ..TrieNode::default()
                        });
                        let n = t.nodes.len() - 1;
                        t.nodes[cur]
                            .children
                            .push((seg.clone(), u32::try_from(n).unwrap_or(u32::MAX)));
                        n
                    }
                };
            }
            t.nodes[cur].known = Some(u32::try_from(i).unwrap_or(u32::MAX));
        }
        t
    }
}

struct Out<'s> {
    set: &'s Compiled,
    slots: Vec<Slot>,
    time: Option<jiff::Timestamp>,
    error: Option<BindError>,
}

impl Out<'_> {
    fn fail<E: de::Error>(&mut self, path: &str, message: String) -> E {
        self.error = Some(BindError {
            path: path.to_string(),
            message,
        });
        E::custom("invalid request")
    }
}

/// Binds JSON text into slots; returns the slots and the request's own `time`.
pub(crate) fn bind_slots(
    set: &Compiled,
    text: &str,
) -> Result<(Vec<Slot>, Option<jiff::Timestamp>), BindError> {
    let mut out = Out {
        set,
        slots: vec![Slot::Missing; set.paths.len()],
        time: None,
        error: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let result = NodeSeed {
        out: &mut out,
        node: 0,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    if let Some(e) = out.error {
        return Err(e);
    }
    if let Err(e) = result {
        return Err(BindError {
            path: String::new(),
            message: format!("not valid JSON: {e}"),
        });
    }
    Ok((out.slots, out.time))
}

struct NodeSeed<'a, 's> {
    out: &'a mut Out<'s>,
    node: u32,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let trie = &self.out.set.trie.nodes[self.node as usize];
        if trie.children.is_empty() && self.node != 0 {
            // A leaf: its value is small; type it with the same rules as `bind`.
            let v = Json::deserialize(d)?;
            return self.leaf(&v);
        }
        d.deserialize_any(self)
    }
}

impl NodeSeed<'_, '_> {
    fn leaf<E: de::Error>(self, v: &Json) -> Result<(), E> {
        if v.is_null() {
            return Ok(());
        }
        let set = self.out.set;
        let Some(k) = set.trie.nodes[self.node as usize].known else {
            return Ok(());
        };
        let known = &set.known[k as usize];
        let slot = typed(&known.text, &known.ty, v, &|s| set.intern_id(s));
        match slot {
            Ok(slot) => {
                if let Slot::Time(t) = slot {
                    if known.text == "time" {
                        self.out.time = Some(t);
                    }
                }
                if let Some(i) = known.slot {
                    self.out.slots[i as usize] = slot;
                }
                Ok(())
            }
            Err(e) => {
                self.out.error = Some(e);
                Err(E::custom("invalid request"))
            }
        }
    }

    fn not_object<E: de::Error>(self, found: &str) -> Result<(), E> {
        if self.node == 0 {
            let msg = format!("a request is a JSON object, found {found}");
            return Err(self.out.fail("", msg));
        }
        let path = self.out.set.trie.nodes[self.node as usize].path.clone();
        Err(self
            .out
            .fail(&path, format!("expected an object, found {found}")))
    }
}

/// Matches a key against a node's children without allocating.
struct KeySeed<'t> {
    children: &'t [(Box<str>, u32)],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Result<u32, String>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Result<u32, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(match self.children.iter().find(|(s, _)| **s == *key) {
            Some((_, n)) => Ok(*n),
            None => Err(key.to_string()),
        })
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let set = self.out.set;
        let node = &set.trie.nodes[self.node as usize];
        // Known keys seen in this object: a key given twice is refused, so the rules can
        // never read one value while the digest, CEL or the service reads another.
        let mut seen: Vec<u32> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            children: &node.children,
        })? {
            match key {
                Ok(child) if self.node == 0 && set.trie.nodes[child as usize].path == "risk" => {
                    return Err(root_key_error(self.out, "risk"));
                }
                Ok(child) if seen.contains(&child) => {
                    let path = set.trie.nodes[child as usize].path.clone();
                    return Err(self
                        .out
                        .fail(&path, "the key appears twice in the request".into()));
                }
                Ok(child) => {
                    seen.push(child);
                    map.next_value_seed(NodeSeed {
                        out: self.out,
                        node: child,
                    })?
                }
                Err(name) => {
                    if self.node == 0 {
                        return Err(root_key_error(self.out, &name));
                    }
                    // Parsed as strictly as a full JSON parse (number range, escapes), so
                    // the request re-read later for a digest or CEL is the one bound here.
                    map.next_value::<Json>()?;
                }
            }
        }
        if let Some(k) = node.known {
            let known = &set.known[k as usize];
            if let (Type::Object, Some(i)) = (&known.ty, known.slot) {
                self.out.slots[i as usize] = Slot::Object;
            }
        }
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        if self.node == 0 {
            return self.not_object("null");
        }
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_object("a bool")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_object("an integer")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_object("an integer")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_object("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_object("a string")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_object("a list")
    }
}

fn root_key_error<E: de::Error>(out: &mut Out<'_>, key: &str) -> E {
    if key == "risk" {
        return out.fail(
            "risk",
            "`risk` is computed by the engine and cannot be part of a request".into(),
        );
    }
    if ROOTS.contains(&key) {
        // A known root with nothing known under it in this set cannot happen (every
        // root has well-known paths), but stay correct if it does.
        return out.fail(key, "unexpected request root".into());
    }
    let help = writ_check::closest(key, ROOTS.iter().copied())
        .map_or_else(String::new, |r| format!("; did you mean `{r}`?"));
    out.fail(key, format!("unknown request root{help}"))
}
