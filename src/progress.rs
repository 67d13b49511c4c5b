//! A spinner on stderr while slow AWS calls run — only when stderr is a terminal; nothing at
//! all otherwise, so logs and pipes stay clean.

use std::future::Future;
use std::io::IsTerminal as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The spinner on screen, if any, so a question to the person at the terminal can hide it.
static SHOWN: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Runs `work`, showing `message` with a spinner meanwhile (on a terminal).
pub(crate) async fn spin<T>(message: &str, work: impl Future<Output = T>) -> T {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    spinner.set_message(message.to_owned());
    spinner.enable_steady_tick(Duration::from_millis(90));
    *SHOWN.lock().unwrap_or_else(PoisonError::into_inner) = Some(spinner.clone());
    let result = work.await;
    SHOWN.lock().unwrap_or_else(PoisonError::into_inner).take();
    spinner.finish_and_clear();
    result
}

/// Runs `interaction` (a question and its answer) with any spinner hidden meanwhile.
pub(crate) fn suspend<R>(interaction: impl FnOnce() -> R) -> R {
    let shown = SHOWN.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match shown {
        Some(spinner) => spinner.suspend(interaction),
        None => interaction(),
    }
}
