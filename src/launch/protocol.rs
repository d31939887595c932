//! The parent↔child protocol: fixed-size typed messages over a SOCK_SEQPACKET
//! pair, and the parent's view of the child's progress as a small state
//! machine. Both are tested here without forking.
//!
//! Sync points (mirrored by comments in `parent.rs` and `child.rs`):
//!   sync 1. parent → child `Release`: id maps written, go ahead.
//!   sync 2. child → parent `Failed`: a step failed; the child exits.
//!           or: end of file: the socket closed on exec (close-on-exec), so
//!           init is running.

use std::os::fd::{AsFd, AsRawFd};

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv, send};

/// Declares [`Step`] from one table: each row is a variant (with an index
/// when it fails per table entry), its wire tag, the `docs/launch.md` child
/// step it belongs to, and its stable name. Both wire directions
/// (`encode`/`decode`) and the names come from the rows, so they cannot
/// disagree; rows are in run order (a test checks tags and child steps
/// ascend).
macro_rules! child_steps {
    ($(
        $(#[$doc:meta])*
        $variant:ident $(($index:ident))? = $tag:literal, $child_step:literal, $name:literal;
    )+) => {
        /// A child step that can fail, in run order. Indices point into the
        /// plan (`Plan::mounts`, `Plan::namespaces.join`), the launcher's
        /// prepared cgroup mounts or the const tables in `plan::defaults`,
        /// so the parent can describe the failure with the paths involved.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Step {
            $( $(#[$doc])* $variant $((child_steps!(@index_type $index)))? ),+
        }

        impl Step {
            /// Every row: (wire tag, `docs/launch.md` child step, name).
            #[cfg(test)]
            pub(super) const ROWS: &'static [(u8, &'static str, &'static str)] =
                &[$(($tag, $child_step, $name)),+];

            /// (wire tag, index) for this step; the index is 0 for steps
            /// without one.
            fn encode(self) -> (u8, u16) {
                match self {
                    $( Self::$variant $(($index))? => ($tag, child_steps!(@index $($index)?)) ),+
                }
            }

            /// The step for a wire tag and index.
            fn decode(tag: u8, index: u16) -> Option<Self> {
                match tag {
                    $( $tag => Some(child_steps!(@make $variant index $($index)?)), )+
                    _ => None,
                }
            }

            /// A stable name for the step (`"user-mount"`), for messages and
            /// encodings other than the sync socket's.
            pub fn name(self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => $name ),+
                }
            }

            /// The table index the step carries (0 for steps without one).
            pub fn index(self) -> u16 {
                self.encode().1
            }

            /// The step named `name` (see [`Step::name`]) with `index`
            /// (ignored by steps without one).
            pub fn from_name(name: &str, index: u16) -> Option<Self> {
                match name {
                    $( $name => Some(child_steps!(@make $variant index $($index)?)), )+
                    _ => None,
                }
            }

            /// The child step of `docs/launch.md` this step belongs to
            /// (`"6"` for a user mount).
            pub fn child_step(self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => $child_step ),+
                }
            }
        }
    };
    (@index_type $index:ident) => { u16 };
    (@index) => { 0 };
    (@index $index:ident) => { $index };
    (@make $variant:ident $value:ident) => { Self::$variant };
    (@make $variant:ident $value:ident $index:ident) => { Self::$variant($value) };
}

