//! The TLS side of a listener: a rustls acceptor from the PEM files of `endpoint.tls`
//! (`certificate`, then `chain_certificates`, and `key`), which with `ca_certificates`
//! requires a client certificate one of those CAs issued, and the client certificate of an
//! accepted connection.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::TlsFiles;
use crate::router::client_cert::ClientCert;

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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
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
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("configuration for", &files.certificate, &e))?;
    let builder = if files.ca_certificates.is_empty() {
        builder.with_no_client_auth()
    } else {
        builder.with_client_cert_verifier(client_verifier(&files.ca_certificates, provider)?)
    };
    let mut config = builder.with_cert_resolver(resolver);
    if http {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Requires a client certificate issued by one of the CAs in `files` (PEM, any number of
/// certificates each), as Crossbar does when `ca_certificates` is set (OpenSSL's VERIFY_PEER
/// with FAIL_IF_NO_PEER_CERT): a client without one, or with another CA's, fails the handshake.
fn client_verifier(
    files: &[PathBuf],
    provider: Arc<CryptoProvider>,
) -> io::Result<Arc<dyn ClientCertVerifier>> {
    let invalid = |path: &Path, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("TLS CA certificate {}: {e}", path.display()),
        )
    };
    let mut roots = RootCertStore::empty();
    for file in files {
        let certs = CertificateDer::pem_file_iter(file)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| invalid(file, &e))?;
        if certs.is_empty() {
            return Err(invalid(file, &"no certificate in the file"));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| invalid(file, &e))?;
        }
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| invalid(&files[0], &e))
}

/// The leaf certificate a client presented on `stream` (verified in the handshake), read once
/// for the connection's sessions.
pub fn client_cert<S>(stream: &TlsStream<S>) -> Option<Arc<ClientCert>> {
    let (_, connection) = stream.get_ref();
    let leaf = connection.peer_certificates()?.first()?;
    let now = jiff::Timestamp::now().as_second();
    Some(Arc::new(ClientCert::from_der(leaf.as_ref(), now)))
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
