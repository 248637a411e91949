//! `writ`: the policy author's command line.
//!
//! Exit codes (documented in docs/language.md §17 and §21): 0 success (a decision is a
//! success, whatever it is); 1 the input is invalid (a policy set that does not check, a
//! file that would be reformatted under `--check`, an unreadable path); 2 usage errors;
//! 3 refused (`approve`, `collect`, `redeem`, `revoke`, `webauthn challenge` and `register`:
//! the output says why).

use crate::exit::Exit;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin;
mod bench;
mod callers;
mod check;
mod decide;
mod exit;
mod explain;
mod flow;
mod fmt;
mod lint;
mod load;
mod output;
mod repl;
mod revoke;
mod serve;
mod suite;
mod watch;

/// mimalloc rather than the system's malloc: `writ serve` allocates a few dozen times a
/// request, and glibc's malloc and free were a sixth of a request's instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// writ: transaction-bound authorization for sensitive actions.
#[derive(Parser)]
#[command(name = "writ", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a policy set: parse, resolve names, type-check, validate.
    Check(check::Args),
    /// Rewrite policy files in the canonical style.
    Fmt(fmt::Args),
    /// Decide a request (or a JSON Lines file of requests): prints the decision JSON.
    Decide(decide::Args),
    /// Explain a decision rule by rule: each sub-condition true, false or unknown.
    Explain(explain::Args),
    /// Measure decision latency on your policies and requests.
    Bench(bench::Args),
    /// Run the policy test suites (`*.test.toml`) kept beside the policies.
    Test(suite::Args),
    /// Follow a policy directory: one JSON line per reload (loaded, rejected, unchanged).
    Watch(watch::Args),
    /// Serve decisions over HTTP: AuthZEN 1.0, the native API, approvals (docs/server.md).
    Serve(serve::Args),
    /// Callers of `writ serve`: `writ callers hash-key` makes an API key and its hash line.
    Callers(callers::Args),
    /// Generate an Ed25519 key (approver or workload): private JWK to a file, public key out.
    Keygen(flow::KeygenArgs),
    /// Show a challenge: what is approved, its binding code, who approved, what is missing.
    Challenge(flow::ChallengeArgs),
    /// Answer a challenge as an approver (approve or deny, with evidence).
    Approve(flow::ApproveArgs),
    /// Collect a granted challenge's grant, as its requester (secret or workload key).
    Collect(flow::CollectArgs),
    /// Redeem a grant at execution: re-decide, re-derive the digest, consume it once.
    Redeem(flow::RedeemArgs),
    /// Revoke a grant at once (an elevation, or a single-use grant not yet redeemed), as
    /// its requester, an approver of its groups or the operator.
    Revoke(revoke::RevokeArgs),
    /// Sign an approver's answer or a workload's proof of possession made elsewhere.
    Sign(flow::SignArgs),
    /// The audit log: `writ audit verify FILE`.
    Audit(flow::AuditArgs),
    /// WebAuthn: a registration challenge, registering an approver's authenticator, and the
    /// challenge an assertion answers.
    Webauthn(flow::WebauthnArgs),
    /// Administer approvers: `writ approver reset DIR --as ID --state S` lifts a
    /// one-time-code lockout.
    Approver(admin::ApproverArgs),
    /// Grants: `writ grant key --state S` prints the public grant key (JWK, PASERK) for
    /// verifiers.
    Grant(admin::GrantArgs),
    /// Find rules that can never matter: never true, never winning, never counting.
    Lint(lint::Args),
    /// Ask what-if questions of a policy set that follows your edits.
    Repl(repl::Args),
}

fn main() -> ExitCode {
    output::quiet_on_closed_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Decide(args) => decide::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Test(args) => suite::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Callers(args) => callers::run(&args),
        Command::Keygen(args) => flow::keygen(&args),
        Command::Challenge(args) => flow::challenge(&args),
        Command::Approve(args) => flow::approve(&args),
        Command::Collect(args) => flow::collect(&args),
        Command::Redeem(args) => flow::redeem(&args),
        Command::Revoke(args) => revoke::run(&args),
        Command::Sign(args) => flow::sign(&args),
        Command::Audit(args) => flow::audit(&args),
        Command::Webauthn(args) => flow::webauthn(&args),
        Command::Approver(args) => admin::approver(&args),
        Command::Grant(args) => admin::grant(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Repl(args) => repl::run(&args),
    };
    match result {
        Ok(code) => code,
        // The reader of our output stopped reading (`| head`): done, quietly.
        Err(e) if output::is_closed_output(&e) => ExitCode::from(Exit::Ok),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(Exit::Invalid)
        }
    }
}
