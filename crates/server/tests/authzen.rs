//! AuthZEN 1.0 through a real socket: the Basic, Batch and Discovery cases of the
//! certification scenario (openid/authzen, certification/authorization-api-1_0-scenario.md)
//! on its alice/bob fixture (policies/authzen-certification), and the examples of the
//! specification's text.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::{get, post, post_text, request, start};
use serde_json::{json, Value};

async fn fixture() -> writ_server::Server {
    start(&common::policies("authzen-certification"), |_| {}).await
}

fn decisions(v: &Value) -> Vec<bool> {
    v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["decision"].as_bool().unwrap())
        .collect()
}

const EVAL: &str = "/access/v1/evaluation";
const EVALS: &str = "/access/v1/evaluations";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_fixture_decisions() {
    let s = fixture().await;
    let cases = [
        // C.2.2.1, rule 1.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}),
            true,
        ),
        // Rule 2.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "write"}, "resource": {"type": "record", "id": "record-1"}}),
            true,
        ),
        // Rule 3.
        (
            json!({"subject": {"type": "user", "id": "bob"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}),
            true,
        ),
        // C.2.2.2, rule 4.
        (
            json!({"subject": {"type": "user", "id": "bob"}, "action": {"name": "write"}, "resource": {"type": "record", "id": "record-1"}}),
            false,
        ),
        // C.2.2.3: optional context (a time without seconds, an ip) changes nothing.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"},
                "context": {"time": "2025-06-27T18:03-07:00", "ip": "192.168.1.1"}}),
            true,
        ),
        // C.2.2.4, rule 5.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "write"},
                "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}}}),
            false,
        ),
        // C.2.2.5, rule 6.
        (
            json!({"subject": {"type": "user", "id": "bob", "properties": {"role": "admin"}}, "action": {"name": "write"},
                "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}}}),
            true,
        ),
        // C.2.2.6, rule 7.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "delete", "properties": {"soft": true}},
                "resource": {"type": "record", "id": "record-1"}}),
            true,
        ),
        // C.2.2.7, rule 8.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "delete", "properties": {"soft": false}},
                "resource": {"type": "record", "id": "record-1"}}),
            false,
        ),
        // C.2.2.8: additional properties.
        (
            json!({"subject": {"type": "user", "id": "alice", "properties": {"department": "Sales", "role": "manager"}},
                "action": {"name": "read", "properties": {"method": "GET"}},
                "resource": {"type": "record", "id": "record-1", "properties": {"status": "active", "owner": "bob"}}}),
            true,
        ),
        // C.2.2.9: unknown fields are ignored.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"},
                "foo": "bar", "futureField": {"nested": true}}),
            true,
        ),
    ];
    for (body, want) in cases {
        let r = post(s.addr, EVAL, &body).await;
        assert_eq!(r.status, 200, "{body}: {}", r.text());
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
        let v = r.json();
        assert_eq!(v["decision"], json!(want), "{body}: {v}");
        // C.2.3.2: a context, when present, is an object.
        assert!(v["context"].is_object());
    }
    // C.2.6: idempotent.
    for _ in 0..3 {
        let r = post(s.addr, EVAL, &cases_first()).await;
        assert_eq!(r.json()["decision"], true);
    }
    s.shutdown().await;
}

