//! A synchronous rtnetlink client: one request, one acknowledgement.
//!
//! The socket belongs to the network namespace it was created in, whichever
//! thread later uses it; [`super::netns::rtnl_in`] creates one inside another
//! namespace.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
    MacVlanMode,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::plan::network::{IpConfig, MacvlanMode as PlanMacvlanMode, RouteConfig};

/// The loopback device's index in every network namespace.
pub(crate) const LOOPBACK_INDEX: u32 = 1;

/// An rtnetlink socket of one network namespace.
#[derive(Debug)]
pub(crate) struct Rtnl {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

/// What a new veth pair looks like.
#[derive(Debug)]
pub(crate) struct VethSpec<'a> {
    /// Bridge index the host end is enslaved to.
    pub master: Option<u32>,
    pub peer_name: &'a str,
    /// The namespace the peer is created in.
    pub peer_netns: BorrowedFd<'a>,
    pub peer_mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
}

/// What a new macvlan looks like.
#[derive(Debug)]
pub(crate) struct MacvlanSpec<'a> {
    pub name: &'a str,
    pub parent: u32,
    pub mode: PlanMacvlanMode,
    pub netns: BorrowedFd<'a>,
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
}

fn family(a: IpAddr) -> AddressFamily {
    match a {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn route_address(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(v4) => RouteAddress::Inet(v4),
        IpAddr::V6(v6) => RouteAddress::Inet6(v6),
    }
}

/// The `RTM_NEWLINK` that creates a veth pair (see [`Rtnl::create_veth`]).
fn veth_message(host_name: &str, spec: &VethSpec<'_>) -> LinkMessage {
    let mut peer = LinkMessage::default();
    peer.attributes
        .push(LinkAttribute::IfName(spec.peer_name.to_owned()));
    if let Some(mac) = spec.peer_mac {
        peer.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(mtu) = spec.mtu {
        peer.attributes.push(LinkAttribute::Mtu(mtu));
    }
    peer.attributes
        .push(LinkAttribute::NetNsFd(spec.peer_netns.as_raw_fd()));
    let mut msg = LinkMessage::default();
    msg.header.flags = LinkFlags::Up;
    msg.header.change_mask = LinkFlags::Up;
    msg.attributes
        .push(LinkAttribute::IfName(host_name.to_owned()));
    if let Some(mtu) = spec.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(master) = spec.master {
        msg.attributes.push(LinkAttribute::Controller(master));
    }
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    msg
}

impl Rtnl {
    /// A socket in this thread's network namespace.
    pub(crate) fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Self {
            socket,
            seq: 0,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends `msg` and waits for the kernel's acknowledgement.
    fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.exchange(msg, flags).map(drop)
    }

    /// Sends `msg`; returns the first reply message before the ack (for a
    /// GET), or `None` for a plain ack.
    fn exchange(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Option<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        self.socket.send(&out, 0)?;
        let mut reply = None;
        loop {
            self.buf.clear();
            self.socket.recv(&mut self.buf, 0)?;
            let mut off = 0;
            while off + 16 <= self.buf.len() {
                let parsed =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..])
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = parsed.header.length as usize;
                off += (len + 3) & !3;
                if parsed.header.sequence_number != self.seq {
                    continue;
                }
                match parsed.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(reply),
                            Some(_) => Err(e.to_io()),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(reply),
                    NetlinkPayload::InnerMessage(m) => {
                        reply.get_or_insert(m);
                    }
                    _ => {}
                }
                if len == 0 {
                    break;
                }
            }
        }
    }

    /// The index of link `name`, `None` if there is none.
    pub(crate) fn link_index(&mut self, name: &str) -> io::Result<Option<u32>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        match self.exchange(RouteNetlinkMessage::GetLink(msg), 0) {
            Ok(Some(RouteNetlinkMessage::NewLink(link))) => Ok(Some(link.header.index)),
            Ok(_) => Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a veth pair (`NLM_F_EXCL`: an existing host name is EEXIST),
    /// the host end up and enslaved, the peer created directly in its
    /// namespace with its final name (down: flags on the peer at creation
    /// fail with ENOTCONN on 6.x kernels; the caller brings it up inside).
    pub(crate) fn create_veth(&mut self, host_name: &str, spec: &VethSpec<'_>) -> io::Result<()> {
        self.request(
            RouteNetlinkMessage::NewLink(veth_message(host_name, spec)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Creates a macvlan on `spec.parent`, directly in its namespace.
    pub(crate) fn create_macvlan(&mut self, spec: &MacvlanSpec<'_>) -> io::Result<()> {
        let mode = match spec.mode {
            PlanMacvlanMode::Vepa => MacVlanMode::Vepa,
            PlanMacvlanMode::Bridge => MacVlanMode::Bridge,
            PlanMacvlanMode::Private => MacVlanMode::Private,
            PlanMacvlanMode::Passthrough => MacVlanMode::Passthrough,
        };
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::IfName(spec.name.to_owned()));
        msg.attributes.push(LinkAttribute::Link(spec.parent));
        if let Some(mac) = spec.mac {
            msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        if let Some(mtu) = spec.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        msg.attributes
            .push(LinkAttribute::NetNsFd(spec.netns.as_raw_fd()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(mode)])),
        ]));
        self.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Moves link `index` into the namespace `netns`.
    pub(crate) fn move_link(&mut self, index: u32, netns: BorrowedFd<'_>) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        self.request(RouteNetlinkMessage::SetLink(msg), 0)
    }

    /// Sets link `index` up or down, with an MTU and MAC when given.
    pub(crate) fn set_link(
        &mut self,
        index: u32,
        up: bool,
        mtu: Option<u32>,
        mac: Option<[u8; 6]>,
    ) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        if up {
            msg.header.flags = LinkFlags::Up;
        }
        msg.header.change_mask = LinkFlags::Up;
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = mac {
            msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        self.request(RouteNetlinkMessage::SetLink(msg), 0)
    }

    /// Deletes link `index` (a veth's peer goes with it).
    pub(crate) fn delete_link(&mut self, index: u32) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.request(RouteNetlinkMessage::DelLink(msg), 0)
    }

    /// Adds an address to link `index`. IPv6 addresses skip duplicate
    /// address detection, so they are usable at once (like a static
    /// configuration in a private segment).
    pub(crate) fn add_address(&mut self, index: u32, ip: &IpConfig) -> io::Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = family(ip.address);
        msg.header.prefix_len = ip.prefix;
        msg.header.index = index;
        match ip.address {
            IpAddr::V4(_) => {
                msg.attributes.push(AddressAttribute::Local(ip.address));
                msg.attributes
                    .push(AddressAttribute::Address(ip.peer.unwrap_or(ip.address)));
            }
            IpAddr::V6(_) => {
                match ip.peer {
                    Some(peer) => {
                        msg.attributes.push(AddressAttribute::Local(ip.address));
                        msg.attributes.push(AddressAttribute::Address(peer));
                    }
                    None => msg.attributes.push(AddressAttribute::Address(ip.address)),
                }
                msg.attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Adds a route through link `index`.
    pub(crate) fn add_route(&mut self, index: u32, r: &RouteConfig) -> io::Result<()> {
        let fam_addr = r
            .destination
            .map(|(a, _)| a)
            .or(r.gateway)
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let mut msg = RouteMessage::default();
        msg.header.address_family = family(fam_addr);
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Static;
        msg.header.kind = RouteType::Unicast;
        msg.header.scope = if r.gateway.is_some() {
            RouteScope::Universe
        } else {
            RouteScope::Link
        };
        if let Some((dst, len)) = r.destination {
            msg.header.destination_prefix_length = len;
            msg.attributes
                .push(RouteAttribute::Destination(route_address(dst)));
        }
        if let Some(gw) = r.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(route_address(gw)));
        }
        msg.attributes.push(RouteAttribute::Oif(index));
        if let Some(metric) = r.metric {
            msg.attributes.push(RouteAttribute::Priority(metric));
        }
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    #[test]
    fn a_veth_is_one_message_host_end_up_and_enslaved_peer_in_the_namespace() {
        let netns = std::fs::File::open("/dev/null").unwrap();
        let spec = VethSpec {
            master: Some(7),
            peer_name: "eth0",
            peer_netns: std::os::fd::AsFd::as_fd(&netns),
            peer_mac: Some([0x52, 0x54, 0, 1, 2, 3]),
            mtu: Some(1400),
        };
        let msg = veth_message("vnet0", &spec);
        assert_eq!(msg.header.flags, LinkFlags::Up);
        assert!(
            msg.attributes
                .contains(&LinkAttribute::IfName("vnet0".into()))
        );
        assert!(msg.attributes.contains(&LinkAttribute::Controller(7)));
        assert!(msg.attributes.contains(&LinkAttribute::Mtu(1400)));
        let Some(LinkAttribute::LinkInfo(info)) = msg
            .attributes
            .iter()
            .find(|a| matches!(a, LinkAttribute::LinkInfo(_)))
        else {
            panic!("no link info");
        };
        assert_eq!(info[0], LinkInfo::Kind(InfoKind::Veth));
        let LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))) = &info[1] else {
            panic!("no peer");
        };
        // The peer is made down (flags on it fail on 6.x) in the namespace.
        assert!(peer.header.flags.is_empty());
        assert!(
            peer.attributes
                .contains(&LinkAttribute::IfName("eth0".into()))
        );
        assert!(
            peer.attributes
                .contains(&LinkAttribute::NetNsFd(netns.as_raw_fd()))
        );
        assert!(
            peer.attributes
                .contains(&LinkAttribute::Address(vec![0x52, 0x54, 0, 1, 2, 3]))
        );
        let mut bytes = vec![0u8; msg.buffer_len()];
        msg.emit(&mut bytes);
        assert!(bytes.windows(5).any(|w| w == b"veth\0"));
    }
}
