//! Ed25519 keys as JWKs (RFC 8037): key files for approvers and workloads, the RFC 7638
//! thumbprint used in a grant's `cnf`, and the proof of possession a workload signs when
//! it redeems a key-bound grant.

use std::path::Path;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::{json, Value as Json};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::encode::{b64, random, unb64};
use crate::error::Error;
pub use writ_registry::public_from_b64;

/// The domain of a proof of possession: a workload signs
/// `"writ-pop-v2" || 0x00 || grant || 0x00 || digest || 0x00 || iat` with the key its
/// grant is bound to ([`pop_message`]).
pub const POP_DOMAIN: &[u8] = b"writ-pop-v2\0";

/// An Ed25519 private key (approver, workload or the engine's grant key).
pub struct KeyPair {
    signing: SigningKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("KeyPair")
            .field("public", &b64(self.signing.verifying_key().as_bytes()))
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<KeyPair, Error> {
        let seed = Zeroizing::new(random::<32>()?);
        Ok(KeyPair {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// The key in a private JWK (`{"kty":"OKP","crv":"Ed25519","x":…,"d":…}`).
    pub fn from_jwk(jwk: &Json) -> Result<KeyPair, Error> {
        let d = jwk
            .get("d")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::Key("the JWK has no private part `d`".into()))?;
        check_okp(jwk).map_err(Error::Key)?;
        let bytes = Zeroizing::new(unb64(d, "d").map_err(Error::Key)?);
        let seed: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::Key("`d` must be 32 bytes".into()))?;
        let pair = KeyPair {
            signing: SigningKey::from_bytes(seed),
        };
        if let Some(x) = jwk.get("x").and_then(Json::as_str) {
            if x != b64(pair.signing.verifying_key().as_bytes()) {
                return Err(Error::Key(
                    "`x` is not the public key of `d`: the key file is damaged".into(),
                ));
            }
        }
        Ok(pair)
    }

    /// Reads a private JWK key file.
    pub fn read(path: &Path) -> Result<KeyPair, Error> {
        let jwk = read_private_jwk(path)?;
        Self::from_jwk(&jwk)
            .map_err(|e| Error::Key(format!("`{}`: {}", path.display(), strip_key(&e))))
    }

    /// Reads the key file, or creates it (owner-only) when absent; when two processes
    /// create it at once, both end up with the one that was written first.
    /// A key file another user owns or can read is refused (it may not be ours, or may
    /// have been read).
    pub fn load_or_create(path: &Path) -> Result<KeyPair, Error> {
        if !path.exists() {
            match KeyPair::generate()?.write_new(path) {
                Ok(()) => {}
                Err(_) if path.exists() => {}
                Err(e) => return Err(e),
            }
        }
        crate::files::check_private_file(path).map_err(Error::Key)?;
        KeyPair::read(path)
    }

    /// Writes the private JWK to `path`, readable by its owner only; refuses to overwrite.
    pub fn write_new(&self, path: &Path) -> Result<(), Error> {
        write_private_jwk(path, &self.private_jwk())
    }

    fn private_jwk(&self) -> Json {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64(self.signing.verifying_key().as_bytes()),
            "d": b64(self.signing.as_bytes()),
        })
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> Json {
        json!({"kty": "OKP", "crv": "Ed25519", "x": self.public_b64()})
    }

    /// The public key, base64url (as written in the approver registry).
    pub fn public_b64(&self) -> String {
        b64(self.signing.verifying_key().as_bytes())
    }

    /// The public key.
    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// Signs `message`; the signature in base64url.
    pub fn sign_b64(&self, message: &[u8]) -> String {
        b64(&self.signing.sign(message).to_bytes())
    }

    /// The 64-byte `seed || public` form some libraries take.
    pub(crate) fn keypair_bytes(&self) -> Zeroizing<[u8; 64]> {
        Zeroizing::new(self.signing.to_keypair_bytes())
    }
}

fn strip_key(e: &Error) -> String {
    match e {
        Error::Key(m) => m.clone(),
        other => other.to_string(),
    }
}

fn check_okp(jwk: &Json) -> Result<(), String> {
    let kty = jwk.get("kty").and_then(Json::as_str);
    let crv = jwk.get("crv").and_then(Json::as_str);
    match (kty, crv) {
        (Some("OKP"), Some("Ed25519")) => Ok(()),
        (Some(k), c) => Err(format!(
            "unsupported key type `{k}`{}: writ takes Ed25519 keys (`kty` \"OKP\", `crv` \"Ed25519\")",
            c.map(|c| format!(" / `{c}`")).unwrap_or_default()
        )),
        (None, _) => Err("the JWK has no `kty`".into()),
    }
}

