//! The explorer on an image of 100,000 files, built with the fixture builder: every key that
//! moves the cursor or re-lists the tree (changing layer or mode, typing a filter, folding,
//! sorting) leaves a listing that says what it should, and the filter lists exactly the
//! matching paths. How long each key takes is measured by the criterion benchmark
//! (`cargo bench --bench micro -- explorer`), never here: timed tests fail on a loaded machine.

mod common;

use pydive::fixture::{Entry, Image, Layer, Layout};
use pydive::report::Report;
use pydive::tui::{Action, Pane, ViewState, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const DIRS: usize = 1_000;
const PER_DIR: usize = 100;

fn large_image() -> Image {
    let mut base = Vec::with_capacity(DIRS * (PER_DIR + 1));
    for d in 0..DIRS {
        let dir = format!("usr/lib/python3.12/site-packages/pkg{d:04}");
        base.push(Entry::dir(&dir));
        for f in 0..PER_DIR {
            let len = ((d * PER_DIR + f) % 997) as u64;
            base.push(Entry::file_len(
                format!("{dir}/mod{f:03}.py"),
                len,
                (d * PER_DIR + f) as u64,
            ));
        }
    }
    // A second layer rewrites one file in every directory and deletes ten directories.
    let mut second = Vec::new();
    for d in 0..DIRS {
        let dir = format!("usr/lib/python3.12/site-packages/pkg{d:04}");
        second.push(Entry::file_len(format!("{dir}/mod000.py"), 2000, d as u64));
    }
    for d in 0..10 {
        second.push(Entry::whiteout(format!(
            "usr/lib/python3.12/site-packages/pkg{:04}",
            500 + d
        )));
    }
    Image::new(vec![
        Layer::new("ADD rootfs.tar /", base).gzip(),
        Layer::new("RUN python -m compileall && rm -rf ...", second).gzip(),
    ])
}

/// Runs one action and draws a frame, which must show the selected row.
fn step(terminal: &mut Terminal<TestBackend>, report: &Report, state: &mut ViewState, a: Action) {
    update(state, report, a);
    terminal
        .draw(|f| pydive::tui::draw(report, state, f.area(), f.buffer_mut()))
        .unwrap();
    let rows = state.tree.rows.len();
    assert!(
        rows == 0 || state.tree.cursor < rows,
        "the cursor ({}) is past the {rows} rows",
        state.tree.cursor
    );
    assert!(state.tree.offset <= state.tree.cursor || rows == 0);
}

#[test]
fn a_100k_file_image_stays_responsive() {
    let w = common::archive(&large_image(), Layout::DockerClassic);
    let report = common::load(w.path.to_str().unwrap());
    assert!(report.image.tree.len() > DIRS * PER_DIR);

    let mut state = ViewState::new(&report, 160, 48, false);
    assert!(state.tree.rows.len() > DIRS * PER_DIR);

    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    update(&mut state, &report, Action::Focus(Pane::Files));

    // Moving the cursor: the listing stays, the cursor moves within it.
    let listed = state.tree.rows.len();
    for action in [
        Action::Down,
        Action::PageDown,
        Action::End,
        Action::PageUp,
        Action::Home,
    ] {
        for _ in 0..20 {
            step(&mut terminal, &report, &mut state, action.clone());
        }
        assert_eq!(state.tree.rows.len(), listed);
    }
    assert_eq!(state.tree.cursor, 0, "Home goes back to the first row");

    // Keys that re-list the tree.
    let relists: Vec<(&str, Action)> = vec![
        ("next layer", Action::NextLayer),
        ("whole image", Action::ToggleMode),
        ("sort by size", Action::ToggleSort),
        ("hide unchanged", Action::ToggleUnchanged),
        ("show unchanged", Action::ToggleUnchanged),
        ("min size 1 kB", Action::CycleMinSize),
        ("min size 100 kB", Action::CycleMinSize),
        ("min size 1 MB", Action::CycleMinSize),
        ("min size 10 MB", Action::CycleMinSize),
        ("min size 100 MB", Action::CycleMinSize),
        ("min size off", Action::CycleMinSize),
        ("fold", Action::Left),
        ("unfold", Action::Right),
        ("collapse all", Action::CollapseAll),
        ("expand all", Action::ExpandAll),
        ("start filter", Action::StartFilter),
        ("filter p", Action::FilterChar('p')),
        ("filter pk", Action::FilterChar('k')),
        ("filter pkg", Action::FilterChar('g')),
        ("filter pkg0", Action::FilterChar('0')),
        ("filter pkg04", Action::FilterChar('4')),
        ("backspace", Action::FilterBackspace),
        ("keep filter", Action::FilterAccept),
        ("clear filter", Action::Escape),
        ("treemap", Action::ToggleTreemap),
        ("next tile", Action::Down),
        ("open tile", Action::Activate),
        ("tile up", Action::Left),
        ("tree again", Action::ToggleTreemap),
        ("previous layer", Action::PrevLayer),
    ];
    for (what, action) in relists {
        step(&mut terminal, &report, &mut state, action);
        println!("{what}: {} rows", state.tree.rows.len());
        if what == "min size 100 MB" || what == "filter pkg04" {
            // No file is that large; 100 directories pkg04xx, their files and their parents.
            let want = if what == "filter pkg04" {
                100 * (PER_DIR + 1) + 4
            } else {
                0
            };
            assert_eq!(state.tree.rows.len(), want, "{what}");
        }
    }
    assert!(
        state.tree.rows.len() > DIRS * PER_DIR,
        "everything is listed again"
    );
    // The filter did filter: 100 directories pkg04xx (with their files) and their parents.
    let mut s = ViewState::new(&report, 160, 48, false);
    for a in [
        Action::StartFilter,
        Action::FilterChar('p'),
        Action::FilterChar('k'),
        Action::FilterChar('g'),
        Action::FilterChar('0'),
        Action::FilterChar('4'),
    ] {
        update(&mut s, &report, a);
    }
    assert_eq!(s.tree.rows.len(), 100 * (PER_DIR + 1) + 4);
}
