//! One case file per situation, under `tests/cases/<lint>/`: a `fires-*.writ` file must
//! get at least one finding of that lint, a `quiet-*.writ` file none; every file's
//! findings are pinned as rendered for people (position, underlined rule, help).
//! An `approvers.toml` beside the cases is their approver registry.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::Path;

fn findings(path: &Path) -> String {
    let lint = path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let code = format!("writ::lint::{lint}");
    let name = path.file_name().unwrap().to_str().unwrap();
    let mut sources = writ_syntax::SourceMap::default();
    sources.add(
        format!("{lint}/{name}"),
        std::fs::read_to_string(path).unwrap(),
    );
    let set = match writ_check::check(sources) {
        Ok(s) => s,
        Err(r) => panic!(
            "{name} does not check:\n{}",
            writ_syntax::render(&r.diagnostics, &r.sources, writ_syntax::Style::Plain)
        ),
    };
    let config = writ_lint::Config {
        registry: writ_lint::ApproverGroups::load(path.parent().unwrap()).unwrap(),
        ..writ_lint::Config::default()
    };
    let found = writ_lint::lint(&set, &config);
    let text = writ_syntax::render(&found, &set.sources, writ_syntax::Style::Plain);
    let mine = found.iter().filter(|d| d.code == code).count();
    if name.starts_with("fires-") {
        assert!(
            mine > 0,
            "{name}: expected a `{code}` finding, got:\n{text}"
        );
    } else {
        assert!(
            name.starts_with("quiet-"),
            "{name}: name cases fires-* or quiet-*"
        );
        assert_eq!(
            mine, 0,
            "{name}: expected no `{code}` finding, got:\n{text}"
        );
    }
    if found.is_empty() {
        "no findings\n".into()
    } else {
        text
    }
}

#[test]
fn every_lint_fires_where_it_should_and_nowhere_else() {
    insta::glob!("cases/**/*.writ", |path| {
        insta::assert_snapshot!(findings(path));
    });
}
