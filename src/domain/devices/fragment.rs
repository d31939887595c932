//! One device given on its own, as `attach-device` / `detach-device` read
//! it: an `<interface>`, `<filesystem>` or capabilities `<hostdev>` parsed
//! straight from the user's fragment (errors point into that file), and the
//! rules that find the device a fragment names in a domain.

use super::{Device, Filesystem, Hostdev, HostdevCapsType, HostdevKind, HostdevSource, Interface};
use crate::domain::cursor::Cursor;
use crate::domain::{DefaultsError, Domain, ParseError};
use crate::xml::{self, Limits};

/// Why a device fragment was refused, or names no device of the domain.
#[derive(Debug, thiserror::Error)]
pub enum FragmentError {
    #[error("{0}")]
    Parse(#[source] ParseError),
    #[error("filling in the device's defaults: {0}")]
    Defaults(#[source] DefaultsError),
    #[error(
        "<{0}> cannot be hot-plugged yet (<interface>, <filesystem> and capabilities <hostdev> can)"
    )]
    Unsupported(String),
    #[error(
        "<hostdev> other than mode='capabilities' with <block>, <char> or <interface> cannot be hot-plugged yet"
    )]
    UnsupportedHostdev,
    #[error("<filesystem> needs <target dir=…> (it identifies the filesystem)")]
    NoTargetDir,
    #[error("no filesystem on {target} in domain '{name}'")]
    NoSuchFilesystem { name: String, target: String },
    #[error("no {kind} hostdev '{host}' in domain '{name}'")]
    NoSuchHostdev {
        name: String,
        kind: String,
        host: String,
    },
    #[error("domain '{name}' already has a filesystem on {target}")]
    TargetInUse { name: String, target: String },
    #[error("no interface with {key} in domain '{name}'")]
    NoSuchInterface { name: String, key: String },
    #[error("the interface identified by {key} has {what} '{live}', the XML says '{given}'")]
    Mismatch {
        key: String,
        what: &'static str,
        live: String,
        given: String,
    },
    #[error("detach needs <target dev=…> (or <mac address=…>) to identify the interface")]
    NoKey,
}

/// A host for a fragment's defaults: what `define` fills in for a device
/// does not depend on the rest of the domain beyond its type.
const DEFAULTS_HOST: &[u8] = b"<domain type='lxc'><name>x</name><os><type>exe</type></os></domain>";

/// Parses a document holding one `<interface>`, `<filesystem>` or
/// capabilities `<hostdev>` (an XML declaration may lead). With `defaults`,
/// what define would fill in is filled (a missing MAC is generated). Error
/// positions are the fragment's own (`LINE:COL: /interface/mac: …`).
pub fn parse_device(text: &str, defaults: bool) -> Result<Device, FragmentError> {
    let root = xml::read_document(text.as_bytes(), &Limits::default())
        .map_err(|e| FragmentError::Parse(ParseError::from_read(e)))?;
    let dev = Device::parse(Cursor::root(&root), 0).map_err(FragmentError::Parse)?;
    let dev = if defaults { with_defaults(dev)? } else { dev };
    match dev {
        Device::Interface(_) => Ok(dev),
        Device::Filesystem(fs) if fs.target.is_none() => Err(FragmentError::NoTargetDir),
        Device::Filesystem(_) => Ok(dev),
        Device::Hostdev(h) if hostdev_key(&h).is_none() => Err(FragmentError::UnsupportedHostdev),
        Device::Hostdev(_) => Ok(dev),
        other => Err(FragmentError::Unsupported(other.element_name().to_owned())),
    }
}

/// `dev` with the defaults `define` gives a device.
fn with_defaults(dev: Device) -> Result<Device, FragmentError> {
    let mut host = Domain::parse(DEFAULTS_HOST).map_err(FragmentError::Parse)?;
    host.devices.list.push(dev);
    host.apply_defaults().map_err(FragmentError::Defaults)?;
    host.devices
        .list
        .pop()
        .ok_or_else(|| FragmentError::Unsupported("devices".into()))
}

/// [`parse_device`] for a document that must hold an `<interface>`.
pub fn parse_interface(text: &str, defaults: bool) -> Result<Interface, FragmentError> {
    match parse_device(text, defaults)? {
        Device::Interface(i) => Ok(i),
        other => Err(FragmentError::Unsupported(other.element_name().to_owned())),
    }
}

/// One device as libvirt prints it.
pub fn format_device(dev: &Device) -> String {
    let mut w = crate::xml::Writer::new();
    dev.format(&mut w);
    w.finish()
}

