//! The one way the explorer's state changes: `update(&mut ViewState, &Report, Action)`. It
//! does no I/O and reads no clock, so tests drive it with sequences of actions. It asks the
//! layout for page sizes and mouse hits and the list queries for lengths, the same questions
//! drawing asks.

use crate::model::NodeId;
use crate::report::Report;

use super::action::{Action, Pane};
use super::describe;
use super::layout::map_split;
use super::lists::{self, LISTS};
use super::state::{Subject, ViewState, window};
use super::tree_view::{MIN_SIZES, Mode, Sort};
use super::treemap::{self, Map};

impl ViewState {
    fn layer_u32(&self) -> u32 {
        self.layer as u32
    }

    fn refresh_tree(&mut self, report: &Report) {
        let layer = self.layer_u32();
        self.tree.refresh(report, layer);
        self.details_scroll = 0;
    }

    fn select_layer(&mut self, report: &Report, layer: usize) {
        let last = report.image.layers.len().saturating_sub(1);
        let layer = layer.min(last);
        if layer != self.layer {
            self.layer = layer;
            self.refresh_tree(report);
        }
    }

    fn set_focus(&mut self, pane: Pane) {
        self.focus = pane;
        let subject = match pane {
            Pane::Layers => Some(Subject::Layer),
            Pane::Files => Some(Subject::File),
            Pane::Findings | Pane::Packages => {
                self.side = pane;
                None
            }
            Pane::Details => None,
        };
        if let Some(subject) = subject.filter(|s| *s != self.subject) {
            self.subject = subject;
            self.details_scroll = 0;
        }
    }

    /// Rows a page moves in the focused pane.
    fn page(&self, report: &Report) -> usize {
        let rows = self.areas(report).rows(self.focus).map(|r| r.height);
        usize::from(rows.unwrap_or(1)).max(1)
    }

    /// Selects row `i` of a pane's list (clamped); in Details, scrolls to line `i`.
    fn select(&mut self, report: &Report, pane: Pane, i: usize) {
        let last = match pane {
            // Details lines are counted only here, when the pane scrolls.
            Pane::Details => describe::lines(report, self).len(),
            _ => lists::len(report, self, pane),
        }
        .saturating_sub(1);
        let i = i.min(last);
        match pane {
            Pane::Layers => self.select_layer(report, i),
            Pane::Files => {
                if i != self.tree.cursor {
                    self.tree.cursor = i;
                    self.details_scroll = 0;
                }
            }
            Pane::Findings => self.findings.cursor = i,
            Pane::Packages => self.packages.cursor = i,
            Pane::Details => self.details_scroll = i,
        }
    }

    /// Moves the focused pane's cursor by `by` rows (clamped); in a treemap, by `by` tiles.
    fn move_by(&mut self, report: &Report, by: isize) {
        if self.focus == Pane::Files && self.map.is_some() {
            self.map_step(report, by);
            return;
        }
        let to = self.pos(self.focus).cursor.saturating_add_signed(by);
        self.select(report, self.focus, to);
    }

    // ---- Files as a treemap: the selection is a tile of the map of its parent ----

    /// The map of the selection's directory.
    fn map_for(&self, report: &Report) -> Map {
        let dir = treemap::dir_of(report, self.selected_node());
        let layer = self.layer as u32;
        Map {
            dir,
            layer,
            mode: self.tree.mode,
            tiles: treemap::tiles(report, &self.tree, layer, dir),
        }
    }

    /// Rebuilds the map when its directory, layer or mode changed.
    fn refresh_map(&mut self, report: &Report) {
        let Some(map) = &self.map else { return };
        let dir = treemap::dir_of(report, self.selected_node());
        if (map.dir, map.layer, map.mode) != (dir, self.layer as u32, self.tree.mode) {
            self.map = Some(self.map_for(report));
        }
    }

