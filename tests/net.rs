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

use common::domain_xml::write_file;
use common::{Cli, DomainXml, Run};

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
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            stderr(&out)
        );
        let ns = TestNetns { name };
        ns.ip(&["link set lo up", "link add br0 type bridge"]);
        ns.ip(&[
            &format!("addr add 10.77.{n}.1/24 dev br0"),
            "link set br0 up",
        ]);
        ns
    }

    fn subnet(&self) -> String {
        let n = self.name.rsplit('-').next().unwrap();
        format!("10.77.{n}")
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

    /// Runs each `ip` command (words split on spaces) in this namespace.
    fn ip(&self, commands: &[&str]) {
        for c in commands {
            let mut args = vec!["ip"];
            args.extend(c.split(' '));
            self.exec_ok(&args);
        }
    }

    /// A veth pair `a`/`b` in this namespace (one end stands for a host NIC).
    fn veth(&self, a: &str, b: &str) {
        self.ip(&[&format!("link add {a} type veth peer name {b}")]);
    }

    /// `domrun --root ROOT …` inside this namespace.
    fn cli(&self, root: &Path) -> Cli {
        Cli::new(root).in_netns(&self.name)
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
        let mut links = Vec::new();
        common::wait_until(
            &format!("only lo and br0 in {} (have {links:?})", self.name),
            || {
                links = self.links();
                links == ["lo", "br0"]
            },
        );
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

/// One test's world: a temp dir with a busybox rootfs, its own test
/// namespace, and the CLI (state root `tmp/state`) running inside it.
struct Fixture {
    tmp: tempfile::TempDir,
    rootfs: PathBuf,
    ns: TestNetns,
    cli: Cli,
}

fn fixture() -> Option<Fixture> {
    if !common::require_root() || !common::require_tool("ip") {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = common::busybox_rootfs(&tmp.path().join("rootfs"))?;
    let ns = TestNetns::new();
    let cli = ns.cli(&tmp.path().join("state"));
    Some(Fixture {
        tmp,
        rootfs,
        ns,
        cli,
    })
}

impl Fixture {
    /// A domain on the busybox root running `sh -c script`.
    fn domain(&self, name: &str, script: &str) -> DomainXml {
        DomainXml::lxc(name).rootfs(&self.rootfs).shell(script)
    }

    /// `domrun VERB… FILE` for a domain document written into the temp dir.
    fn with(&self, verb: &[&str], d: &DomainXml) -> Run {
        let path = d.write(self.tmp.path());
        let mut args = verb.to_vec();
        args.push(path.to_str().unwrap());
        self.cli.run(args)
    }

    /// `domrun run` of `d`; asserts success and returns what it printed.
    fn run_ok(&self, d: &DomainXml) -> String {
        self.with(&["run"], d).ok().stdout.clone()
    }

    /// `domrun VERB NAME FRAGMENT FLAGS…` with `xml` written to a file.
    fn device(&self, verb: &str, name: &str, xml: &str, flags: &[&str]) -> Run {
        let file = write_file(self.tmp.path(), &format!("{verb}-{name}.xml"), xml);
        let mut args = vec![verb, name, file.to_str().unwrap()];
        args.extend_from_slice(flags);
        self.cli.run(args)
    }

    fn state(&self) -> &Path {
        self.cli.root().unwrap()
    }
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

/// Links inside a container's network namespace.
fn container_links(pid: i32) -> String {
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "ip", "-o", "link"])
        .output()
        .unwrap();
    stdout(&out)
}

#[test]
fn two_containers_on_a_bridge_ping_each_other() {
    let Some(f) = fixture() else { return };
    let net = f.ns.subnet();
    let a = f.domain("a", "sleep 30").device(&format!(
        "<interface type='bridge'><source bridge='br0'/><ip address='{net}.2' prefix='24'/></interface>"
    ));
    f.with(&["create"], &a).ok();
    let b = f
        .domain("b", &format!("ping -c 1 -W 5 {net}.2"))
        .device(&format!(
            "<interface type='bridge'><source bridge='br0'/><ip address='{net}.3' prefix='24'/></interface>"
        ));
    // b could ping a.
    f.with(&["run"], &b).ok().stdout_has("1 packets received");
    f.cli.ok(["destroy", "a"]);
    f.ns.assert_only_bridge_left();
    assert_host_untouched(&["vnet0", "vnet1"]);
}

#[test]
fn static_ip_route_mac_and_mtu_are_what_the_container_sees() {
    let Some(f) = fixture() else { return };
    let net = f.ns.subnet();
    let d = f
        .domain(
            "probe",
            "ip addr; ip route; ip -6 addr; ping -c 1 -W 5 10.99.0.1",
        )
        .device(&format!(
            "<interface type='bridge'><mac address='52:54:00:ab:cd:ef'/><source bridge='br0'/>
               <ip address='{net}.9' prefix='24'/><ip address='fd77::9' prefix='64'/>
               <route address='0.0.0.0' prefix='0' gateway='{net}.1'/>
               <route address='192.0.2.0' prefix='24' gateway='{net}.254'/>
               <guest dev='net0'/><mtu size='1400'/></interface>
             <interface type='ethernet'><source><ip address='10.99.0.1' prefix='32'/>
               <route address='10.99.0.2' prefix='32'/></source>
               <ip address='10.99.0.2' prefix='32'/><route address='10.99.0.1' prefix='32'/>
               <target dev='drtpeer0'/></interface>"
        ));
    let seen = f.run_ok(&d);
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
    f.ns.assert_only_bridge_left();
    assert_host_untouched(&["drtpeer0", "vnet0"]);
}

#[test]
fn allocated_target_names_show_in_dumpxml_and_a_taken_one_is_refused() {
    let Some(f) = fixture() else { return };
    let d = f.domain("named", "sleep 30").device(
        "<interface type='bridge'><source bridge='br0'/></interface>
         <interface type='bridge'><source bridge='br0'/><target dev='drtgiven0'/></interface>
         <interface type='ethernet'/>",
    );
    f.with(&["create"], &d).ok();
    let xml = f.cli.ok(["dumpxml", "named"]);
    assert!(xml.contains("<target dev='vnet0'/>"), "{xml}");
    assert!(xml.contains("<target dev='drtgiven0'/>"), "{xml}");
    assert!(xml.contains("<target dev='vnet1'/>"), "{xml}");
    let links = f.ns.links();
    for l in ["vnet0", "drtgiven0", "vnet1"] {
        assert!(links.iter().any(|x| x == l), "{l} not in {links:?}");
    }
    // The inactive definition keeps no allocated name.
    let other = f.domain("clash", "true").device(
        "<interface type='bridge'><source bridge='br0'/><target dev='drtgiven0'/></interface>",
    );
    f.with(&["run"], &other)
        .fails()
        .stderr_has("target device name 'drtgiven0' is already taken on the host");
    f.cli.ok(["destroy", "named"]);
    f.ns.assert_only_bridge_left();
    assert_host_untouched(&["drtgiven0"]);
}

#[test]
fn a_missing_bridge_is_named_and_nothing_is_left() {
    let Some(f) = fixture() else { return };
    let d = f
        .domain("nobr", "true")
        .device("<interface type='bridge'><source bridge='nosuchbr'/></interface>");
    f.with(&["run"], &d)
        .fails_with(125)
        .stderr_has("bridge 'nosuchbr' does not exist on the host");
    f.ns.assert_only_bridge_left();
}

#[test]
fn a_host_nic_moves_in_and_comes_back_at_stop() {
    let Some(f) = fixture() else { return };
    // One end of a veth pair stands for the physical NIC. A veth left in a
    // dying namespace is deleted, not given back, so it proves domrun moves
    // it back itself.
    f.ns.veth("drtnic0", "drtnic0p");
    let d = f.domain("nic", "ip addr show drtnic0").device(
        "<hostdev mode='capabilities' type='net'><source><interface>drtnic0</interface></source>
           <ip address='10.98.0.5' prefix='24'/></hostdev>",
    );
    let seen = f.run_ok(&d);
    assert!(seen.contains("inet 10.98.0.5/24"), "{seen}");
    assert!(
        f.ns.links().iter().any(|l| l == "drtnic0"),
        "not given back"
    );
    f.ns.ip(&["link del drtnic0"]);
    f.ns.assert_only_bridge_left();
}

#[test]
fn a_macvlan_reaches_its_parents_segment() {
    let Some(f) = fixture() else { return };
    f.ns.veth("drtlow0", "drtlow1");
    f.ns.ip(&[
        "addr add 10.96.0.1/24 dev drtlow1",
        "link set drtlow1 up",
        "link set drtlow0 up",
    ]);
    let d = f
        .domain("mv", "ip -o link; ping -c 1 -W 5 10.96.0.1")
        .device(
            "<interface type='direct'><source dev='drtlow0' mode='bridge'/>
           <ip address='10.96.0.2' prefix='24'/></interface>",
        );
    let seen = f.run_ok(&d);
    assert!(seen.contains("eth0@"), "{seen}");
    assert!(seen.contains("1 packets received"), "{seen}");
    f.ns.ip(&["link del drtlow0"]);
    f.ns.assert_only_bridge_left();
}

#[test]
fn named_network_resolves_to_its_bridge() {
    let Some(f) = fixture() else { return };
    let net = f.ns.subnet();
    std::fs::create_dir_all(f.state().join("networks")).unwrap();
    std::fs::write(
        f.state().join("networks/lan.conf"),
        "# test LAN\nbridge=br0\n",
    )
    .unwrap();
    let d = f.domain("netw", &format!("ping -c 1 -W 5 {net}.1")).device(&format!(
        "<interface type='network'><source network='lan'/><ip address='{net}.4' prefix='24'/></interface>"
    ));
    f.with(&["run"], &d).ok();
    f.ns.assert_only_bridge_left();
}

#[test]
fn a_nic_attached_live_carries_traffic_and_detaching_removes_both_ends() {
    let Some(f) = fixture() else { return };
    if !common::require_tools(&["nsenter", "busybox"]) {
        return;
    }
    let net = f.ns.subnet();
    // privnet: its own (empty) network namespace to plug into.
    let d = f.domain("hot", "sleep 30").feature("<privnet/>");
    f.with(&["create"], &d).ok();
    f.device(
        "attach-device",
        "hot",
        &format!(
            "<interface type='bridge'><source bridge='br0'/><ip address='{net}.20' prefix='24'/></interface>"
        ),
        &["--live"],
    )
    .ok()
    .stdout_has("as eth0 (host side vnet0)");
    let xml = f.cli.ok(["dumpxml", "hot"]);
    assert!(xml.contains("<target dev='vnet0'/>"), "{xml}");
    // A failing attach names the step and leaves nothing.
    f.device(
        "attach-device",
        "hot",
        "<interface type='bridge'><source bridge='nosuchbr'/></interface>",
        &[],
    )
    .fails()
    .stderr_has("bridge 'nosuchbr' does not exist on the host");
    let pid = common::init_pid(f.state(), "hot");
    assert!(container_links(pid).contains("eth0@"));
    let ping = f.ns.exec(&[
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
    f.device(
        "detach-device",
        "hot",
        "<interface type='bridge'><source bridge='br9'/><target dev='vnet0'/></interface>",
        &[],
    )
    .fails()
    .stderr_has("has source 'br0', the XML says 'br9'");
    f.device(
        "detach-device",
        "hot",
        "<interface type='bridge'><target dev='vnet0'/></interface>",
        &[],
    )
    .ok();
    f.ns.assert_only_bridge_left();
    let inside = container_links(pid);
    assert!(!inside.contains("eth0"), "{inside}");
    let xml = f.cli.ok(["dumpxml", "hot"]);
    assert!(!xml.contains("<interface"), "{xml}");
    f.cli.ok(["destroy", "hot"]);
    f.ns.assert_only_bridge_left();
}

#[test]
fn an_interface_attached_with_config_persists_across_a_restart() {
    let Some(f) = fixture() else { return };
    f.with(&["define"], &f.domain("cfg", "sleep 30")).ok();
    let nic = "<interface type='bridge'><mac address='52:54:00:77:00:01'/><source bridge='br0'/></interface>";
    f.device("attach-device", "cfg", nic, &["--config"]).ok();
    // Not running: --live is refused.
    f.device("attach-device", "cfg", nic, &["--live"])
        .stderr_has("is not running");
    for _round in 0..2 {
        f.cli.ok(["start", "cfg"]);
        let xml = f.cli.ok(["dumpxml", "cfg"]);
        assert!(xml.contains("<mac address='52:54:00:77:00:01'/>"), "{xml}");
        assert!(xml.contains("<target dev='vnet0'/>"), "{xml}");
        f.cli.ok(["destroy", "cfg"]);
        f.ns.assert_only_bridge_left();
    }
    f.device(
        "detach-device",
        "cfg",
        "<interface type='bridge'><mac address='52:54:00:77:00:01'/></interface>",
        &["--config"],
    )
    .ok();
    let xml = f.cli.ok(["dumpxml", "--inactive", "cfg"]);
    assert!(!xml.contains("<interface"), "{xml}");
}

#[test]
fn a_reboot_gives_the_interface_its_name_again() {
    let Some(f) = fixture() else { return };
    let d = f
        .domain("rb", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
        .device("<interface type='bridge'><source bridge='br0'/></interface>");
    f.with(&["create"], &d).ok();
    let first = common::init_pid(f.state(), "rb");
    f.cli.ok(["reboot", "rb"]);
    common::wait_until("a restart", || {
        common::live_pid(f.state(), "rb", "init").is_some_and(|p| p != first)
    });
    let xml = f.cli.ok(["dumpxml", "rb"]);
    assert!(xml.contains("<target dev='vnet0'/>"), "{xml}");
    assert!(container_links(common::init_pid(f.state(), "rb")).contains("eth0@"));
    f.cli.ok(["destroy", "rb"]);
    f.ns.assert_only_bridge_left();
}

#[test]
fn a_host_nic_moves_in_live_and_back_on_detach() {
    let Some(f) = fixture() else { return };
    if !common::require_tool("nsenter") {
        return;
    }
    f.ns.veth("drthot0", "drthot0p");
    f.with(
        &["create"],
        &f.domain("hnic", "sleep 30").feature("<privnet/>"),
    )
    .ok();
    let nic =
        "<hostdev mode='capabilities' type='net'><source><interface>drthot0</interface></source>
           <ip address='10.95.0.2' prefix='24'/></hostdev>";
    f.device("attach-device", "hnic", nic, &[]).ok();
    assert!(
        !f.ns.links().iter().any(|l| l == "drthot0"),
        "still on the host side"
    );
    let pid = common::init_pid(f.state(), "hnic");
    assert!(container_links(pid).contains("drthot0@"));
    f.device("detach-device", "hnic", nic, &[]).ok();
    assert!(
        f.ns.links().iter().any(|l| l == "drthot0"),
        "not given back"
    );
    assert!(!container_links(pid).contains("drthot0"));
    f.cli.ok(["destroy", "hnic"]);
    f.ns.ip(&["link del drthot0"]);
    f.ns.assert_only_bridge_left();
}

#[test]
fn a_container_in_a_user_namespace_gets_its_nic_configured_from_outside() {
    let Some(f) = fixture() else { return };
    use std::os::unix::fs::PermissionsExt as _;
    // Unmapped ids must still reach the rootfs.
    std::fs::set_permissions(f.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let net = f.ns.subnet();
    let d = f
        .domain(
            "userns",
            &format!("cat /proc/self/uid_map; ip -o addr show eth0; ping -c 1 -W 5 {net}.1"),
        )
        .device(&format!(
            "<interface type='bridge'><source bridge='br0'/><ip address='{net}.30' prefix='24'/></interface>"
        ))
        .element(
            "<idmap><uid start='0' target='200000' count='65536'/><gid start='0' target='200000' count='65536'/></idmap>",
        );
    let seen = f.run_ok(&d);
    assert!(seen.contains("200000"), "{seen}");
    assert!(seen.contains(&format!("inet {net}.30/24")), "{seen}");
    assert!(seen.contains("1 packets received"), "{seen}");
    f.ns.assert_only_bridge_left();
}
