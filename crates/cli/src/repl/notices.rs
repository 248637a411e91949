//! Reload notices at a line editor: each printed on a line of its own, never inside the
//! prompt line or in the middle of an answer.
//!
//! A notice arrives on the watcher's thread at any moment. While the editor reads a line
//! (the prompt is on screen), it is printed above the prompt, which is then drawn again
//! with what was typed so far; while a command runs, it waits and is printed once the
//! answer is out, before the next prompt.

use std::sync::Mutex;

/// Where notices are printed.
pub trait Sink: Send {
    /// The prompt is on screen: print the notice above it and draw the prompt again.
    fn above_prompt(&mut self, notice: &str);
    /// No prompt is on screen and no answer is being printed: print the notice as lines.
    fn lines(&mut self, notice: &str);
}

struct State<S> {
    /// Whether the editor is reading a line (the prompt is on screen).
    reading: bool,
    /// Notices that arrived while a command ran.
    pending: Vec<String>,
    sink: S,
}

/// The notices of one session.
pub struct Board<S> {
    state: Mutex<State<S>>,
}

impl<S: Sink> Board<S> {
    /// A board printing to `sink`.
    pub fn new(sink: S) -> Self {
        Board {
            state: Mutex::new(State {
                reading: false,
                pending: Vec::new(),
                sink,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State<S>) -> T) -> T {
        // A poisoned lock only means a print panicked: the state is still usable.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut state)
    }

    /// A notice from the watcher: printed above the prompt now, or kept for later.
    pub fn notify(&self, notice: &str) {
        // INVARIANT: printing happens under the lock, so a notice and the start or end of
        // a read never interleave. The rustyline printer can block only on a second
        // message queued between its editor's last key and the end of raw mode (its
        // channel holds one); reloads are debounced (50 ms), so that never lasts.
        self.with(|s| {
            if s.reading {
                s.sink.above_prompt(notice);
            } else {
                s.pending.push(notice.to_string());
            }
        });
    }

    /// The editor is about to read a line: notices kept meanwhile are printed first.
    pub fn start_reading(&self) {
        self.with(|s| {
            for n in std::mem::take(&mut s.pending) {
                s.sink.lines(&n);
            }
            s.reading = true;
        });
    }

    /// The editor returned a line (or gave up): a command runs now.
    pub fn stop_reading(&self) {
        self.with(|s| s.reading = false);
    }
}

/// The terminal's sink: rustyline's external printer when the terminal supports it (it
/// clears the prompt line, prints, and redraws the prompt with the line being edited); on
/// a dumb terminal, the notice on a new line of standard error and a fresh prompt (what
/// was typed is still in the terminal's line buffer).
pub struct Terminal {
    /// rustyline's printer, when the terminal supports one.
    pub printer: Option<Box<dyn rustyline::ExternalPrinter + Send>>,
    /// The prompt to draw again on a dumb terminal.
    pub prompt: &'static str,
}

impl Sink for Terminal {
    fn above_prompt(&mut self, notice: &str) {
        match self.printer.as_mut() {
            Some(p) => {
                let _ = p.print(format!("{notice}\n"));
            }
            None => eprint!("\n{notice}\n{}", self.prompt),
        }
    }

    fn lines(&mut self, notice: &str) {
        match self.printer.as_mut() {
            // Not reading: rustyline writes straight to the terminal.
            Some(p) => {
                let _ = p.print(format!("{notice}\n"));
            }
            None => eprintln!("{notice}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::sync::{Arc, Mutex};

    use super::{Board, Sink};

    /// Records what would be printed, and how.
    #[derive(Clone, Default)]
    struct Record(Arc<Mutex<Vec<String>>>);

    impl Sink for Record {
        fn above_prompt(&mut self, notice: &str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("above prompt: {notice}"));
        }
        fn lines(&mut self, notice: &str) {
            self.0.lock().unwrap().push(format!("lines: {notice}"));
        }
    }

    #[test]
    fn at_the_prompt_a_notice_goes_above_it() {
        let record = Record::default();
        let board = Board::new(record.clone());
        board.start_reading();
        board.notify("policy reloaded: version a (1 rule, 1 file)");
        assert_eq!(
            *record.0.lock().unwrap(),
            ["above prompt: policy reloaded: version a (1 rule, 1 file)"]
        );
    }

    #[test]
    fn while_a_command_runs_notices_wait_for_the_answer() {
        let record = Record::default();
        let board = Board::new(record.clone());
        board.start_reading();
        board.stop_reading();
        // The command runs and prints its answer: nothing may cut into it.
        board.notify("policy reloaded: version b (2 rules, 1 file)");
        board.notify("policy change rejected, still running b:\n  p.writ:1:1: ...");
        assert!(record.0.lock().unwrap().is_empty());
        // Before the next prompt, in order, each as lines of its own.
        board.start_reading();
        assert_eq!(
            *record.0.lock().unwrap(),
            [
                "lines: policy reloaded: version b (2 rules, 1 file)",
                "lines: policy change rejected, still running b:\n  p.writ:1:1: ...",
            ]
        );
        board.notify("policy reloaded: version c (2 rules, 1 file)");
        assert_eq!(
            record.0.lock().unwrap().last().map(String::as_str),
            Some("above prompt: policy reloaded: version c (2 rules, 1 file)")
        );
    }

    #[test]
    fn before_the_first_prompt_notices_wait_too() {
        let record = Record::default();
        let board = Board::new(record.clone());
        board.notify("policy reloaded: version d (1 rule, 1 file)");
        assert!(record.0.lock().unwrap().is_empty());
        board.start_reading();
        assert_eq!(record.0.lock().unwrap().len(), 1);
    }
}
