//! Questions to the person at the terminal: yes/no confirmations and a choice between
//! options. Asked only when stdin and stderr are terminals; otherwise callers must decide
//! without asking (and say why). Prompts go to stderr, so stdout stays clean output.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

/// True when a question can be asked: stdin and stderr are terminals.
#[must_use]
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question; an empty answer takes `default`. `None` when no answer could be
/// read (end of input).
pub fn confirm(question: &str, default: bool) -> std::io::Result<Option<bool>> {
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
pub fn choose(question: &str, options: &[&str]) -> std::io::Result<Option<usize>> {
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

fn ask(prompt: &str) -> std::io::Result<Option<String>> {
    let mut stderr = std::io::stderr().lock();
    stderr.write_all(prompt.as_bytes())?;
    stderr.flush()?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line)?;
    Ok((read > 0).then_some(line))
}
