//! Policy sets several crates' tests share: the bundled sets under `policies/`, and the
//! small sets the approval-flow tests of the library, the server and the binary each run
//! (a finance-approved transfer, a 30-minute support elevation), written once so that the
//! three layers test the same policy.

use std::path::{Path, PathBuf};

/// The bundled policy sets every layer checks (`policies/NAME`): each checks, is
/// lint-clean and passes its own suites.
pub const BUNDLED: [&str; 6] = [
    "prod-database",
    "payments",
    "ai-agents",
    "support-access",
    "break-glass",
    "passkey-recovery",
];

/// A transfer approved by one member of `finance` with a signature, bound to the
/// principal, the action and the amount, the challenge open 5 minutes.
pub const FINANCE_TRANSFERS: &str = r#"
schema { request.params.amount: number }
rule "transfers need finance" {
  when action == "payments.transfer"
  approve { approvers 1 of group "finance"  method signature  bind principal.id, action, request.params.amount  ttl 5m }
}
"#;

/// Support sessions (`support.logs.read`, `support.session.open`) elevated for 30 minutes
/// by one member of `group` with a signature, bound to the principal, the tenant
/// (`resource.id`), the session and the ticket; the challenge open 10 minutes; each use
/// recorded (`record_session`).
pub fn support_elevation(group: &str) -> String {
    format!(
        r#"
schema {{ request.params.ticket: string }}

rule "support sessions are approved for 30 minutes" {{
  when action in ["support.logs.read", "support.session.open"]
  approve for 30m {{
    approvers 1 of group "{group}"
    method signature
    bind principal.id, resource.id, session.id, request.params.ticket
    ttl 10m
  }}
  obligations record_session
}}
"#
    )
}

/// callers.toml's SPIFFE part, which the callers' tests and the fuzz fixture share: trust
/// domain `example.org`, the gateway as an enforcement point, the payments workload by id
/// and agents by prefix.
pub const SPIFFE_CALLERS: &str = r#"
trust_domains = ["example.org"]

[[enforcement_point]]
id = "spiffe://example.org/gateway"

[[actor]]
id = "spiffe://example.org/payments"
kind = "workload"

[[actor]]
prefix = "spiffe://example.org/agents/"
kind = "agent"
"#;

/// The WebAuthn relying party the approval tests register passkeys with: its id...
pub const RP_ID: &str = "approvals.example.com";
/// ...and its one origin.
pub const ORIGIN: &str = "https://approvals.example.com";

/// A policy directory `root/policies`: `file` holding `policy`, and `approvers.toml` with
/// one approver per `(id, group, Ed25519 public key in base64url)`.
pub fn policy_dir(
    root: &Path,
    file: &str,
    policy: &str,
    approvers: &[(&str, &str, &str)],
) -> PathBuf {
    let policies = root.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join(file), policy).unwrap();
    let entries: Vec<String> = approvers
        .iter()
        .map(|(id, group, key)| {
            format!("[[approver]]\nid = \"{id}\"\ngroups = [\"{group}\"]\ned25519 = [\"{key}\"]\n")
        })
        .collect();
    std::fs::write(policies.join("approvers.toml"), entries.join("\n")).unwrap();
    policies
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies a directory tree (a bundled set into a test's own directory).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
