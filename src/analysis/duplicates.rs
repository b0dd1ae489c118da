//! Duplicate content: files in the final filesystem with the same size and the same content
//! hash at different paths. Hard links are one file, not duplicates.

use std::collections::HashMap;

use crate::model::{Image, NodeId};

/// Copies of one content.
#[derive(Clone, Debug)]
pub struct DuplicateGroup {
    pub size: u64,
    /// Each copy and the layer that provides it; the first is the one kept.
    pub copies: Vec<(NodeId, usize)>,
}

impl DuplicateGroup {
    /// Every copy but one.
    pub fn reclaimable(&self) -> u64 {
        self.size.saturating_mul(self.copies.len() as u64 - 1)
    }
}

#[derive(Debug, Default)]
pub struct Duplicates {
    /// Groups, most reclaimable first.
    pub groups: Vec<DuplicateGroup>,
    /// False when contents were not read (`--no-verify` seeks past them).
    pub computed: bool,
}

impl Duplicates {
    pub fn reclaimable_bytes(&self) -> u64 {
        crate::model::sum_bytes(self.groups.iter().map(DuplicateGroup::reclaimable))
    }
}

pub fn compute(image: &Image) -> Duplicates {
    let mut by_content: HashMap<(u64, u128), Vec<(NodeId, usize)>> = HashMap::new();
    let mut computed = true;
    for id in image.tree.ids() {
        // Each stored file once, under the name that holds it.
        let Some(entry) = image.held_entry(id) else {
            continue;
        };
        if entry.size == 0 {
            continue;
        }
        let Some(hash) = entry.content_hash else {
            computed = false;
            continue;
        };
        let layer = image.tree.node(id).last_layer();
        by_content
            .entry((entry.size, hash))
            .or_default()
            .push((id, layer));
    }
    let mut groups: Vec<DuplicateGroup> = by_content
        .into_iter()
        .filter(|(_, copies)| copies.len() > 1)
        .map(|((size, _), mut copies)| {
            // Keep the copy from the lowest layer, then the first path in tree order.
            copies.sort_by_key(|&(node, layer)| (layer, node));
            DuplicateGroup { size, copies }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.reclaimable()
            .cmp(&a.reclaimable())
            .then(a.copies[0].0.cmp(&b.copies[0].0))
    });
    Duplicates { groups, computed }
}
