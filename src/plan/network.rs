//! The network part of a [`Plan`](super::Plan): one [`NetDevicePlan`] per
//! `<interface>` and per `<hostdev mode='capabilities' type='net'>`, fully
//! resolved before clone (named networks looked up, guest names chosen;
//! addresses come typed from the model). `crate::net` carries them out.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::domain::{
    Device, Domain, HostdevSource, Interface, LinkState, MacAddr, NetIp, NetRoute, NetSourceMode,
    NetType,
};

/// The longest interface name the kernel takes (`IFNAMSIZ` - 1).
pub const MAX_IFNAME: usize = 15;

/// Prefix of host-side names domrun allocates (`vnet0`, `vnet1`, …).
pub const AUTO_NAME_PREFIX: &str = "vnet";

/// One network device of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevicePlan {
    /// Which domain element it comes from (for the live XML).
    pub origin: NetOrigin,
    /// What is created or moved.
    pub kind: NetDeviceKind,
    /// Name inside the container.
    pub guest_name: String,
    /// MAC of the container side; `None` lets the kernel choose.
    pub mac: Option<[u8; 6]>,
    /// MTU of both sides; `None` keeps the kernel's (or the bridge's).
    pub mtu: Option<u32>,
    /// Addresses of the container side.
    pub ips: Vec<IpConfig>,
    /// Routes inside the container, through this device.
    pub routes: Vec<RouteConfig>,
    /// Bring the container side up (`<link state='down'/>` leaves it down).
    pub link_up: bool,
}

/// The element a [`NetDevicePlan`] was made from: the index among the
/// domain's `<interface>` (or `<hostdev>`) elements, in document order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetOrigin {
    /// The n-th `<interface>` (0-based).
    Interface(usize),
    /// The n-th `<hostdev>` (0-based).
    Hostdev(usize),
}

/// How the device comes to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetDeviceKind {
    /// A veth pair: the host end stays here, the peer is created in the
    /// container's network namespace.
    Veth {
        /// The host end's name (`<target dev>`); `None` allocates `vnetN`.
        host_name: Option<String>,
        /// What the host end is connected to.
        host: HostSide,
    },
    /// A macvlan on a host NIC, created directly in the container.
    Macvlan {
        /// The host NIC (`<source dev>`).
        parent: String,
        /// `<source mode>`.
        mode: MacvlanMode,
    },
    /// A host NIC moved into the container (`<hostdev type='net'>`) and
    /// moved back when the container stops.
    HostNic {
        /// Its name on the host (kept inside).
        host_name: String,
    },
}

/// Where the host end of a veth goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSide {
    /// Enslaved to this bridge (`bridge`, or `network` resolved).
    Bridge(String),
    /// Left alone, with host-side addresses and routes (`ethernet`).
    Unattached {
        /// Addresses on the host end.
        ips: Vec<IpConfig>,
        /// Host routes through the host end.
        routes: Vec<RouteConfig>,
    },
}

/// macvlan modes (`<source mode=…>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacvlanMode {
    /// `vepa` (libvirt's default).
    Vepa,
    /// `bridge`.
    Bridge,
    /// `private`.
    Private,
    /// `passthrough`.
    Passthrough,
}

/// An address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpConfig {
    /// The address.
    pub address: IpAddr,
    /// Prefix length (0–32 or 0–128).
    pub prefix: u8,
    /// Point-to-point peer (`<ip peer=…>`).
    pub peer: Option<IpAddr>,
}

/// A route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteConfig {
    /// Destination network; `None` is the default route of `gateway`'s family.
    pub destination: Option<(IpAddr, u8)>,
    /// Next hop; `None` is a direct (link-scope) route.
    pub gateway: Option<IpAddr>,
    /// Metric.
    pub metric: Option<u32>,
}

