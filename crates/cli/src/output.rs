//! Printing for people: diagnostics (colours only when stderr is a terminal) and the ANSI
//! colours the REPL uses when stdout is one.

use std::io::IsTerminal;

use writ::{Truth, Verdict};
use writ_syntax::{render, Diagnostic, SourceMap, Style};

/// Renders diagnostics for stderr, followed by a count.
pub fn report(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let style = if std::io::stderr().is_terminal() {
        Style::Color
    } else {
        Style::Plain
    };
    let mut out = render(diagnostics, sources, style);
    let n = diagnostics.len();
    out.push_str(&format!("{n} error{}\n", if n == 1 { "" } else { "s" }));
    out
}

/// ANSI colours, or plain text when off.
#[derive(Clone, Copy, Debug, Default)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Colours when `on`.
    pub fn new(on: bool) -> Paint {
        Paint { on }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A decision: allow green, approve yellow, deny red.
    pub fn verdict(self, v: Verdict) -> String {
        let code = match v {
            Verdict::Allow => "1;32",
            Verdict::Approve => "1;33",
            Verdict::Deny => "1;31",
        };
        self.wrap(code, v.as_str())
    }

    /// A truth value, as `text`: true green, false red, unknown yellow.
    pub fn truth(self, t: Truth, text: &str) -> String {
        let code = match t {
            Truth::True => "32",
            Truth::False => "31",
            Truth::Unknown => "33",
        };
        self.wrap(code, text)
    }

    /// `error:`, in bold red.
    pub fn error(self) -> String {
        self.wrap("1;31", "error:")
    }

    /// Secondary text, dimmed.
    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }
}
