//! The explorer's state: selection, folds, filters, focus and mode, all kept here and none in
//! the report, which is only read. It changes in one place, `update`; layout, lists and panes
//! only read it.

use ratatui::layout::Rect;

use crate::model::NodeId;
use crate::report::Report;

use super::action::Pane;
use super::layout::{self, Areas, Screen};
use super::tree_view::TreeView;
use super::treemap::Map;

/// What the Details pane describes: the last of Layers and Files to have had the focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Layer,
    File,
}

/// Cursor and scroll position of a list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListPos {
    pub cursor: usize,
    pub offset: usize,
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
    /// Some while Files shows a treemap instead of the tree (`t`).
    pub map: Option<Map>,
    pub findings: ListPos,
    pub packages: ListPos,
    /// The Packages pane lists OS packages rather than Python distributions.
    pub os_packages: bool,
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
            map: None,
            findings: ListPos::default(),
            packages: ListPos::default(),
            os_packages: false,
            details_scroll: 0,
            filter_input: None,
            note: None,
        };
        state.tree.refresh(report, 0);
        state
    }

    /// Where the panes are on the whole screen.
    pub fn areas(&self, report: &Report) -> Areas {
        self.areas_in(Rect::new(0, 0, self.width, self.height), report)
    }

    /// Where the panes are in an area.
    pub fn areas_in(&self, area: Rect, report: &Report) -> Areas {
        layout::areas(Screen {
            area,
            focus: self.focus,
            side: self.side,
            layers: report.image.layers.len(),
        })
    }

    /// The selected file, when the tree has one.
    pub fn selected_node(&self) -> Option<NodeId> {
        self.tree.selected()
    }

    /// A list pane's cursor and offset (Details: its scroll, as both).
    pub fn pos(&self, pane: Pane) -> ListPos {
        match pane {
            Pane::Layers => ListPos {
                cursor: self.layer,
                offset: self.layers_offset,
            },
            Pane::Files => ListPos {
                cursor: self.tree.cursor,
                offset: self.tree.offset,
            },
            Pane::Findings => self.findings,
            Pane::Packages => self.packages,
            Pane::Details => ListPos {
                cursor: self.details_scroll,
                offset: self.details_scroll,
            },
        }
    }

    /// Sets a list pane's scroll offset.
    pub fn set_offset(&mut self, pane: Pane, offset: usize) {
        match pane {
            Pane::Layers => self.layers_offset = offset,
            Pane::Files => self.tree.offset = offset,
            Pane::Findings => self.findings.offset = offset,
            Pane::Packages => self.packages.offset = offset,
            Pane::Details => self.details_scroll = offset,
        }
    }
}
