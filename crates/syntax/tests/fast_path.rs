//! The parser's hand-written fast path against the pest path: wherever the fast path
//! builds a tree, the pest path builds the same one, spans included, with no diagnostic;
//! and on well-formed text the fast path does take it. Inputs: random well-formed files
//! (the generators of `properties.rs`' shape), token soup, every `.writ` file in the
//! repository, and random mutations of all of these (bytes cut out, tricky tokens put
//! in), which probe the fast path's refusals.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::{Path, PathBuf};

mod common;

use proptest::prelude::*;
use writ_syntax::{parse_file_fast, parse_file_with_pest, FileId};

/// Checks that the paths agree on `src`; whether the fast path took it.
fn agree(src: &str) -> Result<bool, TestCaseError> {
    let pest = parse_file_with_pest(FileId(0), src);
    match parse_file_fast(FileId(0), src) {
        Some(fast) => {
            let Ok(pest) = pest else {
                return Err(TestCaseError::fail(format!(
                    "the fast path accepts what pest refuses ({pest:?}):\n{src}"
                )));
            };
            prop_assert_eq!(&fast, &pest, "{}", src);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Snippets that sit on the fast path's decisions: keyword forms and their look-alikes,
/// operators, literals at their edges, escapes, comments in odd places.
const TRICKY: &[&str] = &[
    "not",
    "not in",
    " in ",
    "has",
    "has any",
    "has all",
    "any",
    "within",
    "matches",
    "(",
    ")",
    "[",
    "]",
    ",",
    ",]",
    "#c\n",
    "# (x\n",
    "+",
    "+ ",
    "- ",
    "-",
    "-1",
    "1h30",
    "1h30m",
    "5m",
    "5ms",
    "1.5",
    "1.",
    ".5",
    ".",
    "..",
    "cel",
    "cel(",
    "cidr",
    "cidr [",
    "hours",
    "hours \"x\"",
    " in \"UTC\"",
    "present(",
    "lower(",
    "\"",
    "\\",
    "\\u{41}",
    "\\u{",
    "\\q",
    "\n",
    "\r\n",
    "\t",
    "when",
    "allow",
    "deny",
    "approve",
    "for",
    "for 5m",
    "{",
    "}",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "!",
    "&&",
    "'",
    "true",
    "false",
    "trueish",
    "and",
    "or",
    "obligations",
    "review(1h)",
    "x.y",
    "a.in",
    "_x",
    "9",
    "99999999999999999999",
    "approvers 2 of group",
    "method",
    "bind",
    "ttl",
    "let",
    "risk",
    "rule",
    "schema",
    ":",
    "|",
    "é",
];

/// A random mutation of `src`: a range cut out, or a snippet put in, at byte `at`
/// (moved to a character boundary).
fn mutate(src: &str, at: usize, len: usize, snippet: Option<usize>) -> String {
    let mut at = at % (src.len() + 1);
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    let mut out = src.to_string();
    match snippet {
        Some(k) => out.insert_str(at, TRICKY[k % TRICKY.len()]),
        None => {
            let mut end = (at + len % 12).min(src.len());
            while !src.is_char_boundary(end) {
                end -= 1;
            }
            out.replace_range(at..end, "");
        }
    }
    out
}

/// Every `.writ` file of the repository (outside `target/`), with its text.
fn repository_files() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "target" || name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(&p, out);
            } else if name.ends_with(".writ") {
                if let Ok(text) = std::fs::read_to_string(&p) {
                    out.push((p, text));
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in ["policies", "crates", "tests", "examples", "docs"] {
        walk(&root.join(dir), &mut out);
    }
    out
}

#[test]
fn repository_files_parse_alike_and_their_mutations_too() {
    let files = repository_files();
    assert!(files.len() > 50, "only {} .writ files found", files.len());
    let (mut clean, mut taken) = (0, 0);
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng as usize
    };
    let (mut mutants, mut mutants_taken) = (0, 0);
    for (path, text) in &files {
        let took = agree(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if parse_file_with_pest(FileId(0), text).is_ok() {
            clean += 1;
            taken += usize::from(took);
            assert!(
                took,
                "{}: well-formed, yet the fast path left it",
                path.display()
            );
        }
        for _ in 0..24 {
            let snippet = (next() % 3 != 0).then(&mut next);
            let m = mutate(text, next(), next(), snippet);
            mutants += 1;
            mutants_taken += usize::from(agree(&m).unwrap_or_else(|e| panic!("{e}")));
        }
    }
    assert_eq!(taken, clean);
    // Most mutations break the file; a good share must still be taken, or this test
    // probes nothing.
    assert!(mutants_taken * 10 > mutants, "{mutants_taken} of {mutants}");
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z .*#\\\\\"é]{0,8}".prop_map(|s| writ_syntax::quote(&s)),
        (-1000i64..1000).prop_map(|i| i.to_string()),
        (0u32..1000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b}")),
        (
            1u32..100,
            prop::sample::select(vec!["s", "m", "h", "d", "h30m"])
        )
            .prop_map(|(n, u)| format!("{n}{u}")),
        any::<bool>().prop_map(|b| b.to_string()),
    ]
}

fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "device.managed", "action", "principal.groups", "risk", "time", "corp", "cel",
            "hours", "cidr", "present", "lower", "any", "all", "for", "allow", "_a.b9",
        ]).prop_map(str::to_string),
        3 => literal(),
        1 => prop::collection::vec(literal(), 0..4)
            .prop_map(|v| format!("[{}{}]", v.join(", "), if v.is_empty() { "" } else { "," })),
        1 => Just("cidr [\"10.0.0.0/8\"]".to_string()),
        1 => Just("hours \"Mon-Fri 08:00-18:00\" in \"UTC\"".to_string()),
        1 => Just("cel ( \"request.params.amount > 1\" )".to_string()),
        1 => Just("present(device.managed)".to_string()),
        1 => Just("lower( principal.id )".to_string()),
        1 => Just("time - 5m + 1h".to_string()),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec![
        "==", "!=", "<", "<=", ">", ">=", "in", "not in", "not\n in", "matches", "has", "has any",
        "has all", "within",
    ]);
    let leaf = prop_oneof![
        operand(),
        (operand(), op, operand()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}\n  or # c\n {b}")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.clone().prop_map(|a| format!("not not {a}")),
            inner.prop_map(|a| format!("( {a} )")),
        ]
    })
}

