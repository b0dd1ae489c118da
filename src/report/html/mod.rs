//! The HTML report (`--format html`): one self-contained page that a CI artifact can be opened
//! from, with no network at view time (a Content-Security-Policy forbids any request). The
//! data is one JSON document in the page, built from the JSON report's own schema types plus
//! the treemap's tiles (`tree`); the page's script (`assets/html/report.js`) draws the header,
//! a zoomable treemap, a bar per layer, and the tables of findings, distributions and ELF
//! files with a problem. The treemap's layout is d3-hierarchy's squarified treemap, vendored
//! with its license under `assets/html/vendor/`.

pub mod tree;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::Report;
use super::json::{JsonReport, JsonTotals};
use crate::analysis::Category;
use crate::findings::Severity;
use tree::{BUDGET, Tile, WasteGroup, treemap};

const TEMPLATE: &str = include_str!("../../../assets/html/report.html");
const STYLE: &str = include_str!("../../../assets/html/report.css");
const SCRIPT: &str = include_str!("../../../assets/html/report.js");
const D3_HIERARCHY: &str = include_str!("../../../assets/html/vendor/d3-hierarchy.min.js");
const D3_LICENSE: &str = include_str!("../../../assets/html/vendor/LICENSE-d3-hierarchy");

/// The page's data.
#[derive(Serialize)]
struct Page {
    /// The JSON report (`--format json`), with `elf` cut to the files with a problem.
    report: JsonReport,
    /// For each file in `report.elf`: the rules whose findings name it.
    elf_rules: BTreeMap<String, Vec<&'static str>>,
    /// Category ids; a tile's category bit `i` is the `i`th.
    categories: Vec<&'static str>,
    /// The final filesystem's bytes by primary category (each file once), for the legend.
    primary: BTreeMap<&'static str, JsonTotals>,
    /// "name version" of each distribution; a tile's `dist` indexes it.
    dists: Vec<String>,
    /// Each layer's Dockerfile step, as the other reports shorten it.
    steps: Vec<String>,
    tree: Tile,
    waste: Vec<WasteGroup>,
    /// Files and directories under this many bytes are folded into "N small files" tiles.
    fold_threshold: u64,
}

impl Page {
    fn new(report: &Report, budget: usize) -> Page {
        let mut json = JsonReport::new(report);
        // ELF files with a problem: those an error finding names.
        let mut elf_rules: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
        for f in report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
        {
            for p in &f.paths {
                let rules = elf_rules.entry(p.clone()).or_default();
                if !rules.contains(&f.rule) {
                    rules.push(f.rule);
                }
            }
        }
        json.elf.retain(|e| elf_rules.contains_key(&e.path));
        elf_rules.retain(|path, _| json.elf.iter().any(|e| &e.path == path));
        let map = treemap(report, budget);
        Page {
            report: json,
            elf_rules,
            categories: Category::ALL.iter().map(|c| c.id()).collect(),
            primary: report
                .facts
                .categories
                .primary
                .iter()
                .map(|(c, t)| (c.id(), JsonTotals::from(t)))
                .collect(),
            dists: report
                .facts
                .python
                .distributions
                .iter()
                .map(|d| format!("{} {}", d.name, d.version))
                .collect(),
            steps: report.image.layers.iter().map(|l| l.step()).collect(),
            tree: map.root,
            waste: map.waste,
            fold_threshold: map.threshold,
        }
    }
}

/// Text for an HTML element or attribute.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JSON that can sit inside a `<script>` element: no `<` at all, so no `</script>` or `<!--`.
fn script_safe(json: String) -> String {
    json.replace('<', "\\u003c")
}

/// Writes the page.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_with_budget(report, BUDGET, out)
}

/// Writes the page with at most `budget` treemap tiles.
pub fn write_with_budget(report: &Report, budget: usize, out: &mut dyn Write) -> io::Result<()> {
    let page = Page::new(report, budget);
    let data = script_safe(serde_json::to_string(&page)?);
    let license = format!(
        "/* d3-hierarchy 1.1.8, vendored from Debian's node-d3-hierarchy 1.1.8-6.\n{}*/",
        D3_LICENSE.replace("*/", "* /")
    );
    let html = TEMPLATE
        .replace(
            "{{TITLE}}",
            &escape(&format!("pydive: {}", report.image.reference)),
        )
        .replace("{{STYLE}}", STYLE)
        .replace("{{D3_LICENSE}}", &license)
        .replace("{{D3}}", D3_HIERARCHY)
        .replace("{{SCRIPT}}", SCRIPT);
    // The data last, so nothing in it is taken for a placeholder.
    let (before, after) = html
        .split_once("{{DATA}}")
        .expect("the template has a data placeholder");
    out.write_all(before.as_bytes())?;
    out.write_all(data.as_bytes())?;
    out.write_all(after.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_has_no_angle_brackets() {
        let s = script_safe(serde_json::to_string("</script><!--").unwrap());
        assert!(!s.contains('<'));
        assert_eq!(serde_json::from_str::<String>(&s).unwrap(), "</script><!--");
    }
}
