//! Property: for random valid-ish domain documents (512 per run), formatting
//! is a fixed point (`format(parse(format(x))) == format(x)`), and nothing
//! domrun does not model is lost: every unknown element and attribute
//! inserted by the generator, and the foreign-namespace metadata, is in the
//! output.
//!
//! The generator writes XML text directly (not through domrun's writer), with
//! XML-special characters (`< & ' " >`), white space and non-ASCII text in
//! init arguments, environment values and unknown content, memory sizes in
//! every unit, a filesystem of every type with its matching source, and
//! interfaces with addresses and routes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use domrun::domain::Domain;
use proptest::prelude::*;
use proptest::sample::select;

/// Characters for free text: XML specials, white space, non-ASCII.
const CHARS: &[char] = &[
    'a', 'b', 'z', 'A', '0', '9', ' ', '-', '_', '.', '/', '=', '<', '>', '&', '\'', '"', '\t',
    '\n', '\r', 'é', 'ß', '€', '中', '文', '😀', '\u{a0}', ';', '#',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(select(CHARS), 0..12).prop_map(String::from_iter)
}

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,8}"
}

/// Escapes character data (libvirt-style or not: any correct escaping will
/// do; the formatter picks its own).
/// A carriage return is written as `&#13;`: a raw one would be read back as
/// a newline (XML end-of-line handling), and the test compares values.
fn esc_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\r', "&#13;")
}

/// Escapes an attribute value for either quote, keeping white space exact.
fn esc_attr(s: &str) -> String {
    esc_text(s)
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\t', "&#9;")
}

/// Units the generator uses (all of libvirt's but the exa ones, so that
/// sizes below 1000 cannot overflow).
const UNITS: &[&str] = &[
    "b", "bytes", "k", "KiB", "KB", "M", "MiB", "MB", "G", "GiB", "GB", "T", "TiB", "TB", "P",
    "PiB", "PB", "m", "g",
];

#[derive(Debug, Clone)]
struct Fs {
    kind: usize,
    readonly: bool,
    limit: Option<u32>,
    extra_attr: Option<String>,
    extra_child: bool,
}

#[derive(Debug, Clone)]
struct Iface {
    kind: usize,
    mac: [u8; 3],
    v4: Vec<([u8; 4], u8)>,
    v6: Vec<(u16, u8)>,
    route: bool,
    extra_attr: Option<String>,
    extra_child: bool,
}

#[derive(Debug, Clone)]
struct Spec {
    name: String,
    memory: (u32, usize, Option<bool>),
    vcpu: u8,
    init: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    metadata: Option<String>,
    filesystems: Vec<Fs>,
    interfaces: Vec<Iface>,
    /// Unknown children of <domain>, after the child at each index.
    domain_extras: Vec<(usize, String)>,
    /// Unknown attributes of <domain> and <os>.
    root_attr: Option<String>,
    os_attr: Option<String>,
    os_extra: bool,
    unknown_device: bool,
    /// An unknown attribute on the leaf elements <name>, <init>, every
    /// <initarg> and <initenv>, and <memory>.
    leaf_attr: Option<String>,
}

fn fs() -> impl Strategy<Value = Fs> {
    (
        0..7usize,
        any::<bool>(),
        prop::option::of(1..100_000u32),
        prop::option::of(text()),
        any::<bool>(),
    )
        .prop_map(|(kind, readonly, limit, extra_attr, extra_child)| Fs {
            kind,
            readonly,
            limit,
            extra_attr,
            extra_child,
        })
}

fn iface() -> impl Strategy<Value = Iface> {
    (
        0..3usize,
        any::<[u8; 3]>(),
        prop::collection::vec((any::<[u8; 4]>(), 0..=32u8), 0..3),
        prop::collection::vec((any::<u16>(), 0..=128u8), 0..2),
        any::<bool>(),
        prop::option::of(text()),
        any::<bool>(),
    )
        .prop_map(
            |(kind, mac, v4, v6, route, extra_attr, extra_child)| Iface {
                kind,
                mac,
                v4,
                v6,
                route,
                extra_attr,
                extra_child,
            },
        )
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (
            "[a-z][a-z0-9_.-]{0,10}",
            (1..1000u32, 0..UNITS.len(), prop::option::of(any::<bool>())),
            1..64u8,
            text(),
            prop::collection::vec(text(), 0..4),
            prop::collection::vec((ident(), text()), 0..4),
            prop::option::of(text()),
        ),
        (
            prop::collection::vec(fs(), 0..8),
            prop::collection::vec(iface(), 0..3),
            prop::collection::vec((0..8usize, text()), 0..4),
            prop::option::of(text()),
            prop::option::of(text()),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(text()),
        ),
    )
        .prop_map(
            |(
                (name, memory, vcpu, init, args, env, metadata),
                (
                    filesystems,
                    interfaces,
                    domain_extras,
                    root_attr,
                    os_attr,
                    os_extra,
                    unknown_device,
                    leaf_attr,
                ),
            )| Spec {
                name,
                memory,
                vcpu,
                init: format!("/sbin/{init}"),
                args,
                env,
                metadata,
                filesystems,
                interfaces,
                domain_extras,
                root_attr,
                os_attr,
                os_extra,
                unknown_device,
                leaf_attr,
            },
        )
}

