//! The paths the proxy serves: an optional prefix that chooses the profile and region
//! (`/profile/{name}/region/{region}`, either part optional), then one of the Bedrock API's
//! operations. Nothing else is forwarded.
//!
//! The prefix rides in the base URL the helper prints, which every client keeps in front of
//! its operation paths (botocore with `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, the Anthropic SDKs
//! with `ANTHROPIC_BEDROCK_BASE_URL`). Without one, the daemon's default slot serves.
//!
//! | method | operation path                                   | service       |
//! |--------|--------------------------------------------------|---------------|
//! | POST   | `/model/{id}/invoke`                             | runtime       |
//! | POST   | `/model/{id}/invoke-with-response-stream`        | runtime       |
//! | POST   | `/model/{id}/converse`                           | runtime       |
//! | POST   | `/model/{id}/converse-stream`                    | runtime       |
//! | POST   | `/model/{id}/count-tokens`                       | runtime       |
//! | GET    | `/foundation-models`, `/foundation-models/{id}`  | control plane |
//! | GET    | `/inference-profiles`, `/inference-profiles/{id}`| control plane |
//!
//! Runtime operations take no query; the listings keep theirs (filters, paging). The
//! operation path is forwarded byte for byte: model ids arrive percent-encoded.

use crate::wire::api::{percent_decode, percent_encode};

/// Which Bedrock endpoint serves an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `bedrock-runtime.{region}.amazonaws.com`.
    Runtime,
    /// `bedrock.{region}.amazonaws.com`.
    Control,
}

/// A request the proxy forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed<'a> {
    /// From the prefix: `None` for the daemon's default.
    pub profile: Option<String>,
    pub region: Option<String>,
    pub service: Service,
    /// The operation's path and query, exactly as received.
    pub operation: &'a str,
}

/// Why a request is not forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrouted {
    /// Not an operation the proxy forwards (404).
    UnknownOperation,
    /// The operation exists with another method (405).
    WrongMethod(&'static str),
    /// A prefix that cannot be read: an empty or undecodable profile, a query on a runtime
    /// operation, a `.` or `..` segment (400).
    Malformed(&'static str),
}

const RUNTIME_ACTIONS: [&str; 5] =
    ["invoke", "invoke-with-response-stream", "converse", "converse-stream", "count-tokens"];
const LISTINGS: [&str; 2] = ["foundation-models", "inference-profiles"];

/// Routes `method` and the origin-form `target` (path and query).
pub fn route<'a>(method: &hyper::Method, target: &'a str) -> Result<Routed<'a>, Unrouted> {
    let (mut rest, mut profile, mut region) = (target, None, None);
    if let Some((segment, after)) = take("profile", rest) {
        let name = percent_decode(segment)
            .filter(|name| !name.trim().is_empty() && !name.contains(['\0', '\r', '\n']))
            .ok_or(Unrouted::Malformed("the profile in the path is empty or not UTF-8"))?;
        profile = Some(name);
        rest = after;
    }
    if let Some((segment, after)) = take("region", rest) {
        region = Some(segment.to_owned());
        rest = after;
    }
    let (path, query) = rest.split_once('?').map_or((rest, None), |(p, q)| (p, Some(q)));
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or("\u{0}").split('/').collect();
    if segments.iter().any(|s| matches!(percent_decode(s).as_deref(), Some("." | ".."))) {
        return Err(Unrouted::Malformed("paths may not hold `.` or `..` segments"));
    }
    let (service, wanted) = match segments.as_slice() {
        ["model", id, action] if !id.is_empty() && RUNTIME_ACTIONS.contains(action) => {
            if query.is_some() {
                return Err(Unrouted::Malformed("Bedrock's runtime operations take no query"));
            }
            (Service::Runtime, hyper::Method::POST)
        }
        [listing] | [listing, _] if LISTINGS.contains(listing) => {
            if segments.get(1).is_some_and(|id| id.is_empty()) {
                return Err(Unrouted::UnknownOperation);
            }
            (Service::Control, hyper::Method::GET)
        }
        _ => return Err(Unrouted::UnknownOperation),
    };
    if method != wanted {
        return Err(Unrouted::WrongMethod(if wanted == hyper::Method::GET {
            "GET"
        } else {
            "POST"
        }));
    }
    Ok(Routed { profile, region, service, operation: rest })
}

