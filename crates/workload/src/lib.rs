//! Generated policy workloads for benchmarks and differential tests.
//!
//! [`Workload::generate`] builds, from a seed, one logical policy set and a list of
//! requests against it, deterministically (a self-contained splitmix64 generator, no
//! external randomness). The same workload is rendered four ways:
//!
//! - writ policy text ([`Workload::writ_policy`]) and request JSON ([`Request::writ_json`]);
//! - Cedar policy text ([`Workload::cedar_policy`]), the same pre-sliced by action
//!   ([`Workload::cedar_sliced`]), and the request pieces ([`Request::cedar`]);
//! - Rego, package `writ`, rego.v1 syntax ([`Workload::rego_policy`]), and its input
//!   ([`Request::rego_input`]);
//! - a hand-written Rust evaluator ([`Workload::rust_policy`], [`RustPolicy::decide`]) over
//!   a plain struct ([`Request::rust`]).
//!
//! Shape of the policy set: `n` permit rules, permit `k` granting the single action
//! `svc{k/4}:{verb}` (verbs `read`, `write`, `list`, `delete`) under a role, an environment,
//! a sensitivity bound, (mostly) a managed device, a source address in 1–3 IPv4 CIDRs, a UTC
//! hour window (weekdays only for `prod`), sometimes a group, and the action among the
//! requested scopes; and about 5% forbid rules, three global and the rest tied to one
//! action. The decision everywhere is: allowed when some permit matches and no forbid does.
//!
//! Every request carries every field, so no engine ever sees a missing attribute; the
//! draws are biased towards the permit of the requested action so that roughly a third of
//! the requests are allowed.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

pub mod full_style;
pub mod many;

/// The roles permits may require.
pub const ROLES: [&str; 4] = ["dev", "ops", "admin", "analyst"];
/// The role no permit grants (and a global forbid names).
pub const CONTRACTOR: &str = "contractor";
/// The environments.
pub const ENVS: [&str; 3] = ["prod", "staging", "dev"];
/// The verbs of the generated actions.
pub const VERBS: [&str; 4] = ["read", "write", "list", "delete"];
/// The number of groups (`g0` .. `g9`).
pub const GROUPS: u8 = 10;
/// Weekday names, Monday first.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// The network the global "blocked network" forbid names: 10.66.0.0/16.
pub const BLOCKED: Cidr = Cidr {
    addr: (10 << 24) | (66 << 16),
    len: 16,
};

/// A small, seeded pseudo-random generator (splitmix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..n` (`0` when `n` is `0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for workload generation.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform index in `0..n`.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A uniform value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) < p * (1u64 << 53) as f64
    }

    /// A uniformly chosen element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
}

/// An IPv4 network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// The network address (host bits zero).
    pub addr: u32,
    /// The prefix length, 0..=32.
    pub len: u8,
}

impl Cidr {
    /// The netmask.
    pub fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.len.min(32)))
        }
    }

    /// Whether the network contains an address.
    pub fn contains(self, ip: u32) -> bool {
        ip & self.mask() == self.addr & self.mask()
    }

    /// A random address inside the network.
    fn sample(self, rng: &mut Rng) -> u32 {
        let host = rng.next_u64() as u32 & !self.mask();
        (self.addr & self.mask()) | host
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", ip_text(self.addr), self.len)
    }
}

/// Dotted-quad text of an IPv4 address.
pub fn ip_text(ip: u32) -> String {
    let [a, b, c, d] = ip.to_be_bytes();
    format!("{a}.{b}.{c}.{d}")
}

/// Whether a rule permits or forbids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Grants the action when the conditions hold (writ `allow`, Cedar `permit`).
    Permit,
    /// Refuses when the conditions hold, whatever permits say (writ `deny`, Cedar `forbid`).
    Forbid,
}

