//! Container networking over rtnetlink (no `ip` commands): veth pairs on a
//! bridge or left unattached, macvlans, host NICs moved in and back.
//!
//! [`setup`] runs in the launcher between clone and release (the child
//! waits in its new, empty network namespace): loopback up, then each
//! [`NetDevicePlan`] in order. The returned [`Attached`] holds the
//! container's network namespace open and knows what it made. Dropping it
//! moves host NICs back to the host and lets the namespace go (the kernel
//! deletes veths and macvlans with it, asynchronously); [`Attached::release`]
//! also deletes them itself, so their names are free when it returns. Hot-plug is [`Attached::attach`] /
//! [`Attached::detach`], or [`Attached::join`] for a container found by pid.
//!
//! Everything is synchronous; see `docs/networking.md`.

mod netns;
mod rtnl;

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use crate::plan::network::{
    AUTO_NAME_PREFIX, HostSide, IpConfig, NetDeviceKind, NetDevicePlan, NetOrigin, RouteConfig,
};
use rtnl::{LOOPBACK_INDEX, MacvlanSpec, Rtnl, VethSpec};

/// Auto-allocated host names tried before giving up (`vnet0` … `vnet4095`).
const MAX_AUTO_NAMES: u32 = 4096;

/// A network step that failed, naming the device.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("opening the network namespace of process {pid}: {source}")]
    OpenNetns { pid: i32, source: io::Error },
    #[error("opening domrun's own network namespace: {0}")]
    OpenOwnNetns(io::Error),
    #[error("opening a netlink socket in the {side} network namespace: {source}")]
    Socket {
        side: &'static str,
        source: io::Error,
    },
    #[error("looking up {what} '{name}': {source}")]
    Lookup {
        what: &'static str,
        name: String,
        source: io::Error,
    },
    #[error("{what} '{name}' does not exist {side}")]
    Missing {
        what: &'static str,
        name: String,
        side: &'static str,
    },
    #[error(
        "target device name '{0}' is already taken on the host (choose another <target dev>, or leave it out to get vnetN)"
    )]
    TargetTaken(String),
    #[error("no free host device name {AUTO_NAME_PREFIX}0…{AUTO_NAME_PREFIX}{}", MAX_AUTO_NAMES - 1)]
    NoFreeName,
    #[error("creating veth pair {host} (host) / {guest} (container): {source}")]
    CreateVeth {
        host: String,
        guest: String,
        source: io::Error,
    },
    #[error("creating macvlan {guest} on {parent}: {source}{hint}")]
    CreateMacvlan {
        parent: String,
        guest: String,
        source: io::Error,
        hint: &'static str,
    },
    #[error("moving host NIC {dev} into the container: {source}")]
    MoveIn { dev: String, source: io::Error },
    #[error("moving NIC {dev} back to the host: {source}")]
    MoveBack { dev: String, source: io::Error },
    #[error("bringing up the container's loopback: {0}")]
    LoopbackUp(io::Error),
    #[error("setting link {dev} ({side}) {state}: {source}")]
    SetLink {
        dev: String,
        side: &'static str,
        state: &'static str,
        source: io::Error,
    },
    #[error("adding address {address}/{prefix} to {dev} ({side}): {source}")]
    AddAddress {
        dev: String,
        side: &'static str,
        address: std::net::IpAddr,
        prefix: u8,
        source: io::Error,
    },
    #[error("adding route {route} on {dev} ({side}): {source}")]
    AddRoute {
        dev: String,
        side: &'static str,
        route: String,
        source: io::Error,
    },
    #[error("deleting {dev}: {source}")]
    Delete { dev: String, source: io::Error },
    #[error("the container has no network device '{0}'")]
    NotAttached(String),
    #[error("the container already has a network device '{0}'")]
    GuestNameTaken(String),
}

/// What kind of device an [`AttachedDevice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachedKind {
    /// A veth pair; the host end has `host_name`.
    Veth,
    /// A macvlan inside the container (no host-side device).
    Macvlan,
    /// A host NIC, moved back at release.
    HostNic,
}

/// One device set up for the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedDevice {
    /// The domain element it comes from.
    pub origin: NetOrigin,
    /// What it is.
    pub kind: AttachedKind,
    /// Its name inside the container.
    pub guest_name: String,
    /// The host-side name: a veth's host end (given or allocated) or the
    /// moved NIC's; `None` for a macvlan.
    pub host_name: Option<String>,
}

