//! The KVM probe: can this host really run a hardware-accelerated guest?
//!
//! `/dev/kvm` existing proves little. On this project's CI the device is
//! served by a software KVM (`kvm_pvm`) that creates VMs and even runs a
//! real-mode `hlt`, yet hangs an unmodified Linux guest. So the probe goes
//! as far as it cheaply can: open the device, check the API version, create
//! a VM, give it one page of memory holding `hlt` at the reset vector, create
//! a vCPU, run it and expect a HLT exit; and then ask whether the CPU has
//! hardware virtualisation at all (`vmx`/`svm`), without which a KVM module
//! can only be a paravirtual one that unmodified guests do not boot on.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::mman::{MapFlags, ProtFlags, mmap, mmap_anonymous, munmap};
use nix::sys::stat::Mode;

/// KVM's stable API version.
const KVM_API_VERSION: libc::c_int = 12;
/// `KVM_EXIT_HLT` in `struct kvm_run.exit_reason`.
const KVM_EXIT_HLT: u32 = 5;
/// Byte offset of `exit_reason` in `struct kvm_run` (after two u8 flags and
/// six bytes of padding).
const EXIT_REASON_OFFSET: usize = 8;
/// Guest-physical page holding the reset vector (0xffff_fff0).
const RESET_PAGE: u64 = 0xffff_f000;
const PAGE: usize = 4096;

// The no-argument KVM ioctls insist on an argument of 0 (EINVAL otherwise),
// so they are declared as taking an int.
nix::ioctl_write_int_bad!(kvm_get_api_version, nix::request_code_none!(0xAE, 0x00));
nix::ioctl_write_int_bad!(kvm_create_vm, nix::request_code_none!(0xAE, 0x01));
nix::ioctl_write_int_bad!(kvm_get_vcpu_mmap_size, nix::request_code_none!(0xAE, 0x04));
nix::ioctl_write_int_bad!(kvm_create_vcpu, nix::request_code_none!(0xAE, 0x41));
nix::ioctl_write_int_bad!(kvm_run, nix::request_code_none!(0xAE, 0x80));
nix::ioctl_write_ptr!(kvm_set_user_memory_region, 0xAE, 0x46, UserMemoryRegion);

/// `struct kvm_userspace_memory_region`.
#[repr(C)]
#[derive(Debug)]
pub struct UserMemoryRegion {
    slot: u32,
    flags: u32,
    guest_phys_addr: u64,
    memory_size: u64,
    userspace_addr: u64,
}

/// Why KVM cannot be used; each variant names the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum KvmProbeError {
    #[error("cannot open {path}: {errno}")]
    Open { path: String, errno: Errno },
    #[error("KVM_GET_API_VERSION: {0}")]
    ApiVersion(Errno),
    #[error("KVM API version {0}, expected 12")]
    WrongApiVersion(libc::c_int),
    #[error("KVM_CREATE_VM: {0}")]
    CreateVm(Errno),
    #[error("guest memory: {0}")]
    Memory(Errno),
    #[error("KVM_CREATE_VCPU: {0}")]
    CreateVcpu(Errno),
    #[error("mapping the vCPU run area: {0}")]
    RunArea(Errno),
    #[error("KVM_RUN: {0}")]
    Run(Errno),
    #[error("the test guest did not halt (exit reason {0})")]
    NoHalt(u32),
    #[error(
        "the CPU has no hardware virtualisation (no vmx/svm flag in /proc/cpuinfo): this KVM is a software/paravirtual one that cannot run unmodified guests"
    )]
    NoHardwareVirt,
}

