//! prctl calls for the bounding and ambient capability sets.

use caps::Capability;
use nix::errno::Errno;

/// Removes `cap` from this thread's bounding set (needs CAP_SETPCAP).
pub fn drop_from_bounding_set(cap: Capability) -> nix::Result<()> {
    // SAFETY: PR_CAPBSET_DROP takes the capability number as a plain integer;
    // the trailing arguments are unused and passed as 0.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAPBSET_DROP,
            libc::c_ulong::from(cap.index()),
            0,
            0,
            0,
        )
    };
    Errno::result(ret).map(drop)
}

/// Adds `cap` to this thread's ambient set (it must be permitted and inheritable).
pub fn raise_ambient(cap: Capability) -> nix::Result<()> {
    // SAFETY: PR_CAP_AMBIENT/PR_CAP_AMBIENT_RAISE takes the capability number
    // as a plain integer; the trailing arguments must be 0.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            libc::c_ulong::from(cap.index()),
            0,
            0,
        )
    };
    Errno::result(ret).map(drop)
}

/// The three per-thread capability sets as bit masks (bit N = capability N).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapabilityMasks {
    /// Effective set.
    pub effective: u64,
    /// Permitted set.
    pub permitted: u64,
    /// Inheritable set.
    pub inheritable: u64,
}

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets this thread's effective, permitted and inheritable sets in one
/// capset call, so no intermediate state has to be valid on its own.
pub fn set_capabilities(masks: CapabilityMasks) -> nix::Result<()> {
    let split = |mask: u64| [(mask & 0xffff_ffff) as u32, (mask >> 32) as u32];
    let (eff, prm, inh) = (
        split(masks.effective),
        split(masks.permitted),
        split(masks.inheritable),
    );
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [0, 1].map(|word| CapData {
        effective: eff[word],
        permitted: prm[word],
        inheritable: inh[word],
    });
    // SAFETY: capset reads one header and, for version 3, two CapData words
    // (the kernel's __user_cap_header_struct and __user_cap_data_struct,
    // laid out identically via repr(C)); both live across the call. pid 0
    // means the calling thread.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    Errno::result(ret).map(drop)
}
