//! Hard links: which file entry each name holds. A layer stores a file's bytes once, under its
//! first name; its other names are hard-link entries of 0 bytes that point at it. All the names
//! of one file show the same bytes, and those bytes count once: under the file's own name
//! while that name still shows them, else under the first hard link that is left (uv installs
//! by hard-linking from its cache, then the cache is deleted: the installed name carries the
//! bytes). Computed once for the final filesystem when the image is built, and on demand for
//! the tree as of an earlier layer.

use std::collections::{HashMap, HashSet};

use super::{Layer, NodeId, Tree};
use crate::layer::EntryKind;

/// Where a file's bytes are stored: a layer and the index of its entry there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Stored {
    pub layer: u32,
    pub entry: u32,
}

#[derive(Clone, Copy, Debug)]
struct Link {
    /// The file entry the link shows, and the node that entry was stored at.
    file: Stored,
    file_node: NodeId,
    /// The one name that counts the bytes.
    holder: NodeId,
}

/// The hard links that exist as of one layer, and whose bytes they hold.
#[derive(Debug, Default)]
pub(super) struct Links {
    links: HashMap<NodeId, Link>,
    /// Files whose own name no longer shows the bytes a layer stored there, while a link keeps
    /// them: (file node, layer).
    kept: HashSet<(NodeId, u32)>,
}

/// Hard links to hard links are followed this far (tar writers always point at the file).
const MAX_CHAIN: usize = 8;

impl Links {
    /// The links of the tree once layers `0..=upto` are stacked.
    pub fn as_of(tree: &Tree, layers: &[Layer], upto: u32) -> Links {
        let mut links = HashMap::new();
        for layer in layers.iter().take(upto as usize + 1) {
            let k = layer.index as u32;
            for (i, entry) in layer.entries.iter().enumerate() {
                if entry.kind != EntryKind::Hardlink {
                    continue;
                }
                let Some(link) = tree.lookup(&entry.path) else {
                    continue;
                };
                // Only the entry that provides the name as of `upto` counts.
                let provides = tree
                    .node(link)
                    .provider_at(upto)
                    .is_some_and(|c| c.layer == k && c.entry == Some(i as u32));
                if !provides {
                    continue;
                }
                if let Some((file, file_node)) = linked_file(tree, layers, k, i as u32) {
                    links.insert(
                        link,
                        Link {
                            file,
                            file_node,
                            holder: link,
                        },
                    );
                }
            }
        }
        // The names of each file: its own, while it still shows the stored bytes, holds them;
        // else the first link (the lowest node id, so the answer never depends on map order).
        let mut first_link: HashMap<Stored, NodeId> = HashMap::new();
        for (&node, link) in &links {
            let at = first_link.entry(link.file).or_insert(node);
            *at = (*at).min(node);
        }
        let mut kept = HashSet::new();
        for link in links.values_mut() {
            let own_name_shows = tree
                .node(link.file_node)
                .provider_at(upto)
                .is_some_and(|c| c.layer == link.file.layer && c.entry == Some(link.file.entry));
            link.holder = if own_name_shows {
                link.file_node
            } else {
                kept.insert((link.file_node, link.file.layer));
                first_link[&link.file]
            };
        }
        Links { links, kept }
    }

    /// The file entry a hard link shows, and the name that holds its bytes.
    pub fn of(&self, node: NodeId) -> Option<(Stored, NodeId)> {
        self.links.get(&node).map(|l| (l.file, l.holder))
    }

    pub fn kept(&self, node: NodeId, layer: u32) -> bool {
        self.kept.contains(&(node, layer))
    }
}

/// The regular-file entry a hard-link entry points at: its target's entry as of the link's own
/// layer (the same layer, as tar writers store it, or a layer below), following links to links.
fn linked_file(tree: &Tree, layers: &[Layer], layer: u32, entry: u32) -> Option<(Stored, NodeId)> {
    let (mut layer, mut entry) = (layer, entry);
    for _ in 0..MAX_CHAIN {
        let link = layers.get(layer as usize)?.entries.get(entry as usize)?;
        let target = tree.lookup(link.link.as_deref()?)?;
        let change = tree.node(target).provider_at(layer)?;
        let (l, e) = (change.layer, change.entry?);
        let found = layers.get(l as usize)?.entries.get(e as usize)?;
        match found.kind {
            EntryKind::File => return Some((Stored { layer: l, entry: e }, target)),
            // A link to itself, or to a link of its own layer seen again, ends here.
            EntryKind::Hardlink if (l, e) != (layer, entry) => (layer, entry) = (l, e),
            _ => return None,
        }
    }
    None
}
