//! LXC network keys → `<interface>` and NIC `<hostdev>`: legacy
//! `lxc.network.KEY` (each `type` starts a NIC, later keys set the last one)
//! and 3.0's `lxc.net.N.KEY` (NICs by index, in order of first mention), as
//! libvirt's `lxcConvertNetworkSettings` reads them.

use super::text::{self, Entry, bad, note};
use super::{ImportError, Note};
use domrun::domain::{
    Device, Domain, Extras, Hostdev, HostdevCapsType, HostdevKind, HostdevSource, IpFamily,
    LinkState, MacAddr, NetIp, NetRoute, NetSource, NetSourceMode, NetType,
};
use domrun::xml::Pos;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One NIC's keys (the entries, so errors can name their lines).
#[derive(Debug, Default)]
struct Nic<'a> {
    index: Option<u64>,
    kind: Option<&'a Entry>,
    link: Option<&'a Entry>,
    hwaddr: Option<&'a Entry>,
    flags: Option<&'a Entry>,
    macvlan_mode: Option<&'a Entry>,
    vlan_id: Option<&'a Entry>,
    name: Option<&'a Entry>,
    mtu: Option<&'a Entry>,
    veth_pair: Option<&'a Entry>,
    ips: Vec<&'a Entry>,
    gateway4: Option<&'a Entry>,
    gateway6: Option<&'a Entry>,
}

/// Adds the config's NICs to `d`; returns whether the container gets a
/// network namespace with only loopback (`<privnet/>`): no NIC at all, or
/// only `empty` ones. `none` shares the host's, as in LXC.
pub fn convert(
    entries: &[Entry],
    d: &mut Domain,
    notes: &mut Vec<Note>,
) -> Result<bool, ImportError> {
    let nics = collect(entries, notes)?;
    let mut privnet = true;
    for nic in &nics {
        let kind = nic.kind.map_or("", |e| e.value.as_str());
        match kind {
            "" | "empty" => {}
            "none" => privnet = false,
            _ => {
                privnet = false;
                add(nic, d, notes)?;
            }
        }
    }
    Ok(privnet)
}

fn collect<'a>(entries: &'a [Entry], notes: &mut Vec<Note>) -> Result<Vec<Nic<'a>>, ImportError> {
    let mut nics: Vec<Nic<'a>> = Vec::new();
    for e in entries {
        let nic_and_key = if let Some(key) = e.key.strip_prefix("lxc.network.") {
            if key == "type" {
                nics.push(Nic::default());
            }
            match nics.last_mut() {
                Some(nic) => (nic, key),
                None => return Err(bad(e, "a line after the NIC's lxc.network.type")),
            }
        } else if let Some(rest) = e.key.strip_prefix("lxc.net.") {
            let (index, key) = rest
                .split_once('.')
                .and_then(|(i, k)| Some((i.parse::<u64>().ok()?, k)))
                .ok_or_else(|| bad(e, "a key lxc.net.INDEX.NAME"))?;
            let pos = match nics.iter().position(|n| n.index == Some(index)) {
                Some(p) => p,
                None => {
                    nics.push(Nic {
                        index: Some(index),
                        ..Default::default()
                    });
                    nics.len() - 1
                }
            };
            (&mut nics[pos], key)
        } else {
            continue;
        };
        let (nic, key) = nic_and_key;
        match key {
            "type" => nic.kind = Some(e),
            "link" => nic.link = Some(e),
            "hwaddr" => nic.hwaddr = Some(e),
            "flags" => nic.flags = Some(e),
            "macvlan.mode" => nic.macvlan_mode = Some(e),
            "vlan.id" => nic.vlan_id = Some(e),
            "name" => nic.name = Some(e),
            "mtu" => nic.mtu = Some(e),
            "veth.pair" | "pair" => nic.veth_pair = Some(e),
            "ipv4" | "ipv4.address" | "ipv6" | "ipv6.address" => nic.ips.push(e),
            "ipv4.gateway" => nic.gateway4 = Some(e),
            "ipv6.gateway" => nic.gateway6 = Some(e),
            _ => note(notes, e, "unknown network key, not imported"),
        }
    }
    Ok(nics)
}

fn ip_of(e: &Entry) -> Result<NetIp, ImportError> {
    let v6 = e.key.ends_with("ipv6") || e.key.ends_with("ipv6.address");
    // LXC allows a broadcast address after the CIDR one; it is derived anyway.
    let first = e.value.split_whitespace().next().unwrap_or("");
    match text::cidr(first, true) {
        Some((address, prefix)) if address.is_ipv6() == v6 => Ok(text::net_ip(address, prefix)),
        _ => Err(bad(
            e,
            if v6 {
                "an IPv6 address with its prefix (fd00::2/64)"
            } else {
                "an IPv4 address with its prefix (192.168.122.2/24)"
            },
        )),
    }
}