/// Why the network part of a domain cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum NetPlanError {
    #[error("{path}: <interface type='{kind}'> is not supported by the container engine{hint}")]
    UnsupportedType {
        path: String,
        kind: NetType,
        hint: &'static str,
    },
    #[error("{path}: needs <source {attr}='…'/>")]
    MissingSource { path: String, attr: &'static str },
    #[error(
        "{path}: '{value}' is not a usable interface name (1-{MAX_IFNAME} characters, no '/', ':' or whitespace, not '.' or '..')"
    )]
    BadName { path: String, value: String },
    #[error("{path}: guest device name '{name}' is used twice")]
    DuplicateGuestName { path: String, name: String },
    #[error("{path}: source mode '{mode}' is not one of vepa, bridge, private, passthrough")]
    BadMacvlanMode { path: String, mode: NetSourceMode },
    #[error("{path}: network '{name}' is not defined: create {file} with a line bridge=BRIDGE")]
    UnknownNetwork {
        path: String,
        name: String,
        file: PathBuf,
    },
    #[error(
        "{path}: network '{name}' needs a state root to look it up in (plan with Sources::for_root)"
    )]
    NoNetworksDir { path: String, name: String },
    #[error("network config {file}: {message}")]
    NetworkConfig { file: PathBuf, message: String },
    #[error("reading network config {file}: {source}")]
    ReadNetworkConfig {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: a container with <lxc:namespace><sharenet> uses another network namespace and cannot have its own devices"
    )]
    SharedNetwork { path: String },
}

/// The file describing named network `name` under `dir`
/// (`<state root>/networks/NAME.conf`).
pub fn network_config_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.conf"))
}

/// A named network: `key=value` lines, `#` comments. Only `bridge` is
/// understood today; unknown keys are refused so a typo is noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedNetwork {
    /// The host bridge the network's interfaces are attached to.
    pub bridge: String,
}

impl NamedNetwork {
    /// Parses a network config file's text.
    pub fn parse(text: &str, file: &Path) -> Result<Self, NetPlanError> {
        let bad = |message: String| NetPlanError::NetworkConfig {
            file: file.to_owned(),
            message,
        };
        let mut bridge = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(bad(format!("line {}: expected key=value", n + 1)));
            };
            match key.trim() {
                "bridge" => bridge = Some(value.trim().to_owned()),
                other => return Err(bad(format!("line {}: unknown key '{other}'", n + 1))),
            }
        }
        let bridge = bridge.ok_or_else(|| bad("no bridge=… line".into()))?;
        if !valid_ifname(&bridge) {
            return Err(bad(format!("'{bridge}' is not an interface name")));
        }
        Ok(Self { bridge })
    }

    /// Reads `<dir>/NAME.conf`.
    pub fn load(dir: &Path, name: &str, path: &str) -> Result<Self, NetPlanError> {
        let file = network_config_file(dir, name);
        match std::fs::read_to_string(&file) {
            Ok(text) => Self::parse(&text, &file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound || !valid_network_name(name) => {
                Err(NetPlanError::UnknownNetwork {
                    path: path.to_owned(),
                    name: name.to_owned(),
                    file,
                })
            }
            Err(source) => Err(NetPlanError::ReadNetworkConfig { file, source }),
        }
    }
}

fn valid_network_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && !name.starts_with('.')
}

/// What the kernel accepts as an interface name.
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0')
}

fn ifname(path: &str, value: &str) -> Result<String, NetPlanError> {
    if valid_ifname(value) {
        Ok(value.to_owned())
    } else {
        Err(NetPlanError::BadName {
            path: path.to_owned(),
            value: value.to_owned(),
        })
    }
}

fn ips(list: &[NetIp]) -> Vec<IpConfig> {
    list.iter()
        .map(|ip| IpConfig {
            address: ip.address,
            prefix: ip.prefix_len(),
            peer: ip.peer,
        })
        .collect()
}

fn routes(list: &[NetRoute]) -> Vec<RouteConfig> {
    list.iter()
        .map(|r| RouteConfig {
            // A zero-length destination is the default route.
            destination: r.address.zip(r.prefix_len()).filter(|(_, len)| *len != 0),
            gateway: r.gateway,
            metric: r.metric,
        })
        .collect()
}

