//! `domrun generate …` and the `domrun-generator` entry point. Part of the
//! binary, not the library (`main.rs` includes it): completions and man
//! pages come from the clap definitions in `cli.rs`, which only the binary
//! has.

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use domrun::generate::{self, GENERATOR_PATH};
use domrun::state::Root;

#[path = "cli_docs.rs"]
mod cli_docs;
pub use cli_docs::Shell;

use crate::cli::{Cli, GenerateCommand};

/// The name the binary answers to as a systemd generator.
const GENERATOR_NAME: &str = "domrun-generator";

/// `domrun generate …`.
pub fn generate(root: &Root, cmd: GenerateCommand) -> ExitCode {
    match cmd {
        GenerateCommand::Systemd {
            name: Some(name), ..
        } => match generate::unit_for(root, &name, &domrun_binary()) {
            Ok(unit) => {
                print!("{}", unit.text);
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        GenerateCommand::Systemd { generator, .. } => match generator.first() {
            Some(dir) => run_generator(root, dir),
            None => {
                eprintln!("domrun: generate systemd: give a domain name or --generator DIR");
                ExitCode::FAILURE
            }
        },
        GenerateCommand::Completions { shell } => {
            print!("{}", cli_docs::completions(shell, &Cli::command()));
            ExitCode::SUCCESS
        }
        GenerateCommand::Man { dir } => {
            let path = dir.join("domrun.1");
            match std::fs::write(&path, cli_docs::man_page(&Cli::command())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("writing {}: {e}", path.display())),
            }
        }
    }
}

/// When called as `domrun-generator NORMAL [EARLY LATE]` (the symlink at
/// [`GENERATOR_PATH`]), runs the generator on the default state root (or
/// `$DOMRUN_ROOT`); otherwise `None`.
pub fn as_generator() -> Option<ExitCode> {
    let mut args = std::env::args_os();
    let argv0 = args.next()?;
    if Path::new(&argv0).file_name()? != GENERATOR_NAME {
        return None;
    }
    let Some(normal) = args.next() else {
        eprintln!("{GENERATOR_NAME}: usage: {GENERATOR_PATH} NORMAL-DIR [EARLY-DIR LATE-DIR]");
        return Some(ExitCode::FAILURE);
    };
    let root =
        std::env::var_os("DOMRUN_ROOT").unwrap_or_else(|| domrun::state::DEFAULT_ROOT.into());
    Some(run_generator(&Root::new(root), Path::new(&normal)))
}

/// Writes the units; one line on stderr per domain that failed (systemd
/// logs a generator's stderr), exit 1 if any did.
fn run_generator(root: &Root, dir: &Path) -> ExitCode {
    match generate::run_generator(root, &domrun_binary(), dir) {
        Ok(report) if report.failed.is_empty() => ExitCode::SUCCESS,
        Ok(report) => {
            for (name, e) in report.failed {
                eprintln!("{GENERATOR_NAME}: {name}: {e}");
            }
            ExitCode::FAILURE
        }
        Err(e) => fail(&e),
    }
}

/// The binary the units run: this one, resolved (the generator is called
/// through its symlink).
fn domrun_binary() -> std::path::PathBuf {
    std::env::current_exe().unwrap_or_else(|_| "/usr/bin/domrun".into())
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("domrun: {e}");
    ExitCode::FAILURE
}