fn owned(fd: libc::c_int) -> OwnedFd {
    // SAFETY: `fd` was just returned by a successful KVM ioctl that creates a
    // new descriptor; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// One anonymous page (or the vCPU's run area), unmapped when dropped.
struct Mapping {
    ptr: std::ptr::NonNull<libc::c_void>,
    len: usize,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping this struct created and no
        // reference into it outlives the struct.
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

/// Runs the probe against `dev` (normally `/dev/kvm`), reading CPU flags
/// from `cpuinfo` (normally `/proc/cpuinfo`).
pub fn probe_kvm(dev: &Path, cpuinfo: &Path) -> Result<(), KvmProbeError> {
    let kvm = open(dev, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty()).map_err(|errno| {
        KvmProbeError::Open {
            path: dev.display().to_string(),
            errno,
        }
    })?;
    // SAFETY: KVM_GET_API_VERSION takes a zero argument and only returns an int.
    let version =
        unsafe { kvm_get_api_version(kvm.as_raw_fd(), 0) }.map_err(KvmProbeError::ApiVersion)?;
    if version != KVM_API_VERSION {
        return Err(KvmProbeError::WrongApiVersion(version));
    }
    // SAFETY: KVM_CREATE_VM takes the machine type (0: default) by value and
    // returns a new fd, which `owned` takes.
    let vm = owned(unsafe { kvm_create_vm(kvm.as_raw_fd(), 0) }.map_err(KvmProbeError::CreateVm)?);

    let len = std::num::NonZeroUsize::new(PAGE).ok_or(KvmProbeError::Memory(Errno::EINVAL))?;
    // SAFETY: a fresh private anonymous mapping aliases no Rust object.
    let ptr = unsafe {
        mmap_anonymous(
            None,
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )
    }
    .map_err(KvmProbeError::Memory)?;
    let memory = Mapping { ptr, len: PAGE };
    // SAFETY: the mapping is PAGE bytes long, readable and writable, and owned
    // by `memory`; nothing else refers to it yet.
    let page = unsafe { std::slice::from_raw_parts_mut(memory.ptr.as_ptr().cast::<u8>(), PAGE) };
    // Real mode starts at CS:IP f000:fff0 = 0xffff_fff0: put `hlt` there.
    page[0xff0] = 0xf4;
    let region = UserMemoryRegion {
        slot: 0,
        flags: 0,
        guest_phys_addr: RESET_PAGE,
        memory_size: PAGE as u64,
        userspace_addr: memory.ptr.as_ptr() as u64,
    };
    // SAFETY: `region` is a valid kvm_userspace_memory_region that outlives
    // the call. The kernel reads the guest page through its own mapping of
    // our memory; unmapping it before the VM is closed (on an early return)
    // is harmless to both sides: KVM follows mm changes by mmu notifiers.
    unsafe { kvm_set_user_memory_region(vm.as_raw_fd(), &region) }
        .map_err(KvmProbeError::Memory)?;
    // SAFETY: KVM_CREATE_VCPU takes the vCPU id by value and returns a new fd.
    let vcpu =
        owned(unsafe { kvm_create_vcpu(vm.as_raw_fd(), 0) }.map_err(KvmProbeError::CreateVcpu)?);
    // SAFETY: KVM_GET_VCPU_MMAP_SIZE takes a zero argument and returns a size.
    let run_size =
        unsafe { kvm_get_vcpu_mmap_size(kvm.as_raw_fd(), 0) }.map_err(KvmProbeError::RunArea)?;
    let run_len = usize::try_from(run_size)
        .ok()
        .and_then(std::num::NonZeroUsize::new)
        .ok_or(KvmProbeError::RunArea(Errno::EINVAL))?;
    // SAFETY: mapping the vCPU fd's run area as the KVM API documents; the
    // mapping aliases no Rust object.
    let run_ptr = unsafe {
        mmap(
            None,
            run_len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            &vcpu,
            0,
        )
    }
    .map_err(KvmProbeError::RunArea)?;
    let run_area = Mapping {
        ptr: run_ptr,
        len: run_len.get(),
    };
    // SAFETY: KVM_RUN takes a zero argument; the kernel writes only into the run
    // area mapped above.
    unsafe { kvm_run(vcpu.as_raw_fd(), 0) }.map_err(KvmProbeError::Run)?;
    let exit_reason = run_area
        .ptr
        .as_ptr()
        .cast::<u8>()
        .wrapping_add(EXIT_REASON_OFFSET)
        .cast::<u32>();
    // SAFETY: the run area is at least a page long, so the 4-byte
    // exit_reason at offset 8 is in bounds; read_unaligned needs no alignment.
    let reason = unsafe { std::ptr::read_unaligned(exit_reason) };
    drop(vcpu);
    drop(vm);
    drop(run_area);
    drop(memory);
    if reason != KVM_EXIT_HLT {
        return Err(KvmProbeError::NoHalt(reason));
    }
    let flags = std::fs::read_to_string(cpuinfo).unwrap_or_default();
    let hw = flags
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    if !hw {
        return Err(KvmProbeError::NoHardwareVirt);
    }
    Ok(())
}
