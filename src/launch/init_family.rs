//! Which init runs as a container's PID 1, and the signals that ask it to
//! power off, reboot or halt (LXC's `lxc.signal.halt` / `.reboot`, nspawn's
//! `--kill-signal`).
//!
//! The family is read from `/proc/PID/status` **after** exec, from the
//! signals init blocks, catches and ignores (LXC's `task_blocks_signal`),
//! never from the path: `/sbin/init` is a symlink to systemd on Debian, to
//! busybox on Alpine, and an application init may be called anything. An
//! init only shows its masks once it has set them up, so the family is read
//! when a signal is about to be sent (a shutdown request, a SIGTERM to
//! `domrun run`), not at exec.

use std::fmt;

/// A signal in the table: a classic one by number, or a real-time one as an
/// offset from `SIGRTMIN` (whose number the C library decides at run time:
/// glibc keeps 32 and 33 for itself, so systemd's SIGRTMIN+4 is 38).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitSignal {
    /// A classic signal (`libc::SIGPWR`, …).
    Classic(libc::c_int),
    /// `SIGRTMIN + N`.
    RtMin(u8),
}

impl InitSignal {
    /// The signal number to pass to kill(2).
    pub fn number(self) -> libc::c_int {
        match self {
            InitSignal::Classic(n) => n,
            InitSignal::RtMin(offset) => libc::SIGRTMIN() + libc::c_int::from(offset),
        }
    }
}

impl fmt::Display for InitSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitSignal::RtMin(offset) => write!(f, "SIGRTMIN+{offset}"),
            InitSignal::Classic(n) => match nix::sys::signal::Signal::try_from(*n) {
                Ok(signal) => f.write_str(signal.as_str()),
                Err(_) => write!(f, "signal {n}"),
            },
        }
    }
}

/// The init families domrun tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InitFamily {
    /// systemd (`src/core/main.c`: every signal it handles is blocked and
    /// read from a signalfd).
    Systemd,
    /// SysV init (`src/init.c` `init_main`: handlers for PWR, INT, HUP,
    /// USR1/2, …; TERM ignored).
    Sysvinit,
    /// busybox `init` (`init/init.c`: its signals blocked and taken with
    /// sigtimedwait).
    Busybox,
    /// Anything else: an application, a shell. Signals are forwarded as
    /// they come, and SIGTERM stands for every request.
    Unknown,
}

/// What each request sends to one init family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitSignals {
    /// The family these are for.
    pub family: InitFamily,
    /// Power off (`shutdown`, SIGTERM to `domrun run`).
    pub poweroff: InitSignal,
    /// Reboot (`reboot`).
    pub reboot: InitSignal,
    /// Halt.
    pub halt: InitSignal,
}

/// The signal table (checklist §3 in `../shared/design/system-containers.md`).
///
/// - systemd: SIGRTMIN+4 starts `poweroff.target`, SIGINT `ctrl-alt-del.target`
///   (a reboot), SIGRTMIN+3 `halt.target`; SIGTERM would make it re-execute.
/// - sysvinit: SIGPWR runs the `powerfail` inittab entry (with no
///   `/var/run/powerstatus`), which a container's inittab points at
///   `/sbin/init 0` (LXC, Proxmox; `templates/debian-sysvinit.recipe`);
///   SIGINT runs `ctrlaltdel`, `/sbin/init 6`; no halt of its own.
/// - busybox: `halt_reboot_pwoff` takes SIGUSR2 poweroff, SIGTERM reboot,
///   SIGUSR1 halt (what its `poweroff`, `reboot`, `halt` applets send).
/// - unknown: SIGTERM for everything, as before.
pub const INIT_SIGNALS: [InitSignals; 4] = [
    InitSignals {
        family: InitFamily::Systemd,
        poweroff: InitSignal::RtMin(4),
        reboot: InitSignal::Classic(libc::SIGINT),
        halt: InitSignal::RtMin(3),
    },
    InitSignals {
        family: InitFamily::Sysvinit,
        poweroff: InitSignal::Classic(libc::SIGPWR),
        reboot: InitSignal::Classic(libc::SIGINT),
        halt: InitSignal::Classic(libc::SIGPWR),
    },
    InitSignals {
        family: InitFamily::Busybox,
        poweroff: InitSignal::Classic(libc::SIGUSR2),
        reboot: InitSignal::Classic(libc::SIGTERM),
        halt: InitSignal::Classic(libc::SIGUSR1),
    },
    InitSignals {
        family: InitFamily::Unknown,
        poweroff: InitSignal::Classic(libc::SIGTERM),
        reboot: InitSignal::Classic(libc::SIGTERM),
        halt: InitSignal::Classic(libc::SIGTERM),
    },
];

