//! The AuthZEN mapping of one evaluation written straight as writ request text, for the
//! engine's streaming binder: no tree of the body, no tree of the request.
//!
//! This is the hot path of `POST /access/v1/evaluation`, and it only takes the plain
//! case. It declines (`None`) every body the tree mapping ([`crate::authzen::map_tuple`])
//! might word a refusal for, merge, or redeem: a key it does not know at the top level
//! or in an entity, a field of the wrong type, two sources writing one writ root or
//! member (even with equal values), `context.approval`, a repeated key, nesting past
//! [`MAX_DEPTH`]. A declined body takes the tree path, which gives the same answer it
//! always gave; a taken one binds to what the tree mapping would have bound
//! (`tests::the_text_binds_as_the_tree_does` holds the two equal).
//!
//! Values below `properties` and `context` are copied as they were sent; the binder
//! applies the engine's strict rules to them (repeated keys, numbers, surrogates, depth).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::authzen::{kind_of_type, normalise_time, CONTEXT_ROOTS};

/// The deepest body taken: a value moved from `subject.properties.x` to `principal.x`
/// sits one level higher in the request than in the body, so a body the strict reading
/// refuses for its depth (past 64) must not reach the binder one level shallower.
const MAX_DEPTH: usize = 48;

/// The most members a `properties` or `context` object may have on the text path: each
/// key is compared with those before it (quadratic, cheap for the handful a request
/// carries), so a larger object is declined at once and read by the tree path, whose
/// cost grows with the body alone (the attack pass: 8,650 keys took 40 ms here).
const MAX_MEMBERS: usize = 64;

/// A JSON object's members in the order sent, refused (so declined) when a key repeats
/// or past [`MAX_MEMBERS`].
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut out: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
                while let Some(key) = m.next_key::<Cow<'de, str>>()? {
                    if out.len() == MAX_MEMBERS {
                        return Err(serde::de::Error::custom("too many members"));
                    }
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(serde::de::Error::custom("a key repeats"));
                    }
                    let value: &'de RawValue = m.next_value()?;
                    out.push((key, value));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Members<'_> {
    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entity<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    properties: Option<Members<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Action<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tuple<'a> {
    #[serde(borrow)]
    subject: Entity<'a>,
    #[serde(borrow)]
    action: Action<'a>,
    #[serde(borrow)]
    resource: Entity<'a>,
    #[serde(borrow, default)]
    context: Option<Members<'a>>,
}

/// The writ request text for one evaluation body, or `None` when the tree path must take
/// it (see the module's doc).
pub(crate) fn request_text(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if deeper_than(text.as_bytes(), MAX_DEPTH) {
        return None;
    }
    let t: Tuple<'_> = serde_json::from_str(text).ok()?;
    let none = Members(Vec::new());
    let subject = t.subject.properties.as_ref().unwrap_or(&none);
    let resource = t.resource.properties.as_ref().unwrap_or(&none);
    let context = t.context.as_ref().unwrap_or(&none);
    // Two sources of one path: the tree mapping compares them (and may refuse); not here.
    if subject.has("id") || subject.has("type") || resource.has("id") || resource.has("kind") {
        return None;
    }
    // `null` is `None` already (serde reads an absent and a null option alike).
    let action_params = match t.action.properties {
        None => None,
        Some(p) if p.get().starts_with('{') => Some(p),
        Some(_) => return None,
    };
    let ip_sources = usize::from(subject.has("ip_address"))
        + usize::from(context.has("ip"))
        + usize::from(context.has("network"));
    // Context keys that land under `request.context`.
    let context_others = context
        .0
        .iter()
        .any(|(k, _)| !CONTEXT_ROOTS.contains(&&**k) && *k != "ip");
    if ip_sources > 1
        || (subject.has("device_id") && context.has("device"))
        || (context.has("request") && (action_params.is_some() || context_others))
        || context.has("approval")
    {
        return None;
    }

    let mut w = Writer(Vec::with_capacity(body.len() + 64));
    w.raw("{\"principal\":{");
    let mut network_ip = None;
    let mut device_id = None;
    let mut first = true;
    for (k, v) in &subject.0 {
        match &**k {
            "ip_address" => network_ip = Some(*v),
            "device_id" => device_id = Some(*v),
            _ => w.member(&mut first, k, v.get()),
        }
    }
    w.string_member(&mut first, "\"id\":", &t.subject.id);
    w.string_member(&mut first, "\"type\":", &t.subject.kind);
    if let (Some(k), false) = (kind_of_type(&t.subject.kind), subject.has("kind")) {
        w.string_member(&mut first, "\"kind\":", k);
    }
    w.raw("},\"action\":");
    w.string(&t.action.name);
    w.raw(",\"resource\":{");
    let mut first = true;
    for (k, v) in &resource.0 {
        w.member(&mut first, k, v.get());
    }
    w.string_member(&mut first, "\"id\":", &t.resource.id);
    w.string_member(&mut first, "\"kind\":", &t.resource.kind);
    w.raw("}");
    // Context: whole roots, `ip`, and the rest under `request.context`.
    let mut others = Vec::new();
    for (k, v) in &context.0 {
        match &**k {
            "ip" => network_ip = Some(*v),
            "time" => {
                w.raw(",\"time\":");
                match serde_json::from_str::<Cow<'_, str>>(v.get()) {
                    Ok(s) => w.string(&normalise_time(&s)),
                    Err(_) => w.raw(v.get()),
                }
            }
            root if CONTEXT_ROOTS.contains(&root) => w.member(&mut false, root, v.get()),
            _ => others.push((k, *v)),
        }
    }
    if let Some(ip) = network_ip {
        w.raw(",\"network\":{\"ip\":");
        w.raw(ip.get());
        w.raw("}");
    }
    if let Some(id) = device_id {
        w.raw(",\"device\":{\"id\":");
        w.raw(id.get());
        w.raw("}");
    }
    if action_params.is_some() || !others.is_empty() {
        w.raw(",\"request\":{");
        let mut first = true;
        if let Some(p) = action_params {
            w.member(&mut first, "params", p.get());
        }
        if !others.is_empty() {
            w.raw(if first {
                "\"context\":{"
            } else {
                ",\"context\":{"
            });
            let mut first = true;
            for (k, v) in others {
                w.member(&mut first, k, v.get());
            }
            w.raw("}");
        }
        w.raw("}");
    }
    w.raw("}");
    String::from_utf8(w.0).ok()
}

