//! Terminal events to actions: a pure function of the event and whether a filter is being
//! typed. Arrows and vim keys both work; while typing a filter, letters are the filter's.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};

use super::state::{Action, Pane};

/// The action for an event, if any. `typing`: a `/` filter is being typed.
pub fn action_for(event: &Event, typing: bool) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_action(key, typing),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp => Some(Action::ScrollUp {
                x: m.column,
                y: m.row,
            }),
            MouseEventKind::ScrollDown => Some(Action::ScrollDown {
                x: m.column,
                y: m.row,
            }),
            MouseEventKind::Down(MouseButton::Left) => Some(Action::Click {
                x: m.column,
                y: m.row,
            }),
            _ => None,
        },
        Event::Resize(width, height) => Some(Action::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

fn key_action(key: &KeyEvent, typing: bool) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    if typing {
        return match key.code {
            KeyCode::Enter => Some(Action::FilterAccept),
            KeyCode::Esc => Some(Action::FilterCancel),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) if !ctrl => Some(Action::FilterChar(c)),
            _ => None,
        };
    }
    if ctrl {
        return match key.code {
            KeyCode::Char('f') | KeyCode::Char('d') => Some(Action::PageDown),
            KeyCode::Char('b') | KeyCode::Char('u') => Some(Action::PageUp),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Char('1') => Action::Focus(Pane::Layers),
        KeyCode::Char('2') => Action::Focus(Pane::Files),
        KeyCode::Char('3') => Action::Focus(Pane::Findings),
        KeyCode::Char('4') => Action::Focus(Pane::Packages),
        KeyCode::Char('5') => Action::Focus(Pane::Details),
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Home,
        KeyCode::End | KeyCode::Char('G') => Action::End,
        KeyCode::Left | KeyCode::Char('h') => Action::Left,
        KeyCode::Right | KeyCode::Char('l') => Action::Right,
        KeyCode::Enter => Action::Activate,
        KeyCode::Char(' ') => Action::Toggle,
        KeyCode::Char('+') | KeyCode::Char('=') => Action::ExpandAll,
        KeyCode::Char('-') => Action::CollapseAll,
        KeyCode::Char(']') => Action::NextLayer,
        KeyCode::Char('[') => Action::PrevLayer,
        KeyCode::Char('m') => Action::ToggleMode,
        KeyCode::Char('s') => Action::ToggleSort,
        KeyCode::Char('u') => Action::ToggleUnchanged,
        KeyCode::Char('f') => Action::CycleMinSize,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Esc => Action::Escape,
        KeyCode::Char('?') => Action::ToggleHelp,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn letters_are_keys_unless_a_filter_is_typed() {
        assert_eq!(
            action_for(&key(KeyCode::Char('q')), false),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('q')), true),
            Some(Action::FilterChar('q'))
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('j')), false),
            Some(Action::Down)
        );
        assert_eq!(
            action_for(&key(KeyCode::Esc), true),
            Some(Action::FilterCancel)
        );
    }

    #[test]
    fn ctrl_c_quits_even_while_typing() {
        let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(action_for(&ctrl_c, true), Some(Action::Quit));
        assert_eq!(action_for(&ctrl_c, false), Some(Action::Quit));
    }

    #[test]
    fn releases_are_ignored() {
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(&Event::Key(release), false), None);
    }
}
