//! The `domrun` binary: parses arguments and dispatches to the library.

// Every `print!`/`println!`/`eprintln!` of this file is one of these: a
// write to a closed pipe (`domrun format F | head -c 10`) ends the command
// as it ends a C tool, not with the runtime's panic. See `stdio`.
macro_rules! print {
    ($($arg:tt)*) => { $crate::stdio::out(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::stdio::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::stdio::out(format_args!("{}\n", format_args!($($arg)*))) };
}
macro_rules! eprintln {
    ($($arg:tt)*) => { $crate::stdio::err(format_args!("{}\n", format_args!($($arg)*))) };
}

mod cli;
#[path = "generate/command.rs"]
mod generate_command;
mod import;
mod stdio;

use clap::Parser;
use cli::{Cli, Command, NativeFormat, TemplateCommand};
use domrun::domain::{Domain, LoadOptions};
use domrun::lifecycle::{self, Defined, LifecycleError, ListFilter};
use domrun::state::Root;
use std::process::ExitCode;
use std::time::Duration;

/// `--quiet`: informational lines ("Domain 'x' started") are not printed;
/// data (XML, lists, values) and errors always are.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `println!` for informational lines, silent under `--quiet`.
macro_rules! info {
    ($($arg:tt)*) => {
        if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
            println!($($arg)*);
        }
    };
}

