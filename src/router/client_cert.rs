//! A client's TLS certificate, as `tls` authentication, dynamic authenticators and the session
//! meta API see it: `transport.peer_cert` with the keys and value forms of autobahn's
//! `TransportDetails` (which Crossbar fills from OpenSSL): fingerprints as `AB:CD:...`, the
//! subject and issuer as `{"cn": ..., "o": ...}` (OpenSSL short names in lower case), the
//! serial as an integer, validity as ASN.1 `YYYYMMDDhhmmssZ`, the 0-based version.
//!
//! Built once per connection from the DER bytes the TLS handshake verified; a certificate the
//! parser cannot read (the handshake already checked it, so hardly ever) keeps its fingerprints
//! and leaves the rest empty.

use num_bigint::BigInt;
use sha1::Digest;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

use crate::wamp::value::{Dict, Value};

/// The parts of one client certificate that authentication and the meta API use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientCert {
    /// SHA-1 of the DER bytes: what `certificate-sha1` of a `tls` principal names.
    pub sha1: [u8; 20],
    pub sha256: [u8; 32],
    /// `(short name, value)` in certificate order, e.g. `("CN", "alice")`.
    pub subject: Vec<(String, String)>,
    pub issuer: Vec<(String, String)>,
    /// The serial number's big-endian two's-complement bytes.
    pub serial: Vec<u8>,
    /// 0 for X.509 v1 ... 2 for v3, as OpenSSL reports it.
    pub version: u32,
    /// ASN.1 GeneralizedTime as OpenSSL prints it: `20260101120000Z`.
    pub not_before: String,
    pub not_after: String,
    /// OpenSSL's short name, e.g. `sha256WithRSAEncryption`, `ecdsa-with-SHA256`.
    pub signature_algorithm: String,
    /// Past `not_after` when the connection was made.
    pub expired: bool,
}

impl ClientCert {
    /// From the certificate's DER bytes; `now` (Unix seconds) decides `expired`.
    pub fn from_der(der: &[u8], now: i64) -> ClientCert {
        let mut cert = ClientCert {
            sha1: sha1::Sha1::digest(der).into(),
            sha256: sha2::Sha256::digest(der).into(),
            ..ClientCert::default()
        };
        let Ok((_, parsed)) = X509Certificate::from_der(der) else {
            return cert;
        };
        cert.subject = names(parsed.subject());
        cert.issuer = names(parsed.issuer());
        cert.serial = parsed.raw_serial().to_vec();
        cert.version = parsed.version().0;
        let validity = parsed.validity();
        cert.not_before = asn1_time(validity.not_before.timestamp());
        cert.not_after = asn1_time(validity.not_after.timestamp());
        cert.expired = validity.not_after.timestamp() < now;
        let algorithm = &parsed.signature_algorithm.algorithm;
        cert.signature_algorithm =
            x509_parser::objects::oid2sn(algorithm, x509_parser::objects::oid_registry())
                .map_or_else(|_| algorithm.to_id_string(), str::to_string);
        cert
    }

    /// `transport.peer_cert` of the session's details.
    pub fn to_dict(&self) -> Dict {
        let names = |pairs: &[(String, String)]| {
            // As Crossbar builds it: one value per name, the last one of repeated names.
            let dict: Dict = pairs
                .iter()
                .map(|(name, value)| (name.to_lowercase(), Value::from(value.as_str())))
                .collect();
            Value::Dict(dict)
        };
        let mut d = Dict::new();
        d.insert("sha1".into(), Value::from(fingerprint(&self.sha1)));
        d.insert("sha256".into(), Value::from(fingerprint(&self.sha256)));
        d.insert("subject".into(), names(&self.subject));
        d.insert("issuer".into(), names(&self.issuer));
        let serial = BigInt::from_signed_bytes_be(&self.serial);
        d.insert("serial".into(), Value::from_bigint(serial));
        d.insert("version".into(), Value::from(u64::from(self.version)));
        d.insert("not_before".into(), Value::from(self.not_before.as_str()));
        d.insert("not_after".into(), Value::from(self.not_after.as_str()));
        d.insert(
            "signature_algorithm".into(),
            Value::from(self.signature_algorithm.as_str()),
        );
        d.insert("expired".into(), Value::Bool(self.expired));
        d
    }
}

