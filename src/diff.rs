//! `pydive diff OLD NEW`: what changed between two images. It compares two reports in their
//! published JSON form (`JsonReport`), whether each was just computed from an image or loaded
//! from a file written earlier, so a stored baseline and an image give the same diff as two
//! images. Its result is itself an output type (`JsonDiff`, with a published schema); the
//! writers in `report::diff` only format it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::short_step;
use crate::report::json::{JsonDistribution, JsonFinding, JsonLayer, JsonReport};

/// How many file changes the diff lists.
const TOP_FILES: usize = 20;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonDiff {
    pub schema_version: u32,
    pub pydive_version: String,
    pub old: JsonSide,
    pub new: JsonSide,
    /// The line a person reads first: the change and its biggest cause.
    pub headline: String,
    /// The biggest cause of the change, by layer and category.
    pub cause: Option<JsonCause>,
    /// NEW's layers in order, then OLD's layers that NEW does not have.
    pub layers: Vec<JsonLayerChange>,
    /// Every category whose bytes changed, and `total` (the image size) last.
    pub categories: Vec<JsonCategoryChange>,
    /// Python distributions added, removed, upgraded, downgraded or changed in size.
    pub packages: Vec<JsonPackageChange>,
    /// The largest file changes, or null when a side has no file table (`report --files`).
    pub files: Option<Vec<JsonFileChange>>,
    /// Findings NEW has and OLD had not, matched by rule, step text and paths.
    pub new_findings: Vec<JsonFinding>,
    /// Findings OLD had and NEW has not.
    pub fixed_findings: Vec<JsonFinding>,
    /// The C library and Python interpreters, when they differ.
    pub platform: Vec<JsonPlatformChange>,
}

