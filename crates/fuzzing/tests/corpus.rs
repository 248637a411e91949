//! Replays every committed fuzz input on stable: each file of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` through the target's body, one `#[test]` per target, so CI
//! catches a regression without nightly or libFuzzer.
//!
//! How a file runs, and why:
//! - In a child process (this test binary again, asked for one target by the environment
//!   variable `WRIT_FUZZ_REPLAY`): a stack overflow or a failed allocation aborts a whole
//!   process, and `catch_unwind` cannot stop either. In a child, the abort fails only this
//!   target's test, with the file named, and the other targets still run.
//! - On a thread with an 8 MiB stack, the same for every target: the size of a main
//!   thread's stack on Linux, where `writ check` and `writ serve` run their work, and four
//!   times the 2 MiB a test thread gets by default. Input that needs more than that is a
//!   depth the library must refuse (issue 17): the size is never raised to make one pass.
//! - Under `ulimit -v` (2 GiB of address space, as the fuzz runs' `-rss_limit_mb=2048`)
//!   when a shell is there to set it, so input that allocates without bound fails this
//!   test quickly instead of exhausting the machine.
//!
//! When the child fails, every file of the target is run alone, and the test lists each
//! file that fails with how it failed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The stack each input runs on (see the module comment).
const STACK: usize = 8 << 20;

/// Address space allowed to a child, KiB.
const ADDRESS_SPACE_KIB: u64 = 2 << 20;

/// Set in a child: the target's name, then the files to run, one a line.
const CHILD: &str = "WRIT_FUZZ_REPLAY";

fn fuzz_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    dir.canonicalize().unwrap_or(dir)
}

/// Every committed input of `target`, sorted: the corpus, then the regressions.
fn files_of(target: &str) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        all.extend(files);
    }
    all
}

fn body(target: &str) -> fn(&[u8]) {
    writ_fuzzing::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target `{target}`"))
}

/// In the child: runs each file on its own 8 MiB thread; a panic fails the test.
fn run_here(target: &str, files: &str) {
    let f = body(target);
    for file in files.lines().filter(|l| !l.is_empty()) {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
        eprintln!("replaying {target} {file}");
        let outcome = std::thread::Builder::new()
            .name(format!("{target}:{file}"))
            .stack_size(STACK)
            .spawn(move || f(&data))
            .unwrap()
            .join();
        assert!(outcome.is_ok(), "{file} fails target `{target}`");
    }
}

/// Runs `files` in a child process; `Err` says how it failed.
fn run_child(target: &str, files: &[PathBuf]) -> Result<(), String> {
    let exe = std::env::current_exe().unwrap();
    let list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
    let test_args = [target, "--exact", "--nocapture", "--test-threads=1"];
    let mut cmd = if Path::new("/bin/sh").exists() {
        let mut c = Command::new("/bin/sh");
        c.arg("-c")
            .arg(format!(
                "ulimit -v {ADDRESS_SPACE_KIB} 2>/dev/null; exec \"$0\" \"$@\""
            ))
            .arg(&exe)
            .args(test_args);
        c
    } else {
        let mut c = Command::new(&exe);
        c.args(test_args);
        c
    };
    let out = cmd
        .env(CHILD, list)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The lines that say what happened: the panic message, an abort's reason.
    let said: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| {
            !l.starts_with("replaying ")
                && !l.trim().is_empty()
                && !l.starts_with("running ")
                && !l.starts_with("failures")
                && !l.starts_with("    ")
                && !l.starts_with("test ")
                && !l.contains("RUST_BACKTRACE")
                && !l.contains("panicked at crates/fuzzing/tests/")
        })
        .take(6)
        .collect();
    Err(format!("{} ({})", out.status, said.join(" | ")))
}

/// Replays every committed input of `target`; lists every file that fails.
fn replay(target: &str) {
    if let Ok(files) = std::env::var(CHILD) {
        run_here(target, &files);
        return;
    }
    let files = files_of(target);
    assert!(
        !files.is_empty(),
        "no committed input for target `{target}` under {}",
        fuzz_dir().display()
    );
    if run_child(target, &files).is_ok() {
        return;
    }
    let failed: Vec<String> = files
        .iter()
        .filter_map(|f| {
            run_child(target, std::slice::from_ref(f)).err().map(|why| {
                let name = f.strip_prefix(fuzz_dir()).unwrap_or(f);
                format!("  fuzz/{}: {why}", name.display())
            })
        })
        .collect();
    panic!(
        "{} of {} committed inputs fail target `{target}`:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn policy() {
    replay("policy");
}

#[test]
fn request() {
    replay("request");
}

#[test]
fn registry() {
    replay("registry");
}

#[test]
fn webauthn_client_data() {
    replay("webauthn_client_data");
}

#[test]
fn webauthn_auth_data() {
    replay("webauthn_auth_data");
}

#[test]
fn webauthn_attestation() {
    replay("webauthn_attestation");
}

#[test]
fn batch() {
    replay("batch");
}

#[test]
fn authzen() {
    replay("authzen");
}

#[test]
fn cose_key() {
    replay("cose_key");
}

#[test]
fn grant() {
    replay("grant");
}

#[test]
fn invitation() {
    replay("invitation");
}

#[test]
fn audit() {
    replay("audit");
}

#[test]
fn repl_line() {
    replay("repl_line");
}

#[test]
fn invariants() {
    replay("invariants");
}

#[test]
fn callers_toml() {
    replay("callers_toml");
}

#[test]
fn jwks() {
    replay("jwks");
}

#[test]
fn jwt() {
    replay("jwt");
}

#[test]
fn client_cert() {
    replay("client_cert");
}

/// Every target has a test above.
#[test]
fn every_target_is_replayed() {
    let tested = [
        "policy",
        "request",
        "batch",
        "authzen",
        "registry",
        "webauthn_client_data",
        "webauthn_auth_data",
        "webauthn_attestation",
        "cose_key",
        "grant",
        "invitation",
        "audit",
        "repl_line",
        "invariants",
        "callers_toml",
        "jwks",
        "jwt",
        "client_cert",
    ];
    let names: Vec<&str> = writ_fuzzing::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, tested);
    for t in tested {
        assert!(
            fuzz_dir().join(format!("fuzz_targets/{t}.rs")).is_file(),
            "no fuzz/fuzz_targets/{t}.rs"
        );
    }
}
