//! `writ explain DIR REQUEST.json`: the decision, rule by rule, readable by a person.

use crate::exit::Exit;
use crate::output::{out, outln};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use writ::{CondTrace, Explanation, RuleTrace, Truth};

use crate::load::{engine, read_input};
use crate::output::Paint;

/// Arguments of `writ explain`.
#[derive(clap::Args)]
pub struct Args {
    /// The policy set (a directory of `.writ` files, or one file).
    pub dir: PathBuf,
    /// A request JSON file, or `-` for standard input.
    #[arg(required_unless_present = "tree")]
    pub request: Option<PathBuf>,
    /// Print the explanation as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Instead of explaining a request, print the compiled tree under ACTION: the rules
    /// that action reaches and the attributes they are split on.
    #[arg(long, value_name = "ACTION", conflicts_with_all = ["request", "json"])]
    pub tree: Option<String>,
}

/// Prints the explanation.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let engine = match engine(&args.dir) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    if let Some(action) = &args.tree {
        out!("{}", engine.tree(action))?;
        return Ok(ExitCode::from(Exit::Ok));
    }
    let Some(request) = &args.request else {
        eprintln!("error: a request file is needed (or `--tree ACTION`)");
        return Ok(ExitCode::from(Exit::Usage));
    };
    let text = read_input(request)?;
    match engine.bind_str(&text) {
        Ok(req) => {
            let ex = engine.explain(&req);
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&ex)?)?;
            } else {
                out!("{}", render(&ex))?;
            }
            Ok(ExitCode::from(Exit::Ok))
        }
        Err(e) => {
            eprintln!(
                "error: {}: {}",
                crate::load::input_name(request),
                crate::load::request_problem(&text, &e)
            );
            Ok(ExitCode::from(Exit::Invalid))
        }
    }
}

fn mark(t: Truth) -> &'static str {
    match t {
        Truth::True => "true   ",
        Truth::False => "false  ",
        Truth::Unknown => "unknown",
    }
}

/// A condition and its parts, one line each, indented by `depth`.
pub fn cond(out: &mut String, c: &CondTrace, depth: usize, paint: Paint) {
    let _ = writeln!(
        out,
        "{}{}  {}",
        "    ".repeat(depth),
        paint.truth(c.value, mark(c.value)),
        c.text
    );
    for child in &c.children {
        cond(out, child, depth + 1, paint);
    }
}

/// The explanation as text.
pub fn render(ex: &Explanation) -> String {
    render_with(ex, Paint::default())
}

/// The explanation as text, with colours when `paint` is on.
pub fn render_with(ex: &Explanation, paint: Paint) -> String {
    let mut out = header(ex, paint);
    if !ex.signals.is_empty() {
        let _ = writeln!(out, "\nrisk signals:");
        for s in &ex.signals {
            let status = if s.counted {
                format!("+{}", s.points)
            } else {
                "  0".into()
            };
            let _ = writeln!(out, "  {status:>4}  {}", writ::syntax::quote(&s.name));
            cond(&mut out, &s.condition, 2, paint);
        }
    }
    let _ = writeln!(out, "\nrules:");
    for r in &ex.rules {
        rule(&mut out, r, paint);
    }
    out
}

/// One rule's trace: whether it fired and decided, then its condition part by part.
pub fn rule(out: &mut String, r: &RuleTrace, paint: Paint) {
    let status = match (r.fired, r.won) {
        (true, true) => "fired, decides",
        (true, false) => "fired, outranked",
        (false, _) => "did not fire",
    };
    let _ = writeln!(
        out,
        "  rule {} ({}): {status}",
        writ::syntax::quote(&r.name),
        r.effect.as_str()
    );
    cond(out, &r.condition, 2, paint);
}

/// The decision and why, without the trace.
pub fn header(ex: &Explanation, paint: Paint) -> String {
    let mut out = String::new();
    let d = &ex.decision;
    let _ = writeln!(
        out,
        "decision: {}   risk: {}   policy: {}",
        paint.verdict(d.decision),
        d.risk,
        d.policy_version
    );
    let _ = writeln!(out, "why: {}", ex.reason);
    if let Some(m) = &d.message {
        let _ = writeln!(out, "message: {m}");
    }
    if let Some(a) = &d.approval {
        let _ = writeln!(out, "approval: {}", approval(a));
        let _ = writeln!(out, "digest: {}", a.digest);
    }
    if let Some(t) = d.ttl_s {
        let _ = writeln!(out, "time box: {t}s");
    }
    if !d.obligations.is_empty() {
        let obs: Vec<String> = d.obligations.iter().map(obligation).collect();
        let _ = writeln!(out, "obligations: {}", obs.join(", "));
    }
    if !d.unknown.is_empty() {
        let _ = writeln!(out, "missing evidence: {}", d.unknown.join(", "));
    }
    out
}

/// An approval's terms on one line: who approves, method, ttl, elevation, bound paths.
pub fn approval(a: &writ::ApprovalOut) -> String {
    let who: Vec<String> = a
        .approvers
        .iter()
        .map(|c| match &c.from {
            Some(p) => format!("{} of group \"{}\" (from `{p}`)", c.count, c.group),
            None => format!("{} of group \"{}\"", c.count, c.group),
        })
        .collect();
    let elevation = a
        .elevation_s
        .map_or(String::new(), |e| format!("; elevation {e}s"));
    format!(
        "{}; method {}; ttl {}s{elevation}; binds {}",
        who.join(" and "),
        a.method,
        a.ttl_s,
        a.bind.join(", ")
    )
}

/// An obligation as written: `name` or `name(arg, …)`.
pub fn obligation(o: &writ::ObligationOut) -> String {
    if o.args.is_empty() {
        o.name.to_string()
    } else {
        format!("{}({})", o.name, o.args.join(", "))
    }
}
