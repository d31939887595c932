//! Bytes → [`Element`] tree, bounded and positioned.
//!
//! Hostile input is refused before it costs anything: the size is checked
//! before a byte is parsed, UTF-8 is checked in one pass (the error names the
//! line and column of the first bad byte), a `<!DOCTYPE` is refused outright so
//! no entity is ever declared, expanded or fetched, references to anything but
//! the five predefined entities and character references are errors, and
//! nesting depth and attribute counts have caps.

use super::{Attr, Element, Node, Pos};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// Caps on what a document may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted document, in bytes. Domains may carry kernels as
    /// `data:` URIs, so this is generous; memory stays proportional to it.
    pub max_bytes: usize,
    /// Deepest accepted element nesting.
    pub max_depth: usize,
    /// Most attributes on one element.
    pub max_attrs: usize,
}

impl Limits {
    /// The default [`Limits::max_bytes`], also what file readers check
    /// against before reading (`crate::input::DOCUMENT_LIMIT`).
    pub const DEFAULT_MAX_BYTES: usize = 64 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: Limits::DEFAULT_MAX_BYTES,
            max_depth: 64,
            max_attrs: 64,
        }
    }
}

/// Why a document could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("document is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("{pos}: invalid UTF-8 (documents must be UTF-8 encoded)")]
    Utf8 { pos: Pos },
    #[error(
        "{pos}: character U+{code:04X} is not allowed in XML (control characters other than tab, newline and carriage return, and U+FFFE/U+FFFF)"
    )]
    InvalidChar { pos: Pos, code: u32 },
    #[error("{pos}: unsupported encoding '{encoding}' (only UTF-8 is accepted)")]
    Encoding { pos: Pos, encoding: String },
    #[error("{pos}: DOCTYPE declarations are not accepted (no DTDs or entity declarations)")]
    Doctype { pos: Pos },
    #[error(
        "{pos}: unknown entity '&{name};' (only &lt; &gt; &amp; &apos; &quot; and &#N; are accepted)"
    )]
    Entity { pos: Pos, name: String },
    #[error("{pos}: elements nested deeper than {limit} levels")]
    TooDeep { pos: Pos, limit: usize },
    #[error("{pos}: element <{element}> has more than {limit} attributes")]
    TooManyAttrs {
        pos: Pos,
        element: String,
        limit: usize,
    },
    #[error("{pos}: duplicate attribute '{name}' on <{element}>")]
    DuplicateAttr {
        pos: Pos,
        element: String,
        name: String,
    },
    #[error("{pos}: no root element (the document is empty)")]
    Empty { pos: Pos },
    #[error("{pos}: content after the root element </{root}>")]
    TrailingContent { pos: Pos, root: String },
    #[error("{pos}: malformed XML: {message}")]
    Syntax { pos: Pos, message: String },
}

impl ReadError {
    /// Where in the document the error is (`0:0` when it is about the whole).
    pub fn pos(&self) -> Pos {
        match self {
            ReadError::TooLarge { .. } => Pos::default(),
            ReadError::Utf8 { pos }
            | ReadError::InvalidChar { pos, .. }
            | ReadError::Encoding { pos, .. }
            | ReadError::Doctype { pos }
            | ReadError::Entity { pos, .. }
            | ReadError::TooDeep { pos, .. }
            | ReadError::TooManyAttrs { pos, .. }
            | ReadError::DuplicateAttr { pos, .. }
            | ReadError::Empty { pos }
            | ReadError::TrailingContent { pos, .. }
            | ReadError::Syntax { pos, .. } => *pos,
        }
    }
}

/// Turns byte offsets into line:column, scanning forward only, so positioning
/// every element of a document costs one pass over it in total.
struct LineIndex<'a> {
    text: &'a str,
    offset: usize,
    pos: Pos,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        LineIndex {
            text,
            offset: 0,
            pos: Pos { line: 1, col: 1 },
        }
    }

    fn pos(&mut self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            // Rare (an error pointing back into a tag): rescan from the start.
            *self = LineIndex::new(self.text);
        }
        let Some(slice) = self.text.get(self.offset..offset) else {
            return self.pos;
        };
        for c in slice.chars() {
            if c == '\n' {
                self.pos.line += 1;
                self.pos.col = 1;
            } else {
                self.pos.col += 1;
            }
        }
        self.offset = offset;
        self.pos
    }
}

