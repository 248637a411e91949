//! The REPL's commands, parsed from one line. A line whose first word is no command is an
//! expression (commands win: write `(rules)` to evaluate a `let` named `rules`).

/// One parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// `help`
    Help,
    /// `load FILE.json`
    Load(&'a str),
    /// `set PATH = VALUE`
    Set(&'a str, &'a str),
    /// `unset PATH`
    Unset(&'a str),
    /// `show`
    Show,
    /// `clear`
    Clear,
    /// `decide` or `decide json`
    Decide {
        /// Print the decision JSON.
        json: bool,
    },
    /// `explain` or `explain RULE` (the name as the policy writes it, quotes and escapes
    /// removed)
    Explain(Option<String>),
    /// `what-if PATH = VALUE, unset PATH, ...`
    WhatIf(&'a str),
    /// `paths`
    Paths,
    /// `lets`
    Lets,
    /// `rules`
    Rules,
    /// `quit` or `exit`
    Quit,
    /// Anything else: an expression.
    Expr(&'a str),
}

/// The command words, for `help` and completion.
pub const WORDS: &[&str] = &[
    "help", "load", "set", "unset", "show", "clear", "decide", "explain", "what-if", "paths",
    "lets", "rules", "quit", "exit",
];

/// What `help` prints.
pub const HELP: &str = "\
commands:
  load FILE.json               replace the current request with a file's
  set PATH = VALUE             set one attribute (typed and checked as a request is)
  unset PATH                   remove one attribute: it becomes unknown
  show                         the current request
  clear                        start again from an empty request
  decide                       the decision for the current request (`decide json`: as JSON)
  explain [RULE]               rule by rule, each test true / false / unknown
  what-if PATH = VALUE, ...    the decision before and after these changes (also `unset PATH`);
                               the current request stays as it is
  paths | lets | rules         what the policy set knows
  EXPRESSION                   its value under the current request, e.g. `risk` or
                               `device.managed and network.ip in corp_network`
  help                         this list
  quit | exit                  leave (Ctrl-D too)
values: true/false, numbers, durations (5m, 24h), strings with or without quotes,
  addresses (10.1.2.3), instants (2026-11-28T23:00:00Z), lists ([\"a\", \"b\"]), JSON objects
keys: Tab completes commands, paths, `let` names and rule names; history is kept in a file
";

/// Parses one (non-empty, trimmed) line.
pub fn parse(line: &str) -> Result<Command<'_>, String> {
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    let none = |cmd: Command<'static>| {
        if rest.is_empty() {
            Ok(cmd)
        } else {
            Err(format!("`{word}` takes no argument"))
        }
    };
    match word {
        "help" => none(Command::Help),
        "show" => none(Command::Show),
        "clear" => none(Command::Clear),
        "paths" => none(Command::Paths),
        "lets" => none(Command::Lets),
        "rules" => none(Command::Rules),
        "quit" | "exit" => none(Command::Quit),
        "decide" => match rest {
            "" => Ok(Command::Decide { json: false }),
            "json" => Ok(Command::Decide { json: true }),
            _ => Err("write `decide` or `decide json`".into()),
        },
        "load" if rest.is_empty() => Err("write `load FILE.json`".into()),
        "load" => Ok(Command::Load(rest)),
        "set" => match rest.split_once('=') {
            Some((path, value)) if !path.trim().is_empty() => {
                Ok(Command::Set(path.trim(), value.trim()))
            }
            _ => Err("write `set PATH = VALUE`, e.g. `set device.managed = true`".into()),
        },
        "unset" if rest.is_empty() || rest.contains(char::is_whitespace) => {
            Err("write `unset PATH`, e.g. `unset network.ip`".into())
        }
        "unset" => Ok(Command::Unset(rest)),
        "explain" if rest.is_empty() => Ok(Command::Explain(None)),
        "explain" => rule_name(rest).map(|name| Command::Explain(Some(name))),
        "what-if" if rest.is_empty() => {
            Err("write `what-if PATH = VALUE, ...`, e.g. `what-if network.ip = 203.0.113.9`".into())
        }
        "what-if" => Ok(Command::WhatIf(rest)),
        _ => Ok(Command::Expr(line)),
    }
}

/// A rule name: bare (`explain reads`), or quoted as the policy writes it, escapes and
/// all (`explain "say \"hi\""`).
fn rule_name(text: &str) -> Result<String, String> {
    use writ::syntax::ast::{ExprKind, Literal, LiteralKind};
    if !text.starts_with('"') {
        return Ok(text.to_string());
    }
    match writ::syntax::parse_expr(writ::syntax::FileId(0), text).map(|e| e.kind) {
        Ok(ExprKind::Literal(Literal {
            kind: LiteralKind::String(name),
            ..
        })) => Ok(name),
        _ => Err(format!(
            "`{text}` is not a quoted rule name: write it as the policy does, e.g. `explain \"say \\\"hi\\\"\"`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_expressions() {
        assert_eq!(parse("decide"), Ok(Command::Decide { json: false }));
        assert_eq!(parse("decide json"), Ok(Command::Decide { json: true }));
        assert_eq!(
            parse("set device.managed = false"),
            Ok(Command::Set("device.managed", "false"))
        );
        assert_eq!(
            parse(r#"set request.params = {"a": "b=c"}"#),
            Ok(Command::Set("request.params", r#"{"a": "b=c"}"#))
        );
        assert_eq!(parse("unset network.ip"), Ok(Command::Unset("network.ip")));
        assert_eq!(
            parse(r#"explain "engineers read""#),
            Ok(Command::Explain(Some("engineers read".into())))
        );
        assert_eq!(
            parse(r#"explain "say \"hi\"""#),
            Ok(Command::Explain(Some(r#"say "hi""#.into())))
        );
        assert_eq!(
            parse("explain reads"),
            Ok(Command::Explain(Some("reads".into())))
        );
        assert!(parse(r#"explain "unfinished"#).is_err());
        assert_eq!(parse("risk"), Ok(Command::Expr("risk")));
        assert_eq!(
            parse("device.managed and risk < 50"),
            Ok(Command::Expr("device.managed and risk < 50"))
        );
        assert!(parse("set device.managed").is_err());
        assert!(parse("show me").is_err());
        assert!(parse("decide now").is_err());
        assert!(parse("unset a b").is_err());
        assert!(parse("what-if").is_err());
    }
}
