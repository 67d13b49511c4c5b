//! The local Bedrock stand-in that proxy tests run against: proof that it checks tokens as
//! AWS does (tokens minted by `bedprov token`, checked with AWS's own generator), that boto3
//! and the Anthropic SDK work against it unmodified, that it streams real event-stream frames,
//! and that it records exactly what reached it.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::bedrock::{
    BedrockApp, BedrockStandin, EVERY_OPERATION, MODEL, event_frames, run_clients,
};
use common::{EXAMPLE_KEY_ID, EXAMPLE_SECRET, FakeClock, Sandbox, run};
use serde_json::{Value, json};

const TEMP_KEY_ID: &str = "ASIAIOSFODNN7EXAMPLE";
/// A session token with characters that need percent-encoding in the presigned URL.
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE+session/token==";

fn mint(sandbox: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["token", "--format", "raw"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&all));
    assert_eq!(code, 0, "bedprov token failed: {stderr}");
    stdout.trim().to_owned()
}

fn trusting_example_key() -> Value {
    json!({ EXAMPLE_KEY_ID: { "secret": EXAMPLE_SECRET } })
}

fn rfc3339(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A `temp` profile whose `credential_process` gives a session (key, secret, session token)
/// that ends at `expires` (Unix seconds).
fn temporary_profile(sandbox: &Sandbox, expires: i64) {
    let script = sandbox.script(
        "temp-creds.sh",
        &format!(
            r#"echo '{{"Version":1,"AccessKeyId":"{TEMP_KEY_ID}","SecretAccessKey":"{EXAMPLE_SECRET}","SessionToken":"{SESSION_TOKEN}","Expiration":"{}"}}'"#,
            rfc3339(expires)
        ),
    );
    sandbox.write_config(&format!("[profile temp]\ncredential_process = {}\n", script.display()));
}

fn ok(answer: &Value) -> &Value {
    assert_eq!(answer["ok"], true, "{answer}");
    answer
}

/// Asserts a refusal as the SDK shows it, and prints it (run with --nocapture to read them).
fn refused<'a>(answer: &'a Value, code: &Value, message: &str) -> &'a Value {
    assert_eq!(answer["ok"], false, "{answer}");
    println!("{}: {}", answer["op"], answer["shown"].as_str().unwrap());
    assert_eq!(&answer["code"], code, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains(message), "{answer}");
    answer
}

#[test]
fn boto3_and_the_anthropic_sdk_get_answers_with_a_token_bedprov_minted() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let token = mint(&sandbox, &["--region", "us-east-1"]);
    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), &[]);
    let answers = run_clients(&sandbox, &standin.direct_env(&token, "us-east-1"), EVERY_OPERATION);
    assert_eq!(ok(&answers[0])["text"], "stand-in reply to: what is 2 + 2?");
    assert_eq!(ok(&answers[1])["text"], "stand-in reply to: hello");
    assert_eq!(answers[1]["deltas"], 3);
    assert_eq!(
        answers[1]["events"],
        json!([
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ])
    );
    assert_eq!(ok(&answers[2])["text"], "stand-in reply to: hello");
    assert_eq!(ok(&answers[3])["text"], "stand-in reply to: hello");
    assert_eq!(answers[3]["events"][0], "message_start");
    assert_eq!(answers[3]["events"][7], "message_stop");
    assert_eq!(ok(&answers[4])["input_tokens"], 1);
    assert!(ok(&answers[5])["models"].as_array().unwrap().len() >= 2);
    assert_eq!(ok(&answers[6])["profiles"][0], MODEL);
    assert_eq!(ok(&answers[7])["text"], "stand-in reply to: hi from the Anthropic SDK");
    assert_eq!(ok(&answers[8])["text"], "stand-in reply to: hello");

    let requests = standin.requests();
    assert_eq!(requests.len(), 9, "one request per operation, no retries");
    for request in &requests {
        assert_eq!(request["verdict"], "ok", "{request}");
        assert_eq!(request["key_id"], EXAMPLE_KEY_ID);
        assert_eq!(request["token"]["region"], "us-east-1");
        assert_eq!(request["token"]["session_token"], false);
        let authorization = request["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("authorization"))
            .unwrap()[1]
            .as_str()
            .unwrap();
        assert!(!authorization.contains(&token[..40]), "the record never holds the token");
        assert!(authorization.contains(request["token"]["sha256"].as_str().unwrap()));
    }
    // boto3 percent-encodes the model id's colon; the Anthropic SDK leaves it as is.
    let paths: Vec<&str> = requests.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths[0], "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse");
    assert_eq!(
        paths[3],
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream"
    );
    assert_eq!(paths[5], "/foundation-models");
    assert_eq!(paths[6], "/inference-profiles");
    assert_eq!(paths[7], "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke");
    assert_eq!(
        paths[8],
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream"
    );
    assert!(requests.iter().all(|r| r["model_id"] == MODEL || r["model_id"].is_null()));
    assert!(requests[..7].iter().all(|r| r["tls"] == true), "boto3 used HTTPS");
    assert!(requests[7..].iter().all(|r| r["tls"] == false), "the Anthropic SDK used HTTP");
}

