//! The administrator's commands over a state directory: `writ approver reset` lifts an
//! approver's one-time-code lockout or block (audited); `writ grant key` prints the public
//! grant key, for verifiers that check grants themselves.

use crate::exit::Exit;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::flow::{service_or_refuse, store_refusal, Shape, StateArgs};
use crate::output::outln;

/// Arguments of `writ approver`.
#[derive(clap::Args)]
pub struct ApproverArgs {
    #[command(subcommand)]
    command: ApproverCommand,
}

#[derive(clap::Subcommand)]
enum ApproverCommand {
    /// Forget an approver's failed one-time codes: lifts the 15-minute lockout after 10
    /// failures and the block after 100 (which only this lifts). Audited as
    /// `approver.reset`.
    Reset {
        /// The policy set (its `approvers.toml` is the registry).
        dir: PathBuf,
        /// The approver's id in the registry.
        #[arg(long = "as")]
        approver: String,
        #[command(flatten)]
        state: StateArgs,
    },
}

/// `writ approver reset DIR --as ID --state S`: prints what was forgotten.
pub fn approver(args: &ApproverArgs) -> anyhow::Result<ExitCode> {
    let ApproverCommand::Reset {
        dir,
        approver,
        state,
    } = &args.command;
    let approvals = match service_or_refuse(dir, state, Shape::Answer)? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    match approvals.reset_otp(approver) {
        Ok(before) => {
            let out = serde_json::json!({
                "approver": approver,
                "reset": true,
                "before": before,
            });
            outln!("{}", serde_json::to_string_pretty(&out)?)?;
            Ok(ExitCode::from(Exit::Ok))
        }
        Err(writ::approvals::Error::Registry(e)) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(Exit::Invalid))
        }
        Err(e) => store_refusal(e, Shape::Answer),
    }
}

/// Arguments of `writ grant`.
#[derive(clap::Args)]
pub struct GrantArgs {
    #[command(subcommand)]
    command: GrantCommand,
}

#[derive(clap::Subcommand)]
enum GrantCommand {
    /// Print the public half of a state directory's grant key (`grant.key`): its PASERK
    /// id (the `kid` in every grant's footer), the key as a PASERK (`k4.public.…`) and as a
    /// JWK. A verifier checks grants (PASETO v4.public, implicit assertion
    /// `writ-grant-v1`) with it, never with the private file.
    Key {
        /// The state directory.
        #[arg(long)]
        state: PathBuf,
    },
}

/// `writ grant key --state DIR`.
pub fn grant(args: &GrantArgs) -> anyhow::Result<ExitCode> {
    let GrantCommand::Key { state } = &args.command;
    let path = state.join(writ::approvals::GRANT_KEY_FILE);
    if !path.exists() {
        eprintln!(
            "error: `{}` has no grant key: it is created with the state, by the first `writ decide --state`",
            state.display()
        );
        return Ok(ExitCode::from(Exit::Invalid));
    }
    let key = writ::approvals::GrantKey::new(writ::approvals::KeyPair::read(&path)?);
    let out = serde_json::json!({
        "kid": key.kid(),
        "paserk": key.paserk(),
        "jwk": key.public_jwk(),
    });
    outln!("{}", serde_json::to_string_pretty(&out)?)?;
    Ok(ExitCode::from(Exit::Ok))
}
