//! The header: the image, its size and waste, dive's efficiency, its libc and Python, and the
//! findings by severity. Two lines, cut to the screen's width.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::action::Action;
use super::keys;
use super::state::ViewState;
use super::theme::{Theme, libc_name, size};
use crate::findings::Severity;
use crate::report::Report;

/// The header's lines, one fact group each; the layout gives it `layout::HEADER_LINES` rows.
/// The second line ends with the `? keys` hint, which a narrow screen keeps by shortening the
/// base to its flavour.
pub fn lines(report: &Report, theme: Theme, width: u16) -> Vec<Line<'static>> {
    let image = &report.image;
    let facts = &report.facts;
    let mut platform = format!("{}/{}", image.os, image.architecture);
    if let Some(v) = &image.variant {
        platform.push('/');
        platform.push_str(v);
    }
    let label = |s: &'static str| Span::styled(s, theme.title());
    let first = Line::from(vec![
        Span::styled(" pydive · ", theme.title()),
        Span::raw(image.reference.clone()),
        Span::raw(format!("  {platform}  ")),
        label("layers "),
        Span::raw(format!("{}  ", image.layers.len())),
        label("size "),
        Span::raw(format!("{}  ", size(image.size_bytes()))),
        label("wasted "),
        Span::raw(format!("{}  ", size(facts.waste.wasted_bytes()))),
        label("dive efficiency "),
        Span::raw(format!("{:.1} %", facts.dive.efficiency * 100.0)),
    ]);
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let mut second = vec![
        Span::raw(" "),
        label("libc "),
        Span::raw(format!("{}  ", libc(report))),
        label("Python "),
        Span::raw(format!("{}  ", python(report))),
        label("findings "),
    ];
    for (k, s) in [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .enumerate()
    {
        if k > 0 {
            second.push(Span::raw(", "));
        }
        let n = count(s);
        let style = if n > 0 {
            theme.severity(s)
        } else {
            Style::new()
        };
        second.push(Span::styled(format!("{n} {s}"), style));
    }
    // The base last: on a narrow screen the findings' counts matter more.
    second.push(label("  base "));
    let help = Span::styled(
        format!("   {} keys", keys::hint(&[Action::ToggleHelp])),
        theme.dim(),
    );
    let full = base(report);
    let used: usize = second.iter().map(Span::width).sum::<usize>() + help.width();
    let base = if used + full.chars().count() > usize::from(width) {
        report.facts.base.flavour.name().to_string()
    } else {
        full
    };
    second.push(Span::raw(base));
    second.push(help);
    vec![first, Line::from(second)]
}

pub fn render(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    for (line, y) in lines(report, theme, area.width)
        .into_iter()
        .zip(area.y..area.bottom())
    {
        line.render(
            Rect {
                y,
                height: 1,
                ..area
            },
            buf,
        );
    }
}

/// The image's libc family and version.
pub fn libc(report: &Report) -> String {
    let libc = &report.facts.linkage.libc;
    match (libc.family, &libc.version) {
        (Some(family), Some(v)) => format!("{} {v}", libc_name(family)),
        (Some(family), None) => libc_name(family).to_string(),
        (None, _) => "unknown".to_string(),
    }
}

/// The base image's flavour and layers: "slim, layers 0-4".
pub fn base(report: &Report) -> String {
    let base = &report.facts.base;
    match base.layers {
        Some(1) => format!("{}, layer 0", base.flavour.name()),
        Some(n) => format!("{}, layers 0-{}", base.flavour.name(), n - 1),
        None => base.flavour.name().to_string(),
    }
}

/// The versions of the image's Python interpreters.
pub fn python(report: &Report) -> String {
    let mut versions: Vec<String> = Vec::new();
    for i in &report.facts.python.interpreters {
        let v = format!("{}{}", i.version, if i.free_threaded { "t" } else { "" });
        if !versions.contains(&v) {
            versions.push(v);
        }
    }
    if versions.is_empty() {
        "none".to_string()
    } else {
        versions.join(", ")
    }
}
