//! Long-term credentials against moto (IAM, STS, Secrets Manager) and the local stand-in for
//! what moto lacks (Bedrock API keys, ListFoundationModels): idempotent creation, the
//! two-key limit, rotation with verification, deletion, adoption, every storage, `check`.

mod common;

use common::{AwsPeers, Sandbox, json, run};

fn setup() -> (AwsPeers, Sandbox) {
    let peers = AwsPeers::start();
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    (peers, sandbox)
}

fn bedprov(peers: &AwsPeers, sandbox: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let mut command = sandbox.bedprov(args);
    peers.apply(&mut command);
    run(&mut command)
}

fn iam_state(peers: &AwsPeers, user: &str) -> serde_json::Value {
    json(&peers.boto(&format!(
        "iam = boto3.client('iam', **kw)\nu = '{user}'\ntry:\n    iam.get_user(UserName=u)\nexcept iam.exceptions.NoSuchEntityException:\n    print(json.dumps(None)); raise SystemExit\ntags = {{t['Key']: t['Value'] for t in iam.list_user_tags(UserName=u)['Tags']}}\npolicies = [p['PolicyArn'] for p in iam.list_attached_user_policies(UserName=u)['AttachedPolicies']]\nkeys = [{{'id': k['AccessKeyId'], 'status': k['Status']}} for k in iam.list_access_keys(UserName=u)['AccessKeyMetadata']]\nusers = [x['UserName'] for x in iam.list_users()['Users']]\nprint(json.dumps(dict(tags=tags, policies=policies, keys=keys, users=users)))"
    )))
}