/// One condition of a rule; a rule's conditions are a conjunction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `principal.role == ROLE`.
    RoleEq(&'static str),
    /// `principal.role != ROLE`.
    RoleNe(&'static str),
    /// `resource.env == ENV`.
    EnvEq(&'static str),
    /// `resource.sensitivity <= N`.
    SensLe(i64),
    /// `resource.sensitivity >= N`.
    SensGe(i64),
    /// `device.managed` (true) or `not device.managed` (false).
    Managed(bool),
    /// The source address is in one of the networks.
    IpIn(Vec<Cidr>),
    /// The UTC hour is in `from..to`, and with `weekdays_only` the day is Monday–Friday.
    Hours {
        /// Monday to Friday only.
        weekdays_only: bool,
        /// First hour (inclusive), 0..=23.
        from: u8,
        /// End hour (exclusive), 1..=24.
        to: u8,
    },
    /// The principal is in group `g{N}`.
    Group(u8),
    /// The principal is not in group `g{N}`.
    NotGroup(u8),
    /// The requested scopes contain the string.
    Scope(String),
}

/// One rule of the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// A unique name (writ rule name, Cedar `@id`).
    pub name: String,
    /// Permit or forbid.
    pub effect: Effect,
    /// The one action the rule is about; `None` for a global rule.
    pub action: Option<String>,
    /// The conditions besides the action (all must hold).
    pub conds: Vec<Cond>,
}

/// One request, every field present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `principal.id`.
    pub principal_id: String,
    /// `principal.role`.
    pub role: &'static str,
    /// `principal.groups`, as group numbers (`g{N}`), sorted.
    pub groups: Vec<u8>,
    /// `resource.id`.
    pub resource_id: String,
    /// `resource.env`.
    pub env: &'static str,
    /// `resource.sensitivity`, 0..=5.
    pub sensitivity: i64,
    /// `device.managed`.
    pub managed: bool,
    /// `network.ip`, IPv4.
    pub ip: u32,
    /// Day of the week, 0 = Monday .. 6 = Sunday (of the week of Monday 2026-11-23).
    pub weekday: u8,
    /// UTC hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// `scope.requested`.
    pub scopes: Vec<String>,
    /// `action`.
    pub action: String,
}

/// A generated workload: the rules and the requests.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The seed it was generated from.
    pub seed: u64,
    /// The number of permit rules.
    pub permits: usize,
    /// Every rule: the permits first (permit `k` at index `k`), then the forbids.
    pub rules: Vec<Rule>,
    /// The requests.
    pub requests: Vec<Request>,
}

/// The action permit `k` grants.
pub fn action_of(k: usize) -> String {
    format!("svc{}:{}", k / 4, VERBS[k % 4])
}

fn random_cidr(rng: &mut Rng) -> Cidr {
    match rng.below(10) {
        // 10.a.0.0/16
        0..=3 => Cidr {
            addr: (10 << 24) | ((rng.below(24) as u32) << 16),
            len: 16,
        },
        // 10.a.b.0/20
        4..=6 => Cidr {
            addr: (10 << 24) | ((rng.below(24) as u32) << 16) | ((rng.below(16) as u32 * 16) << 8),
            len: 20,
        },
        // 192.168.x.0/24
        _ => Cidr {
            addr: (192 << 24) | (168 << 16) | ((rng.below(16) as u32) << 8),
            len: 24,
        },
    }
}

fn random_ip(rng: &mut Rng) -> u32 {
    match rng.below(20) {
        0..=9 => (10 << 24) | ((rng.below(24) as u32) << 16) | (rng.next_u64() as u32 & 0xffff),
        10..=11 => BLOCKED.sample(rng),
        _ => (192 << 24) | (168 << 16) | ((rng.below(16) as u32) << 8) | (rng.below(256) as u32),
    }
}

fn permit(rng: &mut Rng, k: usize) -> Rule {
    let action = action_of(k);
    let env = *rng.pick(&ENVS);
    let mut conds = vec![
        Cond::RoleEq(ROLES[rng.index(ROLES.len())]),
        Cond::EnvEq(env),
        Cond::SensLe(rng.range(0, 5) as i64),
    ];
    if rng.chance(0.7) {
        conds.push(Cond::Managed(true));
    }
    let nets = rng.range(1, 3) as usize;
    conds.push(Cond::IpIn((0..nets).map(|_| random_cidr(rng)).collect()));
    conds.push(Cond::Hours {
        weekdays_only: env == "prod",
        from: rng.range(0, 10) as u8,
        to: rng.range(14, 24) as u8,
    });
    if rng.chance(0.3) {
        conds.push(Cond::Group(rng.below(u64::from(GROUPS)) as u8));
    }
    conds.push(Cond::Scope(action.clone()));
    Rule {
        name: format!("permit {k}"),
        effect: Effect::Permit,
        action: Some(action),
        conds,
    }
}

fn global_forbids() -> Vec<Rule> {
    let rule = |i: usize, conds: Vec<Cond>| Rule {
        name: format!("forbid global {i}"),
        effect: Effect::Forbid,
        action: None,
        conds,
    };
    vec![
        rule(0, vec![Cond::RoleEq(CONTRACTOR), Cond::EnvEq("prod")]),
        rule(1, vec![Cond::Managed(false), Cond::SensGe(4)]),
        rule(2, vec![Cond::IpIn(vec![BLOCKED])]),
    ]
}

