//! `pydive scan merge OUT... -o MERGED`: the outputs of every shard (and of several runs, for
//! trends) as JSON Lines tables that DuckDB, pandas or a warehouse read as they are, and a
//! `summary.md` for people. It reads only the rows and the JSON reports (the published schema),
//! so outputs of other pydive versions merge too.
//!
//! Tables, each row with its `run_id`: `images.jsonl` (one per image reference), `platforms.jsonl`
//! (one per manifest: an image-platform), `findings.jsonl`, `layers.jsonl` (one per layer digest),
//! `packages.jsonl` (Python distributions). Reclaimable bytes are the bytes of the findings whose
//! fix removes them (the bloat rules); they are counted two ways: per image (a base layer's pip
//! cache counts in every image that carries it) and per unique layer digest (it is fixed once,
//! in that layer: for each layer and rule, the largest any image shows).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

use super::out::{self, Row, write_atomic};
use super::{Pending, Stats};
use crate::findings::{group, size};

/// Rules whose finding's bytes are removed by its fix.
pub const RECLAIMABLE_RULES: &[&str] = &[
    "pip-cache",
    "apt-cache",
    "compilers",
    "wheels",
    "wasted",
    "headers",
    "duplicates",
    "debug-info",
    "static-libs",
    "tests-in-site-packages",
];

/// Rules about whether the image works, whose bytes are those of the files concerned.
pub const COMPATIBILITY_RULES: &[&str] = &[
    "musl-in-glibc-image",
    "glibc-in-musl-image",
    "arch-mismatch",
    "glibc-too-new",
    "glibcxx-too-new",
    "interpreter-missing",
    "unresolved-library",
    "missing-symbol",
    "relr-unsupported",
    "abi-mismatch",
    "wheel-tag-mismatch",
];

/// Advice whose bytes overlap other findings' (`base-variant` counts the compilers a
/// `compilers` finding counts too; `built-from-source` the distribution's own files): never
/// added to the reclaimable totals.
pub const ADVICE_RULES: &[&str] = &["base-variant", "built-from-source"];

/// How many worst offenders the summary lists.
const WORST: usize = 10;

#[derive(Serialize)]
struct ImageRow<'a> {
    run_id: &'a str,
    reference: &'a str,
    repository: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    index_digest: Option<&'a str>,
    /// `ok`, `failed`, or `partial` (some platforms failed).
    status: &'static str,
    error: Option<&'a str>,
    platforms: Vec<&'a str>,
    manifest_digests: Vec<&'a str>,
    /// Summed over its platforms.
    size_bytes: u64,
    blob_size_bytes: u64,
    reclaimable_bytes: u64,
    findings: u64,
    errors: u64,
    warnings: u64,
}

#[derive(Serialize, Clone)]
struct PlatformRow {
    run_id: String,
    manifest_digest: String,
    config_digest: Option<String>,
    index_digests: Vec<String>,
    platform: String,
    os: String,
    architecture: String,
    variant: Option<String>,
    references: Vec<String>,
    size_bytes: u64,
    blob_size_bytes: u64,
    files: u64,
    layers: u64,
    reclaimable_bytes: u64,
    wasted_bytes: u64,
    findings: u64,
    errors: u64,
    warnings: u64,
    infos: u64,
    libc: Option<String>,
    libc_version: Option<String>,
    python_versions: Vec<String>,
    report: String,
}

#[derive(Serialize)]
struct FindingRow<'a> {
    run_id: &'a str,
    manifest_digest: &'a str,
    platform: &'a str,
    rule: &'a str,
    severity: &'a str,
    reclaimable: bool,
    bytes: u64,
    layer: Option<u64>,
    layer_digest: Option<&'a str>,
    created_by: Option<&'a str>,
    message: &'a str,
    path_count: u64,
}

#[derive(Serialize)]
struct LayerRow<'a> {
    run_id: &'a str,
    digest: &'a str,
    diff_id: &'a str,
    size_bytes: u64,
    blob_size_bytes: u64,
    created_by: &'a str,
    /// Image-platforms (manifests) that carry it.
    images: u64,
    /// Per rule, the largest any image shows for this layer; summed.
    reclaimable_bytes: u64,
    rules: Vec<&'a str>,
}