#[test]
fn tokens_aws_would_refuse_are_refused_with_the_errors_users_see() {
    let sandbox = Sandbox::new();
    sandbox.write_credentials(&format!(
        "[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n\
         [wrong-secret]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}X\n\
         [unknown]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = {EXAMPLE_SECRET}\n"
    ));
    let good = mint(&sandbox, &["--region", "us-east-1"]);
    let wrong_secret = mint(&sandbox, &["--profile", "wrong-secret", "--region", "us-east-1"]);
    let unknown = mint(&sandbox, &["--profile", "unknown", "--region", "us-east-1"]);
    let other_region = mint(&sandbox, &["--region", "eu-west-1"]);
    // Minted an hour ago (faked clock) for 15 minutes: expired 45 minutes ago.
    let clock = FakeClock::new(&sandbox);
    clock.set_offset(-3600);
    let mut command = sandbox.bedprov(&["token", "--format", "raw", "--ttl", "15m"]);
    clock.apply(&mut command);
    let (code, expired, stderr) = run(&mut command);
    assert_eq!(code, 0, "{stderr}");
    let expired = expired.trim();
    let tampered = {
        // The same token with one signature digit changed.
        let mut url = BASE64.decode(&good["bedrock-api-key-".len()..]).unwrap();
        let at = url.windows(16).position(|w| w == b"X-Amz-Signature=").unwrap() + 16;
        url[at] = if url[at] == b'0' { b'1' } else { b'0' };
        format!("bedrock-api-key-{}", BASE64.encode(url))
    };

    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), &[]);
    let denied = json!("AccessDeniedException");
    let forbidden = json!(403);
    let auth_failed = "Authentication failed: Please make sure your API Key is valid.";
    let cases: [(&str, &str, &str); 7] = [
        (expired, "expired", "Bearer Token has expired"),
        (&wrong_secret, "signature", auth_failed),
        (&tampered, "signature", auth_failed),
        (&unknown, "unknown-key", auth_failed),
        (&other_region, "region", auth_failed),
        (
            "not-a-bedrock-key",
            "format",
            "Invalid API Key format: Must start with pre-defined prefix",
        ),
        ("bedrock-api-key-bm90IGEgcHJlc2lnbmVkIFVSTA==", "malformed", auth_failed),
    ];
    for (token, verdict, message) in cases {
        println!("-- a token the stand-in refuses as {verdict}:");
        let before = standin.requests().len();
        // Streams too, for the most common refusal.
        let ops: &[&str] = if verdict == "expired" {
            &["converse", "anthropic-create", "converse-stream", "anthropic-stream"]
        } else {
            &["converse", "anthropic-create"]
        };
        let answers = run_clients(&sandbox, &standin.direct_env(token, "us-east-1"), ops);
        refused(&answers[0], &denied, message);
        assert!(answers[0]["shown"].as_str().unwrap().starts_with(
            "botocore.errorfactory.AccessDeniedException: An error occurred (AccessDeniedException) when calling the Converse operation: "
        ));
        refused(&answers[1], &forbidden, message);
        assert_eq!(answers[1]["error"], "PermissionDeniedError");
        if ops.len() == 4 {
            refused(&answers[2], &denied, message);
            refused(&answers[3], &forbidden, message);
        }
        let requests = standin.requests();
        assert_eq!(requests.len() - before, ops.len(), "one request per operation, no retries");
        assert!(requests[before..].iter().all(|r| r["verdict"] == verdict && r["status"] == 403));
    }
    // The same stand-in still answers a good token.
    let answers = run_clients(&sandbox, &standin.direct_env(&good, "us-east-1"), &["converse"]);
    ok(&answers[0]);
    // The region comes from the endpoint: a path segment (an upstream URL with {region}) or
    // the Host header of the regional endpoint.
    let bearer = |token: &str| format!("Bearer {token}");
    let converse = |line: &str, token: &str, host: Option<&str>| {
        let authorization = bearer(token);
        let mut headers = vec![("Authorization", authorization.as_str())];
        if let Some(host) = host {
            headers.push(("Host", host));
        }
        standin.raw(line, &headers, br#"{"messages":[{"role":"user","content":[{"text":"x"}]}]}"#)
    };
    let path = format!("/eu-west-1/model/{MODEL}/converse");
    assert_eq!(converse(&format!("POST {path} HTTP/1.1"), &other_region, None).status, 200);
    assert_eq!(converse(&format!("POST {path} HTTP/1.1"), &good, None).status, 403);
    let line = format!("POST /model/{MODEL}/converse HTTP/1.1");
    let host = Some("bedrock-runtime.eu-west-1.amazonaws.com");
    assert_eq!(converse(&line, &other_region, host).status, 200);
    assert_eq!(converse(&line, &good, host).status, 403);
    let regions: Vec<(Value, Value)> = standin.requests()[17..]
        .iter()
        .map(|r| (r["region"].clone(), r["region_from"].clone()))
        .collect();
    assert_eq!(
        regions,
        [
            (json!("eu-west-1"), json!("path")),
            (json!("eu-west-1"), json!("path")),
            (json!("eu-west-1"), json!("host")),
            (json!("eu-west-1"), json!("host"))
        ]
    );
}

