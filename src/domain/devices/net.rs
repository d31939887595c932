//! `<interface>`, and the `<ip>`/`<route>` lists it shares with `<hostdev>`.

use crate::domain::addr::{IpFamily, MacAddr, Netmask, default_prefix, parse_prefix};
use crate::domain::cursor::{Cursor, Extras, string_enum};
use crate::domain::error::ParseError;
use crate::xml::{Attr, Pos, Writer};
use std::net::IpAddr;

string_enum! {
    /// `<interface type=…>`.
    pub enum NetType {
        User = "user",
        Ethernet = "ethernet",
        VhostUser = "vhostuser",
        Server = "server",
        Client = "client",
        Mcast = "mcast",
        Network = "network",
        Bridge = "bridge",
        Internal = "internal",
        Direct = "direct",
        Hostdev = "hostdev",
        Udp = "udp",
        Vdpa = "vdpa",
        Null = "null",
        Vds = "vds",
    }
}

string_enum! {
    /// `<source mode=…>` of an interface: the macvtap mode of `direct`, or
    /// which side listens for `vhostuser`.
    pub enum NetSourceMode {
        Vepa = "vepa",
        Bridge = "bridge",
        Private = "private",
        Passthrough = "passthrough",
        Client = "client",
        Server = "server",
    }
}

string_enum! {
    /// `<link state=…>`.
    pub enum LinkState { Up = "up", Down = "down" }
}

/// `<ip address= family= prefix= peer=/>`: an address with its prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetIp {
    pub address: IpAddr,
    /// Derived from the address by the defaults pass.
    pub family: Option<IpFamily>,
    /// At most the family's longest (checked by the parser).
    pub prefix: Option<u8>,
    pub peer: Option<IpAddr>,
    pub extras: Extras,
}

impl NetIp {
    /// The prefix length: as given, else libvirt's default for the address.
    pub fn prefix_len(&self) -> u8 {
        self.prefix.unwrap_or_else(|| default_prefix(self.address))
    }
}

/// `<route family= address= netmask= prefix= gateway= metric=/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetRoute {
    pub family: Option<IpFamily>,
    pub address: Option<IpAddr>,
    pub netmask: Option<Netmask>,
    /// At most the family's longest (checked by the parser).
    pub prefix: Option<u8>,
    pub gateway: Option<IpAddr>,
    pub metric: Option<u32>,
    pub extras: Extras,
}

impl NetRoute {
    /// The destination's prefix length: the netmask's, the prefix, else a
    /// host route (or the default route for the unspecified address).
    pub fn prefix_len(&self) -> Option<u8> {
        let address = self.address?;
        Some(match (self.netmask, self.prefix) {
            (Some(mask), _) => mask.prefix_len(),
            (None, Some(p)) => p,
            (None, None) if address.is_unspecified() => 0,
            (None, None) => IpFamily::of(address).max_prefix(),
        })
    }
}

pub(crate) fn parse_ips(c: &mut Cursor<'_>) -> Result<Vec<NetIp>, ParseError> {
    let mut ips = Vec::new();
    for mut ip in c.children("ip") {
        let address: IpAddr = ip.require_attr("address")?;
        let family = IpFamily::of(address);
        ips.push(NetIp {
            address,
            family: ip.parse_attr("family")?,
            prefix: ip.parse_attr_with("prefix", |s| parse_prefix(family, s))?,
            peer: ip.parse_attr("peer")?,
            extras: ip.finish(&[]),
        });
    }
    Ok(ips)
}

pub(crate) fn parse_routes(c: &mut Cursor<'_>) -> Result<Vec<NetRoute>, ParseError> {
    let mut routes = Vec::new();
    for mut r in c.children("route") {
        let family: Option<IpFamily> = r.parse_attr("family")?;
        let address: Option<IpAddr> = r.parse_attr("address")?;
        // Without an address, the family bounds the prefix (IPv6's is the
        // wider one when neither is given).
        let bound = address.map_or(family.unwrap_or(IpFamily::Ipv6), IpFamily::of);
        routes.push(NetRoute {
            family,
            address,
            netmask: r.parse_attr("netmask")?,
            prefix: r.parse_attr_with("prefix", |s| parse_prefix(bound, s))?,
            gateway: r.parse_attr("gateway")?,
            metric: r.parse_attr("metric")?,
            extras: r.finish(&[]),
        });
    }
    Ok(routes)
}

