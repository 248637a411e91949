//! The names a policy set can refer to: request paths (well-known and declared in
//! `schema` blocks) and `let` values, with the interning of the paths actually used.

use std::collections::HashMap;

use writ_syntax::ast;
use writ_syntax::{Diagnostic, Span};

use crate::ir::{LetValue, PathId, PathInfo, PolicySet};
use crate::suggest::closest;
use crate::types::{schema_type, well_known, Type, ROOTS, SCHEMA_TYPES, VALUE_ROOTS};

/// Known request paths and `let` names.
#[derive(Default)]
pub struct Scope {
    known: HashMap<String, Type>,
    declared_at: HashMap<String, Span>,
    pub lets: HashMap<String, (LetValue, Span)>,
    /// The `let` names referred to so far.
    pub used_lets: std::collections::HashSet<String>,
    pub paths: Vec<PathInfo>,
    interned: HashMap<String, PathId>,
    /// Named conditions not checked yet: checked when first used (or at the end), so
    /// that they may refer to each other in any order.
    pub pending: HashMap<String, PendingLet>,
    /// The named conditions being checked, outermost first (a cycle shows as a repeat).
    pub resolving: Vec<String>,
}

/// A named condition waiting to be checked.
pub struct PendingLet {
    /// Its expression.
    pub expr: ast::Expr,
    /// The text of the file it is in.
    pub source: std::sync::Arc<str>,
}

impl Scope {
    /// A scope with the well-known paths.
    pub fn new() -> Scope {
        let mut s = Scope::default();
        for (path, ty) in well_known() {
            s.known.insert(path.to_string(), ty);
        }
        s
    }

    /// The scope a checked set ended with: its known paths, its `let` values and its
    /// interned paths (same ids), so that an expression checked later reads the set's
    /// slots and interns any other path after them.
    pub fn of_set(set: &PolicySet) -> Scope {
        let mut s = Scope::default();
        for (path, ty) in &set.known {
            s.known.insert(path.clone(), ty.clone());
        }
        for l in &set.lets {
            s.lets.insert(l.name.clone(), (l.value.clone(), l.span));
        }
        for (i, p) in set.paths.iter().enumerate() {
            s.interned
                .insert(p.text.clone(), PathId(u32::try_from(i).unwrap_or(u32::MAX)));
        }
        s.paths = set.paths.clone();
        s
    }

    /// Every known path, sorted (for completion and suggestions).
    pub fn known_paths(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.known.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The type of a known path.
    pub fn type_of(&self, path: &str) -> Option<&Type> {
        self.known.get(path)
    }

    /// Adds the entries of a schema block.
    pub fn declare(&mut self, block: &ast::SchemaBlock, diags: &mut Vec<Diagnostic>) {
        for entry in &block.entries {
            let Some(ty) = self.entry_type(&entry.ty, diags) else {
                continue;
            };
            let path = entry.path.text();
            let root = entry
                .path
                .segments
                .first()
                .map(String::as_str)
                .unwrap_or("");
            if !ROOTS.contains(&root) {
                let mut d = Diagnostic::new(
                    "writ::schema",
                    format!("`{path}` is not under a request root"),
                    entry.path.span,
                    "unknown root",
                );
                d.help = Some(match closest(root, ROOTS.iter().copied()) {
                    Some(r) => format!("did you mean `{r}`?"),
                    None => format!("request paths start with one of: {}", ROOTS.join(", ")),
                });
                diags.push(d);
                continue;
            }
            if VALUE_ROOTS.contains(&root) || entry.path.segments.len() < 2 {
                diags.push(Diagnostic::new(
                    "writ::schema",
                    format!("`{path}` cannot be declared"),
                    entry.path.span,
                    "not an attribute",
                ).with_help("declare attributes such as `resource.env`; `action`, `time` and `risk` are values with fixed types"));
                continue;
            }
            if let Some(parent) = self.scalar_prefix(&entry.path.segments) {
                let mut d = Diagnostic::new(
                    "writ::schema",
                    format!("`{path}` is inside `{parent}`, which is not an object"),
                    entry.path.span,
                    "cannot have attributes",
                );
                if self.known.get(&parent) == Some(&Type::Jwk) {
                    d.message = format!("`{path}` is inside `{parent}`, a public key taken whole");
                    d.help = Some(format!(
                        "`{parent}` is a JWK checked as a whole when a request is bound; bind it, do not compare its members"
                    ));
                }
                diags.push(d);
                continue;
            }
            match self.known.get(&path) {
                Some(existing) if !same_type(existing, &ty) => {
                    let mut d = Diagnostic::new(
                        "writ::schema",
                        format!("`{path}` is declared as `{ty}` but is already `{existing}`"),
                        entry.span,
                        "conflicting declaration",
                    );
                    if let Some(first) = self.declared_at.get(&path) {
                        d = d.with_label(*first, "first declared here");
                    } else {
                        d = d.with_help(format!(
                            "`{path}` is a well-known path of type `{existing}`"
                        ));
                    }
                    diags.push(d);
                }
                Some(_) => {}
                None => {
                    if let Some(child) = self
                        .known
                        .keys()
                        .find(|k| k.starts_with(&format!("{path}.")))
                    {
                        diags.push(Diagnostic::new(
                            "writ::schema",
                            format!("`{path}` cannot be a `{ty}`: `{child}` is inside it"),
                            entry.path.span,
                            "already an object",
                        ));
                        continue;
                    }
                    self.known.insert(path.clone(), ty);
                    self.declared_at.insert(path, entry.span);
                }
            }
        }
    }

    fn scalar_prefix(&self, segments: &[String]) -> Option<String> {
        (1..segments.len()).find_map(|n| {
            let prefix = segments[..n].join(".");
            match self.known.get(&prefix) {
                Some(Type::Object) | None => None,
                Some(_) => Some(prefix),
            }
        })
    }

    fn entry_type(&self, ty: &ast::TypeExpr, diags: &mut Vec<Diagnostic>) -> Option<Type> {
        match ty {
            ast::TypeExpr::Named(name) => match schema_type(&name.name) {
                Some(t) => Some(t),
                None => {
                    let help = match closest(&name.name, SCHEMA_TYPES.iter().copied()) {
                        Some(t) => format!("did you mean `{t}`?"),
                        None => format!(
                            "types are {}, or a union of strings such as `\"a\" | \"b\"`",
                            SCHEMA_TYPES.join(", ")
                        ),
                    };
                    diags.push(
                        Diagnostic::new(
                            "writ::schema",
                            format!("unknown type `{}`", name.name),
                            name.span,
                            "unknown type",
                        )
                        .with_help(help),
                    );
                    None
                }
            },
            ast::TypeExpr::Union(items, span) => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                let mut ok = true;
                for s in items {
                    if let Some(first) = seen.insert(&s.value, s.span) {
                        diags.push(
                            Diagnostic::new(
                                "writ::schema",
                                format!("`\"{}\"` appears twice in this union", s.value),
                                s.span,
                                "again here",
                            )
                            .with_label(first, "first here"),
                        );
                        ok = false;
                    }
                }
                if items.is_empty() {
                    diags.push(Diagnostic::new(
                        "writ::schema",
                        "empty union type",
                        *span,
                        "no member",
                    ));
                    ok = false;
                }
                ok.then(|| Type::Enum(items.iter().map(|s| s.value.clone()).collect()))
            }
        }
    }

