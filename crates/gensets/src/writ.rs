//! The workload as writ policy text, writ request JSON, and the typed builder calls an
//! embedding service would make instead of JSON.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::model::{ip_text, Cond, Effect, Request, Workload};

impl Workload {
    /// The whole policy set as one writ file.
    pub fn writ_policy(&self) -> String {
        let mut out = String::with_capacity(self.rules.len() * 420 + 256);
        let _ = writeln!(
            out,
            "# Generated workload: seed {}, {} permits, {} forbids.\n",
            self.seed,
            self.permits,
            self.rules.len() - self.permits
        );
        out.push_str(
            "schema {\n  principal.role: string\n  resource.env: \"prod\" | \"staging\" | \"dev\"\n  resource.sensitivity: int\n}\n",
        );
        for r in &self.rules {
            let mut parts = Vec::with_capacity(r.conds.len() + 1);
            if let Some(a) = &r.action {
                parts.push(format!("action == \"{a}\""));
            }
            parts.extend(r.conds.iter().map(writ_cond));
            let effect = match r.effect {
                Effect::Permit => "allow",
                Effect::Forbid => "deny",
            };
            let _ = write!(
                out,
                "\nrule \"{}\" {{\n  when {}\n  {effect}\n}}\n",
                r.name,
                parts.join("\n    and ")
            );
        }
        out
    }
}

fn writ_cond(c: &Cond) -> String {
    match c {
        Cond::RoleEq(_) | Cond::RoleNe(_) | Cond::EnvEq(_) | Cond::SensLe(_) | Cond::SensGe(_) => {
            c.comparison().unwrap_or_default()
        }
        Cond::Managed(true) => "device.managed".to_string(),
        Cond::Managed(false) => "not device.managed".to_string(),
        Cond::IpIn(nets) => {
            let list: Vec<String> = nets.iter().map(|n| format!("\"{n}\"")).collect();
            format!("network.ip in cidr [{}]", list.join(", "))
        }
        Cond::Hours {
            weekdays_only,
            from,
            to,
        } => format!(
            "time in hours \"{} {from:02}:00-{to:02}:00\" in \"UTC\"",
            if *weekdays_only { "Mon-Fri" } else { "Mon-Sun" }
        ),
        Cond::Group(g) => format!("principal.groups has \"g{g}\""),
        Cond::NotGroup(g) => format!("not principal.groups has \"g{g}\""),
        Cond::Scope(s) => format!("scope.requested has \"{s}\""),
    }
}

impl Request {
    /// The writ request JSON.
    pub fn writ_json(&self) -> Value {
        json!({
            "principal": {
                "id": self.principal_id,
                "kind": "human",
                "role": self.role,
                "groups": self.group_names(),
            },
            "resource": {
                "id": self.resource_id,
                "env": self.env,
                "sensitivity": self.sensitivity,
            },
            "device": { "managed": self.managed },
            "network": { "ip": ip_text(self.ip) },
            "time": self.time_text(),
            "scope": { "requested": self.scopes },
            "action": self.action,
        })
    }
}

impl Request {
    /// The request through the engine's typed builder (no JSON): what
    /// [`Request::writ_json`] says, value by value.
    pub fn writ_builder<'e>(
        &self,
        engine: &'e writ_engine::Engine,
    ) -> writ_engine::RequestBuilder<'e> {
        let groups: Vec<String> = self.groups.iter().map(|g| format!("g{g}")).collect();
        engine
            .request()
            .str("principal.id", &self.principal_id)
            .str("principal.kind", "human")
            .str("principal.role", self.role)
            .strs("principal.groups", &groups)
            .str("resource.id", &self.resource_id)
            .str("resource.env", self.env)
            .int("resource.sensitivity", self.sensitivity)
            .bool("device.managed", self.managed)
            .str("network.ip", &crate::model::ip_text(self.ip))
            .str("time", &self.time_text())
            .strs("scope.requested", &self.scopes)
            .str("action", &self.action)
    }
}