/// Position of the first invalid UTF-8 byte: line and column counted over the
/// valid prefix, so the user can find it in an editor.
fn utf8_error_pos(bytes: &[u8], valid_up_to: usize) -> Pos {
    let prefix = std::str::from_utf8(&bytes[..valid_up_to]).unwrap_or_default();
    LineIndex::new(prefix).pos(valid_up_to)
}

/// XML 1.0's `Char` production (surrogates cannot occur in a `str`).
fn is_xml_char(c: char) -> bool {
    !matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// XML's `Name` production, exact for ASCII; non-ASCII letters are taken
/// as name characters (the spec's ranges are nearly all of them).
fn is_xml_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':' || !c.is_ascii();
    start(first) && chars.all(|c| start(c) || c.is_ascii_digit() || c == '-' || c == '.')
}

/// `s` quoted for an error message, shortened if long.
fn quoted_name(s: &str) -> String {
    let short: String = s.chars().take(40).collect();
    let more = if short.len() < s.len() { "…" } else { "" };
    format!("'{}{more}'", short.escape_debug())
}

/// Reads one document: exactly one root element, optional XML declaration,
/// comments and processing instructions (which are dropped).
pub fn read_document(bytes: &[u8], limits: &Limits) -> Result<Element, ReadError> {
    if bytes.len() > limits.max_bytes {
        return Err(ReadError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ReadError::Utf8 {
        pos: utf8_error_pos(bytes, e.valid_up_to()),
    })?;
    // XML 1.0 forbids most control characters even raw; libvirt (libxml2)
    // refuses them, and they could not be written back.
    if let Some(i) = text.find(|c: char| !is_xml_char(c)) {
        let code = text[i..].chars().next().map_or(0, u32::from);
        return Err(ReadError::InvalidChar {
            pos: LineIndex::new(text).pos(i),
            code,
        });
    }
    // A byte-order mark is allowed before the declaration, nothing else.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    TreeBuilder::new(text, limits).run()
}

struct TreeBuilder<'a> {
    text: &'a str,
    limits: &'a Limits,
    lines: LineIndex<'a>,
    /// Open elements, innermost last.
    stack: Vec<Element>,
    root: Option<Element>,
    /// Text being accumulated across Text, CDATA and reference events.
    pending_text: String,
}

impl<'a> TreeBuilder<'a> {
    fn new(text: &'a str, limits: &'a Limits) -> Self {
        TreeBuilder {
            text,
            limits,
            lines: LineIndex::new(text),
            stack: Vec::new(),
            root: None,
            pending_text: String::new(),
        }
    }

    fn offset_of(&self, s: &str) -> usize {
        // Slices handed out by the slice reader point into `text`.
        (s.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize)
    }

