//! The administrator's commands over a state directory: `writ approver reset` lifts an
//! approver's one-time-code lockout or block (audited).

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
            Ok(ExitCode::SUCCESS)
        }
        Err(writ::approvals::Error::Registry(e)) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => store_refusal(e, Shape::Answer),
    }
}
