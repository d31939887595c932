//! Domain → xl config, following libvirt's `xenFormatXL` (key names,
//! value spellings, disk and vif spec layout), so a config round-trips
//! through libvirt's own test data.

use super::XenError;
use super::cfg::{Config, Value};
use crate::domain::{
    Device, Disk, Domain, DomainType, HostdevKind, HostdevSource, HostdevSubsysType, Interface,
    NetType, OsType,
};
use crate::vm::datauri::is_data_uri;
use crate::xml::Element;

fn mib(kib: u64) -> u64 {
    kib / 1024
}

/// `<timer name=…>` children of `<clock>`.
fn timer<'a>(d: &'a Domain, name: &str) -> Option<&'a Element> {
    d.clock
        .as_ref()?
        .extras
        .children
        .iter()
        .map(|(_, e)| e)
        .find(|e| e.name == "timer" && e.attr("name") == Some(name))
}

fn feature<'a>(d: &'a Domain, name: &str) -> Option<&'a Element> {
    d.features
        .as_ref()?
        .others
        .iter()
        .map(|(_, e)| e)
        .find(|e| e.name == name)
}

fn domain_child<'a>(d: &'a Domain, name: &str) -> Option<&'a Element> {
    d.extras
        .children
        .iter()
        .map(|(_, e)| e)
        .find(|e| e.name == name)
}

fn others<'a>(d: &'a Domain, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    d.devices.list.iter().filter_map(move |dev| match dev {
        Device::Other { element, .. } if element.name == name => Some(element),
        _ => None,
    })
}

