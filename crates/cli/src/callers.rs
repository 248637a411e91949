//! `writ callers hash-key`: a new API key and the hash line callers.toml stores, or the
//! hash of a key read from standard input (docs/server-identity.md).

use crate::exit::Exit;
use std::io::{Read as _, Write as _};
use std::process::ExitCode;

/// Arguments of `writ callers`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print a new random API key (give it to the caller, once) and the `hash = "…"` line
    /// for its `[[api_key]]` entry; with `--stdin`, hash the key read from standard input
    /// instead (one line; the key itself is not printed).
    HashKey {
        /// Hash the key on standard input rather than making one.
        #[arg(long)]
        stdin: bool,
    },
}

/// Runs `writ callers …`.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let Command::HashKey { stdin } = &args.command;
    let mut out = std::io::stdout().lock();
    if *stdin {
        let mut text = String::new();
        std::io::stdin()
            .take(u64::try_from(writ_callers::MAX_KEY_BYTES).unwrap_or(256) + 3)
            .read_to_string(&mut text)
            .map_err(|e| anyhow::anyhow!("cannot read a key from standard input: {e}"))?;
        let key = text.strip_suffix('\n').unwrap_or(&text);
        let key = key.strip_suffix('\r').unwrap_or(key);
        if key.is_empty()
            || key.len() > writ_callers::MAX_KEY_BYTES
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            eprintln!(
                "error: a key is 1 to {} visible ASCII characters on one line; standard input holds something else",
                writ_callers::MAX_KEY_BYTES
            );
            return Ok(ExitCode::from(Exit::Invalid));
        }
        writeln!(out, "hash = \"{}\"", writ_callers::hash_api_key(key))?;
    } else {
        let key = writ_callers::new_api_key()?;
        writeln!(out, "key: {key}")?;
        writeln!(out, "hash = \"{}\"", writ_callers::hash_api_key(&key))?;
    }
    Ok(ExitCode::from(Exit::Ok))
}
