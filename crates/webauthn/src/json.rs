//! The JSON shapes of assertions and registration responses: WebAuthn L3
//! `PublicKeyCredential.toJSON()` output (`AuthenticationResponseJSON`,
//! `RegistrationResponseJSON`), the primary shape, and writ's earlier flat shape.

use serde::de::Error as _;
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::types::{decode, encode, Assertion, Attestation};

/// Bytes as base64url without padding.
struct B64(Vec<u8>);

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::types::b64::deserialize(d).map(B64)
    }
}

fn bytes(b: Option<B64>) -> Option<Vec<u8>> {
    b.map(|B64(v)| v)
}

/// The members of `AuthenticatorAssertionResponseJSON`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AssertionResponse {
    #[serde(rename = "clientDataJSON")]
    client_data_json: B64,
    authenticator_data: B64,
    signature: B64,
    #[serde(default)]
    user_handle: Option<B64>,
    /// L3 lets an assertion carry one; it is not used.
    #[serde(default)]
    #[expect(dead_code, reason = "read so that it is allowed, never used")]
    attestation_object: Option<B64>,
}

/// The members of `AuthenticatorAttestationResponseJSON`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "the browser's conveniences are read so that they are allowed, never used"
)]
struct AttestationResponse {
    #[serde(rename = "clientDataJSON")]
    client_data_json: B64,
    attestation_object: B64,
    #[serde(default)]
    authenticator_data: Option<B64>,
    #[serde(default)]
    transports: Option<Vec<String>>,
    #[serde(default)]
    public_key_algorithm: Option<i64>,
    #[serde(default)]
    public_key: Option<B64>,
}

/// A wire struct for either shape of a credential's JSON, every member optional (which
/// shape it is, and what is missing, is decided after): WebAuthn L3's envelope (`id`,
/// `rawId`, `type`, `response`, `authenticatorAttachment`, `clientExtensionResults`), then
/// the members of writ's flat shape. Unknown members are refused (serde's
/// `deny_unknown_fields` does not combine with `flatten`, hence one macro for the
/// envelope rather than a flattened struct).
macro_rules! wire {
    ($(#[$doc:meta])* $name:ident, $response:ty, { $($(#[$fdoc:meta])* $flat:ident,)* }) => {
        $(#[$doc])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            #[serde(default)]
            id: Option<String>,
            #[serde(default, rename = "rawId")]
            raw_id: Option<B64>,
            #[serde(default, rename = "type")]
            ty: Option<String>,
            #[serde(default)]
            response: Option<$response>,
            #[serde(default, rename = "authenticatorAttachment")]
            authenticator_attachment: Option<String>,
            #[serde(default, rename = "clientExtensionResults")]
            client_extension_results: Option<serde_json::Map<String, serde_json::Value>>,
            $(
                $(#[$fdoc])*
                #[serde(default)]
                $flat: Option<B64>,
            )*
        }

        impl $name {
            /// Whether any member of the L3 envelope is present.
            fn l3(&self) -> bool {
                self.id.is_some()
                    || self.raw_id.is_some()
                    || self.ty.is_some()
                    || self.response.is_some()
                    || self.authenticator_attachment.is_some()
                    || self.client_extension_results.is_some()
            }

            /// Whether any member of the flat shape is present.
            fn flat(&self) -> bool {
                false $(|| self.$flat.is_some())*
            }

            /// The L3 shape's credential id (checked) and response, taken out; `None` for
            /// the flat shape. Both shapes at once are refused.
            fn take_l3<E: serde::de::Error>(&mut self) -> Result<Option<(Vec<u8>, $response)>, E> {
                if self.l3() && self.flat() {
                    return Err(E::custom(MIXED));
                }
                if !self.l3() {
                    return Ok(None);
                }
                let id = credential_id(self.id.take(), self.raw_id.take(), self.ty.take())?;
                let response = self
                    .response
                    .take()
                    .ok_or_else(|| E::missing_field("response"))?;
                Ok(Some((id, response)))
            }
        }
    };
}

wire!(
    /// Either shape of an assertion.
    AssertionWire,
    AssertionResponse,
    {
        credential_id,
        authenticator_data,
        client_data_json,
        signature,
        user_handle,
    }
);

wire!(
    /// Either shape of a registration response (writ's earlier shape is the flat one).
    AttestationWire,
    AttestationResponse,
    {
        attestation_object,
        client_data_json,
    }
);

/// `PublicKeyCredential.toJSON()`'s envelope around `response`, for credential `id`.
fn serialize_l3<S: Serializer>(
    s: S,
    id: &[u8],
    response: &serde_json::Map<String, serde_json::Value>,
) -> Result<S::Ok, S::Error> {
    let id = encode(id);
    let mut m = s.serialize_map(Some(5))?;
    m.serialize_entry("id", &id)?;
    m.serialize_entry("rawId", &id)?;
    m.serialize_entry("type", "public-key")?;
    m.serialize_entry("response", response)?;
    m.serialize_entry("clientExtensionResults", &serde_json::Map::new())?;
    m.end()
}

/// The checks common to both L3 shapes: `type` is `public-key`, `id` and `rawId` are
/// present and name the same credential. Returns the credential id.
fn credential_id<E: serde::de::Error>(
    id: Option<String>,
    raw_id: Option<B64>,
    ty: Option<String>,
) -> Result<Vec<u8>, E> {
    match ty.as_deref() {
        Some("public-key") => {}
        Some(other) => {
            return Err(E::custom(format!(
                "`type` is `{other}`, expected `public-key`"
            )))
        }
        None => return Err(E::missing_field("type")),
    }
    let id = id.ok_or_else(|| E::missing_field("id"))?;
    let raw_id = bytes(raw_id).ok_or_else(|| E::missing_field("rawId"))?;
    let id_bytes = decode(&id)
        .map_err(|e| E::custom(format!("`id` is not base64url without padding: {e}")))?;
    if id_bytes != raw_id {
        return Err(E::custom(format!(
            "`id` (`{id}`) and `rawId` (`{}`) name different credentials",
            encode(&raw_id)
        )));
    }
    Ok(raw_id)
}

const MIXED: &str = "mixes the WebAuthn JSON shape (`id`, `rawId`, `type`, `response`, …) with writ's flat shape (`credential_id`, …): send one";

impl<'de> Deserialize<'de> for Assertion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut w = AssertionWire::deserialize(d)?;
        if let Some((credential_id, r)) = w.take_l3()? {
            return Ok(Assertion {
                credential_id,
                authenticator_data: r.authenticator_data.0,
                client_data_json: r.client_data_json.0,
                signature: r.signature.0,
                user_handle: bytes(r.user_handle),
            });
        }
        let flat = w.flat();
        let need = |b: Option<B64>, name: &'static str| bytes(b).ok_or(name);
        let assertion = (|| {
            Ok(Assertion {
                credential_id: need(w.credential_id, "credential_id")?,
                authenticator_data: need(w.authenticator_data, "authenticator_data")?,
                client_data_json: need(w.client_data_json, "client_data_json")?,
                signature: need(w.signature, "signature")?,
                user_handle: bytes(w.user_handle),
            })
        })();
        assertion.map_err(|name| {
            if flat {
                D::Error::missing_field(name)
            } else {
                D::Error::custom(
                    "not a WebAuthn assertion: expected `PublicKeyCredential.toJSON()` output (`id`, `rawId`, `type`, `response`)",
                )
            }
        })
    }
}

