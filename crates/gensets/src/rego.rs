//! The workload as Rego (package `writ`, rego.v1) and its input documents.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::model::{Cond, Effect, Request, Rule, Workload};

impl Workload {
    /// The policy set as Rego (package `writ`, rego.v1), one module: `data.writ.allow`.
    pub fn rego_policy(&self) -> String {
        let mut out = String::with_capacity(self.rules.len() * 420 + 256);
        out.push_str(REGO_HEAD);
        for r in &self.rules {
            rego_rule(&mut out, r);
        }
        out
    }

    /// The same policy as several modules of package `writ` with at most
    /// `rules_per_module` rules each (policy engines limit the size of one file): the
    /// first holds `allow`, the others the `permit` and `forbid` definitions.
    pub fn rego_modules(&self, rules_per_module: usize) -> Vec<String> {
        let mut modules = vec![REGO_HEAD.to_string()];
        for chunk in self.rules.chunks(rules_per_module.max(1)) {
            let mut out = String::with_capacity(chunk.len() * 420 + 64);
            out.push_str("package writ\n\nimport rego.v1\n");
            for r in chunk {
                rego_rule(&mut out, r);
            }
            modules.push(out);
        }
        modules
    }
}

const REGO_HEAD: &str =
    "package writ\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n\tpermit\n\tnot forbid\n}\n";

fn rego_rule(out: &mut String, r: &Rule) {
    let head = match r.effect {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
    };
    let _ = write!(out, "\n# {}\n{head} if {{\n", r.name);
    if let Some(a) = &r.action {
        let _ = writeln!(out, "\tinput.action == \"{a}\"");
    }
    for c in &r.conds {
        for line in rego_cond(c) {
            let _ = writeln!(out, "\t{line}");
        }
    }
    out.push_str("}\n");
}

fn rego_cond(c: &Cond) -> Vec<String> {
    match c {
        Cond::RoleEq(r) => vec![format!("input.principal.role == \"{r}\"")],
        Cond::RoleNe(r) => vec![format!("input.principal.role != \"{r}\"")],
        Cond::EnvEq(e) => vec![format!("input.resource.env == \"{e}\"")],
        Cond::SensLe(s) => vec![format!("input.resource.sensitivity <= {s}")],
        Cond::SensGe(s) => vec![format!("input.resource.sensitivity >= {s}")],
        Cond::Managed(true) => vec!["input.device.managed == true".to_string()],
        Cond::Managed(false) => vec!["input.device.managed == false".to_string()],
        Cond::IpIn(nets) => {
            let list: Vec<String> = nets.iter().map(|n| format!("\"{n}\"")).collect();
            vec![
                format!("some cidr in [{}]", list.join(", ")),
                "net.cidr_contains(cidr, input.network.ip)".to_string(),
            ]
        }
        Cond::Hours {
            weekdays_only,
            from,
            to,
        } => {
            let mut v = vec![
                format!("input.clock.hour >= {from}"),
                format!("input.clock.hour < {to}"),
            ];
            if *weekdays_only {
                v.push("input.clock.weekday <= 5".to_string());
            }
            v
        }
        Cond::Group(g) => vec![format!("\"g{g}\" in input.principal.groups")],
        Cond::NotGroup(g) => vec![format!("not \"g{g}\" in input.principal.groups")],
        Cond::Scope(s) => vec![format!("\"{s}\" in input.scope.requested")],
    }
}

impl Request {
    /// The Rego input: the writ request plus `clock.hour` (UTC) and `clock.weekday`
    /// (1 = Monday .. 7 = Sunday).
    pub fn rego_input(&self) -> Value {
        let mut v = self.writ_json();
        if let Value::Object(m) = &mut v {
            m.insert(
                "clock".to_string(),
                json!({ "hour": self.hour, "weekday": u32::from(self.weekday) + 1 }),
            );
        }
        v
    }
}