impl InitFamily {
    /// This family's row of [`INIT_SIGNALS`].
    pub fn signals(self) -> InitSignals {
        INIT_SIGNALS
            .into_iter()
            .find(|row| row.family == self)
            .unwrap_or(INIT_SIGNALS[INIT_SIGNALS.len() - 1])
    }

    /// Reads the family of the running process `pid` (in our pid
    /// namespace). A process we cannot read (gone, or a zombie with no
    /// masks) is [`InitFamily::Unknown`]: SIGTERM, as before.
    pub fn of_process(pid: i32) -> InitFamily {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return InitFamily::Unknown;
        };
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        InitFamily::from_proc(&status, &wchan)
    }

    /// The family shown by the text of a `/proc/PID/status` and of
    /// `/proc/PID/wchan` (where the process sleeps in the kernel).
    ///
    /// - systemd blocks SIGRTMIN+3 (it reads its signals from a signalfd).
    /// - busybox blocks its signals and waits for them in sigtimedwait(2);
    ///   while it sleeps there the kernel unblocks the awaited ones and
    ///   `SigBlk` no longer shows them (`do_sigtimedwait` saves the real
    ///   mask in `real_blocked`, which /proc does not print), so a sleeping
    ///   busybox is told by its wchan and the SIGTSTP handler (its
    ///   `stop_handler`) it installs.
    /// - sysvinit catches SIGPWR and ignores SIGTERM.
    pub fn from_proc(status: &str, wchan: &str) -> InitFamily {
        let masks = SignalMasks::parse(status);
        if masks.blocked_or_caught(InitSignal::RtMin(3).number()) {
            return InitFamily::Systemd;
        }
        let awake_busybox = masks.blocked(libc::SIGTERM) && masks.blocked(libc::SIGUSR2);
        let sleeping_busybox = wchan.starts_with("do_sigtimedwait") && masks.caught(libc::SIGTSTP);
        if awake_busybox || sleeping_busybox {
            return InitFamily::Busybox;
        }
        if masks.caught(libc::SIGPWR) && masks.ignored(libc::SIGTERM) {
            return InitFamily::Sysvinit;
        }
        InitFamily::Unknown
    }
}

/// domrun's own XML namespace, for its elements in a domain's `<metadata>`
/// (libvirt keeps each application's metadata under its own namespace).
pub const DOMRUN_XMLNS: &str = "https://domrun.dev/xmlns/domrun/1";

/// The family names `<domrun:init family=…>` takes.
pub const FAMILY_NAMES: [(&str, InitFamily); 4] = [
    ("systemd", InitFamily::Systemd),
    ("sysvinit", InitFamily::Sysvinit),
    ("busybox", InitFamily::Busybox),
    ("unknown", InitFamily::Unknown),
];

/// A `<domrun:init family=…>` that names no family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "<metadata>: <{element} family='{value}'> is not an init family (one of systemd, sysvinit, busybox, unknown)"
)]
pub struct InitOverrideError {
    /// The element as written (`domrun:init`).
    pub element: String,
    /// The value given.
    pub value: String,
}

