//! Why a bundle's `config.json` cannot become a [`crate::plan::Plan`].
//!
//! Every refusal names the JSON field (`linux.intelRdt`,
//! `mounts[2].options[1]`) so the message leads to the line to change.

use std::path::PathBuf;

/// A config that cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// `config.json` could not be read.
    #[error("{path}: reading the bundle config")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not a runtime-spec config (bad JSON, wrong types, unknown capability).
    #[error("{path}: not a valid runtime-spec config")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A field domrun cannot honour (on any host, or on this one).
    #[error("config.json: {field}: not supported{reason}")]
    Unsupported {
        /// The JSON path of the field.
        field: String,
        /// Why, starting with a separator (`" on this host: …"`), or empty.
        reason: &'static str,
    },
    /// A field whose value is wrong.
    #[error("config.json: {field}: {message}")]
    Invalid {
        /// The JSON path of the field.
        field: String,
        message: String,
    },
    /// The seccomp profile could not be compiled.
    #[error("config.json: linux.seccomp")]
    Seccomp {
        #[source]
        source: super::seccomp::SeccompError,
    },
}

impl SpecError {
    /// A field that is not supported, with `reason` (`" on this host: …"`).
    pub(crate) fn unsupported(field: impl Into<String>, reason: &'static str) -> SpecError {
        SpecError::Unsupported {
            field: field.into(),
            reason,
        }
    }

    /// A field with a wrong value.
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> SpecError {
        SpecError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
