//! Pass 2: fill in what libvirt fills in after parsing (its post-parse), so
//! the formatted domain says explicitly what will happen.

use super::addr::{IpFamily, MacAddr};
use super::devices::{CharTarget, Device};
use super::misc::{Clock, LifecycleAction};
use super::tuning::{Placement, Vcpu};
use super::{AccessMode, Domain, DomainType, Extras, OsType, Uuid};

/// Why defaults could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum DefaultsError {
    #[error("cannot generate a {what}: the system random source failed: {error}")]
    Random {
        what: &'static str,
        error: getrandom::Error,
    },
}

/// The console target type libvirt uses for each domain type.
fn console_target_type(d: &Domain) -> &'static str {
    match (d.kind, d.os.kind) {
        (DomainType::OpenVz, _) => "openvz",
        (DomainType::Lxc | DomainType::VServer, _) => "lxc",
        (DomainType::Xen, OsType::Hvm) => "serial",
        (DomainType::Xen, _) => "xen",
        (DomainType::Kvm | DomainType::Qemu, _) => "serial",
    }
}

/// A MAC in the locally administered range libvirt uses (52:54:00:…).
fn random_mac() -> Result<MacAddr, DefaultsError> {
    let mut b = [0u8; 3];
    getrandom::fill(&mut b).map_err(|error| DefaultsError::Random {
        what: "MAC address",
        error,
    })?;
    Ok(MacAddr([0x52, 0x54, 0x00, b[0], b[1], b[2]]))
}

impl Domain {
    /// Applies libvirt's post-parse defaults. Idempotent.
    pub fn apply_defaults(&mut self) -> Result<(), DefaultsError> {
        if self.uuid.is_none() {
            self.uuid = Some(Uuid::random().map_err(|error| DefaultsError::Random {
                what: "domain UUID",
                error,
            })?);
        }
        match (self.memory, self.current_memory) {
            (Some(m), None) => self.current_memory = Some(m),
            (Some(m), Some(c)) if c > m => self.current_memory = Some(m),
            (None, Some(c)) => self.memory = Some(c),
            _ => {}
        }
        let vcpu = self.vcpu.get_or_insert_with(|| Vcpu {
            count: 1,
            placement: None,
            cpuset: None,
            current: None,
            extras: Extras::default(),
        });
        vcpu.placement.get_or_insert(Placement::Static);
        self.clock.get_or_insert_with(|| Clock {
            offset: Some("utc".into()),
            ..Clock::default()
        });
        self.on_poweroff.get_or_insert(LifecycleAction::Destroy);
        self.on_reboot.get_or_insert(LifecycleAction::Restart);
        self.on_crash.get_or_insert(LifecycleAction::Destroy);
        if self.kind == DomainType::Xen && self.os.kind == OsType::Xen {
            // libvirt prints Xen PV as `linux`.
            self.os.kind = OsType::Linux;
        }
        let console_type = console_target_type(self);
        let mut console_port = 0;
        for dev in &mut self.devices.list {
            match dev {
                Device::Filesystem(fs) => {
                    fs.accessmode.get_or_insert(AccessMode::Passthrough);
                }
                Device::Console(c) => {
                    let t = c.target.get_or_insert_with(CharTarget::default);
                    t.kind.get_or_insert_with(|| console_type.to_owned());
                    t.port.get_or_insert(console_port);
                    console_port += 1;
                }
                Device::Interface(i) => {
                    if i.mac.is_none() {
                        i.mac = Some(random_mac()?);
                    }
                    let source_ips = i.source.iter_mut().flat_map(|s| s.ips.iter_mut());
                    for ip in i.ips.iter_mut().chain(source_ips) {
                        ip.family.get_or_insert(IpFamily::of(ip.address));
                    }
                }
                Device::Hostdev(h) => {
                    for ip in &mut h.ips {
                        ip.family.get_or_insert(IpFamily::of(ip.address));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
