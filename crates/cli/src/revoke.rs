//! `writ revoke`: ends a grant at once — an elevation in its time box, or a single-use
//! grant not yet redeemed — on every replica sharing the state store. The handle is the
//! challenge id, as for `writ collect`; the grant itself is never printed. Who may revoke:
//! the requester (`--secret` or `--workload-key`, as for collection), an approver of the
//! challenge's groups (`--as ID --key FILE`, or `--proof` from `writ sign --revoke`), or
//! the operator (`--operator NAME`: whoever
//! can open the state directory, and Redis when it is shared, holds the service).
//!
//! Exit codes: 0 revoked (also when it was revoked before: the output's `was` says
//! `revoked`); 1 invalid input; 2 usage; 3 refused (not allowed, no such challenge, no
//! grant; a state store that cannot be used is `store_unavailable`).

use crate::exit::Exit;
use std::path::PathBuf;
use std::process::ExitCode;

use writ::approvals::{proof_text, revoke_message, KeyPair, Revoker};

use crate::flow::{
    answer, requester_proof, service_or_refuse, store_refusal, unix_now, RequesterArgs, Shape,
    StateArgs,
};

/// Arguments of `writ revoke`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["secret", "workload_key", "approver", "operator"])))]
pub struct RevokeArgs {
    /// The policy set (its `approvers.toml` is the registry).
    pub dir: PathBuf,
    /// The challenge id whose grant is revoked.
    pub id: String,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub requester: RequesterArgs,
    /// As an approver of the challenge's groups (with `--key`, or `--proof` made elsewhere
    /// by `writ sign --revoke`).
    #[arg(long = "as")]
    pub approver: Option<String>,
    /// The approver's private key file (Ed25519, registered in `approvers.toml`).
    #[arg(long, requires = "approver", conflicts_with = "proof")]
    pub key: Option<PathBuf>,
    /// The approver's revocation proof made elsewhere (`IAT.SIGNATURE`, as `writ sign
    /// --key FILE --revoke ID` prints it), good within the clock skew (30 s).
    #[arg(long, requires = "approver", allow_hyphen_values = true)]
    pub proof: Option<String>,
    /// As the operator, named in the audit record: whoever can open the state directory
    /// holds the service.
    #[arg(long)]
    pub operator: Option<String>,
}

/// Revokes the grant of a challenge; prints the outcome (never the grant).
pub fn run(args: &RevokeArgs) -> anyhow::Result<ExitCode> {
    let approvals = match service_or_refuse(&args.dir, &args.state, Shape::Answer)? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let iat = unix_now();
    let by = match (
        &args.requester.secret,
        &args.requester.workload_key,
        &args.approver,
        &args.key,
        &args.operator,
    ) {
        (Some(_), None, None, None, None) | (None, Some(_), None, None, None) => {
            match requester_proof(&args.requester, &args.id, revoke_message)? {
                Some(proof) => Revoker::Requester(proof),
                None => return Ok(ExitCode::from(Exit::Usage)),
            }
        }
        (None, None, Some(id), Some(path), None) => Revoker::Approver {
            id: id.clone(),
            proof: proof_text(
                iat,
                &KeyPair::read(path)?.sign_b64(&revoke_message(&args.id, iat)),
            ),
        },
        (None, None, Some(id), None, None) if args.proof.is_some() => Revoker::Approver {
            id: id.clone(),
            proof: args.proof.clone().unwrap_or_default(),
        },
        (None, None, None, None, Some(name)) => Revoker::Operator { by: name.clone() },
        _ => {
            eprintln!("error: say once who revokes: `--secret`, `--workload-key`, `--as ID --key FILE` (or `--proof`) or `--operator NAME`");
            return Ok(ExitCode::from(Exit::Usage));
        }
    };
    let revoked = match approvals.revoke(&args.id, &by) {
        Ok(r) => r,
        Err(e) => return store_refusal(e, Shape::Answer),
    };
    answer(&revoked, revoked.refusal.is_some())
}
