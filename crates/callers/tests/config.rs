//! callers.toml and JWKS files that cannot be used: each refused with the file, the line
//! and column, and what was expected (golden messages).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use writ_callers::{hash_api_key, Callers, Jwks};
use writ_testkit::jwt::{jwks, JwtKey};

/// Parses `text` with a valid `jwks.json` beside it; returns the error's text.
fn error_of(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let key = JwtKey::es256("k");
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&key])).unwrap();
    match Callers::parse_in("callers.toml", text, dir.path()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const HASH: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

#[test]
fn golden_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "trust_domains = [\"example.org\"\n",
            "callers.toml:1:31: unclosed array, expected `]`",
        ),
        (
            "trust_domain = [\"example.org\"]\n",
            "callers.toml:1:1: unknown field `trust_domain`, expected one of `trust_domains`, `jwt`, `api_key`, `enforcement_point`, `actor`, `unlisted`",
        ),
        (
            "trust_domains = [\"Example.org\"]\n",
            "callers.toml:1:18: the trust domain has `E`; lowercase letters expected",
        ),
        (
            "trust_domains = [\"example.org\", \"example.org\"]\n",
            "callers.toml:1:33: a trust domain listed twice",
        ),
        (
            "[[enforcement_point]]\nid = \"spiffe://example.org/gw\"\n",
            "callers.toml:2:6: the trust domain `example.org` is not in `trust_domains`; a SPIFFE ID from it would be refused",
        ),
        (
            "trust_domains = [\"example.org\"]\n[[enforcement_point]]\nid = \"spiffe://example.org/gw/\"\n",
            "callers.toml:3:6: the SPIFFE ID ends with `/`; a path has no trailing slash",
        ),
        (
            "trust_domains = [\"example.org\"]\n[[enforcement_point]]\nid = \"spiffe://example.org/gw\"\n[[actor]]\nid = \"spiffe://example.org/gw\"\nkind = \"workload\"\n",
            "callers.toml:5:6: `spiffe://example.org/gw` is listed twice",
        ),
        (
            "[[actor]]\nid = \"svc\"\nkind = \"robot\"\n",
            "callers.toml:3:8: `kind` is `robot`; one of `human`, `workload`, `agent` expected",
        ),
        (
            "[[actor]]\nid = \"svc\"\n",
            "callers.toml:1:1: missing field `kind`",
        ),
        (
            "[[actor]]\nkind = \"agent\"\n",
            "callers.toml:1:1: an `[[actor]]` has either `id` (one identity) or `prefix` (a SPIFFE ID path ending in `/`), and not both",
        ),
        (
            "trust_domains = [\"example.org\"]\n[[actor]]\nprefix = \"spiffe://example.org/agents\"\nkind = \"agent\"\n",
            "callers.toml:3:10: a prefix is a SPIFFE ID ending in `/` (`spiffe://example.org/agents/`), matching whole path segments",
        ),
        (
            "trust_domains = [\"example.org\"]\n[[actor]]\nprefix = \"agents/\"\nkind = \"agent\"\n",
            "callers.toml:3:10: a prefix is a SPIFFE ID ending in `/`; this one does not start with `spiffe://`",
        ),
        (
            "[jwt]\nissuer = \"https://i\"\naudience = \"writ\"\n",
            "callers.toml:1:1: missing field `jwks`",
        ),
        (
            "[jwt]\nissuer = \"https://i\"\naudience = \"\"\njwks = \"jwks.json\"\n",
            "callers.toml:3:12: `audience` is empty; the `aud` the tokens are issued for expected",
        ),
        (
            "[jwt]\nissuer = \"https://i\"\naudience = \"writ\"\njwks = \"jwks.json\"\nleeway_seconds = 3600\n",
            "callers.toml:5:18: `leeway_seconds` is 0 to 300",
        ),
        (
            "[jwt]\nissuer = \"https://i\"\naudience = \"writ\"\njwks = \"jwks.json\"\nalgorithms = [\"HS256\"]\n",
            "callers.toml:5:1: unknown field `algorithms`, expected one of `issuer`, `audience`, `jwks`, `leeway_seconds`, `attested`",
        ),
        (
            "[[api_key]]\nname = \"batch\"\nhash = \"sha256:abc\"\nrole = \"actor\"\nkind = \"workload\"\n",
            "callers.toml:3:8: a hash is `sha256:` and 64 hex digits (as `writ callers hash-key` prints); this one has 3 characters after the prefix",
        ),
        (
            "[[api_key]]\nname = \"batch\"\nhash = \"plain-text-key\"\nrole = \"actor\"\nkind = \"workload\"\n",
            "callers.toml:3:8: a hash is `sha256:` and 64 hex digits (as `writ callers hash-key` prints); this one has 14 characters after the prefix",
        ),
        (
            "[[api_key]]\nname = \"spiffe://example.org/gw\"\nhash = \"HASH\"\nrole = \"actor\"\nkind = \"workload\"\n",
            "callers.toml:2:8: an API key's `name` is 1 to 64 letters, digits, `.`, `-` or `_`",
        ),
        (
            "[[api_key]]\nname = \"batch\"\nhash = \"HASH\"\nrole = \"admin\"\n",
            "callers.toml:4:8: `role` is `admin`; `enforcement_point` or `actor` expected",
        ),
        (
            "[[api_key]]\nname = \"batch\"\nhash = \"HASH\"\nrole = \"actor\"\n",
            "callers.toml:1:1: an actor's API key needs a `kind` (`human`, `workload` or `agent`)",
        ),
        (
            "[[api_key]]\nname = \"gw\"\nhash = \"HASH\"\nrole = \"enforcement_point\"\nkind = \"workload\"\n",
            "callers.toml:5:8: an enforcement point has no `kind`: it asks about other subjects",
        ),
        (
            "[[api_key]]\nname = \"a\"\nhash = \"HASH\"\nrole = \"enforcement_point\"\n[[api_key]]\nname = \"b\"\nhash = \"HASH\"\nrole = \"enforcement_point\"\n",
            "callers.toml:7:8: this hash is another key's too; every API key is its own",
        ),
        (
            "[[api_key]]\nname = \"a\"\nhash = \"HASH\"\nrole = \"enforcement_point\"\n[[api_key]]\nname = \"a\"\nhash = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\nrole = \"enforcement_point\"\n",
            "callers.toml:6:8: `a` is listed twice; an API key's name is its own identity",
        ),
        (
            "[unlisted]\nkind = \"everyone\"\n",
            "callers.toml:2:8: `kind` is `everyone`; one of `human`, `workload`, `agent` expected",
        ),
    ];
    let mut failures = Vec::new();
    for (text, want) in cases {
        let text = text.replace("HASH", HASH);
        let got = error_of(&text);
        if got != *want {
            failures.push(format!("{text}\n  want: {want}\n  got:  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_jwks_file_is_read_beside_callers_toml() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callers.toml");
    std::fs::write(
        &path,
        "[jwt]\nissuer = \"https://i\"\naudience = \"writ\"\njwks = \"missing.json\"\n",
    )
    .unwrap();
    let err = Callers::load(&path).unwrap_err().to_string();
    let want = format!(
        "{}:4:8: cannot read the JWKS file `{}`: No such file or directory (os error 2)",
        path.display(),
        dir.path().join("missing.json").display()
    );
    assert_eq!(err, want);
    let err = Callers::load(&dir.path().join("nope.toml")).unwrap_err();
    assert!(err.to_string().contains("cannot read it"), "{err}");
    // Not a regular file: refused before reading (a FIFO or a device could block or
    // never end).
    std::fs::write(
        &path,
        "[jwt]\nissuer = \"https://i\"\naudience = \"writ\"\njwks = \"/dev/zero\"\n",
    )
    .unwrap();
    let err = Callers::load(&path).unwrap_err().to_string();
    assert!(
        err.ends_with("cannot read the JWKS file `/dev/zero`: not a regular file"),
        "{err}"
    );
    let err = Callers::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("cannot read it"), "{err}");
}

#[test]
fn jwks_golden_errors() {
    let ed = JwtKey::ed25519("ed").public_jwk();
    let es = JwtKey::es256("es").public_jwk();
    let rs = JwtKey::rs256("rs").public_jwk();
    let with = |mut jwk: serde_json::Value, key: &str, value: serde_json::Value| {
        jwk[key] = value;
        serde_json::json!({ "keys": [jwk] }).to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        ("{\"keys\": [".to_owned(), "jwks.json:1:10: not JSON: EOF while parsing a list at line 1 column 10"),
        ("[]".to_owned(), "jwks.json:1:2: a JSON object with a `keys` array (a JWKS) expected"),
        ("{\"keys\": []}".to_owned(), "jwks.json: has no key usable for ES256 (EC P-256), EdDSA (OKP Ed25519) or RS256 (RSA); one at least expected"),
        (with(ed.clone(), "d", "AAAA".into()), "jwks.json: key 1 of `keys` (`kid` `ed`): holds a private key (`d`); a JWKS for verification holds public keys only"),
        (serde_json::json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}).to_string(), "jwks.json: key 1 of `keys` (`kid` `h`): is a symmetric key (`oct`); HS256 and the other HMAC algorithms are refused"),
        (with(es.clone(), "x", "AAAA".into()), "jwks.json: key 1 of `keys` (`kid` `es`): `x` is 3 bytes, 32 expected"),
        (with(es.clone(), "y", "!!".into()), "jwks.json: key 1 of `keys` (`kid` `es`): `y` is not base64url without padding"),
        (with(es.clone(), "y", es["x"].clone()), "jwks.json: key 1 of `keys` (`kid` `es`): is not a point on P-256"),
        (with(es.clone(), "alg", "EdDSA".into()), "jwks.json: key 1 of `keys` (`kid` `es`): is marked `alg` `EdDSA` but is an ES256 key"),
        (with(ed.clone(), "alg", "none".into()), "jwks.json: key 1 of `keys` (`kid` `ed`): is marked `alg` `none`, which is refused"),
        (with(ed.clone(), "x", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()), "jwks.json: key 1 of `keys` (`kid` `ed`): is an Ed25519 key of small order"),
        (with(rs.clone(), "n", "AQAB".into()), "jwks.json: key 1 of `keys` (`kid` `rs`): has an RSA modulus of 17 bits, 2048 to 4096 expected"),
        (with(rs.clone(), "e", "AQA".into()), "jwks.json: key 1 of `keys` (`kid` `rs`): has an RSA exponent that is not an odd number from 3 to 2^32 - 1"),
        (with(es.clone(), "kty", 7.into()), "jwks.json: key 1 of `keys`: invalid type: integer `7`, expected a string; a JWK object expected"),
        (serde_json::json!({"keys": [es.clone(), es.clone()]}).to_string(), "jwks.json: key 2 of `keys` (`kid` `es`): a `kid` used twice; each key's `kid` must be its own"),
    ];
    let mut failures = Vec::new();
    for (text, want) in &cases {
        match Jwks::parse("jwks.json", text) {
            Ok(_) => failures.push(format!("accepted {text}")),
            Err(e) if e.to_string() != *want => {
                failures.push(format!("{text}\n  want: {want}\n  got:  {e}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn jwks_skips_what_it_cannot_use() {
    let ed = JwtKey::ed25519("ed").public_jwk();
    let text = serde_json::json!({"keys": [
        ed,
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "kid": "p384"},
        {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB", "kid": "enc"},
        {"kty": "RSA", "alg": "PS256", "n": "AQAB", "e": "AQAB", "kid": "ps"},
        {"kty": "OKP", "crv": "X25519", "x": "AA", "kid": "x"},
    ]})
    .to_string();
    let set = Jwks::parse("jwks.json", &text).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set.skipped(), 4);
}

#[test]
fn a_complete_file_parses() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jwks.json"),
        jwks(&[
            &JwtKey::es256("a"),
            &JwtKey::ed25519("b"),
            &JwtKey::rs256("c"),
        ]),
    )
    .unwrap();
    let text = format!(
        r#"
trust_domains = ["example.org", "partner.example"]

[jwt]
issuer = "https://oidc.example.org"
audience = "writ"
jwks = "jwks.json"
leeway_seconds = 0
attested = true

[[enforcement_point]]
id = "spiffe://example.org/ns/edge/sa/gateway"

[[enforcement_point]]
id = "gateway-client@oidc"

[[actor]]
id = "spiffe://example.org/ns/pay/sa/payments"
kind = "workload"

[[actor]]
prefix = "spiffe://example.org/ns/agents/"
kind = "agent"

[[actor]]
prefix = "spiffe://partner.example/"
kind = "workload"

[[api_key]]
name = "nightly-report"
hash = "{}"
role = "actor"
kind = "workload"

[unlisted]
kind = "human"
"#,
        hash_api_key("k")
    );
    let callers = Callers::parse_in("callers.toml", &text, dir.path()).unwrap();
    assert!(
        callers.accepts_certificates() && callers.accepts_tokens() && callers.accepts_api_keys()
    );
}

/// The example of docs/server-identity.md parses as written (with a JWKS beside it).
#[test]
fn the_documented_example_parses() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/server-identity.md"
    ))
    .unwrap();
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("its end");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&JwtKey::es256("k")])).unwrap();
    let callers = Callers::parse_in("callers.toml", &doc[start..end], dir.path()).unwrap();
    let caller = callers
        .authenticate(
            &writ_callers::Presented {
                api_key: Some("writ_example-key-do-not-use"),
                ..writ_callers::Presented::default()
            },
            jiff::Timestamp::now(),
        )
        .unwrap();
    assert_eq!(caller.id, "nightly-report");
}

/// A vouched name that draws as nothing where it differs from another (a Braille blank, a
/// no-break space, a tag character) is refused: the server fills it in for the actor, and
/// separation of duties compares names exactly.
#[test]
fn vouched_names_that_hide_characters_are_refused() {
    for bad in [
        "alice\u{2800}",
        "ali\u{00a0}ce",
        "alice\u{e0041}",
        "alice\u{1d159}",
    ] {
        for text in [
            format!("[[actor]]\nid = \"bot\"\nkind = \"agent\"\non_behalf_of = \"{bad}\"\n"),
            format!("[[actor]]\nid = \"bot\"\nkind = \"agent\"\ngroups = [\"{bad}\"]\n"),
        ] {
            let e = error_of(&text);
            assert!(e.contains("invisible character"), "{text}: {e}");
        }
    }
    // A plain space inside a group's name is a name as written.
    Callers::parse_in(
        "callers.toml",
        "[[actor]]\nid = \"bot\"\nkind = \"agent\"\ngroups = [\"night shift\"]\n",
        std::path::Path::new("."),
    )
    .unwrap();
}
