//! Domain → qemu argv: a pure function of the domain and what was resolved
//! for it (binary, accelerator, descriptor numbers, image paths), so it is
//! golden-tested line by line (`tests/golden/vm/*.args`).
//!
//! Structured options (`-blockdev`, `-device`, `-netdev`) are written as
//! JSON, as libvirt does: no comma escaping, no format probing. `-chardev`
//! has no JSON form on the command line; its few free-text values have
//! commas doubled.

use serde_json::{Value, json};

use crate::domain::{
    Chardev, ChardevType, Device, Disk, Domain, Interface, LifecycleAction, NetType,
};

/// How qemu runs the guest's CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

/// What the argv needs that is not in the domain: chosen by
/// [`super::Launch::prepare`] (or by a test, for goldens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// argv[0].
    pub binary: String,
    pub accel: Accel,
    /// The listening QMP socket qemu inherits.
    pub qmp_fd: i32,
    /// One listening socket per [`CharBackend::Socket`] chardev, in order.
    pub console_fds: Vec<i32>,
    /// `<kernel>`, `<initrd>`, `<dtb>` as qemu should open them: the path
    /// as written, or `/dev/fd/N` of a sealed memfd for a `data:` URI.
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub dtb: Option<String>,
    /// `<interface type='network'>`: network name → host bridge.
    pub networks: Vec<(String, String)>,
}

/// Where a serial/console device's bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CharBackend {
    /// A listening unix socket domrun creates (for `pty`, and `unix`
    /// without a path): the console `domrun run` and `console` attach to.
    Socket,
    /// `<serial type='unix'><source mode='bind' path=…/>`: qemu listens there.
    UnixPath(String),
    /// `<serial type='file'><source path=…/>`: a log file.
    File(String),
    /// `type='null'`.
    Null,
}

/// The guest side of a chardev.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharFrontend {
    /// An ISA 16550 UART, `ttyS<index>` in the guest.
    IsaSerial { index: u32 },
    /// A virtio console port, `hvc<n>` in the guest.
    VirtConsole,
}

/// One chardev qemu gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharPlan {
    /// `serial0`, `console1`, …
    pub alias: String,
    pub backend: CharBackend,
    pub frontend: CharFrontend,
}

/// A domain the qemu backend cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgvError {
    #[error("{path}: {message}")]
    Unsupported { path: String, message: String },
    #[error("interface network '{0}': no host bridge is known for it")]
    UnknownNetwork(String),
    #[error("internal: {needed} console socket(s) planned, {given} resolved")]
    ConsoleFds { needed: usize, given: usize },
}

fn unsupported(path: impl Into<String>, message: impl Into<String>) -> ArgvError {
    ArgvError::Unsupported {
        path: path.into(),
        message: message.into(),
    }
}

/// Doubles commas, qemu's escape inside a `key=value,…` option.
fn esc(s: &str) -> String {
    s.replace(',', ",,")
}

/// The chardevs of a domain in device order. A `<console>` whose target is
/// `serial` (libvirt's default for x86) and whose port matches a `<serial>`
/// is that serial port, as in libvirt, so it gets no device of its own.
pub fn chardevs(d: &Domain) -> Result<Vec<CharPlan>, ArgvError> {
    let mut out = Vec::new();
    let mut serial_ports: Vec<u32> = Vec::new();
    let serial_count = d.devices.serials().count();
    let (mut si, mut ci) = (0u32, 0u32);
    for dev in &d.devices.list {
        let (c, is_serial) = match dev {
            Device::Serial(c) => (c, true),
            Device::Console(c) => (c, false),
            _ => continue,
        };
        let target = c.target.as_ref().and_then(|t| t.kind.as_deref());
        let port = c.target.as_ref().and_then(|t| t.port);
        let (alias, frontend) = if is_serial {
            let index = port.unwrap_or(si);
            si += 1;
            serial_ports.push(index);
            (format!("serial{index}"), CharFrontend::IsaSerial { index })
        } else {
            let n = ci;
            ci += 1;
            match target {
                None | Some("serial") => {
                    let index = port.unwrap_or(0);
                    // libvirt: console 0 duplicates serial 0.
                    if serial_ports.contains(&index) || (n == 0 && serial_count > 0) {
                        continue;
                    }
                    serial_ports.push(index);
                    (format!("serial{index}"), CharFrontend::IsaSerial { index })
                }
                Some("virtio") => (format!("console{n}"), CharFrontend::VirtConsole),
                Some(other) => {
                    return Err(unsupported(
                        format!("/domain/devices/console[{}]/target", n + 1),
                        format!("console target type '{other}' (use serial or virtio)"),
                    ));
                }
            }
        };
        out.push(CharPlan {
            alias,
            backend: char_backend(c, is_serial)?,
            frontend,
        });
    }
    Ok(out)
}

