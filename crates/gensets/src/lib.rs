//! Generated policy sets for benchmarks and differential tests (the crate was called
//! `writ-workload`, a name that collided with the domain's workloads: workload keys,
//! `principal.kind = "workload"`).
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
//!
//! One module per job: `rng` (the generator), `model` (rules, requests, the expected
//! decision), one renderer per target (`writ`, `cedar`, `rego`) and the hand-written
//! evaluator (`rust`). Two more sets measure writ alone: [`full_style`] (risk, zoned
//! windows, CIDR sets, merging approvals) and [`many`] (many rules per action, for the tree
//! below the action).

mod cedar;
pub mod full_style;
pub mod many;
mod model;
mod rego;
mod rng;
mod rust;
mod writ;

pub use cedar::CedarRequest;
pub use model::{action_of, ip_text, Cidr, Cond, Effect, Request, Rule, Workload};
pub use rng::Rng;
pub use rust::{RustCond, RustPolicy, RustRequest, RustRule};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cond_holds;

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
