//! The many-rules-per-action workload: a policy set that grows the way a security team's
//! does, by adding rules under the same actions (one per resource kind, environment, role,
//! team) rather than new actions, so that most rules filed under an action cannot fire for
//! a given request.
//!
//! 16 domains × 14 verbs = 224 exact actions. Of `n` rules, about 90% name one exact action
//! (`action == "db:read"`), 8% a whole domain (`action matches "db:*"`) and 2% one verb in
//! every domain (`action matches "*:read"`); at 10,000 rules about 40 exact rules share
//! each action and a request is reached by about 100 in all. Every rule tests the resource
//! kind (one of 24); most also test the environment, the role (one, or one of two), a group,
//! the sensitivity. About 7% deny. A request is allowed when an allow rule matches and no
//! deny rule does.
//!
//! Rendered as writ ([`ManyRules::writ_policy`], [`ManyRequest::writ_json`]) and as a
//! hand-written Rust function ([`ManyRules::rust_policy`]) of the kind a developer would
//! write: rules listed per exact action, per domain and per verb, each list scanned.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::Rng;

/// The domains (the part of an action before `:`).
pub const DOMAINS: [&str; 16] = [
    "billing", "crm", "db", "deploy", "hr", "iam", "infra", "kms", "logs", "ml", "net", "payments",
    "search", "storage", "support", "vault",
];
/// The verbs (the part after `:`).
pub const VERBS: [&str; 14] = [
    "read", "write", "list", "delete", "create", "update", "export", "import", "approve", "rotate",
    "restore", "scale", "grant", "revoke",
];
/// The resource kinds.
pub const KINDS: [&str; 24] = [
    "table",
    "bucket",
    "queue",
    "topic",
    "secret",
    "key",
    "cluster",
    "node",
    "service",
    "job",
    "model",
    "dataset",
    "invoice",
    "payout",
    "ledger",
    "ticket",
    "user",
    "role",
    "policy",
    "repo",
    "pipeline",
    "dashboard",
    "index",
    "volume",
];
/// The environments.
pub const ENVS: [&str; 3] = ["prod", "staging", "dev"];
/// The roles.
pub const ROLES: [&str; 6] = ["dev", "ops", "admin", "analyst", "support", "finance"];
/// The number of groups (`g0` .. `g11`).
pub const GROUPS: u8 = 12;

/// Which actions a rule names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actions {
    /// One exact action: domain and verb indices.
    Exact(u8, u8),
    /// `DOMAIN:*`.
    Domain(u8),
    /// `*:VERB`.
    Verb(u8),
}

/// One generated rule.
#[derive(Clone, Debug)]
pub struct ManyRule {
    /// The rule's name.
    pub name: String,
    /// The actions it names.
    pub actions: Actions,
    /// `resource.kind ==` this kind.
    pub kind: u8,
    /// `resource.env ==` this environment, when set.
    pub env: Option<u8>,
    /// `principal.role` among these roles (a bitmask; 0: any role).
    pub roles: u8,
    /// `principal.groups has` this group, when set.
    pub group: Option<u8>,
    /// `resource.sensitivity <=` this, when set.
    pub sens_le: Option<u8>,
    /// A deny rule (otherwise allow).
    pub deny: bool,
}

/// One generated request.
#[derive(Clone, Debug)]
pub struct ManyRequest {
    /// Domain index.
    pub domain: u8,
    /// Verb index.
    pub verb: u8,
    /// Resource kind index.
    pub kind: u8,
    /// Environment index.
    pub env: u8,
    /// Role index.
    pub role: u8,
    /// Groups, a bitmask.
    pub groups: u16,
    /// Sensitivity, 0..=5.
    pub sensitivity: u8,
    /// A number that makes principal and resource ids vary.
    pub id: usize,
}

/// A generated many-rules-per-action set and requests against it.
#[derive(Clone, Debug)]
pub struct ManyRules {
    /// The rules, in set order.
    pub rules: Vec<ManyRule>,
    /// The requests.
    pub requests: Vec<ManyRequest>,
}

fn exact_actions() -> usize {
    DOMAINS.len() * VERBS.len()
}

