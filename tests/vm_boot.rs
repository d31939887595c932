//! Real boots under TCG through `domrun run`: a Debian kernel and a busybox
//! initramfs whose /init prints `VMTEST-*` lines on the serial console and
//! powers off (`vmtest.wait` keeps it up until the ACPI power button).
//!
//! Assets come from `/work/shared/vm/make-test-assets.sh` (`.ci/run` builds
//! them): `$DOMRUN_VM_ASSETS`, else `<cargo target dir>/vm-assets`. Each
//! boot is time-boxed; on timeout qemu is killed by pid. Every test checks
//! that no qemu process, socket or temp file is left.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::Cli;
use std::time::{Duration, Instant};

/// How long a boot may take before the test kills it: a deadline for a
/// wait that polls, generous because TCG on a loaded machine is slow.
const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

fn assets() -> Option<PathBuf> {
    if !common::require_tool("qemu-system-x86_64") {
        return None;
    }
    let dir = match std::env::var_os("DOMRUN_VM_ASSETS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            // target/debug/domrun → target/vm-assets
            let bin = Path::new(common::cli::BIN);
            bin.parent().unwrap().parent().unwrap().join("vm-assets")
        }
    };
    let ok = ["vmlinux", "initrd.cpio.gz"]
        .iter()
        .all(|f| std::fs::metadata(dir.join(f)).is_ok_and(|m| m.len() > 1000));
    if ok {
        Some(dir)
    } else {
        common::skip(&format!(
            "VM assets not found in {} (build them: make-test-assets.sh DIR; set DOMRUN_VM_ASSETS)",
            dir.display()
        ));
        None
    }
}

/// The `<os>` children booting the test kernel and initramfs from `assets`.
fn kernel_boot(assets: &Path, cmdline: &str) -> String {
    format!(
        "<kernel>{}</kernel><initrd>{}</initrd><cmdline>{cmdline}</cmdline>",
        assets.join("vmlinux").display(),
        assets.join("initrd.cpio.gz").display()
    )
}

/// Pids of processes whose command line mentions `needle`.
fn processes_with(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(needle)
        {
            out.push(pid);
        }
    }
    out
}

/// When the console shows the marker, do something to the domrun process.
type Trigger<'a> = (&'a str, &'a dyn Fn(&Child));

struct Boot {
    tmp: tempfile::TempDir,
    name: String,
}

impl Boot {
    fn new(name: &str) -> Boot {
        Boot {
            tmp: tempfile::tempdir().unwrap(),
            name: format!("{name}-{}", std::process::id()),
        }
    }

    fn runtime(&self) -> PathBuf {
        let d = self.tmp.path().join("run");
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn write_domain(&self, os: &str, devices: &str) -> PathBuf {
        let xml = format!(
            "<domain type='kvm'>
  <name>{}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    {os}
  </os>
  <devices>
    {devices}
    <serial type='pty'/>
    <console type='pty'><target type='serial'/></console>
  </devices>
</domain>",
            self.name
        );
        let p = self.tmp.path().join("domain.xml");
        std::fs::write(&p, xml).unwrap();
        p
    }

    fn start(&self, xml: &Path) -> Child {
        Cli::bare()
            .env("XDG_RUNTIME_DIR", self.runtime())
            .env("DOMRUN_SHUTDOWN_TIMEOUT", "20")
            .command([Path::new("run"), xml])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits for `child` within the time box, collecting its output; on
    /// timeout kills qemu by pid, then domrun, and fails.
    fn finish(&self, mut child: Child, until: Option<Trigger<'_>>) -> (i32, String, String) {
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let _ = tx.send(buf[..n].to_vec());
                    }
                }
            }
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let start = Instant::now();
        let mut out = Vec::new();
        let mut triggered = false;
        let status = loop {
            while let Ok(chunk) = rx.try_recv() {
                out.extend(chunk);
            }
            if let (Some((marker, action)), false) = (&until, triggered)
                && String::from_utf8_lossy(&out).contains(marker)
            {
                action(&child);
                triggered = true;
            }
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > BOOT_TIMEOUT {
                for pid in processes_with(&format!("guest={}", self.name)) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "boot of {} timed out after {BOOT_TIMEOUT:?}; output so far:\n{}",
                    self.name,
                    String::from_utf8_lossy(&out)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        reader.join().unwrap();
        while let Ok(chunk) = rx.try_recv() {
            out.extend(chunk);
        }
        let err = err_reader.join().unwrap();
        (
            status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out).into_owned(),
            err,
        )
    }

