//! The explorer on an image of 100,000 files, built with the fixture builder: every key that
//! moves the cursor or re-lists the tree (changing layer or mode, typing a filter, folding,
//! sorting) does what it says on all 100,000 rows. Speed is the benchmark's (`benches/micro.rs`,
//! `explorer/*`, against a 16 ms keystroke): this test prints each timing but asserts none
//! (the machine's load varies), except a safety net that turns a hang, or a cost that grows
//! with the square of the rows, into a failure.

mod common;

use std::time::{Duration, Instant};

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

/// Runs one action and draws a frame; returns how long both took.
fn timed(
    terminal: &mut Terminal<TestBackend>,
    report: &Report,
    state: &mut ViewState,
    action: Action,
) -> Duration {
    let start = Instant::now();
    update(state, report, action);
    terminal
        .draw(|f| pydive::tui::draw(report, state, f.area(), f.buffer_mut()))
        .unwrap();
    start.elapsed()
}

#[test]
fn every_key_works_on_a_100k_file_image() {
    let w = common::archive(&large_image(), Layout::DockerClassic);
    let report = common::load(w.path.to_str().unwrap());
    assert!(report.image.tree.len() > DIRS * PER_DIR);

    // Not a timing: one pass over 100,000 rows takes milliseconds, a quadratic one hours.
    let hang = Duration::from_secs(30);

    let start = Instant::now();
    let mut state = ViewState::new(&report, 160, 48, false);
    let first = start.elapsed();
    println!(
        "first listing: {first:?} for {} rows",
        state.tree.rows.len()
    );
    assert!(state.tree.rows.len() > DIRS * PER_DIR);
    assert!(first < hang, "first listing took {first:?}");

    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    update(&mut state, &report, Action::Focus(Pane::Files));

    // Moving the cursor, and drawing each frame.
    let mut slowest = Duration::ZERO;
    for action in [
        Action::Down,
        Action::PageDown,
        Action::End,
        Action::PageUp,
        Action::Home,
    ] {
        for _ in 0..20 {
            slowest = slowest.max(timed(&mut terminal, &report, &mut state, action.clone()));
        }
    }
    println!("slowest cursor move + frame: {slowest:?}");
    assert!(slowest < hang, "a cursor move took {slowest:?}");

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
        let took = timed(&mut terminal, &report, &mut state, action);
        println!("{what}: {took:?} ({} rows)", state.tree.rows.len());
        assert!(took < hang, "{what} took {took:?}");
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