fn main() -> ExitCode {
    // argv[0] dispatch: `runc` is the OCI front end, `domrun-generator`
    // the systemd generator.
    if let Some(code) = domrun::oci::cli::dispatch() {
        return code;
    }
    if let Some(code) = generate_command::as_generator() {
        return code;
    }
    let cli = Cli::parse();
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    let root = Root::new(&cli.root);
    let load = LoadOptions::permissive_if(cli.permissive);
    match cli.command {
        Command::Oci(args) => domrun::oci::cli::main(args),
        Command::Validate { files } => validate(&files, load),
        Command::Format { file, inactive } => format(&file, inactive),
        Command::Run {
            file,
            stop_timeout,
            cgroup,
        } => run(&root, &file, load, stop_timeout, cgroup),
        Command::Exec {
            name,
            user,
            cwd,
            env,
            command,
        } => {
            let request = lifecycle::ExecRequest {
                name,
                user,
                cwd,
                env,
                command,
            };
            match lifecycle::exec(&root, &request) {
                Ok(status) => ExitCode::from(status.0),
                Err(e) => {
                    eprintln!("domrun: {e}");
                    ExitCode::from(e.exit_code().0)
                }
            }
        }
        Command::Generate(g) => generate_command::generate(&root, g),
        Command::Define { file } => report(lifecycle::define(&root, &file, load).map(
            |(d, how)| match how {
                Defined::New => info!("Domain '{}' defined from {}", d.name, file.display()),
                Defined::Updated { running: true } => info!(
                    "Domain '{}' redefined from {}; the change takes effect at its next start",
                    d.name,
                    file.display()
                ),
                Defined::Updated { running: false } => {
                    info!("Domain '{}' redefined from {}", d.name, file.display())
                }
            },
        )),
        Command::Undefine {
            name,
            remove_all_storage,
        } => report(
            lifecycle::undefine(&root, &name, remove_all_storage).map(|running| {
                if running {
                    info!("Domain '{name}' has been undefined (it keeps running, transient)");
                } else {
                    info!("Domain '{name}' has been undefined");
                }
            }),
        ),
        Command::Dumpxml { name, inactive } => {
            report(lifecycle::dumpxml(&root, &name, inactive).map(|xml| print!("{xml}")))
        }
        Command::List {
            all,
            autostart,
            name,
            uuid,
        } => {
            let filter = ListFilter {
                all,
                autostart,
                uuids: uuid,
            };
            report(lifecycle::list(&root, filter).map(|listing| {
                for d in &listing.damaged {
                    eprintln!("domrun: domain '{}' is damaged: {}", d.name, d.error);
                }
                let rows = listing.rows;
                if name || uuid {
                    for r in rows {
                        println!(
                            "{}",
                            if uuid {
                                r.uuid.unwrap_or_default()
                            } else {
                                r.name
                            }
                        );
                    }
                } else {
                    print!("{}", lifecycle::format_list(&rows));
                }
            }))
        }
        Command::Start {
            autostart: true, ..
        }
        | Command::Start { name: None, .. } => start_autostart(&root),
        Command::Start {
            name: Some(name),
            console,
            ..
        } => {
            let started = lifecycle::start(&root, &name, load)
                .map(|id| info!("Domain '{name}' started (id {id})"));
            attach_if(report_start(started), console, &root, &name)
        }
        Command::Create { file, console } => match lifecycle::create(&root, &file, load) {
            Ok((name, id)) => {
                info!("Domain '{name}' created from {} (id {id})", file.display());
                attach_if(ExitCode::SUCCESS, console, &root, &name)
            }
            Err(e) => report_start(Err(e)),
        },
        Command::Shutdown { name, timeout } => report(
            lifecycle::shutdown(&root, &name, Duration::from_secs(timeout))
                .map(|()| info!("Domain '{name}' is shut down")),
        ),
        Command::Reboot { name } => report(
            lifecycle::reboot(&root, &name).map(|()| info!("Domain '{name}' is being rebooted")),
        ),
        Command::Destroy { name } => {
            report(lifecycle::destroy(&root, &name).map(|()| info!("Domain '{name}' destroyed")))
        }
        Command::Console { name, force } => report(lifecycle::console(&root, &name, force)),
        Command::DomxmlToNative { format, file } => to_native(format, &file, load),
        Command::DomxmlFromNative {
            format: cli::FromNativeFormat::XenXl,
            file,
            define: false,
            libvirt_exact: false,
        } => from_native(NativeFormat::XenXl, &file),
        Command::DomxmlFromNative {
            format,
            file,
            define,
            libvirt_exact,
        } => import::command::from_native(&root, format, &file, define, libvirt_exact),
        Command::Template(t) => template(&root, t),
        Command::Dominfo { name } => {
            report(lifecycle::dominfo(&root, &name).map(|i| print!("{i}")))
        }
        Command::AttachDevice { name, file, flags } => report(
            lifecycle::attach_device(&root, &name, &file, device_flags(&flags), load).map(|c| {
                if let Some((guest, target)) = &c.live {
                    match target {
                        Some(t) => {
                            info!("Device attached to '{name}' as {guest} (host side {t})")
                        }
                        None => info!("Device attached to '{name}' as {guest}"),
                    }
                }
                if c.config {
                    info!("Device added to the definition of '{name}'");
                }
            }),
        ),
        Command::DetachDevice { name, file, flags } => report(
            lifecycle::detach_device(&root, &name, &file, device_flags(&flags)).map(|c| {
                if c.live.is_some() {
                    info!("Device detached from '{name}'");
                }
                if c.config {
                    info!("Device removed from the definition of '{name}'");
                }
            }),
        ),
        Command::Tune(t) => tune(&root, t),
        Command::Autostart { name, disable } => {
            report(lifecycle::autostart(&root, &name, !disable).map(|()| {
                if disable {
                    info!("Domain '{name}' unmarked as autostarted");
                } else {
                    info!("Domain '{name}' marked as autostarted");
                }
            }))
        }
    }
}

fn device_flags(f: &cli::DeviceFlagArgs) -> lifecycle::DeviceFlags {
    lifecycle::DeviceFlags {
        live: f.live,
        config: f.config,
    }
}

