//! Where requests go, and the client that takes them there: hyper's pooled HTTP/1.1 client
//! (connections kept alive and reused, `TCP_NODELAY`) over rustls with the platform's root
//! store plus `AWS_CA_BUNDLE` (so TLS inspection on a corporate network works) — the TLS
//! stack the AWS SDK already links, built only when the proxy runs.

use super::Body;
use super::route::Service;
use super::settings::Upstream;
use crate::Error;
use crate::wire::api::ErrorCode;
use hyper::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long an idle upstream connection is kept for reuse.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting (TCP) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The upstream: where to send, and the pooled client.
#[derive(Debug)]
pub struct UpstreamClient {
    target: Upstream,
    client: Client<HttpsConnector<HttpConnector>, Body>,
}

impl UpstreamClient {
    /// A client for `target` that trusts `roots`.
    pub fn new(target: Upstream, roots: &[CertificateDer<'static>]) -> crate::Result<Self> {
        let mut store = rustls::RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(roots.iter().cloned());
        if added == 0 {
            tracing::warn!(
                "the proxy found no trusted root certificates: HTTPS to the upstream will fail (install the platform's CA certificates, or set AWS_CA_BUNDLE)"
            );
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("cannot set up TLS for the proxy's upstream: {e}"),
                "this is a bug in bedprov: please report it",
            )
        })?
        .with_root_certificates(store)
        .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_keepalive(Some(IDLE_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .http1_max_buf_size(super::MAX_BUFFER)
            .build(connector);
        Ok(Self { target, client })
    }

    #[must_use]
    pub fn client(&self) -> &Client<HttpsConnector<HttpConnector>, Body> {
        &self.client
    }

    /// Where `operation` (path and query, as received) goes for `service` in `region`.
    pub fn uri(&self, service: Service, region: &str, operation: &str) -> Result<Uri, String> {
        let base = match &self.target {
            Upstream::Aws => match service {
                Service::Runtime => format!("https://bedrock-runtime.{region}.amazonaws.com"),
                Service::Control => format!("https://bedrock.{region}.amazonaws.com"),
            },
            Upstream::Url(template) => template.replace("{region}", region),
        };
        let text = format!("{}{operation}", base.trim_end_matches('/'));
        text.parse::<Uri>()
            .map_err(|e| format!("cannot make a URL of {}: {e}", crate::quote::shown_long(&text)))
    }

    /// The upstream's host (for messages), for `service` in `region`.
    #[must_use]
    pub fn describe(&self, service: Service, region: &str) -> String {
        self.uri(service, region, "/").map_or_else(
            |e| e,
            |uri| {
                format!(
                    "{}://{}",
                    uri.scheme_str().unwrap_or("https"),
                    uri.authority().map_or("", |a| a.as_str())
                )
            },
        )
    }
}

/// The roots the daemon trusts: the platform's store (which honours `SSL_CERT_FILE` and
/// `SSL_CERT_DIR`) and the certificates in `ca_bundle` (`AWS_CA_BUNDLE`), which must be
/// readable: a bundle the user named and we cannot use is an error at start, not later.
pub fn trust_roots(ca_bundle: Option<&Path>) -> crate::Result<Vec<CertificateDer<'static>>> {
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(%error, "skipped part of the platform's certificate store");
    }
    let mut roots = native.certs;
    if let Some(path) = ca_bundle {
        let bad = |why: String| {
            Error::usage(
                format!("AWS_CA_BUNDLE ({}) {why}", path.display()),
                "point AWS_CA_BUNDLE at a PEM file of CA certificates, or unset it, and start the daemon again",
            )
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(format!("cannot be read: {e}")))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("is not a PEM file of certificates: {e}")))?;
        if certs.is_empty() {
            return Err(bad("holds no certificate".into()));
        }
        roots.extend(certs);
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_endpoints_by_service_and_region_and_one_url_for_everything_else() {
        let aws = UpstreamClient::new(Upstream::Aws, &[]).unwrap();
        let op = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse";
        assert_eq!(
            aws.uri(Service::Runtime, "eu-west-1", op).unwrap().to_string(),
            format!("https://bedrock-runtime.eu-west-1.amazonaws.com{op}")
        );
        assert_eq!(
            aws.uri(Service::Control, "us-east-1", "/inference-profiles?maxResults=5")
                .unwrap()
                .to_string(),
            "https://bedrock.us-east-1.amazonaws.com/inference-profiles?maxResults=5"
        );
        assert_eq!(
            aws.describe(Service::Runtime, "us-west-2"),
            "https://bedrock-runtime.us-west-2.amazonaws.com"
        );
        let gateway =
            UpstreamClient::new(Upstream::Url("http://127.0.0.1:9/{region}".into()), &[]).unwrap();
        assert_eq!(
            gateway.uri(Service::Control, "us-west-2", "/foundation-models").unwrap().to_string(),
            "http://127.0.0.1:9/us-west-2/foundation-models"
        );
        // Byte for byte: lower-case escapes stay as they came.
        let odd = "/model/us%2eanthropic.x-v1%3a0/converse";
        assert!(
            gateway.uri(Service::Runtime, "us-east-1", odd).unwrap().to_string().ends_with(odd)
        );
    }

    #[test]
    fn an_unusable_ca_bundle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        assert!(trust_roots(Some(&missing)).unwrap_err().to_string().contains("cannot be read"));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        assert!(
            trust_roots(Some(&empty)).unwrap_err().to_string().contains("holds no certificate")
        );
    }
}
