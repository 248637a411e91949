//! The approval flow on the command line: `keygen`, `decide --state`, `challenge`,
//! `approve`, `collect`, `redeem`, `sign` and `audit verify`. A state directory holds what
//! the flow remembers between commands: `state.redb` (challenges, consumed grants),
//! `grant.key` (the engine's grant signing key) and `audit.jsonl` (the hash-chained audit
//! log). The grant goes to the requester only (`collect`); `challenge` and `approve` never
//! print it. JSON output writes characters that could hide or reorder text (bidirectional
//! overrides, zero-width characters) as `\uXXXX` escapes: the same JSON value, visible.
//!
//! Exit codes: 0 done (`approve`: answer accepted; `collect`: granted; `redeem`: allowed);
//! 1 invalid input;
//! 2 usage; 3 refused (`approve`, `redeem`: the output says why). A state store that
//! cannot be reached (Redis down, `state.redb` held by another process past the wait) is a
//! refusal too — `store_unavailable`, exit 3, in the command's own JSON shape — never a
//! silent success.

use crate::exit::Exit;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use serde_json::Value as Json;
use writ::approvals::{
    answer_message, collect_message, grant_digest, pop_message, proof_text, Answer, Approvals,
    AuditConfig, AuditMode, Collect, Config, Evidence, KeyPair, WorkloadKeyPair,
};

use crate::load::read_input;

/// Where the flow keeps its state.
#[derive(clap::Args)]
pub struct StateArgs {
    /// The state directory: `grant.key`, `audit.jsonl`, and (without `--redis`)
    /// `state.redb`.
    #[arg(long)]
    pub state: PathBuf,
    /// Keep challenges and consumed grants in Redis (`redis://host:port/db`), shared by
    /// every replica (which also share `grant.key`), instead of `state.redb`.
    #[arg(long)]
    pub redis: Option<String>,
}

/// The JSON shape a command answers in, for a refusal printed by the command line itself.
#[derive(Clone, Copy)]
pub enum Shape {
    /// `decide --state`: `{"decision": "deny", "refusal": …}`, exit 0 as for any decision
    /// (the service's own `store_unavailable` denials are answered the same way).
    Decide,
    /// `redeem`: `{"decision": "deny", "refusal": …}`, exit 3.
    Redeem,
    /// `approve`, `challenge`: `{"status": "refused", "refusal": …}`, exit 3.
    Answer,
}

/// When `e` is the state store failing, prints the `store_unavailable` refusal in `shape`
/// (fail closed); any other error is returned as it is.
pub fn store_refusal(e: writ::approvals::Error, shape: Shape) -> anyhow::Result<ExitCode> {
    let writ::approvals::Error::Store(message) = &e else {
        return Err(e.into());
    };
    let refusal = serde_json::json!({
        "code": "store_unavailable",
        "message": format!("the state store cannot be used: {message}"),
    });
    let (out, code) = match shape {
        Shape::Decide => (
            serde_json::json!({"decision": "deny", "refusal": refusal}),
            ExitCode::from(Exit::Ok),
        ),
        Shape::Redeem => (
            serde_json::json!({"decision": "deny", "refusal": refusal}),
            ExitCode::from(Exit::Refused),
        ),
        Shape::Answer => (
            serde_json::json!({"status": "refused", "refusal": refusal}),
            ExitCode::from(Exit::Refused),
        ),
    };
    print(&out)?;
    Ok(code)
}

/// [`service_at`], with a store that cannot be opened answered as a refusal in `shape`.
pub fn service_or_refuse(
    dir: &Path,
    state: &StateArgs,
    shape: Shape,
) -> anyhow::Result<Result<Approvals, ExitCode>> {
    service_at_or_refuse(dir, &state.state, state.redis.as_deref(), shape)
}

/// [`service_or_refuse`] from its parts.
pub fn service_at_or_refuse(
    dir: &Path,
    state: &Path,
    redis: Option<&str>,
    shape: Shape,
) -> anyhow::Result<Result<Approvals, ExitCode>> {
    match service_at(dir, state, redis) {
        Err(e) => match e.downcast::<writ::approvals::Error>() {
            Ok(e) => store_refusal(e, shape).map(Err),
            Err(e) => Err(e),
        },
        ok => ok,
    }
}

