//! Resource elements: maxMemory, memtune, vcpu, cputune, blkiotune, numatune,
//! resource. Sizes are KiB, as libvirt holds them.

use super::cpuset::CpuSet;
use super::cursor::{Cursor, Extras, string_enum};
use super::error::ParseError;
use super::units::{child_kib, element_kib};
use crate::xml::Writer;

/// `<maxMemory slots='N' unit='KiB'>` (memory hotplug ceiling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxMemory {
    pub kib: u64,
    pub slots: Option<u32>,
    pub extras: Extras,
}

impl MaxMemory {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let slots = c.parse_attr("slots")?;
        let kib = element_kib(&mut c, "unit")?;
        Ok(MaxMemory {
            kib,
            slots,
            extras: c.finish(&[]),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w
            .tag("maxMemory")
            .opt_attr("slots", self.slots.filter(|s| *s > 0))
            .attr("unit", "KiB")
            .extra_attrs(&self.extras.attrs);
        w.text(t, &self.kib.to_string());
    }
}

/// `<memtune>`: limits in KiB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemTune {
    pub hard_limit: Option<u64>,
    pub soft_limit: Option<u64>,
    pub min_guarantee: Option<u64>,
    pub swap_hard_limit: Option<u64>,
    pub extras: Extras,
}

const MEMTUNE: &[&str] = &[
    "hard_limit",
    "soft_limit",
    "min_guarantee",
    "swap_hard_limit",
];

impl MemTune {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        Ok(MemTune {
            hard_limit: child_kib(&mut c, "hard_limit")?,
            soft_limit: child_kib(&mut c, "soft_limit")?,
            min_guarantee: child_kib(&mut c, "min_guarantee")?,
            swap_hard_limit: child_kib(&mut c, "swap_hard_limit")?,
            extras: c.finish(MEMTUNE),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w.tag("memtune").extra_attrs(&self.extras.attrs);
        let values = [
            self.hard_limit,
            self.soft_limit,
            self.min_guarantee,
            self.swap_hard_limit,
        ];
        w.children(t, |w| {
            self.extras.leading(w);
            for (name, v) in MEMTUNE.iter().zip(values) {
                if let Some(kib) = v {
                    let t = w
                        .tag(name)
                        .attr("unit", "KiB")
                        .extra_attrs(self.extras.attrs_of(name, 1));
                    w.text(t, &kib.to_string());
                }
                self.extras.after(w, name);
            }
        });
    }
}

string_enum! {
    /// Where vCPUs (or memory) are placed.
    pub enum Placement { Static = "static", Auto = "auto" }
}

/// `<vcpu placement= cpuset= current=>N</vcpu>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vcpu {
    pub count: u32,
    pub placement: Option<Placement>,
    /// A CPU list as written (`0-3,^2`); validated by the defaults pass.
    pub cpuset: Option<CpuSet>,
    pub current: Option<u32>,
    pub extras: Extras,
}

impl Vcpu {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        Ok(Vcpu {
            placement: c.parse_attr("placement")?,
            cpuset: c.parse_attr("cpuset")?,
            current: c.parse_attr("current")?,
            count: c.parse_text()?,
            extras: c.finish(&[]),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w
            .tag("vcpu")
            .opt_attr("placement", self.placement)
            .opt_attr("cpuset", self.cpuset.as_ref())
            .opt_attr("current", self.current.filter(|c| *c != self.count))
            .extra_attrs(&self.extras.attrs);
        w.text(t, &self.count.to_string());
    }
}

/// `<cputune>`: CPU bandwidth. Pinning and scheduling elements are kept as extras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuTune {
    pub shares: Option<u64>,
    pub period: Option<u64>,
    pub quota: Option<i64>,
    pub global_period: Option<u64>,
    pub global_quota: Option<i64>,
    pub emulator_period: Option<u64>,
    pub emulator_quota: Option<i64>,
    pub iothread_period: Option<u64>,
    pub iothread_quota: Option<i64>,
    pub extras: Extras,
}

const CPUTUNE: &[&str] = &[
    "shares",
    "period",
    "quota",
    "global_period",
    "global_quota",
    "emulator_period",
    "emulator_quota",
    "iothread_period",
    "iothread_quota",
];

impl CpuTune {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        Ok(CpuTune {
            shares: c.child_text("shares")?,
            period: c.child_text("period")?,
            quota: c.child_text("quota")?,
            global_period: c.child_text("global_period")?,
            global_quota: c.child_text("global_quota")?,
            emulator_period: c.child_text("emulator_period")?,
            emulator_quota: c.child_text("emulator_quota")?,
            iothread_period: c.child_text("iothread_period")?,
            iothread_quota: c.child_text("iothread_quota")?,
            extras: c.finish(CPUTUNE),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let values: [Option<String>; 9] = [
            self.shares.map(|v| v.to_string()),
            self.period.map(|v| v.to_string()),
            self.quota.map(|v| v.to_string()),
            self.global_period.map(|v| v.to_string()),
            self.global_quota.map(|v| v.to_string()),
            self.emulator_period.map(|v| v.to_string()),
            self.emulator_quota.map(|v| v.to_string()),
            self.iothread_period.map(|v| v.to_string()),
            self.iothread_quota.map(|v| v.to_string()),
        ];
        let t = w.tag("cputune").extra_attrs(&self.extras.attrs);
        w.children(t, |w| {
            self.extras.leading(w);
            for (name, v) in CPUTUNE.iter().zip(values) {
                if let Some(v) = v {
                    let t = w.tag(name).extra_attrs(self.extras.attrs_of(name, 1));
                    w.text(t, &v);
                }
                self.extras.after(w, name);
            }
        });
    }
}

/// One `<blkiotune><device>` throttle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioDevice {
    pub path: String,
    pub weight: Option<u32>,
    pub read_iops_sec: Option<u64>,
    pub write_iops_sec: Option<u64>,
    pub read_bytes_sec: Option<u64>,
    pub write_bytes_sec: Option<u64>,
    pub extras: Extras,
}

