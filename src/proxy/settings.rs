//! The proxy's settings: where it listens (loopback addresses only) and where it sends
//! requests, from the command line over the config file's `[proxy]` table, checked before
//! the daemon reports ready.

use crate::Error;
use crate::config::ProxyConfig;
use crate::wire::api::ErrorCode;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The documented default port, on 127.0.0.1.
pub const DEFAULT_PORT: u16 = 8239;

/// What the command line says about the proxy (`daemon run|start`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--proxy` alone (`Some(None)`: the config file's address, else the default) or
    /// `--proxy ADDR`.
    pub listen: Option<Option<String>>,
    /// `--proxy-upstream URL`.
    pub upstream: Option<String>,
}

/// The proxy, as it will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub listen: SocketAddr,
    pub upstream: Upstream,
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// AWS's regional endpoints over HTTPS: `bedrock-runtime.{region}.amazonaws.com` for
    /// `/model/…`, `bedrock.{region}.amazonaws.com` for the control plane.
    Aws,
    /// Every request to this URL (`{region}` replaced by the token's region), the request's
    /// path appended: a VPC endpoint, a gateway, a test's stand-in.
    Url(String),
}

impl Upstream {
    /// For `bedprov status`: `AWS` or the URL.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Aws => "AWS".into(),
            Self::Url(url) => url.clone(),
        }
    }
}

/// The settings `flags` and `config` ask for; `None` when neither turns the proxy on.
pub fn resolve(flags: &Flags, config: Option<&ProxyConfig>) -> crate::Result<Option<Settings>> {
    if flags.listen.is_none() && config.is_none() {
        if flags.upstream.is_some() {
            return Err(Error::usage(
                "--proxy-upstream needs the proxy, which is off",
                "add --proxy (or a [proxy] table in the config file)",
            ));
        }
        return Ok(None);
    }
    let listen = flags
        .listen
        .clone()
        .flatten()
        .or_else(|| config.and_then(|c| c.listen.clone()))
        .map_or(Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT))), |text| {
        parse_listen(&text)
    })?;
    let upstream = match flags.upstream.clone().or_else(|| config.and_then(|c| c.upstream.clone()))
    {
        Some(url) => Upstream::Url(parse_upstream(&url)?),
        None => Upstream::Aws,
    };
    Ok(Some(Settings { listen, upstream }))
}

/// `PORT`, `IP:PORT`, `[IPv6]:PORT` or `localhost:PORT`, on a loopback address only: the
/// proxy signs with your AWS credentials for whoever reaches it.
pub fn parse_listen(text: &str) -> crate::Result<SocketAddr> {
    let text = text.trim();
    let addr = if let Ok(port) = text.parse::<u16>() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    } else if let Some(port) = text.strip_prefix("localhost:") {
        let port = port.parse::<u16>().map_err(|_| bad_listen(text))?;
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    } else {
        text.parse::<SocketAddr>().map_err(|_| bad_listen(text))?
    };
    if !addr.ip().is_loopback() {
        return Err(Error::usage(
            format!(
                "the proxy listens only on loopback addresses (127.0.0.0/8 or ::1), not {}: anywhere else, other machines could send requests signed with your AWS credentials",
                addr.ip()
            ),
            format!(
                "use --proxy 127.0.0.1:{} (or `[proxy] listen` in the config file)",
                addr.port()
            ),
        ));
    }
    Ok(addr)
}

fn bad_listen(text: &str) -> Error {
    Error::usage(
        format!("`{}` is not an address the proxy can listen on", crate::quote::shown(text)),
        format!(
            "give a port or a loopback address and port, e.g. --proxy 127.0.0.1:{DEFAULT_PORT} or --proxy [::1]:{DEFAULT_PORT}"
        ),
    )
}

