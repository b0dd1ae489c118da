//! The explorer without a terminal: `update` on sequences of actions, and every pane and the
//! whole screen drawn on ratatui's `TestBackend` and compared with insta snapshots at 80x24
//! and 160x48 (digests and temporary paths masked). The report is the demo image's, read
//! synchronously; nothing here sleeps.

mod common;

use std::sync::OnceLock;

use pydive::cli::ReadConfig;
use pydive::report::Report;
use pydive::source::{Input, Platform, Transport};
use pydive::tui::state::Subject;
use pydive::tui::tree_view::{Mode, Sort};
use pydive::tui::{self, layout};
use pydive::tui::{Action, Pane, ViewState, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn demo() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let source = Transport::DockerArchive {
            input: Input::Embedded(pydive::app::DEMO_IMAGE),
            reference: None,
        };
        let read = ReadConfig {
            platform: Platform::parse("linux/amd64").unwrap(),
            ..ReadConfig::default()
        };
        pydive::app::load(&source, &read).unwrap()
    })
}

fn state(w: u16, h: u16) -> ViewState {
    ViewState::new(demo(), w, h, false)
}

fn run(state: &mut ViewState, actions: &[Action]) {
    for a in actions {
        update(state, demo(), a.clone());
    }
}

fn chars(s: &str) -> Vec<Action> {
    s.chars().map(Action::FilterChar).collect()
}

/// The paths of the tree's rows.
fn paths(state: &ViewState) -> Vec<String> {
    let tree = &demo().image.tree;
    state
        .tree
        .rows
        .iter()
        .map(|r| pydive::layer::path::absolute(&tree.path(r.node)))
        .collect()
}

fn selected_path(state: &ViewState) -> String {
    let tree = &demo().image.tree;
    pydive::layer::path::absolute(&tree.path(state.selected_node().unwrap()))
}