child_steps! {
    /// Waiting for the parent's release.
    WaitForParent = 1, "1", "wait-for-parent";
    /// unshare(CLONE_NEWCGROUP), after the parent placed us in our cgroup.
    CgroupNamespace = 2, "1b", "cgroup-namespace";
    /// Becoming uid/gid 0 inside the new user namespace.
    BecomeNamespaceRoot = 3, "2", "become-namespace-root";
    /// `setns` into `Plan::namespaces.join[i]`.
    JoinNamespace(i) = 4, "3", "join-namespace";
    /// Making every mount private (MS_REC|MS_PRIVATE on /).
    MakeMountsPrivate = 5, "4", "make-mounts-private";
    /// Binding the root directory onto itself and opening it.
    MountRoot = 6, "5", "mount-root";
    /// Creating or opening the target of `Plan::mounts[i]` inside the root.
    ResolveMountTarget(i) = 7, "6", "resolve-mount-target";
    /// Opening the container-side source of `Plan::mounts[i]`.
    ResolveMountSource(i) = 8, "6", "resolve-mount-source";
    /// Mounting `Plan::mounts[i]`.
    UserMount(i) = 9, "6", "user-mount";
    /// Mounting `defaults::KERNEL_MOUNTS[i]`.
    KernelMount(i) = 10, "7", "kernel-mount";
    /// Mounting the container's view of cgroup filesystem `i`.
    CgroupMount(i) = 11, "8", "cgroup-mount";
    /// Creating symlink `i` of the cgroup view (`cpu -> cpu,cpuacct`).
    CgroupSymlink(i) = 12, "8", "cgroup-symlink";
    /// Creating `defaults::DEVICES[i]`.
    CreateDevice(i) = 13, "9", "create-device";
    /// Creating `defaults::DEV_SYMLINKS[i]`.
    DevSymlink(i) = 14, "9", "dev-symlink";
    /// Binding the console pty onto /dev/console.
    BindConsole = 15, "9", "bind-console";
    /// Hiding `defaults::MASKED_PATHS[i]`.
    MaskPath(i) = 16, "10", "mask-path";
    /// pivot_root(".", ".").
    PivotRoot = 17, "11", "pivot-root";
    /// Unmounting the old root.
    DetachOldRoot = 18, "11", "detach-old-root";
    /// Making `Plan::mounts[i]` read-only.
    ReadonlyUserMount(i) = 19, "12", "readonly-user-mount";
    /// Making `defaults::KERNEL_MOUNTS[i]` read-only.
    ReadonlyKernelMount(i) = 20, "12", "readonly-kernel-mount";
    /// Making the container's view of cgroup filesystem `i` read-only.
    ReadonlyCgroupMount(i) = 21, "12", "readonly-cgroup-mount";
    /// Making the root read-only.
    ReadonlyRoot = 22, "12", "readonly-root";
    /// Setting the hostname.
    SetHostname = 23, "13", "set-hostname";
    /// Attaching the pty as stdio and controlling terminal.
    AttachConsole = 24, "14", "attach-console";
    /// Dropping capabilities from the bounding set.
    DropBoundingSet = 25, "15", "drop-bounding-set";
    /// PR_SET_NO_NEW_PRIVS.
    NoNewPrivileges = 26, "15", "no-new-privileges";
    /// PR_SET_KEEPCAPS around the uid change.
    KeepCapabilities = 27, "15", "keep-capabilities";
    /// setgroups.
    SetGroups = 28, "15", "set-groups";
    /// setresgid.
    SetGid = 29, "15", "set-gid";
    /// setresuid.
    SetUid = 30, "15", "set-uid";
    /// Setting the effective/permitted/inheritable sets.
    SetCapabilities = 31, "15", "set-capabilities";
    /// Raising the ambient set.
    SetAmbient = 32, "15", "set-ambient";
    /// chdir to `Plan::process.cwd`.
    ChangeDirectory = 33, "16", "change-directory";
    /// Restoring the signal dispositions and mask init starts with, and
    /// tying init's life to the supervisor's.
    ResetSignals = 34, "17", "reset-signals";
    /// Marking fds above 2 close-on-exec.
    CloseFds = 35, "18", "close-fds";
    /// execve of init.
    Exec = 36, "19", "exec";
}

/// A failed child step and the kernel's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildFailure {
    /// The step that failed.
    pub step: Step,
    /// The errno it failed with.
    pub errno: Errno,
}

/// Parent → child messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentMessage {
    /// sync 1: id maps are written; the child may proceed.
    Release,
}

/// Child → parent messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildMessage {
    /// sync 2: a step failed; the child exits right after sending this.
    Failed(ChildFailure),
}

/// Every message is exactly this long: tag, step tag, index, errno.
const MESSAGE_LEN: usize = 8;
const TAG_RELEASE: u8 = 0x52;
const TAG_FAILED: u8 = 0x46;

/// Malformed or unexpected traffic on the sync socket.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// The socket failed.
    #[error("sync socket: {0}")]
    Io(Errno),
    /// A message of the wrong length.
    #[error("sync socket: message of {0} bytes, expected {MESSAGE_LEN}")]
    BadLength(usize),
    /// A message with an unknown tag.
    #[error("sync socket: unknown message tag {0:#x}")]
    UnknownTag(u8),
    /// The other side closed the socket before the protocol allowed it.
    #[error("the container child exited before it was released")]
    ClosedEarly,
    /// A message that is not valid in the current phase.
    #[error("sync socket: unexpected message in phase {0:?}")]
    Unexpected(InitPhase),
}