/// `/{name}/{segment}` at the start of `path`: the segment and what follows it.
fn take<'a>(name: &str, path: &'a str) -> Option<(&'a str, &'a str)> {
    let after = path.strip_prefix('/')?.strip_prefix(name)?.strip_prefix('/')?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    Some((&after[..end], &after[end..]))
}

/// The path prefix that selects `profile` (`None`: the daemon's default) and `region`, for
/// base URLs: `/profile/work/region/us-west-2`.
#[must_use]
pub fn prefix(profile: Option<&str>, region: &str) -> String {
    match profile {
        Some(name) => format!("/profile/{}/region/{region}", percent_encode(name)),
        None => format!("/region/{region}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Method;

    const MODEL: &str = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0";

    #[test]
    fn operations_with_and_without_a_prefix() {
        let converse = format!("{MODEL}/converse");
        let routed = route(&Method::POST, &converse).unwrap();
        assert_eq!(
            routed,
            Routed { profile: None, region: None, service: Service::Runtime, operation: &converse }
        );
        let prefixed =
            format!("/profile/my%20work/region/eu-west-1{MODEL}/invoke-with-response-stream");
        let routed = route(&Method::POST, &prefixed).unwrap();
        assert_eq!(routed.profile.as_deref(), Some("my work"));
        assert_eq!(routed.region.as_deref(), Some("eu-west-1"));
        assert_eq!(routed.operation, format!("{MODEL}/invoke-with-response-stream"));
        let listing =
            route(&Method::GET, "/region/us-east-1/inference-profiles?maxResults=5").unwrap();
        assert_eq!(
            (listing.service, listing.operation),
            (Service::Control, "/inference-profiles?maxResults=5")
        );
        let one = route(&Method::GET, "/profile/dev/foundation-models/anthropic.claude").unwrap();
        assert_eq!((one.profile.as_deref(), one.region), (Some("dev"), None));
        for action in RUNTIME_ACTIONS {
            assert!(route(&Method::POST, &format!("{MODEL}/{action}")).is_ok(), "{action}");
        }
    }

    #[test]
    fn everything_else_goes_nowhere() {
        for (method, target) in [
            (Method::POST, "/model/x/delete"),
            (Method::POST, "/model//converse"),
            (Method::POST, "/model/x/converse/extra"),
            (Method::GET, "/"),
            (Method::GET, "/v1/token"),
            (Method::GET, "/guardrails"),
            (Method::GET, "/foundation-models/"),
            (Method::GET, "/region/us-east-1"),
            (Method::POST, "/profile/dev"),
            (Method::GET, "*"),
            (Method::POST, "/model-customization-jobs"),
        ] {
            assert_eq!(
                route(&method, target),
                Err(Unrouted::UnknownOperation),
                "{method} {target}"
            );
        }
        assert_eq!(
            route(&Method::GET, &format!("{MODEL}/converse")),
            Err(Unrouted::WrongMethod("POST"))
        );
        assert_eq!(
            route(&Method::DELETE, "/inference-profiles/x"),
            Err(Unrouted::WrongMethod("GET"))
        );
        for target in [
            "/model/../converse".to_owned(),
            "/model/%2e%2E/converse".to_owned(),
            "/profile//region/us-east-1/foundation-models".to_owned(),
            "/profile/%ff/foundation-models".to_owned(),
            format!("{MODEL}/converse?x=1"),
        ] {
            assert!(
                matches!(
                    route(&Method::POST, &target).or_else(|_| route(&Method::GET, &target)),
                    Err(Unrouted::Malformed(_))
                ),
                "{target}"
            );
        }
    }

    #[test]
    fn prefixes_round_trip() {
        for profile in [None, Some("work"), Some("a b/c%d")] {
            let path = format!("{}{MODEL}/converse", prefix(profile, "us-west-2"));
            let routed = route(&Method::POST, &path).unwrap();
            assert_eq!(routed.profile.as_deref(), profile);
            assert_eq!(routed.region.as_deref(), Some("us-west-2"));
        }
        assert_eq!(prefix(Some("work"), "us-west-2"), "/profile/work/region/us-west-2");
    }
}
