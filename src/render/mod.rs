//! Rendering: the only module that decides what results look like on stdout.
//!
//! Each submodule turns one kind of result into the formats users share — human (the seed's
//! minimal, copy-paste-ready output), env (shell lines), JSON and raw — and returns a
//! `String`; the CLI prints it (the output carrying a new long-term secret at the workflow's
//! delivery step, before anything irreversible; everything else at exit). Diagnostics never
//! come through here: they go to stderr.

pub mod check;
pub mod decode;
pub mod key;
pub mod plan;
pub mod service;
pub mod status;
pub mod time;
pub mod token;