const BLKIO_DEVICE: &[&str] = &[
    "path",
    "weight",
    "read_iops_sec",
    "write_iops_sec",
    "read_bytes_sec",
    "write_bytes_sec",
];

/// `<blkiotune>`: I/O weight and per-device throttles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioTune {
    pub weight: Option<u32>,
    pub devices: Vec<BlkioDevice>,
    pub extras: Extras,
}

impl BlkioTune {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let weight = c.child_text("weight")?;
        let mut devices = Vec::new();
        for mut d in c.children("device") {
            devices.push(BlkioDevice {
                path: d.child("path").map(|p| p.text()).unwrap_or_default(),
                weight: d.child_text("weight")?,
                read_iops_sec: d.child_text("read_iops_sec")?,
                write_iops_sec: d.child_text("write_iops_sec")?,
                read_bytes_sec: d.child_text("read_bytes_sec")?,
                write_bytes_sec: d.child_text("write_bytes_sec")?,
                extras: d.finish(BLKIO_DEVICE),
            });
        }
        Ok(BlkioTune {
            weight,
            devices,
            extras: c.finish(&["weight", "device"]),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w.tag("blkiotune").extra_attrs(&self.extras.attrs);
        w.children(t, |w| {
            self.extras.leading(w);
            if let Some(v) = self.weight {
                let t = w
                    .tag("weight")
                    .extra_attrs(self.extras.attrs_of("weight", 1));
                w.text(t, &v.to_string());
            }
            self.extras.after(w, "weight");
            for d in &self.devices {
                let values = [
                    Some(d.path.clone()),
                    d.weight.map(|v| v.to_string()),
                    d.read_iops_sec.map(|v| v.to_string()),
                    d.write_iops_sec.map(|v| v.to_string()),
                    d.read_bytes_sec.map(|v| v.to_string()),
                    d.write_bytes_sec.map(|v| v.to_string()),
                ];
                let t = w.tag("device").extra_attrs(&d.extras.attrs);
                w.children(t, |w| {
                    d.extras.leading(w);
                    for (name, v) in BLKIO_DEVICE.iter().zip(values) {
                        if let Some(v) = v {
                            let t = w.tag(name).extra_attrs(d.extras.attrs_of(name, 1));
                            w.text(t, &v);
                        }
                        d.extras.after(w, name);
                    }
                });
            }
            self.extras.after(w, "device");
        });
    }
}

string_enum! {
    /// `<numatune><memory mode=…>`.
    pub enum NumaMode {
        Strict = "strict",
        Preferred = "preferred",
        Interleave = "interleave",
        Restrictive = "restrictive",
    }
}

/// `<numatune><memory mode= nodeset= placement=/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumaMemory {
    pub mode: Option<NumaMode>,
    pub nodeset: Option<CpuSet>,
    pub placement: Option<Placement>,
    pub extras: Extras,
}

/// `<numatune>`; `<memnode>` entries are kept as extras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumaTune {
    pub memory: Option<NumaMemory>,
    pub extras: Extras,
}

impl NumaTune {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let memory = match c.child("memory") {
            Some(mut m) => Some(NumaMemory {
                mode: m.parse_attr("mode")?,
                nodeset: m.parse_attr("nodeset")?,
                placement: m.parse_attr("placement")?,
                extras: m.finish(&[]),
            }),
            None => None,
        };
        Ok(NumaTune {
            memory,
            extras: c.finish(&["memory"]),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w.tag("numatune").extra_attrs(&self.extras.attrs);
        w.children(t, |w| {
            self.extras.leading(w);
            if let Some(m) = &self.memory {
                let t = w
                    .tag("memory")
                    .opt_attr("mode", m.mode)
                    .opt_attr("nodeset", m.nodeset.as_ref())
                    .opt_attr("placement", m.placement)
                    .extra_attrs(&m.extras.attrs);
                w.empty(t);
            }
            self.extras.after(w, "memory");
        });
    }
}

/// `<resource><partition>`: where the domain's cgroup goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    pub partition: Option<String>,
    pub extras: Extras,
}

impl Resource {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        Ok(Resource {
            partition: c.child("partition").map(|p| p.text()),
            extras: c.finish(&["partition"]),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w.tag("resource").extra_attrs(&self.extras.attrs);
        w.children(t, |w| {
            self.extras.leading(w);
            if let Some(p) = &self.partition {
                let t = w
                    .tag("partition")
                    .extra_attrs(self.extras.attrs_of("partition", 1));
                w.text(t, p);
            }
            self.extras.after(w, "partition");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, read_document};

    fn round(xml: &str, parse: impl Fn(Cursor<'_>) -> String) -> String {
        let el = read_document(xml.as_bytes(), &Limits::default()).unwrap();
        parse(Cursor::root(&el))
    }

    #[test]
    fn memtune_converts_units_and_keeps_libvirt_order() {
        let out = round(
            "<memtune><swap_hard_limit unit='MiB'>2</swap_hard_limit><hard_limit unit='G'>1</hard_limit><x/></memtune>",
            |c| {
                let m = MemTune::parse(c).unwrap();
                let mut w = Writer::new();
                m.format(&mut w);
                w.finish()
            },
        );
        assert_eq!(
            out,
            "<memtune>\n  <hard_limit unit='KiB'>1048576</hard_limit>\n  <x/>\n  <swap_hard_limit unit='KiB'>2048</swap_hard_limit>\n</memtune>\n"
        );
    }
}
