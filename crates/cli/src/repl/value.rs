//! Editing the current request: a typed value for a path, written as the author would
//! (`false`, `10.1.2.3`, `5m`, `2026-11-28T23:00:00Z`, `["a", "b"]`), turned into the JSON
//! a service would send. The type comes from the policy set (well-known paths and its
//! schema); binding the edited request then checks it exactly as a real request.

use serde_json::Value as Json;
use writ::ir::PolicySet;
use writ::types::{Type, ROOTS, VALUE_ROOTS};

/// One change to the request.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Set a path to a value.
    Set(String, Json),
    /// Remove a path.
    Unset(String),
}

/// What the set knows of a path.
enum Kind<'s> {
    /// A typed attribute.
    Typed(&'s Type),
    /// An object holding typed attributes (`device`): set to a JSON object.
    Parent,
    /// Under an object the set does not type (`request.params.x`): any JSON, read only by
    /// `bind` and `cel(...)`.
    Free,
}

fn kind<'s>(set: &'s PolicySet, path: &str) -> Result<Kind<'s>, String> {
    let valid = !path.is_empty()
        && path
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if !valid {
        return Err(format!("`{path}` is not a request path"));
    }
    if let Some((_, ty)) = set.known.iter().find(|(p, _)| p == path) {
        return Ok(Kind::Typed(ty));
    }
    let prefix = format!("{path}.");
    if ROOTS.contains(&path) || set.known.iter().any(|(p, _)| p.starts_with(&prefix)) {
        return Ok(Kind::Parent);
    }
    if set
        .known
        .iter()
        .any(|(p, ty)| *ty == Type::Object && path.starts_with(&format!("{p}.")))
    {
        // Undeclared attributes of an object may be set (they are bound, not read), but
        // one a letter away from a declared one is a typo that would test nothing.
        let parent = path.rsplit_once('.').map_or("", |(p, _)| p);
        let siblings = set.known.iter().filter(|(p, ty)| {
            !matches!(ty, Type::Object | Type::Jwk)
                && p.rsplit_once('.').is_some_and(|(q, _)| q == parent)
        });
        if let Some(c) = writ::closest(path, siblings.map(|(p, _)| p.as_str())) {
            return Err(format!(
                "`{path}` is not declared, and no policy reads it; did you mean `{c}`?"
            ));
        }
        return Ok(Kind::Free);
    }
    if let Some(why) = inside_a_value(set, path) {
        return Err(format!("unknown attribute `{path}`: {why}"));
    }
    if let Some(c) = writ::closest(path, set.known.iter().map(|(p, _)| p.as_str())) {
        return Err(format!("unknown attribute `{path}`; did you mean `{c}`?"));
    }
    let root = path.split('.').next().unwrap_or_default();
    if !ROOTS.contains(&root) {
        // No schema can declare it: say what can be.
        let roots: Vec<&str> = ROOTS.iter().copied().filter(|r| *r != "risk").collect();
        return Err(format!(
            "unknown attribute `{path}`: request paths start with one of {}",
            roots.join(", ")
        ));
    }
    Err(format!(
        "unknown attribute `{path}` (declare it in a `schema` block)"
    ))
}

/// Why no schema can declare `path`, when it lies inside a value: a value root
/// (`action.name`), a typed attribute (`device.managed.x`) or a key (`principal.key.x`).
fn inside_a_value(set: &PolicySet, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('.').collect();
    let root = segments.first().copied().unwrap_or_default();
    if segments.len() > 1 && VALUE_ROOTS.contains(&root) {
        return Some(format!(
            "`{root}` is a value with a fixed type; it has no attributes"
        ));
    }
    let (prefix, ty) = (1..segments.len()).find_map(|n| {
        let prefix = segments[..n].join(".");
        set.known
            .iter()
            .find(|(p, ty)| *p == prefix && *ty != Type::Object)
            .map(|(_, ty)| (prefix, ty))
    })?;
    Some(match ty {
        Type::Jwk => format!("`{prefix}` is a public key, given whole as a JWK object"),
        _ => format!("`{prefix}` is a value, not an object"),
    })
}

fn json(text: &str) -> Option<Json> {
    serde_json::from_str(text).ok()
}

/// A string written with or without quotes.
fn string(text: &str) -> Result<Json, String> {
    if text.starts_with('"') {
        match json(text) {
            Some(Json::String(s)) => Ok(Json::String(s)),
            _ => Err(format!("`{text}` is not a valid quoted string")),
        }
    } else {
        Ok(Json::String(text.to_string()))
    }
}

