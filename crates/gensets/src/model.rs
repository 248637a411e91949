//! The logical workload: its rules and requests, generated from a seed, and the expected
//! decision of each request (the reference every rendering is checked against).

use crate::rng::Rng;
use crate::{BLOCKED, CONTRACTOR, ENVS, GROUPS, ROLES, VERBS};

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

impl Cond {
    /// The comparison as writ and Cedar both write it (`principal.role == "admin"`,
    /// `resource.sensitivity <= 3`), for the conditions whose text is the same in both;
    /// `None` for the others, which each renderer writes its own way.
    pub fn comparison(&self) -> Option<String> {
        Some(match self {
            Cond::RoleEq(r) => format!("principal.role == \"{r}\""),
            Cond::RoleNe(r) => format!("principal.role != \"{r}\""),
            Cond::EnvEq(e) => format!("resource.env == \"{e}\""),
            Cond::SensLe(s) => format!("resource.sensitivity <= {s}"),
            Cond::SensGe(s) => format!("resource.sensitivity >= {s}"),
            _ => return None,
        })
    }
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
}

pub(crate) fn cond_holds(c: &Cond, req: &Request) -> bool {
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

    pub(crate) fn group_names(&self) -> Vec<String> {
        self.groups.iter().map(|g| format!("g{g}")).collect()
    }
}
