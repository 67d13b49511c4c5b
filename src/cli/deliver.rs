//! The output of `key create` / `key rotate` that carries a new secret. Unlike other output
//! it is written at the workflow's delivery step, before anything irreversible, and a
//! failure to write it is an error (the workflow then deletes the key): it is written and
//! flushed, synced to disk when stdout is a file, and when stdout is a pipe, held until
//! the reader has taken it — a reader that closes the pipe with the secret still unread
//! (`| head -c 1`) has not received it.

use std::fs::File;
use std::io::{self, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::fs::FileTypeExt as _;
use std::time::{Duration, Instant};

/// How long a reader that keeps the pipe open may leave the output unread before it counts
/// as received: a parent that reads only once bedprov has exited would otherwise wait forever.
const UNREAD_GRACE: Duration = Duration::from_secs(3);

/// Writes `text` to stdout; `Ok` once it has arrived as far as can be told.
pub(super) async fn to_stdout(text: &[u8]) -> io::Result<()> {
    let stdout = io::stdout();
    crate::progress::suspend(|| {
        let mut locked = stdout.lock();
        locked.write_all(text)?;
        locked.flush()
    })?;
    let file = File::from(stdout.as_fd().try_clone_to_owned()?);
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        match file.sync_data() {
            // Some file systems cannot sync; the write itself succeeded.
            Err(e)
                if matches!(e.kind(), io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported) => {
            }
            other => other?,
        }
    } else if kind.is_fifo() {
        taken(&file).await?;
    }
    Ok(())
}

/// Waits until the pipe's reader has read everything written (or has held it unread for
/// [`UNREAD_GRACE`]); an error when the reader went away first.
async fn taken(pipe: &File) -> io::Result<()> {
    let started = Instant::now();
    loop {
        match rustix::io::ioctl_fionread(pipe) {
            Ok(unread) if unread > 0 => {}
            // All read; or this system cannot tell, and written and flushed is all we know.
            _ => return Ok(()),
        }
        if reader_gone(pipe) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the program reading stdout exited without reading all of it",
            ));
        }
        if started.elapsed() >= UNREAD_GRACE {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A pipe whose read end is closed everywhere reports POLLERR on its write end.
fn reader_gone(pipe: &File) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(pipe, PollFlags::OUT)];
    let now = Timespec { tv_sec: 0, tv_nsec: 0 };
    poll(&mut fds, Some(&now)).is_ok() && fds[0].revents().contains(PollFlags::ERR)
}
