//! Writes a full-style policy set (the benchmark workload's 1,000 permits, plus a risk
//! block of 7 signals, `hours` in a time zone, CIDR sets, and approve rules that merge)
//! and 2,000 matching requests, for `writ bench`.
//!
//! Run: `cargo run --release --example full_style_workload -- OUT_DIR`
//! then `writ bench OUT_DIR --requests OUT_DIR/requests.jsonl`.

use std::fmt::Write as _;

const PRELUDE: &str = r#"
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: full_style_workload OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let w = writ_workload::Workload::generate(11, 1000, 2000);
    // Every tenth permit asks for an approval instead of allowing.
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
    std::fs::write(out.join("policy.writ"), policy)?;
    let methods = ["webauthn", "password", "otp", "mtls"];
    let mut lines = String::new();
    for (i, r) in w.requests.iter().enumerate() {
        let mut j = r.writ_json();
        j["device"]["disk_encrypted"] = serde_json::json!(i % 9 != 0);
        j["device"]["patch_age"] = serde_json::json!(format!("{}d", i % 45));
        j["session"] = serde_json::json!({"id": format!("s-{i}"), "auth_method": methods[i % 4]});
        lines.push_str(&serde_json::to_string(&j)?);
        lines.push('\n');
    }
    std::fs::write(out.join("requests.jsonl"), lines)?;
    Ok(())
}
