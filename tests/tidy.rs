//! House rules that code review keeps missing, checked over every tracked Rust file (as
//! rust-analyzer's `xtask/src/tidy.rs` does): each file opens with a `//!` comment saying
//! what it is for, and every citation of a document's section (`docs/language.md §14`)
//! names a document in this repository and a section that document has. The contract
//! documents kept outside the repository (`LANGUAGE.md`, `DESIGN.md`, `STYLE.md`) are not
//! cited: a reader of the code cannot follow them.

#![allow(clippy::unwrap_used, clippy::panic, reason = "a test")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under the source directories, fixtures excepted.
fn rust_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = ["crates", "src", "tests", "benches", "examples", "fuzz"]
        .iter()
        .map(|d| root().join(d))
        .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !matches!(&*name, "target" | "node_modules" | "corpus" | "artifacts") {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The numbered sections (`## 14. …`) of a markdown document.
fn sections(doc: &Path) -> BTreeSet<u32> {
    std::fs::read_to_string(doc)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|h| h.split('.').next()?.trim().parse().ok())
        .collect()
}

/// `NAME.md §N` (and `§N–§M`, `§N and §M` after it) in a line: the document and sections.
fn citations(line: &str) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find(".md §") {
        let before = &rest[..at];
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let doc = format!("{}.md", &before[start..]);
        let mut after = &rest[at + ".md ".len()..];
        // The first section and any that follow in `§N–§M`, `§N, §M`, `§N and §M`.
        while let Some(tail) = after.strip_prefix('§') {
            let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
            let Ok(n) = digits.parse() else { break };
            out.push((doc.clone(), n));
            after = &tail[digits.len()..];
            for sep in ["–", ", ", " and ", "-"] {
                if let Some(t) = after.strip_prefix(sep) {
                    if t.starts_with('§') {
                        after = t;
                        break;
                    }
                }
            }
        }
        rest = &rest[at + ".md §".len()..];
    }
    out
}

