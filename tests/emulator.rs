//! bedprov against moto alone, as docs/keys.md's "Trying `bedprov key` against an emulator"
//! section runs it: access keys work end to end; what moto lacks (IAM service-specific
//! credentials, Bedrock's ListFoundationModels) is skipped with a note where it is only one
//! part of a command, refused before anything is created where it is the whole command,
//! and every call answered without an AWS error names the call and what to do.

mod common;

use common::{Moto, Sandbox, json, run};

const AWS: i32 = 5;

/// bedprov in the README's throwaway shell: the endpoint and made-up keys in the
/// environment.
fn bedprov(moto: &Moto, sandbox: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let mut command = sandbox.bedprov(args);
    command
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    run(&mut command)
}

fn user_exists(moto: &Moto, user: &str) -> bool {
    let answer = moto.boto(&format!(
        "iam = boto3.client('iam', **kw)\ntry:\n    iam.get_user(UserName='{user}'); print('yes')\nexcept iam.exceptions.NoSuchEntityException:\n    print('no')"
    ));
    answer.trim() == "yes"
}

fn setup() -> (Moto, Sandbox) {
    (Moto::start(), Sandbox::new())
}

#[test]
fn key_commands_work_against_moto_and_skip_bedrock_api_keys_with_a_note() {
    let (moto, sandbox) = setup();
    let (code, stdout, stderr) = bedprov(
        &moto,
        &sandbox,
        &["key", "create", "--business-unit", "Sales & Marketing", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let created = json(&stdout);
    assert_eq!(created["verified"], true);
    let key_id = created["access_key_id"].as_str().unwrap().to_owned();

    // The listing shows the access key, and says why Bedrock API keys are not there.
    let (code, human, stderr) = bedprov(&moto, &sandbox, &["key", "list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(human.contains(&format!("IAM access key {key_id} · active")), "{human}");
    assert!(
        human.contains("Note: Bedrock API keys not listed: iam:ListServiceSpecificCredentials failed: the endpoint answered HTTP 500 with no AWS error code or message"),
        "{human}"
    );
    assert!(human.contains(&format!("AWS_ENDPOINT_URL points bedprov at {}", moto.endpoint)));
    let (code, listed, _) = bedprov(&moto, &sandbox, &["key", "list", "--format", "json"]);
    assert_eq!(code, 0);
    let listed = json(&listed);
    assert_eq!(listed["users"][0]["keys"][0]["id"], key_id.as_str());
    assert_eq!(listed["not_listed"][0]["kind"], "api-key", "{listed}");
    assert!(listed["not_listed"][0]["hint"].as_str().unwrap().contains("AWS_ENDPOINT_URL"));

    // Rotation of an access key needs nothing moto lacks.
    let (code, stdout, stderr) = bedprov(
        &moto,
        &sandbox,
        &[
            "key",
            "rotate",
            "--business-unit",
            "sales-marketing",
            "--delete-old",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let rotated = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
    assert_ne!(rotated, key_id);

    // A Bedrock API key is the whole command: refused before anything exists.
    let (code, stdout, stderr) = bedprov(
        &moto,
        &sandbox,
        &["key", "create", "--business-unit", "chat", "--kind", "api-key"],
    );
    assert_eq!(code, AWS, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("cannot make Bedrock API keys here"), "{stderr}");
    assert!(stderr.contains("nothing was created") && stderr.contains("--kind access-key"));
    assert!(!user_exists(&moto, "chat-bedrock-user"), "a user was left behind");

    // Deleting one key and then the user: the unlisted kind is a named step, not a failure.
    let (code, stdout, stderr) = bedprov(
        &moto,
        &sandbox,
        &[
            "key",
            "delete",
            "--business-unit",
            "sales-marketing",
            "--key-id",
            "AKIANOSUCHKEY",
            "--yes",
        ],
    );
    assert_eq!(code, 9, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains(&format!("its keys are: {rotated}")), "{stderr}");
    assert!(stderr.contains("Bedrock API keys could not be listed here"), "{stderr}");
    let (code, stdout, stderr) = bedprov(
        &moto,
        &sandbox,
        &["key", "delete", "--business-unit", "sales-marketing", "--user", "--yes"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("- list credentials: Bedrock API keys not listed:"), "{stdout}");
    assert!(stdout.contains(&format!("- delete credential: deleted IAM access key {rotated}")));
    assert!(stdout.contains("- delete user: deleted IAM user sales-marketing-bedrock-user"));
    assert!(!user_exists(&moto, "sales-marketing-bedrock-user"));
}

#[test]
fn a_call_answered_without_an_aws_error_names_the_call_and_what_to_do() {
    let (moto, sandbox) = setup();
    let (code, human, stderr) = bedprov(&moto, &sandbox, &["check"]);
    assert_eq!(code, AWS, "{stderr}");
    assert!(human.contains("✓ Identity: arn:aws:sts::123456789012:"), "{human}");
    assert!(
        human.contains("✗ Claude models: bedrock:ListFoundationModels failed: the endpoint answered HTTP 500 with no AWS error code or message"),
        "{human}"
    );
    let hint = format!(
        "  hint: AWS_ENDPOINT_URL points bedprov at {}: an AWS emulator may not implement bedrock:ListFoundationModels",
        moto.endpoint
    );
    assert!(human.contains(&hint), "{human}");
    for said in [&human, &stderr] {
        assert!(!said.contains("no message") && !said.contains("AWS's message above"), "{said}");
    }

    let (code, stdout, _) = bedprov(&moto, &sandbox, &["check", "--format", "json"]);
    assert_eq!(code, AWS);
    let error = &json(&stdout)["models"]["error"];
    assert_eq!(
        error["message"],
        "bedrock:ListFoundationModels failed: the endpoint answered HTTP 500 with no AWS error code or message"
    );
    assert!(error["hint"].as_str().unwrap().starts_with("AWS_ENDPOINT_URL points bedprov at"));
}
