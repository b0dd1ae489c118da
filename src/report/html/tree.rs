//! The treemap's data: the final filesystem as a tree of tiles, and beside it the bytes later
//! layers deleted or overwrote, under the layer that wasted them. Every byte is kept: when an
//! image has more files than a page should carry, the files and directories below a size
//! threshold are folded, per directory, into "N small files" tiles, one per (layer,
//! categories, distribution), so colouring by any of them and filtering by layer stay exact.
//! The threshold is the smallest that keeps the tile count within a budget.

use std::collections::{BTreeMap, HashMap};

use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::super::Report;
use crate::analysis::Category;
use crate::analysis::waste::Fate;
use crate::layer::EntryKind;
use crate::model::{NodeId, Tree};

/// Tiles a page carries before folding, directories included (each is ~35 bytes of JSON, so
/// a 40k-file image's page stays under 1 MB).
pub const BUDGET: usize = 20_000;

/// One tile: a file, a directory, or a fold of small files (`name` empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub name: String,
    pub bytes: u64,
    /// The files it stands for.
    pub files: u64,
    /// The layer that provides it (a folded tile: its files'; a directory: none). Under the
    /// waste: the layer that added the bytes.
    pub layer: Option<usize>,
    /// Bit `i` set: in the `i`th category of `Category::ALL`.
    pub categories: u32,
    /// Index into the page's distributions.
    pub dist: Option<usize>,
    pub children: Vec<Tile>,
}

/// The bytes one later layer deleted (or overwrote), as a tile holding the wasted paths.
#[derive(Debug, serde::Serialize)]
pub struct WasteGroup {
    /// The layer that deleted or overwrote them.
    pub by: usize,
    /// "deleted" or "overwritten"
    pub fate: &'static str,
    pub tile: Tile,
}

/// The page's treemap: the final filesystem, and what each layer wasted.
#[derive(Debug)]
pub struct Treemap {
    pub root: Tile,
    /// One group per wasting layer and fate, in layer order.
    pub waste: Vec<WasteGroup>,
    /// Tiles below this many bytes were folded (0: none were).
    pub threshold: u64,
}

/// Serialised as `[name, bytes, files, layer, categories, dist]` plus `children` when it has
/// any, with -1 for none: a page of 10k tiles stays small.
impl Serialize for Tile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(6 + usize::from(!self.children.is_empty())))?;
        seq.serialize_element(&self.name)?;
        seq.serialize_element(&self.bytes)?;
        seq.serialize_element(&self.files)?;
        seq.serialize_element(&self.layer.map_or(-1, |l| l as i64))?;
        seq.serialize_element(&self.categories)?;
        seq.serialize_element(&self.dist.map_or(-1, |d| d as i64))?;
        if !self.children.is_empty() {
            seq.serialize_element(&self.children)?;
        }
        seq.end()
    }
}

impl Tile {
    fn dir(name: String) -> Tile {
        Tile {
            name,
            bytes: 0,
            files: 0,
            layer: None,
            categories: 0,
            dist: None,
            children: Vec::new(),
        }
    }

    fn is_dir(&self) -> bool {
        self.layer.is_none()
    }

    /// Sums bytes and files up from the leaves.
    fn total(&mut self) {
        if self.is_dir() {
            for c in &mut self.children {
                c.total();
            }
            self.bytes = self.children.iter().map(|c| c.bytes).sum();
            self.files = self.children.iter().map(|c| c.files).sum();
        }
    }

    fn count(&self) -> usize {
        1 + self.children.iter().map(Tile::count).sum::<usize>()
    }

    fn sizes(&self, out: &mut Vec<u64>) {
        out.push(self.bytes);
        for c in &self.children {
            c.sizes(out);
        }
    }

    /// Drops empty directories (their files hold no bytes).
    fn prune_empty(&mut self) {
        self.children.retain_mut(|c| {
            c.prune_empty();
            c.bytes > 0
        });
    }
}

/// The categories of a node as the page's bits.
fn category_bits(report: &Report, node: NodeId) -> u32 {
    let set = report.facts.categories.of(node);
    Category::ALL
        .iter()
        .enumerate()
        .filter(|(_, c)| set.contains(**c))
        .fold(0, |bits, (i, _)| bits | 1 << i)
}

fn name_of(tree: &Tree, node: NodeId) -> String {
    String::from_utf8_lossy(&tree.node(node).name).into_owned()
}