    /// Interns a known path.
    pub fn intern(&mut self, text: &str, segments: &[String], ty: &Type) -> PathId {
        if let Some(id) = self.interned.get(text) {
            return *id;
        }
        let id = PathId(u32::try_from(self.paths.len()).unwrap_or(u32::MAX));
        self.paths.push(PathInfo {
            text: text.to_string(),
            segments: segments.to_vec(),
            ty: ty.clone(),
        });
        self.interned.insert(text.to_string(), id);
        id
    }

    /// The diagnostic for a path that is not known, with the best suggestion.
    pub fn unknown_path(&self, path: &ast::Path) -> Diagnostic {
        let text = path.text();
        let root = path.segments.first().map(String::as_str).unwrap_or("");
        if path.segments.len() > 1 && VALUE_ROOTS.contains(&root) {
            let help = match root {
                "time" => "`time` is an instant: test it with an `hours` window (`time in hours \"Mon-Sun 22:00-24:00\" in \"UTC\"`) or compare it with another instant".to_string(),
                _ => format!("`{root}` has no attributes; use it as a whole"),
            };
            return Diagnostic::new(
                "writ::unknown-path",
                format!("`{root}` is a value, not an object: `{text}` does not exist"),
                path.span,
                "no such attribute",
            )
            .with_help(help);
        }
        if path.segments.len() == 1 {
            let mut candidates: Vec<&str> = self.lets.keys().map(String::as_str).collect();
            candidates.extend(VALUE_ROOTS);
            candidates.sort_unstable();
            let help = closest(&text, candidates.iter().copied())
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| {
                    "declare it with `let` or write a request path such as `device.managed`".into()
                });
            return Diagnostic::new(
                "writ::unknown-name",
                format!("unknown name `{text}`"),
                path.span,
                "not defined",
            )
            .with_help(help);
        }
        if !ROOTS.contains(&root) {
            let help = match closest(root, ROOTS.iter().copied()) {
                Some(r) => format!(
                    "did you mean `{}`?",
                    std::iter::once(r.to_string())
                        .chain(path.segments[1..].iter().cloned())
                        .collect::<Vec<_>>()
                        .join(".")
                ),
                None => format!("request paths start with one of: {}", ROOTS.join(", ")),
            };
            return Diagnostic::new(
                "writ::unknown-path",
                format!("unknown request root `{root}` in `{text}`"),
                path.span,
                "unknown root",
            )
            .with_help(help);
        }
        let help = match closest(&text, self.known_paths()) {
            Some(c) => format!("did you mean `{c}`?"),
            None => format!("declare it in a `schema` block: `schema {{ {text}: string }}`"),
        };
        Diagnostic::new(
            "writ::unknown-path",
            format!("unknown attribute `{text}`"),
            path.span,
            "not well-known and not declared in a schema",
        )
        .with_help(help)
    }

    /// The diagnostic for a root used as a value (`principal`).
    pub fn object_as_value(&self, path: &ast::Path) -> Diagnostic {
        let text = path.text();
        let prefix = format!("{text}.");
        let children: Vec<&str> = self
            .known_paths()
            .into_iter()
            .filter(|p| p.starts_with(&prefix))
            // Objects and keys (`principal.key`) are not values either: suggest only values.
            .filter(|p| !matches!(self.type_of(p), Some(Type::Object | Type::Jwk)))
            .take(4)
            .collect();
        let mut d = Diagnostic::new(
            "writ::type",
            format!("`{text}` is an object, not a value"),
            path.span,
            "an object",
        );
        if !children.is_empty() {
            d.help = Some(format!(
                "use one of its attributes, such as {}",
                children
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        d
    }
}

/// Types are the same; unions compare as sets of members.
fn same_type(a: &Type, b: &Type) -> bool {
    match (a, b) {
        (Type::Enum(x), Type::Enum(y)) => {
            let mut x: Vec<&String> = x.iter().collect();
            let mut y: Vec<&String> = y.iter().collect();
            x.sort();
            y.sort();
            x == y
        }
        _ => a == b,
    }
}
