//! Policy test suites as data: the `*.test.toml` runner behind `writ test` and the
//! engine's own case files (docs/language.md §20).
//!
//! A suite belongs to the policy set in its directory (or, for a suite inside a `tests/`
//! directory, in the parent of it). [`run_suite`] runs one suite against an engine and
//! returns structured results — each case passed, failed (with the differences and the
//! explanation, for the caller to render) or had an invalid request; [`run_path`] loads
//! every set under a directory and runs its suites, for tests that only need the failures.
//!
//! Besides the expectations, every case checks that `explain` agrees with `decide`.

mod compare;
mod format;
mod request;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use writ_engine::{Engine, Explanation};

use crate::format::Suite;
use crate::request::{flatten, json_at, set_path, table_json};

/// How one case came out.
#[derive(Debug)]
pub enum Outcome {
    /// Everything it expects came out.
    Passed,
    /// Its request does not bind: why.
    InvalidRequest(String),
    /// Some expectation did not hold.
    Failed {
        /// One line per difference (`decision: expected allow, got deny`).
        diffs: Vec<String>,
        /// The decision's full trace.
        explanation: Box<Explanation>,
    },
}

/// One case's name and outcome.
#[derive(Debug)]
pub struct CaseRun {
    /// The case's `name`.
    pub name: String,
    /// How it came out.
    pub outcome: Outcome,
}

/// One suite's run: the cases run, in file order, and why the suite stopped, if it did.
#[derive(Debug, Default)]
pub struct SuiteRun {
    /// The cases run before the end (or before the error).
    pub cases: Vec<CaseRun>,
    /// Why the suite is invalid (unreadable, malformed, a case that cannot be built); the
    /// cases after it did not run.
    pub error: Option<String>,
}

impl SuiteRun {
    /// The number of cases passed and failed (an invalid request counts as failed).
    pub fn counts(&self) -> (usize, usize) {
        let passed = self
            .cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Passed))
            .count();
        (passed, self.cases.len() - passed)
    }
}

/// Every `*.test.toml` file under a path (or the path itself, if it is a file), sorted;
/// names starting with `.` are skipped.
pub fn find_suites(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    collect(path, &mut out)?;
    out.sort();
    Ok(out)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path)? {
        let p = entry?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect(&p, out)?;
        } else if name.ends_with(".test.toml") {
            out.push(p);
        }
    }
    Ok(())
}

/// The policy set directory a suite belongs to.
pub fn set_dir(suite: &Path) -> PathBuf {
    let dir = suite.parent().unwrap_or(Path::new(".")).to_path_buf();
    if dir.file_name().is_some_and(|n| n == "tests") {
        dir.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        dir
    }
}

/// Suites grouped by the policy set they belong to, sets in path order.
pub fn by_set(suites: Vec<PathBuf>) -> BTreeMap<PathBuf, Vec<PathBuf>> {
    let mut by_set: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for s in suites {
        by_set.entry(set_dir(&s)).or_default().push(s);
    }
    by_set
}

/// Runs one suite file against an engine.
pub fn run_suite(engine: &Engine, file: &Path) -> SuiteRun {
    let mut run = SuiteRun::default();
    if let Err(e) = run_cases(engine, file, &mut run.cases) {
        run.error = Some(e);
    }
    run
}

fn base_request(suite: &Suite, file: &Path) -> Result<Json, String> {
    Ok(match (&suite.base, &suite.base_file) {
        (Some(_), Some(_)) => return Err("give `base` or `base_file`, not both".into()),
        (Some(t), None) => table_json(t),
        (None, Some(f)) => read_base(file, f)?,
        (None, None) => Json::Object(Default::default()),
    })
}