    fn run(mut self) -> Result<Element, ReadError> {
        let mut reader = Reader::from_str(self.text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        loop {
            let start = reader.buffer_position() as usize;
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let pos = self.lines.pos(reader.error_position() as usize);
                    return Err(self.syntax_error(pos, e));
                }
            };
            match event {
                Event::Start(e) => {
                    let el = self.open(&e, start)?;
                    self.stack.push(el);
                }
                Event::Empty(e) => {
                    let el = self.open(&e, start)?;
                    self.close(el, start)?;
                }
                Event::End(_) => {
                    self.flush_text();
                    if let Some(el) = self.stack.pop() {
                        self.close(el, start)?;
                    }
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    self.text_event(&content, start)?;
                }
                Event::CData(c) => {
                    let raw = c.into_inner();
                    let s = raw.into_owned();
                    self.text_event(&s, start)?;
                }
                Event::GeneralRef(r) => {
                    let pos = self.lines.pos(start);
                    let resolved = resolve_reference(&r, pos)?;
                    self.text_event(&resolved, start)?;
                }
                Event::DocType(_) => {
                    return Err(ReadError::Doctype {
                        pos: self.lines.pos(start),
                    });
                }
                Event::Decl(d) => {
                    if let Some(Ok(enc)) = d.encoding() {
                        let enc = enc.into_owned();
                        if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                            return Err(ReadError::Encoding {
                                pos: self.lines.pos(start),
                                encoding: enc,
                            });
                        }
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        let end = self.lines.pos(self.text.len());
        match (self.root, self.stack.pop()) {
            (_, Some(open)) => Err(ReadError::Syntax {
                pos: end,
                message: format!(
                    "the document ends but <{}> (opened at {}) is not closed",
                    open.name, open.pos
                ),
            }),
            (Some(root), None) => Ok(root),
            (None, None) => Err(ReadError::Empty { pos: end }),
        }
    }

    fn syntax_error(&self, pos: Pos, e: quick_xml::Error) -> ReadError {
        use quick_xml::errors::IllFormedError;
        use quick_xml::escape::EscapeError;
        match e {
            quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                ReadError::Entity { pos, name }
            }
            // Say where the element that should have been closed was opened:
            // that is where the user has to look.
            quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
                let opened = match self.stack.last() {
                    Some(open) if open.name == expected => format!(" (opened at {})", open.pos),
                    _ => String::new(),
                };
                ReadError::Syntax {
                    pos,
                    message: format!(
                        "</{found}> found where </{expected}> was expected: <{expected}>{opened} is not closed"
                    ),
                }
            }
            quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(found)) => {
                ReadError::Syntax {
                    pos,
                    message: format!("</{found}> closes no open element"),
                }
            }
            other => ReadError::Syntax {
                pos,
                message: other.to_string(),
            },
        }
    }

    fn text_event(&mut self, s: &str, start: usize) -> Result<(), ReadError> {
        if self.stack.is_empty() {
            if s.chars().all(char::is_whitespace) {
                return Ok(());
            }
            let pos = self.lines.pos(start);
            return Err(match &self.root {
                Some(root) => ReadError::TrailingContent {
                    pos,
                    root: root.name.clone(),
                },
                None => ReadError::Syntax {
                    pos,
                    message: "text before the root element".into(),
                },
            });
        }
        self.pending_text.push_str(s);
        Ok(())
    }

    fn flush_text(&mut self) {
        if self.pending_text.is_empty() {
            return;
        }
        let t = std::mem::take(&mut self.pending_text);
        if let Some(parent) = self.stack.last_mut() {
            parent.children.push(Node::Text(t));
        }
    }

    fn open(&mut self, e: &BytesStart<'_>, start: usize) -> Result<Element, ReadError> {
        self.flush_text();
        let pos = self.lines.pos(start);
        if self.root.is_some() && self.stack.is_empty() {
            let root = self
                .root
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default();
            return Err(ReadError::TrailingContent { pos, root });
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(ReadError::TooDeep {
                pos,
                limit: self.limits.max_depth,
            });
        }
        let name = e.name().as_ref().to_owned();
        if !is_xml_name(&name) {
            return Err(ReadError::Syntax {
                pos,
                message: format!("invalid element name {}", quoted_name(&name)),
            });
        }
        let mut attrs: Vec<Attr> = Vec::new();
        for attr in e.attributes().with_checks(false) {
            let attr = attr.map_err(|err| ReadError::Syntax {
                pos,
                message: format!("in the attributes of <{name}>: {err}"),
            })?;
            let key = attr.key.as_ref().to_owned();
            let apos = self.lines.pos(self.offset_of(attr.key.as_ref()));
            if !is_xml_name(&key) {
                return Err(ReadError::Syntax {
                    pos: apos,
                    message: format!("invalid attribute name {} on <{name}>", quoted_name(&key)),
                });
            }
            if attrs.len() >= self.limits.max_attrs {
                return Err(ReadError::TooManyAttrs {
                    pos,
                    element: name,
                    limit: self.limits.max_attrs,
                });
            }
            if attrs.iter().any(|a| a.name == key) {
                return Err(ReadError::DuplicateAttr {
                    pos: apos,
                    element: name,
                    name: key,
                });
            }
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| self.syntax_error(apos, err))?
                .into_owned();
            // The raw text was checked; a character reference like &#1; was not.
            if let Some(c) = value.chars().find(|c| !is_xml_char(*c)) {
                return Err(ReadError::InvalidChar {
                    pos: apos,
                    code: u32::from(c),
                });
            }
            attrs.push(Attr {
                name: key,
                value,
                pos: apos,
            });
        }
        Ok(Element {
            name,
            attrs,
            children: Vec::new(),
            pos,
        })
    }

    fn close(&mut self, el: Element, _start: usize) -> Result<(), ReadError> {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(el)),
            None => self.root = Some(el),
        }
        Ok(())
    }
}

