//! CEL leaves (`cel("...")`): compiled once at load, behind this one module.
//!
//! The `cel` crate's parser returns positioned errors; it is still called under
//! `catch_unwind` so that a parser bug can never take a service down on a bad policy edit.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::types::ROOTS;

/// A compiled CEL expression.
#[derive(Debug)]
pub struct CelExpr {
    /// The CEL text.
    pub source: String,
    /// The compiled program.
    pub program: cel::Program,
    /// The request roots it reads (`request`, `principal`...), sorted.
    pub roots: Vec<String>,
    /// The dotted request paths it reads (`request.params.amount`), sorted, for reporting
    /// which missing attribute made it unknown.
    pub paths: Vec<String>,
}

/// Why a CEL expression was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CelError {
    /// Byte offset in the CEL text (0 when unknown).
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do, when known.
    pub help: Option<String>,
}

/// How deep brackets (`(`, `[`, `{`) may nest in a CEL text: the language's own limit.
pub const MAX_CEL_NESTING: usize = writ_syntax::MAX_NESTING;

/// How many operator characters (`.` `+` `-` `*` `/` `%` `!` `<` `>` `=` `&` `|` `?` `:`,
/// each counted, `&&` as two) a CEL text may hold outside its string literals. The `cel`
/// crate builds and evaluates operator chains recursively, one level per operator.
pub const MAX_CEL_OPERATORS: usize = 256;