impl InitFamily {
    /// The family a domain's `<metadata>` sets for its init, like LXC's
    /// `lxc.signal.halt`: for an init whose masks mislead the detection
    /// (one that handles signals in a thread, say).
    ///
    /// ```xml
    /// <metadata>
    ///   <domrun:init xmlns:domrun="https://domrun.dev/xmlns/domrun/1" family="sysvinit"/>
    /// </metadata>
    /// ```
    pub fn from_metadata(
        metadata: Option<&crate::xml::Element>,
    ) -> Result<Option<InitFamily>, InitOverrideError> {
        let Some(metadata) = metadata else {
            return Ok(None);
        };
        let ours = |e: &&crate::xml::Element| {
            let declaration = match e.prefix() {
                Some(prefix) => format!("xmlns:{prefix}"),
                None => "xmlns".to_owned(),
            };
            e.local_name() == "init" && e.attr(&declaration) == Some(DOMRUN_XMLNS)
        };
        let Some(init) = metadata.elements().find(ours) else {
            return Ok(None);
        };
        let Some(value) = init.attr("family") else {
            return Ok(None);
        };
        match FAMILY_NAMES.iter().find(|(name, _)| *name == value) {
            Some((_, family)) => Ok(Some(*family)),
            None => Err(InitOverrideError {
                element: init.name.to_string(),
                value: value.to_owned(),
            }),
        }
    }

    /// The family `domain`'s `<metadata>` names. A value that names none is
    /// a warning on stderr (the definition was accepted: libvirt leaves
    /// metadata to its application), and the family is then detected.
    pub fn chosen_by(domain: &crate::domain::Domain) -> Option<InitFamily> {
        InitFamily::from_metadata(domain.metadata.as_ref()).unwrap_or_else(|e| {
            eprintln!("domrun: warning: {e}; the init family is read from init's signal masks");
            None
        })
    }

    /// The family to signal: `chosen` (the domain's `<metadata>`), else
    /// what the running process `pid` shows.
    pub fn chosen_or_detected(chosen: Option<InitFamily>, pid: i32) -> InitFamily {
        chosen.unwrap_or_else(|| InitFamily::of_process(pid))
    }
}

/// The hex mask on the `key:` line of a `/proc/PID/status` text (signal and
/// capability sets); a missing or malformed line is the empty set.
pub fn status_mask(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|value| u64::from_str_radix(value.trim(), 16).ok())
        .unwrap_or(0)
}

/// The signal masks of one process (`SigBlk`, `SigIgn`, `SigCgt`: hex, bit
/// N-1 for signal N). A missing or malformed line reads as empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SignalMasks {
    blocked: u64,
    ignored: u64,
    caught: u64,
}

impl SignalMasks {
    fn parse(status: &str) -> SignalMasks {
        SignalMasks {
            blocked: status_mask(status, "SigBlk"),
            ignored: status_mask(status, "SigIgn"),
            caught: status_mask(status, "SigCgt"),
        }
    }

    fn bit(mask: u64, signal: libc::c_int) -> bool {
        (1..=64).contains(&signal) && mask & (1u64 << (signal - 1)) != 0
    }

    fn blocked(&self, signal: libc::c_int) -> bool {
        Self::bit(self.blocked, signal)
    }

    fn ignored(&self, signal: libc::c_int) -> bool {
        Self::bit(self.ignored, signal)
    }

    fn caught(&self, signal: libc::c_int) -> bool {
        Self::bit(self.caught, signal)
    }

