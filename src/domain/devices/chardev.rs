//! `<console>` and `<serial>`: character devices (a pty for containers).

use crate::domain::cursor::{Cursor, Extras, string_enum};
use crate::domain::error::ParseError;
use crate::xml::{Element, Pos, Writer};

string_enum! {
    /// `<console type=…>`, `<serial type=…>`: the host side of the device
    /// (libvirt's `virDomainChrType`).
    pub enum ChardevType {
        Null = "null",
        Vc = "vc",
        Pty = "pty",
        Dev = "dev",
        File = "file",
        Pipe = "pipe",
        Stdio = "stdio",
        Udp = "udp",
        Tcp = "tcp",
        Unix = "unix",
        SpiceVmc = "spicevmc",
        SpicePort = "spiceport",
        Nmdm = "nmdm",
        QemuVdagent = "qemu-vdagent",
        Dbus = "dbus",
    }
}

/// `<target type= port=/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CharTarget {
    /// `lxc`, `openvz`, `serial`, `xen`, `virtio`, …; defaulted per domain type.
    pub kind: Option<String>,
    pub port: Option<u32>,
    pub extras: Extras,
}

/// A `<console>` or `<serial>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chardev {
    pub kind: ChardevType,
    /// Live state: the pty path.
    pub tty: Option<String>,
    /// `<source>` kept verbatim (its attributes depend on the kind).
    pub source: Option<Element>,
    pub target: Option<CharTarget>,
    pub extras: Extras,
    pub pos: Pos,
}

const KNOWN: &[&str] = &["source", "target"];

impl Chardev {
    /// A pty console with a default target.
    pub fn pty() -> Chardev {
        Chardev {
            kind: ChardevType::Pty,
            tty: None,
            source: None,
            target: None,
            extras: Extras::default(),
            pos: Pos::default(),
        }
    }

    /// The `path` of the source, when it has one.
    pub fn source_path(&self) -> Option<&str> {
        self.source.as_ref().and_then(|s| s.attr("path"))
    }

    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let pos = c.pos();
        let kind = c.parse_attr("type")?.unwrap_or(ChardevType::Pty);
        let tty = c.parse_attr("tty")?;
        let source = c.child("source").map(|s| s.verbatim());
        let target = match c.child("target") {
            Some(mut t) => Some(CharTarget {
                kind: t.parse_attr("type")?,
                port: t.parse_attr("port")?,
                extras: t.finish(&[]),
            }),
            None => None,
        };
        Ok(Chardev {
            kind,
            tty,
            source,
            target,
            extras: c.finish(KNOWN),
            pos,
        })
    }

    pub(crate) fn format(&self, w: &mut Writer, name: &str) {
        let x = &self.extras;
        let t = w
            .tag(name)
            .attr("type", self.kind)
            .opt_attr("tty", self.tty.as_deref())
            .extra_attrs(&x.attrs);
        w.children(t, |w| {
            x.leading(w);
            if let Some(s) = &self.source {
                w.verbatim(s);
            }
            x.after(w, "source");
            if let Some(t) = &self.target {
                let tag = w
                    .tag("target")
                    .opt_attr("type", t.kind.as_deref())
                    .opt_attr("port", t.port)
                    .extra_attrs(&t.extras.attrs);
                w.children(tag, |w| t.extras.leading(w));
            }
            x.after(w, "target");
        });
    }
}
