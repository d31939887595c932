//! Templates: named, immutable root filesystems, provisioned per domain
//! copy-on-write in constant time.
//!
//! A domain's `<filesystem type='template'><source name='NAME'/>` root comes
//! from the template store ([`Store`]) under domrun's state root. Templates
//! are imported from a directory or a tarball ([`Store::import`]) or built by
//! a recipe ([`Store::build`], [`Recipe`]). At start the engine asks
//! [`Store::provision`] for the domain's root and mounts what it gets
//! ([`Provisioned`]; [`mount_overlay`] for the overlayfs case) inside the
//! container's mount namespace.
//!
//! Layout, formats, safety rules and the recipe format: `docs/templates.md`.

mod engine;
mod error;
mod import;
mod layers;
mod meta;
mod name;
mod progress;
mod provision;
mod recipe;
mod store;
mod tar_guard;
mod tree;

pub use engine::StoreProvider;
pub use error::{Result, TemplateError};
pub use import::detect_source;
pub use layers::apply_layer;
/// The one RFC 3339 formatter (also the OCI state's `created`).
pub(crate) use meta::format_rfc3339;
pub use meta::{SourceKind, TemplateInfo};
pub use name::{MAX_NAME_LEN, validate_domain_name, validate_name};
pub use progress::Progress;
pub use provision::{OverlayRoot, Provisioned, UpperLayer, mount_overlay, overlay_available};
pub use recipe::{RECIPE_UNAVAILABLE, Recipe};
pub use store::Store;