#[derive(Serialize)]
struct PackageRow<'a> {
    run_id: &'a str,
    manifest_digest: &'a str,
    platform: &'a str,
    /// `python` for a distribution; `dpkg` or `apk` for an OS package.
    ecosystem: &'static str,
    name: &'a str,
    version: &'a str,
    size_bytes: u64,
    layer: Option<u64>,
    layer_digest: Option<&'a str>,
    installer: Option<&'a str>,
    /// The Python distribution this one is a copy inside (setuptools' `_vendor/`): its bytes are
    /// that distribution's too.
    vendored_by: Option<&'a str>,
}

/// A report, read once, with where it came from.
struct Loaded {
    run_id: String,
    digest: String,
    report: Value,
    path: String,
}

/// What a merge found, for its caller and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Merged {
    pub images: usize,
    pub platforms: usize,
    pub layers: usize,
    pub findings: usize,
    pub packages: usize,
}

pub fn run(dirs: &[PathBuf], merged: &Path) -> Result<Merged> {
    if dirs.is_empty() {
        bail!("scan merge: name at least one scan output directory");
    }
    let mut outputs = Vec::new();
    for dir in dirs {
        let found = out::scan_outputs(dir, None)?;
        if found.is_empty() {
            bail!(
                "{}: not a scan output (no rows/ directory, nor subdirectories with one)",
                dir.display()
            );
        }
        outputs.extend(found);
    }
    let dirs = &outputs;
    let mut rows: Vec<Row> = Vec::new();
    let mut pending: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
    for dir in dirs {
        rows.extend(out::read_all_rows(dir)?);
        for stats in read_stats(dir)? {
            pending
                .entry(stats.run_id.clone())
                .or_default()
                .extend(stats.pending);
        }
    }
    // A reference rescanned by a retried shard keeps its last row.
    let mut unique: BTreeMap<(String, String, Option<String>), Row> = BTreeMap::new();
    for row in rows {
        unique.insert(
            (
                row.run_id.clone(),
                row.reference.clone(),
                row.manifest_digest.clone(),
            ),
            row,
        );
    }
    let rows: Vec<Row> = unique.into_values().collect();

    // Each manifest's report, once per run.
    let mut loaded: BTreeMap<(String, String), Loaded> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.status != "failed") {
        let (Some(digest), Some(rel)) = (&row.manifest_digest, &row.report) else {
            continue;
        };
        let key = (row.run_id.clone(), digest.clone());
        if loaded.contains_key(&key) {
            continue;
        }
        let Some(path) = dirs.iter().map(|d| d.join(rel)).find(|p| p.is_file()) else {
            bail!(
                "{}: its report {rel} is in none of the outputs",
                row.reference
            );
        };
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let report: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a JSON report", path.display()))?;
        loaded.insert(
            key,
            Loaded {
                run_id: row.run_id.clone(),
                digest: digest.clone(),
                report,
                path: rel.clone(),
            },
        );
    }

    std::fs::create_dir_all(merged)
        .with_context(|| format!("cannot create {}", merged.display()))?;
    let mut counts = Merged::default();

    // platforms.jsonl, with what the other tables need from it.
    let mut platforms: BTreeMap<(String, String), PlatformRow> = BTreeMap::new();
    for ((run, digest), l) in &loaded {
        let refs: Vec<&Row> = rows
            .iter()
            .filter(|r| &r.run_id == run && r.manifest_digest.as_ref() == Some(digest))
            .collect();
        platforms.insert((run.clone(), digest.clone()), platform_row(l, &refs));
    }

    // layers: per (run, layer digest), facts and the largest reclaimable bytes per rule.
    struct LayerAcc<'a> {
        layer: &'a Value,
        images: u64,
        by_rule: BTreeMap<&'a str, u64>,
    }
    let mut layers: BTreeMap<(&str, &str), LayerAcc> = BTreeMap::new();
    for l in loaded.values() {
        let image_layers = l.report["image"]["layers"].as_array();
        for layer in image_layers.into_iter().flatten() {
            let digest = layer["digest"].as_str().unwrap_or_default();
            let acc = layers
                .entry((l.run_id.as_str(), digest))
                .or_insert_with(|| LayerAcc {
                    layer,
                    images: 0,
                    by_rule: BTreeMap::new(),
                });
            acc.images += 1;
        }
        let mut per_layer_rule: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for fix in fixes_of(&l.report) {
            if let Some(digest) = fix.layer.and_then(|i| layer_digest(&l.report, i)) {
                *per_layer_rule.entry((digest, fix.rule)).or_default() += fix.saved;
            }
        }
        for ((digest, rule), bytes) in per_layer_rule {
            if let Some(acc) = layers.get_mut(&(l.run_id.as_str(), digest)) {
                let slot = acc.by_rule.entry(rule).or_default();
                *slot = (*slot).max(bytes);
            }
        }
    }

    let table = |name: &str, lines: Vec<Vec<u8>>| -> Result<usize> {
        let n = lines.len();
        write_atomic(&merged.join(name), |out| {
            for line in &lines {
                out.write_all(line)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        })?;
        Ok(n)
    };

    counts.platforms = table(
        "platforms.jsonl",
        platforms
            .values()
            .map(serde_json::to_vec)
            .collect::<Result<_, _>>()?,
    )?;

    // images.jsonl: one per (run, reference).
    let mut by_reference: BTreeMap<(&str, &str), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        by_reference
            .entry((r.run_id.as_str(), r.reference.as_str()))
            .or_default()
            .push(r);
    }
    let mut image_rows = Vec::new();
    for ((run, reference), refs) in &by_reference {
        let ok: Vec<&PlatformRow> = refs
            .iter()
            .filter(|r| r.status != "failed")
            .filter_map(|r| {
                platforms.get(&(
                    run.to_string(),
                    r.manifest_digest.clone().unwrap_or_default(),
                ))
            })
            .collect();
        let failed = refs.iter().find(|r| r.status == "failed");
        let first = refs[0];
        let row = ImageRow {
            run_id: run,
            reference,
            repository: &first.repository,
            tag: first.tag.as_deref(),
            digest: first.digest.as_deref(),
            index_digest: first.index_digest.as_deref(),
            status: match (ok.is_empty(), failed.is_some()) {
                (_, false) => "ok",
                (true, true) => "failed",
                (false, true) => "partial",
            },
            error: failed.and_then(|r| r.error.as_deref()),
            platforms: ok.iter().map(|p| p.platform.as_str()).collect(),
            manifest_digests: ok.iter().map(|p| p.manifest_digest.as_str()).collect(),
            size_bytes: ok.iter().map(|p| p.size_bytes).sum(),
            blob_size_bytes: ok.iter().map(|p| p.blob_size_bytes).sum(),
            reclaimable_bytes: ok.iter().map(|p| p.reclaimable_bytes).sum(),
            findings: ok.iter().map(|p| p.findings).sum(),
            errors: ok.iter().map(|p| p.errors).sum(),
            warnings: ok.iter().map(|p| p.warnings).sum(),
        };
        image_rows.push(serde_json::to_vec(&row)?);
    }
    counts.images = table("images.jsonl", image_rows)?;

    let mut finding_rows = Vec::new();
    let mut package_rows = Vec::new();
    for l in loaded.values() {
        let platform = platforms
            .get(&(l.run_id.clone(), l.digest.clone()))
            .map_or("", |p| p.platform.as_str());
        for f in findings_of(&l.report) {
            let rule = f["rule"].as_str().unwrap_or_default();
            finding_rows.push(serde_json::to_vec(&FindingRow {
                run_id: &l.run_id,
                manifest_digest: &l.digest,
                platform,
                rule,
                severity: f["severity"].as_str().unwrap_or_default(),
                reclaimable: RECLAIMABLE_RULES.contains(&rule),
                bytes: f["bytes"].as_u64().unwrap_or(0),
                layer: f["layer"].as_u64(),
                layer_digest: finding_layer_digest(&l.report, f),
                created_by: f["created_by"].as_str(),
                message: f["message"].as_str().unwrap_or_default(),
                path_count: f["path_count"].as_u64().unwrap_or(0),
            })?);
        }
        for d in l.report["python"]["distributions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let layer = d["layer"].as_u64();
            package_rows.push(serde_json::to_vec(&PackageRow {
                run_id: &l.run_id,
                manifest_digest: &l.digest,
                platform,
                ecosystem: "python",
                name: d["name"].as_str().unwrap_or_default(),
                version: d["version"].as_str().unwrap_or_default(),
                size_bytes: d["size_bytes"].as_u64().unwrap_or(0),
                layer,
                layer_digest: layer.and_then(|i| layer_digest(&l.report, i)),
                installer: d["installer"].as_str(),
                vendored_by: d["vendored_by"].as_str(),
            })?);
        }
        // OS packages, when the report read a package database it names.
        let os = &l.report["os_packages"];
        let ecosystem = match os["manager"].as_str() {
            Some("dpkg") => "dpkg",
            Some("apk") => "apk",
            _ => continue,
        };
        for p in os["packages"].as_array().into_iter().flatten() {
            let layer = p["layer"].as_u64();
            package_rows.push(serde_json::to_vec(&PackageRow {
                run_id: &l.run_id,
                manifest_digest: &l.digest,
                platform,
                ecosystem,
                name: p["name"].as_str().unwrap_or_default(),
                version: p["version"].as_str().unwrap_or_default(),
                size_bytes: p["bytes"].as_u64().unwrap_or(0),
                layer,
                layer_digest: layer.and_then(|i| layer_digest(&l.report, i)),
                installer: Some(ecosystem),
                vendored_by: None,
            })?);
        }
    }
    counts.findings = table("findings.jsonl", finding_rows)?;
    counts.packages = table("packages.jsonl", package_rows)?;

    let mut layer_rows = Vec::new();
    for ((run, digest), acc) in &layers {
        layer_rows.push(serde_json::to_vec(&LayerRow {
            run_id: run,
            digest,
            diff_id: acc.layer["diff_id"].as_str().unwrap_or_default(),
            size_bytes: acc.layer["size_bytes"].as_u64().unwrap_or(0),
            blob_size_bytes: acc.layer["blob_size_bytes"].as_u64().unwrap_or(0),
            created_by: acc.layer["created_by"].as_str().unwrap_or_default(),
            images: acc.images,
            reclaimable_bytes: acc.by_rule.values().sum(),
            rules: acc.by_rule.keys().copied().collect(),
        })?);
    }
    counts.layers = table("layers.jsonl", layer_rows)?;

    // summary.md
    let runs: BTreeSet<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
    let mut md = String::from("# pydive fleet scan\n");
    for run in runs {
        let run_rows: Vec<&Row> = rows.iter().filter(|r| r.run_id == run).collect();
        let run_platforms: Vec<&PlatformRow> = platforms
            .iter()
            .filter(|((r, _), _)| r == run)
            .map(|(_, p)| p)
            .collect();
        let run_layers: Vec<(&str, &LayerAcc)> = layers
            .iter()
            .filter(|((r, _), _)| *r == run)
            .map(|((_, d), acc)| (*d, acc))
            .collect();
        let by_rule_layers: BTreeMap<&str, u64> =
            run_layers.iter().fold(BTreeMap::new(), |mut m, (_, acc)| {
                for (rule, bytes) in &acc.by_rule {
                    *m.entry(*rule).or_default() += bytes;
                }
                m
            });
        summary(
            &mut md,
            run,
            &run_rows,
            &run_platforms,
            &run_layers
                .iter()
                .map(|(d, acc)| {
                    (
                        *d,
                        acc.layer["created_by"].as_str().unwrap_or_default(),
                        acc.images,
                        acc.by_rule.values().sum::<u64>(),
                        acc.layer["blob_size_bytes"].as_u64().unwrap_or(0),
                    )
                })
                .collect::<Vec<_>>(),
            &by_rule_layers,
            &loaded,
            pending.get(run).map(Vec::as_slice).unwrap_or_default(),
        );
    }
    write_atomic(&merged.join("summary.md"), |out| {
        out.write_all(md.as_bytes())
    })?;
    Ok(counts)
}