/// Refuses a CEL text that nests brackets deeper than [`MAX_CEL_NESTING`] or holds more
/// than [`MAX_CEL_OPERATORS`] operator characters, before the `cel` crate's recursive
/// parser sees it. One forward pass, no recursion; string literals (quoted, triple
/// quoted, raw) are skipped.
fn bounded(source: &str) -> Result<(), CelError> {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut operators = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\'' => {
                let raw = i > 0 && matches!(bytes[i - 1], b'r' | b'R');
                let triple = bytes.get(i..i + 3) == Some(&[b, b, b][..]);
                let close_len = if triple { 3 } else { 1 };
                i += close_len;
                loop {
                    match bytes.get(i) {
                        None => break,
                        Some(b'\\') if !raw => i += 2,
                        Some(&c)
                            if c == b
                                && (!triple || bytes.get(i..i + 3) == Some(&[b, b, b][..])) =>
                        {
                            i += close_len;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_CEL_NESTING {
                    return Err(CelError {
                        offset: i,
                        message: format!(
                            "CEL expression nested deeper than {MAX_CEL_NESTING} levels"
                        ),
                        help: Some(format!(
                            "brackets nest at most {MAX_CEL_NESTING} deep in `cel(...)`: simplify the expression"
                        )),
                    });
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'.' | b'+' | b'-' | b'*' | b'/' | b'%' | b'!' | b'<' | b'>' | b'=' | b'&' | b'|'
            | b'?' | b':' => {
                operators += 1;
                if operators > MAX_CEL_OPERATORS {
                    return Err(CelError {
                        offset: i,
                        message: format!(
                            "CEL expression with more than {MAX_CEL_OPERATORS} operators"
                        ),
                        help: Some(
                            "split it into several `cel(...)` tests joined with `and`/`or`, or write the test in the language".into(),
                        ),
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Compiles a CEL expression and checks that it only reads request roots.
pub fn compile(source: &str) -> Result<CelExpr, CelError> {
    if source.trim().is_empty() {
        return Err(CelError {
            offset: 0,
            message: "empty CEL expression".into(),
            help: None,
        });
    }
    // INVARIANT: past this line the text's nesting is bounded (`bounded`), so the `cel`
    // crate's recursive parser and evaluator, and the walks below, stay shallow.
    bounded(source)?;
    let parsed = catch_unwind(AssertUnwindSafe(|| cel::Program::compile(source)));
    let program = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(errors)) => {
            let first = errors.errors.first();
            let offset = first.map_or(0, |e| offset_of(source, e.pos.0, e.pos.1));
            let message =
                first.map_or_else(|| "invalid CEL expression".to_string(), |e| e.msg.clone());
            return Err(CelError {
                offset,
                message: format!("invalid CEL expression: {message}"),
                help: None,
            });
        }
        Err(_) => {
            return Err(CelError {
                offset: 0,
                message: "the CEL parser failed on this expression".into(),
                help: Some("simplify the expression; this is a bug in the CEL parser".into()),
            })
        }
    };
    let mut bound = Vec::new();
    comprehension_vars(&program.expression().expr, &mut bound);
    let references = program.references();
    let mut variables = references.variables();
    variables.sort_unstable();
    let mut roots: Vec<String> = Vec::new();
    for var in variables {
        if bound.iter().any(|b| b == var) {
            continue;
        }
        if var == "risk" {
            return Err(CelError {
                offset: source.find(var).unwrap_or(0),
                message: "`risk` cannot be read inside `cel(...)`".into(),
                help: Some(
                    "compare `risk` outside the CEL expression: `risk < 50 and cel(\"...\")`"
                        .into(),
                ),
            });
        }
        if !ROOTS.contains(&var) {
            let offset = source.find(var).unwrap_or(0);
            let help = crate::suggest::closest(var, ROOTS.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("CEL here reads the request: {}", ROOTS.join(", ")));
            return Err(CelError {
                offset,
                message: format!("unknown variable `{var}` in CEL expression"),
                help: Some(help),
            });
        }
        roots.push(var.to_string());
    }
    roots.sort();
    roots.dedup();
    let mut paths = Vec::new();
    selected_paths(&program.expression().expr, &bound, &mut paths);
    paths.sort();
    paths.dedup();
    Ok(CelExpr {
        source: source.to_string(),
        program,
        roots,
        paths,
    })
}

/// The direct sub-expressions of a CEL expression.
fn children(expr: &cel::common::ast::Expr) -> Vec<&cel::common::ast::IdedExpr> {
    use cel::common::ast::{EntryExpr, Expr};
    fn entries(e: &EntryExpr) -> Vec<&cel::common::ast::IdedExpr> {
        match e {
            EntryExpr::StructField(f) => vec![&f.value],
            EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
        }
    }
    match expr {
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::Call(call) => call
            .target
            .iter()
            .map(|t| &**t)
            .chain(call.args.iter())
            .collect(),
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Select(s) => vec![&*s.operand],
        Expr::Map(m) => m.entries.iter().flat_map(|e| entries(&e.expr)).collect(),
        Expr::Struct(s) => s.entries.iter().flat_map(|e| entries(&e.expr)).collect(),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => Vec::new(),
    }
}

/// The longest `a.b.c` chains of field selections rooted at a request variable.
fn selected_paths(expr: &cel::common::ast::Expr, bound: &[String], out: &mut Vec<String>) {
    use cel::common::ast::Expr;
    fn chain(expr: &Expr) -> Option<Vec<&str>> {
        match expr {
            Expr::Ident(name) => Some(vec![name.as_str()]),
            Expr::Select(s) if !s.test => {
                let mut c = chain(&s.operand.expr)?;
                c.push(s.field.as_str());
                Some(c)
            }
            _ => None,
        }
    }
    if let Some(c) = chain(expr) {
        if c.first()
            .is_some_and(|r| ROOTS.contains(r) && !bound.iter().any(|b| b == r))
        {
            out.push(c.join("."));
        }
        return;
    }
    for child in children(expr) {
        selected_paths(&child.expr, bound, out);
    }
}

/// Names bound by comprehensions (`x` in `list.all(x, x > 0)`): not request variables.
fn comprehension_vars(expr: &cel::common::ast::Expr, out: &mut Vec<String>) {
    if let cel::common::ast::Expr::Comprehension(c) = expr {
        out.push(c.iter_var.clone());
        out.extend(c.iter_var2.clone());
        out.push(c.accu_var.clone());
    }
    for child in children(expr) {
        comprehension_vars(&child.expr, out);
    }
}

/// Byte offset of a CEL error position (1-based line, 0-based column).
fn offset_of(source: &str, line: isize, col: isize) -> usize {
    let line = usize::try_from(line.max(1) - 1).unwrap_or(0);
    let col = usize::try_from(col.max(0)).unwrap_or(0);
    let start: usize = source.split_inclusive('\n').take(line).map(str::len).sum();
    (start + col).min(source.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_and_lists_roots() {
        let e =
            compile("request.params.amount > 10000 && request.params.currency == 'EUR'").unwrap();
        assert_eq!(e.roots, vec!["request".to_string()]);
        assert_eq!(
            e.paths,
            vec![
                "request.params.amount".to_string(),
                "request.params.currency".to_string()
            ]
        );
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        for bad in [
            "request.params.amount >",
            "(((",
            "'unterminated",
            "a.b.",
            "1 +",
            ")",
            "&&",
        ] {
            assert!(compile(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn comprehension_variables_are_not_request_roots() {
        let e =
            compile("principal.groups.exists(g, g.startsWith('team-')) && [1, 2].all(x, x > 0)")
                .unwrap();
        assert_eq!(e.roots, vec!["principal".to_string()]);
    }

    #[test]
    fn unknown_variables_are_refused() {
        let e = compile("reqest.params.amount > 1").unwrap_err();
        assert!(e.message.contains("reqest"));
        assert_eq!(e.help.as_deref(), Some("did you mean `request`?"));
    }
}
