//! What every CLI test file needs: running the `writ` binary, reading its output, and
//! scratch policy directories. One copy, included by each test file with `mod common;`.

#![allow(
    dead_code,
    reason = "each test file uses part of this module; the others see the rest unused"
)]
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;
#[allow(unused_imports, reason = "each test binary uses part of the helpers")]
pub use writ_testkit::sets::{copy_dir, repo};

/// Runs `writ ARGS` to completion.
pub fn writ(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `writ ARGS` with `input` on its standard input.
pub fn writ_stdin(args: &[&str], input: &str) -> Output {
    writ_stdin_in(Path::new("."), args, input)
}

/// Runs `writ ARGS` in directory `dir` with `input` on its standard input.
pub fn writ_stdin_in(dir: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses before it reads its input (an invalid set) may exit first:
    // the pipe is then closed, and what it answered is still the output to check.
    match child.stdin.take().unwrap().write_all(input.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        written => written.unwrap(),
    }
    child.wait_with_output().unwrap()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as JSON; the failure shows both streams.
pub fn json(o: &Output) -> Json {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), stderr(o)))
}

/// A path as an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An empty directory of this process named after `name`, under the system's temporary
/// directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("writ-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A policy directory holding these files.
pub fn set_dir_with(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = temp_dir(name);
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// A policy directory holding one file, `p.writ`.
pub fn set_dir(name: &str, policy: &str) -> PathBuf {
    set_dir_with(name, &[("p.writ", policy)])
}
