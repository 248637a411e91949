//! Running a CEL leaf against a request: JSON roots become CEL variables (JSON integers
//! are CEL ints; instants — `time` and paths declared `: time` — are CEL timestamps;
//! durations are CEL durations). A missing root, a run-time error or a non-bool result
//! is unknown.
//!
//! The CEL environment (the standard library with the `strings` and `math` extensions:
//! exactly what `writ_check::CEL_FUNCTIONS` lists) is built once per process; the
//! variables a set's CEL leaves read are converted once per request, at binding
//! ([`variables`]), so a leaf costs a context of `Arc` clones and the program's own run.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, LazyLock};

use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, Value};
use jiff::Timestamp;
use serde_json::Value as Json;
use writ_check::types::Type;
use writ_check::CelExpr;

use crate::trie::KnownPath;
use crate::truth::Truth;

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    // Registering an extension on a fresh standard environment cannot clash; were it to,
    // its functions would be missing and every leaf calling one unknown (fail closed),
    // which the tests over `CEL_FUNCTIONS` would report.
    let _ = env.add_extension(cel::extensions::strings);
    let _ = env.add_extension(cel::extensions::math);
    Arc::new(env)
});

/// An instant as a CEL timestamp (UTC).
fn timestamp(t: Timestamp) -> Value {
    chrono::DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().unsigned_abs())
        .map_or(Value::Null, |d| Value::Timestamp(d.fixed_offset()))
}

/// A request value of a typed path in CEL's own type, when it has one there.
fn typed_cel(ty: &Type, v: &Json) -> Option<Value> {
    match ty {
        Type::Time => v.as_str()?.parse::<Timestamp>().ok().map(timestamp),
        Type::Duration => {
            let s = i64::try_from(crate::typing::duration_of(v)?).ok()?;
            chrono::Duration::try_seconds(s).map(Value::Duration)
        }
        _ => None,
    }
}

/// Converts JSON to CEL, giving the typed paths below it (segments relative to `v`)
/// their CEL types.
fn to_cel_typed(v: &Json, typed: &[(&[Box<str>], &Type)]) -> Value {
    let Json::Object(map) = v else {
        return to_cel(v);
    };
    if typed.is_empty() {
        return to_cel(v);
    }
    let m: HashMap<String, Value> = map
        .iter()
        .map(|(k, v)| {
            let below: Vec<(&[Box<str>], &Type)> = typed
                .iter()
                .filter_map(|(segs, ty)| match segs.split_first() {
                    Some((first, rest)) if **first == **k => Some((rest, *ty)),
                    _ => None,
                })
                .collect();
            let here = below.iter().find(|(rest, _)| rest.is_empty());
            let value = match here.and_then(|(_, ty)| typed_cel(ty, v)) {
                Some(value) => value,
                None => to_cel_typed(v, &below),
            };
            (k.clone(), value)
        })
        .collect();
    Value::from(m)
}

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

/// A request's roots in CEL's own representation, built once at binding; reads as a
/// slice. Empty (the set has no CEL leaf) it holds nothing and costs nothing.
#[derive(Clone, Default)]
pub(crate) struct Vars(Option<Arc<[Var]>>);

/// One root's name and CEL value.
pub(crate) type Var = (String, Box<dyn Val>);

impl std::ops::Deref for Vars {
    type Target = [Var];

    fn deref(&self) -> &Self::Target {
        self.0.as_deref().unwrap_or_default()
    }
}

impl std::fmt::Debug for Vars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(name, _)| name))
            .finish()
    }
}

/// The CEL values of the request roots in `roots` that the request carries; `time` is
/// the request time (from the request or the clock), and the `known` paths of instant
/// and duration type become CEL timestamps and durations.
pub(crate) fn variables(
    roots: &[String],
    request: &Json,
    time: Timestamp,
    known: &[KnownPath],
) -> Vars {
    let vars = roots
        .iter()
        .filter_map(|r| {
            let value = if r == "time" {
                timestamp(time)
            } else {
                let v = request.get(r.as_str()).filter(|v| !v.is_null())?;
                let typed: Vec<(&[Box<str>], &Type)> = known
                    .iter()
                    .filter(|k| matches!(k.ty, Type::Time | Type::Duration))
                    .filter_map(|k| match k.segments.split_first() {
                        Some((first, rest)) if **first == **r => Some((rest, &k.ty)),
                        _ => None,
                    })
                    .collect();
                to_cel_typed(v, &typed)
            };
            let val: Box<dyn Val> = value.try_into().ok()?;
            Some((r.clone(), val))
        })
        .collect::<Vec<_>>();
    Vars(Some(vars.into()))
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
