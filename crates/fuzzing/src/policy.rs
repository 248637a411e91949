//! Policy text: parse, check, compile, format and re-parse (`policy`); and the engine's
//! promises on a policy built from the input (`invariants`).

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde_json::Value as Json;
use writ_engine::Engine;
use writ_reload::{PolicyStore, ReloadEvent, StoreConfig};
use writ_syntax::erase::erase_spans;
use writ_syntax::{format_file, parse_file, render, FileId, SourceMap, Style};

use crate::fixture;
use crate::request::agree;

/// A few requests every compiled input policy decides.
const REQUESTS: &[&str] = &[
    r#"{}"#,
    r#"{"action": "a", "principal": {"id": "ann", "groups": ["g"], "kind": "human"}, "device": {"managed": true}, "network": {"ip": "10.1.2.3"}, "resource": {"id": "r1", "env": "prod", "level": 1}, "session": {"auth_age": "5m"}, "request": {"params": {"amount": 10, "tags": ["x"], "count": 2}}}"#,
    r#"{"action": "payments.transfer", "principal": {"id": "bot-7", "kind": "agent", "attested": true, "groups": ["payments-bots"]}, "request": {"params": {"amount": 250, "currency": "EUR", "payee": "ACME", "payee_new": false}}, "time": "2026-11-28T23:00:00Z"}"#,
    r#"{"action": "db.drop", "device": {"managed": false}, "network": {"ip": "fd00::1"}, "time": "2026-11-28T23:59:59.5Z"}"#,
];

/// Policy text → UTF-8 → parse → check (a one-file set) → compile; when it checks, the
/// canonical format must parse back to the same tree, keep every comment, format to
/// itself, and check again.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_file(FileId(0), text);
    let mut sources = SourceMap::default();
    sources.add("fuzz.writ", text);
    let set = match writ_check::check(sources) {
        Ok(set) => set,
        Err(rejected) => {
            // Rendering is what a user sees of a broken file: it must not fail either.
            let _ = render(&rejected.diagnostics, &rejected.sources, Style::Plain);
            for d in &rejected.diagnostics {
                let _ = d.one_line(&rejected.sources);
            }
            return;
        }
    };
    let file = match parsed {
        Ok(file) => file,
        Err(d) => fail(&format!(
            "the checker accepted a file the parser refuses: {d:?}"
        )),
    };
    let formatted = format_file(&file, text);
    let again = match parse_file(FileId(0), &formatted) {
        Ok(f) => f,
        Err(d) => fail(&format!(
            "the formatted text does not parse: {d:?}\n--- formatted:\n{formatted}"
        )),
    };
    let before: Vec<&str> = file.comments.iter().map(|c| c.text.as_str()).collect();
    let after: Vec<&str> = again.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(before, after, "formatting lost or changed a comment");
    assert_eq!(
        format_file(&again, &formatted),
        formatted,
        "formatting is not idempotent"
    );
    assert_eq!(
        erase_spans(file),
        erase_spans(again),
        "formatting changed the tree\n--- formatted:\n{formatted}"
    );
    let mut sources = SourceMap::default();
    sources.add("fuzz.writ", formatted.as_str());
    assert!(
        writ_check::check(sources).is_ok(),
        "the formatted text no longer checks\n--- formatted:\n{formatted}"
    );
    let engine = Engine::new(set).with_clock(fixture::clock());
    let _ = engine.compiled();
    for r in REQUESTS {
        if let Ok(req) = engine.bind_str(r) {
            let _ = engine.decide(&req);
        }
    }
}

/// Fails the target: a broken invariant is exactly what a target reports.
#[allow(
    clippy::panic,
    reason = "a broken invariant is what a fuzz target reports"
)]
pub(crate) fn fail(message: &str) -> ! {
    panic!("{message}")
}

/// The engine's promises, cheaply, on a policy built from the input (`POLICY` or
/// `POLICY\n---\nREQUEST`): when the text checks, every request binds alike from text and
/// from a value, and `decide` equals `explain`; when it does not, a reload that sees it
/// changes nothing.
pub fn invariants(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (policy, request) = match text.split_once("\n---\n") {
        Some((p, r)) => (p, Some(r)),
        None => (text, None),
    };
    let mut sources = SourceMap::default();
    sources.add("fuzz.writ", policy);
    match writ_check::check(sources) {
        Ok(set) => {
            let engine = Engine::new(set).with_clock(fixture::clock());
            for r in REQUESTS.iter().copied().chain(request) {
                for req in agree(&engine, r) {
                    let fast = engine.decide(&req);
                    let slow = engine.explain(&req).decision;
                    assert_eq!(fast, slow, "decide and explain disagree on {r}");
                }
            }
        }
        Err(_) => reload_changes_nothing(policy),
    }
}

/// A policy directory with a valid file and the file under test, behind a store.
struct Reloading {
    dir: PathBuf,
    store: PolicyStore,
    good_version: String,
}

/// The valid file beside the one under test.
const BASE: &str = r#"
let office = cidr ["10.0.0.0/8"]
rule "reads" { when action == "db.read" and network.ip in office allow }
"#;

/// What the file under test holds between inputs.
const BASELINE: &str = "rule \"writes\" { when action == \"db.write\" deny }\n";

/// The request the running set must answer the same before and after a refused reload.
const PROBE: &str = r#"{"action": "db.read", "network": {"ip": "10.0.0.1"}}"#;

#[allow(
    clippy::expect_used,
    reason = "a fixture that cannot be built is a harness bug; failing loudly is the point"
)]
fn reloading() -> &'static Mutex<Reloading> {
    static R: OnceLock<Mutex<Reloading>> = OnceLock::new();
    R.get_or_init(|| {
        let dir = fixture::scratch("reload");
        std::fs::write(dir.join("base.writ"), BASE).expect("write base.writ");
        std::fs::write(dir.join("fuzz.writ"), BASELINE).expect("write fuzz.writ");
        let store =
            PolicyStore::open_with_clock(&dir, StoreConfig::default(), Some(fixture::clock()))
                .expect("the fixture set loads");
        let good_version = store.version();
        Mutex::new(Reloading {
            dir,
            store,
            good_version,
        })
    })
}

fn probe(engine: &Engine) -> Option<Json> {
    let req = engine.bind_str(PROBE).ok()?;
    serde_json::to_value(engine.decide(&req)).ok()
}

fn reload_changes_nothing(policy: &str) {
    let guard = reloading()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let r = &*guard;
    let path = r.dir.join("fuzz.writ");
    if std::fs::write(&path, policy).is_err() {
        return;
    }
    let before = r.store.engine();
    let answer = probe(&before);
    match r.store.reload() {
        ReloadEvent::Rejected { kept, .. } => {
            let after = r.store.engine();
            assert_eq!(
                kept,
                before.version(),
                "a rejected reload reports another version"
            );
            assert_eq!(
                after.version(),
                before.version(),
                "a rejected reload changed the set"
            );
            assert_eq!(
                probe(&after),
                answer,
                "a rejected reload changed a decision"
            );
        }
        // The file may complete the other one (a `let` it names): then it is valid.
        ReloadEvent::Loaded { .. } | ReloadEvent::Unchanged { .. } => {}
    }
    // Back to the baseline for the next input.
    if std::fs::write(&path, BASELINE).is_ok() {
        let _ = r.store.reload();
        assert_eq!(
            r.store.version(),
            r.good_version,
            "the store did not come back to the baseline set"
        );
    }
}