    /// Selects the tile `by` tiles on, in the map's order (largest first).
    fn map_step(&mut self, report: &Report, by: isize) {
        let Some(map) = &self.map else { return };
        let selected = self.selected_node();
        let at = map
            .tiles
            .iter()
            .position(|t| t.node.is_some() && t.node == selected)
            .unwrap_or(0);
        let last = map.tiles.iter().filter(|t| t.node.is_some()).count();
        let to = at.saturating_add_signed(by).min(last.saturating_sub(1));
        if let Some(node) = map.tiles.get(to).and_then(|t| t.node) {
            self.show(report, None, node);
        }
    }

    /// Opens a directory tile: selects its largest child, so the map shows inside it.
    fn map_open(&mut self, report: &Report, node: NodeId) {
        let (layer, mode) = (self.layer as u32, self.tree.mode);
        let tiles = treemap::tiles(report, &self.tree, layer, node);
        let Some(child) = tiles.first().and_then(|t| t.node) else {
            self.show(report, None, node);
            return;
        };
        self.show(report, None, child);
        // The map inside is the one just made, unless showing the child changed the view.
        if self.selected_node() == Some(child)
            && (self.layer as u32, self.tree.mode) == (layer, mode)
        {
            self.map = Some(Map {
                dir: node,
                layer,
                mode,
                tiles,
            });
        }
    }

    /// Goes up: selects the map's directory, so the map shows its parent.
    fn map_up(&mut self, report: &Report) {
        let Some(map) = &self.map else { return };
        if map.dir != crate::model::Tree::ROOT {
            let dir = map.dir;
            self.show(report, None, dir);
        }
    }

    /// A click or Enter on a tile: a directory opens, a file is selected.
    fn map_activate(&mut self, report: &Report, tile: &treemap::Tile) {
        match tile.node {
            Some(node) if tile.is_dir => self.map_open(report, node),
            Some(node) => self.show(report, None, node),
            None => {
                self.note = Some(format!(
                    "the {} smallest entries share one tile; t shows them in the tree",
                    tile.count
                ));
            }
        }
    }

    /// Keeps the offset of every list on screen such that its cursor is visible.
    fn follow_cursors(&mut self, report: &Report) {
        let areas = self.areas(report);
        for pane in LISTS {
            if let Some(rows) = areas.rows(pane) {
                let pos = self.pos(pane);
                let len = lists::len(report, self, pane);
                let offset = window(pos.cursor, pos.offset, usize::from(rows.height), len);
                self.set_offset(pane, offset);
            }
        }
    }

    /// Jumps from the selected finding to its layer and first file.
    fn jump_to_finding(&mut self, report: &Report) {
        let Some(finding) = report.findings.get(self.findings.cursor) else {
            return;
        };
        if let Some(layer) = finding.layer {
            self.select_layer(report, layer);
        }
        let node = finding.paths.iter().find_map(|p| {
            report
                .image
                .tree
                .lookup(p.trim_start_matches('/').as_bytes())
        });
        match node {
            Some(node) => self.show(report, None, node),
            None => {
                self.set_focus(Pane::Files);
                self.note = Some("this finding names no file in the tree".into());
            }
        }
    }

    /// Shows a node in Files, in `layer` if given: expands its ancestors, and clears the
    /// filters when they hide it.
    fn show(&mut self, report: &Report, layer: Option<usize>, node: NodeId) {
        if let Some(layer) = layer {
            self.select_layer(report, layer);
        }
        self.set_focus(Pane::Files);
        if !self.tree.reveal(report, self.layer_u32(), node) {
            self.tree.set_pattern(report, String::new());
            self.tree.min_size = 0;
            self.tree.hide_unchanged = false;
            if !self.tree.reveal(report, self.layer_u32(), node) {
                self.tree.mode = Mode::Image;
                self.tree.reveal(report, self.layer_u32(), node);
            }
            self.note = Some("filters cleared to show the file".into());
        }
        self.details_scroll = 0;
    }

    /// Which pane is under a screen position, and the row within its list, if any.
    fn hit(&self, report: &Report, x: u16, y: u16) -> Option<(Pane, Option<usize>)> {
        let areas = self.areas(report);
        let inside =
            |r: ratatui::layout::Rect| x >= r.x && x < r.right() && y >= r.y && y < r.bottom();
        let pane = Pane::ALL
            .into_iter()
            .find(|&p| areas.pane(p).is_some_and(inside))?;
        let row = areas
            .rows(pane)
            .filter(|r| LISTS.contains(&pane) && inside(*r))
            .map(|r| usize::from(y - r.y));
        Some((pane, row))
    }

