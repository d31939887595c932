//! `<features>`: `privnet`, the LXC capability policy, and VM features (kept).

use super::cursor::{Cursor, Extras, OnOff, string_enum};
use super::error::{ParseError, ParseErrorKind};
use crate::xml::{Attr, Element, Writer};

/// Feature elements in libvirt's output order (its virDomainFeature enum).
pub const FEATURE_ORDER: &[&str] = &[
    "acpi",
    "apic",
    "pae",
    "hap",
    "viridian",
    "privnet",
    "hyperv",
    "kvm",
    "pvspinlock",
    "capabilities",
    "pmu",
    "vmport",
    "gic",
    "smm",
    "ioapic",
    "hpt",
    "vmcoreinfo",
    "htm",
    "nested-hv",
    "msrs",
    "ccf-assist",
    "xen",
    "cfpc",
    "sbbc",
    "ibs",
    "tcg",
    "async-teardown",
    "ras",
    "ps2",
];

string_enum! {
    /// `<capabilities policy=…>`: the starting set that toggles adjust.
    pub enum CapsPolicy { Default = "default", Allow = "allow", Deny = "deny" }
}

/// One libvirt capability toggle: its element name and Linux number.
macro_rules! capabilities {
    ($($variant:ident = $name:literal : $num:literal),+ $(,)?) => {
        string_enum! {
            /// A Linux capability, as libvirt names it under `<capabilities>`,
            /// in libvirt's output order.
            pub enum Capability { $($variant = $name),+ }
        }
        impl Capability {
            /// The kernel's capability number (`CAP_*`).
            pub fn number(self) -> u8 {
                match self { $(Capability::$variant => $num),+ }
            }
        }
    };
}

capabilities! {
    AuditControl = "audit_control": 30,
    AuditWrite = "audit_write": 29,
    BlockSuspend = "block_suspend": 36,
    Chown = "chown": 0,
    DacOverride = "dac_override": 1,
    DacReadSearch = "dac_read_search": 2,
    Fowner = "fowner": 3,
    Fsetid = "fsetid": 4,
    IpcLock = "ipc_lock": 14,
    IpcOwner = "ipc_owner": 15,
    Kill = "kill": 5,
    Lease = "lease": 28,
    LinuxImmutable = "linux_immutable": 9,
    MacAdmin = "mac_admin": 33,
    MacOverride = "mac_override": 32,
    Mknod = "mknod": 27,
    NetAdmin = "net_admin": 12,
    NetBindService = "net_bind_service": 10,
    NetBroadcast = "net_broadcast": 11,
    NetRaw = "net_raw": 13,
    Setgid = "setgid": 6,
    Setfcap = "setfcap": 31,
    Setpcap = "setpcap": 8,
    Setuid = "setuid": 7,
    SysAdmin = "sys_admin": 21,
    SysBoot = "sys_boot": 22,
    SysChroot = "sys_chroot": 18,
    SysModule = "sys_module": 16,
    SysNice = "sys_nice": 23,
    SysPacct = "sys_pacct": 20,
    SysPtrace = "sys_ptrace": 19,
    SysRawio = "sys_rawio": 17,
    SysResource = "sys_resource": 24,
    SysTime = "sys_time": 25,
    SysTtyConfig = "sys_tty_config": 26,
    Syslog = "syslog": 34,
    WakeAlarm = "wake_alarm": 35,
}

/// `<capabilities policy=…>` with per-capability `state='on|off'` toggles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapsFeature {
    pub policy: Option<CapsPolicy>,
    /// Toggles, kept in libvirt's output order (one per capability).
    pub toggles: Vec<(Capability, bool)>,
    pub extras: Extras,
}

/// `<features>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    pub privnet: bool,
    pub capabilities: Option<CapsFeature>,
    /// Every other feature (VM features: acpi, apic, pae, hyperv, …) kept
    /// verbatim, each with its rank in [`FEATURE_ORDER`] (an unknown one
    /// takes the rank of the feature before it, so it stays in place).
    pub others: Vec<(usize, Element)>,
    pub attrs: Vec<Attr>,
}

