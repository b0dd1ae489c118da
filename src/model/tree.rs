//! The arena file tree and the overlay rules that stack one layer onto the layers below:
//! whiteouts and opaque directories remove what lower layers had, a non-directory replacing a
//! directory removes everything under it, and directories appear implicitly above any entry.

use std::collections::BTreeMap;

use crate::layer::{Entry, EntryKind, path};

pub type NodeId = u32;

/// A node's state in one layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Added,
    Modified,
    Removed,
}

/// One layer's effect on one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub layer: u32,
    /// Index of the layer entry that caused it: the node's own entry, or its whiteout. `None`
    /// for a directory implied by entries below it, and for removals implied by a whiteout or
    /// opaque marker on an ancestor, or by an ancestor becoming a non-directory.
    pub entry: Option<u32>,
    pub state: State,
}

#[derive(Debug)]
pub struct Node {
    pub name: Box<[u8]>,
    pub parent: NodeId,
    /// Children by name; byte order, which is also the order a listing shows.
    pub children: BTreeMap<Box<[u8]>, NodeId>,
    /// Changes in layer order, at most one per layer.
    pub changes: Vec<Change>,
}

impl Node {
    /// Whether the node exists once layers `0..=layer` are stacked.
    pub fn exists_at(&self, layer: u32) -> bool {
        self.changes
            .iter()
            .rev()
            .find(|c| c.layer <= layer)
            .is_some_and(|c| c.state != State::Removed)
    }

    /// Whether the node exists in the final filesystem.
    pub fn exists(&self) -> bool {
        self.changes
            .last()
            .is_some_and(|c| c.state != State::Removed)
    }

    /// The layer of the node's last change: for a node in the final filesystem, the layer
    /// that provides what is there now.
    pub fn last_layer(&self) -> usize {
        self.changes.last().map_or(0, |c| c.layer as usize)
    }

    /// The node's change in this layer, if the layer touched it.
    pub fn change_in(&self, layer: u32) -> Option<&Change> {
        self.changes.iter().find(|c| c.layer == layer)
    }

    /// The change that put the current version of the node in place, as of `layer`.
    pub fn provider_at(&self, layer: u32) -> Option<&Change> {
        self.changes
            .iter()
            .rev()
            .find(|c| c.layer <= layer)
            .filter(|c| c.state != State::Removed)
    }

    fn exists_before(&self, layer: u32) -> bool {
        self.changes
            .iter()
            .rev()
            .find(|c| c.layer < layer)
            .is_some_and(|c| c.state != State::Removed)
    }
}

