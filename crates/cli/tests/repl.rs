//! `writ repl` driven as a person's script would drive it: commands on stdin, the
//! transcript on stdout. Transcripts are pinned as snapshots (`tests/repl/scripts/*.txt`
//! against the set in `tests/repl/policy`, run from `tests/repl`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::*;

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/repl")
}

fn repl(dir: &Path, args: &[&str], input: &str) -> Output {
    writ_stdin_in(dir, &[&["repl"], args].concat(), input)
}

#[test]
fn transcripts() {
    insta::glob!("repl/scripts/*.txt", |path| {
        let script = std::fs::read_to_string(path).unwrap();
        let out = repl(&fixtures(), &["policy"], &script);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        insta::assert_snapshot!(stdout(&out));
    });
}

#[test]
fn exit_code_is_1_when_a_command_failed_and_every_command_still_runs() {
    let out = repl(
        &fixtures(),
        &["policy"],
        // At a fixed night-time instant: the set scores "outside business hours".
        "set time = 2026-11-28T23:00:00Z\nset device.managed = nope\nrisk\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("error: `device.managed` is a bool"), "{text}");
    assert!(text.ends_with("writ> risk\n75\n"), "{text}");
    let out = repl(&fixtures(), &["policy"], "risk\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_starting_request_and_an_invalid_set() {
    let out = repl(
        &fixtures(),
        &["policy", "--request", "read.json"],
        "decide\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("decision: allow   risk: 0"),
        "{}",
        stdout(&out)
    );

    let dir = std::env::temp_dir().join(format!("writ-repl-invalid-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("p.writ"),
        "rule \"a\" { when device.manged allow }\n",
    )
    .unwrap();
    let out = repl(&dir, &["."], "decide\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown attribute `device.manged`"), "{err}");
    assert!(err.contains("p.writ:1:17]"), "{err}");
    assert!(err.contains("did you mean `device.managed`?"), "{err}");
}

#[test]
fn the_bundled_prod_database_set_answers_what_if() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = "load policies/prod-database/requests/prod-write.json\n\
                  decide\n\
                  what-if device.disk_encrypted = false\n\
                  what-if request.params.rows = 1000000\n\
                  principal.groups has any db_writers\n";
    let out = repl(&repo, &["policies/prod-database"], script);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("decision: approve"), "{text}");
    assert!(text.contains("effect: approve -> deny"), "{text}");
    assert!(
        text.contains("rules: - \"prod writes need a bound approval\", + \"no prod writes from unencrypted disks\""),
        "{text}"
    );
    // Only the digest changes: the terms are the same, the transaction is not.
    let rows = text
        .split("writ> what-if request.params.rows = 1000000\n")
        .nth(1)
        .unwrap();
    assert!(rows.contains("changed:\n  digest: sha256:"), "{rows}");
    assert!(
        rows.contains("(a grant issued for the old digest would not redeem)"),
        "{rows}"
    );
    assert!(
        text.ends_with("writ> principal.groups has any db_writers\ntrue\n"),
        "{text}"
    );
}

