//! dive's own efficiency numbers, computed the way dive 0.13.1 computes them, so users can
//! compare pydive with the tool they know. dive's trees are not overlay-exact (it ignores opaque
//! markers, and a file replacing a directory keeps the directory's children), so this module
//! rebuilds dive's trees from the layer entries rather than reading pydive's model.
//!
//! dive builds one tree per layer from the tar entries (implied parent directories get an empty
//! payload: size 0, not a directory). It visits every leaf of every layer's tree, children
//! before parents, names in byte order, and records a size per path: the entry's size, or for a
//! whiteout, the total size of the subtree it removes from the layers below when that was a
//! directory (0 for a file). A whiteout whose path the layers below do not have aborts the rest
//! of that layer's visit, as in dive. Paths seen two or more times are "inefficient": all their
//! sizes count as wasted. Efficiency is the sum of each path's smallest size over the sum of all.

use std::collections::{BTreeMap, HashMap};

use crate::layer::{Entry, EntryKind, path};
use crate::model::Image;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiveNumbers {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// dive's "user size": the bytes of every layer but the first, a layer's bytes being the
    /// sum of its tar entries' sizes. dive's `highestUserWastedPercent` divides by it.
    pub user_size_bytes: u64,
    /// Paths dive lists as inefficient: (path, times seen, total bytes), largest first.
    pub inefficient: Vec<(Vec<u8>, u32, u64)>,
}

const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

/// A node of one of dive's trees, with dive's payload: its size and whether it is a directory.
#[derive(Default)]
struct Node {
    children: BTreeMap<Box<[u8]>, usize>,
    size: u64,
    is_dir: bool,
}

struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            nodes: vec![Node::default()],
        }
    }

    fn child_or_new(&mut self, at: usize, name: &[u8]) -> usize {
        if let Some(&id) = self.nodes[at].children.get(name) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        self.nodes[at].children.insert(name.into(), id);
        id
    }

    /// dive's `AddPath`: creates missing parents with an empty payload, replaces the payload of
    /// the last node and keeps its children. A `.wh..wh.` name cannot be added (dive's AddChild
    /// refuses it), which leaves only its parents behind.
    fn add_path(&mut self, parts: &[&[u8]], size: u64, is_dir: bool) {
        let mut at = 0;
        for (i, name) in parts.iter().enumerate() {
            if name.starts_with(b".wh..wh.") {
                return;
            }
            at = self.child_or_new(at, name);
            if i == parts.len() - 1 {
                self.nodes[at].size = size;
                self.nodes[at].is_dir = is_dir;
            }
        }
    }

    fn get(&self, parts: &[&[u8]]) -> Option<usize> {
        parts
            .iter()
            .try_fold(0, |at, name| self.nodes[at].children.get(*name).copied())
    }

    fn remove_path(&mut self, parts: &[&[u8]]) {
        if let Some((last, parents)) = parts.split_last() {
            if let Some(parent) = self.get(parents) {
                self.nodes[parent].children.remove(*last);
            }
        }
    }

    fn subtree_size(&self, id: usize) -> u64 {
        let mut total = 0;
        let mut stack = vec![id];
        while let Some(at) = stack.pop() {
            total += self.nodes[at].size;
            stack.extend(self.nodes[at].children.values());
        }
        total
    }

    /// Calls `visit(path, node)` for every node but the root, children before parents, names
    /// in byte order; stops when `visit` returns false.
    fn visit_child_first(&self, mut visit: impl FnMut(&[&[u8]], &Node) -> bool) {
        let mut stack = vec![(0, self.nodes[0].children.iter())];
        let mut names: Vec<&[u8]> = Vec::new();
        while let Some((at, children)) = stack.last_mut() {
            if let Some((name, &child)) = children.next() {
                names.push(name);
                stack.push((child, self.nodes[child].children.iter()));
                continue;
            }
            let at = *at;
            stack.pop();
            if at != 0 {
                if !visit(&names, &self.nodes[at]) {
                    return;
                }
                names.pop();
            }
        }
    }
}

