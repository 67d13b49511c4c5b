//! A spinner on stderr while slow AWS calls run — only when stderr is a terminal; nothing at
//! all otherwise, so logs and pipes stay clean. [`pause`] clears it while something is
//! printed or asked in the middle of the work.

use std::future::Future;
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::Duration;

/// The spinner on screen, if any, so output and questions can clear it first.
static SHOWN: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Runs `work`, showing `message` with a spinner meanwhile (on a terminal).
pub async fn spin<T>(message: &str, work: impl Future<Output = T>) -> T {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    spinner.set_message(message.to_owned());
    spinner.enable_steady_tick(Duration::from_millis(90));
    set_shown(Some(spinner.clone()));
    let result = work.await;
    set_shown(None);
    spinner.finish_and_clear();
    result
}

fn set_shown(spinner: Option<indicatif::ProgressBar>) {
    *SHOWN.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = spinner;
}

/// Runs `f` (printing, asking) with the spinner, if one is shown, cleared meanwhile.
pub fn pause<T>(f: impl FnOnce() -> T) -> T {
    let shown = SHOWN.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    match shown {
        Some(spinner) => spinner.suspend(f),
        None => f(),
    }
}
