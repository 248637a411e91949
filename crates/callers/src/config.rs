//! Reading callers.toml into [`Callers`]: every table and key checked, every error with
//! its file, line and column and what was expected (the format is in the crate's doc).

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::CallersError;
use crate::jwks::Jwks;
use crate::jwt::JwtConfig;
use crate::spiffe::{check_trust_domain, SpiffeId};
use crate::{api_key, ApiKeyEntry, Callers, Role, Vouched};

/// Whether a name is matched as written: not empty, no blank space around it, no control
/// or invisible (format) character, no blank other than a plain space, nothing that draws
/// as nothing (the same characters writ-approvals refuses in a name: its `identity`
/// module).
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.trim() == name
        && !name.chars().any(|c| {
            c.is_control()
                || (c.is_whitespace() && c != ' ')
                || matches!(c, '\u{2800}' | '\u{1d159}' | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e0fff}')
                || matches!(c, '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}' | '\u{180b}'..='\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}' | '\u{fff0}'..='\u{fffb}')
        })
}

/// The kinds of actor `principal.kind` may be (docs/language.md).
pub const KINDS: [&str; 3] = ["human", "workload", "agent"];
/// The default clock skew allowed on `exp`, `nbf` and `iat`, seconds.
pub const DEFAULT_LEEWAY: i64 = 60;
/// The most skew callers.toml may allow, seconds.
pub const MAX_LEEWAY: i64 = 300;
/// The largest callers.toml read, in bytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    trust_domains: Vec<Spanned<String>>,
    #[serde(default)]
    jwt: Option<Spanned<JwtShape>>,
    #[serde(default)]
    api_key: Vec<Spanned<ApiKeyShape>>,
    #[serde(default)]
    enforcement_point: Vec<Spanned<EnforcementPointShape>>,
    #[serde(default)]
    actor: Vec<Spanned<ActorShape>>,
    #[serde(default)]
    unlisted: Option<Spanned<UnlistedShape>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JwtShape {
    issuer: Spanned<String>,
    audience: Spanned<String>,
    jwks: Spanned<String>,
    #[serde(default)]
    leeway_seconds: Option<Spanned<i64>>,
    #[serde(default)]
    attested: Option<bool>,
}

/// What an entry may vouch for beyond the identity (actors), and `explain`.
struct VouchShape<'a> {
    groups: &'a Option<Spanned<Vec<String>>>,
    on_behalf_of: &'a Option<Spanned<String>>,
    explain: Option<bool>,
}

/// An entry's shape: its own keys, then the ones every vouching entry has (`groups`,
/// `on_behalf_of`, `explain`), read by [`VouchShape`]. Unknown keys are refused (serde's
/// `deny_unknown_fields` does not combine with `flatten`, hence a macro rather than a
/// flattened struct).
macro_rules! vouching_shape {
    ($name:ident { $($(#[$attr:meta])* $field:ident: $ty:ty,)* }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($(#[$attr])* $field: $ty,)*
            #[serde(default)]
            groups: Option<Spanned<Vec<String>>>,
            #[serde(default)]
            on_behalf_of: Option<Spanned<String>>,
            #[serde(default)]
            explain: Option<bool>,
        }

        impl $name {
            fn vouch(&self) -> VouchShape<'_> {
                VouchShape {
                    groups: &self.groups,
                    on_behalf_of: &self.on_behalf_of,
                    explain: self.explain,
                }
            }
        }
    };
}

vouching_shape!(ApiKeyShape {
    name: Spanned<String>,
    hash: Spanned<String>,
    role: Spanned<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
});

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnforcementPointShape {
    id: Spanned<String>,
    #[serde(default)]
    explain: Option<bool>,
}

vouching_shape!(ActorShape {
    #[serde(default)]
    id: Option<Spanned<String>>,
    #[serde(default)]
    prefix: Option<Spanned<String>>,
    kind: Spanned<String>,
});

vouching_shape!(UnlistedShape {
    kind: Spanned<String>,
});

/// Errors at places of one text.
struct Text<'a> {
    name: &'a str,
    text: &'a str,
}