pub(crate) fn format_ips(w: &mut Writer, ips: &[NetIp], routes: &[NetRoute]) {
    for ip in ips {
        let t = w
            .tag("ip")
            .attr("address", ip.address)
            .opt_attr("family", ip.family)
            .opt_attr("prefix", ip.prefix)
            .opt_attr("peer", ip.peer)
            .extra_attrs(&ip.extras.attrs);
        w.children(t, |w| ip.extras.leading(w));
    }
    for r in routes {
        let t = w
            .tag("route")
            .opt_attr("family", r.family)
            .opt_attr("address", r.address)
            .opt_attr("netmask", r.netmask)
            .opt_attr("prefix", r.prefix)
            .opt_attr("gateway", r.gateway)
            .opt_attr("metric", r.metric)
            .extra_attrs(&r.extras.attrs);
        w.children(t, |w| r.extras.leading(w));
    }
}

/// `<source>` of an interface: bridge, network, or device (+ mode for
/// direct); ethernet interfaces carry host-side addresses and routes here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetSource {
    pub network: Option<String>,
    pub bridge: Option<String>,
    pub dev: Option<String>,
    pub mode: Option<NetSourceMode>,
    pub ips: Vec<NetIp>,
    pub routes: Vec<NetRoute>,
    pub extras: Extras,
}

/// One direction of `<bandwidth>`: rates in KiB/s, burst in KiB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rate {
    pub average: Option<u64>,
    pub peak: Option<u64>,
    pub floor: Option<u64>,
    pub burst: Option<u64>,
    pub extras: Extras,
}

/// `<bandwidth><inbound/><outbound/></bandwidth>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bandwidth {
    pub inbound: Option<Rate>,
    pub outbound: Option<Rate>,
    pub extras: Extras,
}

/// `<interface>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub kind: NetType,
    /// Generated by the defaults pass when absent.
    pub mac: Option<MacAddr>,
    pub source: Option<NetSource>,
    pub bandwidth: Option<Bandwidth>,
    /// Guest-side addresses and routes.
    pub ips: Vec<NetIp>,
    pub routes: Vec<NetRoute>,
    pub script: Option<String>,
    /// Host-side device name (`<target dev>`).
    pub target_dev: Option<String>,
    /// Name inside the container (`<guest dev>`).
    pub guest_dev: Option<String>,
    pub model: Option<String>,
    pub link_state: Option<LinkState>,
    pub mtu: Option<u32>,
    /// Unmodelled attributes of the one-attribute children (`<mac type=…>`,
    /// `<target managed=…>`), by child name.
    pub child_attrs: Vec<(&'static str, Attr)>,
    pub extras: Extras,
    pub pos: Pos,
}

const KNOWN: &[&str] = &[
    "mac",
    "source",
    "bandwidth",
    "ip",
    "route",
    "script",
    "target",
    "guest",
    "model",
    "link",
    "mtu",
];

fn parse_rate(c: Option<Cursor<'_>>) -> Result<Option<Rate>, ParseError> {
    let Some(mut c) = c else { return Ok(None) };
    Ok(Some(Rate {
        average: c.parse_attr("average")?,
        peak: c.parse_attr("peak")?,
        floor: c.parse_attr("floor")?,
        burst: c.parse_attr("burst")?,
        extras: c.finish(&[]),
    }))
}

fn format_rate(w: &mut Writer, name: &str, r: &Rate) {
    let t = w
        .tag(name)
        .opt_attr("average", r.average)
        .opt_attr("peak", r.peak)
        .opt_attr("floor", r.floor)
        .opt_attr("burst", r.burst)
        .extra_attrs(&r.extras.attrs);
    w.children(t, |w| r.extras.leading(w));
}

