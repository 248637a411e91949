//! The workload as a hand-written Rust evaluator: what a developer would write for this
//! one policy, the baseline writ is measured against.

use std::collections::HashMap;

use crate::model::{Cond, Effect, Request, Workload};
use crate::{ENVS, ROLES};

impl Workload {
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

impl Request {
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
