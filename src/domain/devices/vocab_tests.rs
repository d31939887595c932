//! The typed device vocabulary, table-driven: each accepted form round trips
//! byte for byte, each refused one is a positioned parse error that names
//! the value and what is accepted.

use super::*;
use crate::domain::Domain;

fn wrap(devices: &str) -> String {
    format!(
        "<domain type='lxc'>\n  <name>v</name>\n  <os>\n    <type>exe</type>\n  </os>\n  <devices>\n{devices}  </devices>\n</domain>\n"
    )
}

fn parse(devices: &str) -> Result<Domain, String> {
    Domain::parse(wrap(devices).as_bytes()).map_err(|e| e.to_string())
}

/// Devices as printed by libvirt (four-space indent, one per line).
const ROUND_TRIPS: &[&str] = &[
    "    <hostdev mode='capabilities' type='storage'>\n      <source>\n        <block>/dev/sdf1</block>\n      </source>\n    </hostdev>\n",
    "    <hostdev mode='capabilities' type='misc'>\n      <source>\n        <char>/dev/tty0</char>\n      </source>\n    </hostdev>\n",
    "    <hostdev mode='capabilities' type='net'>\n      <source>\n        <interface>eth1</interface>\n      </source>\n      <ip address='10.0.0.2' family='ipv4' prefix='24'/>\n      <route family='ipv4' address='192.168.7.0' netmask='255.255.255.0' gateway='10.0.0.1' metric='5'/>\n    </hostdev>\n",
    "    <hostdev mode='subsystem' type='pci' managed='no'>\n      <source>\n        <address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/>\n      </source>\n    </hostdev>\n",
    "    <console type='tcp'>\n      <source mode='bind' host='0.0.0.0' service='2445'/>\n    </console>\n",
    "    <serial type='qemu-vdagent'/>\n",
    "    <interface type='bridge'>\n      <mac address='52:54:00:aa:bb:cc'/>\n      <source bridge='br0'/>\n      <ip address='fd00::5' family='ipv6' prefix='64' peer='fd00::1'/>\n      <route family='ipv6' address='fd01::' prefix='48' gateway='fd00::1'/>\n    </interface>\n",
    "    <interface type='direct'>\n      <mac address='52:54:00:aa:bb:cd'/>\n      <source dev='eno1' mode='bridge'/>\n      <link state='down'/>\n    </interface>\n",
    "    <filesystem type='file' accessmode='passthrough'>\n      <driver type='nbd' format='qcow2'/>\n      <source file='/a.qcow2'/>\n      <target dir='/a'/>\n    </filesystem>\n",
    "    <filesystem type='volume' accessmode='passthrough'>\n      <source pool='p' volume='v'/>\n      <target dir='/v'/>\n    </filesystem>\n",
    // Another type's form is kept as written, for validation to name.
    "    <filesystem type='mount' accessmode='passthrough'>\n      <source file='/c.img'/>\n      <target dir='/'/>\n    </filesystem>\n",
    "    <filesystem type='volume' accessmode='passthrough'>\n      <source pool='p'/>\n      <target dir='/v'/>\n    </filesystem>\n",
    "    <filesystem type='block' accessmode='passthrough'>\n      <source dev='/dev/sdb1' usage='5' units='MiB'/>\n      <target dir='/b'/>\n    </filesystem>\n",
];

#[test]
fn typed_devices_round_trip_byte_for_byte() {
    for devices in ROUND_TRIPS {
        let d = parse(devices).unwrap_or_else(|e| panic!("{devices}: {e}"));
        assert_eq!(d.format(), wrap(devices));
    }
}

#[test]
fn typed_values_are_read_into_their_types() {
    let d = parse(ROUND_TRIPS[2]).unwrap();
    let h = d.devices.hostdevs().next().unwrap();
    assert_eq!(h.kind, HostdevKind::Capabilities(HostdevCapsType::Net));
    assert!(h.is_net());
    assert_eq!(h.kind.mode(), HostdevMode::Capabilities);
    assert_eq!(h.ips[0].prefix_len(), 24);
    assert_eq!(h.routes[0].prefix_len(), Some(24));
    let d = parse(ROUND_TRIPS[10]).unwrap();
    let fs = d.devices.filesystems().next().unwrap();
    assert_eq!(fs.source, FsSource::Missing);
    assert_eq!(fs.source_extras.attrs[0].name, "file");
}

#[test]
fn bad_values_are_positioned_parse_errors() {
    for (devices, says) in [
        (
            "<hostdev mode='capabilities' type='usb'/>",
            "7:30: /domain/devices/hostdev[1]: invalid value 'usb' for attribute 'type': expected one of storage, misc, net",
        ),
        (
            "<hostdev mode='subsys' type='usb'/>",
            "invalid value 'subsys' for attribute 'mode': expected one of subsystem, capabilities",
        ),
        (
            "<hostdev type='net'/>",
            "invalid value 'net' for attribute 'type': expected one of usb, pci, scsi, scsi_host, mdev",
        ),
        (
            "<console type='ptty'/>",
            "invalid value 'ptty' for attribute 'type'",
        ),
        (
            "<interface type='bridge'><mac address='52:54:00:aa:bb'/></interface>",
            "/domain/devices/interface[1]/mac: invalid value '52:54:00:aa:bb' for attribute 'address': expected a MAC address",
        ),
        (
            "<interface type='bridge'><ip address='fd00::1' prefix='129'/></interface>",
            "invalid value '129' for attribute 'prefix': expected a prefix length from 0 to 128 (ipv6)",
        ),
        (
            "<interface type='bridge'><ip address='10.0.0.1' family='ipv5'/></interface>",
            "invalid value 'ipv5' for attribute 'family'",
        ),
        (
            "<interface type='bridge'><route address='10.1.0.0' netmask='255.0.255.0'/></interface>",
            "expected a contiguous IPv4 netmask",
        ),
        (
            "<interface type='bridge'><route gateway='10.0.0.x'/></interface>",
            "invalid value '10.0.0.x' for attribute 'gateway': expected an IPv4 or IPv6 address",
        ),
        (
            "<interface type='direct'><source dev='eno1' mode='vepaa'/></interface>",
            "invalid value 'vepaa' for attribute 'mode': expected one of vepa, bridge",
        ),
        (
            "<interface type='direct'><link state='off'/></interface>",
            "invalid value 'off' for attribute 'state': expected one of up, down",
        ),
        (
            "<filesystem type='file'><driver format='qcow3'/><source file='/a'/></filesystem>",
            "invalid value 'qcow3' for attribute 'format'",
        ),
    ] {
        let e = parse(&format!("{devices}\n")).unwrap_err();
        assert!(e.contains(says), "{devices}:\n  got  {e}\n  want {says}");
    }
}