fn action_forbid(rng: &mut Rng, i: usize, permits: usize) -> Rule {
    let (action, conds) = match rng.below(3) {
        // No delete of the most sensitive resources except by an admin.
        0 => {
            let deletes = permits.div_ceil(4).max(1);
            let k = (rng.index(deletes) * 4 + 3).min(permits.saturating_sub(1));
            (action_of(k), vec![Cond::SensGe(5), Cond::RoleNe("admin")])
        }
        // No unmanaged devices on prod for this action.
        1 => (
            action_of(rng.index(permits)),
            vec![Cond::EnvEq("prod"), Cond::Managed(false)],
        ),
        // Sensitive resources need a group for this action.
        _ => (
            action_of(rng.index(permits)),
            vec![
                Cond::SensGe(3),
                Cond::NotGroup(rng.below(u64::from(GROUPS)) as u8),
            ],
        ),
    };
    Rule {
        name: format!("forbid {i}"),
        effect: Effect::Forbid,
        action: Some(action),
        conds,
    }
}

/// How likely a targeted request satisfies each condition of its permit.
const P_FIELD: f64 = 0.8;
/// How likely a request (naming a known action) names one an action-tied forbid is about.
const P_FORBID_TARGET: f64 = 0.25;
/// How likely a request names an action some permit grants.
const P_KNOWN_ACTION: f64 = 0.95;

fn request(
    rng: &mut Rng,
    i: usize,
    rules: &[Rule],
    permits: usize,
    forbid_targets: &[usize],
) -> Request {
    let target = if permits > 0 && rng.chance(P_KNOWN_ACTION) {
        if !forbid_targets.is_empty() && rng.chance(P_FORBID_TARGET) {
            rules.get(*rng.pick(forbid_targets))
        } else {
            rules.get(rng.index(permits))
        }
    } else {
        None
    };
    let action = match target {
        Some(r) => r.action.clone().unwrap_or_default(),
        None => match rng.below(3) {
            0 => "billing:export".to_string(),
            _ => format!(
                "svc{}:{}",
                permits / 4 + 1 + rng.index(50),
                rng.pick(&VERBS)
            ),
        },
    };
    let conds: &[Cond] = target.map_or(&[], |r| r.conds.as_slice());
    let find = |f: &dyn Fn(&Cond) -> bool| conds.iter().find(|c| f(c));
    let mut aim = || rng.chance(P_FIELD);
    let aims: [bool; 8] = std::array::from_fn(|_| aim());

    let role = match find(&|c| matches!(c, Cond::RoleEq(_))) {
        Some(Cond::RoleEq(r)) if aims[0] => *r,
        _ => {
            let all = [ROLES[0], ROLES[1], ROLES[2], ROLES[3], CONTRACTOR];
            *rng.pick(&all)
        }
    };
    let env = match find(&|c| matches!(c, Cond::EnvEq(_))) {
        Some(Cond::EnvEq(e)) if aims[1] => *e,
        _ => *rng.pick(&ENVS),
    };
    let sensitivity = match find(&|c| matches!(c, Cond::SensLe(_))) {
        Some(Cond::SensLe(s)) if aims[2] => rng.range(0, *s as u64) as i64,
        _ => rng.range(0, 5) as i64,
    };
    let managed = match find(&|c| matches!(c, Cond::Managed(true))) {
        Some(_) if aims[3] => true,
        _ => rng.chance(0.7),
    };
    let ip = match find(&|c| matches!(c, Cond::IpIn(_))) {
        Some(Cond::IpIn(nets)) if aims[4] && !nets.is_empty() => rng.pick(nets).sample(rng),
        _ => random_ip(rng),
    };
    let (weekday, hour) = match find(&|c| matches!(c, Cond::Hours { .. })) {
        Some(Cond::Hours {
            weekdays_only,
            from,
            to,
        }) if aims[5] => {
            let days = if *weekdays_only { 5 } else { 7 };
            (
                rng.below(days) as u8,
                rng.range(u64::from(*from), u64::from(*to) - 1) as u8,
            )
        }
        _ => (rng.below(7) as u8, rng.below(24) as u8),
    };
    let minute = rng.below(60) as u8;
    let mut groups: Vec<u8> = (0..GROUPS).filter(|_| rng.chance(0.2)).collect();
    if let Some(Cond::Group(g)) = find(&|c| matches!(c, Cond::Group(_))) {
        if aims[6] && !groups.contains(g) {
            groups.push(*g);
            groups.sort_unstable();
        }
    }
    let mut scopes: Vec<String> = (0..rng.below(3))
        .map(|_| action_of(rng.index(permits.max(1))))
        .collect();
    if aims[7] || rng.chance(0.3) {
        scopes.push(action.clone());
    }
    scopes.sort();
    scopes.dedup();
    Request {
        principal_id: format!("u{i}"),
        role,
        groups,
        resource_id: format!("r{i}"),
        env,
        sensitivity,
        managed,
        ip,
        weekday,
        hour,
        minute,
        scopes,
        action,
    }
}

