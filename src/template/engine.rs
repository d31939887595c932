//! The template store as the engine's template provider: the one place the
//! two meet ([`crate::plan::TemplateProvider`]).

use super::{Progress, Provisioned, Store};
use crate::plan::{OverlayRoot as PlanOverlay, RootSource, TemplateProvider};
use std::path::PathBuf;

/// Provisions template roots from the store under a state root, opening
/// the store only when a domain actually uses a template.
#[derive(Debug, Clone)]
pub struct StoreProvider {
    pub root: PathBuf,
}

impl TemplateProvider for StoreProvider {
    fn provision(
        &self,
        template: &str,
        domain: &str,
        readonly: bool,
    ) -> Result<RootSource, String> {
        let store = Store::open(&self.root).map_err(|e| e.to_string())?;
        let provisioned = store
            .provision_with(template, domain, readonly, Progress::Auto)
            .map_err(|e| e.to_string())?;
        match provisioned {
            Provisioned::Directory(dir) => Ok(RootSource::Directory(dir)),
            Provisioned::Overlay(o) => {
                // The overlay is mounted on this empty directory inside the
                // container's mount namespace only.
                let mountpoint = store
                    .layer_dir(domain)
                    .map_err(|e| e.to_string())?
                    .join("root");
                std::fs::create_dir_all(&mountpoint)
                    .map_err(|e| format!("{}: {e}", mountpoint.display()))?;
                Ok(RootSource::Overlay(PlanOverlay {
                    lowers: o.lowers,
                    upper: o.upper.map(|u| (u.upper, u.work)),
                    mountpoint,
                }))
            }
        }
    }
}
