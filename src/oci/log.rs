//! `--log FILE --log-format json`: one `{"level","msg","time"}` line per
//! error, as runc writes them; containerd shows the `msg` of the last
//! `error` line. Errors also go to stderr.

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

/// How `--log` lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where errors are reported.
#[derive(Debug, Clone)]
pub struct Logger {
    file: Option<PathBuf>,
    format: LogFormat,
    debug: bool,
}

/// `error` and its `#[source]` chain, joined with `: `.
pub fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// One log line (without the newline).
pub fn line(format: LogFormat, level: &str, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Json => {
            serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
        }
        LogFormat::Text => format!("time=\"{time}\" level={level} msg={msg:?}"),
    }
}

impl Logger {
    pub fn new(file: Option<PathBuf>, format: LogFormat, debug: bool) -> Logger {
        Logger {
            file,
            format,
            debug,
        }
    }

    /// Whether `--debug` was given.
    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// Reports `error` on stderr and, with `--log`, in the file. A log file
    /// that cannot be written only loses the copy (stderr still has it).
    pub fn error(&self, error: &dyn Error) {
        let msg = chain(error);
        eprintln!("domrun: {msg}");
        if let Some(path) = &self.file {
            let text = line(self.format, "error", &msg, &super::state::now_rfc3339());
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{text}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_runcs() {
        let l = line(
            LogFormat::Json,
            "error",
            "container \"x\" does not exist",
            "T",
        );
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container \"x\" does not exist");
        assert_eq!(v["time"], "T");
    }
}