    fn click(&mut self, report: &Report, x: u16, y: u16) {
        let Some((pane, row)) = self.hit(report, x, y) else {
            return;
        };
        self.set_focus(pane);
        if pane == Pane::Files
            && let (Some(map), Some(rows)) = (&self.map, self.areas(report).rows(Pane::Files))
        {
            let (cells, _) = map_split(rows);
            if let Some(i) = treemap::hit(&map.tiles, cells, x, y) {
                let tile = map.tiles[i].clone();
                self.map_activate(report, &tile);
            }
            return;
        }
        let Some(row) = row else { return };
        let to = self.pos(pane).offset + row;
        if to >= lists::len(report, self, pane) {
            return;
        }
        if pane == Pane::Files && to == self.tree.cursor {
            self.toggle_fold(report);
        }
        self.select(report, pane, to);
    }

    fn scroll(&mut self, report: &Report, x: u16, y: u16, by: isize) {
        let before = self.focus;
        if let Some((pane, _)) = self.hit(report, x, y) {
            self.focus = pane;
        }
        self.move_by(report, by);
        self.focus = before;
    }

    /// Folds or unfolds the selected directory.
    fn toggle_fold(&mut self, report: &Report) {
        let Some(row) = self.tree.rows.get(self.tree.cursor).copied() else {
            return;
        };
        if !row.has_children {
            return;
        }
        if !self.tree.collapsed.remove(&row.node) {
            self.tree.collapsed.insert(row.node);
        }
        self.refresh_tree(report);
    }

    fn left(&mut self, report: &Report) {
        let Some(row) = self.tree.rows.get(self.tree.cursor).copied() else {
            return;
        };
        if row.has_children && !self.tree.collapsed.contains(&row.node) {
            self.tree.collapsed.insert(row.node);
            self.refresh_tree(report);
            return;
        }
        // Go to the parent's row.
        let parent = report.image.tree.node(row.node).parent;
        if let Some(i) = self.tree.rows[..self.tree.cursor]
            .iter()
            .rposition(|r| r.node == parent)
        {
            self.select(report, Pane::Files, i);
        }
    }

    fn right(&mut self, report: &Report) {
        let Some(row) = self.tree.rows.get(self.tree.cursor).copied() else {
            return;
        };
        if row.has_children && self.tree.collapsed.remove(&row.node) {
            self.refresh_tree(report);
        } else if row.has_children {
            self.select(report, Pane::Files, self.tree.cursor + 1);
        }
    }
}

