//! The nesting limit: a cheap lexical pre-scan that refuses source nested deeper than
//! [`MAX_NESTING`] before the parser sees it.
//!
//! pest's parser, the pair→AST converter, the checker, the compiler, `explain`, the
//! formatter and the lints all recurse once per level of expression nesting, and a stack
//! overflow cannot be caught: it kills the process (`writ check` with exit 134, or a
//! whole embedding service when its policy watcher reloads a hostile file on a 2 MiB
//! thread stack). So nesting is bounded once, here, in a single forward pass with no
//! recursion, and every later stage relies on the bound.
//!
//! What counts as one level: an open parenthesis, and a `not` that still applies (a
//! `not` applies until the next `and`, `or` or closing parenthesis of its own level).
//! `and`/`or` chains are flat lists in the tree, however long, and add no level; lists
//! (`[...]`) hold only literals and cannot nest.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// How deeply expressions may nest: open parentheses plus `not`s in force, at any point.
/// 64 is far beyond what a readable policy uses and far below what any stage's stack
/// needs to be bounded, the watcher thread's 2 MiB included (docs/language.md §11).
pub const MAX_NESTING: usize = 64;

/// The diagnostic code for too-deep nesting.
pub const CODE: &str = "writ::nesting";

/// Refuses `text` when some point of it nests deeper than [`MAX_NESTING`], with a
/// diagnostic at the `(` or `not` that goes one level too far.
pub fn check_nesting(file: FileId, text: &str) -> Result<(), Diagnostic> {
    let bytes = text.as_bytes();
    // One entry per open parenthesis: the `not`s in force at that level; the bottom
    // entry is the level outside any parenthesis.
    let mut levels: Vec<usize> = vec![0];
    // Open parentheses plus every `not` in force: the depth at this point.
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if let Some(past) = crate::lexical::skip_opaque(bytes, i) {
            i = past;
            continue;
        }
        match b {
            b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(too_deep(file, i, 1));
                }
                levels.push(0);
            }
            b')' if levels.len() > 1 => {
                let nots = levels.pop().unwrap_or(0);
                depth = depth.saturating_sub(nots + 1);
            }
            b'{' | b'}' => {
                // Blocks never sit inside an expression: whatever a malformed text left
                // open ends here (the parser reports it).
                levels.clear();
                levels.push(0);
                depth = 0;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let start = i;
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                match &bytes[start..i] {
                    b"not" => {
                        depth += 1;
                        if depth > MAX_NESTING {
                            return Err(too_deep(file, start, 3));
                        }
                        if let Some(n) = levels.last_mut() {
                            *n += 1;
                        }
                    }
                    b"and" | b"or" => {
                        if let Some(n) = levels.last_mut() {
                            depth -= *n;
                            *n = 0;
                        }
                    }
                    _ => {}
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn too_deep(file: FileId, at: usize, len: usize) -> Diagnostic {
    Diagnostic::new(
        CODE,
        format!("expression nested deeper than {MAX_NESTING} levels"),
        Span::new(file, at, at + len),
        format!("level {} starts here", MAX_NESTING + 1),
    )
    .with_help(format!(
        "parentheses and `not`s nest at most {MAX_NESTING} deep: drop redundant parentheses, \
         write `not not x` as `x`, or split the condition into separate rules"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str) -> bool {
        check_nesting(FileId(0), text).is_ok()
    }

    #[test]
    fn counts_parentheses_and_nots_in_force() {
        let parens = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
        assert!(depth_ok(&parens(MAX_NESTING)));
        assert!(!depth_ok(&parens(MAX_NESTING + 1)));
        let nots = |n: usize| format!("{}x", "not ".repeat(n));
        assert!(depth_ok(&nots(MAX_NESTING)));
        assert!(!depth_ok(&nots(MAX_NESTING + 1)));
        // Mixed: each `(` and each `not` is a level.
        let mixed = "not (".repeat(MAX_NESTING / 2) + "x" + &")".repeat(MAX_NESTING / 2);
        assert!(depth_ok(&mixed));
        assert!(!depth_ok(&format!("not {mixed}")));
        // `and`/`or` end the `not`s of their level; flat chains never deepen.
        assert!(depth_ok(&"not x and ".repeat(10_000)));
        assert!(depth_ok(&"(not x) or ".repeat(10_000)));
        // Strings and comments do not count.
        assert!(depth_ok(&format!(
            "\"{}\" # {}\n",
            "(".repeat(500),
            "(".repeat(500)
        )));
        // Unbalanced text in one block does not leak into the next.
        assert!(depth_ok(&"rule \"r\" { when ( allow }\n".repeat(500)));
    }

    #[test]
    fn points_at_the_level_too_many() {
        let text = format!("{}x", "(".repeat(MAX_NESTING + 5));
        let d = check_nesting(FileId(0), &text).unwrap_err();
        assert_eq!(d.primary.span.start as usize, MAX_NESTING);
        assert_eq!(d.code, CODE);
        assert!(d.help.is_some());
    }
}