fn item() -> impl Strategy<Value = String> {
    let effect = prop::sample::select(vec![
        "allow",
        "allow for 15m",
        "deny",
        "deny \"no\"",
        "approve { approvers 2 of group \"treasury\" method webauthn bind action, request.params ttl 2m }",
        "approve for 1h { approvers 1 of group principal.team }",
        "allow obligations record_session, review(24h), notify(\"x\", 1, 2.5, true)",
        "deny obligations audit # (not a call\n",
        "allow obligations hold()",
    ]);
    prop_oneof![
        (prop::option::of(expr()), effect).prop_map(|(e, eff)| match e {
            Some(e) => format!("rule \"r\\n\" {{ when {e} {eff} }}"),
            None => format!("rule \"r\" {{ {eff} }}"),
        }),
        (1u32..100, expr(), expr()).prop_map(|(p, e, f)| format!(
            "risk {{ +{p} \"s\" when {e}\n -3 \"t\" when {f} 7\"u\"when x }}"
        )),
        expr().prop_map(|e| format!("let l = {e}")),
        Just(
            "schema { resource.env: \"a\" | \"b\" request.params.amount: number x: in }"
                .to_string()
        ),
        Just("obligations { review(duration, string) record_session hold() }".to_string()),
    ]
}

fn file() -> impl Strategy<Value = String> {
    common::file_of(item(), "[a-z #\"(]{0,12}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn generated_files_parse_alike(src in file()) {
        let took = agree(&src)?;
        // A `(` in a comment after an obligation's name is the one well-formed shape the
        // fast path leaves to pest (pest's node for the name takes the comment in).
        if parse_file_with_pest(FileId(0), &src).is_ok() && !src.contains("audit # (") {
            prop_assert!(took, "well-formed, yet the fast path left it:\n{}", src);
        }
    }

    #[test]
    fn mutated_files_parse_alike(
        src in file(),
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), prop::option::of(any::<usize>())), 1..4),
    ) {
        let mut m = src;
        for (at, len, snippet) in edits {
            m = mutate(&m, at, len, snippet);
        }
        agree(&m)?;
    }

    #[test]
    fn token_soup_parses_alike(tokens in prop::collection::vec(prop::sample::select(TRICKY.to_vec()), 0..40)) {
        agree(&tokens.join(" "))?;
        agree(&tokens.concat())?;
    }
}