/// A base request from a JSON file named relative to the suite.
fn read_base(suite: &Path, name: &str) -> Result<Json, String> {
    let path = suite.parent().unwrap_or(Path::new(".")).join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    writ_engine::parse_request(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

fn run_cases(engine: &Engine, file: &Path, out: &mut Vec<CaseRun>) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let suite: Suite = toml::from_str(&text).map_err(|e| e.to_string())?;
    let default_base = base_request(&suite, file)?;
    let mut named: BTreeMap<&str, Json> = BTreeMap::new();
    for (name, base) in &suite.bases {
        let request = match base {
            toml::Value::Table(t) => table_json(t),
            toml::Value::String(f) => read_base(file, f)?,
            _ => {
                return Err(format!(
                    "`bases.{name}` must be a request table or the name of a JSON file"
                ))
            }
        };
        named.insert(name, request);
    }
    if suite.case.is_empty() {
        return Err("no `[[case]]` in this suite".into());
    }
    for case in &suite.case {
        if !["allow", "deny", "approve"].contains(&case.expect.as_str()) {
            return Err(format!(
                "case \"{}\": `expect` must be allow, deny or approve, found `{}`",
                case.name, case.expect
            ));
        }
        for (rule, truth) in case.conditions.iter().flatten() {
            if !["true", "false", "unknown"].contains(&truth.as_str()) {
                return Err(format!(
                    "case \"{}\": `conditions` of {rule:?} must be true, false or unknown, found `{truth}`",
                    case.name
                ));
            }
        }
        let base = match &case.base {
            None => &default_base,
            Some(name) => named.get(name.as_str()).ok_or_else(|| {
                let defined: Vec<&str> = named.keys().copied().collect();
                format!(
                    "case \"{}\": `base` names `{name}`, which this suite does not define; expected one of the `[bases.NAME]` tables: {}",
                    case.name,
                    if defined.is_empty() {
                        "none defined".to_string()
                    } else {
                        defined.join(", ")
                    }
                )
            })?,
        };
        let mut req = base.clone();
        if let Some(set) = &case.set {
            let mut flat = Vec::new();
            flatten("", set, &mut flat);
            for (path, v) in flat {
                check_set_path(engine.policy_set(), base, &case.name, &path)?;
                set_path(&mut req, &path, Some(v));
            }
        }
        for path in &case.unset {
            if json_at(&req, path).is_none() {
                return Err(format!(
                    "case \"{}\": `unset` names `{path}`, which the base request does not have",
                    case.name
                ));
            }
            set_path(&mut req, path, None);
        }
        let outcome = match engine.bind(req) {
            Err(e) => Outcome::InvalidRequest(e.to_string()),
            Ok(bound) => {
                let decision = engine.decide(&bound);
                let explanation = engine.explain(&bound);
                let diffs = compare::compare(case, &decision, &explanation);
                if diffs.is_empty() {
                    Outcome::Passed
                } else {
                    Outcome::Failed {
                        diffs,
                        explanation: Box::new(explanation),
                    }
                }
            }
        };
        out.push(CaseRun {
            name: case.name.clone(),
            outcome,
        });
    }
    Ok(())
}

/// Refuses a `set` path that no policy of the set reads and the base request does not
/// carry — a typo would otherwise test nothing (`device.manged = false`) — suggesting the
/// closest known path, as for `unset`. Members of a key taken whole (`principal.key.x`)
/// are the key's own business.
fn check_set_path(
    set: &writ_check::ir::PolicySet,
    base: &Json,
    case: &str,
    path: &str,
) -> Result<(), String> {
    let known = set.known.iter().any(|(k, ty)| {
        k == path
            || k.starts_with(&format!("{path}."))
            || (*ty == writ_check::types::Type::Jwk && path.starts_with(&format!("{k}.")))
    });
    if known || json_at(base, path).is_some() {
        return Ok(());
    }
    let help = writ_check::closest(path, set.known.iter().map(|(k, _)| k.as_str())).map_or_else(
        || "declare it in a `schema` block, or set a path the policies read".to_string(),
        |c| format!("did you mean `{c}`?"),
    );
    Err(format!(
        "case \"{case}\": `set` names `{path}`, which no policy of the set reads and the base request does not have; {help}"
    ))
}

/// What [`run_path`] found: the cases passed, and one entry per failure.
#[derive(Debug, Default)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Every failing case, invalid suite and set that does not load, one text each.
    pub failures: Vec<Failure>,
}

/// One failure of [`run_path`].
#[derive(Debug)]
pub struct Failure {
    /// The suite file (or, for a set that does not load, its directory).
    pub file: PathBuf,
    /// The case, when one case failed.
    pub case: Option<String>,
    /// What went wrong, one line per difference.
    pub lines: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.case {
            Some(case) => write!(f, "FAIL {} :: {case}", self.file.display())?,
            None => write!(f, "ERROR {}", self.file.display())?,
        }
        for line in &self.lines {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// Loads each policy set under a path that has suites (with writ-check, no facade) and
/// runs them; an empty path is a failure, so a misplaced directory cannot pass.
pub fn run_path(path: &Path) -> Summary {
    let mut summary = Summary::default();
    let suites = match find_suites(path) {
        Ok(s) if !s.is_empty() => s,
        Ok(_) => {
            summary.failures.push(Failure {
                file: path.to_path_buf(),
                case: None,
                lines: vec!["no `*.test.toml` suites here".into()],
            });
            return summary;
        }
        Err(e) => {
            summary.failures.push(Failure {
                file: path.to_path_buf(),
                case: None,
                lines: vec![format!("cannot read it: {e}")],
            });
            return summary;
        }
    };
    for (dir, files) in by_set(suites) {
        let engine = match load(&dir) {
            Ok(e) => e,
            Err(e) => {
                summary.failures.push(Failure {
                    file: dir,
                    case: None,
                    lines: e.lines().map(str::to_string).collect(),
                });
                continue;
            }
        };
        for file in files {
            let run = run_suite(&engine, &file);
            for case in run.cases {
                let lines = match case.outcome {
                    Outcome::Passed => {
                        summary.passed += 1;
                        continue;
                    }
                    Outcome::InvalidRequest(e) => vec![format!("the request is invalid: {e}")],
                    Outcome::Failed { diffs, .. } => diffs,
                };
                summary.failures.push(Failure {
                    file: file.clone(),
                    case: Some(case.name),
                    lines,
                });
            }
            if let Some(e) = run.error {
                summary.failures.push(Failure {
                    file,
                    case: None,
                    lines: vec![e],
                });
            }
        }
    }
    summary
}

fn load(dir: &Path) -> Result<Engine, String> {
    let sources = writ_check::load_path(dir).map_err(|e| e.to_string())?;
    writ_check::check(sources)
        .map(Engine::new)
        .map_err(|r| writ_syntax::render(&r.diagnostics, &r.sources, writ_syntax::Style::Plain))
}
