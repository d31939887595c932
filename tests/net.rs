//! Networking end to end, as root, ONLY inside network namespaces these tests
//! create (`ip netns add drt-PID-N`, a bridge inside it): the host's own
//! network is never touched. The `domrun` binary runs inside the test
//! namespace (`ip netns exec`), a busybox probe inside the container prints
//! what it sees. Every test deletes its namespace and asserts that nothing
//! is left: no veth in the test namespace, no test namespace, no host link.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network namespace of this test, deleted on drop (even on panic).
struct TestNetns {
    name: String,
}

impl TestNetns {
    /// `drt-PID-N` with a bridge `br0` (10.77.N.1/24, up).
    fn new() -> TestNetns {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("drt-{}-{n}", std::process::id());
        let ns = TestNetns { name };
        ns.ip(&["netns", "add", &ns.name]);
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns.exec_ok(&["ip", "link", "add", "br0", "type", "bridge"]);
        ns.exec_ok(&[
            "ip",
            "addr",
            "add",
            &format!("10.77.{n}.1/24"),
            "dev",
            "br0",
        ]);
        ns.exec_ok(&["ip", "link", "set", "br0", "up"]);
        ns
    }

    fn subnet(&self) -> String {
        let n = self.name.rsplit('-').next().unwrap();
        format!("10.77.{n}")
    }

    fn ip(&self, args: &[&str]) {
        let out = Command::new("ip").args(args).output().unwrap();
        assert!(out.status.success(), "ip {args:?}: {}", stderr(&out));
    }

    fn exec(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn exec_ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "{args:?} in {}: {}{}",
            self.name,
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// `domrun --root ROOT ARGS…` inside this namespace.
    fn domrun(&self, root: &Path, args: &[&str]) -> Output {
        let mut all = vec![env!("CARGO_BIN_EXE_domrun"), "--root"];
        all.push(root.to_str().unwrap());
        all.extend_from_slice(args);
        self.exec(&all)
    }

    /// `domrun run DOMAIN` inside this namespace; asserts success and
    /// returns what the container printed.
    fn run_ok(&self, root: &Path, domain: &Path) -> String {
        let out = self.domrun(root, &["run", domain.to_str().unwrap()]);
        let seen = stdout(&out);
        assert!(out.status.success(), "{seen}{}", stderr(&out));
        seen
    }

    /// Link names in this namespace.
    fn links(&self) -> Vec<String> {
        self.exec_ok(&["ip", "-o", "link"])
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap().to_owned())
            .collect()
    }

