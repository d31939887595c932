//! Importers: foreign container configs turned into domain XML.
//!
//! A layer above the mechanism, as libvirt put it: these modules live in the
//! binary crate (declared by `main.rs`, not `lib.rs`), so the compiler lets
//! them reach only what `domrun` exports — the `domain` model, its
//! `apply_defaults`/`validate`/`format`, `lifecycle` and `plan` public
//! items. Nothing here can touch a `pub(crate)` item. See `docs/import.md`.
//!
//! The config importers (`lxc`, `openvz`) are functions from the config's
//! text to a [`Conversion`] (LXC also reads the fstab files a config names):
//! the domain, the notes on what was not imported, and the autostart mark
//! the config asked for (which lives beside the XML, as `domrun autostart`
//! keeps it). The image importer (`oci`) makes a template and a domain
//! skeleton.

pub mod command;
pub mod lxc;
mod lxc_keys;
mod lxc_net;
pub mod oci;
pub mod openvz;
mod text;

use domrun::domain::{Domain, ValidateErrors};
use std::path::PathBuf;

/// What a config became.
#[derive(Debug)]
pub struct Conversion {
    pub domain: Domain,
    /// Keys (or parts of values) not imported, each with the reason.
    pub notes: Vec<Note>,
    /// The config marks the container to start at boot (`ONBOOT="yes"`,
    /// `lxc.start.auto = 1`).
    pub autostart: bool,
}

/// One thing of the config that the domain does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// 1-based line in the config (0: not from one line).
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.key, self.message)
    }
}

/// A config that cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("line {line}: {text:?} is not a `{form}` line")]
    Syntax {
        line: usize,
        text: String,
        form: &'static str,
    },
    #[error("line {line}: {key} = {value}: expected {expected}")]
    BadValue {
        line: usize,
        key: String,
        value: String,
        expected: String,
    },
    #[error("no {key}: {why}")]
    Missing {
        key: &'static str,
        why: &'static str,
    },
    /// A key whose loss would leave the container less confined than its
    /// config asks, and that domain XML cannot express.
    #[error(
        "line {line}: {key} = {value}: not imported, {reason}; remove the line to import without it"
    )]
    Refused {
        line: usize,
        key: String,
        value: String,
        reason: &'static str,
    },
    #[error("line {line}: {key} = {path}: {source}")]
    Fstab {
        line: usize,
        key: String,
        path: String,
        #[source]
        source: Box<ImportError>,
    },
    #[error(transparent)]
    Image(#[from] oci::ImageError),
    #[error(transparent)]
    Template(domrun::template::TemplateError),
    #[error("taking defaults: {0}")]
    Defaults(#[source] domrun::domain::DefaultsError),
    #[error("the imported domain is not valid:\n{0}")]
    Invalid(#[source] ValidateErrors),
}

/// Fills in libvirt's post-parse defaults (uuid, console targets, …) and,
/// unless `check` is off, runs the whole-domain rules: an importer's output
/// is a domain `domrun validate` accepts, or an error.
fn finish(mut domain: Domain, check: bool) -> Result<Domain, ImportError> {
    domain.apply_defaults().map_err(ImportError::Defaults)?;
    if check {
        domain.validate().map_err(ImportError::Invalid)?;
    }
    Ok(domain)
}

/// A container domain with nothing but its name and init: what every
/// importer starts from.
fn skeleton(kind: domrun::domain::DomainType, name: &str, init: &str) -> Domain {
    use domrun::domain::{Devices, Extras, LifecycleAction, Os, Positions};
    Domain {
        kind,
        id: None,
        name: name.to_owned(),
        uuid: None,
        title: None,
        description: None,
        metadata: None,
        max_memory: None,
        memory: None,
        memory_dump_core: None,
        memory_attrs: Vec::new(),
        current_memory: None,
        blkiotune: None,
        memtune: None,
        vcpu: None,
        cputune: None,
        numatune: None,
        resource: None,
        bootloader: None,
        bootloader_args: None,
        os: Os::exe(init),
        idmap: None,
        features: None,
        clock: None,
        on_poweroff: Some(LifecycleAction::Destroy),
        on_reboot: Some(LifecycleAction::Restart),
        on_crash: Some(LifecycleAction::Destroy),
        devices: Devices::default(),
        seclabels: Vec::new(),
        lxc_namespace: None,
        extras: Extras::default(),
        positions: Positions::default(),
    }
}

#[cfg(test)]
mod layer_tests {
    /// Every source file of the layer, for the check below.
    const SOURCES: &[(&str, &str)] = &[
        ("mod.rs", include_str!("mod.rs")),
        ("command.rs", include_str!("command.rs")),
        ("lxc.rs", include_str!("lxc.rs")),
        ("lxc_keys.rs", include_str!("lxc_keys.rs")),
        ("lxc_net.rs", include_str!("lxc_net.rs")),
        ("oci.rs", include_str!("oci.rs")),
        ("openvz.rs", include_str!("openvz.rs")),
        ("text.rs", include_str!("text.rs")),
    ];

    /// The importers use only the library's public API: they are declared
    /// by the binary (so `rustc` refuses any private `domrun` item), never
    /// by `lib.rs`, and name nothing of the binary's crate but its `cli`
    /// argument types.
    #[test]
    fn the_importers_stay_a_layer_above_the_library() {
        let lib = include_str!("../lib.rs");
        assert!(
            !lib.lines().any(|l| l.trim_start().contains("mod import")),
            "src/lib.rs must not declare the import layer"
        );
        let main = include_str!("../main.rs");
        assert!(main.lines().any(|l| l.trim() == "mod import;"));
        let crate_path = concat!("crate", "::");
        for (file, text) in SOURCES {
            for (n, line) in text.lines().enumerate() {
                for (at, _) in line.match_indices(crate_path) {
                    let rest = &line[at + crate_path.len()..];
                    assert!(
                        rest.starts_with("cli::"),
                        "src/import/{file}:{}: reaches into the binary: {line}",
                        n + 1
                    );
                }
            }
        }
    }
}
