//! Tests of the bounded XML reader (`read.rs`): positions, limits, refusals.

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

#[test]
fn layout_white_space_is_dropped_content_white_space_kept() {
    let doc = read("<a>\n  <b/>\n  <c> </c>\n  <d>x <e/> <f/> y</d>\n</a>").unwrap();
    // Structure only: the layout between <b>, <c>, <d> is not kept.
    assert_eq!(doc.children.len(), 3);
    assert!(doc.children.iter().all(|n| matches!(n, Node::Element(_))));
    // A text-only element keeps its white space.
    let c = doc.elements().nth(1).unwrap();
    assert_eq!(c.text(), " ");
    // Mixed content keeps every run, in place, also the ones seen
    // before the first non-white-space text.
    let d = doc.elements().nth(2).unwrap();
    let runs: Vec<&str> = d
        .children
        .iter()
        .map(|n| match n {
            Node::Text(t) => t.as_str(),
            Node::Element(e) => e.name.as_str(),
        })
        .collect();
    assert_eq!(runs, ["x ", "e", " ", "f", " y"]);
    let doc = read("<a> <b/> <c/>t</a>").unwrap();
    assert_eq!(doc.text(), "  t");
    assert_eq!(doc.children.len(), 5);
}

#[test]
fn names_are_shared_not_copied() {
    let doc = read("<a><b x='1'/><b x='2'/></a>").unwrap();
    let (first, second) = (&doc.children[0], &doc.children[1]);
    let (Node::Element(first), Node::Element(second)) = (first, second) else {
        panic!("two elements");
    };
    assert!(std::ptr::eq(first.name.as_str(), second.name.as_str()));
    assert!(std::ptr::eq(
        first.attrs[0].name.as_str(),
        second.attrs[0].name.as_str()
    ));
}

#[test]
fn element_count_is_capped() {
    let limits = Limits {
        max_elements: 3,
        ..Limits::default()
    };
    assert!(read_document(b"<a><b/><c/></a>", &limits).is_ok());
    let err = read_document(b"<a><b/><c/><d/></a>", &limits).unwrap_err();
    assert_eq!(
        err.to_string(),
        "1:12: more than 3 elements in the document"
    );
}
