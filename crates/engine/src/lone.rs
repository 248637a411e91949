//! Evaluating a lone expression under a request (the REPL's "what is `risk` now?").
//!
//! The expression was checked against this engine's set ([`writ_check::check_expr`]): it
//! reads the set's slots by id, and the paths only it reads are typed from the request
//! here. A condition is interpreted three-valued by the reference interpreter, part by
//! part; a value is the request's own, `risk` the computed score, `time` the request time.

use serde_json::Value as Json;
use writ_check::expr::Typed;
use writ_check::ir::{AtomKind, Cond, Operand, Value};
use writ_check::LoneExpr;

use crate::reference::{self, CondTrace, LoneEnv};
use crate::request::{typed, Request, Slot, NO_ID};
use crate::Engine;

/// What a lone expression came to.
#[derive(Clone, Debug)]
pub enum Evaluated {
    /// A condition: its truth (true, false or unknown), part by part.
    Cond(CondTrace),
    /// A value as JSON (a path's value, a constant, a list, a CIDR set's networks, a
    /// window's text); `None` when the request does not carry the path (unknown).
    Value(Option<Json>),
}

fn constant(v: &Value) -> Json {
    match v {
        Value::String(s) => Json::String(s.to_string()),
        Value::Int(i) => Json::from(*i),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::Bool(b) => Json::Bool(*b),
        Value::Duration(d) => Json::String(format!("{d}s")),
        Value::Ip(ip) => Json::String(ip.to_string()),
        Value::Time(t) => Json::String(t.to_string()),
    }
}

/// The request roots the CEL leaves of a condition read.
fn cel_roots(c: &Cond, out: &mut Vec<String>) {
    match c {
        Cond::Const(_) => {}
        Cond::Atom(a) => {
            if let AtomKind::Cel(cel) = &a.kind {
                out.extend(cel.roots.iter().cloned());
            }
        }
        Cond::Not(inner) => cel_roots(inner, out),
        Cond::Named { cond, .. } => cel_roots(cond, out),
        Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|p| cel_roots(p, out)),
    }
}

impl Engine {
    /// Evaluates an expression checked against this engine's set
    /// ([`writ_check::check_expr`] on [`Engine::policy_set`]) under a request.
    pub fn evaluate(&self, expr: &LoneExpr, req: &Request) -> Evaluated {
        if let Some(r) = self.rebound(req) {
            return self.evaluate(expr, &r);
        }
        match &expr.typed {
            Typed::Cond(c) => Evaluated::Cond(self.lone_cond(expr, req, c)),
            Typed::Value(Operand::Const(v), _) => Evaluated::Value(Some(constant(v))),
            Typed::Value(Operand::Path(p), _) => {
                let text = expr.paths.get(p.0 as usize).map_or("", |i| i.text.as_str());
                Evaluated::Value(match text {
                    "risk" => Some(Json::from(reference::risk(&self.set, req))),
                    "time" => Some(Json::String(req.time().to_string())),
                    _ => req.value_at(text).cloned(),
                })
            }
            Typed::Value(o @ (Operand::Lower(_) | Operand::Arith(_)), _) => {
                let slots = self.lone_slots(expr, req);
                let vars = Vec::new();
                let env = self.lone_env(expr, &slots, &vars, req);
                Evaluated::Value(reference::lone_value(&env, req, o))
            }
            Typed::List(values, _) => {
                Evaluated::Value(Some(Json::Array(values.iter().map(constant).collect())))
            }
            Typed::Cidr(set) => Evaluated::Value(Some(Json::Array(
                set.nets
                    .iter()
                    .map(|n| Json::String(n.to_string()))
                    .collect(),
            ))),
            Typed::Hours(h) => Evaluated::Value(Some(Json::String(format!(
                "hours {} in {}",
                writ_syntax::quote(&h.spec),
                writ_syntax::quote(&h.zone_name)
            )))),
            Typed::Error => Evaluated::Value(None),
        }
    }

