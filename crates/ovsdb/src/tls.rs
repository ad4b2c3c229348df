//! TLS for the `pssl:`/`ssl:` remotes, as Open vSwitch's `stream-ssl`
//! configures it from `--private-key`, `--certificate`, `--ca-cert`,
//! `--bootstrap-ca-cert`, `--peer-ca-cert`, `--ssl-protocols` and
//! `--ssl-ciphers` (or the `SSL` table), with rustls and the ring provider.
//!
//! Idea: one [`TlsConfig`] is loaded from [`TlsSettings`] (the files `ovs-pki`
//! writes: a PKCS#8 or PKCS#1 private key, a certificate chain, and the CA
//! certificate(s) that peers must be signed by). Both directions require and
//! verify the peer's certificate chain against that CA, as Open vSwitch does
//! (`SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT`); like Open vSwitch,
//! a client does not match the server's certificate against the host name it
//! connected to (ovs-pki certificates carry a generated common name, not a
//! host name). One verifier serves both roles and reads the current trust
//! at every handshake, so that a CA learnt by bootstrap (see below) applies
//! at once to every later connection, accepted or made.
//!
//! Bootstrap (`--bootstrap-ca-cert=FILE` while FILE does not exist): the
//! first server whose chain ends in a self-signed certificate is trusted;
//! that certificate is saved to FILE (PEM, mode 0444, created exclusively)
//! and is the CA from then on. Unlike Open vSwitch, which drops that first
//! connection and reconnects, the connection goes on: its chain was verified
//! against the CA just saved. A listener refuses clients until the CA is
//! known. The chain we send ends, as OpenSSL builds it, with the issuers of
//! our certificate found in the CA file (so a peer can bootstrap from us when
//! one CA signs both sides), or with the `--peer-ca-cert` certificates when
//! given.
//!
//! Protocols: rustls has TLS 1.2 and 1.3 only; `TLSv1`/`TLSv1.1` in a list
//! are ignored with a warning. Ciphers: OpenSSL cipher-list syntax mapped
//! onto rustls's suites (see [`parse_ciphers`]). Errors read as the lines
//! Open vSwitch logs in the same situation. Invariant: a config that loaded
//! has a key matching its certificate, usable cipher suites, and a CA (or a
//! pending bootstrap, or `--ca-cert=none`). Performance assumption:
//! handshakes are rare (management connections).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::ring::cipher_suite as cs;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};

use crate::Error;

/// Open vSwitch's default `--ssl-ciphers`: every rustls suite.
pub const DEFAULT_SSL_CIPHERS: &str = "HIGH:!aNULL:!MD5";

/// Target of the log events of this module (Open vSwitch's module name).
const LOG: &str = "stream_ssl";

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
    /// PEM CA certificate(s) that a peer's certificate must chain to, or
    /// `none` (peers are not verified: a security risk).
    pub ca_cert: PathBuf,
}

/// Every SSL option of an Open vSwitch program, each possibly absent (as on
/// a command line): what [`TlsConfig::from_settings`] loads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// `-p`/`--private-key=FILE`.
    pub private_key: Option<PathBuf>,
    /// `-c`/`--certificate=FILE`.
    pub certificate: Option<PathBuf>,
    /// `-C`/`--ca-cert=FILE` or `--bootstrap-ca-cert=FILE`; `none` turns
    /// peer verification off.
    pub ca_cert: Option<PathBuf>,
    /// `ca_cert` came from `--bootstrap-ca-cert` (the `SSL` table's
    /// `bootstrap_ca_cert`): if the file does not exist, it is created from
    /// the first server's CA certificate.
    pub bootstrap_ca_cert: bool,
    /// `--peer-ca-cert=FILE`: certificates sent after our own certificate
    /// (so that peers can bootstrap their CA from us).
    pub peer_ca_cert: Option<PathBuf>,
    /// `--ssl-protocols=LIST` (`None` = TLSv1.2 and TLSv1.3).
    pub protocols: Option<String>,
    /// `--ssl-ciphers=LIST` in OpenSSL syntax (`None` =
    /// [`DEFAULT_SSL_CIPHERS`]).
    pub ciphers: Option<String>,
}

impl TlsSettings {
    /// True if any of the key, certificate and CA files is set (Open
    /// vSwitch's `stream_ssl_is_configured`).
    pub fn is_configured(&self) -> bool {
        self.private_key.is_some() || self.certificate.is_some() || self.ca_cert.is_some()
    }

    /// The key, certificate and CA files when all three are set.
    pub fn files(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            private_key: self.private_key.clone()?,
            certificate: self.certificate.clone()?,
            ca_cert: self.ca_cert.clone()?,
        })
    }

    /// These settings with the key, certificate and CA files replaced by
    /// `files` (the protocol, cipher and peer-CA options stay).
    pub fn with_files(&self, files: &TlsFiles) -> TlsSettings {
        TlsSettings {
            private_key: Some(files.private_key.clone()),
            certificate: Some(files.certificate.clone()),
            ca_cert: Some(files.ca_cert.clone()),
            ..self.clone()
        }
    }
}

