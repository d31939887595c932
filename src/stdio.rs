//! The command's output when its reader is gone.
//!
//! Rust's runtime ignores SIGPIPE, so a write to a closed pipe fails with
//! `EPIPE` and `println!` panics (exit 134, a backtrace). domrun keeps
//! SIGPIPE ignored while it works — `run` relays a console and the monitor
//! (forked from `start`) writes to sockets: a vanished reader must cost them
//! an error, not their life (and the launcher resets every disposition in
//! the child anyway, so init never sees this) — and treats a failed write
//! of its own output as the end of the command: on `EPIPE` it exits at once,
//! silently, with 141 (128 + SIGPIPE: what a shell reports for a C tool that
//! SIGPIPE killed, so `set -o pipefail` scripts see the same); any other
//! write error is one line on stderr and exit 1.

use std::io::Write;

/// `print!` to stdout.
pub fn out(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().write_fmt(args) {
        end_on(&e);
        err(format_args!("domrun: writing the output: {e}\n"));
        std::process::exit(1);
    }
}

/// `eprint!` to stderr; an error other than `EPIPE` has nowhere to go.
pub fn err(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stderr().write_fmt(args) {
        end_on(&e);
    }
}

/// Ends the command if `e` is a broken pipe.
fn end_on(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(BROKEN_PIPE_STATUS);
    }
}

/// 128 + SIGPIPE.
const BROKEN_PIPE_STATUS: i32 = 128 + libc::SIGPIPE;
