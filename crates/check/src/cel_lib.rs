//! What writ's CEL offers: the functions and type names a `cel(...)` leaf may use.
//!
//! The list is the contract: every entry runs in the engine (its test evaluates each
//! example), every entry is listed in docs/language.md, and a call to anything else is
//! refused at load, naming the function and listing these.

/// One CEL function writ supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CelFunction {
    /// The name as written (`lowerAscii`, `math.abs`).
    pub name: &'static str,
    /// How it is called, for the documentation (`string.lowerAscii() -> string`).
    pub signature: &'static str,
    /// A CEL expression using it that evaluates to `true` on any request.
    pub example: &'static str,
}

const fn f(name: &'static str, signature: &'static str, example: &'static str) -> CelFunction {
    CelFunction {
        name,
        signature,
        example,
    }
}

/// Every CEL function a `cel(...)` leaf may call: the CEL standard library (with the
/// `timestamp` and `duration` types and RE2-style `matches`) and the `strings` and `math`
/// extensions. The macros (`has`, `all`, `exists`, `exists_one`, `map`, `filter`) are
/// expanded by the parser and always available.
pub const CEL_FUNCTIONS: &[CelFunction] = &[
    // Conversions and types.
    f("bool", "bool(string) -> bool", "bool('true')"),
    f("bytes", "bytes(string) -> bytes", "bytes('ab') == b'ab'"),
    f("double", "double(int | uint | string) -> double", "double(1) == 1.0"),
    f("dyn", "dyn(any) -> any", "dyn(1) == 1"),
    f("int", "int(uint | double | string | timestamp) -> int", "int('7') == 7"),
    f("string", "string(any scalar) -> string", "string(7) == '7'"),
    f("type", "type(any) -> type", "type(1) == int"),
    f("uint", "uint(int | double | string) -> uint", "uint(7) == 7u"),
    // Sizes and strings.
    f("size", "size(string | bytes | list | map) -> int", "size('abc') == 3 && 'abc'.size() == 3"),
    f("contains", "string.contains(string) -> bool", "'abc'.contains('b')"),
    f("startsWith", "string.startsWith(string) -> bool", "'abc'.startsWith('ab')"),
    f("endsWith", "string.endsWith(string) -> bool", "'abc'.endsWith('bc')"),
    f(
        "matches",
        "string.matches(regex) -> bool (RE2 syntax, unanchored)",
        "'db.orders.write'.matches('^db\\\\.[a-z]+\\\\.write$')",
    ),
    // Instants and durations.
    f(
        "timestamp",
        "timestamp(string) -> timestamp (RFC 3339)",
        "timestamp('2026-03-01T10:00:00Z') < timestamp('2026-03-01T11:00:00+00:00')",
    ),
    f(
        "duration",
        "duration(string) -> duration (`90s`, `1h30m`, `1.5h`)",
        "duration('90m') == duration('1h30m')",
    ),
    f(
        "getFullYear",
        "timestamp.getFullYear([zone]) -> int",
        "timestamp('2026-03-01T10:00:00Z').getFullYear() == 2026",
    ),
    f(
        "getMonth",
        "timestamp.getMonth([zone]) -> int (0-11)",
        "timestamp('2026-03-01T10:00:00Z').getMonth() == 2",
    ),
    f(
        "getDate",
        "timestamp.getDate([zone]) -> int (1-31)",
        "timestamp('2026-03-01T10:00:00Z').getDate() == 1",
    ),
    f(
        "getDayOfMonth",
        "timestamp.getDayOfMonth([zone]) -> int (0-30)",
        "timestamp('2026-03-01T10:00:00Z').getDayOfMonth() == 0",
    ),
    f(
        "getDayOfWeek",
        "timestamp.getDayOfWeek([zone]) -> int (0 = Sunday)",
        "timestamp('2026-03-01T10:00:00Z').getDayOfWeek() == 0",
    ),
    f(
        "getDayOfYear",
        "timestamp.getDayOfYear([zone]) -> int (0-365)",
        "timestamp('2026-03-01T10:00:00Z').getDayOfYear() == 59",
    ),
    f(
        "getHours",
        "timestamp.getHours([zone]) -> int, duration.getHours() -> int",
        "timestamp('2026-03-01T22:30:00Z').getHours('Europe/Berlin') == 23 && duration('3h').getHours() == 3",
    ),
    f(
        "getMinutes",
        "timestamp.getMinutes([zone]) -> int, duration.getMinutes() -> int",
        "timestamp('2026-03-01T22:30:00Z').getMinutes() == 30 && duration('2h').getMinutes() == 120",
    ),
    f(
        "getSeconds",
        "timestamp.getSeconds([zone]) -> int, duration.getSeconds() -> int",
        "timestamp('2026-03-01T22:30:09Z').getSeconds() == 9 && duration('2m').getSeconds() == 120",
    ),
    f(
        "getMilliseconds",
        "timestamp.getMilliseconds([zone]) -> int, duration.getMilliseconds() -> int",
        "timestamp('2026-03-01T22:30:09.250Z').getMilliseconds() == 250",
    ),
    // The strings extension.
    f("charAt", "string.charAt(int) -> string", "'abc'.charAt(1) == 'b'"),
    f(
        "format",
        "string.format(list) -> string",
        "'%s-%d'.format(['a', 1]) == 'a-1'",
    ),
    f("indexOf", "string.indexOf(string[, int]) -> int", "'abcb'.indexOf('b') == 1"),
    f("join", "list.join([string]) -> string", "['a', 'b'].join('-') == 'a-b'"),
    f(
        "lastIndexOf",
        "string.lastIndexOf(string[, int]) -> int",
        "'abcb'.lastIndexOf('b') == 3",
    ),
    f("lowerAscii", "string.lowerAscii() -> string", "'DB.Drop'.lowerAscii() == 'db.drop'"),
    f("upperAscii", "string.upperAscii() -> string", "'eur'.upperAscii() == 'EUR'"),
    f(
        "replace",
        "string.replace(string, string[, int]) -> string",
        "'a-b-c'.replace('-', '.') == 'a.b.c'",
    ),
    f("reverse", "string.reverse() -> string", "'abc'.reverse() == 'cba'"),
    f(
        "split",
        "string.split(string[, int]) -> list",
        "'a.b.c'.split('.') == ['a', 'b', 'c']",
    ),
    f(
        "substring",
        "string.substring(int[, int]) -> string",
        "'abcdef'.substring(1, 3) == 'bc'",
    ),
    f("trim", "string.trim() -> string", "'  a '.trim() == 'a'"),
    f("strings.quote", "strings.quote(string) -> string", "strings.quote('a') == '\"a\"'"),
    // The math extension.
    f("math.abs", "math.abs(int | uint | double)", "math.abs(-3) == 3"),
    f("math.ceil", "math.ceil(double) -> double", "math.ceil(1.2) == 2.0"),
    f("math.floor", "math.floor(double) -> double", "math.floor(1.8) == 1.0"),
    f("math.round", "math.round(double) -> double", "math.round(1.5) == 2.0"),
    f("math.trunc", "math.trunc(double) -> double", "math.trunc(-1.5) == -1.0"),
    f("math.sign", "math.sign(int | double)", "math.sign(-4) == -1"),
    f("math.sqrt", "math.sqrt(int | uint | double) -> double", "math.sqrt(16) == 4.0"),
    f("math.isInf", "math.isInf(double) -> bool", "!math.isInf(1.0)"),
    f("math.isNaN", "math.isNaN(double) -> bool", "!math.isNaN(1.0)"),
    f("math.isFinite", "math.isFinite(double) -> bool", "math.isFinite(1.0)"),
    f("math.bitAnd", "math.bitAnd(int, int) -> int", "math.bitAnd(6, 3) == 2"),
    f("math.bitOr", "math.bitOr(int, int) -> int", "math.bitOr(4, 1) == 5"),
    f("math.bitXor", "math.bitXor(int, int) -> int", "math.bitXor(6, 3) == 5"),
    f("math.bitNot", "math.bitNot(int) -> int", "math.bitNot(0) == -1"),
    f(
        "math.bitShiftLeft",
        "math.bitShiftLeft(int, int) -> int",
        "math.bitShiftLeft(1, 3) == 8",
    ),
    f(
        "math.bitShiftRight",
        "math.bitShiftRight(int, int) -> int",
        "math.bitShiftRight(8, 3) == 1",
    ),
];