/// Converts a (defaulted) Xen domain to an xl config.
pub fn to_native(d: &Domain) -> Result<Config, XenError> {
    if d.kind != DomainType::Xen {
        return Err(XenError::NotXen(d.kind.to_string()));
    }
    for (which, v) in [
        ("kernel", &d.os.kernel),
        ("initrd", &d.os.initrd),
        ("dtb", &d.os.dtb),
    ] {
        if v.as_deref().is_some_and(is_data_uri) {
            return Err(XenError::DataUriInConfig(which));
        }
    }
    let hvm = d.os.kind == OsType::Hvm;
    let mut c = Config::default();
    c.set_str("name", d.name.clone());
    if let Some(u) = &d.uuid {
        c.set_str("uuid", u.to_string());
    }
    if let Some(m) = d.memory {
        c.set_num("maxmem", mib(m));
    }
    if let Some(m) = d.current_memory.or(d.memory) {
        c.set_num("memory", mib(m));
    }
    if let Some(v) = &d.vcpu {
        match v.current.filter(|cur| *cur < v.count) {
            Some(cur) => {
                c.set_num("maxvcpus", v.count);
                c.set_num("vcpus", cur);
            }
            None => c.set_num("vcpus", v.count),
        }
    }
    if hvm {
        for f in ["pae", "acpi", "apic"] {
            c.set_num(f, u8::from(feature(d, f).is_some()));
        }
        if let Some(h) = feature(d, "hap") {
            c.set_num("hap", u8::from(h.attr("state") != Some("off")));
        }
        c.set_num("viridian", u8::from(feature(d, "viridian").is_some()));
        if let Some(t) = timer(d, "hpet") {
            c.set_num("hpet", u8::from(t.attr("present") != Some("no")));
        }
    }
    if let Some(t) = timer(d, "tsc")
        && let Some(mode) = t.attr("mode")
    {
        c.set_str("tsc_mode", mode);
    }
    if let Some(numa) =
        domain_child(d, "cpu").and_then(|cpu| cpu.elements().find(|e| e.name == "numa"))
    {
        c.set("vnuma", vnuma_value(numa)?);
    }
    if let Some(cpuid) = domain_child(d, "cpu").and_then(cpuid_spec) {
        c.set_str("cpuid", cpuid);
    }
    if let Some(xen) = feature(d, "xen") {
        for f in xen.elements() {
            let on = f.attr("state") != Some("off");
            match f.name.as_str() {
                "e820_host" => c.set_num("e820_host", u8::from(on)),
                "passthrough" => match (on, f.attr("mode")) {
                    (true, Some(mode)) => c.set_str("passthrough", mode),
                    (true, None) => c.set_str("passthrough", "enabled"),
                    (false, _) => c.set_str("passthrough", "disabled"),
                },
                _ => {}
            }
        }
    }
    let clock = d.clock.as_ref();
    let offset = clock.and_then(|c| c.offset.as_deref()).unwrap_or("utc");
    let localtime = offset == "localtime"
        || (offset == "variable" && clock.and_then(|c| c.basis.as_deref()) == Some("localtime"));
    if hvm {
        let adj = match offset {
            "variable" => clock
                .and_then(|c| c.adjustment.as_deref())
                .unwrap_or("0")
                .to_owned(),
            _ => "0".to_owned(),
        };
        c.set("rtc_timeoffset", Value::Num(adj));
    }
    c.set_num("localtime", u8::from(localtime));
    for (key, action) in [
        ("on_poweroff", d.on_poweroff),
        ("on_reboot", d.on_reboot),
        ("on_crash", d.on_crash),
    ] {
        if let Some(a) = action {
            c.set_str(key, a.as_str());
        }
    }
    if d.os.kind == OsType::XenPvh {
        c.set_str("type", "pvh");
    }
    if hvm {
        if let Some(e) = &d.devices.emulator {
            c.set_str("device_model_override", e.clone());
        }
        if let Some(cpu) = domain_child(d, "cpu")
            && cpu.attr("mode") == Some("host-passthrough")
        {
            let disabled = cpu.elements().any(|f| {
                f.name == "feature"
                    && f.attr("policy") == Some("disable")
                    && matches!(f.attr("name"), Some("vmx" | "svm"))
            });
            c.set_num("nestedhvm", u8::from(!disabled));
        }
        graphics(d, &mut c);
    }
    let vifs = d
        .devices
        .interfaces()
        .map(vif_spec)
        .collect::<Result<Vec<_>, _>>()?;
    if !vifs.is_empty() {
        c.set_list("vif", vifs);
    }
    if hvm {
        c.set_str("parallel", "none");
        let serials: Vec<String> = d.devices.serials().map(|s| s.kind.to_string()).collect();
        match serials.len() {
            0 => c.set_str("serial", "none"),
            1 => c.set_str("serial", serials[0].clone()),
            _ => c.set_list("serial", serials),
        }
        c.set_str("builder", "hvm");
    }
    if let Some(b) = &d.bootloader {
        c.set_str("bootloader", b.clone());
    }
    if let Some(a) = &d.bootloader_args {
        c.set_str("bootargs", a.clone());
    }
    if let Some(k) = &d.os.kernel {
        c.set_str("kernel", k.clone());
    }
    if let Some(r) = &d.os.initrd {
        c.set_str("ramdisk", r.clone());
    }
    if let Some(cmd) = &d.os.cmdline {
        c.set_str("cmdline", cmd.clone());
    }
    if hvm
        && let Some(l) = &d.os.loader
        && l.kind.as_deref() == Some("pflash")
    {
        c.set_str("bios", "ovmf");
        if let Some(p) = &l.path {
            c.set_str("bios_path_override", p.clone());
        }
    }
    if let Some(table) =
        d.os.extras
            .children
            .iter()
            .map(|(_, e)| e)
            .filter(|e| e.name == "acpi")
            .flat_map(|e| e.elements())
            .find(|t| t.name == "table")
    {
        c.set_str("acpi_firmware", table.text());
    }
    if hvm && !d.os.boot.is_empty() {
        let order: String = d.os.boot.iter().map(|b| b.qemu_letter()).collect();
        c.set_str("boot", order);
    }
    let disks = d
        .devices
        .disks()
        .map(disk_spec)
        .collect::<Result<Vec<_>, _>>()?;
    if !disks.is_empty() {
        c.set_list("disk", disks);
    }
    if let Some(bus) = others(d, "controller").find(|e| e.attr("type") == Some("xenbus")) {
        if let Some(n) = bus.attr("maxGrantFrames") {
            c.set("max_grant_frames", Value::Num(n.to_owned()));
        }
        if let Some(n) = bus.attr("maxEventChannels") {
            c.set("max_event_channels", Value::Num(n.to_owned()));
        }
    }
    let usbctrls: Vec<String> = others(d, "controller")
        .filter(|e| e.attr("type") == Some("usb"))
        .filter_map(usbctrl_spec)
        .collect();
    if !usbctrls.is_empty() {
        c.set_list("usbctrl", usbctrls);
    }
    if hvm {
        let usb_inputs: Vec<String> = others(d, "input")
            .filter(|e| e.attr("bus") == Some("usb"))
            .filter_map(|e| e.attr("type").map(str::to_owned))
            .collect();
        if !usb_inputs.is_empty() {
            c.set_num("usb", 1);
            c.set_list("usbdevice", usb_inputs);
        }
    }
    let mut pci = Vec::new();
    let mut usbdev = Vec::new();
    for h in d.devices.hostdevs() {
        match (h.kind, &h.source) {
            (HostdevKind::Subsystem(HostdevSubsysType::Usb), HostdevSource::Usb(u)) => {
                if let (Some(bus), Some(dev)) = (&u.bus, &u.device) {
                    usbdev.push(format!("hostbus={bus},hostaddr={dev}"));
                }
            }
            (HostdevKind::Subsystem(HostdevSubsysType::Pci), HostdevSource::Other(src)) => {
                if let Some(spec) = pci_spec(src) {
                    pci.push(spec);
                }
            }
            _ => {
                return Err(XenError::Unsupported(format!(
                    "hostdev type '{}' (supported for Xen: pci, usb)",
                    h.kind
                )));
            }
        }
    }
    if !pci.is_empty() {
        c.set_list("pci", pci);
    }
    if !usbdev.is_empty() {
        c.set_list("usbdev", usbdev);
    }
    if let Some(cmd) = d
        .extras
        .children
        .iter()
        .map(|(_, e)| e)
        .find(|e| e.local_name() == "commandline" && e.prefix().is_some())
    {
        let args: Vec<String> = cmd
            .elements()
            .filter(|e| e.local_name() == "arg")
            .filter_map(|e| e.attr("value").map(str::to_owned))
            .collect();
        c.set_list("device_model_args", args);
    }
    let channels: Vec<String> = others(d, "channel").filter_map(channel_spec).collect();
    if !channels.is_empty() {
        c.set_list("channel", channels);
    }
    Ok(c)
}

