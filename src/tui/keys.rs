//! The one key table. Every binding is written once, in [`BINDINGS`], and that table drives
//! the key handling (`action_for`), the `?` overlay, the status line's hints and the README's
//! table of keys (a test checks the README against [`markdown_table`]), the way ripgrep's one
//! flag table drives its parser and its docs. Mouse gestures are not keys and are mapped in
//! `action_for` directly; [`MOUSE`] describes them for the overlay and the README.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};

use super::action::{Action, Pane};

/// A key as the table names it: a code, with or without Ctrl.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn key(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

const fn ch(c: char) -> Key {
    key(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

/// When a binding applies: while browsing, while a `/` filter is typed, or always.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Browsing,
    Typing,
    Always,
}

/// One line of the overlay and of the README: keys, the action each gives, and what they do.
pub struct Binding {
    pub when: When,
    pub keys: &'static [(Key, Action)],
    pub does: &'static str,
}

use Action as A;
use KeyCode as K;

/// Every key, in the order the overlay and the README list them.
pub const BINDINGS: &[Binding] = &[
    Binding {
        when: When::Browsing,
        keys: &[(key(K::Tab), A::FocusNext), (key(K::BackTab), A::FocusPrev)],
        does: "next / previous pane",
    },
    Binding {
        when: When::Browsing,
        keys: &[
            (ch('1'), A::Focus(Pane::Layers)),
            (ch('2'), A::Focus(Pane::Files)),
            (ch('3'), A::Focus(Pane::Findings)),
            (ch('4'), A::Focus(Pane::Packages)),
            (ch('5'), A::Focus(Pane::Details)),
        ],
        does: "Layers, Files, Findings, Packages, Details",
    },
    Binding {
        when: When::Browsing,
        keys: &[
            (key(K::Up), A::Up),
            (key(K::Down), A::Down),
            (ch('k'), A::Up),
            (ch('j'), A::Down),
        ],
        does: "move; in Layers, select the layer",
    },
    Binding {
        when: When::Browsing,
        keys: &[
            (key(K::PageUp), A::PageUp),
            (key(K::PageDown), A::PageDown),
            (ctrl('b'), A::PageUp),
            (ctrl('f'), A::PageDown),
        ],
        does: "a page up / down",
    },
    Binding {
        when: When::Browsing,
        keys: &[
            (key(K::Home), A::Home),
            (key(K::End), A::End),
            (ch('g'), A::Home),
            (ch('G'), A::End),
        ],
        does: "first / last row",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('['), A::PrevLayer), (ch(']'), A::NextLayer)],
        does: "previous / next layer, from any pane",
    },
    Binding {
        when: When::Browsing,
        keys: &[
            (key(K::Left), A::Left),
            (key(K::Right), A::Right),
            (ch('h'), A::Left),
            (ch('l'), A::Right),
            (ch(' '), A::Toggle),
        ],
        does: "fold / unfold; ← on a file goes to its directory",
    },
    Binding {
        when: When::Browsing,
        keys: &[
            (ch('-'), A::CollapseAll),
            (ch('+'), A::ExpandAll),
            (ch('='), A::ExpandAll),
        ],
        does: "fold / unfold every directory",
    },
    Binding {
        when: When::Browsing,
        keys: &[(key(K::Enter), A::Activate)],
        does: "a layer's files; fold; a finding's or package's file",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('m'), A::ToggleMode)],
        does: "this layer's changes / the whole image at this layer",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('s'), A::ToggleSort)],
        does: "sort by name / by size",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('u'), A::ToggleUnchanged)],
        does: "hide / show unchanged files",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('o'), A::TogglePackages)],
        does: "Packages: Python distributions / OS packages",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('f'), A::CycleMinSize)],
        does: "minimum size: off, 1 kB, 100 kB, 1 MB, 10 MB, 100 MB",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('t'), A::ToggleTreemap)],
        does: "Files: tree / treemap of the selection's directory",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('/'), A::StartFilter), (key(K::Esc), A::Escape)],
        does: "filter paths by a regex as you type; Esc clears it",
    },
    Binding {
        when: When::Typing,
        keys: &[
            (key(K::Enter), A::FilterAccept),
            (key(K::Esc), A::FilterCancel),
            (key(K::Backspace), A::FilterBackspace),
        ],
        does: "typing: keep / drop the filter; delete a character",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('?'), A::ToggleHelp)],
        does: "this help; any key closes it",
    },
    Binding {
        when: When::Browsing,
        keys: &[(ch('q'), A::Quit)],
        does: "quit",
    },
    Binding {
        when: When::Always,
        keys: &[(ctrl('c'), A::Quit)],
        does: "quit, even while typing",
    },
];