impl Serialize for Assertion {
    /// As `PublicKeyCredential.toJSON()` writes it.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut response = serde_json::Map::new();
        let mut put = |k: &str, v: &[u8]| {
            response.insert(k.to_owned(), serde_json::Value::String(encode(v)));
        };
        put("clientDataJSON", &self.client_data_json);
        put("authenticatorData", &self.authenticator_data);
        put("signature", &self.signature);
        if let Some(h) = &self.user_handle {
            put("userHandle", h);
        }
        serialize_l3(s, &self.credential_id, &response)
    }
}

impl<'de> Deserialize<'de> for Attestation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut w = AttestationWire::deserialize(d)?;
        if let Some((credential_id, r)) = w.take_l3()? {
            return Ok(Attestation {
                credential_id: Some(credential_id),
                attestation_object: r.attestation_object.0,
                client_data_json: r.client_data_json.0,
            });
        }
        if !w.flat() {
            return Err(D::Error::custom(
                "not a WebAuthn registration response: expected `PublicKeyCredential.toJSON()` output (`id`, `rawId`, `type`, `response`)",
            ));
        }
        Ok(Attestation {
            credential_id: None,
            attestation_object: bytes(w.attestation_object)
                .ok_or_else(|| D::Error::missing_field("attestation_object"))?,
            client_data_json: bytes(w.client_data_json)
                .ok_or_else(|| D::Error::missing_field("client_data_json"))?,
        })
    }
}

impl Serialize for Attestation {
    /// As `PublicKeyCredential.toJSON()` writes it when the credential id is known,
    /// otherwise in writ's earlier shape.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let object = encode(&self.attestation_object);
        let client_data = encode(&self.client_data_json);
        match &self.credential_id {
            Some(cid) => {
                let mut response = serde_json::Map::new();
                response.insert("clientDataJSON".into(), client_data.into());
                response.insert("attestationObject".into(), object.into());
                serialize_l3(s, cid, &response)
            }
            None => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("attestation_object", &object)?;
                m.serialize_entry("client_data_json", &client_data)?;
                m.end()
            }
        }
    }
}
