//! The `domrun` binary: parses arguments and dispatches to the library.

mod cli;

use clap::Parser;
use cli::{Cli, Command, NativeFormat};
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
        Command::DomxmlToNative { format, file } => to_native(format, &file),
        Command::DomxmlFromNative { format, file } => from_native(format, &file),
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

/// `domrun domxml-to-native xen-xl FILE`.
fn to_native(format: NativeFormat, file: &std::path::Path) -> ExitCode {
    let NativeFormat::XenXl = format;
    let domain = match Domain::load(file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let cfg = domrun::vm::xen::to_native(&domain).and_then(|c| Ok(c.format()?));
    match cfg {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("domrun: {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

/// `domrun domxml-from-native xen-xl CFG`.
fn from_native(format: NativeFormat, file: &std::path::Path) -> ExitCode {
    let NativeFormat::XenXl = format;
    let converted = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|text| {
            domrun::vm::xen::Config::parse(&text)
                .map_err(|e| e.to_string())
                .and_then(|c| domrun::vm::xen::from_native(&c).map_err(|e| e.to_string()))
        });
    match converted {
        Ok(d) => {
            print!("{}", d.format_inactive());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("domrun: {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}
