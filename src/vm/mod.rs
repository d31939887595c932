//! Full-VM domains (`type='kvm'|'qemu'|'xen'`), delegated to thin backends:
//! [`qemu`] builds a qemu command line and supervises the process over QMP;
//! [`xen`] converts to and from `xl` configs and drives `xl`.
//!
//! Kernels, initrds and DTBs may be RFC 2397 `data:` URIs ([`datauri`]):
//! qemu gets them as sealed memfds, Xen as private files that are removed
//! when the domain is destroyed. See `docs/vm.md`.

pub mod datauri;
pub mod qemu;
mod run;
pub mod xen;

pub(crate) use run::RuntimeDir;
pub use run::run_foreground;

use std::path::PathBuf;

use crate::domain::{Domain, NetType};

/// `DOMRUN_ACCEL`: let the probe decide, or force one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccelChoice {
    /// `type='kvm'` → KVM if the probe passes, else TCG; `type='qemu'` → TCG.
    Auto,
    Kvm,
    Tcg,
}

/// Knobs of the VM backends, from the environment for the CLI.
#[derive(Debug, Clone)]
pub struct VmOptions {
    /// Largest decoded `data:` image (`DOMRUN_DATA_URI_MAX`, bytes).
    pub data_uri_max: u64,
    /// qemu binary (`DOMRUN_QEMU`); default `<emulator>` or `qemu-system-ARCH`.
    pub qemu_binary: Option<PathBuf>,
    pub accel: AccelChoice,
    pub kvm_device: PathBuf,
    /// The `xl` tool (`DOMRUN_XL`, default `xl` on PATH).
    pub xl: PathBuf,
    /// How long a guest gets to power off after the ACPI button
    /// (`DOMRUN_SHUTDOWN_TIMEOUT`, seconds).
    pub shutdown_timeout: std::time::Duration,
}

impl Default for VmOptions {
    fn default() -> Self {
        VmOptions {
            data_uri_max: datauri::DEFAULT_MAX_DECODED,
            qemu_binary: None,
            accel: AccelChoice::Auto,
            kvm_device: PathBuf::from("/dev/kvm"),
            xl: PathBuf::from("xl"),
            shutdown_timeout: std::time::Duration::from_secs(30),
        }
    }
}

impl VmOptions {
    /// Defaults overridden by `DOMRUN_*` variables; a malformed value is an
    /// error, not silently ignored.
    pub fn from_env() -> Result<VmOptions, VmError> {
        let mut o = VmOptions::default();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let bad = |k: &str, v: &str| VmError::Env {
            var: k.to_owned(),
            value: v.to_owned(),
        };
        if let Some(v) = var("DOMRUN_DATA_URI_MAX") {
            o.data_uri_max = v.parse().map_err(|_| bad("DOMRUN_DATA_URI_MAX", &v))?;
        }
        if let Some(v) = var("DOMRUN_QEMU") {
            o.qemu_binary = Some(PathBuf::from(v));
        }
        if let Some(v) = var("DOMRUN_ACCEL") {
            o.accel = match v.as_str() {
                "auto" => AccelChoice::Auto,
                "kvm" => AccelChoice::Kvm,
                "tcg" => AccelChoice::Tcg,
                _ => return Err(bad("DOMRUN_ACCEL", &v)),
            };
        }
        if let Some(v) = var("DOMRUN_XL") {
            o.xl = PathBuf::from(v);
        }
        if let Some(v) = var("DOMRUN_SHUTDOWN_TIMEOUT") {
            let secs: u64 = v.parse().map_err(|_| bad("DOMRUN_SHUTDOWN_TIMEOUT", &v))?;
            o.shutdown_timeout = std::time::Duration::from_secs(secs);
        }
        Ok(o)
    }
}

/// A VM could not be prepared, started or supervised.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error("{var}='{value}' is not a valid value")]
    Env { var: String, value: String },
    #[error("a {0} domain is not a VM")]
    NotVm(String),
    #[error("{0}")]
    Argv(#[from] qemu::ArgvError),
    #[error("<{which}>: data: URI refused: {error}")]
    DataUri {
        which: String,
        error: datauri::DataUriError,
    },
    #[error("<{which}>: cannot create the in-memory image: {error}")]
    Memfd {
        which: String,
        error: std::io::Error,
    },
    #[error("socket {path}: {error}")]
    Socket {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot start {binary}: {error}")]
    Spawn {
        binary: String,
        error: std::io::Error,
    },
    #[error("waiting for the VM process: {0}")]
    Wait(std::io::Error),
    #[error("{0}")]
    Qmp(#[from] qemu::QmpError),
    #[error("runtime directory {path}: {error}")]
    RuntimeDir { path: PathBuf, error: String },
    #[error("signals: {0}")]
    Signals(nix::Error),
    #[error("console: {0}")]
    Console(nix::Error),
    #[error("{0}")]
    Xen(#[from] xen::XenError),
}

/// `Some(bytes)` for a `data:` URI (decoded under `max`), `None` for a path.
pub(crate) fn decode_if_data(
    which: &str,
    value: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, VmError> {
    if !datauri::is_data_uri(value) {
        return Ok(None);
    }
    datauri::decode(value, max)
        .map(|d| Some(d.data))
        .map_err(|error| VmError::DataUri {
            which: which.to_owned(),
            error,
        })
}

/// Host bridges for `<interface type='network'>`: the `<bridge name=…>` of
/// libvirt's network definition when one is installed, else `virbr0` for the
/// `default` network (libvirt's own default). Other names stay unresolved,
/// and the argv builder reports them.
pub fn network_bridges(d: &Domain) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in d.devices.interfaces() {
        if i.kind != NetType::Network {
            continue;
        }
        let Some(net) = i.source.as_ref().and_then(|s| s.network.clone()) else {
            continue;
        };
        // A name with a '/' would reach outside libvirt's directory.
        let conf = (!net.contains('/'))
            .then(|| PathBuf::from(format!("/etc/libvirt/qemu/networks/{net}.xml")));
        let from_libvirt = conf
            .and_then(|p| {
                crate::input::read_file(&p, crate::input::Links::Follow, crate::input::CONFIG_LIMIT)
                    .ok()
            })
            .and_then(|b| crate::xml::read_document(&b, &crate::xml::Limits::default()).ok())
            .and_then(|root| {
                root.elements()
                    .find(|e| e.name == "bridge")
                    .and_then(|b| b.attr("name").map(str::to_owned))
            });
        match (from_libvirt, net.as_str()) {
            (Some(br), _) => out.push((net, br)),
            (None, "default") => out.push((net, "virbr0".to_owned())),
            (None, _) => {}
        }
    }
    out
}
