//! The explorer's state and its one way to change: `update(&mut ViewState, &Report, Action)`.
//! It does no I/O and reads no clock, so tests drive it with sequences of actions. The report
//! is only read: selection, folds, filters, focus and mode all live here.

use crate::model::NodeId;
use crate::report::Report;

use super::layout::{self, Areas};
use super::tree_view::{MIN_SIZES, Mode, Sort, TreeView};
use super::{details, packages};

/// The panes, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Layers,
    Files,
    Findings,
    Packages,
    Details,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Layers,
        Pane::Files,
        Pane::Findings,
        Pane::Packages,
        Pane::Details,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Pane::Layers => "Layers",
            Pane::Files => "Files",
            Pane::Findings => "Findings",
            Pane::Packages => "Packages",
            Pane::Details => "Details",
        }
    }

    fn next(self) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ALL[(i + 1) % Pane::ALL.len()]
    }

    fn prev(self) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ALL[(i + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }
}

/// What the Details pane describes: the last of Layers and Files to have had the focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Layer,
    File,
}

/// Everything the user can do, whatever key or mouse gesture asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    FocusNext,
    FocusPrev,
    Focus(Pane),
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// Collapse a directory, or go to its parent.
    Left,
    /// Expand a directory.
    Right,
    /// Enter: open a layer's files, fold a directory, jump to a finding's file.
    Activate,
    /// Space: fold or unfold a directory.
    Toggle,
    ExpandAll,
    CollapseAll,
    NextLayer,
    PrevLayer,
    ToggleMode,
    ToggleSort,
    ToggleUnchanged,
    CycleMinSize,
    /// `/`: start typing a path filter.
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    /// Enter while typing: keep the filter and go back to the keys.
    FilterAccept,
    /// Esc while typing: drop the filter.
    FilterCancel,
    /// Esc: close help, else clear the path filter.
    Escape,
    ToggleHelp,
    /// The mouse wheel over a position.
    ScrollUp {
        x: u16,
        y: u16,
    },
    ScrollDown {
        x: u16,
        y: u16,
    },
    Click {
        x: u16,
        y: u16,
    },
    Resize {
        width: u16,
        height: u16,
    },
}

/// Cursor and scroll position of a list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListPos {
    pub cursor: usize,
    pub offset: usize,
}

impl ListPos {
    fn clamp(&mut self, len: usize) {
        self.cursor = self.cursor.min(len.saturating_sub(1));
    }

    fn step(&mut self, by: isize, len: usize) {
        self.cursor = self.cursor.saturating_add_signed(by);
        self.clamp(len);
    }
}

/// The first row to show so that `cursor` is on screen, moving `offset` as little as
/// possible. Drawing uses this too, so a stale offset never hides the cursor.
pub fn window(cursor: usize, offset: usize, height: usize, len: usize) -> usize {
    if height == 0 {
        return 0;
    }
    let max_offset = len.saturating_sub(height);
    let offset = offset.min(max_offset);
    if cursor < offset {
        cursor
    } else if cursor >= offset + height {
        cursor + 1 - height
    } else {
        offset
    }
}

#[derive(Debug)]
pub struct ViewState {
    /// The terminal's size, for page sizes and mouse hits.
    pub width: u16,
    pub height: u16,
    pub color: bool,
    pub focus: Pane,
    /// Which of Findings and Packages the shared box shows in the wide layout.
    pub side: Pane,
    pub subject: Subject,
    pub help: bool,
    pub quit: bool,
    /// The selected layer, which drives the tree.
    pub layer: usize,
    pub layers_offset: usize,
    pub tree: TreeView,
    pub findings: ListPos,
    pub packages: ListPos,
    pub details_scroll: usize,
    /// Some while `/` is typing a filter.
    pub filter_input: Option<String>,
    /// A one-line note for the status bar (cleared by the next action).
    pub note: Option<String>,
}

impl ViewState {
    /// The first screen: the top layer's changes, the layers pane focused.
    pub fn new(report: &Report, width: u16, height: u16, color: bool) -> ViewState {
        let mut state = ViewState {
            width,
            height,
            color,
            focus: Pane::Layers,
            side: Pane::Findings,
            subject: Subject::Layer,
            help: false,
            quit: false,
            layer: 0,
            layers_offset: 0,
            tree: TreeView::default(),
            findings: ListPos::default(),
            packages: ListPos::default(),
            details_scroll: 0,
            filter_input: None,
            note: None,
        };
        state.tree.refresh(report, 0);
        state
    }

    pub fn areas(&self, report: &Report) -> Areas {
        layout::areas(
            ratatui::layout::Rect::new(0, 0, self.width, self.height),
            self,
            report,
        )
    }

