//! The `domrun` binary: parses arguments and dispatches to the library.

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use domrun::domain::Domain;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files } => validate(&files),
        Command::Format { file, inactive } => format(&file, inactive),
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