/// A buffer as text, one line per row, trailing blanks cut. A row with reversed cells (the
/// focused selection) is marked with `>` in an extra first column, so snapshots show it.
fn text(buf: &Buffer) -> String {
    use ratatui::style::Modifier;
    let area = buf.area;
    let mut out = String::new();
    for y in area.y..area.bottom() {
        let reversed =
            (area.x..area.right()).any(|x| buf[(x, y)].modifier.contains(Modifier::REVERSED));
        let mut line = String::from(if reversed { ">" } else { " " });
        for x in area.x..area.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn screen(state: &ViewState) -> String {
    let mut terminal = Terminal::new(TestBackend::new(state.width, state.height)).unwrap();
    terminal
        .draw(|f| tui::draw(demo(), state, f.area(), f.buffer_mut()))
        .unwrap();
    text(terminal.backend().buffer())
}

/// One pane drawn alone over the whole area.
fn pane(state: &ViewState, draw: impl Fn(&Report, &ViewState, Rect, &mut Buffer)) -> String {
    let area = Rect::new(0, 0, state.width, state.height);
    let mut buf = Buffer::empty(area);
    draw(demo(), state, area, &mut buf);
    text(&buf)
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            filters => vec![
                (r"sha256:[0-9a-f]{12}", "sha256:[digest....]"),
                (r"/tmp/[^\s│┃]+", "[tmp]"),
            ],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

// ---- update, on sequences of actions ----

#[test]
fn the_first_screen_shows_the_first_layer_s_changes() {
    let s = state(160, 48);
    assert_eq!(
        (s.layer, s.focus, s.tree.mode),
        (0, Pane::Layers, Mode::Changes)
    );
    assert!(paths(&s).contains(&"/usr/bin/bash".to_string()));
    assert!(!paths(&s).iter().any(|p| p.starts_with("/app")));
}

#[test]
fn selecting_a_layer_drives_the_tree() {
    let mut s = state(160, 48);
    run(&mut s, &vec![Action::Down; 5]);
    assert_eq!(s.layer, 5);
    let p = paths(&s);
    assert!(p.contains(&"/root/.cache/pip/http-v2/a/b/3f9c2e.body".to_string()));
    // Only this layer's changes, and the directories above them.
    assert!(!p.contains(&"/usr/bin/bash".to_string()));
    run(&mut s, &[Action::End]);
    assert_eq!(s.layer, 7);
    run(&mut s, &[Action::Down, Action::Home]);
    assert_eq!(s.layer, 0);
    run(
        &mut s,
        &[Action::NextLayer, Action::NextLayer, Action::PrevLayer],
    );
    assert_eq!(s.layer, 1);
}

#[test]
fn the_whole_image_mode_shows_what_is_there_as_of_the_layer() {
    let mut s = state(160, 48);
    run(&mut s, &[Action::End, Action::ToggleMode]);
    assert_eq!(s.tree.mode, Mode::Image);
    let p = paths(&s);
    assert!(p.contains(&"/usr/bin/bash".to_string()));
    // Removed in this layer: listed, as removed.
    assert!(p.contains(&"/app/build/extension.o".to_string()));
    run(&mut s, &[Action::ToggleUnchanged]);
    let p = paths(&s);
    assert!(!p.contains(&"/usr/bin/bash".to_string()));
    assert!(p.contains(&"/app/main.py".to_string()));
    // Back to layer 0: nothing of /app exists yet.
    run(&mut s, &[Action::ToggleUnchanged, Action::Home]);
    assert!(!paths(&s).iter().any(|p| p.starts_with("/app")));
}

#[test]
fn directories_fold_and_unfold() {
    let mut s = state(160, 48);
    run(&mut s, &[Action::Activate]);
    assert_eq!(s.focus, Pane::Files);
    assert_eq!(s.subject, Subject::File);
    // /bin is a symlink to usr/bin, as in Debian since bookworm.
    assert_eq!(selected_path(&s), "/bin");
    run(&mut s, &[Action::Down]);
    assert_eq!(selected_path(&s), "/etc");
    let all = s.tree.rows.len();
    run(&mut s, &[Action::Left]);
    assert_eq!(s.tree.rows.len(), all - 1, "/etc/os-release is folded away");
    run(&mut s, &[Action::Right]);
    assert_eq!(s.tree.rows.len(), all);
    run(&mut s, &[Action::Down, Action::Left]);
    assert_eq!(
        selected_path(&s),
        "/etc",
        "Left on a file goes to its parent"
    );
    run(&mut s, &[Action::CollapseAll]);
    assert_eq!(
        paths(&s),
        ["/bin", "/etc", "/lib", "/lib64", "/tmp", "/usr", "/var"]
    );
    run(&mut s, &[Action::End, Action::Toggle]);
    assert_eq!(paths(&s).len(), 8, "/var/lib is listed again");
    run(&mut s, &[Action::ExpandAll]);
    assert_eq!(s.tree.rows.len(), all);
    assert_eq!(selected_path(&s), "/var", "the selection stays on its node");
}

#[test]
fn the_path_filter_is_incremental_and_keeps_the_last_valid_pattern() {
    let mut s = state(160, 48);
    run(&mut s, &vec![Action::Down; 5]);
    run(&mut s, &[Action::StartFilter]);
    assert_eq!(s.focus, Pane::Files);
    run(&mut s, &chars("nump"));
    let nump = paths(&s);
    run(&mut s, &chars("y.l"));
    let p = paths(&s);
    assert!(p.len() < nump.len());
    assert!(
        p.iter().all(|p| p.contains("numpy.l")
            || "/usr/local/lib/python3.11/site-packages/numpy.libs".starts_with(p.as_str())),
        "{p:?}"
    );
    assert!(p.iter().any(|p| p.ends_with(".dev.so")));
    // Not a valid regex: the last valid filter stays, and says why.
    run(&mut s, &chars("("));
    assert_eq!(paths(&s), p);
    assert!(s.tree.pattern_error.is_some());
    run(&mut s, &[Action::FilterBackspace]);
    assert!(s.tree.pattern_error.is_none());
    // Keys are letters while typing; Enter keeps the filter, Esc then clears it.
    run(&mut s, &[Action::FilterAccept]);
    assert_eq!(s.filter_input, None);
    assert_eq!(paths(&s), p);
    run(&mut s, &[Action::Escape]);
    assert!(paths(&s).len() > p.len());
    // Esc while typing drops the filter.
    run(&mut s, &[Action::StartFilter]);
    run(&mut s, &chars("BODY"));
    assert!(
        paths(&s).is_empty(),
        "an upper-case letter makes the match case-sensitive"
    );
    run(&mut s, &[Action::FilterCancel]);
    assert!(!paths(&s).is_empty());
    assert_eq!(s.tree.pattern, "");
}

#[test]
fn sort_by_size_and_minimum_size() {
    let mut s = state(160, 48);
    run(
        &mut s,
        &[
            Action::Down,
            Action::Down,
            Action::Down,
            Action::Down,
            Action::Focus(Pane::Files),
            Action::ToggleSort,
        ],
    );
    assert_eq!(s.tree.sort, Sort::Size);
    // Largest first at the top level: /usr (the compilers) before /var.
    let p = paths(&s);
    assert_eq!(p[0], "/usr");
    run(
        &mut s,
        &[
            Action::CycleMinSize,
            Action::CycleMinSize,
            Action::CycleMinSize,
        ],
    );
    // >= 1 MB: only big files and the directories above them.
    let report = demo();
    for row in &s.tree.rows {
        let v = s.tree.node_view(report, 4, row.node);
        assert!(v.is_dir || v.bytes >= 1_000_000, "{v:?}");
    }
    assert!(paths(&s).contains(&"/usr/lib/gcc/x86_64-linux-gnu/12/cc1".to_string()));
    assert!(!paths(&s).contains(&"/usr/include/stdio.h".to_string()));
    for _ in 0..3 {
        run(&mut s, &[Action::CycleMinSize]);
    }
    assert_eq!(s.tree.min_size, 0);
}

#[test]
fn enter_on_a_finding_goes_to_its_layer_and_file() {
    let mut s = state(160, 48);
    run(&mut s, &[Action::FocusNext, Action::FocusNext]);
    assert_eq!(s.focus, Pane::Findings);
    let i = demo()
        .findings
        .iter()
        .position(|f| f.rule == "pip-cache")
        .unwrap();
    for _ in 0..i {
        run(&mut s, &[Action::Down]);
    }
    run(&mut s, &[Action::Activate]);
    assert_eq!((s.focus, s.layer), (Pane::Files, 5));
    assert_eq!(
        selected_path(&s),
        "/root/.cache/pip/http-v2/a/b/3f9c2e.body"
    );
    // Even when the filters hid it.
    let mut s = state(160, 48);
    run(&mut s, &[Action::StartFilter]);
    run(&mut s, &chars("nothing-matches-this"));
    run(
        &mut s,
        &[Action::FilterAccept, Action::Focus(Pane::Findings)],
    );
    for _ in 0..i {
        run(&mut s, &[Action::Down]);
    }
    run(&mut s, &[Action::Activate]);
    assert_eq!(
        selected_path(&s),
        "/root/.cache/pip/http-v2/a/b/3f9c2e.body"
    );
    assert_eq!(s.tree.pattern, "");
    assert!(s.note.is_some());
}

#[test]
fn packages_list_distributions_by_size_and_enter_shows_the_largest_file() {
    let mut s = state(160, 48);
    let order: Vec<&str> = tui::lists::packages(demo())
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(order, ["numpy", "speedups"]);
    run(&mut s, &[Action::Focus(Pane::Packages), Action::Activate]);
    assert_eq!((s.focus, s.layer), (Pane::Files, 5));
    assert!(selected_path(&s).ends_with("numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so"));
    run(
        &mut s,
        &[
            Action::Focus(Pane::Packages),
            Action::Down,
            Action::Activate,
        ],
    );
    assert!(selected_path(&s).ends_with("_speedups.cpython-311-x86_64-linux-musl.so"));
    // Its musl build shows in Details.
    let details: Vec<String> = tui::describe::lines(demo(), &s)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert!(
        details.iter().any(|l| l.contains("libc musl")),
        "{details:#?}"
    );
    assert!(
        details
            .iter()
            .any(|l| l.starts_with("distribution speedups 1.0")),
        "{details:#?}"
    );
}

#[test]
fn tab_cycles_panes_and_details_follow_the_last_of_layers_and_files() {
    let mut s = state(160, 48);
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(s.focus);
        run(&mut s, &[Action::FocusNext]);
    }
    assert_eq!(seen, Pane::ALL);
    assert_eq!(s.focus, Pane::Layers);
    run(&mut s, &[Action::FocusPrev]);
    assert_eq!(s.focus, Pane::Details);
    assert_eq!(s.subject, Subject::Layer, "Layers had the focus last");
    run(
        &mut s,
        &[Action::Focus(Pane::Files), Action::Focus(Pane::Details)],
    );
    assert_eq!(s.subject, Subject::File);
    run(&mut s, &[Action::Down, Action::Down, Action::Up]);
    assert_eq!(s.details_scroll, 1);
}

#[test]
fn pages_move_by_the_visible_rows_and_the_cursor_stays_on_screen() {
    let mut s = state(80, 24);
    run(
        &mut s,
        &[
            Action::Down,
            Action::Focus(Pane::Files),
            Action::ToggleMode,
            Action::Home,
        ],
    );
    let height = s.areas(demo()).tree_rows.unwrap().height as usize;
    run(&mut s, &[Action::PageDown]);
    assert_eq!(s.tree.cursor, height);
    assert!(s.tree.offset <= s.tree.cursor && s.tree.cursor < s.tree.offset + height);
    run(&mut s, &[Action::End]);
    assert_eq!(s.tree.cursor, s.tree.rows.len() - 1);
    assert_eq!(s.tree.offset, s.tree.rows.len() - height);
    run(&mut s, &[Action::PageUp, Action::Home]);
    assert_eq!((s.tree.cursor, s.tree.offset), (0, 0));
    // A smaller screen moves the window so that the cursor stays visible.
    run(
        &mut s,
        &[
            Action::End,
            Action::Resize {
                width: 160,
                height: 48,
            },
        ],
    );
    let height = s.areas(demo()).tree_rows.unwrap().height as usize;
    assert!(s.tree.cursor < s.tree.offset + height);
}

#[test]
fn the_mouse_selects_and_scrolls_the_pane_under_it() {
    let mut s = state(160, 48);
    let areas = s.areas(demo());
    let layers = areas.layer_rows.unwrap();
    run(
        &mut s,
        &[Action::Click {
            x: layers.x + 3,
            y: layers.y + 3,
        }],
    );
    assert_eq!((s.focus, s.layer), (Pane::Layers, 3));
    let tree = areas.tree_rows.unwrap();
    run(
        &mut s,
        &[Action::Click {
            x: tree.x + 5,
            y: tree.y + 1,
        }],
    );
    assert_eq!((s.focus, s.tree.cursor), (Pane::Files, 1));
    let before = s.tree.rows.len();
    run(
        &mut s,
        &[Action::Click {
            x: tree.x + 5,
            y: tree.y,
        }],
    );
    run(
        &mut s,
        &[Action::Click {
            x: tree.x + 5,
            y: tree.y,
        }],
    );
    assert!(s.tree.rows.len() < before, "a second click folds");
    // The wheel scrolls the pane under the pointer, whatever has the focus.
    run(
        &mut s,
        &[Action::ScrollDown {
            x: layers.x + 1,
            y: layers.y,
        }],
    );
    // Three rows a notch.
    assert_eq!((s.focus, s.layer), (Pane::Files, 6));
    // Clicks outside any pane do nothing.
    run(&mut s, &[Action::Click { x: 0, y: 0 }]);
    assert_eq!(s.focus, Pane::Files);
}

#[test]
fn help_opens_and_any_key_closes_it() {
    let mut s = state(80, 24);
    run(&mut s, &[Action::ToggleHelp]);
    assert!(s.help);
    run(&mut s, &[Action::Down]);
    assert!(!s.help);
    assert_eq!(s.layer, 0, "the key that closes help does nothing else");
    run(&mut s, &[Action::ToggleHelp, Action::Quit]);
    assert!(s.quit);
}

#[test]
fn update_never_panics_on_any_action_in_any_state() {
    use Action::*;
    let all = vec![
        Quit,
        FocusNext,
        FocusPrev,
        Up,
        Down,
        PageUp,
        PageDown,
        Home,
        End,
        Left,
        Right,
        Activate,
        Toggle,
        ExpandAll,
        CollapseAll,
        NextLayer,
        PrevLayer,
        ToggleMode,
        ToggleSort,
        TogglePackages,
        ToggleUnchanged,
        CycleMinSize,
        ToggleTreemap,
        StartFilter,
        FilterChar('a'),
        FilterChar('['),
        FilterBackspace,
        FilterAccept,
        FilterCancel,
        Escape,
        ToggleHelp,
        ScrollUp { x: 10, y: 10 },
        ScrollDown { x: 100, y: 30 },
        Click { x: 70, y: 5 },
        Click { x: 5, y: 40 },
        Resize {
            width: 20,
            height: 5,
        },
        Resize {
            width: 80,
            height: 24,
        },
    ];
    let mut s = state(160, 48);
    // A fixed pseudo-random walk through the actions, drawing after each.
    let mut x: u64 = 7;
    for _ in 0..1500 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let a = all[(x >> 33) as usize % all.len()].clone();
        update(&mut s, demo(), a);
        s.quit = false;
        let _ = screen(&s);
    }
}

// ---- snapshots: each pane, and the whole screen ----

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// The demo on layer 5 (pip install) with the files focused and numpy's extension module
/// selected.
fn on_the_pip_layer(w: u16, h: u16) -> ViewState {
    let mut s = state(w, h);
    run(&mut s, &vec![Action::Down; 5]);
    run(&mut s, &[Action::Activate]);
    while !selected_path(&s).ends_with("_multiarray_umath.cpython-311-x86_64-linux-gnu.so") {
        let before = s.tree.cursor;
        run(&mut s, &[Action::Down]);
        assert_ne!(s.tree.cursor, before, "the extension module is listed");
    }
    s
}

#[test]
fn snapshot_header() {
    for (w, h) in SIZES {
        let s = state(w, h);
        let r = Rect::new(0, 0, w, 2);
        let mut buf = Buffer::empty(r);
        tui::header::render(demo(), &s, r, &mut buf);
        snapshot!(format!("header_{w}x{h}"), text(&buf));
    }
}

#[test]
fn snapshot_layers_pane() {
    for (w, h) in SIZES {
        let s = on_the_pip_layer(w, h);
        let wide = w >= layout::WIDE_WIDTH;
        let out = pane(&s, |r, s, a, b| tui::layers::render(r, s, a, b, wide));
        snapshot!(format!("layers_{w}x{h}"), out);
    }
}

#[test]
fn snapshot_files_pane() {
    for (w, h) in SIZES {
        let s = on_the_pip_layer(w, h);
        snapshot!(format!("files_{w}x{h}"), pane(&s, tui::files::render));
        let mut s = state(w, h);
        run(
            &mut s,
            &[Action::End, Action::ToggleMode, Action::Focus(Pane::Files)],
        );
        snapshot!(
            format!("files_whole_image_{w}x{h}"),
            pane(&s, tui::files::render)
        );
    }
}

#[test]
fn snapshot_findings_pane() {
    for (w, h) in SIZES {
        let mut s = state(w, h);
        run(&mut s, &[Action::Focus(Pane::Findings), Action::Down]);
        snapshot!(format!("findings_{w}x{h}"), pane(&s, tui::findings::render));
    }
}

#[test]
fn snapshot_packages_pane() {
    for (w, h) in SIZES {
        let mut s = state(w, h);
        run(&mut s, &[Action::Focus(Pane::Packages)]);
        snapshot!(format!("packages_{w}x{h}"), pane(&s, tui::packages::render));
    }
}

#[test]
fn snapshot_details_pane() {
    for (w, h) in SIZES {
        let mut s = on_the_pip_layer(w, h);
        snapshot!(
            format!("details_file_{w}x{h}"),
            pane(&s, tui::details::render)
        );
        run(
            &mut s,
            &[Action::Focus(Pane::Layers), Action::Focus(Pane::Details)],
        );
        snapshot!(
            format!("details_layer_{w}x{h}"),
            pane(&s, tui::details::render)
        );
    }
}

#[test]
fn snapshot_whole_screen() {
    for (w, h) in SIZES {
        snapshot!(format!("screen_first_{w}x{h}"), screen(&state(w, h)));
        let mut s = on_the_pip_layer(w, h);
        snapshot!(format!("screen_layer_two_{w}x{h}"), screen(&s));
        run(&mut s, &[Action::StartFilter]);
        run(&mut s, &chars("numpy"));
        snapshot!(format!("screen_filter_typing_{w}x{h}"), screen(&s));
        run(
            &mut s,
            &[Action::FilterAccept, Action::Focus(Pane::Findings)],
        );
        snapshot!(format!("screen_findings_{w}x{h}"), screen(&s));
        run(&mut s, &[Action::ToggleHelp]);
        snapshot!(format!("screen_help_{w}x{h}"), screen(&s));
    }
}

#[test]
fn snapshot_loading_screen() {
    let area = Rect::new(0, 0, 80, 24);
    let mut buf = Buffer::empty(area);
    tui::draw_loading(
        "oci-archive:python.tar",
        (3, 12, 734_000_000),
        area,
        &mut buf,
    );
    snapshot!("loading_80x24", text(&buf));
}

#[test]
fn snapshot_too_small_screen() {
    snapshot!("screen_too_small", screen(&state(50, 10)));
}

// ---- not a terminal: the text report ----

#[test]
fn without_a_terminal_the_explorer_prints_the_text_report() {
    let out = common::pydive().arg("demo").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("pydive demo image\n"), "{text}");
    assert!(text.contains("Findings (13)"));
    let out = common::pydive()
        .args(["demo", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema_version"], 1);
    let w = common::archive(
        &pydive::demo::image(),
        pydive::fixture::Layout::DockerClassic,
    );
    let out = common::pydive().arg(&w.path).output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("Findings (13)")
    );
}

// ---- the README's keys come from the key table ----

#[test]
fn the_readme_lists_exactly_the_keys_of_the_key_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start =
        "<!-- keys: generated from the key table in src/tui/keys.rs; tests/tui.rs checks it -->\n";
    let end = "<!-- /keys -->";
    let a = readme
        .find(start)
        .expect("the README marks its table of keys")
        + start.len();
    let b = a + readme[a..]
        .find(end)
        .expect("the README ends its table of keys");
    let table = tui::keys::markdown_table();
    if readme[a..b] != table && std::env::var_os("PYDIVE_BLESS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &readme[..a], &readme[b..])).unwrap();
        return;
    }
    assert_eq!(
        readme[a..b],
        table,
        "the README's keys differ from src/tui/keys.rs; PYDIVE_BLESS=1 rewrites them"
    );
}