#[test]
fn every_source_file_opens_with_what_it_is_for() {
    let missing: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` opening: {missing:#?}"
    );
}

#[test]
fn every_section_cited_exists_in_a_document_of_this_repository() {
    let mut wrong = Vec::new();
    // This file names what it looks for.
    for path in rust_files()
        .into_iter()
        .filter(|p| !p.ends_with("tests/tidy.rs"))
    {
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = path.strip_prefix(root()).unwrap().display().to_string();
        for (i, line) in text.lines().enumerate() {
            for outside in ["LANGUAGE.md", "DESIGN.md", "STYLE.md"] {
                if line.contains(outside) {
                    wrong.push(format!(
                        "{shown}:{}: cites {outside}, which is not in the repository",
                        i + 1
                    ));
                }
            }
            for (doc, n) in citations(line) {
                if matches!(doc.as_str(), "LANGUAGE.md" | "DESIGN.md" | "STYLE.md") {
                    continue;
                }
                let file = root().join(&doc);
                if !file.is_file() {
                    wrong.push(format!(
                        "{shown}:{}: cites {doc}, which does not exist",
                        i + 1
                    ));
                } else if !sections(&file).contains(&n) {
                    wrong.push(format!(
                        "{shown}:{}: cites {doc} §{n}, which it does not have",
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn citations_are_read_as_written() {
    assert_eq!(
        citations("see docs/language.md §8, §13–§15 and README.md §2."),
        vec![
            ("docs/language.md".to_string(), 8),
            ("docs/language.md".to_string(), 13),
            ("docs/language.md".to_string(), 15),
            ("README.md".to_string(), 2),
        ]
    );
    assert_eq!(citations("(docs/language.md §17 and §21)").len(), 2);
    assert!(citations("no section here: docs/language.md").is_empty());
}

/// The test references in a markdown text: backquoted `PATH.rs` under a `tests/` folder,
/// and `PATH.rs::NAME` (a test function of that file). A `*` stands for one folder.
fn test_references(text: &str) -> Vec<(String, Option<String>)> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            !t.contains(' ')
                && (t.contains(".rs::") || (t.contains("tests/") && t.ends_with(".rs")))
        })
        .map(|t| match t.split_once("::") {
            Some((file, name)) => (file.to_string(), Some(name.to_string())),
            None => (t.to_string(), None),
        })
        .collect()
}

/// The files a reference names: itself, or with a `*` folder every folder that has it.
fn referenced_files(path: &str) -> Vec<PathBuf> {
    match path.split_once("/*/") {
        None => vec![root().join(path)],
        Some((parent, rest)) => std::fs::read_dir(root().join(parent))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path().join(rest))
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[test]
fn every_test_architecture_md_names_exists() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let references = test_references(&text);
    assert!(references.len() > 20, "{references:?}");
    let mut wrong = Vec::new();
    for (path, name) in references {
        let files: Vec<PathBuf> = referenced_files(&path)
            .into_iter()
            .filter(|f| f.is_file())
            .collect();
        if files.is_empty() {
            wrong.push(format!("`{path}` does not exist"));
            continue;
        }
        if let Some(name) = name {
            let defined = files.iter().any(|f| {
                let code = std::fs::read_to_string(f).unwrap();
                code.contains(&format!("fn {name}("))
            });
            if !defined {
                wrong.push(format!("`{path}` has no test `{name}`"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "ARCHITECTURE.md names tests that are not there: {wrong:#?}"
    );
}

#[test]
fn test_references_are_read_as_written() {
    assert_eq!(
        test_references("held by `crates/a/tests/b.rs`, `src/c.rs::held` and `parser.rs`"),
        vec![
            ("crates/a/tests/b.rs".to_string(), None),
            ("src/c.rs".to_string(), Some("held".to_string())),
        ]
    );
    assert!(!referenced_files("crates/*/tests/properties.rs").is_empty());
}

/// Every dependency a manifest names, in any `[*dependencies]` section.
fn dependencies(manifest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(manifest)).unwrap();
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line.contains("dependencies");
        } else if in_deps && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                // `name = …`, `name.workspace = true`, `name.path = …`.
                let name = name.trim();
                out.push(name.split('.').next().unwrap_or(name).to_string());
            }
        }
    }
    out
}

#[test]
fn the_cli_reaches_the_pipeline_through_the_facade() {
    let stages = [
        "writ-syntax",
        "writ-check",
        "writ-engine",
        "writ-reload",
        "writ-approvals",
        "writ-webauthn",
        "writ-registry",
    ];
    let deps = dependencies("crates/cli/Cargo.toml");
    assert!(deps.iter().any(|d| d == "writ"), "{deps:?}");
    let around: Vec<&String> = deps
        .iter()
        .filter(|d| stages.contains(&d.as_str()))
        .collect();
    assert!(
        around.is_empty(),
        "the CLI reaches {around:?} around the `writ` facade: re-export what it needs from src/lib.rs"
    );
}

#[test]
fn the_lint_reads_the_registry_without_the_approval_flow() {
    let deps = dependencies("crates/lint/Cargo.toml");
    assert!(deps.iter().any(|d| d == "writ-registry"), "{deps:?}");
    assert!(
        !deps.iter().any(|d| d == "writ-approvals"),
        "writ-lint depends on writ-approvals: read `approvers.toml` through writ-registry"
    );
}

#[test]
fn pest_stays_in_the_parser() {
    // The pest parser, the pairs it yields lowered to the AST, and its error wording.
    let pest_modules: Vec<std::path::PathBuf> = ["parser.rs", "lower.rs", "wording.rs"]
        .iter()
        .map(|f| root().join("crates/syntax/src").join(f))
        .collect();
    let outside: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "src") && !pest_modules.contains(p))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.contains("pest::") || text.contains("pest_derive")
        })
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        outside.is_empty(),
        "pest types outside crates/syntax/src/{{parser,lower,wording}}.rs: {outside:#?}"
    );
}

/// The words of `files` (paths from the repository root) that name I/O or a lock, as
/// `file: word`, comments aside.
fn io_or_lock_in(files: &[PathBuf], words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for w in words {
                if code.contains(w) {
                    let shown = path.strip_prefix(root()).unwrap_or(path).display();
                    found.push(format!("{shown}: `{w}` in `{}`", line.trim()));
                }
            }
        }
    }
    found
}

/// ARCHITECTURE.md: evaluation does no I/O and takes no lock — no file, socket, process,
/// standard stream or lock anywhere in the engine's sources.
#[test]
fn the_engine_does_no_io_and_takes_no_lock() {
    let engine: Vec<PathBuf> = rust_files()
        .into_iter()
        .filter(|p| p.starts_with(root().join("crates/engine/src")))
        .collect();
    assert!(!engine.is_empty());
    let found = io_or_lock_in(
        &engine,
        &[
            "std::fs",
            "std::io",
            "std::process",
            "File::",
            "TcpStream",
            "TcpListener",
            "UdpSocket",
            "ToSocketAddrs",
            "Mutex",
            "RwLock",
            "Condvar",
            "Barrier",
            ".lock()",
            "println!",
            "eprintln!",
        ],
    );
    assert!(found.is_empty(), "I/O or a lock in the engine: {found:#?}");
}

/// ARCHITECTURE.md: `writ serve` decides without taking a lock — the modules every
/// decision passes through (the guard, identity, body, the native and AuthZEN handlers,
/// the AuthZEN text mapping, the lane, metrics, ids) hold none (the approval flow, behind `blocking`, is the store's).
#[test]
fn serve_decides_without_a_lock() {
    let files: Vec<PathBuf> = [
        "guard.rs",
        "identity.rs",
        "body.rs",
        "native.rs",
        "authzen.rs",
        "authzen_text.rs",
        "lane.rs",
        "metrics.rs",
        "ids.rs",
    ]
    .iter()
    .map(|f| root().join("crates/server/src").join(f))
    .collect();
    let found = io_or_lock_in(
        &files,
        &[
            "Mutex", "RwLock", "Condvar", ".lock()", ".read()", ".write()",
        ],
    );
    assert!(found.is_empty(), "a lock on the deciding path: {found:#?}");
}
