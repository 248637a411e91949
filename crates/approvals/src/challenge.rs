//! A challenge: one `approve` decision waiting for its approvers — what is approved (the
//! digest, a readable summary, the binding code), what it takes (the merged requirements),
//! who answered, and until when it accepts answers.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use writ_engine::{ApprovalOut, Request};

use crate::identity;

/// Approval methods: what a policy requires and what evidence is (docs/language.md §9).
pub use writ_check::ir::Method;

/// One approver clause: `count` distinct approvers from `group`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    /// How many.
    pub count: u32,
    /// From which group.
    pub group: String,
}

/// The merged requirements of the `approve` decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirements {
    /// Every clause must be met, each approver counting once.
    pub approvers: Vec<Clause>,
    /// The required method.
    pub method: Method,
    /// Lifetime of the challenge and of the grant, seconds.
    pub ttl_s: u64,
    /// The bound paths.
    pub bind: Vec<String>,
    /// For an elevation (`approve for D`): how long the grant may be used again and again
    /// after it is issued, seconds; `None` for a single-use approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elevation_s: Option<u64>,
}

impl Requirements {
    /// The requirements of a decision's approval.
    pub fn of(approval: &ApprovalOut) -> Requirements {
        Requirements {
            approvers: approval
                .approvers
                .iter()
                .map(|a| Clause {
                    count: a.count,
                    group: a.group.to_string(),
                })
                .collect(),
            method: approval.method,
            ttl_s: approval.ttl_s,
            bind: approval.bind.iter().map(|b| b.to_string()).collect(),
            elevation_s: approval.elevation_s,
        }
    }
}

/// Where a challenge stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for approvers.
    Open,
    /// The quorum was met; the grant was issued.
    Granted,
    /// An approver denied it.
    Denied,
    /// Too many failed attempts.
    Locked,
    /// A valid proof came with another challenge's binding code: the approver was shown
    /// another transaction (a relayed request). Closed; accepts nothing more.
    RelaySuspected,
}

/// One accepted approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approved {
    /// The approver.
    pub approver: String,
    /// The evidence's method.
    pub method: Method,
    /// When (RFC 3339).
    pub at: String,
}

/// Who asks, as the request names them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// `principal.id`.
    pub principal: Option<String>,
    /// `principal.kind`.
    pub kind: Option<String>,
    /// `principal.on_behalf_of`.
    pub on_behalf_of: Option<String>,
    /// `action`.
    pub action: Option<String>,
    /// `resource.id`.
    pub resource: Option<String>,
    /// `session.id`.
    pub session: Option<String>,
    /// RFC 7638 thumbprint of `principal.key`, when the request carries one.
    pub jkt: Option<String>,
    /// RFC 8705 `x5t#S256` of the client certificate the request came over, when the
    /// caller said so ([`crate::Approvals::decide_over_certificate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
}

impl Requester {
    /// The requester fields of a bound request.
    pub fn of(request: &Request, jkt: Option<String>) -> Requester {
        Requester::read(|p| request.value_at(p), jkt)
    }

    /// The requester fields of a request document.
    pub fn of_json(request: &Json, jkt: Option<String>) -> Requester {
        Requester::read(|p| writ_engine::lookup(request, p.split('.')), jkt)
    }

    fn read<'j>(value_at: impl Fn(&str) -> Option<&'j Json>, jkt: Option<String>) -> Requester {
        let s = |p: &str| value_at(p).and_then(Json::as_str).map(str::to_string);
        Requester {
            principal: s("principal.id"),
            kind: s("principal.kind"),
            on_behalf_of: s("principal.on_behalf_of"),
            action: s("action"),
            resource: s("resource.id"),
            session: s("session.id"),
            jkt,
            x5t: None,
        }
    }
}