#[test]
fn o_switches_packages_to_the_os_packages_and_enter_shows_the_largest_file() {
    use pydive::fixture::{Entry, Image, Layer};
    // A distroless-style dpkg database (status.d), written by the test.
    let control = |name: &str, kib: u64| {
        format!("Package: {name}\nVersion: 1.0-1\nArchitecture: amd64\nInstalled-Size: {kib}\n")
    };
    let image = Image::new(vec![
        Layer::new(
            "ADD base",
            vec![
                Entry::file("var/lib/dpkg/status.d/libc6", control("libc6", 20)),
                Entry::file(
                    "var/lib/dpkg/status.d/libc6.md5sums",
                    "00  usr/lib/libc.so.6\n00  usr/share/doc/libc6/copyright\n",
                ),
                Entry::file_len("usr/lib/libc.so.6", 20_000, 1),
                Entry::file_len("usr/share/doc/libc6/copyright", 300, 2),
            ],
        ),
        Layer::new(
            "RUN install zlib",
            vec![
                Entry::file("var/lib/dpkg/status.d/zlib1g", control("zlib1g", 1)),
                Entry::file(
                    "var/lib/dpkg/status.d/zlib1g.md5sums",
                    "00  usr/lib/libz.so.1\n",
                ),
                Entry::file_len("usr/lib/libz.so.1", 900, 3),
            ],
        ),
    ]);
    let report = common::report_for(&image);
    let mut s = ViewState::new(&report, 100, 30, false);
    for a in [Action::Focus(Pane::Packages), Action::TogglePackages] {
        update(&mut s, &report, a);
    }
    assert!(s.os_packages);
    assert_eq!(tui::lists::len(&report, &s, Pane::Packages), 2);
    let area = Rect::new(0, 0, 100, 30);
    let mut buf = Buffer::empty(area);
    tui::packages::render(&report, &s, area, &mut buf);
    let drawn = text(&buf);
    assert!(drawn.contains("Packages: dpkg (2)"), "{drawn}");
    let libc_row = drawn.lines().find(|l| l.contains("libc6")).unwrap();
    assert!(
        libc_row.contains("20.3 kB") && libc_row.contains(" 0 "),
        "{libc_row}"
    );
    for a in [Action::Down, Action::Activate] {
        update(&mut s, &report, a);
    }
    assert_eq!((s.focus, s.layer), (Pane::Files, 1));
    let node = s.selected_node().unwrap();
    assert_eq!(report.image.tree.path(node), b"usr/lib/libz.so.1");
    let details: Vec<String> = tui::describe::lines(&report, &s)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert!(
        details
            .iter()
            .any(|l| l == "package zlib1g 1.0-1 (900 B, 1 file, installed in layer 1)"),
        "{details:#?}"
    );
    // And back to the Python distributions.
    for a in [Action::Focus(Pane::Packages), Action::TogglePackages] {
        update(&mut s, &report, a);
    }
    assert!(!s.os_packages);
    assert_eq!(tui::lists::len(&report, &s, Pane::Packages), 0);
}