/// Opens the approval service over a policy directory and its state; prints the set's
/// diagnostics and returns exit 1 when it does not check.
pub fn service_at(
    dir: &Path,
    state: &Path,
    redis: Option<&str>,
) -> anyhow::Result<Result<Approvals, ExitCode>> {
    // One load: an invalid set is reported with its full diagnostics from the store's own
    // attempt.
    let policies = match crate::load::store(dir) {
        Ok(store) => Arc::new(store),
        Err(code) => return Ok(Err(code)),
    };
    let approvals = match redis {
        None => Approvals::with_state_dir(policies, state, config())?,
        Some(url) => {
            // A URL that does not parse is the caller's mistake (exit 1), not a store that
            // cannot be reached: no longer an approvals error once it is text.
            let store = Arc::new(
                writ::approvals::RedisStore::lazy(url, "writ:", std::time::Duration::from_secs(2))
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            );
            Approvals::with_store(policies, state, store, config())?
        }
    };
    Ok(Ok(approvals))
}

/// The flow's configuration on the command line. Each command is a process that decides
/// once and exits: its decision record is on disk before it answers (group mode), and a
/// log that cannot be written fails the command, as every other record does.
fn config() -> Config {
    Config {
        audit: AuditConfig {
            mode: AuditMode::Group,
            ..AuditConfig::default()
        },
        ..Config::default()
    }
}

/// Reads a request and, with `--workload-key`, puts the key's public JWK at
/// `principal.key` (as the workload would).
pub fn request_text(path: &Path, workload_key: Option<&Path>) -> anyhow::Result<String> {
    let text = read_input(path)?;
    let Some(key_path) = workload_key else {
        return Ok(text);
    };
    let key = WorkloadKeyPair::read(key_path)?;
    let mut json: Json =
        serde_json::from_str(&text).with_context(|| format!("`{}` is not JSON", path.display()))?;
    let Some(obj) = json.as_object_mut() else {
        bail!("the request must be a JSON object");
    };
    let principal = obj
        .entry("principal")
        .or_insert_with(|| Json::Object(Default::default()));
    let Some(principal) = principal.as_object_mut() else {
        bail!("`principal` must be an object");
    };
    let jwk = key.public_jwk();
    if let Some(existing) = principal.get("key") {
        if existing != &jwk {
            bail!(
                "the request carries another `principal.key` than `{}`",
                key_path.display()
            );
        }
    }
    principal.insert("key".into(), jwk);
    Ok(json.to_string())
}

/// Prints `value` as indented JSON, every character that could hide or reorder text
/// written as a `\uXXXX` escape (same value, visible to whoever reads it).
pub fn print(value: &impl serde::Serialize) -> anyhow::Result<()> {
    crate::output::outln!("{}", visible_json(&serde_json::to_string_pretty(value)?))?;
    Ok(())
}

/// Prints a step's answer ([`print`]); exit 3 when it says `refusal`, else 0.
pub fn answer(value: &impl serde::Serialize, refused: bool) -> anyhow::Result<ExitCode> {
    print(value)?;
    Ok(ExitCode::from(if refused {
        Exit::Refused
    } else {
        Exit::Ok
    }))
}

/// The requester's proof for a step on challenge `id` (collect, revoke): the collection
/// secret as given, or a proof signed now with the workload key over `message(id, iat)`.
/// `None` when neither is given.
pub fn requester_proof(
    requester: &RequesterArgs,
    id: &str,
    message: fn(&str, i64) -> Vec<u8>,
) -> anyhow::Result<Option<Collect>> {
    Ok(match (&requester.secret, &requester.workload_key) {
        (Some(secret), _) => Some(Collect::Secret(grant_text(secret)?)),
        (None, Some(path)) => {
            let key = WorkloadKeyPair::read(path)?;
            let iat = unix_now();
            Some(Collect::Key {
                jwk: key.public_jwk(),
                proof: proof_text(iat, &key.sign_b64(&message(id, iat))),
            })
        }
        (None, None) => None,
    })
}

