//! Formatter tests: golden outputs for the files under `tests/format/`, and for those and
//! the bundled policies: formatting is idempotent, keeps every comment, and never changes
//! meaning (the formatted text parses to the same tree, spans aside).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::{Path, PathBuf};

use writ_syntax::erase::erase_spans;
use writ_syntax::{format_source, parse_file, FileId};

fn assert_sound(name: &str, text: &str) -> String {
    let original =
        parse_file(FileId(0), text).unwrap_or_else(|d| panic!("{name} does not parse: {d:?}"));
    let formatted = format_source(text).unwrap();
    let reparsed = parse_file(FileId(0), &formatted)
        .unwrap_or_else(|d| panic!("formatted {name} does not parse: {d:?}\n{formatted}"));
    assert_eq!(
        erase_spans(original.clone()),
        erase_spans(reparsed.clone()),
        "formatting changed the meaning of {name}"
    );
    let before: Vec<&str> = original.comments.iter().map(|c| c.text.as_str()).collect();
    let after: Vec<&str> = reparsed.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        before, after,
        "formatting lost or reordered comments of {name}"
    );
    assert_eq!(
        format_source(&formatted).unwrap(),
        formatted,
        "formatting {name} is not idempotent"
    );
    formatted
}

#[test]
fn golden_formatting() {
    insta::glob!("format/*.writ", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let formatted = assert_sound(&path.display().to_string(), &text);
        insta::assert_snapshot!(formatted);
    });
}

fn policy_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            policy_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "writ") {
            out.push(path);
        }
    }
}

#[test]
fn bundled_policies_format_soundly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut files = Vec::new();
    policy_files(&root, &mut files);
    assert!(
        files.len() >= 4,
        "expected the bundled policy sets under {}",
        root.display()
    );
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert_sound(&f.display().to_string(), &text);
    }
}
