//! Sizes of the tree as of one layer, as queries over the per-layer records: what each node
//! and everything under it weighs once layers `0..=k` are stacked, and what layer `k` itself
//! put there. One pass over the nodes, children before parents (a node's id is always larger
//! than its parent's); nothing is copied per layer.

use super::links::Links;
use super::{Image, NodeId, State};

use crate::layer::EntryKind;

impl Image {
    /// Per node, the bytes of the files at or under it as of `layer`, each stored file counted
    /// once, under the name that holds it then (see [`Image::held_entry`]).
    pub fn bytes_at(&self, layer: u32) -> Vec<u64> {
        let links = Links::as_of(&self.tree, &self.layers, layer);
        self.subtree_sums(|id| {
            let change = self.tree.node(id).provider_at(layer)?;
            let entry = self.entry(change)?;
            match entry.kind {
                EntryKind::File => Some(entry.size),
                EntryKind::Hardlink => {
                    let (stored, holder) = links.of(id)?;
                    (holder == id).then(|| self.stored_entry(stored).map(|e| e.size))?
                }
                _ => None,
            }
        })
    }

    /// Per node, the bytes of the regular files that `layer` itself adds or modifies at or
    /// under it (removals add nothing; what a removal in layer `k` took away is `bytes_at(k - 1)`;
    /// a hard link stores no bytes of its own).
    pub fn bytes_changed_in(&self, layer: u32) -> Vec<u64> {
        self.subtree_sums(|id| {
            let change = self.tree.node(id).change_in(layer)?;
            if change.state == State::Removed {
                return None;
            }
            self.file_size(change)
        })
    }

    fn file_size(&self, change: &super::Change) -> Option<u64> {
        self.entry(change)
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.size)
    }

    fn subtree_sums(&self, own: impl Fn(NodeId) -> Option<u64>) -> Vec<u64> {
        let mut sums = vec![0u64; self.tree.len()];
        for id in (1..self.tree.len() as NodeId).rev() {
            let at = id as usize;
            sums[at] = sums[at].saturating_add(own(id).unwrap_or(0));
            let parent = self.tree.node(id).parent as usize;
            sums[parent] = sums[parent].saturating_add(sums[at]);
        }
        sums
    }
}
