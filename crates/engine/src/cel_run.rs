//! Running a CEL leaf against a request: JSON roots become CEL variables (JSON integers
//! are CEL ints). A missing root, a run-time error or a non-bool result is unknown.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use cel::{Context, Value};
use serde_json::Value as Json;
use writ_check::CelExpr;

use crate::truth::Truth;

fn to_cel(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Json::Object(map) => {
            let m: HashMap<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            Value::from(m)
        }
    }
}

/// Evaluates a CEL leaf over the request JSON.
pub fn run(expr: &CelExpr, request: &Json) -> Truth {
    let mut ctx = Context::default();
    for root in &expr.roots {
        if let Some(v) = request.get(root.as_str()).filter(|v| !v.is_null()) {
            ctx.add_variable_from_value(root.as_str(), to_cel(v));
        }
    }
    match catch_unwind(AssertUnwindSafe(|| expr.program.execute(&ctx))) {
        Ok(Ok(Value::Bool(b))) => Truth::from_bool(b),
        _ => Truth::Unknown,
    }
}
