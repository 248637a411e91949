//! The decision as the engine first gives it: indices into the engine's tables, names and
//! lists read from there on demand ([`DecisionRef`]). An `allow` or a `deny` allocates
//! nothing and touches no reference count; the owned [`Decision`] is made from it only
//! when asked ([`DecisionRef::to_decision`]), and both serialise to the same JSON
//! (docs/language.md §14).

use std::sync::Arc;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use writ_check::ir::Effect;

use crate::combine::Meta;
use crate::decision::{ApprovalOut, Decision, Few, ObligationOut, SignalHit, Verdict};

/// One decision, borrowed from the engine that made it. Read it with its accessors,
/// serialise it (the same JSON as [`Decision`]), or keep it with
/// [`DecisionRef::to_decision`].
///
/// ```
/// let engine = writ_engine::Engine::new(writ_check::check({
///     let mut s = writ_syntax::SourceMap::default();
///     s.add("p.writ", r#"rule "reads" { when action == "db.read" allow }"#);
///     s
/// }).unwrap());
/// let req = engine.bind_str(r#"{"action": "db.read"}"#).unwrap();
/// let d = engine.decide_ref(&req);
/// assert_eq!(d.verdict(), writ_engine::Verdict::Allow);
/// assert_eq!(d.rules().collect::<Vec<_>>(), ["reads"]);
/// assert_eq!(d.to_json(), engine.decide(&req).to_json());
/// ```
#[derive(Clone)]
pub struct DecisionRef<'e> {
    meta: &'e Meta,
    verdict: Verdict,
    risk: u32,
    /// The signals that counted, by index, in set order.
    signals: Few<u32>,
    /// The rules that produced the decision, by index, in set order.
    rules: Few<u32>,
    /// What only some decisions carry: boxed, so that the common ones stay small.
    rare: Option<Box<Rare>>,
}

/// The parts of a decision made per request rather than read from the set.
#[derive(Clone, Default)]
struct Rare {
    /// Set when the decision was turned into a refusal ([`Decision::refuse`]): its message.
    refusal: Option<Arc<str>>,
    approval: Option<ApprovalOut>,
    unknown: Vec<Arc<str>>,
}

impl<'e> DecisionRef<'e> {
    /// A deny with the given risk and counted signals, nothing fired yet.
    pub(crate) fn new(meta: &'e Meta, risk: u32, signals: Few<u32>) -> DecisionRef<'e> {
        DecisionRef {
            meta,
            verdict: Verdict::Deny,
            risk,
            signals,
            rules: Few::new(),
            rare: None,
        }
    }

    /// Records the winning effect and its rules, in set order.
    pub(crate) fn won(&mut self, verdict: Verdict, rules: Few<u32>) {
        self.verdict = verdict;
        self.rules = rules;
    }

    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Turns the decision into a `deny` saying `message`, as [`Decision::refuse`] does.
    pub(crate) fn refuse(&mut self, message: impl Into<Arc<str>>) {
        self.verdict = Verdict::Deny;
        let rare = self.rare_mut();
        rare.refusal = Some(message.into());
        rare.approval = None;
    }

    pub(crate) fn set_approval(&mut self, approval: ApprovalOut) {
        self.rare_mut().approval = Some(approval);
    }

    /// The list of missing paths, for the combiner to fill.
    pub(crate) fn unknown_mut(&mut self) -> &mut Vec<Arc<str>> {
        &mut self.rare_mut().unknown
    }

    fn refused(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.refusal.is_some())
    }

    /// `allow`, `deny` or `approve`.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Risk score, 0..=100.
    pub fn risk(&self) -> u32 {
        self.risk
    }