impl ParentMessage {
    fn encode(self) -> [u8; MESSAGE_LEN] {
        match self {
            Self::Release => [TAG_RELEASE, 0, 0, 0, 0, 0, 0, 0],
        }
    }

    fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        if bytes.len() != MESSAGE_LEN {
            return Err(ProtocolError::BadLength(bytes.len()));
        }
        match bytes[0] {
            TAG_RELEASE => Ok(Self::Release),
            tag => Err(ProtocolError::UnknownTag(tag)),
        }
    }
}

impl ChildMessage {
    fn encode(self) -> [u8; MESSAGE_LEN] {
        let Self::Failed(failure) = self;
        let (step, index) = failure.step.encode();
        let index = index.to_le_bytes();
        let errno = (failure.errno as i32).to_le_bytes();
        [
            TAG_FAILED, step, index[0], index[1], errno[0], errno[1], errno[2], errno[3],
        ]
    }

    fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        if bytes.len() != MESSAGE_LEN {
            return Err(ProtocolError::BadLength(bytes.len()));
        }
        if bytes[0] != TAG_FAILED {
            return Err(ProtocolError::UnknownTag(bytes[0]));
        }
        let step = Step::decode(bytes[1], u16::from_le_bytes([bytes[2], bytes[3]]))
            .ok_or(ProtocolError::UnknownTag(bytes[1]))?;
        let errno = Errno::from_raw(i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]));
        Ok(Self::Failed(ChildFailure { step, errno }))
    }
}

fn send_bytes(socket: &impl AsFd, bytes: &[u8]) -> Result<(), ProtocolError> {
    loop {
        match send(socket.as_fd().as_raw_fd(), bytes, MsgFlags::MSG_NOSIGNAL) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(ProtocolError::Io(e)),
            Ok(_) => return Ok(()),
        }
    }
}

/// One received message: a buffer one byte longer than a message (so an
/// oversized one is noticed) and the length received. On the stack: the
/// child must not allocate.
type Received = ([u8; MESSAGE_LEN + 1], usize);

/// Receives one message; `None` at end of file.
fn recv_bytes(socket: &impl AsFd) -> Result<Option<Received>, ProtocolError> {
    let mut buf = [0u8; MESSAGE_LEN + 1];
    loop {
        match recv(socket.as_fd().as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(ProtocolError::Io(e)),
            Ok(0) => return Ok(None),
            Ok(n) => return Ok(Some((buf, n))),
        }
    }
}

/// Parent: sends a message to the child.
pub fn send_to_child(socket: &impl AsFd, message: ParentMessage) -> Result<(), ProtocolError> {
    send_bytes(socket, &message.encode())
}

/// Child: waits for the parent's message; end of file means the parent died.
pub fn recv_from_parent(socket: &impl AsFd) -> Result<ParentMessage, ProtocolError> {
    match recv_bytes(socket)? {
        None => Err(ProtocolError::ClosedEarly),
        Some((buf, len)) => ParentMessage::decode(&buf[..len]),
    }
}

/// Child: reports a failed step.
pub fn send_to_parent(socket: &impl AsFd, message: ChildMessage) -> Result<(), ProtocolError> {
    send_bytes(socket, &message.encode())
}

/// Parent: the next child message, `None` when the socket closed.
pub fn recv_from_child(socket: &impl AsFd) -> Result<Option<ChildMessage>, ProtocolError> {
    recv_bytes(socket)?
        .map(|(buf, len)| ChildMessage::decode(&buf[..len]))
        .transpose()
}

/// The parent's view of the child (youki's InitPhase idea).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitPhase {
    /// Cloned, waiting at sync 1 for the id maps.
    Cloned,
    /// Released; setting up its filesystem and credentials.
    Released,
    /// Exec'd: the sync socket closed without a failure.
    Running,
    /// A step failed; the child is exiting.
    Failed(ChildFailure),
}