/// A challenge, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Its id (`ch_…`).
    pub id: String,
    /// The transaction digest being approved.
    pub digest: String,
    /// The six-digit binding code shown to requester and approver.
    pub code: String,
    /// What is being approved, for people.
    pub summary: String,
    /// Who asks for what.
    pub requester: Requester,
    /// What it takes.
    pub requirements: Requirements,
    /// The policy version that asked for it.
    pub policy_version: String,
    /// The decision that opened it.
    pub decision_id: String,
    /// Opened at (unix seconds).
    pub opened_at: i64,
    /// Accepts answers until (unix seconds, exclusive).
    pub expires_at: i64,
    /// Where it stands.
    pub state: State,
    /// Accepted approvals, in order.
    pub approvals: Vec<Approved>,
    /// Who denied it, when denied.
    pub denied_by: Option<String>,
    /// Failed pieces of evidence so far.
    pub failures: u32,
    /// The grant, once issued (the requester collects it).
    pub grant: Option<String>,
    /// Refused answers so far (of any kind): past a few, refusals are audited as counts
    /// only, so garbage answers cannot flood the audit log.
    #[serde(default)]
    pub refused: u32,
    /// Identical requests merged into this challenge (their decision ids).
    #[serde(default)]
    pub merged: Vec<String>,
    /// Every bound path with its value in full, or marked missing.
    #[serde(default)]
    pub bound: Vec<Bound>,
    /// What an approver must look at twice (look-alike or hidden characters in who asks,
    /// for what, on what).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Hashes of the collection secrets handed to the requesters (requests without
    /// `principal.key`): only their holders collect the grant.
    #[serde(default)]
    pub collect: Vec<String>,
    /// The rules that produced the `approve` decision.
    #[serde(default)]
    pub rules: Vec<String>,
    /// The decision's risk score, 0..=100.
    #[serde(default)]
    pub risk: u32,
    /// The risk signals that counted, in set order.
    #[serde(default)]
    pub signals: Vec<Signal>,
    /// When its grant was revoked (unix seconds): shown as `revoked`, collected no more.
    /// The store's revocation record, not this, is what refuses a redemption.
    #[serde(default)]
    pub revoked_at: Option<i64>,
}

/// A risk signal that counted for a decision, as a challenge keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// The signal's name.
    pub name: String,
    /// Its points.
    pub points: u32,
}

/// The JSON type of a bound value, so an approver tells `"1200"` from `1200`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// The request does not carry the path (absent or `null`).
    Missing,
    /// `true` or `false`.
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// A list.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    /// The type of `value` (`Missing` for none, or `null`).
    pub fn of(value: Option<&Json>) -> JsonType {
        match value {
            None | Some(Json::Null) => JsonType::Missing,
            Some(Json::Bool(_)) => JsonType::Boolean,
            Some(Json::Number(_)) => JsonType::Number,
            Some(Json::String(_)) => JsonType::String,
            Some(Json::Array(_)) => JsonType::Array,
            Some(Json::Object(_)) => JsonType::Object,
        }
    }
}

/// One bound path as the approver's view shows it: the path, its exact value in full
/// (never shortened: a renderer wraps long values, it does not cut them), its JSON type,
/// and whether it is missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BoundValue {
    /// The path, as written in `bind`.
    pub path: String,
    /// The request's value there, exactly (absent when missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
    /// Its JSON type (`missing` when the request does not carry it).
    #[serde(rename = "type")]
    pub json_type: JsonType,
    /// The request does not carry it (absent or `null`): the digest binds `null`.
    pub missing: bool,
}

impl From<&Bound> for BoundValue {
    fn from(b: &Bound) -> BoundValue {
        BoundValue {
            path: b.path.clone(),
            value: b.value.clone(),
            json_type: JsonType::of(b.value.as_ref()),
            missing: b.missing,
        }
    }
}

/// One bound path as the approver must see it: its exact value, or that it is missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    /// The path, as written in `bind`.
    pub path: String,
    /// The request's value there, exactly (absent when missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
    /// The request does not carry it (absent or `null`): the digest binds `null`.
    pub missing: bool,
}

impl Bound {
    /// The bound paths of `request`, in `bind` order.
    pub fn of(request: &Request, bind: &[String]) -> Vec<Bound> {
        bind.iter()
            .map(|p| {
                let value = request.value_at(p).cloned();
                Bound {
                    path: p.clone(),
                    missing: value.is_none(),
                    value,
                }
            })
            .collect()
    }
}

impl Challenge {
    /// The message an approver signs to answer: `"writ-approval-v1" || 0x00 || id || 0x00
    /// || digest || 0x00 || ("approve" | "deny")`. Binding the id and the digest means a
    /// signature is good for one challenge over one transaction, and for one answer.
    pub fn message(&self, approve: bool) -> Vec<u8> {
        answer_message(&self.id, &self.digest, approve)
    }