/// Finds the filesystem `given` names (by `<target dir>`) in `d`; its type
/// and source must agree. Returns its index in `d.devices.list`.
pub fn find_filesystem(d: &Domain, given: &Filesystem) -> Result<usize, FragmentError> {
    let target = given.target.clone().ok_or(FragmentError::NoTargetDir)?;
    let at = d
        .devices
        .list
        .iter()
        .position(|dev| matches!(dev, Device::Filesystem(f) if f.target.as_deref() == Some(target.as_str())))
        .ok_or_else(|| FragmentError::NoSuchFilesystem {
            name: d.name.clone(),
            target: target.clone(),
        })?;
    let Device::Filesystem(live) = &d.devices.list[at] else {
        return Err(FragmentError::Unsupported(
            d.devices.list[at].element_name().to_owned(),
        ));
    };
    let key = format!("target dir '{target}'");
    if live.kind != given.kind {
        return Err(FragmentError::Mismatch {
            key,
            what: "type",
            live: live.kind.to_string(),
            given: given.kind.to_string(),
        });
    }
    let src = |f: &Filesystem| f.source.path().map(str::to_owned);
    if let Some(g) = src(given)
        && src(live).as_ref() != Some(&g)
    {
        return Err(FragmentError::Mismatch {
            key,
            what: "source",
            live: src(live).unwrap_or_default(),
            given: g,
        });
    }
    Ok(at)
}

/// Refuses `given` when `d` already has a filesystem on its target (as
/// written; the domain's validation also catches the same path spelled
/// another way).
pub fn check_target_free(d: &Domain, given: &Filesystem) -> Result<(), FragmentError> {
    let target = given.target.as_deref().ok_or(FragmentError::NoTargetDir)?;
    if d.devices
        .filesystems()
        .any(|f| f.target.as_deref() == Some(target))
    {
        return Err(FragmentError::TargetInUse {
            name: d.name.clone(),
            target: target.to_owned(),
        });
    }
    Ok(())
}

/// What identifies a capabilities hostdev: its node path or NIC name.
pub fn hostdev_key(h: &Hostdev) -> Option<&str> {
    let HostdevKind::Capabilities(caps) = h.kind else {
        return None;
    };
    match (&h.source, caps) {
        (HostdevSource::Block(p), HostdevCapsType::Storage)
        | (HostdevSource::Char(p), HostdevCapsType::Misc)
        | (HostdevSource::Interface(p), HostdevCapsType::Net) => Some(p),
        _ => None,
    }
}

/// Finds the capabilities hostdev with the same type and source in `d`.
pub fn find_hostdev(d: &Domain, given: &Hostdev) -> Result<usize, FragmentError> {
    let key = hostdev_key(given).unwrap_or_default();
    d.devices
        .list
        .iter()
        .position(|dev| matches!(dev, Device::Hostdev(h) if h.kind == given.kind && hostdev_key(h) == Some(key)))
        .ok_or_else(|| FragmentError::NoSuchHostdev {
            name: d.name.clone(),
            kind: given.kind.to_string(),
            host: key.to_owned(),
        })
}

/// Finds the device `given` identifies in `d` (see [`find_interface`],
/// [`find_filesystem`], [`find_hostdev`]).
pub fn find_device(d: &Domain, given: &Device) -> Result<usize, FragmentError> {
    match given {
        Device::Interface(i) => find_interface(d, i),
        Device::Filesystem(f) => find_filesystem(d, f),
        Device::Hostdev(h) => find_hostdev(d, h),
        other => Err(FragmentError::Unsupported(other.element_name().to_owned())),
    }
}

/// One `<interface>` as libvirt prints it.
pub fn format_interface(i: &Interface) -> String {
    format_device(&Device::Interface(i.clone()))
}

/// The key that identifies an interface for detach: `<target dev>`, else the MAC.
fn key_of(i: &Interface) -> Result<String, FragmentError> {
    match (&i.target_dev, &i.mac) {
        (Some(t), _) => Ok(format!("target dev '{t}'")),
        (None, Some(m)) => Ok(format!("mac '{m}'")),
        (None, None) => Err(FragmentError::NoKey),
    }
}

