//! The writ engine: compiles a checked policy set into a decision structure and answers
//! requests with allow, deny or approve (docs/language.md §8, §13–§15).
//!
//! ```
//! use writ_engine::Engine;
//!
//! let mut sources = writ_syntax::SourceMap::default();
//! sources.add("p.writ", r#"
//!     rule "reads" { when action == "db.read" and device.managed allow }
//!     rule "writes" { when action == "db.write" approve { approvers 1 of group "owners" } }
//! "#);
//! let engine = Engine::new(writ_check::check(sources).unwrap());
//!
//! let req = engine.bind_str(r#"{"action": "db.read", "device": {"managed": true}}"#).unwrap();
//! assert_eq!(engine.decide(&req).decision.as_str(), "allow");
//!
//! // Missing evidence never lowers the bar: no device posture, no allow.
//! let req = engine.bind_str(r#"{"action": "db.read"}"#).unwrap();
//! assert_eq!(engine.decide(&req).decision.as_str(), "deny");
//! ```
//!
//! Architecture Invariant: evaluation does no I/O and takes no lock; the engine never
//! sees pest types; the compiled structure carries no spans (the IR beside it does).

#![allow(
    clippy::result_large_err,
    reason = "diagnostics travel only on the error path, where their size does not matter"
)]

mod batch;
mod borrowed;
mod builder;
mod cel_run;
mod code;
mod combine;
mod compile;
mod decision;
pub mod digest;
mod eval;
mod guard;
mod hot;
mod json_out;
mod lists;
mod lone;
mod narrow;
mod prune;
mod reference;
mod request;
mod slots;
mod stream;
mod strict;
mod tables;
mod trie;
mod truth;
mod typing;
mod unknown;
mod vm;

use std::sync::Arc;

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};
use writ_check::PolicySet;

pub use batch::batch_items;
pub use borrowed::DecisionRef;
pub use builder::RequestBuilder;
pub use compile::Compiled;
pub use decision::{ApprovalOut, ApproverOut, Decision, Few, ObligationOut, SignalHit, Verdict};
pub use lone::Evaluated;
pub use reference::{CondTrace, Explanation, RuleTrace, SignalTrace};
pub use request::{lookup, BindError, Request};
pub use stream::parse_request;
pub use strict::{MAX_EXACT_INT, MAX_REQUEST_DEPTH};
pub use truth::Truth;

/// Where the engine reads the time when a request carries none.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// A compiled policy set, ready to decide.
pub struct Engine {
    set: Arc<PolicySet>,
    compiled: Compiled,
    meta: combine::Meta,
    version: Arc<str>,
    clock: Clock,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("version", &self.version)
            .field("rules", &self.set.rules.len())
            .finish_non_exhaustive()
    }
}

