//! The daemon's local Bedrock proxy, end to end: a real daemon started with `--proxy`, the
//! Bedrock stand-in as its upstream (it checks every token as AWS does and records what
//! reached it), and real clients (boto3, the Anthropic SDK) configured by nothing but
//! `eval "$(bedprov-helper env --proxy)"`.

mod common;

use common::bedrock::{
    BedrockApp, BedrockStandin, EVERY_OPERATION, MODEL, RawResponse, run_clients,
};
use common::{EXAMPLE_KEY_ID, EXAMPLE_SECRET, Sandbox, helper_bin, run};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn trusting_example_key() -> Value {
    json!({ EXAMPLE_KEY_ID: { "secret": EXAMPLE_SECRET } })
}

/// The stand-in as every proxy request's upstream, the region in the path.
fn upstream(standin: &BedrockStandin) -> String {
    format!("{}/{{region}}", standin.http_url())
}

/// A foreground daemon with the proxy on a port the kernel picks, sending to `standin`.
fn proxied_daemon(sandbox: &Sandbox, standin: &BedrockStandin) -> common::Daemon {
    let upstream = upstream(standin);
    sandbox.daemon_with(|command| {
        command.args(["--proxy", "127.0.0.1:0", "--proxy-upstream", &upstream]);
    })
}

/// The daemon's `/v1/status`.
fn status(daemon: &common::Daemon) -> Value {
    daemon.client().get_json::<Value>("/v1/status").unwrap()
}

/// Where the proxy listens, as `/v1/status` says.
fn proxy_address(daemon: &common::Daemon) -> String {
    status(daemon)["proxy"]["listen"].as_str().expect("the proxy in /v1/status").to_owned()
}

/// What `eval "$(bedprov-helper env --proxy ARGS)"` sets in a POSIX shell: the variables
/// that differ after the eval, read back from the shell itself.
fn proxy_env(sandbox: &Sandbox, args: &[&str]) -> Vec<(String, String)> {
    let dump = |eval: bool| {
        let script = if eval {
            r#"out=$("$HELPER" env --proxy "$@") || exit $?; eval "$out" && env -0"#
        } else {
            "env -0"
        };
        let output = sandbox
            .command("sh")
            .args(["-c", script, "sh"])
            .args(args)
            .env("HELPER", helper_bin())
            .env("BEDPROV_NO_AUTOSTART", "1")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout)
            .unwrap()
            .split('\0')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<BTreeMap<_, _>>()
    };
    let before = dump(false);
    dump(true).into_iter().filter(|(k, v)| before.get(k) != Some(v)).collect()
}

fn ok(answer: &Value) -> &Value {
    assert_eq!(answer["ok"], true, "{answer}");
    answer
}

#[test]
fn boto3_and_the_anthropic_sdk_get_answers_through_the_proxy() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), &[]);
    let daemon = proxied_daemon(&sandbox, &standin);
    let listen = proxy_address(&daemon);
    let env = proxy_env(&sandbox, &[]);
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "ANTHROPIC_BEDROCK_BASE_URL",
            "AWS_BEARER_TOKEN_BEDROCK",
            "AWS_CA_BUNDLE",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL_BEDROCK",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
            "AWS_REGION",
        ]
    );
    let var = |name: &str| env.iter().find(|(k, _)| k == name).unwrap().1.clone();
    assert!(var("AWS_BEARER_TOKEN_BEDROCK").starts_with("bedprov-local-"));
    assert_eq!(var("AWS_REGION"), "us-east-1");
    assert_eq!(var("AWS_DEFAULT_REGION"), "us-east-1");
    assert_eq!(
        var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
        format!("https://{listen}/region/us-east-1")
    );
    assert_eq!(var("AWS_ENDPOINT_URL_BEDROCK"), format!("https://{listen}/region/us-east-1"));
    assert_eq!(var("ANTHROPIC_BEDROCK_BASE_URL"), format!("http://{listen}/region/us-east-1"));

    let answers = run_clients(&sandbox, &env, EVERY_OPERATION);
    assert_eq!(ok(&answers[0])["text"], "stand-in reply to: what is 2 + 2?");
    assert_eq!(ok(&answers[1])["text"], "stand-in reply to: hello");
    assert_eq!(answers[1]["deltas"], 3);
    assert_eq!(answers[1]["events"].as_array().unwrap().len(), 7);
    assert_eq!(ok(&answers[2])["text"], "stand-in reply to: hello");
    assert_eq!(ok(&answers[3])["text"], "stand-in reply to: hello");
    assert_eq!(answers[3]["events"][7], "message_stop");
    assert_eq!(ok(&answers[4])["input_tokens"], 1);
    assert!(ok(&answers[5])["models"].as_array().unwrap().len() >= 2);
    assert_eq!(ok(&answers[6])["profiles"][0], MODEL);
    assert_eq!(ok(&answers[7])["text"], "stand-in reply to: hi from the Anthropic SDK");
    assert_eq!(ok(&answers[8])["text"], "stand-in reply to: hello");

    // Every request reached the upstream once, signed with the daemon's token for the
    // region, its path byte for byte as the client sent it.
    let requests = standin.requests();
    assert_eq!(requests.len(), 9, "one request per operation, no retries");
    for request in &requests {
        assert_eq!(request["verdict"], "ok", "{request}");
        assert_eq!(request["key_id"], EXAMPLE_KEY_ID);
        assert_eq!(
            (&request["region"], &request["region_from"]),
            (&json!("us-east-1"), &json!("path"))
        );
    }
    let paths: Vec<&str> = requests.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths[0],
        "/us-east-1/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    );
    assert_eq!(paths[5], "/us-east-1/foundation-models");
    assert_eq!(paths[6], "/us-east-1/inference-profiles");
    assert_eq!(paths[7], "/us-east-1/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke");

    let proxy = &status(&daemon)["proxy"];
    assert_eq!(proxy["requests"], 9, "{proxy}");
    assert_eq!(proxy["upstream"], upstream(&standin));
    assert!(proxy["bytes_to_clients"].as_u64().unwrap() > 0);
    assert_eq!(proxy["added_latency_us"]["count"], 9);
    assert_eq!(proxy["errors"], json!({}));
    // The key never reaches the daemon's log.
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert!(!log.contains(&var("AWS_BEARER_TOKEN_BEDROCK")));
}

/// A port free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A daemon started with `bedprov daemon start` (detached), stopped with `bedprov daemon
/// stop` when dropped.
struct Detached<'a> {
    sandbox: &'a Sandbox,
}

