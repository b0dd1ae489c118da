//! The Packages pane: the image's Python distributions, largest first, with version, size,
//! the layer that installed them and the libc of their extension modules; for the selected
//! one, where it lives, its installer, wheel tags and vendored libraries. `o` switches to the
//! OS packages of the package database, with the same columns (the last says whether it is
//! build toolchain). Enter shows the selected package's largest file in Files.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::action::Pane;
use super::layout::packages_split;
use super::state::ViewState;
use super::theme::{Theme, libc_name, put, put_right, size};
use super::{list, lists};
use crate::analysis::packages::Manager;
use crate::analysis::python::Distribution;
use crate::layer::path::absolute;
use crate::report::Report;

/// The libc families of a distribution's extension modules: `-` when it has none.
fn extension_libc(report: &Report, d: &Distribution) -> String {
    let mut families: Vec<&str> = d
        .extensions
        .iter()
        .filter_map(|n| report.facts.linkage.by_node(*n))
        .map(|e| libc_name(e.libc))
        .collect();
    families.sort_unstable();
    families.dedup();
    if families.is_empty() {
        "-".to_string()
    } else {
        families.join("+")
    }
}

pub fn render(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer) {
    if state.os_packages {
        return render_os(report, state, area, buf);
    }
    let theme = Theme { color: state.color };
    let focused = state.focus == Pane::Packages;
    let dists = lists::packages(report);
    let title = format!("Packages: Python ({}) · o: OS · Tab: Details", dists.len());
    let inner = theme.frame(&title, focused, area, buf);
    if inner.height == 0 {
        return;
    }
    if dists.is_empty() {
        let note = if report.facts.python.interpreters.is_empty() {
            "No Python in this image: no interpreter and no installed distribution."
        } else {
            "No installed Python distribution (no *.dist-info or *.egg-info) in this image."
        };
        list::empty(buf, inner, note, theme);
        return;
    }
    let split = packages_split(area);
    // Columns: name, version, size, layer, libc of extensions.
    let x = inner.x + 1;
    let libc_w = 7u16;
    let x_libc = inner.right().saturating_sub(libc_w);
    let x_layer_end = x_libc.saturating_sub(1);
    let x_size_end = x_layer_end.saturating_sub(6);
    let name_w = x_size_end.saturating_sub(x + 10 + 12);
    let x_version = x + name_w + 1;
    let header = theme.title();
    let y = split.header.y;
    if split.header.height > 0 {
        put(buf, x, y, name_w, "name", header);
        put(buf, x_version, y, 12, "version", header);
        put_right(buf, x_size_end, y, "size", header);
        put_right(buf, x_layer_end, y, "layer", header);
        put(buf, x_libc, y, libc_w, "libc", header);
    }
    let pos = state.pos(Pane::Packages);
    list::draw(
        buf,
        split.rows,
        dists.len(),
        pos,
        focused,
        theme,
        |buf, i, row, style| {
            let d = dists[i];
            let y = row.y;
            let name = match &d.vendored_by {
                Some(by) => format!("{} (in {by})", d.name),
                None => d.name.clone(),
            };
            put(buf, x, y, name_w, &name, style);
            put(buf, x_version, y, 12, &d.version, style);
            put_right(buf, x_size_end, y, &size(d.size_bytes), style);
            put_right(buf, x_layer_end, y, &d.layer.to_string(), style);
            put(buf, x_libc, y, libc_w, &extension_libc(report, d), style);
        },
    );
    if let Some(d) = dists.get(pos.cursor) {
        list::detail(buf, split.detail, &detail_lines(d), theme);
    }
}

/// The selected distribution in full, all dim.
fn detail_lines(d: &Distribution) -> Vec<(String, bool)> {
    let mut lines = vec![format!(
        "{} {}: {} files in {}",
        d.name,
        d.version,
        d.files,
        absolute(&d.location)
    )];
    if let Some(by) = &d.vendored_by {
        lines.push(format!(
            "vendored inside {by}: not installed itself, its files counted in {by}'s too"
        ));
    } else if let Some(installer) = &d.installer {
        lines.push(format!("installed by {installer}"));
    }
    if !d.wheel_tags.is_empty() {
        lines.push(format!("wheel tags {}", d.wheel_tags.join(", ")));
    }
    if !d.extensions.is_empty() || !d.vendored.is_empty() {
        lines.push(format!(
            "{} extension modules, {} vendored libraries",
            d.extensions.len(),
            d.vendored.len()
        ));
    }
    lines.push("Enter: show in Files".to_string());
    lines.into_iter().map(|l| (l, true)).collect()
}

/// The OS packages, largest first.
fn render_os(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    let focused = state.focus == Pane::Packages;
    let os = &report.facts.os_packages;
    let manager = match os.manager {
        Some(Manager::Dpkg) => "dpkg",
        Some(Manager::Apk) => "apk",
        None => "OS",
    };
    let title = format!(
        "Packages: {manager} ({}) · o: Python · Tab: Details",
        os.packages.len()
    );
    let inner = theme.frame(&title, focused, area, buf);
    if inner.height == 0 {
        return;
    }
    if os.packages.is_empty() {
        let note = "No OS package database (dpkg status, apk installed) in this image.";
        list::empty(buf, inner, note, theme);
        return;
    }
    let split = packages_split(area);
    let x = inner.x + 1;
    let kind_w = 7u16;
    let x_kind = inner.right().saturating_sub(kind_w);
    let x_layer_end = x_kind.saturating_sub(1);
    let x_size_end = x_layer_end.saturating_sub(6);
    let name_w = x_size_end.saturating_sub(x + 10 + 12);
    let x_version = x + name_w + 1;
    let header = theme.title();
    if split.header.height > 0 {
        let y = split.header.y;
        put(buf, x, y, name_w, "name", header);
        put(buf, x_version, y, 12, "version", header);
        put_right(buf, x_size_end, y, "size", header);
        put_right(buf, x_layer_end, y, "layer", header);
        put(buf, x_kind, y, kind_w, "build", header);
    }
    let pos = state.pos(Pane::Packages);
    list::draw(
        buf,
        split.rows,
        os.packages.len(),
        pos,
        focused,
        theme,
        |buf, i, row, style| {
            let p = &os.packages[i];
            put(buf, x, row.y, name_w, &p.name, style);
            put(buf, x_version, row.y, 12, &p.version, style);
            put_right(buf, x_size_end, row.y, &size(p.bytes), style);
            put_right(buf, x_layer_end, row.y, &p.layer.to_string(), style);
            let kind = if p.toolchain { "yes" } else { "-" };
            put(buf, x_kind, row.y, kind_w, kind, style);
        },
    );
    if let Some(p) = os.packages.get(pos.cursor) {
        let mut lines = vec![format!(
            "{} {} ({}): {} files, {} in the image",
            p.name,
            p.version,
            p.architecture,
            p.files,
            size(p.bytes)
        )];
        if let Some(estimate) = p.installed_size {
            lines.push(format!("the database says {}", size(estimate)));
        }
        if p.toolchain {
            lines.push("build toolchain: its files count as compilers".to_string());
        }
        lines.push("Enter: show in Files".to_string());
        let lines: Vec<(String, bool)> = lines.into_iter().map(|l| (l, true)).collect();
        list::detail(buf, split.detail, &lines, theme);
    }
}