/// Writes a private JWK to `path`, readable by its owner only; refuses to overwrite.
fn write_private_jwk(path: &Path, jwk: &Json) -> Result<(), Error> {
    let text = Zeroizing::new(format!("{jwk}\n"));
    crate::files::write_new_secret(path, text.as_bytes())
        .map_err(|e| Error::Key(format!("cannot create `{}`: {e}", path.display())))
}

/// Reads a private JWK file (the text is wiped from memory afterwards).
fn read_private_jwk(path: &Path) -> Result<Json, Error> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| Error::Key(format!("cannot read `{}`: {e}", path.display())))?,
    );
    serde_json::from_str(&text)
        .map_err(|e| Error::Key(format!("`{}` is not a JWK key file: {e}", path.display())))
}

/// A workload's private key, Ed25519 or P-256 (a private JWK file): it puts its public
/// JWK at `principal.key` and signs the proof of possession when it redeems a key-bound
/// grant (Ed25519, or ES256 as `r || s`).
pub enum WorkloadKeyPair {
    /// `{"kty":"OKP","crv":"Ed25519",…,"d":…}`.
    Ed25519(KeyPair),
    /// `{"kty":"EC","crv":"P-256",…,"d":…}`.
    P256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for WorkloadKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("WorkloadKeyPair")
            .field("public", &self.public_jwk())
            .finish_non_exhaustive()
    }
}

impl WorkloadKeyPair {
    /// A fresh P-256 key from the operating system's CSPRNG.
    pub fn generate_p256() -> Result<WorkloadKeyPair, Error> {
        // A random 32-byte string is a valid scalar but for a chance of about 2^-32
        // (zero, or at least the group order): draw again then.
        for _ in 0..16 {
            let seed = Zeroizing::new(random::<32>()?);
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(seed.as_slice()) {
                return Ok(WorkloadKeyPair::P256(key));
            }
        }
        Err(Error::Random("no valid P-256 scalar in 16 draws".into()))
    }

    /// The key in a private JWK: Ed25519 (`OKP`) or P-256 (`EC`).
    pub fn from_jwk(jwk: &Json) -> Result<WorkloadKeyPair, Error> {
        if jwk.get("kty").and_then(Json::as_str) != Some("EC") {
            return KeyPair::from_jwk(jwk).map(WorkloadKeyPair::Ed25519);
        }
        if jwk.get("crv").and_then(Json::as_str) != Some("P-256") {
            return Err(Error::Key("an EC key must be on the curve `P-256`".into()));
        }
        let d = jwk
            .get("d")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::Key("the JWK has no private part `d`".into()))?;
        let bytes = Zeroizing::new(unb64(d, "d").map_err(Error::Key)?);
        let key = p256::ecdsa::SigningKey::from_slice(bytes.as_slice())
            .map_err(|_| Error::Key("`d` is not a P-256 private key (32 bytes)".into()))?;
        let pair = WorkloadKeyPair::P256(key);
        let public = pair.public_jwk();
        for c in ["x", "y"] {
            if let Some(given) = jwk.get(c).and_then(Json::as_str) {
                if Some(given) != public.get(c).and_then(Json::as_str) {
                    return Err(Error::Key(format!(
                        "`{c}` is not the public key of `d`: the key file is damaged"
                    )));
                }
            }
        }
        Ok(pair)
    }

    /// Reads a private JWK key file.
    pub fn read(path: &Path) -> Result<WorkloadKeyPair, Error> {
        let jwk = read_private_jwk(path)?;
        Self::from_jwk(&jwk)
            .map_err(|e| Error::Key(format!("`{}`: {}", path.display(), strip_key(&e))))
    }

    /// Writes the private JWK to `path`, readable by its owner only; refuses to overwrite.
    pub fn write_new(&self, path: &Path) -> Result<(), Error> {
        match self {
            WorkloadKeyPair::Ed25519(pair) => pair.write_new(path),
            WorkloadKeyPair::P256(key) => {
                let mut jwk = self.public_jwk();
                if let Some(obj) = jwk.as_object_mut() {
                    obj.insert("d".into(), Json::from(b64(&key.to_bytes())));
                }
                write_private_jwk(path, &jwk)
            }
        }
    }

    /// The public key as a JWK (what goes at `principal.key`).
    pub fn public_jwk(&self) -> Json {
        match self {
            WorkloadKeyPair::Ed25519(pair) => pair.public_jwk(),
            WorkloadKeyPair::P256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": point.x().map(|x| b64(x)).unwrap_or_default(),
                    "y": point.y().map(|y| b64(y)).unwrap_or_default(),
                })
            }
        }
    }

    /// Signs `message`: Ed25519, or ES256 as `r || s` (64 bytes); base64url.
    pub fn sign_b64(&self, message: &[u8]) -> String {
        match self {
            WorkloadKeyPair::Ed25519(pair) => pair.sign_b64(message),
            WorkloadKeyPair::P256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = key.sign(message);
                b64(&signature.to_bytes())
            }
        }
    }
}

