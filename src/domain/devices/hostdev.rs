//! `<hostdev>`: host devices given to the domain: block and character nodes
//! and NICs (`mode='capabilities'`), USB devices (`mode='subsystem'`).

use super::net::{NetIp, NetRoute, format_ips, parse_ips, parse_routes};
use crate::domain::cursor::{Cursor, Extras, string_enum};
use crate::domain::error::ParseError;
use crate::domain::os::yes_no;
use crate::xml::{Element, Pos, Writer};

string_enum! {
    /// `<hostdev mode=…>`: a host device as such, or a resource of the host.
    pub enum HostdevMode { Subsystem = "subsystem", Capabilities = "capabilities" }
}

string_enum! {
    /// `type=` of a `mode='capabilities'` hostdev (containers).
    pub enum HostdevCapsType { Storage = "storage", Misc = "misc", Net = "net" }
}

string_enum! {
    /// `type=` of a `mode='subsystem'` hostdev (a bus device).
    pub enum HostdevSubsysType {
        Usb = "usb",
        Pci = "pci",
        Scsi = "scsi",
        ScsiHost = "scsi_host",
        Mdev = "mdev",
    }
}

/// `mode=` and `type=` together: which types a mode has is part of the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostdevKind {
    Capabilities(HostdevCapsType),
    Subsystem(HostdevSubsysType),
}

impl HostdevKind {
    pub fn mode(self) -> HostdevMode {
        match self {
            HostdevKind::Capabilities(_) => HostdevMode::Capabilities,
            HostdevKind::Subsystem(_) => HostdevMode::Subsystem,
        }
    }

    /// The `type=` value.
    pub fn as_str(self) -> &'static str {
        match self {
            HostdevKind::Capabilities(t) => t.as_str(),
            HostdevKind::Subsystem(t) => t.as_str(),
        }
    }
}

impl std::fmt::Display for HostdevKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<source><vendor id/><product id/><address bus device/></source>` of a USB device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsbSource {
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub bus: Option<String>,
    pub device: Option<String>,
    pub extras: Extras,
}

/// What the host device is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostdevSource {
    /// `<block>/dev/sdf1</block>` (caps storage).
    Block(String),
    /// `<char>/dev/tty0</char>` (caps misc).
    Char(String),
    /// `<interface>eth0</interface>` (caps net).
    Interface(String),
    /// A USB device (subsystem usb).
    Usb(UsbSource),
    /// Any other source (pci, scsi, mdev), kept verbatim.
    Other(Element),
    None,
}

/// `<hostdev>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostdev {
    /// `mode=` and `type=`.
    pub kind: HostdevKind,
    pub managed: Option<bool>,
    pub source: HostdevSource,
    /// Addresses and routes of a moved NIC (caps net).
    pub ips: Vec<NetIp>,
    pub routes: Vec<NetRoute>,
    pub readonly: bool,
    pub shareable: bool,
    pub extras: Extras,
    pub pos: Pos,
}

const KNOWN: &[&str] = &["source", "ip", "route", "readonly", "shareable"];

