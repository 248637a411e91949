//! The paths a request may carry, as the compiled set sees them ([`KnownPath`]), and the
//! trie over them that steers binding ([`PathTrie`]): objects on a known path are
//! descended, known leaves typed, every other subtree checked and skipped. Nodes whose
//! value something reads as JSON (the paths an approval binds, groups read from the
//! request, the roots CEL leaves read) are *captured*: where their value is in the text is
//! kept while the request is read, and it is built as JSON only when something reads it
//! (`request::Captured`), so that nothing parses the whole request a second time.

use std::sync::Arc;

use writ_check::ir::{ApproverGroup, Effect, PolicySet};
use writ_check::types::Type;

/// A path a request may carry.
#[derive(Clone, Debug)]
pub(crate) struct KnownPath {
    pub text: String,
    pub segments: Box<[Box<str>]>,
    pub ty: Type,
    /// The slot of a path the set reads.
    pub slot: Option<u32>,
}

/// A trie over the known paths: node 0 is the request root.
#[derive(Clone, Debug, Default)]
pub(crate) struct PathTrie {
    pub nodes: Vec<TrieNode>,
    /// The captured paths, outermost only (a path below a captured one is inside it).
    pub captures: Arc<[Box<str>]>,
    /// The index of `time` in `Compiled::known`.
    pub time: Option<u32>,
    /// Whether a request keeps its captured values (the set captures a path or has an
    /// approve rule, whose digest is computed over them even when it binds nothing).
    pub keeps: bool,
}

/// One node of the trie.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrieNode {
    /// The dotted path to this node (`device`, `device.managed`).
    pub path: String,
    /// How many segments `path` has (0 for the root).
    pub depth: u32,
    pub children: Vec<(Box<str>, u32)>,
    /// Index into `Compiled::known` when this node is a known path.
    pub known: Option<u32>,
    /// For a captured node (see the module's documentation): its index in
    /// [`PathTrie::captures`], which a request's ranges of captured values name.
    pub capture: Option<u32>,
    /// For a captured node: whether a known path is at or below it (its value is then
    /// descended and typed like any other; otherwise it is only checked and skipped).
    pub known_below: bool,
}

impl PathTrie {
    /// The trie of `known`, capturing what `set` reads as JSON: the paths its approvals
    /// bind, the paths its approver groups are read from and the roots of `cel_roots`.
    pub fn new(set: &PolicySet, known: &[KnownPath], cel_roots: &[String]) -> PathTrie {
        let mut t = PathTrie {
            nodes: vec![TrieNode::default()],
            captures: Arc::from(Vec::new()),
            keeps: false,
            time: known
                .iter()
                .position(|k| k.text == "time")
                .and_then(|i| u32::try_from(i).ok()),
        };
        for (i, k) in known.iter().enumerate() {
            let n = t.insert(&k.segments);
            if let Some(node) = t.nodes.get_mut(n) {
                node.known = Some(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        let mut captured: Vec<&str> = cel_roots.iter().map(String::as_str).collect();
        for r in &set.rules {
            if let Effect::Approve(a) = &r.effect {
                t.keeps = true;
                captured.extend(a.bind.iter().map(|p| set.path(*p).text.as_str()));
                for c in &a.approvers {
                    if let ApproverGroup::Path(p) = &c.group {
                        captured.push(set.path(*p).text.as_str());
                    }
                }
            }
        }
        captured.sort_unstable();
        captured.dedup();
        // Outermost only: `request` covers `request.params`.
        let outer: Vec<&str> = captured
            .iter()
            .copied()
            .filter(|p| !captured.iter().any(|q| q != p && covers(q, p)))
            .collect();
        for (i, p) in outer.iter().enumerate() {
            let segments: Vec<Box<str>> = p.split('.').map(Box::from).collect();
            let n = t.insert(&segments);
            if let Some(node) = t.nodes.get_mut(n) {
                node.capture = Some(u32::try_from(i).unwrap_or(u32::MAX));
                node.known_below = known.iter().any(|k| covers(p, &k.text));
            }
        }
        t.keeps |= !outer.is_empty();
        t.captures = outer.iter().map(|p| Box::from(*p)).collect();
        t
    }

    /// The node of `segments`, created (with its ancestors) when missing.
    fn insert(&mut self, segments: &[Box<str>]) -> usize {
        let mut cur = 0usize;
        for seg in segments {
            let next = self.nodes[cur]
                .children
                .iter()
                .find(|(s, _)| s == seg)
                .map(|(_, n)| *n as usize);
            cur = match next {
                Some(n) => n,
                None => {
                    let parent = &self.nodes[cur];
                    let path = if cur == 0 {
                        seg.to_string()
                    } else {
                        format!("{}.{seg}", parent.path)
                    };
                    let depth = parent.depth + 1;
                    self.nodes.push(TrieNode {
                        path,
                        depth,
                        ..TrieNode::default()
                    });
                    let n = self.nodes.len() - 1;
                    self.nodes[cur]
                        .children
                        .push((seg.clone(), u32::try_from(n).unwrap_or(u32::MAX)));
                    n
                }
            };
        }
        cur
    }

    /// The child of `node` named `key`.
    #[inline]
    pub fn child(&self, node: u32, key: &str) -> Option<u32> {
        self.nodes
            .get(node as usize)?
            .children
            .iter()
            .find(|(s, _)| crate::stream::same(s.as_bytes(), key.as_bytes()))
            .map(|(_, n)| *n)
    }
}

/// Whether the value at `outer` holds the value at `path` (`path` is `outer` or below it).
pub(crate) fn covers(outer: &str, path: &str) -> bool {
    path.strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_path_covers_itself_and_below() {
        assert!(covers("request", "request"));
        assert!(covers("request", "request.params.x"));
        assert!(!covers("request", "requested"));
        assert!(!covers("request.params", "request"));
    }
}
