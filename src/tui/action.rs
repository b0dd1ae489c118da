//! What the user can ask of the explorer, whatever key or mouse gesture asked for it, and the
//! panes those requests name. Plain data at the root of the explorer's modules: the key table
//! (`keys`) produces actions, `update` consumes them, and nothing here depends on either.

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

    pub fn next(self) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ALL[(i + 1) % Pane::ALL.len()]
    }

    pub fn prev(self) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ALL[(i + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }
}

/// Everything the user can do.
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
    /// Packages: Python distributions or OS packages.
    TogglePackages,
    ToggleUnchanged,
    CycleMinSize,
    /// Files as a tree, or as a treemap of the selected node's directory.
    ToggleTreemap,
    /// `/`: start typing a path filter.
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    /// Enter while typing: keep the filter and go back to the keys.
    FilterAccept,
    /// Esc while typing: drop the filter.
    FilterCancel,
    /// Esc: clear the path filter.
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
