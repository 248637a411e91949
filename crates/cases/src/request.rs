//! Building a case's request: TOML to JSON, and `set` / `unset` patches by dotted path.

use serde_json::Value as Json;

/// A TOML value as JSON (a datetime becomes its RFC 3339 text).
pub(crate) fn to_json(v: &toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        toml::Value::Table(t) => table_json(t),
    }
}

/// A TOML table as a JSON object.
pub(crate) fn table_json(t: &toml::Table) -> Json {
    Json::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
}

/// `set` patches as (dotted path, value) pairs. A table value, however it was written
/// (`device.managed = true` or `"device" = { managed = true }`), patches field by field:
/// it never replaces the whole object and drops its other fields.
pub(crate) fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, Json)>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if !t.is_empty() => flatten(&path, t, out),
            other => out.push((path, to_json(other))),
        }
    }
}

/// The value at a dotted path, if the request has one.
pub(crate) fn json_at<'j>(json: &'j Json, path: &str) -> Option<&'j Json> {
    path.split('.')
        .try_fold(json, |cur, seg| cur.as_object()?.get(seg))
}

/// Sets (or, with `None`, removes) the value at a dotted path, making objects on the way.
pub(crate) fn set_path(root: &mut Json, path: &str, value: Option<Json>) {
    let segments: Vec<&str> = path.split('.').collect();
    let mut cur = root;
    for (i, seg) in segments.iter().enumerate() {
        if !cur.is_object() {
            *cur = Json::Object(Default::default());
        }
        let Json::Object(map) = cur else { return };
        if i + 1 == segments.len() {
            match value {
                Some(v) => {
                    map.insert((*seg).to_string(), v);
                }
                None => {
                    map.remove(*seg);
                }
            }
            return;
        }
        cur = map
            .entry((*seg).to_string())
            .or_insert_with(|| Json::Object(Default::default()));
    }
}
