//! Arbitrary bytes as a client's side of one daemon connection, through the daemon's own
//! connection layer (`http::serve` on a real Unix socket: the wait for a request head, the
//! connection table and its timeout, hyper with the daemon's settings), then the routes, query
//! parsing, slot keys, slots and minting, with a credential source that answers at once and a
//! fixed clock. Whatever arrives: no panic, the connection ends (tokio's paused clock lets the
//! header timeout fire without waiting), the answer reads with the helper's own parser, and no
//! client input makes the daemon answer 500.
#![no_main]

use aws_credential_types::Credentials;
use bedprov::clock::ManualClock;
use bedprov::creds::{CredsError, ProfileSelection, ProfileSource, Resolved};
use bedprov::daemon::http;
use bedprov::daemon::state::Daemon;
use bedprov::region::{Region, RegionSource};
use bedprov::slot::{BoxFuture, CredentialSource as Source, SlotKey};
use bedprov::wire::api::CredentialSource;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, UNIX_EPOCH};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};

/// Credentials at once; a profile named `fail` fails, so the error answers are reached too.
#[derive(Debug)]
struct Instant;

impl Source for Instant {
    fn resolve<'a>(&'a self, key: &'a SlotKey) -> BoxFuture<'a, bedprov::Result<Resolved>> {
        Box::pin(async move {
            let profile = key.profile.clone().unwrap_or_else(|| "default".into());
            if profile == "fail" {
                return Err(CredsError::Failed { profile, detail: "offline".into() }.into());
            }
            Ok(Resolved {
                credentials: Credentials::new(
                    "AKIDEXAMPLE",
                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    Some("EXAMPLE+session/token=".into()),
                    Some(UNIX_EPOCH + Duration::from_secs(1_800_003_600)),
                    "fuzz",
                ),
                credential_source: CredentialSource::StaticKeys,
                profile: ProfileSelection { name: profile, source: ProfileSource::Flag },
                region: key.region.clone().unwrap_or_else(|| Region::parse("us-east-1").unwrap()),
                region_source: RegionSource::Default,
            })
        })
    }
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap()
});

/// Where each input's daemon listens (one path, bound afresh per input).
static SOCKET: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("bedprov-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("bedprov.sock")
});

/// Starts a fresh daemon, writes `input` into one connection and reads everything it answers.
async fn exchange(input: &[u8]) -> Vec<u8> {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let daemon = Arc::new(Daemon::new(
        Arc::new(Instant),
        Arc::new(clock),
        PathBuf::from("/nonexistent/config.toml"),
        SOCKET.clone(),
    ));
    let _ = std::fs::remove_file(&*SOCKET);
    let listener = UnixListener::bind(&*SOCKET).unwrap();
    let (shutdown, _) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(http::serve(listener, daemon, shutdown.clone()));
    let client = UnixStream::connect(&*SOCKET).await.unwrap();
    let (mut reader, mut writer) = client.into_split();
    // Like the helper and curl: send, keep the connection open, read until the daemon closes
    // it (after the answers, or at the header timeout).
    let write = async move {
        let _ = writer.write_all(input).await;
        writer
    };
    let read = async move {
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out).await;
        out
    };
    // Paused time: this fires at once if the connection hangs instead of ending.
    let (_writer, out) =
        tokio::time::timeout(Duration::from_secs(3600), async { tokio::join!(write, read) })
            .await
            .expect("the daemon neither answered nor closed the connection");
    let _ = shutdown.send(true);
    tokio::time::timeout(Duration::from_secs(3600), server)
        .await
        .expect("the daemon did not stop")
        .expect("the daemon's connection layer panicked");
    out
}

fuzz_target!(|input: &[u8]| {
    let out = RUNTIME.block_on(exchange(input));
    if out.is_empty() {
        return;
    }
    let response = bedprov::wire::client::parse_response(out.clone());
    // HEAD answers keep their Content-Length without a body; the helper never sends HEAD.
    if let Ok(response) = response {
        assert_ne!(
            response.status,
            500,
            "client input made the daemon fail: {:?}",
            String::from_utf8_lossy(&out)
        );
    } else if !input.starts_with(b"HEAD") {
        panic!("unreadable answer {response:?}: {:?}", String::from_utf8_lossy(&out));
    }
});