impl Text<'_> {
    fn at(&self, span: Range<usize>, message: impl Into<String>) -> CallersError {
        CallersError::at(self.name, self.text, span.start, message)
    }

    fn kind(&self, kind: &Spanned<String>) -> Result<String, CallersError> {
        let k = kind.get_ref();
        if KINDS.contains(&k.as_str()) {
            Ok(k.clone())
        } else {
            Err(self.at(
                kind.span(),
                format!(
                    "`kind` is `{}`; one of `human`, `workload`, `agent` expected",
                    k.escape_default()
                ),
            ))
        }
    }

    /// What an actor's entry vouches for: its kind, and its `groups` and `on_behalf_of`
    /// when listed — each a name as it must be matched exactly (not empty, no blank space
    /// around it, no control or invisible character), the groups without repeats.
    fn vouched(&self, kind: &Spanned<String>, v: &VouchShape<'_>) -> Result<Vouched, CallersError> {
        let kind = self.kind(kind)?;
        let groups = match v.groups {
            None => None,
            Some(g) => {
                let mut seen = BTreeSet::new();
                for name in g.get_ref() {
                    if !plain_name(name) {
                        return Err(self.at(
                            g.span(),
                            format!(
                                "the group `{}` is empty, has blank space around it or an invisible character; a group's exact name expected",
                                name.escape_default()
                            ),
                        ));
                    }
                    if !seen.insert(name.clone()) {
                        return Err(self.at(
                            g.span(),
                            format!("the group `{}` is listed twice", name.escape_default()),
                        ));
                    }
                }
                Some(g.get_ref().clone())
            }
        };
        let on_behalf_of = match v.on_behalf_of {
            None => None,
            Some(h) if plain_name(h.get_ref()) => Some(h.get_ref().clone()),
            Some(h) => {
                return Err(self.at(
                    h.span(),
                    "`on_behalf_of` is empty, has blank space around it or an invisible character; the exact id of the human the actor acts for expected",
                ))
            }
        };
        Ok(Vouched {
            kind,
            groups,
            on_behalf_of,
            explain: v.explain.unwrap_or(false),
        })
    }

    /// An identity as callers.toml lists it: a SPIFFE ID (from a listed trust domain) or,
    /// for a token's `sub`, any non-empty text without control characters.
    fn identity(
        &self,
        id: &Spanned<String>,
        trust_domains: &BTreeSet<String>,
    ) -> Result<String, CallersError> {
        let text = id.get_ref();
        if text.is_empty() || text.chars().any(char::is_control) {
            return Err(self.at(
                id.span(),
                "an identity is a SPIFFE ID or a token subject: not empty, no control characters",
            ));
        }
        if text.to_ascii_lowercase().starts_with("spiffe://") {
            let spiffe = SpiffeId::parse(text)
                .map_err(|why| self.at(id.span(), format!("the SPIFFE ID {why}")))?;
            if !trust_domains.contains(spiffe.trust_domain()) {
                return Err(self.at(
                    id.span(),
                    format!(
                        "the trust domain `{}` is not in `trust_domains`; a SPIFFE ID from it would be refused",
                        spiffe.trust_domain()
                    ),
                ));
            }
        }
        Ok(text.clone())
    }
}

