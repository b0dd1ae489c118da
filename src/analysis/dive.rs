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

    fn subtree_size(&self, id: usize) -> u64 {
        let mut total = 0;
        let mut stack = vec![id];
        while let Some(at) = stack.pop() {
            total = u64::saturating_add(total, self.nodes[at].size);
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

/// What the stacked tree has at one depth of the path being visited: not looked up yet, the
/// node there, or nothing (and so nothing deeper either).
#[derive(Clone, Copy)]
enum Slot {
    Unknown,
    Known(usize),
    Absent,
}

/// dive's stacking of one layer onto the layers below: every node of the layer's tree, children
/// before parents, is added to the stacked tree (`AddPath`: missing parents get an empty
/// payload), and a whiteout removes its target there. Done as dive does it, but with the
/// stacked node of every level of the current path remembered, so that a path `d` levels deep
/// costs `d` steps once rather than once per node on it (100,000 levels took 95 s).
fn stack_onto(stacked: &mut Tree, layer: &Tree) {
    let mut slots: Vec<Slot> = vec![Slot::Known(0)];
    let mut names: Vec<&[u8]> = Vec::new();
    let mut stack = vec![(0, layer.nodes[0].children.iter())];
    while let Some((at, children)) = stack.last_mut() {
        if let Some((name, &child)) = children.next() {
            names.push(name);
            slots.push(Slot::Unknown);
            stack.push((child, layer.nodes[child].children.iter()));
            continue;
        }
        let at = *at;
        stack.pop();
        let Some(name) = names.last().copied() else {
            continue; // the root
        };
        let depth = names.len();
        if let Some(target) = name.strip_prefix(WHITEOUT) {
            if let Some(parent) = resolve(stacked, &mut slots, &names, depth - 1, false) {
                stacked.nodes[parent].children.remove(target);
            }
        } else if let Some(id) = resolve(stacked, &mut slots, &names, depth, true) {
            stacked.nodes[id].size = layer.nodes[at].size;
            stacked.nodes[id].is_dir = layer.nodes[at].is_dir;
        }
        names.pop();
        slots.pop();
    }
}

/// The stacked node for the first `depth` names of the current path, creating missing ones when
/// asked. Each level is looked up once while it is on the path.
fn resolve(
    stacked: &mut Tree,
    slots: &mut [Slot],
    names: &[&[u8]],
    depth: usize,
    create: bool,
) -> Option<usize> {
    let mut known = depth;
    while matches!(slots[known], Slot::Unknown) {
        known -= 1; // slots[0] is the root, always known
    }
    for d in known..depth {
        let next = match slots[d] {
            Slot::Known(id) => match stacked.nodes[id].children.get(names[d]) {
                Some(&child) => Slot::Known(child),
                None if create => Slot::Known(stacked.child_or_new(id, names[d])),
                None => Slot::Absent,
            },
            Slot::Absent | Slot::Unknown => Slot::Absent,
        };
        slots[d + 1] = next;
    }
    match slots[depth] {
        Slot::Known(id) => Some(id),
        Slot::Absent if create => {
            // Create from the deepest level that exists.
            let mut d = depth;
            while !matches!(slots[d], Slot::Known(_)) {
                d -= 1;
            }
            for level in d..depth {
                let Slot::Known(id) = slots[level] else {
                    unreachable!("each level is made known before the next")
                };
                slots[level + 1] = Slot::Known(stacked.child_or_new(id, names[level]));
            }
            match slots[depth] {
                Slot::Known(id) => Some(id),
                _ => None,
            }
        }
        _ => None,
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
                let signed = i64::try_from(size).unwrap_or(i64::MAX);
                if data.min < 0 || signed < data.min {
                    data.min = signed;
                }
                data.total = data.total.saturating_add(size);
                data.seen += 1;
                true
            });
        }
        stack_onto(&mut stacked, &tree);
    }

    let minimum: i64 = paths.values().fold(0, |sum, d| sum.saturating_add(d.min));
    let discovered = crate::model::sum_bytes(paths.values().map(|d| d.total));
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
        wasted_bytes: crate::model::sum_bytes(inefficient.iter().map(|i| i.2)),
        user_size_bytes: crate::model::sum_bytes(
            image
                .layers
                .iter()
                .skip(1)
                .flat_map(|l| &l.entries)
                .map(|e| e.header_size),
        ),
        inefficient,
    }
}