fn rank(name: &str) -> Option<usize> {
    FEATURE_ORDER.iter().position(|n| *n == name)
}

fn parse_state(c: &mut Cursor<'_>) -> Result<bool, ParseError> {
    // Through parse_attr, so a bad value is located at the attribute.
    match c.parse_attr::<OnOff>("state")? {
        Some(OnOff(on)) => Ok(on),
        None => Err(c.error(ParseErrorKind::MissingAttr {
            name: "state",
            hint: " (on or off)".into(),
        })),
    }
}

impl Features {
    /// True when a VM feature such as `acpi` or `apic` is present.
    pub fn has(&self, name: &str) -> bool {
        self.others.iter().any(|(_, e)| e.name == name)
    }

    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let mut f = Features::default();
        let mut last_rank = 0;
        for child in c.all_children() {
            let name = child.element().name.as_str();
            match name {
                "privnet" => {
                    f.privnet = true;
                    last_rank = rank("privnet").unwrap_or(last_rank);
                }
                "capabilities" => {
                    f.capabilities = Some(parse_caps(child)?);
                    last_rank = rank("capabilities").unwrap_or(last_rank);
                }
                _ => {
                    last_rank = rank(name).unwrap_or(last_rank);
                    f.others.push((last_rank, child.verbatim()));
                }
            }
        }
        f.attrs = c.finish(&[]).attrs;
        Ok(f)
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w.tag("features").extra_attrs(&self.attrs);
        w.children(t, |w| {
            let mut others = self.others.iter().peekable();
            for (r, name) in FEATURE_ORDER.iter().enumerate() {
                match *name {
                    "privnet" if self.privnet => w.empty(w.tag("privnet")),
                    "capabilities" => {
                        if let Some(caps) = &self.capabilities {
                            format_caps(caps, w);
                        }
                    }
                    _ => {}
                }
                while let Some((_, el)) = others.next_if(|(rk, _)| *rk == r) {
                    w.verbatim(el);
                }
            }
            // Ranks only grow with document order, so nothing is left; but
            // never drop a feature if that ever changes.
            for (_, el) in others {
                w.verbatim(el);
            }
        });
    }
}

fn parse_caps(mut c: Cursor<'_>) -> Result<CapsFeature, ParseError> {
    let policy = c.parse_attr("policy")?;
    let mut toggles: Vec<(Capability, bool)> = Vec::new();
    let mut unknown = Vec::new();
    for mut t in c.all_children() {
        match Capability::parse(&t.element().name) {
            Some(cap) => {
                let on = parse_state(&mut t)?;
                match toggles.iter_mut().find(|(c, _)| *c == cap) {
                    Some(slot) => slot.1 = on,
                    None => toggles.push((cap, on)),
                }
            }
            None => unknown.push((None, t.verbatim())),
        }
    }
    toggles.sort_by_key(|(cap, _)| Capability::ALL.iter().position(|c| c == cap));
    let mut extras = c.finish(&[]);
    extras.children = unknown;
    Ok(CapsFeature {
        policy,
        toggles,
        extras,
    })
}

fn format_caps(caps: &CapsFeature, w: &mut Writer) {
    let policy = caps.policy.unwrap_or(CapsPolicy::Default);
    // libvirt prints nothing for a default policy with no toggles.
    if policy == CapsPolicy::Default && caps.toggles.is_empty() && caps.extras.is_empty() {
        return;
    }
    let t = w
        .tag("capabilities")
        .attr("policy", policy)
        .extra_attrs(&caps.extras.attrs);
    w.children(t, |w| {
        for (cap, on) in &caps.toggles {
            let t = w
                .tag(cap.as_str())
                .attr("state", if *on { "on" } else { "off" })
                .extra_attrs(caps.extras.attrs_of(cap.as_str(), 1));
            w.empty(t);
        }
        caps.extras.leading(w);
    });
}