impl<'a> Detached<'a> {
    fn start(
        sandbox: &'a Sandbox,
        args: &[&str],
        adjust: impl FnOnce(&mut std::process::Command),
    ) -> (Self, String) {
        let mut command = sandbox.bedprov(&[&["daemon", "start"], args].concat());
        adjust(&mut command);
        let (code, stdout, stderr) = run(&mut command);
        assert_eq!(code, 0, "daemon start failed: {stderr}");
        (Self { sandbox }, stdout)
    }

    fn stop(self) {
        drop(self);
    }
}

impl Drop for Detached<'_> {
    fn drop(&mut self) {
        let (code, _, stderr) = run(&mut self.sandbox.bedprov(&["daemon", "stop"]));
        if !std::thread::panicking() {
            assert_eq!(code, 0, "daemon stop failed: {stderr}");
        }
    }
}

#[test]
fn the_proxy_listens_on_loopback_only_and_a_taken_port_is_named() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    for (args, says) in [
        (&["run", "--proxy", "0.0.0.0:8239"][..], "the proxy listens only on loopback addresses"),
        (&["start", "--proxy", "[::]:8239"], "the proxy listens only on loopback addresses"),
        (&["run", "--proxy", "192.168.1.10:8239"], "not 192.168.1.10"),
        (&["start", "--proxy", "127.0.0.1"], "is not an address the proxy can listen on"),
        (&["run", "--proxy-upstream", "http://127.0.0.1:9"], "--proxy-upstream needs the proxy"),
        (
            &["run", "--proxy", "127.0.0.1:8239", "--proxy-upstream", "ftp://x"],
            "must start with http",
        ),
    ] {
        let (code, stdout, stderr) = run(&mut sandbox.bedprov(&[&["daemon"], args].concat()));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stderr.contains("hint:"), "{args:?}: {stderr}");
    }
    assert!(!sandbox.socket().exists(), "no daemon was left running");

    // A port another program holds: the start fails, naming the port and how to choose
    // another; no daemon is left behind.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    for verb in ["run", "start"] {
        let address = format!("127.0.0.1:{port}");
        let (code, stdout, stderr) =
            run(&mut sandbox.bedprov(&["daemon", verb, "--proxy", &address]));
        assert_ne!(code, 0, "{verb}: {stderr}");
        assert!(stdout.is_empty(), "{verb}: {stdout}");
        assert!(stderr.contains(&format!("port {port} is already in use")), "{verb}: {stderr}");
        assert!(stderr.contains("--proxy 127.0.0.1:PORT"), "{verb}: {stderr}");
        assert!(!sandbox.socket().exists(), "{verb}: no daemon was left running");
    }
    // The proxy as its own upstream: every request would come back.
    let port = free_port().to_string();
    let (code, _, stderr) = run(&mut sandbox.bedprov(&[
        "daemon",
        "run",
        "--proxy",
        &port,
        "--proxy-upstream",
        &format!("http://localhost:{port}/{{region}}"),
    ]));
    assert_ne!(code, 0);
    assert!(stderr.contains("is the proxy itself"), "{stderr}");
}