/// JSON text with hidden characters (bidirectional controls, zero-width characters; JSON
/// escapes control characters itself) as `\uXXXX` escapes. They only occur inside
/// strings, where the escape stands for the same character.
fn visible_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && writ::approvals::identity::is_hidden(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The current time, unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A workload's proof of possession for `grant`, made now: `IAT.SIGNATURE` over
/// `writ-pop-v2`, the grant, `digest` (by default the one the grant claims) and now.
fn pop_proof(key: &WorkloadKeyPair, grant: &str, digest: Option<&str>) -> anyhow::Result<String> {
    let digest = match digest {
        Some(d) => d.to_string(),
        None => grant_digest(grant).ok_or_else(|| {
            anyhow::anyhow!(
                "the grant is not a writ grant token (`v4.public.…`): cannot read its digest"
            )
        })?,
    };
    let iat = unix_now();
    Ok(proof_text(
        iat,
        &key.sign_b64(&pop_message(grant, &digest, iat)),
    ))
}

/// Arguments of `writ keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key (a JWK, readable by its owner only; never
    /// overwritten).
    pub out: PathBuf,
    /// Print the `approvers.toml` entry for this approver id.
    #[arg(long)]
    pub approver: Option<String>,
    /// The approver's groups (with `--approver`), comma-separated.
    #[arg(long, value_delimiter = ',', requires = "approver")]
    pub groups: Vec<String>,
    /// A P-256 key instead of Ed25519 — for a workload whose platform signs ES256
    /// (approvers' keys are Ed25519).
    #[arg(long, conflicts_with = "approver")]
    pub p256: bool,
}

/// Generates an Ed25519 key; prints the public key (and a registry entry).
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    if let Some(id) = &args.approver {
        if id.trim().is_empty() || args.groups.iter().any(|g| g.trim().is_empty()) {
            eprintln!("error: an approver id and each group name must be non-empty (`--groups db-owners,dba`)");
            return Ok(ExitCode::from(Exit::Usage));
        }
    }
    if args.p256 {
        let key = WorkloadKeyPair::generate_p256()?;
        key.write_new(&args.out)?;
        print(&key.public_jwk())?;
        return Ok(ExitCode::from(Exit::Ok));
    }
    let key = KeyPair::generate()?;
    key.write_new(&args.out)?;
    // JSON string escapes are TOML basic-string escapes.
    let toml_string = |s: &str| Json::from(s.trim()).to_string();
    match &args.approver {
        Some(id) => {
            let groups: Vec<String> = args.groups.iter().map(|g| toml_string(g)).collect();
            println!(
                "[[approver]]\nid = {}\ngroups = [{}]\ned25519 = [\"{}\"]",
                toml_string(id),
                groups.join(", "),
                key.public_b64()
            );
            if groups.is_empty() {
                eprintln!("note: no `--groups`: this approver is in no group and can approve nothing until one is added");
            }
        }
        None => print(&key.public_jwk())?,
    }
    Ok(ExitCode::from(Exit::Ok))
}

/// Arguments of `writ challenge`.
#[derive(clap::Args)]
pub struct ChallengeArgs {
    /// The policy set (its `approvers.toml` is the registry).
    pub dir: PathBuf,
    /// The challenge id.
    pub id: String,
    #[command(flatten)]
    pub state: StateArgs,
}

/// Shows a challenge: what is approved, its binding code, who approved, what is missing.
pub fn challenge(args: &ChallengeArgs) -> anyhow::Result<ExitCode> {
    let approvals = match service_or_refuse(&args.dir, &args.state, Shape::Answer)? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let found = match approvals.challenge(&args.id) {
        Ok(found) => found,
        Err(e) => return store_refusal(e, Shape::Answer),
    };
    match found {
        Some(view) => {
            print(&view)?;
            Ok(ExitCode::from(Exit::Ok))
        }
        None => {
            eprintln!("error: there is no challenge `{}`", args.id);
            Ok(ExitCode::from(Exit::Invalid))
        }
    }
}

/// Arguments of `writ approve`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("evidence").required(true).args(["key", "signature", "otp", "webauthn"])))]
pub struct ApproveArgs {
    /// The policy set (its `approvers.toml` is the registry).
    pub dir: PathBuf,
    /// The challenge id.
    pub id: String,
    #[command(flatten)]
    pub state: StateArgs,
    /// The approver's id in the registry.
    #[arg(long = "as")]
    pub approver: String,
    /// Sign the answer with this private key file.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// A signature made elsewhere (`writ sign`), base64url (it may start with `-`).
    #[arg(long, allow_hyphen_values = true)]
    pub signature: Option<String>,
    /// A TOTP code (only where the policy's method is `otp`).
    #[arg(long)]
    pub otp: Option<String>,
    /// A WebAuthn assertion (JSON file: `PublicKeyCredential.toJSON()` output) whose
    /// challenge is `writ webauthn get-challenge` of this challenge.
    #[arg(long)]
    pub webauthn: Option<PathBuf>,
    /// Deny instead of approving (one denial closes the challenge).
    #[arg(long)]
    pub deny: bool,
    /// The binding code the requester sees; refused when it is not the challenge's.
    #[arg(long)]
    pub code: Option<String>,
}