fn cases_first() -> Value {
    json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_errors_are_400_with_what_was_wrong() {
    let s = fixture().await;
    let bad = [
        // C.2.4.1: missing required fields.
        (
            r#"{"action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}"#,
            "`subject` is required",
        ),
        (
            r#"{"subject": {"type": "user", "id": "alice"}, "resource": {"type": "record", "id": "record-1"}}"#,
            "`action` is required",
        ),
        (
            r#"{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}}"#,
            "`resource` is required",
        ),
        // C.2.4.2: missing sub-fields.
        (
            r#"{"subject": {"id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}"#,
            "`subject.type`",
        ),
        (
            r#"{"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}"#,
            "`subject.id`",
        ),
        (
            r#"{"subject": {"type": "user", "id": "alice"}, "action": {}, "resource": {"type": "record", "id": "record-1"}}"#,
            "`action.name`",
        ),
        (
            r#"{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"id": "record-1"}}"#,
            "`resource.type`",
        ),
        (
            r#"{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record"}}"#,
            "`resource.id`",
        ),
        // C.2.4.4: malformed JSON; C.2.4.5: empty body.
        (r#"{"subject": "#, "not valid JSON"),
        ("", "empty"),
        // C.2.4.6: wrong types.
        (
            r#"{"subject": "alice", "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}"#,
            "`subject` must be an object, not a string",
        ),
        (
            r#"{"subject": {"type": "user", "id": "alice"}, "action": {"name": 123}, "resource": {"type": "record", "id": "record-1"}}"#,
            "`action.name` must be a string, not a number",
        ),
        // A value writ's binder refuses is the client's error too.
        (
            r#"{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}, "context": {"network": {"ip": "not an address"}}}"#,
            "network.ip",
        ),
        // A repeated key is refused, not read one way by the rules and another by the PEP.
        (
            r#"{"subject": {"type": "user", "id": "alice", "id": "bob"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}"#,
            "subject.id",
        ),
    ];
    for (body, want) in bad {
        let r = post_text(s.addr, EVAL, body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(want), "{body}: {msg}");
    }
    // C.2.4.3: a content type other than JSON is 400 (axum's 415 remapped), and so is none.
    let ok_body = cases_first().to_string();
    for headers in [&[("Content-Type", "text/plain")][..], &[][..]] {
        let r = request(s.addr, "POST", EVAL, headers, ok_body.as_bytes()).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], "unsupported_content_type");
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_echoed_or_made() {
    let s = fixture().await;
    let body = cases_first().to_string();
    let r = request(
        s.addr,
        "POST",
        EVAL,
        &[
            ("Content-Type", "application/json"),
            ("X-Request-ID", "req-42"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.header("x-request-id"), Some("req-42"));
    let r = post_text(s.addr, EVAL, &body).await;
    assert!(r
        .header("x-request-id")
        .is_some_and(|v| v.starts_with("r_")));
    // Also on errors.
    let r = request(
        s.addr,
        "POST",
        EVAL,
        &[
            ("Content-Type", "application/json"),
            ("X-Request-ID", "req-43"),
        ],
        b"{",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("x-request-id"), Some("req-43"));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_cases() {
    let s = fixture().await;
    let cases = [
        // C.3.2.1 (structure only).
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"},
                "evaluations": [{"resource": {"type": "record", "id": "record-1"}}, {"resource": {"type": "record", "id": "record-2"}}]}),
            None,
        ),
        // C.3.2.2.
        (
            json!({"subject": {"type": "user", "id": "bob"}, "resource": {"type": "record", "id": "record-1"},
                "evaluations": [{"action": {"name": "read"}}, {"action": {"name": "write"}}]}),
            Some(vec![true, false]),
        ),
        // C.3.2.3.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "write"},
                "evaluations": [
                    {"resource": {"type": "record", "id": "record-1", "properties": {"status": "active"}}},
                    {"resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}}}]}),
            Some(vec![true, false]),
        ),
        // C.3.2.4.
        (
            json!({"action": {"name": "write"}, "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}},
                "evaluations": [
                    {"subject": {"type": "user", "id": "alice"}},
                    {"subject": {"type": "user", "id": "bob", "properties": {"role": "admin"}}}]}),
            Some(vec![false, true]),
        ),
        // C.3.2.5: no defaults.
        (
            json!({"evaluations": [
                    {"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}},
                    {"subject": {"type": "user", "id": "bob"}, "action": {"name": "write"}, "resource": {"type": "record", "id": "record-1"}}]}),
            Some(vec![true, false]),
        ),
        // C.3.2.6: context inheritance.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "context": {"time": "2025-06-27T18:03-07:00"},
                "evaluations": [
                    {"resource": {"type": "record", "id": "record-1"}},
                    {"resource": {"type": "record", "id": "record-2"}, "context": {"time": "2025-06-27T19:00-07:00", "source": "batch-override"}}]}),
            None,
        ),
        // C.3.2.7: default merging, identifiers falling back to the defaults.
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "write"}, "resource": {"type": "record"},
                "evaluations": [
                    {"resource": {"id": "record-1", "properties": {"status": "active"}}},
                    {"resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}}}]}),
            Some(vec![true, false]),
        ),
    ];
    for (body, want) in cases {
        let r = post(s.addr, EVALS, &body).await;
        assert_eq!(r.status, 200, "{body}: {}", r.text());
        let v = r.json();
        // C.3.3: same length, order, a boolean per item; no top-level decision.
        assert_eq!(v["evaluations"].as_array().unwrap().len(), 2, "{v}");
        assert!(v.get("decision").is_none());
        let got = decisions(&v);
        if let Some(want) = want {
            assert_eq!(got, want, "{body}: {v}");
        }
    }
    // C.3.4.1: a failed item is `decision: false` with `context.error`, the rest decided.
    let r = post(
        s.addr,
        EVALS,
        &json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"},
                "evaluations": [{"resource": {"type": "record", "id": "record-1"}}, {}]}),
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(decisions(&v), vec![true, false]);
    assert_eq!(v["evaluations"][1]["context"]["error"]["status"], 400);
    assert!(v["evaluations"][1]["context"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`resource` is required"));
    // C.3.4.2 and C.3.4.3: without `evaluations`, or with an empty one, a single answer.
    for extra in [json!(null), json!([])] {
        let mut body = cases_first();
        if !extra.is_null() {
            body["evaluations"] = extra;
        }
        let r = post(s.addr, EVALS, &body).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["decision"], true, "{body}");
    }
    // Malformed JSON is still a whole-payload 400.
    assert_eq!(post_text(s.addr, EVALS, "{").await.status, 400);
    s.shutdown().await;
}

/// The three semantics of the specification's example: documents 1 and 3 readable, 2 not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_semantics_as_in_the_spec_example() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docs.writ"),
        r#"rule "alice reads odd documents" {
             when principal.id == "alice@example.com" and action == "read" and resource.kind == "document"
               and resource.id in ["1", "3"]
             allow
           }
        "#,
    )
    .unwrap();
    let s = start(dir.path(), |_| {}).await;
    let body = |semantic: &str| {
        json!({"subject": {"type": "user", "id": "alice@example.com"}, "action": {"name": "read"},
               "options": {"evaluations_semantic": semantic},
               "evaluations": [{"resource": {"type": "document", "id": "1"}},
                               {"resource": {"type": "document", "id": "2"}},
                               {"resource": {"type": "document", "id": "3"}}]})
    };
    let got = |v: Value| decisions(&v);
    assert_eq!(
        got(post(s.addr, EVALS, &body("execute_all")).await.json()),
        vec![true, false, true]
    );
    assert_eq!(
        got(post(s.addr, EVALS, &body("deny_on_first_deny"))
            .await
            .json()),
        vec![true, false]
    );
    assert_eq!(
        got(post(s.addr, EVALS, &body("permit_on_first_permit"))
            .await
            .json()),
        vec![true]
    );
    let r = post(s.addr, EVALS, &body("all_at_once")).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("execute_all"));
    s.shutdown().await;
}