    /// The signals that counted, with their points, in set order.
    pub fn signals(&self) -> impl ExactSizeIterator<Item = (&'e str, u32)> + '_ {
        let meta = self.meta;
        self.signals.iter().map(move |&i| {
            let (name, points) = &meta.signals[i as usize];
            (&**name, *points)
        })
    }

    /// The rules that produced the decision, in set order (none when nothing fired).
    pub fn rules(&self) -> impl ExactSizeIterator<Item = &'e str> + '_ {
        let meta = self.meta;
        self.rules
            .iter()
            .map(move |&i| &*meta.rules[i as usize].name)
    }

    /// The winning deny rule's message, or the refusal's.
    pub fn message(&self) -> Option<&str> {
        if let Some(m) = self.rare.as_ref().and_then(|r| r.refusal.as_deref()) {
            return Some(m);
        }
        self.rules
            .iter()
            .find_map(|&i| self.meta.rules[i as usize].message.as_deref())
    }

    /// The obligations of the winning rules, in order, without duplicates (none for a
    /// refusal).
    pub fn obligations(&self) -> impl Iterator<Item = &'e ObligationOut> + '_ {
        let meta = self.meta;
        let rules: &[u32] = if self.refused() { &[] } else { &self.rules };
        let all = move || {
            rules
                .iter()
                .flat_map(move |&i| meta.rules[i as usize].obligations.iter())
        };
        all()
            .enumerate()
            .filter(move |(k, o)| !all().take(*k).any(|p| p == *o))
            .map(|(_, o)| o)
    }

    /// For a time-boxed `allow for D`: the shortest box, seconds.
    pub fn ttl_s(&self) -> Option<u64> {
        if self.verdict != Verdict::Allow || self.refused() {
            return None;
        }
        self.rules
            .iter()
            .filter_map(|&i| match self.meta.rules[i as usize].effect {
                Effect::Allow { ttl_s } => ttl_s,
                _ => None,
            })
            .min()
    }

    /// For `approve`: the merged requirements and the transaction binding.
    pub fn approval(&self) -> Option<&ApprovalOut> {
        self.rare.as_ref().and_then(|r| r.approval.as_ref())
    }

    /// Missing paths that made a winning rule fire or a signal count, sorted.
    pub fn unknown(&self) -> &[Arc<str>] {
        self.rare.as_ref().map_or(&[], |r| &r.unknown)
    }

    /// Content hash of the policy set that decided.
    pub fn policy_version(&self) -> &'e str {
        &self.meta.version
    }

    /// The owned decision, to keep or to send elsewhere.
    pub fn to_decision(&self) -> Decision {
        let mut d = Decision::empty(self.meta.version.clone());
        d.decision = self.verdict;
        d.risk = self.risk;
        d.signals = self
            .signals
            .iter()
            .map(|&i| {
                let (name, points) = &self.meta.signals[i as usize];
                SignalHit {
                    name: name.clone(),
                    points: *points,
                }
            })
            .collect();
        d.rules = self
            .rules
            .iter()
            .map(|&i| self.meta.rules[i as usize].name.clone())
            .collect();
        d.message = match self.rare.as_ref().and_then(|r| r.refusal.clone()) {
            Some(m) => Some(m),
            None => self
                .rules
                .iter()
                .find_map(|&i| self.meta.rules[i as usize].message.clone()),
        };
        d.obligations = self.obligations().cloned().collect();
        d.approval = self.approval().cloned();
        d.ttl_s = self.ttl_s();
        d.unknown = self.unknown().to_vec();
        d
    }

    /// The decision as compact JSON, exactly as [`Decision::to_json`] writes it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

impl std::fmt::Debug for DecisionRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_decision(), f)
    }
}

impl Serialize for DecisionRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Decision", 10)?;
        s.serialize_field("decision", &self.verdict)?;
        s.serialize_field("risk", &self.risk)?;
        s.serialize_field("signals", &Signals(self))?;
        s.serialize_field("rules", &Rules(self))?;
        s.serialize_field("message", &self.message())?;
        s.serialize_field("obligations", &Obligations(self))?;
        s.serialize_field("approval", &self.approval())?;
        s.serialize_field("ttl_s", &self.ttl_s())?;
        s.serialize_field("unknown", self.unknown())?;
        s.serialize_field("policy_version", self.policy_version())?;
        s.end()
    }
}

/// A counted signal as the JSON names it (`SignalHit`'s fields, borrowed).
#[derive(Serialize)]
struct Hit<'a> {
    name: &'a str,
    points: u32,
}

struct Signals<'a, 'e>(&'a DecisionRef<'e>);
struct Rules<'a, 'e>(&'a DecisionRef<'e>);
struct Obligations<'a, 'e>(&'a DecisionRef<'e>);

impl Serialize for Signals<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.signals().map(|(name, points)| Hit { name, points }))
    }
}

impl Serialize for Rules<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.rules())
    }
}

impl Serialize for Obligations<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.obligations())
    }
}