impl From<&TlsFiles> for TlsSettings {
    fn from(f: &TlsFiles) -> TlsSettings {
        TlsSettings::default().with_files(f)
    }
}

/// Loaded TLS configuration for both roles. Cheap to clone (clones share
/// the trust state, so a bootstrapped CA is seen by all of them).
#[derive(Clone)]
pub struct TlsConfig {
    settings: TlsSettings,
    files: TlsFiles,
    warnings: Arc<Vec<String>>,
    verifier: Arc<PeerVerifier>,
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("settings", &self.settings)
            .finish()
    }
}

// OpenSSL 3's texts for the problems Open vSwitch reports while loading,
// so that the lines read as ovs-vsctl 3.1 prints them.
const DECODER_UNSUPPORTED: &str = "error:1E08010C:DECODER routines::unsupported";
const NO_START_LINE: &str = "error:0480006C:PEM routines::no start line";
const NO_PRIVATE_KEY_ASSIGNED: &str = "error:0A0000BE:SSL routines::no private key assigned";

/// An I/O error as OpenSSL 3 reports a failed system call
/// (`error:80000002:system library::No such file or directory`).
fn openssl_sys_reason(e: &std::io::Error) -> String {
    let errno = e.raw_os_error().unwrap_or(0) as u32;
    let text = crate::remote::io_reason(e);
    format!(
        "error:{:08X}:system library::{text}",
        0x8000_0000 | (errno & 0x7f_ffff)
    )
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| openssl_sys_reason(&e))
}

/// The certificates of a PEM file; `Err(reason)` if it cannot be read or
/// holds none.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read_file(path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| pem_reason(&e))?;
    if certs.is_empty() {
        return Err(NO_START_LINE.into());
    }
    Ok(certs)
}

fn pem_reason(e: &pem::Error) -> String {
    match e {
        pem::Error::NoItemsFound => NO_START_LINE.into(),
        other => format!("PEM: {other:?}"),
    }
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read_file(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => DECODER_UNSUPPORTED.into(),
        other => pem_reason(&other),
    })
}

fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Who a peer must be signed by.
#[derive(Clone, Debug)]
enum Trust {
    /// The CA file's certificates (with the client-side verifier made from
    /// them).
    Ca(Arc<RootCertStore>, Arc<dyn ClientCertVerifier>),
    /// `--ca-cert=none`: peers are not verified.
    Nobody,
    /// `--bootstrap-ca-cert=FILE`, FILE not there yet.
    Bootstrap(PathBuf),
}

impl Trust {
    fn ca(roots: RootCertStore, provider: &Arc<CryptoProvider>) -> Result<Trust, String> {
        let roots = Arc::new(roots);
        let v = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Trust::Ca(roots, v))
    }
}

impl TlsConfig {
    /// Loads the key, certificate chain and CA certificates with the default
    /// protocols and ciphers. Errors as [`TlsConfig::from_settings`].
    pub fn load(files: &TlsFiles) -> Result<TlsConfig, Error> {
        TlsConfig::from_settings(&TlsSettings::from(files))
    }

