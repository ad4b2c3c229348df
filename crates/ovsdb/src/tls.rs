//! TLS for the `pssl:`/`ssl:` remotes, as ovsdb-server's `--private-key`,
//! `--certificate` and `--ca-cert` options configure it (Open vSwitch's
//! `stream-ssl`), with rustls and the ring provider.
//!
//! Idea: one [`TlsConfig`] is loaded from three PEM files (the layout
//! `ovs-pki` writes: a PKCS#8 or PKCS#1 private key, a certificate chain,
//! and the CA certificate(s) that peers must be signed by). Both directions
//! require and verify the peer's certificate chain against that CA, as
//! Open vSwitch does (`SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT`);
//! like Open vSwitch, a client does not match the server's certificate
//! against the host name it connected to (ovs-pki certificates carry a
//! generated common name, not a host name). Invariant: a config that loaded
//! has a key matching its certificate and at least one CA certificate.
//! Performance assumption: handshakes are rare (management connections).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::Error;

/// The three files of an SSL configuration (ovsdb-server's
/// `--private-key=FILE --certificate=FILE --ca-cert=FILE`, or the `SSL`
/// table's `private_key`, `certificate`, `ca_cert` columns).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsFiles {
    /// PEM private key (`BEGIN PRIVATE KEY` / `BEGIN RSA PRIVATE KEY` /
    /// `BEGIN EC PRIVATE KEY`).
    pub private_key: PathBuf,
    /// PEM certificate chain, own certificate first.
    pub certificate: PathBuf,
    /// PEM CA certificate(s) that a peer's certificate must chain to.
    pub ca_cert: PathBuf,
}

/// Loaded TLS configuration for both roles. Cheap to clone.
#[derive(Clone)]
pub struct TlsConfig {
    files: TlsFiles,
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("files", &self.files)
            .finish()
    }
}

fn tls_err(what: &Path, e: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{}: {e}", what.display()))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsConfig {
    /// Loads the key, certificate chain and CA certificates. Errors:
    /// `Error::Tls("FILE: reason")` for an unreadable file, a file without a
    /// PEM object of the right kind, or a key that does not match the
    /// certificate.
    pub fn load(files: &TlsFiles) -> Result<TlsConfig, Error> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.certificate)
            .map_err(|e| tls_err(&files.certificate, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| tls_err(&files.certificate, e))?;
        if certs.is_empty() {
            return Err(tls_err(&files.certificate, "no certificate found"));
        }
        let key = PrivateKeyDer::from_pem_file(&files.private_key)
            .map_err(|e| tls_err(&files.private_key, e))?;
        let mut roots = RootCertStore::empty();
        for ca in
            CertificateDer::pem_file_iter(&files.ca_cert).map_err(|e| tls_err(&files.ca_cert, e))?
        {
            let ca = ca.map_err(|e| tls_err(&files.ca_cert, e))?;
            roots.add(ca).map_err(|e| tls_err(&files.ca_cert, e))?;
        }
        if roots.is_empty() {
            return Err(tls_err(&files.ca_cert, "no CA certificate found"));
        }
        let roots = Arc::new(roots);
        let provider = provider();

        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|e| tls_err(&files.ca_cert, e))?;
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(|e| tls_err(&files.private_key, e))?;

        let server_verifier = ChainOnly {
            roots,
            provider: provider.clone(),
        };
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| Error::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(server_verifier))
            .with_client_auth_cert(certs, key)
            .map_err(|e| tls_err(&files.private_key, e))?;
        Ok(TlsConfig {
            files: files.clone(),
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }

    /// The files this configuration was loaded from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// An acceptor for `pssl:` sessions (client certificate required).
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.server.clone())
    }

    /// A connector for `ssl:` connections (presents our certificate,
    /// verifies the server's chain against the CA).
    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(self.client.clone())
    }
}

/// The server name to send for `host` (an IP address or a DNS name);
/// `None` if it is neither (the connection then cannot be made).
pub(crate) fn server_name(host: &str) -> Option<ServerName<'static>> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(h.to_string()).ok()
}

/// Verifies a server's certificate chain against the CA, without the host
/// name check (see the module comment).
#[derive(Debug)]
struct ChainOnly {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
