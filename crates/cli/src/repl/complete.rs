//! Tab completion: command words, request paths (well-known and the schema's), `let`
//! names and rule names, read from the policy version running at the moment of the
//! keystroke.

use std::sync::Arc;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use writ::ir::PolicySet;
use writ::PolicyStore;

use super::command::WORDS;

/// The rustyline helper of the REPL.
pub struct WritHelper {
    /// Where the running policy set is.
    pub store: Arc<PolicyStore>,
    files: FilenameCompleter,
}

impl WritHelper {
    /// A helper reading names from the store.
    pub fn new(store: Arc<PolicyStore>) -> WritHelper {
        WritHelper {
            store,
            files: FilenameCompleter::new(),
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Where the word being completed starts, and the candidates for it.
pub fn candidates(set: &PolicySet, line: &str, pos: usize) -> (usize, Vec<String>) {
    let head = line.get(..pos).unwrap_or(line);
    let trimmed = head.trim_start();
    // `explain "rule name`: rule names, which hold spaces, completed in quotes.
    if let Some(rest) = trimmed.strip_prefix("explain ") {
        let start = head.len() - rest.len();
        // Compared as written, escapes included (`"say \"h` completes `say "hi"`).
        let typed = rest.strip_prefix('"').unwrap_or(rest);
        let names = set
            .rules
            .iter()
            .map(|r| writ::syntax::quote(&r.name))
            .filter(|q| q.get(1..).is_some_and(|body| body.starts_with(typed)))
            .collect();
        return (start, names);
    }
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| !is_word(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &head[start..];
    let first_word = head[..start].trim().is_empty();
    let mut out: Vec<String> = Vec::new();
    if first_word {
        out.extend(WORDS.iter().map(|w| w.to_string()));
    }
    out.extend(set.known.iter().map(|(p, _)| p.clone()));
    out.extend(set.lets.iter().map(|l| l.name.clone()));
    // The expression words written with parentheses (language 1.1).
    out.extend(["present(", "lower("].iter().map(|w| w.to_string()));
    out.retain(|c| c.starts_with(word));
    out.sort();
    out.dedup();
    (start, out)
}

impl Completer for WritHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if line.trim_start().starts_with("load ") {
            return self.files.complete(line, pos, ctx);
        }
        let engine = self.store.engine();
        let (start, found) = candidates(engine.policy_set(), line, pos);
        Ok((
            start,
            found
                .into_iter()
                .map(|c| Pair {
                    display: c.clone(),
                    replacement: c,
                })
                .collect(),
        ))
    }
}

impl Hinter for WritHelper {
    type Hint = String;
}

impl Highlighter for WritHelper {}

impl Validator for WritHelper {}

impl Helper for WritHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> writ::Engine {
        writ::from_sources(&[(
            "p.writ",
            "schema { resource.env: \"prod\" | \"dev\" }\nlet corp_network = cidr [\"10.0.0.0/8\"]\nrule \"engineers read\" { when action == \"db.read\" allow }\nrule \"emergency\" { when request.break_glass allow for 5m }\nrule \"say \\\"hi\\\"\" { when action == \"greet\" allow }\n",
        )])
        .unwrap()
    }

    #[test]
    fn commands_paths_lets_and_rules() {
        let e = set();
        let s = e.policy_set();
        assert_eq!(candidates(s, "wha", 3), (0, vec!["what-if".to_string()]));
        assert_eq!(
            candidates(s, "set device.m", 12),
            (4, vec!["device.managed".to_string()])
        );
        assert_eq!(
            candidates(s, "set resource.e", 14).1,
            vec!["resource.env".to_string()]
        );
        let line = "device.managed and network.ip in corp";
        assert_eq!(
            candidates(s, line, line.len()),
            (33, vec!["corp_network".to_string()])
        );
        // Commands only in first position.
        assert!(candidates(s, "risk < 5 and s", 14)
            .1
            .iter()
            .all(|c| c != "set"));
        assert_eq!(
            candidates(s, "explain \"eng", 12),
            (8, vec!["\"engineers read\"".to_string()])
        );
        assert_eq!(candidates(s, "explain ", 8).1.len(), 3);
        // The 1.1 expression words.
        assert_eq!(
            candidates(s, "? not pres", 10),
            (6, vec!["present(".to_string()])
        );
        assert_eq!(candidates(s, "low", 3).1, vec!["lower(".to_string()]);
        // A name with quotes is completed escaped, as `explain` reads it.
        let line = r#"explain "say \"h"#;
        assert_eq!(
            candidates(s, line, line.len()).1,
            vec![r#""say \"hi\"""#.to_string()]
        );
    }
}
