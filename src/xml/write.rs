//! Printing XML the way libvirt does.
//!
//! libvirt's own elements: two-space indent, `'` quoted attributes, every one
//! of `< > & ' "` escaped in attributes and text alike (virBufferEscapeString),
//! control characters dropped, an element with no content self-closed.
//! Verbatim subtrees under `<metadata>` are printed as libxml2's
//! `xmlNodeDump` does (libvirt hands them to it): `"` quoted attributes, and
//! text kept inline when an element mixes text and children.
//!
//! One deliberate difference: newline, carriage return and tab inside an
//! attribute value are written as character references, because a parser
//! turns the raw characters into spaces and the round trip would change it.

use super::{Element, Node};

/// Which quoting convention a subtree is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// libvirt's formatter (virBuffer).
    Libvirt,
    /// libxml2's `xmlNodeDump`, used by libvirt for `<metadata>` content.
    Libxml2,
}

/// Escapes an attribute value for a `'` quoted (libvirt) attribute.
pub fn escape_attr(s: &str) -> std::borrow::Cow<'_, str> {
    escape(s, Style::Libvirt, true)
}

/// Escapes character data the way libvirt's formatter does.
pub fn escape_text(s: &str) -> std::borrow::Cow<'_, str> {
    escape(s, Style::Libvirt, false)
}

fn escape(s: &str, style: Style, attr: bool) -> std::borrow::Cow<'_, str> {
    let needs = |c: char| {
        matches!(c, '<' | '>' | '&' | '\'' | '"' | '\r') || (c < ' ' && c != '\n' && c != '\t')
    } || (attr && matches!(c, '\n' | '\t'));
    if !s.chars().any(needs) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' if attr || style == Style::Libvirt => out.push_str("&quot;"),
            '\'' if style == Style::Libvirt => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            // Not representable in XML 1.0: dropped, as libvirt does.
            c if c < ' ' && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// An XML printer with libvirt's layout.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    depth: usize,
}

/// The start tag of an element being written; finish it with
/// [`Writer::children`], [`Writer::empty`] or [`Writer::text`].
#[derive(Debug)]
#[must_use = "a tag must be finished with children(), empty() or text()"]
pub struct Tag<'n> {
    name: &'n str,
    start: String,
}

impl<'n> Tag<'n> {
    /// Adds an attribute.
    pub fn attr(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        let value = value.to_string();
        self.start.push(' ');
        self.start.push_str(name);
        self.start.push_str("='");
        self.start.push_str(&escape_attr(&value));
        self.start.push('\'');
        self
    }