fn graphics(d: &Domain, c: &mut Config) {
    if let Some(g) = others(d, "graphics").find(|g| g.attr("type") == Some("spice")) {
        c.set_num("sdl", 0);
        c.set_num("vnc", 0);
        c.set_num("spice", 1);
        if let Some(l) = g.attr("listen") {
            c.set_str("spicehost", l);
        }
        if let Some(p) = g.attr("port") {
            c.set("spiceport", Value::Num(p.to_owned()));
        }
        if let Some(p) = g.attr("tlsPort") {
            c.set("spicetls_port", Value::Num(p.to_owned()));
        }
        match g.attr("passwd") {
            Some(p) => {
                c.set_num("spicedisable_ticketing", 0);
                c.set_str("spicepasswd", p);
            }
            None => c.set_num("spicedisable_ticketing", 1),
        }
        let child = |name: &str, attr: &str| {
            g.elements()
                .find(|e| e.name == name)
                .and_then(|e| e.attr(attr).map(str::to_owned))
        };
        let client_mouse = child("mouse", "mode").as_deref() == Some("client");
        let clipboard = child("clipboard", "copypaste").as_deref() == Some("yes");
        c.set_num("spiceagent_mouse", u8::from(client_mouse));
        if client_mouse || clipboard {
            c.set_num("spicevdagent", 1);
        }
        if clipboard {
            c.set_num("spice_clipboard_sharing", 1);
        }
        return;
    }
    let vnc = others(d, "graphics").find(|g| g.attr("type") == Some("vnc"));
    let sdl = others(d, "graphics").any(|g| g.attr("type") == Some("sdl"));
    c.set_num("sdl", u8::from(sdl));
    match vnc {
        None => c.set_num("vnc", 0),
        Some(g) => {
            c.set_num("vnc", 1);
            let autoport = g.attr("autoport") == Some("yes");
            c.set_num("vncunused", u8::from(autoport));
            if !autoport && let Some(port) = g.attr("port") {
                c.set_num("vncdisplay", port.parse::<i64>().unwrap_or(5900) - 5900);
            }
            if let Some(l) = g.attr("listen") {
                c.set_str("vnclisten", l);
            }
            if let Some(p) = g.attr("passwd") {
                c.set_str("vncpasswd", p);
            }
            if let Some(k) = g.attr("keymap") {
                c.set_str("keymap", k);
            }
        }
    }
}