/// Parses a public JWK (Ed25519 only).
pub fn public_from_jwk(jwk: &Json) -> Result<VerifyingKey, String> {
    check_okp(jwk)?;
    if jwk.get("d").is_some() {
        return Err("the JWK holds a private key (`d`): send the public key only".into());
    }
    let x = jwk
        .get("x")
        .and_then(Json::as_str)
        .ok_or("the JWK has no `x`")?;
    public_from_b64(x)
}

/// A workload's public key (`principal.key`): Ed25519 (`OKP`) or P-256 (`EC`).
#[derive(Clone, Debug)]
pub enum WorkloadKey {
    /// `{"kty":"OKP","crv":"Ed25519","x":…}`; proofs are Ed25519 signatures.
    Ed25519(VerifyingKey),
    /// `{"kty":"EC","crv":"P-256","x":…,"y":…}`; proofs are ES256 signatures, `r || s`
    /// (64 bytes, as JWS writes them).
    P256(p256::ecdsa::VerifyingKey),
}

impl WorkloadKey {
    /// The key in a public JWK.
    pub fn from_jwk(jwk: &Json) -> Result<WorkloadKey, String> {
        if jwk.get("d").is_some() {
            return Err("the JWK holds a private key (`d`): send the public key only".into());
        }
        match jwk.get("kty").and_then(Json::as_str) {
            Some("EC") => {
                let crv = jwk.get("crv").and_then(Json::as_str);
                if crv != Some("P-256") {
                    return Err(format!(
                        "unsupported curve `{}`: writ takes EC keys on `P-256`",
                        crv.unwrap_or("")
                    ));
                }
                let coordinate = |name: &str| -> Result<[u8; 32], String> {
                    let text = jwk
                        .get(name)
                        .and_then(Json::as_str)
                        .ok_or_else(|| format!("the JWK has no `{name}`"))?;
                    unb64(text, name)?
                        .as_slice()
                        .try_into()
                        .map_err(|_| format!("`{name}` must be 32 bytes"))
                };
                let (x, y) = (coordinate("x")?, coordinate("y")?);
                let point =
                    p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
                p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map(WorkloadKey::P256)
                    .map_err(|_| "`x`, `y` is not a point on P-256".into())
            }
            Some("OKP") | None => public_from_jwk(jwk).map(WorkloadKey::Ed25519),
            Some(other) => Err(format!(
                "unsupported key type `{other}`: a workload key is Ed25519 (`kty` \"OKP\", `crv` \"Ed25519\") or P-256 (`kty` \"EC\", `crv` \"P-256\")"
            )),
        }
    }

