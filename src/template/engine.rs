//! The template store as the engine's template provider: the one place the
//! two meet ([`crate::plan::TemplateProvider`]).

use super::{Progress, Provisioned, Store, TemplateError};
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
    ) -> Result<RootSource, TemplateError> {
        let store = Store::open(&self.root)?;
        let provisioned = store.provision_with(template, domain, readonly, Progress::Auto)?;
        match provisioned {
            Provisioned::Directory(dir) => Ok(RootSource::Directory(dir)),
            Provisioned::Overlay(o) => {
                // The overlay is mounted on this empty directory inside the
                // container's mount namespace only.
                let mountpoint = store.layer_dir(domain)?.join("root");
                std::fs::create_dir_all(&mountpoint).map_err(|source| {
                    TemplateError::CreateDir {
                        path: mountpoint.clone(),
                        source,
                    }
                })?;
                Ok(RootSource::Overlay(PlanOverlay {
                    lowers: o.lowers,
                    upper: o.upper.map(|u| (u.upper, u.work)),
                    mountpoint,
                }))
            }
        }
    }
}
