//! Checking a lone expression against a checked set, as the REPL does for what the
//! author types: the set's schema, `let` names and path ids are in scope, `risk` is
//! available (as in a rule condition).

use writ_syntax::{parse_expr, Diagnostic, SourceMap};

use crate::check::Rejected;
use crate::expr::{Context, ExprChecker, Typed};
use crate::ir::{PathInfo, PolicySet};
use crate::scope::Scope;

/// A checked lone expression.
#[derive(Debug)]
pub struct LoneExpr {
    /// The expression text as file 0 (every span of [`LoneExpr::typed`] points into it).
    pub sources: SourceMap,
    /// What the expression is: a condition, a value, a list, a CIDR set or a window.
    pub typed: Typed,
    /// The set's paths (same ids), followed by any path only the expression reads.
    pub paths: Vec<PathInfo>,
}

/// Parses and checks `text` as an expression over the set's request paths and names.
///
/// Errors are rendered against the returned sources (file 0, named `name`).
pub fn check_expr(set: &PolicySet, name: &str, text: &str) -> Result<LoneExpr, Rejected> {
    let mut sources = SourceMap::default();
    let file = sources.add(name, text);
    let ast = match parse_expr(file, text) {
        Ok(e) => e,
        Err(diagnostics) => {
            return Err(Rejected {
                sources,
                diagnostics,
            })
        }
    };
    let mut scope = Scope::of_set(set);
    let mut diags: Vec<Diagnostic> = Vec::new();
    let typed = ExprChecker {
        scope: &mut scope,
        diags: &mut diags,
        context: Context::Rule,
    }
    .expr(&ast, text);
    if !diags.is_empty() || matches!(typed, Typed::Error) {
        return Err(Rejected {
            sources,
            diagnostics: diags,
        });
    }
    Ok(LoneExpr {
        sources,
        typed,
        paths: scope.paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Cond, Operand};
    use crate::types::Type;

    fn set() -> PolicySet {
        let mut s = SourceMap::default();
        s.add(
            "p.writ",
            "let corp = cidr [\"10.0.0.0/8\"]\nrule \"r\" { when device.managed allow }\n",
        );
        crate::check(s).unwrap()
    }

    #[test]
    fn a_condition_reuses_the_set_ids_and_adds_new_paths_after_them() {
        let set = set();
        let e = check_expr(&set, "<repl>", "device.managed and network.ip in corp").unwrap();
        assert!(matches!(e.typed, Typed::Cond(Cond::And(_))));
        assert_eq!(e.paths[0].text, "device.managed");
        assert_eq!(e.paths[1].text, "network.ip");
        assert_eq!(e.paths.len(), set.paths.len() + 1);
    }

    #[test]
    fn risk_is_a_value() {
        let e = check_expr(&set(), "<repl>", "risk").unwrap();
        assert!(matches!(e.typed, Typed::Value(Operand::Path(_), Type::Int)));
    }

    #[test]
    fn errors_point_into_the_expression() {
        let r = check_expr(&set(), "<repl>", "device.manged").unwrap_err();
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!(
            r.diagnostics[0].one_line(&r.sources),
            "<repl>:1:1: error: unknown attribute `device.manged`"
        );
        let r = check_expr(&set(), "<repl>", "device.managed and").unwrap_err();
        assert!(
            r.diagnostics[0].message.contains("expected"),
            "{:?}",
            r.diagnostics
        );
    }
}