    fn blocked_or_caught(&self, signal: libc::c_int) -> bool {
        self.blocked(signal) || self.caught(signal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/PID/status` of each real init as PID 1 of a domrun container,
    /// captured from the trees the templates build
    /// (`tests/fixtures/init-status/`), with the wchan it was sleeping in.
    const FIXTURES: [(&str, &str, InitFamily); 5] = [
        (
            include_str!("../../tests/fixtures/init-status/systemd-252"),
            "ep_poll",
            InitFamily::Systemd,
        ),
        (
            include_str!("../../tests/fixtures/init-status/sysvinit-3.06"),
            "poll_schedule_timeout.constprop.0",
            InitFamily::Sysvinit,
        ),
        (
            include_str!("../../tests/fixtures/init-status/busybox-1.35"),
            "do_sigtimedwait.isra.0",
            InitFamily::Busybox,
        ),
        // The same busybox init while it runs (signals blocked, as between
        // two waits): the masks alone tell.
        (
            "SigBlk:\t0000000020004a07\nSigCgt:\t0000000000080000\n",
            "0",
            InitFamily::Busybox,
        ),
        (
            include_str!("../../tests/fixtures/init-status/busybox-sh"),
            "do_wait",
            InitFamily::Unknown,
        ),
    ];

    #[test]
    fn real_inits_are_told_apart_by_their_masks() {
        for (status, wchan, family) in FIXTURES {
            assert_eq!(InitFamily::from_proc(status, wchan), family, "{wchan}");
        }
    }

    #[test]
    fn a_shell_waiting_for_a_signal_is_not_busybox_init() {
        let sh = FIXTURES[4].0;
        assert_eq!(
            InitFamily::from_proc(sh, "do_sigtimedwait"),
            InitFamily::Unknown
        );
    }

    #[test]
    fn unreadable_or_empty_status_is_unknown() {
        assert_eq!(InitFamily::from_proc("", ""), InitFamily::Unknown);
        assert_eq!(
            InitFamily::from_proc("SigBlk:\tzz\nSigCgt:\t\n", ""),
            InitFamily::Unknown
        );
        assert_eq!(InitFamily::of_process(-1), InitFamily::Unknown);
    }

    #[test]
    fn the_table_has_one_row_per_family() {
        for family in [
            InitFamily::Systemd,
            InitFamily::Sysvinit,
            InitFamily::Busybox,
            InitFamily::Unknown,
        ] {
            assert_eq!(family.signals().family, family);
        }
        let systemd = InitFamily::Systemd.signals();
        assert_eq!(systemd.poweroff.number(), libc::SIGRTMIN() + 4);
        assert_eq!(systemd.halt.to_string(), "SIGRTMIN+3");
        assert_eq!(InitFamily::Busybox.signals().reboot.number(), libc::SIGTERM);
        assert_eq!(
            InitFamily::Sysvinit.signals().poweroff.to_string(),
            "SIGPWR"
        );
    }

    fn metadata(xml: &str) -> crate::xml::Element {
        crate::xml::read_document(xml.as_bytes(), &crate::xml::Limits::default()).unwrap()
    }

    #[test]
    fn metadata_names_the_family_in_our_namespace_only() {
        let ours = metadata(
            "<metadata><d:init xmlns:d='https://domrun.dev/xmlns/domrun/1' family='sysvinit'/></metadata>",
        );
        assert_eq!(
            InitFamily::from_metadata(Some(&ours)),
            Ok(Some(InitFamily::Sysvinit))
        );
        let other =
            metadata("<metadata><d:init xmlns:d='urn:other' family='sysvinit'/></metadata>");
        assert_eq!(InitFamily::from_metadata(Some(&other)), Ok(None));
        assert_eq!(InitFamily::from_metadata(None), Ok(None));
        let wrong = metadata(
            "<metadata><init xmlns='https://domrun.dev/xmlns/domrun/1' family='upstart'/></metadata>",
        );
        let err = InitFamily::from_metadata(Some(&wrong)).unwrap_err();
        assert_eq!(err.value, "upstart");
        assert!(err.to_string().contains("one of systemd"), "{err}");
        assert_eq!(
            InitFamily::chosen_or_detected(Some(InitFamily::Busybox), -1),
            InitFamily::Busybox
        );
    }

    #[test]
    fn a_real_time_signal_is_read_from_its_bit() {
        // glibc's SIGRTMIN+3 is 37: bit 36.
        let status = format!("SigBlk:\t{:016x}\n", 1u64 << (libc::SIGRTMIN() + 3 - 1));
        assert_eq!(InitFamily::from_proc(&status, ""), InitFamily::Systemd);
    }
}