#[test]
fn the_config_file_turns_the_proxy_on_and_the_helper_says_when_it_is_off() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    // Without the proxy, `env --proxy` fails with what to do, and prints nothing to eval.
    {
        let _daemon = sandbox.daemon();
        for args in [&["env", "--proxy"][..], &["exec", "--proxy", "--", "true"]] {
            let (code, stdout, stderr) = run(&mut sandbox.helper(args));
            assert_ne!(code, 0, "{args:?}");
            assert!(stdout.is_empty(), "{args:?}: {stdout}");
            assert!(stderr.contains("runs without its local Bedrock proxy"), "{stderr}");
            assert!(stderr.contains("bedprov daemon start --proxy"), "{stderr}");
        }
    }
    let port = free_port();
    let config = sandbox.home().join(".config/bedprov/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, format!("[proxy]\nlisten = \"127.0.0.1:{port}\"\n")).unwrap();
    let (daemon, stdout) = Detached::start(&sandbox, &[], |_| {});
    assert!(stdout.contains(&format!("proxy: 127.0.0.1:{port} (upstream: AWS)")), "{stdout}");
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["status"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("proxy: 127.0.0.1:{port} → AWS")), "{stdout}");
    let env = proxy_env(&sandbox, &["--region", "eu-west-1"]);
    let var = |name: &str| env.iter().find(|(k, _)| k == name).unwrap().1.clone();
    assert_eq!(
        var("ANTHROPIC_BEDROCK_BASE_URL"),
        format!("http://127.0.0.1:{port}/region/eu-west-1")
    );
    // `exec --proxy` runs a command with the same variables.
    let (code, stdout, stderr) = run(&mut sandbox.helper(&[
        "exec",
        "--proxy",
        "--region",
        "eu-west-1",
        "--",
        "sh",
        "-c",
        "echo \"$AWS_DEFAULT_REGION $AWS_ENDPOINT_URL_BEDROCK_RUNTIME\"",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("eu-west-1 https://127.0.0.1:{port}/region/eu-west-1\n"));
    // A flag wins over the config file.
    daemon.stop();
    let other = free_port();
    let (_daemon, stdout) =
        Detached::start(&sandbox, &["--proxy", &format!("127.0.0.1:{other}")], |_| {});
    assert!(stdout.contains(&format!("proxy: 127.0.0.1:{other}")), "{stdout}");
}

/// The proxy's key file, under the sandbox's state directory.
/// SIGHUP reloads the slots, not the proxy: changed or broken `[proxy]` settings leave it as
/// it started, and the log says a restart applies them.
#[test]
fn sighup_keeps_the_proxy_as_it_started_and_says_a_restart_applies_new_settings() {
    use std::time::{Duration, Instant};
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let port = free_port();
    let config = sandbox.home().join(".config/bedprov/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let listen_on = |port: u16| format!("[proxy]\nlisten = \"127.0.0.1:{port}\"\n");
    std::fs::write(&config, listen_on(port)).unwrap();
    let daemon = sandbox.daemon();
    let reloads = std::cell::Cell::new(0);
    // Sends SIGHUP and returns what the daemon logged for it.
    let hangup = || {
        let before = std::fs::read_to_string(sandbox.log_path()).unwrap().len();
        reloads.set(reloads.get() + 1);
        daemon.signal("HUP");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
            if log.matches("config reloaded").count() == reloads.get() {
                // The proxy's verdict follows the reload's line.
                std::thread::sleep(Duration::from_millis(100));
                return std::fs::read_to_string(sandbox.log_path()).unwrap()[before..].to_owned();
            }
            assert!(Instant::now() < deadline, "no reload logged:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let unchanged = hangup();
    assert!(!unchanged.contains("[proxy]"), "{unchanged}");

    std::fs::write(&config, listen_on(free_port())).unwrap();
    let changed = hangup();
    assert!(changed.contains("the config file's [proxy] settings changed"), "{changed}");
    assert!(changed.contains("bedprov daemon stop && bedprov daemon start"), "{changed}");
    assert_eq!(proxy_address(&daemon), format!("127.0.0.1:{port}"));

    std::fs::write(&config, "[proxy]\nlisten = \"0.0.0.0:8239\"\n").unwrap();
    let invalid = hangup();
    assert!(invalid.contains("the config file's [proxy] settings are invalid"), "{invalid}");
    assert!(invalid.contains("loopback"), "{invalid}");
    assert_eq!(proxy_address(&daemon), format!("127.0.0.1:{port}"));
}

fn key_file(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox.home().join(".local/state/bedprov/proxy/key")
}

#[test]
fn a_client_made_once_outlives_three_token_generations_and_a_daemon_restart() {
    use std::os::unix::fs::MetadataExt as _;
    let sandbox = Sandbox::new();
    // Credentials that expire five minutes after each `credential_process` run, a new access
    // key each time; the daemon, the stand-in and the credential process share one faked
    // wall clock, which the test moves.
    let creds = common::ControlledCreds::install(&sandbox, "short", 300);
    let clock = common::FakeClock::new(&sandbox);
    let clock_vars = clock.vars();
    let clock_env: Vec<(&str, &str)> = clock_vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let standin = BedrockStandin::start_with_env(
        sandbox.dir.path(),
        "bedrock",
        &json!({ "*": { "secret": EXAMPLE_SECRET } }),
        &[],
        &clock_env,
    );
    let address = format!("127.0.0.1:{}", free_port());
    let upstream = upstream(&standin);
    let start_args = ["--proxy", address.as_str(), "--proxy-upstream", upstream.as_str()];
    let (daemon, _) = Detached::start(&sandbox, &start_args, |command| clock.apply(command));
    let env = proxy_env(&sandbox, &["--profile", "short"]);
    let key = env.iter().find(|(k, _)| k == "AWS_BEARER_TOKEN_BEDROCK").unwrap().1.clone();
    let metadata = std::fs::metadata(key_file(&sandbox)).unwrap();
    assert_eq!(metadata.mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(key_file(&sandbox)).unwrap().trim(), key);

    // The app's clients read the environment once, now.
    let mut app = BedrockApp::start(&sandbox, &env);
    let mut generations = Vec::new();
    for step in 0..4 {
        // Each step is past the end of the last token (five minutes): it would be refused.
        clock.set_offset(step * 400);
        std::thread::sleep(std::time::Duration::from_millis(100));
        for op in ["converse", "anthropic-create", "converse-stream", "anthropic-stream"] {
            assert_eq!(
                ok(&app.call(op))["text"],
                "stand-in reply to: hello",
                "{op} at step {step}"
            );
        }
        let requests = standin.requests();
        let last: Vec<&Value> = requests.iter().rev().take(4).collect();
        assert!(last.iter().all(|r| r["verdict"] == "ok"), "{last:?}");
        let key_id = last[0]["key_id"].as_str().unwrap().to_owned();
        assert!(last.iter().all(|r| r["key_id"] == key_id.as_str()));
        assert!(last.iter().all(|r| r["region"] == "us-west-2"));
        generations.push(key_id);
    }
    generations.dedup();
    assert_eq!(generations.len(), 4, "a new token (and credentials) per step: {generations:?}");
    assert_eq!(creds.calls(), 4, "one credential_process run per generation");

    // `bedprov daemon stop; bedprov daemon start`: the same key, the same address, the app
    // goes on without knowing.
    daemon.stop();
    let refused = app.call("converse");
    assert_eq!(refused["ok"], false, "nothing listens while the daemon is down: {refused}");
    let (_daemon, _) = Detached::start(&sandbox, &start_args, |command| clock.apply(command));
    assert_eq!(std::fs::read_to_string(key_file(&sandbox)).unwrap().trim(), key);
    for op in ["converse", "anthropic-create", "invoke-stream"] {
        assert_eq!(ok(&app.call(op))["text"], "stand-in reply to: hello", "{op} after a restart");
    }
    assert_eq!(standin.requests().last().unwrap()["verdict"], "ok");
}

/// Sends one raw HTTP/1.1 request to `address` (`Connection: close` and `Content-Length`
/// added) and reads the whole answer; as `uid` when given (needs root).
fn raw_as(
    uid: Option<u32>,
    address: &str,
    request_line: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    use std::fmt::Write as _;
    use std::io::{Read as _, Write as _};
    let mut request = format!("{request_line}\r\n");
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    let _ = write!(request, "Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    let answer = match uid {
        None => {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
            stream.write_all(&bytes).unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            answer
        }
        Some(uid) => {
            let (host, port) = address.rsplit_once(':').unwrap();
            let script = format!(
                "import encodings.idna, os, socket, sys\nos.setgroups([]); os.setgid({uid}); os.setuid({uid})\n\
                 s = socket.create_connection(({host:?}, {port}))\ns.sendall(sys.stdin.buffer.read())\n\
                 out = b''\nwhile True:\n    b = s.recv(65536)\n    if not b: break\n    out += b\n\
                 sys.stdout.buffer.write(out)\n"
            );
            let mut child = std::process::Command::new(common::python())
                .args(["-c", &script])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(&bytes).unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "the client as uid {uid} failed");
            output.stdout
        }
    };
    RawResponse::parse(&answer)
}

fn raw(address: &str, request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
    raw_as(None, address, request_line, headers, body)
}

/// A stand-in, a daemon whose proxy sends to it, the proxy's address and its local key.
fn proxied(sandbox: &Sandbox) -> (BedrockStandin, common::Daemon, String, String) {
    proxied_with(sandbox, &[])
}

/// [`proxied`], the stand-in started with `standin_args`.
fn proxied_with(
    sandbox: &Sandbox,
    standin_args: &[&str],
) -> (BedrockStandin, common::Daemon, String, String) {
    sandbox.static_default_profile();
    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), standin_args);
    let daemon = proxied_daemon(sandbox, &standin);
    let listen = proxy_address(&daemon);
    let env = proxy_env(sandbox, &[]);
    let key = env.iter().find(|(k, _)| k == "AWS_BEARER_TOKEN_BEDROCK").unwrap().1.clone();
    (standin, daemon, listen, key)
}

const CONVERSE_BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"x"}]}]}"#;

/// A request the proxy must refuse, and how.
struct Refused<'a> {
    what: &'a str,
    line: String,
    headers: Vec<(&'a str, &'a str)>,
    status: u16,
    kind: &'a str,
    says: &'a str,
}