/// The specification's own request examples are accepted (its entities and context), and
/// its boxcarred examples answer one decision per item in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_examples() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("acme.writ"),
        r#"schema { principal.department: string }
           rule "alice reads accounts and documents" {
             when principal.id == "alice@acmecorp.com" and action == "can_read"
             allow
           }
        "#,
    )
    .unwrap();
    let s = start(dir.path(), |_| {}).await;
    // Access Evaluation request example (with action properties and a context time).
    let r = post(
        s.addr,
        EVAL,
        &json!({"subject": {"type": "user", "id": "alice@acmecorp.com"},
                "resource": {"type": "account", "id": "123"},
                "action": {"name": "can_read", "properties": {"method": "GET"}},
                "context": {"time": "1985-10-26T01:22-07:00"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["decision"], true);
    // Subject examples: department, ip_address, device_id properties.
    let r = post(
        s.addr,
        EVAL,
        &json!({"subject": {"type": "user", "id": "alice@acmecorp.com",
                            "properties": {"department": "Sales", "ip_address": "172.217.22.14", "device_id": "8:65:ee:17:7e:0b"}},
                "resource": {"type": "book", "id": "123",
                             "properties": {"library_record": {"title": "AuthZEN in Action", "isbn": "978-0593383322"}}},
                "action": {"name": "can_read"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["decision"], true);
    // Boxcarring without defaults, with defaults, and with an overridden default action.
    let three = |item: &dyn Fn(&str) -> Value| {
        ["boxcarring.md", "subject-search.md", "resource-search.md"]
            .iter()
            .map(|d| item(d))
            .collect::<Vec<_>>()
    };
    let full = json!({"evaluations": three(&|d| json!({
        "subject": {"type": "user", "id": "alice@acmecorp.com"}, "action": {"name": "can_read"},
        "resource": {"type": "document", "id": d}, "context": {"time": "2024-05-31T15:22-07:00"}}))});
    assert_eq!(
        decisions(&post(s.addr, EVALS, &full).await.json()),
        vec![true, true, true]
    );
    let defaults = json!({"subject": {"type": "user", "id": "alice@acmecorp.com"}, "context": {"time": "2024-05-31T15:22-07:00"},
        "evaluations": three(&|d| json!({"action": {"name": "can_read"}, "resource": {"type": "document", "id": d}}))});
    assert_eq!(
        decisions(&post(s.addr, EVALS, &defaults).await.json()),
        vec![true, true, true]
    );
    let overridden = json!({"subject": {"type": "user", "id": "alice@acmecorp.com"}, "context": {"time": "2024-05-31T15:22-07:00"},
        "action": {"name": "can_read"},
        "evaluations": [
            {"resource": {"type": "document", "id": "boxcarring.md"}},
            {"resource": {"type": "document", "id": "subject-search.md"}},
            {"action": {"name": "can_edit"}, "resource": {"type": "document", "id": "resource-search.md"}}]});
    assert_eq!(
        decisions(&post(s.addr, EVALS, &overridden).await.json()),
        vec![true, true, false]
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery() {
    let s = fixture().await;
    let r = get(s.addr, "/.well-known/authzen-configuration").await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let v = r.json();
    let base = format!("http://{}", s.addr);
    assert_eq!(v["policy_decision_point"], json!(base));
    assert_eq!(
        v["access_evaluation_endpoint"],
        json!(format!("{base}/access/v1/evaluation"))
    );
    assert_eq!(
        v["access_evaluations_endpoint"],
        json!(format!("{base}/access/v1/evaluations"))
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_is_false_with_approval_required() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.writ"),
        r#"rule "deletes need an owner" {
             when action == "delete"
             approve { approvers 1 of group "owners" bind principal.id, action, resource.id }
           }"#,
    )
    .unwrap();
    let s = start(dir.path(), |_| {}).await;
    let r = post(
        s.addr,
        EVAL,
        &json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "delete"}, "resource": {"type": "record", "id": "r1"}}),
    )
    .await;
    let v = r.json();
    assert_eq!(v["decision"], false);
    assert_eq!(v["context"]["reason"], "approval_required");
    assert!(v["context"]["evaluation_id"]
        .as_str()
        .unwrap()
        .starts_with("d_"));
    assert!(v["context"]["approval_required"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    // Without approval state there is nowhere to request access: no `access_request`.
    assert!(v["context"].get("access_request").is_none());
    s.shutdown().await;
}
