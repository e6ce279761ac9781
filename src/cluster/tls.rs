//! TLS to the NATS servers (`nats.tls`): the files read and checked before async-nats reads
//! them, so that a mistake is named by its config key and file, and a failed handshake
//! explained in the config's terms. Messages name files, never what they hold.

use std::path::Path;

use crate::config::ClusterTls;

/// Reads the `nats.tls` files before async-nats does, to say what is wrong with one naming its
/// key and file: async-nats silently trusts nothing from a CA file without a certificate
/// (then fails on the server's certificate), and names no file when the key is missing from
/// its file or is not the certificate's. Never prints what a file holds.
pub fn check_files(tls: &ClusterTls) -> Result<(), String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let certificates = |file: &Path, what: &str| {
        let certs = CertificateDer::pem_file_iter(file)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{what} ({}): {e}", file.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "{what} ({}): no PEM certificate in the file",
                file.display()
            ));
        }
        Ok(certs)
    };
    for (i, file) in tls.ca_certificates.iter().enumerate() {
        let what = format!("nats.tls.ca_certificates[{i}]");
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates(file, &what)? {
            roots
                .add(cert)
                .map_err(|e| format!("{what} ({}): {e}", file.display()))?;
        }
    }
    if let (Some(cert_file), Some(key_file)) = (&tls.certificate, &tls.key) {
        let certs = certificates(cert_file, "nats.tls.certificate")?;
        let bad_key =
            |e: &dyn std::fmt::Display| format!("nats.tls.key ({}): {e}", key_file.display());
        let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| bad_key(&e))?;
        let key = rustls::crypto::ring::default_provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| bad_key(&e))?;
        match rustls::sign::CertifiedKey::new(certs, key).keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                return Err(bad_key(&format_args!(
                    "not the key of the certificate {} (nats.tls.certificate)",
                    cert_file.display()
                )));
            }
            Err(e) => {
                return Err(format!(
                    "nats.tls.certificate ({}): {e}",
                    cert_file.display()
                ));
            }
        }
    }
    Ok(())
}

/// What a TLS failure connecting to NATS most likely means, in the terms of the config.
pub fn hint(error: &async_nats::ConnectError, tls: Option<&ClusterTls>) -> Option<&'static str> {
    use rustls::{AlertDescription, CertificateError};

    // The rustls error, in an `io::Error` somewhere in the chain.
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut found = None;
    while let Some(e) = next {
        let inner = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            None => Some(e),
        };
        if let Some(rustls) = inner.and_then(|e| e.downcast_ref::<rustls::Error>()) {
            found = Some(rustls);
            break;
        }
        next = e.source();
    }
    let trusted_cas = tls.is_some_and(|tls| !tls.ca_certificates.is_empty());
    let client_cert = tls.is_some_and(|tls| tls.certificate.is_some());
    Some(match found? {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) if trusted_cas => {
            "the NATS server's certificate is not signed by a CA in nats.tls.ca_certificates"
        }
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the NATS server's certificate is not signed by a CA this system trusts: \
             give its CA in nats.tls.ca_certificates"
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "the NATS server's certificate is not for the host in its URL",
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            "the NATS server requires a client certificate: \
             give nats.tls.certificate and nats.tls.key"
        }
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied,
        ) if client_cert => "the NATS server refused this node's client certificate",
        rustls::Error::AlertReceived(AlertDescription::BadCertificate) => {
            "the NATS server requires a client certificate: \
             give nats.tls.certificate and nats.tls.key"
        }
        _ => return None,
    })
}
