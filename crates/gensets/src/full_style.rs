//! The full-style policy set: the benchmark workload's permits plus what a real writ set
//! carries — a risk block of 7 signals, `hours` in a time zone, CIDR sets, and `approve`
//! rules whose requirements merge — with requests that exercise every signal.
//!
//! It has no Cedar, Rego or hand-written rendering: it measures writ's own features.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::Workload;

/// The part of the set that is not generated: shared names, the risk block and one
/// approve rule that reads the risk score.
pub const PRELUDE: &str = r#"
let corp_network   = cidr ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]
let vpn            = cidr ["198.51.100.0/24"]
let business_hours = hours "Mon-Fri 07:00-19:00" in "Europe/Berlin"
let admin_scopes   = ["db.admin", "db.drop"]

risk {
  +40 "unmanaged device"         when not device.managed
  +20 "disk not encrypted"       when not device.disk_encrypted
  +15 "patches older than 30d"   when device.patch_age > 30d
  +25 "off corporate network"    when network.ip not in corp_network and network.ip not in vpn
  +10 "outside business hours"   when time not in business_hours
  +20 "admin scope requested"    when scope.requested has any admin_scopes
  +15 "phishable session factor" when session.auth_method in ["sms", "otp", "email"]
}

rule "sensitive data needs security" {
  when resource.sensitivity >= 4 and risk >= 20
  approve {
    approvers 1 of group "security"
    method    webauthn
    bind      principal.id, action, resource.id
    ttl       2m
  }
}
"#;

/// A full-style policy set and requests against it.
#[derive(Clone, Debug)]
pub struct FullStyle {
    /// The policy text (one file).
    pub policy: String,
    /// The requests, as writ request JSON.
    pub requests: Vec<Value>,
}

/// The full-style set over [`Workload::generate`]`(seed, permits, requests)`: every tenth
/// permit asks for an approval instead of allowing; each request gains disk encryption,
/// patch age and a session (id and authentication method) that vary from one to the next.
pub fn full_style(seed: u64, permits: usize, requests: usize) -> FullStyle {
    let w = Workload::generate(seed, permits, requests);
    let mut policy = String::new();
    for (i, chunk) in w.writ_policy().split("\n  allow\n").enumerate() {
        if i > 0 {
            if i % 10 == 0 {
                let _ = write!(
                    policy,
                    "\n  approve {{\n    approvers 1 of group \"owners-{}\"\n    method phishing_resistant\n    bind principal.id, action, resource.id, session.id\n    ttl 5m\n  }}\n",
                    i % 7
                );
            } else {
                policy.push_str("\n  allow\n");
            }
        }
        policy.push_str(chunk);
    }
    policy.push_str(PRELUDE);
    let methods = ["webauthn", "password", "otp", "mtls"];
    let requests = w
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut j = r.writ_json();
            j["device"]["disk_encrypted"] = json!(i % 9 != 0);
            j["device"]["patch_age"] = json!(format!("{}d", i % 45));
            j["session"] = json!({"id": format!("s-{i}"), "auth_method": methods[i % 4]});
            j
        })
        .collect();
    FullStyle { policy, requests }
}
