//! `spec`: the default `config.json` (runc's: a `sh` on a terminal in
//! `rootfs/`, the default mounts, masked paths and namespaces, the device
//! cgroup denying everything but the standard nodes). `create` of it plans
//! without error (a test checks).

use oci_spec::runtime::{LinuxDeviceCgroup, Spec};

/// runtime-spec version written by `spec`.
pub const SPEC_VERSION: &str = "1.2.0";

/// The default config as `spec` writes it: JSON with the capability
/// lists sorted (they are sets, whose order would change between runs).
pub fn default_spec_json() -> serde_json::Value {
    let mut value = serde_json::to_value(default_spec()).unwrap_or_default();
    if let Some(sets) = value
        .pointer_mut("/process/capabilities")
        .and_then(serde_json::Value::as_object_mut)
    {
        for list in sets
            .values_mut()
            .filter_map(serde_json::Value::as_array_mut)
        {
            list.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
    value
}

/// The default config.
pub fn default_spec() -> Spec {
    let mut spec = Spec::default();
    spec.set_version(SPEC_VERSION.to_owned());
    spec.set_hostname(Some("domrun".to_owned()));
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(true));
    }
    if let Some(r) = spec
        .linux_mut()
        .as_mut()
        .and_then(|l| l.resources_mut().as_mut())
    {
        let mut deny_all = LinuxDeviceCgroup::default();
        deny_all.set_allow(false);
        deny_all.set_access(Some("rwm".to_owned()));
        r.set_devices(Some(vec![deny_all]));
    }
    spec
}
