//! A spinner on stderr while slow AWS calls run — only when stderr is a terminal; nothing at
//! all otherwise, so logs and pipes stay clean.

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

/// Runs `work`, showing `message` with a spinner meanwhile (on a terminal).
pub async fn spin<T>(message: &str, work: impl Future<Output = T>) -> T {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    spinner.set_message(message.to_owned());
    spinner.enable_steady_tick(Duration::from_millis(90));
    let result = work.await;
    spinner.finish_and_clear();
    result
}