/// The final filesystem, every file with bytes, as a tile tree.
fn final_filesystem(report: &Report) -> Tile {
    let owner = &report.facts.python.owner;
    let mut root = Tile::dir("/".into());
    fn walk(report: &Report, owner: &HashMap<NodeId, usize>, node: NodeId, into: &mut Tile) {
        let image = &report.image;
        let tree = &image.tree;
        for &child in tree.node(node).children.values() {
            let n = tree.node(child);
            if !n.exists() {
                continue;
            }
            let entry = image.final_entry(child);
            let is_dir = entry.map_or(!n.children.is_empty(), |e| e.kind == EntryKind::Dir);
            if is_dir {
                let mut dir = Tile::dir(name_of(tree, child));
                walk(report, owner, child, &mut dir);
                into.children.push(dir);
                continue;
            }
            let bytes = image.held_bytes(child);
            if bytes == 0 {
                continue;
            }
            into.children.push(Tile {
                name: name_of(tree, child),
                bytes,
                files: 1,
                layer: Some(n.last_layer()),
                categories: category_bits(report, child),
                dist: owner.get(&child).copied(),
                children: Vec::new(),
            });
        }
    }
    walk(report, owner, Tree::ROOT, &mut root);
    root.total();
    root.prune_empty();
    root
}

/// What later layers deleted or overwrote, one group per (wasting layer, fate), each holding
/// the wasted paths as a tree.
fn wasted(report: &Report) -> Vec<WasteGroup> {
    let tree = &report.image.tree;
    let mut groups: BTreeMap<(usize, bool), Tile> = BTreeMap::new();
    for w in &report.facts.waste.files {
        let (by, deleted) = match w.fate {
            Fate::Deleted { by } => (by, true),
            Fate::Overwritten { by, .. } => (by, false),
        };
        let group = groups.entry((by, deleted)).or_insert_with(|| {
            let verb = if deleted { "deleted" } else { "overwritten" };
            Tile::dir(format!("{verb} by layer {by}"))
        });
        let path = tree.path(w.node);
        let mut parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
        let file = parts.pop().unwrap_or_default();
        let mut at = group;
        for part in parts {
            let name = String::from_utf8_lossy(part).into_owned();
            let i = match at
                .children
                .iter()
                .position(|c| c.is_dir() && c.name == name)
            {
                Some(i) => i,
                None => {
                    at.children.push(Tile::dir(name));
                    at.children.len() - 1
                }
            };
            at = &mut at.children[i];
        }
        at.children.push(Tile {
            name: String::from_utf8_lossy(file).into_owned(),
            bytes: w.bytes,
            files: 1,
            layer: Some(w.layer),
            categories: category_bits(report, w.node),
            dist: None,
            children: Vec::new(),
        });
    }
    let mut out: Vec<WasteGroup> = groups
        .into_iter()
        .map(|((by, deleted), mut tile)| {
            tile.total();
            tile.prune_empty();
            WasteGroup {
                by,
                fate: if deleted { "deleted" } else { "overwritten" },
                tile,
            }
        })
        .collect();
    out.retain(|g| g.tile.bytes > 0);
    out
}

/// Folds the children of every kept directory that are below `threshold` into one tile per
/// (layer, categories, distribution) of the files inside them.
fn fold(tile: &mut Tile, threshold: u64) {
    if !tile.is_dir() {
        return;
    }
    let (keep, small): (Vec<Tile>, Vec<Tile>) = std::mem::take(&mut tile.children)
        .into_iter()
        .partition(|c| c.bytes >= threshold);
    tile.children = keep;
    for c in &mut tile.children {
        fold(c, threshold);
    }
    let mut folds: BTreeMap<(Option<usize>, u32, Option<usize>), Tile> = BTreeMap::new();
    let mut stack = small;
    while let Some(t) = stack.pop() {
        if t.is_dir() {
            stack.extend(t.children);
            continue;
        }
        let f = folds
            .entry((t.layer, t.categories, t.dist))
            .or_insert_with(|| Tile {
                name: String::new(),
                bytes: 0,
                files: 0,
                layer: t.layer,
                categories: t.categories,
                dist: t.dist,
                children: Vec::new(),
            });
        f.bytes += t.bytes;
        f.files += t.files;
    }
    tile.children.extend(folds.into_values());
}