fn read_stats(dir: &Path) -> Result<Vec<Stats>> {
    let stats_dir = dir.join("stats");
    let Ok(entries) = std::fs::read_dir(&stats_dir) else {
        return Ok(Vec::new());
    };
    let mut all = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        all.push(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not a scan's statistics", path.display()))?,
        );
    }
    Ok(all)
}

fn findings_of(report: &Value) -> impl Iterator<Item = &Value> {
    report["findings"].as_array().into_iter().flatten()
}

/// Bytes one fix removes from an image.
struct Saved<'a> {
    rule: &'a str,
    layer: Option<u64>,
    saved: u64,
}

/// What each fix of a report saves, from its projection, which counts every byte once (a pip
/// cache that is also a duplicate is saved once), so that sums over rules and layers do not
/// count overlapping findings twice.
fn fixes_of(report: &Value) -> Vec<Saved<'_>> {
    report["projection"]["fixes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| Saved {
            rule: f["rule"].as_str().unwrap_or_default(),
            layer: f["layer"].as_u64(),
            saved: f["saved"].as_u64().unwrap_or(0),
        })
        .filter(|f| RECLAIMABLE_RULES.contains(&f.rule))
        .collect()
}

/// The digest of a report's layer `index`.
fn layer_digest(report: &Value, index: u64) -> Option<&str> {
    report["image"]["layers"]
        .as_array()?
        .iter()
        .find(|l| l["index"].as_u64() == Some(index))?["digest"]
        .as_str()
}

