//! The Files pane as a treemap (`t`): the directory of the selected file or directory, one
//! tile per child, area for bytes (the same sizes the tree shows: this layer's changes, or
//! the whole image as of it), coloured by category as everywhere else (a directory by the
//! category that holds most of its bytes), letters under `NO_COLOR`. This module is the
//! query and the geometry, shared by `update` (which keeps the tiles and hit-tests clicks) and
//! the Files pane (which draws them); the squarified layout is the `treemap` crate's.

use ratatui::layout::Rect;
use treemap::{Mappable, TreemapLayout};

use crate::analysis::Category;
use crate::model::{NodeId, State, Tree};
use crate::report::Report;

use super::tree_view::{Mode, TreeView};

/// Tiles a map shows at most; the rest of a large directory is one "N more" tile.
pub const MAX_TILES: usize = 120;

/// One tile of the map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    /// None: the "N more" tile for the smallest children.
    pub node: Option<NodeId>,
    pub bytes: u64,
    pub is_dir: bool,
    /// The category a file is in, or the one holding most of a directory's bytes.
    pub category: Option<Category>,
    /// Children folded into this tile (1 for a child of its own).
    pub count: usize,
}

/// The map of one directory, for one layer and mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Map {
    pub dir: NodeId,
    pub layer: u32,
    pub mode: Mode,
    /// Largest first.
    pub tiles: Vec<Tile>,
}

/// The directory a map shows for a selection: the selected node's parent.
pub fn dir_of(report: &Report, selected: Option<NodeId>) -> NodeId {
    selected.map_or(Tree::ROOT, |n| report.image.tree.node(n).parent)
}

/// The tiles of a directory: its children that hold bytes in this layer and mode (what a
/// removal took away is not shown: it is gone), largest first.
pub fn tiles(report: &Report, view: &TreeView, layer: u32, dir: NodeId) -> Vec<Tile> {
    let tree = &report.image.tree;
    let mut out: Vec<Tile> = tree
        .node(dir)
        .children
        .values()
        .filter_map(|&c| {
            let v = view.node_view(report, layer, c);
            if v.bytes == 0 || v.state == Some(State::Removed) {
                return None;
            }
            let category = if v.is_dir {
                dominant(report, view, c)
            } else {
                report.facts.categories.of(c).primary()
            };
            Some(Tile {
                node: Some(c),
                bytes: v.bytes,
                is_dir: v.is_dir,
                category,
                count: 1,
            })
        })
        .collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.bytes));
    if out.len() > MAX_TILES {
        let rest = out.split_off(MAX_TILES - 1);
        out.push(Tile {
            node: None,
            bytes: rest.iter().map(|t| t.bytes).sum(),
            is_dir: false,
            category: None,
            count: rest.len(),
        });
    }
    out
}

/// The category (None: none) that holds most of the bytes under a directory.
fn dominant(report: &Report, view: &TreeView, dir: NodeId) -> Option<Category> {
    let tree = &report.image.tree;
    let mut by: [u64; Category::ALL.len() + 1] = [0; Category::ALL.len() + 1];
    let mut stack = vec![dir];
    while let Some(n) = stack.pop() {
        let node = tree.node(n);
        if node.children.is_empty() {
            let slot = report
                .facts
                .categories
                .of(n)
                .primary()
                .and_then(|c| Category::ALL.iter().position(|x| *x == c))
                .unwrap_or(Category::ALL.len());
            by[slot] += view.size_of(n);
        } else {
            stack.extend(node.children.values().copied());
        }
    }
    let (slot, _) = by
        .iter()
        .enumerate()
        .max_by_key(|(i, b)| (**b, std::cmp::Reverse(*i)))?;
    Category::ALL.get(slot).copied()
}

struct Item {
    index: usize,
    size: f64,
    bounds: treemap::Rect,
}

impl Mappable for Item {
    fn size(&self) -> f64 {
        self.size
    }
    fn bounds(&self) -> &treemap::Rect {
        &self.bounds
    }
    fn set_bounds(&mut self, bounds: treemap::Rect) {
        self.bounds = bounds;
    }
}

/// Where each tile goes in `area`, in whole cells: (index into `tiles`, its cells). Cells are
/// about twice as tall as wide, so the layout runs on a square grid of half-cell rows and is
/// rounded back; shared edges round alike, so tiles neither overlap nor leave gaps. Tiles too
/// small for a cell are left out.
pub fn cells(tiles: &[Tile], area: Rect) -> Vec<(usize, Rect)> {
    let mut items: Vec<Item> = tiles
        .iter()
        .enumerate()
        .filter(|(_, t)| t.bytes > 0)
        .map(|(index, t)| Item {
            index,
            size: t.bytes as f64,
            bounds: treemap::Rect::new(),
        })
        .collect();
    if items.is_empty() || area.width == 0 || area.height == 0 {
        return Vec::new();
    }
    let bounds = treemap::Rect::from_points(
        0.0,
        0.0,
        f64::from(area.width),
        f64::from(area.height) * 2.0,
    );
    TreemapLayout::new().layout_items(&mut items, bounds);
    let mut out: Vec<(usize, Rect)> = items
        .iter()
        .filter_map(|it| {
            let b = it.bounds;
            let x0 = b.x.round() as u16;
            let x1 = (b.x + b.w).round() as u16;
            let y0 = (b.y / 2.0).round() as u16;
            let y1 = ((b.y + b.h) / 2.0).round() as u16;
            (x1 > x0 && y1 > y0).then(|| {
                let r = Rect::new(area.x + x0, area.y + y0, x1 - x0, y1 - y0);
                (it.index, r.intersection(area))
            })
        })
        .collect();
    out.sort_by_key(|(i, _)| *i);
    out
}

/// The tile under a screen position.
pub fn hit(tiles: &[Tile], area: Rect, x: u16, y: u16) -> Option<usize> {
    cells(tiles, area)
        .into_iter()
        .find(|(_, r)| x >= r.x && x < r.right() && y >= r.y && y < r.bottom())
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(bytes: u64) -> Tile {
        Tile {
            node: Some(bytes as NodeId),
            bytes,
            is_dir: false,
            category: None,
            count: 1,
        }
    }

    #[test]
    fn cells_cover_the_area_without_overlap_and_follow_the_bytes() {
        let tiles: Vec<Tile> = [500, 300, 120, 50, 20, 10].into_iter().map(tile).collect();
        let area = Rect::new(3, 2, 60, 20);
        let cells = cells(&tiles, area);
        let mut covered = 0u32;
        for (i, (a, ra)) in cells.iter().enumerate() {
            assert!(area.contains(ra.as_position()) && ra.right() <= area.right());
            covered += u32::from(ra.width) * u32::from(ra.height);
            for (_, rb) in &cells[i + 1..] {
                assert!(!ra.intersects(*rb), "{a}: {ra:?} overlaps {rb:?}");
            }
        }
        assert_eq!(covered, 60 * 20, "no gaps");
        // The largest tile gets the most cells.
        let area_of = |i: usize| {
            cells
                .iter()
                .find(|(j, _)| *j == i)
                .map_or(0, |(_, r)| r.width * r.height)
        };
        assert!(area_of(0) > area_of(1) && area_of(1) > area_of(2));
        let (_, big) = cells[0];
        assert_eq!(hit(&tiles, area, big.x, big.y), Some(0));
    }
}
