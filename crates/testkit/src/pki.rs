//! Certificates made by the test itself with rcgen (no key or certificate in the
//! repository): a CA, a server certificate for `127.0.0.1` and `localhost`, and client
//! certificates with a given SPIFFE ID — or deliberately wrong ones (two URI SANs, none, a
//! DNS name only, a CA, expired, from another CA).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// A certificate and its key, in PEM and DER.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: String,
    /// Its private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
}

impl Issued {
    /// Writes `NAME.pem` and `NAME.key` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

/// What a client certificate holds ([`TestCa::client_with`]).
#[derive(Clone, Debug, Default)]
pub struct ClientSpec<'a> {
    /// URI SANs, in order (none: no URI SAN).
    pub uris: Vec<&'a str>,
    /// DNS SANs.
    pub dns: Vec<&'a str>,
    /// Mark it a CA (`basicConstraints cA=true`, may sign certificates).
    pub is_ca: bool,
    /// Valid only in 2000 (long expired).
    pub expired: bool,
}

/// A test certificate authority.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: Vec<u8>,
}

impl TestCa {
    /// A new CA named `name` (its common name), with a fresh P-256 key.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            pem: cert.pem(),
            der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM (what `--client-ca` reads).
    pub fn cert_pem(&self) -> &str {
        &self.pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.der
    }

    /// Writes the CA certificate as `NAME.pem` into `dir`; returns its path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(format!("{name}.pem"));
        std::fs::write(&path, &self.pem).unwrap();
        path
    }

    fn issue(&self, params: &CertificateParams) -> Issued {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        }
    }

    /// A server certificate for `127.0.0.1` and `localhost` (`serverAuth`).
    pub fn server(&self) -> Issued {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "writ test server");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(&params)
    }

    /// A client certificate (an X509-SVID) whose one URI SAN is `spiffe_id`.
    pub fn client(&self, spiffe_id: &str) -> Issued {
        self.client_with(&ClientSpec {
            uris: vec![spiffe_id],
            ..ClientSpec::default()
        })
    }

    /// A client certificate as `spec` says (`clientAuth`; a CA one may sign certificates).
    pub fn client_with(&self, spec: &ClientSpec<'_>) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "writ test client");
        for uri in &spec.uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().unwrap()));
        }
        for dns in &spec.dns {
            params
                .subject_alt_names
                .push(SanType::DnsName((*dns).try_into().unwrap()));
        }
        if spec.is_ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyCertSign,
            ];
        } else {
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        if spec.expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2000, 12, 31);
        }
        self.issue(&params)
    }
}