/// The tree dive builds from one layer's tar entries.
fn layer_tree(entries: &[Entry]) -> Tree {
    let mut tree = Tree::new();
    for entry in entries {
        let mut parts: Vec<&[u8]> = entry.path.split(|&b| b == b'/').collect();
        let whiteout_name;
        match entry.kind {
            EntryKind::Whiteout => {
                let (_, name) = path::split_last(&entry.path);
                whiteout_name = [WHITEOUT, name].concat();
                parts.pop();
                parts.push(&whiteout_name);
                tree.add_path(&parts, 0, false);
            }
            EntryKind::Opaque => {
                parts.push(OPAQUE);
                tree.add_path(&parts, 0, false);
            }
            kind => {
                // Go's tar reader also calls an entry a directory when its mode says so.
                let is_dir = kind == EntryKind::Dir || entry.mode & 0o170000 == 0o040000;
                tree.add_path(&parts, entry.header_size, is_dir)
            }
        }
    }
    tree
}

/// The path dive files a node under: a whiteout's `.wh.` is dropped from its last name.
fn dive_path<'a>(parts: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut out = parts.to_vec();
    if let Some(last) = out.last_mut() {
        if let Some(rest) = last.strip_prefix(WHITEOUT) {
            *last = rest;
        }
    }
    out
}

struct PathData {
    total: u64,
    /// dive starts at -1 and keeps it when a whiteout aborts the layer before a size is known.
    min: i64,
    seen: u32,
}

impl Default for PathData {
    fn default() -> Self {
        PathData {
            total: 0,
            min: -1,
            seen: 0,
        }
    }
}

pub fn compute(image: &Image) -> DiveNumbers {
    let mut paths: HashMap<Vec<u8>, PathData> = HashMap::new();
    let mut stacked = Tree::new();
    for (k, layer) in image.layers.iter().enumerate() {
        let tree = layer_tree(&layer.entries);
        {
            // dive stacks layers 0..k-1 for a whiteout in layer k; for layer 0 that range is
            // layer 0 itself.
            let below = if k == 0 { &tree } else { &stacked };
            tree.visit_child_first(|parts, node| {
                if !node.children.is_empty() {
                    return true;
                }
                let is_whiteout = parts.last().is_some_and(|n| n.starts_with(WHITEOUT));
                let target = dive_path(parts);
                let data = paths.entry(target.join(&b'/')).or_default();
                let size = if is_whiteout {
                    match below.get(&target) {
                        None => return false,
                        Some(id) if below.nodes[id].is_dir => below.subtree_size(id),
                        Some(_) => 0,
                    }
                } else {
                    node.size
                };
                let signed = size as i64;
                if data.min < 0 || signed < data.min {
                    data.min = signed;
                }
                data.total += size;
                data.seen += 1;
                true
            });
        }
        tree.visit_child_first(|parts, node| {
            if parts.last().is_some_and(|n| n.starts_with(WHITEOUT)) {
                stacked.remove_path(&dive_path(parts));
            } else {
                stacked.add_path(parts, node.size, node.is_dir);
            }
            true
        });
    }

    let minimum: i64 = paths.values().map(|d| d.min).sum();
    let discovered: u64 = paths.values().map(|d| d.total).sum();
    let mut inefficient: Vec<(Vec<u8>, u32, u64)> = paths
        .into_iter()
        .filter(|(_, d)| d.seen >= 2)
        .map(|(p, d)| (p, d.seen, d.total))
        .collect();
    inefficient.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    DiveNumbers {
        efficiency: if discovered == 0 {
            1.0
        } else {
            minimum as f64 / discovered as f64
        },
        wasted_bytes: inefficient.iter().map(|i| i.2).sum(),
        user_size_bytes: image
            .layers
            .iter()
            .skip(1)
            .flat_map(|l| &l.entries)
            .map(|e| e.header_size)
            .sum(),
        inefficient,
    }
}
