//! `<devices>`: typed filesystems, disks, interfaces, host devices and
//! consoles; every other device (graphics, video, input, controllers, …) is
//! kept verbatim.
//!
//! libvirt prints devices grouped by class in a fixed order
//! ([`DEVICE_ORDER`]); within a class, in document order. A device domrun does
//! not know takes the rank of the device before it, so it stays in place.

mod chardev;
mod disk;
mod filesystem;
pub mod fragment;
mod hostdev;
mod net;
#[cfg(test)]
mod vocab_tests;

pub use chardev::{CharTarget, Chardev, ChardevType};
pub use disk::{Disk, DiskDriver, DiskSource, DiskTarget};
pub use filesystem::{
    AccessMode, Filesystem, FsDriver, FsDriverType, FsSource, FsType, ImageFormat,
};
pub use fragment::FragmentError;
pub use hostdev::{
    Hostdev, HostdevCapsType, HostdevKind, HostdevMode, HostdevSource, HostdevSubsysType, UsbSource,
};
pub use net::{
    Bandwidth, Interface, LinkState, NetIp, NetRoute, NetSource, NetSourceMode, NetType, Rate,
};

use super::cursor::{Cursor, Extras};
use super::error::ParseError;
use crate::xml::{Element, Writer};

/// Device classes in libvirt's output order.
pub const DEVICE_ORDER: &[&str] = &[
    "emulator",
    "disk",
    "controller",
    "lease",
    "filesystem",
    "interface",
    "smartcard",
    "serial",
    "parallel",
    "console",
    "channel",
    "input",
    "tpm",
    "graphics",
    "sound",
    "audio",
    "video",
    "hostdev",
    "redirdev",
    "redirfilter",
    "hub",
    "watchdog",
    "memballoon",
    "rng",
    "nvram",
    "panic",
    "shmem",
    "memory",
    "crypto",
    "iommu",
    "vsock",
    "pstore",
];

fn class_rank(name: &str) -> Option<usize> {
    DEVICE_ORDER.iter().position(|n| *n == name)
}

/// One device.
// Devices live in one list for the domain's lifetime; boxing the larger
// variants would buy nothing but indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    Filesystem(Filesystem),
    Disk(Disk),
    Interface(Interface),
    Hostdev(Hostdev),
    Console(Chardev),
    Serial(Chardev),
    /// A device domrun does not model, kept verbatim with its class rank.
    Other {
        rank: usize,
        element: Element,
    },
}

impl Device {
    /// Wraps an unmodelled device element, ranked by its class.
    pub fn other(element: Element) -> Device {
        let rank = class_rank(&element.name).unwrap_or(DEVICE_ORDER.len());
        Device::Other { rank, element }
    }

    /// The element name of this device.
    pub fn element_name(&self) -> &str {
        match self {
            Device::Filesystem(_) => "filesystem",
            Device::Disk(_) => "disk",
            Device::Interface(_) => "interface",
            Device::Hostdev(_) => "hostdev",
            Device::Console(_) => "console",
            Device::Serial(_) => "serial",
            Device::Other { element, .. } => &element.name,
        }
    }

    fn rank(&self) -> usize {
        match self {
            Device::Other { rank, .. } => *rank,
            d => class_rank(d.element_name()).unwrap_or(DEVICE_ORDER.len()),
        }
    }

    /// Parses one device element (also what `attach-device` reads).
    pub(crate) fn parse(c: Cursor<'_>, prev_rank: usize) -> Result<Device, ParseError> {
        Ok(match c.element().name.as_str() {
            "filesystem" => Device::Filesystem(Filesystem::parse(c)?),
            "disk" => Device::Disk(Disk::parse(c)?),
            "interface" => Device::Interface(Interface::parse(c)?),
            "hostdev" => Device::Hostdev(Hostdev::parse(c)?),
            "console" => Device::Console(Chardev::parse(c)?),
            "serial" => Device::Serial(Chardev::parse(c)?),
            name => Device::Other {
                rank: class_rank(name).unwrap_or(prev_rank),
                element: c.verbatim(),
            },
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        match self {
            Device::Filesystem(f) => f.format(w),
            Device::Disk(d) => d.format(w),
            Device::Interface(i) => i.format(w),
            Device::Hostdev(h) => h.format(w),
            Device::Console(c) => c.format(w, "console"),
            Device::Serial(c) => c.format(w, "serial"),
            Device::Other { element, .. } => w.verbatim(element),
        }
    }
}

/// `<devices>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    pub emulator: Option<String>,
    /// Devices in document order.
    pub list: Vec<Device>,
    pub extras: Extras,
}

impl Devices {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let mut devices = Devices::default();
        let mut prev_rank = 0;
        for child in c.all_children() {
            if child.element().name == "emulator" && devices.emulator.is_none() {
                devices.emulator = Some(child.text());
                continue;
            }
            let d = Device::parse(child, prev_rank)?;
            prev_rank = d.rank();
            devices.list.push(d);
        }
        devices.extras = c.finish(&[]);
        Ok(devices)
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w.tag("devices").extra_attrs(&self.extras.attrs);
        w.children(t, |w| {
            if let Some(e) = &self.emulator {
                let t = w
                    .tag("emulator")
                    .extra_attrs(self.extras.attrs_of("emulator", 1));
                w.text(t, e);
            }
            let mut order: Vec<&Device> = self.list.iter().collect();
            order.sort_by_key(|d| d.rank());
            for d in order {
                d.format(w);
            }
        });
    }

    pub fn filesystems(&self) -> impl Iterator<Item = &Filesystem> {
        self.list.iter().filter_map(|d| match d {
            Device::Filesystem(f) => Some(f),
            _ => None,
        })
    }

    pub fn interfaces(&self) -> impl Iterator<Item = &Interface> {
        self.list.iter().filter_map(|d| match d {
            Device::Interface(i) => Some(i),
            _ => None,
        })
    }

    pub fn hostdevs(&self) -> impl Iterator<Item = &Hostdev> {
        self.list.iter().filter_map(|d| match d {
            Device::Hostdev(h) => Some(h),
            _ => None,
        })
    }

    pub fn disks(&self) -> impl Iterator<Item = &Disk> {
        self.list.iter().filter_map(|d| match d {
            Device::Disk(x) => Some(x),
            _ => None,
        })
    }

    pub fn consoles(&self) -> impl Iterator<Item = &Chardev> {
        self.list.iter().filter_map(|d| match d {
            Device::Console(c) => Some(c),
            _ => None,
        })
    }

    pub fn serials(&self) -> impl Iterator<Item = &Chardev> {
        self.list.iter().filter_map(|d| match d {
            Device::Serial(c) => Some(c),
            _ => None,
        })
    }
}