    /// The set's slots, then the paths only the expression reads, typed from the
    /// request (which binding has type-checked already: a failure reads as missing).
    /// What a lone expression is evaluated against: its paths and sources, `slots` and
    /// `vars` read for it, and the request's risk.
    fn lone_env<'a>(
        &self,
        expr: &'a LoneExpr,
        slots: &'a [Slot],
        vars: &'a [(String, Box<dyn cel::common::value::Val>)],
        req: &Request,
    ) -> LoneEnv<'a> {
        LoneEnv {
            paths: &expr.paths,
            sources: &expr.sources,
            slots,
            vars,
            risk: reference::risk(&self.set, req),
        }
    }

    fn lone_slots(&self, expr: &LoneExpr, req: &Request) -> Vec<Slot> {
        let mut slots = req.slots.clone();
        for info in expr.paths.iter().skip(slots.len()) {
            let slot = match info.text.as_str() {
                "time" => Slot::Time(req.time()),
                text => req.value_at(text).map_or(Slot::Missing, |v| {
                    typed(text, &info.ty, v, &|_| NO_ID).unwrap_or(Slot::Missing)
                }),
            };
            slots.push(slot);
        }
        slots
    }

    fn lone_cond(&self, expr: &LoneExpr, req: &Request, cond: &Cond) -> CondTrace {
        let slots = self.lone_slots(expr, req);
        let mut roots = Vec::new();
        cel_roots(cond, &mut roots);
        roots.sort();
        roots.dedup();
        let vars = crate::cel_run::variables(&roots, req.json(), req.time(), &self.compiled.known);
        let env = self.lone_env(expr, &slots, &vars, req);
        reference::lone_cond(&env, req, cond)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Truth;

    fn engine() -> Engine {
        let mut s = writ_syntax::SourceMap::default();
        s.add(
            "p.writ",
            r#"
            let corp = cidr ["10.0.0.0/8"]
            risk { +30 "unmanaged" when not device.managed }
            rule "r" { when action == "db.read" allow }
            "#,
        );
        Engine::new(writ_check::check(s).unwrap())
    }

    fn eval(e: &Engine, text: &str, req: &str) -> Evaluated {
        let expr = writ_check::check_expr(e.policy_set(), "<repl>", text).unwrap();
        e.evaluate(&expr, &e.bind_str(req).unwrap())
    }

    fn truth(ev: Evaluated) -> Truth {
        match ev {
            Evaluated::Cond(t) => t.value,
            Evaluated::Value(v) => panic!("a value: {v:?}"),
        }
    }

    #[test]
    fn conditions_are_three_valued_over_paths_the_set_does_not_read() {
        let e = engine();
        let req = r#"{"device": {"managed": true}, "network": {"ip": "10.1.2.3"}}"#;
        assert_eq!(
            truth(eval(&e, "device.managed and network.ip in corp", req)),
            Truth::True
        );
        let req = r#"{"device": {"managed": true}}"#;
        assert_eq!(
            truth(eval(&e, "device.managed and network.ip in corp", req)),
            Truth::Unknown
        );
        assert_eq!(
            truth(eval(&e, "not device.managed and network.ip in corp", req)),
            Truth::False
        );
        assert_eq!(truth(eval(&e, "risk < 10", req)), Truth::True);
        assert_eq!(
            truth(eval(
                &e,
                r#"cel("network.ip == '10.1.2.3'")"#,
                r#"{"network": {"ip": "10.1.2.3"}}"#
            )),
            Truth::True
        );
    }

    #[test]
    fn values_are_the_requests_own_risk_is_computed() {
        let e = engine();
        let Evaluated::Value(v) = eval(&e, "risk", "{}") else {
            panic!()
        };
        assert_eq!(v, Some(Json::from(30)));
        let Evaluated::Value(v) = eval(&e, "network.ip", r#"{"network": {"ip": "10.1.2.3"}}"#)
        else {
            panic!()
        };
        assert_eq!(v, Some(Json::from("10.1.2.3")));
        let Evaluated::Value(v) = eval(&e, "device.managed", "{}") else {
            panic!()
        };
        assert_eq!(v, None);
        let Evaluated::Value(v) = eval(&e, "corp", "{}") else {
            panic!()
        };
        assert_eq!(v, Some(serde_json::json!(["10.0.0.0/8"])));
    }
}