/// Takes `<name attr=…/>`: returns the value, and keeps any other attribute.
fn simple<T: crate::domain::FromXml>(
    c: &mut Cursor<'_>,
    name: &'static str,
    attr: &str,
    rest: &mut Vec<(&'static str, Attr)>,
) -> Result<Option<T>, ParseError> {
    match c.child(name) {
        Some(mut t) => {
            let v = t.parse_attr(attr)?;
            rest.extend(t.finish(&[]).attrs.into_iter().map(|a| (name, a)));
            Ok(v)
        }
        None => Ok(None),
    }
}

impl Interface {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let pos = c.pos();
        let kind = c.require_attr("type")?;
        let mut child_attrs = Vec::new();
        let mac = simple(&mut c, "mac", "address", &mut child_attrs)?;
        let source = match c.child("source") {
            Some(mut s) => Some(NetSource {
                network: s.parse_attr("network")?,
                bridge: s.parse_attr("bridge")?,
                dev: s.parse_attr("dev")?,
                mode: s.parse_attr("mode")?,
                ips: parse_ips(&mut s)?,
                routes: parse_routes(&mut s)?,
                extras: s.finish(&["ip", "route"]),
            }),
            None => None,
        };
        let bandwidth = match c.child("bandwidth") {
            Some(mut b) => Some(Bandwidth {
                inbound: parse_rate(b.child("inbound"))?,
                outbound: parse_rate(b.child("outbound"))?,
                extras: b.finish(&["inbound", "outbound"]),
            }),
            None => None,
        };
        let ips = parse_ips(&mut c)?;
        let routes = parse_routes(&mut c)?;
        let script = simple(&mut c, "script", "path", &mut child_attrs)?;
        let target_dev = simple(&mut c, "target", "dev", &mut child_attrs)?;
        let guest_dev = simple(&mut c, "guest", "dev", &mut child_attrs)?;
        let model = simple(&mut c, "model", "type", &mut child_attrs)?;
        let link_state = simple(&mut c, "link", "state", &mut child_attrs)?;
        let mtu = simple(&mut c, "mtu", "size", &mut child_attrs)?;
        Ok(Interface {
            kind,
            mac,
            source,
            bandwidth,
            ips,
            routes,
            script,
            target_dev,
            guest_dev,
            model,
            link_state,
            mtu,
            child_attrs,
            extras: c.finish(KNOWN),
            pos,
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let x = &self.extras;
        let t = w
            .tag("interface")
            .attr("type", self.kind)
            .extra_attrs(&x.attrs);
        w.children(t, |w| {
            x.leading(w);
            let simple = |w: &mut Writer, name: &str, attr: &str, v: Option<String>| {
                let mut rest = self
                    .child_attrs
                    .iter()
                    .filter(|(n, _)| *n == name)
                    .peekable();
                if v.is_some() || rest.peek().is_some() {
                    let mut t = w.tag(name).opt_attr(attr, v);
                    for (_, a) in rest {
                        t = t.attr(&a.name, &a.value);
                    }
                    w.empty(t);
                }
                x.after(w, name);
            };
            simple(w, "mac", "address", self.mac.map(|m| m.to_string()));
            if let Some(s) = &self.source {
                let t = w
                    .tag("source")
                    .opt_attr("network", s.network.as_deref())
                    .opt_attr("bridge", s.bridge.as_deref())
                    .opt_attr("dev", s.dev.as_deref())
                    .opt_attr("mode", s.mode)
                    .extra_attrs(&s.extras.attrs);
                w.children(t, |w| {
                    s.extras.leading(w);
                    format_ips(w, &s.ips, &s.routes);
                    s.extras.after(w, "ip");
                    s.extras.after(w, "route");
                });
            }
            x.after(w, "source");
            if let Some(b) = &self.bandwidth {
                let t = w.tag("bandwidth").extra_attrs(&b.extras.attrs);
                w.children(t, |w| {
                    b.extras.leading(w);
                    if let Some(r) = &b.inbound {
                        format_rate(w, "inbound", r);
                    }
                    b.extras.after(w, "inbound");
                    if let Some(r) = &b.outbound {
                        format_rate(w, "outbound", r);
                    }
                    b.extras.after(w, "outbound");
                });
            }
            x.after(w, "bandwidth");
            format_ips(w, &self.ips, &self.routes);
            x.after(w, "ip");
            x.after(w, "route");
            simple(w, "script", "path", self.script.clone());
            simple(w, "target", "dev", self.target_dev.clone());
            simple(w, "guest", "dev", self.guest_dev.clone());
            simple(w, "model", "type", self.model.clone());
            simple(w, "link", "state", self.link_state.map(|l| l.to_string()));
            simple(w, "mtu", "size", self.mtu.map(|m| m.to_string()));
        });
    }
}
