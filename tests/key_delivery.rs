//! No long-term secret is lost, and no unit is left with a key nobody holds or with hosts
//! reading a retired key. `bedprov key create|rotate` run as real processes against moto and
//! the local fake, whose `FAKE_SLOW` and `FAKE_LOG` hooks hold a step of the run (verification,
//! a store write, a tag) like a slow AWS would, so a test can interrupt or kill bedprov right
//! there: stdout that cannot take the secret (a full device, a pipe closed early, `| head -c
//! 1`), SIGINT and SIGTERM at each step, SIGKILL and the next run, rotation into the store
//! the unit's key is kept in, and a Secrets Manager secret scheduled for deletion.

mod common;

use common::{AwsPeers, Sandbox, json, run};
use std::fs::File;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The peers (their slow steps as `FAKE_SLOW` says) and the file they log each call to.
struct Peers {
    aws: AwsPeers,
    log: PathBuf,
}

fn start(sandbox: &Sandbox, slow: &str) -> Peers {
    let log = sandbox.dir.path().join("aws-calls.log");
    let aws = AwsPeers::start_with(&[("FAKE_LOG", log.to_str().unwrap()), ("FAKE_SLOW", slow)]);
    Peers { aws, log }
}

fn setup(slow: &str) -> (Sandbox, Peers) {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let peers = start(&sandbox, slow);
    (sandbox, peers)
}