/// Whether `{`/`[` nest deeper than `max` anywhere outside strings.
fn deeper_than(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// JSON text being written.
struct Writer(Vec<u8>);

impl Writer {
    fn raw(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    fn string(&mut self, s: &str) {
        // Writing a `str` into a `Vec` does not fail.
        let _ = serde_json::to_writer(&mut self.0, s);
    }

    /// `"key":` then `value` (JSON text), after a comma unless it is the first member.
    fn member(&mut self, first: &mut bool, key: &str, value: &str) {
        if !std::mem::replace(first, false) {
            self.0.push(b',');
        }
        self.string(key);
        self.0.push(b':');
        self.raw(value);
    }

    /// `key` (JSON text, colon included) then `value` as a JSON string, after a comma
    /// unless it is the first member.
    fn string_member(&mut self, first: &mut bool, key: &str, value: &str) {
        if !std::mem::replace(first, false) {
            self.0.push(b',');
        }
        self.raw(key);
        self.string(value);
    }
}

/// How one body went through [`agreement`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agreement {
    /// The text path declined the body (the tree path takes it).
    Declined,
    /// The text path wrote a request the binder refused (the tree path takes it).
    Unbound,
    /// The text path bound the body, as the tree path does.
    Bound,
}

/// Holds the text path to the tree mapping for one evaluation body (the differential
/// test below and the `authzen` fuzz target): whenever the text path takes the body and
/// its text binds, the tree path must read the body strictly, map it to the same request,
/// bind it and decide it alike, digest included. `Err` says how the two differ.
#[doc(hidden)]
pub fn agreement(engine: &writ_engine::Engine, body: &[u8]) -> Result<Agreement, String> {
    let Some(text) = request_text(body) else {
        return Ok(Agreement::Declined);
    };
    let Ok(fast) = engine.bind_str(&text) else {
        return Ok(Agreement::Unbound);
    };
    let shown = String::from_utf8_lossy(body);
    let body = crate::body::parse_object(body).map_err(|e| {
        format!(
            "{shown}\nthe text bound, the strict reading refused: {}",
            e.message
        )
    })?;
    let tree = crate::authzen::map_tuple(&body)
        .map_err(|e| format!("{shown}\nthe text bound, the tree mapping refused: {e}"))?;
    if tree.approval.is_some() {
        return Err(format!("{shown}\nthe text bound a retry carrying a grant"));
    }
    let want = serde_json::Value::Object(tree.request);
    let got: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{shown}\nthe text path wrote JSON it cannot read back: {e}"))?;
    if got != want {
        return Err(format!(
            "{shown}\nthe text path wrote {text}\nthe tree mapped {want}"
        ));
    }
    let slow = engine
        .bind(want)
        .map_err(|e| format!("{shown}\nthe text bound, the tree's request did not: {e}"))?;
    let (a, b) = (engine.decide(&fast), engine.decide(&slow));
    if a != b {
        return Err(format!(
            "{shown}\nthe decisions differ: {a:?} against {b:?}"
        ));
    }
    Ok(Agreement::Bound)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
    use writ_engine::Engine;

    use super::*;

    /// A set that reads every root the mapping writes, with an approval whose digest
    /// binds them: two bound requests that decide alike here bound alike.
    const SET: &str = r#"
schema {
  principal.role: string
  principal.level: int
  resource.status: string
  request.params.soft: bool
  request.context.source: string
}
risk { +30 "unmanaged" when not device.managed }
rule "n" { when network.ip in cidr ["10.0.0.0/8"] and principal.kind == "human" allow }
rule "s" { when session.auth_age < 1h and principal.role == "admin" allow }
rule "t" { when time in hours "Mon-Fri 00:00-12:00" in "UTC" deny }
rule "a" {
  when action == "approve"
  approve { approvers 1 of group "o"
            bind action, principal.id, principal.kind, principal.role, principal.level,
                 resource.id, resource.kind, resource.status, request.params,
                 request.context.source, device.managed, network.ip, time, session.auth_age }
}
rule "l" { when principal.level > 3 and request.context.source == "x" deny }
rule "p" { when request.params.soft == true and resource.status == "active" allow }
"#;

    fn engine() -> Engine {
        let mut sources = writ_syntax::SourceMap::default();
        sources.add("t.writ", SET.to_string());
        let set = writ_check::check(sources).unwrap_or_else(|r| {
            panic!(
                "{}",
                writ_syntax::render(&r.diagnostics, &r.sources, writ_syntax::Style::Plain)
            )
        });
        Engine::new(set)
    }

    /// A small deterministic generator (xorshift), so that a failure names its body.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[(self.next() % from.len() as u64) as usize]
        }
        fn chance(&mut self, in_n: u64) -> bool {
            self.next().is_multiple_of(in_n)
        }
    }

    const VALUES: &[&str] = &[
        r#""admin""#,
        r#""x""#,
        r#""10.1.2.3""#,
        r#""192.168.0.1""#,
        r#""2026-01-05T09:30Z""#,
        r#""2026-01-05T09:30:00Z""#,
        r#""5m""#,
        "true",
        "false",
        "null",
        "1",
        "7",
        "-0.0",
        "1e400",
        "12345678901234567890123",
        r#"{"managed": true, "id": "d1"}"#,
        r#"{"ip": "10.0.0.9"}"#,
        r#"{"auth_age": "10m"}"#,
        r#"{"soft": true}"#,
        r#"{"a": 1, "a": 2}"#,
        r#""\ud800""#,
        r#""caf\u00e9""#,
        "[1, 2]",
        r#"["read", "write"]"#,
        "{}",
    ];

    fn members(g: &mut Gen, keys: &[&str]) -> String {
        let mut out = Vec::new();
        for k in keys {
            if g.chance(3) {
                out.push(format!("\"{k}\": {}", g.pick(VALUES)));
            }
        }
        if g.chance(25) && !out.is_empty() {
            // A repeated key.
            let again = out[0].clone();
            out.push(again);
        }
        format!("{{{}}}", out.join(", "))
    }

    fn properties(g: &mut Gen, keys: &[&str]) -> String {
        match g.next() % 6 {
            0 => String::new(),
            1 => ", \"properties\": null".into(),
            2 => ", \"properties\": [1]".into(),
            _ => format!(", \"properties\": {}", members(g, keys)),
        }
    }

    fn body(g: &mut Gen) -> String {
        let types = ["user", "human", "service", "workload", "agent", "robot"];
        let subject = format!(
            "{{\"type\": \"{}\", \"id\": {}{}}}",
            g.pick(&types),
            g.pick(&[
                r#""alice""#,
                r#""al\u0069ce""#,
                r#""bob""#,
                "7",
                r#""\ud800""#
            ]),
            properties(
                g,
                &[
                    "role",
                    "level",
                    "kind",
                    "ip_address",
                    "device_id",
                    "id",
                    "type",
                    "groups"
                ]
            )
        );
        let action_props = match g.next() % 5 {
            0 => String::new(),
            1 => ", \"properties\": null".into(),
            2 => ", \"properties\": 3".into(),
            _ => format!(", \"properties\": {}", members(g, &["soft", "amount", "x"])),
        };
        let action = format!(
            "{{\"name\": \"{}\"{action_props}}}",
            g.pick(&["read", "approve", "write"])
        );
        let resource = format!(
            "{{\"type\": \"record\", \"id\": \"r1\"{}}}",
            properties(g, &["status", "id", "kind", "owner"])
        );
        let mut parts = vec![
            format!("\"subject\": {subject}"),
            format!("\"action\": {action}"),
            format!("\"resource\": {resource}"),
        ];
        match g.next() % 5 {
            0 => {}
            1 => parts.push("\"context\": null".into()),
            2 => parts.push("\"context\": 5".into()),
            _ => parts.push(format!(
                "\"context\": {}",
                members(
                    g,
                    &[
                        "time", "ip", "device", "network", "session", "scope", "request",
                        "approval", "source", "other"
                    ]
                )
            )),
        }
        if g.chance(10) {
            parts.push("\"extra\": {\"a\": 1}".into());
        }
        if g.chance(20) {
            parts.push("\"action\": {\"name\": \"read\"}".into());
        }
        if g.chance(30) {
            // Drop a required entity.
            let i = (g.next() % 3) as usize;
            parts.remove(i);
        }
        format!("{{{}}}", parts.join(", "))
    }

    /// Every body the text path takes maps, parses and binds as the tree path does, to
    /// the same request and the same decision (digest included); everything the tree
    /// path refuses, the text path declines or fails to bind.
    #[test]
    fn the_text_binds_as_the_tree_does() {
        let engine = engine();
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let (mut taken, mut bound) = (0, 0);
        for _ in 0..60_000 {
            match agreement(&engine, body(&mut g).as_bytes()) {
                Ok(Agreement::Declined) => {}
                Ok(Agreement::Unbound) => taken += 1,
                Ok(Agreement::Bound) => (taken, bound) = (taken + 1, bound + 1),
                Err(e) => panic!("{e}"),
            }
        }
        // The generator reaches both sides.
        assert!(
            taken > 3_000 && bound > 1_200,
            "taken {taken}, bound {bound}"
        );
    }

    #[test]
    fn declines_what_the_tree_must_word_or_merge() {
        let base = r#""action": {"name": "read"}, "resource": {"type": "r", "id": "1"}"#;
        for body in [
            // Two sources of one member, equal or not.
            format!(
                r#"{{"subject": {{"type": "u", "id": "a", "properties": {{"id": "a"}}}}, {base}}}"#
            ),
            format!(
                r#"{{"subject": {{"type": "u", "id": "a", "properties": {{"ip_address": "10.0.0.1"}}}}, {base}, "context": {{"ip": "10.0.0.1"}}}}"#
            ),
            format!(
                r#"{{"subject": {{"type": "u", "id": "a", "properties": {{"device_id": "d"}}}}, {base}, "context": {{"device": {{"managed": true}}}}}}"#
            ),
            format!(
                r#"{{"subject": {{"type": "u", "id": "a"}}, {base}, "context": {{"request": {{}}, "source": "x"}}}}"#
            ),
            // The retry carrying a grant.
            format!(
                r#"{{"subject": {{"type": "u", "id": "a"}}, {base}, "context": {{"approval": {{"grant": "g"}}}}}}"#
            ),
            // A key the text path does not know, a key twice, a wrong type.
            format!(r#"{{"subject": {{"type": "u", "id": "a", "name": "A"}}, {base}}}"#),
            format!(
                r#"{{"subject": {{"type": "u", "id": "a"}}, "subject": {{"type": "u", "id": "b"}}, {base}}}"#
            ),
            format!(r#"{{"subject": {{"type": "u", "id": 7}}, {base}}}"#),
            format!(r#"{{"subject": {{"type": "u", "id": "\ud800"}}, {base}}}"#),
            // More members than the text path compares.
            format!(
                r#"{{"subject": {{"type": "u", "id": "a", "properties": {{{}}}}}, {base}}}"#,
                (0..=MAX_MEMBERS)
                    .map(|i| format!("\"k{i}\": 1"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            // Nested past the text path's depth.
            format!(
                r#"{{"subject": {{"type": "u", "id": "a", "properties": {{"x": {}1{}}}}}, {base}}}"#,
                "[".repeat(60),
                "]".repeat(60)
            ),
        ] {
            assert_eq!(request_text(body.as_bytes()), None, "{body}");
        }
        let plain = format!(r#"{{"subject": {{"type": "user", "id": "a"}}, {base}}}"#);
        assert_eq!(
            request_text(plain.as_bytes()).unwrap(),
            r#"{"principal":{"id":"a","type":"user","kind":"human"},"action":"read","resource":{"id":"1","kind":"r"}}"#
        );
    }
}