#[test]
fn a_session_token_is_checked_and_the_end_of_its_session_ends_the_token() {
    let sandbox = Sandbox::new();
    let session_end = common::now_epoch() + 3600;
    temporary_profile(&sandbox, session_end);
    let token = mint(&sandbox, &["--profile", "temp", "--region", "us-west-2"]);
    let session = json!({
        "secret": EXAMPLE_SECRET,
        "session_token": SESSION_TOKEN,
        "expiration": rfc3339(session_end),
    });
    let standin = BedrockStandin::start(
        sandbox.dir.path(),
        "bedrock",
        &json!({ TEMP_KEY_ID: session }),
        &["--region", "us-west-2"],
    );
    // A long-running app: its clients read the token once, at start.
    let mut app = BedrockApp::start(&sandbox, &standin.direct_env(&token, "us-west-2"));
    assert_eq!(ok(&app.call("converse"))["text"], "stand-in reply to: hello");
    assert_eq!(ok(&app.call("anthropic-create"))["text"], "stand-in reply to: hello");
    let first = &standin.requests()[0];
    assert_eq!(first["key_id"], TEMP_KEY_ID);
    assert_eq!(first["token"]["session_token"], true);
    assert_eq!(first["token"]["region"], "us-west-2");

    // Another session token under the same key: the signature no longer matches.
    let mut other = session.clone();
    other["session_token"] = json!("IQoJb3JpZ2luX2VjEXAMPLE+another/session==");
    standin.set_trust(&json!({ TEMP_KEY_ID: other }));
    refused(
        &app.call("converse"),
        &json!("AccessDeniedException"),
        "Authentication failed: Please make sure your API Key is valid.",
    );
    assert_eq!(standin.requests().last().unwrap()["verdict"], "signature");

    // The session ended (its token is not expired yet): refused as AWS refuses it, and the
    // app, holding the token it read at start, cannot recover.
    let mut ended = session.clone();
    ended["expiration"] = json!(rfc3339(common::now_epoch() - 60));
    standin.set_trust(&json!({ TEMP_KEY_ID: ended }));
    let expired_session = "The security token included in the request is expired";
    refused(&app.call("converse"), &json!("ExpiredTokenException"), expired_session);
    refused(&app.call("anthropic-create"), &json!(403), expired_session);
    let requests = standin.requests();
    assert!(requests[requests.len() - 2..].iter().all(|r| r["verdict"] == "session-expired"));

    // Tokens signed before a revocation are refused; a fresh token from the same session is not.
    let mut revoked = session.clone();
    revoked["revoked_before"] = json!(rfc3339(common::now_epoch() + 1));
    standin.set_trust(&json!({ TEMP_KEY_ID: revoked.clone() }));
    refused(&app.call("converse"), &json!("AccessDeniedException"), "Authentication failed");
    assert_eq!(standin.requests().last().unwrap()["verdict"], "revoked");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = mint(&sandbox, &["--profile", "temp", "--region", "us-west-2"]);
    let answers = run_clients(&sandbox, &standin.direct_env(&fresh, "us-west-2"), &["converse"]);
    ok(&answers[0]);
}