/// `domrun setmem|memtune|schedinfo|blkiotune|emulatorpin|setpids …`: the
/// change (if any values are given), then virsh's `name: value` lines when
/// nothing was changed.
fn tune(root: &Root, cmd: cli::TuneCommand) -> ExitCode {
    use cli::TuneCommand as T;
    use lifecycle::{Tune, TuneError, TuneVerb, parse_kib};
    let opt_kib = |v: Option<String>| v.as_deref().map(parse_kib).transpose();
    let (name, verb, change, flags): (String, TuneVerb, Result<Option<Tune>, TuneError>, _) =
        match cmd {
            T::Setmem { name, size, flags } => {
                let change = parse_kib(&size).map(|kib| Some(Tune::Memory { kib }));
                (name, TuneVerb::SetMem, change, flags)
            }
            T::Memtune {
                name,
                hard_limit,
                soft_limit,
                swap_hard_limit,
                flags,
            } => {
                let any = hard_limit.is_some() || soft_limit.is_some() || swap_hard_limit.is_some();
                let change = (|| {
                    Ok(Tune::MemTune {
                        hard: opt_kib(hard_limit)?,
                        soft: opt_kib(soft_limit)?,
                        swap_hard: opt_kib(swap_hard_limit)?,
                    })
                })()
                .map(|t| any.then_some(t));
                (name, TuneVerb::MemTune, change, flags)
            }
            T::Schedinfo { name, set, flags } => {
                let change = if set.is_empty() {
                    Ok(None)
                } else {
                    lifecycle::parse_sched(&set).map(Some)
                };
                (name, TuneVerb::SchedInfo, change, flags)
            }
            T::Blkiotune {
                name,
                weight,
                flags,
            } => {
                let change = Ok(weight.map(|weight| Tune::BlkioWeight { weight }));
                (name, TuneVerb::BlkioTune, change, flags)
            }
            T::Emulatorpin {
                name,
                cpulist,
                flags,
            } => {
                let change = cpulist
                    .as_deref()
                    .map(lifecycle::parse_cpus)
                    .transpose()
                    .map(|c| c.map(|cpus| Tune::Cpuset { cpus }));
                (name, TuneVerb::EmulatorPin, change, flags)
            }
            T::Setpids { name, limit, flags } => {
                let change = match limit.as_str() {
                    "max" => Ok(Some(Tune::Pids { max: None })),
                    n => n
                        .parse()
                        .map(|n| Some(Tune::Pids { max: Some(n) }))
                        .map_err(|_| TuneError::BadValue {
                            what: "pids limit",
                            value: limit.clone(),
                            expected: "a number or 'max'".into(),
                        }),
                };
                (name, TuneVerb::SetPids, change, flags)
            }
        };
    let change = match change {
        Ok(c) => c,
        Err(e) => return report::<TuneError>(Err(e)),
    };
    report(
        lifecycle::tune(root, &name, verb, change.as_ref(), device_flags(&flags)).map(|r| {
            if change.is_none() {
                print!("{r}");
            }
        }),
    )
}

/// `start --autostart`: one line per domain; failure if any failed.
fn start_autostart(root: &Root) -> ExitCode {
    match lifecycle::start_autostart(root) {
        Ok(results) => {
            let mut ok = true;
            for (name, r) in results {
                match r {
                    Ok(id) => info!("Domain '{name}' started (id {id})"),
                    Err(e) => {
                        eprintln!("domrun: {name}: {e}");
                        ok = false;
                    }
                }
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => report::<LifecycleError>(Err(e)),
    }
}

/// `domrun template …`.
fn template(root: &Root, cmd: TemplateCommand) -> ExitCode {
    use domrun::template::{Progress, Store};
    let store = match Store::open(&root.dir) {
        Ok(s) => s,
        Err(e) => return report::<domrun::template::TemplateError>(Err(e)),
    };
    let show = |i: domrun::template::TemplateInfo| {
        println!("{:<12} {}", "Name:", i.name);
        println!("{:<12} {}", "Source:", i.source);
        println!("{:<12} {}", "SHA-256:", i.sha256);
        println!("{:<12} {} bytes", "Size:", i.size_bytes);
    };
    match cmd {
        TemplateCommand::List => report(store.list().map(|all| {
            for i in all {
                println!("{:<24} {:>12} bytes  {}", i.name, i.size_bytes, i.source);
            }
        })),
        TemplateCommand::Info { name } => report(store.info(&name).map(show)),
        TemplateCommand::Import {
            name,
            source,
            print_xml,
        } => match import::command::template_import(root, &store, &name, &source, print_xml) {
            Some(code) => code,
            None => report(store.import(&name, &source, Progress::Auto).map(show)),
        },
        TemplateCommand::Build { name, recipe } => {
            report(store.build(&name, &recipe, Progress::Auto).map(show))
        }
        TemplateCommand::Remove { name } => {
            let users = lifecycle::template_users(root, &name);
            report(
                store
                    .remove(&name, &users)
                    .map(|()| info!("Template '{name}' removed")),
            )
        }
    }
}

/// `--console` after a successful start.
fn attach_if(code: ExitCode, console: bool, root: &Root, name: &str) -> ExitCode {
    if console && code == ExitCode::SUCCESS {
        return report(lifecycle::console(root, name, false));
    }
    code
}

/// Exit 0 on success; one line `domrun: error` and exit 1 otherwise.
fn report<E: std::fmt::Display>(r: Result<(), E>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("domrun: {e}");
            ExitCode::FAILURE
        }
    }
}

