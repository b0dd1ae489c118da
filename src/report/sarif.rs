//! SARIF 2.1.0 (serde-sarif's types) for code-scanning dashboards, from `pydive ci` (findings
//! and failed gate rules) and `pydive audit` (findings). One reporting rule per rule id, whose
//! help is the text `pydive explain RULE` prints, from the table in `findings`; one result per
//! finding, located by the files inside the image and the layer's Dockerfile step.

use std::io::{self, Write};

use serde_sarif::sarif;

use super::json::{JsonFinding, JsonReport};
use crate::ci::{JsonCi, JsonRuleResult, JsonStatus};
use crate::findings;

/// The gate's result: every finding (an ignored one as a suppressed result, with its reason)
/// and every failed gate rule.
pub fn write_ci(ci: &JsonCi, out: &mut dyn Write) -> io::Result<()> {
    let found: Vec<(&JsonFinding, Option<&str>)> = ci
        .findings
        .iter()
        .map(|g| (&g.finding, g.ignored_because.as_deref()))
        .collect();
    write(&log(&ci.image, &found, &ci.rules), out)
}

/// The audit: every finding of the image.
pub fn write_audit(report: &JsonReport, out: &mut dyn Write) -> io::Result<()> {
    let found: Vec<(&JsonFinding, Option<&str>)> =
        report.findings.iter().map(|f| (f, None)).collect();
    write(&log(&report.image.reference, &found, &[]), out)
}

fn write(log: &sarif::Sarif, out: &mut dyn Write) -> io::Result<()> {
    super::json::write_value(log, out)
}

/// One run of pydive: `found` are the findings with, for an accepted one, the reason; `gates`
/// the gate rules checked (each described; a failed one a result located at the image `image`).
fn log(
    image: &str,
    found: &[(&JsonFinding, Option<&str>)],
    gates: &[JsonRuleResult],
) -> sarif::Sarif {
    let mut ids: Vec<&str> = found.iter().map(|(f, _)| f.rule.as_str()).collect();
    ids.extend(gates.iter().map(|r| r.rule.as_str()));
    let rules: Vec<&findings::Rule> = findings::catalog()
        .filter(|r| ids.contains(&r.id))
        .collect();
    let index = |id: &str| {
        rules
            .iter()
            .position(|r| r.id == id)
            .map_or(-1, |i| i as i64)
    };
    let mut results: Vec<sarif::Result> = found
        .iter()
        .map(|(f, ignored_because)| {
            let builder = sarif::Result::builder()
                .rule_id(f.rule.clone())
                .rule_index(index(&f.rule))
                .level(level(f.severity.into()))
                .message(
                    sarif::Message::builder()
                        .text(format!("{} Fix: {}", f.message, f.fix))
                        .build(),
                )
                .locations(vec![location(f)]);
            match ignored_because {
                Some(reason) => builder
                    .suppressions(vec![
                        sarif::Suppression::builder()
                            .kind(serde_json::json!("external"))
                            .justification(reason.to_string())
                            .build(),
                    ])
                    .build(),
                None => builder.build(),
            }
        })
        .collect();
    for r in gates.iter().filter(|r| r.status == JsonStatus::Failed) {
        let message = sarif::Message::builder()
            .text(format!(
                "{}: {} (limit {}). {}",
                super::ci::rule_name(r),
                r.measured,
                r.limit,
                r.message
            ))
            .build();
        let location = sarif::Location::builder()
            .logical_locations(vec![
                sarif::LogicalLocation::builder()
                    .name(image.to_string())
                    .kind("module")
                    .build(),
            ])
            .build();
        results.push(
            sarif::Result::builder()
                .rule_id(r.rule.clone())
                .rule_index(index(&r.rule))
                .level(sarif::ResultLevel::Error)
                .message(message)
                .locations(vec![location])
                .build(),
        );
    }
    let driver = sarif::ToolComponent::builder()
        .name("pydive")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(rules.into_iter().map(descriptor).collect::<Vec<_>>())
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .build();
    sarif::Sarif::builder()
        .schema(sarif::SCHEMA_URL)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// The files a finding names (the first ten) and its layer, with the layer's step.
fn location(f: &JsonFinding) -> sarif::Location {
    let mut logical = Vec::new();
    for path in f.paths.iter().take(10) {
        logical.push(
            sarif::LogicalLocation::builder()
                .name(path.rsplit('/').next().unwrap_or(path).to_string())
                .fully_qualified_name(path.clone())
                .kind("resource")
                .build(),
        );
    }
    if let Some(layer) = f.layer {
        let step = f
            .created_by
            .as_deref()
            .map(crate::model::short_step)
            .unwrap_or_default();
        logical.push(
            sarif::LogicalLocation::builder()
                .name(format!("layer {layer}"))
                .fully_qualified_name(step)
                .kind("module")
                .build(),
        );
    }
    sarif::Location::builder()
        .logical_locations(logical)
        .build()
}

/// A rule's page, when the crate names a repository whose README has the rules table. None
/// today: Cargo.toml has no `repository`, and the help text carries everything.
fn help_uri(rule: &str) -> Option<String> {
    let repository = env!("CARGO_PKG_REPOSITORY");
    (!repository.is_empty()).then(|| format!("{repository}#rule-{rule}"))
}

fn descriptor(rule: &findings::Rule) -> sarif::ReportingDescriptor {
    let mut explained = Vec::new();
    super::explain::write_rule(rule, &mut explained).expect("writing to a Vec");
    let help = sarif::MultiformatMessageString::builder()
        .text(String::from_utf8_lossy(&explained).trim_end().to_string())
        .markdown(format!(
            "{}\n\n**Why:** {}\n\n**Fix:** {}",
            rule.summary, rule.why, rule.fix
        ))
        .build();
    let level = if rule.is_gate() {
        sarif::ResultLevel::Error
    } else {
        level(rule.severity)
    };
    let builder = sarif::ReportingDescriptor::builder()
        .id(rule.id)
        .name(rule.id)
        .short_description(
            sarif::MultiformatMessageString::builder()
                .text(rule.summary)
                .build(),
        )
        .full_description(
            sarif::MultiformatMessageString::builder()
                .text(rule.why)
                .build(),
        )
        .help(help)
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(serde_json::to_value(level).unwrap_or_default())
                .build(),
        );
    match help_uri(rule.id) {
        Some(uri) => builder.help_uri(uri).build(),
        None => builder.build(),
    }
}

fn level(severity: findings::Severity) -> sarif::ResultLevel {
    match severity {
        findings::Severity::Error => sarif::ResultLevel::Error,
        findings::Severity::Warning => sarif::ResultLevel::Warning,
        findings::Severity::Info => sarif::ResultLevel::Note,
    }
}
