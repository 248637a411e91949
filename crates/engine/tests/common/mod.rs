//! What the engine's test files share: one policy file checked into a set, its diagnostics
//! rendered when it does not check; the policy the binder tests bind against; and the
//! truth of a condition through both evaluators. Included by each test file with
//! `mod common;`.

#![allow(
    dead_code,
    reason = "each test file uses part of this module; the others see the rest unused"
)]
#![allow(clippy::panic, reason = "tests fail loudly")]

use serde_json::Value;
use writ_check::PolicySet;
use writ_engine::{Decision, Engine, Truth, Verdict};

/// The set the binder tests (`binders_agree.rs`, `builder.rs`) bind requests against:
/// every kind of slot (enum, number, set, int, string, address, duration, time), risk, an
/// approval binding `request.params`, one whose group is read from the request, and CEL.
pub const BINDING: &str = include_str!("../fixtures/binding.writ");

/// The engine of [`BINDING`].
pub fn binding_engine() -> Engine {
    engine_of("p.writ", BINDING)
}

/// The file `name` holding `text`, checked; `Err` is the rendered diagnostics, then the text.
pub fn checked(name: &str, text: &str) -> Result<PolicySet, String> {
    let mut sources = writ_syntax::SourceMap::default();
    sources.add(name, text.to_string());
    writ_check::check(sources).map_err(|r| {
        format!(
            "{}\n{text}",
            writ_syntax::render(&r.diagnostics, &r.sources, writ_syntax::Style::Plain)
        )
    })
}

/// The engine of the file `name` holding `text`; a text that does not check fails the test
/// with its diagnostics.
pub fn engine_of(name: &str, text: &str) -> Engine {
    Engine::new(checked(name, text).unwrap_or_else(|e| panic!("{e}")))
}

/// The engine of `prelude` (a schema, lets) followed by `policy`.
pub fn engine_with(prelude: &str, policy: &str) -> Engine {
    engine_of("t.writ", &format!("{prelude}\n{policy}"))
}

/// The truth of `cond` for `request` under `prelude`, through both evaluators: the
/// reference interpreter's value, which the compiled evaluator must agree with. A deny
/// rule fires on true or unknown, an allow rule only on true: together they tell the three
/// values apart through the compiled path too.
pub fn truth(prelude: &str, cond: &str, request: Value) -> Truth {
    let e = engine_with(
        prelude,
        &format!("rule \"d\" {{ when {cond} deny }}\nrule \"a\" {{ when {cond} allow }}"),
    );
    let req = e
        .bind(request.clone())
        .unwrap_or_else(|err| panic!("{err}"));
    let explained = e.explain(&req);
    let reference = explained.rules[0].condition.value;
    let d = e.decide(&req);
    assert_eq!(
        d, explained.decision,
        "compiled and reference disagree on `{cond}` for {request}"
    );
    let compiled = match (d.rules.is_empty(), d.decision) {
        (true, _) => Truth::False,
        (false, Verdict::Deny) if d.unknown.is_empty() && explained.rules[1].fired => Truth::True,
        (false, Verdict::Deny) => Truth::Unknown,
        (false, other) => panic!("`{cond}` for {request}: {other:?} from a deny and an allow rule"),
    };
    assert_eq!(compiled, reference, "`{cond}` for {request}");
    reference
}

/// The decision on `request`, which the reference interpreter must agree with.
pub fn decide(engine: &Engine, request: Value) -> Decision {
    let req = engine.bind(request).unwrap_or_else(|err| panic!("{err}"));
    let d = engine.decide(&req);
    assert_eq!(d, engine.explain(&req).decision);
    d
}

/// Sets the value at the path `segs` in `cur`, making the objects on the way; a value that
/// is not an object on the way keeps it (nothing is set).
pub fn put(cur: &mut Value, segs: &[&str], v: Value) {
    let Some(map) = cur.as_object_mut() else {
        return;
    };
    match segs {
        [] => {}
        [last] => {
            map.insert((*last).to_string(), v);
        }
        [first, rest @ ..] => put(
            map.entry((*first).to_string())
                .or_insert_with(|| Value::Object(serde_json::Map::new())),
            rest,
            v,
        ),
    }
}

/// A request of the `fields` that are present (each at its dotted path), under the
/// The request reduced to the value at `path` (or to the root key it names), for telling
/// whether a path a binder names is a fault on its own.
pub fn only(req: &Value, path: &str) -> Value {
    let segs: Vec<&str> = path
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s))
        .collect();
    let mut out = serde_json::json!({});
    let mut cur = req;
    for s in &segs {
        match cur.get(*s) {
            Some(v) => cur = v,
            None => return out,
        }
    }
    put(&mut out, &segs, cur.clone());
    out
}