fn char_backend(c: &Chardev, is_serial: bool) -> Result<CharBackend, ArgvError> {
    let what = if is_serial { "serial" } else { "console" };
    let path = c.source_path().map(str::to_owned);
    Ok(match (c.kind, path) {
        (ChardevType::Pty, _) | (ChardevType::Unix, None) => CharBackend::Socket,
        (ChardevType::Unix, Some(p)) => {
            let mode = c.source.as_ref().and_then(|s| s.attr("mode"));
            if mode == Some("connect") {
                return Err(unsupported(
                    format!("/domain/devices/{what}/source"),
                    "mode='connect' (domrun's qemu backend only listens: use mode='bind')",
                ));
            }
            CharBackend::UnixPath(p)
        }
        (ChardevType::File, Some(p)) => CharBackend::File(p),
        (ChardevType::Null, _) => CharBackend::Null,
        (kind, _) => {
            return Err(unsupported(
                format!("/domain/devices/{what}"),
                format!("{what} type '{kind}' (supported: pty, unix, file, null)"),
            ));
        }
    })
}

fn push(argv: &mut Vec<String>, opt: &str, value: impl Into<String>) {
    argv.push(opt.to_owned());
    argv.push(value.into());
}

/// The complete qemu command line, argv[0] included.
pub fn argv(d: &Domain, r: &Resolved) -> Result<Vec<String>, ArgvError> {
    let mut a = vec![r.binary.clone()];
    push(
        &mut a,
        "-name",
        format!("guest={},debug-threads=on", esc(&d.name)),
    );
    if let Some(u) = &d.uuid {
        push(&mut a, "-uuid", u.to_string());
    }
    let machine = d.os.machine.as_deref().unwrap_or("q35");
    push(&mut a, "-machine", esc(machine));
    match r.accel {
        Accel::Kvm => {
            push(&mut a, "-accel", "kvm");
            push(&mut a, "-cpu", "host");
        }
        Accel::Tcg => push(&mut a, "-accel", "tcg"),
    }
    if let Some(kib) = d.memory.or(d.current_memory) {
        push(&mut a, "-m", format!("size={kib}k"));
    }
    if let Some(v) = &d.vcpu {
        match v.current.filter(|c| *c < v.count) {
            Some(cur) => push(&mut a, "-smp", format!("{cur},maxcpus={}", v.count)),
            None => push(&mut a, "-smp", v.count.to_string()),
        }
    }
    a.extend(
        ["-nodefaults", "-no-user-config", "-display", "none"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    push(
        &mut a,
        "-chardev",
        format!("socket,id=charmonitor,fd={},server=on,wait=off", r.qmp_fd),
    );
    push(
        &mut a,
        "-mon",
        "chardev=charmonitor,id=monitor,mode=control",
    );
    if let Some(offset) = d.clock.as_ref().and_then(|c| c.offset.as_deref()) {
        match offset {
            "utc" => push(&mut a, "-rtc", "base=utc"),
            "localtime" => push(&mut a, "-rtc", "base=localtime"),
            other => {
                return Err(unsupported(
                    "/domain/clock",
                    format!("offset '{other}' (supported: utc, localtime)"),
                ));
            }
        }
    }
    if d.on_reboot == Some(LifecycleAction::Destroy) {
        a.push("-no-reboot".into());
    }
    if d.on_poweroff == Some(LifecycleAction::Preserve) {
        a.push("-no-shutdown".into());
    }
    boot(d, r, &mut a)?;
    let mut disk_n = 0;
    let mut net_n = 0;
    for dev in &d.devices.list {
        match dev {
            Device::Disk(disk) => {
                disk_args(disk, disk_n, &mut a)?;
                disk_n += 1;
            }
            Device::Interface(i) => {
                net_args(i, net_n, r, &mut a)?;
                net_n += 1;
            }
            _ => {}
        }
    }
    char_args(d, r, &mut a)?;
    Ok(a)
}

fn boot(d: &Domain, r: &Resolved, a: &mut Vec<String>) -> Result<(), ArgvError> {
    let os = &d.os;
    if let Some(l) = &os.loader {
        match (l.kind.as_deref(), &l.path) {
            (None | Some("rom"), Some(p)) => push(a, "-bios", p.clone()),
            _ => {
                return Err(unsupported(
                    "/domain/os/loader",
                    "only a rom loader with a path is supported (no pflash)",
                ));
            }
        }
    }
    if let Some(k) = &r.kernel {
        push(a, "-kernel", k.clone());
    }
    if let Some(i) = &r.initrd {
        push(a, "-initrd", i.clone());
    }
    if let Some(c) = &os.cmdline {
        push(a, "-append", c.clone());
    }
    if let Some(dtb) = &r.dtb {
        push(a, "-dtb", dtb.clone());
    }
    if r.kernel.is_none() && !os.boot.is_empty() {
        let order: String = os.boot.iter().map(|b| b.qemu_letter()).collect();
        push(a, "-boot", format!("order={order}"));
    }
    Ok(())
}

fn disk_args(disk: &Disk, n: usize, a: &mut Vec<String>) -> Result<(), ArgvError> {
    let path = format!("/domain/devices/disk[{}]", n + 1);
    let device = disk.device.as_deref().unwrap_or("disk");
    if device != "disk" {
        return Err(unsupported(
            &path,
            format!("device='{device}': only device='disk' (virtio-blk) is supported"),
        ));
    }
    let src = disk.source.as_ref();
    let (driver, filename) = match (disk.kind.as_deref().unwrap_or("file"), src) {
        ("file", Some(s)) if s.file.is_some() => ("file", s.file.clone()),
        ("block", Some(s)) if s.dev.is_some() => ("host_device", s.dev.clone()),
        ("file", _) => return Err(unsupported(&path, "a file disk needs <source file='…'/>")),
        ("block", _) => return Err(unsupported(&path, "a block disk needs <source dev='…'/>")),
        (other, _) => {
            return Err(unsupported(
                &path,
                format!("disk type '{other}' (supported: file, block)"),
            ));
        }
    };
    if let Some(bus) = disk.target.as_ref().and_then(|t| t.bus.as_deref())
        && bus != "virtio"
    {
        return Err(unsupported(
            format!("{path}/target"),
            format!("bus '{bus}': domrun's qemu backend puts every disk on virtio"),
        ));
    }
    let format = disk
        .driver
        .as_ref()
        .and_then(|d| d.format.as_deref())
        .unwrap_or("raw");
    if format != "raw" && format != "qcow2" {
        return Err(unsupported(
            format!("{path}/driver"),
            format!("image format '{format}' (supported: raw, qcow2)"),
        ));
    }
    let ro = disk.readonly;
    let storage = format!("disk{n}-storage");
    let node = format!("disk{n}");
    push(
        a,
        "-blockdev",
        json!({"driver": driver, "filename": filename, "node-name": storage,
               "read-only": ro, "auto-read-only": false, "discard": "unmap"})
        .to_string(),
    );
    push(
        a,
        "-blockdev",
        json!({"driver": format, "file": storage, "node-name": node, "read-only": ro}).to_string(),
    );
    let mut dev =
        json!({"driver": "virtio-blk-pci", "drive": node, "id": format!("virtio-disk{n}")});
    if let (Some(serial), Value::Object(m)) = (&disk.serial, &mut dev) {
        m.insert("serial".into(), Value::String(serial.clone()));
    }
    push(a, "-device", dev.to_string());
    Ok(())
}

/// `<model type>` → qemu NIC device.
const NIC_MODELS: &[(&str, &str)] = &[
    ("virtio", "virtio-net-pci"),
    ("e1000", "e1000"),
    ("e1000e", "e1000e"),
    ("rtl8139", "rtl8139"),
    ("vmxnet3", "vmxnet3"),
];

fn net_args(i: &Interface, n: usize, r: &Resolved, a: &mut Vec<String>) -> Result<(), ArgvError> {
    let path = format!("/domain/devices/interface[{}]", n + 1);
    let id = format!("hostnet{n}");
    let source = i.source.as_ref();
    let netdev = match i.kind {
        NetType::User => json!({"type": "user", "id": id}),
        NetType::Bridge => match source.and_then(|s| s.bridge.as_deref()) {
            Some(br) => json!({"type": "bridge", "br": br, "id": id}),
            None => {
                return Err(unsupported(
                    &path,
                    "a bridge interface needs <source bridge='…'/>",
                ));
            }
        },
        NetType::Network => {
            let Some(net) = source.and_then(|s| s.network.as_deref()) else {
                return Err(unsupported(
                    &path,
                    "a network interface needs <source network='…'/>",
                ));
            };
            let br = r
                .networks
                .iter()
                .find(|(name, _)| name == net)
                .map(|(_, br)| br)
                .ok_or_else(|| ArgvError::UnknownNetwork(net.to_owned()))?;
            json!({"type": "bridge", "br": br, "id": id})
        }
        other => {
            return Err(unsupported(
                &path,
                format!("interface type '{other}' (supported: user, bridge, network)"),
            ));
        }
    };
    push(a, "-netdev", netdev.to_string());
    let model = i.model.as_deref().unwrap_or("virtio");
    let driver = NIC_MODELS
        .iter()
        .find(|(m, _)| *m == model)
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            unsupported(
                format!("{path}/model"),
                format!("NIC model '{model}' (supported: virtio, e1000, e1000e, rtl8139, vmxnet3)"),
            )
        })?;
    let mut dev = json!({"driver": driver, "netdev": id, "id": format!("net{n}")});
    if let (Some(mac), Value::Object(m)) = (&i.mac, &mut dev) {
        m.insert("mac".into(), Value::String(mac.to_string()));
    }
    push(a, "-device", dev.to_string());
    Ok(())
}

