//! Who is calling, through real sockets: `writ serve` over TLS with client certificates the
//! test makes (testkit's rcgen CA), bearer JWTs against a JWKS the test makes, and API keys
//! — an enforcement point asks about anyone, an actor's identity fills `principal.*`, an
//! actor claiming another id is refused, and so are no credential, a certificate from
//! another CA, a header sent twice; then the approval flow with every party on mTLS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{tls_client, tls_post, tls_request};
use serde_json::{json, Value};
use writ_approvals::KeyPair;
use writ_server::{Identity, Server, ServerConfig, StateConfig, TlsFiles};
use writ_testkit::jwt::{jwks, JwtKey};
use writ_testkit::pki::TestCa;

const POLICY: &str = r#"
schema {
  request.params.amount: number
  request.params.payee:  string
}

rule "the payments workload reads the ledger when attested" {
  when action == "ledger.read"
    and principal.id == "spiffe://example.org/ns/pay/sa/payments"
    and principal.kind == "workload"
    and principal.attested == true
  allow
}

rule "billing bots read invoices for their human" {
  when action == "invoices.read"
    and principal.groups has "billing-bots"
    and principal.on_behalf_of == "alice@example.com"
  allow
}

rule "transfers need finance" {
  when action == "payments.transfer"
  approve {
    approvers 1 of group "finance"
    method signature
    bind principal.id, action, resource.id, request.params.amount, request.params.payee
    ttl 5m
  }
}
"#;

const GATEWAY: &str = "spiffe://example.org/ns/edge/sa/gateway";
const PAYMENTS: &str = "spiffe://example.org/ns/pay/sa/payments";
const BILLING_BOT: &str = "spiffe://example.org/ns/agents/billing-bot";
const ISSUER: &str = "https://oidc.example.org";

struct World {
    _dir: tempfile::TempDir,
    ca: TestCa,
    jwt: JwtKey,
    api_key: String,
    dana: KeyPair,
    server: Server,
}

fn callers_toml(dir: &Path, api_key: &str) -> std::path::PathBuf {
    let path = dir.join("callers.toml");
    std::fs::write(
        &path,
        format!(
            r#"trust_domains = ["example.org"]

[jwt]
issuer = "{ISSUER}"
audience = "writ"
jwks = "jwks.json"

[[enforcement_point]]
id = "{GATEWAY}"
explain = true

[[actor]]
id = "{PAYMENTS}"
kind = "workload"

[[actor]]
prefix = "spiffe://example.org/ns/agents/"
kind = "agent"

[[actor]]
id = "{BILLING_BOT}"
kind = "agent"
groups = ["billing-bots"]
on_behalf_of = "alice@example.com"

[[actor]]
id = "dana"
kind = "human"

[[actor]]
id = "erin"
kind = "human"

[[api_key]]
name = "nightly-report"
hash = "{}"
role = "actor"
kind = "workload"
"#,
            writ_callers::hash_api_key(api_key)
        ),
    )
    .unwrap();
    path
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let (policies, [dana]) =
        common::policy_dir(dir.path(), "payments.writ", POLICY, [("dana", "finance")]);
    let ca = TestCa::new("writ test ca");
    let (cert, key) = ca.server().write(dir.path(), "server");
    let client_ca = ca.write(dir.path(), "ca");
    let jwt = JwtKey::es256("k1");
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&jwt])).unwrap();
    let api_key = writ_callers::new_api_key().unwrap();
    let callers = writ_callers::Callers::load(&callers_toml(dir.path(), &api_key)).unwrap();
    let mut config = ServerConfig::new(&policies, Identity::Verified(Arc::new(callers)));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin = None;
    config.state = StateConfig::Dir(dir.path().join("state"));
    config.tls = Some(TlsFiles {
        cert,
        key,
        client_ca: Some(client_ca),
    });
    let server = Server::start(config).await.expect("the server starts");
    World {
        _dir: dir,
        ca,
        jwt,
        api_key,
        dana,
        server,
    }
}

impl World {
    fn as_workload(&self, id: &str) -> tokio_rustls::TlsConnector {
        let c = self.ca.client(id);
        tls_client(self.ca.cert_der(), Some((&c.cert_der, &c.key_der)))
    }

