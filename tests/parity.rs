//! Byte parity with AWS's own generator: hundreds of random cases (keys, secrets, session
//! tokens full of `+/=`, regions, TTLs, signing times), each minted by bedprov and by
//! `aws-bedrock-token-generator` 1.1.0 (botocore, time frozen) in a subprocess.

mod common;

use aws_credential_types::Credentials;
use bedprov::region::Region;
use bedprov::token::mint;
use bedprov::ttl::Ttl;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

const CASES: usize = 240;
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "sa-east-1",
    "us-gov-west-1",
    "il-central-1",
    "me-central-1",
    "ap-southeast-5",
];

fn random_string(rng: &mut fastrand::Rng, alphabet: &[u8], len: usize) -> String {
    (0..len).map(|_| alphabet[rng.usize(..alphabet.len())] as char).collect()
}

#[test]
fn bedprov_tokens_match_the_python_generator_byte_for_byte() {
    let mut rng = fastrand::Rng::with_seed(0xBED_F00D);
    let key_alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let secret_alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // Session tokens are base64 with extra weight on the characters that need escaping.
    let token_alphabet =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789++++////====";

    let mut cases = Vec::new();
    let mut input = String::new();
    for i in 0..CASES {
        let temporary = i % 3 != 0;
        let key = format!(
            "{}{}",
            if temporary { "ASIA" } else { "AKIA" },
            random_string(&mut rng, key_alphabet, 16)
        );
        let secret = random_string(&mut rng, secret_alphabet, 40);
        let session = temporary.then(|| {
            let len = rng.usize(16..1200);
            random_string(&mut rng, token_alphabet, len)
        });
        let region = REGIONS[rng.usize(..REGIONS.len())];
        let ttl = match i % 4 {
            0 => 900,
            1 => 43200,
            _ => rng.u64(900..=43200),
        };
        let epoch = rng.u64(1_577_836_800..2_050_000_000);
        input.push_str(
            &serde_json::json!({
                "access_key_id": key, "secret_access_key": secret, "session_token": session,
                "region": region, "expires": ttl, "epoch": epoch,
            })
            .to_string(),
        );
        input.push('\n');
        cases.push((key, secret, session, region, ttl, epoch));
    }

    let mut child = Command::new(common::python())
        .arg(common::support_file("token_reference.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Write from a thread: the generator answers line by line, and both pipes can fill.
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "the Python generator failed");
    let expected: Vec<&str> = std::str::from_utf8(&output.stdout).unwrap().lines().collect();
    assert_eq!(expected.len(), CASES);

    let with_session = cases.iter().filter(|c| c.2.is_some()).count();
    assert!(with_session > CASES / 2 && with_session < CASES);
    for ((key, secret, session, region, ttl, epoch), python) in cases.iter().zip(expected) {
        let creds = Credentials::new(key, secret, session.clone(), None, "parity");
        let token = mint(
            &creds,
            &Region::parse(region).unwrap(),
            Ttl::new(Duration::from_secs(*ttl)).unwrap(),
            UNIX_EPOCH + Duration::from_secs(*epoch) + Duration::from_millis(*epoch % 1000),
        )
        .unwrap();
        assert_eq!(
            token.expose_secret(),
            python,
            "mismatch for key {key}, region {region}, ttl {ttl}, epoch {epoch}"
        );
    }
}
