#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/corpus/<target>/) and the known crash inputs
(fuzz/regressions/<target>/) from the repository's own files, the WebAuthn specification
vectors in crates/webauthn/tests/spec_vectors.rs, and depth-directed inputs libFuzzer does
not reach alone. Run from anywhere: python3 fuzz/make-seeds.py. Idempotent: it rewrites
the files it owns (names starting with the prefixes below) and leaves others alone, so
crash files added by hand stay."""

import base64, glob, hashlib, json, os, re, shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "fuzz")
MAX_SEED = 200_000  # bytes: a file larger than this is not copied in


def out(kind, target, name, data):
    d = os.path.join(FUZZ, kind, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def seed(target, name, data):
    out("corpus", target, name, data)


def crash(target, name, data):
    out("regressions", target, name, data)


def repo_files(pattern):
    files = sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True))
    return [f for f in files if "/target/" not in f and "/fuzz/" not in f
            and os.path.getsize(f) <= MAX_SEED]


def flat(path):
    """A seed name from a repository path: policies/payments/payments.writ ->
    repo-policies-payments-payments.writ"""
    rel = os.path.relpath(path, ROOT)
    return "repo-" + re.sub(r"[^A-Za-z0-9.]+", "-", rel)


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------------------------------
# policy text

writ_files = (repo_files("policies/**/*.writ") + repo_files("docs/examples/**/*.writ")
              + repo_files("crates/*/tests/**/*.writ") + repo_files("examples/**/*.writ"))
for f in writ_files:
    seed("policy", flat(f), read(f))


def parens(n):
    return 'rule "r" { when ' + "(" * n + 'action == "x"' + ")" * n + " allow }\n"


def nots(n):
    return 'rule "r" { when ' + "not " * n + "device.managed allow }\n"


def chain(op, n):
    return 'rule "r" { when ' + f" {op} ".join(['action == "x"'] * n) + " allow }\n"


def deep_list(n):
    return 'rule "r" { when action in ' + "[" * n + '"x"' + "]" * n + " allow }\n"


def deep_cel(n):
    return 'rule "r" { when cel("' + "(" * n + "1 == 1" + ")" * n + '") allow }\n'


seed("policy", "deep-parens-100.writ", parens(100))
seed("policy", "deep-parens-64.writ", parens(64))
seed("policy", "deep-parens-65.writ", parens(65))
seed("policy", "deep-cel-parens-100.writ", deep_cel(100))
seed("policy", "deep-list-100.writ", deep_list(100))
seed("policy", "not-100.writ", nots(100))
crash("policy", "deep-parens-300.writ", parens(300))
crash("policy", "deep-parens-500.writ", parens(500))
crash("policy", "deep-parens-1000.writ", parens(1000))
crash("policy", "not-6000.writ", nots(6000))
seed("policy", "and-chain-10000.writ", chain("and", 10000))
seed("policy", "or-chain-10000.writ", chain("or", 10000))
seed("policy", "deep-cel-parens-1000.writ", deep_cel(1000))
seed("policy", "deep-list-1000.writ", deep_list(1000))

# ---------------------------------------------------------------------------------------
# request JSON

json_files = (repo_files("policies/**/*.json") + repo_files("docs/examples/**/*.json")
              + repo_files("crates/*/tests/**/*.json") + repo_files("examples/**/*.json"))
for f in json_files:
    seed("request", flat(f), read(f))
    seed("invariants", flat(f) + ".writ", read(os.path.join(ROOT, "policies/payments/payments.writ"))
         + b"\n---\n" + read(f))

seed("request", "binds-params.json", json.dumps({
    "action": "payments.transfer",
    "principal": {"id": "ann", "kind": "human", "groups": ["finance"],
                  "key": {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}},
    "resource": {"id": "acct-1", "env": "prod", "level": 2},
    "device": {"managed": True}, "network": {"ip": "10.20.1.2"},
    "session": {"id": "s1", "auth_method": "webauthn", "auth_age": "5m"},
    "request": {"params": {"amount": 12000.5, "currency": "EUR", "payee": "ACME",
                           "payee_new": True, "payee_country": "FR", "reference": "inv-1",
                           "tags": ["a", "b"], "count": 3}},
    "time": "2026-11-27T10:00:00Z"}, indent=1))
seed("request", "duplicate-key.json", '{"action": "a", "action": "p", "request": {"params": {"amount": 1}}}')
# `time` twice, the first unreadable: the streaming binder refuses at the first, the value
# keeps the last (found by the request target's binder-agreement check).
seed("request", "duplicate-time-first-bad.json", '{"action": "db.read", "time": "0984-12-31T23:59:59.5Zx", "time": "0984-12-31T23:59:59.5Z"}')
seed("request", "duplicate-time-last-bad.json", '{"action": "db.read", "time": "2026-11-27T10:00:00Z", "time": "bad"}')
seed("request", "big-integers.json", '{"action": "p", "request": {"params": {"amount": 18446744073709551616, "n": 1e400, "m": -0.0, "k": 9007199254740993}}}')
seed("request", "time-before-epoch.json", '{"action": "db.read", "time": "1969-12-31T23:59:59.5Z"}')
seed("request", "escapes.json", '{"action": "p\\u0000\\ud83d\\ude00", "principal": {"id": "\\"x\\"", "groups": ["g", "g"]}}')
seed("request", "p256-key.json", json.dumps({"action": "p", "principal": {"id": "w", "key": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB"}}}))


def deep_obj(n):
    return '{"a":' * n + "1" + "}" * n


def deep_arr(n):
    return "[" * n + "]" * n


seed("request", "deep-json-200.json", '{"action": "p", "request": {"params": ' + deep_obj(200) + "}}")
seed("request", "deep-array-200.json", '{"action": "p", "request": {"params": {"x": ' + deep_arr(200) + "}}}")
seed("request", "deep-json-127.json", '{"action": "p", "request": {"params": ' + deep_obj(124) + "}}")
seed("request", "deep-json-10000.json", '{"action": "p", "request": {"params": ' + deep_obj(10000) + "}}")
seed("request", "deep-array-10000-unknown-root.json", '{"extra": ' + deep_arr(10000) + "}")

# ---------------------------------------------------------------------------------------
# approvers.toml

for f in repo_files("**/approvers.toml"):
    seed("registry", flat(f), read(f))
COSE = "pQECAyYgASFYIK_voW-XypstI-uGzLZAmNINuQhWBi6ySJw6m2cvJt9hIlggkwpWuHovymYzSwNFir-HlxfBLMaO1zKQry4mZHlrkiA"
seed("registry", "every-field.toml", f'''
[relying_party]
rp_id = "approvals.example.com"
origins = ["https://approvals.example.com"]
require_user_verification = false
allow_counterless = true

[[approver]]
id = "dana@example.com"
groups = ["db-owners", "security"]
kind = "human"
ed25519 = ["11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"]
totp = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
webauthn = [{{ id = "-R85HbTJsv3g6nAYnLo_tj9Xm6YSKzOtlP8-wzAIS-Q", public_key = "{COSE}", sign_count = 0 }}]

[[approver]]
id = "bot"
kind = "workload"
groups = ["db-owners"]

[[webauthn]]
approver = "dana@example.com"
id = "AQID"
public_key = "{COSE}"
sign_count = 7
''')
seed("registry", "duplicate-ids.toml", '[[approver]]\nid = "Frank@example.com"\ngroups=["a"]\n\n[[approver]]\nid = "frank@example.com"\ngroups=["a"]\n')
seed("registry", "shared-key.toml", '[[approver]]\nid = "a"\ned25519 = ["11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"]\n[[approver]]\nid = "b"\ned25519 = ["11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"]\n')
seed("registry", "bad-types.toml", '[[approver]]\nid = 5\ngroups = "x"\nkind = "robot"\nsign_count = -1\n')
seed("registry", "deep-array-1000.toml", "x = " + "[" * 1000 + "]" * 1000 + "\n")
seed("registry", "deep-inline-table-1000.toml", "x = " + "{a=" * 1000 + "1" + "}" * 1000 + "\n")

# ---------------------------------------------------------------------------------------
# WebAuthn: the specification's vectors

vectors = {}
text = open(os.path.join(ROOT, "crates/webauthn/tests/spec_vectors.rs")).read()
for name, value in re.findall(r'const (\w+): &str =\s*"([0-9a-f]+)";', text):
    vectors[name] = bytes.fromhex(value)
for name, v in vectors.items():
    low = name.lower()
    if "client_data" in low:
        seed("webauthn_client_data", f"spec-{low}.json", v)
    elif "auth_data" in low:
        seed("webauthn_auth_data", f"spec-{low}.bin", v)
    elif "attestation_object" in low:
        seed("webauthn_attestation", f"spec-{low}.cbor", v)
        # authData is the last byte string: 0x58 len, then the bytes.
        i = v.rfind(b"authData") + len(b"authData")
        if v[i] == 0x58:
            seed("webauthn_auth_data", f"spec-{low}-authdata.bin", v[i + 2:i + 2 + v[i + 1]])
    elif "cose_key" in low:
        seed("cose_key", f"spec-{low}.cbor", v)
seed("webauthn_client_data", "wrong-type.json", b'{"type":"webauthn.create","challenge":"OcDnUhQXulTUPo3JUXT0I97pvzzYBP9tZchXyav01Ag","origin":"https://example.org","crossOrigin":false}')
seed("webauthn_client_data", "deep-json-10000.json", b'{"type":"webauthn.get","x":' + b"[" * 10000 + b"]" * 10000 + b"}")
seed("webauthn_client_data", "duplicate-type.json", b'{"type":"webauthn.get","type":"webauthn.create","challenge":"","origin":"https://example.org"}')
seed("cose_key", "deep-cbor-array-10000.cbor", b"\x81" * 10000 + b"\x00")
seed("cose_key", "deep-cbor-map-10000.cbor", b"\xa1\x01" * 10000 + b"\x00")
seed("cose_key", "indefinite-bytes.cbor", b"\xa4\x01\x01\x03\x27\x20\x06\x21\x5f\x41\x00\xff")
seed("cose_key", "huge-length.cbor", b"\xa1\x01\x5b\xff\xff\xff\xff\xff\xff\xff\xff")
seed("cose_key", "tag-nesting-10000.cbor", b"\xc1" * 10000 + b"\x00")
seed("webauthn_attestation", "deep-cbor-array-10000.cbor", b"\x81" * 10000 + b"\x00")
seed("webauthn_attestation", "huge-map-count.cbor", b"\xbb\xff\xff\xff\xff\xff\xff\xff\xff")
seed("webauthn_attestation", "packed-fmt.cbor", vectors["PACKED_SELF_ES256_ATTESTATION_OBJECT"])
seed("webauthn_auth_data", "extensions-flag.bin", vectors["NONE_ES256_GET_AUTH_DATA"][:32] + b"\x85\x00\x00\x00\x01\xa1\x01\x02")
seed("webauthn_auth_data", "short.bin", b"\x00" * 36)

# ---------------------------------------------------------------------------------------
# grants: token text, or claims to be signed with the fixture key (first line `{`), then
# an optional proof line

claims = {
    "iss": "writ", "sub": "ann", "act": "payments.transfer", "res": "acct-1",
    "digest": "sha256:" + "0" * 64,
    "bind": ["principal.id", "action", "resource.id", "request.params.amount", "request.params.payee"],
    "jti": "g_1", "iat": "2026-11-27T09:59:00Z", "exp": "2026-11-27T10:04:00Z",
    "chl": "c_1", "pv": "0" * 24, "approvers": [{"id": "fiona", "method": "signature"}], "sid": "s",
}
# The digest of the fixture's request (secrets.rs, `grant_request`) under its policy: a
# seed that starts past the digest check (a harness test keeps it true).
MATCHING_DIGEST = "sha256:c012df65b5b6c979365937c8632f1fad69f806bff2fc48bac6d90725cc1e6d7b"
seed("grant", "claims-matching-digest.txt", json.dumps(dict(claims, digest=MATCHING_DIGEST), separators=(",", ":")))
seed("grant", "claims.txt", json.dumps(claims, separators=(",", ":")))
seed("grant", "claims-with-cnf-and-proof.txt", json.dumps(dict(claims, cnf={"jkt": "x"}), separators=(",", ":")) + "\nAAAA")
seed("grant", "claims-expired.txt", json.dumps(dict(claims, exp="1969-12-31T23:59:59Z"), separators=(",", ":")))
seed("grant", "claims-bad-instants.txt", json.dumps(dict(claims, exp="-9999-01-01T00:00:00Z", iat="+99999-01-01"), separators=(",", ":")))
seed("grant", "claims-deep-json.txt", '{"iss":' + "[" * 10000 + "]" * 10000 + "}")
seed("grant", "token-junk.txt", "v4.public.AAAA.eyJraWQiOiJ3cml0OngifQ\nAAAA")
seed("grant", "token-local.txt", "v4.local.AAAA")
seed("grant", "token-v2.txt", "v2.public." + "A" * 120)
seed("grant", "token-long-footer.txt", "v4.public." + "A" * 100 + "." + base64.urlsafe_b64encode(b'{"kid":' + b"[" * 2000 + b"]" * 2000 + b"}").decode().rstrip("="))

# ---------------------------------------------------------------------------------------
# audit logs: a valid unsigned chain built the way the library builds it (JCS over the
# record without `hash`), then tampered variants and the known crashes

GENESIS = "sha256:" + "0" * 64


def canonical(record):
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_records(events, start=1, prev=GENESIS):
    lines = []
    for i, (event, fields) in enumerate(events):
        r = {"seq": start + i, "ts": f"2026-11-27T10:00:0{i % 10}Z", "event": event}
        r.update(fields)
        r["prev"] = prev
        h = "sha256:" + hashlib.sha256(canonical(r)).hexdigest()
        r["hash"] = h
        prev = h
        lines.append(json.dumps(r, separators=(",", ":")))
    return lines


events = [("decision", {"decision_id": "d_1", "decision": "approve", "principal": "ann", "action": "payments.transfer", "rules": ["transfers"], "risk": 10}),
          ("challenge.opened", {"challenge": "c_1", "digest": "sha256:" + "1" * 64}),
          ("grant.issued", {"challenge": "c_1", "jti": "g_1", "approvers": ["fiona"]}),
          ("grant.redeemed", {"jti": "g_1", "decision": "allow"})]
valid = chain_records(events)
seed("audit", "valid-chain.jsonl", "\n".join(valid) + "\n")
seed("audit", "empty.jsonl", "")
seed("audit", "no-final-newline.jsonl", "\n".join(valid))
seed("audit", "reordered.jsonl", "\n".join([valid[1], valid[0]] + valid[2:]) + "\n")
seed("audit", "gap.jsonl", "\n".join([valid[0], valid[2], valid[3]]) + "\n")
seed("audit", "edited-field.jsonl", "\n".join([valid[0].replace('"ann"', '"eve"')] + valid[1:]) + "\n")
seed("audit", "duplicate-key.jsonl", valid[0][:-1] + ',"principal":"eve"}\n')
seed("audit", "not-json.jsonl", valid[0] + "\nnot json\n")
seed("audit", "deep-json-10000.jsonl", '{"seq":1,"x":' + "[" * 10000 + "]" * 10000 + "}\n")
seed("audit", "seq-string.jsonl", '{"seq":"1","hash":"x","prev":"y"}\n')
crash("audit", "seq-0.jsonl", '{"seq":0}\n')
crash("audit", "seq-100000000000.jsonl", '{"seq":100000000000}\n')
crash("audit", "seq-gap-to-100000000000.jsonl", valid[0] + "\n" + '{"seq":100000000000,"hash":"x","prev":"y"}\n')
crash("audit", "tail-seq-u64-max.jsonl", json.dumps({"seq": 2**64 - 1, "ts": "2026-11-27T10:00:01Z", "event": "x", "prev": json.loads(valid[0])["hash"], "hash": "sha256:" + "f" * 64}, separators=(",", ":")) + "\n")

# ---------------------------------------------------------------------------------------
# REPL lines: the CLI's own REPL scripts, and depth-directed lines

for f in repo_files("crates/cli/tests/repl/scripts/*.txt"):
    seed("repl_line", flat(f), read(f))
seed("repl_line", "every-command.txt", "\n".join([
    "help", "paths", "lets", "rules", "show", "clear", "decide", "decide json", "explain",
    'explain "agent per-transfer limit"', 'explain "say \\"hi\\""', "explain nosuchrule",
    "set action = payments.transfer", "set request.params.amount = 1200.5",
    "set request.params.currency = EUR", 'set request.params.payee = "ACME"',
    'set principal = {"id": "bot-7", "kind": "agent", "groups": ["payments-bots"], "attested": true}',
    "set network.ip = 10.20.1.2", "set time = 2026-11-28T23:00:00Z", "set session.auth_age = 5m",
    "unset network.ip", "what-if request.params.amount = 99, unset time",
    "risk", "risk >= 70 and not device.managed", "time in treasury_hours",
    'cel("request.params.amount > 1")', "request.params.amount + 1", "quit"]) + "\n")
seed("repl_line", "deep-parens-100.txt", "(" * 100 + "risk > 1" + ")" * 100 + "\n")
seed("repl_line", "deep-json-value-200.txt", "set request.params.x = " + deep_obj(200) + "\n")
crash("repl_line", "deep-parens-1000.txt", "(" * 1000 + "risk > 1" + ")" * 1000 + "\n")
crash("repl_line", "not-6000.txt", "not " * 6000 + "device.managed\n")
seed("repl_line", "what-if-deep-list-1000.txt", "what-if principal.groups = " + "[" * 1000 + "]" * 1000 + "\n")

# ---------------------------------------------------------------------------------------
# invariants: policy (and optionally `\n---\n` and a request)

for f in repo_files("policies/**/*.writ")[:6] + repo_files("crates/lint/tests/cases/**/*.writ")[:12]:
    seed("invariants", flat(f), read(f))
crash("invariants", "before-epoch-decide-explain.writ", 'rule "night" { when time in hours "Mon-Sun 23:59-00:00" in "UTC" deny }\nrule "r" { when action == "db.read" allow }\n---\n{"action": "db.read", "time": "1969-12-31T23:59:59.5Z"}')
seed("invariants", "broken-reload.writ", 'rule "r" { when action == allow }\n')
seed("invariants", "names-base-let.writ", 'rule "x" { when network.ip in office deny }\n')
seed("invariants", "empty.writ", "")
seed("invariants", "deep-parens-64.writ", parens(64))
seed("invariants", "deep-parens-300-broken.writ", parens(300)[:-2] + "\n")
crash("invariants", "deep-parens-1000.writ", parens(1000))
crash("invariants", "not-6000.writ", nots(6000))

# ---------------------------------------------------------------------------------------
# writ serve's callers (crates/fuzzing/src/callers.rs): callers.toml, JWKS, bearer JWTs.
# The client certificate seeds (fuzz/corpus/client_cert/svid-*.der) are not written here:
# they were made once with openssl (a P-256 CA, leaves with one SPIFFE URI SAN, two, none,
# a DNS name only, another trust domain, `..`, a query, a CA leaf) and committed as they are.

BATCH_HASH = "sha256:" + hashlib.sha256(b"writ_fuzz").hexdigest()
EDGE_HASH = hashlib.sha256(b"writ_edge").hexdigest().upper()
seed("callers_toml", "full.toml", f'''
trust_domains = ["example.org", "partner.example"]

[jwt]
issuer = "https://issuer.example.org"
audience = "writ"
jwks = "jwks.json"
leeway_seconds = 30
attested = true

[[enforcement_point]]
id = "spiffe://example.org/gateway"

[[enforcement_point]]
id = "gateway-client@oidc"

[[actor]]
id = "spiffe://example.org/payments"
kind = "workload"

[[actor]]
prefix = "spiffe://example.org/agents/"
kind = "agent"

[[api_key]]
name = "batch"
hash = "{BATCH_HASH}"
role = "actor"
kind = "workload"

[[api_key]]
name = "edge"
hash = "{EDGE_HASH}"
role = "enforcement_point"

[unlisted]
kind = "workload"
''')
seed("callers_toml", "empty.toml", "")
seed("callers_toml", "mtls-only.toml", 'trust_domains = ["example.org"]\n[[actor]]\nid = "spiffe://example.org/payments"\nkind = "workload"\n')
seed("callers_toml", "bad-spiffe.toml", 'trust_domains = ["Example.org:443"]\n[[enforcement_point]]\nid = "spiffe://example.org/a/../b"\n')
seed("callers_toml", "actor-both.toml", '[[actor]]\nid = "a"\nprefix = "spiffe://example.org/a/"\nkind = "robot"\n')
seed("callers_toml", "jwks-elsewhere.toml", '[jwt]\nissuer = "i"\naudience = "a"\njwks = "/nonexistent/jwks.json"\nleeway_seconds = -1\n')
seed("callers_toml", "api-key-bad-hash.toml", '[[api_key]]\nname = "x y"\nhash = "sha256:zz"\nrole = "admin"\n')
seed("callers_toml", "deep-array-1000.toml", "trust_domains = " + "[" * 1000 + "]" * 1000 + "\n")

# JWKS: the RFC 8037 Ed25519 key, the RFC 7515 A.3 P-256 key, the RFC 7517 A.1 RSA key.
ED_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
EC_X, EC_Y = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
RSA_N = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
         "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
         "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
         "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
jwk_ed = {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "ed", "alg": "EdDSA", "use": "sig"}
jwk_es = {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "es"}
jwk_rs = {"kty": "RSA", "n": RSA_N, "e": "AQAB", "kid": "rs", "alg": "RS256"}
seed("jwks", "rfc-keys.json", json.dumps({"keys": [jwk_ed, jwk_es, jwk_rs]}))
seed("jwks", "skipped.json", json.dumps({"keys": [jwk_ed, {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
                                                  {"kty": "RSA", "use": "enc", "n": RSA_N, "e": "AQAB"}]}))
seed("jwks", "private.json", json.dumps({"keys": [dict(jwk_ed, d="AAAA")]}))
seed("jwks", "oct.json", json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
seed("jwks", "small-order.json", json.dumps({"keys": [dict(jwk_ed, x="AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]}))
seed("jwks", "duplicate-kid.json", json.dumps({"keys": [jwk_ed, jwk_ed]}))
seed("jwks", "deep-json-10000.json", '{"keys": ' + "[" * 10000 + "]" * 10000 + "}")

# Bearer JWTs. Seeds starting with `{` are HEADER\nCLAIMS, which the target signs with the
# fixture's Ed25519 key (kid `ed`); the others are header values or bare tokens.
JWT_NOW = 1795773600  # the fixture's clock, 2026-11-27T10:00:00Z


def b64u(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def compact(v):
    return json.dumps(v, separators=(",", ":"))


good = {"iss": "https://issuer.example.org", "sub": "spiffe://example.org/payments", "aud": "writ",
        "exp": JWT_NOW + 300, "nbf": JWT_NOW - 10, "iat": JWT_NOW - 10}
ed_header = {"alg": "EdDSA", "kid": "ed", "typ": "JWT"}
seed("jwt", "signed-good.txt", compact(ed_header) + "\n" + compact(good))
seed("jwt", "signed-gateway-aud-array.txt",
     compact(ed_header) + "\n" + compact(dict(good, sub="spiffe://example.org/gateway", aud=["x", "writ"])))
seed("jwt", "signed-human.txt", compact(dict(ed_header, typ="at+jwt")) + "\n" + compact(dict(good, sub="user-42", exp=JWT_NOW + 0.5)))
seed("jwt", "signed-expired.txt", compact(ed_header) + "\n" + compact(dict(good, exp=JWT_NOW - 3600)))
seed("jwt", "signed-crit.txt", compact(dict(ed_header, crit=["b64"], b64=False)) + "\n" + compact(good))
seed("jwt", "signed-dup-sub.txt", compact(ed_header) + "\n"
     + '{"iss":"https://issuer.example.org","aud":"writ","exp":%d,"sub":"a","sub":"b"}' % (JWT_NOW + 300))
seed("jwt", "signed-deep-claims.txt", compact(ed_header) + "\n" + '{"sub":' + "[" * 10000 + "]" * 10000 + "}")
seed("jwt", "signed-bad-spiffe-sub.txt", compact(ed_header) + "\n" + compact(dict(good, sub="spiffe://example.org/a//b")))
seed("jwt", "header-bearer-rfc7515-a3.txt", "Bearer eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q")
seed("jwt", "token-none.txt", b64u(compact({"alg": "none"}).encode()) + "." + b64u(compact(good).encode()) + ".")
seed("jwt", "token-hs256.txt",
     b64u(compact({"alg": "HS256", "kid": "ed"}).encode()) + "." + b64u(compact(good).encode()) + "." + b64u(b"\0" * 32))
seed("jwt", "token-rs256-kid.txt",
     b64u(compact({"alg": "RS256", "kid": "rs"}).encode()) + "." + b64u(compact(good).encode()) + "." + b64u(b"\1" * 256))
seed("jwt", "token-es256.txt",
     b64u(compact({"alg": "ES256", "kid": "es"}).encode()) + "." + b64u(compact(good).encode()) + "." + b64u(b"\1" * 64))
seed("jwt", "token-jwe.txt", "a.b.c.d.e")
seed("jwt", "header-basic.txt", "Basic dXNlcjpwYXNz")
seed("jwt", "api-key-writ-fuzz.txt", "writ_fuzz")


# ---------------------------------------------------------------------------------------
# AuthZEN evaluation bodies (the text path of POST /access/v1/evaluation)

AZ_BASE = '"action": {"name": "payments.transfer", "properties": {"amount": 12000.5, "payee": "ACME"}}, "resource": {"type": "account", "id": "acct-1", "properties": {"env": "prod"}}'
seed("authzen", "plain.json", '{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}')
seed("authzen", "params.json", '{"subject": {"type": "user", "id": "ann", "properties": {"groups": ["finance"], "ip_address": "10.20.1.2"}}, ' + AZ_BASE
     + ', "context": {"time": "2026-11-27T10:00Z", "device": {"managed": true}, "session": {"auth_age": "5m"}, "source": "web"}}')
seed("authzen", "conflict-equal.json", '{"subject": {"type": "user", "id": "ann", "properties": {"id": "ann"}}, ' + AZ_BASE + '}')
seed("authzen", "two-ips.json", '{"subject": {"type": "user", "id": "ann", "properties": {"ip_address": "10.0.0.1"}}, ' + AZ_BASE + ', "context": {"ip": "10.0.0.1"}}')
seed("authzen", "request-and-context.json", '{"subject": {"type": "user", "id": "ann"}, ' + AZ_BASE + ', "context": {"request": {"params": {"amount": 1}}, "x": 1}}')
seed("authzen", "approval-retry.json", '{"subject": {"type": "user", "id": "ann"}, ' + AZ_BASE + ', "context": {"approval": {"grant": "v4.public.x"}}}')
seed("authzen", "escaped-keys.json", '{"subject": {"type": "us\\u0065r", "id": "\\u0061nn", "properties": {"k\\u0069nd": "agent", "kind": "human"}}, ' + AZ_BASE + '}')
seed("authzen", "unknown-keys.json", '{"subject": {"type": "user", "id": "ann", "name": "Ann"}, ' + AZ_BASE + ', "options": {}}')
seed("authzen", "deep-property.json", '{"subject": {"type": "user", "id": "ann", "properties": {"x": ' + "[" * 63 + "]" * 63 + '}}, ' + AZ_BASE + '}')
seed("authzen", "big-numbers.json", '{"subject": {"type": "user", "id": "ann"}, "action": {"name": "payments.transfer", "properties": {"amount": 1e400, "n": 18446744073709551616}}, "resource": {"type": "account", "id": "a"}}')