fn parse_source(mut s: Cursor<'_>, kind: HostdevKind) -> Result<HostdevSource, ParseError> {
    use HostdevKind::{Capabilities, Subsystem};
    let text = |s: &mut Cursor<'_>, name: &str| s.child(name).map(|c| c.text());
    let caps = match kind {
        Capabilities(HostdevCapsType::Storage) => text(&mut s, "block").map(HostdevSource::Block),
        Capabilities(HostdevCapsType::Misc) => text(&mut s, "char").map(HostdevSource::Char),
        Capabilities(HostdevCapsType::Net) => {
            text(&mut s, "interface").map(HostdevSource::Interface)
        }
        Subsystem(HostdevSubsysType::Usb) => {
            let id = |s: &mut Cursor<'_>, name: &str| -> Result<Option<String>, ParseError> {
                match s.child(name) {
                    Some(mut c) => c.parse_attr("id"),
                    None => Ok(None),
                }
            };
            let vendor = id(&mut s, "vendor")?;
            let product = id(&mut s, "product")?;
            let (bus, device) = match s.child("address") {
                Some(mut a) => (a.parse_attr("bus")?, a.parse_attr("device")?),
                None => (None, None),
            };
            let el = s.element();
            let extras = s.finish(&["vendor", "product", "address"]);
            if extras.is_empty() {
                return Ok(HostdevSource::Usb(UsbSource {
                    vendor,
                    product,
                    bus,
                    device,
                    extras,
                }));
            }
            return Ok(HostdevSource::Other(el.clone()));
        }
        _ => None,
    };
    let el = s.element();
    // Unknown attributes on <block>/<char>/<interface> themselves are not
    // kept (libvirt allows none); anything else unknown keeps the source
    // verbatim.
    let x = s.finish(&[]);
    match caps {
        Some(src) if x.attrs.is_empty() && x.children.is_empty() => Ok(src),
        _ => Ok(HostdevSource::Other(el.clone())),
    }
}

impl Hostdev {
    /// A host NIC moved into the container (`mode='capabilities' type='net'`).
    pub fn is_net(&self) -> bool {
        self.kind == HostdevKind::Capabilities(HostdevCapsType::Net)
    }

    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let pos = c.pos();
        let kind = match c.parse_attr("mode")?.unwrap_or(HostdevMode::Subsystem) {
            HostdevMode::Capabilities => HostdevKind::Capabilities(c.require_attr("type")?),
            HostdevMode::Subsystem => HostdevKind::Subsystem(c.require_attr("type")?),
        };
        let managed = c.parse_attr("managed")?;
        let source = match c.child("source") {
            Some(s) => parse_source(s, kind)?,
            None => HostdevSource::None,
        };
        Ok(Hostdev {
            managed,
            source,
            ips: parse_ips(&mut c)?,
            routes: parse_routes(&mut c)?,
            readonly: c.flag("readonly"),
            shareable: c.flag("shareable"),
            extras: c.finish(KNOWN),
            kind,
            pos,
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let x = &self.extras;
        let t = w
            .tag("hostdev")
            .attr("mode", self.kind.mode())
            .attr("type", self.kind)
            .opt_attr("managed", self.managed.map(yes_no))
            .extra_attrs(&x.attrs);
        w.children(t, |w| {
            x.leading(w);
            let text_source = |w: &mut Writer, name: &str, v: &str| {
                let t = w.tag("source");
                w.children(t, |w| {
                    let t = w.tag(name);
                    w.text(t, v);
                });
            };
            match &self.source {
                HostdevSource::Block(p) => text_source(w, "block", p),
                HostdevSource::Char(p) => text_source(w, "char", p),
                HostdevSource::Interface(p) => text_source(w, "interface", p),
                HostdevSource::Usb(u) => {
                    let t = w.tag("source").extra_attrs(&u.extras.attrs);
                    w.children(t, |w| {
                        if u.vendor.is_some() || u.product.is_some() {
                            let t = w.tag("vendor").opt_attr("id", u.vendor.as_deref());
                            w.empty(t);
                            let t = w.tag("product").opt_attr("id", u.product.as_deref());
                            w.empty(t);
                        }
                        if u.bus.is_some() || u.device.is_some() {
                            let t = w
                                .tag("address")
                                .opt_attr("bus", u.bus.as_deref())
                                .opt_attr("device", u.device.as_deref());
                            w.empty(t);
                        }
                    });
                }
                HostdevSource::Other(el) => w.verbatim(el),
                HostdevSource::None => {}
            }
            x.after(w, "source");
            format_ips(w, &self.ips, &self.routes);
            x.after(w, "ip");
            x.after(w, "route");
            for (name, on) in [("readonly", self.readonly), ("shareable", self.shareable)] {
                if on {
                    w.empty(w.tag(name).extra_attrs(x.attrs_of(name, 1)));
                }
                x.after(w, name);
            }
        });
    }
}