fn resolve_reference(r: &quick_xml::events::BytesRef<'_>, pos: Pos) -> Result<String, ReadError> {
    let name = std::ops::Deref::deref(r).to_string();
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if !is_xml_char(c) => Err(ReadError::InvalidChar {
                pos,
                code: u32::from(c),
            }),
            Ok(Some(c)) => Ok(c.to_string()),
            _ => Err(ReadError::Syntax {
                pos,
                message: format!("invalid character reference '&{name};'"),
            }),
        };
    }
    let s = match name.as_str() {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return Err(ReadError::Entity { pos, name }),
    };
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<Element, ReadError> {
        read_document(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn positions_elements_and_attributes() {
        let doc = read("<a>\n  <b x='1'\n     y=\"2\"/>\n</a>").unwrap();
        let b = doc.elements().next().unwrap();
        assert_eq!(b.pos, Pos { line: 2, col: 3 });
        assert_eq!(b.attrs[1].pos, Pos { line: 3, col: 6 });
    }

    #[test]
    fn merges_text_references_and_cdata() {
        let doc = read("<a>x &amp; y &#65;<![CDATA[<z>]]></a>").unwrap();
        assert_eq!(doc.text(), "x & y A<z>");
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let err = read("<!DOCTYPE a [<!ENTITY e 'boom'>]><a>&e;</a>").unwrap_err();
        assert!(matches!(err, ReadError::Doctype { .. }), "{err}");
        let err = read("<a>&e;</a>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "1:4: unknown entity '&e;' (only &lt; &gt; &amp; &apos; &quot; and &#N; are accepted)"
        );
        let err = read("<a b='&e;'/>").unwrap_err();
        assert!(matches!(err, ReadError::Entity { .. }), "{err}");
    }

    #[test]
    fn refuses_deep_nesting_quickly() {
        let deep = "<a>".repeat(100_000);
        let err = read(&deep).unwrap_err();
        assert!(matches!(err, ReadError::TooDeep { limit: 64, .. }), "{err}");
    }

    #[test]
    fn reports_invalid_utf8_position() {
        let err = read_document(b"<a>\n  <b>\xff</b></a>", &Limits::default()).unwrap_err();
        assert_eq!(
            err,
            ReadError::Utf8 {
                pos: Pos { line: 2, col: 6 }
            }
        );
    }

    #[test]
    fn refuses_oversized_documents_before_parsing() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        let err = read_document(b"<a>0123456789</a>", &limits).unwrap_err();
        assert!(matches!(
            err,
            ReadError::TooLarge {
                size: 17,
                limit: 10
            }
        ));
    }

    #[test]
    fn unclosed_elements_name_where_they_were_opened() {
        let err = read("<a>\n  <b>\n</a>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "3:1: malformed XML: </a> found where </b> was expected: <b> (opened at 2:3) is not closed"
        );
        let err = read("<a>\n  <b>\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "3:1: malformed XML: the document ends but <b> (opened at 2:3) is not closed"
        );
    }

    #[test]
    fn refuses_characters_xml_forbids() {
        let err = read("<a>\n x\u{0}</a>").unwrap_err();
        assert_eq!(
            err,
            ReadError::InvalidChar {
                pos: Pos { line: 2, col: 3 },
                code: 0
            }
        );
        assert!(
            err.to_string()
                .starts_with("2:3: character U+0000 is not allowed"),
            "{err}"
        );
        let err = read("<a>&#1;</a>").unwrap_err();
        assert!(
            matches!(err, ReadError::InvalidChar { code: 1, .. }),
            "{err}"
        );
        let err = read("<a b='&#x1b;'/>").unwrap_err();
        assert!(
            matches!(err, ReadError::InvalidChar { code: 0x1b, .. }),
            "{err}"
        );
        // Tab, newline, carriage return (also as references) are fine.
        assert!(read("<a b='&#9;&#10;&#13;'>\t\r\n&#13;</a>").is_ok());
    }

    #[test]
    fn refuses_invalid_names() {
        // Found by fuzzing: `<\r/>` was an element with an empty name.
        let err = read("<a>\n <\r/></a>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "2:2: malformed XML: invalid element name ''"
        );
        let err = read("<a><b<c/></a>").unwrap_err();
        assert!(matches!(err, ReadError::Syntax { .. }), "{err}");
        assert!(read("<a><1b/></a>").is_err());
        assert!(read("<a b<='1'/>").is_err());
        assert!(read("<lxc:a x.y-z_0='1'><é/></lxc:a>").is_ok());
    }

    #[test]
    fn refuses_malformed_and_trailing() {
        assert!(matches!(read("<a><b></a>"), Err(ReadError::Syntax { .. })));
        assert!(matches!(
            read("<a/><b/>"),
            Err(ReadError::TrailingContent { .. })
        ));
        assert!(matches!(read("  "), Err(ReadError::Empty { .. })));
        assert!(matches!(
            read("<a x='1' x='2'/>"),
            Err(ReadError::DuplicateAttr { .. })
        ));
        assert!(matches!(read("<a>"), Err(ReadError::Syntax { .. })));
    }
}
