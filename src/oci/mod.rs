//! The OCI runtime front end: runc's command line over runtime-spec
//! bundles. `config.json` becomes a [`crate::plan::Plan`] ([`spec`]), which
//! the one launcher (`crate::launch`) runs, as it runs the XML front end's.
//!
//! * [`spec`], [`mounts`], [`resources`], [`seccomp`]: config.json → Plan;
//! * [`state`]: the create/start/kill/delete/pause state machine (pure) and
//!   the state JSON; [`store`]: the `--root` directory;
//! * [`cli`]: the verbs and global flags; [`log`]: `--log` lines;
//! * [`default_spec`] (`spec`), [`features`] (`features`), [`signal`].
//!
//! See docs/oci.md for the field-by-field mapping and what is phase 2.

pub mod cli;
pub mod default_spec;
mod error;
pub mod features;
pub mod log;
pub mod mounts;
pub mod resources;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod state;
pub mod store;

pub use error::SpecError;
pub use spec::{SpecOptions, load_bundle, parse_config, plan_from_spec};