/// [`report`] for `start` and `create`: a guest that failed to start exits
/// with the status `domrun run` gives the same failure (125/126/127).
fn report_start(r: Result<(), LifecycleError>) -> ExitCode {
    let code = r.as_ref().err().and_then(LifecycleError::exit_code);
    match (r, code) {
        (Err(e), Some(code)) => {
            eprintln!("domrun: {e}");
            ExitCode::from(code.0)
        }
        (r, _) => report(r),
    }
}

/// `domrun run`: load → plan → launch, in this process (the foreground monitor).
fn run(
    root: &Root,
    file: &std::path::Path,
    load: LoadOptions,
    stop_timeout: u64,
    cgroup: cli::CgroupArg,
) -> ExitCode {
    use domrun::generate::CgroupMode;
    let options = lifecycle::RunOptions {
        cgroup: match cgroup {
            cli::CgroupArg::Partition => CgroupMode::Partition,
            cli::CgroupArg::Inherit => CgroupMode::Inherit,
            cli::CgroupArg::Auto => CgroupMode::Auto,
        },
        foreground: domrun::launch::ForegroundOptions {
            stop_timeout: std::time::Duration::from_secs(stop_timeout),
            init_family: None,
        },
    };
    match lifecycle::run_foreground(root, file, load, &options) {
        Ok(status) => ExitCode::from(status.0),
        Err(e) => {
            eprintln!("domrun: {e}");
            ExitCode::from(e.exit_code().0)
        }
    }
}

fn validate(files: &[std::path::PathBuf], load: LoadOptions) -> ExitCode {
    let mut ok = true;
    for f in files {
        if let Err(e) = Domain::load_with(f, load) {
            eprintln!("{e}");
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn format(file: &std::path::Path, inactive: bool) -> ExitCode {
    match Domain::load_unvalidated(file) {
        Ok(d) => {
            let out = if inactive {
                d.format_inactive()
            } else {
                d.format()
            };
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `domrun domxml-to-native xen-xl FILE`.
fn to_native(format: NativeFormat, file: &std::path::Path, load: LoadOptions) -> ExitCode {
    let NativeFormat::XenXl = format;
    let domain = match Domain::load_with(file, load) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let cfg = domrun::vm::xen::to_native(&domain).and_then(|c| Ok(c.format()?));
    match cfg {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("domrun: {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

/// `domrun domxml-from-native xen-xl CFG`.
fn from_native(format: NativeFormat, file: &std::path::Path) -> ExitCode {
    let NativeFormat::XenXl = format;
    let converted = domrun::vm::xen::Config::load(file)
        .map_err(|e| e.to_string())
        .and_then(|c| domrun::vm::xen::from_native(&c).map_err(|e| e.to_string()));
    match converted {
        Ok(d) => {
            print!("{}", d.format_inactive());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("domrun: {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}
