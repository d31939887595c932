//! `<disk>`: a VM's block device (or an image a container may mount).

use crate::domain::cursor::{Cursor, Extras};
use crate::domain::error::ParseError;
use crate::xml::{Pos, Writer};

/// `<driver name= type=/>` (`type` is the image format: raw, qcow2, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskDriver {
    pub name: Option<String>,
    pub format: Option<String>,
    pub extras: Extras,
}

/// `<source file=|dev=|dir=|protocol= name=>`; network hosts are kept as extras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskSource {
    pub file: Option<String>,
    pub dev: Option<String>,
    pub dir: Option<String>,
    pub protocol: Option<String>,
    pub name: Option<String>,
    pub extras: Extras,
}

/// `<target dev= bus=/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskTarget {
    pub dev: Option<String>,
    pub bus: Option<String>,
    pub extras: Extras,
}

/// `<disk>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// `file`, `block`, `network`, `dir` or `volume`.
    pub kind: Option<String>,
    /// `disk`, `cdrom`, `floppy` or `lun`.
    pub device: Option<String>,
    pub driver: Option<DiskDriver>,
    pub source: Option<DiskSource>,
    pub target: Option<DiskTarget>,
    pub readonly: bool,
    pub shareable: bool,
    pub serial: Option<String>,
    pub extras: Extras,
    pub pos: Pos,
}

const KNOWN: &[&str] = &[
    "driver",
    "source",
    "target",
    "readonly",
    "shareable",
    "serial",
];

impl Disk {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let pos = c.pos();
        let kind = c.parse_attr("type")?;
        let device = c.parse_attr("device")?;
        let driver = match c.child("driver") {
            Some(mut d) => Some(DiskDriver {
                name: d.parse_attr("name")?,
                format: d.parse_attr("type")?,
                extras: d.finish(&[]),
            }),
            None => None,
        };
        let source = match c.child("source") {
            Some(mut s) => Some(DiskSource {
                file: s.parse_attr("file")?,
                dev: s.parse_attr("dev")?,
                dir: s.parse_attr("dir")?,
                protocol: s.parse_attr("protocol")?,
                name: s.parse_attr("name")?,
                extras: s.finish(&[]),
            }),
            None => None,
        };
        let target = match c.child("target") {
            Some(mut t) => Some(DiskTarget {
                dev: t.parse_attr("dev")?,
                bus: t.parse_attr("bus")?,
                extras: t.finish(&[]),
            }),
            None => None,
        };
        let readonly = c.flag("readonly");
        let shareable = c.flag("shareable");
        let serial = c.child("serial").map(|s| s.text());
        Ok(Disk {
            kind,
            device,
            driver,
            source,
            target,
            readonly,
            shareable,
            serial,
            extras: c.finish(KNOWN),
            pos,
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let x = &self.extras;
        let t = w
            .tag("disk")
            .opt_attr("type", self.kind.as_deref())
            .opt_attr("device", self.device.as_deref())
            .extra_attrs(&x.attrs);
        w.children(t, |w| {
            x.leading(w);
            if let Some(d) = &self.driver {
                let t = w
                    .tag("driver")
                    .opt_attr("name", d.name.as_deref())
                    .opt_attr("type", d.format.as_deref())
                    .extra_attrs(&d.extras.attrs);
                w.children(t, |w| d.extras.leading(w));
            }
            x.after(w, "driver");
            if let Some(s) = &self.source {
                let t = w
                    .tag("source")
                    .opt_attr("protocol", s.protocol.as_deref())
                    .opt_attr("name", s.name.as_deref())
                    .opt_attr("file", s.file.as_deref())
                    .opt_attr("dev", s.dev.as_deref())
                    .opt_attr("dir", s.dir.as_deref())
                    .extra_attrs(&s.extras.attrs);
                w.children(t, |w| s.extras.leading(w));
            }
            x.after(w, "source");
            if let Some(t) = &self.target {
                let tag = w
                    .tag("target")
                    .opt_attr("dev", t.dev.as_deref())
                    .opt_attr("bus", t.bus.as_deref())
                    .extra_attrs(&t.extras.attrs);
                w.children(tag, |w| t.extras.leading(w));
            }
            x.after(w, "target");
            for (name, on) in [("readonly", self.readonly), ("shareable", self.shareable)] {
                if on {
                    w.empty(w.tag(name).extra_attrs(x.attrs_of(name, 1)));
                }
                x.after(w, name);
            }
            if let Some(s) = &self.serial {
                let t = w.tag("serial").extra_attrs(x.attrs_of("serial", 1));
                w.text(t, s);
            }
            x.after(w, "serial");
        });
    }
}