/// Answers a challenge; prints the outcome (never the grant: the requester collects it).
pub fn approve(args: &ApproveArgs) -> anyhow::Result<ExitCode> {
    let approvals = match service_or_refuse(&args.dir, &args.state, Shape::Answer)? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let evidence = if let Some(path) = &args.key {
        let key = KeyPair::read(path)?;
        let found = match approvals.challenge(&args.id) {
            Ok(found) => found,
            Err(e) => return store_refusal(e, Shape::Answer),
        };
        let Some(c) = found else {
            // The same refusal the service gives for an unknown id (and audits).
            let answered = match approvals.answer(&Answer {
                challenge: args.id.clone(),
                approver: args.approver.clone(),
                approve: !args.deny,
                code: args.code.clone(),
                evidence: Evidence::Signature {
                    signature: String::new(),
                },
            }) {
                Ok(a) => a,
                Err(e) => return store_refusal(e, Shape::Answer),
            };
            print(&answered)?;
            return Ok(ExitCode::from(Exit::Refused));
        };
        Evidence::Signature {
            signature: key.sign_b64(&answer_message(&c.id, &c.digest, !args.deny)),
        }
    } else if let Some(signature) = &args.signature {
        Evidence::Signature {
            signature: signature.clone(),
        }
    } else if let Some(code) = &args.otp {
        Evidence::Otp { code: code.clone() }
    } else if let Some(path) = &args.webauthn {
        let text = read_input(path)?;
        let assertion = serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not a WebAuthn assertion", path.display()))?;
        Evidence::Webauthn { assertion }
    } else {
        return Ok(ExitCode::from(Exit::Usage));
    };
    let answered = match approvals.answer(&Answer {
        challenge: args.id.clone(),
        approver: args.approver.clone(),
        approve: !args.deny,
        code: args.code.clone(),
        evidence,
    }) {
        Ok(a) => a,
        Err(e) => return store_refusal(e, Shape::Answer),
    };
    answer(&answered, answered.refusal.is_some())
}

/// Arguments of `writ collect`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("proof").required(true).args(["secret", "workload_key"])))]
pub struct CollectArgs {
    /// The policy set.
    pub dir: PathBuf,
    /// The challenge id.
    pub id: String,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub requester: RequesterArgs,
}

/// How the requester of a challenge proves it is them (`writ collect`, `writ revoke`).
#[derive(clap::Args)]
pub struct RequesterArgs {
    /// As the requester: the collection secret `decide --state` printed (`@FILE` reads it
    /// from a file), for a request without `principal.key`.
    #[arg(long, allow_hyphen_values = true)]
    pub secret: Option<String>,
    /// As the requester whose request carried its public key (`principal.key`): the
    /// workload's private key, which signs a fresh proof.
    #[arg(long)]
    pub workload_key: Option<PathBuf>,
}

/// Collects the grant of a granted challenge, as its requester: exit 0 with the grant,
/// 3 refused (not the requester, not granted yet).
pub fn collect(args: &CollectArgs) -> anyhow::Result<ExitCode> {
    let approvals = match service_or_refuse(&args.dir, &args.state, Shape::Answer)? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let Some(proof) = requester_proof(&args.requester, &args.id, collect_message)? else {
        return Ok(ExitCode::from(Exit::Usage));
    };
    let collected = match approvals.collect(&args.id, &proof) {
        Ok(c) => c,
        Err(e) => return store_refusal(e, Shape::Answer),
    };
    answer(&collected, collected.refusal.is_some())
}

