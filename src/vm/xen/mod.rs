//! The thin Xen backend (being written).

use super::{VmError, VmOptions};
use crate::domain::Domain;

#[derive(Debug, thiserror::Error)]
pub enum XenError {
    #[error("xen: not implemented yet")]
    Todo,
}

pub fn run_foreground(_d: &Domain, _opts: &VmOptions) -> Result<u8, VmError> {
    Err(XenError::Todo.into())
}