/// Checks an upstream URL: `http` or `https`, a host, an optional path, no query,
/// fragment or user info; `{region}` may appear in the host and the path. Returned as given,
/// without a trailing slash.
pub fn parse_upstream(url: &str) -> crate::Result<String> {
    let bad = |why: &str| {
        Error::usage(
            format!("the proxy's upstream `{}` {why}", crate::quote::shown(url)),
            "give a URL such as https://bedrock-runtime.{region}.amazonaws.com or http://127.0.0.1:8080/{region}",
        )
    };
    let example = url.replace("{region}", "us-east-1");
    let uri: hyper::Uri = example.parse().map_err(|_| bad("is not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(bad("must start with http:// or https://"));
    }
    let Some(authority) = uri.authority() else { return Err(bad("has no host")) };
    if authority.as_str().contains('@') {
        return Err(bad("must not carry user information"));
    }
    if uri.query().is_some() || example.contains('#') {
        return Err(bad("must not have a query or a fragment"));
    }
    if url.replace("{region}", "").contains(['{', '}']) {
        return Err(bad("may hold only {region} as a placeholder"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Refuses an upstream that is the proxy itself (`listen` as bound): every request would
/// come back to it.
pub fn check_not_self(upstream: &Upstream, listen: SocketAddr) -> crate::Result<()> {
    let Upstream::Url(url) = upstream else { return Ok(()) };
    let Ok(uri) = url.replace("{region}", "us-east-1").parse::<hyper::Uri>() else {
        return Ok(());
    };
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let same_host = match host.parse::<IpAddr>() {
        Ok(ip) => ip == listen.ip() || (ip.is_unspecified() && listen.ip().is_loopback()),
        Err(_) => host.eq_ignore_ascii_case("localhost") && listen.ip().is_loopback(),
    };
    if same_host && port == listen.port() {
        return Err(Error::usage(
            format!(
                "the proxy's upstream {url} is the proxy itself ({listen}): every request would loop back"
            ),
            "point --proxy-upstream at Bedrock or a gateway, or listen on another port",
        ));
    }
    Ok(())
}

/// A bind failure, told so the user can act: the port in use names the port and how to
/// choose another.
#[must_use]
pub fn bind_error(listen: SocketAddr, error: &std::io::Error) -> Error {
    let how = format!(
        "choose another port: --proxy 127.0.0.1:PORT, or `[proxy] listen = \"127.0.0.1:PORT\"` in the config file (`ss -ltnp 'sport = :{}'` shows who holds this one)",
        listen.port()
    );
    match error.kind() {
        std::io::ErrorKind::AddrInUse => Error::new(
            ErrorCode::Internal,
            format!(
                "the proxy cannot listen on {listen}: port {} is already in use (by another bedprov daemon or another program)",
                listen.port()
            ),
            how,
        ),
        std::io::ErrorKind::PermissionDenied => Error::new(
            ErrorCode::Internal,
            format!("the proxy may not listen on {listen}: ports below 1024 need privileges"),
            how,
        ),
        _ => Error::new(
            ErrorCode::Internal,
            format!("the proxy cannot listen on {listen}: {error}"),
            how,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(text: &str) -> crate::Result<SocketAddr> {
        parse_listen(text)
    }

    #[test]
    fn loopback_addresses_only() {
        assert_eq!(listen("9000").unwrap(), "127.0.0.1:9000".parse().unwrap());
        assert_eq!(listen("localhost:9000").unwrap(), "127.0.0.1:9000".parse().unwrap());
        assert_eq!(listen("127.0.0.5:0").unwrap(), "127.0.0.5:0".parse().unwrap());
        assert_eq!(listen("[::1]:9000").unwrap(), "[::1]:9000".parse().unwrap());
        for outside in ["0.0.0.0:9000", "[::]:9000", "192.168.1.10:9000", "[::ffff:127.0.0.1]:1"] {
            let error = listen(outside).unwrap_err();
            assert!(error.to_string().contains("only on loopback"), "{outside}: {error}");
            assert_eq!(error.exit_code(), crate::wire::exit::USAGE);
        }
        for nonsense in ["", "x", "127.0.0.1", "localhost:http", "127.0.0.1:70000"] {
            assert!(listen(nonsense).unwrap_err().to_string().contains("is not an address"));
        }
    }

    #[test]
    fn the_command_line_wins_and_the_table_alone_turns_it_on() {
        let off = resolve(&Flags::default(), None).unwrap();
        assert_eq!(off, None);
        let table = ProxyConfig { listen: Some("127.0.0.1:7000".into()), upstream: None };
        let on = resolve(&Flags::default(), Some(&table)).unwrap().unwrap();
        assert_eq!((on.listen.port(), on.upstream), (7000, Upstream::Aws));
        let bare = Flags { listen: Some(None), upstream: None };
        assert_eq!(resolve(&bare, Some(&table)).unwrap().unwrap().listen.port(), 7000);
        assert_eq!(resolve(&bare, None).unwrap().unwrap().listen.port(), DEFAULT_PORT);
        let given = Flags {
            listen: Some(Some("7001".into())),
            upstream: Some("http://127.0.0.1:5000/{region}/".into()),
        };
        let settings = resolve(&given, Some(&table)).unwrap().unwrap();
        assert_eq!(settings.listen.port(), 7001);
        assert_eq!(settings.upstream, Upstream::Url("http://127.0.0.1:5000/{region}".into()));
        let lonely = Flags { listen: None, upstream: Some("http://x".into()) };
        assert!(resolve(&lonely, None).unwrap_err().hint().contains("--proxy"));
    }

    #[test]
    fn upstream_urls_are_checked() {
        for good in [
            "https://bedrock-runtime.{region}.amazonaws.com",
            "http://127.0.0.1:8080/{region}",
            "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/",
        ] {
            assert!(parse_upstream(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://x",
            "127.0.0.1:8080",
            "http://user:pw@x/",
            "http://x/?a=b",
            "http://x/#f",
            "http://x/{profile}",
            "not a url",
        ] {
            assert!(parse_upstream(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_upstream_that_is_the_proxy_itself_is_refused() {
        let listen: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        for url in
            ["http://127.0.0.1:7000", "http://localhost:7000/{region}", "https://0.0.0.0:7000"]
        {
            let upstream = Upstream::Url(url.into());
            assert!(check_not_self(&upstream, listen).is_err(), "{url}");
        }
        for url in ["http://127.0.0.1:7001", "http://127.0.0.2:7000", "https://example.com:7000"] {
            assert!(check_not_self(&Upstream::Url(url.into()), listen).is_ok(), "{url}");
        }
        assert!(check_not_self(&Upstream::Aws, listen).is_ok());
    }

    #[test]
    fn a_port_in_use_names_the_port_and_how_to_choose_another() {
        let listen: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        let error = bind_error(listen, &std::io::Error::from(std::io::ErrorKind::AddrInUse));
        assert!(error.to_string().contains("port 7000 is already in use"), "{error}");
        assert!(error.hint().contains("--proxy 127.0.0.1:PORT"), "{}", error.hint());
        assert_ne!(error.exit_code(), 0);
    }
}
