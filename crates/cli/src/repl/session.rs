//! A REPL session: the policy store it follows, the current request, and one answer per
//! command. No terminal here: the same session runs under rustyline or on piped input.

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::Value as Json;
use writ::{Diagnostic, Engine, PolicyStore, Request};

use super::command::{self, Command, HELP};
use super::render;
use super::value::{self, Edit};
use crate::explain;
use crate::output::Paint;

/// The answer to one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// What to print (ends with a newline).
    pub text: String,
    /// False for an error (the session goes on).
    pub ok: bool,
}

/// What a command led to.
pub enum Outcome {
    /// An answer; the session goes on.
    Answer(Answer),
    /// `quit`.
    Quit,
}

/// The state of one session.
pub struct Session {
    store: Arc<PolicyStore>,
    request: Json,
    paint: Paint,
}

fn ok(text: String) -> Outcome {
    Outcome::Answer(Answer { text, ok: true })
}

impl Session {
    /// A session on a store, starting from `request` (a JSON object).
    pub fn new(store: Arc<PolicyStore>, request: Json, paint: Paint) -> Session {
        Session {
            store,
            request,
            paint,
        }
    }

    /// The running policy version (one per command: a reload never splits an answer).
    pub fn engine(&self) -> Arc<Engine> {
        self.store.engine()
    }

    fn fail(&self, message: &str) -> Outcome {
        Outcome::Answer(Answer {
            text: format!("{} {message}\n", self.paint.error()),
            ok: false,
        })
    }

    fn bind(engine: &Engine, request: &Json) -> Result<Request, String> {
        engine.bind(request.clone()).map_err(|e| e.to_string())
    }

