//! Golden tests for diagnostics: every case under `tests/diagnostics/` (a `.writ` file or
//! a directory of them) must be rejected, and its rendered report is pinned as a snapshot
//! (message, underlined text, help).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::Path;

use writ_syntax::{render, SourceMap, Style};

/// Loads a case with file names relative to the `diagnostics` directory, so snapshots are
/// the same on every machine.
fn load(case: &Path) -> SourceMap {
    let base = case.parent().unwrap();
    let mut files = Vec::new();
    if case.is_dir() {
        for entry in std::fs::read_dir(case).unwrap() {
            files.push(entry.unwrap().path());
        }
    } else {
        files.push(case.to_path_buf());
    }
    files.sort();
    let mut sources = SourceMap::default();
    for f in files {
        let name = f.strip_prefix(base).unwrap().display().to_string();
        sources.add(name, std::fs::read_to_string(&f).unwrap());
    }
    sources
}

#[test]
fn every_error_class_renders_as_pinned() {
    insta::glob!("diagnostics/*", |case| {
        let sources = load(case);
        let rejected = match writ_check::check(sources) {
            Ok(_) => panic!("{} should be rejected", case.display()),
            Err(r) => r,
        };
        assert!(!rejected.diagnostics.is_empty());
        let report = render(&rejected.diagnostics, &rejected.sources, Style::Plain);
        insta::assert_snapshot!(report);
    });
}
