//! `bedprov request` as a real process: the dry-run plan in both formats, a real short-term
//! token minted through the same path as `bedprov token`, the refusal of long-term plans
//! without a confirmation, the questions on a real terminal (a pty from util-linux
//! `script`), exit codes, and hostile input.

mod common;

use common::{EXAMPLE_KEY_ID, Sandbox, epoch, json, run};
use std::io::Write as _;
use std::process::Stdio;

const USAGE: i32 = 2;
const NO_CREDENTIALS: i32 = 3;
const DECLINED: i32 = 10;

fn request(sandbox: &Sandbox, args: &[&str]) -> (i32, String, String) {
    run(&mut sandbox.bedprov(&[&["request"], args].concat()))
}

fn dry_json(sandbox: &Sandbox, text: &str) -> serde_json::Value {
    let (code, stdout, stderr) = request(sandbox, &[text, "--dry-run", "--format", "json"]);
    assert_eq!(code, 0, "{text}: {stderr}");
    assert!(stderr.is_empty(), "{text}: a dry run prints nothing on stderr: {stderr}");
    json(&stdout)
}

#[test]
fn dry_run_json_is_exactly_the_plan() {
    let sandbox = Sandbox::new();
    let rows: &[(&str, serde_json::Value)] = &[
        (
            "Bedrock key for Marketing Team, owner: jane@corp.com, in eu-west-1",
            serde_json::json!([
                "create_key",
                "long_term",
                "marketing-team",
                null,
                "jane@corp.com",
                "eu-west-1",
                "print"
            ]),
        ),
        (
            "Quick Bedrock access for 30 minutes",
            serde_json::json!(["generate_token", "short_term", null, 1800, null, null, null]),
        ),
        (
            "I need an API key for Bedrock",
            serde_json::json!(["generate_token", "short_term", null, 43200, null, null, null]),
        ),
        (
            "rotate the key for data-science",
            serde_json::json!(["rotate_key", "long_term", "data-science", null, null, null, null]),
        ),
        (
            "Refresh my Bedrock token, region: us-west-2",
            serde_json::json!([
                "generate_token",
                "short_term",
                null,
                43200,
                null,
                "us-west-2",
                null
            ]),
        ),
        (
            "Bedrock key for fleet in Secrets Manager",
            serde_json::json!([
                "create_key",
                "long_term",
                "fleet",
                null,
                null,
                null,
                "secretsmanager"
            ]),
        ),
        (
            "rotate the key for fleet in the keyring",
            serde_json::json!(["rotate_key", "long_term", "fleet", null, null, null, "keyring"]),
        ),
    ];
    for (text, expected) in rows {
        let plan = dry_json(&sandbox, text);
        let keys: Vec<&str> = plan.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = [
            "action",
            "key_type",
            "business_unit",
            "ttl_seconds",
            "owner",
            "region",
            "store",
            "notes",
        ];
        want.sort_unstable();
        assert_eq!(keys, want, "{text}");
        let fields =
            ["action", "key_type", "business_unit", "ttl_seconds", "owner", "region", "store"];
        let got: Vec<serde_json::Value> = fields.iter().map(|f| plan[f].clone()).collect();
        assert_eq!(serde_json::Value::from(got), *expected, "{text}");
        let notes = plan["notes"].as_array().unwrap();
        assert!(!notes.is_empty() && notes.iter().all(serde_json::Value::is_string), "{text}");
    }
}

