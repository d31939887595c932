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

/// A child step that can fail. Indices point into the plan (`Plan::mounts`,
/// `Plan::namespaces.join`) or the const tables in `plan::defaults`, so the
/// parent can describe the failure with the paths involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Waiting for the parent's release.
    WaitForParent,
    /// Becoming uid/gid 0 inside the new user namespace.
    BecomeNamespaceRoot,
    /// `setns` into `Plan::namespaces.join[i]`.
    JoinNamespace(u16),
    /// Making every mount private (MS_REC|MS_PRIVATE on /).
    MakeMountsPrivate,
    /// Binding the root directory onto itself and opening it.
    MountRoot,
    /// Creating or opening the target of `Plan::mounts[i]` inside the root.
    ResolveMountTarget(u16),
    /// Opening the container-side source of `Plan::mounts[i]`.
    ResolveMountSource(u16),
    /// Mounting `Plan::mounts[i]`.
    UserMount(u16),
    /// Mounting `defaults::KERNEL_MOUNTS[i]`.
    KernelMount(u16),
    /// Binding `defaults::READONLY_PATHS[i]` onto itself.
    ReadonlyPath(u16),
    /// Creating `defaults::DEVICES[i]`.
    CreateDevice(u16),
    /// Creating `defaults::DEV_SYMLINKS[i]`.
    DevSymlink(u16),
    /// Binding the console pty onto /dev/console.
    BindConsole,
    /// Hiding `defaults::MASKED_PATHS[i]`.
    MaskPath(u16),
    /// pivot_root(".", ".").
    PivotRoot,
    /// Unmounting the old root.
    DetachOldRoot,
    /// Making the root read-only.
    ReadonlyRoot,
    /// Making `Plan::mounts[i]` read-only.
    ReadonlyUserMount(u16),
    /// Making `defaults::READONLY_PATHS[i]` read-only.
    ReadonlyKernelPath(u16),
    /// Setting the hostname.
    SetHostname,
    /// Attaching the pty as stdio and controlling terminal.
    AttachConsole,
    /// Dropping capabilities from the bounding set.
    DropBoundingSet,
    /// PR_SET_NO_NEW_PRIVS.
    NoNewPrivileges,
    /// PR_SET_KEEPCAPS around the uid change.
    KeepCapabilities,
    /// setgroups.
    SetGroups,
    /// setresgid.
    SetGid,
    /// setresuid.
    SetUid,
    /// Setting the effective/permitted/inheritable sets.
    SetCapabilities,
    /// Raising the ambient set.
    SetAmbient,
    /// chdir to `Plan::process.cwd`.
    ChangeDirectory,
    /// Restoring the signal mask init starts with.
    ResetSignals,
    /// Marking fds above 2 close-on-exec.
    CloseFds,
    /// execve of init.
    Exec,
    /// unshare(CLONE_NEWCGROUP), after the parent placed us in our cgroup.
    CgroupNamespace,
    /// Mounting the container's view of cgroup filesystem `i`.
    CgroupMount(u16),
    /// Binding /proc/sys/net onto itself (writable with an own network).
    WritableNetSysctls,
}

/// Builds a `Step` from the index carried on the wire.
type MakeStep = fn(u16) -> Step;

/// Wire tags, one per `Step` variant (decoding side; `Step::encode` is the
/// other direction and the round-trip test keeps the two in step).
const STEP_TAGS: &[(u8, MakeStep)] = &[
    (1, |_| Step::WaitForParent),
    (2, |_| Step::BecomeNamespaceRoot),
    (3, Step::JoinNamespace),
    (4, |_| Step::MakeMountsPrivate),
    (5, |_| Step::MountRoot),
    (6, Step::ResolveMountTarget),
    (7, Step::ResolveMountSource),
    (8, Step::UserMount),
    (9, Step::KernelMount),
    (10, Step::ReadonlyPath),
    (11, Step::CreateDevice),
    (12, Step::DevSymlink),
    (13, |_| Step::BindConsole),
    (14, Step::MaskPath),
    (15, |_| Step::PivotRoot),
    (16, |_| Step::DetachOldRoot),
    (17, |_| Step::ReadonlyRoot),
    (18, Step::ReadonlyUserMount),
    (19, Step::ReadonlyKernelPath),
    (20, |_| Step::SetHostname),
    (21, |_| Step::AttachConsole),
    (22, |_| Step::DropBoundingSet),
    (23, |_| Step::NoNewPrivileges),
    (24, |_| Step::KeepCapabilities),
    (25, |_| Step::SetGroups),
    (26, |_| Step::SetGid),
    (27, |_| Step::SetUid),
    (28, |_| Step::SetCapabilities),
    (29, |_| Step::SetAmbient),
    (30, |_| Step::ChangeDirectory),
    (31, |_| Step::ResetSignals),
    (32, |_| Step::CloseFds),
    (33, |_| Step::Exec),
    (34, |_| Step::CgroupNamespace),
    (35, Step::CgroupMount),
    (36, |_| Step::WritableNetSysctls),
];

impl Step {
    /// (wire tag, index) for this step.
    pub(crate) fn encode(self) -> (u8, u16) {
        match self {
            Self::WaitForParent => (1, 0),
            Self::BecomeNamespaceRoot => (2, 0),
            Self::JoinNamespace(i) => (3, i),
            Self::MakeMountsPrivate => (4, 0),
            Self::MountRoot => (5, 0),
            Self::ResolveMountTarget(i) => (6, i),
            Self::ResolveMountSource(i) => (7, i),
            Self::UserMount(i) => (8, i),
            Self::KernelMount(i) => (9, i),
            Self::ReadonlyPath(i) => (10, i),
            Self::CreateDevice(i) => (11, i),
            Self::DevSymlink(i) => (12, i),
            Self::BindConsole => (13, 0),
            Self::MaskPath(i) => (14, i),
            Self::PivotRoot => (15, 0),
            Self::DetachOldRoot => (16, 0),
            Self::ReadonlyRoot => (17, 0),
            Self::ReadonlyUserMount(i) => (18, i),
            Self::ReadonlyKernelPath(i) => (19, i),
            Self::SetHostname => (20, 0),
            Self::AttachConsole => (21, 0),
            Self::DropBoundingSet => (22, 0),
            Self::NoNewPrivileges => (23, 0),
            Self::KeepCapabilities => (24, 0),
            Self::SetGroups => (25, 0),
            Self::SetGid => (26, 0),
            Self::SetUid => (27, 0),
            Self::SetCapabilities => (28, 0),
            Self::SetAmbient => (29, 0),
            Self::ChangeDirectory => (30, 0),
            Self::ResetSignals => (31, 0),
            Self::CloseFds => (32, 0),
            Self::Exec => (33, 0),
            Self::CgroupNamespace => (34, 0),
            Self::CgroupMount(i) => (35, i),
            Self::WritableNetSysctls => (36, 0),
        }
    }

    pub(crate) fn decode(tag: u8, index: u16) -> Option<Self> {
        STEP_TAGS
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, make)| make(index))
    }
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
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};

    fn all_steps() -> Vec<Step> {
        STEP_TAGS.iter().map(|(_, make)| make(7)).collect()
    }

    #[test]
    fn every_step_round_trips_and_tags_are_unique() {
        let mut tags: Vec<u8> = STEP_TAGS.iter().map(|(t, _)| *t).collect();
        tags.dedup();
        assert_eq!(tags.len(), STEP_TAGS.len());
        for step in all_steps() {
            let (tag, index) = step.encode();
            assert_eq!(Step::decode(tag, index), Some(step), "{step:?}");
        }
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
