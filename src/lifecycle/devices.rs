//! `attach-device` / `detach-device`: one `<interface>` or `<filesystem>`
//! given as XML, applied to the running domain (through its monitor) and/or
//! its stored definition.

use super::{LifecycleError, live_state, stored_domain};
use crate::domain::schema::check_device_document;
use crate::domain::{
    CheckedParseError, Device, Domain, DomainType, Filesystem, FsType, Hostdev, HostdevCapsType,
    HostdevKind, HostdevSource, Interface, LoadError, LoadOptions,
};
use crate::monitor::control::{self, Reply, Request};
use crate::state::Root;
use std::path::Path;
use std::time::Duration;

/// Where a device change applies. Neither flag is `--current`: the running
/// domain if it runs, else the definition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceFlags {
    /// `--live`: the running domain.
    pub live: bool,
    /// `--config`: the stored definition (takes effect at the next start).
    pub config: bool,
}

/// What an attach or detach did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceChange {
    /// Applied to the running domain: the device's name inside and its
    /// host-side name (a veth's, allocated when the XML gave none).
    pub live: Option<(String, Option<String>)>,
    /// Applied to the stored definition.
    pub config: bool,
}

/// Why a device XML was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("reading {file}: {source}")]
    Read {
        file: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Parse(crate::domain::ParseError),
    #[error("the device XML must hold exactly one element")]
    NotOneDevice,
    #[error(
        "<{0}> cannot be hot-plugged yet (<interface>, <filesystem> and capabilities <hostdev> can)"
    )]
    Unsupported(String),
    #[error(
        "a {0} filesystem cannot be attached live (mount, ram, block, and raw file images can; --config takes any)"
    )]
    UnsupportedFilesystem(FsType),
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
    #[error("domain '{0}' is not running: --live needs a running domain")]
    NotRunning(String),
    #[error("domain '{0}' is not defined persistently: --config needs a definition")]
    NotPersistent(String),
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
    #[error("the edited definition is invalid: {0}")]
    Invalid(crate::domain::ValidateErrors),
}

/// Parses a document holding one `<interface>` or `<filesystem>` (an XML
/// declaration may lead). With `defaults`, what define would fill in is
/// filled (a missing MAC is generated).
pub fn parse_device(text: &str, defaults: bool) -> Result<Device, DeviceError> {
    let body = match text.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, b)| b),
        None => text,
    };
    // A wrapper domain gives the device its usual parser and defaults.
    let wrapped = format!(
        "<domain type='lxc'><name>x</name><os><type>exe</type></os><devices>{body}</devices></domain>"
    );
    let mut d = Domain::parse(wrapped.as_bytes()).map_err(DeviceError::Parse)?;
    if defaults {
        let _ = d.apply_defaults();
    }
    let mut list = d.devices.list.into_iter();
    match (list.next(), list.next()) {
        (Some(dev @ Device::Interface(_)), None) => Ok(dev),
        (Some(Device::Filesystem(fs)), None) if fs.target.is_none() => {
            Err(DeviceError::NoTargetDir)
        }
        (Some(dev @ Device::Filesystem(_)), None) => Ok(dev),
        (Some(Device::Hostdev(h)), None) if hostdev_key(&h).is_none() => {
            Err(DeviceError::Unsupported(
                "hostdev> other than mode='capabilities' with <block>, <char> or <interface".into(),
            ))
        }
        (Some(dev @ Device::Hostdev(_)), None) => Ok(dev),
        (Some(other), None) => Err(DeviceError::Unsupported(other.element_name().to_owned())),
        _ => Err(DeviceError::NotOneDevice),
    }
}

