//! Hard links: a layer stores a file's bytes once, under one of its names; its other names are
//! hard-link entries of 0 bytes. When a later layer removes the name that holds the bytes but
//! keeps another (uv installs by hard-linking from its cache, then the cache is deleted), the
//! bytes are still in the image under the name that is left: that name carries them, so they
//! count once, and they are not waste.

use std::collections::{HashMap, HashSet};

use crate::layer::EntryKind;
use crate::model::{Image, NodeId, State};

#[derive(Debug, Default)]
pub struct Carriers {
    /// Visible hard links that carry the bytes of a name removed later: link -> (layer, the
    /// file's node).
    carried: HashMap<NodeId, (u32, NodeId)>,
    /// Files whose bytes a link carries: (file node, layer).
    kept: HashSet<(NodeId, u32)>,
}

impl Carriers {
    /// The bytes a node holds in the final filesystem: a regular file's size, or the size of
    /// the file a carrying hard link stands for; 0 for anything else.
    pub fn size(&self, image: &Image, node: NodeId) -> u64 {
        self.entry(image, node).map_or(0, |e| e.size)
    }

    /// The file entry whose bytes a visible node holds, if any.
    pub fn entry<'a>(&self, image: &'a Image, node: NodeId) -> Option<&'a crate::layer::Entry> {
        let entry = image.final_entry(node)?;
        match entry.kind {
            EntryKind::File => Some(entry),
            EntryKind::Hardlink => {
                let &(layer, file) = self.carried.get(&node)?;
                image.entry(image.tree.node(file).change_in(layer)?)
            }
            _ => None,
        }
    }

    /// Whether the bytes a layer stored at this node live on under another name.
    pub fn kept(&self, node: NodeId, layer: u32) -> bool {
        self.kept.contains(&(node, layer))
    }
}

pub fn compute(image: &Image) -> Carriers {
    let mut carriers = Carriers::default();
    let tree = &image.tree;
    for layer in &image.layers {
        let k = layer.index as u32;
        for (i, entry) in layer.entries.iter().enumerate() {
            if entry.kind != EntryKind::Hardlink {
                continue;
            }
            let (Some(link), Some(target)) = (
                tree.lookup(&entry.path),
                entry.link.as_deref().and_then(|t| tree.lookup(t)),
            ) else {
                continue;
            };
            // The bytes must be in this layer, and gone from the target's name at the end.
            let Some(stored) = tree.node(target).change_in(k) else {
                continue;
            };
            if image
                .entry(stored)
                .is_none_or(|e| e.kind != EntryKind::File)
                || stored.state == State::Removed
            {
                continue;
            }
            if tree.node(target).changes.last() == Some(stored)
                || carriers.kept.contains(&(target, k))
            {
                continue;
            }
            // The link itself must be what the final filesystem shows at its name.
            let link_last = tree.node(link).changes.last();
            if link_last.is_some_and(|c| {
                c.layer == k && c.entry == Some(i as u32) && c.state != State::Removed
            }) {
                carriers.carried.insert(link, (k, target));
                carriers.kept.insert((target, k));
            }
        }
    }
    carriers
}