/// Every request the proxy refuses before anything reaches the upstream, and how.
#[rustfmt::skip]
fn refusals<'a>(listen: &'a str, key: &'a str, bedrock_key: &'a str) -> Vec<Refused<'a>> {
    let bearer: &'a str = Box::leak(format!("Bearer {key}").into_boxed_str());
    let other_key: &'a str = Box::leak(format!("Bearer bedprov-local-{}", "0".repeat(64)).into_boxed_str());
    let evil_host: &'a str = Box::leak(format!("evil.example:{}", listen.rsplit_once(':').unwrap().1).into_boxed_str());
    let converse = format!("POST /model/{MODEL}/converse HTTP/1.1");
    let with_key = |extra: &[(&'a str, &'a str)]| [&[("Host", listen), ("Authorization", bearer)], extra].concat();
    let case = |what, line: String, headers, status, kind, says| Refused { what, line, headers, status, kind, says };
    let (denied, invalid, unknown) = ("AccessDeniedException", "ValidationException", "UnknownOperationException");
    vec![
        case("no key", converse.clone(), vec![("Host", listen)], 403, denied, "carries no bearer token"),
        case("wrong key", converse.clone(), vec![("Host", listen), ("Authorization", other_key)], 403, denied, "not this proxy's local key"),
        case("a real Bedrock key", converse.clone(), vec![("Host", listen), ("Authorization", bedrock_key)], 403, denied, "never a Bedrock API key"),
        case("the key without Bearer", converse.clone(), vec![("Host", listen), ("Authorization", key)], 403, denied, "not this proxy's local key"),
        case("DNS rebinding", converse.clone(), vec![("Host", evil_host), ("Authorization", bearer)], 403, denied, "Host header must name this proxy"),
        case("a web page", converse.clone(), with_key(&[("Origin", "https://evil.example")]), 403, denied, "web browsers"),
        case("a fetch", converse.clone(), with_key(&[("Sec-Fetch-Site", "cross-site")]), 403, denied, "web browsers"),
        case("absolute-form", format!("POST http://{listen}/model/{MODEL}/converse HTTP/1.1"), with_key(&[]), 400, invalid, "origin-form"),
        case("CONNECT", "CONNECT bedrock-runtime.us-east-1.amazonaws.com:443 HTTP/1.1".into(), vec![("Host", "bedrock-runtime.us-east-1.amazonaws.com:443"), ("Authorization", bearer)], 405, invalid, "not a forward proxy"),
        case("an unknown operation", format!("POST /model/{MODEL}/delete HTTP/1.1"), with_key(&[]), 404, unknown, "not a Bedrock operation"),
        case("the socket API", "GET /v1/token HTTP/1.1".into(), with_key(&[]), 404, unknown, "not a Bedrock operation"),
        case("a control-plane write", "POST /guardrails HTTP/1.1".into(), with_key(&[]), 404, unknown, "not a Bedrock operation"),
        case("the wrong method", format!("GET /model/{MODEL}/converse HTTP/1.1"), with_key(&[]), 405, invalid, "takes POST"),
        case("a dot-dot segment", "POST /model/%2e%2e/converse HTTP/1.1".into(), with_key(&[]), 400, invalid, "`.` or `..`"),
        case("a query on a runtime operation", format!("POST /model/{MODEL}/converse?x=1 HTTP/1.1"), with_key(&[]), 400, invalid, "take no query"),
    ]
}

#[test]
fn every_refusal_is_a_real_answer_and_nothing_reaches_the_upstream() {
    let sandbox = Sandbox::new();
    let (standin, daemon, listen, key) = proxied(&sandbox);
    let bearer = format!("Bearer {key}");
    let (code, bedrock_key, stderr) =
        run(&mut sandbox.bedprov(&["token", "--format", "raw", "--region", "us-east-1"]));
    assert_eq!(code, 0, "{stderr}");
    let bedrock_key = format!("Bearer {}", bedrock_key.trim());
    let converse = format!("POST /model/{MODEL}/converse HTTP/1.1");
    let host = listen.as_str();

    // The good request, for contrast: answered, and it reached the upstream.
    let good =
        raw(&listen, &converse, &[("Host", host), ("Authorization", &bearer)], CONVERSE_BODY);
    assert_eq!(good.status, 200, "{:?}", String::from_utf8_lossy(&good.body));
    assert_eq!(standin.requests().len(), 1);

    let cases = refusals(&listen, &key, &bedrock_key);
    for Refused { what, line, headers, status, kind, says } in &cases {
        let answer = raw(&listen, line, headers, CONVERSE_BODY);
        assert_eq!(answer.status, *status, "{what}: {:?}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.header("x-amzn-errortype"), Some(*kind), "{what}");
        let message = answer.json()["message"].as_str().unwrap().to_owned();
        assert!(
            message.starts_with("bedprov proxy: ") && message.contains(says),
            "{what}: {message}"
        );
        assert!(!message.contains(&key), "{what}: the key is never echoed");
        assert!(answer.header("access-control-allow-origin").is_none(), "{what}: no CORS");
        assert_eq!(standin.requests().len(), 1, "{what}: nothing reached the upstream");
    }
    let errors = &status(&daemon)["proxy"]["errors"];
    assert_eq!(errors["unauthorized"], 4, "{errors}");
    assert!(errors["refused"].as_u64().unwrap() >= 5, "{errors}");
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert!(!log.contains(&key) && !log.contains(&bedrock_key[7..]));
}

#[test]
fn another_user_is_refused_even_with_the_key() {
    if !common::is_root() {
        eprintln!("skipped: switching to another uid needs root");
        return;
    }
    let sandbox = Sandbox::new();
    let (standin, daemon, listen, key) = proxied(&sandbox);
    let converse = format!("POST /model/{MODEL}/converse HTTP/1.1");
    let bearer = format!("Bearer {key}");
    let headers = [("Host", listen.as_str()), ("Authorization", bearer.as_str())];
    let answer = raw_as(Some(65534), &listen, &converse, &headers, CONVERSE_BODY);
    assert_eq!(answer.status, 403);
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("not uid 65534"), "{message}");
    assert!(standin.requests().is_empty(), "nothing reached the upstream");
    assert_eq!(status(&daemon)["proxy"]["errors"]["foreign_user"], 1);
    // Many such connections make one warning in the log, not one each.
    for _ in 0..3 {
        assert_eq!(raw_as(Some(65534), &listen, &converse, &headers, CONVERSE_BODY).status, 403);
    }
    assert_eq!(status(&daemon)["proxy"]["errors"]["foreign_user"], 4);
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert_eq!(log.matches("refusing a proxy connection from another user").count(), 1, "{log}");
    // The same request from our own uid goes through.
    assert_eq!(raw(&listen, &converse, &headers, CONVERSE_BODY).status, 200);
}