impl Workload {
    /// Generates `permits` permit rules, about 5% forbids (at least the three global ones
    /// and one tied to an action) and `requests` requests, from `seed`.
    pub fn generate(seed: u64, permits: usize, requests: usize) -> Workload {
        let mut rng = Rng::new(seed);
        let mut rules: Vec<Rule> = (0..permits).map(|k| permit(&mut rng, k)).collect();
        rules.extend(global_forbids());
        if permits > 0 {
            let extra = (permits / 20).saturating_sub(3).max(1);
            for i in 0..extra {
                let f = action_forbid(&mut rng, i, permits);
                rules.push(f);
            }
        }
        // The permits whose action some action-tied forbid names.
        let forbid_targets: Vec<usize> = rules[permits..]
            .iter()
            .filter_map(|f| f.action.as_ref())
            .filter_map(|a| {
                rules[..permits]
                    .iter()
                    .position(|p| p.action.as_ref() == Some(a))
            })
            .collect();
        let reqs = (0..requests)
            .map(|i| request(&mut rng, i, &rules, permits, &forbid_targets))
            .collect();
        Workload {
            seed,
            permits,
            rules,
            requests: reqs,
        }
    }

    /// The forbid rules.
    pub fn forbids(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.effect == Effect::Forbid)
    }

    /// The reference decision (straight from the rule list, no index): allowed when some
    /// permit matches and no forbid does.
    pub fn expected(&self, req: &Request) -> bool {
        let fires = |r: &Rule| {
            r.action.as_ref().is_none_or(|a| *a == req.action)
                && r.conds.iter().all(|c| cond_holds(c, req))
        };
        let permitted = self
            .rules
            .iter()
            .any(|r| r.effect == Effect::Permit && fires(r));
        permitted && !self.forbids().any(fires)
    }

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

    /// The hand-written Rust evaluator for this policy set.
    pub fn rust_policy(&self) -> RustPolicy {
        let mut p = RustPolicy {
            rules: Vec::with_capacity(self.rules.len()),
            by_action: HashMap::new(),
            global_forbids: Vec::new(),
        };
        for (i, r) in self.rules.iter().enumerate() {
            p.rules.push(RustRule {
                permit: r.effect == Effect::Permit,
                conds: r.conds.iter().map(rust_cond).collect(),
            });
            match &r.action {
                Some(a) => p.by_action.entry(a.clone()).or_default().push(i),
                None => p.global_forbids.push(i),
            }
        }
        p
    }
}

fn cond_holds(c: &Cond, req: &Request) -> bool {
    match c {
        Cond::RoleEq(r) => req.role == *r,
        Cond::RoleNe(r) => req.role != *r,
        Cond::EnvEq(e) => req.env == *e,
        Cond::SensLe(s) => req.sensitivity <= *s,
        Cond::SensGe(s) => req.sensitivity >= *s,
        Cond::Managed(m) => req.managed == *m,
        Cond::IpIn(nets) => nets.iter().any(|n| n.contains(req.ip)),
        Cond::Hours {
            weekdays_only,
            from,
            to,
        } => (!weekdays_only || req.weekday < 5) && *from <= req.hour && req.hour < *to,
        Cond::Group(g) => req.groups.contains(g),
        Cond::NotGroup(g) => !req.groups.contains(g),
        Cond::Scope(s) => req.scopes.contains(s),
    }
}

