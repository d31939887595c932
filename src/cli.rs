//! The command line: argument structs only; each verb is a short call into
//! the library.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// domrun: containers (and VMs) from libvirt domain XML, no daemon.
#[derive(Debug, Parser)]
#[command(name = "domrun", version, about, propagate_version = true)]
pub struct Cli {
    /// Where definitions, live state and templates are kept.
    #[arg(long, global = true, env = "DOMRUN_ROOT", default_value = domrun::state::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Keep element and attribute names libvirt does not define (or domrun
    /// cannot honour) and ignore them, instead of refusing the document: for
    /// round-trip tools. See docs/domain-xml.md, "Vocabulary".
    #[arg(long, global = true)]
    pub permissive: bool,
    /// Print no informational lines ("Domain 'web' started"); data and
    /// errors are still printed.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The OCI runtime (runc's verbs and flags over a bundle's config.json;
    /// also what the binary does when invoked as `runc`). See docs/oci.md.
    Oci(domrun::oci::cli::OciArgs),
    /// Check domain XML files: parse, apply defaults, validate. Exit 0 only if
    /// every file is valid; one line per error on stderr.
    Validate {
        /// Domain XML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a domain file as libvirt's formatter would: defaults filled in,
    /// canonical order, unknown elements kept. (Checks syntax only; use
    /// `validate` for the whole-domain rules.)
    Format {
        /// A domain XML file.
        file: PathBuf,
        /// Leave out runtime state (the `id` attribute).
        #[arg(long)]
        inactive: bool,
    },
    /// Run a domain in the foreground: a container's init, or a VM. domrun
    /// exits with init's status (128+N when killed by signal N; 125 setup
    /// failed, 126 init not executable, 127 init not found). Signals are
    /// forwarded to init (a VM gets the ACPI power button); on a terminal,
    /// init gets its own pty.
    Run {
        /// A domain XML file.
        file: PathBuf,
        /// Seconds a system init (systemd, sysvinit, busybox) has to power
        /// off after SIGTERM or SIGINT to domrun (which becomes init's
        /// poweroff signal) before the container is killed.
        #[arg(long, value_name = "SECONDS", default_value_t = 90)]
        stop_timeout: u64,
        /// Where the container's cgroup goes: `partition` (its
        /// `<resource><partition>`, default /machine), `inherit` (below
        /// domrun's own cgroup: a systemd unit with Delegate=yes), `auto`
        /// (inherit when systemd delegated domrun's cgroup).
        #[arg(long, value_enum, default_value_t = CgroupArg::Partition)]
        cgroup: CgroupArg,
    },
    /// Store a domain definition (validated). Redefining a running domain
    /// takes effect at its next start.
    Define {
        /// A domain XML file.
        file: PathBuf,
    },
    /// Remove a definition; a running domain keeps running, transient.
    Undefine {
        name: String,
        /// Also delete the domain's writable template layer.
        #[arg(long)]
        remove_all_storage: bool,
    },
    /// Print a domain's XML: the live one (with id and resolved values) when
    /// it runs, else its definition.
    Dumpxml {
        name: String,
        /// The stored definition even when the domain runs.
        #[arg(long)]
        inactive: bool,
    },
    /// List domains: running ones, or all with --all.
    List {
        /// Inactive domains too.
        #[arg(long)]
        all: bool,
        /// Only domains marked for autostart.
        #[arg(long)]
        autostart: bool,
        /// Print names only, one per line.
        #[arg(long, conflicts_with = "uuid")]
        name: bool,
        /// Print uuids only, one per line.
        #[arg(long)]
        uuid: bool,
    },
    /// Show a domain's id, uuid, state, resources, persistence and autostart.
    Dominfo { name: String },
    /// Start a defined domain; returns once its init runs. With
    /// --autostart, start every domain marked for autostart (the boot hook).
    Start {
        /// The domain (omit with --autostart).
        #[arg(required_unless_present = "autostart")]
        name: Option<String>,
        /// Start every domain marked with `domrun autostart`.
        #[arg(long, conflicts_with = "name")]
        autostart: bool,
        /// Attach to the console once started.
        #[arg(long)]
        console: bool,
    },
    /// Start a domain from a file without defining it (transient).
    Create {
        file: PathBuf,
        /// Attach to the console once started.
        #[arg(long)]
        console: bool,
    },
    /// Ask a domain to shut down (its init's shutdown signal) and wait.
    Shutdown {
        name: String,
        /// Seconds to wait before reporting failure.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Stop a domain's init and start it again.
    Reboot { name: String },
    /// Kill every process of a domain now and release everything it holds.
    Destroy { name: String },
    /// Run a command inside a running domain (its namespaces, cgroup and
    /// at most its init's capabilities); exits with the command's status.
    Exec {
        name: String,
        /// User name or uid inside the container (default root).
        #[arg(long)]
        user: Option<String>,
        /// Working directory inside the container (default /).
        #[arg(long)]
        cwd: Option<PathBuf>,
        /// K=V added to the command's environment (repeatable).
        #[arg(long = "env", value_name = "K=V")]
        env: Vec<String>,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Attach the terminal to a running domain's console (Ctrl-] detaches).
    Console {
        name: String,
        /// Take the console over from another attached client.
        #[arg(long)]
        force: bool,
    },
    /// Generate files for other tools: systemd units, shell completions, man pages.
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Templates: named root filesystems, provisioned copy-on-write.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Hot-plug a device (an `<interface>` or `<filesystem>` XML file) into a domain: the
    /// running one (--live), its definition (--config), or both. No flag
    /// (or --current): live if it runs, else the definition.
    #[command(name = "attach-device")]
    AttachDevice {
        name: String,
        /// A file holding one `<interface>` or `<filesystem>` element.
        file: std::path::PathBuf,
        #[command(flatten)]
        flags: DeviceFlagArgs,
    },
    /// Remove a device: the file's `<target dev>` (else its MAC) names an
    /// interface, `<target dir>` a filesystem;
    /// the rest of the XML must agree with the device. Flags as for
    /// attach-device.
    #[command(name = "detach-device")]
    DetachDevice {
        name: String,
        /// A file holding one `<interface>` or `<filesystem>` element.
        file: std::path::PathBuf,
        #[command(flatten)]
        flags: DeviceFlagArgs,
    },
    /// Live tuning of a domain's cgroup, virsh's verbs: --live (the running
    /// domain), --config (the definition), both, or neither (--current: live
    /// if it runs). Without a value, print the current ones.
    #[command(flatten)]
    Tune(TuneCommand),
    /// Mark a domain to be started by `domrun start --autostart`.
    Autostart {
        name: String,
        /// Remove the mark.
        #[arg(long)]
        disable: bool,
    },
    /// Convert a domain XML file to a native hypervisor config, printed on
    /// stdout (`xen-xl`: an xl.cfg; `data:` kernels are refused here, they
    /// are written out only when the domain starts).
    #[command(name = "domxml-to-native")]
    DomxmlToNative {
        /// The native format.
        format: NativeFormat,
        /// A domain XML file.
        file: PathBuf,
    },
    /// Convert a native config to domain XML, printed on stdout (what is not
    /// imported is listed on stderr; see docs/import.md).
    #[command(name = "domxml-from-native")]
    DomxmlFromNative {
        /// The native format.
        format: FromNativeFormat,
        /// A native config file.
        file: PathBuf,
        /// Define the domain instead of printing it, and mark it for
        /// autostart when the config says so (ONBOOT, lxc.start.auto).
        #[arg(long)]
        define: bool,
        /// lxc-tools: print libvirt's conversion byte for byte (no console
        /// added, libvirt's reading of lxc.idmap), unvalidated.
        #[arg(long, conflicts_with = "define")]
        libvirt_exact: bool,
    },
}

/// `domrun template …`.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// List templates.
    List,
    /// Show a template's source, checksum, size and creation time.
    Info { name: String },
    /// Import a template from a directory, a tarball (.tar, .tar.gz,
    /// .tar.zst, .tar.xz) or a container image (`oci:DIR[:REF]`,
    /// `docker-archive:FILE.tar`; see docs/import.md).
    Import {
        name: String,
        source: PathBuf,
        /// For an image: print a domain skeleton that runs it (Entrypoint,
        /// Cmd, Env, WorkingDir, User) on stdout.
        #[arg(long)]
        print_xml: bool,
    },
    /// Build a template from a recipe (see templates/ and docs/templates.md).
    Build { name: String, recipe: PathBuf },
    /// Remove a template no defined domain uses.
    Remove { name: String },
}

/// `domrun generate …`.
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Print a systemd service for a defined domain (Type=notify, Delegate=yes,
    /// runs `domrun run --cgroup=inherit` on its definition). With
    /// --generator, act as a systemd generator: write a unit, enabled, for
    /// every autostart-marked domain into the first directory.
    Systemd {
        /// The domain (omit with --generator).
        #[arg(required_unless_present = "generator")]
        name: Option<String>,
        /// systemd's generator directories (normal, early, late).
        #[arg(long, num_args = 1..=3, value_names = ["NORMAL", "EARLY", "LATE"], conflicts_with = "name")]
        generator: Vec<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish).
    Completions {
        shell: crate::generate_command::Shell,
    },
    /// Write the man page domrun.1 into a directory.
    Man { dir: PathBuf },
}

/// The live-tuning verbs (see `docs/cgroups.md`, "Live tuning").
#[derive(Debug, Subcommand)]
pub enum TuneCommand {
    /// Set a container's memory limit (`<memory>`): SIZE in KiB, or with a
    /// unit (512M, 1G).
    Setmem {
        name: String,
        size: String,
        #[command(flatten)]
        flags: DeviceFlagArgs,
    },
    /// Show or set memory limits (KiB or with a unit; -1 = unlimited).
    Memtune {
        name: String,
        #[arg(long)]
        hard_limit: Option<String>,
        #[arg(long)]
        soft_limit: Option<String>,
        #[arg(long)]
        swap_hard_limit: Option<String>,
        #[command(flatten)]
        flags: DeviceFlagArgs,
    },
    /// Show or set CPU shares and bandwidth: --set cpu_shares=N,
    /// vcpu_period=US, vcpu_quota=US (global_period/global_quota alike).
    Schedinfo {
        name: String,
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        #[command(flatten)]
        flags: DeviceFlagArgs,
    },
    /// Show or set the block I/O weight (10-1000).
    Blkiotune {
        name: String,
        #[arg(long)]
        weight: Option<u32>,
        #[command(flatten)]
        flags: DeviceFlagArgs,
    },
    /// Show or set the CPUs the domain runs on (`vcpu/@cpuset`, e.g. 0-3,^2).
    Emulatorpin {
        name: String,
        cpulist: Option<String>,
        #[command(flatten)]
        flags: DeviceFlagArgs,
    },
    /// Set the running domain's pids limit (a number, or `max`); live only.
    Setpids {
        name: String,
        limit: String,
        #[command(flatten)]
        flags: DeviceFlagArgs,
    },
}

/// `run --cgroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CgroupArg {
    Partition,
    Inherit,
    Auto,
}

/// `--live` / `--config` / `--current`.
#[derive(Debug, clap::Args)]
pub struct DeviceFlagArgs {
    /// Change the running domain.
    #[arg(long)]
    pub live: bool,
    /// Change the stored definition (takes effect at the next start).
    #[arg(long)]
    pub config: bool,
    /// The running domain if it runs, else the definition (the default).
    #[arg(long, conflicts_with_all = ["live", "config"])]
    pub current: bool,
}

/// Native config formats `domxml-to-native`/`domxml-from-native` speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NativeFormat {
    /// Xen's `xl` config (xl.cfg).
    #[value(name = "xen-xl")]
    XenXl,
}

/// Formats `domxml-from-native` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FromNativeFormat {
    /// Xen's `xl` config (xl.cfg).
    #[value(name = "xen-xl")]
    XenXl,
    /// An LXC container config (legacy and 3.0 keys).
    #[value(name = "lxc-tools")]
    LxcTools,
    /// An OpenVZ container config (vzctl's CTID.conf).
    #[value(name = "openvz")]
    Openvz,
}
