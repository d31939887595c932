//! Where each element of a parsed domain was in its document, so the
//! validation pass (which sees the model, not the tree) can say `LINE:COL`.

use crate::xml::{Element, Pos};
use std::collections::HashMap;

/// Element positions, as a tree mirroring the document's elements, indexed
/// by name: `/domain/devices/filesystem[2]/target` is found in a few hash
/// lookups, and memory stays proportional to the document (no path strings,
/// which would grow with depth times name length).
///
/// Positions say where a domain came from, not what it is: two domains that
/// differ only in layout compare equal, so this type's `==` is always true.
/// A domain built in code has none, and every lookup answers `0:0` (unknown).
#[derive(Debug, Clone, Default)]
pub struct Positions {
    root: Option<(String, PosNode)>,
}

#[derive(Debug, Clone, Default)]
struct PosNode {
    pos: Pos,
    /// Child elements by name, in document order.
    children: HashMap<String, Vec<PosNode>>,
}

impl PosNode {
    /// Recursion is bounded by the reader's depth limit (as is dropping the
    /// element tree itself).
    fn of(el: &Element) -> PosNode {
        let mut children: HashMap<String, Vec<PosNode>> = HashMap::new();
        for child in el.elements() {
            let node = PosNode::of(child);
            match children.get_mut(child.name.as_str()) {
                Some(v) => v.push(node),
                None => {
                    children.insert(child.name.clone(), vec![node]);
                }
            }
        }
        PosNode {
            pos: el.pos,
            children,
        }
    }
}

impl PartialEq for Positions {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Positions {}

/// `name[3]` → (`name`, 3); `name` → (`name`, 1).
fn step(s: &str) -> (&str, usize) {
    if let Some(open) = s
        .strip_suffix(']')
        .and_then(|t| t.rfind('[').map(|i| (t, i)))
    {
        let (t, i) = open;
        if let Ok(n) = t[i + 1..].parse() {
            return (&t[..i], n);
        }
    }
    (s, 1)
}

impl Positions {
    /// Records every element of the document rooted at `root`.
    pub(crate) fn of_tree(root: &Element) -> Positions {
        Positions {
            root: Some((root.name.clone(), PosNode::of(root))),
        }
    }

    /// The position of the element at `path` (XPath-style numbering; a step
    /// without an index means the first: `/domain/os/init` is
    /// `/domain/os[1]/init[1]`), or, when it is absent (a missing element),
    /// of its nearest ancestor that exists.
    pub fn get(&self, path: &str) -> Pos {
        let Some((root_name, root)) = &self.root else {
            return Pos::default();
        };
        let mut steps = path.split('/').filter(|s| !s.is_empty());
        match steps.next().map(step) {
            Some((name, 1)) if name == root_name => {}
            _ => return Pos::default(),
        }
        let mut node = root;
        for s in steps {
            let (name, n) = step(s);
            match n
                .checked_sub(1)
                .and_then(|i| node.children.get(name)?.get(i))
            {
                Some(child) => node = child,
                None => break,
            }
        }
        node.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, read_document};

    #[test]
    fn finds_elements_and_nearest_ancestors() {
        let doc = "<domain>\n <os>\n  <init>x</init>\n </os>\n <devices>\n  <disk/>\n  <disk>\n   <target/>\n  </disk>\n </devices>\n</domain>";
        let root = read_document(doc.as_bytes(), &Limits::default()).unwrap();
        let p = Positions::of_tree(&root);
        let at = |line, col| Pos { line, col };
        assert_eq!(p.get("/domain"), at(1, 1));
        assert_eq!(p.get("/domain/os/init"), at(3, 3));
        assert_eq!(p.get("/domain/os/inituser"), at(2, 2));
        assert_eq!(p.get("/domain/devices/disk[2]/target"), at(8, 4));
        assert_eq!(p.get("/domain/devices/disk[2]/source"), at(7, 3));
        assert_eq!(p.get("/domain/idmap/uid"), at(1, 1));
        assert_eq!(Positions::default().get("/domain/os"), Pos::default());
    }
}
