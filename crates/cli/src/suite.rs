//! `writ test PATH`: runs the policy test suites kept beside the policies.
//!
//! A suite is a TOML file named `*.test.toml`. It belongs to the policy set in its
//! directory (or, for a suite inside a `tests/` directory, in the parent of it). Format:
//!
//! ```toml
//! # a base request (or `base_file = "../requests/x.json"`), patched by each case
//! [base]
//! action = "db.read"
//! principal = { id = "alice", kind = "human", groups = ["engineering"] }
//!
//! [[case]]
//! name = "engineers read from a managed laptop"
//! set = { "device.managed" = true, "network.ip" = "10.1.2.3" }   # patches, field by field
//! unset = ["session.auth_method"]
//! expect = "allow"                 # required: allow, deny or approve
//! risk = 10                        # optional checks from here on
//! rules = ["engineers read at low risk"]
//! signals = ["outside business hours"]
//! obligations = ["record_session", "review(24h)"]
//! message = "..."
//! ttl_s = 900
//! unknown = ["device.patch_age"]
//! approval = { approvers = [{ count = 1, group = "db-owners" }], method = "phishing_resistant", ttl_s = 300, bind = ["action"] }
//! ```
//!
//! Every failing case is printed with expected vs actual and the explain trace; the exit
//! code is 1 on any failure or any invalid suite.

use crate::exit::Exit;
use crate::output::outln;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::explain::render;

/// Arguments of `writ test`.
#[derive(clap::Args)]
pub struct Args {
    /// A policy set directory, or a directory holding several (searched recursively for
    /// `*.test.toml` suites).
    pub path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    base: Option<toml::Table>,
    base_file: Option<String>,
    #[serde(default)]
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    set: Option<toml::Table>,
    #[serde(default)]
    unset: Vec<String>,
    expect: String,
    risk: Option<u32>,
    rules: Option<Vec<String>>,
    signals: Option<Vec<String>>,
    obligations: Option<Vec<String>>,
    message: Option<String>,
    ttl_s: Option<u64>,
    unknown: Option<Vec<String>>,
    approval: Option<ApprovalExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalExpect {
    approvers: Option<Vec<ApproverExpect>>,
    method: Option<String>,
    ttl_s: Option<u64>,
    bind: Option<Vec<String>>,
    /// `approve for D`: the elevation in seconds (`0` expects a single-use approval).
    elevation_s: Option<u64>,
}

#[derive(Deserialize, PartialEq, Debug)]
#[serde(deny_unknown_fields)]
struct ApproverExpect {
    count: u32,
    group: String,
    /// For `group PATH`: the path the group was read from.
    #[serde(default)]
    from: Option<String>,
}

fn find_suites(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
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
            find_suites(&p, out)?;
        } else if name.ends_with(".test.toml") {
            out.push(p);
        }
    }
    Ok(())
}

/// The policy set a suite belongs to.
fn set_dir(suite: &Path) -> PathBuf {
    let dir = suite.parent().unwrap_or(Path::new(".")).to_path_buf();
    if dir.file_name().is_some_and(|n| n == "tests") {
        dir.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        dir
    }
}

fn to_json(v: &toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            Json::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// `set` patches as (dotted path, value) pairs. A table value, however it was written
/// (`device.managed = true` or `"device" = { managed = true }`), patches field by field:
/// it never replaces the whole object and drops its other fields.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, Json)>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if !t.is_empty() => flatten(&path, t, out),
            other => out.push((path, to_json(other))),
        }
    }
}

/// Refuses a `set` path that no policy of the set reads and the base request does not
/// carry — a typo would otherwise test nothing (`device.manged = false`) — suggesting the
/// closest known path, as for `unset`. Members of a key taken whole (`principal.key.x`)
/// are the key's own business.
fn check_set_path(
    set: &writ::ir::PolicySet,
    base: &Json,
    case: &str,
    path: &str,
) -> anyhow::Result<()> {
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
    anyhow::bail!(
        "case \"{case}\": `set` names `{path}`, which no policy of the set reads and the base request does not have; {help}"
    )
}

