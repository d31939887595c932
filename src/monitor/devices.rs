//! The monitor's side of hot-plug: `AttachDevice` / `DetachDevice` requests
//! change the running container (network devices, mounts) and the live
//! domain (`dumpxml`).

use super::control::Reply;
use crate::domain::devices::fragment::{
    FragmentError, check_target_free, find_device, find_hostdev, hostdev_key, parse_device,
};
use crate::domain::{Device, Domain, Filesystem, Hostdev, HostdevSource};
use crate::launch::Running;
use crate::plan::network::{NetDeviceKind, default_guest_name, plan_host_nic, plan_interface};
use std::path::Path;

/// A device the running domain cannot take.
#[derive(Debug, thiserror::Error)]
enum LiveDeviceError {
    #[error(transparent)]
    Fragment(#[from] FragmentError),
    #[error("domain '{0}' has no network of its own")]
    NoOwnNetwork(String),
    #[error("the interface has no device to remove")]
    NoDeviceToRemove,
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
    #[error(transparent)]
    Hotplug(#[from] crate::hotplug::FsHotplugError),
    #[error("domain '{name}' would be invalid with this device: {source}")]
    Invalid {
        name: String,
        #[source]
        source: crate::domain::ValidateErrors,
    },
}

/// Checks the whole live domain with `dev` added, before anything is
/// applied: a device the domain's rules refuse (a filesystem target already
/// used, a duplicate MAC) changes nothing.
fn check_with(live: &Domain, dev: &Device) -> Result<(), LiveDeviceError> {
    let mut edited = live.clone();
    edited.devices.list.push(dev.clone());
    edited
        .validate()
        .map_err(|source| LiveDeviceError::Invalid {
            name: live.name.clone(),
            source,
        })
}

fn error(message: impl std::fmt::Display) -> Reply {
    Reply::Error {
        message: message.to_string(),
    }
}

/// Attaches the device in `xml` (an `<interface>` or `<filesystem>`) to
/// the running container and adds it to `live` (an interface with the host
/// name chosen).
pub(super) fn attach(
    live: &mut Domain,
    running: &mut Running,
    xml: &str,
    networks: &Path,
) -> Reply {
    let dev = match parse_device(xml, true) {
        Ok(dev) => dev,
        Err(e) => return error(e),
    };
    if let Device::Filesystem(fs) = &dev
        && let Err(e) = check_target_free(live, fs)
    {
        return error(e);
    }
    if let Err(e) = check_with(live, &dev) {
        return error(e);
    }
    match dev {
        Device::Interface(i) => attach_interface(live, running, i, networks),
        Device::Filesystem(fs) => attach_filesystem(live, running, fs),
        Device::Hostdev(h) => attach_hostdev(live, running, h),
        other => error(FragmentError::Unsupported(other.element_name().to_owned())),
    }
}

fn attach_hostdev(live: &mut Domain, running: &mut Running, h: Hostdev) -> Reply {
    if find_hostdev(live, &h).is_ok() {
        return error(format!(
            "domain '{}' already has {} hostdev '{}'",
            live.name,
            h.kind,
            hostdev_key(&h).unwrap_or_default()
        ));
    }
    let n = live
        .devices
        .list
        .iter()
        .filter(|d| matches!(d, Device::Hostdev(_)))
        .count();
    let reply = match &h.source {
        HostdevSource::Interface(_) => {
            let plan = match plan_host_nic(&h, n) {
                Ok(p) => p,
                Err(e) => return error(e),
            };
            let Some(net) = running.network_mut() else {
                return error(format!(
                    "domain '{}' shares the host's network namespace: no NIC can be moved in",
                    live.name
                ));
            };
            match net.attach(&plan) {
                Ok(dev) => Reply::Device {
                    guest: dev.guest_name,
                    target: dev.host_name,
                },
                Err(e) => return error(e),
            }
        }
        HostdevSource::Block(node) | HostdevSource::Char(node) => {
            match crate::hotplug::attach_node(running.pid().as_raw(), Path::new(node)) {
                Ok(()) => Reply::Device {
                    guest: node.clone(),
                    target: None,
                },
                Err(e) => return error(e),
            }
        }
        _ => return error(FragmentError::UnsupportedHostdev),
    };
    live.devices.list.push(Device::Hostdev(h));
    reply
}

fn attach_filesystem(live: &mut Domain, running: &Running, fs: Filesystem) -> Reply {
    let target = fs.target.clone().unwrap_or_default();
    let n = live.devices.filesystems().count() + 1;
    let step = match crate::plan::mount_step(&fs, &format!("/domain/devices/filesystem[{n}]")) {
        Ok(step) => step,
        Err(e) => return error(e),
    };
    let pid = running.pid().as_raw();
    match crate::hotplug::attach(pid, &step) {
        Ok(()) => {
            live.devices.list.push(Device::Filesystem(fs));
            Reply::Device {
                guest: target,
                target: None,
            }
        }
        Err(e) => error(e),
    }
}

fn attach_interface(
    live: &mut Domain,
    running: &mut Running,
    mut iface: crate::domain::Interface,
    networks: &Path,
) -> Reply {
    let Some(net) = running.network_mut() else {
        return error(format!(
            "domain '{}' shares the host's network namespace: no interface can be attached",
            live.name
        ));
    };
    let taken: Vec<String> = net.devices().iter().map(|d| d.guest_name.clone()).collect();
    let guest = iface
        .guest_dev
        .clone()
        .unwrap_or_else(|| default_guest_name(&taken));
    let n = live
        .devices
        .list
        .iter()
        .filter(|d| matches!(d, Device::Interface(_)))
        .count();
    let plan = match plan_interface(&iface, n, guest, Some(networks)) {
        Ok(p) => p,
        Err(e) => return error(e),
    };
    match net.attach(&plan) {
        Ok(dev) => {
            if matches!(plan.kind, NetDeviceKind::Veth { .. }) {
                iface.target_dev = dev.host_name.clone();
            }
            live.devices.list.push(Device::Interface(iface));
            Reply::Device {
                guest: dev.guest_name,
                target: dev.host_name,
            }
        }
        Err(e) => error(e),
    }
}

/// Detaches the device `xml` identifies (an interface by target dev, else
/// MAC; a filesystem by target dir; the rest must agree) and removes it
/// from `live`.
pub(super) fn detach(live: &mut Domain, running: &mut Running, xml: &str) -> Reply {
    match detach_device(live, running, xml) {
        Ok(()) => Reply::Ok,
        Err(e) => error(e),
    }
}

fn detach_device(
    live: &mut Domain,
    running: &mut Running,
    xml: &str,
) -> Result<(), LiveDeviceError> {
    let given = parse_device(xml, false)?;
    let at = find_device(live, &given)?;
    let pid = running.pid().as_raw();
    let no_network = || LiveDeviceError::NoOwnNetwork(live.name.clone());
    match &live.devices.list[at] {
        Device::Hostdev(h) => match &h.source {
            HostdevSource::Interface(name) => {
                let net = running.network_mut().ok_or_else(no_network)?;
                net.detach(name)?;
            }
            HostdevSource::Block(node) | HostdevSource::Char(node) => {
                crate::hotplug::detach_node(pid, Path::new(node))?;
            }
            _ => return Err(FragmentError::UnsupportedHostdev.into()),
        },
        Device::Filesystem(fs) => {
            let target = fs.target.clone().unwrap_or_default();
            crate::hotplug::detach(pid, Path::new(&target))?;
        }
        Device::Interface(found) => {
            let net = running.network_mut().ok_or_else(no_network)?;
            // Its host name (veth), else its name inside (macvlan): given,
            // or the one chosen for its position.
            let n = live.devices.list[..at]
                .iter()
                .filter(|d| matches!(d, Device::Interface(_)))
                .count();
            let key = found
                .target_dev
                .clone()
                .or(found.guest_dev.clone())
                .or_else(|| {
                    net.devices()
                        .iter()
                        .find(|d| d.origin == crate::plan::network::NetOrigin::Interface(n))
                        .map(|d| d.guest_name.clone())
                })
                .ok_or(LiveDeviceError::NoDeviceToRemove)?;
            net.detach(&key)?;
        }
        other => return Err(FragmentError::Unsupported(other.element_name().to_owned()).into()),
    }
    live.devices.list.remove(at);
    Ok(())
}

/// Before a restart: drops storage/misc hostdevs from the live domain. The
/// launcher cannot create device nodes at start yet (a definition with one
/// is refused), so any present were hot-plugged; they went with the old
/// mount namespace and are not made again.
pub(super) fn forget_device_nodes(live: &mut Domain) {
    live.devices.list.retain(|d| match d {
        Device::Hostdev(h) => {
            let node = matches!(h.source, HostdevSource::Block(_) | HostdevSource::Char(_));
            if node {
                eprintln!(
                    "domrun monitor: hot-plugged {} hostdev {} is not re-created by the restart",
                    h.kind,
                    hostdev_key(h).unwrap_or_default()
                );
            }
            !node
        }
        _ => true,
    });
}