/// Finds the interface `given` names in `d` and checks that the rest of the
/// given XML agrees with it; returns its index in `d.devices.list`.
pub fn find_interface(d: &Domain, given: &Interface) -> Result<usize, FragmentError> {
    let key = key_of(given)?;
    let found = d.devices.list.iter().position(|dev| match dev {
        Device::Interface(i) => match &given.target_dev {
            Some(t) => i.target_dev.as_ref() == Some(t),
            None => i.mac.is_some() && i.mac == given.mac,
        },
        _ => false,
    });
    let at = found.ok_or_else(|| FragmentError::NoSuchInterface {
        name: d.name.clone(),
        key: key.clone(),
    })?;
    let Device::Interface(live) = &d.devices.list[at] else {
        return Err(FragmentError::Unsupported(
            d.devices.list[at].element_name().to_owned(),
        ));
    };
    let mismatch = |what, l: String, g: String| FragmentError::Mismatch {
        key: key.clone(),
        what,
        live: l,
        given: g,
    };
    if live.kind != given.kind {
        return Err(mismatch(
            "type",
            live.kind.to_string(),
            given.kind.to_string(),
        ));
    }
    if let Some(m) = &given.mac
        && live.mac != Some(*m)
    {
        return Err(mismatch(
            "mac",
            live.mac.map(|l| l.to_string()).unwrap_or_default(),
            m.to_string(),
        ));
    }
    let src = |i: &Interface| {
        i.source.as_ref().map(|s| {
            (
                s.bridge.clone().unwrap_or_default(),
                s.network.clone().unwrap_or_default(),
                s.dev.clone().unwrap_or_default(),
            )
        })
    };
    if let (Some(g), l) = (src(given), src(live))
        && Some(&g) != l.as_ref()
    {
        let show = |s: &(String, String, String)| {
            [&s.0, &s.1, &s.2]
                .into_iter()
                .filter(|x| !x.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        };
        return Err(mismatch(
            "source",
            l.as_ref().map(show).unwrap_or_default(),
            show(&g),
        ));
    }
    if let Some(g) = &given.guest_dev
        && live.guest_dev.as_ref().is_some_and(|l| l != g)
    {
        return Err(mismatch(
            "guest dev",
            live.guest_dev.clone().unwrap_or_default(),
            g.clone(),
        ));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(devices: &str) -> Domain {
        let xml = format!(
            "<domain type='lxc'><name>n</name><os><type>exe</type><init>/bin/sh</init></os>
             <devices>{devices}</devices></domain>"
        );
        Domain::parse(xml.as_bytes()).unwrap()
    }

    #[test]
    fn errors_point_into_the_fragment_itself() {
        let text = "<?xml version='1.0'?>\n<filesystem type='mount'>\n  <target dir='/x'/>\n  <readonly bogus='1'>x<y/></readonly>\n</filesystem>";
        let ok = parse_device(text, false);
        let bad = parse_device(
            "\n\n  <filesystem type='bogus'><target dir='/x'/></filesystem>",
            false,
        );
        let message = bad.unwrap_err().to_string();
        assert!(message.starts_with("3:15: /filesystem: "), "{message}");
        assert!(message.contains("'bogus'"), "{message}");
        // A fragment keeps what it does not model, like a whole domain.
        let Ok(Device::Filesystem(fs)) = ok else {
            panic!("{ok:?}");
        };
        assert!(format_device(&Device::Filesystem(fs)).contains("bogus='1'"));
        let two = parse_device(
            "<interface type='bridge'/><interface type='bridge'/>",
            false,
        );
        assert!(matches!(two, Err(FragmentError::Parse(_))), "{two:?}");
    }

    #[test]
    fn one_interface_parses_with_a_mac_and_prints_back() {
        let i = parse_interface(
            "<?xml version='1.0'?>\n<interface type='bridge'><source bridge='br0'/></interface>",
            true,
        )
        .unwrap();
        assert!(i.mac.is_some());
        let text = format_interface(&i);
        assert!(text.starts_with("<interface type='bridge'>"), "{text}");
        assert_eq!(
            format_interface(&parse_interface(&text, false).unwrap()),
            text
        );
        assert_eq!(
            parse_interface("<filesystem type='ram'/>", false)
                .unwrap_err()
                .to_string(),
            "<filesystem> needs <target dir=…> (it identifies the filesystem)"
        );
    }

    #[test]
    fn detach_finds_by_target_and_names_a_mismatch() {
        let d = domain(
            "<interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br0'/><target dev='vnet0'/></interface>
             <interface type='ethernet'><mac address='52:54:00:00:00:02'/><target dev='vnet1'/></interface>",
        );
        let by_target = parse_interface(
            "<interface type='ethernet'><target dev='vnet1'/></interface>",
            false,
        )
        .unwrap();
        assert_eq!(find_interface(&d, &by_target).unwrap(), 1);
        let by_mac = parse_interface(
            "<interface type='bridge'><mac address='52:54:00:00:00:01'/></interface>",
            false,
        )
        .unwrap();
        assert_eq!(find_interface(&d, &by_mac).unwrap(), 0);
        let wrong = parse_interface(
            "<interface type='bridge'><source bridge='br1'/><target dev='vnet0'/></interface>",
            false,
        )
        .unwrap();
        assert_eq!(
            find_interface(&d, &wrong).unwrap_err().to_string(),
            "the interface identified by target dev 'vnet0' has source 'br0', the XML says 'br1'"
        );
        let none = parse_interface(
            "<interface type='bridge'><target dev='vnet9'/></interface>",
            false,
        )
        .unwrap();
        assert!(
            find_interface(&d, &none)
                .unwrap_err()
                .to_string()
                .starts_with("no interface with target dev 'vnet9'")
        );
    }
}