    /// Loads `settings`. Errors: `Error::Tls(text)`, where `text` has one
    /// line per problem, worded as Open vSwitch logs it, in its order:
    /// unreadable files (`SSL_use_PrivateKey_file: REASON`,
    /// `SSL_use_certificate_file: REASON`, `failed to load client
    /// certificates from FILE: REASON`), a bad `--ssl-protocols` or
    /// `--ssl-ciphers` list, missing settings (`Private key must be
    /// configured to use SSL`, `Certificate must be …`, `CA certificate
    /// must be …`), and a key that does not match the certificate. Problems
    /// that do not stop TLS (unsupported protocol names, unknown cipher
    /// names, `--ca-cert=none`) are in [`TlsConfig::warnings`].
    pub fn from_settings(settings: &TlsSettings) -> Result<TlsConfig, Error> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let key = settings.private_key.as_deref().and_then(|p| {
            read_key(p)
                .map_err(|r| errors.push(format!("SSL_use_PrivateKey_file: {r}")))
                .ok()
        });
        let chain = settings.certificate.as_deref().and_then(|p| {
            read_certs(p)
                .map_err(|r| errors.push(format!("SSL_use_certificate_file: {r}")))
                .ok()
        });
        let mut provider = provider();
        // CA: `None` = failed to load (reported), else the trust.
        let ca_certs: Option<Vec<CertificateDer<'static>>>;
        let trust: Option<Trust>;
        match settings.ca_cert.as_deref() {
            None => {
                ca_certs = Some(Vec::new());
                trust = None;
            }
            Some(p) if p == Path::new("none") => {
                warnings
                    .push("Peer certificate validation disabled (this is a security risk)".into());
                ca_certs = Some(Vec::new());
                trust = Some(Trust::Nobody);
            }
            Some(p) if settings.bootstrap_ca_cert && !p.exists() => {
                ca_certs = Some(Vec::new());
                trust = Some(Trust::Bootstrap(p.to_path_buf()));
            }
            Some(p) => match read_certs(p) {
                Ok(certs) => {
                    ca_certs = Some(certs);
                    trust = None;
                }
                Err(r) => {
                    errors.push(format!(
                        "failed to load client certificates from {}: {r}",
                        p.display()
                    ));
                    ca_certs = None;
                    trust = None;
                }
            },
        }
        let peer_ca = settings.peer_ca_cert.as_deref().and_then(|p| {
            read_certs(p)
                .map_err(|r| {
                    errors.push(format!("PEM_read_X509 failed reading {}: {r}", p.display()))
                })
                .ok()
        });
        let versions = match settings.protocols.as_deref() {
            None => vec![&rustls::version::TLS12, &rustls::version::TLS13],
            Some(list) => match parse_protocols(list) {
                Ok((v, w)) => {
                    warnings.extend(w);
                    v
                }
                Err(e) => {
                    errors.push(e);
                    Vec::new()
                }
            },
        };
        let suites = match parse_ciphers(settings.ciphers.as_deref().unwrap_or(DEFAULT_SSL_CIPHERS))
        {
            Ok((s, w)) => {
                warnings.extend(w);
                s
            }
            Err(e) => {
                errors.push(e);
                Vec::new()
            }
        };
        if !versions.is_empty() && !suites.is_empty() {
            let usable = |v: &SupportedProtocolVersion| {
                suites.iter().any(|s| s.version().version == v.version)
            };
            if !versions.iter().any(|v| usable(v)) {
                errors.push(format!(
                    "no cipher suite of --ssl-ciphers={} is usable with --ssl-protocols={}",
                    settings.ciphers.as_deref().unwrap_or(DEFAULT_SSL_CIPHERS),
                    settings.protocols.as_deref().unwrap_or("TLSv1.2,TLSv1.3")
                ));
            }
        }
        provider.cipher_suites = suites;
        let provider = Arc::new(provider);

        if key.is_none() {
            errors.push("Private key must be configured to use SSL".into());
        }
        if chain.is_none() {
            errors.push("Certificate must be configured to use SSL".into());
        }
        if settings.ca_cert.is_none() {
            errors.push("CA certificate must be configured to use SSL".into());
        }
        let (Some(key), Some(chain), Some(ca_certs), true) =
            (key, chain, ca_certs, errors.is_empty())
        else {
            return Err(Error::Tls(errors.join("\n")));
        };
        match CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider) {
            Ok(_) => {}
            Err(rustls::Error::InconsistentKeys(_)) => {
                return Err(Error::Tls(format!(
                    "Private key does not match certificate public key: {NO_PRIVATE_KEY_ASSIGNED}"
                )))
            }
            Err(e) => return Err(Error::Tls(format!("SSL_use_PrivateKey_file: {e}"))),
        }
        let trust = match trust {
            Some(t) => t,
            None => {
                let mut roots = RootCertStore::empty();
                for c in &ca_certs {
                    if let Err(e) = roots.add(c.clone()) {
                        let p = settings.ca_cert.as_deref().unwrap_or(Path::new(""));
                        return Err(Error::Tls(format!(
                            "failed to load client certificates from {}: {e}",
                            p.display()
                        )));
                    }
                }
                Trust::ca(roots, &provider).map_err(Error::Tls)?
            }
        };
        // The chain we send: ours, then the peer CA certificates, or else
        // our issuers from the CA file (as OpenSSL's automatic chain).
        let sent = match peer_ca {
            Some(extra) => chain.iter().cloned().chain(extra).collect(),
            None => complete_chain(chain, &ca_certs),
        };
        let verifier = Arc::new(PeerVerifier {
            provider: provider.clone(),
            trust: RwLock::new(trust),
            bootstrap: Mutex::new(()),
        });
        let tls_err = |e: rustls::Error| Error::Tls(e.to_string());
        let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(tls_err)?
            .with_client_cert_verifier(verifier.clone())
            .with_single_cert(sent.clone(), key.clone_key())
            .map_err(tls_err)?;
        // As Open vSwitch (SSL_SESS_CACHE_OFF): every session is a full
        // handshake, so every peer is verified against the current trust.
        server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        server.send_tls13_tickets = 0;
        let mut client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(tls_err)?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_client_auth_cert(sent, key)
            .map_err(tls_err)?;
        client.resumption = rustls::client::Resumption::disabled();
        let files = settings.files().unwrap_or_else(|| TlsFiles {
            private_key: PathBuf::new(),
            certificate: PathBuf::new(),
            ca_cert: PathBuf::new(),
        });
        Ok(TlsConfig {
            settings: settings.clone(),
            files,
            warnings: Arc::new(warnings),
            verifier,
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }

    /// The files this configuration was loaded from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// The settings this configuration was loaded from.
    pub fn settings(&self) -> &TlsSettings {
        &self.settings
    }

    /// Problems found while loading that did not stop it (an unsupported
    /// protocol or an unknown cipher in the lists, verification turned
    /// off), one line each, for the caller to log as warnings.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// True while `--bootstrap-ca-cert`'s file has not been obtained yet.
    pub fn is_bootstrapping(&self) -> bool {
        matches!(*self.verifier.trust.read(), Trust::Bootstrap(_))
    }

    /// An acceptor for `pssl:` sessions (client certificate required).
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.server.clone())
    }

    /// A connector for `ssl:` connections (presents our certificate,
    /// verifies the server's chain against the CA, or bootstraps the CA).
    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(self.client.clone())
    }
}

