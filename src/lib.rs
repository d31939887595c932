//! domrun: a daemonless container runtime driven by libvirt domain XML.
//!
//! The pipeline is `xml` (a positioned, bounded DOM) → `domain` (the lossless
//! libvirt model: parse, defaults, validate) → `plan` (typed, string-free) →
//! `launch` (the one straight-line container start). See `docs/architecture.md`.

pub mod domain;
pub mod launch;
pub mod plan;
pub mod sys;
pub mod template;
pub mod xml;
