//! `writ decide DIR REQUEST.json` and `writ decide DIR --requests FILE.jsonl`.

use crate::exit::Exit;
use crate::output::outln;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::load::{engine, input_name, read_input, request_problem};

/// Arguments of `writ decide`.
#[derive(clap::Args)]
pub struct Args {
    /// The policy set (a directory of `.writ` files, or one file).
    pub dir: PathBuf,
    /// A request JSON file, or `-` for standard input.
    #[arg(required_unless_present = "requests", conflicts_with = "requests")]
    pub request: Option<PathBuf>,
    /// A JSON Lines file of requests: one compact decision per line, in order.
    #[arg(long)]
    pub requests: Option<PathBuf>,
    /// A state directory: an `approve` decision opens a challenge there (see `writ
    /// approve`), and every decision is audited to its `audit.jsonl`.
    #[arg(long, conflicts_with = "requests")]
    pub state: Option<PathBuf>,
    /// With `--state`: keep challenges in Redis (`redis://host:port/db`), shared by
    /// every replica, instead of the state directory's `state.redb`.
    #[arg(long, requires = "state")]
    pub redis: Option<String>,
    /// With `--state`: the workload's private key; its public JWK is put at
    /// `principal.key`, so the grant is bound to it.
    #[arg(long, requires = "state")]
    pub workload_key: Option<PathBuf>,
}

/// Prints the decision JSON; exit 0 whatever the decision, 1 for an invalid set or request.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if let (Some(state), Some(path)) = (&args.state, &args.request) {
        return with_state(args, state, path);
    }
    let engine = match engine(&args.dir) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    if let Some(path) = &args.requests {
        return batch(&engine, &read_input(path)?);
    }
    let Some(path) = &args.request else {
        return Ok(ExitCode::from(Exit::Usage));
    };
    let text = read_input(path)?;
    match engine.bind_str(&text) {
        Ok(req) => {
            outln!("{}", engine.decide(&req).to_json_pretty())?;
            Ok(ExitCode::from(Exit::Ok))
        }
        Err(e) => {
            eprintln!(
                "error: {}: {}",
                input_name(path),
                request_problem(&text, &e)
            );
            Ok(ExitCode::from(Exit::Invalid))
        }
    }
}

/// Decides through the approval service: an `approve` opens a challenge.
fn with_state(
    args: &Args,
    state: &std::path::Path,
    path: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let approvals = match crate::flow::service_at_or_refuse(
        &args.dir,
        state,
        args.redis.as_deref(),
        crate::flow::Shape::Decide,
    )? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let text = crate::flow::request_text(path, args.workload_key.as_deref())?;
    match approvals.decide(&text) {
        Ok(decided) => {
            crate::flow::print(&decided)?;
            Ok(ExitCode::from(Exit::Ok))
        }
        Err(writ::approvals::Error::Request(e)) => {
            eprintln!(
                "error: {}: {}",
                input_name(path),
                request_problem(&text, &e)
            );
            Ok(ExitCode::from(Exit::Invalid))
        }
        Err(e) => crate::flow::store_refusal(e, crate::flow::Shape::Decide),
    }
}

/// One line out per line in (blank lines included, as errors): a bad line gets an error
/// object and the rest still run; the exit code is 1 when any line was bad.
fn batch(engine: &writ::Engine, text: &str) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut bad = 0usize;
    for (i, line) in text.lines().enumerate() {
        match engine.bind_str(line) {
            Ok(req) => writeln!(out, "{}", engine.decide(&req).to_json())?,
            Err(e) => {
                bad += 1;
                let obj = serde_json::json!({"error": request_problem(line, &e), "line": i + 1});
                writeln!(out, "{obj}")?;
            }
        }
    }
    out.flush()?;
    if bad > 0 {
        eprintln!(
            "error: {bad} invalid request line{}",
            if bad == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::from(Exit::Invalid));
    }
    Ok(ExitCode::from(Exit::Ok))
}
