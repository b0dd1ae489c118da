//! Waste: bytes a layer added that the final filesystem does not show, because a later layer
//! deleted them or provided the same path again.

use crate::layer::EntryKind;
use crate::model::{Image, NodeId, State};

/// Why bytes are wasted, and which later layer made them so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Deleted {
        by: usize,
    },
    /// `same_content`: the later layer stored the same bytes again (a chmod, chown or touch).
    Overwritten {
        by: usize,
        same_content: bool,
    },
}

/// Bytes one layer added at one path that are not visible at the end.
#[derive(Clone, Debug)]
pub struct Wasted {
    pub node: NodeId,
    pub layer: usize,
    pub bytes: u64,
    pub fate: Fate,
}

#[derive(Debug, Default)]
pub struct Waste {
    pub deleted_bytes: u64,
    pub overwritten_bytes: u64,
    /// Every wasted file, largest first.
    pub files: Vec<Wasted>,
}

impl Waste {
    pub fn wasted_bytes(&self) -> u64 {
        self.deleted_bytes.saturating_add(self.overwritten_bytes)
    }
}

pub fn compute(image: &Image) -> Waste {
    let mut waste = Waste::default();
    let tree = &image.tree;
    for id in tree.ids() {
        let changes = &tree.node(id).changes;
        for (i, change) in changes.iter().enumerate() {
            let Some(entry) = image.entry(change) else {
                continue;
            };
            if change.state == State::Removed || entry.kind != EntryKind::File || entry.size == 0 {
                continue;
            }
            // A hard link still shows these bytes under another name.
            if image.bytes_kept(id, change.layer) {
                continue;
            }
            let later = &changes[i + 1..];
            // Any later layer that puts something at this path again, whatever it is.
            let fate = if let Some(again) = later.iter().find(|c| c.state != State::Removed) {
                let same_content = image.entry(again).is_some_and(|e| {
                    e.kind == EntryKind::File
                        && e.size == entry.size
                        && e.content_hash.is_some()
                        && e.content_hash == entry.content_hash
                });
                Fate::Overwritten {
                    by: again.layer as usize,
                    same_content,
                }
            } else if let Some(removal) = later.iter().find(|c| c.state == State::Removed) {
                Fate::Deleted {
                    by: removal.layer as usize,
                }
            } else {
                continue;
            };
            match fate {
                Fate::Deleted { .. } => {
                    waste.deleted_bytes = waste.deleted_bytes.saturating_add(entry.size)
                }
                Fate::Overwritten { .. } => {
                    waste.overwritten_bytes = waste.overwritten_bytes.saturating_add(entry.size)
                }
            }
            waste.files.push(Wasted {
                node: id,
                layer: change.layer as usize,
                bytes: entry.size,
                fate,
            });
        }
    }
    waste
        .files
        .sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.node.cmp(&b.node)));
    waste
}