#[test]
fn create_is_idempotent_with_tags_policy_and_a_verified_key() {
    let (peers, sandbox) = setup();
    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &[
            "key",
            "create",
            "--business-unit",
            "Marketing Team",
            "--owner",
            "jane@corp.com",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    assert_eq!(body["business_unit"], "marketing-team");
    assert_eq!(body["user_name"], "marketing-team-bedrock-user");
    assert_eq!(body["user_created"], true);
    assert_eq!(body["policy_arn"], "arn:aws:iam::aws:policy/AmazonBedrockFullAccess");
    assert_eq!(body["kind"], "access-key");
    assert_eq!(body["verified"], true);
    assert!(body["secret_access_key"].as_str().unwrap().len() >= 20);
    assert!(
        body["api_key"].is_null() && body["expires_at"].is_null() && body["stored_in"].is_null()
    );
    let key_id = body["access_key_id"].as_str().unwrap().to_owned();

    let state = iam_state(&peers, "marketing-team-bedrock-user");
    assert_eq!(state["tags"]["business-unit"], "marketing-team");
    assert_eq!(state["tags"]["purpose"], "bedrock");
    assert_eq!(state["tags"]["owner"], "jane@corp.com");
    assert_eq!(state["tags"]["created-by"], "bedprov");

    // Again, without a terminal: nothing new, exit 0, no secret anywhere.
    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &["key", "create", "--business-unit", "marketing team", "--owner", "jane@corp.com"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("already provisioned"), "{stdout}");
    assert!(stdout.contains(&key_id));
    let again = iam_state(&peers, "marketing-team-bedrock-user");
    assert_eq!(
        again["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| *u == "marketing-team-bedrock-user")
            .count(),
        1
    );
    assert_eq!(again["policies"].as_array().unwrap().len(), 1);
    assert_eq!(again["keys"].as_array().unwrap().len(), 1);
    assert_eq!(again["tags"], state["tags"]);
}

#[test]
fn human_and_markdown_output_show_the_secret_once_with_the_seed_sections() {
    let (peers, sandbox) = setup();
    let (code, human, _) = bedprov(
        &peers,
        &sandbox,
        &["key", "create", "--business-unit", "ci-cd", "--region", "eu-west-1"],
    );
    assert_eq!(code, 0);
    assert!(human.starts_with("✓ Bedrock IAM access keys created for ci-cd"));
    for section in [
        "CRITICAL: Save these credentials now",
        "## Quick Setup (copy/paste)",
        "## Test Command",
        "## Security Reminder",
        "Rotate every 30-90 days",
        "## Rotation Instructions",
        "## Cost Tracking",
        "- business-unit: ci-cd",
        "export AWS_REGION='eu-west-1'",
        "export AWS_DEFAULT_REGION='eu-west-1'",
    ] {
        assert!(human.contains(section), "missing {section}:\n{human}");
    }
    // boto3 reads only AWS_DEFAULT_REGION: after the snippet, a client has the key's region.
    let snippet: Vec<&str> = human.lines().filter(|l| l.starts_with("export ")).collect();
    let script = format!(
        "{}\n\"$0\" -c 'import boto3; print(boto3.client(\"sts\").meta.region_name)'",
        snippet.join("\n")
    );
    let mut boto3 = sandbox.command("sh");
    boto3.arg("-c").arg(script).arg(common::python());
    let (code, region, stderr) = run(&mut boto3);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(region.trim(), "eu-west-1");
    let secret_line =
        human.lines().find(|l| l.starts_with("export AWS_SECRET_ACCESS_KEY=")).unwrap();
    let secret =
        secret_line.trim_start_matches("export AWS_SECRET_ACCESS_KEY='").trim_end_matches('\'');
    assert_eq!(human.matches(secret).count(), 1, "the secret appears once");

    let (code, markdown, _) = bedprov(
        &peers,
        &sandbox,
        &["key", "create", "--business-unit", "docs", "--format", "markdown"],
    );
    assert_eq!(code, 0);
    assert!(
        markdown.contains("**IAM User:** docs-bedrock-user")
            && markdown.contains("```bash\nexport AWS_ACCESS_KEY_ID="),
        "{markdown}"
    );
}

#[test]
fn at_most_two_keys_and_rotation_verifies_before_retiring() {
    let (peers, sandbox) = setup();
    let create = |extra: &[&str]| {
        bedprov(
            &peers,
            &sandbox,
            &[&["key", "create", "--business-unit", "data-science", "--format", "json"], extra]
                .concat(),
        )
    };
    let first = json(&create(&[]).1);
    let second = create(&["--additional"]);
    assert_eq!(second.0, 0, "{}", second.2);
    let (code, _, stderr) = create(&["--additional"]);
    assert_eq!(code, 11, "{stderr}");
    assert!(
        stderr.contains("limit of two")
            && stderr.contains("bedprov key delete --business-unit data-science --key-id"),
        "{stderr}"
    );

    // Rotation refuses at the limit, with guidance.
    let (code, _, stderr) =
        bedprov(&peers, &sandbox, &["key", "rotate", "--business-unit", "data-science"]);
    assert_eq!(code, 11, "{stderr}");
    let second_id = json(&second.1)["access_key_id"].as_str().unwrap().to_owned();
    let (code, _, stderr) = bedprov(
        &peers,
        &sandbox,
        &["key", "delete", "--business-unit", "data-science", "--key-id", &second_id, "--yes"],
    );
    assert_eq!(code, 0, "{stderr}");

    let (code, stdout, stderr) =
        bedprov(&peers, &sandbox, &["key", "rotate", "--business-unit", "data-science"]);
    assert_eq!(code, 0, "{stderr}");
    let old_id = first["access_key_id"].as_str().unwrap();
    assert!(
        stdout.contains("rotated for data-science")
            && stdout.contains(&format!("{old_id} deactivated")),
        "{stdout}"
    );
    assert!(stdout.contains("Verified: yes"));
    let keys = iam_state(&peers, "data-science-bedrock-user")["keys"].clone();
    let status = |id: &str| {
        keys.as_array().unwrap().iter().find(|k| k["id"] == id).map(|k| k["status"].clone())
    };
    assert_eq!(status(old_id), Some("Inactive".into()));
    assert_eq!(keys.as_array().unwrap().iter().filter(|k| k["status"] == "Active").count(), 1);

    // --delete-old removes the old one instead (after deleting the inactive key to make room).
    bedprov(
        &peers,
        &sandbox,
        &["key", "delete", "--business-unit", "data-science", "--key-id", old_id, "--yes"],
    );
    let (code, stdout, _) = bedprov(
        &peers,
        &sandbox,
        &["key", "rotate", "--business-unit", "data-science", "--delete-old", "--format", "json"],
    );
    assert_eq!(code, 0);
    let new_id = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
    let keys = iam_state(&peers, "data-science-bedrock-user")["keys"].clone();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["id"], new_id.as_str());
}

#[test]
fn delete_needs_confirmation_and_user_deletion_cleans_up() {
    let (peers, sandbox) = setup();
    bedprov(
        &peers,
        &sandbox,
        &["key", "create", "--business-unit", "ops", "--store", "secretsmanager"],
    );
    bedprov(&peers, &sandbox, &["key", "create", "--business-unit", "ops", "--kind", "api-key"]);
    let (code, _, stderr) =
        bedprov(&peers, &sandbox, &["key", "delete", "--business-unit", "ops", "--user"]);
    assert_eq!(code, 10, "no terminal, no --yes: {stderr}");
    assert!(stderr.contains("--yes"));
    assert!(!iam_state(&peers, "ops-bedrock-user").is_null(), "nothing was deleted");

    let (code, stdout, stderr) =
        bedprov(&peers, &sandbox, &["key", "delete", "--business-unit", "ops", "--user", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    for step in [
        "deleted IAM access key",
        "deleted Bedrock API key",
        "detached arn:aws:iam::aws:policy/AmazonBedrockFullAccess",
        "deleted IAM user ops-bedrock-user",
        "bedprov/ops",
    ] {
        assert!(stdout.contains(step), "missing {step}: {stdout}");
    }
    assert!(iam_state(&peers, "ops-bedrock-user").is_null());
    let (code, _, stderr) =
        bedprov(&peers, &sandbox, &["key", "delete", "--business-unit", "ops", "--user", "--yes"]);
    assert_eq!(code, 9, "{stderr}");
}

#[test]
fn users_bedprov_did_not_make_are_left_alone_unless_adopted() {
    let (peers, sandbox) = setup();
    peers.boto("iam = boto3.client('iam', **kw)\niam.create_user(UserName='legacy-bedrock-user', Tags=[{'Key': 'team', 'Value': 'x'}])");
    let (code, _, stderr) =
        bedprov(&peers, &sandbox, &["key", "create", "--business-unit", "legacy"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("was not created by bedprov") && stderr.contains("--adopt"),
        "{stderr}"
    );
    let untouched = iam_state(&peers, "legacy-bedrock-user");
    assert_eq!(untouched["tags"], serde_json::json!({"team": "x"}));
    assert!(
        untouched["policies"].as_array().unwrap().is_empty()
            && untouched["keys"].as_array().unwrap().is_empty()
    );

    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &["key", "create", "--business-unit", "legacy", "--adopt", "--policy", "limited"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("adopted existing IAM user legacy-bedrock-user"));
    let adopted = iam_state(&peers, "legacy-bedrock-user");
    assert_eq!(adopted["tags"]["managed-by"], "bedprov");
    assert!(adopted["tags"].get("created-by").is_none(), "adoption does not claim creation");
    assert_eq!(adopted["policies"][0], "arn:aws:iam::aws:policy/AmazonBedrockLimitedAccess");
}

#[test]
fn long_term_bedrock_api_keys() {
    let (peers, sandbox) = setup();
    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &[
            "key",
            "create",
            "--business-unit",
            "chatbot",
            "--kind",
            "api-key",
            "--age-days",
            "10",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    assert_eq!(body["kind"], "api-key");
    assert!(body["api_key"].as_str().unwrap().starts_with("ABSK"));
    assert!(body["access_key_id"].is_null() && body["secret_access_key"].is_null());
    let expires = common::epoch(body["expires_at"].as_str().unwrap());
    assert!((expires - (common::now_epoch() + 10 * 86400)).abs() < 120);
    assert_eq!(body["verified"], true);
    let (code, _, stderr) = bedprov(
        &peers,
        &sandbox,
        &["key", "create", "--business-unit", "chatbot", "--kind", "api-key", "--age-days", "0"],
    );
    assert_eq!(code, 2, "{stderr}");

    let (code, listed, _) = bedprov(&peers, &sandbox, &["key", "list", "--format", "json"]);
    assert_eq!(code, 0);
    let listed = json(&listed);
    assert_eq!(listed["users"][0]["user_name"], "chatbot-bedrock-user");
    assert_eq!(listed["users"][0]["keys"][0]["kind"], "api-key");
    assert_eq!(listed["users"][0]["keys"][0]["rotation_due"], false);
    let (_, human, _) = bedprov(&peers, &sandbox, &["key", "list"]);
    assert!(human.contains("Bedrock API key ACCA") && human.contains("active"), "{human}");
}

#[test]
fn the_api_key_test_command_keeps_the_key_off_every_command_line() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let log = sandbox.dir.path().join("calls.log");
    let peers = AwsPeers::start_with(&[("FAKE_LOG", log.to_str().unwrap())]);
    let (code, human, stderr) = bedprov(
        &peers,
        &sandbox,
        &["key", "create", "--business-unit", "curl-test", "--kind", "api-key"],
    );
    assert_eq!(code, 0, "{stderr}");
    let key = human
        .lines()
        .find_map(|l| l.strip_prefix("export AWS_BEARER_TOKEN_BEDROCK='"))
        .unwrap()
        .trim_end_matches('\'')
        .to_owned();
    assert!(
        human.contains("export AWS_REGION='us-east-1'\nexport AWS_DEFAULT_REGION='us-east-1'\n"),
        "both region names: {human}"
    );
    let test = human.lines().skip_while(|l| *l != "## Test Command").nth(1).unwrap();
    // printf is a shell builtin: the one program started, curl, gets the key on its stdin.
    let (feed, curl) = test.split_once(" | ").unwrap();
    assert_eq!(feed, "printf 'Authorization: Bearer %s\\n' \"$AWS_BEARER_TOKEN_BEDROCK\"");
    assert!(curl.starts_with("curl -sS -H @- ") && !curl.contains("BEARER"), "{curl}");

    // It works, in sh and in bash, pointed at the local Bedrock stand-in.
    let local = test.replace("https://bedrock.us-east-1.amazonaws.com", &peers.fake.endpoint);
    for shell in ["sh", "bash"] {
        let mut command = sandbox.command(shell);
        command.args(["-c", &local]).env("AWS_BEARER_TOKEN_BEDROCK", &key);
        let (code, stdout, stderr) = run(&mut command);
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(stdout.contains("anthropic.claude-test-sonnet-v1:0"), "{shell}: {stdout}");
    }
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.matches(&format!("auth=Bearer {key}\n")).count(), 2, "{calls}");
}

#[test]
fn secrets_manager_holds_the_secret_and_stdout_does_not() {
    let (peers, sandbox) = setup();
    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &[
            "key",
            "create",
            "--business-unit",
            "fleet",
            "--owner",
            "ops@corp.com",
            "--store",
            "secretsmanager",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    assert!(body["secret_access_key"].is_null());
    assert!(body["stored_in"].as_str().unwrap().contains("bedprov/fleet"));
    let stored = json(&peers.boto("sm = boto3.client('secretsmanager', **kw)\nv = sm.get_secret_value(SecretId='bedprov/fleet')\nd = sm.describe_secret(SecretId='bedprov/fleet')\nprint(json.dumps(dict(value=json.loads(v['SecretString']), tags={t['Key']: t['Value'] for t in d['Tags']})))"));
    assert_eq!(stored["value"]["AccessKeyId"], body["access_key_id"]);
    assert_eq!(stored["value"]["Version"], 1);
    assert!(!stdout.contains(stored["value"]["SecretAccessKey"].as_str().unwrap()));
    assert_eq!(stored["tags"]["owner"], "ops@corp.com");
    assert_eq!(stored["tags"]["business-unit"], "fleet");
    let tag_keys: Vec<&String> = stored["tags"].as_object().unwrap().keys().collect();
    assert!(tag_keys.iter().all(|key| !key.starts_with("bedprov-")), "{tag_keys:?}");

    // Rotation writes the new key into the same secret.
    let (code, rotated, _) = bedprov(
        &peers,
        &sandbox,
        &[
            "key",
            "rotate",
            "--business-unit",
            "fleet",
            "--store",
            "secretsmanager",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    let latest = json(&peers.boto("sm = boto3.client('secretsmanager', **kw)\nprint(sm.get_secret_value(SecretId='bedprov/fleet')['SecretString'])"));
    assert_eq!(latest["AccessKeyId"], json(&rotated)["access_key_id"]);
}

#[test]
fn keyring_storage_uses_the_secret_service_and_fails_fast_without_one() {
    let (peers, sandbox) = setup();
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "run the tests with scripts/test: it starts a Secret Service on a private D-Bus session"
    );
    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &["key", "create", "--business-unit", "laptop", "--store", "keyring", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    assert!(body["secret_access_key"].is_null());
    let key_id = body["access_key_id"].as_str().unwrap();
    let account = format!("laptop-bedrock-user/{key_id}");
    assert!(body["stored_in"].as_str().unwrap().contains(&account));
    let mut lookup = sandbox.command("secret-tool");
    lookup.args(["lookup", "service", "bedprov", "username", &account]);
    let (code, stored, stderr) = run(&mut lookup);
    assert_eq!(code, 0, "secret-tool: {stderr}");
    let stored = json(&stored);
    assert_eq!(stored["AccessKeyId"], key_id);
    assert!(!stdout.contains(stored["SecretAccessKey"].as_str().unwrap()));

    // No Secret Service reachable: a clear error, and nothing was created in AWS.
    let mut command =
        sandbox.bedprov(&["key", "create", "--business-unit", "nokeyring", "--store", "keyring"]);
    peers.apply(&mut command);
    command.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let (code, stdout, stderr) = run(&mut command);
    assert_ne!(code, 0);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("no OS keyring is available") && stderr.contains("--store secretsmanager"),
        "{stderr}"
    );
    assert!(iam_state(&peers, "nokeyring-bedrock-user").is_null());
}

#[test]
fn check_reports_identity_models_from_aws_and_the_token_self_check() {
    let (peers, sandbox) = setup();
    let (code, stdout, stderr) = bedprov(&peers, &sandbox, &["check", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let report = json(&stdout);
    assert_eq!(report["ok"], true);
    assert_eq!(report["identity"]["account"], "123456789012");
    assert_eq!(report["credential_source"], "static_keys");
    let ids: Vec<&str> = report["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "anthropic.claude-test-haiku-v1:0",
            "anthropic.claude-test-legacy-v1:0",
            "anthropic.claude-test-sonnet-v1:0"
        ]
    );
    assert_eq!(report["token"]["region"], "us-east-1");
    let (_, human, _) = bedprov(&peers, &sandbox, &["check"]);
    assert!(
        human.contains("✓ Identity:")
            && human.contains("Signed by: profile default (access keys)")
            && human.contains("anthropic.claude-test-legacy-v1:0 (LEGACY)"),
        "{human}"
    );

    let denied = AwsPeers::start_with(&[("FAKE_BEDROCK_DENY", "1")]);
    let (code, human, _) = bedprov(&denied, &sandbox, &["check"]);
    assert_eq!(code, 5);
    assert!(human.contains("✗ Claude models: AWS denied bedrock:ListFoundationModels"), "{human}");
    assert!(human.contains("no model list is shown") && !human.contains("anthropic."), "{human}");
}

#[test]
fn bad_names_and_emails_are_refused_before_any_call() {
    let (peers, sandbox) = setup();
    for (args, needle) in [
        (vec!["--business-unit", "$( / )"], "needs a name with a letter or digit"),
        (vec!["--business-unit", &*"x".repeat(60)], "at most 51"),
        (vec!["--business-unit", "ok", "--owner", "not-an-email"], "not an email address"),
        (vec!["--business-unit", "ok", "--policy", "admin"], "not a policy choice"),
    ] {
        let (code, stdout, stderr) =
            bedprov(&peers, &sandbox, &[&["key", "create"], &args[..]].concat());
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty() && stderr.contains(needle), "{stderr}");
    }
    assert!(iam_state(&peers, "ok-bedrock-user").is_null());
}

/// What IAM refuses in a user name becomes a hyphen, and the unit is said before any call;
/// `bedprov request` reads the same name into the same unit.
#[test]
fn units_iam_would_refuse_are_normalised_and_named_before_anything_is_made() {
    let (peers, sandbox) = setup();
    for (typed, unit) in [
        ("Sales & Marketing", "sales-marketing"),
        ("EMEA/Support", "emea-support"),
        ("team$(rm -rf /)", "team-rm-rf"),
    ] {
        let (code, stdout, stderr) = bedprov(
            &peers,
            &sandbox,
            &["key", "create", "--business-unit", typed, "--format", "json"],
        );
        assert_eq!(code, 0, "{typed}: {stderr}");
        let user = format!("{unit}-bedrock-user");
        assert!(
            stderr.starts_with(&format!(
                "note: \"{typed}\" is business unit {unit} (IAM user {user})\n"
            )),
            "{typed}: {stderr}"
        );
        let created = json(&stdout);
        assert_eq!(
            (&created["business_unit"], &created["user_name"]),
            (&unit.into(), &user.as_str().into())
        );
        assert_eq!(iam_state(&peers, &user)["tags"]["business-unit"], unit);
    }
    // The unit as bedprov writes it needs no note.
    let (code, _, stderr) =
        bedprov(&peers, &sandbox, &["key", "list", "--business-unit", "sales-marketing"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    // The same name in plain words: the plan shows the unit first, and it is the same user.
    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &["request", "Bedrock key for Sales & Marketing", "--yes", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.starts_with("Plan: create a long-term Bedrock key for sales-marketing\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Business unit: sales-marketing (IAM user sales-marketing-bedrock-user)")
    );
    assert_eq!(json(&stdout)["user_created"], false, "{stdout}");
}

#[test]
fn a_run_interrupted_after_the_user_was_created_completes_next_time() {
    let (peers, sandbox) = setup();
    // What an interrupted run leaves: the tagged user, no policy, no key.
    peers.boto("iam = boto3.client('iam', **kw)\niam.create_user(UserName='batch-bedrock-user', Tags=[{'Key': 'created-by', 'Value': 'bedprov'}, {'Key': 'business-unit', 'Value': 'batch'}, {'Key': 'purpose', 'Value': 'bedrock'}])");
    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &["key", "create", "--business-unit", "batch", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    assert_eq!(body["user_created"], false);
    let state = iam_state(&peers, "batch-bedrock-user");
    assert_eq!(state["policies"].as_array().unwrap().len(), 1);
    assert_eq!(state["keys"][0]["id"], body["access_key_id"]);
}

#[test]
fn plain_language_requests_create_and_rotate_through_the_key_commands() {
    let (peers, sandbox) = setup();
    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &[
            "request",
            "Bedrock key for Marketing Team, owner: jane@corp.com, in eu-west-1",
            "--yes",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Equivalent: bedprov key create --business-unit marketing-team"),
        "{stderr}"
    );
    let created = json(&stdout);
    assert_eq!(created["user_name"], "marketing-team-bedrock-user");
    assert_eq!(created["verified"], true);
    assert_eq!(iam_state(&peers, "marketing-team-bedrock-user")["tags"]["owner"], "jane@corp.com");

    let (code, stdout, stderr) = bedprov(
        &peers,
        &sandbox,
        &["request", "rotate the key for marketing-team", "--yes", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let rotated = json(&stdout);
    assert_ne!(rotated["access_key_id"], created["access_key_id"]);
    let keys = iam_state(&peers, "marketing-team-bedrock-user")["keys"].clone();
    let old =
        keys.as_array().unwrap().iter().find(|k| k["id"] == created["access_key_id"]).unwrap();
    assert_eq!(old["status"], "Inactive");
}