/// Arguments of `writ redeem`.
#[derive(clap::Args)]
pub struct RedeemArgs {
    /// The policy set.
    pub dir: PathBuf,
    /// The request to execute (JSON file, or `-`).
    pub request: PathBuf,
    #[command(flatten)]
    pub state: StateArgs,
    /// The grant token, or `@FILE` to read it from a file.
    #[arg(long, allow_hyphen_values = true)]
    pub grant: String,
    /// The proof of possession (`IAT.SIGNATURE`, as `writ sign --grant` prints it), for a
    /// key-bound grant.
    #[arg(long, conflicts_with = "workload_key", allow_hyphen_values = true)]
    pub proof: Option<String>,
    /// The workload's private key: sets `principal.key` and signs the proof.
    #[arg(long)]
    pub workload_key: Option<PathBuf>,
}

/// A token or secret given on the command line, or read from a file with `@FILE`.
pub fn grant_text(arg: &str) -> anyhow::Result<String> {
    match arg.strip_prefix('@') {
        Some(path) => Ok(std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{path}`"))?
            .trim()
            .to_string()),
        None => Ok(arg.trim().to_string()),
    }
}

/// Redeems a grant at execution: `allow` once, or `deny` with the reason (exit 3).
pub fn redeem(args: &RedeemArgs) -> anyhow::Result<ExitCode> {
    let approvals = match service_or_refuse(&args.dir, &args.state, Shape::Redeem)? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let grant = grant_text(&args.grant)?;
    let request = request_text(&args.request, args.workload_key.as_deref())?;
    let proof = match (&args.proof, &args.workload_key) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(path)) => Some(pop_proof(&WorkloadKeyPair::read(path)?, &grant, None)?),
        (None, None) => None,
    };
    let redeemed = match approvals.redeem(&request, &grant, proof.as_deref()) {
        Ok(r) => r,
        Err(writ::approvals::Error::Request(e)) => {
            eprintln!(
                "error: {}: {}",
                crate::load::input_name(&args.request),
                crate::load::request_problem(&request, &e)
            );
            return Ok(ExitCode::from(Exit::Invalid));
        }
        Err(e) => return store_refusal(e, Shape::Redeem),
    };
    answer(&redeemed, redeemed.refusal.is_some())
}

/// Arguments of `writ sign`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["challenge", "grant", "revoke"])))]
pub struct SignArgs {
    /// The private key file.
    #[arg(long)]
    pub key: PathBuf,
    /// Sign an answer to this challenge (with `--digest`).
    #[arg(long, requires = "digest")]
    pub challenge: Option<String>,
    /// The challenge's transaction digest; with `--grant`, the digest of the transaction
    /// executed (by default the one the grant claims).
    #[arg(long)]
    pub digest: Option<String>,
    /// Sign a denial instead of an approval.
    #[arg(long, requires = "challenge")]
    pub deny: bool,
    /// Sign a proof of possession for this grant (`@FILE` reads it from a file), made now:
    /// prints `IAT.SIGNATURE`, good within the clock skew (30 s) of its making.
    #[arg(long, allow_hyphen_values = true)]
    pub grant: Option<String>,
    /// Sign a revocation of this challenge's grant (`writ-revoke-v1`), made now: prints
    /// `IAT.SIGNATURE` for `writ revoke --as ID --proof` or the HTTP revoke route (an
    /// approver's key; or the requester's workload key, with its public JWK).
    #[arg(long)]
    pub revoke: Option<String>,
}

/// Prints a signature: an approver's answer, or a workload's proof of possession.
pub fn sign(args: &SignArgs) -> anyhow::Result<ExitCode> {
    if let Some(digest) = &args.digest {
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("`{digest}` is not a transaction digest (`sha256:` and 64 hex digits, as the challenge shows it)");
        }
    }
    // Approvers sign with Ed25519 keys; a workload's proof may be Ed25519 or ES256.
    if let Some(id) = &args.revoke {
        let iat = unix_now();
        let key = WorkloadKeyPair::read(&args.key)?;
        println!(
            "{}",
            proof_text(
                iat,
                &key.sign_b64(&writ::approvals::revoke_message(id, iat))
            )
        );
        return Ok(ExitCode::from(Exit::Ok));
    }
    let signature = match (&args.challenge, &args.digest, &args.grant) {
        (Some(id), Some(digest), None) => {
            KeyPair::read(&args.key)?.sign_b64(&answer_message(id, digest, !args.deny))
        }
        (None, digest, Some(grant)) => pop_proof(
            &WorkloadKeyPair::read(&args.key)?,
            &grant_text(grant)?,
            digest.as_deref(),
        )?,
        _ => return Ok(ExitCode::from(Exit::Usage)),
    };
    println!("{signature}");
    Ok(ExitCode::from(Exit::Ok))
}

/// Arguments of `writ audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Check every record's hash and the chain; name each edited, removed or reordered
    /// record.
    Verify {
        /// The audit log (JSON lines).
        file: PathBuf,
        /// A head hash printed by an earlier verification (or shipped elsewhere): it must
        /// still be in the chain, which catches records cut from the end.
        #[arg(long)]
        head: Option<String>,
        /// The audit key's public half (a JWK file, as `writ audit key` prints it): every
        /// record must carry its signature, which catches a log rewritten without the key.
        #[arg(long, value_name = "PUBLIC_JWK")]
        key: Option<PathBuf>,
    },
    /// Print the public half of a state directory's audit key (`audit.key`) as a JWK: keep
    /// it away from the host, and verify with `writ audit verify FILE --key`.
    Key {
        /// The state directory.
        #[arg(long)]
        state: PathBuf,
    },
}

/// Reads the public key `writ audit verify --key` checks signatures with.
fn audit_public_key(path: &Path) -> anyhow::Result<writ::approvals::VerifyingKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let jwk: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a JWK (JSON)", path.display()))?;
    writ::approvals::public_from_jwk(&jwk).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))
}