fn writ_cond(c: &Cond) -> String {
    match c {
        Cond::RoleEq(r) => format!("principal.role == \"{r}\""),
        Cond::RoleNe(r) => format!("principal.role != \"{r}\""),
        Cond::EnvEq(e) => format!("resource.env == \"{e}\""),
        Cond::SensLe(s) => format!("resource.sensitivity <= {s}"),
        Cond::SensGe(s) => format!("resource.sensitivity >= {s}"),
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

fn cedar_cond(c: &Cond) -> String {
    match c {
        Cond::RoleEq(r) => format!("principal.role == \"{r}\""),
        Cond::RoleNe(r) => format!("principal.role != \"{r}\""),
        Cond::EnvEq(e) => format!("resource.env == \"{e}\""),
        Cond::SensLe(s) => format!("resource.sensitivity <= {s}"),
        Cond::SensGe(s) => format!("resource.sensitivity >= {s}"),
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
    /// The request time, RFC 3339, in the week of Monday 2026-11-23 (UTC).
    pub fn time_text(&self) -> String {
        format!(
            "2026-11-{:02}T{:02}:{:02}:00Z",
            23 + u32::from(self.weekday),
            self.hour,
            self.minute
        )
    }

    fn group_names(&self) -> Vec<String> {
        self.groups.iter().map(|g| format!("g{g}")).collect()
    }

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

    /// The plain struct the hand-written Rust evaluator reads.
    pub fn rust(&self) -> RustRequest {
        RustRequest {
            role: role_code(self.role),
            env: env_code(self.env),
            sensitivity: self.sensitivity,
            managed: self.managed,
            ip: self.ip,
            weekday: self.weekday,
            hour: self.hour,
            groups: self.groups.iter().fold(0u16, |m, g| m | (1 << g)),
            scopes: self.scopes.clone(),
            action: self.action.clone(),
        }
    }
}

fn role_code(r: &str) -> u8 {
    ROLES
        .iter()
        .position(|x| *x == r)
        .map_or(ROLES.len() as u8, |i| i as u8)
}

fn env_code(e: &str) -> u8 {
    ENVS.iter()
        .position(|x| *x == e)
        .map_or(ENVS.len() as u8, |i| i as u8)
}

/// A request as the hand-written evaluator sees it: roles and environments as small codes
/// (index in [`ROLES`] / [`ENVS`], `contractor` = 4), groups as a bit mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustRequest {
    /// Role code.
    pub role: u8,
    /// Environment code.
    pub env: u8,
    /// Sensitivity.
    pub sensitivity: i64,
    /// Managed device.
    pub managed: bool,
    /// Source address.
    pub ip: u32,
    /// 0 = Monday .. 6 = Sunday.
    pub weekday: u8,
    /// UTC hour.
    pub hour: u8,
    /// Bit `g` set for membership of `g{g}`.
    pub groups: u16,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// The action.
    pub action: String,
}

/// A condition of the hand-written evaluator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RustCond {
    /// Role code equal.
    RoleEq(u8),
    /// Role code different.
    RoleNe(u8),
    /// Environment code equal.
    EnvEq(u8),
    /// Sensitivity at most.
    SensLe(i64),
    /// Sensitivity at least.
    SensGe(i64),
    /// Device managed equals.
    Managed(bool),
    /// Address in one of `(network, mask)`.
    IpIn(Vec<(u32, u32)>),
    /// Hour window `from..to`, optionally Monday–Friday only.
    Hours(bool, u8, u8),
    /// Group bit set.
    Group(u16),
    /// Group bit clear.
    NotGroup(u16),
    /// Scope requested.
    Scope(String),
}

impl RustCond {
    /// Whether the condition holds.
    #[inline]
    pub fn holds(&self, r: &RustRequest) -> bool {
        match self {
            RustCond::RoleEq(x) => r.role == *x,
            RustCond::RoleNe(x) => r.role != *x,
            RustCond::EnvEq(x) => r.env == *x,
            RustCond::SensLe(s) => r.sensitivity <= *s,
            RustCond::SensGe(s) => r.sensitivity >= *s,
            RustCond::Managed(m) => r.managed == *m,
            RustCond::IpIn(nets) => nets.iter().any(|(n, m)| r.ip & m == *n),
            RustCond::Hours(weekdays_only, from, to) => {
                (!weekdays_only || r.weekday < 5) && *from <= r.hour && r.hour < *to
            }
            RustCond::Group(bit) => r.groups & bit != 0,
            RustCond::NotGroup(bit) => r.groups & bit == 0,
            RustCond::Scope(s) => r.scopes.iter().any(|x| x == s),
        }
    }
}

/// A rule of the hand-written evaluator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustRule {
    /// Permit (true) or forbid.
    pub permit: bool,
    /// All must hold.
    pub conds: Vec<RustCond>,
}

