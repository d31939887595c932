//! Tests of `settings.rs`: the exact v1 and v2 files and values for a
//! domain, and the settings refused rather than dropped.

use super::*;

fn domain(body: &str) -> Domain {
    let xml = format!(
        "<domain type='lxc'><name>t</name>{body}<os><type>exe</type><init>/bin/sh</init></os></domain>"
    );
    let mut d = Domain::parse(xml.as_bytes()).unwrap();
    d.apply_defaults().unwrap();
    d
}

fn fake_dev(p: &Path) -> Result<(u64, u64), CgroupError> {
    match p.to_str() {
        Some("/dev/vda") => Ok((254, 0)),
        Some("/dev/sdb") => Ok((8, 16)),
        _ => Err(CgroupError::NotBlockDevice {
            setting: "test".into(),
            path: p.to_owned(),
        }),
    }
}

fn table(s: &CgroupSettings, h: Hierarchy) -> Vec<(String, String, String)> {
    s.writes(h, fake_dev)
        .unwrap()
        .into_iter()
        .map(|w| (w.setting, w.files.join("|"), w.value))
        .collect()
}

fn row(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.into(), b.into(), c.into())
}

const FULL: &str = "<memory unit='MiB'>512</memory>\
    <blkiotune><weight>500</weight>\
      <device><path>/dev/vda</path><weight>300</weight><read_bytes_sec>1000</read_bytes_sec><write_iops_sec>20</write_iops_sec><read_iops_sec>0</read_iops_sec></device>\
      <device><path>/dev/sdb</path><write_bytes_sec>4096</write_bytes_sec></device>\
    </blkiotune>\
    <memtune><hard_limit unit='MiB'>256</hard_limit><soft_limit unit='MiB'>128</soft_limit><swap_hard_limit unit='MiB'>384</swap_hard_limit></memtune>\
    <vcpu cpuset='0-3,^1'>2</vcpu>\
    <cputune><shares>2048</shares><period>100000</period><quota>50000</quota></cputune>\
    <numatune><memory mode='strict' nodeset='0'/></numatune>";

#[test]
fn full_domain_v2_files_and_values() {
    let s = CgroupSettings::from_domain(&domain(FULL)).unwrap();
    assert_eq!(
        table(&s, Hierarchy::V2),
        vec![
            row("memtune/soft_limit", "memory.low", "134217728"),
            row("memtune/hard_limit", "memory.max", "268435456"),
            row("memtune/swap_hard_limit", "memory.swap.max", "134217728"),
            row("vcpu/@cpuset", "cpuset.cpus", "0,2-3"),
            row("numatune/memory/@nodeset", "cpuset.mems", "0"),
            row("cputune/shares", "cpu.weight", "200"),
            row("cputune/quota", "cpu.max", "50000 100000"),
            row("blkiotune/weight", "io.weight|io.bfq.weight", "500"),
            row(
                "blkiotune/device[/dev/vda]/weight",
                "io.weight|io.bfq.weight",
                "254:0 300"
            ),
            row(
                "blkiotune/device[/dev/vda]/read_bytes_sec+write_iops_sec",
                "io.max",
                "254:0 rbps=1000 wiops=20"
            ),
            row(
                "blkiotune/device[/dev/sdb]/write_bytes_sec",
                "io.max",
                "8:16 wbps=4096"
            ),
        ]
    );
}

#[test]
fn full_domain_v1_files_and_values() {
    let s = CgroupSettings::from_domain(&domain(FULL)).unwrap();
    assert_eq!(
        table(&s, Hierarchy::V1),
        vec![
            row("memtune/hard_limit", "memory.limit_in_bytes", "268435456"),
            row(
                "memtune/soft_limit",
                "memory.soft_limit_in_bytes",
                "134217728"
            ),
            row(
                "memtune/swap_hard_limit",
                "memory.memsw.limit_in_bytes",
                "402653184"
            ),
            row("vcpu/@cpuset", "cpuset.cpus", "0,2-3"),
            row("numatune/memory/@nodeset", "cpuset.mems", "0"),
            row("cputune/shares", "cpu.shares", "2048"),
            row("cputune/period", "cpu.cfs_period_us", "100000"),
            row("cputune/quota", "cpu.cfs_quota_us", "50000"),
            row("blkiotune/weight", "blkio.weight|blkio.bfq.weight", "500"),
            row(
                "blkiotune/device[/dev/vda]/weight",
                "blkio.weight_device|blkio.bfq.weight_device",
                "254:0 300"
            ),
            row(
                "blkiotune/device[/dev/vda]/read_bytes_sec",
                "blkio.throttle.read_bps_device",
                "254:0 1000"
            ),
            row(
                "blkiotune/device[/dev/vda]/write_iops_sec",
                "blkio.throttle.write_iops_device",
                "254:0 20"
            ),
            row(
                "blkiotune/device[/dev/sdb]/write_bytes_sec",
                "blkio.throttle.write_bps_device",
                "8:16 4096"
            ),
        ]
    );
}