/// A `direct` interface's macvlan mode (libvirt's default: vepa).
fn macvlan_mode(path: &str, mode: Option<NetSourceMode>) -> Result<MacvlanMode, NetPlanError> {
    match mode.unwrap_or(NetSourceMode::Vepa) {
        NetSourceMode::Vepa => Ok(MacvlanMode::Vepa),
        NetSourceMode::Bridge => Ok(MacvlanMode::Bridge),
        NetSourceMode::Private => Ok(MacvlanMode::Private),
        NetSourceMode::Passthrough => Ok(MacvlanMode::Passthrough),
        other @ (NetSourceMode::Client | NetSourceMode::Server) => {
            Err(NetPlanError::BadMacvlanMode {
                path: path.to_owned(),
                mode: other,
            })
        }
    }
}

/// Plans one `<interface>` (the n-th, 0-based) whose guest name is already
/// chosen. Used at start and by hot-plug.
pub fn plan_interface(
    i: &Interface,
    n: usize,
    guest_name: String,
    networks_dir: Option<&Path>,
) -> Result<NetDevicePlan, NetPlanError> {
    let path = format!("/domain/devices/interface[{}]", n + 1);
    let source = i.source.clone().unwrap_or_default();
    let host_name = i
        .target_dev
        .as_deref()
        .map(|t| ifname(&format!("{path}/target"), t))
        .transpose()?;
    let missing = |attr| NetPlanError::MissingSource {
        path: path.clone(),
        attr,
    };
    let kind = match i.kind {
        NetType::Bridge => NetDeviceKind::Veth {
            host_name,
            host: HostSide::Bridge(ifname(
                &format!("{path}/source"),
                source.bridge.as_deref().ok_or_else(|| missing("bridge"))?,
            )?),
        },
        NetType::Network => {
            let name = source
                .network
                .as_deref()
                .ok_or_else(|| missing("network"))?;
            let dir = networks_dir.ok_or_else(|| NetPlanError::NoNetworksDir {
                path: path.clone(),
                name: name.to_owned(),
            })?;
            let net = NamedNetwork::load(dir, name, &format!("{path}/source"))?;
            NetDeviceKind::Veth {
                host_name,
                host: HostSide::Bridge(net.bridge),
            }
        }
        NetType::Ethernet => NetDeviceKind::Veth {
            host_name,
            host: HostSide::Unattached {
                ips: ips(&source.ips),
                routes: routes(&source.routes),
            },
        },
        NetType::Direct => NetDeviceKind::Macvlan {
            parent: ifname(
                &format!("{path}/source"),
                source.dev.as_deref().ok_or_else(|| missing("dev"))?,
            )?,
            mode: macvlan_mode(&format!("{path}/source"), source.mode)?,
        },
        other => {
            return Err(NetPlanError::UnsupportedType {
                path,
                kind: other,
                hint: " (bridge, network, ethernet and direct are)",
            });
        }
    };
    Ok(NetDevicePlan {
        origin: NetOrigin::Interface(n),
        kind,
        guest_name,
        mac: i.mac.map(MacAddr::octets),
        mtu: i.mtu,
        ips: ips(&i.ips),
        routes: routes(&i.routes),
        link_up: i.link_state != Some(LinkState::Down),
    })
}

/// Plans a `<hostdev mode='capabilities' type='net'>` (the n-th hostdev,
/// 0-based): the NIC keeps its name inside. Used at start and by hot-plug.
pub fn plan_host_nic(h: &crate::domain::Hostdev, n: usize) -> Result<NetDevicePlan, NetPlanError> {
    let path = format!("/domain/devices/hostdev[{}]", n + 1);
    let name = match &h.source {
        HostdevSource::Interface(name) => ifname(&format!("{path}/source/interface"), name)?,
        _ => {
            return Err(NetPlanError::MissingSource {
                path,
                attr: "interface",
            });
        }
    };
    Ok(NetDevicePlan {
        origin: NetOrigin::Hostdev(n),
        kind: NetDeviceKind::HostNic {
            host_name: name.clone(),
        },
        guest_name: name,
        mac: None,
        mtu: None,
        ips: ips(&h.ips),
        routes: routes(&h.routes),
        link_up: true,
    })
}

/// The lowest `ethN` not in `taken`.
pub fn default_guest_name(taken: &[String]) -> String {
    (0..)
        .map(|n| format!("eth{n}"))
        .find(|c| !taken.contains(c))
        .unwrap_or_else(|| "eth0".into())
}