#[test]
fn sdks_show_the_proxys_refusal_as_they_show_bedrocks() {
    let sandbox = Sandbox::new();
    let (standin, _daemon, _listen, _key) = proxied(&sandbox);
    let env: Vec<(String, String)> = proxy_env(&sandbox, &[])
        .into_iter()
        .map(|(k, v)| {
            let v = if k == "AWS_BEARER_TOKEN_BEDROCK" {
                format!("bedprov-local-{}", "0".repeat(64))
            } else {
                v
            };
            (k, v)
        })
        .collect();
    let answers = run_clients(&sandbox, &env, &["converse", "anthropic-stream"]);
    assert_eq!(answers[0]["code"], "AccessDeniedException", "{}", answers[0]);
    assert!(answers[0]["shown"].as_str().unwrap().starts_with(
        "botocore.errorfactory.AccessDeniedException: An error occurred (AccessDeniedException) when calling the Converse operation: bedprov proxy: "
    ));
    assert!(answers[0]["message"].as_str().unwrap().contains("not this proxy's local key"));
    assert_eq!(answers[1]["code"], 403, "{}", answers[1]);
    assert_eq!(answers[1]["error"], "PermissionDeniedError");
    assert!(standin.requests().is_empty(), "nothing reached the upstream");
}

#[test]
fn a_new_key_refuses_the_old_one_at_once() {
    use std::os::unix::fs::MetadataExt as _;
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), &[]);
    let _daemon = proxied_daemon(&sandbox, &standin);
    let old = proxy_env(&sandbox, &[]);
    let mut app = BedrockApp::start(&sandbox, &old);
    ok(&app.call("converse"));
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["proxy", "new-key"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("made a new local key"), "{stdout}");
    let refused = app.call("converse");
    assert_eq!(refused["code"], "AccessDeniedException", "{refused}");
    assert_eq!(standin.requests().len(), 1, "the old key reached nothing");
    let new = proxy_env(&sandbox, &[]);
    assert_ne!(new, old);
    ok(&run_clients(&sandbox, &new, &["converse"])[0]);
    assert_eq!(std::fs::metadata(key_file(&sandbox)).unwrap().mode() & 0o777, 0o600);
}