fn char_args(d: &Domain, r: &Resolved, a: &mut Vec<String>) -> Result<(), ArgvError> {
    let plans = chardevs(d)?;
    let needed = plans
        .iter()
        .filter(|p| p.backend == CharBackend::Socket)
        .count();
    if needed != r.console_fds.len() {
        return Err(ArgvError::ConsoleFds {
            needed,
            given: r.console_fds.len(),
        });
    }
    let mut fds = r.console_fds.iter();
    let mut virtio_serial = false;
    for p in &plans {
        let id = format!("char{}", p.alias);
        let backend = match &p.backend {
            CharBackend::Socket => {
                let fd = fds.next().copied().unwrap_or(-1);
                format!("socket,id={id},fd={fd},server=on,wait=off")
            }
            CharBackend::UnixPath(path) => {
                format!("socket,id={id},path={},server=on,wait=off", esc(path))
            }
            CharBackend::File(path) => format!("file,id={id},path={}", esc(path)),
            CharBackend::Null => format!("null,id={id}"),
        };
        push(a, "-chardev", backend);
        let dev = match p.frontend {
            CharFrontend::IsaSerial { index } => {
                json!({"driver": "isa-serial", "chardev": id, "id": p.alias, "index": index})
            }
            CharFrontend::VirtConsole => {
                if !virtio_serial {
                    push(
                        a,
                        "-device",
                        json!({"driver": "virtio-serial-pci", "id": "virtio-serial0"}).to_string(),
                    );
                    virtio_serial = true;
                }
                json!({"driver": "virtconsole", "chardev": id, "id": p.alias})
            }
        };
        push(a, "-device", dev.to_string());
    }
    Ok(())
}