/// `mac=…,bridge=…,ip=…,script=…,model=…|type=vif,vifname=…,rate=…`.
fn vif_spec(i: &Interface) -> Result<String, XenError> {
    let mut parts = Vec::new();
    if let Some(mac) = &i.mac {
        parts.push(format!("mac={mac}"));
    }
    let src = i.source.as_ref();
    match i.kind {
        NetType::Bridge => {
            if let Some(br) = src.and_then(|s| s.bridge.as_deref()) {
                // Open vSwitch VLANs ride on the bridge name.
                let vlan = i
                    .extras
                    .children
                    .iter()
                    .map(|(_, e)| e)
                    .find(|e| e.name == "vlan");
                let tags: Vec<&str> = vlan
                    .map(|v| v.elements().filter_map(|t| t.attr("id")).collect())
                    .unwrap_or_default();
                let trunk = vlan.and_then(|v| v.attr("trunk")) == Some("yes");
                match (tags.as_slice(), trunk) {
                    ([], _) => parts.push(format!("bridge={br}")),
                    ([one], false) => parts.push(format!("bridge={br}.{one}")),
                    (many, _) => parts.push(format!("bridge={br}:{}", many.join(":"))),
                }
            }
        }
        NetType::Network => {
            if let Some(n) = src.and_then(|s| s.network.as_deref()) {
                parts.push(format!("bridge={n}"));
            }
        }
        NetType::Ethernet => {}
        other => {
            return Err(XenError::Unsupported(format!(
                "interface type '{other}' (supported: bridge, network, ethernet)"
            )));
        }
    }
    let ips: Vec<String> = i.ips.iter().map(|ip| ip.address.to_string()).collect();
    if !ips.is_empty() {
        parts.push(format!("ip={}", ips.join(" ")));
    }
    if let Some(s) = &i.script {
        parts.push(format!("script={s}"));
    }
    match i.model.as_deref() {
        Some("netfront") => parts.push("type=vif".into()),
        Some(m) => parts.push(format!("model={m}")),
        None => {}
    }
    if let Some(t) = &i.target_dev {
        parts.push(format!("vifname={t}"));
    }
    if let Some(avg) = i
        .bandwidth
        .as_ref()
        .and_then(|b| b.outbound.as_ref())
        .and_then(|r| r.average)
    {
        parts.push(format!("rate={avg}KB/s"));
    }
    if let Some(p) = parts
        .iter()
        .find(|p| p.contains(',') && !p.starts_with("ip="))
    {
        return Err(XenError::BadSpec {
            what: "vif",
            message: format!("a ',' in '{p}' would split the spec"),
        });
    }
    let spec = parts.join(",");
    check_spec("vif", &spec)?;
    Ok(spec)
}