    /// No qemu of this domain, and nothing in the runtime dir.
    fn assert_clean(&self) {
        let left = processes_with(&format!("guest={}", self.name));
        assert!(left.is_empty(), "qemu processes left: {left:?}");
        let files: Vec<_> = std::fs::read_dir(self.runtime())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(files.is_empty(), "left in the runtime dir: {files:?}");
    }
}

fn marker_line(out: &str) -> &str {
    out.lines()
        .find(|l| l.contains("VMTEST-MARKER: booted"))
        .unwrap_or_else(|| panic!("no VMTEST-MARKER in the console output:\n{out}"))
}

#[test]
fn boots_from_kernel_and_initrd_paths_with_disks_and_nic() {
    let Some(a) = assets() else { return };
    let b = Boot::new("vmboot-paths");
    let raw = b.tmp.path().join("disk.raw");
    let mut image = b"HELLODISK!".to_vec();
    image.resize(1 << 20, 0);
    std::fs::write(&raw, &image).unwrap();
    let xml = b.write_domain(
        &kernel_boot(&a, "console=ttyS0 quiet"),
        &format!(
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{}'/><target dev='vda' bus='virtio'/><readonly/><serial>DOMRUN1</serial></disk>
    <interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>",
            raw.display()
        ),
    );
    let (code, out, err) = b.finish(b.start(&xml), None);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(marker_line(&out).contains("booted"));
    assert!(
        out.contains("VMTEST-DISK: vda serial=DOMRUN1") && out.contains("ro=1 head=HELLODISK!"),
        "{out}"
    );
    assert!(
        out.contains("VMTEST-NET: eth0 mac=52:54:00:12:34:56"),
        "{out}"
    );
    assert!(out.contains("VMTEST-DONE"), "{out}");
    b.assert_clean();
}

#[test]
fn boots_with_the_initrd_as_a_data_uri() {
    let Some(a) = assets() else { return };
    let b = Boot::new("vmboot-datauri");
    let initrd = std::fs::read(a.join("initrd.cpio.gz")).unwrap();
    let uri = format!("data:application/gzip;base64,{}", base64(&initrd));
    let xml = b.write_domain(
        &format!(
            "<kernel>{}</kernel><initrd>{uri}</initrd><cmdline>console=ttyS0 quiet</cmdline>",
            a.join("vmlinux").display(),
        ),
        "",
    );
    let (code, out, err) = b.finish(b.start(&xml), None);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    marker_line(&out);
    assert!(out.contains("VMTEST-DONE"), "{out}");
    // The data never reached a log line or qemu's command line.
    assert!(!err.contains(&uri[..60]), "{err}");
    assert!(!out.contains(&uri[..60]));
    b.assert_clean();
}

