//! Watching `~/.aws`: `aws sso login` (which writes the SSO token cache) fixes a
//! needs-login slot within about two seconds, without a restart and without a request; writes
//! that change nothing bedprov reads (an editor's swap files, a tool's cache, bedprov's own
//! refreshes) re-resolve nothing, and a real change re-resolves each slot once.

mod common;

use common::{Moto, Sandbox, json, run};
use std::time::{Duration, Instant};

#[test]
fn sso_login_fixes_a_needs_login_slot_within_two_seconds() {
    let portal = Moto::start_script("sso_portal.py");
    let sandbox = Sandbox::new();
    sandbox.write_config(
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-east-1\n\n[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n",
    );
    let daemon = sandbox.daemon_with(|command| {
        command.env("AWS_ENDPOINT_URL_SSO", &portal.endpoint);
    });
    let (code, stdout, stderr) = run(&mut sandbox.helper(&["env", "--profile", "dev"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("aws sso login --profile dev"), "{stderr}");
    let state = || {
        daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap()["slots"][0]["state"]
            .clone()
    };
    assert_eq!(state(), "needs_login");

    // What `aws sso login` leaves behind: the token cache, named by the session's SHA-1.
    let sha1 = std::process::Command::new("sh")
        .arg("-c")
        .arg("printf corp | sha1sum | cut -d' ' -f1")
        .output()
        .unwrap();
    let cache = sandbox.home().join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(8);
    let expires = expires.format(&time::format_description::well_known::Rfc3339).unwrap();
    std::fs::write(
        cache.join(format!("{}.json", String::from_utf8(sha1.stdout).unwrap().trim())),
        format!(r#"{{"accessToken":"EXAMPLEssoaccesstoken","expiresAt":"{expires}","region":"us-east-1","startUrl":"https://example.awsapps.com/start"}}"#),
    )
    .unwrap();
    let logged_in = Instant::now();
    while state() != "fresh" {
        assert!(
            logged_in.elapsed() < Duration::from_millis(2500),
            "still {} after {:?}",
            state(),
            logged_in.elapsed()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    eprintln!("needs_login -> fresh {:?} after the login", logged_in.elapsed());
    let (code, body, _) = run(&mut sandbox.helper(&["json", "--profile", "dev"]));
    assert_eq!(code, 0);
    assert!(json(&body)["credential_expires_at"].is_string());
}

#[test]
fn an_edited_config_is_picked_up_after_atomic_replacement() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[profile later]\nregion = us-east-1\n");
    let daemon = sandbox.daemon();
    let (code, _, _) = run(&mut sandbox.helper(&["env", "--profile", "later"]));
    assert_eq!(code, 3);
    // An editor's save: write a temp file, rename it over the original.
    let creds_script = sandbox.script(
        "c.sh",
        &format!(
            r#"echo '{{"Version":1,"AccessKeyId":"{}","SecretAccessKey":"{}"}}'"#,
            common::EXAMPLE_KEY_ID,
            common::EXAMPLE_SECRET
        ),
    );
    let temp = sandbox.home().join(".aws/.config.tmp");
    std::fs::write(
        &temp,
        format!(
            "[profile later]\nregion = us-east-1\ncredential_process = {}\n",
            creds_script.display()
        ),
    )
    .unwrap();
    std::fs::rename(&temp, sandbox.home().join(".aws/config")).unwrap();
    let saved = Instant::now();
    loop {
        let status = daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap();
        if status["slots"][0]["state"] == "fresh" {
            break;
        }
        assert!(saved.elapsed() < Duration::from_secs(2), "{status}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// What an editor does around a file it edits without changing it: swap files, a backup
/// copy, vim's write test, a save of identical bytes by rename, a touch. Plus what other
/// tools leave under `~/.aws` (the CLI's own caches).
fn churn(aws: &std::path::Path, round: usize) {
    let config = aws.join("config");
    let text = std::fs::read(&config).unwrap();
    std::fs::write(aws.join(".config.swp"), format!("swap {round}")).unwrap();
    std::fs::write(aws.join(".config.swx"), format!("swap {round}")).unwrap();
    std::fs::write(aws.join("4913"), "").unwrap();
    std::fs::remove_file(aws.join("4913")).unwrap();
    std::fs::copy(&config, aws.join("config~")).unwrap();
    std::fs::create_dir_all(aws.join("cli/cache")).unwrap();
    std::fs::write(aws.join(format!("cli/cache/{round}.json")), "{}").unwrap();
    let temp = aws.join(".config.tmp");
    std::fs::write(&temp, &text).unwrap();
    std::fs::rename(&temp, &config).unwrap();
    let file = std::fs::OpenOptions::new().append(true).open(&config).unwrap();
    file.set_modified(std::time::SystemTime::now()).unwrap();
    std::fs::remove_file(aws.join(".config.swp")).unwrap();
}

#[test]
fn editor_churn_runs_no_credential_process_and_a_real_change_one_per_slot() {
    let sandbox = Sandbox::new();
    let first = common::ControlledCreds::install(&sandbox, "first", 3600);
    let second = common::ControlledCreds::install(&sandbox, "second", 3600);
    let daemon = sandbox.daemon();
    for profile in ["first", "second"] {
        assert_eq!(run(&mut sandbox.helper(&["json", "--profile", profile])).0, 0);
    }
    assert_eq!((first.calls(), second.calls()), (1, 1));

    let aws = sandbox.home().join(".aws");
    for round in 0..6 {
        churn(&aws, round);
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        (first.calls(), second.calls()),
        (1, 1),
        "writes that change nothing bedprov reads ran the credential_process"
    );

    // A real change to the config: each slot re-resolves exactly once.
    let mut config = std::fs::read_to_string(aws.join("config")).unwrap();
    config.push_str("\n[profile third]\nregion = eu-west-1\n");
    std::fs::write(aws.join("config"), config).unwrap();
    let changed = Instant::now();
    while (first.calls(), second.calls()) != (2, 2) {
        assert!(changed.elapsed() < Duration::from_secs(3), "not re-resolved");
        std::thread::sleep(Duration::from_millis(25));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!((first.calls(), second.calls()), (2, 2), "one re-resolve per slot");
    let status = daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap();
    assert!(status["slots"].as_array().unwrap().iter().all(|s| s["state"] == "fresh"), "{status}");
}

#[test]
fn a_credential_process_writing_under_aws_never_triggers_its_own_refresh() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let aws = sandbox.home().join(".aws");
    let calls = sandbox.dir.path().join("calls");
    // A tool that caches under ~/.aws, and even rewrites the credentials file, on every run.
    let script = sandbox.script(
        "caching-creds.sh",
        &format!(
            r##"echo run >> '{calls}'
mkdir -p '{aws}/tool/cache'
date +%s%N > '{aws}/tool/cache/session.json'
c='{aws}/credentials'
grep -v '^# cached' "$c" > "$c.new"; echo "# cached $(date +%s%N)" >> "$c.new"; mv "$c.new" "$c"
printf '{{"Version":1,"AccessKeyId":"{key}","SecretAccessKey":"{secret}"}}'"##,
            calls = calls.display(),
            aws = aws.display(),
            key = common::EXAMPLE_KEY_ID,
            secret = common::EXAMPLE_SECRET,
        ),
    );
    sandbox.write_config(&format!(
        "[profile cached]\ncredential_process = {}\nregion = us-east-1\n",
        script.display()
    ));
    let runs = || std::fs::read_to_string(&calls).map_or(0, |s| s.lines().count());
    let daemon = sandbox.daemon();
    assert_eq!(run(&mut sandbox.helper(&["json", "--profile", "cached"])).0, 0);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs(), 1, "the credential_process's own writes started more runs");

    // A change by the user still counts, once.
    let mut credentials = std::fs::read_to_string(aws.join("credentials")).unwrap();
    credentials
        .push_str("\n[other]\naws_access_key_id = AKIDEXAMPLE2\naws_secret_access_key = x\n");
    std::fs::write(aws.join("credentials"), credentials).unwrap();
    let changed = Instant::now();
    while runs() < 2 {
        assert!(changed.elapsed() < Duration::from_secs(3), "the user's change was not seen");
        std::thread::sleep(Duration::from_millis(25));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs(), 2, "one re-resolve for the user's change, none for the tool's own");
    let status = daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap();
    assert_eq!(status["slots"][0]["state"], "fresh", "{status}");
}
