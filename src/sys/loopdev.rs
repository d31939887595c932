//! Loop devices through /dev/loop-control and LOOP_CONFIGURE (Linux 5.8+):
//! one ioctl attaches the file and sets the flags, so there is no window in
//! which a half-configured device is visible.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LO_FLAGS_READ_ONLY: u32 = 1;
/// Detach automatically when the last user (open fd or mount) goes away, so
/// a crashed launcher leaks nothing.
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64` from <linux/loop.h>.
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config` from <linux/loop.h>.
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// An attached loop device. Dropping it closes the last fd the launcher
/// holds; with autoclear the kernel detaches the device once it is also
/// unmounted.
#[derive(Debug)]
pub struct LoopDevice {
    /// `/dev/loopN`.
    pub path: PathBuf,
    /// Keeps the device attached until the filesystem is mounted.
    #[expect(
        dead_code,
        reason = "held, never read: closing it lets autoclear detach"
    )]
    pub fd: OwnedFd,
}

/// How many times a device that another process grabbed between
/// LOOP_CTL_GET_FREE and LOOP_CONFIGURE is skipped before giving up.
const ATTACH_ATTEMPTS: usize = 8;

/// Attaches `image` to a free loop device with autoclear (read-only if asked).
pub fn attach_loop(image: &Path, readonly: bool) -> nix::Result<LoopDevice> {
    let access = if readonly {
        OFlag::O_RDONLY
    } else {
        OFlag::O_RDWR
    };
    let backing = nix::fcntl::open(image, access | OFlag::O_CLOEXEC, Mode::empty())?;
    let control = nix::fcntl::open(
        "/dev/loop-control",
        OFlag::O_RDWR | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut last = Errno::EBUSY;
    for _ in 0..ATTACH_ATTEMPTS {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number.
        let number = Errno::result(unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE) })?;
        let path = PathBuf::from(format!("/dev/loop{number}"));
        let device = nix::fcntl::open(&path, access | OFlag::O_CLOEXEC, Mode::empty())?;
        let mut flags = LO_FLAGS_AUTOCLEAR;
        if readonly {
            flags |= LO_FLAGS_READ_ONLY;
        }
        let config = LoopConfig {
            fd: backing.as_fd().as_raw_fd() as u32,
            block_size: 0,
            info: LoopInfo64 {
                lo_device: 0,
                lo_inode: 0,
                lo_rdevice: 0,
                lo_offset: 0,
                lo_sizelimit: 0,
                lo_number: 0,
                lo_encrypt_type: 0,
                lo_encrypt_key_size: 0,
                lo_flags: flags,
                lo_file_name: [0; 64],
                lo_crypt_name: [0; 64],
                lo_encrypt_key: [0; 32],
                lo_init: [0; 2],
            },
            reserved: [0; 8],
        };
        // SAFETY: LOOP_CONFIGURE reads one `struct loop_config` through the
        // pointer; `config` has that exact layout (repr(C), zeroed reserved
        // fields) and outlives the call.
        let ret = unsafe {
            libc::ioctl(
                device.as_raw_fd(),
                LOOP_CONFIGURE,
                &config as *const LoopConfig,
            )
        };
        match Errno::result(ret) {
            Ok(_) => return Ok(LoopDevice { path, fd: device }),
            // Someone else configured this device first; ask for another.
            Err(Errno::EBUSY) => last = Errno::EBUSY,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}