/// An unknown element with some content; `<zunknown` counts them.
fn unknown(t: &str) -> String {
    format!(
        "<zunknown k='{}'>{}<inner/></zunknown>",
        esc_attr(t),
        esc_text(t)
    )
}

/// The document, and how many `<zunknown` elements and `zattr` attributes it has.
fn render(s: &Spec) -> (String, usize, usize) {
    let mut n_el = 0;
    let mut n_attr = 0;
    let mut attr = |v: &Option<String>| match v {
        Some(v) => {
            n_attr += 1;
            format!(" zattr='{}'", esc_attr(v))
        }
        None => String::new(),
    };
    let leaves = 3 + s.args.len() + s.env.len();
    let leaf: Vec<String> = (0..leaves).map(|_| attr(&s.leaf_attr)).collect();
    let root_attr = attr(&s.root_attr);
    let os_attr = attr(&s.os_attr);
    let fs_attrs: Vec<String> = s.filesystems.iter().map(|f| attr(&f.extra_attr)).collect();
    let if_attrs: Vec<String> = s.interfaces.iter().map(|i| attr(&i.extra_attr)).collect();

    // <domain>'s children, each a slot that unknown elements may follow.
    let mut children: Vec<String> = Vec::new();
    children.push(format!("<name{}>{}</name>", leaf[0], esc_text(&s.name)));
    if let Some(m) = &s.metadata {
        children.push(format!(
            "<metadata>\n    <app:info xmlns:app=\"http://example.org/app/1.0\"><app:v k=\"{}\">{}</app:v></app:info>\n  </metadata>",
            esc_attr(m),
            esc_text(m)
        ));
    }
    let (value, unit, dump_core) = s.memory;
    let dump_core = match dump_core {
        Some(true) => " dumpCore='on'",
        Some(false) => " dumpCore='off'",
        None => "",
    };
    children.push(format!(
        "<memory unit='{}'{dump_core}{}>{value}</memory>",
        UNITS[unit], leaf[1]
    ));
    children.push(format!("<vcpu>{}</vcpu>", s.vcpu));
    let mut os = format!(
        "<os{os_attr}>\n    <type>exe</type>\n    <init{}>{}</init>\n",
        leaf[2],
        esc_text(&s.init)
    );
    for (i, a) in s.args.iter().enumerate() {
        os.push_str(&format!(
            "    <initarg{}>{}</initarg>\n",
            leaf[3 + i],
            esc_text(a)
        ));
    }
    if s.os_extra {
        n_el += 1;
        os.push_str(&format!("    {}\n", unknown("os")));
    }
    for (i, (k, v)) in s.env.iter().enumerate() {
        os.push_str(&format!(
            "    <initenv name='{}'{}>{}</initenv>\n",
            esc_attr(k),
            leaf[3 + s.args.len() + i],
            esc_text(v)
        ));
    }
    os.push_str("  </os>");
    children.push(os);
    let mut dev = String::from("<devices>\n");
    for (i, f) in s.filesystems.iter().enumerate() {
        let (kind, source) = match f.kind {
            0 => ("mount", format!("<source dir='/srv/fs{i}'/>")),
            1 => ("bind", format!("<source dir='/srv/b{i}'/>")),
            2 => ("block", format!("<source dev='/dev/sd{i}'/>")),
            3 => (
                "file",
                format!("<driver type='loop' format='raw'/><source file='/img/{i}.img'/>"),
            ),
            4 => ("template", format!("<source name='tpl{i}'/>")),
            5 => (
                "ram",
                format!("<source usage='{}' units='MiB'/>", 16 * (i + 1)),
            ),
            _ => ("volume", format!("<source pool='p{i}' volume='v{i}'/>")),
        };
        // The same unknown attribute on <filesystem> and on its <target>.
        if f.extra_attr.is_some() {
            n_attr += 1;
        }
        dev.push_str(&format!(
            "    <filesystem type='{kind}'{a}>\n      {source}\n      <target dir='/mnt/fs{i}'{a}/>\n",
            a = fs_attrs[i]
        ));
        if f.readonly {
            dev.push_str("      <readonly/>\n");
        }
        if f.extra_child {
            n_el += 1;
            dev.push_str(&format!("      {}\n", unknown(kind)));
        }
        if let Some(l) = f.limit {
            dev.push_str(&format!(
                "      <space_hard_limit unit='KiB'>{l}</space_hard_limit>\n"
            ));
        }
        dev.push_str("    </filesystem>\n");
    }
    for (i, f) in s.interfaces.iter().enumerate() {
        let (kind, source) = match f.kind {
            0 => ("network", "<source network='default'/>"),
            1 => ("bridge", "<source bridge='br0'/>"),
            _ => ("ethernet", ""),
        };
        let [a, b, c] = f.mac;
        dev.push_str(&format!(
            "    <interface type='{kind}'{}>\n      <mac address='52:54:00:{a:02x}:{b:02x}:{c:02x}'/>\n      {source}\n",
            if_attrs[i]
        ));
        for ([w, x, y, z], p) in &f.v4 {
            // Unknown attributes on addresses too.
            if f.extra_attr.is_some() {
                n_attr += 1;
            }
            dev.push_str(&format!(
                "      <ip address='{w}.{x}.{y}.{z}' prefix='{p}'{}/>\n",
                if_attrs[i]
            ));
        }
        for (h, p) in &f.v6 {
            dev.push_str(&format!(
                "      <ip address='fd00::{h:x}' family='ipv6' prefix='{p}'/>\n"
            ));
        }
        if f.route {
            dev.push_str("      <route address='10.1.0.0' prefix='16' gateway='10.0.0.1'/>\n");
        }
        if f.extra_child {
            n_el += 1;
            dev.push_str(&format!("      {}\n", unknown(kind)));
        }
        dev.push_str("    </interface>\n");
    }
    dev.push_str("    <console type='pty'/>\n");
    if s.unknown_device {
        n_el += 1;
        dev.push_str(&format!("    {}\n", unknown("device")));
    }
    dev.push_str("  </devices>");
    children.push(dev);

    let mut body = String::new();
    for (i, child) in children.iter().enumerate() {
        body.push_str(&format!("  {child}\n"));
        for (_, t) in s
            .domain_extras
            .iter()
            .filter(|(at, _)| at % children.len() == i)
        {
            n_el += 1;
            body.push_str(&format!("  {}\n", unknown(t)));
        }
    }
    let doc = format!(
        "<domain type='lxc' xmlns:ext='http://example.org/ext'{root_attr}>\n{body}</domain>\n"
    );
    (doc, n_el, n_attr)
}