    /// Verifies a proof (base64url signature) over `message`.
    pub fn verify_b64(&self, message: &[u8], signature: &str) -> bool {
        match self {
            WorkloadKey::Ed25519(key) => verify_b64(key, message, signature),
            WorkloadKey::P256(key) => {
                use p256::ecdsa::signature::Verifier as _;
                let Ok(bytes) = unb64(signature, "signature") else {
                    return false;
                };
                let Ok(sig) = p256::ecdsa::Signature::from_slice(&bytes) else {
                    return false;
                };
                key.verify(message, &sig).is_ok()
            }
        }
    }
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 over the required members in
/// lexicographic order, no whitespace; base64url.
pub fn thumbprint(jwk: &Json) -> Result<String, String> {
    let member = |name: &str| -> Result<&str, String> {
        jwk.get(name)
            .and_then(Json::as_str)
            .ok_or_else(|| format!("the JWK has no string `{name}`"))
    };
    let kty = member("kty")?;
    // Members by key type (RFC 7638 §3.2, RFC 8037 §2); serde_json writes the keys of this
    // literal in order, escaped as JSON strings.
    let canonical = match kty {
        "OKP" => json!({"crv": member("crv")?, "kty": kty, "x": member("x")?}),
        "EC" => json!({"crv": member("crv")?, "kty": kty, "x": member("x")?, "y": member("y")?}),
        "RSA" => json!({"e": member("e")?, "kty": kty, "n": member("n")?}),
        other => return Err(format!("unsupported key type `{other}`")),
    };
    let text = serde_json_canonicalizer::to_string(&canonical).map_err(|e| e.to_string())?;
    Ok(b64(&Sha256::digest(text.as_bytes())))
}

/// Verifies an Ed25519 signature (base64url) over `message`, strictly (no malleable or
/// small-order forms).
pub fn verify_b64(key: &VerifyingKey, message: &[u8], signature: &str) -> bool {
    let Ok(bytes) = unb64(signature, "signature") else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify_strict(message, &sig).is_ok()
}

/// The message a workload signs to prove, at `iat` (unix seconds, written in decimal),
/// that it holds the key a grant is bound to and executes the transaction `digest`
/// (`sha256:<hex>`, as text): `"writ-pop-v2" || 0x00 || grant || 0x00 || digest || 0x00
/// || iat`. A proof is good within the clock skew of its `iat` only.
pub fn pop_message(grant: &str, digest: &str, iat: i64) -> Vec<u8> {
    let mut m = POP_DOMAIN.to_vec();
    m.extend_from_slice(grant.as_bytes());
    m.push(0);
    m.extend_from_slice(digest.as_bytes());
    m.push(0);
    m.extend_from_slice(iat.to_string().as_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8037_thumbprint_example() {
        // RFC 8037 appendix A.3.
        let jwk = json!({"kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn rfc8037_private_key_gives_its_public_key() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519",
            "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let pair = KeyPair::from_jwk(&jwk).unwrap();
        assert_eq!(
            pair.public_b64(),
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        );
        let sig = pair.sign_b64(b"m");
        assert!(verify_b64(&pair.public(), b"m", &sig));
        assert!(!verify_b64(&pair.public(), b"n", &sig));
    }

    #[test]
    fn mismatched_x_is_refused() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519",
            "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
        assert!(KeyPair::from_jwk(&jwk).is_err());
    }

    #[test]
    fn p256_workload_keys_verify_es256_proofs() {
        use p256::ecdsa::signature::Signer as _;
        let secret = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let point = secret.verifying_key().to_encoded_point(false);
        let jwk = json!({"kty": "EC", "crv": "P-256",
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())});
        let key = WorkloadKey::from_jwk(&jwk).unwrap();
        let sig: p256::ecdsa::Signature = secret.sign(b"grant");
        assert!(key.verify_b64(b"grant", &b64(&sig.to_bytes())));
        assert!(!key.verify_b64(b"other", &b64(&sig.to_bytes())));
        let mut off = jwk.clone();
        off["y"] = json!(b64(&[1u8; 32]));
        assert!(WorkloadKey::from_jwk(&off).is_err());
        assert!(thumbprint(&jwk).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let pair = KeyPair::generate().unwrap();
        let shown = format!("{pair:?}");
        assert!(!shown.contains(&b64(pair.signing.as_bytes())));
    }

    #[test]
    fn a_p256_key_file_round_trips_and_signs_what_its_public_key_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.key");
        let pair = WorkloadKeyPair::generate_p256().unwrap();
        pair.write_new(&path).unwrap();
        let read = WorkloadKeyPair::read(&path).unwrap();
        assert_eq!(read.public_jwk(), pair.public_jwk());
        let public = WorkloadKey::from_jwk(&read.public_jwk()).unwrap();
        assert!(public.verify_b64(b"m", &read.sign_b64(b"m")));
        assert!(!public.verify_b64(b"other", &read.sign_b64(b"m")));
        let secret: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(!format!("{read:?}").contains(secret["d"].as_str().unwrap()));
        // A damaged file (another key's `x`) is refused.
        let mut damaged = secret.clone();
        damaged["x"] = WorkloadKeyPair::generate_p256().unwrap().public_jwk()["x"].clone();
        assert!(WorkloadKeyPair::from_jwk(&damaged).is_err());
        // Ed25519 files read as before.
        let ed = dir.path().join("e.key");
        KeyPair::generate().unwrap().write_new(&ed).unwrap();
        assert!(matches!(
            WorkloadKeyPair::read(&ed).unwrap(),
            WorkloadKeyPair::Ed25519(_)
        ));
    }
}