/// Every network device of `d`, in document order. Guest names: `<guest
/// dev>` when given, a moved NIC keeps its host name, the rest get the
/// lowest free `ethN`. Named networks are read from `networks_dir`.
pub fn plan_network(
    d: &Domain,
    networks_dir: Option<&Path>,
) -> Result<Vec<NetDevicePlan>, NetPlanError> {
    // Names taken explicitly come first, so defaults never collide with them.
    let mut taken: Vec<String> = Vec::new();
    let mut hostdev_n = 0;
    let mut iface_n = 0;
    let check = |taken: &mut Vec<String>, path: String, name: &str| {
        let name = ifname(&path, name)?;
        if name == "lo" || taken.contains(&name) {
            return Err(NetPlanError::DuplicateGuestName { path, name });
        }
        taken.push(name.clone());
        Ok(name)
    };
    let mut explicit: Vec<Option<String>> = Vec::new();
    for dev in &d.devices.list {
        match dev {
            Device::Interface(i) => {
                iface_n += 1;
                let path = format!("/domain/devices/interface[{iface_n}]/guest");
                explicit.push(
                    i.guest_dev
                        .as_deref()
                        .map(|g| check(&mut taken, path, g))
                        .transpose()?,
                );
            }
            Device::Hostdev(h) if h.is_net() => {
                hostdev_n += 1;
                if let HostdevSource::Interface(name) = &h.source {
                    let path = format!("/domain/devices/hostdev[{hostdev_n}]/source/interface");
                    explicit.push(Some(check(&mut taken, path, name)?));
                }
            }
            Device::Hostdev(_) => hostdev_n += 1,
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut explicit = explicit.into_iter();
    let (mut iface_n, mut hostdev_n) = (0, 0);
    for dev in &d.devices.list {
        match dev {
            Device::Interface(i) => {
                let guest = match explicit.next().flatten() {
                    Some(g) => g,
                    None => {
                        let g = default_guest_name(&taken);
                        taken.push(g.clone());
                        g
                    }
                };
                out.push(plan_interface(i, iface_n, guest, networks_dir)?);
                iface_n += 1;
            }
            Device::Hostdev(h) if h.is_net() => {
                // The name was checked above (`explicit`).
                let _ = explicit.next();
                out.push(plan_host_nic(h, hostdev_n)?);
                hostdev_n += 1;
            }
            Device::Hostdev(_) => hostdev_n += 1,
            _ => {}
        }
    }
    if !out.is_empty()
        && d.lxc_namespace
            .as_ref()
            .is_some_and(|n| n.sharenet.is_some())
    {
        return Err(NetPlanError::SharedNetwork {
            path: "/domain/lxc:namespace/sharenet".into(),
        });
    }
    Ok(out)
}

/// Writes the host-side names a start chose into a live domain: `<target
/// dev>` of each veth interface (`names` pairs an origin with its name).
pub fn fill_target_names(d: &mut Domain, names: &[(NetOrigin, String)]) {
    let mut n = 0;
    for dev in &mut d.devices.list {
        if let Device::Interface(i) = dev {
            if let Some((_, name)) = names.iter().find(|(o, _)| *o == NetOrigin::Interface(n)) {
                i.target_dev = Some(name.clone());
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(devices: &str) -> Domain {
        let xml = format!(
            "<domain type='lxc'><name>n</name><os><type>exe</type><init>/bin/sh</init></os>
             <devices>{devices}<console type='pty'/></devices></domain>"
        );
        let mut d = Domain::parse(xml.as_bytes()).unwrap();
        d.apply_defaults().unwrap();
        d.validate().unwrap();
        d
    }

    #[test]
    fn bridge_with_addresses_routes_mac_mtu_and_link() {
        let d = domain(
            "<interface type='bridge'><mac address='52:54:00:aa:bb:cc'/><source bridge='br0'/>
               <ip address='10.1.2.3' prefix='16'/><ip address='fd00::5'/>
               <route address='0.0.0.0' prefix='0' gateway='10.1.0.1'/>
               <route address='192.168.7.0' netmask='255.255.255.0' gateway='10.1.0.2' metric='5'/>
               <target dev='mine0'/><mtu size='1400'/><link state='down'/></interface>",
        );
        let p = plan_network(&d, None).unwrap();
        assert_eq!(p.len(), 1);
        let n = &p[0];
        assert_eq!(
            n.kind,
            NetDeviceKind::Veth {
                host_name: Some("mine0".into()),
                host: HostSide::Bridge("br0".into())
            }
        );
        assert_eq!(n.guest_name, "eth0");
        assert_eq!(n.mac, Some([0x52, 0x54, 0, 0xaa, 0xbb, 0xcc]));
        assert_eq!(n.mtu, Some(1400));
        assert!(!n.link_up);
        assert_eq!(n.ips[0].prefix, 16);
        assert_eq!(n.ips[1].prefix, 64);
        assert_eq!(n.routes[0].destination, None);
        assert_eq!(
            n.routes[1].destination,
            Some(("192.168.7.0".parse().unwrap(), 24))
        );
        assert_eq!(n.routes[1].metric, Some(5));
    }

    #[test]
    fn guest_names_skip_explicit_ones_and_hostdevs_keep_theirs() {
        let d = domain(
            "<interface type='ethernet'/>
             <interface type='ethernet'><guest dev='eth0'/></interface>
             <hostdev mode='capabilities' type='net'><source><interface>eth1</interface></source></hostdev>
             <interface type='direct'><source dev='eno1' mode='bridge'/></interface>",
        );
        let p = plan_network(&d, None).unwrap();
        let names: Vec<&str> = p.iter().map(|n| n.guest_name.as_str()).collect();
        assert_eq!(names, ["eth2", "eth0", "eth1", "eth3"]);
        assert_eq!(p[2].origin, NetOrigin::Hostdev(0));
        assert_eq!(
            p[3].kind,
            NetDeviceKind::Macvlan {
                parent: "eno1".into(),
                mode: MacvlanMode::Bridge
            }
        );
    }

    #[test]
    fn named_networks_come_from_the_config_dir() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("lan.conf"), "# the LAN\nbridge = br-lan\n").unwrap();
        let d = domain("<interface type='network'><source network='lan'/></interface>");
        let p = plan_network(&d, Some(tmp.path())).unwrap();
        assert!(
            matches!(&p[0].kind, NetDeviceKind::Veth { host: HostSide::Bridge(b), .. } if b == "br-lan")
        );
        let d = domain("<interface type='network'><source network='wan'/></interface>");
        let e = plan_network(&d, Some(tmp.path())).unwrap_err().to_string();
        assert!(e.contains("network 'wan' is not defined"), "{e}");
        std::fs::write(tmp.path().join("wan.conf"), "brdge=x\n").unwrap();
        let e = plan_network(&d, Some(tmp.path())).unwrap_err().to_string();
        assert!(e.contains("unknown key 'brdge'"), "{e}");
    }

    #[test]
    fn refusals_name_the_element() {
        let d = domain("<interface type='user'/>");
        assert_eq!(
            plan_network(&d, None).unwrap_err().to_string(),
            "/domain/devices/interface[1]: <interface type='user'> is not supported by the container engine (bridge, network, ethernet and direct are)"
        );
        let d = domain(
            "<interface type='bridge'><source bridge='br0'/><target dev='much-too-long-name'/></interface>",
        );
        assert!(
            plan_network(&d, None)
                .unwrap_err()
                .to_string()
                .starts_with("/domain/devices/interface[1]/target: 'much-too-long-name'")
        );
        let d = domain("<interface type='bridge'/>");
        assert_eq!(
            plan_network(&d, None).unwrap_err().to_string(),
            "/domain/devices/interface[1]: needs <source bridge='…'/>"
        );
    }

    #[test]
    fn live_names_land_on_their_interfaces() {
        let mut d = domain(
            "<interface type='ethernet'/><interface type='ethernet'><target dev='x1'/></interface>",
        );
        fill_target_names(
            &mut d,
            &[
                (NetOrigin::Interface(0), "vnet3".into()),
                (NetOrigin::Interface(1), "x1".into()),
            ],
        );
        let xml = d.format();
        assert!(xml.contains("<target dev='vnet3'/>"), "{xml}");
        assert!(xml.contains("<target dev='x1'/>"), "{xml}");
    }
}
