//! The thin Xen backend: domain ⇄ `xl` config ([`to_native`],
//! [`from_native`]), the `xl` tool driven through a configurable path
//! ([`Xl`]), and `domrun run` for Xen domains.

pub mod cfg;
mod from_native;
mod native_devices;
mod run;
mod to_native;
mod xl;

pub use cfg::{CfgError, CfgLoadError, Config, Value};
pub use from_native::{from_native, to_xml};
pub use run::{DomainDir, run_foreground};
pub use to_native::to_native;
pub use xl::{Xl, XlDomain};

/// A conversion or `xl` call that failed.
#[derive(Debug, thiserror::Error)]
pub enum XenError {
    #[error("a {0} domain is not a Xen domain")]
    NotXen(String),
    #[error(
        "<{0}> is a data: URI: it is written to a private file only when the domain starts, never into a config"
    )]
    DataUriInConfig(&'static str),
    #[error("{0}")]
    Unsupported(String),
    #[error("{what} spec: control character U+{code:04X} refused")]
    ControlChar { what: &'static str, code: u32 },
    #[error("{what} spec: {message}")]
    BadSpec { what: &'static str, message: String },
    #[error("{key} = '{value}' is not a valid value")]
    BadValue { key: String, value: String },
    #[error("the config has no '{0}'")]
    Missing(&'static str),
    #[error("{0}")]
    Cfg(#[from] CfgError),
    #[error("the converted domain does not parse: {0}")]
    Domain(String),
    #[error("{xl} {args}: {error}")]
    Exec {
        xl: String,
        args: String,
        error: std::io::Error,
    },
    #[error("{xl} {args} failed ({status}): {stderr}")]
    Failed {
        xl: String,
        args: String,
        status: String,
        stderr: String,
    },
    #[error("{path}: {error}")]
    File {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
}