    /// Whether it still accepts answers at `now` (unix seconds).
    pub fn is_live(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// See [`Challenge::message`].
pub fn answer_message(id: &str, digest: &str, approve: bool) -> Vec<u8> {
    let verdict = if approve { "approve" } else { "deny" };
    format!("writ-approval-v1\0{id}\0{digest}\0{verdict}").into_bytes()
}

/// The longest value a summary shows whole, in characters (after escaping).
pub const SUMMARY_VALUE_MAX: usize = 200;

/// What an approver must look at twice in who asks, for what, on what: names that mix
/// scripts (a look-alike of another name), names with blank space around them, and names
/// with hidden characters.
pub fn warnings(requester: &Requester) -> Vec<String> {
    let fields = [
        ("principal.id", &requester.principal),
        ("principal.on_behalf_of", &requester.on_behalf_of),
        ("action", &requester.action),
        ("resource.id", &requester.resource),
    ];
    let mut out = Vec::new();
    for (path, value) in fields {
        let Some(v) = value else { continue };
        if let Some(scripts) = identity::mixed_scripts(v) {
            out.push(format!(
                "`{path}` `{}` mixes scripts ({}): it may imitate another name",
                identity::visible(v),
                scripts.join(", ")
            ));
        }
        if v.starts_with(char::is_whitespace) || v.ends_with(char::is_whitespace) {
            out.push(format!(
                "`{path}` `{}` begins or ends with blank space: it may imitate `{}`",
                identity::visible(v),
                identity::visible(v.trim())
            ));
        }
        if identity::has_hidden(v) {
            out.push(format!(
                "`{path}` `{}` holds invisible or control characters (shown escaped)",
                identity::visible(v)
            ));
        }
    }
    out
}

/// A readable line saying what is approved: who, what, on what, each other bound value
/// (a missing one as `<missing>`), and every warning. Hidden characters are shown
/// escaped (`\u{202e}`); a value longer than [`SUMMARY_VALUE_MAX`] characters, or with a
/// long run of spaces, is shortened, and the line says so: the whole value is in the
/// challenge's `bound`.
pub fn summary(
    bound: &[Bound],
    requester: &Requester,
    warnings: &[String],
    elevation_s: Option<u64>,
) -> String {
    let show = |v: &Option<String>, none: &str| {
        v.as_deref()
            .map_or_else(|| none.to_string(), identity::visible)
    };
    let mut out = show(&requester.principal, "<unknown principal>");
    if let Some(kind) = &requester.kind {
        out.push_str(&format!(" ({})", identity::visible(kind)));
    }
    if let Some(human) = &requester.on_behalf_of {
        out.push_str(&format!(" on behalf of {}", identity::visible(human)));
    }
    out.push_str(&format!(
        " asks to {} on {}",
        show(&requester.action, "<unknown action>"),
        show(&requester.resource, "<unknown resource>"),
    ));
    let shown = [
        "principal.id",
        "principal.kind",
        "principal.on_behalf_of",
        "action",
        "resource.id",
    ];
    let mut shortened = Vec::new();
    let rest: Vec<String> = bound
        .iter()
        .filter(|b| b.missing || !shown.contains(&b.path.as_str()))
        .map(|b| match &b.value {
            None => format!("{} = <missing>", b.path),
            Some(v) => {
                let (text, short) = display_value(v);
                if short {
                    shortened.push(format!("`{}`", b.path));
                }
                format!("{} = {text}", b.path)
            }
        })
        .collect();
    if !rest.is_empty() {
        out.push_str("; ");
        out.push_str(&rest.join(", "));
    }
    // Requests that differ only in the workload key are separate challenges: say which
    // key the grant will be bound to, so an approver can tell them apart.
    if let Some(jkt) = &requester.jkt {
        out.push_str(&format!("; the grant is bound to workload key {jkt}"));
    }
    // An elevation is not one transaction: say for how long, and that it covers every
    // request with these bound values (other actions too, when `action` is not bound).
    if let Some(d) = elevation_s {
        let every = if bound.iter().any(|b| b.path == "action") {
            "every use of this action"
        } else {
            "every action the policy approves"
        };
        out.push_str(&format!(
            "; ELEVATION for {}: {every} with these bound values, until it ends or is revoked",
            duration_text(d)
        ));
    }
    if !shortened.is_empty() {
        out.push_str(&format!(
            "; SHORTENED here: {} (the whole value is in the challenge's `bound`: read it before approving)",
            shortened.join(", ")
        ));
    }
    for w in warnings {
        out.push_str(&format!("; WARNING: {w}"));
    }
    out
}

/// Seconds as people read a policy's durations: `30m`, `2h`, `1h30m`, `45s`.
fn duration_text(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// A value as a summary shows it: JSON text, hidden characters escaped, runs of 8 or more
/// spaces written as `[N spaces]`, clipped at [`SUMMARY_VALUE_MAX`] characters; and
/// whether any of that shortened it.
fn display_value(value: &Json) -> (String, bool) {
    let text = identity::visible(&value.to_string());
    let mut out = String::with_capacity(text.len());
    let mut shortened = false;
    let mut spaces = 0usize;
    let flush = |out: &mut String, spaces: &mut usize, shortened: &mut bool| {
        if *spaces >= 8 {
            out.push_str(&format!("[{spaces} spaces]"));
            *shortened = true;
        } else {
            out.extend(std::iter::repeat_n(' ', *spaces));
        }
        *spaces = 0;
    };
    for c in text.chars() {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        flush(&mut out, &mut spaces, &mut shortened);
        out.push(c);
    }
    flush(&mut out, &mut spaces, &mut shortened);
    let count = out.chars().count();
    if count <= SUMMARY_VALUE_MAX {
        return (out, shortened);
    }
    let cut: String = out.chars().take(SUMMARY_VALUE_MAX).collect();
    (format!("{cut}…[{count} characters]"), true)
}