/// Parses an `--ssl-protocols` list (words separated by commas, spaces or
/// tabs, case-insensitive, as Open vSwitch reads it) into the rustls
/// versions to enable, with warnings for the names rustls lacks (`TLSv1`,
/// `TLSv1.1`). Errors (Open vSwitch's texts where it has one): an empty list
/// (`SSL protocol settings invalid`), an unknown name (`NAME: SSL protocol
/// not recognized`), a list of unsupported versions only.
#[allow(clippy::type_complexity)]
pub fn parse_protocols(
    list: &str,
) -> Result<(Vec<&'static SupportedProtocolVersion>, Vec<String>), String> {
    let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
    let mut warnings = Vec::new();
    let words: Vec<&str> = list
        .split([' ', ',', '\t'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err("SSL protocol settings invalid".into());
    }
    for w in words {
        let v = match w.to_ascii_lowercase().as_str() {
            "tlsv1.2" => &rustls::version::TLS12,
            "tlsv1.3" => &rustls::version::TLS13,
            "tlsv1" | "tlsv1.1" => {
                warnings.push(format!(
                    "{w}: SSL protocol not supported (only TLSv1.2 and TLSv1.3 are), ignored"
                ));
                continue;
            }
            _ => return Err(format!("{w}: SSL protocol not recognized")),
        };
        if !versions.iter().any(|x| x.version == v.version) {
            versions.push(v);
        }
    }
    if versions.is_empty() {
        return Err(format!(
            "--ssl-protocols={list}: none of these SSL protocols is supported (only TLSv1.2 and TLSv1.3 are)"
        ));
    }
    Ok((versions, warnings))
}

/// A rustls cipher suite with its OpenSSL name and the OpenSSL cipher-list
/// keywords that select it (checked against `openssl ciphers` 3.0).
struct Suite {
    suite: SupportedCipherSuite,
    name: &'static str,
    keywords: &'static [&'static str],
}

/// Keywords every TLS 1.2 suite of rustls matches (all are ECDHE with an
/// AEAD cipher, 128 bits or more).
const TLS12_COMMON: &[&str] = &[
    "ALL", "DEFAULT", "HIGH", "TLSv1.2", "kECDHE", "kEECDH", "ECDH", "ECDHE", "EECDH",
];

fn suites() -> [Suite; 9] {
    [
        Suite {
            suite: cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            name: "ECDHE-ECDSA-AES256-GCM-SHA384",
            keywords: &["aECDSA", "ECDSA", "AES", "AES256", "AESGCM", "FIPS"],
        },
        Suite {
            suite: cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            name: "ECDHE-ECDSA-AES128-GCM-SHA256",
            keywords: &["aECDSA", "ECDSA", "AES", "AES128", "AESGCM", "FIPS"],
        },
        Suite {
            suite: cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            name: "ECDHE-ECDSA-CHACHA20-POLY1305",
            keywords: &["aECDSA", "ECDSA", "CHACHA20"],
        },
        Suite {
            suite: cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            name: "ECDHE-RSA-AES256-GCM-SHA384",
            keywords: &["aRSA", "AES", "AES256", "AESGCM", "FIPS"],
        },
        Suite {
            suite: cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            name: "ECDHE-RSA-AES128-GCM-SHA256",
            keywords: &["aRSA", "AES", "AES128", "AESGCM", "FIPS"],
        },
        Suite {
            suite: cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            name: "ECDHE-RSA-CHACHA20-POLY1305",
            keywords: &["aRSA", "CHACHA20"],
        },
        Suite {
            suite: cs::TLS13_AES_256_GCM_SHA384,
            name: "TLS_AES_256_GCM_SHA384",
            keywords: &[],
        },
        Suite {
            suite: cs::TLS13_AES_128_GCM_SHA256,
            name: "TLS_AES_128_GCM_SHA256",
            keywords: &[],
        },
        Suite {
            suite: cs::TLS13_CHACHA20_POLY1305_SHA256,
            name: "TLS_CHACHA20_POLY1305_SHA256",
            keywords: &[],
        },
    ]
}