/// The container's network: its namespace, held open, and the devices made
/// for it. Dropping it releases them (see [`Attached::release`]).
#[derive(Debug)]
pub struct Attached {
    netns: OwnedFd,
    host_netns: OwnedFd,
    devices: Vec<AttachedDevice>,
    /// Release what is in `devices` on drop (false for [`Attached::join`]).
    owns: bool,
}

fn route_text(r: &RouteConfig) -> String {
    let dst = match r.destination {
        Some((a, len)) => format!("{a}/{len}"),
        None => "default".into(),
    };
    match r.gateway {
        Some(g) => format!("{dst} via {g}"),
        None => dst,
    }
}

/// Addresses, then routes, on link `index`.
fn configure(
    rt: &mut Rtnl,
    index: u32,
    dev: &str,
    side: &'static str,
    ips: &[IpConfig],
    routes: &[RouteConfig],
) -> Result<(), NetError> {
    for ip in ips {
        rt.add_address(index, ip)
            .map_err(|source| NetError::AddAddress {
                dev: dev.to_owned(),
                side,
                address: ip.address,
                prefix: ip.prefix,
                source,
            })?;
    }
    for r in routes {
        rt.add_route(index, r)
            .map_err(|source| NetError::AddRoute {
                dev: dev.to_owned(),
                side,
                route: route_text(r),
                source,
            })?;
    }
    Ok(())
}

/// Where a lookup happens, for messages.
const ON_HOST: &str = "on the host";
const IN_CONTAINER: &str = "in the container";

fn lookup(
    rt: &mut Rtnl,
    side: &'static str,
    what: &'static str,
    name: &str,
) -> Result<u32, NetError> {
    rt.link_index(name)
        .map_err(|source| NetError::Lookup {
            what,
            name: name.to_owned(),
            source,
        })?
        .ok_or_else(|| NetError::Missing {
            what,
            name: name.to_owned(),
            side,
        })
}

/// Sets up the container whose init is `pid` (waiting in its new network
/// namespace): loopback up, then every device of `devices` in order.
pub fn setup(pid: i32, devices: &[NetDevicePlan]) -> Result<Attached, NetError> {
    let mut attached = Attached::open(pid)?;
    attached.owns = true;
    let mut ct = attached.container_socket()?;
    ct.set_link(LOOPBACK_INDEX, true, None, None)
        .map_err(NetError::LoopbackUp)?;
    if devices.is_empty() {
        return Ok(attached);
    }
    let mut host = Rtnl::open().map_err(|source| NetError::Socket {
        side: "host",
        source,
    })?;
    for d in devices {
        attached.attach_with(&mut host, &mut ct, d)?;
    }
    Ok(attached)
}

impl Attached {
    fn open(pid: i32) -> Result<Self, NetError> {
        Ok(Self {
            netns: netns::open_netns_of(pid)
                .map_err(|source| NetError::OpenNetns { pid, source })?,
            host_netns: netns::own_netns().map_err(NetError::OpenOwnNetns)?,
            devices: Vec::new(),
            owns: false,
        })
    }

    /// The network of a running container found by its init's pid, for
    /// hot-plug from outside its monitor. It knows no devices but those
    /// attached through it, and releases nothing when dropped.
    pub fn join(pid: i32) -> Result<Self, NetError> {
        Self::open(pid)
    }

    fn container_socket(&self) -> Result<Rtnl, NetError> {
        netns::rtnl_in(self.netns.as_fd()).map_err(|source| NetError::Socket {
            side: "container",
            source,
        })
    }

    /// The devices set up, in order.
    pub fn devices(&self) -> &[AttachedDevice] {
        &self.devices
    }

    /// Host-side names of the veth interfaces, for the live XML's `<target dev>`.
    pub fn target_names(&self) -> Vec<(NetOrigin, String)> {
        self.devices
            .iter()
            .filter(|d| d.kind == AttachedKind::Veth)
            .filter_map(|d| d.host_name.clone().map(|h| (d.origin, h)))
            .collect()
    }

