//! The state root as what a plan needs from the host: the template store,
//! the named networks and the running domains. `domrun run` and the
//! monitor build their [`Sources`] here, in one way.

use super::Root;
use crate::plan::{DomainLookup, Sources};

impl<'a> Sources<'a> {
    /// Templates from `root`'s store, named networks from its `networks/`,
    /// other domains from its live state.
    pub fn for_root(root: &'a Root) -> Sources<'a> {
        Sources {
            templates: Some(&root.templates),
            networks_dir: Some(&root.networks),
            domains: Some(root),
        }
    }
}

/// Running domains by name, for `<lxc:sharenet type='name' value='…'/>`.
impl DomainLookup for Root {
    fn init_pid(&self, name: &str) -> Option<i32> {
        let state = self.read_live(name).ok()??;
        let init = state.init?;
        (state.monitor.is_alive() && init.is_alive()).then_some(init.pid)
    }
}