#[test]
fn each_profile_and_region_is_served_from_its_own_slot() {
    let sandbox = Sandbox::new();
    let other_key = "AKIAI44QH8DHBEXAMPLE";
    sandbox.write_credentials(&format!(
        "[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n\
         [other]\naws_access_key_id = {other_key}\naws_secret_access_key = {EXAMPLE_SECRET}\n"
    ));
    sandbox.write_config("[profile other]\nregion = ap-southeast-2\n");
    let standin = BedrockStandin::start(
        sandbox.dir.path(),
        "bedrock",
        &json!({ EXAMPLE_KEY_ID: { "secret": EXAMPLE_SECRET }, other_key: { "secret": EXAMPLE_SECRET } }),
        &[],
    );
    let daemon = proxied_daemon(&sandbox, &standin);
    let listen = proxy_address(&daemon);
    for (args, key_id, region, prefix) in [
        (&[][..], EXAMPLE_KEY_ID, "us-east-1", "/region/us-east-1".to_owned()),
        (&["--region", "eu-west-1"], EXAMPLE_KEY_ID, "eu-west-1", "/region/eu-west-1".to_owned()),
        (
            &["--profile", "other"],
            other_key,
            "ap-southeast-2",
            "/profile/other/region/ap-southeast-2".to_owned(),
        ),
        (
            &["--profile", "other", "--region", "us-west-2"],
            other_key,
            "us-west-2",
            "/profile/other/region/us-west-2".to_owned(),
        ),
    ] {
        let env = proxy_env(&sandbox, args);
        let var = |name: &str| env.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(
            var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
            format!("https://{listen}{prefix}"),
            "{args:?}"
        );
        assert_eq!(var("AWS_DEFAULT_REGION"), region);
        let answers =
            run_clients(&sandbox, &env, &["converse", "anthropic-stream", "list-profiles"]);
        for answer in &answers {
            ok(answer);
        }
        for request in standin.requests().iter().rev().take(3) {
            assert_eq!(request["verdict"], "ok", "{args:?}: {request}");
            assert_eq!(request["key_id"], key_id, "{args:?}");
            assert_eq!(request["region"], region, "{args:?}");
        }
    }
    // The shell's AWS_PROFILE and AWS_REGION choose as the flags do.
    let env = {
        let output = sandbox
            .command("sh")
            .args(["-c", r#"eval "$("$HELPER" env --proxy)" && echo "$AWS_ENDPOINT_URL_BEDROCK""#])
            .env("HELPER", helper_bin())
            .env("BEDPROV_NO_AUTOSTART", "1")
            .env("AWS_PROFILE", "other")
            .env("AWS_REGION", "ca-central-1")
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(env.trim(), format!("https://{listen}/profile/other/region/ca-central-1"));
    let slots: Vec<(Value, Value)> = status(&daemon)["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["profile"].clone(), s["region"].clone()))
        .collect();
    assert_eq!(slots.len(), 5, "one slot per profile and region: {slots:?}");
    // A profile the daemon does not know is refused in the Bedrock shape, forwarded nowhere.
    let before = standin.requests().len();
    let key = proxy_env(&sandbox, &[])
        .into_iter()
        .find(|(k, _)| k == "AWS_BEARER_TOKEN_BEDROCK")
        .unwrap()
        .1;
    let answer = raw(
        &listen,
        &format!("POST /profile/nobody/region/us-east-1/model/{MODEL}/converse HTTP/1.1"),
        &[("Host", &listen), ("Authorization", &format!("Bearer {key}"))],
        b"{}",
    );
    assert_eq!(answer.status, 400, "{:?}", String::from_utf8_lossy(&answer.body));
    assert!(answer.json()["message"].as_str().unwrap().contains("nobody"), "{:?}", answer.json());
    assert_eq!(standin.requests().len(), before);
}

#[test]
fn no_token_is_told_in_bedrocks_error_shape_with_the_fix_and_nothing_is_forwarded() {
    let sandbox = Sandbox::new();
    sandbox.write_config(
        "[profile legacy]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-east-1\n",
    );
    let creds = common::ControlledCreds::install(&sandbox, "flaky", 3600);
    let clock = common::FakeClock::new(&sandbox);
    let standin = BedrockStandin::start(
        sandbox.dir.path(),
        "bedrock",
        &json!({ "*": { "secret": EXAMPLE_SECRET } }),
        &[],
    );
    let upstream = upstream(&standin);
    let _daemon = sandbox.daemon_with(|command| {
        clock.apply(command);
        command.args(["--proxy", "127.0.0.1:0", "--proxy-upstream", &upstream]);
    });
    // Never logged in to SSO: the login command, as boto3 and the Anthropic SDK show it.
    let env = proxy_env(&sandbox, &["--profile", "legacy"]);
    let answers = run_clients(&sandbox, &env, &["converse", "anthropic-create", "converse-stream"]);
    for answer in &answers {
        assert_eq!(answer["ok"], false, "{answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains("bedprov proxy: no Bedrock token"), "{message}");
        assert!(message.contains("run `aws sso login --profile legacy`"), "{message}");
    }
    assert_eq!(answers[0]["code"], "ExpiredTokenException");
    assert_eq!(answers[1]["code"], 403);
    assert!(standin.requests().is_empty(), "nothing reached the upstream");

    // Credentials that stop coming: the old token is used while it has more than the safety
    // margin left, and never below it.
    let env = proxy_env(&sandbox, &["--profile", "flaky"]);
    let mut app = BedrockApp::start(&sandbox, &env);
    ok(&app.call("converse"));
    creds.set_mode("fail");
    clock.set_offset(31 * 60);
    std::thread::sleep(std::time::Duration::from_millis(100));
    ok(&app.call("converse"));
    assert_eq!(standin.requests().len(), 2);
    assert_eq!(standin.requests()[0]["token"]["sha256"], standin.requests()[1]["token"]["sha256"]);
    clock.set_offset(51 * 60);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let refused = app.call("converse");
    assert_eq!(refused["code"], "AccessDeniedException", "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("bedprov proxy: no Bedrock token"), "{message}");
    assert!(
        !message.contains("credential source offline"),
        "no credential_process stderr: {message}"
    );
    assert_eq!(standin.requests().len(), 2, "no token below the margin was forwarded");
}

#[test]
fn a_token_the_upstream_refuses_is_refreshed_and_the_request_sent_once_more() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let clock = common::FakeClock::new(&sandbox);
    let clock_vars = clock.vars();
    let clock_env: Vec<(&str, &str)> = clock_vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let standin = BedrockStandin::start_with_env(
        sandbox.dir.path(),
        "bedrock",
        &trusting_example_key(),
        &[],
        &clock_env,
    );
    let upstream = upstream(&standin);
    let daemon = sandbox.daemon_with(|command| {
        clock.apply(command);
        command.args(["--proxy", "127.0.0.1:0", "--proxy-upstream", &upstream]);
    });
    let env = proxy_env(&sandbox, &[]);
    let mut app = BedrockApp::start(&sandbox, &env);
    ok(&app.call("converse"));
    // Two minutes on, AWS stops honouring tokens signed before a minute ago (the signing
    // key was rotated, say): the daemon's token is still within its own lifetime.
    let revoke = |offset: i64| {
        let mut trust = trusting_example_key();
        trust[EXAMPLE_KEY_ID]["revoked_before"] = json!(rfc3339(common::now_epoch() + offset));
        standin.set_trust(&trust);
    };
    clock.set_offset(120);
    revoke(60);
    for op in ["converse", "anthropic-stream"] {
        ok(&app.call(op));
        revoke(120 + 1);
        clock.set_offset(240);
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let verdicts: Vec<Value> = standin.requests().iter().map(|r| r["verdict"].clone()).collect();
    assert_eq!(verdicts, ["ok", "revoked", "ok", "revoked", "ok"]);
    let proxy = &status(&daemon)["proxy"];
    assert_eq!(proxy["errors"]["retried_after_refresh"], 2, "{proxy}");

    // A body too big to keep (over 1 MiB) is not sent again: the refusal reaches the client.
    revoke(240 + 1);
    clock.set_offset(360);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let big = json!({"op": "converse", "prompt": "x".repeat(1_100_000)}).to_string();
    let refused = app.call(&big);
    assert_eq!(
        refused["code"],
        "AccessDeniedException",
        "{}",
        &refused.to_string()[..200.min(refused.to_string().len())]
    );
    assert_eq!(standin.requests().last().unwrap()["verdict"], "revoked");
    assert_eq!(standin.requests().len(), 6);
}

fn rfc3339(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn streams_pass_frame_by_frame_and_a_client_that_hangs_up_cancels_the_upstream() {
    use std::io::{Read as _, Write as _};
    use std::time::{Duration, Instant};
    let sandbox = Sandbox::new();
    let (standin, daemon, listen, key) =
        proxied_with(&sandbox, &["--forever", "--frame-delay-ms", "10"]);
    let env = proxy_env(&sandbox, &[]);

    // Four deltas 300 ms apart: the client sees the first ones long before the last, as the
    // upstream sends them (a proxy that buffered would deliver them all at once).
    let mut stream = std::net::TcpStream::connect(&listen).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = br#"{"messages":[{"role":"user","content":[{"text":"count"}]}]}"#;
    write!(
        stream,
        "POST /model/{MODEL}/converse-stream HTTP/1.1\r\nHost: {listen}\r\nAuthorization: Bearer {key}\r\n\
         x-standin-forever: 0\r\nx-standin-frames: 4\r\nx-standin-frame-delay-ms: 300\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut arrivals = Vec::new();
    let mut answer = Vec::new();
    let mut buffer = vec![0u8; 65536];
    loop {
        let n = stream.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        arrivals.push(Instant::now());
        answer.extend_from_slice(&buffer[..n]);
    }
    let answer = RawResponse::parse(&answer);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/vnd.amazon.eventstream"));
    let frames = common::bedrock::event_frames(&answer.body);
    assert_eq!(frames.len(), 8, "messageStart, 4 deltas, contentBlockStop, messageStop, metadata");
    let spread = *arrivals.last().unwrap() - arrivals[0];
    assert!(spread >= Duration::from_millis(800), "the frames came together, {spread:?} apart");
    assert!(arrivals.len() >= 4, "{} reads", arrivals.len());

    // Clients that stop reading a stream that never ends (boto3 ConverseStream and
    // InvokeModelWithResponseStream, the Anthropic SDK) and close it: the upstream request
    // ends too.
    let answers = run_clients(
        &sandbox,
        &env,
        &[
            r#"{"op": "converse-stream", "take": 3}"#,
            r#"{"op": "invoke-stream", "take": 3}"#,
            r#"{"op": "anthropic-stream", "take": 3}"#,
        ],
    );
    for answer in &answers {
        assert_eq!(ok(answer)["text"], "...");
    }
    let requests = standin.requests();
    assert_eq!(requests.len(), 4);
    for request in &requests[1..] {
        let end = standin.stream_end(&request["id"]);
        assert_eq!(end["hung_up"], true, "{end}");
        assert!(end["frames"].as_u64().unwrap() < 1000, "{end}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let proxy = status(&daemon)["proxy"].clone();
        if proxy["open_streams"] == 0 {
            assert!(proxy["errors"]["client_gone"].as_u64().unwrap() >= 3, "{proxy}");
            break;
        }
        assert!(Instant::now() < deadline, "streams still open: {proxy}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = text.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_client_that_stops_reading_holds_the_upstream_back_instead_of_the_proxys_memory() {
    use std::io::{Read as _, Write as _};
    use std::time::Duration;
    let sandbox = Sandbox::new();
    let (standin, daemon, listen, key) =
        proxied_with(&sandbox, &["--forever", "--frame-delay-ms", "0"]);
    let mut stream = std::net::TcpStream::connect(&listen).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = CONVERSE_BODY;
    write!(
        stream,
        "POST /model/{MODEL}/converse-stream HTTP/1.1\r\nHost: {listen}\r\nAuthorization: Bearer {key}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut head = [0u8; 1024];
    let n = stream.read(&mut head).unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"));
    // The client reads nothing more; the upstream goes on producing as fast as it can. Once
    // the socket buffers are full, everything waits: the daemon's memory stays put.
    std::thread::sleep(Duration::from_secs(2));
    let settled = rss_kib(daemon.pid());
    std::thread::sleep(Duration::from_secs(3));
    let later = rss_kib(daemon.pid());
    assert!(later < settled + 4096, "the daemon grew from {settled} KiB to {later} KiB");
    assert_eq!(status(&daemon)["proxy"]["open_streams"], 1);
    drop(stream);
    let end = standin.stream_end(&standin.requests()[0]["id"]);
    assert_eq!(end["hung_up"], true, "{end}");
}

#[test]
fn credentials_and_hop_by_hop_headers_stay_behind_and_everything_else_passes_both_ways() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), &[]);
    let daemon = proxied_daemon(&sandbox, &standin);
    let listen = proxy_address(&daemon);
    let key = proxy_env(&sandbox, &[])
        .into_iter()
        .find(|(k, _)| k == "AWS_BEARER_TOKEN_BEDROCK")
        .unwrap()
        .1;
    let bearer = format!("Bearer {key}");
    // A model id percent-encoded oddly (lower-case escapes, an escaped dot) stays as it came.
    let odd = "/model/us%2eanthropic.claude-sonnet-4-5-20250929-v1%3a0/converse";
    let answer = raw(
        &listen,
        &format!("POST {odd} HTTP/1.1"),
        &[
            ("Host", &listen),
            ("Authorization", &bearer),
            ("X-Amz-Date", "20260101T000000Z"),
            ("X-Amz-Security-Token", "client-session-token"),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
            ("Proxy-Authorization", "Basic eA=="),
            ("Connection", "X-Private"),
            ("X-Private", "for this hop only"),
            ("Content-Type", "application/json"),
            ("X-Amzn-Bedrock-Trace", "ENABLED"),
            ("Amz-Sdk-Invocation-Id", "3f1c"),
            ("User-Agent", "my-app/1.0"),
        ],
        br#"{"messages":[{"role":"user","content":[{"text":"headers"}]}]}"#,
    );
    assert_eq!(answer.status, 200, "{:?}", String::from_utf8_lossy(&answer.body));
    assert_eq!(
        answer.json()["output"]["message"]["content"][0]["text"],
        "stand-in reply to: headers"
    );
    assert!(
        answer.header("x-amzn-requestid").is_some_and(|id| id.len() == 36),
        "{:?}",
        answer.headers
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));

    let request = &standin.requests()[0];
    assert_eq!(request["verdict"], "ok", "signed with the daemon's token: {request}");
    assert_eq!(request["path"], format!("/us-east-1{odd}"));
    let headers: BTreeMap<String, String> = request["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().to_ascii_lowercase(), h[1].as_str().unwrap().to_owned()))
        .collect();
    for gone in [
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
        "proxy-authorization",
        "x-private",
    ] {
        assert!(!headers.contains_key(gone), "{gone} reached the upstream: {headers:?}");
    }
    assert_eq!(headers["host"], format!("127.0.0.1:{}", standin.port));
    assert_eq!(headers["x-amzn-bedrock-trace"], "ENABLED");
    assert_eq!(headers["amz-sdk-invocation-id"], "3f1c");
    assert_eq!(headers["user-agent"], "my-app/1.0");
    assert_eq!(headers["content-type"], "application/json");
    assert!(!headers["authorization"].contains(&key), "the local key never leaves: {headers:?}");
}

#[test]
fn setup_claude_code_merges_backs_up_changes_nothing_twice_and_undoes_exactly() {
    use std::os::unix::fs::MetadataExt as _;
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), &[]);
    let daemon = proxied_daemon(&sandbox, &standin);
    let listen = proxy_address(&daemon);
    let settings = sandbox.home().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let original = "{\n  \"model\": \"opus\",\n  \"env\": {\"AWS_REGION\": \"eu-west-1\", \"MY_VAR\": \"x\"},\n  \"permissions\": {\"allow\": [\"Bash(ls)\"]}\n}\n";
    std::fs::write(&settings, original).unwrap();
    let setup = |args: &[&str]| {
        let (code, stdout, stderr) =
            run(&mut sandbox.bedprov(&[&["setup", "claude-code"], args].concat()));
        assert_eq!(code, 0, "{args:?}: {stderr}");
        stdout
    };

    let shown = setup(&["--dry-run", "--region", "us-west-2"]);
    assert!(shown.contains("  + CLAUDE_CODE_USE_BEDROCK = 1\n"), "{shown}");
    assert!(shown.contains("  ~ AWS_REGION = us-west-2 (was eu-west-1)\n"), "{shown}");
    let base_url = format!("http://{listen}/region/us-west-2");
    assert!(shown.contains(&format!("  + ANTHROPIC_BEDROCK_BASE_URL = {base_url}\n")), "{shown}");
    assert!(
        shown.contains("  + AWS_BEARER_TOKEN_BEDROCK = bedprov-local-… (the proxy's local key)\n"),
        "{shown}"
    );
    assert!(shown.contains("dry run: nothing written"), "{shown}");
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), original);

    let shown = setup(&["--region", "us-west-2"]);
    assert!(shown.contains("wrote "), "{shown}");
    assert!(shown.contains(&format!("bedprov service install --proxy={listen} --now")), "{shown}");
    let key = std::fs::read_to_string(key_file(&sandbox)).unwrap().trim().to_owned();
    assert!(!shown.contains(&key), "the key is never shown");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(
        written,
        json!({
            "model": "opus",
            "env": {
                "AWS_REGION": "us-west-2",
                "MY_VAR": "x",
                "CLAUDE_CODE_USE_BEDROCK": "1",
                "ANTHROPIC_BEDROCK_BASE_URL": base_url,
                "AWS_BEARER_TOKEN_BEDROCK": key,
            },
            "permissions": {"allow": ["Bash(ls)"]}
        })
    );
    assert_eq!(std::fs::metadata(&settings).unwrap().mode() & 0o777, 0o600);
    let backup = sandbox.home().join(".claude/settings.json.bedprov-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
    assert_eq!(std::fs::metadata(&backup).unwrap().mode() & 0o777, 0o600);

    // What Claude Code reads from that block is enough for the Anthropic SDK it is built on.
    let env: Vec<(String, String)> = written["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .chain([("AWS_DEFAULT_REGION".to_owned(), "us-west-2".to_owned())]) // for the script's idle boto3 clients
        .collect();
    let answers = run_clients(&sandbox, &env, &["anthropic-create", "anthropic-stream"]);
    assert_eq!(ok(&answers[0])["text"], "stand-in reply to: hello");
    assert_eq!(ok(&answers[1])["text"], "stand-in reply to: hello");
    assert!(standin.requests().iter().all(|r| r["verdict"] == "ok" && r["region"] == "us-west-2"));

    // A second run changes nothing, not even the file's time.
    let before = std::fs::metadata(&settings).unwrap().mtime_nsec();
    let shown = setup(&["--region", "us-west-2"]);
    assert!(shown.contains("already set up: nothing to change"), "{shown}");
    assert_eq!(std::fs::metadata(&settings).unwrap().mtime_nsec(), before);

    // Undo takes out exactly what setup put in, and brings back the region it replaced.
    let shown = setup(&["--undo"]);
    assert!(shown.contains("  ~ AWS_REGION = eu-west-1 (was us-west-2)\n"), "{shown}");
    assert!(shown.contains("  - CLAUDE_CODE_USE_BEDROCK (was 1)\n"), "{shown}");
    let undone: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(undone, serde_json::from_str::<Value>(original).unwrap());
    let shown = setup(&["--undo"]);
    assert!(shown.contains("nothing to undo"), "{shown}");

    // Without the proxy, setup says how to get it and writes nothing.
    drop(daemon);
    let _plain = sandbox.daemon();
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["setup", "claude-code"]));
    assert_ne!(code, 0);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("without its local Bedrock proxy") && stderr.contains("--proxy"),
        "{stderr}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&std::fs::read_to_string(&settings).unwrap()).unwrap(),
        undone
    );
}

#[test]
fn an_https_upstream_is_verified_with_the_platforms_roots_and_aws_ca_bundle() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), &[]);
    let upstream = format!("{}/{{region}}", standin.https_url());
    // Without the stand-in's CA, its certificate is not trusted: a 502 that says why, in
    // Bedrock's shape, and nothing was sent.
    {
        let _daemon = sandbox.daemon_with(|command| {
            command.args(["--proxy", "127.0.0.1:0", "--proxy-upstream", &upstream]);
        });
        let answers = run_clients(
            &sandbox,
            &[proxy_env(&sandbox, &[]), vec![("AWS_MAX_ATTEMPTS".into(), "1".into())]].concat(),
            &["converse"],
        );
        assert_eq!(answers[0]["code"], "ServiceUnavailableException", "{}", answers[0]);
        let message = answers[0]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("cannot reach https://127.0.0.1:{}", standin.port)),
            "{message}"
        );
        assert!(message.contains("AWS_CA_BUNDLE"), "{message}");
        assert!(standin.requests().is_empty());
    }
    // With AWS_CA_BUNDLE naming it, as behind a TLS-inspecting corporate proxy.
    let daemon = sandbox.daemon_with(|command| {
        command.env("AWS_CA_BUNDLE", &standin.ca).args([
            "--proxy",
            "127.0.0.1:0",
            "--proxy-upstream",
            &upstream,
        ]);
    });
    let answers =
        run_clients(&sandbox, &proxy_env(&sandbox, &[]), &["converse", "anthropic-stream"]);
    ok(&answers[0]);
    ok(&answers[1]);
    let requests = standin.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r["tls"] == true && r["verdict"] == "ok"), "{requests:?}");
    // A bundle that cannot be used stops the start, saying so.
    drop(daemon);
    let (code, _, stderr) = run(sandbox
        .bedprov(&["daemon", "run", "--proxy", "127.0.0.1:0"])
        .env("AWS_CA_BUNDLE", sandbox.dir.path().join("missing.pem")));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("AWS_CA_BUNDLE") && stderr.contains("cannot be read"), "{stderr}");
}

