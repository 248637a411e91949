//! Printing for people: diagnostics (colours only when stderr is a terminal) and the ANSI
//! colours the REPL uses when stdout is one; and standard output that a reader may close
//! (`writ decide … | head`): [`outln!`] returns the write's error instead of panicking as
//! `println!` does, and [`is_closed_output`] tells `main` to end quietly, exit 0.

use std::io::{IsTerminal, Write as _};

use writ::{render, Diagnostic, SourceMap, Style};
use writ::{Truth, Verdict};

/// `println!` that returns an `std::io::Result` instead of panicking when the reader of
/// standard output went away.
macro_rules! outln {
    () => {
        $crate::output::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// `print!` that returns an `std::io::Result` (see [`outln!`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_out(format_args!($($arg)*))
    };
}
pub(crate) use out;

/// Writes to standard output (the target of [`outln!`] and [`out!`]).
pub fn write_out(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_fmt(args)
}

/// Whether `e` is, anywhere in its chain, a write to a reader that closed its end (a
/// broken pipe): not a failure of the command, whose reader wanted no more.
pub fn is_closed_output(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A panic hook that ends the process quietly (exit 0) when the panic is the standard
/// library's own "failed printing to stdout" on a closed pipe — a `println!` that was not
/// routed through [`outln!`] (the REPL's prompt loop, say) — and leaves every other panic
/// to the default hook.
pub fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to stdout")
            && (text.contains("Broken pipe") || text.contains("os error 32"))
        {
            std::process::exit(0);
        }
        default(info);
    }));
}

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
