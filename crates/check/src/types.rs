//! The types of the language and the well-known request paths (docs/language.md §4).

use std::fmt;
use std::sync::Arc;

/// The type of a request path or an expression operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// Any string.
    String,
    /// A string that must be one of these literals.
    Enum(Arc<[String]>),
    /// A whole number.
    Int,
    /// Any number (ints compare with numbers by value).
    Number,
    /// `true` or `false`.
    Bool,
    /// A span of time, in seconds.
    Duration,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An instant (RFC 3339 in requests).
    Time,
    /// A set of strings.
    Set,
    /// A JSON object (`request.params`): usable in `bind`, not in comparisons.
    Object,
    /// A public key as a JWK (`principal.key`): an Ed25519 or P-256 public key, its shape
    /// checked when a request is bound; usable in `bind`, not in comparisons, and whole
    /// (a schema cannot declare its members).
    Jwk,
}

impl Type {
    /// True for `String` and `Enum`.
    pub fn is_string(&self) -> bool {
        matches!(self, Type::String | Type::Enum(_))
    }

    /// True for `Int` and `Number`.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Number)
    }

    /// True when values of the two types can be compared with `==`.
    pub fn comparable_with(&self, other: &Type) -> bool {
        (self.is_string() && other.is_string())
            || (self.is_numeric() && other.is_numeric())
            || matches!(
                (self, other),
                (Type::Bool, Type::Bool)
                    | (Type::Duration, Type::Duration)
                    | (Type::Ip, Type::Ip)
                    | (Type::Time, Type::Time)
            )
    }

    /// True when values of the type are ordered (`<`, `>=`...).
    pub fn is_ordered(&self) -> bool {
        self.is_numeric() || matches!(self, Type::Duration | Type::Time)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Enum(items) => {
                let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
                write!(f, "{}", quoted.join(" | "))
            }
            Type::Int => f.write_str("int"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Duration => f.write_str("duration"),
            Type::Ip => f.write_str("ip"),
            Type::Time => f.write_str("time"),
            Type::Set => f.write_str("set"),
            Type::Object => f.write_str("object"),
            Type::Jwk => f.write_str("jwk"),
        }
    }
}

/// The roots a request path may start with.
pub const ROOTS: &[&str] = &[
    "principal",
    "action",
    "resource",
    "session",
    "device",
    "network",
    "time",
    "scope",
    "request",
    "risk",
];

/// Roots that are a value themselves rather than an object of attributes.
pub const VALUE_ROOTS: &[&str] = &["action", "time", "risk"];

/// Type names usable in a `schema` block.
pub const SCHEMA_TYPES: &[&str] = &[
    "string", "int", "number", "bool", "duration", "time", "ip", "set",
];

/// The well-known paths and their types.
pub fn well_known() -> Vec<(&'static str, Type)> {
    let kind: Arc<[String]> = ["human", "workload", "agent"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    vec![
        ("principal.id", Type::String),
        ("principal.kind", Type::Enum(kind)),
        ("principal.groups", Type::Set),
        ("principal.attested", Type::Bool),
        ("principal.on_behalf_of", Type::String),
        ("principal.key", Type::Jwk),
        ("action", Type::String),
        ("resource.id", Type::String),
        ("resource.kind", Type::String),
        ("session.id", Type::String),
        ("session.auth_method", Type::String),
        ("session.auth_age", Type::Duration),
        ("device.managed", Type::Bool),
        ("device.disk_encrypted", Type::Bool),
        ("device.patch_age", Type::Duration),
        ("network.ip", Type::Ip),
        ("time", Type::Time),
        ("scope.requested", Type::Set),
        ("scope.granted", Type::Set),
        ("request.params", Type::Object),
        ("request.break_glass", Type::Bool),
        ("risk", Type::Int),
    ]
}

/// The type a schema type name stands for.
pub fn schema_type(name: &str) -> Option<Type> {
    Some(match name {
        "string" => Type::String,
        "int" => Type::Int,
        "number" => Type::Number,
        "bool" => Type::Bool,
        "duration" => Type::Duration,
        "time" => Type::Time,
        "ip" => Type::Ip,
        "set" => Type::Set,
        _ => return None,
    })
}
