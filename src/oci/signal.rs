//! `kill`'s signal argument: a name (`KILL`, `SIGKILL`, as runtime-tools
//! sends) or a number (`9`, as containerd's shim sends).

use nix::sys::signal::Signal;

/// A signal argument that names no signal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a signal name (KILL, SIGTERM) or number")]
pub struct BadSignal {
    pub given: String,
}

/// The signal `text` names.
pub fn parse(text: &str) -> Result<Signal, BadSignal> {
    let bad = || BadSignal {
        given: text.to_owned(),
    };
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("KILL"), Ok(Signal::SIGKILL));
        assert_eq!(parse("SIGTERM"), Ok(Signal::SIGTERM));
        assert_eq!(parse("usr1"), Ok(Signal::SIGUSR1));
        assert_eq!(parse("18"), Ok(Signal::SIGCONT));
        assert!(parse("NOPE").is_err());
        assert!(parse("99").is_err());
    }
}