/// OpenSSL's fingerprint form: upper-case hex pairs joined by colons.
pub fn fingerprint(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}

/// The attributes of a name with OpenSSL's short names (unknown types by dotted OID); values
/// that are not strings are left out.
fn names(name: &X509Name) -> Vec<(String, String)> {
    name.iter_attributes()
        .filter_map(|attr| {
            let value = attr.as_str().ok()?;
            let oid = attr.attr_type().to_id_string();
            let short = match oid.as_str() {
                "2.5.4.3" => "CN",
                "2.5.4.4" => "SN",
                "2.5.4.5" => "serialNumber",
                "2.5.4.6" => "C",
                "2.5.4.7" => "L",
                "2.5.4.8" => "ST",
                "2.5.4.9" => "street",
                "2.5.4.10" => "O",
                "2.5.4.11" => "OU",
                "2.5.4.12" => "title",
                "2.5.4.17" => "postalCode",
                "2.5.4.42" => "GN",
                "1.2.840.113549.1.9.1" => "emailAddress",
                "0.9.2342.19200300.100.1.1" => "UID",
                "0.9.2342.19200300.100.1.25" => "DC",
                _ => return Some((oid, value.to_string())),
            };
            Some((short.to_string(), value.to_string()))
        })
        .collect()
}

/// Unix seconds as ASN.1 GeneralizedTime (`YYYYMMDDhhmmssZ`), empty when out of range.
fn asn1_time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y%m%d%H%M%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    /// The test server certificate of `tests/it/fixtures/tls` (see its README).
    fn fixture() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/fixtures/tls/server.crt"
        );
        CertificateDer::from_pem_file(path).unwrap().to_vec()
    }

    #[test]
    fn names_fingerprints_and_validity_as_openssl_prints_them() {
        let der = fixture();
        let cert = ClientCert::from_der(&der, 0);
        assert_eq!(cert.subject, [("CN".to_string(), "127.0.0.1".to_string())]);
        assert_eq!(
            cert.issuer,
            [("CN".to_string(), "Junction test CA".to_string())]
        );
        assert_eq!(cert.version, 2);
        assert_eq!(cert.signature_algorithm, "ecdsa-with-SHA256");
        assert!(!cert.expired);
        assert_eq!(cert.not_after.len(), 15, "{}", cert.not_after);
        assert!(cert.not_after.starts_with("21") && cert.not_after.ends_with('Z'));
        let d = cert.to_dict();
        let sha1 = d["sha1"].as_str().unwrap();
        assert_eq!(sha1.len(), 59, "{sha1}");
        assert_eq!(sha1, fingerprint(&sha1::Sha1::digest(&der)));
        assert_eq!(
            d["subject"],
            Value::Dict(Dict::from([("cn".into(), Value::from("127.0.0.1"))]))
        );
        assert!(matches!(
            d["serial"],
            Value::Int(_) | Value::UInt(_) | Value::BigInt(_)
        ));
        assert_eq!(d["expired"], Value::Bool(false));
        assert!(ClientCert::from_der(&der, i64::MAX).expired);
    }

    #[test]
    fn unreadable_bytes_keep_their_fingerprint() {
        let cert = ClientCert::from_der(b"not a certificate", 0);
        assert_eq!(
            cert.sha1,
            <[u8; 20]>::from(sha1::Sha1::digest(b"not a certificate"))
        );
        assert!(cert.subject.is_empty() && cert.not_after.is_empty());
        assert_eq!(cert.to_dict()["serial"], Value::Int(0));
    }

    #[test]
    fn fingerprints_are_upper_case_pairs() {
        assert_eq!(fingerprint(&[0xb6, 0x0e, 0x00]), "B6:0E:00");
        assert_eq!(fingerprint(&[]), "");
    }
}