/// OpenSSL cipher-list keywords that select none of rustls's suites (so
/// naming them is no mistake, it just adds or removes nothing).
const KNOWN_EMPTY: &[&str] = &[
    "aNULL",
    "eNULL",
    "NULL",
    "MD5",
    "SHA1",
    "SHA",
    "SHA256",
    "SHA384",
    "RC4",
    "DES",
    "3DES",
    "IDEA",
    "SEED",
    "CAMELLIA",
    "CAMELLIA128",
    "CAMELLIA256",
    "ARIA",
    "ARIA128",
    "ARIA256",
    "ARIAGCM",
    "LOW",
    "MEDIUM",
    "EXPORT",
    "EXP",
    "RSA",
    "kRSA",
    "DH",
    "DHE",
    "EDH",
    "kDHE",
    "kEDH",
    "ADH",
    "AECDH",
    "aDSS",
    "DSS",
    "PSK",
    "kPSK",
    "aPSK",
    "kECDHEPSK",
    "kDHEPSK",
    "kRSAPSK",
    "SRP",
    "kSRP",
    "aSRP",
    "AESCCM",
    "AESCCM8",
    "CBC",
    "COMPLEMENTOFDEFAULT",
    "COMPLEMENTOFALL",
    "SSLv3",
    "TLSv1",
    "TLSv1.0",
    "AEAD",
    "GOST94",
    "GOST89MAC",
    "kGOST",
    "aGOST",
    "SUITEB128ONLY",
];

/// Parses an OpenSSL cipher list (`openssl-ciphers(1)` syntax: elements
/// separated by `:`, `,` or spaces; `!X` removes for good, `-X` removes,
/// `+X` moves to the end, `A+B` means both; names and keywords such as
/// `HIGH`, `ECDHE`, `aRSA`, `AESGCM`, `CHACHA20`; `@STRENGTH` and
/// `@SECLEVEL=n` are ignored) into rustls cipher suites, TLS 1.3 first. As
/// with OpenSSL, the list chooses the TLS 1.2 suites; the TLS 1.3 suites
/// are all enabled unless the list names some of them (`TLS_AES_…`), an
/// oxvs extension. [`DEFAULT_SSL_CIPHERS`] gives every rustls suite.
/// Warnings: names that are neither a rustls suite nor a known OpenSSL
/// keyword (e.g. `AES128-SHA`, which rustls does not implement). Errors: a
/// list that selects no TLS 1.2 suite and no TLS 1.3 suite.
pub fn parse_ciphers(list: &str) -> Result<(Vec<SupportedCipherSuite>, Vec<String>), String> {
    let table = suites();
    let mut warnings = Vec::new();
    // Indexes into `table`, in list order; `banned` = removed with `!`.
    let mut chosen: Vec<usize> = Vec::new();
    let mut banned = [false; 9];
    let mut named_tls13 = false;
    for elem in list.split([':', ',', ' ']).filter(|e| !e.is_empty()) {
        if elem.starts_with('@') {
            continue;
        }
        let (op, body) = match elem.as_bytes()[0] {
            b'!' | b'-' | b'+' => (elem.as_bytes()[0], &elem[1..]),
            _ => (b' ', elem),
        };
        let terms: Vec<&str> = body.split('+').filter(|t| !t.is_empty()).collect();
        if terms.is_empty() {
            warnings.push(format!("{elem}: empty cipher element, ignored"));
            continue;
        }
        let matches = |s: &Suite| {
            let tls12 = !s.keywords.is_empty();
            terms.iter().all(|t| {
                s.name == *t || s.keywords.contains(t) || (tls12 && TLS12_COMMON.contains(t))
            })
        };
        let hits: Vec<usize> = (0..table.len()).filter(|&i| matches(&table[i])).collect();
        if hits.is_empty() {
            if !terms.iter().all(|t| KNOWN_EMPTY.contains(t)) {
                warnings.push(format!(
                    "{elem}: no cipher suite of oxvs (rustls) matches, ignored"
                ));
            }
            continue;
        }
        for i in hits {
            named_tls13 |= table[i].keywords.is_empty() && op == b' ';
            match op {
                b'!' => {
                    banned[i] = true;
                    chosen.retain(|&c| c != i);
                }
                b'-' => chosen.retain(|&c| c != i),
                b'+' => {
                    if chosen.contains(&i) {
                        chosen.retain(|&c| c != i);
                        chosen.push(i);
                    }
                }
                _ => {
                    if !banned[i] && !chosen.contains(&i) {
                        chosen.push(i);
                    }
                }
            }
        }
    }
    let is13 = |i: &usize| table[*i].keywords.is_empty();
    let mut out: Vec<SupportedCipherSuite> = Vec::new();
    if named_tls13 {
        out.extend(chosen.iter().filter(|i| is13(i)).map(|&i| table[i].suite));
    } else {
        out.extend(
            (0..table.len())
                .filter(|i| is13(i) && !banned[*i])
                .map(|i| table[i].suite),
        );
    }
    let n13 = out.len();
    out.extend(chosen.iter().filter(|i| !is13(i)).map(|&i| table[i].suite));
    if out.len() == n13 {
        if n13 == 0 {
            return Err(format!("--ssl-ciphers={list}: no cipher match"));
        }
        warnings.push(format!(
            "--ssl-ciphers={list}: no TLSv1.2 cipher suite selected, only TLSv1.3 can be used"
        ));
    }
    Ok((out, warnings))
}