/// `roots` that are always there, empty or not (the property tests' generators).
pub fn request_of<const N: usize>(roots: &[&str], fields: [(&str, Option<Value>); N]) -> Value {
    let mut root = Value::Object(serde_json::Map::new());
    for r in roots {
        put(&mut root, &[r], Value::Object(serde_json::Map::new()));
    }
    for (path, value) in fields {
        if let Some(v) = value {
            let segs: Vec<&str> = path.split('.').collect();
            put(&mut root, &segs, v);
        }
    }
    root
}

/// A random choice among `items` (the property tests' generators).
pub fn pick<T: Clone + std::fmt::Debug + 'static>(
    items: &[T],
) -> impl proptest::strategy::Strategy<Value = T> {
    proptest::sample::select(items.to_vec())
}

/// The engine of `policy` with the tree below the action and the guards of the global
/// rules, and the same set without them (`Engine::new_unindexed`).
pub fn indexed_and_unindexed(
    policy: &str,
) -> Result<(Engine, Engine), proptest::test_runner::TestCaseError> {
    let check = || checked("p.writ", policy).map_err(proptest::test_runner::TestCaseError::fail);
    Ok((Engine::new(check()?), Engine::new_unindexed(check()?)))
}

/// `request` decided by the indexed engine equals the unindexed engine's decision and the
/// reference interpreter's, field for field, and tries no more rules.
pub fn indexed_agrees(
    indexed: &Engine,
    unindexed: &Engine,
    policy: &str,
    request: &Value,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::test_runner::TestCaseError;
    let bind = |e: &Engine| {
        e.bind(request.clone())
            .map_err(|err| TestCaseError::fail(format!("{err}: {request}")))
    };
    let (a, b) = (bind(indexed)?, bind(unindexed)?);
    let fast = indexed.decide(&a);
    let mut plain = unindexed.decide(&b);
    // The two engines compile the same text, so only the version could differ.
    plain.policy_version = fast.policy_version.clone();
    proptest::prop_assert_eq!(&fast, &plain, "policy:\n{}\nrequest: {}", policy, request);
    let slow = indexed.explain(&a).decision;
    proptest::prop_assert_eq!(&fast, &slow, "policy:\n{}\nrequest: {}", policy, request);
    borrowed_agrees(indexed, &a, &fast)?;
    proptest::prop_assert!(indexed.rules_tried(&a) <= unindexed.rules_tried(&b));
    Ok(())
}

/// The borrowed decision of `request` reads, field by field, and serialises as `owned`,
/// the owned decision of the same request.
pub fn borrowed_agrees(
    engine: &Engine,
    request: &writ_engine::Request,
    owned: &Decision,
) -> Result<(), proptest::test_runner::TestCaseError> {
    let d = engine.decide_ref(request);
    proptest::prop_assert_eq!(d.verdict(), owned.decision);
    proptest::prop_assert_eq!(d.risk(), owned.risk);
    let signals: Vec<(&str, u32)> = owned.signals.iter().map(|s| (&*s.name, s.points)).collect();
    proptest::prop_assert_eq!(d.signals().collect::<Vec<_>>(), signals);
    let rules: Vec<&str> = owned.rules.iter().map(|r| &**r).collect();
    proptest::prop_assert_eq!(d.rules().collect::<Vec<_>>(), rules);
    proptest::prop_assert_eq!(d.message(), owned.message.as_deref());
    let obligations: Vec<_> = d.obligations().cloned().collect();
    proptest::prop_assert_eq!(&obligations, &owned.obligations);
    proptest::prop_assert_eq!(d.approval(), owned.approval.as_ref());
    proptest::prop_assert_eq!(d.ttl_s(), owned.ttl_s);
    proptest::prop_assert_eq!(d.unknown(), &owned.unknown[..]);
    proptest::prop_assert_eq!(d.policy_version(), &*owned.policy_version);
    proptest::prop_assert_eq!(&d.to_decision(), owned);
    proptest::prop_assert_eq!(d.to_json(), owned.to_json());
    // The hand-written JSON of the owned decision is serde_json's, byte for byte.
    proptest::prop_assert_eq!(
        owned.to_json(),
        serde_json::to_string(owned).unwrap_or_default()
    );
    Ok(())
}
