//! domrun: a daemonless container runtime driven by libvirt domain XML.
//!
//! The pipeline is `xml` (a positioned, bounded DOM) → `domain` (the lossless
//! libvirt model: parse, defaults, validate) → `plan` (typed, string-free) →
//! `launch` (the one straight-line container start). See `docs/architecture.md`.

pub mod cgroup;
pub mod domain;
pub mod generate;
pub mod hotplug;
// Bounded reads of every file domrun does not control.
pub mod input;
pub mod launch;
pub mod lifecycle;
pub mod monitor;
pub mod net;
pub mod oci;
pub mod plan;
pub mod state;
pub mod storage;
// The crate's only raw syscalls, one wrapper each, every one justified; internal.
mod sys;
pub mod template;
pub mod vm;
pub mod xml;
