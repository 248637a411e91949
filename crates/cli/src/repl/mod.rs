//! `writ repl [DIR]`: the policy author's bench. It loads a policy set into a reload
//! store and follows edits to it, keeps a current request, and answers what-if questions
//! (see [`command::HELP`] and docs/repl-and-lint.md).
//!
//! On a terminal it is a rustyline editor (completion, history in a file, colours); with
//! piped input it reads one command per line and prints a transcript: each command after
//! `writ> `, then its answer. Exit code: 0, or 1 when piped input had a failing command
//! (the session still runs every command), or the set is invalid at start.

mod command;
mod complete;
mod notices;
mod render;
mod session;
mod value;

use crate::exit::Exit;
use std::io::{BufRead as _, IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use rustyline::error::ReadlineError;
use serde_json::Value as Json;
use writ::{PolicyStore, WatchConfig};

use crate::output::Paint;
use session::{Outcome, Session};

/// Arguments of `writ repl`.
#[derive(clap::Args)]
pub struct Args {
    /// The policy set directory (followed: edits reload it).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// A request JSON file to start from (default: an empty request).
    #[arg(long, value_name = "FILE.json")]
    pub request: Option<PathBuf>,
    /// Where to keep the line history (default: `$HOME/.writ_history`).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
}

const PROMPT: &str = "writ> ";

/// Starts the session: interactive on a terminal, a transcript otherwise.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    // One load; diagnostics rendered as `writ check` renders them.
    let store = match crate::load::store(&args.dir) {
        Ok(s) => Arc::new(s),
        Err(code) => return Ok(code),
    };
    let request = match &args.request {
        None => Json::Object(Default::default()),
        Some(path) => {
            let text = crate::load::read_input(path)?;
            // Parsed as strictly as `decide` binds text: repeated keys, inexact numbers
            // and deep nesting are refused here, not lost in the parse.
            let json: Json = writ::parse_request(&text)
                .map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
            if let Err(e) = store.engine().bind(json.clone()) {
                eprintln!("error: `{}`: {e}", path.display());
                return Ok(ExitCode::from(Exit::Invalid));
            }
            json
        }
    };
    if std::io::stdin().is_terminal() {
        interactive(args, store, request)
    } else {
        piped(store, request)
    }
}

/// Commands from standard input, one per line; each echoed, then answered.
fn piped(store: Arc<PolicyStore>, request: Json) -> anyhow::Result<ExitCode> {
    let paint = Paint::new(std::io::stdout().is_terminal());
    // Reload notices are printed as they happen, between answers (each write holds the
    // stdout lock, so an answer is never split).
    let _watch = writ::watch(store.clone(), WatchConfig::default(), |event| {
        if let Some(n) = render::notice(&event) {
            let _ = writeln!(std::io::stdout().lock(), "# {}", n.replace('\n', "\n# "));
        }
    })?;
    let mut session = Session::new(store, request, paint);
    let mut failed = false;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let Some(outcome) = session.execute(&line) else {
            continue;
        };
        let mut out = std::io::stdout().lock();
        match outcome {
            Outcome::Quit => {
                writeln!(out, "{PROMPT}{}", line.trim())?;
                break;
            }
            Outcome::Answer(a) => {
                failed |= !a.ok;
                write!(out, "{PROMPT}{}\n{}", line.trim(), a.text)?;
                out.flush()?;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(Exit::Invalid)
    } else {
        ExitCode::from(Exit::Ok)
    })
}

fn history_path(args: &Args) -> Option<PathBuf> {
    args.history
        .clone()
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".writ_history")))
}

/// A line editor with completion and history; reload notices printed above the prompt.
fn interactive(args: &Args, store: Arc<PolicyStore>, request: Json) -> anyhow::Result<ExitCode> {
    let paint = Paint::new(std::io::stdout().is_terminal());
    // Editing happens on the terminal (`/dev/tty`) even when the answers go to a file or a
    // pipe (`writ repl | tee session.log`): they are printed to standard output, without
    // colours when that is not a terminal.
    let config = rustyline::Config::builder()
        .auto_add_history(true)
        .completion_type(rustyline::CompletionType::List)
        .behavior(rustyline::Behavior::PreferTerm)
        .build();
    let mut editor: rustyline::Editor<complete::WritHelper, rustyline::history::DefaultHistory> =
        rustyline::Editor::with_config(config)?;
    editor.set_helper(Some(complete::WritHelper::new(store.clone())));
    let history = history_path(args);
    if let Some(h) = &history {
        // A first session has no history yet.
        let _ = editor.load_history(h);
    }
    // Reload notices go on lines of their own: above the prompt, which is drawn again,
    // while a line is edited; after the answer while a command runs. A terminal without
    // cursor control (a dumb one) gets them on standard error, then a fresh prompt.
    let printer = editor
        .create_external_printer()
        .ok()
        .map(|p| Box::new(p) as Box<dyn rustyline::ExternalPrinter + Send>);
    let board = Arc::new(notices::Board::new(notices::Terminal {
        printer,
        prompt: PROMPT,
    }));
    let watcher_board = board.clone();
    let _watch = writ::watch(store.clone(), WatchConfig::default(), move |event| {
        if let Some(n) = render::notice(&event) {
            watcher_board.notify(&n);
        }
    })?;
    let engine = store.engine();
    println!(
        "writ repl: {} (version {}, {} rules); `help` lists the commands",
        args.dir.display(),
        engine.version(),
        engine.policy_set().rules.len()
    );
    let mut session = Session::new(store, request, paint);
    loop {
        board.start_reading();
        let read = editor.readline(PROMPT);
        board.stop_reading();
        match read {
            Ok(line) => match session.execute(&line) {
                None => {}
                Some(Outcome::Quit) => break,
                Some(Outcome::Answer(a)) => print!("{}", a.text),
            },
            Err(ReadlineError::Interrupted) => {}
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(h) = &history {
        if let Err(e) = editor.save_history(h) {
            eprintln!("error: cannot save the history to `{}`: {e}", h.display());
        }
    }
    Ok(ExitCode::from(Exit::Ok))
}