fn typed(path: &str, ty: &Type, text: &str) -> Result<Json, String> {
    let fail = |what: &str| Err(format!("`{path}` is {what}, found `{text}`"));
    match ty {
        Type::Bool => match text {
            "true" => Ok(Json::Bool(true)),
            "false" => Ok(Json::Bool(false)),
            _ => fail("a bool: write `true` or `false`"),
        },
        Type::Int => match json(text) {
            Some(v) if v.is_i64() || v.is_u64() => Ok(v),
            _ => fail("an int"),
        },
        Type::Number => match json(text) {
            Some(v) if v.is_number() => Ok(v),
            _ => fail("a number"),
        },
        Type::Duration => {
            let inner = match string(text)? {
                Json::String(s) => s,
                other => other.to_string(),
            };
            if writ::syntax::parse_duration(&inner).is_some() {
                Ok(Json::String(inner))
            } else if let Ok(n) = inner.parse::<u64>() {
                Ok(Json::from(n))
            } else {
                fail("a duration such as `90s`, `5m`, `24h` or `30d`")
            }
        }
        Type::Set => match json(text) {
            Some(v @ Json::Array(_)) => Ok(v),
            _ => fail("a set: write a list such as `[\"a\", \"b\"]`"),
        },
        Type::Object => match json(text) {
            Some(v @ Json::Object(_)) => Ok(v),
            _ => fail("an object: write JSON such as `{\"amount\": 10}`"),
        },
        Type::Jwk => match json(text) {
            Some(v @ Json::Object(_)) => Ok(v),
            _ => fail("a public key: write its JWK, such as `{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\": \"...\"}`"),
        },
        Type::String | Type::Enum(_) | Type::Ip | Type::Time => string(text),
    }
}

/// `PATH = VALUE` for this set.
pub fn assignment(set: &PolicySet, path: &str, text: &str) -> Result<Edit, String> {
    if text.is_empty() {
        return Err(format!("`{path}` needs a value after `=`"));
    }
    let value = match kind(set, path)? {
        Kind::Typed(ty) => typed(path, ty, text)?,
        Kind::Parent => match json(text) {
            Some(v @ Json::Object(_)) => v,
            _ => {
                return Err(format!(
                    "`{path}` is an object: write JSON such as `{{...}}`"
                ))
            }
        },
        Kind::Free => json(text).map_or_else(|| string(text), Ok)?,
    };
    Ok(Edit::Set(path.to_string(), value))
}

/// Splits at commas outside quotes, brackets and braces.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0i32, false, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts
}

/// `PATH = VALUE, unset PATH, ...` (the `what-if` list).
pub fn edits(set: &PolicySet, text: &str) -> Result<Vec<Edit>, String> {
    split_top_level(text)
        .into_iter()
        .map(|item| {
            if item.is_empty() {
                return Err("a change is missing between two commas or after the last".into());
            }
            if let Some(path) = item.strip_prefix("unset ") {
                let path = path.trim();
                kind(set, path)?;
                return Ok(Edit::Unset(path.to_string()));
            }
            match item.split_once('=') {
                Some((path, value)) => assignment(set, path.trim(), value.trim()),
                None => Err(format!(
                    "`{item}` is not a change: write `PATH = VALUE` or `unset PATH`"
                )),
            }
        })
        .collect()
}

/// The value at a dotted path of a JSON document.
pub fn at<'j>(json: &'j Json, path: &str) -> Option<&'j Json> {
    path.split('.')
        .try_fold(json, |cur, seg| cur.as_object()?.get(seg))
}

/// Applies one edit; unsetting a path the request does not have is an error. An object
/// that an unset leaves empty (`network` after `unset network.ip`) goes too, unless the
/// set types it as a value (`request.params`: `{}` and absent bind differently).
pub fn apply(set: &PolicySet, request: &mut Json, edit: &Edit) -> Result<(), String> {
    let (path, value) = match edit {
        Edit::Set(p, v) => (p.as_str(), Some(v.clone())),
        Edit::Unset(p) => {
            if at(request, p).is_none() {
                return Err(format!("the request has no `{p}`"));
            }
            remove(request, p);
            prune(set, request, p);
            return Ok(());
        }
    };
    let segments: Vec<&str> = path.split('.').collect();
    let mut cur = request;
    for (i, seg) in segments.iter().enumerate() {
        if !cur.is_object() {
            *cur = Json::Object(Default::default());
        }
        let Json::Object(map) = cur else {
            return Ok(());
        };
        if i + 1 == segments.len() {
            if let Some(v) = value {
                map.insert((*seg).to_string(), v);
            }
            return Ok(());
        }
        cur = map
            .entry((*seg).to_string())
            .or_insert_with(|| Json::Object(Default::default()));
    }
    Ok(())
}

/// Removes the value at a dotted path, if there is one.
fn remove(request: &mut Json, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (at_mut(request, parent), last),
        None => (Some(request), path),
    };
    if let Some(Json::Object(map)) = parent {
        map.remove(last);
    }
}

fn at_mut<'j>(json: &'j mut Json, path: &str) -> Option<&'j mut Json> {
    path.split('.')
        .try_fold(json, |cur, seg| cur.as_object_mut()?.get_mut(seg))
}