/// `format=…,vdev=…,access=ro|rw,backendtype=…,[devtype=cdrom,]target=…`.
fn disk_spec(disk: &Disk) -> Result<String, XenError> {
    let driver = disk.driver.as_ref();
    let format = driver.and_then(|d| d.format.as_deref()).unwrap_or("raw");
    let vdev = disk
        .target
        .as_ref()
        .and_then(|t| t.dev.as_deref())
        .ok_or_else(|| XenError::Unsupported("a disk needs <target dev='…'/>".into()))?;
    let backend = match driver.and_then(|d| d.name.as_deref()) {
        Some("phy") => "phy",
        Some("tap" | "tap2") => "tap",
        _ => "qdisk",
    };
    let src = disk.source.as_ref();
    let target = match disk.kind.as_deref().unwrap_or("file") {
        "file" => src.and_then(|s| s.file.clone()),
        "block" => src.and_then(|s| s.dev.clone()),
        "network" if src.and_then(|s| s.protocol.as_deref()) == Some("rbd") => src.map(rbd_target),
        other => {
            return Err(XenError::Unsupported(format!(
                "disk type '{other}' (supported: file, block)"
            )));
        }
    };
    let mut parts = vec![
        format!("format={format}"),
        format!("vdev={vdev}"),
        format!("access={}", if disk.readonly { "ro" } else { "rw" }),
        format!("backendtype={backend}"),
    ];
    if disk.device.as_deref() == Some("cdrom") {
        parts.push("devtype=cdrom".into());
    }
    if let Some(p) = parts.iter().find(|p| p.contains(',')) {
        return Err(XenError::BadSpec {
            what: "disk",
            message: format!("a ',' in '{p}' would split the spec"),
        });
    }
    // `target=` takes the rest of the spec, commas included: it goes last.
    if let Some(t) = target {
        parts.push(format!("target={t}"));
    }
    let spec = parts.join(",");
    check_spec("disk", &spec)?;
    Ok(spec)
}

/// A control character in a spec would end the config line or hide text.
fn check_spec(what: &'static str, spec: &str) -> Result<(), XenError> {
    if let Some(c) = spec.chars().find(|c| c.is_control()) {
        return Err(XenError::ControlChar {
            what,
            code: u32::from(c),
        });
    }
    Ok(())
}

/// `<channel type='pty'|'unix'>` with a xen target → a `channel=` spec.
fn channel_spec(ch: &Element) -> Option<String> {
    let target = ch.elements().find(|e| e.name == "target")?;
    let name = target.attr("name");
    let mut parts = Vec::new();
    match ch.attr("type")? {
        "pty" => parts.push("connection=pty".to_owned()),
        "unix" => {
            parts.push("connection=socket".to_owned());
            let path = ch
                .elements()
                .find(|e| e.name == "source")
                .and_then(|s| s.attr("path"))?;
            parts.push(format!("path={path}"));
        }
        _ => return None,
    }
    if let Some(n) = name {
        parts.push(format!("name={n}"));
    }
    Some(parts.join(","))
}

/// An rbd source as qemu's `rbd:` filename, as libvirt writes it for xl.
fn rbd_target(s: &crate::domain::DiskSource) -> String {
    let mut t = format!("rbd:{}", s.name.as_deref().unwrap_or(""));
    let auth = s.extras.children.iter().any(|(_, e)| e.name == "auth");
    if !auth {
        t.push_str(":auth_supported=none");
    }
    let hosts: Vec<String> = s
        .extras
        .children
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.name == "host")
        .map(|h| {
            let name = h.attr("name").unwrap_or("");
            match h.attr("port") {
                Some(p) => format!("{name}\\:{p}"),
                None => name.to_owned(),
            }
        })
        .collect();
    if !hosts.is_empty() {
        t.push_str(":mon_host=");
        t.push_str(&hosts.join("\\;"));
    }
    t
}

