//! The parser's hand-written fast path and the pest path build the same tree, spans
//! included, on the generated policy sets (the benchmark workload, the full-style set and
//! the many-rules-per-action set), and the fast path takes every one of them (it is what
//! makes compiling 10,000 rules fast; `crates/syntax/tests/fast_path.rs` probes its
//! refusals).

#![allow(clippy::unwrap_used, clippy::panic, reason = "a test")]

use writ_syntax::{parse_file_fast, parse_file_with_pest, FileId};

fn same_tree(name: &str, text: &str) {
    let fast = parse_file_fast(FileId(0), text)
        .unwrap_or_else(|| panic!("{name}: the fast path leaves a generated set to pest"));
    let pest = parse_file_with_pest(FileId(0), text)
        .unwrap_or_else(|d| panic!("{name}: pest refuses a generated set: {d:?}"));
    assert!(fast == pest, "{name}: the trees differ");
}

#[test]
fn generated_sets_parse_alike_on_both_paths() {
    for seed in [1, 0x5eed_2026] {
        same_tree(
            "workload",
            &writ_gensets::Workload::generate(seed, 1500, 10).writ_policy(),
        );
        same_tree(
            "full style",
            &writ_gensets::full_style::full_style(seed, 1500, 10).policy,
        );
        same_tree(
            "many rules",
            &writ_gensets::many::ManyRules::generate(seed, 1500, 10).writ_policy(),
        );
    }
}