/// What the parent observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitEvent {
    /// The parent sent `Release`.
    Released,
    /// A message from the child.
    Message(ChildMessage),
    /// The sync socket reached end of file.
    Closed,
}

impl InitPhase {
    /// The phase after `event`, or why `event` is not allowed now.
    pub fn next(self, event: InitEvent) -> Result<Self, ProtocolError> {
        match (self, event) {
            (Self::Cloned, InitEvent::Released) => Ok(Self::Released),
            // A failure before release is possible (joining a namespace
            // happens after sync 1, but a future step might not).
            (Self::Cloned | Self::Released, InitEvent::Message(ChildMessage::Failed(f))) => {
                Ok(Self::Failed(f))
            }
            (Self::Cloned, InitEvent::Closed) => Err(ProtocolError::ClosedEarly),
            (Self::Released, InitEvent::Closed) => Ok(Self::Running),
            (phase, _) => Err(ProtocolError::Unexpected(phase)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::step_list::ChildStepNumber;
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};

    fn all_steps() -> Vec<Step> {
        Step::ROWS
            .iter()
            .map(|(tag, ..)| Step::decode(*tag, 7).expect("every row decodes"))
            .collect()
    }

    #[test]
    fn every_step_round_trips_by_tag_and_by_name() {
        for step in all_steps() {
            let (tag, index) = step.encode();
            assert_eq!(Step::decode(tag, index), Some(step), "{step:?}");
            assert_eq!(Step::from_name(step.name(), step.index()), Some(step));
        }
        assert_eq!(Step::decode(0, 0), None);
        assert_eq!(Step::from_name("no-such-step", 0), None);
    }

    /// The rows are the run order: tags count up from 1 without gaps, the
    /// child steps they belong to never go back, names are unique.
    #[test]
    fn steps_are_declared_in_run_order() {
        let tags: Vec<u8> = Step::ROWS.iter().map(|(tag, ..)| *tag).collect();
        let expected: Vec<u8> = (1..=u8::try_from(tags.len()).expect("few steps")).collect();
        assert_eq!(tags, expected);
        let order: Vec<ChildStepNumber> = Step::ROWS
            .iter()
            .map(|(_, number, _)| ChildStepNumber::parse(number).expect(number))
            .collect();
        assert!(order.is_sorted(), "{:?}", Step::ROWS);
        let mut names: Vec<&str> = Step::ROWS.iter().map(|(.., name)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Step::ROWS.len());
    }

    #[test]
    fn messages_round_trip_over_a_socketpair() {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .expect("socketpair");
        send_to_child(&a, ParentMessage::Release).expect("send");
        assert_eq!(recv_from_parent(&b), Ok(ParentMessage::Release));
        let failure = ChildFailure {
            step: Step::UserMount(3),
            errno: Errno::ENODEV,
        };
        send_to_parent(&b, ChildMessage::Failed(failure)).expect("send");
        assert_eq!(recv_from_child(&a), Ok(Some(ChildMessage::Failed(failure))));
        drop(b);
        assert_eq!(recv_from_child(&a), Ok(None));
    }

    #[test]
    fn rejects_malformed_messages() {
        assert_eq!(
            ChildMessage::decode(&[TAG_FAILED, 0]),
            Err(ProtocolError::BadLength(2))
        );
        assert_eq!(
            ChildMessage::decode(&[TAG_FAILED, 200, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::UnknownTag(200))
        );
        assert_eq!(
            ParentMessage::decode(&[9, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::UnknownTag(9))
        );
    }

    #[test]
    fn phase_machine_follows_the_protocol() {
        let failure = ChildFailure {
            step: Step::Exec,
            errno: Errno::ENOENT,
        };
        let phase = InitPhase::Cloned
            .next(InitEvent::Released)
            .expect("release");
        assert_eq!(phase, InitPhase::Released);
        assert_eq!(phase.next(InitEvent::Closed), Ok(InitPhase::Running));
        assert_eq!(
            phase.next(InitEvent::Message(ChildMessage::Failed(failure))),
            Ok(InitPhase::Failed(failure))
        );
        assert_eq!(
            InitPhase::Cloned.next(InitEvent::Closed),
            Err(ProtocolError::ClosedEarly)
        );
        assert_eq!(
            InitPhase::Running.next(InitEvent::Released),
            Err(ProtocolError::Unexpected(InitPhase::Running))
        );
    }
}
