//! Questions to the person at the terminal: yes/no confirmations, a choice between options,
//! and an MFA code. Asked only when stdin and stderr are terminals; otherwise callers must
//! decide without asking (and say why). Prompts go to stderr, so stdout stays clean output
//! (`eval "$(bedprov token --format env)"` can still ask), and a spinner on screen is hidden
//! while a question waits.
//!
//! Code that decides something (a plan, a provisioning step) asks through [`Questions`] and
//! never prompts on its own: the CLI passes [`Terminal`], tests answer directly.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

/// Whom a question goes to.
pub trait Questions: Send {
    /// True when someone can answer. When nobody can, callers decide without asking and
    /// say why.
    fn can_ask(&self) -> bool;
    /// A yes or no (an empty answer takes `default`); `None` when no answer came.
    fn confirm(&mut self, question: &str, default: bool) -> std::io::Result<Option<bool>>;
    /// One of `options`, by index; `None` when no answer came.
    fn choose(&mut self, question: &str, options: &[&str]) -> std::io::Result<Option<usize>>;
}

/// The person at the terminal, when stdin and stderr are terminals.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Terminal;

impl Questions for Terminal {
    fn can_ask(&self) -> bool {
        interactive()
    }

    fn confirm(&mut self, question: &str, default: bool) -> std::io::Result<Option<bool>> {
        confirm(question, default)
    }

    fn choose(&mut self, question: &str, options: &[&str]) -> std::io::Result<Option<usize>> {
        choose(question, options)
    }
}

/// Nobody to ask (no terminal): every decision takes its safe default.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTerminal;

impl Questions for NoTerminal {
    fn can_ask(&self) -> bool {
        false
    }

    fn confirm(&mut self, _question: &str, _default: bool) -> std::io::Result<Option<bool>> {
        Ok(None)
    }

    fn choose(&mut self, _question: &str, _options: &[&str]) -> std::io::Result<Option<usize>> {
        Ok(None)
    }
}

/// True when a question can be asked: stdin and stderr are terminals.
#[must_use]
pub(crate) fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question; an empty answer takes `default`. `None` when no answer could be
/// read (end of input).
pub(crate) fn confirm(question: &str, default: bool) -> std::io::Result<Option<bool>> {
    let suffix = if default { "[Y/n]" } else { "[y/N]" };
    loop {
        let Some(answer) = ask(&format!("{question} {suffix} "))? else { return Ok(None) };
        match answer.trim().to_ascii_lowercase().as_str() {
            "" => return Ok(Some(default)),
            "y" | "yes" => return Ok(Some(true)),
            "n" | "no" => return Ok(Some(false)),
            _ => eprintln!("Please answer y or n."),
        }
    }
}

/// Asks to pick one of `options` by number (1-based); returns its index.
pub(crate) fn choose(question: &str, options: &[&str]) -> std::io::Result<Option<usize>> {
    eprintln!("{question}");
    for (i, option) in options.iter().enumerate() {
        eprintln!("  {}) {option}", i + 1);
    }
    loop {
        let Some(answer) = ask("> ")? else { return Ok(None) };
        match answer.trim().parse::<usize>() {
            Ok(n) if (1..=options.len()).contains(&n) => return Ok(Some(n - 1)),
            _ => eprintln!("Please answer with a number from 1 to {}.", options.len()),
        }
    }
}

/// Asks for the current code of the MFA device `serial`, with the AWS CLI's prompt, until
/// six digits are typed. The code is echoed, as aws-vault does: it works once and only for
/// seconds, and a terminal left without echo after Ctrl-C would cost more than hiding it.
pub(crate) fn mfa_code(serial: &str) -> std::io::Result<Option<String>> {
    loop {
        let Some(answer) = ask(&format!("Enter MFA code for {serial}: "))? else { return Ok(None) };
        let code = answer.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Some(code.to_owned()));
        }
        eprintln!("Please enter the 6-digit code your MFA device shows.");
    }
}

fn ask(prompt: &str) -> std::io::Result<Option<String>> {
    crate::progress::suspend(|| {
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(prompt.as_bytes())?;
        stderr.flush()?;
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line)?;
        Ok((read > 0).then_some(line))
    })
}