impl Callers {
    /// Reads callers.toml from `path`; a relative `jwks` path is read from the file's
    /// directory.
    pub fn load(path: &Path) -> Result<Callers, CallersError> {
        let name = path.display().to_string();
        let bytes = read_bounded(path, MAX_FILE_BYTES)
            .map_err(|why| CallersError::file(&name, format!("cannot read it: {why}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| CallersError::file(&name, "is not UTF-8 text; TOML expected"))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse_in(&name, &text, base)
    }

    /// Parses callers.toml text; `name` names it in errors. A relative `jwks` path is read
    /// from the current directory.
    pub fn parse(name: &str, text: &str) -> Result<Callers, CallersError> {
        Self::parse_in(name, text, Path::new("."))
    }

    /// Parses callers.toml text, reading a relative `jwks` path from `base`.
    pub fn parse_in(name: &str, text: &str, base: &Path) -> Result<Callers, CallersError> {
        let t = Text { name, text };
        let shape: FileShape = toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => t.at(span, e.message().trim_end().to_owned()),
            None => CallersError::file(name, e.message().trim_end().to_owned()),
        })?;

        let mut trust_domains = BTreeSet::new();
        for domain in &shape.trust_domains {
            check_trust_domain(domain.get_ref(), "")
                .map_err(|why| t.at(domain.span(), format!("the trust domain {why}")))?;
            if !trust_domains.insert(domain.get_ref().clone()) {
                return Err(t.at(domain.span(), "a trust domain listed twice"));
            }
        }

        let jwt = match &shape.jwt {
            None => None,
            Some(jwt) => Some(read_jwt(&t, jwt.get_ref(), base)?),
        };

        let mut listed: BTreeSet<String> = BTreeSet::new();
        let mut enforcement_points = BTreeSet::new();
        let mut explainers = BTreeSet::new();
        for ep in &shape.enforcement_point {
            let id = t.identity(&ep.get_ref().id, &trust_domains)?;
            if !listed.insert(id.clone()) {
                return Err(t.at(
                    ep.get_ref().id.span(),
                    format!("`{}` is listed twice", id.escape_default()),
                ));
            }
            if ep.get_ref().explain == Some(true) {
                explainers.insert(id.clone());
            }
            enforcement_points.insert(id);
        }

        let mut actors = std::collections::BTreeMap::new();
        let mut prefixes: Vec<(String, Vouched)> = Vec::new();
        for actor in &shape.actor {
            let a = actor.get_ref();
            let kind = t.vouched(&a.kind, &a.vouch())?;
            match (&a.id, &a.prefix) {
                (Some(id), None) => {
                    let text = t.identity(id, &trust_domains)?;
                    if !listed.insert(text.clone()) {
                        return Err(t.at(
                            id.span(),
                            format!("`{}` is listed twice", text.escape_default()),
                        ));
                    }
                    actors.insert(text, kind);
                }
                (None, Some(prefix)) => {
                    let p = prefix.get_ref();
                    let Some(base_id) = p.strip_suffix('/') else {
                        return Err(t.at(
                            prefix.span(),
                            "a prefix is a SPIFFE ID ending in `/` (`spiffe://example.org/agents/`), matching whole path segments",
                        ));
                    };
                    let spiffe = SpiffeId::parse(base_id).map_err(|why| {
                        t.at(
                            prefix.span(),
                            format!("a prefix is a SPIFFE ID ending in `/`; this one {why}"),
                        )
                    })?;
                    if !trust_domains.contains(spiffe.trust_domain()) {
                        return Err(t.at(
                            prefix.span(),
                            format!(
                                "the trust domain `{}` is not in `trust_domains`; no SPIFFE ID from it would be accepted",
                                spiffe.trust_domain()
                            ),
                        ));
                    }
                    if prefixes.iter().any(|(q, _)| q == p) {
                        return Err(t.at(prefix.span(), "a prefix listed twice"));
                    }
                    prefixes.push((p.clone(), kind));
                }
                _ => {
                    return Err(t.at(
                        actor.span(),
                        "an `[[actor]]` has either `id` (one identity) or `prefix` (a SPIFFE ID path ending in `/`), and not both",
                    ))
                }
            }
        }
        // Longest first, so the most specific prefix decides.
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));