/// Applies one action. Pure: the same state, report and action give the same state.
pub fn update(state: &mut ViewState, report: &Report, action: Action) {
    state.note = None;
    if state.help && !matches!(action, Action::Resize { .. } | Action::Quit) {
        // Any key closes the help; it does nothing else.
        state.help = false;
        state.follow_cursors(report);
        return;
    }
    match action {
        Action::Quit => state.quit = true,
        Action::FocusNext => state.set_focus(state.focus.next()),
        Action::FocusPrev => state.set_focus(state.focus.prev()),
        Action::Focus(pane) => state.set_focus(pane),
        Action::Up => state.move_by(report, -1),
        Action::Down => state.move_by(report, 1),
        Action::PageUp => {
            let page = state.page(report) as isize;
            state.move_by(report, -page);
        }
        Action::PageDown => {
            let page = state.page(report) as isize;
            state.move_by(report, page);
        }
        Action::Home => state.move_by(report, isize::MIN / 2),
        Action::End => state.move_by(report, isize::MAX / 2),
        Action::Left if state.focus == Pane::Files && state.map.is_some() => state.map_up(report),
        Action::Right | Action::Activate | Action::Toggle
            if state.focus == Pane::Files && state.map.is_some() =>
        {
            let selected = state.selected_node();
            let tile = state
                .map
                .as_ref()
                .and_then(|m| {
                    m.tiles
                        .iter()
                        .find(|t| t.node.is_some() && t.node == selected)
                })
                .cloned();
            if let Some(tile) = tile {
                state.map_activate(report, &tile);
            }
        }
        Action::Left => match state.focus {
            Pane::Files => state.left(report),
            Pane::Layers => state.move_by(report, -1),
            _ => {}
        },
        Action::Right => match state.focus {
            Pane::Files => state.right(report),
            Pane::Layers => state.set_focus(Pane::Files),
            _ => {}
        },
        Action::Activate => match state.focus {
            Pane::Layers => state.set_focus(Pane::Files),
            Pane::Files => state.toggle_fold(report),
            Pane::Findings => state.jump_to_finding(report),
            Pane::Packages => {
                if let Some((layer, node)) =
                    lists::package_location(report, state, state.packages.cursor)
                {
                    state.show(report, Some(layer), node);
                }
            }
            Pane::Details => {}
        },
        Action::Toggle => {
            if state.focus == Pane::Files {
                state.toggle_fold(report);
            }
        }
        Action::ExpandAll => {
            state.tree.collapsed.clear();
            state.refresh_tree(report);
        }
        Action::CollapseAll => {
            state.tree.collapse_all(report);
            state.refresh_tree(report);
        }
        Action::NextLayer => state.select_layer(report, state.layer + 1),
        Action::PrevLayer => state.select_layer(report, state.layer.saturating_sub(1)),
        Action::ToggleMode => {
            state.tree.mode = match state.tree.mode {
                Mode::Changes => Mode::Image,
                Mode::Image => Mode::Changes,
            };
            state.refresh_tree(report);
        }
        Action::ToggleSort => {
            state.tree.sort = match state.tree.sort {
                Sort::Name => Sort::Size,
                Sort::Size => Sort::Name,
            };
            state.refresh_tree(report);
        }
        Action::TogglePackages => {
            state.os_packages = !state.os_packages;
            state.packages = Default::default();
            state.set_focus(Pane::Packages);
        }
        Action::ToggleUnchanged => {
            state.tree.hide_unchanged = !state.tree.hide_unchanged;
            state.refresh_tree(report);
        }
        Action::ToggleTreemap => {
            state.set_focus(Pane::Files);
            state.map = match state.map {
                Some(_) => None,
                None => Some(state.map_for(report)),
            };
        }
        Action::CycleMinSize => {
            state.tree.min_size = (state.tree.min_size + 1) % MIN_SIZES.len();
            state.refresh_tree(report);
        }
        Action::StartFilter => {
            state.set_focus(Pane::Files);
            state.filter_input = Some(state.tree.pattern.clone());
        }
        Action::FilterChar(c) => {
            if let Some(input) = &mut state.filter_input {
                input.push(c);
                let pattern = input.clone();
                state.tree.set_pattern(report, pattern);
                state.refresh_tree(report);
            }
        }
        Action::FilterBackspace => {
            if let Some(input) = &mut state.filter_input {
                input.pop();
                let pattern = input.clone();
                state.tree.set_pattern(report, pattern);
                state.refresh_tree(report);
            }
        }
        Action::FilterAccept => {
            state.filter_input = None;
            if state.tree.pattern_error.is_some() {
                // Keep what is filtering, not what failed to compile.
                state.note = state.tree.pattern_error.take();
            }
        }
        Action::FilterCancel => {
            state.filter_input = None;
            state.tree.set_pattern(report, String::new());
            state.refresh_tree(report);
        }
        Action::Escape => {
            if state.tree.has_filter() || !state.tree.pattern.is_empty() {
                state.tree.set_pattern(report, String::new());
                state.refresh_tree(report);
            }
        }
        Action::ToggleHelp => state.help = true,
        Action::ScrollUp { x, y } => state.scroll(report, x, y, -3),
        Action::ScrollDown { x, y } => state.scroll(report, x, y, 3),
        Action::Click { x, y } => state.click(report, x, y),
        Action::Resize { width, height } => {
            state.width = width;
            state.height = height;
        }
    }
    state.refresh_map(report);
    state.follow_cursors(report);
}