// ---- Files as a treemap ----

/// The demo's whole image at its last layer, Files focused, as a treemap.
fn treemap_state(w: u16, h: u16, color: bool) -> ViewState {
    let mut s = ViewState::new(demo(), w, h, color);
    run(
        &mut s,
        &[
            Action::End,
            Action::ToggleMode,
            Action::Focus(Pane::Files),
            Action::ToggleTreemap,
        ],
    );
    s
}

fn map_dir(s: &ViewState) -> String {
    pydive::layer::path::absolute(&demo().image.tree.path(s.map.as_ref().unwrap().dir))
}

#[test]
fn the_treemap_shows_the_selection_s_directory_and_opens_its_tiles() {
    let mut s = treemap_state(160, 48, false);
    let map = s.map.clone().unwrap();
    assert_eq!(map_dir(&s), "/");
    // Its tiles are the top-level directories, largest first, weighing what the tree says.
    let report = demo();
    let layer = s.layer as u32;
    let mut total = 0;
    for t in &map.tiles {
        let node = t.node.unwrap();
        assert_eq!(t.bytes, s.tree.node_view(report, layer, node).bytes);
        total += t.bytes;
    }
    assert!(map.tiles.windows(2).all(|w| w[0].bytes >= w[1].bytes));
    assert_eq!(total, report.facts.visible.bytes, "the root's tiles add up");
    let usr = report.image.tree.lookup(b"usr").unwrap();
    assert_eq!(map.tiles[0].node, Some(usr));
    // Down picks the next tile; Home the largest; Enter opens it.
    run(&mut s, &[Action::Home]);
    assert_eq!(selected_path(&s), "/usr");
    run(&mut s, &[Action::Down]);
    assert_eq!(Some(s.selected_node().unwrap()), map.tiles[1].node);
    run(&mut s, &[Action::Home, Action::Activate]);
    assert_eq!(map_dir(&s), "/usr");
    assert!(selected_path(&s).starts_with("/usr/"));
    // Left goes back up, with /usr selected.
    run(&mut s, &[Action::Left]);
    assert_eq!(
        (map_dir(&s), selected_path(&s)),
        ("/".into(), "/usr".into())
    );
    // A click on a directory's tile opens it.
    let rows = s.areas(demo()).tree_rows.unwrap();
    let (cells, _) = layout::map_split(rows);
    let placed = tui::treemap::cells(&s.map.as_ref().unwrap().tiles, cells);
    let (_, r) = placed[0];
    run(&mut s, &[Action::Click { x: r.x, y: r.y }]);
    assert_eq!(map_dir(&s), "/usr");
    // t goes back to the tree, on the same selection.
    let before = s.selected_node();
    run(&mut s, &[Action::ToggleTreemap]);
    assert!(s.map.is_none());
    assert_eq!(s.selected_node(), before);
}