#[test]
fn sigterm_presses_the_power_button_and_the_guest_powers_off() {
    let Some(a) = assets() else { return };
    let b = Boot::new("vmboot-sigterm");
    let xml = b.write_domain(&kernel_boot(&a, "console=ttyS0 quiet vmtest.wait"), "");
    let term = |c: &Child| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(c.id()).unwrap()),
            nix::sys::signal::Signal::SIGTERM,
        );
    };
    let (code, out, err) = b.finish(b.start(&xml), Some(("VMTEST-WAITING", &term)));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("VMTEST-WAITING"), "{out}");
    assert!(
        out.contains("reboot: Power down"),
        "no clean poweroff:\n{out}"
    );
    b.assert_clean();
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// The API a monitor drives: spawn, QMP status, reset, power button, and
/// nothing left once qemu is reaped.
#[test]
fn vm_process_status_reset_and_powerdown() {
    use domrun::vm::qemu::Launch;
    let Some(a) = assets() else { return };
    let b = Boot::new("vmboot-api");
    let xml = b.write_domain(&kernel_boot(&a, "console=ttyS0 quiet vmtest.wait"), "");
    let mut d = domrun::domain::Domain::parse(&std::fs::read(&xml).unwrap()).unwrap();
    d.apply_defaults().unwrap();
    let opts = domrun::vm::VmOptions {
        accel: domrun::vm::AccelChoice::Tcg,
        ..domrun::vm::VmOptions::default()
    };
    let run = b.runtime();
    let mut vm = Launch::prepare(&d, &opts, &run)
        .unwrap()
        .die_with_parent(true)
        .spawn()
        .unwrap();
    assert!(vm.pid() > 0);
    assert!(vm.qmp_socket().starts_with(&run));
    let mut console = vm.connect_console().unwrap().unwrap();
    console
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let wait_for =
        |console: &mut std::os::unix::net::UnixStream, marker: &str, seen: &mut String| {
            let mut buf = [0u8; 4096];
            common::wait_patiently(marker, BOOT_TIMEOUT, || {
                if let Ok(n) = console.read(&mut buf) {
                    seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                seen.contains(marker)
            });
        };
    let mut seen = String::new();
    wait_for(&mut console, "VMTEST-WAITING", &mut seen);
    let status = vm.status().unwrap();
    assert!(status.running && status.status == "running", "{status:?}");
    // A reset reboots the guest: the marker comes again.
    seen.clear();
    vm.reset().unwrap();
    wait_for(&mut console, "VMTEST-WAITING", &mut seen);
    assert!(seen.contains("VMTEST-MARKER"), "{seen}");
    // The power button: the guest powers itself off.
    vm.qmp().unwrap().system_powerdown().unwrap();
    common::wait_patiently("the guest to power off", BOOT_TIMEOUT, || {
        vm.try_wait().unwrap().is_some()
    });
    drop(console);
    drop(vm);
    b.assert_clean();
}

/// The same lifecycle as a container's: define, start (the monitor is
/// qemu's parent), console (boot output replayed), shutdown (ACPI power
/// button), with nothing left behind.
#[test]
fn start_console_and_shutdown_through_the_monitor() {
    let Some(assets) = assets() else { return };
    let boot = Boot::new("lifecycle");
    let xml = boot.write_domain(&kernel_boot(&assets, "console=ttyS0 vmtest.wait"), "");
    let state = boot.tmp.path().join("state");
    let cli = Cli::new(&state).env("XDG_RUNTIME_DIR", boot.runtime());
    let domrun = |args: &[&str]| cli.ok(args);
    domrun(&["define", xml.to_str().unwrap()]);
    assert!(domrun(&["start", &boot.name]).contains("started"));
    assert!(domrun(&["list"]).contains("running"));
    // The console replays what the guest printed before we attached.
    let deadline = Instant::now() + BOOT_TIMEOUT;
    let mut seen = String::new();
    while !seen.contains("VMTEST-WAITING") {
        assert!(
            Instant::now() < deadline,
            "no boot marker on the console: {seen}"
        );
        std::thread::sleep(Duration::from_millis(500));
        let mut console = cli
            .command(["console", &boot.name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        // Ctrl-] detaches; stdin is not a terminal, so it is a plain byte.
        let _ = std::io::Write::write_all(console.stdin.as_mut().unwrap(), &[0x1d]);
        let out = console.wait_with_output().unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    assert!(seen.contains("VMTEST-MARKER: booted"), "{seen}");
    domrun(&["shutdown", &boot.name, "--timeout", "60"]);
    assert!(domrun(&["list", "--all"]).contains("shut off"));
    // The monitor answers before it has finished exiting: poll, don't race it.
    common::wait_until("qemu and the monitor to exit", || {
        processes_with(&boot.name).is_empty()
    });
    assert!(!state.join("run").join(&boot.name).exists());
}
