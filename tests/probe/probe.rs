//! The probe: run as a container's init (or any process inside it), it prints
//! what it sees as one JSON object on stdout, so tests assert on data instead
//! of parsing shell output. The idea of youki's `runtimetest` and crun's
//! `tests/init.c`.
//!
//! Built by `tests/common/probe.rs` at test time as a static executable
//! (`rustc -C target-feature=+crt-static`), so it runs in a busybox rootfs
//! without a libc. std only: no crates, no build script.
//!
//! Output keys: pid, ppid, uid/gid ([real, effective, saved, fs]), groups,
//! uid_map/gid_map ([[inside, outside, count]]), caps ({bnd, eff, prm, inh,
//! amb} as hex strings), no_new_privs, seccomp, sig_blk, sig_ign,
//! cpus_allowed, hostname, cwd, argv, env ({name: value}), fds (open fds,
//! without the one used to list them), cgroup (lines of /proc/self/cgroup),
//! namespaces ({net: "net:[…]", …}), mounts ([{target, fstype, source,
//! options, super_options}]). A file it cannot read gives `null`.

// `no_main`: Rust's own start-up would set SIGPIPE to ignored before
// `main`, and the probe must report the signal dispositions it was given.
#![no_main]

use std::fmt::Write as _;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = items.into_iter().collect();
    format!("[{}]", v.join(","))
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// `Key:\tvalue` lines of /proc/self/status.
fn status_field(status: &Option<String>, key: &str) -> Option<String> {
    status.as_ref()?.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim().to_owned())
    })
}

fn numbers(field: Option<String>) -> String {
    match field {
        Some(v) => list(v.split_whitespace().map(str::to_owned)),
        None => "null".into(),
    }
}

fn string_or_null(v: Option<String>) -> String {
    v.map_or_else(|| "null".into(), |s| esc(&s))
}

fn id_map(path: &str) -> String {
    match read(path) {
        Some(text) => list(
            text.lines()
                .map(|l| list(l.split_whitespace().map(str::to_owned))),
        ),
        None => "null".into(),
    }
}

fn mounts() -> String {
    let Some(text) = read("/proc/self/mountinfo") else {
        return "null".into();
    };
    list(text.lines().filter_map(|line| {
        // id parent major:minor root target options [optional…] - fstype source super
        let (left, right) = line.split_once(" - ")?;
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.splitn(3, ' ').collect();
        Some(format!(
            "{{\"target\":{},\"options\":{},\"fstype\":{},\"source\":{},\"super_options\":{}}}",
            esc(&unescape(l.get(4)?)),
            esc(l.get(5)?),
            esc(r.first()?),
            esc(&unescape(r.get(1).unwrap_or(&""))),
            esc(r.get(2).unwrap_or(&""))
        ))
    }))
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push(b[i + 1..i + 4].iter().fold(0u8, |a, c| a.wrapping_mul(8).wrapping_add(c - b'0')));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn fds() -> String {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return "null".into();
    };
    let mut fds: Vec<u32> = dir
        .flatten()
        .filter(|e| {
            // The directory being listed is itself an open fd: leave it out.
            std::fs::read_link(e.path())
                .map(|t| !t.to_string_lossy().ends_with("/fd"))
                .unwrap_or(false)
        })
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    list(fds.iter().map(u32::to_string))
}

fn namespaces() -> String {
    let kinds = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];
    let fields: Vec<String> = kinds
        .iter()
        .filter_map(|k| {
            let link = std::fs::read_link(format!("/proc/self/ns/{k}")).ok()?;
            Some(format!("{}:{}", esc(k), esc(&link.to_string_lossy())))
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// The C entry point (see `no_main` above); std still works, and on glibc
/// `std::env::args` is filled in by std's own init-array hook.
#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let status = read("/proc/self/status");
    let f = |k: &str| status_field(&status, k);
    let env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}:{}", esc(&k.to_string_lossy()), esc(&v.to_string_lossy())))
        .collect();
    let caps = format!(
        "{{\"bnd\":{},\"eff\":{},\"prm\":{},\"inh\":{},\"amb\":{}}}",
        string_or_null(f("CapBnd")),
        string_or_null(f("CapEff")),
        string_or_null(f("CapPrm")),
        string_or_null(f("CapInh")),
        string_or_null(f("CapAmb"))
    );
    let ppid = read("/proc/self/stat").and_then(|s| {
        let rest = s.rsplit_once(')')?.1.to_owned();
        rest.split_whitespace().nth(1).map(str::to_owned)
    });
    let fields = [
        ("pid", std::process::id().to_string()),
        ("ppid", ppid.unwrap_or_else(|| "null".into())),
        ("uid", numbers(f("Uid"))),
        ("gid", numbers(f("Gid"))),
        ("groups", numbers(f("Groups"))),
        ("uid_map", id_map("/proc/self/uid_map")),
        ("gid_map", id_map("/proc/self/gid_map")),
        ("caps", caps),
        ("no_new_privs", f("NoNewPrivs").unwrap_or_else(|| "null".into())),
        ("seccomp", f("Seccomp").unwrap_or_else(|| "null".into())),
        ("sig_blk", string_or_null(f("SigBlk"))),
        ("sig_ign", string_or_null(f("SigIgn"))),
        ("cpus_allowed", string_or_null(f("Cpus_allowed_list"))),
        (
            "hostname",
            string_or_null(read("/proc/sys/kernel/hostname").map(|h| h.trim_end().to_owned())),
        ),
        (
            "cwd",
            string_or_null(std::env::current_dir().ok().map(|p| p.to_string_lossy().into_owned())),
        ),
        ("argv", list(std::env::args_os().map(|a| esc(&a.to_string_lossy())))),
        ("env", format!("{{{}}}", env.join(","))),
        ("fds", fds()),
        (
            "cgroup",
            match read("/proc/self/cgroup") {
                Some(t) => list(t.lines().map(esc)),
                None => "null".into(),
            },
        ),
        ("namespaces", namespaces()),
        ("mounts", mounts()),
    ];
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", esc(k)))
        .collect();
    println!("{{{}}}", body.join(","));
    0
}