/// Merges each chain of directories that hold nothing but one directory into one tile named
/// by the joined path (`lib/gcc/x86_64-linux-gnu/12`), so the treemap spends no rows on
/// headers that say nothing.
fn join_chains(tile: &mut Tile) {
    for c in &mut tile.children {
        while c.is_dir() && c.children.len() == 1 && c.children[0].is_dir() {
            let only = c.children.pop().expect("one child");
            c.name = format!("{}/{}", c.name, only.name);
            c.children = only.children;
        }
        join_chains(c);
    }
}

/// Largest first, as the treemap lays them out.
fn sort(tile: &mut Tile) {
    tile.children.sort_by_key(|c| std::cmp::Reverse(c.bytes));
    for c in &mut tile.children {
        sort(c);
    }
}

/// The treemap of a report, within `budget` tiles (folded tiles aside).
pub fn treemap(report: &Report, budget: usize) -> Treemap {
    let mut root = final_filesystem(report);
    let mut waste = wasted(report);
    let count = root.count() + waste.iter().map(|g| g.tile.count()).sum::<usize>();
    let mut threshold = 0;
    if count > budget {
        // The smallest size that leaves at most `budget` tiles at or above it. A directory
        // weighs at least as much as anything in it, so what stays is a tree.
        let mut sizes = Vec::with_capacity(count);
        root.sizes(&mut sizes);
        for g in &waste {
            g.tile.sizes(&mut sizes);
        }
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        threshold = sizes[budget] + 1;
        fold(&mut root, threshold);
        for g in &mut waste {
            fold(&mut g.tile, threshold);
        }
    }
    sort(&mut root);
    join_chains(&mut root);
    for g in &mut waste {
        sort(&mut g.tile);
        join_chains(&mut g.tile);
    }
    Treemap {
        root,
        waste,
        threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: u64, layer: usize) -> Tile {
        Tile {
            name: name.into(),
            bytes,
            files: 1,
            layer: Some(layer),
            categories: 0,
            dist: None,
            children: Vec::new(),
        }
    }

    fn leaves(t: &Tile) -> Vec<&Tile> {
        if t.children.is_empty() {
            vec![t]
        } else {
            t.children.iter().flat_map(leaves).collect()
        }
    }

    #[test]
    fn folding_keeps_every_byte_and_every_layer_s_share() {
        let mut root = Tile::dir("/".into());
        let mut usr = Tile::dir("usr".into());
        for i in 0..100u64 {
            usr.children
                .push(file(&format!("f{i}"), 10 + i, (i % 2) as usize));
        }
        usr.children.push(file("big", 100_000, 1));
        let mut small_dir = Tile::dir("share".into());
        small_dir.children.push(file("a", 5, 0));
        usr.children.push(small_dir);
        root.children.push(usr);
        root.total();
        let before = root.bytes;
        let by_layer = |t: &Tile, l: usize| -> u64 {
            leaves(t)
                .iter()
                .filter(|x| x.layer == Some(l))
                .map(|x| x.bytes)
                .sum()
        };
        let (l0, l1) = (by_layer(&root, 0), by_layer(&root, 1));
        fold(&mut root, 1_000);
        root.total();
        assert_eq!(root.bytes, before);
        assert_eq!((by_layer(&root, 0), by_layer(&root, 1)), (l0, l1));
        let usr = &root.children[0];
        // "big", and one fold per layer.
        assert_eq!(usr.children.len(), 3, "{usr:#?}");
        let folded: u64 = usr
            .children
            .iter()
            .filter(|c| c.name.is_empty())
            .map(|c| c.files)
            .sum();
        assert_eq!(folded, 101);
    }

    #[test]
    fn chains_of_lone_directories_become_one_tile() {
        let mut root = Tile::dir("/".into());
        let mut a = Tile::dir("usr".into());
        let mut b = Tile::dir("lib".into());
        b.children.push(file("x", 1, 0));
        b.children.push(file("y", 2, 0));
        a.children.push(b);
        root.children.push(a);
        root.total();
        join_chains(&mut root);
        assert_eq!(root.children[0].name, "usr/lib");
        assert_eq!(root.children[0].children.len(), 2);
        assert_eq!(root.children[0].bytes, 3);
    }

    #[test]
    fn tiles_serialise_as_short_arrays() {
        let mut dir = Tile::dir("lib".into());
        dir.children.push(file("x.so", 7, 2));
        dir.total();
        assert_eq!(
            serde_json::to_string(&dir).unwrap(),
            r#"["lib",7,1,-1,0,-1,[["x.so",7,1,2,0,-1]]]"#
        );
    }
}