impl Peers {
    /// bedprov against the peers, with STS and Secrets Manager through the fake too (so
    /// their calls can be held and are logged).
    fn bedprov(&self, sandbox: &Sandbox, args: &[&str]) -> Command {
        let mut command = sandbox.bedprov(args);
        self.aws.apply(&mut command);
        command
            .env("AWS_ENDPOINT_URL_STS", &self.aws.fake.endpoint)
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &self.aws.fake.endpoint);
        command
    }

    fn run(&self, sandbox: &Sandbox, args: &[&str]) -> (i32, String, String) {
        run(&mut self.bedprov(sandbox, args))
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the `nth` call of `action` has reached the peers.
    fn wait_for(&self, action: &str, nth: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.calls().lines().filter(|l| *l == action).count() < nth {
            assert!(Instant::now() < deadline, "no call #{nth} of {action}:\n{}", self.calls());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The user's IAM access keys, `id Status`, oldest first (straight from moto).
    fn keys(&self, user: &str) -> Vec<String> {
        json(&self.aws.boto(&format!(
            "iam = boto3.client('iam', **kw)\nks = sorted(iam.list_access_keys(UserName='{user}')['AccessKeyMetadata'], key=lambda k: k['CreateDate'])\nprint(json.dumps([k['AccessKeyId'] + ' ' + k['Status'] for k in ks]))"
        )))
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
    }

    /// The user's Bedrock API keys, `id Status` (from the fake, which holds them).
    fn api_keys(&self, user: &str) -> Vec<String> {
        json(&self.aws.fake.boto(&format!(
            "iam = boto3.client('iam', **kw)\ncs = iam.list_service_specific_credentials(UserName='{user}', ServiceName='bedrock.amazonaws.com')['ServiceSpecificCredentials']\nprint(json.dumps([c['ServiceSpecificCredentialId'] + ' ' + c['Status'] for c in cs]))"
        )))
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
    }

    fn tags(&self, user: &str) -> serde_json::Value {
        json(&self.aws.boto(&format!(
            "iam = boto3.client('iam', **kw)\nprint(json.dumps({{t['Key']: t['Value'] for t in iam.list_user_tags(UserName='{user}')['Tags']}}))"
        )))
    }

    /// The access key id the unit's Secrets Manager secret holds now.
    fn secret_holds(&self, unit: &str) -> String {
        let value = json(&self.aws.boto(&format!(
            "sm = boto3.client('secretsmanager', **kw)\nprint(sm.get_secret_value(SecretId='bedprov/{unit}')['SecretString'])"
        )));
        value["AccessKeyId"].as_str().unwrap().to_owned()
    }

    /// A unit with one delivered access key (printed, not verified); returns its id.
    fn unit_with_key(&self, sandbox: &Sandbox, unit: &str, extra: &[&str]) -> String {
        let args =
            [&["key", "create", "--business-unit", unit, "--no-verify", "--format", "json"], extra]
                .concat();
        let (code, stdout, stderr) = self.run(sandbox, &args);
        assert_eq!(code, 0, "{stderr}");
        json(&stdout)["access_key_id"].as_str().unwrap().to_owned()
    }
}

fn user(unit: &str) -> String {
    format!("{unit}-bedrock-user")
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args(["-s", name, &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -s {name}");
}

/// Waits for a child and returns its exit code (-1 when a signal ended it) and stderr.
fn finish(child: Child) -> (i32, String, String) {
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn spawn(mut command: Command) -> Child {
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// How stdout fails to take the output in these tests.
#[derive(Debug, Clone, Copy)]
enum Sink {
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose reader is gone before bedprov writes.
    ClosedPipe,
    /// `| head -c 1`: the reader takes one byte of the output and exits.
    HeadOneByte,
}

/// Runs the command with stdout going to `sink`; exit code and stderr.
fn run_into(mut command: Command, sink: Sink) -> (i32, String) {
    command.stderr(Stdio::piped());
    let (code, _, stderr) = match sink {
        Sink::Full => {
            let full = File::options().write(true).open("/dev/full").unwrap();
            finish(command.stdout(full).spawn().unwrap())
        }
        Sink::ClosedPipe => {
            let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
            drop(child.stdout.take());
            finish(child)
        }
        Sink::HeadOneByte => {
            let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
            let head = Command::new("head")
                .args(["-c", "1"])
                .stdin(child.stdout.take().unwrap())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let taken = head.wait_with_output().unwrap();
            assert_eq!(taken.stdout.len(), 1, "head took one byte");
            finish(child)
        }
    };
    (code, stderr)
}

#[test]
fn a_secret_stdout_cannot_take_is_never_left_behind_and_the_exit_code_says_so() {
    let (sandbox, peers) = setup("");
    for (n, sink) in [Sink::Full, Sink::ClosedPipe, Sink::HeadOneByte].into_iter().enumerate() {
        // key create: no key remains, and the message says what happened.
        let unit = format!("lost-create-{n}");
        let command = peers.bedprov(&sandbox, &["key", "create", "--business-unit", &unit]);
        let (code, stderr) = run_into(command, sink);
        assert_eq!(code, 1, "{sink:?}: {stderr}");
        assert!(
            stderr.contains("could not write the new key's secret to stdout")
                && stderr.contains("was deleted again"),
            "{sink:?}: {stderr}"
        );
        let why = match sink {
            Sink::Full => "No space left on device",
            Sink::ClosedPipe => "Broken pipe",
            Sink::HeadOneByte => "",
        };
        assert!(stderr.contains(why), "{sink:?}: {stderr}");
        assert!(peers.keys(&user(&unit)).is_empty(), "{sink:?}: a key was left");
        assert!(
            peers
                .tags(&user(&unit))
                .as_object()
                .unwrap()
                .keys()
                .all(|k| !k.starts_with("bedprov-")),
            "{sink:?}: records left: {}",
            peers.tags(&user(&unit))
        );

        // key rotate --delete-old: the old key stays exactly as it was.
        let unit = format!("lost-rotate-{n}");
        let old = peers.unit_with_key(&sandbox, &unit, &[]);
        let command = peers.bedprov(
            &sandbox,
            &["key", "rotate", "--business-unit", &unit, "--delete-old", "--format", "json"],
        );
        let (code, stderr) = run_into(command, sink);
        assert_eq!(code, 1, "{sink:?}: {stderr}");
        assert!(
            stderr.contains("was deleted again")
                && stderr.contains(&format!("the old key {old} is untouched (active)")),
            "{sink:?}: {stderr}"
        );
        assert_eq!(peers.keys(&user(&unit)), [format!("{old} Active")], "{sink:?}");
    }

    // A Bedrock API key follows the same rule.
    let command = peers
        .bedprov(&sandbox, &["key", "create", "--business-unit", "lost-api", "--kind", "api-key"]);
    let (code, stderr) = run_into(command, Sink::Full);
    assert_eq!(code, 1, "{stderr}");
    assert!(peers.api_keys(&user("lost-api")).is_empty());
}

#[test]
fn sigint_and_sigterm_during_verification_delete_the_new_key_and_the_next_run_completes() {
    let (sandbox, peers) = setup("GetCallerIdentity=600");
    let mut held = 0;
    for (signal_name, code) in [("INT", 130), ("TERM", 143)] {
        // key create, stopped while the new key is being verified.
        let unit = format!("stopped-create-{}", signal_name.to_lowercase());
        let child = spawn(peers.bedprov(&sandbox, &["key", "create", "--business-unit", &unit]));
        held += 1;
        peers.wait_for("GetCallerIdentity", held);
        assert_eq!(peers.keys(&user(&unit)).len(), 1, "the key exists while it is verified");
        signal(&child, signal_name);
        let (exit, stdout, stderr) = finish(child);
        assert_eq!(exit, code, "{stderr}");
        assert!(stdout.is_empty(), "nothing was delivered: {stdout}");
        assert!(
            stderr.contains(&format!(
                "interrupted by SIG{signal_name} before the new key's secret was delivered"
            )) && stderr.contains("was deleted again"),
            "{stderr}"
        );
        assert!(peers.keys(&user(&unit)).is_empty());
        assert!(peers.tags(&user(&unit)).get("bedprov-pending:access-key").is_none());
        // The run completes next time: a key is created, not "already provisioned".
        let (exit, stdout, stderr) = peers.run(
            &sandbox,
            &["key", "create", "--business-unit", &unit, "--no-verify", "--format", "json"],
        );
        assert_eq!(exit, 0, "{stderr}");
        let id = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
        assert_eq!(peers.keys(&user(&unit)), [format!("{id} Active")]);

        // key rotate --delete-old, stopped at the same point: the old key is untouched.
        let unit = format!("stopped-rotate-{}", signal_name.to_lowercase());
        let old = peers.unit_with_key(&sandbox, &unit, &[]);
        let child = spawn(
            peers.bedprov(&sandbox, &["key", "rotate", "--business-unit", &unit, "--delete-old"]),
        );
        held += 1;
        peers.wait_for("GetCallerIdentity", held);
        signal(&child, signal_name);
        let (exit, stdout, stderr) = finish(child);
        assert_eq!(exit, code, "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains(&format!("the old key {old} is untouched (active)")), "{stderr}");
        assert_eq!(peers.keys(&user(&unit)), [format!("{old} Active")]);
    }
}

#[test]
fn a_signal_before_the_new_key_exists_creates_nothing_and_the_next_run_completes() {
    let (sandbox, peers) = setup("ListAccessKeys@1=600 TagUser@1=600");
    // While the user and policy are set up: the signal's default effect, nothing to undo.
    let child = spawn(peers.bedprov(&sandbox, &["key", "create", "--business-unit", "early-int"]));
    peers.wait_for("ListAccessKeys", 1);
    signal(&child, "INT");
    let (exit, stdout, _) = finish(child);
    assert_eq!(exit, -1, "ended by the signal");
    assert!(stdout.is_empty());
    assert!(peers.keys(&user("early-int")).is_empty());

    // While the pending record is written: caught, and nothing was created.
    let child = spawn(peers.bedprov(&sandbox, &["key", "create", "--business-unit", "early-term"]));
    peers.wait_for("TagUser", 1);
    signal(&child, "TERM");
    let (exit, _, stderr) = finish(child);
    assert_eq!(exit, 143, "{stderr}");
    assert!(
        stderr
            .contains("interrupted by SIGTERM before the new key was created: nothing was created"),
        "{stderr}"
    );
    assert!(peers.keys(&user("early-term")).is_empty());
    assert!(!peers.calls().contains("CreateAccessKey"), "{}", peers.calls());

    // The next run completes what the first one started.
    let (exit, stdout, stderr) = peers.run(
        &sandbox,
        &["key", "create", "--business-unit", "early-int", "--no-verify", "--format", "json"],
    );
    assert_eq!(exit, 0, "{stderr}");
    assert_eq!(json(&stdout)["user_created"], false);
    assert_eq!(peers.keys(&user("early-int")).len(), 1);
}

#[test]
fn an_interrupted_bedrock_api_key_is_deleted_too() {
    // Listing the keys comes first; the second list is the new key's verification.
    let (sandbox, peers) = setup("ListServiceSpecificCredentials@2=600");
    let child =
        spawn(peers.bedprov(
            &sandbox,
            &["key", "create", "--business-unit", "api-stop", "--kind", "api-key"],
        ));
    peers.wait_for("ListServiceSpecificCredentials", 2);
    assert_eq!(peers.api_keys(&user("api-stop")).len(), 1);
    signal(&child, "TERM");
    let (exit, _, stderr) = finish(child);
    assert_eq!(exit, 143, "{stderr}");
    assert!(
        stderr.contains("the new Bedrock API key ACCA") && stderr.contains("deleted again"),
        "{stderr}"
    );
    assert!(peers.api_keys(&user("api-stop")).is_empty());
}

#[test]
fn a_signal_while_stdout_waits_for_its_reader_deletes_the_key_it_could_not_hand_over() {
    let (sandbox, peers) = setup("");
    let mut child = spawn(
        peers
            .bedprov(&sandbox, &["key", "create", "--business-unit", "unread", "--format", "json"]),
    );
    let mut stdout = child.stdout.take().unwrap();
    // The output is in the pipe, and nobody has read it yet.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut fds = [rustix::event::PollFd::new(&stdout, rustix::event::PollFlags::IN)];
        let ready = rustix::event::poll(
            &mut fds,
            Some(&rustix::event::Timespec { tv_sec: 0, tv_nsec: 10_000_000 }),
        )
        .unwrap();
        if ready > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "bedprov wrote nothing");
    }
    signal(&child, "TERM");
    let (exit, _, stderr) = finish(child);
    assert_eq!(exit, 143, "{stderr}");
    assert!(
        stderr.contains("interrupted by SIGTERM before the new key's secret was delivered"),
        "{stderr}"
    );
    let mut written = String::new();
    stdout.read_to_string(&mut written).unwrap();
    let id = json(&written)["access_key_id"].as_str().unwrap().to_owned();
    assert!(peers.keys(&user("unread")).is_empty(), "{id} was not deleted");
}

#[test]
fn a_signal_after_delivery_keeps_both_keys_and_says_which_to_remove() {
    let (sandbox, peers) = setup("PutSecretValue=3");
    let (code, stdout, stderr) = peers.run(
        &sandbox,
        &[
            "key",
            "create",
            "--business-unit",
            "fleet-stop",
            "--store",
            "secretsmanager",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let old = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
    let child = spawn(peers.bedprov(&sandbox, &["key", "rotate", "--business-unit", "fleet-stop"]));
    peers.wait_for("PutSecretValue", 1);
    signal(&child, "INT");
    let (exit, _, stderr) = finish(child);
    assert_eq!(exit, 130, "{stderr}");
    let keys = peers.keys(&user("fleet-stop"));
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0], format!("{old} Active"), "the old key was left as it was");
    let new = keys[1].split(' ').next().unwrap();
    assert_eq!(peers.secret_holds("fleet-stop"), new, "the store holds the delivered key");
    assert!(
        stderr.contains(&format!("interrupted by SIGINT after the new key {new} was delivered"))
            && stderr.contains(&format!("--key-id {old}"))
            && !stderr.contains(&format!("--key-id {new}")),
        "{stderr}"
    );
    assert_eq!(
        peers.tags(&user("fleet-stop"))[format!("bedprov-store:{new}")],
        "secretsmanager:bedprov/fleet-stop"
    );
}

#[test]
fn a_key_a_killed_run_left_undelivered_is_found_and_offered_for_removal() {
    // Verification is held forever; a rotation's own verification (the second) is not.
    let (sandbox, peers) = setup("GetCallerIdentity@1=600");
    let child = spawn(peers.bedprov(&sandbox, &["key", "create", "--business-unit", "killed"]));
    peers.wait_for("GetCallerIdentity", 1);
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    let orphan = peers.keys(&user("killed"))[0].split(' ').next().unwrap().to_owned();

    // key list says so and shows how to remove it.
    let (code, listed, _) = peers.run(&sandbox, &["key", "list", "--business-unit", "killed"]);
    assert_eq!(code, 0);
    assert!(
        listed.contains("NOT DELIVERED")
            && listed.contains(&format!(
                "bedprov key delete --business-unit killed --key-id {orphan} --yes"
            )),
        "{listed}"
    );
    let (_, listed, _) =
        peers.run(&sandbox, &["key", "list", "--business-unit", "killed", "--format", "json"]);
    assert_eq!(json(&listed)["users"][0]["keys"][0]["delivered"], false);

    // Without a terminal or --yes the next create stops, naming the key and the way on.
    let (code, stdout, stderr) =
        peers.run(&sandbox, &["key", "create", "--business-unit", "killed", "--no-verify"]);
    assert_eq!(code, 10, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(&orphan) && stderr.contains("nobody holds it") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert_eq!(peers.keys(&user("killed")), [format!("{orphan} Active")]);

    // With --yes it removes the key and completes.
    let (code, stdout, stderr) = peers
        .run(&sandbox, &["key", "create", "--business-unit", "killed", "--no-verify", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("remove undelivered key: deleted IAM access key {orphan}")),
        "{stdout}"
    );
    let keys = peers.keys(&user("killed"));
    assert!(keys.len() == 1 && !keys[0].starts_with(&orphan), "{keys:?}");
    assert!(peers.tags(&user("killed")).get("bedprov-pending:access-key").is_none());
}

#[test]
fn a_rotation_killed_half_way_never_gets_the_held_key_named_for_deletion() {
    let (sandbox, peers) = setup("GetCallerIdentity@1=600");
    let held = peers.unit_with_key(&sandbox, "rotkill", &[]);
    let mut child =
        spawn(peers.bedprov(&sandbox, &["key", "rotate", "--business-unit", "rotkill"]));
    peers.wait_for("GetCallerIdentity", 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let keys = peers.keys(&user("rotkill"));
    assert_eq!(keys.len(), 2, "{keys:?}");
    let orphan = keys[1].split(' ').next().unwrap().to_owned();

    // The next rotation names the orphan, never the key the user holds.
    let (code, _, stderr) = peers.run(&sandbox, &["key", "rotate", "--business-unit", "rotkill"]);
    assert_eq!(code, 10, "{stderr}");
    assert!(stderr.contains(&format!("--key-id {orphan}")), "{stderr}");
    assert!(!stderr.contains(&format!("--key-id {held}")), "{stderr}");

    // With --yes (here through a plain-language request, which passes it on) it removes the
    // orphan and rotates the held key.
    let (code, stdout, stderr) = peers
        .run(&sandbox, &["request", "rotate the key for rotkill", "--yes", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let new = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
    assert_eq!(peers.keys(&user("rotkill")), [format!("{held} Inactive"), format!("{new} Active")]);
}

#[test]
fn a_run_killed_before_it_could_record_the_new_key_id_is_still_recognised() {
    // The second tag is the one naming the new key: held forever, then killed.
    let (sandbox, peers) = setup("TagUser@2=600");
    let mut child = spawn(peers.bedprov(&sandbox, &["key", "create", "--business-unit", "early"]));
    peers.wait_for("TagUser", 2);
    child.kill().unwrap();
    child.wait().unwrap();
    let orphan = peers.keys(&user("early"))[0].split(' ').next().unwrap().to_owned();
    assert_eq!(peers.tags(&user("early"))["bedprov-pending:access-key"], "creating after none");
    let (_, listed, _) = peers.run(&sandbox, &["key", "list", "--business-unit", "early"]);
    assert!(listed.contains(&orphan) && listed.contains("NOT DELIVERED"), "{listed}");
}

#[test]
fn a_prompt_on_a_terminal_offers_the_removal() {
    let (sandbox, peers) = setup("GetCallerIdentity@1=600");
    let mut child = spawn(peers.bedprov(&sandbox, &["key", "create", "--business-unit", "asked"]));
    peers.wait_for("GetCallerIdentity", 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let orphan = peers.keys(&user("asked"))[0].split(' ').next().unwrap().to_owned();
    // `script` gives bedprov a terminal; the answer is typed into it.
    let on_terminal = |answer: &str| {
        let inner =
            peers.bedprov(&sandbox, &["key", "create", "--business-unit", "asked", "--no-verify"]);
        let line = std::iter::once(inner.get_program())
            .chain(inner.get_args())
            .map(|a| format!("'{}'", a.to_str().unwrap()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut script = sandbox.command("script");
        script.args(["-qec", &line, "/dev/null"]);
        for (key, value) in inner.get_envs() {
            if let Some(value) = value {
                script.env(key, value);
            }
        }
        let mut child = script
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, answer.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        drop(stdin);
        (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (code, shown) = on_terminal("n\n");
    assert_eq!(code, 10, "{shown}");
    assert!(
        shown.contains(&format!("{orphan} (created")) && shown.contains("Delete it? [Y/n]"),
        "{shown}"
    );
    assert_eq!(peers.keys(&user("asked")).len(), 1);
    let (code, shown) = on_terminal("y\n");
    assert_eq!(code, 0, "{shown}");
    let keys = peers.keys(&user("asked"));
    assert!(keys.len() == 1 && !keys[0].starts_with(&orphan), "{keys:?}");
}

#[test]
fn rotation_writes_the_new_key_into_the_units_store_before_retiring_the_old() {
    let (sandbox, peers) = setup("");
    let (code, stdout, stderr) = peers.run(
        &sandbox,
        &[
            "key",
            "create",
            "--business-unit",
            "fleet",
            "--store",
            "secretsmanager",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let old = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
    assert_eq!(
        peers.tags(&user("fleet"))[format!("bedprov-store:{old}")],
        "secretsmanager:bedprov/fleet"
    );

    // Told another store: refused, with the one that is right.
    let (code, _, stderr) =
        peers.run(&sandbox, &["key", "rotate", "--business-unit", "fleet", "--store", "print"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("kept in AWS Secrets Manager secret `bedprov/fleet`")
            && stderr.contains("--store secretsmanager"),
        "{stderr}"
    );
    assert_eq!(peers.keys(&user("fleet")), [format!("{old} Active")]);

    // Not told: the unit's store.
    let before = peers.calls().lines().count();
    let (code, stdout, stderr) =
        peers.run(&sandbox, &["key", "rotate", "--business-unit", "fleet"]);
    assert_eq!(code, 0, "{stderr}");
    let keys = peers.keys(&user("fleet"));
    let new = keys[1].split(' ').next().unwrap().to_owned();
    assert_eq!(keys, [format!("{old} Inactive"), format!("{new} Active")]);
    assert_eq!(peers.secret_holds("fleet"), new);
    assert!(!stdout.contains("AWS_SECRET_ACCESS_KEY"), "{stdout}");
    assert!(
        stdout.contains("bedprov key rotate --business-unit fleet --store secretsmanager"),
        "the rotation instructions carry the store: {stdout}"
    );
    let calls: Vec<String> = peers.calls().lines().skip(before).map(str::to_owned).collect();
    let at = |action: &str| {
        calls.iter().position(|c| c == action).unwrap_or_else(|| panic!("no {action}: {calls:?}"))
    };
    assert!(at("GetSecretValue") < at("CreateAccessKey"), "the store was checked first: {calls:?}");
    assert!(at("PutSecretValue") < at("UpdateAccessKey"), "stored before retiring: {calls:?}");

    // A secret that vanished: refused, the key untouched.
    let (code, _, stderr) = peers
        .run(&sandbox, &["key", "delete", "--business-unit", "fleet", "--key-id", &old, "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        peers.tags(&user("fleet")).get(format!("bedprov-store:{old}")).is_none(),
        "its record went with it"
    );
    peers.aws.boto("sm = boto3.client('secretsmanager', **kw)\nsm.delete_secret(SecretId='bedprov/fleet', ForceDeleteWithoutRecovery=True)");
    let (code, _, stderr) = peers.run(&sandbox, &["key", "rotate", "--business-unit", "fleet"]);
    assert_eq!(code, 9, "{stderr}");
    assert!(stderr.contains("`bedprov/fleet`") && stderr.contains("does not exist"), "{stderr}");
    assert_eq!(peers.keys(&user("fleet")), [format!("{new} Active")]);
}

#[test]
fn keys_made_before_stores_were_recorded_are_found_in_their_store() {
    let (sandbox, peers) = setup("");
    let (code, stdout, _) = peers.run(
        &sandbox,
        &[
            "key",
            "create",
            "--business-unit",
            "legacy-sm",
            "--store",
            "secretsmanager",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    let old = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
    peers.aws.boto(&format!(
        "iam = boto3.client('iam', **kw)\niam.untag_user(UserName='legacy-sm-bedrock-user', TagKeys=['bedprov-store:{old}'])"
    ));
    let (code, _, stderr) = peers.run(&sandbox, &["key", "rotate", "--business-unit", "legacy-sm"]);
    assert_eq!(code, 0, "{stderr}");
    let new = peers.keys(&user("legacy-sm"))[1].split(' ').next().unwrap().to_owned();
    assert_eq!(peers.secret_holds("legacy-sm"), new);
}

#[test]
fn rotation_of_a_keyring_unit_stores_the_new_key_in_the_keyring() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "run the tests with scripts/test: it starts a Secret Service on a private D-Bus session"
    );
    let (sandbox, peers) = setup("");
    let (code, stdout, stderr) = peers.run(
        &sandbox,
        &["key", "create", "--business-unit", "desk", "--store", "keyring", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let old = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
    let (code, stdout, stderr) = peers.run(
        &sandbox,
        &["key", "rotate", "--business-unit", "desk", "--delete-old", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    let new = body["access_key_id"].as_str().unwrap().to_owned();
    assert!(body["secret_access_key"].is_null());
    assert!(body["stored_in"].as_str().unwrap().contains(&format!("desk-bedrock-user/{new}")));
    let lookup = |id: &str| {
        let mut command = sandbox.command("secret-tool");
        command.args([
            "lookup",
            "service",
            "bedprov",
            "username",
            &format!("desk-bedrock-user/{id}"),
        ]);
        run(&mut command)
    };
    let (code, stored, _) = lookup(&new);
    assert_eq!(code, 0);
    assert_eq!(json(&stored)["AccessKeyId"], new.as_str());
    assert_ne!(lookup(&old).0, 0, "the deleted key's entry is gone");
    assert_eq!(peers.keys(&user("desk")), [format!("{new} Active")]);
}

#[test]
fn a_secret_scheduled_for_deletion_is_restored_before_a_key_goes_into_it() {
    let (sandbox, peers) = setup("");
    let create = [
        "key",
        "create",
        "--business-unit",
        "phoenix",
        "--store",
        "secretsmanager",
        "--format",
        "json",
    ];
    assert_eq!(peers.run(&sandbox, &create).0, 0);
    let (code, _, stderr) =
        peers.run(&sandbox, &["key", "delete", "--business-unit", "phoenix", "--user", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    let deleted = "sm = boto3.client('secretsmanager', **kw)\nprint(json.dumps('DeletedDate' in sm.describe_secret(SecretId='bedprov/phoenix')))";
    assert_eq!(json(&peers.aws.boto(deleted)), true);

    let (code, stdout, stderr) = peers.run(
        &sandbox,
        &["key", "create", "--business-unit", "phoenix", "--store", "secretsmanager"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "restore secret: Secrets Manager secret `bedprov/phoenix` was scheduled for deletion"
        ),
        "{stdout}"
    );
    assert_eq!(json(&peers.aws.boto(deleted)), false, "restored");
    let id = peers.keys(&user("phoenix"))[0].split(' ').next().unwrap().to_owned();
    assert_eq!(peers.secret_holds("phoenix"), id);
    assert!(
        peers.calls().find("RestoreSecret") < peers.calls().rfind("CreateAccessKey"),
        "restored before the key was made"
    );

    // Rotation restores it too, rather than writing into a secret about to be destroyed.
    peers.aws.boto("sm = boto3.client('secretsmanager', **kw)\nsm.delete_secret(SecretId='bedprov/phoenix', RecoveryWindowInDays=7)");
    let (code, stdout, stderr) =
        peers.run(&sandbox, &["key", "rotate", "--business-unit", "phoenix"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("restored it"), "{stdout}");
    assert_eq!(json(&peers.aws.boto(deleted)), false);
    let new = peers.keys(&user("phoenix"))[1].split(' ').next().unwrap().to_owned();
    assert_eq!(peers.secret_holds("phoenix"), new);
}

#[test]
fn a_store_that_refuses_the_new_key_leaves_no_new_key_and_the_old_one_in_place() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let log = sandbox.dir.path().join("aws-calls.log");
    let peers = Peers {
        aws: AwsPeers::start_with(&[
            ("FAKE_LOG", log.to_str().unwrap()),
            ("FAKE_DENY", "PutSecretValue"),
        ]),
        log,
    };
    let (code, stdout, stderr) = peers.run(
        &sandbox,
        &[
            "key",
            "create",
            "--business-unit",
            "down",
            "--store",
            "secretsmanager",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let old = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
    let (code, stdout, stderr) =
        peers.run(&sandbox, &["key", "rotate", "--business-unit", "down", "--delete-old"]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("secretsmanager:PutSecretValue")
            && stderr.contains("was deleted again")
            && stderr.contains(&format!(
                "the old key {old} is untouched (active) and AWS Secrets Manager secret `bedprov/down` still holds it"
            )),
        "{stderr}"
    );
    assert_eq!(peers.keys(&user("down")), [format!("{old} Active")]);
    assert_eq!(peers.secret_holds("down"), old);
}