#[test]
fn a_key_made_up_by_a_credential_process_is_trusted_through_the_wildcard() {
    let sandbox = Sandbox::new();
    let script = sandbox.script(
        "fresh-key.sh",
        &format!(
            r#"echo '{{"Version":1,"AccessKeyId":"ASIA'$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)'","SecretAccessKey":"{EXAMPLE_SECRET}","SessionToken":"{SESSION_TOKEN}"}}'"#
        ),
    );
    sandbox.write_config(&format!("[default]\ncredential_process = {}\n", script.display()));
    let token = mint(&sandbox, &[]);
    let standin = BedrockStandin::start(
        sandbox.dir.path(),
        "bedrock",
        &json!({ "*": { "secret": EXAMPLE_SECRET } }),
        &[],
    );
    let answers = run_clients(&sandbox, &standin.direct_env(&token, "us-east-1"), &["converse"]);
    ok(&answers[0]);
    let key = standin.requests()[0]["key_id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
    // A wrong secret still fails under the wildcard.
    standin.set_trust(&json!({ "*": { "secret": "another" } }));
    let answers = run_clients(&sandbox, &standin.direct_env(&token, "us-east-1"), &["converse"]);
    assert_eq!(answers[0]["ok"], false);
    assert_eq!(standin.requests()[1]["verdict"], "signature");
}

#[test]
fn paths_are_recorded_byte_exact_and_unknown_ones_get_nothing() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let token = mint(&sandbox, &["--region", "us-east-1"]);
    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), &[]);
    let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let answers = run_clients(
        &sandbox,
        &standin.direct_env(&token, "us-east-1"),
        &[&json!({"op": "converse", "model": arn}).to_string()],
    );
    ok(&answers[0]);
    let authorization = format!("Bearer {token}");
    let auth = [("Authorization", authorization.as_str())];
    // Lower-case escapes and an escaped dot: recorded as sent, decoded for the model id.
    let odd = "/model/us%2eanthropic.claude-sonnet-4-5-20250929-v1%3a0/converse";
    assert_eq!(standin.raw(&format!("POST {odd} HTTP/1.1"), &auth, b"{}").status, 200);
    let unknown = standin.raw("POST /model/x/delete-everything HTTP/1.1", &auth, b"{}");
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.header("x-amzn-errortype").unwrap().split(':').next(),
        Some("UnknownOperationException")
    );
    let missing = standin.raw(&format!("POST /model/{MODEL}/converse HTTP/1.1"), &[], b"{}");
    assert_eq!(missing.status, 403);
    assert_eq!(missing.json()["message"], "Missing Authentication Token");

    // Whatever arrives is recorded, whatever its method or form.
    let options =
        standin.raw("OPTIONS /model/x/converse HTTP/1.1", &[("Origin", "http://example.com")], b"");
    assert_eq!(options.status, 403);
    let absolute = "http://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse";
    assert_eq!(standin.raw(&format!("POST {absolute} HTTP/1.1"), &auth, b"{}").status, 404);

    let requests = standin.requests();
    assert_eq!(requests.len(), 6);
    assert_eq!(requests[4]["method"], "OPTIONS");
    assert_eq!(requests[5]["path"], absolute);
    assert_eq!(
        requests[0]["path"],
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    );
    assert_eq!(requests[0]["model_id"], arn);
    assert_eq!(requests[1]["path"], odd);
    assert_eq!(requests[1]["model_id"], MODEL);
    assert_eq!(requests[2]["operation"], Value::Null);
    assert_eq!(requests[3]["verdict"], "missing");
    assert_eq!(requests[3]["body_bytes"], 2);
}