fn rule(rng: &mut Rng, i: usize) -> ManyRule {
    let draw = rng.below(100);
    let actions = if draw < 90 {
        let a = rng.index(exact_actions());
        Actions::Exact((a / VERBS.len()) as u8, (a % VERBS.len()) as u8)
    } else if draw < 98 {
        Actions::Domain(rng.index(DOMAINS.len()) as u8)
    } else {
        Actions::Verb(rng.index(VERBS.len()) as u8)
    };
    let roles = match rng.below(10) {
        0..=5 => 1u8 << rng.index(ROLES.len()),
        6 | 7 => (1u8 << rng.index(ROLES.len())) | (1u8 << rng.index(ROLES.len())),
        _ => 0,
    };
    ManyRule {
        name: format!("rule {i}"),
        actions,
        kind: rng.index(KINDS.len()) as u8,
        env: rng.chance(0.7).then(|| rng.index(ENVS.len()) as u8),
        roles,
        group: rng.chance(0.3).then(|| rng.below(u64::from(GROUPS)) as u8),
        sens_le: rng.chance(0.4).then(|| rng.range(1, 5) as u8),
        deny: rng.chance(0.07),
    }
}

impl ManyRules {
    /// `rules` rules and `requests` requests from `seed`, deterministically. Requests are
    /// drawn towards the rules of their action (kind and environment of one of them, most
    /// of the time) so that a useful share is allowed.
    pub fn generate(seed: u64, rules: usize, requests: usize) -> ManyRules {
        let mut rng = Rng::new(seed);
        let rules: Vec<ManyRule> = (0..rules).map(|i| rule(&mut rng, i)).collect();
        let mut by_action: Vec<Vec<usize>> = vec![Vec::new(); exact_actions()];
        for (i, r) in rules.iter().enumerate() {
            if let Actions::Exact(d, v) = r.actions {
                by_action[usize::from(d) * VERBS.len() + usize::from(v)].push(i);
            }
        }
        let requests = (0..requests)
            .map(|id| {
                let a = rng.index(exact_actions());
                let (domain, verb) = ((a / VERBS.len()) as u8, (a % VERBS.len()) as u8);
                let mut req = ManyRequest {
                    domain,
                    verb,
                    kind: rng.index(KINDS.len()) as u8,
                    env: rng.index(ENVS.len()) as u8,
                    role: rng.index(ROLES.len()) as u8,
                    groups: (rng.next_u64() & ((1 << GROUPS) - 1) & rng.next_u64()) as u16,
                    sensitivity: rng.range(0, 5) as u8,
                    id,
                };
                if !by_action[a].is_empty() && rng.chance(0.7) {
                    let r = &rules[*rng.pick(&by_action[a])];
                    req.kind = r.kind;
                    if let Some(e) = r.env {
                        req.env = e;
                    }
                    if r.roles != 0 && rng.chance(0.8) {
                        req.role = r.roles.trailing_zeros() as u8;
                    }
                    if let Some(g) = r.group {
                        req.groups |= 1 << g;
                    }
                }
                req
            })
            .collect();
        ManyRules { rules, requests }
    }

    /// The whole set as one writ file.
    pub fn writ_policy(&self) -> String {
        let mut out = String::with_capacity(self.rules.len() * 200 + 256);
        out.push_str("# Generated many-rules-per-action workload.\n\nschema {\n  principal.role: string\n  resource.env: \"prod\" | \"staging\" | \"dev\"\n  resource.sensitivity: int\n}\n");
        for r in &self.rules {
            let mut parts = vec![match r.actions {
                Actions::Exact(d, v) => {
                    format!(
                        "action == \"{}:{}\"",
                        DOMAINS[usize::from(d)],
                        VERBS[usize::from(v)]
                    )
                }
                Actions::Domain(d) => format!("action matches \"{}:*\"", DOMAINS[usize::from(d)]),
                Actions::Verb(v) => format!("action matches \"*:{}\"", VERBS[usize::from(v)]),
            }];
            parts.push(format!(
                "resource.kind == \"{}\"",
                KINDS[usize::from(r.kind)]
            ));
            if let Some(e) = r.env {
                parts.push(format!("resource.env == \"{}\"", ENVS[usize::from(e)]));
            }
            let roles: Vec<String> = (0..ROLES.len())
                .filter(|k| r.roles & (1 << k) != 0)
                .map(|k| format!("\"{}\"", ROLES[k]))
                .collect();
            match roles.len() {
                0 => {}
                1 => parts.push(format!("principal.role == {}", roles[0])),
                _ => parts.push(format!("principal.role in [{}]", roles.join(", "))),
            }
            if let Some(g) = r.group {
                parts.push(format!("principal.groups has \"g{g}\""));
            }
            if let Some(s) = r.sens_le {
                parts.push(format!("resource.sensitivity <= {s}"));
            }
            let _ = write!(
                out,
                "\nrule \"{}\" {{\n  when {}\n  {}\n}}\n",
                r.name,
                parts.join("\n    and "),
                if r.deny { "deny" } else { "allow" }
            );
        }
        out
    }

