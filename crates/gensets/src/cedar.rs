//! The workload as Cedar policy text (whole, and pre-sliced by action) and Cedar request
//! pieces.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::model::{ip_text, Cond, Effect, Request, Rule, Workload};

impl Workload {
    /// The whole policy set as Cedar text.
    pub fn cedar_policy(&self) -> String {
        let mut out = String::with_capacity(self.rules.len() * 480);
        for r in &self.rules {
            out.push_str(&cedar_rule(r));
        }
        out
    }

    /// The global forbids alone, as Cedar text (the slice for an action no rule names).
    pub fn cedar_globals(&self) -> String {
        self.forbids()
            .filter(|r| r.action.is_none())
            .map(cedar_rule)
            .collect()
    }

    /// The Cedar policies pre-sliced by action: for every action some rule names, the
    /// rules about it plus the global forbids. An action not in the map gets
    /// [`Workload::cedar_globals`].
    pub fn cedar_sliced(&self) -> HashMap<String, String> {
        let globals = self.cedar_globals();
        let mut map: HashMap<String, String> = HashMap::new();
        for r in &self.rules {
            if let Some(a) = &r.action {
                map.entry(a.clone())
                    .or_insert_with(|| globals.clone())
                    .push_str(&cedar_rule(r));
            }
        }
        map
    }
}

fn cedar_cond(c: &Cond) -> String {
    match c {
        Cond::RoleEq(_) | Cond::RoleNe(_) | Cond::EnvEq(_) | Cond::SensLe(_) | Cond::SensGe(_) => {
            c.comparison().unwrap_or_default()
        }
        Cond::Managed(true) => "context.device_managed".to_string(),
        Cond::Managed(false) => "!context.device_managed".to_string(),
        Cond::IpIn(nets) => {
            let list: Vec<String> = nets
                .iter()
                .map(|n| format!("context.ip.isInRange(ip(\"{n}\"))"))
                .collect();
            format!("({})", list.join(" || "))
        }
        Cond::Hours {
            weekdays_only,
            from,
            to,
        } => {
            let mut s = format!("context.hour >= {from} && context.hour < {to}");
            if *weekdays_only {
                s.push_str(" && context.weekday <= 5");
            }
            s
        }
        Cond::Group(g) => format!("principal.groups.contains(\"g{g}\")"),
        Cond::NotGroup(g) => format!("!principal.groups.contains(\"g{g}\")"),
        Cond::Scope(s) => format!("context.scopes.contains(\"{s}\")"),
    }
}

fn cedar_rule(r: &Rule) -> String {
    let effect = match r.effect {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
    };
    let action = match &r.action {
        Some(a) => format!("action == Action::\"{a}\""),
        None => "action".to_string(),
    };
    let conds: Vec<String> = r.conds.iter().map(cedar_cond).collect();
    format!(
        "@id(\"{}\")\n{effect}(principal, {action}, resource)\nwhen {{\n  {}\n}};\n\n",
        r.name,
        conds.join(" &&\n  ")
    )
}

/// The pieces of a Cedar request.
#[derive(Clone, Debug)]
pub struct CedarRequest {
    /// The principal uid, e.g. `User::"u17"`.
    pub principal: String,
    /// The action uid, e.g. `Action::"svc1:read"`.
    pub action: String,
    /// The resource uid, e.g. `Resource::"r17"`.
    pub resource: String,
    /// The entities (principal with `role` and `groups`, resource with `env` and
    /// `sensitivity`), Cedar entities JSON.
    pub entities: Value,
    /// The context: `device_managed`, `ip` (an `ip` extension value), `hour`,
    /// `weekday` (1 = Monday .. 7 = Sunday), `scopes`.
    pub context: Value,
}

impl Request {
    /// The Cedar request pieces.
    pub fn cedar(&self) -> CedarRequest {
        CedarRequest {
            principal: format!("User::\"{}\"", self.principal_id),
            action: format!("Action::\"{}\"", self.action),
            resource: format!("Resource::\"{}\"", self.resource_id),
            entities: json!([
                {
                    "uid": { "type": "User", "id": self.principal_id },
                    "attrs": { "role": self.role, "groups": self.group_names() },
                    "parents": [],
                },
                {
                    "uid": { "type": "Resource", "id": self.resource_id },
                    "attrs": { "env": self.env, "sensitivity": self.sensitivity },
                    "parents": [],
                },
            ]),
            context: json!({
                "device_managed": self.managed,
                "ip": { "__extn": { "fn": "ip", "arg": ip_text(self.ip) } },
                "hour": self.hour,
                "weekday": u32::from(self.weekday) + 1,
                "scopes": self.scopes,
            }),
        }
    }
}
