//! The proxy's HTTPS listener: a certificate authority of its own, made once and kept in
//! the proxy's private directory (so clients keep trusting it across restarts), that signs
//! a fresh certificate for the loopback address at each start; and the bundle clients
//! verify it with (`AWS_CA_BUNDLE`).
//!
//! HTTPS on loopback is for botocore, which sends a bearer token only to an `https://`
//! endpoint. The authority is name-constrained to loopback addresses and `localhost`, so
//! even a stolen key could not vouch for any other host; and the bundle also holds the
//! platform's roots, so a client's other AWS calls verify as they did.

use super::key::private_dir;
use crate::Error;
use crate::wire::api::ErrorCode;
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints,
};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// How long the authority is valid: it lives as long as clients are configured to trust it.
const CA_VALIDITY: Duration = Duration::from_secs(20 * 365 * 24 * 3600);
/// How long a listener certificate is valid (a new one is made at every start; platforms
/// refuse server certificates valid for more than 825 days).
const LEAF_VALIDITY: Duration = Duration::from_secs(800 * 24 * 3600);

/// The proxy's certificate authority.
pub struct LocalCa {
    key: KeyPair,
    cert: CertificateDer<'static>,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").field("key", &"<redacted>").finish_non_exhaustive()
    }
}

/// Who the authority is; the same at every start, so certificates it signs name it as the
/// stored certificate does.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "bedprov");
    name.push(DnType::CommonName, "bedprov local proxy CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 0], 8)),
            GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(
                Ipv6Addr::LOCALHOST.octets(),
                128,
            )),
            GeneralSubtree::DnsName("localhost".into()),
        ],
        excluded_subtrees: Vec::new(),
    });
    params
}

/// `[now - 1 day, now + validity]`: a day of slack for clocks that disagree a little.
fn validity(params: &mut CertificateParams, validity: Duration) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + validity;
}

fn tls_error(what: &str) -> impl FnOnce(rcgen::Error) -> Error {
    let what = what.to_owned();
    move |error| {
        Error::new(
            ErrorCode::Internal,
            format!("cannot {what}: {error}"),
            "this is a bug in bedprov: please report it",
        )
    }
}

impl LocalCa {
    /// The authority in `cert` and `key`, made (and written there) if either is missing.
    pub fn load_or_create(cert_path: &Path, key_path: &Path) -> crate::Result<Self> {
        if cert_path.exists() && key_path.exists() {
            return Self::load(cert_path, key_path);
        }
        if let Some(dir) = key_path.parent() {
            private_dir(dir)?;
        }
        let key = KeyPair::generate().map_err(tls_error("make a key for the proxy's CA"))?;
        let mut params = ca_params();
        validity(&mut params, CA_VALIDITY);
        let cert = params.self_signed(&key).map_err(tls_error("make the proxy's CA"))?;
        // The key first: a certificate on disk means both are there.
        write_private(key_path, key.serialize_pem().as_bytes())?;
        write_private(cert_path, cert.pem().as_bytes())?;
        tracing::info!(cert = %cert_path.display(), "made the proxy's certificate authority");
        Ok(Self { key, cert: cert.der().clone() })
    }

    fn load(cert_path: &Path, key_path: &Path) -> crate::Result<Self> {
        let unusable = |path: &Path, why: &str| {
            Error::new(
                ErrorCode::Internal,
                format!("the proxy's certificate authority in {} {why}", path.display()),
                format!(
                    "remove {} and {} to make a new one (clients then need `bedprov-helper env --proxy` again)",
                    cert_path.display(),
                    key_path.display()
                ),
            )
        };
        let metadata = std::fs::metadata(key_path)
            .map_err(Error::io(format!("cannot read {}", key_path.display())))?;
        if metadata.uid() != nix::unistd::geteuid().as_raw() || metadata.mode() & 0o077 != 0 {
            return Err(unusable(key_path, "has a key that is not private to you"));
        }
        let pem = Zeroizing::new(
            std::fs::read_to_string(key_path)
                .map_err(Error::io(format!("cannot read {}", key_path.display())))?,
        );
        let key = KeyPair::from_pem(&pem).map_err(|_| unusable(key_path, "has no usable key"))?;
        let cert = CertificateDer::from_pem_file(cert_path)
            .map_err(|_| unusable(cert_path, "has no certificate"))?;
        Ok(Self { key, cert })
    }

