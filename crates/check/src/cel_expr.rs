//! CEL leaves (`cel("...")`): compiled once at load, behind this one module.
//!
//! The `cel` crate's parser returns positioned errors; it is still called under
//! `catch_unwind` so that a parser bug can never take a service down on a bad policy edit.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::cel_lib;
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
    let mut names = Names::default();
    names.walk_ided(program.expression(), &bound);
    let at = |id: u64| {
        program
            .source_info()
            .offset_for(id)
            .and_then(|(start, _)| source.char_indices().nth(start as usize))
            .map_or(0, |(i, _)| i)
    };
    if let Some((id, name)) = names.unsupported.first() {
        let help =
            match crate::suggest::closest(name, cel_lib::CEL_FUNCTIONS.iter().map(|f| f.name)) {
                Some(s) => format!(
                    "did you mean `{s}`? writ's CEL has: {}",
                    cel_lib::supported_list()
                ),
                None => format!("writ's CEL has: {}", cel_lib::supported_list()),
            };
        return Err(CelError {
            offset: source
                .find(name.rsplit('.').next().unwrap_or(name))
                .unwrap_or_else(|| at(*id)),
            message: format!("unknown CEL function `{name}`"),
            help: Some(help),
        });
    }
    let mut roots: Vec<String> = Vec::new();
    for (id, var) in &names.variables {
        let var = var.as_str();
        if var == "risk" {
            return Err(CelError {
                offset: at(*id),
                message: "`risk` cannot be read inside `cel(...)`".into(),
                help: Some(
                    "compare `risk` outside the CEL expression: `risk < 50 and cel(\"...\")`"
                        .into(),
                ),
            });
        }
        if !ROOTS.contains(&var) {
            let candidates = ROOTS.iter().chain(cel_lib::CEL_TYPES).copied();
            let help = crate::suggest::closest(var, candidates)
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "CEL here reads the request ({}) and names types ({})",
                        ROOTS.join(", "),
                        cel_lib::CEL_TYPES.join(", ")
                    )
                });
            return Err(CelError {
                offset: at(*id),
                message: format!("unknown variable `{var}` in CEL expression"),
                help: Some(help),
            });
        }
        roots.push(var.to_string());
    }
    if let Some(err) = literal_arguments(&names.literal_calls, at) {
        return Err(err);
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

/// What a CEL expression names: the free variables it reads, the functions it calls that
/// writ does not support, and the calls whose argument is a literal to check at load.
#[derive(Default)]
struct Names {
    /// Free variables, with the id of their first use, in order of appearance.
    variables: Vec<(u64, String)>,
    /// Unsupported function names (qualified), with the id of the call.
    unsupported: Vec<(u64, String)>,
    /// `timestamp('...')`, `duration('...')` and `x.matches('...')` with a literal string:
    /// the function and the literal.
    literal_calls: Vec<(u64, &'static str, String)>,
}

impl Names {
    fn walk(&mut self, expr: &cel::common::ast::Expr, bound: &[String]) {
        use cel::common::ast::{Expr, LiteralValue};
        match expr {
            Expr::Ident(name) => {
                if !bound.iter().any(|b| b == name)
                    && !cel_lib::CEL_TYPES.contains(&name.as_str())
                    && !self.variables.iter().any(|(_, v)| v == name)
                {
                    self.variables.push((0, name.clone()));
                }
                return;
            }
            Expr::Select(_)
                if dotted(expr).is_some_and(|d| cel_lib::CEL_TYPES.contains(&d.as_str())) =>
            {
                return;
            }
            Expr::Call(call) => {
                let namespace = match call.target.as_deref().map(|t| &t.expr) {
                    Some(Expr::Ident(ns))
                        if cel_lib::CEL_NAMESPACES.contains(&ns.as_str())
                            && !bound.iter().any(|b| b == ns) =>
                    {
                        Some(ns.as_str())
                    }
                    _ => None,
                };
                let name = match namespace {
                    Some(ns) => format!("{ns}.{}", call.func_name),
                    None => call.func_name.clone(),
                };
                if !cel_lib::is_supported(&name) {
                    self.unsupported.push((0, name.clone()));
                }
                let literal = |e: &cel::common::ast::IdedExpr| match &e.expr {
                    Expr::Literal(LiteralValue::String(s)) => Some((e.id, s.inner().to_string())),
                    _ => None,
                };
                let checked: Option<(&'static str, Option<(u64, String)>)> = match name.as_str() {
                    "timestamp" => Some(("timestamp", call.args.first().and_then(literal))),
                    "duration" => Some(("duration", call.args.first().and_then(literal))),
                    "matches" => Some(("matches", call.args.last().and_then(literal))),
                    _ => None,
                };
                if let Some((f, Some((id, text)))) = checked {
                    self.literal_calls.push((id, f, text));
                }
                if namespace.is_none() {
                    if let Some(t) = &call.target {
                        self.walk_ided(t, bound);
                    }
                }
                for a in &call.args {
                    self.walk_ided(a, bound);
                }
                return;
            }
            _ => {}
        }
        for child in children(expr) {
            self.walk_ided(child, bound);
        }
    }

    /// Walks a sub-expression, recording its id on what it adds.
    fn walk_ided(&mut self, e: &cel::common::ast::IdedExpr, bound: &[String]) {
        let (v, u, l) = (
            self.variables.len(),
            self.unsupported.len(),
            self.literal_calls.len(),
        );
        self.walk(&e.expr, bound);
        for x in self.variables.iter_mut().skip(v).filter(|x| x.0 == 0) {
            x.0 = e.id;
        }
        for x in self.unsupported.iter_mut().skip(u).filter(|x| x.0 == 0) {
            x.0 = e.id;
        }
        for x in self.literal_calls.iter_mut().skip(l).filter(|x| x.0 == 0) {
            x.0 = e.id;
        }
    }
}

/// `a.b.c` for a chain of identifiers and field selections.
fn dotted(expr: &cel::common::ast::Expr) -> Option<String> {
    use cel::common::ast::Expr;
    match expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Select(s) if !s.test => Some(format!("{}.{}", dotted(&s.operand.expr)?, s.field)),
        _ => None,
    }
}

/// Checks the literal arguments of `timestamp`, `duration` and `matches` by running the
/// function on them: a malformed instant, duration or regular expression is a load
/// error, not an expression that is unknown on every request.
fn literal_arguments(
    calls: &[(u64, &'static str, String)],
    at: impl Fn(u64) -> usize,
) -> Option<CelError> {
    for (id, function, text) in calls {
        let probe = match *function {
            "timestamp" => "timestamp(v)",
            "duration" => "duration(v)",
            _ => "''.matches(v)",
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let compiled = cel::Program::compile(probe).ok()?;
            let mut ctx = cel::Context::default();
            ctx.add_variable_from_value("v", text.clone());
            Some(compiled.execute(&ctx).map(|_| ()))
        }));
        let failure = match outcome {
            Ok(Some(Ok(()))) => continue,
            Ok(Some(Err(e))) => {
                let e = e.to_string();
                // The crate's wording: "Error executing function 'f': why".
                e.split_once("': ")
                    .map_or(e.clone(), |(_, why)| why.to_string())
            }
            Ok(None) | Err(_) => "it could not be checked".to_string(),
        };
        let expected = match *function {
            "timestamp" => "an RFC 3339 instant such as '2026-03-01T10:00:00Z'",
            "duration" => "a duration such as '90s', '1h30m' or '1.5h'",
            _ => "a regular expression in RE2 syntax",
        };
        return Some(CelError {
            offset: at(*id),
            message: format!("invalid argument `{text}` to `{function}`: {failure}"),
            help: Some(format!("`{function}` expects {expected}")),
        });
    }
    None
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

    #[test]
    fn type_names_are_values_not_variables() {
        for ok in [
            "type(time) == string",
            "type(request.params.amount) == int || type(request.params.amount) == double",
            "type(time) == google.protobuf.Timestamp",
            "type(session.auth_age) == google.protobuf.Duration",
        ] {
            let e = compile(ok).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
            assert!(
                !e.roots.iter().any(|r| r == "string" || r == "google"),
                "{ok}"
            );
        }
        let e = compile("type(time) == strin").unwrap_err();
        assert_eq!(e.message, "unknown variable `strin` in CEL expression");
        assert_eq!(e.help.as_deref(), Some("did you mean `string`?"));
        assert_eq!(e.offset, "type(time) == ".len());
    }

    #[test]
    fn every_supported_function_passes_the_checker() {
        for f in crate::cel_lib::CEL_FUNCTIONS {
            compile(f.example).unwrap_or_else(|e| panic!("{}: {e:?}", f.name));
        }
        let e =
            compile("math.abs(request.params.delta) < 10 && request.params.to.lowerAscii() == 'x'")
                .unwrap();
        assert_eq!(e.roots, vec!["request".to_string()]);
    }

    #[test]
    fn unsupported_functions_are_named_with_the_supported_ones() {
        let e = compile("request.params.payee.toLower() == 'x'").unwrap_err();
        assert_eq!(e.message, "unknown CEL function `toLower`");
        let help = e.help.unwrap();
        assert!(help.contains("lowerAscii"), "{help}");
        assert!(help.contains("timestamp"), "{help}");
        assert_eq!(e.offset, "request.params.payee.".len());
        let e = compile("math.log(2.0) > 0.0").unwrap_err();
        assert_eq!(e.message, "unknown CEL function `math.log`");
        let e = compile("optional.of(1).hasValue()").unwrap_err();
        assert!(e.message.contains("unknown"), "{e:?}");
        let e = compile("request.params.a.lowerAcsii() == 'x'").unwrap_err();
        assert!(e.help.unwrap().starts_with("did you mean `lowerAscii`?"));
    }

    #[test]
    fn literal_instants_durations_and_patterns_are_checked_at_load() {
        for (bad, function) in [
            ("time > timestamp('yesterday')", "timestamp"),
            ("session.auth_age < duration('5 minutes')", "duration"),
            ("request.params.id.matches('[a-z')", "matches"),
        ] {
            let e = compile(bad).unwrap_err();
            assert!(
                e.message.contains(&format!("to `{function}`")),
                "{bad}: {e:?}"
            );
            assert!(e.help.is_some());
        }
        compile(
            "time > timestamp('2026-01-01T00:00:00Z') && request.params.id.matches('^[a-z]+$')",
        )
        .unwrap();
    }
}
