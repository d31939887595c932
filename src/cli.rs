//! The command line: argument structs only; each verb is a short call into
//! the library.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// domrun: containers (and VMs) from libvirt domain XML, no daemon.
#[derive(Debug, Parser)]
#[command(name = "domrun", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check domain XML files: parse, apply defaults, validate. Exit 0 only if
    /// every file is valid; one line per error on stderr.
    Validate {
        /// Domain XML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a domain file as libvirt's formatter would: defaults filled in,
    /// canonical order, unknown elements kept. (Checks syntax only; use
    /// `validate` for the whole-domain rules.)
    Format {
        /// A domain XML file.
        file: PathBuf,
        /// Leave out runtime state (the `id` attribute).
        #[arg(long)]
        inactive: bool,
    },
    /// Run a container domain in the foreground: domrun exits with init's
    /// status (128+N when killed by signal N; 125 setup failed, 126 init not
    /// executable, 127 init not found). Signals are forwarded to init; on a
    /// terminal, init gets its own pty.
    Run {
        /// A domain XML file.
        file: PathBuf,
    },
    /// Convert a domain XML file to a native hypervisor config, printed on
    /// stdout (`xen-xl`: an xl.cfg; `data:` kernels are refused here, they
    /// are written out only when the domain starts).
    #[command(name = "domxml-to-native")]
    DomxmlToNative {
        /// The native format.
        format: NativeFormat,
        /// A domain XML file.
        file: PathBuf,
    },
    /// Convert a native hypervisor config to domain XML, printed on stdout.
    #[command(name = "domxml-from-native")]
    DomxmlFromNative {
        /// The native format.
        format: NativeFormat,
        /// A native config file.
        file: PathBuf,
    },
}

/// Native config formats `domxml-to-native`/`domxml-from-native` speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NativeFormat {
    /// Xen's `xl` config (xl.cfg).
    #[value(name = "xen-xl")]
    XenXl,
}