    /// Waits until only `lo` and `br0` are left (veths go when their
    /// container's namespace does; domrun deletes them itself at stop).
    fn assert_only_bridge_left(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let links = self.links();
            if links == ["lo", "br0"] {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "left behind in {}: {links:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let list = Command::new("ip").args(["netns", "list"]).output();
        if let Ok(list) = list
            && !std::thread::panicking()
        {
            assert!(
                !stdout(&list).contains(&self.name),
                "namespace {} left",
                self.name
            );
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Fixture {
    tmp: tempfile::TempDir,
    rootfs: PathBuf,
}

fn fixture() -> Option<Fixture> {
    if !common::require_root() || !common::require_tool("ip") {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = common::busybox_rootfs(&tmp.path().join("rootfs"))?;
    Some(Fixture { tmp, rootfs })
}

/// A domain file running `sh -c script` on the busybox root.
fn domain(f: &Fixture, name: &str, devices: &str, script: &str) -> PathBuf {
    let xml = format!(
        "<domain type='lxc'><name>{name}</name>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>{script}</initarg></os>
  <devices>
    <filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>
    {devices}
    <console type='pty'/>
  </devices></domain>",
        f.rootfs.display()
    );
    let path = f.tmp.path().join(format!("{name}.xml"));
    std::fs::write(&path, xml).unwrap();
    path
}

/// No link named like this suite's host names exists on the host.
fn assert_host_untouched(names: &[&str]) {
    let out = Command::new("ip").args(["-o", "link"]).output().unwrap();
    let text = stdout(&out);
    for n in names {
        assert!(
            !text.contains(&format!(": {n}:")) && !text.contains(&format!(": {n}@")),
            "{n} exists on the host"
        );
    }
}

#[test]
fn two_containers_on_a_bridge_ping_each_other() {
    let Some(f) = fixture() else { return };
    let ns = TestNetns::new();
    let net = ns.subnet();
    let root = f.tmp.path().join("state");
    let a = domain(
        &f,
        "a",
        &format!(
            "<interface type='bridge'><source bridge='br0'/><ip address='{net}.2' prefix='24'/></interface>"
        ),
        "sleep 30",
    );
    let out = ns.domrun(&root, &["create", a.to_str().unwrap()]);
    assert!(out.status.success(), "create a: {}", stderr(&out));
    let b = domain(
        &f,
        "b",
        &format!(
            "<interface type='bridge'><source bridge='br0'/><ip address='{net}.3' prefix='24'/></interface>"
        ),
        &format!("ping -c 1 -W 5 {net}.2"),
    );
    let out = ns.domrun(&root, &["run", b.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "b could not ping a: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("1 packets received"),
        "{}",
        stdout(&out)
    );
    let out = ns.domrun(&root, &["destroy", "a"]);
    assert!(out.status.success(), "destroy: {}", stderr(&out));
    ns.assert_only_bridge_left();
    assert_host_untouched(&["vnet0", "vnet1"]);
}

#[test]
fn static_ip_route_mac_and_mtu_are_what_the_container_sees() {
    let Some(f) = fixture() else { return };
    let ns = TestNetns::new();
    let net = ns.subnet();
    let d = domain(
        &f,
        "probe",
        &format!(
            "<interface type='bridge'><mac address='52:54:00:ab:cd:ef'/><source bridge='br0'/>
               <ip address='{net}.9' prefix='24'/><ip address='fd77::9' prefix='64'/>
               <route address='0.0.0.0' prefix='0' gateway='{net}.1'/>
               <route address='192.0.2.0' prefix='24' gateway='{net}.254'/>
               <guest dev='net0'/><mtu size='1400'/></interface>
             <interface type='ethernet'><source><ip address='10.99.0.1' prefix='32'/>
               <route address='10.99.0.2' prefix='32'/></source>
               <ip address='10.99.0.2' prefix='32'/><route address='10.99.0.1' prefix='32'/>
               <target dev='drtpeer0'/></interface>"
        ),
        "ip addr; ip route; ip -6 addr; ping -c 1 -W 5 10.99.0.1",
    );
    let seen = ns.run_ok(&f.tmp.path().join("state"), &d);
    assert!(seen.contains("lo: <LOOPBACK,UP"), "{seen}");
    assert!(seen.contains("net0@"), "{seen}");
    assert!(seen.contains("mtu 1400"), "{seen}");
    assert!(seen.contains("link/ether 52:54:00:ab:cd:ef"), "{seen}");
    assert!(seen.contains(&format!("inet {net}.9/24")), "{seen}");
    assert!(seen.contains("inet6 fd77::9/64"), "{seen}");
    assert!(
        seen.contains(&format!("default via {net}.1 dev net0")),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("192.0.2.0/24 via {net}.254 dev net0")),
        "{seen}"
    );
    // The ethernet pair: eth0 inside (the first free ethN), host end
    // drtpeer0 with its own address and a host route back.
    assert!(seen.contains("eth0@"), "{seen}");
    assert!(seen.contains("inet 10.99.0.2/32"), "{seen}");
    assert!(seen.contains("1 packets received"), "{seen}");
    ns.assert_only_bridge_left();
    assert_host_untouched(&["drtpeer0", "vnet0"]);
}

#[test]
fn allocated_target_names_show_in_dumpxml_and_a_taken_one_is_refused() {
    let Some(f) = fixture() else { return };
    let ns = TestNetns::new();
    let root = f.tmp.path().join("state");
    let d = domain(
        &f,
        "named",
        "<interface type='bridge'><source bridge='br0'/></interface>
         <interface type='bridge'><source bridge='br0'/><target dev='drtgiven0'/></interface>
         <interface type='ethernet'/>",
        "sleep 30",
    );
    let out = ns.domrun(&root, &["create", d.to_str().unwrap()]);
    assert!(out.status.success(), "create: {}", stderr(&out));
    let xml = stdout(&ns.domrun(&root, &["dumpxml", "named"]));
    assert!(xml.contains("<target dev='vnet0'/>"), "{xml}");
    assert!(xml.contains("<target dev='drtgiven0'/>"), "{xml}");
    assert!(xml.contains("<target dev='vnet1'/>"), "{xml}");
    let links = ns.links();
    for l in ["vnet0", "drtgiven0", "vnet1"] {
        assert!(links.iter().any(|x| x == l), "{l} not in {links:?}");
    }
    // The inactive definition keeps no allocated name.
    let other = domain(
        &f,
        "clash",
        "<interface type='bridge'><source bridge='br0'/><target dev='drtgiven0'/></interface>",
        "true",
    );
    let out = ns.domrun(&root, &["run", other.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("target device name 'drtgiven0' is already taken on the host"),
        "{}",
        stderr(&out)
    );
    let out = ns.domrun(&root, &["destroy", "named"]);
    assert!(out.status.success(), "destroy: {}", stderr(&out));
    ns.assert_only_bridge_left();
    assert_host_untouched(&["drtgiven0"]);
}

#[test]
fn a_missing_bridge_is_named_and_nothing_is_left() {
    let Some(f) = fixture() else { return };
    let ns = TestNetns::new();
    let d = domain(
        &f,
        "nobr",
        "<interface type='bridge'><source bridge='nosuchbr'/></interface>",
        "true",
    );
    let out = ns.domrun(&f.tmp.path().join("state"), &["run", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("bridge 'nosuchbr' does not exist on the host"),
        "{}",
        stderr(&out)
    );
    ns.assert_only_bridge_left();
}

#[test]
fn a_host_nic_moves_in_and_comes_back_at_stop() {
    let Some(f) = fixture() else { return };
    let ns = TestNetns::new();
    // One end of a veth pair stands for the physical NIC. A veth left in a
    // dying namespace is deleted, not given back, so it proves domrun moves
    // it back itself.
    ns.exec_ok(&[
        "ip", "link", "add", "drtnic0", "type", "veth", "peer", "name", "drtnic0p",
    ]);
    let d = domain(
        &f,
        "nic",
        "<hostdev mode='capabilities' type='net'><source><interface>drtnic0</interface></source>
           <ip address='10.98.0.5' prefix='24'/></hostdev>",
        "ip addr show drtnic0",
    );
    let seen = ns.run_ok(&f.tmp.path().join("state"), &d);
    assert!(seen.contains("inet 10.98.0.5/24"), "{seen}");
    assert!(ns.links().iter().any(|l| l == "drtnic0"), "not given back");
    ns.exec_ok(&["ip", "link", "del", "drtnic0"]);
    ns.assert_only_bridge_left();
}

#[test]
fn a_macvlan_reaches_its_parents_segment() {
    let Some(f) = fixture() else { return };
    let ns = TestNetns::new();
    ns.exec_ok(&[
        "ip", "link", "add", "drtlow0", "type", "veth", "peer", "name", "drtlow1",
    ]);
    ns.exec_ok(&["ip", "addr", "add", "10.96.0.1/24", "dev", "drtlow1"]);
    ns.exec_ok(&["ip", "link", "set", "drtlow1", "up"]);
    ns.exec_ok(&["ip", "link", "set", "drtlow0", "up"]);
    let d = domain(
        &f,
        "mv",
        "<interface type='direct'><source dev='drtlow0' mode='bridge'/>
           <ip address='10.96.0.2' prefix='24'/></interface>",
        "ip -o link; ping -c 1 -W 5 10.96.0.1",
    );
    let seen = ns.run_ok(&f.tmp.path().join("state"), &d);
    assert!(seen.contains("eth0@"), "{seen}");
    assert!(seen.contains("1 packets received"), "{seen}");
    ns.exec_ok(&["ip", "link", "del", "drtlow0"]);
    ns.assert_only_bridge_left();
}

#[test]
fn named_network_resolves_to_its_bridge() {
    let Some(f) = fixture() else { return };
    let ns = TestNetns::new();
    let net = ns.subnet();
    let root = f.tmp.path().join("state");
    std::fs::create_dir_all(root.join("networks")).unwrap();
    std::fs::write(root.join("networks/lan.conf"), "# test LAN\nbridge=br0\n").unwrap();
    let d = domain(
        &f,
        "netw",
        &format!(
            "<interface type='network'><source network='lan'/><ip address='{net}.4' prefix='24'/></interface>"
        ),
        &format!("ping -c 1 -W 5 {net}.1"),
    );
    let out = ns.domrun(&root, &["run", d.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    ns.assert_only_bridge_left();
}

/// Init's pid of a running domain, from its live state.
fn init_pid(root: &Path, name: &str) -> i32 {
    let text = std::fs::read_to_string(root.join("run").join(name).join("state.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["init"]["pid"].as_i64().unwrap() as i32
}

/// Links inside a container's network namespace.
fn container_links(pid: i32) -> String {
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "ip", "-o", "link"])
        .output()
        .unwrap();
    stdout(&out)
}

#[test]
fn a_nic_attached_live_carries_traffic_and_detaching_removes_both_ends() {
    let Some(f) = fixture() else { return };
    if !common::require_tool("nsenter") || !common::require_tool("busybox") {
        return;
    }
    let ns = TestNetns::new();
    let net = ns.subnet();
    let root = f.tmp.path().join("state");
    let d = domain(&f, "hot", "", "sleep 30");
    // privnet: its own (empty) network namespace to plug into.
    let text = std::fs::read_to_string(&d)
        .unwrap()
        .replace("</os>", "</os><features><privnet/></features>");
    std::fs::write(&d, text).unwrap();
    let out = ns.domrun(&root, &["create", d.to_str().unwrap()]);
    assert!(out.status.success(), "create: {}", stderr(&out));
    let nic = f.tmp.path().join("nic.xml");
    std::fs::write(
        &nic,
        format!(
            "<interface type='bridge'><source bridge='br0'/><ip address='{net}.20' prefix='24'/></interface>"
        ),
    )
    .unwrap();
    let out = ns.domrun(
        &root,
        &["attach-device", "hot", nic.to_str().unwrap(), "--live"],
    );
    assert!(out.status.success(), "attach: {}", stderr(&out));
    assert!(
        stdout(&out).contains("as eth0 (host side vnet0)"),
        "{}",
        stdout(&out)
    );
    let xml = stdout(&ns.domrun(&root, &["dumpxml", "hot"]));
    assert!(xml.contains("<target dev='vnet0'/>"), "{xml}");
    // A failing attach names the step and leaves nothing.
    let bad = f.tmp.path().join("bad.xml");
    std::fs::write(
        &bad,
        "<interface type='bridge'><source bridge='nosuchbr'/></interface>",
    )
    .unwrap();
    let out = ns.domrun(&root, &["attach-device", "hot", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("bridge 'nosuchbr' does not exist on the host"),
        "{}",
        stderr(&out)
    );
    let pid = init_pid(&root, "hot");
    assert!(container_links(pid).contains("eth0@"));
    let ping = ns.exec(&[
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "5",
        &format!("{net}.20"),
    ]);
    assert!(
        ping.status.success(),
        "ping: {}{}",
        stdout(&ping),
        stderr(&ping)
    );
    // Detach by target; a mismatching source is refused first.
    let wrong = f.tmp.path().join("wrong.xml");
    std::fs::write(
        &wrong,
        "<interface type='bridge'><source bridge='br9'/><target dev='vnet0'/></interface>",
    )
    .unwrap();
    let out = ns.domrun(&root, &["detach-device", "hot", wrong.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("has source 'br0', the XML says 'br9'"),
        "{}",
        stderr(&out)
    );
    let by_target = f.tmp.path().join("target.xml");
    std::fs::write(
        &by_target,
        "<interface type='bridge'><target dev='vnet0'/></interface>",
    )
    .unwrap();
    let out = ns.domrun(
        &root,
        &["detach-device", "hot", by_target.to_str().unwrap()],
    );
    assert!(out.status.success(), "detach: {}", stderr(&out));
    ns.assert_only_bridge_left();
    let inside = container_links(pid);
    assert!(!inside.contains("eth0"), "{inside}");
    let xml = stdout(&ns.domrun(&root, &["dumpxml", "hot"]));
    assert!(!xml.contains("<interface"), "{xml}");
    let out = ns.domrun(&root, &["destroy", "hot"]);
    assert!(out.status.success(), "destroy: {}", stderr(&out));
    ns.assert_only_bridge_left();
}

#[test]
fn an_interface_attached_with_config_persists_across_a_restart() {
    let Some(f) = fixture() else { return };
    let ns = TestNetns::new();
    let root = f.tmp.path().join("state");
    let d = domain(&f, "cfg", "", "sleep 30");
    let out = ns.domrun(&root, &["define", d.to_str().unwrap()]);
    assert!(out.status.success(), "define: {}", stderr(&out));
    let nic = f.tmp.path().join("nic.xml");
    std::fs::write(
        &nic,
        "<interface type='bridge'><mac address='52:54:00:77:00:01'/><source bridge='br0'/></interface>",
    )
    .unwrap();
    let out = ns.domrun(
        &root,
        &["attach-device", "cfg", nic.to_str().unwrap(), "--config"],
    );
    assert!(out.status.success(), "attach --config: {}", stderr(&out));
    // Not running: --live is refused.
    let out = ns.domrun(
        &root,
        &["attach-device", "cfg", nic.to_str().unwrap(), "--live"],
    );
    assert!(stderr(&out).contains("is not running"), "{}", stderr(&out));
    for round in 0..2 {
        let out = ns.domrun(&root, &["start", "cfg"]);
        assert!(out.status.success(), "start {round}: {}", stderr(&out));
        let xml = stdout(&ns.domrun(&root, &["dumpxml", "cfg"]));
        assert!(xml.contains("<mac address='52:54:00:77:00:01'/>"), "{xml}");
        assert!(xml.contains("<target dev='vnet0'/>"), "{xml}");
        let out = ns.domrun(&root, &["destroy", "cfg"]);
        assert!(out.status.success(), "destroy: {}", stderr(&out));
        ns.assert_only_bridge_left();
    }
    let by_mac = f.tmp.path().join("mac.xml");
    std::fs::write(
        &by_mac,
        "<interface type='bridge'><mac address='52:54:00:77:00:01'/></interface>",
    )
    .unwrap();
    let out = ns.domrun(
        &root,
        &["detach-device", "cfg", by_mac.to_str().unwrap(), "--config"],
    );
    assert!(out.status.success(), "detach --config: {}", stderr(&out));
    let xml = stdout(&ns.domrun(&root, &["dumpxml", "--inactive", "cfg"]));
    assert!(!xml.contains("<interface"), "{xml}");
}

#[test]
fn a_reboot_gives_the_interface_its_name_again() {
    let Some(f) = fixture() else { return };
    let ns = TestNetns::new();
    let root = f.tmp.path().join("state");
    let d = domain(
        &f,
        "rb",
        "<interface type='bridge'><source bridge='br0'/></interface>",
        "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    );
    let out = ns.domrun(&root, &["create", d.to_str().unwrap()]);
    assert!(out.status.success(), "create: {}", stderr(&out));
    let first = init_pid(&root, "rb");
    let out = ns.domrun(&root, &["reboot", "rb"]);
    assert!(out.status.success(), "reboot: {}", stderr(&out));
    let deadline = Instant::now() + Duration::from_secs(15);
    let current = || -> Option<i64> {
        let text = std::fs::read_to_string(root.join("run/rb/state.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["init"]["pid"].as_i64()
    };
    while current().is_none_or(|p| p == i64::from(first)) {
        assert!(Instant::now() < deadline, "no restart");
        std::thread::sleep(Duration::from_millis(50));
    }
    let xml = stdout(&ns.domrun(&root, &["dumpxml", "rb"]));
    assert!(xml.contains("<target dev='vnet0'/>"), "{xml}");
    assert!(container_links(init_pid(&root, "rb")).contains("eth0@"));
    let out = ns.domrun(&root, &["destroy", "rb"]);
    assert!(out.status.success(), "destroy: {}", stderr(&out));
    ns.assert_only_bridge_left();
}

#[test]
fn a_host_nic_moves_in_live_and_back_on_detach() {
    let Some(f) = fixture() else { return };
    if !common::require_tool("nsenter") {
        return;
    }
    let ns = TestNetns::new();
    ns.exec_ok(&[
        "ip", "link", "add", "drthot0", "type", "veth", "peer", "name", "drthot0p",
    ]);
    let root = f.tmp.path().join("state");
    let d = domain(&f, "hnic", "", "sleep 30");
    let text = std::fs::read_to_string(&d)
        .unwrap()
        .replace("</os>", "</os><features><privnet/></features>");
    std::fs::write(&d, text).unwrap();
    let out = ns.domrun(&root, &["create", d.to_str().unwrap()]);
    assert!(out.status.success(), "create: {}", stderr(&out));
    let nic = f.tmp.path().join("hostnic.xml");
    std::fs::write(
        &nic,
        "<hostdev mode='capabilities' type='net'><source><interface>drthot0</interface></source>
           <ip address='10.95.0.2' prefix='24'/></hostdev>",
    )
    .unwrap();
    let out = ns.domrun(&root, &["attach-device", "hnic", nic.to_str().unwrap()]);
    assert!(out.status.success(), "attach: {}", stderr(&out));
    assert!(
        !ns.links().iter().any(|l| l == "drthot0"),
        "still on the host side"
    );
    let pid = init_pid(&root, "hnic");
    assert!(container_links(pid).contains("drthot0@"));
    let out = ns.domrun(&root, &["detach-device", "hnic", nic.to_str().unwrap()]);
    assert!(out.status.success(), "detach: {}", stderr(&out));
    assert!(ns.links().iter().any(|l| l == "drthot0"), "not given back");
    assert!(!container_links(pid).contains("drthot0"));
    let out = ns.domrun(&root, &["destroy", "hnic"]);
    assert!(out.status.success(), "destroy: {}", stderr(&out));
    ns.exec_ok(&["ip", "link", "del", "drthot0"]);
    ns.assert_only_bridge_left();
}

#[test]
fn a_container_in_a_user_namespace_gets_its_nic_configured_from_outside() {
    let Some(f) = fixture() else { return };
    use std::os::unix::fs::PermissionsExt as _;
    // Unmapped ids must still reach the rootfs.
    std::fs::set_permissions(f.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ns = TestNetns::new();
    let net = ns.subnet();
    let d = domain(
        &f,
        "userns",
        &format!(
            "<interface type='bridge'><source bridge='br0'/><ip address='{net}.30' prefix='24'/></interface>"
        ),
        &format!("cat /proc/self/uid_map; ip -o addr show eth0; ping -c 1 -W 5 {net}.1"),
    );
    let text = std::fs::read_to_string(&d).unwrap().replace(
        "</os>",
        "</os><idmap><uid start='0' target='200000' count='65536'/><gid start='0' target='200000' count='65536'/></idmap>",
    );
    std::fs::write(&d, text).unwrap();
    let seen = ns.run_ok(&f.tmp.path().join("state"), &d);
    assert!(seen.contains("200000"), "{seen}");
    assert!(seen.contains(&format!("inet {net}.30/24")), "{seen}");
    assert!(seen.contains("1 packets received"), "{seen}");
    ns.assert_only_bridge_left();
}
