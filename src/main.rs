//! The `domrun` binary: parses arguments and dispatches to the library.

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use domrun::domain::Domain;
use domrun::launch::{self, ExitStatusCode};
use domrun::plan::plan_from_domain;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files } => validate(&files),
        Command::Format { file, inactive } => format(&file, inactive),
        Command::Run { file } => run(&file),
    }
}

/// `domrun run`: load → plan → launch, in this process (the foreground monitor).
fn run(file: &std::path::Path) -> ExitCode {
    let setup_failed = ExitCode::from(ExitStatusCode::SETUP_FAILED.0);
    let domain = match Domain::load(file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("domrun: {e}");
            return setup_failed;
        }
    };
    if !domain.kind.is_container() {
        return match domrun::vm::run_foreground(&domain) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("domrun: {}: {e}", domain.name);
                setup_failed
            }
        };
    }
    let plan = match plan_from_domain(&domain) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("domrun: {}: {e}", file.display());
            return setup_failed;
        }
    };
    match launch::run_foreground(&plan) {
        Ok(status) => ExitCode::from(status.0),
        Err(e) => {
            eprintln!("domrun: {}: {e}", domain.name);
            ExitCode::from(e.exit_code().0)
        }
    }
}

fn validate(files: &[std::path::PathBuf]) -> ExitCode {
    let mut ok = true;
    for f in files {
        if let Err(e) = Domain::load(f) {
            eprintln!("{e}");
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn format(file: &std::path::Path, inactive: bool) -> ExitCode {
    match Domain::load_unvalidated(file) {
        Ok(d) => {
            let out = if inactive {
                d.format_inactive()
            } else {
                d.format()
            };
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
