//! The monitor's side of hot-plug: `AttachDevice` / `DetachDevice` requests
//! change the running container's network and the live domain (`dumpxml`).

use super::control::Reply;
use crate::domain::{Device, Domain};
use crate::launch::Running;
use crate::lifecycle::{find_interface, parse_interface};
use crate::plan::network::{NetDeviceKind, default_guest_name, plan_interface};
use std::path::Path;

fn error(message: impl std::fmt::Display) -> Reply {
    Reply::Error {
        message: message.to_string(),
    }
}

/// Attaches the `<interface>` in `xml` to the running container and adds it
/// to `live` (with the host name chosen).
pub(super) fn attach(
    live: &mut Domain,
    running: &mut Running,
    xml: &str,
    networks: &Path,
) -> Reply {
    let mut iface = match parse_interface(xml, true) {
        Ok(i) => i,
        Err(e) => return error(e),
    };
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

/// Detaches the interface `xml` identifies (by target dev, else MAC; the rest
/// must agree) and removes it from `live`.
pub(super) fn detach(live: &mut Domain, running: &mut Running, xml: &str) -> Reply {
    let given = match parse_interface(xml, false) {
        Ok(i) => i,
        Err(e) => return error(e),
    };
    let at = match find_interface(live, &given) {
        Ok(at) => at,
        Err(e) => return error(e),
    };
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