/// The content hash of a set's sources: names (relative to the directory they share, so
/// the same set has the same version wherever it is mounted and however its path is
/// written) and texts, in order.
pub fn version_of_sources(sources: &writ_syntax::SourceMap) -> String {
    let names: Vec<&str> = sources.iter().map(|(_, f)| f.name.as_str()).collect();
    let shared = shared_dir(&names);
    let mut h = Sha256::new();
    for (_, f) in sources.iter() {
        h.update(&f.name.as_bytes()[shared..]);
        h.update([0u8]);
        h.update(f.text.as_bytes());
        h.update([0u8]);
    }
    let out = h.finalize();
    out.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// The length of the directory prefix (up to and including a `/`) every name shares.
fn shared_dir(names: &[&str]) -> usize {
    let Some(first) = names.first() else {
        return 0;
    };
    let mut len = first.rfind('/').map_or(0, |i| i + 1);
    for name in &names[1..] {
        while len > 0 && !(name.len() >= len && name.as_bytes()[..len] == first.as_bytes()[..len]) {
            len = first[..len - 1].rfind('/').map_or(0, |i| i + 1);
        }
    }
    len
}

/// The content hash of a checked set.
pub fn version_of(set: &PolicySet) -> String {
    version_of_sources(&set.sources)
}

impl Engine {
    /// Compiles a checked set; the clock is the system clock.
    pub fn new(set: PolicySet) -> Engine {
        Engine::build(set, true)
    }

    fn build(set: PolicySet, index: bool) -> Engine {
        let compiled = compile::compile_with(&set, index);
        let version: Arc<str> = Arc::from(version_of(&set));
        let meta = combine::Meta::new(&set, version.clone());
        Engine {
            set: Arc::new(set),
            compiled,
            meta,
            version,
            clock: Arc::new(Timestamp::now),
        }
    }

    /// The same as [`Engine::new`] without the decision tree below the action: every rule
    /// filed under a request's action is tried. Decisions are identical (the test suite
    /// compares the two); it is the baseline the tree is measured and tested against.
    pub fn new_unindexed(set: PolicySet) -> Engine {
        Engine::build(set, false)
    }

    /// How many rules [`Engine::decide`] tries for this request: those its action reaches,
    /// less those the tree rules out, less the rules filed under every action whose guard
    /// (a cheap conjunct that reads one request value) is false (`writ bench` reports the
    /// average).
    pub fn rules_tried(&self, req: &Request) -> usize {
        let again = self.rebound(req);
        let req = again.as_ref().unwrap_or(req);
        let (mut out, mut acc, mut start) = (Vec::new(), Vec::new(), Vec::new());
        let set = &self.compiled;
        let cands = eval::candidates(
            set,
            req,
            eval::CandBufs {
                out: &mut out,
                acc: &mut acc,
                start: &mut start,
            },
        );
        let mut memo = vec![(0, Truth::Unknown); set.memo_len];
        let mut run = eval::Run {
            ctx: eval::Ctx { set, req, risk: 0 },
            memo: &mut memo,
            generation: 1,
        };
        match cands {
            eval::Cands::Flat(own, globals) => own
                .iter()
                .chain(globals.iter())
                .filter(|c| run.tried(c.rule, c.guarded))
                .count(),
            eval::Cands::Ids(list, _) => list
                .iter()
                .filter(|&&r| {
                    let guarded = set.rules.get(r as usize).is_some_and(|x| x.guard != 0);
                    run.tried(r, guarded)
                })
                .count(),
        }
    }

    /// The compiled tree under one action, as text (`writ explain --tree ACTION`): the
    /// rules the action reaches and the attributes they are split on.
    pub fn tree(&self, action: &str) -> String {
        let strings = self.compiled.strings();
        let rule_name = |r: u32| {
            self.set
                .rules
                .get(r as usize)
                .map_or_else(|| format!("#{r}"), |x| format!("{:?}", x.name))
        };
        let path = |slot: u32| {
            self.compiled
                .paths
                .get(slot as usize)
                .map_or_else(|| format!("#{slot}"), |p| p.text.clone())
        };
        let string = |id: u32| {
            strings
                .get(id as usize)
                .map_or_else(|| format!("#{id}"), |s| s.to_string())
        };
        match self.compiled.actions.get(self.compiled.intern_id(action)) {
            lists::Act::Tree(b) => {
                format!("action {action:?}: {}", b.render(&rule_name, &path, &string))
            }
            lists::Act::Flat(own) => {
                let mut rules: Vec<u32> = own
                    .iter()
                    .chain(self.compiled.actions.globals.iter())
                    .map(|c| c.rule)
                    .collect();
                rules.sort_unstable();
                let whole = narrow::Bucket::new(rules.into(), &[], None, false);
                format!(
                    "action {action:?}: {}",
                    whole.render(&rule_name, &path, &string)
                )
            }
            lists::Act::None => format!(
                "action {action:?} is no exact name in the set: it reaches the global rules and those whose pattern matches it, of {}",
                self.compiled.fallback.bucket.render(&rule_name, &path, &string)
            ),
        }
    }

    /// Replaces the clock used for requests without `time`.
    pub fn with_clock(mut self, clock: Clock) -> Engine {
        self.clock = clock;
        self
    }

    /// The content hash of the policy set.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The checked policy set.
    pub fn policy_set(&self) -> &PolicySet {
        &self.set
    }

    /// The compiled structure (for sizes and counts).
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// Binds request JSON text. Refused, naming the path: objects and lists nested
    /// deeper than [`MAX_REQUEST_DEPTH`], a key repeated in any object, a number the
    /// transaction digest cannot represent exactly (see [`parse_request`]).
    pub fn bind_str(&self, json: &str) -> Result<Request, BindError> {
        request::bind_str(&self.compiled, json, &*self.clock)
    }

    /// Binds a parsed request. The same rules as [`Engine::bind_str`] apply, except
    /// that a parsed value has already lost repeated keys and number texts: parse
    /// request text with [`parse_request`] (or bind it with `bind_str`) to refuse those.
    pub fn bind(&self, json: serde_json::Value) -> Result<Request, BindError> {
        request::bind(&self.compiled, json, &*self.clock)
    }

    /// The request evaluated at `time` instead of the `time` it carried (or the clock at
    /// binding): what [`Engine::bind`] of the request with `time` replaced would give, for
    /// the cost of a copy of its typed values — the request is neither parsed nor bound
    /// again. A request bound for another policy version is re-bound first.
    pub fn at_time(&self, req: &Request, time: Timestamp) -> Request {
        match self.rebound(req) {
            Some(r) => r.at(&self.compiled, time),
            None => req.at(&self.compiled, time),
        }
    }

    /// Re-binds a request bound for another engine (another policy version); a pinned
    /// time ([`Engine::at_time`]) stays pinned.
    fn rebound(&self, req: &Request) -> Option<Request> {
        if req.set_id == self.compiled.id {
            return None;
        }
        Some(self.rebound_for_another(req))
    }

    /// [`Engine::rebound`] of a request bound for another engine.
    #[cold]
    fn rebound_for_another(&self, req: &Request) -> Request {
        let again = self.rebound_as_sent(req);
        if req.pinned_time {
            again.at(&self.compiled, req.time)
        } else {
            again
        }
    }

    /// [`Engine::rebound`] before its time is pinned again.
    fn rebound_as_sent(&self, req: &Request) -> Request {
        // The request was valid for another version; this version may declare other
        // types. A request invalid here is decided as if it carried nothing at all.
        let again = match &req.raw {
            Some(raw) => request::bind_text(&self.compiled, raw.clone(), &|| req.time),
            None => request::bind(&self.compiled, req.json().clone(), &|| req.time),
        };
        again.unwrap_or_else(|_| {
            request::bind(
                &self.compiled,
                serde_json::Value::Object(Default::default()),
                &|| req.time,
            )
            .unwrap_or_else(|_| req.clone())
        })
    }

    /// Decides a bound request: the owned decision, [`Engine::decide_ref`]'s made to keep.
    #[inline]
    pub fn decide(&self, req: &Request) -> Decision {
        self.decide_ref(req).to_decision()
    }

    /// Decides a bound request, borrowing the names and lists the decision reports from
    /// this engine: an `allow` or a `deny` allocates nothing. The same decision as
    /// [`Engine::decide`]'s, read through accessors or serialised to the same JSON.
    #[inline]
    pub fn decide_ref(&self, req: &Request) -> DecisionRef<'_> {
        if req.set_id == self.compiled.id {
            self.decide_bound(req)
        } else {
            self.decide_bound(&self.rebound_for_another(req))
        }
    }

    /// [`Engine::decide_ref`] of a request bound for this engine.
    #[inline(always)]
    fn decide_bound(&self, req: &Request) -> DecisionRef<'_> {
        eval::evaluate(&self.compiled, req, |o| {
            combine::combine(&self.meta, req, o)
        })
    }

    /// Decides a bound request with the reference interpreter, and explains every rule
    /// and signal. Its decision equals [`Engine::decide`]'s (the test suite checks it).
    pub fn explain(&self, req: &Request) -> Explanation {
        match self.rebound(req) {
            Some(r) => reference::explain(&self.set, &self.meta, &r),
            None => reference::explain(&self.set, &self.meta, req),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(files: &[(&str, &str)]) -> String {
        let mut sources = writ_syntax::SourceMap::default();
        for (name, text) in files {
            sources.add(*name, *text);
        }
        version_of_sources(&sources)
    }

    #[test]
    fn the_version_does_not_depend_on_where_the_set_is_or_how_its_path_is_written() {
        let rel = version(&[("policies/db/a.writ", "x"), ("policies/db/sub/b.writ", "y")]);
        assert_eq!(
            rel,
            version(&[
                ("./policies/db/a.writ", "x"),
                ("./policies/db/sub/b.writ", "y")
            ])
        );
        assert_eq!(
            rel,
            version(&[("/srv/copy/a.writ", "x"), ("/srv/copy/sub/b.writ", "y")])
        );
        assert_eq!(version(&[("p/a.writ", "x")]), version(&[("a.writ", "x")]));
        // Names inside the set still count: a renamed file is another version.
        assert_ne!(
            rel,
            version(&[("policies/db/a.writ", "x"), ("policies/db/sub/c.writ", "y")])
        );
        assert_ne!(
            rel,
            version(&[("policies/db/a.writ", "x"), ("policies/db/sub/b.writ", "z")])
        );
        assert_eq!(shared_dir(&["ab/x", "abc/y"]), 0);
    }
}
