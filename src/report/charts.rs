//! Mermaid charts for the Markdown writers (`report` and `audit --format markdown`, and the CI
//! summary): a `pie` of the final filesystem by category and an `xychart-beta` bar of layer
//! sizes, which GitHub and GitLab draw inline. Only the subset of Mermaid both render is
//! written: quoted pie labels with plain numbers, an x-axis of quoted labels, one bar series.
//! The generic `pie` and `bars` take plain data so any writer can chart its own numbers.

use super::Report;
use crate::analysis::Category;
use crate::findings::size;

/// A fenced Mermaid `pie`: one slice per (label, bytes), zero slices left out (Mermaid wants
/// positive values). Each label carries its size, since the pie itself shows shares only.
pub fn pie(title: &str, slices: &[(String, u64)]) -> String {
    let mut out = format!("```mermaid\npie title {}\n", clean(title));
    for (label, bytes) in slices.iter().filter(|(_, b)| *b > 0) {
        out.push_str(&format!(
            "    \"{} {}\" : {bytes}\n",
            clean(label),
            size(*bytes)
        ));
    }
    out.push_str("```\n");
    out
}

/// A fenced Mermaid `xychart-beta` with one bar per (label, bytes), in a decimal unit chosen so
/// the largest bar reads well.
pub fn bars(title: &str, bars: &[(String, u64)]) -> String {
    let max = bars.iter().map(|(_, b)| *b).max().unwrap_or(0);
    let (unit, scale) = [("GB", 1e9), ("MB", 1e6), ("kB", 1e3)]
        .into_iter()
        .find(|(_, s)| max as f64 >= *s)
        .unwrap_or(("B", 1.0));
    let labels: Vec<String> = bars
        .iter()
        .map(|(l, _)| format!("\"{}\"", clean(l)))
        .collect();
    let values: Vec<String> = bars
        .iter()
        .map(|(_, b)| format!("{:.2}", *b as f64 / scale))
        .collect();
    let top = (max as f64 / scale).ceil().max(1.0);
    format!(
        "```mermaid\nxychart-beta\n    title \"{}\"\n    x-axis [{}]\n    y-axis \"{unit}\" 0 --> {top}\n    bar [{}]\n```\n",
        clean(title),
        labels.join(", "),
        values.join(", ")
    )
}

/// The final filesystem by primary category (each file once, so the slices add up), with what
/// no category claims as one slice.
pub fn category_pie(report: &Report) -> String {
    let primary = &report.facts.categories.primary;
    let mut slices: Vec<(String, u64)> = Category::ALL
        .iter()
        .filter_map(|c| primary.get(c).map(|t| (c.id().to_string(), t.bytes)))
        .collect();
    let claimed: u64 = slices.iter().map(|(_, b)| b).sum();
    slices.push((
        "no category".into(),
        report.facts.visible.bytes.saturating_sub(claimed),
    ));
    slices.sort_by_key(|(_, b)| std::cmp::Reverse(*b));
    pie("Final filesystem by category", &slices)
}

/// Each layer's bytes (its regular files), labelled `L0`, `L1`, ...
pub fn layer_bars(report: &Report) -> String {
    let bars_: Vec<(String, u64)> = report
        .image
        .layers
        .iter()
        .map(|l| (format!("L{}", l.index), l.files_bytes()))
        .collect();
    bars("Layer sizes", &bars_)
}

/// Both charts under a heading, for a Markdown report.
pub fn markdown(report: &Report) -> String {
    format!(
        "### Where the bytes are\n\n{}\n{}",
        category_pie(report),
        layer_bars(report)
    )
}

/// Text Mermaid takes inside a quoted label or a title: no quotes, no line breaks, nothing
/// that could close the fence.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pies_leave_out_empty_slices_and_say_sizes() {
        let p = pie(
            "t",
            &[
                ("a".into(), 1_500_000),
                ("b".into(), 0),
                ("c\"`".into(), 10),
            ],
        );
        assert_eq!(
            p,
            "```mermaid\npie title t\n    \"a 1.5 MB\" : 1500000\n    \"c'' 10 B\" : 10\n```\n"
        );
    }

    #[test]
    fn bars_pick_a_unit_for_the_largest() {
        let b = bars("t", &[("L0".into(), 2_500_000), ("L1".into(), 40_000)]);
        assert!(b.contains("y-axis \"MB\" 0 --> 3\n"), "{b}");
        assert!(b.contains("bar [2.50, 0.04]\n"), "{b}");
        assert!(b.contains("x-axis [\"L0\", \"L1\"]\n"), "{b}");
        let small = bars("t", &[("L0".into(), 12)]);
        assert!(small.contains("y-axis \"B\" 0 --> 12\n"), "{small}");
    }
}