#[derive(Debug)]
pub struct Tree {
    nodes: Vec<Node>,
    /// What each node currently is, while stacking: whether a directory, and its mode and owner
    /// when an entry gave them.
    current: Vec<Current>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Current {
    is_dir: bool,
    owner: Option<(u32, u64, u64)>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

impl Tree {
    pub const ROOT: NodeId = 0;

    pub fn new() -> Tree {
        Tree {
            nodes: vec![Node {
                name: Box::default(),
                parent: 0,
                children: BTreeMap::new(),
                changes: Vec::new(),
            }],
            current: vec![Current {
                is_dir: true,
                owner: None,
            }],
        }
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
    }

    /// Every node but the root, in creation order (parents before children).
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        1..self.nodes.len() as NodeId
    }

    /// The node's path relative to `/`.
    pub fn path(&self, id: NodeId) -> Vec<u8> {
        let mut path = Vec::new();
        self.path_into(id, &mut path);
        path
    }

    /// Writes the node's path relative to `/` into `buf` (replacing what it held), without
    /// allocating once `buf` is large enough: for loops over every node.
    pub fn path_into(&self, id: NodeId, buf: &mut Vec<u8>) {
        let mut len = 0;
        let mut at = id;
        while at != Self::ROOT {
            let node = self.node(at);
            len += node.name.len() + usize::from(node.parent != Self::ROOT);
            at = node.parent;
        }
        buf.clear();
        buf.resize(len, 0);
        let mut end = len;
        let mut at = id;
        while at != Self::ROOT {
            let node = self.node(at);
            buf[end - node.name.len()..end].copy_from_slice(&node.name);
            end -= node.name.len();
            if node.parent != Self::ROOT {
                end -= 1;
                buf[end] = b'/';
            }
            at = node.parent;
        }
    }

    /// Finds a node by its normalized path.
    pub fn lookup(&self, path: &[u8]) -> Option<NodeId> {
        path.split(|&b| b == b'/').try_fold(Self::ROOT, |at, name| {
            self.node(at).children.get(name).copied()
        })
    }

    /// Stacks one layer's entries on the tree built from the layers below.
    pub fn apply_layer(&mut self, layer: u32, entries: &[Entry]) {
        // Whiteouts and opaque markers hide only what lower layers had, wherever they stand in
        // the archive, so they go first; the layer's own entries are then added on top.
        for (i, entry) in entries.iter().enumerate() {
            match entry.kind {
                EntryKind::Whiteout => {
                    if let Some(id) = self.lookup(&entry.path) {
                        if self.node(id).exists() {
                            self.remove_subtree(id, layer, Some(i as u32));
                        }
                    }
                }
                EntryKind::Opaque => {
                    if let Some(id) = self.lookup(&entry.path) {
                        let children: Vec<NodeId> =
                            self.node(id).children.values().copied().collect();
                        for child in children {
                            if self.node(child).exists() {
                                self.remove_subtree(child, layer, None);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for (i, entry) in entries.iter().enumerate() {
            if matches!(entry.kind, EntryKind::Whiteout | EntryKind::Opaque) {
                continue;
            }
            let (parent_path, name) = path::split_last(&entry.path);
            let parent = self.implied_dirs(parent_path, layer);
            let id = self.child(parent, name);
            let is_dir = entry.kind == EntryKind::Dir;
            let owner = Some((entry.mode, entry.uid, entry.gid));
            let node = self.node(id);
            let was = self.current[id as usize];
            if node.exists() && was.is_dir {
                if !is_dir {
                    // A non-directory replacing a directory hides what was under it.
                    let children: Vec<NodeId> = node.children.values().copied().collect();
                    for child in children {
                        if self.node(child).exists() {
                            self.remove_subtree(child, layer, None);
                        }
                    }
                } else if was.owner == owner {
                    continue; // a parent directory listed again, unchanged
                }
            }
            self.current[id as usize] = Current { is_dir, owner };
            self.record(id, layer, Some(i as u32));
        }
    }

    /// Makes sure every directory on `path` exists, creating implied ones. Returns the last.
    fn implied_dirs(&mut self, dir_path: &[u8], layer: u32) -> NodeId {
        let mut at = Self::ROOT;
        if dir_path.is_empty() {
            return at;
        }
        for name in dir_path.split(|&b| b == b'/') {
            at = self.child(at, name);
            let exists = self.node(at).exists();
            if !exists || !self.current[at as usize].is_dir {
                self.current[at as usize] = Current {
                    is_dir: true,
                    owner: None,
                };
                self.record(at, layer, None);
            }
        }
        at
    }

    fn child(&mut self, parent: NodeId, name: &[u8]) -> NodeId {
        if let Some(&id) = self.nodes[parent as usize].children.get(name) {
            return id;
        }
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            name: name.into(),
            parent,
            children: BTreeMap::new(),
            changes: Vec::new(),
        });
        self.current.push(Current::default());
        self.nodes[parent as usize].children.insert(name.into(), id);
        id
    }

    /// Records that a layer provides the node: added if it was not there below, else modified.
    /// A node removed earlier in the same layer and provided again is one change, not two.
    fn record(&mut self, id: NodeId, layer: u32, entry: Option<u32>) {
        let node = &mut self.nodes[id as usize];
        let state = if node.exists_before(layer) {
            State::Modified
        } else {
            State::Added
        };
        let change = Change {
            layer,
            entry,
            state,
        };
        match node.changes.last_mut() {
            Some(last) if last.layer == layer => *last = change,
            _ => node.changes.push(change),
        }
    }

    /// Marks a node and everything under it that exists as removed in this layer.
    fn remove_subtree(&mut self, id: NodeId, layer: u32, entry: Option<u32>) {
        let mut stack = vec![(id, entry)];
        while let Some((at, entry)) = stack.pop() {
            let node = &mut self.nodes[at as usize];
            if !node.exists() {
                continue;
            }
            let change = Change {
                layer,
                entry,
                state: State::Removed,
            };
            match node.changes.last_mut() {
                Some(last) if last.layer == layer => {
                    // Added earlier in this same layer and now hidden: it never shows.
                    if last.state == State::Added {
                        node.changes.pop();
                    } else {
                        *last = change;
                    }
                }
                _ => node.changes.push(change),
            }
            stack.extend(node.children.values().map(|&c| (c, None)));
        }
    }
}
