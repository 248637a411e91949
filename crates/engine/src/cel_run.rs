//! Running a CEL leaf against a request: JSON roots become CEL variables (JSON integers
//! are CEL ints). A missing root, a run-time error or a non-bool result is unknown.
//!
//! The CEL standard environment is built once per process; the variables a set's CEL
//! leaves read are converted once per request, at binding ([`variables`]), so a leaf
//! costs a context of `Arc` clones and the program's own run.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, LazyLock};

use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, Value};
use serde_json::Value as Json;
use writ_check::CelExpr;

use crate::truth::Truth;

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

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

/// A request's roots in CEL's own representation, built once at binding.
pub(crate) type Vars = Arc<[(String, Box<dyn Val>)]>;

/// The CEL values of the request roots in `roots` that the request carries.
pub(crate) fn variables(roots: &[String], request: &Json) -> Vars {
    roots
        .iter()
        .filter_map(|r| {
            let v = request.get(r.as_str()).filter(|v| !v.is_null())?;
            let val: Box<dyn Val> = to_cel(v).try_into().ok()?;
            Some((r.clone(), val))
        })
        .collect()
}

/// Lends the pre-built values to CEL without copying them.
struct Resolver<'a>(&'a [(String, Box<dyn Val>)]);

impl VariableResolver for Resolver<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        self.0
            .iter()
            .find(|(name, _)| name == variable)
            .map(|(_, v)| CowVal::Borrowed(v.as_ref()))
    }
}

/// Evaluates a CEL leaf with the request's variables.
pub(crate) fn run(expr: &CelExpr, vars: &[(String, Box<dyn Val>)]) -> Truth {
    let resolver = Resolver(vars);
    let mut ctx = Context::with_env(ENV.clone());
    ctx.set_variable_resolver(&resolver);
    match catch_unwind(AssertUnwindSafe(|| expr.program.execute(&ctx))) {
        Ok(Ok(Value::Bool(b))) => Truth::from_bool(b),
        _ => Truth::Unknown,
    }
}
