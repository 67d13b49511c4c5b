//! What every request must be before anything else is looked at: origin-form (no absolute
//! URL, no CONNECT), addressed to the listener itself by its `Host` (a web page that made
//! some name resolve to 127.0.0.1 sends that name: DNS rebinding), and not from a browser
//! (`Origin`, `Sec-Fetch-Site`: no web page may use the proxy, and no CORS is answered).
//! Then the local key: the only credential the proxy accepts.

use super::key::LocalKey;
use hyper::header::{AUTHORIZATION, HOST, HeaderMap, ORIGIN};
use hyper::{Method, Uri};
use std::net::SocketAddr;

/// Why a request is refused before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `CONNECT`: the proxy is not a forward proxy.
    Connect,
    /// Absolute-form or authority-form request target.
    NotOriginForm,
    /// `Host` missing, repeated or naming something other than the listener.
    WrongHost,
    /// `Origin` or `Sec-Fetch-Site`: sent by a browser.
    FromBrowser,
    /// No `Authorization: Bearer …`.
    NoKey,
    /// A bearer token that is not the local key (a Bedrock API key included).
    WrongKey,
}

/// Checks the request line and `Host`, `Origin` and `Sec-Fetch-Site` headers.
pub fn check(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    listen: SocketAddr,
) -> Result<(), Refusal> {
    if method == Method::CONNECT {
        return Err(Refusal::Connect);
    }
    if uri.scheme().is_some() || uri.authority().is_some() || !uri.path().starts_with('/') {
        return Err(Refusal::NotOriginForm);
    }
    if headers.contains_key(ORIGIN) || headers.contains_key("sec-fetch-site") {
        return Err(Refusal::FromBrowser);
    }
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(host), None) if host.to_str().is_ok_and(|h| names_listener(h, listen)) => Ok(()),
        _ => Err(Refusal::WrongHost),
    }
}

/// Whether a `Host` value names `listen`: its address (bracketed for IPv6), or `localhost`
/// for the usual loopback addresses, with the port (which may be left out only for 80).
fn names_listener(host: &str, listen: SocketAddr) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => (name, port.parse::<u16>().ok()),
        _ => (host, Some(80)),
    };
    if port != Some(listen.port()) {
        return false;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    match name.parse::<std::net::IpAddr>() {
        Ok(ip) => ip == listen.ip(),
        Err(_) => {
            name.eq_ignore_ascii_case("localhost")
                && matches!(listen.ip().to_string().as_str(), "127.0.0.1" | "::1")
        }
    }
}

/// Checks `Authorization: Bearer <key>` against `key`, in constant time.
pub fn authenticate(headers: &HeaderMap, key: &LocalKey) -> Result<(), Refusal> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(if headers.contains_key(AUTHORIZATION) {
            Refusal::WrongKey
        } else {
            Refusal::NoKey
        });
    };
    let bytes = value.as_bytes();
    let presented = match bytes.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => bytes[7..].trim_ascii(),
        _ => return Err(Refusal::WrongKey),
    };
    if key.matches(presented) { Ok(()) } else { Err(Refusal::WrongKey) }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    /// A header map from name–value pairs, in order (the proxy's modules test with it).
    pub(in crate::proxy) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn checked(method: &Method, target: &str, pairs: &[(&str, &str)]) -> Result<(), Refusal> {
        let listen: SocketAddr = "127.0.0.1:8239".parse().unwrap();
        check(method, &target.parse().unwrap(), &headers(pairs), listen)
    }

    #[test]
    fn only_origin_form_requests_for_the_listener_pass() {
        let host = [("Host", "127.0.0.1:8239")];
        assert_eq!(checked(&Method::POST, "/model/x/converse", &host), Ok(()));
        assert_eq!(checked(&Method::POST, "/x", &[("Host", "LocalHost:8239")]), Ok(()));
        assert_eq!(
            checked(&Method::CONNECT, "bedrock.amazonaws.com:443", &host),
            Err(Refusal::Connect)
        );
        assert_eq!(
            checked(&Method::GET, "http://127.0.0.1:8239/x", &host),
            Err(Refusal::NotOriginForm)
        );
        assert_eq!(checked(&Method::OPTIONS, "*", &host), Err(Refusal::NotOriginForm));
        for bad in
            ["evil.example:8239", "127.0.0.1:8240", "127.0.0.1", "127.0.0.2:8239", "", "[::1]:8239"]
        {
            assert_eq!(
                checked(&Method::GET, "/x", &[("Host", bad)]),
                Err(Refusal::WrongHost),
                "{bad}"
            );
        }
        assert_eq!(checked(&Method::GET, "/x", &[]), Err(Refusal::WrongHost));
        assert_eq!(
            checked(&Method::GET, "/x", &[("Host", "127.0.0.1:8239"), ("Host", "127.0.0.1:8239")]),
            Err(Refusal::WrongHost)
        );
        for browser in [
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "null"),
        ] {
            assert_eq!(
                checked(&Method::POST, "/x", &[host[0], browser]),
                Err(Refusal::FromBrowser)
            );
        }
        let v6: SocketAddr = "[::1]:9000".parse().unwrap();
        assert!(names_listener("[::1]:9000", v6) && names_listener("localhost:9000", v6));
        assert!(!names_listener("127.0.0.1:9000", v6));
    }

    #[test]
    fn the_local_key_is_the_only_credential() {
        let key = LocalKey::generate().unwrap();
        let bearer = format!("Bearer {}", key.expose());
        assert_eq!(authenticate(&headers(&[("Authorization", &bearer)]), &key), Ok(()));
        let lower = format!("bearer  {} ", key.expose());
        assert_eq!(authenticate(&headers(&[("Authorization", &lower)]), &key), Ok(()));
        assert_eq!(authenticate(&headers(&[]), &key), Err(Refusal::NoKey));
        let other = format!("Bearer {}", LocalKey::generate().unwrap().expose());
        for wrong in [
            other.as_str(),
            "Bearer bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLw==",
            "Bearer ",
            key.expose(),
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request",
        ] {
            assert_eq!(
                authenticate(&headers(&[("Authorization", wrong)]), &key),
                Err(Refusal::WrongKey),
                "{wrong}"
            );
        }
        let twice = headers(&[("Authorization", &bearer), ("Authorization", &bearer)]);
        assert_eq!(authenticate(&twice, &key), Err(Refusal::WrongKey));
    }
}
