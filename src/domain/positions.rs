//! Where each element of a parsed domain was in its document, so the
//! validation pass (which sees the model, not the tree) can say `LINE:COL`.

use crate::xml::{Element, Name, Pos};

/// Element positions, as one flat list mirroring the document's elements in
/// breadth-first order, so the children of each element are one contiguous
/// run, sorted by name (document order among equal names):
/// `/domain/devices/filesystem[2]/target` is found with one binary search
/// per step. 32 bytes per element, no per-element allocation (names are
/// the document's shared [`Name`]s), no path strings.
///
/// Positions say where a domain came from, not what it is: two domains that
/// differ only in layout compare equal, so this type's `==` is always true.
/// A domain built in code has none, and every lookup answers `0:0` (unknown).
#[derive(Debug, Clone, Default)]
pub struct Positions {
    /// `nodes[0]` is the root.
    nodes: Vec<PosNode>,
}

#[derive(Debug, Clone)]
struct PosNode {
    name: Name,
    pos: Pos,
    /// The children: `nodes[first..first + count]`.
    first: u32,
    count: u32,
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
        let node = |el: &Element| PosNode {
            name: el.name.clone(),
            pos: el.pos,
            first: 0,
            count: 0,
        };
        let mut nodes = vec![node(root)];
        // The elements behind `nodes`, index for index (only while building).
        let mut queue: Vec<&Element> = vec![root];
        let mut i = 0;
        while let Some(&el) = queue.get(i) {
            let mut kids: Vec<&Element> = el.elements().collect();
            // Stable: equal names keep document order.
            kids.sort_by(|a, b| a.name.cmp(&b.name));
            let (Ok(first), Ok(count)) = (u32::try_from(queue.len()), u32::try_from(kids.len()))
            else {
                // Beyond 4 G elements: positions of the rest stay unknown.
                break;
            };
            nodes[i].first = first;
            nodes[i].count = count;
            nodes.extend(kids.iter().map(|k| node(k)));
            queue.extend(kids);
            i += 1;
        }
        Positions { nodes }
    }

    /// The position of the element at `path` (XPath-style numbering; a step
    /// without an index means the first: `/domain/os/init` is
    /// `/domain/os[1]/init[1]`), or, when it is absent (a missing element),
    /// of its nearest ancestor that exists.
    pub fn get(&self, path: &str) -> Pos {
        let Some(root) = self.nodes.first() else {
            return Pos::default();
        };
        let mut steps = path.split('/').filter(|s| !s.is_empty());
        match steps.next().map(step) {
            Some((name, 1)) if root.name == name => {}
            _ => return Pos::default(),
        }
        let mut node = root;
        for s in steps {
            let (name, n) = step(s);
            let first = node.first as usize;
            let Some(kids) = self.nodes.get(first..first + node.count as usize) else {
                break;
            };
            let start = kids.partition_point(|k| k.name.as_str() < name);
            match n
                .checked_sub(1)
                .and_then(|i| kids.get(start.checked_add(i)?))
                .filter(|k| k.name == name)
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
