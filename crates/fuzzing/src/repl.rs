//! The REPL's command lines. The REPL lives in the `writ` binary (crates/cli/src/repl),
//! which no library exposes; its line parser (`command.rs`) and its value parser
//! (`value.rs`) depend only on library crates, so they are compiled here from the CLI's
//! own source files. What `Session::execute` then does with a parsed line (bind, decide,
//! explain, check and evaluate a lone expression) is repeated below through the same
//! library calls; only the rendering to text, which needs the CLI's `explain` and
//! `output` modules, is left out.

use serde_json::Value as Json;
use writ_engine::{Engine, Request};

#[allow(dead_code, reason = "the CLI's module, compiled here as it is")]
#[path = "../../cli/src/repl/command.rs"]
mod command;

#[allow(dead_code, reason = "the CLI's module, compiled here as it is")]
#[path = "../../cli/src/repl/value.rs"]
mod value;

use command::Command;
use value::Edit;

use crate::fixture;

/// REPL input, one command per line, run in order on one session over the payments
/// policy (the current request carries over from line to line, as in the REPL).
pub fn repl_line(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let engine = fixture::payments();
    let mut request = Json::Object(Default::default());
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Ok(command) = command::parse(line) else {
            continue;
        };
        let _ = run(engine, &mut request, command);
    }
}

fn bind(engine: &Engine, request: &Json) -> Result<Request, String> {
    engine.bind(request.clone()).map_err(|e| e.to_string())
}

/// What `Session::run` does for each command, without printing.
fn run(engine: &Engine, request: &mut Json, command: Command<'_>) -> Result<(), String> {
    let set = engine.policy_set();
    match command {
        Command::Help
        | Command::Quit
        | Command::Paths
        | Command::Lets
        | Command::Rules
        | Command::Load(_) => {}
        Command::Show => {
            let _ = serde_json::to_string_pretty(&value::sorted(request));
        }
        Command::Clear => *request = Json::Object(Default::default()),
        Command::Set(path, text) => {
            let edit = value::assignment(set, path, text)?;
            edit_request(engine, request, &[edit])?;
        }
        Command::Unset(path) => edit_request(engine, request, &[Edit::Unset(path.to_string())])?,
        Command::Decide { .. } | Command::Explain(None) => {
            let req = bind(engine, request)?;
            let _ = engine.decide(&req);
            let _ = engine.explain(&req);
        }
        Command::Explain(Some(name)) => {
            let req = bind(engine, request)?;
            let ex = engine.explain(&req);
            if !ex.rules.iter().any(|r| *r.name == *name) {
                let _ = writ_check::closest(&name, ex.rules.iter().map(|r| r.name.as_str()));
            }
        }
        Command::WhatIf(text) => {
            let edits = value::edits(set, text)?;
            let before = engine.decide(&bind(engine, request)?);
            let mut changed = request.clone();
            for e in &edits {
                value::apply(set, &mut changed, e)?;
            }
            let after = engine.decide(&bind(engine, &changed)?);
            let _ = (before, after);
        }
        Command::Expr(text) => {
            let expr = writ_check::check_expr(set, "<repl>", text).map_err(|r| {
                r.diagnostics
                    .iter()
                    .map(|d| d.one_line(&r.sources))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            let req = bind(engine, request)?;
            let _ = engine.evaluate(&expr, &req);
        }
    }
    Ok(())
}

/// Applies edits, keeping the request only if it still binds (as the REPL does).
fn edit_request(engine: &Engine, request: &mut Json, edits: &[Edit]) -> Result<(), String> {
    let mut changed = request.clone();
    for e in edits {
        value::apply(engine.policy_set(), &mut changed, e)?;
    }
    bind(engine, &changed)?;
    *request = changed;
    Ok(())
}