/// The server name to send for `host` (an IP address or a DNS name);
/// `None` if it is neither (the connection then cannot be made).
pub(crate) fn server_name(host: &str) -> Option<ServerName<'static>> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(h.to_string()).ok()
}

/// One DER TLV at the start of `b`: `(tag, contents, rest)`; `None` if
/// truncated or longer than 4 GiB.
fn der_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&l0, b) = b.split_first()?;
    let (len, b) = if l0 < 0x80 {
        (usize::from(l0), b)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (len, &b[n..])
    };
    if b.len() < len {
        return None;
    }
    Some((tag, &b[..len], &b[len..]))
}

/// The issuer and subject names (DER) of an X.509 certificate (RFC 5280
/// §4.1: `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
/// OPTIONAL, serialNumber, signature, issuer, validity, subject, … } … }`).
fn cert_names(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (0x30, cert, _) = der_tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _) = der_tlv(cert)? else {
        return None;
    };
    let (tag, _, mut rest) = der_tlv(tbs)?;
    if tag == 0xa0 {
        rest = der_tlv(rest)?.2; // serialNumber
    }
    rest = der_tlv(rest)?.2; // signature
    let (0x30, issuer, rest) = der_tlv(rest)? else {
        return None;
    };
    let rest = der_tlv(rest)?.2; // validity
    let (0x30, subject, _) = der_tlv(rest)? else {
        return None;
    };
    Some((issuer, subject))
}

fn self_signed(c: &CertificateDer<'_>) -> bool {
    cert_names(c).is_some_and(|(i, s)| i == s)
}

/// `chain` followed by the issuers of its last certificate found in `pool`,
/// up to a self-signed one (how OpenSSL completes the chain it sends).
fn complete_chain(
    mut chain: Vec<CertificateDer<'static>>,
    pool: &[CertificateDer<'static>],
) -> Vec<CertificateDer<'static>> {
    for _ in 0..8 {
        let Some(last) = chain.last() else { break };
        let Some((issuer, subject)) = cert_names(last) else {
            break;
        };
        if issuer == subject {
            break;
        }
        let next = pool
            .iter()
            .find(|c| cert_names(c).is_some_and(|(_, s)| s == issuer) && !chain.contains(c));
        match next {
            Some(c) => chain.push(c.clone()),
            None => break,
        }
    }
    chain
}

/// PEM text of one certificate.
fn pem_certificate(der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, &x)| a | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or(""));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Verifies peers of both roles against the current [`Trust`] (see the
/// module comment), without the host name check.
#[derive(Debug)]
struct PeerVerifier {
    provider: Arc<CryptoProvider>,
    trust: RwLock<Trust>,
    /// Held while bootstrapping, so one handshake creates the file.
    bootstrap: Mutex<()>,
}

/// Start of the errors of a failed CA bootstrap.
const BOOTSTRAP_FAILED: &str = "could not bootstrap CA cert";

fn bootstrap_failed(what: String) -> rustls::Error {
    tracing::error!(target: LOG, "{BOOTSTRAP_FAILED}: {what}");
    rustls::Error::General(format!("{BOOTSTRAP_FAILED}: {what}"))
}

/// True if a TLS handshake failed because the CA could not be
/// bootstrapped (the reason is logged already).
pub(crate) fn is_bootstrap_failure(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::General(m) if m.starts_with(BOOTSTRAP_FAILED)))
}