/// [`parse_device`] for a document that must hold an `<interface>`.
pub fn parse_interface(text: &str, defaults: bool) -> Result<Interface, DeviceError> {
    match parse_device(text, defaults)? {
        Device::Interface(i) => Ok(i),
        other => Err(DeviceError::Unsupported(other.element_name().to_owned())),
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
pub fn find_filesystem(d: &Domain, given: &Filesystem) -> Result<usize, DeviceError> {
    let target = given.target.clone().ok_or(DeviceError::NoTargetDir)?;
    let at = d
        .devices
        .list
        .iter()
        .position(|dev| matches!(dev, Device::Filesystem(f) if f.target.as_deref() == Some(target.as_str())))
        .ok_or_else(|| DeviceError::NoSuchFilesystem {
            name: d.name.clone(),
            target: target.clone(),
        })?;
    let Device::Filesystem(live) = &d.devices.list[at] else {
        return Err(DeviceError::NotOneDevice);
    };
    let key = format!("target dir '{target}'");
    if live.kind != given.kind {
        return Err(DeviceError::Mismatch {
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
        return Err(DeviceError::Mismatch {
            key,
            what: "source",
            live: src(live).unwrap_or_default(),
            given: g,
        });
    }
    Ok(at)
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
pub fn find_hostdev(d: &Domain, given: &Hostdev) -> Result<usize, DeviceError> {
    let key = hostdev_key(given).unwrap_or_default();
    d.devices
        .list
        .iter()
        .position(|dev| matches!(dev, Device::Hostdev(h) if h.kind == given.kind && hostdev_key(h) == Some(key)))
        .ok_or_else(|| DeviceError::NoSuchHostdev {
            name: d.name.clone(),
            kind: given.kind.to_string(),
            host: key.to_owned(),
        })
}

/// Finds the device `given` identifies in `d` (see [`find_interface`],
/// [`find_filesystem`], [`find_hostdev`]).
pub fn find_device(d: &Domain, given: &Device) -> Result<usize, DeviceError> {
    match given {
        Device::Interface(i) => find_interface(d, i),
        Device::Filesystem(f) => find_filesystem(d, f),
        Device::Hostdev(h) => find_hostdev(d, h),
        other => Err(DeviceError::Unsupported(other.element_name().to_owned())),
    }
}

/// One `<interface>` as libvirt prints it.
pub fn format_interface(i: &Interface) -> String {
    format_device(&Device::Interface(i.clone()))
}

/// The key that identifies an interface for detach: `<target dev>`, else the MAC.
fn key_of(i: &Interface) -> Result<String, DeviceError> {
    match (&i.target_dev, &i.mac) {
        (Some(t), _) => Ok(format!("target dev '{t}'")),
        (None, Some(m)) => Ok(format!("mac '{m}'")),
        (None, None) => Err(DeviceError::NoKey),
    }
}

/// Finds the interface `given` names in `d` and checks that the rest of the
/// given XML agrees with it; returns its index in `d.devices.list`.
pub fn find_interface(d: &Domain, given: &Interface) -> Result<usize, DeviceError> {
    let key = key_of(given)?;
    let found = d.devices.list.iter().position(|dev| match dev {
        Device::Interface(i) => match &given.target_dev {
            Some(t) => i.target_dev.as_ref() == Some(t),
            None => i.mac.is_some() && i.mac == given.mac,
        },
        _ => false,
    });
    let at = found.ok_or_else(|| DeviceError::NoSuchInterface {
        name: d.name.clone(),
        key: key.clone(),
    })?;
    let Device::Interface(live) = &d.devices.list[at] else {
        return Err(DeviceError::NotOneDevice);
    };
    let mismatch = |what, l: String, g: String| DeviceError::Mismatch {
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

/// Which of live/config a call applies to.
fn targets(root: &Root, name: &str, flags: DeviceFlags) -> Result<(bool, bool), LifecycleError> {
    let running = live_state(root, name)?.is_some();
    let defined = root.read_definition(name)?.is_some();
    if !running && !defined {
        return Err(LifecycleError::NotDefined(name.to_owned()));
    }
    let (live, config) = if flags.live || flags.config {
        (flags.live, flags.config)
    } else {
        (running, !running)
    };
    if live && !running {
        return Err(DeviceError::NotRunning(name.to_owned()).into());
    }
    if config && !defined {
        return Err(DeviceError::NotPersistent(name.to_owned()).into());
    }
    Ok((live, config))
}

fn read(file: &Path) -> Result<String, DeviceError> {
    std::fs::read_to_string(file).map_err(|source| DeviceError::Read {
        file: file.to_owned(),
        source,
    })
}

/// Saves `d` as the definition of `name` after validating it.
fn save(root: &Root, name: &str, d: &Domain) -> Result<(), LifecycleError> {
    d.validate().map_err(DeviceError::Invalid)?;
    root.save_definition(name, &d.format_inactive())?;
    Ok(())
}

/// `domrun attach-device NAME FILE [--live] [--config]`.
pub fn attach_device(
    root: &Root,
    name: &str,
    file: &Path,
    flags: DeviceFlags,
    load: LoadOptions,
) -> Result<DeviceChange, LifecycleError> {
    let text = read(file)?;
    // Hot-plug is done by domrun's container engine: its table applies.
    let notes =
        check_device_document(text.as_bytes(), DomainType::Lxc, load.strictness).map_err(|e| {
            match e {
                CheckedParseError::Parse(e) => {
                    LifecycleError::from(DeviceError::Parse(e.in_file(file)))
                }
                CheckedParseError::Vocabulary(e) => LoadError::Vocabulary(e.in_file(file)).into(),
            }
        })?;
    for n in notes {
        eprintln!("{n}");
    }
    let dev = parse_device(&text, true)?;
    let _lock = root.lock(name)?;
    let (live, config) = targets(root, name, flags)?;
    let mut change = DeviceChange::default();
    if config && let Device::Filesystem(fs) = &dev {
        // Checked before the live change, so a refusal changes nothing.
        let d = stored_domain(root, name)?;
        if find_filesystem(&d, fs).is_ok() {
            return Err(DeviceError::TargetInUse {
                name: name.to_owned(),
                target: fs.target.clone().unwrap_or_default(),
            }
            .into());
        }
    }
    if live {
        let req = Request::AttachDevice {
            xml: format_device(&dev),
        };
        let (reply, _) =
            control::request(&root.control_socket(name), &req, Duration::from_secs(30))?;
        if let Reply::Device { guest, target } = reply {
            change.live = Some((guest, target));
        }
    }
    if config {
        let mut d = stored_domain(root, name)?;
        d.devices.list.push(dev);
        save(root, name, &d)?;
        change.config = true;
    }
    Ok(change)
}

/// `domrun detach-device NAME FILE [--live] [--config]`: the interface is
/// found by `<target dev>` (else its MAC); the rest of the XML must agree.
pub fn detach_device(
    root: &Root,
    name: &str,
    file: &Path,
    flags: DeviceFlags,
) -> Result<DeviceChange, LifecycleError> {
    let text = read(file)?;
    let given = parse_device(&text, false)?;
    let _lock = root.lock(name)?;
    let (live, config) = targets(root, name, flags)?;
    let mut change = DeviceChange::default();
    let mut stored = None;
    if config {
        // Checked before the live change, so a refusal changes nothing.
        let mut d = stored_domain(root, name)?;
        let at = find_device(&d, &given)?;
        d.devices.list.remove(at);
        stored = Some(d);
    }
    if live {
        let req = Request::DetachDevice {
            xml: format_device(&given),
        };
        control::request(&root.control_socket(name), &req, Duration::from_secs(30))?;
        change.live = Some(match &given {
            Device::Interface(i) => (
                i.guest_dev.clone().unwrap_or_default(),
                i.target_dev.clone(),
            ),
            Device::Filesystem(f) => (f.target.clone().unwrap_or_default(), None),
            Device::Hostdev(h) => (hostdev_key(h).unwrap_or_default().to_owned(), None),
            _ => (String::new(), None),
        });
    }
    if let Some(d) = stored {
        save(root, name, &d)?;
        change.config = true;
    }
    Ok(change)
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
