//! `attach-device` / `detach-device`: one `<interface>` or `<filesystem>`
//! given as XML, applied to the running domain (through its monitor) and/or
//! its stored definition.

use super::{LifecycleError, live_state, stored_domain};
use crate::domain::devices::fragment::{
    FragmentError, check_target_free, find_device, format_device, hostdev_key, parse_device,
};
use crate::domain::schema::check_device_document;
use crate::domain::{
    CheckedParseError, Device, Domain, DomainType, LoadError, LoadOptions, Strictness,
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

/// Why a device change was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("reading the device: {0}")]
    Read(#[source] crate::input::InputError),
    #[error(transparent)]
    Fragment(#[from] FragmentError),
    #[error("domain '{0}' is not running: --live needs a running domain")]
    NotRunning(String),
    #[error("domain '{0}' is not defined persistently: --config needs a definition")]
    NotPersistent(String),
    #[error("the edited definition is invalid: {0}")]
    Invalid(#[source] crate::domain::ValidateErrors),
}

/// The device in `file` (errors name the file), its names checked against
/// libvirt's vocabulary as a child of `/domain/devices` unless permissive.
fn read_device(
    file: &Path,
    defaults: bool,
    strictness: Strictness,
) -> Result<Device, LifecycleError> {
    let text = crate::input::read_text(
        file,
        crate::input::Links::Follow,
        crate::input::DOCUMENT_LIMIT,
    )
    .map_err(DeviceError::Read)?;
    // Hot-plug is done by domrun's container engine: its table applies.
    let notes = check_device_document(text.as_bytes(), DomainType::Lxc, strictness).map_err(
        |e| match e {
            CheckedParseError::Parse(e) => {
                LifecycleError::from(DeviceError::from(FragmentError::Parse(e.in_file(file))))
            }
            CheckedParseError::Vocabulary(e) => LoadError::Vocabulary(e.in_file(file)).into(),
        },
    )?;
    for n in notes {
        eprintln!("{n}");
    }
    Ok(parse_device(&text, defaults)
        .map_err(|e| match e {
            FragmentError::Parse(e) => FragmentError::Parse(e.in_file(file)),
            other => other,
        })
        .map_err(DeviceError::from)?)
}

/// Which of live/config a call applies to.
pub(super) fn targets(
    root: &Root,
    name: &str,
    flags: DeviceFlags,
) -> Result<(bool, bool), LifecycleError> {
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
    let dev = read_device(file, true, load.strictness)?;
    let _lock = root.lock(name)?;
    let (live, config) = targets(root, name, flags)?;
    let mut change = DeviceChange::default();
    if config {
        // Checked before the live change, so a refusal changes nothing:
        // the definition with the device must pass the domain's rules.
        let mut d = stored_domain(root, name)?;
        if let Device::Filesystem(fs) = &dev {
            check_target_free(&d, fs).map_err(DeviceError::from)?;
        }
        d.devices.list.push(dev.clone());
        d.validate().map_err(DeviceError::Invalid)?;
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
    let given = read_device(file, false, Strictness::Permissive)?;
    let _lock = root.lock(name)?;
    let (live, config) = targets(root, name, flags)?;
    let mut change = DeviceChange::default();
    let mut stored = None;
    if config {
        // Checked before the live change, so a refusal changes nothing.
        let mut d = stored_domain(root, name)?;
        let at = find_device(&d, &given).map_err(DeviceError::from)?;
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