    fn anonymous(&self) -> tokio_rustls::TlsConnector {
        tls_client(self.ca.cert_der(), None)
    }

    fn token(&self, sub: &str) -> String {
        let now = jiff::Timestamp::now().as_second();
        self.jwt
            .sign(&json!({"iss": ISSUER, "aud": "writ", "sub": sub,
                              "iat": now, "exp": now + 300}))
    }
}

fn ledger(principal: Value) -> Value {
    json!({"principal": principal, "action": "ledger.read",
           "resource": {"kind": "ledger", "id": "l-1"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_enforcement_points_and_actors() {
    let w = world().await;
    let addr = w.server.addr;
    // The gateway (an enforcement point) asks about any subject, as sent.
    let gw = w.as_workload(GATEWAY);
    let r = tls_post(
        addr,
        &gw,
        "/v1/decide",
        &[],
        &ledger(json!({"id": PAYMENTS, "kind": "workload", "attested": true})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["decision"], "allow", "{}", r.text());
    let r = tls_post(
        addr,
        &gw,
        "/v1/decide",
        &[],
        &ledger(json!({"id": "someone-else", "kind": "workload", "attested": true})),
    )
    .await
    .unwrap();
    assert_eq!(r.json()["decision"], "deny", "{}", r.text());
    // AuthZEN too.
    let r = tls_post(
        addr,
        &gw,
        "/access/v1/evaluation",
        &[],
        &json!({"subject": {"type": "workload", "id": "alice"}, "action": {"name": "ledger.read"},
                "resource": {"type": "ledger", "id": "l-1"}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["decision"], false);

    // The payments workload is the actor: an empty principal is filled from its
    // certificate (id, kind, attested), and the rule that needs all three allows.
    let pay = w.as_workload(PAYMENTS);
    let r = tls_post(addr, &pay, "/v1/decide", &[], &ledger(json!({})))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["decision"], "allow", "{}", r.text());
    // Claiming another id is refused; so is another kind, or `attested: false`.
    for claim in [
        json!({"id": GATEWAY}),
        json!({"kind": "human"}),
        json!({"attested": false}),
    ] {
        let r = tls_post(addr, &pay, "/v1/decide", &[], &ledger(claim.clone()))
            .await
            .unwrap();
        assert_eq!(r.status, 403, "{claim}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "identity_conflict");
    }
    let r = tls_post(
        addr,
        &pay,
        "/access/v1/evaluation",
        &[],
        &json!({"subject": {"type": "workload", "id": GATEWAY}, "action": {"name": "ledger.read"},
                "resource": {"type": "ledger", "id": "l-1"}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    // An agent under the prefix is an actor of kind `agent`: the workload rule does not
    // apply to it whatever it claims.
    let agent = w.as_workload("spiffe://example.org/ns/agents/tool-7");
    let r = tls_post(addr, &agent, "/v1/decide", &[], &ledger(json!({})))
        .await
        .unwrap();
    assert_eq!(r.json()["decision"], "deny", "{}", r.text());
    // A SPIFFE ID callers.toml does not place, and one from another trust domain.
    for (id, code) in [
        ("spiffe://example.org/ns/other/sa/x", "unknown_caller"),
        ("spiffe://evil.org/ns/pay/sa/payments", "untrusted_domain"),
    ] {
        let r = tls_post(
            addr,
            &w.as_workload(id),
            "/v1/decide",
            &[],
            &ledger(json!({})),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 401, "{id}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code);
    }
    // No certificate and no other credential: 401.
    let r = tls_post(addr, &w.anonymous(), "/v1/decide", &[], &ledger(json!({})))
        .await
        .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "no_credentials");
    // A certificate from another CA: the handshake fails, no response.
    let other = TestCa::new("another ca");
    let c = other.client(PAYMENTS);
    let foreign = tls_client(w.ca.cert_der(), Some((&c.cert_der, &c.key_der)));
    assert!(
        tls_post(addr, &foreign, "/v1/decide", &[], &ledger(json!({})))
            .await
            .is_err(),
        "a certificate from another CA got a response"
    );
    // A certificate together with a bearer token is ambiguous.
    let token = format!("Bearer {}", w.token(PAYMENTS));
    let r = tls_post(
        addr,
        &pay,
        "/v1/decide",
        &[("Authorization", &token)],
        &ledger(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "ambiguous_credentials");
    // Plain HTTP on the TLS port gets nothing.
    let plain = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::task::spawn(common::try_raw(
            addr,
            b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(plain.is_none_or(|r| r.status != 200));
    w.server.shutdown().await;
}

/// Several requests on one kept-alive mTLS connection: `(extra headers, body)` each; the
/// status and JSON of each answer.
async fn on_one_connection(
    w: &World,
    tls: &tokio_rustls::TlsConnector,
    requests: &[(&[(&str, &str)], Value)],
) -> Vec<(u16, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpStream::connect(w.server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut s = tls.connect(name, tcp).await.unwrap();
    let mut answers = Vec::new();
    for (headers, body) in requests {
        let body = body.to_string();
        let mut head = format!(
            "POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in *headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        s.write_all(format!("{head}\r\n{body}").as_bytes())
            .await
            .unwrap();
        let mut buf = Vec::new();
        let (status, json) = loop {
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the connection closed");
            buf.extend_from_slice(&chunk[..n]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = std::str::from_utf8(&buf[..end])
                .unwrap()
                .to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            if buf.len() >= end + 4 + length {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                break (
                    status,
                    serde_json::from_slice(&buf[end + 4..end + 4 + length]).unwrap(),
                );
            }
        };
        answers.push((status, json));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_s_certificate_is_read_once_and_headers_still_count() {
    let w = world().await;
    let pay = w.as_workload(PAYMENTS);
    let token = format!("Bearer {}", w.token(PAYMENTS));
    let none: &[(&str, &str)] = &[];
    // The actor's certificate proves it on every request of the connection (its identity
    // fills the principal each time), a header beside it is still ambiguous, and a claim
    // of another id is still a conflict.
    let answers = on_one_connection(
        &w,
        &pay,
        &[
            (none, ledger(json!({}))),
            (none, ledger(json!({}))),
            (&[("Authorization", token.as_str())], ledger(json!({}))),
            (none, ledger(json!({"id": GATEWAY}))),
            (none, ledger(json!({}))),
        ],
    )
    .await;
    let codes: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(codes, [200, 200, 401, 403, 200], "{answers:?}");
    assert_eq!(answers[1].1["decision"], "allow");
    assert_eq!(answers[2].1["error"]["code"], "ambiguous_credentials");
    assert_eq!(answers[3].1["error"]["code"], "identity_conflict");
    assert_eq!(answers[4].1["decision"], "allow");
    // A caller callers.toml does not place is refused on every request, not only the first.
    let stranger = w.as_workload("spiffe://example.org/ns/other/sa/x");
    let answers = on_one_connection(
        &w,
        &stranger,
        &[(none, ledger(json!({}))), (none, ledger(json!({})))],
    )
    .await;
    for (status, json) in &answers {
        assert_eq!(*status, 401);
        assert_eq!(json["error"]["code"], "unknown_caller");
    }
    w.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_and_api_keys() {
    let w = world().await;
    let addr = w.server.addr;
    let tls = w.anonymous();
    // A JWT-SVID for the payments workload: the same actor as over mTLS.
    let token = format!("Bearer {}", w.token(PAYMENTS));
    let r = tls_post(
        addr,
        &tls,
        "/v1/decide",
        &[("Authorization", &token)],
        &ledger(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["decision"], "allow", "{}", r.text());
    let r = tls_post(
        addr,
        &tls,
        "/v1/decide",
        &[("Authorization", &token)],
        &ledger(json!({"id": GATEWAY})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    // A token signed by a key the JWKS does not hold; an expired one. The body names the
    // code and never echoes the token.
    let stranger = JwtKey::es256("k1");
    let now = jiff::Timestamp::now().as_second();
    let forged = stranger.sign(
        &json!({"iss": ISSUER, "aud": "writ", "sub": PAYMENTS, "iat": now, "exp": now + 300}),
    );
    let expired = w.jwt.sign(&json!({"iss": ISSUER, "aud": "writ", "sub": PAYMENTS, "iat": now - 4000, "exp": now - 3600}));
    for (t, code) in [(forged, "invalid_token"), (expired, "token_expired")] {
        let r = tls_post(
            addr,
            &tls,
            "/v1/decide",
            &[("Authorization", &format!("Bearer {t}"))],
            &ledger(json!({})),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], code);
        assert!(!r.text().contains(&t), "the 401 body echoes the token");
    }
    // `Authorization` twice: refused, whichever is valid.
    let r = tls_post(
        addr,
        &tls,
        "/v1/decide",
        &[("Authorization", &token), ("Authorization", &token)],
        &ledger(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "ambiguous_credentials");

    // The API key: an actor named by its entry, not attested (a shared secret).
    let key = w.api_key.clone();
    let r = tls_post(
        addr,
        &tls,
        "/v1/decide",
        &[("X-API-Key", &key)],
        &ledger(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["decision"], "deny", "{}", r.text());
    let r = tls_post(
        addr,
        &tls,
        "/v1/decide",
        &[("X-API-Key", &key)],
        &ledger(json!({"attested": true})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    let r = tls_post(
        addr,
        &tls,
        "/v1/decide",
        &[("X-API-Key", &key), ("X-API-Key", &key)],
        &ledger(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "ambiguous_credentials");
    let wrong = writ_callers::new_api_key().unwrap();
    let r = tls_post(
        addr,
        &tls,
        "/v1/decide",
        &[("X-API-Key", &wrong)],
        &ledger(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "unknown_api_key");
    assert!(!r.text().contains(&wrong));
    w.server.shutdown().await;
}

fn transfer() -> Value {
    json!({"subject": {"type": "workload", "id": PAYMENTS},
           "action": {"name": "payments.transfer", "properties": {"amount": 1200, "payee": "ACME"}},
           "resource": {"type": "account", "id": "acct-1"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_flow_over_mtls() {
    let w = world().await;
    let addr = w.server.addr;
    let pay = w.as_workload(PAYMENTS);
    // The payments workload asks for itself; the policy wants finance.
    let r = tls_post(addr, &pay, "/access/v1/evaluation", &[], &transfer())
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["context"]["reason"], "approval_required", "{v}");
    let ar = &v["context"]["access_request"];
    let id = ar["challenge_id"].as_str().unwrap().to_string();
    let digest = ar["binding_hash"].as_str().unwrap().to_string();
    let secret = ar["collection_secret"].as_str().unwrap().to_string();
    assert!(
        ar["endpoint"].as_str().unwrap().starts_with("https://"),
        "{ar}"
    );
    // dana answers through the gateway's connection (the answer carries her signature).
    let gw = w.as_workload(GATEWAY);
    let r = tls_request(addr, &gw, "GET", &format!("/v1/challenges/{id}"), &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = common::signed_answer("dana", &w.dana, &id, &digest, true);
    let r = tls_post(
        addr,
        &gw,
        &format!("/v1/challenges/{id}/answers"),
        &[],
        &answer,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // The requester collects and redeems, over its own certificate.
    let r = tls_post(
        addr,
        &pay,
        &format!("/v1/challenges/{id}/grant"),
        &[],
        &json!({"secret": secret}),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let grant = r.json()["grant"].as_str().unwrap().to_string();
    // RFC 8705: the grant is bound to the certificate the request came over.
    let body = grant.split('.').nth(2).unwrap();
    let bytes = writ_approvals::unb64(body, "grant").unwrap();
    let claims: Value = serde_json::from_slice(&bytes[..bytes.len() - 64]).unwrap();
    assert!(claims["cnf"]["x5t#S256"].is_string(), "{claims}");
    assert!(claims["cnf"].get("jkt").is_none(), "{claims}");
    let mut retry = transfer();
    retry["context"] = json!({"approval": {"grant": grant.clone()}});
    // The same SPIFFE ID with another certificate, or with a token: refused, not consumed.
    let other_cert = w.as_workload(PAYMENTS);
    let r = tls_post(addr, &other_cert, "/access/v1/evaluation", &[], &retry)
        .await
        .unwrap();
    assert_eq!(r.json()["decision"], false, "{}", r.text());
    assert_eq!(
        r.json()["context"]["reason"],
        "key_mismatch",
        "{}",
        r.text()
    );
    let token = format!("Bearer {}", w.token(PAYMENTS));
    let r = tls_post(
        addr,
        &w.anonymous(),
        "/v1/redeem",
        &[("Authorization", &token)],
        &json!({"request": {"principal": {}, "action": "payments.transfer",
                            "resource": {"id": "acct-1", "kind": "account"},
                            "request": {"params": {"amount": 1200, "payee": "ACME"}}},
                "grant": grant}),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["decision"], "deny", "{}", r.text());
    assert_eq!(r.json()["refusal"]["code"], "key_mismatch", "{}", r.text());
    retry["context"] = json!({"approval": {"grant": grant}});
    let r = tls_post(addr, &pay, "/access/v1/evaluation", &[], &retry)
        .await
        .unwrap();
    assert_eq!(r.json()["decision"], true, "{}", r.text());
    let r = tls_post(addr, &pay, "/access/v1/evaluation", &[], &retry)
        .await
        .unwrap();
    assert_eq!(r.json()["decision"], false, "a replay: {}", r.text());
    w.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tls_only_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let callers =
        writ_callers::Callers::parse("callers.toml", "[unlisted]\nkind = \"workload\"\n").unwrap();
    let mut config = ServerConfig::new(
        common::policies("authzen-certification"),
        Identity::Verified(Arc::new(callers)),
    );
    config.listen = "0.0.0.0:0".parse().unwrap();
    config.admin = None;
    let e = Server::start(config).await.unwrap_err();
    assert!(e.to_string().contains("loopback"), "{e}");
    drop(dir);
}

fn invoices(principal: Value) -> Value {
    json!({"principal": principal, "action": "invoices.read",
           "resource": {"kind": "invoice", "id": "i-1"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_on_behalf_of_come_from_the_identity_when_callers_toml_vouches() {
    let w = world().await;
    let addr = w.server.addr;
    // The vouched agent: its groups and human are filled in, so the rule applies.
    let bot = w.as_workload(BILLING_BOT);
    let r = tls_post(addr, &bot, "/v1/decide", &[], &invoices(json!({})))
        .await
        .unwrap();
    assert_eq!(r.json()["decision"], "allow", "{}", r.text());
    // Saying the same (groups in any order) is no conflict.
    let same = json!({"groups": ["billing-bots"], "on_behalf_of": "alice@example.com"});
    let r = tls_post(addr, &bot, "/v1/decide", &[], &invoices(same))
        .await
        .unwrap();
    assert_eq!(r.json()["decision"], "allow", "{}", r.text());
    // Claiming more groups, or another human: refused, on every route that decides.
    for claim in [
        json!({"groups": ["billing-bots", "finance"]}),
        json!({"groups": []}),
        json!({"on_behalf_of": "bob@example.com"}),
    ] {
        for path in ["/v1/decide", "/v1/explain"] {
            let r = tls_post(addr, &bot, path, &[], &invoices(claim.clone()))
                .await
                .unwrap();
            assert_eq!(r.status, 403, "{claim} {path}: {}", r.text());
            assert_eq!(r.json()["error"]["code"], "identity_conflict");
        }
        let authzen = json!({"subject": {"type": "agent", "id": BILLING_BOT, "properties": claim},
                             "action": {"name": "invoices.read"},
                             "resource": {"type": "invoice", "id": "i-1"}});
        let r = tls_post(addr, &bot, "/access/v1/evaluation", &[], &authzen)
            .await
            .unwrap();
        assert_eq!(r.status, 403, "{}", r.text());
    }
    // An agent callers.toml vouches nothing for still names its own groups (documented:
    // only what the identity vouches for is checked) — but cannot be the vouched one.
    let other = w.as_workload("spiffe://example.org/ns/agents/tool-7");
    let r = tls_post(
        addr,
        &other,
        "/v1/decide",
        &[],
        &invoices(json!({"id": BILLING_BOT})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_is_shown_to_its_requester_its_approvers_and_operators_only() {
    let w = world().await;
    let addr = w.server.addr;
    let pay = w.as_workload(PAYMENTS);
    let r = tls_post(addr, &pay, "/access/v1/evaluation", &[], &transfer())
        .await
        .unwrap();
    let id = r.json()["context"]["access_request"]["challenge_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/challenges/{id}");
    let tls = w.anonymous();
    let as_token = |sub: &str| format!("Bearer {}", w.token(sub));
    // The requester, the gateway (acting for requesters) and dana (in `finance`, named).
    for (who, r) in [
        (
            "requester",
            tls_request(addr, &pay, "GET", &path, &[], b"").await,
        ),
        (
            "gateway",
            tls_request(addr, &w.as_workload(GATEWAY), "GET", &path, &[], b"").await,
        ),
        (
            "approver",
            tls_request(
                addr,
                &tls,
                "GET",
                &path,
                &[("Authorization", &as_token("dana"))],
                b"",
            )
            .await,
        ),
    ] {
        let r = r.unwrap();
        assert_eq!(r.status, 200, "{who}: {}", r.text());
        assert_eq!(r.json()["id"], json!(id));
    }
    // Another actor (a human who approves nothing, an agent): 404, as an unknown id.
    let unknown = tls_request(
        addr,
        &tls,
        "GET",
        "/v1/challenges/ch_unknown",
        &[("Authorization", &as_token("erin"))],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(unknown.status, 404);
    for r in [
        tls_request(
            addr,
            &tls,
            "GET",
            &path,
            &[("Authorization", &as_token("erin"))],
            b"",
        )
        .await,
        tls_request(
            addr,
            &w.as_workload("spiffe://example.org/ns/agents/tool-7"),
            "GET",
            &path,
            &[],
            b"",
        )
        .await,
    ] {
        let r = r.unwrap();
        assert_eq!(r.status, 404, "{}", r.text());
        assert_eq!(r.json(), unknown.json());
    }
    // Nor do the steps on it answer erin otherwise: not an answer, a collection or a
    // revocation (each would show the challenge, or confirm it exists).
    let erin = as_token("erin");
    for (step, body) in [
        (
            "answers",
            json!({"approver": "erin", "approve": true, "evidence": {"method": "signature", "signature": "AAAA"}}),
        ),
        ("grant", json!({"secret": "x"})),
        ("revoke", json!({"secret": "x"})),
    ] {
        let r = tls_request(
            addr,
            &tls,
            "POST",
            &format!("{path}/{step}"),
            &[
                ("Authorization", &erin),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 404, "{step}: {}", r.text());
        assert_eq!(r.json(), unknown.json(), "{step}");
    }
    // An approver answers as itself only.
    let r = tls_request(
        addr,
        &tls,
        "POST",
        &format!("{path}/answers"),
        &[("Authorization", &as_token("dana")), ("Content-Type", "application/json")],
        json!({"approver": "frank", "approve": true, "evidence": {"method": "signature", "signature": "AAAA"}})
            .to_string()
            .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["error"]["code"],
        "identity_conflict",
        "{}",
        r.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_policy_text_only_to_callers_allowed_to_see_it() {
    let w = world().await;
    let addr = w.server.addr;
    // The payments actor: the decision, the winning rule by name, no condition text.
    let pay = w.as_workload(PAYMENTS);
    let r = tls_post(addr, &pay, "/v1/explain", &[], &ledger(json!({})))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["redacted"], true, "{v}");
    assert_eq!(v["decision"]["decision"], "allow", "{v}");
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{v}");
    assert_eq!(
        rules[0]["name"],
        "the payments workload reads the ledger when attested"
    );
    assert!(!r.text().contains("condition"), "{v}");
    assert!(!r.text().contains("principal.attested =="), "{v}");
    // The gateway, marked `explain = true`: every rule, with its condition.
    let gw = w.as_workload(GATEWAY);
    let mine = ledger(json!({"id": PAYMENTS, "kind": "workload", "attested": true}));
    let r = tls_post(addr, &gw, "/v1/explain", &[], &mine)
        .await
        .unwrap();
    let v = r.json();
    assert!(v.get("redacted").is_none(), "{v}");
    assert!(v["rules"].as_array().unwrap().len() >= 3, "{v}");
    assert!(v["rules"][0]["condition"]["text"].as_str().is_some(), "{v}");
}
