//! The exit codes of every `writ` command, in one place (docs/language.md, "CLI": the
//! table of exit codes says the same).

use std::process::ExitCode;

/// How a `writ` command ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done. Any decision is a success, a deny included.
    Ok = 0,
    /// 1: invalid input — a policy set that does not check, an unreadable path or request,
    /// a file `writ fmt --check` would change, a lint finding, a failing test case, a
    /// server that cannot start.
    Invalid = 1,
    /// 2: a usage error (arguments).
    Usage = 2,
    /// 3: refused — an approver's answer, a redemption, a registration, a revocation; the
    /// output says why.
    Refused = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}