    /// Hot-plugs one device into the running container.
    pub fn attach(&mut self, d: &NetDevicePlan) -> Result<AttachedDevice, NetError> {
        if self.devices.iter().any(|x| x.guest_name == d.guest_name) {
            return Err(NetError::GuestNameTaken(d.guest_name.clone()));
        }
        let mut host = Rtnl::open().map_err(|source| NetError::Socket {
            side: "host",
            source,
        })?;
        let mut ct = self.container_socket()?;
        let before = self.devices.len();
        if let Err(e) = self.attach_with(&mut host, &mut ct, d) {
            // Made but not configured: take it out again (best effort; the
            // error that matters is the first one).
            if self.devices.len() > before
                && let Some(dev) = self.devices.pop()
            {
                let _ = self.remove(&dev);
            }
            return Err(e);
        }
        self.devices
            .last()
            .cloned()
            .ok_or_else(|| NetError::NotAttached(d.guest_name.clone()))
    }

    fn attach_with(
        &mut self,
        host: &mut Rtnl,
        ct: &mut Rtnl,
        d: &NetDevicePlan,
    ) -> Result<(), NetError> {
        let guest = d.guest_name.as_str();
        match &d.kind {
            NetDeviceKind::Veth {
                host_name,
                host: side,
            } => {
                let master = match side {
                    HostSide::Bridge(b) => Some(lookup(host, ON_HOST, "bridge", b)?),
                    HostSide::Unattached { .. } => None,
                };
                let spec = VethSpec {
                    master,
                    peer_name: guest,
                    peer_netns: self.netns.as_fd(),
                    peer_mac: d.mac,
                    mtu: d.mtu,
                };
                let name = match host_name {
                    Some(name) => match host.create_veth(name, &spec) {
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                            return Err(NetError::TargetTaken(name.clone()));
                        }
                        Err(source) => {
                            return Err(NetError::CreateVeth {
                                host: name.clone(),
                                guest: guest.to_owned(),
                                source,
                            });
                        }
                        Ok(()) => name.clone(),
                    },
                    None => create_auto_named(host, &spec)?,
                };
                self.devices.push(AttachedDevice {
                    origin: d.origin,
                    kind: AttachedKind::Veth,
                    guest_name: guest.to_owned(),
                    host_name: Some(name.clone()),
                });
                if let HostSide::Unattached { ips, routes } = side
                    && !(ips.is_empty() && routes.is_empty())
                {
                    let index = lookup(host, ON_HOST, "host end", &name)?;
                    configure(host, index, &name, "host", ips, routes)?;
                }
            }
            NetDeviceKind::Macvlan { parent, mode } => {
                let parent_index = lookup(host, ON_HOST, "macvlan parent", parent)?;
                host.create_macvlan(&MacvlanSpec {
                    name: guest,
                    parent: parent_index,
                    mode: *mode,
                    netns: self.netns.as_fd(),
                    mac: d.mac,
                    mtu: d.mtu,
                })
                .map_err(|source| NetError::CreateMacvlan {
                    parent: parent.clone(),
                    guest: guest.to_owned(),
                    hint: match source.raw_os_error() {
                        Some(libc::EOPNOTSUPP) | Some(libc::EINVAL) => {
                            " (the parent must be an Ethernet device: not a bridge port in some modes, not loopback, not a wireless NIC in most drivers)"
                        }
                        Some(libc::EBUSY) => " (passthrough needs the parent to itself)",
                        _ => "",
                    },
                    source,
                })?;
                self.devices.push(AttachedDevice {
                    origin: d.origin,
                    kind: AttachedKind::Macvlan,
                    guest_name: guest.to_owned(),
                    host_name: None,
                });
            }
            NetDeviceKind::HostNic { host_name } => {
                let index = lookup(host, ON_HOST, "host NIC", host_name)?;
                host.move_link(index, self.netns.as_fd())
                    .map_err(|source| NetError::MoveIn {
                        dev: host_name.clone(),
                        source,
                    })?;
                self.devices.push(AttachedDevice {
                    origin: d.origin,
                    kind: AttachedKind::HostNic,
                    guest_name: guest.to_owned(),
                    host_name: Some(host_name.clone()),
                });
            }
        }
        // Inside: up (a moved NIC also gets its MTU and MAC here), then
        // addresses, then routes (a gateway must be reachable: link up and
        // its prefix's address in place).
        let index = lookup(ct, IN_CONTAINER, "container device", guest)?;
        let (mtu, mac) = match d.kind {
            NetDeviceKind::HostNic { .. } => (d.mtu, d.mac),
            _ => (None, None),
        };
        if d.link_up || mtu.is_some() || mac.is_some() {
            ct.set_link(index, d.link_up, mtu, mac)
                .map_err(|source| NetError::SetLink {
                    dev: guest.to_owned(),
                    side: "container",
                    state: if d.link_up { "up" } else { "down" },
                    source,
                })?;
        }
        configure(ct, index, guest, "container", &d.ips, &d.routes)
    }

    /// Hot-unplugs the device named `name` inside the container (or by its
    /// host-side name): a veth or macvlan is deleted, a host NIC moved back.
    pub fn detach(&mut self, name: &str) -> Result<AttachedDevice, NetError> {
        let at = self
            .devices
            .iter()
            .position(|d| d.guest_name == name || d.host_name.as_deref() == Some(name))
            .ok_or_else(|| NetError::NotAttached(name.to_owned()))?;
        let dev = self.devices[at].clone();
        self.remove(&dev)?;
        self.devices.remove(at);
        Ok(dev)
    }

    /// Removes one device (see [`Attached::detach`]).
    fn remove(&self, dev: &AttachedDevice) -> Result<(), NetError> {
        let delete = |rt: &mut Rtnl, side, what, name: &str| -> Result<(), NetError> {
            let index = lookup(rt, side, what, name)?;
            rt.delete_link(index).map_err(|source| NetError::Delete {
                dev: name.to_owned(),
                source,
            })
        };
        match (dev.kind, &dev.host_name) {
            (AttachedKind::Veth, Some(h)) => {
                let mut host = Rtnl::open().map_err(|source| NetError::Socket {
                    side: "host",
                    source,
                })?;
                delete(&mut host, ON_HOST, "host end", h)
            }
            (AttachedKind::HostNic, _) => {
                let mut ct = self.container_socket()?;
                let index = lookup(&mut ct, IN_CONTAINER, "moved NIC", &dev.guest_name)?;
                ct.move_link(index, self.host_netns.as_fd())
                    .map_err(|source| NetError::MoveBack {
                        dev: dev.guest_name.clone(),
                        source,
                    })
            }
            _ => {
                let mut ct = self.container_socket()?;
                delete(&mut ct, IN_CONTAINER, "container device", &dev.guest_name)
            }
        }
    }

    /// Moves host NICs back to the host and deletes veths and macvlans, in
    /// reverse order, synchronously: when this returns, their host names are
    /// free again (a restart reuses them). Every failure is returned (the
    /// rest is still attempted). Deleting a link waits for an RCU grace
    /// period (~10-20 ms each); dropping an `Attached` instead leaves that to
    /// the kernel's namespace teardown, off the caller's path.
    pub fn release(mut self) -> Vec<NetError> {
        let mut errors = Vec::new();
        if self.owns {
            while let Some(dev) = self.devices.pop() {
                if let Err(e) = self.remove(&dev) {
                    errors.push(e);
                }
            }
        }
        errors
    }

    /// Moves host NICs back (the kernel would hand a physical NIC of a dying
    /// namespace to the *initial* namespace, which need not be the one
    /// domrun runs in); veths and macvlans are left to go with the
    /// namespace when its last process and this handle are gone.
    fn return_host_nics(&mut self) -> Vec<NetError> {
        let mut errors = Vec::new();
        if self.owns {
            let nics: Vec<AttachedDevice> = self
                .devices
                .iter()
                .filter(|d| d.kind == AttachedKind::HostNic)
                .cloned()
                .collect();
            for dev in nics.iter().rev() {
                if let Err(e) = self.remove(dev) {
                    errors.push(e);
                }
            }
        }
        self.devices.clear();
        errors
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        for e in self.return_host_nics() {
            eprintln!("domrun: releasing the network: {e}");
        }
    }
}

/// Creates the veth with the lowest free `vnetN` host name: an existing
/// name fails with EEXIST before anything is made, so this tries upwards.
fn create_auto_named(host: &mut Rtnl, spec: &VethSpec<'_>) -> Result<String, NetError> {
    for n in 0..MAX_AUTO_NAMES {
        let name = format!("{AUTO_NAME_PREFIX}{n}");
        match host.create_veth(&name, spec) {
            Ok(()) => return Ok(name),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(source) => {
                return Err(NetError::CreateVeth {
                    host: name,
                    guest: spec.peer_name.to_owned(),
                    source,
                });
            }
        }
    }
    Err(NetError::NoFreeName)
}
