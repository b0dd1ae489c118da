//! `pydive ci IMAGE [--baseline BASE]`: the size-regression gate. Each configured gate rule
//! measures the image's report (and its growth over the baseline's) against its limit; the
//! `fail-on` rule counts the findings that are not ignored (and, with `new-findings-only`, not
//! in the baseline). Like `diff`, it reads reports in their JSON form, so a stored baseline
//! costs one file read. The result is an output type (`JsonCi`, with a published schema); the
//! writers in `report::ci` only format it.

pub mod config;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::{JsonDiff, JsonLayerStatus};
use crate::findings::Severity;
use crate::report::json::{JsonFinding, JsonProjection, JsonReport};
use config::{Config, Limit};

/// How many of the layers, categories and packages that grew most a failure lists.
const CAUSES: usize = 3;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonCi {
    pub schema_version: u32,
    pub pydive_version: String,
    /// The image's reference.
    pub image: String,
    pub size_bytes: u64,
    /// The baseline's reference, if one was given.
    pub baseline: Option<String>,
    /// Where the configuration came from.
    pub config: String,
    pub passed: bool,
    /// The line a person reads first.
    pub verdict: String,
    /// Every configured rule, with its measure, its limit and the result.
    pub rules: Vec<JsonRuleResult>,
    /// Every finding of the image, with what the gate made of it.
    pub findings: Vec<JsonGateFinding>,
    /// The image's size with every finding's fix applied.
    pub projection: JsonProjection,
    /// What grew most, when a rule failed and there is a baseline.
    pub causes: Vec<JsonCause>,
    /// The diff against the baseline.
    pub diff: Option<JsonDiff>,
    /// What the gate could not check, one line each (ELF files whose facts could not be
    /// read): a passing gate with any of these has not seen the whole image.
    #[serde(default)]
    pub incomplete: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonStatus {
    Passed,
    Failed,
    /// Could not be measured (e.g. `max-growth` without a baseline): said, not passed.
    Skipped,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonRuleResult {
    /// The gate rule's id (`pydive explain ID`).
    pub rule: String,
    /// What it applies to: the category of a `budget`.
    pub subject: Option<String>,
    pub status: JsonStatus,
    /// The measured value, as a person reads it.
    pub measured: String,
    /// The limit, as a person reads it.
    pub limit: String,
    /// Why it failed or was skipped, or what passed.
    pub message: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum JsonFindingStatus {
    /// At or above `fail-on`: fails the gate.
    Fails,
    /// Below `fail-on`.
    Below,
    /// The baseline had it too, and `new-findings-only` is on.
    Known,
    /// Accepted by an `ignore` entry.
    Ignored,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonGateFinding {
    pub status: JsonFindingStatus,
    /// The reason of the `ignore` entry that accepted it.
    pub ignored_because: Option<String>,
    /// Not in the baseline (null without a baseline).
    pub new: Option<bool>,
    pub finding: JsonFinding,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonCause {
    /// "layer", "category" or "package".
    pub kind: String,
    /// The layer's step, the category's id or the package's name and versions.
    pub name: String,
    pub bytes: i64,
    /// The Dockerfile step responsible.
    pub step: Option<String>,
    /// The fix of the finding that matches it.
    pub fix: Option<String>,
}

impl JsonRuleResult {
    fn new(rule: &str, passed: bool, measured: String, limit: String, message: String) -> Self {
        JsonRuleResult {
            rule: rule.to_string(),
            subject: None,
            status: if passed {
                JsonStatus::Passed
            } else {
                JsonStatus::Failed
            },
            measured,
            limit,
            message,
        }
    }
}

fn size(b: u64) -> String {
    crate::findings::size(b)
}

/// Runs the gate on a report, against a baseline if there is one.
pub fn evaluate(config: &Config, new: &JsonReport, baseline: Option<&JsonReport>) -> JsonCi {
    let diff = baseline.map(|old| JsonDiff::from((old, new)));
    let findings = classify(config, new, baseline);
    let mut rules = Vec::new();
    let total = new.image.size_bytes;
    if let Some(limit) = config.max_size {
        rules.push(JsonRuleResult::new(
            "max-size",
            total <= limit,
            size(total),
            size(limit),
            format!("the image is {} (limit {})", size(total), size(limit)),
        ));
    }
    if let Some(limit) = config.max_growth {
        rules.push(match baseline {
            Some(old) => {
                let growth = total as i64 - old.image.size_bytes as i64;
                let allowed = limit.bytes_of(old.image.size_bytes) as i64;
                JsonRuleResult::new(
                    "max-growth",
                    growth <= allowed,
                    format!(
                        "{} ({})",
                        crate::diff::signed_size(growth),
                        crate::report::percent_change(old.image.size_bytes, total)
                    ),
                    match limit {
                        Limit::Bytes(_) => limit.to_string(),
                        Limit::Percent(_) => format!("{limit} ({})", size(allowed as u64)),
                    },
                    diff.as_ref()
                        .map(|d| d.headline.clone())
                        .unwrap_or_default(),
                )
            }
            None => JsonRuleResult {
                rule: "max-growth".into(),
                subject: None,
                status: JsonStatus::Skipped,
                measured: "no baseline".into(),
                limit: limit.to_string(),
                message: "not measured: give --baseline (a report or an image) to measure growth"
                    .into(),
            },
        });
    }
    for (category, &limit) in &config.budget {
        let id = category.id();
        let bytes = new.categories.get(id).map_or(0, |t| t.bytes);
        let mut result = JsonRuleResult::new(
            "budget",
            bytes <= limit,
            size(bytes),
            size(limit),
            format!("{id}: {} (budget {})", size(bytes), size(limit)),
        );
        result.subject = Some(id.to_string());
        rules.push(result);
    }
    if let Some(limit) = config.max_wasted {
        let wasted = new.waste.wasted_bytes;
        let allowed = limit.bytes_of(total);
        rules.push(JsonRuleResult::new(
            "max-wasted",
            wasted <= allowed,
            size(wasted),
            match limit {
                Limit::Bytes(_) => limit.to_string(),
                Limit::Percent(_) => format!("{limit} of the image ({})", size(allowed)),
            },
            format!("{} deleted or overwritten by later layers", size(wasted)),
        ));
    }
    if let Some(limit) = config.min_efficiency {
        let efficiency = new.waste.dive_efficiency;
        // dive fails when the threshold is above the efficiency.
        rules.push(JsonRuleResult::new(
            "min-efficiency",
            limit <= efficiency,
            format!("{efficiency:.4}"),
            format!("{limit}"),
            format!("dive's efficiency is {:.2} %", efficiency * 100.0),
        ));
    }
    if let Some(limit) = config.max_dive_wasted {
        let wasted = new.waste.dive_wasted_bytes;
        rules.push(JsonRuleResult::new(
            "max-dive-wasted",
            wasted <= limit,
            format!("{} ({wasted} B)", size(wasted)),
            format!("{} ({limit} B)", size(limit)),
            format!("dive counts {} as wasted", size(wasted)),
        ));
    }
    if let Some(limit) = config.max_dive_user_wasted {
        let ratio = new.waste.dive_wasted_bytes as f64 / new.waste.dive_user_size_bytes as f64;
        // As dive: it fails when the threshold is below the ratio (never for NaN, 0/0).
        rules.push(JsonRuleResult::new(
            "max-dive-user-wasted",
            limit >= ratio || ratio.is_nan(),
            format!("{ratio:.4}"),
            format!("{limit}"),
            format!(
                "dive's wasted bytes are {:.2} % of the bytes of every layer but the first",
                ratio * 100.0
            ),
        ));
    }
    if let Some(limit) = config.max_layers {
        let layers = new.image.layers.len() as u64;
        rules.push(JsonRuleResult::new(
            "max-layers",
            layers <= limit,
            layers.to_string(),
            limit.to_string(),
            format!("{layers} layers"),
        ));
    }
    if let Some(fail_on) = config.fail_on {
        let failing = findings
            .iter()
            .filter(|f| f.status == JsonFindingStatus::Fails)
            .count();
        let scope = match (config.new_findings_only && baseline.is_some(), failing) {
            (true, 1) => "new finding",
            (true, _) => "new findings",
            (false, 1) => "finding",
            (false, _) => "findings",
        };
        rules.push(JsonRuleResult::new(
            "fail-on",
            failing == 0,
            format!("{failing} {scope} at or above {fail_on}"),
            format!("{fail_on}"),
            if failing == 0 {
                format!("no {scope} at or above {fail_on}")
            } else {
                format!("{failing} {scope} at or above {fail_on}")
            },
        ));
    }
    let failed: Vec<&str> = rules
        .iter()
        .filter(|r| r.status == JsonStatus::Failed)
        .map(|r| r.rule.as_str())
        .collect();
    let passed = failed.is_empty();
    let skipped = rules
        .iter()
        .filter(|r| r.status == JsonStatus::Skipped)
        .count();
    let mut verdict = if passed {
        format!(
            "PASS: {} of {} rules passed",
            rules.len() - skipped,
            rules.len()
        )
    } else {
        let mut names = failed.clone();
        names.dedup();
        format!(
            "FAIL: {} of {} rules failed ({})",
            failed.len(),
            rules.len(),
            names.join(", ")
        )
    };
    if skipped > 0 {
        verdict.push_str(&format!(", {skipped} skipped"));
    }
    let causes = match (&diff, passed) {
        (Some(diff), false) => causes(diff, new),
        _ => Vec::new(),
    };
    JsonCi {
        schema_version: crate::report::json::SCHEMA_VERSION,
        pydive_version: env!("CARGO_PKG_VERSION").to_string(),
        image: new.image.reference.clone(),
        size_bytes: total,
        baseline: baseline.map(|b| b.image.reference.clone()),
        config: config.origin.to_string(),
        passed,
        verdict,
        rules,
        findings,
        projection: new.projection.clone(),
        causes,
        diff,
        incomplete: crate::report::unreadable_elf_sentence(new.unreadable_elf)
            .into_iter()
            .collect(),
    }
}

/// What the gate makes of each finding of the image.
fn classify(
    config: &Config,
    new: &JsonReport,
    baseline: Option<&JsonReport>,
) -> Vec<JsonGateFinding> {
    let added = baseline.map(|old| crate::diff::findings(&old.findings, &new.findings).0);
    new.findings
        .iter()
        .map(|f| {
            let is_new = added.as_ref().map(|a| a.contains(f));
            let ignore = config.ignore.iter().find(|i| i.matches(&f.rule, &f.paths));
            let severity = Severity::from(f.severity);
            let status = if ignore.is_some() {
                JsonFindingStatus::Ignored
            } else if config.new_findings_only && is_new == Some(false) {
                JsonFindingStatus::Known
            } else if config.fail_on.is_some_and(|s| severity >= s) {
                JsonFindingStatus::Fails
            } else {
                JsonFindingStatus::Below
            };
            JsonGateFinding {
                status,
                ignored_because: ignore.map(|i| i.reason.clone()),
                new: is_new,
                finding: f.clone(),
            }
        })
        .collect()
}

/// The layers, categories and packages that grew most, each with its step and the fix of the
/// finding that matches it.
fn causes(diff: &JsonDiff, new: &JsonReport) -> Vec<JsonCause> {
    let fix_for = |rule: Option<&str>, layer: Option<usize>| {
        new.findings
            .iter()
            .filter(|f| f.fix.len() > 1)
            .find(|f| rule.is_none_or(|r| f.rule == r) && (layer.is_none() || f.layer == layer))
            .map(|f| f.fix.clone())
    };
    let step_of = |layer: usize| {
        new.image
            .layers
            .get(layer)
            .map(|l| crate::model::short_step(&l.created_by))
    };
    let mut out = Vec::new();
    // Changes under 1 % of the growth explain nothing.
    let growth = new.image.size_bytes as i64 - diff.old.size_bytes as i64;
    let matters = |bytes: i64| bytes > 0 && bytes * 100 >= growth;
    let mut layers: Vec<_> = diff
        .layers
        .iter()
        .filter(|l| l.status != JsonLayerStatus::Shared && matters(l.delta()))
        .collect();
    layers.sort_by_key(|l| std::cmp::Reverse(l.delta()));
    for l in layers.into_iter().take(CAUSES) {
        out.push(JsonCause {
            kind: "layer".into(),
            name: format!(
                "layer {}",
                l.new_index.map(|i| i.to_string()).unwrap_or_default()
            ),
            bytes: l.delta(),
            step: Some(l.step.clone()),
            fix: fix_for(None, l.new_index),
        });
    }
    let mut categories: Vec<_> = diff
        .categories
        .iter()
        .filter(|c| c.category != "total" && matters(c.new_bytes as i64 - c.old_bytes as i64))
        .collect();
    categories.sort_by_key(|c| std::cmp::Reverse(c.new_bytes - c.old_bytes));
    for c in categories.into_iter().take(CAUSES) {
        // The layer that holds most of the category now.
        let layer = new
            .image
            .layers
            .iter()
            .max_by_key(|l| l.categories.get(&c.category).map_or(0, |t| t.bytes))
            .map(|l| l.index);
        let rule = rule_for_category(&c.category);
        out.push(JsonCause {
            kind: "category".into(),
            name: c.category.clone(),
            bytes: c.new_bytes as i64 - c.old_bytes as i64,
            step: layer.and_then(step_of),
            fix: rule.and_then(|r| fix_for(Some(r), layer)),
        });
    }
    for p in diff
        .packages
        .iter()
        .filter(|p| matters(p.new_bytes as i64 - p.old_bytes as i64))
        .take(CAUSES)
    {
        let layer = new
            .python
            .distributions
            .iter()
            .find(|d| d.name == p.name && d.location == p.location)
            .map(|d| d.layer);
        let versions = match (&p.old_version, &p.new_version) {
            (Some(o), Some(n)) if o != n => format!("{} {o} -> {n}", p.name),
            (_, Some(n)) => format!("{} {n}", p.name),
            _ => p.name.clone(),
        };
        out.push(JsonCause {
            kind: "package".into(),
            name: versions,
            bytes: p.new_bytes as i64 - p.old_bytes as i64,
            step: layer.and_then(step_of),
            fix: None,
        });
    }
    out
}

/// The finding rule whose fix removes a category's bytes.
fn rule_for_category(id: &str) -> Option<&'static str> {
    Some(match id {
        "pip-cache" | "uv-cache" | "poetry-cache" => "pip-cache",
        "tests" => "tests-in-site-packages",
        "apt-cache" | "compilers" | "headers" | "wheels" | "static-libs" | "debug-info" => {
            crate::findings::RULES.iter().find(|r| r.id == id)?.id
        }
        _ => return None,
    })
}