        let mut api_keys: Vec<ApiKeyEntry> = Vec::new();
        let mut hashes: Vec<[u8; 32]> = Vec::new();
        for entry in &shape.api_key {
            let e = entry.get_ref();
            let name_text = e.name.get_ref();
            if name_text.is_empty()
                || name_text.len() > 64
                || !name_text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            {
                return Err(t.at(
                    e.name.span(),
                    "an API key's `name` is 1 to 64 letters, digits, `.`, `-` or `_`",
                ));
            }
            if listed.contains(name_text) || api_keys.iter().any(|k| k.name == *name_text) {
                return Err(t.at(
                    e.name.span(),
                    format!("`{name_text}` is listed twice; an API key's name is its own identity"),
                ));
            }
            let hash =
                api_key::parse_hash(e.hash.get_ref()).map_err(|why| t.at(e.hash.span(), why))?;
            if hashes.contains(&hash) {
                return Err(t.at(
                    e.hash.span(),
                    "this hash is another key's too; every API key is its own",
                ));
            }
            let role = match e.role.get_ref().as_str() {
                "enforcement_point" => Role::EnforcementPoint,
                "actor" => Role::Actor,
                other => {
                    return Err(t.at(
                        e.role.span(),
                        format!(
                            "`role` is `{}`; `enforcement_point` or `actor` expected",
                            other.escape_default()
                        ),
                    ))
                }
            };
            let vouched = match (role, &e.kind) {
                (Role::Actor, Some(kind)) => Some(t.vouched(kind, &e.vouch())?),
                (Role::Actor, None) => {
                    return Err(t.at(
                        entry.span(),
                        "an actor's API key needs a `kind` (`human`, `workload` or `agent`)",
                    ))
                }
                (Role::EnforcementPoint, Some(kind)) => {
                    return Err(t.at(
                        kind.span(),
                        "an enforcement point has no `kind`: it asks about other subjects",
                    ))
                }
                (Role::EnforcementPoint, None) => {
                    if let Some(field) = e
                        .groups
                        .as_ref()
                        .map(|g| g.span())
                        .or(e.on_behalf_of.as_ref().map(|h| h.span()))
                    {
                        return Err(t.at(
                            field,
                            "an enforcement point's key vouches for no `groups` or `on_behalf_of`: it asks about other subjects",
                        ));
                    }
                    None
                }
            };
            hashes.push(hash);
            api_keys.push(ApiKeyEntry {
                name: name_text.clone(),
                role,
                explain: e.explain.unwrap_or(false),
                vouched,
            });
        }

        let unlisted = match &shape.unlisted {
            None => None,
            Some(u) => Some(t.vouched(&u.get_ref().kind, &u.get_ref().vouch())?),
        };

        Ok(Callers {
            trust_domains,
            jwt,
            api_keys,
            api_key_hashes: hashes,
            enforcement_points,
            actors,
            prefixes,
            unlisted,
            explainers,
            tokens: std::sync::Arc::default(),
        })
    }
}

fn read_jwt(t: &Text<'_>, jwt: &JwtShape, base: &Path) -> Result<JwtConfig, CallersError> {
    let issuer = jwt.issuer.get_ref();
    if issuer.is_empty() {
        return Err(t.at(
            jwt.issuer.span(),
            "`issuer` is empty; the `iss` the tokens carry expected",
        ));
    }
    let audience = jwt.audience.get_ref();
    if audience.is_empty() {
        return Err(t.at(
            jwt.audience.span(),
            "`audience` is empty; the `aud` the tokens are issued for expected",
        ));
    }
    let leeway = match &jwt.leeway_seconds {
        None => DEFAULT_LEEWAY,
        Some(l) if (0..=MAX_LEEWAY).contains(l.get_ref()) => *l.get_ref(),
        Some(l) => return Err(t.at(l.span(), format!("`leeway_seconds` is 0 to {MAX_LEEWAY}"))),
    };
    let path = base.join(jwt.jwks.get_ref());
    let shown = path.display().to_string();
    let bytes = read_bounded(&path, crate::jwks::MAX_JWKS_BYTES).map_err(|why| {
        t.at(
            jwt.jwks.span(),
            format!("cannot read the JWKS file `{shown}`: {why}"),
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        t.at(
            jwt.jwks.span(),
            format!("the JWKS file `{shown}` is not UTF-8; JSON expected"),
        )
    })?;
    let jwks = Jwks::parse(&shown, &text)?;
    Ok(JwtConfig {
        issuer: issuer.clone(),
        audience: audience.clone(),
        jwks,
        leeway,
        attested: jwt.attested.unwrap_or(true),
    })
}

/// Reads a regular file of at most `limit` bytes: a FIFO, a device or a directory is
/// refused (reading one could block or never end), and so is a longer file.
fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > limit {
        return Err(format!("longer than {limit} bytes"));
    }
    Ok(bytes)
}