impl PeerVerifier {
    fn verify_chain(
        &self,
        roots: &RootCertStore,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )
    }

    /// Trust on first use of `file` (Open vSwitch's `do_ca_cert_bootstrap`):
    /// the last certificate of the server's chain must be self-signed and
    /// the chain must verify against it; it is then saved and trusted.
    fn bootstrap(
        &self,
        file: &Path,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let guard = self.bootstrap.lock();
        if let Trust::Ca(roots, _) = &*self.trust.read() {
            // Another handshake bootstrapped meanwhile.
            return self.verify_chain(roots, end_entity, intermediates, now);
        }
        let ca = intermediates.last().unwrap_or(end_entity);
        if !self_signed(ca) {
            let e = bootstrap_failed(
                "obtained certificate is not self-signed (subject issuer mismatch)".into(),
            );
            if intermediates.is_empty() {
                tracing::error!(
                    target: LOG,
                    "only one certificate was received, so probably the peer is not configured to send its CA certificate"
                );
            }
            return Err(e);
        }
        let mut roots = RootCertStore::empty();
        roots
            .add(ca.clone().into_owned())
            .map_err(|e| bootstrap_failed(format!("bad CA certificate: {e}")))?;
        // The chain must hold together under the CA about to be trusted.
        if let Err(e) = self.verify_chain(&roots, end_entity, intermediates, now) {
            return Err(bootstrap_failed(format!("peer chain does not verify: {e}")));
        }
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(file);
        let mut f = match created {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                tracing::info!(
                    target: LOG,
                    "reading CA cert {} created by another process",
                    file.display()
                );
                let certs = read_certs(file).map_err(|r| {
                    bootstrap_failed(format!("reading {} failed: {r}", file.display()))
                })?;
                let mut roots = RootCertStore::empty();
                for c in certs {
                    roots
                        .add(c)
                        .map_err(|e| bootstrap_failed(format!("{}: {e}", file.display())))?;
                }
                let trust = Trust::ca(roots, &self.provider).map_err(bootstrap_failed)?;
                *self.trust.write() = trust;
                drop(guard);
                return match &*self.trust.read() {
                    Trust::Ca(r, _) => self.verify_chain(r, end_entity, intermediates, now),
                    _ => Err(rustls::Error::General("CA certificate not set".into())),
                };
            }
            Err(e) => {
                return Err(bootstrap_failed(format!(
                    "creating {} failed: {}",
                    file.display(),
                    crate::remote::io_reason(&e)
                )))
            }
        };
        if let Err(e) = f
            .write_all(pem_certificate(ca).as_bytes())
            .and_then(|()| f.sync_all())
        {
            let _ = std::fs::remove_file(file);
            return Err(bootstrap_failed(format!(
                "writing {} failed: {}",
                file.display(),
                crate::remote::io_reason(&e)
            )));
        }
        let fingerprint: Vec<String> = {
            use sha1::Digest;
            sha1::Sha1::digest(ca.as_ref())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        tracing::info!(target: LOG, "successfully bootstrapped CA cert to {}", file.display());
        tracing::info!(
            target: LOG,
            "Trusting CA cert from {} (fingerprint {})",
            file.display(),
            fingerprint.join(":")
        );
        *self.trust.write() = Trust::ca(roots, &self.provider).map_err(bootstrap_failed)?;
        Ok(())
    }
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let trust = self.trust.read().clone();
        match trust {
            Trust::Ca(roots, _) => self.verify_chain(&roots, end_entity, intermediates, now)?,
            Trust::Nobody => {}
            Trust::Bootstrap(file) => self.bootstrap(&file, end_entity, intermediates, now)?,
        }
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

impl ClientCertVerifier for PeerVerifier {
    fn offer_client_auth(&self) -> bool {
        !matches!(*self.trust.read(), Trust::Nobody)
    }

    fn client_auth_mandatory(&self) -> bool {
        self.offer_client_auth()
    }