    /// Adds an attribute when the value is present.
    pub fn opt_attr<T: std::fmt::Display>(self, name: &str, value: Option<T>) -> Self {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    /// Adds attributes kept verbatim from the input (ones domrun does not model).
    pub fn extra_attrs(mut self, attrs: &[super::Attr]) -> Self {
        for a in attrs {
            self = self.attr(&a.name, &a.value);
        }
        self
    }
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    /// Starts an element.
    pub fn tag<'n>(&self, name: &'n str) -> Tag<'n> {
        let mut start = String::with_capacity(32);
        start.push('<');
        start.push_str(name);
        Tag { name, start }
    }

    /// Writes `<name attrs/>`.
    pub fn empty(&mut self, tag: Tag<'_>) {
        self.indent();
        self.out.push_str(&tag.start);
        self.out.push_str("/>\n");
    }

    /// Writes `<name attrs>text</name>` (text escaped).
    pub fn text(&mut self, tag: Tag<'_>, text: &str) {
        self.indent();
        self.out.push_str(&tag.start);
        self.out.push('>');
        self.out.push_str(&escape_text(text));
        self.out.push_str("</");
        self.out.push_str(tag.name);
        self.out.push_str(">\n");
    }

    /// Writes an element whose children `body` writes; self-closes it when
    /// `body` wrote nothing, as libvirt's virXMLFormatElement does.
    pub fn children(&mut self, tag: Tag<'_>, body: impl FnOnce(&mut Writer)) {
        self.indent();
        let mark = self.out.len();
        self.out.push_str(&tag.start);
        self.out.push_str(">\n");
        let body_start = self.out.len();
        self.depth += 1;
        body(self);
        self.depth -= 1;
        if self.out.len() == body_start {
            self.out.truncate(mark);
            self.out.push_str(&tag.start);
            self.out.push_str("/>\n");
        } else {
            self.indent();
            self.out.push_str("</");
            self.out.push_str(tag.name);
            self.out.push_str(">\n");
        }
    }

    /// Writes an element kept verbatim, in libvirt's style (structure is
    /// re-indented; text-only elements stay on one line).
    pub fn verbatim(&mut self, el: &Element) {
        self.verbatim_styled(el, Style::Libvirt);
    }

    /// Writes an element kept verbatim in the given style.
    pub fn verbatim_styled(&mut self, el: &Element, style: Style) {
        self.indent();
        self.inline_element(el, style, true);
        self.out.push('\n');
    }

    /// Writes `el` starting at the current position; `pretty` allows
    /// indentation of its structure (libxml2 stops indenting inside mixed
    /// content, and so do we).
    fn inline_element(&mut self, el: &Element, style: Style, pretty: bool) {
        let (q, qesc) = match style {
            Style::Libvirt => ('\'', Style::Libvirt),
            Style::Libxml2 => ('"', Style::Libxml2),
        };
        self.out.push('<');
        self.out.push_str(&el.name);
        for a in &el.attrs {
            self.out.push(' ');
            self.out.push_str(&a.name);
            self.out.push('=');
            self.out.push(q);
            self.out.push_str(&escape(&a.value, qesc, true));
            self.out.push(q);
        }
        let structural = el.is_structural();
        let has_elements = el.elements().next().is_some();
        if el.children.is_empty() || (structural && !has_elements) {
            self.out.push_str("/>");
            return;
        }
        self.out.push('>');
        if structural && pretty {
            self.depth += 1;
            for child in el.elements() {
                self.out.push('\n');
                self.indent();
                self.inline_element(child, style, true);
            }
            self.depth -= 1;
            self.out.push('\n');
            self.indent();
        } else {
            for n in &el.children {
                match n {
                    Node::Text(t) => self.out.push_str(&escape(t, style, false)),
                    Node::Element(child) => self.inline_element(child, style, false),
                }
            }
        }
        self.out.push_str("</");
        self.out.push_str(&el.name);
        self.out.push('>');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, read_document};

    #[test]
    fn self_closes_empty_bodies() {
        let mut w = Writer::new();
        let t = w.tag("devices");
        w.children(t, |w| {
            let t = w.tag("features");
            w.children(t, |_| {});
            let t = w.tag("name");
            w.text(t, "a'b<c");
        });
        assert_eq!(
            w.finish(),
            "<devices>\n  <features/>\n  <name>a&apos;b&lt;c</name>\n</devices>\n"
        );
    }

    #[test]
    fn verbatim_reindents_structure_and_keeps_mixed_content_inline() {
        let doc = read_document(
            b"<m><x:a xmlns:x='u' k=\"v'\">\n<b/>\n</x:a><c>t<d/>u</c></m>",
            &Limits::default(),
        )
        .unwrap();
        let mut w = Writer::new();
        w.verbatim_styled(&doc, Style::Libxml2);
        assert_eq!(
            w.finish(),
            "<m>\n  <x:a xmlns:x=\"u\" k=\"v'\">\n    <b/>\n  </x:a>\n  <c>t<d/>u</c>\n</m>\n"
        );
    }

    #[test]
    fn attribute_whitespace_survives_a_round_trip() {
        assert_eq!(escape_attr("a\nb\tc"), "a&#10;b&#9;c");
        assert_eq!(escape_text("a\nb\u{1}"), "a\nb");
    }
}
