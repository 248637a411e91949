//! Printing diagnostics: colours only when stderr is a terminal.

use std::io::IsTerminal;

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