/// `<cpu mode='host-passthrough'>` features → `host,FLAG=0|1|x,…` (the
/// vmx/svm switch is `nestedhvm`, not CPUID).
fn cpuid_spec(cpu: &Element) -> Option<String> {
    let mut parts = vec!["host".to_owned()];
    for f in cpu.elements().filter(|e| e.name == "feature") {
        let name = f.attr("name")?;
        if matches!(name, "vmx" | "svm") {
            continue;
        }
        let v = match f.attr("policy")? {
            "disable" | "forbid" => "0",
            "force" | "require" => "1",
            "optional" => "x",
            _ => continue,
        };
        let xen = super::from_native::CPUID_NAMES
            .iter()
            .find(|(_, lv)| *lv == name)
            .map_or(name, |(x, _)| x);
        parts.push(format!("{xen}={v}"));
    }
    (parts.len() > 1).then(|| parts.join(","))
}

/// `<controller type='usb' model='qusbN' ports=P>` → `type=qusb,version=N,ports=P`.
fn usbctrl_spec(e: &Element) -> Option<String> {
    let model = e.attr("model")?;
    let mut parts = match model.strip_prefix("qusb") {
        Some(v) => vec!["type=qusb".to_owned(), format!("version={v}")],
        None if model == "xen" => vec!["type=pv".to_owned()],
        None => return None,
    };
    if let Some(p) = e.attr("ports") {
        parts.push(format!("ports={p}"));
    }
    Some(parts.join(","))
}

/// A PCI hostdev `<source>` → `DDDD:BB:SS.F[,permissive=1]`.
fn pci_spec(src: &Element) -> Option<String> {
    let addr = src.elements().find(|e| e.name == "address")?;
    let hex = |k: &str| -> Option<u32> {
        let v = addr.attr(k)?;
        u32::from_str_radix(v.trim_start_matches("0x"), 16).ok()
    };
    let mut spec = format!(
        "{:04x}:{:02x}:{:02x}.{:x}",
        hex("domain").unwrap_or(0),
        hex("bus")?,
        hex("slot")?,
        hex("function")?
    );
    if src.attr("writeFiltering") == Some("no") {
        spec.push_str(",permissive=1");
    }
    Some(spec)
}

/// `<numa>` cells → `vnuma`, each distance filled in as libvirt does: the
/// cell's own sibling entry, else the other cell's entry for it (distances
/// are symmetric), else 10 to itself and 20 to others.
fn vnuma_value(numa: &Element) -> Result<Value, XenError> {
    let cells: Vec<&Element> = numa.elements().filter(|e| e.name == "cell").collect();
    let given = |from: &Element, to: usize| -> Option<String> {
        from.elements()
            .filter(|e| e.name == "distances")
            .flat_map(|e| e.elements())
            .find(|s| s.attr("id").and_then(|i| i.parse::<usize>().ok()) == Some(to))
            .and_then(|s| s.attr("value").map(str::to_owned))
    };
    let mut nodes = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let cpus = cell
            .attr("cpus")
            .ok_or_else(|| XenError::Unsupported("a NUMA cell needs cpus='…'".into()))?;
        let kib: u64 = cell
            .attr("memory")
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| XenError::Unsupported("a NUMA cell needs memory='…' (KiB)".into()))?;
        let dists: Vec<String> = (0..cells.len())
            .map(|j| {
                given(cell, j)
                    .or_else(|| given(cells[j], i))
                    .unwrap_or_else(|| if i == j { "10" } else { "20" }.to_owned())
            })
            .collect();
        nodes.push(Value::List(vec![
            Value::Str(format!("pnode={i}")),
            Value::Str(format!("size={}", kib / 1024)),
            Value::Str(format!("vcpus={}", format_cpus(cpus))),
            Value::Str(format!("vdistances={}", dists.join(","))),
        ]));
    }
    Ok(Value::List(nodes))
}

/// A CPU list in libvirt's canonical form: sorted, runs as `a-b`.
fn format_cpus(list: &str) -> String {
    let mut cpus: Vec<u32> = Vec::new();
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
            cpus.extend(a..=b.min(a.saturating_add(8192)));
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        while i + 1 < cpus.len() && cpus[i + 1] == cpus[i] + 1 {
            i += 1;
        }
        out.push(if cpus[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", cpus[i])
        });
        i += 1;
    }
    out.join(",")
}