    /// The authority's certificate, PEM.
    #[must_use]
    pub fn pem(&self) -> String {
        pem(&self.cert)
    }

    /// A server configuration with a new certificate for `listen` (and 127.0.0.1, `::1` and
    /// `localhost`), signed by this authority; HTTP/1.1 only.
    pub fn server_config(&self, listen: IpAddr) -> crate::Result<Arc<ServerConfig>> {
        let (cert, key) = self.listener_certificate(listen)?;
        let chain = vec![cert, self.cert.clone()];
        let mut config = ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("cannot set up the proxy's TLS: {e}"),
                "this is a bug in bedprov: please report it",
            )
        })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A new certificate for `listen` and the loopback names, and its key.
    fn listener_certificate(
        &self,
        listen: IpAddr,
    ) -> crate::Result<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
        let mut names: Vec<String> = vec![listen.to_string()];
        for name in [IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(), "::1".into(), "localhost".into()]
        {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let mut params =
            CertificateParams::new(names).map_err(tls_error("name the proxy's certificate"))?;
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "bedprov");
        name.push(DnType::CommonName, "bedprov local proxy");
        params.distinguished_name = name;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, LEAF_VALIDITY);
        let key = KeyPair::generate().map_err(tls_error("make the proxy's TLS key"))?;
        let issuer = Issuer::new(ca_params(), &self.key);
        let cert =
            params.signed_by(&key, &issuer).map_err(tls_error("sign the proxy's certificate"))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((cert.der().clone(), key))
    }
}

/// Writes the bundle clients verify the proxy with: its authority first, then `roots` (the
/// platform's, and `AWS_CA_BUNDLE`'s), replaced atomically.
pub fn write_bundle(
    path: &Path,
    ca: &LocalCa,
    roots: &[CertificateDer<'static>],
) -> crate::Result<()> {
    let mut text = String::from("# bedprov local proxy CA, then the roots this daemon trusts\n");
    text.push_str(&ca.pem());
    for root in roots {
        text.push_str(&pem(root));
    }
    let temporary = path.with_extension(format!("{}.tmp", std::process::id()));
    write_private(&temporary, text.as_bytes())?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Error::io(format!("cannot write {}", path.display()))(e)
    })
}

fn pem(cert: &CertificateDer<'_>) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Writes a new file only we can read (replacing a leftover of the same name).
fn write_private(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .map_err(Error::io(format!("cannot write {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;

    #[test]
    fn the_authority_is_made_once_and_signs_a_listener_certificate_clients_verify() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("p/ca.pem"), dir.path().join("p/ca-key.pem"));
        let ca = LocalCa::load_or_create(&cert, &key).unwrap();
        assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o600);
        let again = LocalCa::load_or_create(&cert, &key).unwrap();
        assert_eq!(again.pem(), ca.pem(), "kept across starts");
        assert!(format!("{ca:?}").contains("redacted"));
        // A client that trusts only the bundle verifies the listener's certificate.
        let bundle = dir.path().join("p/bundle.pem");
        write_bundle(&bundle, &again, &[]).unwrap();
        let config = again.server_config("127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&bundle).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .build()
        .unwrap();
        let (leaf, _) = again.listener_certificate("127.0.0.1".parse().unwrap()).unwrap();
        let now = rustls_pki_types::UnixTime::now();
        for name in ["127.0.0.1", "localhost", "::1"] {
            let server = rustls_pki_types::ServerName::try_from(name).unwrap();
            verifier.verify_server_cert(&leaf, &[], &server, &[], now).unwrap();
        }
        let elsewhere = rustls_pki_types::ServerName::try_from("example.com").unwrap();
        assert!(verifier.verify_server_cert(&leaf, &[], &elsewhere, &[], now).is_err());
    }
}