#[test]
fn edits_to_the_policy_files_are_followed() {
    let dir = std::env::temp_dir().join(format!("writ-repl-follow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("p.writ"),
        "rule \"reads\" { when action == \"db.read\" allow }\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["repl", dir.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("a line from the repl")
    };
    let until = |want: &str| loop {
        let line = next();
        if line.starts_with(want) {
            return line;
        }
    };
    writeln!(stdin, "set action = db.read\ndecide").unwrap();
    assert_eq!(next(), "writ> set action = db.read");
    assert_eq!(next(), "action = \"db.read\"");
    assert_eq!(next(), "writ> decide");
    assert!(next().starts_with("decision: allow"));

    // Saved as an editor does: written aside, renamed over.
    std::fs::write(
        dir.join(".p.tmp"),
        "rule \"reads\" { when action == \"db.read\" deny \"read freeze\" }\n",
    )
    .unwrap();
    std::fs::rename(dir.join(".p.tmp"), dir.join("p.writ")).unwrap();
    let notice = until("# policy reloaded");
    assert!(notice.contains("(1 rule, 1 file)"), "{notice}");
    writeln!(stdin, "decide").unwrap();
    until("writ> decide");
    assert!(next().starts_with("decision: deny"));

    // A broken edit is rejected; the running version stays and still answers.
    std::fs::write(
        dir.join(".p.tmp"),
        "rule \"reads\" { when action == allow }\n",
    )
    .unwrap();
    std::fs::rename(dir.join(".p.tmp"), dir.join("p.writ")).unwrap();
    until("# policy change rejected");
    writeln!(stdin, "decide").unwrap();
    until("writ> decide");
    assert!(next().starts_with("decision: deny"));
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// A person at a terminal whose answers go to a file (`writ repl > session.log`): the line
/// editor works on the terminal, the answers land in the file without colours. The
/// terminal is a pseudo-terminal from `script` (util-linux; Debian's essential `bsdutils`).
#[test]
fn at_a_terminal_with_the_answers_redirected_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("session.log");
    // A request at a fixed night-time instant, so the risk does not follow the clock.
    let night = dir.path().join("night.json");
    std::fs::write(&night, r#"{"time": "2026-11-28T23:00:00Z"}"#).unwrap();
    let command = format!(
        "'{}' repl '{}' --request '{}' --history '{}' > '{}'",
        env!("CARGO_BIN_EXE_writ"),
        fixtures().join("policy").display(),
        night.display(),
        dir.path().join("history").display(),
        out.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("`script` (util-linux, package bsdutils) is needed: {e}"));
    let mut keys = child.stdin.take().unwrap();
    // One line at a time, each after the answer before it (as a person types: the line
    // editor does not keep what is typed ahead of its prompt).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let answered = |n: usize| {
        std::fs::read_to_string(&out)
            .map(|log| log.lines().count() >= n)
            .unwrap_or(false)
    };
    for (line, lines_after) in [("risk\n", 2), ("quit\n", 2)] {
        while !answered(1) {
            assert!(std::time::Instant::now() < deadline, "no banner");
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
                panic!("the session ended before its banner ({status}): {err}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        keys.write_all(line.as_bytes()).unwrap();
        keys.flush().unwrap();
        while !answered(lines_after) {
            assert!(
                std::time::Instant::now() < deadline,
                "no answer to {line:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // Keep the terminal's input open until the session ends.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the session did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(keys);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{status}: {err}");
    let log = std::fs::read_to_string(&out).unwrap();
    assert!(log.starts_with("writ repl: "), "{log}");
    assert_eq!(log.lines().nth(1), Some("75"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes in a file: {log:?}"
    );
}

#[test]
fn rule_names_with_quotes_are_written_and_read_escaped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.writ"),
        "rule \"say \\\"hi\\\"\" { when action == \"greet\" allow }\n",
    )
    .unwrap();
    let script = "rules\nset action = greet\nexplain \"say \\\"hi\\\"\"\nexplain say \"hi\"\nexplain \"say hi\"\n";
    let out = repl(dir.path(), &["."], script);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("writ> rules\n\"say \\\"hi\\\"\" (allow)"),
        "{text}"
    );
    // Quoted as the policy writes it, or bare.
    for command in [r#"explain "say \"hi\"""#, r#"explain say "hi""#] {
        let answer = text
            .split(&format!("writ> {command}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no answer to {command}: {text}"));
        assert!(answer.starts_with("decision: allow"), "{command}: {answer}");
        assert!(
            answer.contains("why: allow by \"say \\\"hi\\\"\"\n"),
            "{command}: {answer}"
        );
        assert!(
            answer.contains("  rule \"say \\\"hi\\\"\" (allow): fired, decides\n"),
            "{command}: {answer}"
        );
    }
    assert!(
        text.ends_with("error: no rule named \"say hi\"; did you mean \"say \\\"hi\\\"\"?\n"),
        "{text}"
    );
}

/// The terminal as `script` forwards it, read as it comes (a thread sends each chunk).
struct Screen {
    chunks: mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Screen {
    /// Reads until `want` appears after byte `from`; returns where it starts.
    fn until(&mut self, from: usize, want: &str) -> usize {
        loop {
            if let Some(i) = self.seen.get(from..).and_then(|s| s.find(want)) {
                return from + i;
            }
            let chunk = self
                .chunks
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no {want:?} on the terminal: {:?}", self.seen));
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// A session on a pseudo-terminal (`script`) with `TERM` set as given; what was typed is
/// sent as keys.
fn terminal_session(
    dir: &Path,
    term: &str,
) -> (std::process::Child, std::process::ChildStdin, Screen) {
    let command = format!(
        "'{}' repl '{}' --history '{}'",
        env!("CARGO_BIN_EXE_writ"),
        dir.display(),
        dir.join("history").display(),
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", term)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("`script` (util-linux, package bsdutils) is needed: {e}"));
    let keys = child.stdin.take().unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut out, &mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    (
        child,
        keys,
        Screen {
            chunks: rx,
            seen: String::new(),
        },
    )
}

/// Saves a new version of the policy as an editor does (written aside, renamed over).
fn save(dir: &Path, text: &str) {
    std::fs::write(dir.join(".p.tmp"), text).unwrap();
    std::fs::rename(dir.join(".p.tmp"), dir.join("p.writ")).unwrap();
}

/// A reload while a line is being typed: the notice goes on a line of its own above the
/// prompt, and the prompt is drawn again with what was typed; the line still runs.
#[test]
fn a_reload_notice_at_the_prompt_goes_above_it_and_the_prompt_is_redrawn() {
    let dir = tempfile::tempdir().unwrap();
    save(
        dir.path(),
        "rule \"reads\" { when action == \"db.read\" allow }\n",
    );
    let (mut child, mut keys, mut screen) = terminal_session(dir.path(), "xterm");
    let banner = screen.until(0, "writ repl: ");
    let prompt = screen.until(banner, "writ> ");
    keys.write_all(b"rul").unwrap();
    keys.flush().unwrap();
    let typed = screen.until(prompt, "rul");
    save(
        dir.path(),
        "rule \"reads\" { when action == \"db.read\" deny }\n",
    );
    let notice = screen.until(typed, "policy reloaded: version ");
    // The notice starts a line: the prompt line was cleared first (the editor moves to its
    // start and erases it), so no prompt or typed text stands before it on its line.
    let before = &screen.seen[typed + 3..notice];
    assert!(
        before.contains('\r') && !before.contains("writ> "),
        "the notice is not at the start of a line: {:?}",
        &screen.seen[prompt..]
    );
    let end = screen.until(notice, "\n");
    // Then the prompt again, with the line being typed.
    let redrawn = screen.until(end, "writ> rul");
    assert!(
        !screen.seen[end..redrawn].contains("policy"),
        "{:?}",
        &screen.seen[prompt..]
    );
    keys.write_all(b"es\n").unwrap();
    keys.flush().unwrap();
    screen.until(redrawn, "reads");
    keys.write_all(b"quit\n").unwrap();
    keys.flush().unwrap();
    let status = child.wait().unwrap();
    drop(keys);
    assert!(status.success(), "{status}");
}

/// On a dumb terminal (no cursor control) the notice goes on a new line and a fresh
/// prompt follows it.
#[test]
fn on_a_dumb_terminal_a_reload_notice_gets_its_own_line_and_a_fresh_prompt() {
    let dir = tempfile::tempdir().unwrap();
    save(
        dir.path(),
        "rule \"reads\" { when action == \"db.read\" allow }\n",
    );
    let (mut child, mut keys, mut screen) = terminal_session(dir.path(), "dumb");
    let banner = screen.until(0, "writ repl: ");
    let prompt = screen.until(banner, "writ> ");
    save(
        dir.path(),
        "rule \"reads\" { when action == \"db.read\" deny }\n",
    );
    let notice = screen.until(prompt, "policy reloaded: version ");
    assert_eq!(
        screen.seen[prompt + "writ> ".len()..notice].trim_matches('\r'),
        "\n",
        "{:?}",
        &screen.seen[prompt..]
    );
    let end = screen.until(notice, "\n");
    screen.until(end, "writ> ");
    keys.write_all(b"quit\n").unwrap();
    keys.flush().unwrap();
    let status = child.wait().unwrap();
    drop(keys);
    assert!(status.success(), "{status}");
}