    /// The hand-written evaluator of this set.
    pub fn rust_policy(&self) -> ManyPolicy {
        let mut p = ManyPolicy {
            exact: vec![Vec::new(); exact_actions()],
            domain: vec![Vec::new(); DOMAINS.len()],
            verb: vec![Vec::new(); VERBS.len()],
        };
        for r in &self.rules {
            let compact = CompactRule {
                kind: r.kind,
                env: r.env.unwrap_or(u8::MAX),
                roles: r.roles,
                group: r.group.map_or(0, |g| 1 << g),
                sens_le: r.sens_le.unwrap_or(u8::MAX),
                deny: r.deny,
            };
            match r.actions {
                Actions::Exact(d, v) => {
                    p.exact[usize::from(d) * VERBS.len() + usize::from(v)].push(compact)
                }
                Actions::Domain(d) => p.domain[usize::from(d)].push(compact),
                Actions::Verb(v) => p.verb[usize::from(v)].push(compact),
            }
        }
        p
    }
}

impl ManyRequest {
    /// The writ request JSON.
    pub fn writ_json(&self) -> Value {
        let groups: Vec<String> = (0..GROUPS)
            .filter(|g| self.groups & (1 << g) != 0)
            .map(|g| format!("g{g}"))
            .collect();
        json!({
            "action": format!("{}:{}", DOMAINS[usize::from(self.domain)], VERBS[usize::from(self.verb)]),
            "principal": {
                "id": format!("u{}", self.id % 997),
                "kind": "human",
                "role": ROLES[usize::from(self.role)],
                "groups": groups,
            },
            "resource": {
                "id": format!("r{}", self.id % 1009),
                "kind": KINDS[usize::from(self.kind)],
                "env": ENVS[usize::from(self.env)],
                "sensitivity": self.sensitivity,
            },
        })
    }
}

/// One rule as the hand-written function holds it (`u8::MAX`: not tested).
#[derive(Clone, Copy, Debug)]
pub struct CompactRule {
    kind: u8,
    env: u8,
    roles: u8,
    group: u16,
    sens_le: u8,
    deny: bool,
}

impl CompactRule {
    #[inline]
    fn holds(&self, r: &ManyRequest) -> bool {
        self.kind == r.kind
            && (self.env == u8::MAX || self.env == r.env)
            && (self.roles == 0 || self.roles & (1 << r.role) != 0)
            && self.group & r.groups == self.group
            && (self.sens_le == u8::MAX || r.sensitivity <= self.sens_le)
    }
}

/// The hand-written evaluator: rules per exact action, per domain and per verb.
#[derive(Clone, Debug)]
pub struct ManyPolicy {
    exact: Vec<Vec<CompactRule>>,
    domain: Vec<Vec<CompactRule>>,
    verb: Vec<Vec<CompactRule>>,
}

impl ManyPolicy {
    /// Allowed: some allow rule holds and no deny rule does.
    pub fn decide(&self, r: &ManyRequest) -> bool {
        let lists = [
            &self.exact[usize::from(r.domain) * VERBS.len() + usize::from(r.verb)],
            &self.domain[usize::from(r.domain)],
            &self.verb[usize::from(r.verb)],
        ];
        let mut allowed = false;
        for list in lists {
            for rule in list.iter() {
                if rule.holds(r) {
                    if rule.deny {
                        return false;
                    }
                    allowed = true;
                }
            }
        }
        allowed
    }

    /// How many rules the function looks at for `r` (every rule filed under its action).
    pub fn candidates(&self, r: &ManyRequest) -> usize {
        self.exact[usize::from(r.domain) * VERBS.len() + usize::from(r.verb)].len()
            + self.domain[usize::from(r.domain)].len()
            + self.verb[usize::from(r.verb)].len()
    }
}
