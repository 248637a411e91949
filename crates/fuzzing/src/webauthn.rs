//! WebAuthn inputs through writ-webauthn's two public entries, `register` and
//! `verify_assertion`, with the fuzzed bytes placed in one field and the W3C
//! specification's test vectors (§16.2, §16.11) in the others, so every check before and
//! after the fuzzed field runs on real data.

use writ_webauthn::{register, verify_assertion, Assertion, Attestation, Credential, RelyingParty};

/// The §16.2 vectors (ES256, `none` attestation), hex.
pub(crate) mod es256 {
    pub const REG_CHALLENGE: &str =
        "00c30fb78531c464d2b6771dab8d7b603c01162f2fa486bea70f283ae556e130";
    pub const CREDENTIAL_ID: &str =
        "f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4";
    pub const REG_CLIENT_DATA: &str = "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765223a22414d4d507434557878475453746e63647134313759447742466938767049612d7077386f4f755657345441222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a20426b5165446a646354427258426941774a544c453551227d";
    pub const ATTESTATION_OBJECT: &str = "a363666d74646e6f6e656761747453746d74a068617574684461746158a4bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b559000000008446ccb9ab1db374750b2367ff6f3a1f0020f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220";
    pub const COSE_KEY: &str = "a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220";
    pub const GET_CHALLENGE: &str =
        "39c0e7521417ba54d43e8dc95174f423dee9bf3cd804ff6d65c857c9abf4d408";
    pub const GET_AUTH_DATA: &str =
        "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b51900000000";
    pub const GET_CLIENT_DATA: &str = "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a224f63446e55685158756c5455506f334a5558543049393770767a7a59425039745a63685879617630314167222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d";
    pub const GET_SIGNATURE: &str = "3046022100f50a4e2e4409249c4a853ba361282f09841df4dd4547a13a87780218deffcd380221008480ac0f0b93538174f575bf11a1dd5d78c6e486013f937295ea13653e331e87";
}

/// The §16.11 vectors (Ed25519), hex.
pub(crate) mod ed25519 {
    pub const CREDENTIAL_ID: &str =
        "ce9f840ed96599580cd140fbc7bb3230633f50f61041aff73308ae71caa8a2bd";
    pub const COSE_KEY: &str =
        "a401010327200621582044e06ddd331c36a8dc667bab52bcae63486c916aa5e339e6acebaa84934bf832";
    pub const GET_CHALLENGE: &str =
        "895957e01c633a698348a2d8a31a54b7db27e8c1c43b2080d79ae2190267bfd2";
    pub const GET_AUTH_DATA: &str =
        "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50100000000";
    pub const GET_CLIENT_DATA: &str = "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a2269566c583442786a4f6d6d44534b4c596f7870557439736e364d48454f7943413135726947514a6e763949222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d";
    pub const GET_SIGNATURE: &str = "f5c59c7e46c34f6f8cc197101ddf9934fa2595f68eb1913a637e8419eb9ba4cfdfc48f85393bc0d40b011f0d6fecb097d6607525713223a0dc0d453993dae00b";
}

/// Hex to bytes; the constants above are well formed (a bad digit reads as 0).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks(2)
        .map(|p| {
            let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            digit(p[0]) << 4 | p.get(1).map_or(0, |c| digit(*c))
        })
        .collect()
}

/// The vectors' relying party: `example.org`, lenient (they carry no UV and count 0),
/// and the strict one.
fn parties() -> [RelyingParty; 2] {
    let strict = RelyingParty::new("example.org", ["https://example.org"]);
    let lenient = RelyingParty {
        require_user_verification: false,
        allow_counterless: true,
        ..strict.clone()
    };
    [lenient, strict]
}

fn es256_credential() -> Credential {
    Credential {
        id: hex(es256::CREDENTIAL_ID),
        public_key: hex(es256::COSE_KEY),
        sign_count: 0,
    }
}

fn es256_assertion() -> Assertion {
    Assertion {
        credential_id: hex(es256::CREDENTIAL_ID),
        authenticator_data: hex(es256::GET_AUTH_DATA),
        client_data_json: hex(es256::GET_CLIENT_DATA),
        signature: hex(es256::GET_SIGNATURE),
        user_handle: None,
    }
}

fn ed25519_credential() -> Credential {
    Credential {
        id: hex(ed25519::CREDENTIAL_ID),
        public_key: hex(ed25519::COSE_KEY),
        sign_count: 0,
    }
}

fn ed25519_assertion() -> Assertion {
    Assertion {
        credential_id: hex(ed25519::CREDENTIAL_ID),
        authenticator_data: hex(ed25519::GET_AUTH_DATA),
        client_data_json: hex(ed25519::GET_CLIENT_DATA),
        signature: hex(ed25519::GET_SIGNATURE),
        user_handle: None,
    }
}

/// A CBOR byte string header for `len` bytes.
fn cbor_bytes_header(len: usize) -> Vec<u8> {
    match len {
        0..=23 => vec![0x40 | len as u8],
        24..=0xff => vec![0x58, len as u8],
        0x100..=0xffff => {
            let mut v = vec![0x59];
            v.extend_from_slice(&(len as u16).to_be_bytes());
            v
        }
        _ => {
            let mut v = vec![0x5a];
            v.extend_from_slice(&(len as u32).to_be_bytes());
            v
        }
    }
}