    /// No hints: clients send their one certificate anyway.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let trust = self.trust.read().clone();
        match trust {
            Trust::Ca(_, v) => v.verify_client_cert(end_entity, intermediates, now),
            Trust::Nobody => Ok(ClientCertVerified::assertion()),
            Trust::Bootstrap(file) => {
                tracing::warn!(
                    target: LOG,
                    "refusing client: CA certificate {} not bootstrapped yet",
                    file.display()
                );
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer,
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls12_signature(self, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls13_signature(self, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        ServerCertVerifier::supported_verify_schemes(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[SupportedCipherSuite]) -> Vec<String> {
        v.iter().map(|s| format!("{:?}", s.suite())).collect()
    }

    #[test]
    fn protocols() {
        let (v, w) = parse_protocols("TLSv1.2").unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].version, rustls::ProtocolVersion::TLSv1_2);
        assert!(w.is_empty());
        let (v, _) = parse_protocols("tlsv1.3 TLSv1.2,TLSv1.2").unwrap();
        assert_eq!(v.len(), 2);
        let (v, w) = parse_protocols("TLSv1,TLSv1.1,TLSv1.2").unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("TLSv1: SSL protocol not supported"),
            "{w:?}"
        );
        let e = parse_protocols("TLSv1,TLSv1.1").unwrap_err();
        assert!(
            e.contains("none of these SSL protocols is supported"),
            "{e}"
        );
        assert_eq!(
            parse_protocols("bogus").unwrap_err(),
            "bogus: SSL protocol not recognized"
        );
        assert_eq!(
            parse_protocols(" , ").unwrap_err(),
            "SSL protocol settings invalid"
        );
    }

    #[test]
    fn default_ciphers_are_rustls_defaults() {
        let (v, w) = parse_ciphers(DEFAULT_SSL_CIPHERS).unwrap();
        assert!(w.is_empty(), "{w:?}");
        let mut got = names(&v);
        let mut want = names(&provider().cipher_suites);
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn cipher_lists() {
        // One TLS 1.2 suite by OpenSSL name; TLS 1.3 suites stay.
        let (v, w) = parse_ciphers("ECDHE-RSA-AES128-GCM-SHA256").unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(v.len(), 4);
        assert!(names(&v).contains(&"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string()));
        // Intersection, removal and order.
        let (v, _) = parse_ciphers("ECDHE+AESGCM:!aECDSA:-AES256").unwrap();
        let n = names(&v);
        assert_eq!(
            n[3..],
            ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string()]
        );
        let (v, _) = parse_ciphers("CHACHA20:AESGCM:+CHACHA20").unwrap();
        assert!(names(&v).last().unwrap().contains("CHACHA20"));
        // `!` is permanent, `-` is not.
        let (v, _) = parse_ciphers("-aRSA:aRSA").unwrap();
        assert_eq!(v.len(), 6);
        let (v, _) = parse_ciphers("!aRSA:aRSA").unwrap();
        assert_eq!(v.len(), 3);
        // TLS 1.3 suites chosen by name.
        let (v, w) = parse_ciphers("TLS_AES_128_GCM_SHA256").unwrap();
        assert_eq!(names(&v), ["TLS13_AES_128_GCM_SHA256"]);
        assert_eq!(w.len(), 1, "{w:?}");
        // Unknown and unsupported names warn; known empty keywords do not.
        let (v, w) = parse_ciphers("AES128-SHA:bogus:HIGH:!RC4:@STRENGTH").unwrap();
        assert_eq!(v.len(), 9);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("AES128-SHA: no cipher suite"), "{w:?}");
        // Nothing for TLS 1.2 but TLS 1.3 remains: a warning only.
        let (v, w) = parse_ciphers("RC4").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(w.len(), 1);
        // Nothing at all.
        assert!(parse_ciphers(
            "!TLS_AES_128_GCM_SHA256:!TLS_AES_256_GCM_SHA384:!TLS_CHACHA20_POLY1305_SHA256:MD5"
        )
        .is_err());
        for junk in ["", ":::", "+", "!", "-+", "\u{e9}", "!@#$"] {
            let _ = parse_ciphers(junk);
        }
    }

    #[test]
    fn der_names_and_pem() {
        // Truncated and garbage input: no panic, no names.
        for b in [
            &b""[..],
            b"\x30",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x30\x03\x30\x01",
        ] {
            assert!(cert_names(b).is_none());
        }
        // PEM of bytes round-trips through the PEM reader.
        let der: Vec<u8> = (0..=255u8).collect();
        let text = pem_certificate(&der);
        let back: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].as_ref(), &der[..]);
        for n in 0..5 {
            let d = vec![0xabu8; n];
            let t = pem_certificate(&d);
            let b: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(t.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(b[0].as_ref(), &d[..]);
        }
    }

    #[test]
    fn missing_settings_read_like_open_vswitch() {
        let e = TlsConfig::from_settings(&TlsSettings::default()).unwrap_err();
        let Error::Tls(text) = e else { panic!() };
        assert_eq!(
            text,
            "Private key must be configured to use SSL\n\
             Certificate must be configured to use SSL\n\
             CA certificate must be configured to use SSL"
        );
        let s = TlsSettings {
            private_key: Some("/nonexistent/key.pem".into()),
            ..Default::default()
        };
        let Error::Tls(text) = TlsConfig::from_settings(&s).unwrap_err() else {
            panic!()
        };
        assert_eq!(
            text.lines().next().unwrap(),
            "SSL_use_PrivateKey_file: error:80000002:system library::No such file or directory"
        );
        assert_eq!(text.lines().count(), 4);
        // Bootstrap: a missing CA file is no error by itself.
        let s = TlsSettings {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            bootstrap_ca_cert: true,
            ..Default::default()
        };
        let Error::Tls(text) = TlsConfig::from_settings(&s).unwrap_err() else {
            panic!()
        };
        assert_eq!(text.lines().count(), 2, "{text}");
    }
}