#[test]
fn memory_alone_is_the_limit_and_unlimited_values_print_as_max() {
    let s = CgroupSettings::from_domain(&domain("<memory unit='MiB'>64</memory>")).unwrap();
    assert_eq!(
        table(&s, Hierarchy::V2),
        vec![row("memory", "memory.max", "67108864")]
    );
    assert_eq!(
        table(&s, Hierarchy::V1),
        vec![row("memory", "memory.limit_in_bytes", "67108864")]
    );
    let s = CgroupSettings::from_domain(&domain(
        "<memory unit='MiB'>64</memory><memtune><hard_limit>9007199254740991</hard_limit><swap_hard_limit>9007199254740991</swap_hard_limit></memtune>",
    ))
    .unwrap();
    assert_eq!(
        table(&s, Hierarchy::V2),
        vec![
            row("memtune/hard_limit", "memory.max", "max"),
            row("memtune/swap_hard_limit", "memory.swap.max", "max"),
        ]
    );
    assert_eq!(
        table(&s, Hierarchy::V1),
        vec![
            row("memtune/hard_limit", "memory.limit_in_bytes", "-1"),
            row(
                "memtune/swap_hard_limit",
                "memory.memsw.limit_in_bytes",
                "-1"
            ),
        ]
    );
}

#[test]
fn quota_or_period_alone_and_unlimited_quota() {
    let q = |body: &str, h| {
        table(
            &CgroupSettings::from_domain(&domain(&format!("<cputune>{body}</cputune>"))).unwrap(),
            h,
        )
    };
    assert_eq!(
        q("<quota>10000</quota>", Hierarchy::V2),
        vec![row("cputune/quota", "cpu.max", "10000 100000")]
    );
    assert_eq!(
        q("<period>20000</period>", Hierarchy::V2),
        vec![row("cputune/period", "cpu.max", "max 20000")]
    );
    assert_eq!(
        q("<quota>-1</quota>", Hierarchy::V1),
        vec![row("cputune/quota", "cpu.cfs_quota_us", "-1")]
    );
    assert_eq!(
        q("<quota>-1</quota><period>50000</period>", Hierarchy::V2),
        vec![row("cputune/quota", "cpu.max", "max 50000")]
    );
}

#[test]
fn shares_convert_like_systemd() {
    assert_eq!(shares_to_weight(1024), 100);
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(512), 50);
    assert_eq!(shares_to_weight(262_144), 10_000);
    assert_eq!(shares_to_weight(0), 1);
}

#[test]
fn impossible_settings_are_errors_not_drops() {
    let err = |body: &str| {
        CgroupSettings::from_domain(&domain(body))
            .unwrap_err()
            .to_string()
    };
    let e = err(
        "<memory unit='MiB'>512</memory><memtune><swap_hard_limit unit='MiB'>256</swap_hard_limit></memtune>",
    );
    assert!(
        e.contains("memtune/swap_hard_limit") && e.contains("memory"),
        "{e}"
    );
    let e = err("<memtune><min_guarantee>1024</min_guarantee></memtune>");
    assert!(e.contains("memtune/min_guarantee"), "{e}");
    let e = err("<numatune><memory mode='interleave' nodeset='0'/></numatune>");
    assert!(
        e.contains("numatune/memory/@mode") && e.contains("interleave"),
        "{e}"
    );
    let e = err("<cputune><emulator_quota>1000</emulator_quota></cputune>");
    assert!(e.contains("cputune/emulator_quota"), "{e}");
    // An empty cpuset is refused by the parser (`CpuSet`), before any cgroup.
    assert!(Domain::parse(&b"<domain type='lxc'><name>t</name><vcpu cpuset='0,^0'>1</vcpu><os><type>exe</type></os></domain>"[..]).is_err());
    let e = err("<vcpu placement='auto'>1</vcpu>");
    assert!(e.contains("vcpu/@placement"), "{e}");
}

#[test]
fn no_resource_elements_means_no_writes() {
    let s = CgroupSettings::from_domain(&domain("")).unwrap();
    assert!(s.is_empty());
    assert!(s.controllers().is_empty());
    let s = CgroupSettings::from_domain(&domain("<memory>1024</memory>")).unwrap();
    assert!(!s.is_empty());
    assert_eq!(
        s.controllers().into_iter().collect::<Vec<_>>(),
        vec![Controller::Memory]
    );
}

#[test]
fn unresolvable_device_is_an_error() {
    let d = domain(
        "<blkiotune><device><path>/dev/nope</path><read_bytes_sec>1</read_bytes_sec></device></blkiotune>",
    );
    let s = CgroupSettings::from_domain(&d).unwrap();
    assert!(s.writes(Hierarchy::V2, fake_dev).is_err());
}