/// A finding's layer digest: its own field where the report has one, else its layer's.
fn finding_layer_digest<'a>(report: &'a Value, finding: &'a Value) -> Option<&'a str> {
    finding["layer_digest"]
        .as_str()
        .or_else(|| layer_digest(report, finding["layer"].as_u64()?))
}

fn platform_row(l: &Loaded, refs: &[&Row]) -> PlatformRow {
    let r = &l.report;
    let image = &r["image"];
    let text = |v: &Value| v.as_str().map(String::from);
    let os = image["os"].as_str().unwrap_or_default().to_string();
    let architecture = image["architecture"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let variant = text(&image["variant"]).filter(|v| !v.is_empty());
    let platform = image["platform"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| match &variant {
            Some(v) => format!("{os}/{architecture}/{v}"),
            None => format!("{os}/{architecture}"),
        });
    let count =
        |severity: &str| findings_of(r).filter(|f| f["severity"] == severity).count() as u64;
    let layers = image["layers"].as_array();
    let mut index_digests: BTreeSet<String> =
        refs.iter().filter_map(|r| r.index_digest.clone()).collect();
    if let Some(d) = text(&image["index_digest"]) {
        index_digests.insert(d);
    }
    let mut python: BTreeSet<String> = BTreeSet::new();
    for i in r["python"]["interpreters"].as_array().into_iter().flatten() {
        if let Some(v) = i["version"].as_str() {
            python.insert(v.to_string());
        }
    }
    PlatformRow {
        run_id: l.run_id.clone(),
        manifest_digest: l.digest.clone(),
        config_digest: text(&image["config_digest"]),
        index_digests: index_digests.into_iter().collect(),
        platform,
        os,
        architecture,
        variant,
        references: refs
            .iter()
            .map(|r| r.reference.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        size_bytes: image["size_bytes"].as_u64().unwrap_or(0),
        blob_size_bytes: layers
            .into_iter()
            .flatten()
            .map(|l| l["blob_size_bytes"].as_u64().unwrap_or(0))
            .sum(),
        files: image["files"].as_u64().unwrap_or(0),
        layers: layers.map_or(0, |l| l.len() as u64),
        reclaimable_bytes: fixes_of(r).iter().map(|f| f.saved).sum(),
        wasted_bytes: r["waste"]["wasted_bytes"].as_u64().unwrap_or(0),
        findings: findings_of(r).count() as u64,
        errors: count("error"),
        warnings: count("warning"),
        infos: count("info"),
        libc: text(&r["libc"]["family"]),
        libc_version: text(&r["libc"]["version"]),
        python_versions: python.into_iter().collect(),
        report: l.path.clone(),
    }
}

/// One run's section of `summary.md`.
#[allow(clippy::too_many_arguments)]
fn summary(
    md: &mut String,
    run: &str,
    rows: &[&Row],
    platforms: &[&PlatformRow],
    layers: &[(&str, &str, u64, u64, u64)],
    by_rule_layers: &BTreeMap<&str, u64>,
    loaded: &BTreeMap<(String, String), Loaded>,
    pending: &[Pending],
) {
    use std::fmt::Write as _;
    let references: BTreeSet<&str> = rows.iter().map(|r| r.reference.as_str()).collect();
    let failed: Vec<&&Row> = rows.iter().filter(|r| r.status == "failed").collect();
    let stored: u64 = layers.iter().map(|l| l.4).sum();
    let per_layer: u64 = layers.iter().map(|l| l.3).sum();
    let per_image: u64 = platforms.iter().map(|p| p.reclaimable_bytes).sum();
    let n = |v: usize| group(v as u64);
    let _ = writeln!(md, "\n## Run {run}\n");
    let _ = writeln!(md, "| | |\n|---|---:|");
    let _ = writeln!(md, "| image references | {} |", n(references.len()));
    let _ = writeln!(
        md,
        "| image-platforms (distinct manifests) | {} |",
        n(platforms.len())
    );
    let _ = writeln!(md, "| distinct layers | {} |", n(layers.len()));
    let _ = writeln!(
        md,
        "| stored bytes of the distinct layers | {} |",
        size(stored)
    );
    let _ = writeln!(md, "| failed references | {} |", n(failed.len()));
    let _ = writeln!(md, "| left for a retry | {} |", n(pending.len()));
    let _ = writeln!(
        md,
        "| reclaimable, each layer counted once | {} |",
        size(per_layer)
    );
    let _ = writeln!(
        md,
        "| reclaimable, counted in every image-platform | {} |",
        size(per_image)
    );
    let _ = writeln!(
        md,
        "\nReclaimable bytes are those of the bloat findings ({}). Counted once per layer, a \
         finding in a base layer that many images share is fixed once, in that layer; counted \
         per image, it weighs in every image that carries it. A file two rules name (the debug \
         sections of a compiler) counts under each.",
        RECLAIMABLE_RULES.join(", ")
    );
    if !by_rule_layers.is_empty() {
        let _ = writeln!(md, "\n### By rule (each layer counted once)\n");
        let _ = writeln!(md, "| rule | reclaimable |\n|---|---:|");
        let mut rules: Vec<(&&str, &u64)> = by_rule_layers.iter().collect();
        rules.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (rule, bytes) in rules {
            let _ = writeln!(md, "| {rule} | {} |", size(*bytes));
        }
    }
    let mut worst: Vec<&&PlatformRow> = platforms
        .iter()
        .filter(|p| p.reclaimable_bytes > 0)
        .collect();
    worst.sort_by(|a, b| {
        b.reclaimable_bytes
            .cmp(&a.reclaimable_bytes)
            .then(a.manifest_digest.cmp(&b.manifest_digest))
    });
    if !worst.is_empty() {
        let _ = writeln!(md, "\n### Worst offenders: images\n");
        let _ = writeln!(
            md,
            "| image | platform | reclaimable | of | findings |\n|---|---|---:|---:|---:|"
        );
        for p in worst.iter().take(WORST) {
            let name = p
                .references
                .first()
                .map_or(p.manifest_digest.as_str(), String::as_str);
            let more = match p.references.len() {
                0 | 1 => String::new(),
                k => format!(" (+{} more)", k - 1),
            };
            let _ = writeln!(
                md,
                "| `{name}`{more} | {} | {} | {} | {} |",
                p.platform,
                size(p.reclaimable_bytes),
                size(p.size_bytes),
                p.findings
            );
        }
    }
    let mut worst_layers: Vec<&(&str, &str, u64, u64, u64)> =
        layers.iter().filter(|l| l.3 > 0).collect();
    worst_layers.sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(b.0)));
    if !worst_layers.is_empty() {
        let _ = writeln!(md, "\n### Worst offenders: layers\n");
        let _ = writeln!(
            md,
            "| layer | step | images | reclaimable |\n|---|---|---:|---:|"
        );
        for (digest, step, images, bytes, _) in worst_layers.iter().take(WORST) {
            let short = digest.trim_start_matches("sha256:");
            let step = crate::model::short_step(step);
            let step: String = step.chars().take(60).collect();
            let _ = writeln!(
                md,
                "| `{}` | `{}` | {images} | {} |",
                &short[..short.len().min(12)],
                step.replace('|', "\\|").replace('`', "'"),
                size(*bytes)
            );
        }
    }
    // Findings on some platforms of an index and not on others.
    let mut by_index: BTreeMap<&str, Vec<&&PlatformRow>> = BTreeMap::new();
    for p in platforms {
        for index in &p.index_digests {
            by_index.entry(index.as_str()).or_default().push(p);
        }
    }
    let mut single = Vec::new();
    for (index, members) in &by_index {
        if members.len() < 2 {
            continue;
        }
        let rules_of = |p: &PlatformRow| -> BTreeSet<String> {
            loaded
                .get(&(p.run_id.clone(), p.manifest_digest.clone()))
                .map(|l| {
                    findings_of(&l.report)
                        .filter_map(|f| f["rule"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let sets: Vec<(&&PlatformRow, BTreeSet<String>)> =
            members.iter().map(|p| (*p, rules_of(p))).collect();
        let all: BTreeSet<&String> = sets.iter().flat_map(|(_, s)| s.iter()).collect();
        for rule in all {
            let on: Vec<&str> = sets
                .iter()
                .filter(|(_, s)| s.contains(rule))
                .map(|(p, _)| p.platform.as_str())
                .collect();
            if on.len() < sets.len() {
                let name = members[0].references.first().cloned().unwrap_or_default();
                single.push((name, index.to_string(), rule.clone(), on.join(", ")));
            }
        }
    }
    if !single.is_empty() {
        let _ = writeln!(md, "\n### Findings on some platforms only\n");
        let _ = writeln!(md, "| image | index | rule | only on |\n|---|---|---|---|");
        for (name, index, rule, on) in &single {
            let short = index.trim_start_matches("sha256:");
            let _ = writeln!(
                md,
                "| `{name}` | `{}` | {rule} | {on} |",
                &short[..short.len().min(12)]
            );
        }
    }
    if !failed.is_empty() || !pending.is_empty() {
        let _ = writeln!(md, "\n### Not scanned\n");
        let _ = writeln!(md, "| image | why |\n|---|---|");
        for r in &failed {
            let why = r.error.as_deref().unwrap_or("failed").replace('|', "\\|");
            let _ = writeln!(md, "| `{}` | {why} |", r.reference);
        }
        for p in pending {
            let _ = writeln!(
                md,
                "| `{}` | left for a retry: {} |",
                p.reference,
                p.error.replace('|', "\\|")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_reclaimable_about_compatibility_advice_or_about_security() {
        for rule in crate::findings::RULES {
            let classes = [
                RECLAIMABLE_RULES.contains(&rule.id),
                COMPATIBILITY_RULES.contains(&rule.id),
                ADVICE_RULES.contains(&rule.id),
                crate::findings::SECURITY.contains(&rule.id),
            ];
            assert_eq!(
                classes.iter().filter(|&&c| c).count(),
                1,
                "rule {} must be in exactly one of RECLAIMABLE_RULES, COMPATIBILITY_RULES, ADVICE_RULES and findings::SECURITY",
                rule.id
            );
        }
    }
}