/// The mouse, for the overlay and the README: (gesture, what it does).
pub const MOUSE: (&str, &str) = (
    "mouse",
    "the wheel scrolls; a click selects, a second folds",
);

/// The action for an event, if any. `typing`: a `/` filter is being typed, so characters
/// the table does not bind while typing are the filter's.
pub fn action_for(event: &Event, typing: bool) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_action(key, typing),
        Event::Mouse(m) => {
            let (x, y) = (m.column, m.row);
            match m.kind {
                MouseEventKind::ScrollUp => Some(Action::ScrollUp { x, y }),
                MouseEventKind::ScrollDown => Some(Action::ScrollDown { x, y }),
                MouseEventKind::Down(MouseButton::Left) => Some(Action::Click { x, y }),
                _ => None,
            }
        }
        Event::Resize(width, height) => Some(Action::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

fn key_action(event: &KeyEvent, typing: bool) -> Option<Action> {
    let pressed = Key {
        code: event.code,
        ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
    };
    let applies = |when: When| match when {
        When::Always => true,
        When::Typing => typing,
        When::Browsing => !typing,
    };
    let bound = BINDINGS
        .iter()
        .filter(|b| applies(b.when))
        .flat_map(|b| b.keys)
        .find(|(k, _)| *k == pressed)
        .map(|(_, a)| a.clone());
    match (bound, pressed.code) {
        (Some(action), _) => Some(action),
        (None, KeyCode::Char(c)) if typing && !pressed.ctrl => Some(Action::FilterChar(c)),
        _ => None,
    }
}

/// How a key is written on screen and in the README.
pub fn name(key: Key) -> String {
    let base = match key.code {
        KeyCode::Tab => "Tab".to_string(),
        KeyCode::BackTab => "Shift-Tab".to_string(),
        KeyCode::Up => "↑".to_string(),
        KeyCode::Down => "↓".to_string(),
        KeyCode::Left => "←".to_string(),
        KeyCode::Right => "→".to_string(),
        KeyCode::PageUp => "PgUp".to_string(),
        KeyCode::PageDown => "PgDn".to_string(),
        KeyCode::Home => "Home".to_string(),
        KeyCode::End => "End".to_string(),
        KeyCode::Enter => "Enter".to_string(),
        KeyCode::Esc => "Esc".to_string(),
        KeyCode::Backspace => "Backspace".to_string(),
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) if key.ctrl => c.to_ascii_uppercase().to_string(),
        KeyCode::Char(c) => c.to_string(),
        other => format!("{other:?}"),
    };
    if key.ctrl {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

/// A binding's keys as the overlay shows them: each name once, in table order.
pub fn label(binding: &Binding) -> String {
    let mut names: Vec<String> = Vec::new();
    for (k, _) in binding.keys {
        let n = name(*k);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names.join(" ")
}

/// The keys for a status-line hint: the first key bound to each action while browsing, run
/// together when they are arrows (`↑↓`), else spaced (`[ ]`).
pub fn hint(actions: &[Action]) -> String {
    let names: Vec<String> = actions
        .iter()
        .filter_map(|a| first_key(a, When::Browsing).map(name))
        .collect();
    let arrows = names
        .iter()
        .all(|n| n.chars().count() == 1 && !n.is_ascii());
    names.join(if arrows { "" } else { " " })
}

/// The first key the table binds to an action in a context (`Always` bindings count in both).
pub fn first_key(action: &Action, when: When) -> Option<Key> {
    BINDINGS
        .iter()
        .filter(|b| b.when == when || b.when == When::Always)
        .flat_map(|b| b.keys)
        .find(|(_, a)| a == action)
        .map(|(k, _)| *k)
}

/// The rows of the overlay: (keys, what they do), the mouse last.
pub fn help_rows() -> Vec<(String, &'static str)> {
    let mut rows: Vec<(String, &'static str)> =
        BINDINGS.iter().map(|b| (label(b), b.does)).collect();
    rows.push((MOUSE.0.to_string(), MOUSE.1));
    rows
}

/// The README's table of keys, generated from the same table.
pub fn markdown_table() -> String {
    let mut out = String::from("| keys | what they do |\n|---|---|\n");
    for b in BINDINGS {
        let mut names: Vec<String> = Vec::new();
        for (k, _) in b.keys {
            let n = format!("`{}`", name(*k));
            if !names.contains(&n) {
                names.push(n);
            }
        }
        out.push_str(&format!("| {} | {} |\n", names.join(" "), b.does));
    }
    out.push_str(&format!("| {} | {} |\n", MOUSE.0, MOUSE.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn letters_are_keys_unless_a_filter_is_typed() {
        assert_eq!(
            action_for(&press(KeyCode::Char('q')), false),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for(&press(KeyCode::Char('q')), true),
            Some(Action::FilterChar('q'))
        );
        assert_eq!(
            action_for(&press(KeyCode::Char('j')), false),
            Some(Action::Down)
        );
        assert_eq!(
            action_for(&press(KeyCode::Esc), true),
            Some(Action::FilterCancel)
        );
        assert_eq!(
            action_for(&press(KeyCode::Esc), false),
            Some(Action::Escape)
        );
    }

    #[test]
    fn ctrl_c_quits_even_while_typing() {
        let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(action_for(&ctrl_c, true), Some(Action::Quit));
        assert_eq!(action_for(&ctrl_c, false), Some(Action::Quit));
        // Other Ctrl keys are not typed into the filter.
        let ctrl_f = Event::Key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL));
        assert_eq!(action_for(&ctrl_f, true), None);
        assert_eq!(action_for(&ctrl_f, false), Some(Action::PageDown));
    }

    #[test]
    fn releases_are_ignored() {
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(&Event::Key(release), false), None);
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for when in [When::Browsing, When::Typing] {
            let mut seen: Vec<Key> = Vec::new();
            for b in BINDINGS
                .iter()
                .filter(|b| b.when == when || b.when == When::Always)
            {
                for (k, _) in b.keys {
                    assert!(!seen.contains(k), "{} is bound twice", name(*k));
                    seen.push(*k);
                }
            }
        }
    }

    #[test]
    fn every_binding_maps_its_own_keys() {
        for b in BINDINGS {
            for (k, action) in b.keys {
                let modifiers = if k.ctrl {
                    KeyModifiers::CONTROL
                } else {
                    KeyModifiers::NONE
                };
                let event = Event::Key(KeyEvent::new(k.code, modifiers));
                let typing = b.when == When::Typing;
                assert_eq!(action_for(&event, typing).as_ref(), Some(action));
            }
        }
    }

    #[test]
    fn every_line_of_the_overlay_fits_an_80_column_screen() {
        let rows = help_rows();
        let key_w = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap();
        // The overlay is 80 wide: borders, a margin, the keys, a gap, the text, a margin.
        for (k, does) in &rows {
            assert!(key_w + does.chars().count() + 5 <= 80, "{k}: {does}");
        }
        // And it fits 24 lines with its frame.
        assert!(rows.len() + 2 <= 24);
    }

    #[test]
    fn hints_name_the_first_key_of_each_action() {
        assert_eq!(hint(&[Action::Up, Action::Down]), "↑↓");
        assert_eq!(hint(&[Action::PrevLayer, Action::NextLayer]), "[ ]");
        assert_eq!(hint(&[Action::Quit]), "q");
        assert_eq!(label(&BINDINGS[3]), "PgUp PgDn Ctrl-B Ctrl-F");
    }
}
