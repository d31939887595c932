//! GENERATED from libvirt's `domain.rng` by `tests/schema_table.rs`; do not edit.
//! Regenerate: `DOMRUN_BLESS=1 DOMRUN_LIBVIRT_CORPUS=DIR cargo test --test schema_table`.
//!
//! The element and attribute names are derived from libvirt 11.3.0's RelaxNG
//! schemas (`src/conf/schemas/domain.rng` and its includes), which libvirt
//! distributes under the GNU LGPL 2.1 or later; see the corpus's
//! `LICENSE-NOTE.txt`. Only the names are taken, not the grammar.
//!
//! Node 0 is `<domain>`; each node lists the attribute names and the child
//! elements (with their node) allowed there, sorted. The comment gives one
//! path that reaches the node.

use super::schema::SchemaNode;

pub(super) static NODES: [SchemaNode; 254] = [
    // 0: /domain
    SchemaNode { open: false, attrs: &["id", "type"], children: &[("blkiotune", 1), ("bootloader", 2), ("bootloader_args", 2), ("clock", 3), ("cpu", 4), ("cputune", 5), ("currentMemory", 6), ("defaultiothread", 7), ("description", 2), ("devices", 8), ("features", 9), ("genid", 2), ("idmap", 10), ("iothreadids", 11), ("iothreads", 2), ("keywrap", 12), ("launchSecurity", 13), ("maxMemory", 14), ("memory", 15), ("memoryBacking", 16), ("memtune", 17), ("metadata", 18), ("name", 2), ("numatune", 19), ("on_crash", 2), ("on_lockfailure", 2), ("on_poweroff", 2), ("on_reboot", 2), ("os", 20), ("perf", 21), ("pm", 22), ("resource", 23), ("seclabel", 24), ("sysinfo", 25), ("throttlegroups", 26), ("title", 2), ("uuid", 2), ("vcpu", 27), ("vcpus", 28)] },
    // 1: /domain/blkiotune
    SchemaNode { open: false, attrs: &[], children: &[("device", 29), ("weight", 2)] },
    // 2: /domain/bootloader
    SchemaNode { open: false, attrs: &[], children: &[] },
    // 3: /domain/clock
    SchemaNode { open: false, attrs: &["adjustment", "basis", "offset", "start", "timezone"], children: &[("timer", 30)] },
    // 4: /domain/cpu
    SchemaNode { open: false, attrs: &["check", "deprecated_features", "match", "migratable", "mode"], children: &[("cache", 31), ("feature", 32), ("maxphysaddr", 33), ("model", 34), ("numa", 35), ("topology", 36), ("vendor", 2)] },
    // 5: /domain/cputune
    SchemaNode { open: false, attrs: &[], children: &[("cachetune", 37), ("emulator_period", 2), ("emulator_quota", 2), ("emulatorpin", 38), ("emulatorsched", 39), ("global_period", 2), ("global_quota", 2), ("iothread_period", 2), ("iothread_quota", 2), ("iothreadpin", 40), ("iothreadsched", 41), ("memorytune", 42), ("period", 2), ("quota", 2), ("shares", 2), ("vcpupin", 43), ("vcpusched", 44)] },
    // 6: /domain/currentMemory
    SchemaNode { open: false, attrs: &["unit"], children: &[] },
    // 7: /domain/defaultiothread
    SchemaNode { open: false, attrs: &["thread_pool_max", "thread_pool_min"], children: &[] },
    // 8: /domain/devices
    SchemaNode { open: false, attrs: &[], children: &[("audio", 45), ("channel", 46), ("console", 47), ("controller", 48), ("crypto", 49), ("disk", 50), ("emulator", 2), ("filesystem", 51), ("graphics", 52), ("hostdev", 53), ("hub", 54), ("input", 55), ("interface", 56), ("iommu", 57), ("lease", 58), ("memballoon", 59), ("memory", 60), ("nvram", 61), ("panic", 62), ("parallel", 47), ("pstore", 63), ("redirdev", 64), ("redirfilter", 65), ("rng", 66), ("serial", 47), ("shmem", 67), ("smartcard", 68), ("sound", 69), ("tpm", 70), ("video", 71), ("vsock", 72), ("watchdog", 73)] },
    // 9: /domain/features
    SchemaNode { open: false, attrs: &[], children: &[("acpi", 2), ("aia", 74), ("apic", 75), ("async-teardown", 76), ("capabilities", 77), ("ccf-assist", 78), ("cfpc", 74), ("gic", 79), ("hap", 78), ("hpt", 80), ("htm", 78), ("hyperv", 81), ("ibs", 74), ("ioapic", 82), ("kvm", 83), ("msrs", 84), ("nested-hv", 78), ("pae", 2), ("pmu", 78), ("privnet", 2), ("ps2", 78), ("pvspinlock", 78), ("ras", 78), ("sbbc", 74), ("smm", 85), ("tcg", 86), ("viridian", 2), ("vmcoreinfo", 78), ("vmport", 78), ("xen", 87)] },
    // 10: /domain/idmap
    SchemaNode { open: false, attrs: &[], children: &[("gid", 88), ("uid", 88)] },
    // 11: /domain/iothreadids
    SchemaNode { open: false, attrs: &[], children: &[("iothread", 89)] },
    // 12: /domain/keywrap
    SchemaNode { open: false, attrs: &[], children: &[("cipher", 90)] },
    // 13: /domain/launchSecurity
    SchemaNode { open: false, attrs: &["authorKey", "kernelHashes", "type", "vcek"], children: &[("cbitpos", 2), ("dhCert", 2), ("guestVisibleWorkarounds", 2), ("handle", 2), ("hostData", 2), ("idAuth", 2), ("idBlock", 2), ("policy", 2), ("reducedPhysBits", 2), ("session", 2)] },
    // 14: /domain/maxMemory
    SchemaNode { open: false, attrs: &["slots", "unit"], children: &[] },
    // 15: /domain/memory
    SchemaNode { open: false, attrs: &["dumpCore", "unit"], children: &[] },
    // 16: /domain/memoryBacking
    SchemaNode { open: false, attrs: &[], children: &[("access", 91), ("allocation", 92), ("discard", 2), ("hugepages", 93), ("locked", 2), ("nosharepages", 2), ("source", 94)] },
    // 17: /domain/memtune
    SchemaNode { open: false, attrs: &[], children: &[("hard_limit", 6), ("min_guarantee", 6), ("soft_limit", 6), ("swap_hard_limit", 6)] },
    // 18: /domain/metadata
    SchemaNode { open: true, attrs: &[], children: &[] },
    // 19: /domain/numatune
    SchemaNode { open: false, attrs: &[], children: &[("memnode", 95), ("memory", 96)] },
    // 20: /domain/os
    SchemaNode { open: false, attrs: &["firmware"], children: &[("acpi", 97), ("bios", 98), ("boot", 99), ("bootmenu", 100), ("cmdline", 2), ("dtb", 2), ("firmware", 101), ("init", 2), ("initarg", 2), ("initdir", 2), ("initenv", 102), ("initgroup", 2), ("initrd", 2), ("inituser", 2), ("kernel", 2), ("loader", 103), ("nvram", 104), ("root", 2), ("shim", 2), ("smbios", 91), ("type", 105)] },
    // 21: /domain/perf
    SchemaNode { open: false, attrs: &[], children: &[("event", 106)] },
    // 22: /domain/pm
    SchemaNode { open: false, attrs: &[], children: &[("suspend-to-disk", 76), ("suspend-to-mem", 76)] },
    // 23: /domain/resource
    SchemaNode { open: false, attrs: &[], children: &[("fibrechannel", 107), ("partition", 2)] },
    // 24: /domain/seclabel
    SchemaNode { open: false, attrs: &["model", "relabel", "type"], children: &[("baselabel", 2), ("imagelabel", 2), ("label", 2)] },
    // 25: /domain/sysinfo
    SchemaNode { open: false, attrs: &["type"], children: &[("baseBoard", 108), ("bios", 108), ("chassis", 108), ("entry", 109), ("oemStrings", 110), ("system", 108)] },
    // 26: /domain/throttlegroups
    SchemaNode { open: false, attrs: &[], children: &[("throttlegroup", 111)] },
    // 27: /domain/vcpu
    SchemaNode { open: false, attrs: &["cpuset", "current", "placement"], children: &[] },
    // 28: /domain/vcpus
    SchemaNode { open: false, attrs: &[], children: &[("vcpu", 112)] },
    // 29: /domain/blkiotune/device
    SchemaNode { open: false, attrs: &[], children: &[("path", 2), ("read_bytes_sec", 2), ("read_iops_sec", 2), ("weight", 2), ("write_bytes_sec", 2), ("write_iops_sec", 2)] },
    // 30: /domain/clock/timer
    SchemaNode { open: false, attrs: &["frequency", "mode", "name", "present", "tickpolicy", "track"], children: &[("catchup", 113)] },
    // 31: /domain/cpu/cache
    SchemaNode { open: false, attrs: &["level", "mode"], children: &[] },
    // 32: /domain/cpu/feature
    SchemaNode { open: false, attrs: &["name", "policy"], children: &[] },
    // 33: /domain/cpu/maxphysaddr
    SchemaNode { open: false, attrs: &["bits", "limit", "mode"], children: &[] },
    // 34: /domain/cpu/model
    SchemaNode { open: false, attrs: &["fallback", "vendor_id"], children: &[] },
    // 35: /domain/cpu/numa
    SchemaNode { open: false, attrs: &[], children: &[("cell", 114), ("interconnects", 115)] },
    // 36: /domain/cpu/topology
    SchemaNode { open: false, attrs: &["clusters", "cores", "dies", "sockets", "threads"], children: &[] },
    // 37: /domain/cputune/cachetune
    SchemaNode { open: false, attrs: &["id", "vcpus"], children: &[("cache", 116), ("monitor", 117)] },
    // 38: /domain/cputune/emulatorpin
    SchemaNode { open: false, attrs: &["cpuset"], children: &[] },
    // 39: /domain/cputune/emulatorsched
    SchemaNode { open: false, attrs: &["priority", "scheduler"], children: &[] },
    // 40: /domain/cputune/iothreadpin
    SchemaNode { open: false, attrs: &["cpuset", "iothread"], children: &[] },
    // 41: /domain/cputune/iothreadsched
    SchemaNode { open: false, attrs: &["iothreads", "priority", "scheduler"], children: &[] },
    // 42: /domain/cputune/memorytune
    SchemaNode { open: false, attrs: &["vcpus"], children: &[("monitor", 118), ("node", 119)] },
    // 43: /domain/cputune/vcpupin
    SchemaNode { open: false, attrs: &["cpuset", "vcpu"], children: &[] },
    // 44: /domain/cputune/vcpusched
    SchemaNode { open: false, attrs: &["priority", "scheduler", "vcpus"], children: &[] },
    // 45: /domain/devices/audio
    SchemaNode { open: false, attrs: &["driver", "dspPolicy", "exclusive", "id", "path", "runtimeDir", "serverName", "timerPeriod", "tryMMap", "type"], children: &[("input", 120), ("output", 120)] },
    // 46: /domain/devices/channel
    SchemaNode { open: false, attrs: &["type"], children: &[("address", 121), ("alias", 102), ("log", 122), ("protocol", 94), ("source", 123), ("target", 124)] },
    // 47: /domain/devices/console
    SchemaNode { open: false, attrs: &["tty", "type"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("log", 122), ("protocol", 94), ("source", 123), ("target", 126)] },
    // 48: /domain/devices/controller
    SchemaNode { open: false, attrs: &["index", "maxEventChannels", "maxGrantFrames", "model", "ports", "type", "vectors"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("driver", 127), ("master", 128), ("model", 102), ("pcihole64", 6), ("target", 129)] },
    // 49: /domain/devices/crypto
    SchemaNode { open: false, attrs: &["model", "type"], children: &[("address", 121), ("alias", 102), ("backend", 130), ("driver", 131)] },
    // 50: /domain/devices/disk
    SchemaNode { open: false, attrs: &["device", "model", "rawio", "sgio", "snapshot", "type"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("auth", 132), ("backenddomain", 102), ("backingStore", 133), ("blockio", 134), ("boot", 135), ("driver", 136), ("encryption", 137), ("geometry", 138), ("iotune", 111), ("mirror", 139), ("privateData", 2), ("product", 2), ("readonly", 2), ("serial", 2), ("shareable", 2), ("source", 140), ("target", 141), ("throttlefilters", 142), ("transient", 143), ("vendor", 2), ("wwn", 2)] },
    // 51: /domain/devices/filesystem
    SchemaNode { open: false, attrs: &["accessmode", "dmode", "fmode", "model", "multidevs", "type"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("binary", 144), ("boot", 135), ("driver", 145), ("idmap", 10), ("readonly", 2), ("source", 146), ("space_hard_limit", 6), ("space_soft_limit", 6), ("target", 147)] },
    // 52: /domain/devices/graphics
    SchemaNode { open: false, attrs: &["address", "autoport", "connected", "defaultMode", "display", "fullscreen", "keymap", "listen", "multiUser", "p2p", "passwd", "passwdValidTo", "port", "powerControl", "replaceUser", "sharePolicy", "socket", "tlsPort", "type", "username", "websocket", "xauth"], children: &[("audio", 148), ("channel", 149), ("clipboard", 150), ("filetransfer", 151), ("gl", 152), ("image", 153), ("jpeg", 153), ("listen", 154), ("mouse", 91), ("playback", 153), ("streaming", 91), ("zlib", 153)] },
    // 53: /domain/devices/hostdev
    SchemaNode { open: false, attrs: &["display", "managed", "mode", "model", "ramfb", "rawio", "sgio", "type"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("boot", 135), ("driver", 155), ("ip", 156), ("readonly", 2), ("rom", 157), ("route", 158), ("shareable", 2), ("source", 159), ("teaming", 160)] },
    // 54: /domain/devices/hub
    SchemaNode { open: false, attrs: &["type"], children: &[("address", 121), ("alias", 102)] },
    // 55: /domain/devices/input
    SchemaNode { open: false, attrs: &["bus", "model", "type"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("driver", 131), ("source", 161)] },
    // 56: /domain/devices/interface
    SchemaNode { open: false, attrs: &["managed", "trustGuestRxFilters", "type"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("backend", 162), ("backenddomain", 102), ("bandwidth", 163), ("boot", 135), ("coalesce", 164), ("downscript", 165), ("driver", 166), ("filterref", 167), ("guest", 168), ("ip", 156), ("link", 78), ("mac", 169), ("model", 94), ("mtu", 170), ("port", 171), ("portForward", 172), ("rom", 157), ("route", 158), ("script", 165), ("source", 173), ("target", 174), ("teaming", 160), ("tune", 175), ("virtualport", 176), ("vlan", 177)] },
    // 57: /domain/devices/iommu
    SchemaNode { open: false, attrs: &["model"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("driver", 178)] },
    // 58: /domain/devices/lease
    SchemaNode { open: false, attrs: &[], children: &[("key", 2), ("lockspace", 2), ("target", 179)] },
    // 59: /domain/devices/memballoon
    SchemaNode { open: false, attrs: &["autodeflate", "freePageReporting", "model"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("driver", 131), ("stats", 180)] },
    // 60: /domain/devices/memory
    SchemaNode { open: false, attrs: &["access", "discard", "model"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("source", 181), ("target", 182), ("uuid", 2)] },
    // 61: /domain/devices/nvram
    SchemaNode { open: false, attrs: &[], children: &[("address", 121)] },
    // 62: /domain/devices/panic
    SchemaNode { open: false, attrs: &["model"], children: &[("address", 121), ("alias", 102)] },
    // 63: /domain/devices/pstore
    SchemaNode { open: false, attrs: &["backend"], children: &[("address", 121), ("alias", 102), ("path", 2), ("size", 6)] },
    // 64: /domain/devices/redirdev
    SchemaNode { open: false, attrs: &["bus", "type"], children: &[("address", 121), ("alias", 102), ("boot", 135), ("log", 122), ("protocol", 94), ("source", 123)] },
    // 65: /domain/devices/redirfilter
    SchemaNode { open: false, attrs: &[], children: &[("usbdev", 183)] },
    // 66: /domain/devices/rng
    SchemaNode { open: false, attrs: &["model"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("backend", 184), ("driver", 131), ("rate", 185)] },
    // 67: /domain/devices/shmem
    SchemaNode { open: false, attrs: &["name", "role"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("model", 94), ("msi", 186), ("server", 165), ("size", 6)] },
    // 68: /domain/devices/smartcard
    SchemaNode { open: false, attrs: &["mode", "type"], children: &[("acpi", 125), ("address", 121), ("certificate", 2), ("database", 2), ("log", 122), ("protocol", 94), ("source", 123), ("target", 126)] },
    // 69: /domain/devices/sound
    SchemaNode { open: false, attrs: &["model", "multichannel", "streams"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("audio", 148), ("codec", 94), ("driver", 131)] },
    // 70: /domain/devices/tpm
    SchemaNode { open: false, attrs: &["model"], children: &[("address", 121), ("alias", 102), ("backend", 187)] },
    // 71: /domain/devices/video
    SchemaNode { open: false, attrs: &[], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("driver", 188), ("model", 189)] },
    // 72: /domain/devices/vsock
    SchemaNode { open: false, attrs: &["model"], children: &[("acpi", 125), ("address", 121), ("alias", 102), ("cid", 190), ("driver", 131)] },
    // 73: /domain/devices/watchdog
    SchemaNode { open: false, attrs: &["action", "model"], children: &[("acpi", 125), ("address", 121), ("alias", 102)] },
    // 74: /domain/features/aia
    SchemaNode { open: false, attrs: &["value"], children: &[] },
    // 75: /domain/features/apic
    SchemaNode { open: false, attrs: &["eoi"], children: &[] },
    // 76: /domain/features/async-teardown
    SchemaNode { open: false, attrs: &["enabled"], children: &[] },
    // 77: /domain/features/capabilities
    SchemaNode { open: false, attrs: &["policy"], children: &[("audit_control", 78), ("audit_write", 78), ("block_suspend", 78), ("chown", 78), ("dac_override", 78), ("dac_read_search", 78), ("fowner", 78), ("fsetid", 78), ("ipc_lock", 78), ("ipc_owner", 78), ("kill", 78), ("lease", 78), ("linux_immutable", 78), ("mac_admin", 78), ("mac_override", 78), ("mknod", 78), ("net_admin", 78), ("net_bind_service", 78), ("net_broadcast", 78), ("net_raw", 78), ("setfcap", 78), ("setgid", 78), ("setpcap", 78), ("setuid", 78), ("sys_admin", 78), ("sys_boot", 78), ("sys_chroot", 78), ("sys_module", 78), ("sys_nice", 78), ("sys_pacct", 78), ("sys_ptrace", 78), ("sys_rawio", 78), ("sys_resource", 78), ("sys_time", 78), ("sys_tty_config", 78), ("syslog", 78), ("wake_alarm", 78)] },
    // 78: /domain/features/ccf-assist
    SchemaNode { open: false, attrs: &["state"], children: &[] },
    // 79: /domain/features/gic
    SchemaNode { open: false, attrs: &["version"], children: &[] },
    // 80: /domain/features/hpt
    SchemaNode { open: false, attrs: &["resizing"], children: &[("maxpagesize", 6)] },
    // 81: /domain/features/hyperv
    SchemaNode { open: false, attrs: &["mode"], children: &[("avic", 78), ("emsr_bitmap", 78), ("evmcs", 78), ("frequencies", 78), ("ipi", 78), ("reenlightenment", 78), ("relaxed", 78), ("reset", 78), ("runtime", 78), ("spinlocks", 191), ("stimer", 192), ("synic", 78), ("tlbflush", 193), ("vapic", 78), ("vendor_id", 194), ("vpindex", 78), ("xmm_input", 78)] },
    // 82: /domain/features/ioapic
    SchemaNode { open: false, attrs: &["driver"], children: &[] },
    // 83: /domain/features/kvm
    SchemaNode { open: false, attrs: &[], children: &[("dirty-ring", 195), ("hidden", 78), ("hint-dedicated", 78), ("poll-control", 78), ("pv-ipi", 78)] },
    // 84: /domain/features/msrs
    SchemaNode { open: false, attrs: &["unknown"], children: &[] },
    // 85: /domain/features/smm
    SchemaNode { open: false, attrs: &["state"], children: &[("tseg", 6)] },
    // 86: /domain/features/tcg
    SchemaNode { open: false, attrs: &[], children: &[("tb-cache", 6)] },
    // 87: /domain/features/xen
    SchemaNode { open: false, attrs: &[], children: &[("e820_host", 78), ("passthrough", 196)] },
    // 88: /domain/idmap/gid
    SchemaNode { open: false, attrs: &["count", "start", "target"], children: &[] },
    // 89: /domain/iothreadids/iothread
    SchemaNode { open: false, attrs: &["id", "thread_pool_max", "thread_pool_min"], children: &[("poll", 197)] },
    // 90: /domain/keywrap/cipher
    SchemaNode { open: false, attrs: &["name", "state"], children: &[] },
    // 91: /domain/memoryBacking/access
    SchemaNode { open: false, attrs: &["mode"], children: &[] },
    // 92: /domain/memoryBacking/allocation
    SchemaNode { open: false, attrs: &["mode", "threads"], children: &[] },
    // 93: /domain/memoryBacking/hugepages
    SchemaNode { open: false, attrs: &[], children: &[("page", 198)] },
    // 94: /domain/memoryBacking/source
    SchemaNode { open: false, attrs: &["type"], children: &[] },
    // 95: /domain/numatune/memnode
    SchemaNode { open: false, attrs: &["cellid", "mode", "nodeset"], children: &[] },
    // 96: /domain/numatune/memory
    SchemaNode { open: false, attrs: &["mode", "nodeset", "placement"], children: &[] },
    // 97: /domain/os/acpi
    SchemaNode { open: false, attrs: &[], children: &[("table", 94)] },
    // 98: /domain/os/bios
    SchemaNode { open: false, attrs: &["rebootTimeout", "useserial"], children: &[] },
    // 99: /domain/os/boot
    SchemaNode { open: false, attrs: &["dev"], children: &[] },
    // 100: /domain/os/bootmenu
    SchemaNode { open: false, attrs: &["enable", "timeout"], children: &[] },
    // 101: /domain/os/firmware
    SchemaNode { open: false, attrs: &[], children: &[("feature", 106)] },
    // 102: /domain/os/initenv
    SchemaNode { open: false, attrs: &["name"], children: &[] },
    // 103: /domain/os/loader
    SchemaNode { open: false, attrs: &["format", "readonly", "secure", "stateless", "type"], children: &[] },
    // 104: /domain/os/nvram
    SchemaNode { open: false, attrs: &["format", "template", "templateFormat", "type"], children: &[("source", 140)] },
    // 105: /domain/os/type
    SchemaNode { open: false, attrs: &["arch", "machine"], children: &[] },
    // 106: /domain/perf/event
    SchemaNode { open: false, attrs: &["enabled", "name"], children: &[] },
    // 107: /domain/resource/fibrechannel
    SchemaNode { open: false, attrs: &["appid"], children: &[] },
    // 108: /domain/sysinfo/baseBoard
    SchemaNode { open: false, attrs: &[], children: &[("entry", 102)] },
    // 109: /domain/sysinfo/entry
    SchemaNode { open: false, attrs: &["file", "name"], children: &[] },
    // 110: /domain/sysinfo/oemStrings
    SchemaNode { open: false, attrs: &[], children: &[("entry", 2)] },
    // 111: /domain/throttlegroups/throttlegroup
    SchemaNode { open: false, attrs: &[], children: &[("group_name", 2), ("read_bytes_sec", 2), ("read_bytes_sec_max", 2), ("read_bytes_sec_max_length", 2), ("read_iops_sec", 2), ("read_iops_sec_max", 2), ("read_iops_sec_max_length", 2), ("size_iops_sec", 2), ("total_bytes_sec", 2), ("total_bytes_sec_max", 2), ("total_bytes_sec_max_length", 2), ("total_iops_sec", 2), ("total_iops_sec_max", 2), ("total_iops_sec_max_length", 2), ("write_bytes_sec", 2), ("write_bytes_sec_max", 2), ("write_bytes_sec_max_length", 2), ("write_iops_sec", 2), ("write_iops_sec_max", 2), ("write_iops_sec_max_length", 2)] },
    // 112: /domain/vcpus/vcpu
    SchemaNode { open: false, attrs: &["enabled", "hotpluggable", "id", "order"], children: &[] },
    // 113: /domain/clock/timer/catchup
    SchemaNode { open: false, attrs: &["limit", "slew", "threshold"], children: &[] },
    // 114: /domain/cpu/numa/cell
    SchemaNode { open: false, attrs: &["cpus", "discard", "id", "memAccess", "memory", "unit"], children: &[("cache", 199), ("distances", 200)] },
    // 115: /domain/cpu/numa/interconnects
    SchemaNode { open: false, attrs: &[], children: &[("bandwidth", 201), ("latency", 202)] },
    // 116: /domain/cputune/cachetune/cache
    SchemaNode { open: false, attrs: &["id", "level", "size", "type", "unit"], children: &[] },
    // 117: /domain/cputune/cachetune/monitor
    SchemaNode { open: false, attrs: &["level", "vcpus"], children: &[] },
    // 118: /domain/cputune/memorytune/monitor
    SchemaNode { open: false, attrs: &["vcpus"], children: &[] },
    // 119: /domain/cputune/memorytune/node
    SchemaNode { open: false, attrs: &["bandwidth", "id"], children: &[] },
    // 120: /domain/devices/audio/input
    SchemaNode { open: false, attrs: &["bufferCount", "bufferLength", "clientName", "connectPorts", "dev", "exactName", "fixedSettings", "latency", "mixingEngine", "name", "serverName", "streamName", "tryPoll", "voices"], children: &[("settings", 203)] },
    // 121: /domain/devices/channel/address
    SchemaNode { open: false, attrs: &["base", "bus", "controller", "cssid", "devno", "domain", "function", "iobase", "irq", "multifunction", "port", "reg", "slot", "ssid", "target", "type", "unit"], children: &[("zpci", 204)] },
    // 122: /domain/devices/channel/log
    SchemaNode { open: false, attrs: &["append", "file"], children: &[] },
    // 123: /domain/devices/channel/source
    SchemaNode { open: false, attrs: &["append", "channel", "host", "master", "mode", "path", "service", "slave", "tls"], children: &[("clipboard", 150), ("mouse", 91), ("reconnect", 205), ("seclabel", 206)] },
    // 124: /domain/devices/channel/target
    SchemaNode { open: false, attrs: &["address", "name", "port", "state", "type"], children: &[] },
    // 125: /domain/devices/console/acpi
    SchemaNode { open: false, attrs: &["index"], children: &[] },
    // 126: /domain/devices/console/target
    SchemaNode { open: false, attrs: &["port", "type"], children: &[("model", 102)] },
    // 127: /domain/devices/controller/driver
    SchemaNode { open: false, attrs: &["ats", "cmd_per_lun", "ioeventfd", "iommu", "iothread", "max_sectors", "packed", "page_per_vq", "queues"], children: &[("iothreads", 207)] },
    // 128: /domain/devices/controller/master
    SchemaNode { open: false, attrs: &["startport"], children: &[] },
    // 129: /domain/devices/controller/target
    SchemaNode { open: false, attrs: &["busNr", "chassis", "chassisNr", "hotplug", "index", "memReserve", "port"], children: &[("node", 2)] },
    // 130: /domain/devices/crypto/backend
    SchemaNode { open: false, attrs: &["model", "queues"], children: &[] },
    // 131: /domain/devices/crypto/driver
    SchemaNode { open: false, attrs: &["ats", "iommu", "packed", "page_per_vq"], children: &[] },
    // 132: /domain/devices/disk/auth
    SchemaNode { open: false, attrs: &["username"], children: &[("secret", 208)] },
    // 133: /domain/devices/disk/backingStore
    SchemaNode { open: false, attrs: &["index", "type"], children: &[("backingStore", 133), ("format", 209), ("source", 140)] },
    // 134: /domain/devices/disk/blockio
    SchemaNode { open: false, attrs: &["discard_granularity", "logical_block_size", "physical_block_size"], children: &[] },
    // 135: /domain/devices/disk/boot
    SchemaNode { open: false, attrs: &["loadparm", "order"], children: &[] },
    // 136: /domain/devices/disk/driver
    SchemaNode { open: false, attrs: &["ats", "cache", "copy_on_read", "detect_zeroes", "discard", "discard_no_unref", "error_policy", "event_idx", "io", "ioeventfd", "iommu", "iothread", "name", "packed", "page_per_vq", "queue_size", "queues", "rerror_policy", "type"], children: &[("iothreads", 207), ("metadata_cache", 210)] },
    // 137: /domain/devices/disk/encryption
    SchemaNode { open: false, attrs: &["engine", "format"], children: &[("cipher", 211), ("ivgen", 212), ("secret", 208)] },
    // 138: /domain/devices/disk/geometry
    SchemaNode { open: false, attrs: &["cyls", "heads", "secs", "trans"], children: &[] },
    // 139: /domain/devices/disk/mirror
    SchemaNode { open: false, attrs: &["file", "format", "job", "ready", "type"], children: &[("backingStore", 133), ("format", 209), ("source", 140)] },
    // 140: /domain/devices/disk/source
    SchemaNode { open: false, attrs: &["dev", "dir", "fdgroup", "file", "index", "managed", "mode", "name", "namespace", "path", "pool", "protocol", "query", "startupPolicy", "tls", "tlsHostname", "type", "volume"], children: &[("address", 213), ("auth", 132), ("config", 214), ("cookies", 215), ("dataStore", 216), ("encryption", 137), ("host", 217), ("identity", 218), ("initiator", 219), ("knownHosts", 165), ("privateData", 2), ("readahead", 170), ("reconnect", 205), ("reservations", 220), ("seclabel", 206), ("slices", 221), ("snapshot", 102), ("ssl", 222), ("timeout", 223)] },
    // 141: /domain/devices/disk/target
    SchemaNode { open: false, attrs: &["bus", "dev", "removable", "rotation_rate", "tray"], children: &[] },
    // 142: /domain/devices/disk/throttlefilters
    SchemaNode { open: false, attrs: &[], children: &[("throttlefilter", 224)] },
    // 143: /domain/devices/disk/transient
    SchemaNode { open: false, attrs: &["shareBacking"], children: &[] },
    // 144: /domain/devices/filesystem/binary
    SchemaNode { open: false, attrs: &["path", "xattr"], children: &[("cache", 91), ("lock", 225), ("openfiles", 226), ("sandbox", 91), ("thread_pool", 170)] },
    // 145: /domain/devices/filesystem/driver
    SchemaNode { open: false, attrs: &["ats", "format", "iommu", "packed", "page_per_vq", "queue", "type", "wrpolicy"], children: &[] },
    // 146: /domain/devices/filesystem/source
    SchemaNode { open: false, attrs: &["dev", "dir", "file", "name", "socket", "units", "usage"], children: &[] },
    // 147: /domain/devices/filesystem/target
    SchemaNode { open: false, attrs: &["dir"], children: &[] },
    // 148: /domain/devices/graphics/audio
    SchemaNode { open: false, attrs: &["id"], children: &[] },
    // 149: /domain/devices/graphics/channel
    SchemaNode { open: false, attrs: &["mode", "name"], children: &[] },
    // 150: /domain/devices/graphics/clipboard
    SchemaNode { open: false, attrs: &["copypaste"], children: &[] },
    // 151: /domain/devices/graphics/filetransfer
    SchemaNode { open: false, attrs: &["enable"], children: &[] },
    // 152: /domain/devices/graphics/gl
    SchemaNode { open: false, attrs: &["enable", "rendernode"], children: &[] },
    // 153: /domain/devices/graphics/image
    SchemaNode { open: false, attrs: &["compression"], children: &[] },
    // 154: /domain/devices/graphics/listen
    SchemaNode { open: false, attrs: &["address", "network", "socket", "type"], children: &[] },
    // 155: /domain/devices/hostdev/driver
    SchemaNode { open: false, attrs: &["model", "name"], children: &[] },
    // 156: /domain/devices/hostdev/ip
    SchemaNode { open: false, attrs: &["address", "family", "peer", "prefix"], children: &[] },
    // 157: /domain/devices/hostdev/rom
    SchemaNode { open: false, attrs: &["bar", "enabled", "file"], children: &[] },
    // 158: /domain/devices/hostdev/route
    SchemaNode { open: false, attrs: &["address", "family", "gateway", "metric", "netmask", "prefix"], children: &[] },
    // 159: /domain/devices/hostdev/source
    SchemaNode { open: false, attrs: &["guestReset", "name", "protocol", "startupPolicy", "writeFiltering", "wwpn"], children: &[("adapter", 227), ("address", 228), ("auth", 132), ("block", 2), ("char", 2), ("host", 229), ("initiator", 219), ("interface", 2), ("product", 148), ("vendor", 148)] },
    // 160: /domain/devices/hostdev/teaming
    SchemaNode { open: false, attrs: &["persistent", "type"], children: &[] },
    // 161: /domain/devices/input/source
    SchemaNode { open: false, attrs: &["dev", "evdev", "grab", "grabToggle", "repeat"], children: &[] },
    // 162: /domain/devices/interface/backend
    SchemaNode { open: false, attrs: &["logFile", "tap", "type", "vhost"], children: &[] },
    // 163: /domain/devices/interface/bandwidth
    SchemaNode { open: false, attrs: &["classID"], children: &[("inbound", 230), ("outbound", 230)] },
    // 164: /domain/devices/interface/coalesce
    SchemaNode { open: false, attrs: &[], children: &[("rx", 231)] },
    // 165: /domain/devices/interface/downscript
    SchemaNode { open: false, attrs: &["path"], children: &[] },
    // 166: /domain/devices/interface/driver
    SchemaNode { open: false, attrs: &["ats", "event_idx", "ioeventfd", "iommu", "model", "name", "packed", "page_per_vq", "queues", "rss", "rss_hash_report", "rx_queue_size", "tx_queue_size", "txmode"], children: &[("guest", 232), ("host", 233)] },
    // 167: /domain/devices/interface/filterref
    SchemaNode { open: false, attrs: &["filter"], children: &[("parameter", 234)] },
    // 168: /domain/devices/interface/guest
    SchemaNode { open: false, attrs: &["actual", "dev"], children: &[] },
    // 169: /domain/devices/interface/mac
    SchemaNode { open: false, attrs: &["address", "check", "currentAddress", "type"], children: &[] },
    // 170: /domain/devices/interface/mtu
    SchemaNode { open: false, attrs: &["size"], children: &[] },
    // 171: /domain/devices/interface/port
    SchemaNode { open: false, attrs: &["isolated"], children: &[] },
    // 172: /domain/devices/interface/portForward
    SchemaNode { open: false, attrs: &["address", "dev", "proto"], children: &[("range", 235)] },
    // 173: /domain/devices/interface/source
    SchemaNode { open: false, attrs: &["address", "bridge", "connectionid", "dev", "macTableManager", "missing", "mode", "name", "network", "path", "port", "portgroup", "portgroupid", "portid", "switchid", "type"], children: &[("address", 236), ("ip", 156), ("local", 237), ("product", 148), ("reconnect", 205), ("route", 158), ("vendor", 148)] },
    // 174: /domain/devices/interface/target
    SchemaNode { open: false, attrs: &["dev", "managed"], children: &[] },
    // 175: /domain/devices/interface/tune
    SchemaNode { open: false, attrs: &[], children: &[("sndbuf", 2)] },
    // 176: /domain/devices/interface/virtualport
    SchemaNode { open: false, attrs: &["type"], children: &[("parameters", 238)] },
    // 177: /domain/devices/interface/vlan
    SchemaNode { open: false, attrs: &["trunk"], children: &[("tag", 239)] },
    // 178: /domain/devices/iommu/driver
    SchemaNode { open: false, attrs: &["aw_bits", "caching_mode", "dma_translation", "eim", "intremap", "iotlb"], children: &[] },
    // 179: /domain/devices/lease/target
    SchemaNode { open: false, attrs: &["offset", "path"], children: &[] },
    // 180: /domain/devices/memballoon/stats
    SchemaNode { open: false, attrs: &["period"], children: &[] },
    // 181: /domain/devices/memory/source
    SchemaNode { open: false, attrs: &[], children: &[("alignsize", 6), ("nodemask", 2), ("pagesize", 6), ("path", 2), ("pmem", 2)] },
    // 182: /domain/devices/memory/target
    SchemaNode { open: false, attrs: &["dynamicMemslots"], children: &[("address", 240), ("block", 6), ("current", 6), ("label", 241), ("node", 2), ("readonly", 2), ("requested", 6), ("size", 6)] },
    // 183: /domain/devices/redirfilter/usbdev
    SchemaNode { open: false, attrs: &["allow", "class", "product", "vendor", "version"], children: &[] },
    // 184: /domain/devices/rng/backend
    SchemaNode { open: false, attrs: &["model", "type"], children: &[("log", 122), ("protocol", 94), ("source", 123)] },
    // 185: /domain/devices/rng/rate
    SchemaNode { open: false, attrs: &["bytes", "period"], children: &[] },
    // 186: /domain/devices/shmem/msi
    SchemaNode { open: false, attrs: &["ioeventfd", "vectors"], children: &[] },
    // 187: /domain/devices/tpm/backend
    SchemaNode { open: false, attrs: &["debug", "persistent_state", "type", "version"], children: &[("active_pcr_banks", 242), ("device", 165), ("encryption", 243), ("profile", 244), ("source", 245)] },
    // 188: /domain/devices/video/driver
    SchemaNode { open: false, attrs: &["ats", "iommu", "name", "packed", "page_per_vq", "vgaconf"], children: &[] },
    // 189: /domain/devices/video/model
    SchemaNode { open: false, attrs: &["blob", "heads", "primary", "ram", "type", "vgamem", "vram", "vram64"], children: &[("acceleration", 246), ("resolution", 247)] },
    // 190: /domain/devices/vsock/cid
    SchemaNode { open: false, attrs: &["address", "auto"], children: &[] },
    // 191: /domain/features/hyperv/spinlocks
    SchemaNode { open: false, attrs: &["retries", "state"], children: &[] },
    // 192: /domain/features/hyperv/stimer
    SchemaNode { open: false, attrs: &["state"], children: &[("direct", 78)] },
    // 193: /domain/features/hyperv/tlbflush
    SchemaNode { open: false, attrs: &["state"], children: &[("direct", 78), ("extended", 78)] },
    // 194: /domain/features/hyperv/vendor_id
    SchemaNode { open: false, attrs: &["state", "value"], children: &[] },
    // 195: /domain/features/kvm/dirty-ring
    SchemaNode { open: false, attrs: &["size", "state"], children: &[] },
    // 196: /domain/features/xen/passthrough
    SchemaNode { open: false, attrs: &["mode", "state"], children: &[] },
    // 197: /domain/iothreadids/iothread/poll
    SchemaNode { open: false, attrs: &["grow", "max", "shrink"], children: &[] },
    // 198: /domain/memoryBacking/hugepages/page
    SchemaNode { open: false, attrs: &["nodeset", "size", "unit"], children: &[] },
    // 199: /domain/cpu/numa/cell/cache
    SchemaNode { open: false, attrs: &["associativity", "level", "policy"], children: &[("line", 248), ("size", 248)] },
    // 200: /domain/cpu/numa/cell/distances
    SchemaNode { open: false, attrs: &[], children: &[("sibling", 249)] },
    // 201: /domain/cpu/numa/interconnects/bandwidth
    SchemaNode { open: false, attrs: &["cache", "initiator", "target", "type", "unit", "value"], children: &[] },
    // 202: /domain/cpu/numa/interconnects/latency
    SchemaNode { open: false, attrs: &["cache", "initiator", "target", "type", "value"], children: &[] },
    // 203: /domain/devices/audio/input/settings
    SchemaNode { open: false, attrs: &["channels", "format", "frequency"], children: &[] },
    // 204: /domain/devices/channel/address/zpci
    SchemaNode { open: false, attrs: &["fid", "uid"], children: &[] },
    // 205: /domain/devices/channel/source/reconnect
    SchemaNode { open: false, attrs: &["delay", "enabled", "timeout"], children: &[] },
    // 206: /domain/devices/channel/source/seclabel
    SchemaNode { open: false, attrs: &["labelskip", "model", "relabel"], children: &[("label", 2)] },
    // 207: /domain/devices/controller/driver/iothreads
    SchemaNode { open: false, attrs: &[], children: &[("iothread", 250)] },
    // 208: /domain/devices/disk/auth/secret
    SchemaNode { open: false, attrs: &["type", "usage", "uuid"], children: &[] },
    // 209: /domain/devices/disk/backingStore/format
    SchemaNode { open: false, attrs: &["type"], children: &[("metadata_cache", 210)] },
    // 210: /domain/devices/disk/driver/metadata_cache
    SchemaNode { open: false, attrs: &[], children: &[("max_size", 6)] },
    // 211: /domain/devices/disk/encryption/cipher
    SchemaNode { open: false, attrs: &["hash", "mode", "name", "size"], children: &[] },
    // 212: /domain/devices/disk/encryption/ivgen
    SchemaNode { open: false, attrs: &["hash", "name"], children: &[] },
    // 213: /domain/devices/disk/source/address
    SchemaNode { open: false, attrs: &["bus", "domain", "function", "multifunction", "slot"], children: &[] },
    // 214: /domain/devices/disk/source/config
    SchemaNode { open: false, attrs: &["file"], children: &[] },
    // 215: /domain/devices/disk/source/cookies
    SchemaNode { open: false, attrs: &[], children: &[("cookie", 102)] },
    // 216: /domain/devices/disk/source/dataStore
    SchemaNode { open: false, attrs: &["type"], children: &[("format", 209), ("source", 140)] },
    // 217: /domain/devices/disk/source/host
    SchemaNode { open: false, attrs: &["name", "port", "socket", "transport"], children: &[] },
    // 218: /domain/devices/disk/source/identity
    SchemaNode { open: false, attrs: &["agentsock", "group", "keyfile", "user", "username"], children: &[] },
    // 219: /domain/devices/disk/source/initiator
    SchemaNode { open: false, attrs: &[], children: &[("iqn", 102)] },
    // 220: /domain/devices/disk/source/reservations
    SchemaNode { open: false, attrs: &["managed"], children: &[("source", 251)] },
    // 221: /domain/devices/disk/source/slices
    SchemaNode { open: false, attrs: &[], children: &[("slice", 252)] },
    // 222: /domain/devices/disk/source/ssl
    SchemaNode { open: false, attrs: &["verify"], children: &[] },
    // 223: /domain/devices/disk/source/timeout
    SchemaNode { open: false, attrs: &["seconds"], children: &[] },
    // 224: /domain/devices/disk/throttlefilters/throttlefilter
    SchemaNode { open: false, attrs: &["group"], children: &[] },
    // 225: /domain/devices/filesystem/binary/lock
    SchemaNode { open: false, attrs: &["flock", "posix"], children: &[] },
    // 226: /domain/devices/filesystem/binary/openfiles
    SchemaNode { open: false, attrs: &["max"], children: &[] },
    // 227: /domain/devices/hostdev/source/adapter
    SchemaNode { open: false, attrs: &["managed", "name", "parent", "parent_fabric_wwn", "parent_wwnn", "parent_wwpn", "type", "wwnn", "wwpn"], children: &[("parentaddr", 253)] },
    // 228: /domain/devices/hostdev/source/address
    SchemaNode { open: false, attrs: &["bus", "device", "domain", "function", "multifunction", "slot", "target", "unit", "uuid"], children: &[] },
    // 229: /domain/devices/hostdev/source/host
    SchemaNode { open: false, attrs: &["name", "port"], children: &[] },
    // 230: /domain/devices/interface/bandwidth/inbound
    SchemaNode { open: false, attrs: &["average", "burst", "floor", "peak"], children: &[] },
    // 231: /domain/devices/interface/coalesce/rx
    SchemaNode { open: false, attrs: &[], children: &[("frames", 226)] },
    // 232: /domain/devices/interface/driver/guest
    SchemaNode { open: false, attrs: &["csum", "ecn", "tso4", "tso6", "ufo"], children: &[] },
    // 233: /domain/devices/interface/driver/host
    SchemaNode { open: false, attrs: &["csum", "ecn", "gso", "mrg_rxbuf", "tso4", "tso6", "ufo"], children: &[] },
    // 234: /domain/devices/interface/filterref/parameter
    SchemaNode { open: false, attrs: &["name", "value"], children: &[] },
    // 235: /domain/devices/interface/portForward/range
    SchemaNode { open: false, attrs: &["end", "exclude", "start", "to"], children: &[] },
    // 236: /domain/devices/interface/source/address
    SchemaNode { open: false, attrs: &["bus", "device", "domain", "function", "multifunction", "slot", "type"], children: &[] },
    // 237: /domain/devices/interface/source/local
    SchemaNode { open: false, attrs: &["address", "port"], children: &[] },
    // 238: /domain/devices/interface/virtualport/parameters
    SchemaNode { open: false, attrs: &["instanceid", "interfaceid", "managerid", "profileid", "typeid", "typeidversion"], children: &[] },
    // 239: /domain/devices/interface/vlan/tag
    SchemaNode { open: false, attrs: &["id", "nativeMode"], children: &[] },
    // 240: /domain/devices/memory/target/address
    SchemaNode { open: false, attrs: &["base"], children: &[] },
    // 241: /domain/devices/memory/target/label
    SchemaNode { open: false, attrs: &[], children: &[("size", 6)] },
    // 242: /domain/devices/tpm/backend/active_pcr_banks
    SchemaNode { open: false, attrs: &[], children: &[("sha1", 2), ("sha256", 2), ("sha384", 2), ("sha512", 2)] },
    // 243: /domain/devices/tpm/backend/encryption
    SchemaNode { open: false, attrs: &["secret"], children: &[] },
    // 244: /domain/devices/tpm/backend/profile
    SchemaNode { open: false, attrs: &["name", "removeDisabled", "source"], children: &[] },
    // 245: /domain/devices/tpm/backend/source
    SchemaNode { open: false, attrs: &["mode", "path", "type"], children: &[] },
    // 246: /domain/devices/video/model/acceleration
    SchemaNode { open: false, attrs: &["accel2d", "accel3d", "rendernode"], children: &[] },
    // 247: /domain/devices/video/model/resolution
    SchemaNode { open: false, attrs: &["x", "y"], children: &[] },
    // 248: /domain/cpu/numa/cell/cache/line
    SchemaNode { open: false, attrs: &["unit", "value"], children: &[] },
    // 249: /domain/cpu/numa/cell/distances/sibling
    SchemaNode { open: false, attrs: &["id", "value"], children: &[] },
    // 250: /domain/devices/controller/driver/iothreads/iothread
    SchemaNode { open: false, attrs: &["id"], children: &[("queue", 148)] },
    // 251: /domain/devices/disk/source/reservations/source
    SchemaNode { open: false, attrs: &["mode", "path", "type"], children: &[("reconnect", 205)] },
    // 252: /domain/devices/disk/source/slices/slice
    SchemaNode { open: false, attrs: &["offset", "size", "type"], children: &[] },
    // 253: /domain/devices/hostdev/source/adapter/parentaddr
    SchemaNode { open: false, attrs: &["unique_id"], children: &[("address", 213)] },
];