/// Removes the objects above `path` that are left empty, innermost first, stopping at
/// one that is not empty or that the set types as a value.
fn prune(set: &PolicySet, request: &mut Json, path: &str) {
    let mut parent = path;
    while let Some((up, _)) = parent.rsplit_once('.') {
        parent = up;
        let typed = set.known.iter().any(|(p, _)| p == parent);
        let empty = matches!(at(request, parent), Some(Json::Object(m)) if m.is_empty());
        if typed || !empty {
            return;
        }
        remove(request, parent);
    }
}

/// `v` with every object's keys in sorted order, so what the REPL prints does not depend on
/// whether serde_json keeps insertion order (a feature another crate in the build may turn
/// on).
pub fn sorted(v: &Json) -> Json {
    match v {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Json::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set() -> writ::Engine {
        writ::from_sources(&[(
            "p.writ",
            "schema { request.params.amount: number\n resource.env: \"prod\" | \"dev\" }\nrule \"r\" { when device.managed allow }\n",
        )])
        .unwrap()
    }

    fn value(path: &str, text: &str) -> Result<Json, String> {
        match assignment(set().policy_set(), path, text)? {
            Edit::Set(_, v) => Ok(v),
            Edit::Unset(_) => unreachable!(),
        }
    }

    #[test]
    fn values_are_typed_by_the_set() {
        assert_eq!(value("device.managed", "false"), Ok(json!(false)));
        assert!(value("device.managed", "no")
            .unwrap_err()
            .contains("a bool"));
        assert_eq!(value("network.ip", "10.1.2.3"), Ok(json!("10.1.2.3")));
        assert_eq!(value("network.ip", "\"10.1.2.3\""), Ok(json!("10.1.2.3")));
        assert_eq!(value("session.auth_age", "5m"), Ok(json!("5m")));
        assert_eq!(value("session.auth_age", "90"), Ok(json!(90)));
        assert!(value("session.auth_age", "soon").is_err());
        assert_eq!(value("request.params.amount", "12.5"), Ok(json!(12.5)));
        assert_eq!(
            value("principal.groups", r#"["a", "b"]"#),
            Ok(json!(["a", "b"]))
        );
        assert!(value("principal.groups", "a").is_err());
        assert_eq!(
            value("request.params.note", "hello there"),
            Ok(json!("hello there"))
        );
        assert_eq!(value("request.params.n", "3"), Ok(json!(3)));
        assert_eq!(
            value("device", r#"{"managed": true}"#),
            Ok(json!({"managed": true}))
        );
        assert!(value("device.manged", "true")
            .unwrap_err()
            .contains("did you mean `device.managed`?"));
        assert!(value("device..managed", "true").is_err());
    }

    #[test]
    fn what_if_lists_split_outside_quotes_and_brackets() {
        let e = set();
        let list = edits(
            e.policy_set(),
            r#"network.ip = 203.0.113.9, principal.groups = ["a", "b"], request.params.note = "x, y", unset device.managed"#,
        )
        .unwrap();
        assert_eq!(
            list,
            vec![
                Edit::Set("network.ip".into(), json!("203.0.113.9")),
                Edit::Set("principal.groups".into(), json!(["a", "b"])),
                Edit::Set("request.params.note".into(), json!("x, y")),
                Edit::Unset("device.managed".into()),
            ]
        );
        assert!(edits(e.policy_set(), "network.ip").is_err());
    }

    #[test]
    fn edits_patch_field_by_field() {
        let e = set();
        let s = e.policy_set();
        let mut r = json!({"device": {"managed": true, "disk_encrypted": true}});
        apply(s, &mut r, &Edit::Set("device.managed".into(), json!(false))).unwrap();
        apply(
            s,
            &mut r,
            &Edit::Set("network.ip".into(), json!("10.0.0.1")),
        )
        .unwrap();
        assert_eq!(
            r,
            json!({"device": {"managed": false, "disk_encrypted": true}, "network": {"ip": "10.0.0.1"}})
        );
        apply(s, &mut r, &Edit::Unset("device.managed".into())).unwrap();
        assert!(apply(s, &mut r, &Edit::Unset("device.managed".into())).is_err());
    }

    #[test]
    fn an_unset_drops_the_objects_it_leaves_empty_but_not_typed_ones() {
        let e = set();
        let s = e.policy_set();
        let mut r = json!({"network": {"ip": "10.0.0.1"}, "request": {"params": {"amount": 3}}, "action": "a"});
        apply(s, &mut r, &Edit::Unset("network.ip".into())).unwrap();
        assert_eq!(
            r,
            json!({"request": {"params": {"amount": 3}}, "action": "a"})
        );
        // `request.params` is a value the digest binds: `{}` is not the same as absent.
        apply(s, &mut r, &Edit::Unset("request.params.amount".into())).unwrap();
        assert_eq!(r, json!({"request": {"params": {}}, "action": "a"}));
        apply(s, &mut r, &Edit::Unset("request.params".into())).unwrap();
        assert_eq!(r, json!({"action": "a"}));
        apply(s, &mut r, &Edit::Unset("action".into())).unwrap();
        assert_eq!(r, json!({}));
    }
}
