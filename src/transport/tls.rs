//! The TLS side of a listener: a rustls acceptor from the PEM files of `endpoint.tls`
//! (`certificate`, then `chain_certificates`, and `key`).

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::server::ResolvesServerCert;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// A TLS acceptor from PEM files; errors name the file. `http` announces HTTP/1.1 by ALPN
/// (not on RawSocket-only transports).
pub fn acceptor(files: &TlsFiles, http: bool) -> io::Result<TlsAcceptor> {
    let invalid = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("TLS {what} {}: {e}", path.display()),
        )
    };
    let mut certs = Vec::new();
    for file in std::iter::once(&files.certificate).chain(&files.chain) {
        let pems = CertificateDer::pem_file_iter(file)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| invalid("certificate", file, &e))?;
        certs.extend(pems);
    }
    if certs.is_empty() {
        return Err(invalid(
            "certificate",
            &files.certificate,
            &"no certificate in the file",
        ));
    }
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| invalid("key", &files.key, &e))?;
    let provider = rustls::crypto::ring::default_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| invalid("key", &files.key, &e))?;
    let certified = CertifiedKey::new(certs, signing_key);
    if !key_matches(&certified) {
        return Err(invalid(
            "key",
            &files.key,
            &format!(
                "the key and the certificate {} do not match",
                files.certificate.display()
            ),
        ));
    }
    // A resolver rather than `with_single_cert`, which parses the certificate with webpki and
    // so refuses X.509 version 1 certificates: old self-signed test certificates (several
    // Crossbar examples ship them) that OpenSSL, and so Crossbar, serves.
    let resolver: Arc<dyn ResolvesServerCert> = Arc::new(SingleCertAndKey::from(certified));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("configuration for", &files.certificate, &e))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    if http {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Whether the private key belongs to the leaf certificate: rustls compares the public keys
/// when it can parse the certificate; when it cannot (version 1), the key's
/// SubjectPublicKeyInfo must appear in the certificate's bytes, where X.509 stores it as is.
fn key_matches(certified: &CertifiedKey) -> bool {
    match certified.keys_match() {
        Ok(()) => true,
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => false,
        Err(_) => {
            let (Some(spki), Ok(leaf)) = (certified.key.public_key(), certified.end_entity_cert())
            else {
                return false;
            };
            let spki: &[u8] = spki.as_ref();
            leaf.as_ref()
                .windows(spki.len())
                .any(|window| window == spki)
        }
    }
}