/// `writ audit verify FILE`: exit 0 and the head hash when intact, 1 with each problem;
/// `writ audit key --state DIR`: the audit key's public JWK.
pub fn audit(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let (file, head, key) = match &args.command {
        AuditCommand::Verify { file, head, key } => (file, head, key),
        AuditCommand::Key { state } => {
            let path = state.join(writ::approvals::AUDIT_KEY_FILE);
            if !path.exists() {
                eprintln!(
                    "error: `{}` has no audit key: it is created with the state, by the first `writ decide --state`",
                    state.display()
                );
                return Ok(ExitCode::from(Exit::Invalid));
            }
            print(&KeyPair::read(&path)?.public_jwk())?;
            return Ok(ExitCode::from(Exit::Ok));
        }
    };
    let public = match key {
        Some(path) => match audit_public_key(path) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(ExitCode::from(Exit::Usage));
            }
        },
        None => None,
    };
    if let Some(h) = head {
        let hex = h.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            eprintln!("error: `{h}` is not a head hash (`sha256:` and 64 hex digits, as `writ audit verify` prints it)");
            return Ok(ExitCode::from(Exit::Usage));
        }
    }
    let checks = writ::approvals::audit::Verify {
        head: head.as_deref(),
        key: public.as_ref(),
    };
    match writ::approvals::audit::verify_with(file, checks)? {
        Ok(v) => {
            println!(
                "{}: {} records, chain intact{}, head {}",
                file.display(),
                v.records,
                if public.is_some() {
                    ", every record signed by the audit key"
                } else {
                    ""
                },
                v.head
            );
            Ok(ExitCode::from(Exit::Ok))
        }
        Err(problems) => {
            for p in &problems {
                println!("{}: {p}", file.display());
            }
            eprintln!(
                "error: {} problem{} in the audit log",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::from(Exit::Invalid))
        }
    }
}

/// Arguments of `writ webauthn`.
#[derive(clap::Args)]
pub struct WebauthnArgs {
    #[command(subcommand)]
    command: WebauthnCommand,
}

