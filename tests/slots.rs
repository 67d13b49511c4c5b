//! The daemon's slots tell the truth, as real processes: a profile deleted from the AWS config
//! stops being served, requests for profiles that do not exist create no slot, failing slots
//! make room before healthy ones, a SIGHUP reload never loses the declared slots, a degraded
//! slot is retried with backoff while `status` shows when, and a hung `credential_process`
//! holds up only its own slot.

mod common;

use common::{ControlledCreds, Sandbox, epoch, json, now_epoch, run};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

fn status(daemon: &common::Daemon) -> serde_json::Value {
    daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap()
}

fn slots(daemon: &common::Daemon) -> Vec<serde_json::Value> {
    status(daemon)["slots"].as_array().unwrap().clone()
}

fn slot_of(daemon: &common::Daemon, profile: &str) -> Option<serde_json::Value> {
    slots(daemon).into_iter().find(|s| s["profile"] == profile)
}

/// Polls `check` every 20 ms until it holds, failing with `what` after `limit`.
fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "{what} (waited {limit:?})");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

/// An editor's save: the new text written next to the file, then renamed over it.
fn save(path: &std::path::Path, text: &str) {
    let temp = path.with_extension("bedprov-test-tmp");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

#[test]
fn a_profile_deleted_from_the_config_stops_being_served_within_a_second() {
    let sandbox = Sandbox::new();
    let _keep = ControlledCreds::install(&sandbox, "keep", 3600);
    let _gone = ControlledCreds::install(&sandbox, "gone", 3600);
    let daemon = sandbox.daemon();
    for profile in ["keep", "gone"] {
        let (code, _, stderr) = run(&mut sandbox.helper(&["json", "--profile", profile]));
        assert_eq!(code, 0, "{profile}: {stderr}");
    }

    // The `gone` profile is removed from ~/.aws/config.
    let config_path = sandbox.home().join(".aws/config");
    let config = std::fs::read_to_string(&config_path).unwrap();
    let kept = config
        .split("\n[profile ")
        .filter(|part| !part.starts_with("gone]"))
        .collect::<Vec<_>>()
        .join("\n[profile ");
    assert!(!kept.contains("gone") && kept.contains("[profile keep]"), "{kept}");
    save(&config_path, &kept);

    let took =
        wait_until(Duration::from_millis(1500), "the deleted profile is still served", || {
            run(&mut sandbox.helper(&["json", "--profile", "gone"])).0 != 0
        });
    eprintln!("a deleted profile stopped being served {took:?} after the save");
    let (code, stdout, stderr) = run(&mut sandbox.helper(&["env", "--profile", "gone"]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("AWS profile `gone` is not defined"), "{stderr}");
    assert!(stderr.contains("profiles found: keep"), "{stderr}");
    assert!(!stderr.contains("no token with enough life left"), "{stderr}");

    // Its slot holds no token any more and says why; the other slot is untouched.
    let gone = slot_of(&daemon, "gone").unwrap();
    assert_eq!(gone["state"], "failed", "{gone}");
    assert!(gone["expires_at"].is_null(), "{gone}");
    assert_eq!(gone["last_error"]["code"], "unknown_profile", "{gone}");
    assert!(gone["refresh_at"].is_null(), "nothing to retry until the profile is back: {gone}");
    assert_eq!(slot_of(&daemon, "keep").unwrap()["state"], "fresh");
    assert_eq!(run(&mut sandbox.helper(&["json", "--profile", "keep"])).0, 0);

    // Put back, it is served again without a restart.
    save(&config_path, &config);
    wait_until(Duration::from_secs(3), "the restored profile is not served again", || {
        run(&mut sandbox.helper(&["json", "--profile", "gone"])).0 == 0
    });
}

#[test]
fn requests_for_profiles_that_do_not_exist_create_no_slot() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let _real = ControlledCreds::install(&sandbox, "real", 3600);
    let daemon = sandbox.daemon();
    for i in 0..40 {
        let profile = format!("missing-{i}");
        let (code, stdout, stderr) = run(&mut sandbox.helper(&["token", "--profile", &profile]));
        assert_eq!(code, 3, "{profile}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(&format!("AWS profile `{profile}` is not defined")), "{stderr}");
        assert!(stderr.contains("profiles found: default, real"), "{stderr}");
    }
    assert!(slots(&daemon).is_empty(), "{}", status(&daemon));
    let (code, stdout, stderr) = run(&mut sandbox.helper(&["json", "--profile", "real"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json(&stdout)["profile"], "real");
    assert_eq!(slots(&daemon).len(), 1);

    // The socket API answers the same: 400 unknown_profile.
    let (_, body, _) = run(sandbox
        .command("curl")
        .args(["-sS", "-w", "\n%{http_code}", "--unix-socket"])
        .arg(sandbox.socket())
        .arg("http://localhost/v1/token?profile=nope"));
    let (body, http) = body.rsplit_once('\n').unwrap();
    assert_eq!(http, "400", "{body}");
    assert_eq!(json(body)["error"]["code"], "unknown_profile");
    assert_eq!(slots(&daemon).len(), 1);
}

#[test]
fn failing_slots_make_room_before_healthy_ones() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let broken = sandbox.script("broken.sh", "echo 'offline' >&2; exit 1");
    sandbox.write_config(&format!("[profile broken]\ncredential_process = {}\n", broken.display()));
    let daemon = sandbox.daemon();
    let max = bedprov::daemon::state::MAX_SLOTS;
    // A healthy slot, then enough failing ones to fill the table.
    assert_eq!(run(&mut sandbox.helper(&["token"])).0, 0);
    for minutes in 0..max - 1 {
        let ttl = format!("{}m", 15 + minutes);
        let (code, _, stderr) =
            run(&mut sandbox.helper(&["token", "--profile", "broken", "--ttl", &ttl]));
        assert_eq!(code, 7, "{stderr}");
    }
    assert_eq!(slots(&daemon).len(), max);
    // New healthy combinations are served: each takes the place of a failing slot.
    for region in ["eu-west-1", "ap-south-1", "us-west-2"] {
        let (code, _, stderr) = run(&mut sandbox.helper(&["token", "--region", region]));
        assert_eq!(code, 0, "{region}: {stderr}");
    }
    let now = slots(&daemon);
    assert_eq!(now.len(), max);
    assert_eq!(now.iter().filter(|s| s["state"] == "fresh").count(), 4, "{now:?}");
    assert_eq!(now.iter().filter(|s| s["profile"] == "broken").count(), max - 4);
}

fn pinned_regions(daemon: &common::Daemon) -> Vec<String> {
    let mut regions: Vec<String> = slots(daemon)
        .iter()
        .filter(|s| s["pinned"] == true)
        .map(|s| s["requested_region"].as_str().unwrap_or("").to_owned())
        .collect();
    regions.sort();
    regions
}

#[test]
fn a_sighup_reload_into_a_full_table_keeps_every_declared_slot_and_a_failed_one_changes_nothing() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let config = sandbox.home().join(".config/bedprov/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[[slot]]\nregion = \"eu-west-1\"\n").unwrap();
    let daemon = sandbox.daemon();
    let max = bedprov::daemon::state::MAX_SLOTS;
    wait_until(Duration::from_secs(10), "the declared slot was not warmed", || {
        slots(&daemon).iter().any(|s| s["state"] == "fresh")
    });
    // Fill the table with requested slots.
    for minutes in 0..max - 1 {
        let ttl = format!("{}m", 15 + minutes);
        assert_eq!(run(&mut sandbox.helper(&["token", "--ttl", &ttl])).0, 0);
    }
    assert_eq!(slots(&daemon).len(), max);

    // Two more declared slots: requested ones make room, all three are pinned and warmed.
    std::fs::write(
        &config,
        "[[slot]]\nregion = \"eu-west-1\"\n[[slot]]\nregion = \"ap-south-1\"\n[[slot]]\nregion = \"us-west-2\"\n",
    )
    .unwrap();
    daemon.signal("HUP");
    wait_until(Duration::from_secs(10), "the new declared slots were not warmed", || {
        let now = slots(&daemon);
        pinned_regions(&daemon) == ["ap-south-1", "eu-west-1", "us-west-2"]
            && now.iter().filter(|s| s["pinned"] == true).all(|s| s["state"] == "fresh")
    });
    assert_eq!(slots(&daemon).len(), max);
    let (_, human, _) = run(&mut sandbox.bedprov(&["status"]));
    assert_eq!(human.matches(" · from config\n").count(), 3, "{human}");
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert!(log.contains("config reloaded"), "{log}");
    assert!(!log.contains("config not reloaded"), "{log}");

    // A config the daemon refuses (a bad value; more slots than it keeps): nothing changes.
    std::fs::write(&config, "[[slot]]\nregion = \"moon\"\n").unwrap();
    daemon.signal("HUP");
    let too_many = (0..=max).fold(String::new(), |mut text, minutes| {
        let _ = write!(text, "[[slot]]\nttl = \"{}m\"\n", 15 + minutes);
        text
    });
    wait_until(Duration::from_secs(5), "the bad config was not refused", || {
        std::fs::read_to_string(sandbox.log_path()).unwrap().matches("config not reloaded").count()
            == 1
    });
    std::fs::write(&config, too_many).unwrap();
    daemon.signal("HUP");
    wait_until(Duration::from_secs(5), "the oversized config was not refused", || {
        std::fs::read_to_string(sandbox.log_path()).unwrap().matches("config not reloaded").count()
            == 2
    });
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert!(log.contains(&format!("declares {} slots", max + 1)), "{log}");
    assert_eq!(pinned_regions(&daemon), ["ap-south-1", "eu-west-1", "us-west-2"]);
    // Declared slots are never the ones that make room.
    for minutes in 0..max {
        let ttl = format!("{}m", 100 + minutes);
        assert_eq!(run(&mut sandbox.helper(&["token", "--ttl", &ttl])).0, 0);
    }
    assert_eq!(pinned_regions(&daemon), ["ap-south-1", "eu-west-1", "us-west-2"]);
}

#[test]
fn a_degraded_slot_is_retried_with_backoff_and_status_shows_the_next_attempt() {
    let sandbox = Sandbox::new();
    let creds = ControlledCreds::install(&sandbox, "flaky", 3600);
    let daemon = sandbox.daemon();
    let (code, _, stderr) = run(&mut sandbox.helper(&["json", "--profile", "flaky"]));
    assert_eq!(code, 0, "{stderr}");
    creds.set_mode("fail");

    // A forced refresh fails while the token is still fresh: degraded.
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["daemon", "refresh"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("refreshed 0 token(s), 1 failed"), "{stdout}");
    assert_eq!(creds.calls(), 2);
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(4) {
        let slot = slot_of(&daemon, "flaky").unwrap();
        assert_eq!(slot["state"], "degraded", "{slot}");
        assert!(slot["last_error"]["message"].as_str().unwrap().contains("exited with"), "{slot}");
        // The next attempt is never in the past (whole seconds, so one second of slack).
        let next = epoch(slot["refresh_at"].as_str().unwrap());
        assert!(
            next >= now_epoch() - 1,
            "next refresh {} s in the past: {slot}",
            now_epoch() - next
        );
        seen.push(next);
        std::thread::sleep(Duration::from_millis(100));
    }
    // Retried with backoff (about 1 s, then 2 s), not left until the half-life 30 min away.
    let calls = creds.calls();
    assert!((3..=5).contains(&calls), "{calls} runs in 4 s");
    seen.dedup();
    assert!(seen.len() >= 2, "the next attempt moved on as retries failed: {seen:?}");
    let (_, human, _) = run(&mut sandbox.bedprov(&["status"]));
    assert!(
        human.contains("! degraded · profile flaky") && human.contains("next refresh  "),
        "{human}"
    );

    // The source recovers: the next retry makes the slot fresh again, without a request.
    creds.set_mode("ok");
    wait_until(Duration::from_secs(12), "the slot did not recover on its own", || {
        slot_of(&daemon, "flaky").unwrap()["state"] == "fresh"
    });
    let slot = slot_of(&daemon, "flaky").unwrap();
    assert!(slot["last_error"].is_null(), "{slot}");
}

#[test]
fn a_hung_credential_process_holds_up_only_its_own_slot() {
    let sandbox = Sandbox::new();
    let hang = sandbox.script("creds-stuck.sh", "sleep 300");
    sandbox.write_config(&format!("[profile stuck]\ncredential_process = {}\n", hang.display()));
    // Credentials that live 20 s: the background loop refreshes them every 10 s.
    let creds = ControlledCreds::install(&sandbox, "ok", 20);
    let config = sandbox.home().join(".config/bedprov/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[[slot]]\nprofile = \"stuck\"\n[[slot]]\nprofile = \"ok\"\n").unwrap();
    let daemon = sandbox.daemon_with(|command| {
        command.env("BEDPROV_CREDENTIAL_PROCESS_TIMEOUT", "120");
    });
    wait_until(Duration::from_secs(5), "the ok slot was not warmed", || {
        slot_of(&daemon, "ok").is_some_and(|s| s["state"] == "fresh")
    });
    let asked = Instant::now();
    let (code, _, stderr) = run(&mut sandbox.helper(&["json", "--profile", "ok"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(asked.elapsed() < Duration::from_secs(2), "served in {:?}", asked.elapsed());

    // `daemon refresh` answers in bounded time and names the slot still refreshing.
    let asked = Instant::now();
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["daemon", "refresh"]));
    let took = asked.elapsed();
    assert_eq!(code, 0, "{stderr}");
    assert!(took < Duration::from_secs(15), "daemon refresh took {took:?}");
    assert!(stdout.contains("refreshed 1 token(s), 0 failed, 1 still refreshing"), "{stdout}");
    assert!(stdout.contains("profile stuck") && stdout.contains("refreshing now"), "{stdout}");
    eprintln!("daemon refresh answered in {took:?} with one slot hung");
    let stuck = slot_of(&daemon, "stuck").unwrap();
    assert_eq!(stuck["refreshing"], true, "{stuck}");

    // Without requests, the background loop keeps the other slot fresh.
    let refreshes = slot_of(&daemon, "ok").unwrap()["refreshes"].as_u64().unwrap();
    wait_until(Duration::from_secs(15), "the ok slot was not refreshed in the background", || {
        slot_of(&daemon, "ok").unwrap()["refreshes"].as_u64().unwrap() > refreshes
    });
    let asked = Instant::now();
    assert_eq!(run(&mut sandbox.helper(&["json", "--profile", "ok"])).0, 0);
    assert!(asked.elapsed() < Duration::from_secs(2), "served in {:?}", asked.elapsed());
    assert!(creds.calls() >= 3, "{} runs", creds.calls());
}