#[test]
fn dry_run_human_shows_the_plan_and_the_equivalent_command() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = request(
        &sandbox,
        &["Bedrock key for Marketing Team, owner: jane@corp.com, in eu-west-1", "--dry-run"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("Plan: create a long-term Bedrock key for marketing-team\n"));
    assert!(
        stdout.contains("Business unit: marketing-team (IAM user marketing-team-bedrock-user)")
    );
    assert!(stdout.contains("Owner:         jane@corp.com"));
    assert!(stdout.contains("Store:         printed once on stdout"));
    assert!(stdout.contains("rotate it every 30-90 days"));
    assert!(stdout.ends_with(
        "Equivalent: bedprov key create --business-unit marketing-team --owner jane@corp.com --region eu-west-1\n"
    ));
    // A dry run never asks, even for a long-term key without --yes.
    assert!(!stdout.contains("[y/N]") && !stderr.contains("[y/N]"));

    // The store goes into the plan and its command.
    let (code, stdout, stderr) = request(
        &sandbox,
        &["Bedrock key for the fleet team, stored in Secrets Manager", "--dry-run"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Store:         AWS Secrets Manager secret bedprov/fleet"), "{stdout}");
    assert!(
        stdout.ends_with(
            "Equivalent: bedprov key create --business-unit fleet --store secretsmanager\n"
        ),
        "{stdout}"
    );
    let (code, stdout, _) = request(&sandbox, &["rotate the key for fleet", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Store:         where the unit's key is kept now"), "{stdout}");
}

#[test]
fn words_need_no_quotes() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = request(
        &sandbox,
        &["Bedrock", "token", "for", "6", "hours", "--dry-run", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json(&stdout)["ttl_seconds"], 21600);
}

#[test]
fn production_alone_without_a_terminal_plans_a_token_and_says_how_to_ask() {
    let sandbox = Sandbox::new();
    let plan = dry_json(&sandbox, "Bedrock access for production");
    assert_eq!(plan["action"], "generate_token");
    let notes = plan["notes"].to_string();
    assert!(notes.contains("no terminal to ask"), "{notes}");
    assert!(notes.contains("long-term Bedrock key for production for the UNIT team"), "{notes}");
}

#[test]
fn a_short_term_request_mints_a_real_token_through_bedprov_token() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let (code, stdout, stderr) =
        request(&sandbox, &["Bedrock token for 90 minutes in eu-west-1", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    // The plan went to stderr before the run; stdout is exactly `bedprov token`'s JSON.
    assert!(stderr.contains("Plan: generate a short-term Bedrock API key"), "{stderr}");
    assert!(
        stderr.contains("Equivalent: bedprov token --ttl 1h30m --region eu-west-1"),
        "{stderr}"
    );
    let body = json(&stdout);
    assert_eq!(body["region"], "eu-west-1");
    assert_eq!(body["ttl_seconds"], 5400);
    assert_eq!(body["profile"], "default");
    let issued = epoch(body["issued_at"].as_str().unwrap());
    assert_eq!(epoch(body["expires_at"].as_str().unwrap()) - issued, 5400);

    let (_, direct, _) = run(&mut sandbox.bedprov(&[
        "token",
        "--ttl",
        "1h30m",
        "--region",
        "eu-west-1",
        "--format",
        "json",
    ]));
    let direct = json(&direct);
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&body), keys(&direct), "same command, same output shape");

    let token = body["token"].as_str().unwrap();
    let (code, decoded, _) = run(&mut sandbox.bedprov(&["decode", token, "--format", "json"]));
    assert_eq!(code, 0);
    let decoded = json(&decoded);
    assert_eq!(decoded["access_key_id"], EXAMPLE_KEY_ID);
    assert_eq!(decoded["region"], "eu-west-1");
}

#[test]
fn a_short_term_request_in_human_form_prints_the_token_output() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let (code, stdout, stderr) = request(&sandbox, &["I need an API key for Bedrock"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("✓ Bedrock API key generated"), "{stdout}");
    assert!(stdout.contains("export AWS_BEARER_TOKEN_BEDROCK='bedrock-api-key-"));
    assert!(
        stderr.contains("Why:           short-term token: the recommended default"),
        "{stderr}"
    );
    assert!(stderr.contains("Equivalent: bedprov token\n"), "{stderr}");
}

#[test]
fn a_short_term_request_without_credentials_fails_like_bedprov_token() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = request(&sandbox, &["Bedrock token for 1 hour"]);
    assert_eq!(code, NO_CREDENTIALS, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("error: no AWS credentials found"), "{stderr}");
}

#[test]
fn long_term_without_a_terminal_needs_yes() {
    let sandbox = Sandbox::new();
    for text in ["Bedrock key for Marketing Team", "rotate the key for data-science"] {
        let (code, stdout, stderr) = request(&sandbox, &[text]);
        assert_eq!(code, DECLINED, "{text}: {stderr}");
        assert!(stdout.is_empty(), "{text}");
        assert!(stderr.contains("Plan: "), "the plan is shown first: {stderr}");
        assert!(
            stderr.contains(
                "error: a long-term key needs a confirmation, and there is no terminal to ask on"
            ),
            "{stderr}"
        );
        assert!(stderr.contains("hint: add --yes to go ahead"), "{stderr}");
    }
}

#[test]
fn long_term_with_yes_runs_the_key_command() {
    let sandbox = Sandbox::new();
    let mut command = sandbox.bedprov(&["request", "Bedrock key for Marketing Team", "--yes"]);
    // Whatever runs must never reach real AWS.
    command.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let (code, stdout, stderr) = run(&mut command);
    assert!(stderr.contains("Equivalent: bedprov key create --business-unit marketing-team"));
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    // The key command ran (no refusal to ask) and met this sandbox's missing credentials;
    // tests/keys.rs runs the same request against moto.
    assert_eq!(code, NO_CREDENTIALS, "{stderr}");
}

#[test]
fn bad_requests_exit_with_usage_and_a_hint() {
    let sandbox = Sandbox::new();
    let cases = [
        ("Bedrock key for Marketing Team for 6 hours", "is for short-term tokens"),
        ("token in eu-west-1 and us-west-2", "names two regions"),
        ("Bedrock key for marketing, owner: jane@", "is not an email address"),
        ("business unit: &&&", "needs a name with a letter or digit"),
        (
            "Bedrock key for $(echo aaaaaaaaaa bbbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee)",
            "at most 51 fit",
        ),
        ("Bedrock key for CI/CD", "names none"),
        ("Bedrock token for 13 hours", "15 minutes to 12 hours"),
        ("", "the request is empty"),
        ("  \t ", "the request is empty"),
        ("hello", "found no request"),
    ];
    for (text, message) in cases {
        let (code, stdout, stderr) = request(&sandbox, &[text, "--dry-run"]);
        assert_eq!(code, USAGE, "{text}: {stderr}");
        assert!(stdout.is_empty(), "{text}");
        assert!(stderr.starts_with("error: ") && stderr.contains(message), "{text}: {stderr}");
        assert!(stderr.contains("\n  hint: "), "{text}: {stderr}");
    }
}

#[test]
fn hostile_input_is_refused_or_planned_never_run() {
    let sandbox = Sandbox::new();
    let marker = sandbox.dir.path().join("PWNED");
    let touch = format!("Bedrock key for $(touch {0}) `touch {0}`; touch {0}", marker.display());
    let huge = "Bedrock token for 6 hours; ".repeat(400);
    let (code, _, stderr) = request(&sandbox, &[&touch, "--yes"]);
    assert_eq!(code, USAGE, "{stderr}");
    assert!(stderr.contains("characters long as a unit"), "too long once normalised: {stderr}");
    assert!(!marker.exists());
    // Short enough to be a unit: what IAM refuses becomes hyphens, and the plan goes on to
    // `bedprov key` (which meets this sandbox's missing credentials); nothing was run.
    let mut short =
        sandbox.bedprov(&["request", "Bedrock key for $(touch PWNED); touch PWNED", "--yes"]);
    short.current_dir(sandbox.dir.path());
    let (code, _, stderr) = run(&mut short);
    assert_eq!(code, NO_CREDENTIALS, "{stderr}");
    assert!(
        stderr.contains("Business unit: touch-pwned (IAM user touch-pwned-bedrock-user)"),
        "{stderr}"
    );
    assert!(!sandbox.dir.path().join("PWNED").exists() && !marker.exists());

    let started = std::time::Instant::now();
    let (code, _, stderr) = request(&sandbox, &[&huge, "--dry-run"]);
    assert_eq!(code, USAGE, "{stderr}");
    assert!(stderr.contains("characters long"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // Terminal escapes in the text are never echoed raw; in a unit they become hyphens.
    let (code, stdout, stderr) =
        request(&sandbox, &["Bedrock key for ev\u{1b}[2Jil\u{202e}x", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Business unit: ev-2jil-x (IAM user ev-2jil-x-bedrock-user)"));
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains('\u{1b}') && !shown.contains('\u{202e}'), "{shown:?}");
    }
}

/// Runs `bedprov request …` on a pseudo-terminal (util-linux `script`, part of every Debian
/// install), typing `input`; returns the exit code and everything the terminal showed.
fn on_a_terminal(sandbox: &Sandbox, args: &[&str], input: &str) -> (i32, String) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line = std::iter::once(common::bedprov_bin())
        .chain(std::iter::once("request"))
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = sandbox
        .command("script")
        .args(["-qec", &line, "/dev/null"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs commands on a pty");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
    (output.status.code().unwrap_or(-1), shown)
}

#[test]
fn on_a_terminal_production_alone_is_a_question() {
    let sandbox = Sandbox::new();
    let args = ["Bedrock access for production", "--dry-run", "--format", "json"];
    let (code, shown) = on_a_terminal(&sandbox, &args, "1\n");
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("will it run longer than 12 hours"), "{shown}");
    assert!(shown.contains("\"action\": \"generate_token\""), "{shown}");
    assert!(shown.contains("12 hours or less (your answer)"), "{shown}");

    // Longer than 12 hours: a long-term key, which needs a unit the request did not name.
    let (code, shown) = on_a_terminal(&sandbox, &args, "2\n");
    assert_eq!(code, USAGE, "{shown}");
    assert!(shown.contains("names none"), "{shown}");

    // No answer at all (end of input): nothing is planned.
    let (code, shown) = on_a_terminal(&sandbox, &args, "");
    assert_eq!(code, DECLINED, "{shown}");
}

#[test]
fn on_a_terminal_long_term_asks_first() {
    let sandbox = Sandbox::new();
    let (code, shown) = on_a_terminal(&sandbox, &["Bedrock key for Marketing Team"], "n\n");
    assert_eq!(code, DECLINED, "{shown}");
    assert!(shown.contains("Create a long-term key for marketing-team? [y/N]"), "{shown}");
    assert!(shown.contains("declined: nothing was created or changed"), "{shown}");
    let plan_at = shown.find("Plan: create").unwrap();
    assert!(plan_at < shown.find("[y/N]").unwrap(), "the plan comes before the question");

    // Yes: the key command runs (see long_term_with_yes_runs_the_key_command for outcomes).
    let (code, shown) = on_a_terminal(&sandbox, &["Bedrock key for Marketing Team"], "y\n");
    assert_ne!(code, DECLINED, "{shown}");
    assert_ne!(code, 0, "{shown}");
}

/// The README's section on requests: every table row and console example is what bedprov
/// actually plans, so the documentation cannot drift from the code.
#[test]
fn the_readme_shows_real_plans() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let start = readme.find("## Plain-language requests").expect("README section on requests");
    let section = &readme[start..];
    let section = section[3..].find("\n## ").map_or(section, |end| &section[..end + 3]);
    let sandbox = Sandbox::new();

    let mut rows = 0;
    for line in section.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| Request")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let (text, equivalent) = (cells[0], cells[2].trim_matches('`'));
        let (code, stdout, stderr) = request(&sandbox, &[text, "--dry-run"]);
        if equivalent.is_empty() {
            assert_eq!(code, USAGE, "{text}: {stdout}");
        } else {
            assert_eq!(code, 0, "{text}: {stderr}");
            assert!(stdout.ends_with(&format!("\nEquivalent: {equivalent}\n")), "{text}: {stdout}");
        }
        rows += 1;
    }
    assert!(rows >= 10, "the README table lost rows");

    let console = section.split("```console\n").nth(1).expect("a console example");
    let console = &console[..console.find("```").unwrap()];
    let mut examples = 0;
    for example in console.split("$ bedprov ").skip(1) {
        let (command, expected) = example.split_once('\n').unwrap();
        let args = split_quoted(command);
        let (code, stdout, stderr) =
            run(&mut sandbox.bedprov(&args.iter().map(String::as_str).collect::<Vec<_>>()));
        assert_eq!(code, 0, "{command}: {stderr}");
        assert_eq!(stdout.trim_end(), expected.trim_end(), "{command}");
        examples += 1;
    }
    assert_eq!(examples, 2);
}

/// `request "a b" --dry-run` → [request, a b, --dry-run] (double quotes only, as in the README).
fn split_quoted(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    args.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        args.push(current);
    }
    args
}
