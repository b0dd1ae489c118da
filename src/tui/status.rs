//! The status line: the path filter while it is typed (and why a pattern does not compile),
//! else a note from the last action, else the keys that matter in the focused pane, named
//! from the key table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::action::{Action, Pane};
use super::keys::{self, When};
use super::state::ViewState;
use super::theme::{Theme, put};

/// The hints of a pane (`map`: Files shows a treemap): the actions, whose keys the table
/// names, and a word for them.
fn hints(pane: Pane, map: bool) -> &'static [(&'static [Action], &'static str)] {
    use Action as A;
    const PANES: (&[Action], &str) = (&[A::FocusNext], "panes");
    const FILTER: (&[Action], &str) = (&[A::StartFilter], "filter");
    const KEYS: (&[Action], &str) = (&[A::ToggleHelp], "keys");
    const QUIT: (&[Action], &str) = (&[A::Quit], "quit");
    match pane {
        Pane::Files if map => &[
            (&[A::Up, A::Down], "tile"),
            (&[A::Activate], "open"),
            (&[A::Left], "up"),
            (&[A::ToggleTreemap], "tree"),
            (&[A::ToggleMode], "mode"),
            PANES,
            KEYS,
            QUIT,
        ],
        Pane::Layers => &[
            (&[A::Up, A::Down], "layer"),
            (&[A::Activate], "files"),
            (&[A::PrevLayer, A::NextLayer], "layer"),
            (&[A::ToggleMode], "mode"),
            PANES,
            FILTER,
            KEYS,
            QUIT,
        ],
        Pane::Files => &[
            (&[A::Up, A::Down], "move"),
            (&[A::Left, A::Right], "fold"),
            (&[A::ToggleMode], "mode"),
            (&[A::ToggleSort], "sort"),
            (&[A::ToggleUnchanged], "unchanged"),
            (&[A::CycleMinSize], "min size"),
            (&[A::ToggleTreemap], "treemap"),
            FILTER,
            KEYS,
            QUIT,
        ],
        Pane::Findings => &[
            (&[A::Up, A::Down], "finding"),
            (&[A::Activate], "go to file"),
            PANES,
            KEYS,
            QUIT,
        ],
        Pane::Packages => &[
            (&[A::Up, A::Down], "package"),
            (&[A::Activate], "go to files"),
            (&[A::TogglePackages], "python / os"),
            PANES,
            KEYS,
            QUIT,
        ],
        Pane::Details => &[(&[A::Up, A::Down], "scroll"), PANES, KEYS, QUIT],
    }
}

/// The status line's text for a pane's keys.
pub fn hint_line(pane: Pane, map: bool) -> String {
    let mut line = String::new();
    for (actions, word) in hints(pane, map) {
        line.push_str(&format!(" {} {word} ", keys::hint(actions)));
    }
    line.trim_end().to_string()
}

pub fn render(state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    if let Some(input) = &state.filter_input {
        let text = format!(" /{input}▏");
        let used = put(buf, area.x, area.y, area.width, &text, Style::new());
        let (text, style) = match &state.tree.pattern_error {
            Some(e) => (format!("  {e}"), theme.error()),
            None => {
                let key = |a| keys::first_key(&a, When::Typing).map(keys::name);
                let keep = key(Action::FilterAccept).unwrap_or_default();
                let drop = key(Action::FilterCancel).unwrap_or_default();
                (format!("  {keep} keep · {drop} drop"), theme.dim())
            }
        };
        let rest = area.width.saturating_sub(used);
        put(buf, area.x + used, area.y, rest, &text, style);
        return;
    }
    if let Some(note) = &state.note {
        let text = format!(" {note}");
        put(buf, area.x, area.y, area.width, &text, theme.error());
        return;
    }
    put(
        buf,
        area.x,
        area.y,
        area.width,
        &hint_line(state.focus, state.map.is_some()),
        theme.dim(),
    );
}