impl RustRule {
    /// Whether every condition holds.
    #[inline]
    pub fn fires(&self, r: &RustRequest) -> bool {
        self.conds.iter().all(|c| c.holds(r))
    }
}

/// The hand-written evaluator: rules indexed by action, plus the global forbids.
#[derive(Clone, Debug)]
pub struct RustPolicy {
    /// Every rule, in workload order.
    pub rules: Vec<RustRule>,
    /// Indices of the rules tied to each action.
    pub by_action: HashMap<String, Vec<usize>>,
    /// Indices of the forbids tied to no action.
    pub global_forbids: Vec<usize>,
}

impl RustPolicy {
    /// Allowed when a permit for the action fires and no forbid (for the action or
    /// global) does.
    pub fn decide(&self, r: &RustRequest) -> bool {
        let Some(ids) = self.by_action.get(&r.action) else {
            return false;
        };
        let mut permitted = false;
        for &i in ids {
            if let Some(rule) = self.rules.get(i) {
                if rule.fires(r) {
                    if !rule.permit {
                        return false;
                    }
                    permitted = true;
                }
            }
        }
        permitted
            && !self
                .global_forbids
                .iter()
                .any(|&i| self.rules.get(i).is_some_and(|rule| rule.fires(r)))
    }
}

fn rust_cond(c: &Cond) -> RustCond {
    match c {
        Cond::RoleEq(r) => RustCond::RoleEq(role_code(r)),
        Cond::RoleNe(r) => RustCond::RoleNe(role_code(r)),
        Cond::EnvEq(e) => RustCond::EnvEq(env_code(e)),
        Cond::SensLe(s) => RustCond::SensLe(*s),
        Cond::SensGe(s) => RustCond::SensGe(*s),
        Cond::Managed(m) => RustCond::Managed(*m),
        Cond::IpIn(nets) => {
            RustCond::IpIn(nets.iter().map(|n| (n.addr & n.mask(), n.mask())).collect())
        }
        Cond::Hours {
            weekdays_only,
            from,
            to,
        } => RustCond::Hours(*weekdays_only, *from, *to),
        Cond::Group(g) => RustCond::Group(1 << g),
        Cond::NotGroup(g) => RustCond::NotGroup(1 << g),
        Cond::Scope(s) => RustCond::Scope(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_rust_matches_reference() {
        let a = Workload::generate(7, 100, 2000);
        let b = Workload::generate(7, 100, 2000);
        assert_eq!(a.rules, b.rules);
        assert_eq!(a.requests, b.requests);
        assert_eq!(a.writ_policy(), b.writ_policy());
        let rust = a.rust_policy();
        let mut allowed = 0;
        for r in &a.requests {
            let e = a.expected(r);
            assert_eq!(rust.decide(&r.rust()), e, "{r:?}");
            allowed += usize::from(e);
        }
        let frac = allowed as f64 / a.requests.len() as f64;
        assert!((0.2..0.5).contains(&frac), "allowed fraction {frac}");
    }

    #[test]
    fn allowed_fraction_is_about_a_third() {
        for n in [10, 100, 1000, 10_000] {
            let w = Workload::generate(11, n, 5000);
            let rust = w.rust_policy();
            let allowed = w.requests.iter().filter(|r| rust.decide(&r.rust())).count();
            let frac = allowed as f64 / w.requests.len() as f64;
            // Requests a permit grants but a forbid refuses: the forbids matter.
            let permitted_only = w
                .requests
                .iter()
                .filter(|r| {
                    w.rules.iter().any(|x| {
                        x.effect == Effect::Permit
                            && x.action.as_deref() == Some(r.action.as_str())
                            && x.conds.iter().all(|c| cond_holds(c, r))
                    }) && !w.expected(r)
                })
                .count();
            eprintln!("N={n}: allowed {frac:.3}, forbidden despite a permit {permitted_only}");
            assert!(
                permitted_only > 0,
                "N={n}: no forbid ever changes a decision"
            );
            assert!((0.2..0.5).contains(&frac), "N={n}: allowed fraction {frac}");
        }
    }

    #[test]
    fn cidr() {
        let c = Cidr {
            addr: (10 << 24) | (1 << 16),
            len: 16,
        };
        assert!(c.contains((10 << 24) | (1 << 16) | 77));
        assert!(!c.contains((10 << 24) | (2 << 16)));
        assert_eq!(c.to_string(), "10.1.0.0/16");
    }
}
