//! Watching `~/.aws`: `aws sso login` (which writes the SSO token cache) fixes a
//! needs-login slot within about two seconds, without a restart and without a request.

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