/// The macros CEL's parser expands; listed with the functions in messages.
pub const CEL_MACROS: &[&str] = &["has", "all", "exists", "exists_one", "map", "filter"];

/// The namespaces of the namespaced functions (`math.abs`): a call on one of these names
/// is a function, not a request variable.
pub const CEL_NAMESPACES: &[&str] = &["math", "strings"];

/// The CEL type names an expression may use as values (`type(x) == string`).
pub const CEL_TYPES: &[&str] = &[
    "bool",
    "bytes",
    "double",
    "int",
    "uint",
    "string",
    "list",
    "map",
    "null_type",
    "type",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
];

/// The CEL operators, as the parser names them: always available.
const OPERATORS: &[&str] = &[
    "_?_:_",
    "_&&_",
    "_||_",
    "!_",
    "_-_",
    "_+_",
    "_*_",
    "_/_",
    "_%_",
    "_==_",
    "_!=_",
    "_>=_",
    "_<=_",
    "_>_",
    "_<_",
    "-_",
    "_[_]",
    "@not_strictly_false",
    "@in",
];

/// Whether a called name (qualified with its namespace when it has one) is supported.
pub(crate) fn is_supported(name: &str) -> bool {
    OPERATORS.contains(&name) || CEL_FUNCTIONS.iter().any(|f| f.name == name)
}

/// The supported function names, for messages: `a`, `b`, ... in the table's order.
pub(crate) fn supported_list() -> String {
    let mut names: Vec<&str> = Vec::new();
    for f in CEL_FUNCTIONS {
        if !names.contains(&f.name) {
            names.push(f.name);
        }
    }
    names.extend(CEL_MACROS);
    names.join(", ")
}