#[test]
fn an_ipv6_loopback_listener_serves_its_own_user() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let standin =
        BedrockStandin::start(sandbox.dir.path(), "bedrock", &trusting_example_key(), &[]);
    let upstream = upstream(&standin);
    let daemon = sandbox.daemon_with(|command| {
        command.args(["--proxy", "[::1]:0", "--proxy-upstream", &upstream]);
    });
    let listen = proxy_address(&daemon);
    assert!(listen.starts_with("[::1]:"), "{listen}");
    let env = proxy_env(&sandbox, &[]);
    let var = |name: &str| env.iter().find(|(k, _)| k == name).unwrap().1.clone();
    assert_eq!(var("ANTHROPIC_BEDROCK_BASE_URL"), format!("http://{listen}/region/us-east-1"));
    let answers = run_clients(&sandbox, &env, &["converse", "anthropic-stream"]);
    ok(&answers[0]);
    ok(&answers[1]);
    // The peer's uid is found in the IPv6 socket table too: another user is refused.
    if common::is_root() {
        let key = var("AWS_BEARER_TOKEN_BEDROCK");
        let bearer = format!("Bearer {key}");
        let headers = [("Host", listen.as_str()), ("Authorization", bearer.as_str())];
        let line = format!("POST /model/{MODEL}/converse HTTP/1.1");
        let host = listen.trim_start_matches('[').replace("]:", " ");
        let (ip, port) = host.split_once(' ').unwrap();
        let address = format!("{ip}:{port}");
        let answer = raw_as(Some(65534), &address, &line, &headers, CONVERSE_BODY);
        assert_eq!(answer.status, 403);
        assert!(answer.json()["message"].as_str().unwrap().contains("not uid 65534"));
    }
    assert_eq!(standin.requests().len(), 2);
}
