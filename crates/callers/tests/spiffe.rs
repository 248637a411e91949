//! SPIFFE IDs: the specification's rules as a table, and the one a client certificate
//! carries (exactly one URI SAN, a leaf, valid now, from a listed trust domain).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use writ_callers::{peer_certificate, AuthCode, AuthMethod, Callers, Presented, Role, SpiffeId};
use writ_testkit::pki::{ClientSpec, TestCa};

/// An input and `Ok((trust domain, path))` or `Err(a fragment of the message)`.
type Case = (
    &'static str,
    Result<(&'static str, &'static str), &'static str>,
);

#[test]
fn spiffe_ids_follow_the_specification() {
    let cases: &[Case] = &[
        ("spiffe://example.org", Ok(("example.org", ""))),
        ("spiffe://example.org/a", Ok(("example.org", "/a"))),
        (
            "spiffe://example.org/ns/prod/sa/payments",
            Ok(("example.org", "/ns/prod/sa/payments")),
        ),
        ("spiffe://a-b_c.9/A.b-C_9", Ok(("a-b_c.9", "/A.b-C_9"))),
        (
            "spiffe://example.org/a/..b/c.",
            Ok(("example.org", "/a/..b/c.")),
        ),
        (
            "http://example.org/a",
            Err("does not start with `spiffe://`"),
        ),
        ("SPIFFE://example.org/a", Err("scheme in capitals")),
        (
            "spiffe:example.org/a",
            Err("does not start with `spiffe://`"),
        ),
        ("spiffe://", Err("empty trust domain")),
        ("spiffe:///a", Err("empty trust domain")),
        (
            "spiffe://Example.org/a",
            Err("`E` in its trust domain; lowercase"),
        ),
        ("spiffe://example.org:8443/a", Err("has a port")),
        ("spiffe://user@example.org/a", Err("user information")),
        ("spiffe://example.org/a?x=1", Err("has a query")),
        ("spiffe://example.org?x=1", Err("has a query")),
        ("spiffe://example.org/a#frag", Err("has a fragment")),
        ("spiffe://example.org/a//b", Err("empty path segment")),
        ("spiffe://example.org/a/", Err("trailing slash")),
        ("spiffe://example.org/", Err("trailing slash")),
        ("spiffe://example.org/a/./b", Err("a `.` path segment")),
        ("spiffe://example.org/a/../b", Err("a `..` path segment")),
        ("spiffe://example.org/..", Err("a `..` path segment")),
        ("spiffe://example.org/a%20b", Err("percent-encoded")),
        ("spiffe://exa%6dple.org/a", Err("percent-encoded")),
        ("spiffe://example.org/a b", Err("`\\u{20}`")),
        ("spiffe://example.org/é", Err("in its path")),
        ("spiffe://exa mple.org", Err("in its trust domain")),
    ];
    for (input, expected) in cases {
        match (SpiffeId::parse(input), expected) {
            (Ok(id), Ok((domain, path))) => {
                assert_eq!(id.trust_domain(), *domain, "{input}");
                assert_eq!(id.path(), *path, "{input}");
                assert_eq!(id.as_str(), *input);
            }
            (Err(message), Err(fragment)) => {
                assert!(message.contains(fragment), "{input}: {message}");
            }
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }
    let long = format!("spiffe://example.org/{}", "a".repeat(2048));
    assert!(SpiffeId::parse(&long).unwrap_err().contains("at most 2048"));
    let long_domain = format!("spiffe://{}", "a".repeat(256));
    assert!(SpiffeId::parse(&long_domain)
        .unwrap_err()
        .contains("at most 255"));
}

fn callers() -> Callers {
    Callers::parse("callers.toml", writ_testkit::sets::SPIFFE_CALLERS).unwrap()
}

fn mtls(callers: &Callers, der: &[u8]) -> Result<writ_callers::Caller, writ_callers::AuthError> {
    callers.authenticate(
        &Presented {
            peer_certificate: Some(der),
            ..Presented::default()
        },
        jiff::Timestamp::now(),
    )
}

#[test]
fn a_client_certificate_is_its_spiffe_id() {
    let ca = TestCa::new("test CA");
    let callers = callers();

    let gw = ca.client("spiffe://example.org/gateway");
    let caller = mtls(&callers, &gw.cert_der).unwrap();
    assert_eq!(caller.id, "spiffe://example.org/gateway");
    assert_eq!(caller.method, AuthMethod::Mtls);
    assert_eq!(caller.role, Role::EnforcementPoint);
    assert_eq!(caller.principal_kind, None);
    assert!(caller.attested);
    assert_eq!(
        caller.cert_thumbprint.as_deref(),
        Some(writ_callers::thumbprint(&gw.cert_der).as_str())
    );
    assert_eq!(caller.cert_thumbprint.as_ref().unwrap().len(), 43);

    let pay = mtls(
        &callers,
        &ca.client("spiffe://example.org/payments").cert_der,
    )
    .unwrap();
    assert_eq!(pay.role, Role::Actor);
    assert_eq!(pay.principal_kind.as_deref(), Some("workload"));

    let agent = mtls(
        &callers,
        &ca.client("spiffe://example.org/agents/tools/7").cert_der,
    )
    .unwrap();
    assert_eq!(agent.role, Role::Actor);
    assert_eq!(agent.principal_kind.as_deref(), Some("agent"));

    // A prefix matches whole segments only.
    let near = mtls(
        &callers,
        &ca.client("spiffe://example.org/agentsx/1").cert_der,
    )
    .unwrap_err();
    assert_eq!(near.code, AuthCode::UnknownCaller);
    let bare = mtls(&callers, &ca.client("spiffe://example.org/agents").cert_der).unwrap_err();
    assert_eq!(bare.code, AuthCode::UnknownCaller);
}

#[test]
fn wrong_client_certificates_are_refused() {
    let ca = TestCa::new("test CA");
    let callers = callers();
    let cases: Vec<(&str, Vec<u8>, AuthCode, &str)> = vec![
        (
            "two URI SANs",
            ca.client_with(&ClientSpec {
                uris: vec![
                    "spiffe://example.org/payments",
                    "spiffe://example.org/gateway",
                ],
                ..ClientSpec::default()
            })
            .cert_der,
            AuthCode::InvalidCertificate,
            "2 URI subject alternative names; exactly one",
        ),
        (
            "no SAN",
            ca.client_with(&ClientSpec::default()).cert_der,
            AuthCode::InvalidCertificate,
            "no subject alternative name",
        ),
        (
            "a DNS SAN only",
            ca.client_with(&ClientSpec {
                dns: vec!["payments.example.org"],
                ..ClientSpec::default()
            })
            .cert_der,
            AuthCode::InvalidCertificate,
            "no URI subject alternative name",
        ),
        (
            "an https URI",
            ca.client("https://example.org/payments").cert_der,
            AuthCode::InvalidCertificate,
            "URI SAN does not start with `spiffe://`",
        ),
        (
            "an invalid SPIFFE ID",
            ca.client("spiffe://example.org/a/../gateway").cert_der,
            AuthCode::InvalidCertificate,
            "URI SAN has a `..` path segment",
        ),
        (
            "another trust domain",
            ca.client("spiffe://evil.example/gateway").cert_der,
            AuthCode::UntrustedDomain,
            "`evil.example` is not in callers.toml's `trust_domains`",
        ),
        (
            "a CA certificate",
            ca.client_with(&ClientSpec {
                uris: vec!["spiffe://example.org/payments"],
                is_ca: true,
                ..ClientSpec::default()
            })
            .cert_der,
            AuthCode::InvalidCertificate,
            "is a CA certificate",
        ),
        (
            "expired",
            ca.client_with(&ClientSpec {
                uris: vec!["spiffe://example.org/payments"],
                expired: true,
                ..ClientSpec::default()
            })
            .cert_der,
            AuthCode::InvalidCertificate,
            "has expired",
        ),
        (
            "not DER",
            b"-----BEGIN CERTIFICATE-----".to_vec(),
            AuthCode::InvalidCertificate,
            "not a DER X.509 certificate",
        ),
        (
            "an unlisted identity",
            ca.client("spiffe://example.org/stranger").cert_der,
            AuthCode::UnknownCaller,
            "`spiffe://example.org/stranger` is not listed",
        ),
    ];
    for (what, der, code, fragment) in cases {
        let err = mtls(&callers, &der).unwrap_err();
        assert_eq!(err.code, code, "{what}: {err}");
        assert!(err.message.contains(fragment), "{what}: {}", err.message);
    }
    // Trailing bytes after the certificate.
    let mut der = ca.client("spiffe://example.org/payments").cert_der;
    der.push(0);
    let err = peer_certificate(&der).unwrap_err();
    assert!(err.message.contains("bytes after its end"), "{err}");
}

#[test]
fn certificates_need_trust_domains() {
    let ca = TestCa::new("test CA");
    let callers = Callers::parse("callers.toml", "").unwrap();
    let err = mtls(&callers, &ca.client("spiffe://example.org/a").cert_der).unwrap_err();
    assert_eq!(err.code, AuthCode::MethodNotEnabled);
    assert!(!callers.accepts_certificates());
}

#[test]
fn unlisted_identities_are_actors_only_when_admitted() {
    let ca = TestCa::new("test CA");
    let callers = Callers::parse(
        "callers.toml",
        "trust_domains = [\"example.org\"]\n[unlisted]\nkind = \"workload\"\n",
    )
    .unwrap();
    let caller = mtls(
        &callers,
        &ca.client("spiffe://example.org/any/one").cert_der,
    )
    .unwrap();
    assert_eq!(caller.role, Role::Actor);
    assert_eq!(caller.principal_kind.as_deref(), Some("workload"));
    // Still only from a listed trust domain.
    let err = mtls(&callers, &ca.client("spiffe://other.org/any").cert_der).unwrap_err();
    assert_eq!(err.code, AuthCode::UntrustedDomain);
}