#[derive(clap::Subcommand)]
enum WebauthnCommand {
    /// Print a registration challenge for an approver (base64url): signed by the engine's
    /// grant key, good for 10 minutes and for one registration.
    Challenge {
        /// The policy set whose `approvers.toml` will get the credential.
        dir: PathBuf,
        #[command(flatten)]
        state: StateArgs,
        /// The approver's id (already in the registry).
        #[arg(long = "as")]
        approver: String,
    },
    /// Register an approver's authenticator from its registration response and append
    /// the credential to `DIR/approvers.toml`.
    Register {
        /// The policy set whose `approvers.toml` gets the credential.
        dir: PathBuf,
        #[command(flatten)]
        state: StateArgs,
        /// The approver's id (already in the registry).
        #[arg(long = "as")]
        approver: String,
        /// The registration challenge from `writ webauthn challenge` that the
        /// authenticator signed (base64url, it may start with `-`).
        #[arg(long, allow_hyphen_values = true)]
        challenge: String,
        /// The registration response: `PublicKeyCredential.toJSON()` output (or the
        /// earlier `{attestation_object, client_data_json}`).
        #[arg(long)]
        attestation: PathBuf,
    },
    /// Print a one-time enrolment link for an approver: `URL/enroll/TOKEN`, good for 15
    /// minutes and one passkey, which the approver opens in a browser while `writ serve
    /// DIR --state STATE` runs (only `grant.key` is read: the server may hold the state).
    Invite {
        /// The policy set whose `approvers.toml` names the approver and the relying party.
        dir: PathBuf,
        /// The state directory `writ serve` uses (its `grant.key` signs the invitation).
        #[arg(long)]
        state: PathBuf,
        /// The approver's id (already in the registry).
        #[arg(long = "as")]
        approver: String,
        /// The server's address as approvers open it (default: the relying party's
        /// first origin in approvers.toml).
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the WebAuthn challenge (base64url) that answers an approval challenge:
    /// `SHA-256("writ-webauthn-v2" 0x00 ID 0x00 DIGEST 0x00 "approve"|"deny")`.
    GetChallenge {
        /// The approval challenge's id (`ch_…`).
        #[arg(long = "challenge", allow_hyphen_values = true)]
        id: String,
        /// The challenge's digest (`sha256:<hex>`).
        #[arg(long)]
        digest: String,
        /// The challenge of a denial.
        #[arg(long)]
        deny: bool,
    },
}

/// `writ webauthn challenge`, `register` and `get-challenge`.
pub fn webauthn(args: &WebauthnArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        WebauthnCommand::Challenge {
            dir,
            state,
            approver,
        } => {
            let approvals = match service_or_refuse(dir, state, Shape::Answer)? {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            match approvals.webauthn_registration_challenge(approver) {
                Ok(Ok(challenge)) => {
                    println!("{}", writ::approvals::b64(&challenge));
                    Ok(ExitCode::from(Exit::Ok))
                }
                Ok(Err(refused)) => {
                    eprintln!("error: {refused}");
                    Ok(ExitCode::from(Exit::Refused))
                }
                Err(e) => Err(e.into()),
            }
        }
        WebauthnCommand::Invite {
            dir,
            state,
            approver,
            url,
        } => {
            let token = match writ::approvals::webauthn_invite(dir, state, approver)? {
                Ok(t) => t,
                Err(refused) => {
                    eprintln!("error: {refused}");
                    return Ok(ExitCode::from(Exit::Refused));
                }
            };
            let base = match url {
                Some(u) => u.clone(),
                None => writ::approvals::RegistryFile::in_dir(dir)?
                    .current()?
                    .relying_party()
                    .and_then(|rp| rp.origins.first().cloned())
                    .unwrap_or_default(),
            };
            println!("{}/enroll/{token}", base.trim_end_matches('/'));
            eprintln!(
                "valid for 15 minutes and one passkey: send it to {approver} over a channel you trust"
            );
            Ok(ExitCode::from(Exit::Ok))
        }
        WebauthnCommand::GetChallenge { id, digest, deny } => {
            let bytes = writ::approvals::webauthn_answer_challenge(id, digest, !deny);
            println!("{}", writ::approvals::b64(&bytes));
            Ok(ExitCode::from(Exit::Ok))
        }
        WebauthnCommand::Register {
            dir,
            state,
            approver,
            challenge,
            attestation,
        } => {
            let challenge =
                writ::approvals::unb64(challenge, "challenge").map_err(anyhow::Error::msg)?;
            let text = read_input(attestation)?;
            let attestation = serde_json::from_str(&text).with_context(|| {
                format!(
                    "`{}` is not a WebAuthn registration response",
                    attestation.display()
                )
            })?;
            let approvals = match service_or_refuse(dir, state, Shape::Answer)? {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            match approvals.register_webauthn(approver, &challenge, &attestation) {
                Ok(Ok(entry)) => {
                    print!("{entry}");
                    Ok(ExitCode::from(Exit::Ok))
                }
                Ok(Err(refused)) => {
                    eprintln!("error: {refused}");
                    Ok(ExitCode::from(Exit::Refused))
                }
                // The store cannot be used: fail closed, as every command does.
                Err(e @ writ::approvals::Error::Store(_)) => store_refusal(e, Shape::Answer),
                // The registry file itself: unreadable, invalid, not writable.
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(Exit::Invalid))
                }
            }
        }
    }
}