    /// The selected file, when the tree has one.
    pub fn selected_node(&self) -> Option<NodeId> {
        self.tree.selected()
    }

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
        match pane {
            Pane::Layers => self.subject = Subject::Layer,
            Pane::Files => self.subject = Subject::File,
            Pane::Findings | Pane::Packages => self.side = pane,
            Pane::Details => {}
        }
    }

    /// Rows a page moves in the focused pane.
    fn page(&self, report: &Report) -> usize {
        let areas = self.areas(report);
        let rows = match self.focus {
            Pane::Layers => areas.layer_rows.map(|r| r.height),
            Pane::Files => areas.tree_rows.map(|r| r.height),
            Pane::Findings | Pane::Packages => areas.side_rows.map(|r| r.height),
            Pane::Details => areas.details.map(|r| r.height.saturating_sub(2)),
        };
        usize::from(rows.unwrap_or(1)).max(1)
    }

    /// Moves the focused pane's cursor by `by` rows (clamped).
    fn move_by(&mut self, report: &Report, by: isize) {
        match self.focus {
            Pane::Layers => {
                let to = self.layer.saturating_add_signed(by);
                self.select_layer(report, to);
            }
            Pane::Files => {
                let len = self.tree.rows.len();
                self.tree.cursor = self
                    .tree
                    .cursor
                    .saturating_add_signed(by)
                    .min(len.saturating_sub(1));
                self.details_scroll = 0;
            }
            Pane::Findings => self.findings.step(by, report.findings.len()),
            Pane::Packages => self.packages.step(by, packages::count(report)),
            Pane::Details => {
                self.details_scroll = self.details_scroll.saturating_add_signed(by);
            }
        }
    }

    /// Keeps every list's offset such that its cursor is on screen.
    fn follow_cursors(&mut self, report: &Report) {
        let areas = self.areas(report);
        let h = |r: Option<ratatui::layout::Rect>| r.map_or(0, |r| usize::from(r.height));
        self.layers_offset = window(
            self.layer,
            self.layers_offset,
            h(areas.layer_rows),
            report.image.layers.len(),
        );
        self.tree.offset = window(
            self.tree.cursor,
            self.tree.offset,
            h(areas.tree_rows),
            self.tree.rows.len(),
        );
        let side = h(areas.side_rows);
        self.findings.offset = window(
            self.findings.cursor,
            self.findings.offset,
            side,
            report.findings.len(),
        );
        self.packages.offset = window(
            self.packages.cursor,
            self.packages.offset,
            side,
            packages::count(report),
        );
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
        let inside = |r: Option<ratatui::layout::Rect>| {
            r.filter(|r| x >= r.x && x < r.right() && y >= r.y && y < r.bottom())
        };
        let row = |r: Option<ratatui::layout::Rect>| inside(r).map(|r| usize::from(y - r.y));
        if inside(areas.layers).is_some() {
            return Some((Pane::Layers, row(areas.layer_rows)));
        }
        if inside(areas.tree).is_some() {
            return Some((Pane::Files, row(areas.tree_rows)));
        }
        if inside(areas.side).is_some() {
            return Some((
                areas.side_pane.unwrap_or(Pane::Findings),
                row(areas.side_rows),
            ));
        }
        if inside(areas.details).is_some() {
            return Some((Pane::Details, None));
        }
        None
    }

    fn click(&mut self, report: &Report, x: u16, y: u16) {
        let Some((pane, row)) = self.hit(report, x, y) else {
            return;
        };
        self.set_focus(pane);
        let Some(row) = row else { return };
        match pane {
            Pane::Layers => {
                let to = self.layers_offset + row;
                if to < report.image.layers.len() {
                    self.select_layer(report, to);
                }
            }
            Pane::Files => {
                let to = self.tree.offset + row;
                if to < self.tree.rows.len() {
                    if to == self.tree.cursor {
                        self.toggle_fold(report);
                    }
                    self.tree.cursor = to;
                }
            }
            Pane::Findings => {
                let to = self.findings.offset + row;
                if to < report.findings.len() {
                    self.findings.cursor = to;
                }
            }
            Pane::Packages => {
                let to = self.packages.offset + row;
                if to < packages::count(report) {
                    self.packages.cursor = to;
                }
            }
            Pane::Details => {}
        }
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
            self.tree.cursor = i;
        }
    }

    fn right(&mut self, report: &Report) {
        let Some(row) = self.tree.rows.get(self.tree.cursor).copied() else {
            return;
        };
        if row.has_children && self.tree.collapsed.remove(&row.node) {
            self.refresh_tree(report);
        } else if row.has_children {
            self.tree.cursor = (self.tree.cursor + 1).min(self.tree.rows.len().saturating_sub(1));
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
                if let Some((layer, node)) = packages::location(report, state.packages.cursor) {
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
        Action::ToggleUnchanged => {
            state.tree.hide_unchanged = !state.tree.hide_unchanged;
            state.refresh_tree(report);
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
    state.findings.clamp(report.findings.len());
    state.packages.clamp(packages::count(report));
    let lines = details::lines(report, state).len();
    state.details_scroll = state.details_scroll.min(lines.saturating_sub(1));
    state.follow_cursors(report);
}