fn json_at<'j>(json: &'j Json, path: &str) -> Option<&'j Json> {
    path.split('.')
        .try_fold(json, |cur, seg| cur.as_object()?.get(seg))
}

fn set_path(root: &mut Json, path: &str, value: Option<Json>) {
    let segments: Vec<&str> = path.split('.').collect();
    let mut cur = root;
    for (i, seg) in segments.iter().enumerate() {
        if !cur.is_object() {
            *cur = Json::Object(Default::default());
        }
        let Json::Object(map) = cur else { return };
        if i + 1 == segments.len() {
            match value {
                Some(v) => {
                    map.insert((*seg).to_string(), v);
                }
                None => {
                    map.remove(*seg);
                }
            }
            return;
        }
        cur = map
            .entry((*seg).to_string())
            .or_insert_with(|| Json::Object(Default::default()));
    }
}

fn obligation_text(o: &writ::ObligationOut) -> String {
    if o.args.is_empty() {
        o.name.to_string()
    } else {
        format!("{}({})", o.name, o.args.join(", "))
    }
}

/// Differences between what a case expects and the decision.
fn compare(case: &Case, d: &writ::Decision) -> Vec<String> {
    let mut diffs: Vec<String> = Vec::new();
    let check = |diffs: &mut Vec<String>, what: &str, expected: String, actual: String| {
        if expected != actual {
            diffs.push(format!("{what}: expected {expected}, got {actual}"));
        }
    };
    check(
        &mut diffs,
        "decision",
        case.expect.clone(),
        d.decision.as_str().to_string(),
    );
    if let Some(r) = case.risk {
        check(&mut diffs, "risk", r.to_string(), d.risk.to_string());
    }
    let list = |v: &[String]| format!("{v:?}");
    if let Some(r) = &case.rules {
        check(
            &mut diffs,
            "rules",
            list(r),
            list(&d.rules.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        );
    }
    if let Some(s) = &case.signals {
        check(
            &mut diffs,
            "signals",
            list(s),
            list(
                &d.signals
                    .iter()
                    .map(|s| s.name.to_string())
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if let Some(o) = &case.obligations {
        // `notify("secops")` as in the policy and `notify(secops)` mean the same.
        let o: Vec<String> = o.iter().map(|x| x.replace('"', "")).collect();
        let o = &o;
        check(
            &mut diffs,
            "obligations",
            list(o),
            list(
                &d.obligations
                    .iter()
                    .map(obligation_text)
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if let Some(m) = &case.message {
        check(
            &mut diffs,
            "message",
            format!("{m:?}"),
            format!("{:?}", d.message.as_deref().unwrap_or("")),
        );
    }
    if let Some(t) = case.ttl_s {
        check(
            &mut diffs,
            "ttl_s",
            t.to_string(),
            d.ttl_s.map_or("null".into(), |t| t.to_string()),
        );
    }
    if let Some(u) = &case.unknown {
        check(
            &mut diffs,
            "unknown",
            list(u),
            list(&d.unknown.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        );
    }
    if let Some(a) = &case.approval {
        match &d.approval {
            None => diffs.push("approval: expected approval terms, got none".into()),
            Some(got) => {
                if let Some(approvers) = &a.approvers {
                    let got_list: Vec<ApproverExpect> = got
                        .approvers
                        .iter()
                        .map(|c| ApproverExpect {
                            count: c.count,
                            group: c.group.to_string(),
                            from: c.from.as_ref().map(|f| f.to_string()),
                        })
                        .collect();
                    if *approvers != got_list {
                        diffs.push(format!(
                            "approval.approvers: expected {approvers:?}, got {got_list:?}"
                        ));
                    }
                }
                if let Some(m) = &a.method {
                    check(
                        &mut diffs,
                        "approval.method",
                        m.clone(),
                        got.method.to_string(),
                    );
                }
                if let Some(t) = a.ttl_s {
                    check(
                        &mut diffs,
                        "approval.ttl_s",
                        t.to_string(),
                        got.ttl_s.to_string(),
                    );
                }
                if let Some(e) = a.elevation_s {
                    check(
                        &mut diffs,
                        "approval.elevation_s",
                        e.to_string(),
                        got.elevation_s.unwrap_or(0).to_string(),
                    );
                }
                if let Some(b) = &a.bind {
                    check(
                        &mut diffs,
                        "approval.bind",
                        list(b),
                        list(&got.bind.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                    );
                }
            }
        }
    }
    diffs
}

/// Runs every suite under the path.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut suites = Vec::new();
    find_suites(&args.path, &mut suites)
        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", args.path.display()))?;
    suites.sort();
    if suites.is_empty() {
        eprintln!(
            "error: no `*.test.toml` suites under `{}`",
            args.path.display()
        );
        return Ok(ExitCode::from(Exit::Invalid));
    }
    let mut by_set: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for s in suites {
        by_set.entry(set_dir(&s)).or_default().push(s);
    }
    let (mut passed, mut failed, mut broken) = (0usize, 0usize, 0usize);
    for (dir, files) in by_set {
        let engine = match crate::load::engine(&dir) {
            Ok(e) => e,
            Err(_) => {
                broken += files.len();
                continue;
            }
        };
        for file in files {
            match run_suite(&engine, &file) {
                Ok((p, f)) => {
                    passed += p;
                    failed += f;
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    broken += 1;
                }
            }
        }
    }
    outln!(
        "writ test: {passed} cases passed, {failed} failed{}",
        if broken > 0 {
            format!(", {broken} suites invalid")
        } else {
            String::new()
        }
    )?;
    Ok(if failed > 0 || broken > 0 {
        ExitCode::from(Exit::Invalid)
    } else {
        ExitCode::from(Exit::Ok)
    })
}

fn run_suite(engine: &writ::Engine, file: &Path) -> anyhow::Result<(usize, usize)> {
    let text = std::fs::read_to_string(file)?;
    let suite: Suite = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = match (&suite.base, &suite.base_file) {
        (Some(_), Some(_)) => anyhow::bail!("give `base` or `base_file`, not both"),
        (Some(t), None) => Json::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        (None, Some(f)) => {
            let path = file.parent().unwrap_or(Path::new(".")).join(f);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
            writ::parse_request(&text).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?
        }
        (None, None) => Json::Object(Default::default()),
    };
    if suite.case.is_empty() {
        anyhow::bail!("no `[[case]]` in this suite");
    }
    let (mut passed, mut failed) = (0, 0);
    for case in &suite.case {
        if !["allow", "deny", "approve"].contains(&case.expect.as_str()) {
            anyhow::bail!(
                "case \"{}\": `expect` must be allow, deny or approve, found `{}`",
                case.name,
                case.expect
            );
        }
        let mut req = base.clone();
        if let Some(set) = &case.set {
            let mut flat = Vec::new();
            flatten("", set, &mut flat);
            for (path, v) in flat {
                check_set_path(engine.policy_set(), &base, &case.name, &path)?;
                set_path(&mut req, &path, Some(v));
            }
        }
        for path in &case.unset {
            if json_at(&req, path).is_none() {
                anyhow::bail!(
                    "case \"{}\": `unset` names `{path}`, which the base request does not have",
                    case.name
                );
            }
            set_path(&mut req, path, None);
        }
        let bound = match engine.bind(req) {
            Ok(b) => b,
            Err(e) => {
                failed += 1;
                outln!(
                    "FAIL {} :: {}\n  the request is invalid: {e}\n",
                    file.display(),
                    case.name
                )?;
                continue;
            }
        };
        let decision = engine.decide(&bound);
        let diffs = compare(case, &decision);
        if diffs.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            outln!("FAIL {} :: {}", file.display(), case.name)?;
            for d in diffs {
                outln!("  {d}")?;
            }
            let trace = render(&engine.explain(&bound));
            for line in trace.lines() {
                outln!("  | {line}")?;
            }
            outln!()?;
        }
    }
    Ok((passed, failed))
}