/// One side of a diff.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonSide {
    pub reference: String,
    pub size_bytes: u64,
    pub layers: usize,
    /// The size with every finding's fix applied.
    pub projected_bytes: u64,
    pub fixes: usize,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonCause {
    /// NEW's layer, or OLD's for a removed layer.
    pub layer: usize,
    pub step: String,
    /// The category, or null when the bytes are in no category.
    pub category: Option<String>,
    pub bytes: i64,
    /// `bytes` as a share of the whole change, 0-100.
    pub share_percent: f64,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonLayerStatus {
    /// The same diff_id on both sides.
    Shared,
    /// The same step text, different content.
    Changed,
    Added,
    Removed,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonLayerChange {
    pub status: JsonLayerStatus,
    pub old_index: Option<usize>,
    pub new_index: Option<usize>,
    /// The Dockerfile step, as written.
    pub step: String,
    pub old_bytes: u64,
    pub new_bytes: u64,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonCategoryChange {
    /// A category id, or `total`.
    pub category: String,
    pub old_bytes: u64,
    pub new_bytes: u64,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonPackageStatus {
    Added,
    Removed,
    Upgraded,
    Downgraded,
    /// The same version, another size (rebuilt or reinstalled).
    Changed,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonPackageChange {
    pub name: String,
    /// The site-packages directory: one name may be installed in several (the system's and a
    /// virtual environment's), each its own row.
    #[serde(default)]
    pub location: String,
    pub status: JsonPackageStatus,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    pub old_bytes: u64,
    pub new_bytes: u64,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonFileStatus {
    Added,
    Removed,
    Grown,
    Shrunk,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonFileChange {
    pub path: String,
    pub status: JsonFileStatus,
    pub old_bytes: u64,
    pub new_bytes: u64,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonPlatformChange {
    /// "libc" or "python".
    pub what: String,
    pub old: String,
    pub new: String,
}

impl JsonLayerChange {
    pub fn delta(&self) -> i64 {
        self.new_bytes as i64 - self.old_bytes as i64
    }
}

impl From<(&JsonReport, &JsonReport)> for JsonDiff {
    fn from((old, new): (&JsonReport, &JsonReport)) -> JsonDiff {
        let layers = layers(&old.image.layers, &new.image.layers);
        let cause = cause(old, new, &layers);
        let (new_findings, fixed_findings) = findings(&old.findings, &new.findings);
        JsonDiff {
            schema_version: crate::report::json::SCHEMA_VERSION,
            pydive_version: env!("CARGO_PKG_VERSION").to_string(),
            old: side(old),
            new: side(new),
            headline: headline(old.image.size_bytes, new.image.size_bytes, cause.as_ref()),
            cause,
            layers,
            categories: categories(old, new),
            packages: packages(old, new),
            files: files(old, new),
            new_findings,
            fixed_findings,
            platform: platform(old, new),
        }
    }
}

fn side(r: &JsonReport) -> JsonSide {
    JsonSide {
        reference: r.image.reference.clone(),
        size_bytes: r.image.size_bytes,
        layers: r.image.layers.len(),
        // A report without a projection (an older pydive's) projects no saving.
        projected_bytes: if r.projection.fixes.is_empty() {
            r.image.size_bytes
        } else {
            r.projection.bytes
        },
        fixes: r.projection.fixes.len(),
    }
}

/// Layers pair up by diff_id (shared), then by step text among the rest (changed), in order.
fn layers(old: &[JsonLayer], new: &[JsonLayer]) -> Vec<JsonLayerChange> {
    let mut old_used = vec![false; old.len()];
    let mut pairs: Vec<Option<(usize, JsonLayerStatus)>> = vec![None; new.len()];
    for (n, layer) in new.iter().enumerate() {
        if let Some(o) = (0..old.len()).find(|&o| !old_used[o] && old[o].diff_id == layer.diff_id) {
            old_used[o] = true;
            pairs[n] = Some((o, JsonLayerStatus::Shared));
        }
    }
    for (n, layer) in new.iter().enumerate() {
        if pairs[n].is_some() {
            continue;
        }
        let step = short_step(&layer.created_by);
        if let Some(o) = (0..old.len())
            .find(|&o| !old_used[o] && !step.is_empty() && short_step(&old[o].created_by) == step)
        {
            old_used[o] = true;
            pairs[n] = Some((o, JsonLayerStatus::Changed));
        }
    }
    let mut changes: Vec<JsonLayerChange> = new
        .iter()
        .enumerate()
        .map(|(n, layer)| match pairs[n] {
            Some((o, status)) => JsonLayerChange {
                status,
                old_index: Some(o),
                new_index: Some(n),
                step: short_step(&layer.created_by),
                old_bytes: old[o].size_bytes,
                new_bytes: layer.size_bytes,
            },
            None => JsonLayerChange {
                status: JsonLayerStatus::Added,
                old_index: None,
                new_index: Some(n),
                step: short_step(&layer.created_by),
                old_bytes: 0,
                new_bytes: layer.size_bytes,
            },
        })
        .collect();
    changes.extend(
        old.iter()
            .enumerate()
            .filter(|(o, _)| !old_used[*o])
            .map(|(o, layer)| JsonLayerChange {
                status: JsonLayerStatus::Removed,
                old_index: Some(o),
                new_index: None,
                step: short_step(&layer.created_by),
                old_bytes: layer.size_bytes,
                new_bytes: 0,
            }),
    );
    changes
}

/// The (layer, category) whose bytes changed most in the direction of the whole change; the
/// layer alone when no category explains a quarter of it.
fn cause(old: &JsonReport, new: &JsonReport, layers: &[JsonLayerChange]) -> Option<JsonCause> {
    let total = new.image.size_bytes as i64 - old.image.size_bytes as i64;
    if total == 0 {
        return None;
    }
    let share = |bytes: i64| bytes as f64 / total as f64 * 100.0;
    let mut best_category: Option<JsonCause> = None;
    let mut best_layer: Option<JsonCause> = None;
    for change in layers
        .iter()
        .filter(|c| c.status != JsonLayerStatus::Shared)
    {
        let (index, categories_of) = match (change.new_index, change.old_index) {
            (Some(n), _) => (n, &new.image.layers[n].categories),
            (None, Some(o)) => (o, &old.image.layers[o].categories),
            (None, None) => continue,
        };
        let before = |id: &str| {
            change
                .old_index
                .filter(|_| change.new_index.is_some())
                .and_then(|o| old.image.layers[o].categories.get(id))
                .map_or(0, |t| t.bytes as i64)
        };
        let after = |id: &str| {
            change
                .new_index
                .and_then(|n| new.image.layers[n].categories.get(id))
                .map_or(0, |t| t.bytes as i64)
        };
        let ids: BTreeSet<&String> = categories_of
            .keys()
            .chain(
                change
                    .old_index
                    .map(|o| &old.image.layers[o].categories)
                    .into_iter()
                    .flat_map(|c| c.keys()),
            )
            .collect();
        for id in ids {
            let bytes = after(id) - before(id);
            if bytes.signum() == total.signum()
                && best_category
                    .as_ref()
                    .is_none_or(|b| bytes.abs() > b.bytes.abs())
            {
                best_category = Some(JsonCause {
                    layer: index,
                    step: change.step.clone(),
                    category: Some(id.clone()),
                    bytes,
                    share_percent: share(bytes),
                });
            }
        }
        let bytes = change.delta();
        if bytes.signum() == total.signum()
            && best_layer
                .as_ref()
                .is_none_or(|b| bytes.abs() > b.bytes.abs())
        {
            best_layer = Some(JsonCause {
                layer: index,
                step: change.step.clone(),
                category: None,
                bytes,
                share_percent: share(bytes),
            });
        }
    }
    match best_category {
        Some(c) if c.share_percent >= 25.0 => Some(c),
        _ => best_layer,
    }
}

/// `+184.2 MB (+23 %): 92 % of it pip cache, added by layer 6 RUN pip install -r requirements.txt`
fn headline(old: u64, new: u64, cause: Option<&JsonCause>) -> String {
    let total = new as i64 - old as i64;
    let mut line = format!(
        "{} ({})",
        signed_size(total),
        crate::report::percent_change(old, new)
    );
    if total == 0 {
        line.push_str(": the same size");
        return line;
    }
    if let Some(c) = cause {
        let verb = if total > 0 { "added by" } else { "removed by" };
        let what = match &c.category {
            Some(id) => id.replace('-', " "),
            None => "it".to_string(),
        };
        let step = if c.step.is_empty() {
            format!("layer {}", c.layer)
        } else {
            format!("layer {} {}", c.layer, c.step)
        };
        if c.category.is_some() {
            line.push_str(&format!(
                ": {:.0} % of it {what}, {verb} {step}",
                c.share_percent.min(100.0)
            ));
        } else {
            line.push_str(&format!(
                ": {:.0} % of it {verb} {step}",
                c.share_percent.min(100.0)
            ));
        }
    }
    line
}

/// "+184.2 MB", "-3.1 kB", "0 B".
pub fn signed_size(bytes: i64) -> String {
    let sign = match bytes.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    format!("{sign}{}", crate::findings::size(bytes.unsigned_abs()))
}

fn categories(old: &JsonReport, new: &JsonReport) -> Vec<JsonCategoryChange> {
    let ids: BTreeSet<&String> = old.categories.keys().chain(new.categories.keys()).collect();
    // The categories in the report's own order, not alphabetical.
    let order = |id: &str| {
        crate::analysis::Category::ALL
            .iter()
            .position(|c| c.id() == id)
            .unwrap_or(usize::MAX)
    };
    let mut ids: Vec<&String> = ids.into_iter().collect();
    ids.sort_by_key(|id| order(id));
    let bytes = |r: &JsonReport, id: &str| r.categories.get(id).map_or(0, |t| t.bytes);
    let mut changes: Vec<JsonCategoryChange> = ids
        .into_iter()
        .filter(|id| bytes(old, id) != bytes(new, id))
        .map(|id| JsonCategoryChange {
            category: id.clone(),
            old_bytes: bytes(old, id),
            new_bytes: bytes(new, id),
        })
        .collect();
    changes.push(JsonCategoryChange {
        category: "total".into(),
        old_bytes: old.image.size_bytes,
        new_bytes: new.image.size_bytes,
    });
    changes
}

/// A distribution name as PEP 503 normalises it.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(ch.to_ascii_lowercase());
        }
    }
    out
}

/// Compares versions number by number where both are numbers ("1.10" > "1.9"), as text
/// elsewhere.
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<String> {
        v.split(['.', '-', '+'])
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    pa.len().cmp(&pb.len())
}

fn packages(old: &JsonReport, new: &JsonReport) -> Vec<JsonPackageChange> {
    /// What was installed, by name and place: a copy vendored inside another package changes
    /// with it.
    fn index(r: &JsonReport) -> BTreeMap<(String, &str), &JsonDistribution> {
        r.python
            .distributions
            .iter()
            .filter(|d| d.vendored_by.is_none())
            .map(|d| ((normalize(&d.name), d.location.as_str()), d))
            .collect()
    }
    let (before, after) = (index(old), index(new));
    let keys: BTreeSet<&(String, &str)> = before.keys().chain(after.keys()).collect();
    let mut changes: Vec<JsonPackageChange> = keys
        .into_iter()
        .filter_map(|key| {
            let (o, n) = (before.get(key), after.get(key));
            let status = match (o, n) {
                (None, Some(_)) => JsonPackageStatus::Added,
                (Some(_), None) => JsonPackageStatus::Removed,
                (Some(o), Some(n)) => match version_cmp(&o.version, &n.version) {
                    std::cmp::Ordering::Less => JsonPackageStatus::Upgraded,
                    std::cmp::Ordering::Greater => JsonPackageStatus::Downgraded,
                    std::cmp::Ordering::Equal if o.size_bytes != n.size_bytes => {
                        JsonPackageStatus::Changed
                    }
                    std::cmp::Ordering::Equal => return None,
                },
                (None, None) => return None,
            };
            Some(JsonPackageChange {
                name: n.or(o).map(|d| d.name.clone()).unwrap_or_default(),
                location: key.1.to_string(),
                status,
                old_version: o.map(|d| d.version.clone()),
                new_version: n.map(|d| d.version.clone()),
                old_bytes: o.map_or(0, |d| d.size_bytes),
                new_bytes: n.map_or(0, |d| d.size_bytes),
            })
        })
        .collect();
    changes.sort_by_key(|c| std::cmp::Reverse((c.new_bytes as i64 - c.old_bytes as i64).abs()));
    changes
}

fn files(old: &JsonReport, new: &JsonReport) -> Option<Vec<JsonFileChange>> {
    let (Some(before), Some(after)) = (&old.files, &new.files) else {
        return None;
    };
    let before: HashMap<&str, u64> = before.iter().map(|f| (f.path.as_str(), f.bytes)).collect();
    let after: HashMap<&str, u64> = after.iter().map(|f| (f.path.as_str(), f.bytes)).collect();
    let paths: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let mut changes: Vec<JsonFileChange> = paths
        .into_iter()
        .filter_map(|path| {
            let (o, n) = (before.get(path).copied(), after.get(path).copied());
            // A link or an empty file added or removed changes no byte.
            if o.unwrap_or(0) == n.unwrap_or(0) {
                return None;
            }
            let status = match (o, n) {
                (None, _) => JsonFileStatus::Added,
                (_, None) => JsonFileStatus::Removed,
                (Some(o), Some(n)) if n > o => JsonFileStatus::Grown,
                _ => JsonFileStatus::Shrunk,
            };
            Some(JsonFileChange {
                path: path.to_string(),
                status,
                old_bytes: o.unwrap_or(0),
                new_bytes: n.unwrap_or(0),
            })
        })
        .collect();
    changes.sort_by(|a, b| {
        let delta = |c: &JsonFileChange| (c.new_bytes as i64 - c.old_bytes as i64).abs();
        delta(b).cmp(&delta(a)).then(a.path.cmp(&b.path))
    });
    changes.truncate(TOP_FILES);
    Some(changes)
}

/// Whether two findings are the same problem: the same rule, the same step text (not layer
/// index, which shifts when a step is inserted), and a path in common (or neither has paths).
fn same_finding(a: &JsonFinding, b: &JsonFinding) -> bool {
    let step = |f: &JsonFinding| f.created_by.as_deref().map(short_step);
    a.rule == b.rule
        && step(a) == step(b)
        && ((a.paths.is_empty() && b.paths.is_empty())
            || a.paths.iter().any(|p| b.paths.contains(p)))
}

/// (findings new in NEW, findings fixed since OLD).
pub fn findings(old: &[JsonFinding], new: &[JsonFinding]) -> (Vec<JsonFinding>, Vec<JsonFinding>) {
    let mut old_matched = vec![false; old.len()];
    let mut added = Vec::new();
    for f in new {
        match (0..old.len()).find(|&i| !old_matched[i] && same_finding(&old[i], f)) {
            Some(i) => old_matched[i] = true,
            None => added.push(f.clone()),
        }
    }
    let fixed = old
        .iter()
        .zip(&old_matched)
        .filter(|(_, matched)| !**matched)
        .map(|(f, _)| f.clone())
        .collect();
    (added, fixed)
}

fn platform(old: &JsonReport, new: &JsonReport) -> Vec<JsonPlatformChange> {
    let libc = |r: &JsonReport| {
        let family = r.libc.family.to_string();
        match &r.libc.version {
            Some(v) => format!("{family} {v}"),
            None => family,
        }
    };
    let python = |r: &JsonReport| {
        let mut versions: Vec<&str> = r
            .python
            .interpreters
            .iter()
            .map(|i| i.version.as_str())
            .collect();
        versions.sort();
        versions.dedup();
        if versions.is_empty() {
            "none".to_string()
        } else {
            versions.join(", ")
        }
    };
    let mut changes = Vec::new();
    for (what, value) in [
        ("libc", &libc as &dyn Fn(&JsonReport) -> String),
        ("python", &python),
    ] {
        let (o, n) = (value(old), value(new));
        if o != n {
            changes.push(JsonPlatformChange {
                what: what.to_string(),
                old: o,
                new: n,
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_number_by_number() {
        use std::cmp::Ordering::*;
        assert_eq!(version_cmp("1.9.0", "1.10.0"), Less);
        assert_eq!(version_cmp("2.0", "2.0"), Equal);
        assert_eq!(version_cmp("2.0.1", "2.0"), Greater);
        assert_eq!(version_cmp("1.0rc1", "1.0rc2"), Less);
    }

    #[test]
    fn names_normalise_as_pep_503_says() {
        assert_eq!(normalize("Typing_Extensions"), "typing-extensions");
        assert_eq!(normalize("zope..interface"), "zope-interface");
    }

    #[test]
    fn headline_names_the_cause() {
        let cause = JsonCause {
            layer: 6,
            step: "RUN pip install -r requirements.txt".into(),
            category: Some("pip-cache".into()),
            bytes: 170_000_000,
            share_percent: 92.4,
        };
        assert_eq!(
            headline(800_000_000, 984_200_000, Some(&cause)),
            "+184.2 MB (+23 %): 92 % of it pip cache, added by layer 6 RUN pip install -r requirements.txt"
        );
        assert_eq!(headline(5, 5, None), "0 B (0 %): the same size");
    }
}