#[test]
fn treemap_tiles_take_their_category_s_colour_or_letter() {
    use ratatui::style::Color;
    let report = demo();
    // /usr/lib/gcc is all compilers: red, or `c` without colour.
    for color in [true, false] {
        let mut s = treemap_state(160, 48, color);
        let gcc = report.image.tree.lookup(b"usr/lib/gcc").unwrap();
        run(&mut s, &[Action::Home, Action::Activate]);
        while s.map.as_ref().unwrap().dir != report.image.tree.node(gcc).parent {
            let lib = report.image.tree.lookup(b"usr/lib").unwrap();
            let map = s.map.clone().unwrap();
            let next = map
                .tiles
                .iter()
                .find(|t| t.node == Some(lib) || t.node == Some(gcc))
                .unwrap();
            s.tree.reveal(report, s.layer as u32, next.node.unwrap());
            run(&mut s, &[Action::Activate]);
        }
        let map = s.map.clone().unwrap();
        let i = map.tiles.iter().position(|t| t.node == Some(gcc)).unwrap();
        assert_eq!(
            map.tiles[i].category,
            Some(pydive::analysis::Category::Compilers)
        );
        let rows = s.areas(report).tree_rows.unwrap();
        let (cells, _) = layout::map_split(rows);
        let (_, r) = tui::treemap::cells(&map.tiles, cells)
            .into_iter()
            .find(|(j, _)| *j == i)
            .unwrap();
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
        terminal
            .draw(|f| tui::draw(report, &s, f.area(), f.buffer_mut()))
            .unwrap();
        let buf = terminal.backend().buffer();
        // A cell inside the tile, below its two label lines.
        let cell = &buf[(r.x + 1, r.y + 2)];
        if color {
            assert_eq!(cell.bg, Color::Red);
        } else {
            assert_eq!(cell.symbol(), "c");
            assert_eq!(cell.bg, Color::Reset);
        }
    }
}

#[test]
fn snapshot_treemap() {
    for (w, h) in SIZES {
        let mut s = treemap_state(w, h, false);
        snapshot!(format!("treemap_root_{w}x{h}"), screen(&s));
        run(&mut s, &[Action::Home, Action::Activate]);
        snapshot!(format!("treemap_usr_{w}x{h}"), screen(&s));
    }
}
