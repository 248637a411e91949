//! End-to-end tests of the `writ` binary: real processes, real files, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn writ(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(args)
        .output()
        .unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("writ-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_accepts_every_bundled_set() {
    for set in ["prod-database", "payments", "ai-agents", "support-access"] {
        let dir = repo().join("policies").join(set);
        let out = writ(&["check", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{set}: {}", stderr(&out));
        let line = stdout(&out);
        assert!(line.starts_with("ok: "), "{line}");
        assert!(line.contains(" rule"), "{line}");
        assert!(line.contains(" signal"), "{line}");
        assert_eq!(line.lines().count(), 1);
    }
}

#[test]
fn check_reports_every_error_with_position_and_exits_1() {
    let dir = temp_dir("check-errors");
    std::fs::write(
        dir.join("bad.writ"),
        "rule \"a\" {\n  when device.manged\n  allow\n}\n\nrule \"b\" {\n  when principal.kind == \"robot\"\n  deny\n}\n",
    )
    .unwrap();
    let out = writ(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.writ:2:8"), "{err}");
    assert!(err.contains("did you mean `device.managed`?"), "{err}");
    assert!(err.contains("bad.writ:7:26"), "{err}");
    assert!(err.contains("2 errors"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn check_missing_directory_is_an_error_not_a_panic() {
    let out = writ(&["check", "/nonexistent/writ/policies"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(writ(&["check"]).status.code(), Some(2));
    assert_eq!(writ(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(writ(&["fmt"]).status.code(), Some(2));
}

#[test]
fn fmt_rewrites_in_place_and_check_mode_reports() {
    let dir = temp_dir("fmt");
    let file = dir.join("p.writ");
    std::fs::write(&file, "rule \"r\"{when action==\"a\" allow}  # note\n").unwrap();

    let out = writ(&["fmt", "--check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("would reformat"), "{}", stdout(&out));
    // --check changes nothing.
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "rule \"r\"{when action==\"a\" allow}  # note\n"
    );

    let out = writ(&["fmt", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "rule \"r\" {\n  when action == \"a\"  # note\n  allow\n}\n"
    );
    let out = writ(&["fmt", "--check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn fmt_leaves_a_broken_file_untouched() {
    let dir = temp_dir("fmt-broken");
    let file = dir.join("p.writ");
    std::fs::write(&file, "rule \"r\" { when && allow }\n").unwrap();
    let out = writ(&["fmt", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("p.writ:1:17"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "rule \"r\" { when && allow }\n"
    );
}

#[test]
fn bundled_policies_are_formatted() {
    let out = writ(&["fmt", "--check", repo().join("policies").to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "run `writ fmt policies`: {}",
        stdout(&out)
    );
}