    /// Runs one line (blank lines and `#` comments answer nothing).
    pub fn execute(&mut self, line: &str) -> Option<Outcome> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let engine = self.engine();
        let command = match command::parse(line) {
            Ok(c) => c,
            Err(e) => return Some(self.fail(&e)),
        };
        Some(match self.run(&engine, command) {
            Ok(outcome) => outcome,
            Err(e) => self.fail(&e),
        })
    }

    fn run(&mut self, engine: &Engine, command: Command<'_>) -> Result<Outcome, String> {
        let set = engine.policy_set();
        Ok(match command {
            Command::Help => ok(HELP.to_string()),
            Command::Quit => Outcome::Quit,
            Command::Show => ok(format!(
                "{}\n",
                serde_json::to_string_pretty(&value::sorted(&self.request))
                    .map_err(|e| e.to_string())?
            )),
            Command::Clear => {
                self.request = Json::Object(Default::default());
                ok("the request is empty\n".into())
            }
            Command::Load(file) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("cannot read `{file}`: {e}"))?;
                let json: Json =
                    writ::parse_request(&text).map_err(|e| format!("`{file}`: {e}"))?;
                Self::bind(engine, &json)?;
                let n = json.as_object().map_or(0, |o| o.len());
                self.request = json;
                ok(format!(
                    "loaded `{file}` ({n} root{})\n",
                    if n == 1 { "" } else { "s" }
                ))
            }
            Command::Set(path, text) => {
                let edit = value::assignment(set, path, text)?;
                let Edit::Set(_, v) = &edit else {
                    return Err("not an assignment".into());
                };
                let shown = value::sorted(v).to_string();
                self.edit(engine, &[edit])?;
                ok(format!("{path} = {shown}\n"))
            }
            Command::Unset(path) => {
                self.edit(engine, &[Edit::Unset(path.to_string())])?;
                if path == "time" {
                    // A request without `time` is decided at the engine's clock.
                    ok("time is unset: the engine's clock stands in for it\n".into())
                } else {
                    ok(format!("{path} is unset (unknown)\n"))
                }
            }
            Command::Decide { json } => {
                let req = Self::bind(engine, &self.request)?;
                if json {
                    ok(format!("{}\n", engine.decide(&req).to_json_pretty()))
                } else {
                    ok(explain::header(&engine.explain(&req), self.paint))
                }
            }
            Command::Explain(None) => {
                let req = Self::bind(engine, &self.request)?;
                ok(explain::render_with(&engine.explain(&req), self.paint))
            }
            Command::Explain(Some(name)) => {
                let req = Self::bind(engine, &self.request)?;
                let ex = engine.explain(&req);
                let Some(rule) = ex.rules.iter().find(|r| *r.name == *name) else {
                    let help = writ::closest(&name, ex.rules.iter().map(|r| r.name.as_str()))
                        .map_or_else(
                            || " (`rules` lists them)".to_string(),
                            |c| format!("; did you mean {}?", writ::syntax::quote(&c)),
                        );
                    return Err(format!(
                        "no rule named {}{help}",
                        writ::syntax::quote(&name)
                    ));
                };
                let mut out = explain::header(&ex, self.paint);
                out.push('\n');
                explain::rule(&mut out, rule, self.paint);
                ok(out)
            }
            Command::WhatIf(text) => {
                let edits = value::edits(set, text)?;
                let before = engine.decide(&Self::bind(engine, &self.request)?);
                let mut changed = self.request.clone();
                for e in &edits {
                    value::apply(set, &mut changed, e)?;
                }
                let after = engine.decide(&Self::bind(engine, &changed)?);
                ok(render::what_if(&before, &after, self.paint))
            }
            Command::Paths => {
                let mut out = String::new();
                for (p, ty) in &set.known {
                    let _ = writeln!(out, "{p}: {ty}");
                }
                ok(out)
            }
            Command::Lets => {
                let mut out = String::new();
                for l in &set.lets {
                    let _ = writeln!(
                        out,
                        "{} = {}  {}",
                        l.name,
                        render::let_value(&l.value, set.sources.snippet(l.span)),
                        self.paint.dim(&format!("({})", set.sources.locate(l.span)))
                    );
                }
                if out.is_empty() {
                    out.push_str("no `let` in this set\n");
                }
                ok(out)
            }
            Command::Rules => {
                let mut out = String::new();
                for r in &set.rules {
                    let effect = match r.effect {
                        writ::ir::Effect::Allow { .. } => "allow",
                        writ::ir::Effect::Deny { .. } => "deny",
                        writ::ir::Effect::Approve(_) => "approve",
                    };
                    let _ = writeln!(
                        out,
                        "{} ({effect})  {}",
                        writ::syntax::quote(&r.name),
                        self.paint.dim(&format!("({})", set.sources.locate(r.span)))
                    );
                }
                if out.is_empty() {
                    out.push_str("no rule in this set\n");
                }
                ok(out)
            }
            Command::Expr(text) => {
                let expr = writ::check_expr(set, "<repl>", text)
                    .map_err(|r| underline(text, &r.diagnostics))?;
                let req = Self::bind(engine, &self.request)?;
                ok(render::value(&engine.evaluate(&expr, &req), self.paint))
            }
        })
    }

    /// Applies edits to the current request, keeping it only if it still binds.
    fn edit(&mut self, engine: &Engine, edits: &[Edit]) -> Result<(), String> {
        let mut changed = self.request.clone();
        for e in edits {
            value::apply(engine.policy_set(), &mut changed, e)?;
        }
        Self::bind(engine, &changed)?;
        self.request = changed;
        Ok(())
    }
}

/// Expression errors, each with the expression and the offending part marked.
fn underline(text: &str, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push_str("\n       ");
        }
        let start = (d.primary.span.start as usize).min(text.len());
        let end = (d.primary.span.end as usize).clamp(start, text.len());
        let pad = text.get(..start).map_or(0, |p| p.chars().count());
        let width = text.get(start..end).map_or(1, |p| p.chars().count()).max(1);
        let _ = write!(
            out,
            "{}\n  {text}\n  {}{}",
            d.message,
            " ".repeat(pad),
            "^".repeat(width)
        );
        if let Some(h) = &d.help {
            let _ = write!(out, "\n  help: {h}");
        }
    }
    out
}
