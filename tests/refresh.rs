//! The lifetime policy against real credential sources: short-lived `credential_process`
//! credentials renewed in real time, assume-role credentials from moto renewed across a
//! wall-clock jump, and a failing source that degrades, then refuses, never serving a token
//! below the safety margin.

mod common;

use common::{
    ControlledCreds, EXAMPLE_KEY_ID, EXAMPLE_SECRET, FakeClock, Moto, Sandbox, epoch, json, run,
};
use std::time::{Duration, Instant};

fn token_json(sandbox: &Sandbox, args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = run(&mut sandbox.helper(&[&["json"], args].concat()));
    assert_eq!(code, 0, "{stderr}");
    json(&stdout)
}

fn now_with_offset(offset: i64) -> i64 {
    common::now_epoch() + offset
}

#[test]
fn one_minute_credentials_are_renewed_before_half_life_in_real_time() {
    let sandbox = Sandbox::new();
    let creds = ControlledCreds::install(&sandbox, "short", 60);
    let _daemon = sandbox.daemon();
    let mut issued = std::collections::BTreeSet::new();
    let end = Instant::now() + Duration::from_secs(36);
    while Instant::now() < end {
        let body = token_json(&sandbox, &["--profile", "short"]);
        let now = common::now_epoch();
        let expires = epoch(body["expires_at"].as_str().unwrap());
        let credential_expires = epoch(body["credential_expires_at"].as_str().unwrap());
        let lifetime = expires - epoch(body["issued_at"].as_str().unwrap());
        assert!(expires <= credential_expires, "a token outlived its credentials: {body}");
        // min_remaining = L/2, with a second of slack for whole-second timestamps.
        assert!(
            expires - now >= lifetime / 2 - 1,
            "served with {} s of {lifetime} s left",
            expires - now
        );
        issued.insert(body["issued_at"].as_str().unwrap().to_owned());
        std::thread::sleep(Duration::from_millis(700));
    }
    assert!(issued.len() >= 2, "no refresh in 36 s of 60 s credentials: {issued:?}");
    assert_eq!(creds.calls(), issued.len(), "one credential_process run per refresh");
}

#[test]
fn a_failing_source_degrades_then_refuses_below_the_margin() {
    let sandbox = Sandbox::new();
    let creds = ControlledCreds::install(&sandbox, "flaky", 3600);
    let clock = FakeClock::new(&sandbox);
    let daemon = sandbox.daemon_with(|command| clock.apply(command));
    let first = token_json(&sandbox, &["--profile", "flaky"]);
    creds.set_mode("fail");

    // Past half-life (L = 1 h): the refresh fails, the old token is still served.
    clock.set_offset(31 * 60);
    std::thread::sleep(Duration::from_millis(100));
    let degraded = token_json(&sandbox, &["--profile", "flaky"]);
    assert_eq!(degraded["token"], first["token"]);
    assert_eq!(creds.calls(), 2);
    let status = daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap();
    assert_eq!(status["slots"][0]["state"], "degraded", "{status}");
    assert!(status["slots"][0]["last_error"]["message"].as_str().unwrap().contains("exited with"));

    // Within the margin (10 min left): 503 with a hint, nothing on stdout.
    clock.set_offset(51 * 60);
    std::thread::sleep(Duration::from_millis(100));
    let (code, stdout, stderr) = run(&mut sandbox.helper(&["env", "--profile", "flaky"]));
    assert_eq!(code, 7, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("no token with enough life left") && stderr.contains("hint:"),
        "{stderr}"
    );
    let status = daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap();
    assert_eq!(status["slots"][0]["state"], "failed");

    // The source recovers; the next request (after the backoff) is served again.
    creds.set_mode("ok");
    clock.set_offset(52 * 60);
    std::thread::sleep(Duration::from_millis(100));
    let recovered = token_json(&sandbox, &["--profile", "flaky"]);
    assert_ne!(recovered["token"], first["token"]);
}

#[test]
fn assume_role_credentials_from_moto_are_renewed_across_a_clock_jump() {
    let moto = Moto::start();
    let role_arn = moto.boto(
        "iam = boto3.client('iam', **kw)\nr = iam.create_role(RoleName='bedrock-dev', AssumeRolePolicyDocument='{}')\nprint(r['Role']['Arn'])",
    );
    let sandbox = Sandbox::new();
    sandbox.write_credentials(&format!(
        "[base]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n"
    ));
    sandbox.write_config(&format!(
        "[profile dev]\nrole_arn = {}\nsource_profile = base\nregion = eu-central-1\n",
        role_arn.trim()
    ));
    let clock = FakeClock::new(&sandbox);
    let _daemon = sandbox.daemon_with(|command| {
        clock.apply(command);
        command.env("AWS_ENDPOINT_URL", &moto.endpoint);
    });
    let first = token_json(&sandbox, &["--profile", "dev"]);
    let key = |body: &serde_json::Value| {
        bedprov::token::decode(body["token"].as_str().unwrap()).unwrap().access_key_id
    };
    assert!(key(&first).starts_with("ASIA"));

    // 31 minutes later (by the daemon's wall clock) the hour-long STS credentials are past
    // half-life: the daemon assumes the role again.
    clock.set_offset(31 * 60);
    std::thread::sleep(Duration::from_millis(100));
    let second = token_json(&sandbox, &["--profile", "dev"]);
    assert_ne!(key(&second), key(&first), "the role was assumed again");
    let expires = epoch(second["expires_at"].as_str().unwrap());
    let credential_expires = epoch(second["credential_expires_at"].as_str().unwrap());
    assert!(expires <= credential_expires);
    let left = expires - now_with_offset(31 * 60);
    let lifetime = expires - epoch(second["issued_at"].as_str().unwrap());
    assert!(left >= lifetime / 2 - 1, "{left} s left of {lifetime}");
}