/// The default route through `gateway`, as libvirt writes it.
fn route(
    gateway: Option<&Entry>,
    family: IpFamily,
    notes: &mut Vec<Note>,
) -> Result<Option<NetRoute>, ImportError> {
    let Some(e) = gateway else { return Ok(None) };
    if matches!(e.value.as_str(), "auto" | "dev") {
        note(
            notes,
            e,
            "not imported: a gateway taken from the host side needs an address there",
        );
        return Ok(None);
    }
    let gw: IpAddr = e
        .value
        .parse()
        .ok()
        .filter(|a: &IpAddr| a.is_ipv6() == (family == IpFamily::Ipv6))
        .ok_or_else(|| bad(e, "an address of the gateway, of the NIC's family"))?;
    let zero = match family {
        IpFamily::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpFamily::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    Ok(Some(NetRoute {
        family: Some(family),
        address: Some(zero),
        gateway: Some(gw),
        ..Default::default()
    }))
}

fn add(nic: &Nic<'_>, d: &mut Domain, notes: &mut Vec<Note>) -> Result<(), ImportError> {
    let Some(kind_entry) = nic.kind else {
        return Ok(());
    };
    let ips = nic
        .ips
        .iter()
        .map(|e| ip_of(e))
        .collect::<Result<Vec<_>, _>>()?;
    let routes: Vec<NetRoute> = [
        route(nic.gateway4, IpFamily::Ipv4, notes)?,
        route(nic.gateway6, IpFamily::Ipv6, notes)?,
    ]
    .into_iter()
    .flatten()
    .collect();
    let link = nic.link.map(|e| e.value.clone());
    match kind_entry.value.as_str() {
        kind @ ("phys" | "vlan") => {
            let Some(mut ifname) = link else {
                return Err(bad(kind_entry, "a NIC with its lxc.net.N.link"));
            };
            // The VLAN device must exist on the host already (as in libvirt).
            if kind == "vlan"
                && let Some(id) = nic.vlan_id
            {
                ifname = format!("{ifname}.{}", id.value);
            }
            for e in [nic.hwaddr, nic.flags, nic.name, nic.mtu]
                .into_iter()
                .flatten()
            {
                note(
                    notes,
                    e,
                    "not imported: a moved host NIC keeps its own settings",
                );
            }
            d.devices.list.push(Device::Hostdev(Hostdev {
                kind: HostdevKind::Capabilities(HostdevCapsType::Net),
                managed: None,
                source: HostdevSource::Interface(ifname),
                ips,
                routes,
                readonly: false,
                shareable: false,
                extras: Extras::default(),
                pos: Pos::default(),
            }));
        }
        kind @ ("veth" | "macvlan") => {
            let mut net = if kind == "veth" {
                match link {
                    Some(bridge) => {
                        let mut n = text::interface(NetType::Bridge);
                        n.source = Some(NetSource {
                            bridge: Some(bridge),
                            ..Default::default()
                        });
                        n
                    }
                    None => text::interface(NetType::Ethernet),
                }
            } else {
                let Some(dev) = link else {
                    return Err(bad(kind_entry, "a macvlan NIC with its lxc.net.N.link"));
                };
                let mode = match nic.macvlan_mode.map(|e| (e, e.value.as_str())) {
                    None | Some((_, "private")) => NetSourceMode::Private,
                    Some((_, "vepa")) => NetSourceMode::Vepa,
                    Some((_, "bridge")) => NetSourceMode::Bridge,
                    Some((e, _)) => return Err(bad(e, "private, vepa or bridge")),
                };
                let mut n = text::interface(NetType::Direct);
                n.source = Some(NetSource {
                    dev: Some(dev),
                    mode: Some(mode),
                    ..Default::default()
                });
                n
            };
            if let Some(e) = nic.hwaddr {
                match MacAddr::parse(&e.value) {
                    Some(mac) => net.mac = Some(mac),
                    None => note(
                        notes,
                        e,
                        "not a complete MAC address (LXC fills 'x' digits at random): a random one is given",
                    ),
                }
            }
            net.ips = ips;
            net.routes = routes;
            net.guest_dev = nic.name.map(|e| e.value.clone());
            if let Some(e) = nic.veth_pair {
                net.target_dev = Some(e.value.clone());
            }
            if let Some(e) = nic.mtu {
                net.mtu = Some(e.value.parse().map_err(|_| bad(e, "an MTU in bytes"))?);
            }
            // libvirt: link up only when the flags say so.
            net.link_state = Some(match nic.flags.map(|e| e.value.as_str()) {
                Some("up") => LinkState::Up,
                _ => LinkState::Down,
            });
            d.devices.list.push(Device::Interface(net));
        }
        _ => {
            return Err(bad(
                kind_entry,
                "a network type among veth, macvlan, phys, vlan, empty, none",
            ));
        }
    }
    Ok(())
}