fn load(text: &str) -> Domain {
    let mut d = Domain::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    d.apply_defaults().unwrap();
    d
}

proptest! {
    // No failure persistence: a failing case is printed in full, and an
    // integration test has no src/ directory to store regressions beside.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn format_is_a_fixed_point_and_keeps_unknowns(s in spec()) {
        let (doc, n_el, n_attr) = render(&s);
        let d = load(&doc);
        let once = d.format();
        let again = load(&once);
        let twice = again.format();
        prop_assert_eq!(&once, &twice, "input:\n{}", doc);
        // Defaults are idempotent on the reparsed domain too.
        prop_assert_eq!(&again, &load(&twice));

        prop_assert_eq!(once.matches("<zunknown ").count(), n_el, "{}", once);
        prop_assert_eq!(once.matches("<inner/>").count(), n_el, "{}", once);
        prop_assert_eq!(once.matches(" zattr='").count(), n_attr, "{}", once);
        if s.metadata.is_some() {
            prop_assert!(once.contains("<app:info xmlns:app=\"http://example.org/app/1.0\">"), "{}", once);
        }
        prop_assert!(once.contains("xmlns:ext='http://example.org/ext'"), "{}", once);

        // The model itself carries the values through, special characters
        // and all.
        prop_assert_eq!(again.os.init.as_deref(), Some(s.init.as_str()));
        prop_assert_eq!(again.memory_dump_core, s.memory.2);
        prop_assert_eq!(&again.os.initargs, &s.args);
        prop_assert_eq!(&again.os.initenv, &s.env);
        prop_assert_eq!(again.devices.filesystems().count(), s.filesystems.len());
        prop_assert_eq!(again.devices.interfaces().count(), s.interfaces.len());

        // Validity does not change across the round trip.
        prop_assert_eq!(d.validate().is_ok(), again.validate().is_ok());
    }
}