#[test]
fn streams_are_real_event_stream_frames_paced_as_asked() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let token = mint(&sandbox, &["--region", "us-east-1"]);
    let standin = BedrockStandin::start(
        sandbox.dir.path(),
        "bedrock",
        &trusting_example_key(),
        &["--frames", "4", "--frame-delay-ms", "20"],
    );
    let authorization = format!("Bearer {token}");
    let body = br#"{"messages":[{"role":"user","content":[{"text":"count to four"}]}]}"#;
    let started = std::time::Instant::now();
    let answer = standin.raw(
        &format!("POST /model/{MODEL}/converse-stream HTTP/1.1"),
        &[("Authorization", authorization.as_str())],
        body,
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(60), "3 pauses of 20 ms");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/vnd.amazon.eventstream"));
    let frames = event_frames(&answer.body);
    let types: Vec<&str> = frames.iter().map(|f| f.header(":event-type").unwrap()).collect();
    assert_eq!(
        types,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    assert!(frames.iter().all(|f| f.header(":message-type") == Some("event")
        && f.header(":content-type") == Some("application/json")));
    let text: String = frames[1..5]
        .iter()
        .map(|f| {
            let payload: Value = serde_json::from_slice(&f.payload).unwrap();
            payload["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, "stand-in reply to: count to four");

    // Request headers override the flags; InvokeModelWithResponseStream carries Anthropic
    // stream events, base64 in `bytes`.
    let answer = standin.raw(
        &format!("POST /model/{MODEL}/invoke-with-response-stream HTTP/1.1"),
        &[
            ("Authorization", authorization.as_str()),
            ("x-standin-frames", "1"),
            ("x-standin-stream-error", "modelStreamErrorException"),
        ],
        b"{}",
    );
    assert_eq!(answer.header("x-amzn-bedrock-content-type"), Some("application/json"));
    let frames = event_frames(&answer.body);
    assert_eq!(frames.len(), 4);
    let first: Value = serde_json::from_slice(&frames[0].payload).unwrap();
    let event: Value =
        serde_json::from_slice(&BASE64.decode(first["bytes"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(event["type"], "message_start");
    assert_eq!(frames[3].header(":message-type"), Some("exception"));
    assert_eq!(frames[3].header(":exception-type"), Some("modelStreamErrorException"));
    let ends: Vec<Value> =
        standin.records().into_iter().filter(|r| r["event"] == "stream_end").collect();
    assert_eq!(ends.len(), 2);
    assert_eq!((ends[0]["frames"].clone(), ends[0]["hung_up"].clone()), (json!(8), json!(false)));
    assert_eq!((ends[1]["frames"].clone(), ends[1]["hung_up"].clone()), (json!(4), json!(false)));

    // A modeled error instead of an answer, as boto3 shows it.
    let throttled =
        json!({"op": "converse", "headers": {"x-standin-error": "ThrottlingException"}});
    let env = [
        standin.direct_env(&token, "us-east-1"),
        vec![("AWS_MAX_ATTEMPTS".to_owned(), "1".to_owned())],
    ]
    .concat();
    let answers = run_clients(&sandbox, &env, &[&throttled.to_string()]);
    refused(&answers[0], &json!("ThrottlingException"), "ThrottlingException");
    assert_eq!(standin.requests().last().unwrap()["status"], 429);
}

#[test]
fn a_client_that_hangs_up_mid_stream_is_recorded_as_such() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let token = mint(&sandbox, &["--region", "us-east-1"]);
    let standin = BedrockStandin::start(
        sandbox.dir.path(),
        "bedrock",
        &trusting_example_key(),
        &["--forever", "--frame-delay-ms", "10"],
    );
    let answers = run_clients(
        &sandbox,
        &standin.direct_env(&token, "us-east-1"),
        &[
            r#"{"op": "converse-stream", "take": 3}"#,
            r#"{"op": "invoke-stream", "take": 3}"#,
            r#"{"op": "anthropic-stream", "take": 3}"#,
        ],
    );
    for answer in &answers {
        assert_eq!(ok(answer)["text"], "...");
    }
    for request in standin.requests() {
        let end = standin.stream_end(&request["id"]);
        assert_eq!(end["hung_up"], true, "{end}");
        assert!(end["frames"].as_u64().unwrap() < 100, "{end}");
    }
}
