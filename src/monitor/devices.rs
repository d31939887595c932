//! The monitor's side of hot-plug: `AttachDevice` / `DetachDevice` requests
//! change the running container (network devices, mounts) and the live
//! domain (`dumpxml`).

use super::control::Reply;
use crate::domain::{Device, Domain, Filesystem, Hostdev, HostdevSource};
use crate::launch::Running;
use crate::lifecycle::{DeviceError, find_device, find_hostdev, hostdev_key, parse_device};
use crate::plan::network::{NetDeviceKind, default_guest_name, plan_host_nic, plan_interface};
use std::path::Path;

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
    match parse_device(xml, true) {
        Ok(Device::Interface(i)) => attach_interface(live, running, i, networks),
        Ok(Device::Filesystem(fs)) => attach_filesystem(live, running, fs),
        Ok(Device::Hostdev(h)) => attach_hostdev(live, running, h),
        Ok(other) => error(DeviceError::Unsupported(other.element_name().to_owned())),
        Err(e) => error(e),
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
        _ => return error(DeviceError::Unsupported("hostdev".into())),
    };
    live.devices.list.push(Device::Hostdev(h));
    reply
}

fn attach_filesystem(live: &mut Domain, running: &Running, fs: Filesystem) -> Reply {
    let target = fs.target.clone().unwrap_or_default();
    let in_use = live.devices.list.iter().any(
        |d| matches!(d, Device::Filesystem(f) if f.target.as_deref() == Some(target.as_str())),
    );
    if in_use {
        return error(DeviceError::TargetInUse {
            name: live.name.clone(),
            target,
        });
    }
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
    let plan = match plan_interface(&iface, n, guest, networks) {
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
    let given = match parse_device(xml, false) {
        Ok(d) => d,
        Err(e) => return error(e),
    };
    let at = match find_device(live, &given) {
        Ok(at) => at,
        Err(e) => return error(e),
    };
    if let Device::Hostdev(h) = &live.devices.list[at] {
        let result = match &h.source {
            HostdevSource::Interface(name) => match running.network_mut() {
                Some(net) => net.detach(name).map(drop).map_err(|e| e.to_string()),
                None => Err("the domain has no network of its own".to_owned()),
            },
            HostdevSource::Block(node) | HostdevSource::Char(node) => {
                crate::hotplug::detach_node(running.pid().as_raw(), Path::new(node))
                    .map_err(|e| e.to_string())
            }
            _ => Err("not a capabilities hostdev".to_owned()),
        };
        return match result {
            Ok(()) => {
                live.devices.list.remove(at);
                Reply::Ok
            }
            Err(e) => error(e),
        };
    }
    if let Device::Filesystem(fs) = &live.devices.list[at] {
        let target = fs.target.clone().unwrap_or_default();
        return match crate::hotplug::detach(running.pid().as_raw(), Path::new(&target)) {
            Ok(()) => {
                live.devices.list.remove(at);
                Reply::Ok
            }
            Err(e) => error(e),
        };
    }
    let Device::Interface(found) = &live.devices.list[at] else {
        return error("not an interface");
    };
    let Some(net) = running.network_mut() else {
        return error("the domain has no network of its own");
    };
    // Its host name (veth), else its name inside (macvlan): given, or the
    // one chosen for its position.
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
        });
    let Some(key) = key else {
        return error("the interface has no device to remove");
    };
    match net.detach(&key) {
        Ok(_) => {
            live.devices.list.remove(at);
            Reply::Ok
        }
        Err(e) => error(e),
    }
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