/// `{"fmt": "none", "attStmt": {}, "authData": auth_data}` in CBOR.
fn none_attestation_object(auth_data: &[u8]) -> Vec<u8> {
    let mut v = vec![0xa3];
    v.extend_from_slice(b"\x63fmt\x64none\x67attStmt\xa0\x68authData");
    v.extend_from_slice(&cbor_bytes_header(auth_data.len()));
    v.extend_from_slice(auth_data);
    v
}

/// Client data JSON bytes: in an assertion (before the authenticator data and the
/// signature are looked at) and in a registration.
pub fn webauthn_client_data(data: &[u8]) {
    for rp in &parties() {
        let assertion = Assertion {
            client_data_json: data.to_vec(),
            ..es256_assertion()
        };
        let _ = verify_assertion(
            rp,
            &es256_credential(),
            &hex(es256::GET_CHALLENGE),
            &assertion,
        );
        let attestation = Attestation {
            credential_id: None,
            attestation_object: hex(es256::ATTESTATION_OBJECT),
            client_data_json: data.to_vec(),
        };
        let _ = register(rp, &hex(es256::REG_CHALLENGE), &attestation);
    }
}

/// Authenticator data bytes: in an assertion (valid client data; the signature then
/// refuses it) and inside a `none` attestation object in a registration (where attested
/// credential data and extensions are parsed).
pub fn webauthn_auth_data(data: &[u8]) {
    for rp in &parties() {
        let assertion = Assertion {
            authenticator_data: data.to_vec(),
            ..ed25519_assertion()
        };
        let _ = verify_assertion(
            rp,
            &ed25519_credential(),
            &hex(ed25519::GET_CHALLENGE),
            &assertion,
        );
        let attestation = Attestation {
            credential_id: None,
            attestation_object: none_attestation_object(data),
            client_data_json: hex(es256::REG_CLIENT_DATA),
        };
        let _ = register(rp, &hex(es256::REG_CHALLENGE), &attestation);
    }
}

/// Attestation object bytes (CBOR) in a registration with valid client data.
pub fn webauthn_attestation(data: &[u8]) {
    for rp in &parties() {
        let attestation = Attestation {
            credential_id: None,
            attestation_object: data.to_vec(),
            client_data_json: hex(es256::REG_CLIENT_DATA),
        };
        let _ = register(rp, &hex(es256::REG_CHALLENGE), &attestation);
    }
}

/// COSE key bytes as a stored credential's public key (the first thing an assertion
/// reads), and inside the attested credential data of a registration.
pub fn cose_key(data: &[u8]) {
    for rp in &parties() {
        let credential = Credential {
            public_key: data.to_vec(),
            ..es256_credential()
        };
        let _ = verify_assertion(
            rp,
            &credential,
            &hex(es256::GET_CHALLENGE),
            &es256_assertion(),
        );
        let credential = Credential {
            public_key: data.to_vec(),
            ..ed25519_credential()
        };
        let _ = verify_assertion(
            rp,
            &credential,
            &hex(ed25519::GET_CHALLENGE),
            &ed25519_assertion(),
        );
        let _ = register(rp, &hex(es256::REG_CHALLENGE), &attestation_with_key(data));
    }
}

/// A registration whose attested credential data carries `key`: the §16.2 rp id hash,
/// flags UP|UV|AT, count 0, a zero AAGUID, a 4-byte credential id, then the key.
fn attestation_with_key(key: &[u8]) -> Attestation {
    let registered = hex(es256::ATTESTATION_OBJECT);
    let start = registered.len().saturating_sub(164);
    let mut auth = registered[start..start + 37].to_vec();
    auth[32] = 0x45;
    auth.extend_from_slice(&[0u8; 16]);
    auth.extend_from_slice(&[0, 4, 1, 2, 3, 4]);
    auth.extend_from_slice(key);
    Attestation {
        credential_id: None,
        attestation_object: none_attestation_object(&auth),
        client_data_json: hex(es256::REG_CLIENT_DATA),
    }
}

#[cfg(test)]
mod tests {
    //! The fixed fields around each fuzzed one are valid: with the vectors' own bytes in
    //! the fuzzed field, every entry accepts, so a fuzzed byte is the only thing refused.

    use super::*;

    #[test]
    fn the_fixed_assertions_verify() {
        let [lenient, _] = parties();
        assert!(verify_assertion(
            &lenient,
            &es256_credential(),
            &hex(es256::GET_CHALLENGE),
            &es256_assertion()
        )
        .is_ok());
        assert!(verify_assertion(
            &lenient,
            &ed25519_credential(),
            &hex(ed25519::GET_CHALLENGE),
            &ed25519_assertion()
        )
        .is_ok());
    }

    #[test]
    fn the_fixed_registrations_register() {
        let [lenient, _] = parties();
        let spec = Attestation {
            credential_id: None,
            attestation_object: hex(es256::ATTESTATION_OBJECT),
            client_data_json: hex(es256::REG_CLIENT_DATA),
        };
        assert!(register(&lenient, &hex(es256::REG_CHALLENGE), &spec).is_ok());
        let registered = hex(es256::ATTESTATION_OBJECT);
        let auth = &registered[registered.len() - 164..];
        let rebuilt = Attestation {
            credential_id: None,
            attestation_object: none_attestation_object(auth),
            client_data_json: hex(es256::REG_CLIENT_DATA),
        };
        assert!(register(&lenient, &hex(es256::REG_CHALLENGE), &rebuilt).is_ok());
        let with_key = attestation_with_key(&hex(es256::COSE_KEY));
        assert!(register(&lenient, &hex(es256::REG_CHALLENGE), &with_key).is_ok());
    }
}
