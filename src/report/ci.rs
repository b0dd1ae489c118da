//! The gate's result in each format CI systems read: text for a log, Markdown for a job
//! summary or a pull request, JUnit XML (quick-junit), SARIF 2.1.0 (serde-sarif's types) and
//! GitLab Code Quality JSON. JSON is `JsonCi` itself. The writers only format `JsonCi`; the
//! rules' text for SARIF's help comes from the table in `findings`.

use std::io::{self, Write};

use serde_sarif::sarif;
use sha2::{Digest, Sha256};

use super::markdown::{self, cell, code};
use crate::ci::{JsonCi, JsonFindingStatus, JsonGateFinding, JsonRuleResult, JsonStatus};
use crate::findings;
use crate::printable::escape;

/// Findings shown before a Markdown list folds into `<details>`.
const SHOWN: usize = 10;

fn status(s: JsonStatus) -> &'static str {
    match s {
        JsonStatus::Passed => "PASS",
        JsonStatus::Failed => "FAIL",
        JsonStatus::Skipped => "SKIP",
    }
}

fn finding_status(s: JsonFindingStatus) -> &'static str {
    match s {
        JsonFindingStatus::Fails => "fails",
        JsonFindingStatus::Below => "below",
        JsonFindingStatus::Known => "known",
        JsonFindingStatus::Ignored => "ignored",
    }
}

fn rule_name(r: &JsonRuleResult) -> String {
    match &r.subject {
        Some(s) => format!("{} {s}", r.rule),
        None => r.rule.clone(),
    }
}

fn projection(ci: &JsonCi) -> Option<String> {
    super::projection_line(
        ci.size_bytes,
        ci.projection.bytes,
        ci.projection.fixes.len(),
    )
    .map(|line| format!("Projected: {}", line.replace(" below", " of the findings")))
}

fn against(ci: &JsonCi) -> String {
    match &ci.baseline {
        Some(b) => format!("{} against {b} (config: {})", ci.image, ci.config),
        None => format!("{} (config: {})", ci.image, ci.config),
    }
}

pub fn write_text(ci: &JsonCi, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", ci.verdict)?;
    writeln!(out, "{}", escape(&against(ci)))?;
    if let Some(diff) = &ci.diff {
        writeln!(out, "{}", escape(&diff.headline))?;
    }
    if let Some(line) = projection(ci) {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "\nRules")?;
    let width = ci
        .rules
        .iter()
        .map(|r| rule_name(r).len())
        .max()
        .unwrap_or(0);
    for r in &ci.rules {
        writeln!(
            out,
            "  {}  {:<width$}  {:<28} limit {}",
            status(r.status),
            rule_name(r),
            r.measured,
            r.limit
        )?;
        if r.status != JsonStatus::Passed {
            writeln!(out, "        {}", escape(&r.message))?;
        }
    }
    if !ci.causes.is_empty() {
        writeln!(out, "\nWhat grew most")?;
        for c in &ci.causes {
            let step = c
                .step
                .as_deref()
                .map(|s| format!("  ({})", escape(s)))
                .unwrap_or_default();
            writeln!(
                out,
                "  {:<8} {:<36} {:>11}{step}",
                c.kind,
                escape(&c.name),
                crate::diff::signed_size(c.bytes)
            )?;
            if let Some(fix) = &c.fix {
                writeln!(out, "           fix: {}", escape(fix))?;
            }
        }
    }
    if !ci.findings.is_empty() {
        writeln!(out, "\nFindings ({})", ci.findings.len())?;
        for g in &ci.findings {
            let f = &g.finding;
            let new = match g.new {
                Some(true) => " new",
                _ => "",
            };
            writeln!(
                out,
                "  {:<7} {:<7}{new} [{}] {}",
                finding_status(g.status),
                f.severity.to_string(),
                escape(&f.rule),
                escape(&f.message)
            )?;
            if let Some(reason) = &g.ignored_because {
                writeln!(out, "          ignored: {}", escape(reason))?;
            } else if g.status == JsonFindingStatus::Fails {
                writeln!(out, "          fix: {}", escape(&f.fix))?;
            }
        }
    }
    Ok(())
}

pub fn write_markdown(ci: &JsonCi, out: &mut dyn Write) -> io::Result<()> {
    let icon = if ci.passed {
        ":white_check_mark:"
    } else {
        ":x:"
    };
    writeln!(
        out,
        "## {icon} pydive ci: {}\n",
        markdown::text(&ci.verdict)
    )?;
    match &ci.baseline {
        Some(b) => writeln!(
            out,
            "{} against {} (config: {})\n",
            code(&ci.image),
            code(b),
            markdown::text(&ci.config)
        )?,
        None => writeln!(
            out,
            "{} (config: {})\n",
            code(&ci.image),
            markdown::text(&ci.config)
        )?,
    }
    if let Some(diff) = &ci.diff {
        writeln!(out, "**{}**\n", markdown::text(&diff.headline))?;
    }
    if let Some(line) = projection(ci) {
        writeln!(out, "{}\n", markdown::text(&line))?;
    }
    writeln!(out, "| | rule | measured | limit |\n|---|---|---:|---:|")?;
    for r in &ci.rules {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            status(r.status),
            cell(&code(&rule_name(r))),
            cell(&markdown::text(&r.measured)),
            cell(&markdown::text(&r.limit))
        )?;
    }
    writeln!(out)?;
    if !ci.causes.is_empty() {
        writeln!(out, "### What grew most\n")?;
        for c in &ci.causes {
            let step = c
                .step
                .as_deref()
                .map(|s| format!(" in {}", code(s)))
                .unwrap_or_default();
            writeln!(
                out,
                "- {} {}: **{}**{step}",
                c.kind,
                code(&c.name),
                crate::diff::signed_size(c.bytes)
            )?;
            if let Some(fix) = &c.fix {
                writeln!(out, "  - Fix: {}", markdown::text(fix))?;
            }
        }
        writeln!(out)?;
    }
    if !ci.findings.is_empty() {
        writeln!(out, "### Findings ({})\n", ci.findings.len())?;
        let lines: Vec<String> = ci.findings.iter().map(md_finding).collect();
        for line in lines.iter().take(SHOWN) {
            writeln!(out, "{line}")?;
        }
        writeln!(out)?;
        if lines.len() > SHOWN {
            writeln!(
                out,
                "{}",
                markdown::details(
                    &format!("{} more findings", lines.len() - SHOWN),
                    &lines[SHOWN..].join("\n")
                )
            )?;
        }
    }
    Ok(())
}

fn md_finding(g: &JsonGateFinding) -> String {
    let f = &g.finding;
    let mut line = format!(
        "- {} {} **{}**: {}",
        finding_status(g.status),
        f.severity,
        code(&f.rule),
        markdown::text(&f.message)
    );
    if let Some(reason) = &g.ignored_because {
        line.push_str(&format!("\n  - Ignored: {}", markdown::text(reason)));
    } else {
        line.push_str(&format!("\n  - Fix: {}", markdown::text(&f.fix)));
    }
    line
}

/// JUnit XML: one test case per rule and per finding, failing where they fail the gate.
pub fn write_junit(ci: &JsonCi, out: &mut dyn Write) -> io::Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut rules = TestSuite::new("pydive ci rules");
    for r in &ci.rules {
        let status = match r.status {
            JsonStatus::Passed => TestCaseStatus::success(),
            JsonStatus::Failed => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!(
                    "{}: {} (limit {})",
                    rule_name(r),
                    r.measured,
                    r.limit
                ))
                .set_description(r.message.clone());
                s
            }
            JsonStatus::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(r.message.clone());
                s
            }
        };
        let mut case = TestCase::new(rule_name(r), status);
        case.set_classname("pydive.rules");
        rules.add_test_case(case);
    }
    let mut found = TestSuite::new("pydive ci findings");
    for g in &ci.findings {
        let f = &g.finding;
        let status = match g.status {
            JsonFindingStatus::Fails => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("{}: {}", f.severity, f.message))
                    .set_description(format!("fix: {}", f.fix));
                s
            }
            JsonFindingStatus::Ignored => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!(
                    "ignored: {}",
                    g.ignored_because.clone().unwrap_or_default()
                ));
                s
            }
            JsonFindingStatus::Below | JsonFindingStatus::Known => TestCaseStatus::success(),
        };
        let place = f
            .paths
            .first()
            .cloned()
            .or_else(|| f.layer.map(|l| format!("layer {l}")))
            .unwrap_or_default();
        let name = if place.is_empty() {
            f.rule.clone()
        } else {
            format!("{} {place}", f.rule)
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(format!("pydive.findings.{}", f.rule));
        found.add_test_case(case);
    }
    let mut report = Report::new(format!("pydive ci {}", ci.image));
    report.add_test_suites([rules, found]);
    report
        .serialize(&mut *out)
        .map_err(|e| io::Error::other(e.to_string()))?;
    writeln!(out)
}

fn help_uri(rule: &str) -> Option<String> {
    let repository = env!("CARGO_PKG_REPOSITORY");
    (!repository.is_empty()).then(|| format!("{repository}#rule-{rule}"))
}

fn descriptor(rule: &findings::Rule) -> sarif::ReportingDescriptor {
    let help = sarif::MultiformatMessageString::builder()
        .text(format!("{}\n\nFix: {}", rule.why, rule.fix))
        .markdown(format!("{}\n\n**Fix:** {}", rule.why, rule.fix))
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

/// SARIF 2.1.0: one reporting rule per rule id with its help, one result per finding (and per
/// failed gate rule), located by the file inside the image and the layer's Dockerfile step.
pub fn write_sarif(ci: &JsonCi, out: &mut dyn Write) -> io::Result<()> {
    let mut ids: Vec<&str> = ci
        .findings
        .iter()
        .map(|g| g.finding.rule.as_str())
        .collect();
    ids.extend(ci.rules.iter().map(|r| r.rule.as_str()));
    let rules: Vec<&findings::Rule> = findings::catalog()
        .filter(|r| ids.contains(&r.id))
        .collect();
    let index = |id: &str| rules.iter().position(|r| r.id == id).map(|i| i as i64);
    let mut results = Vec::new();
    for g in &ci.findings {
        let f = &g.finding;
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
        let location = sarif::Location::builder()
            .logical_locations(logical)
            .build();
        let message = sarif::Message::builder()
            .text(format!("{} Fix: {}", f.message, f.fix))
            .build();
        let builder = sarif::Result::builder()
            .rule_id(f.rule.clone())
            .level(level(f.severity.into()))
            .message(message)
            .locations(vec![location]);
        let builder = match index(&f.rule) {
            Some(i) => builder.rule_index(i),
            None => builder.rule_index(-1),
        };
        results.push(match &g.ignored_because {
            Some(reason) => builder
                .suppressions(vec![
                    sarif::Suppression::builder()
                        .kind(serde_json::json!("external"))
                        .justification(reason.clone())
                        .build(),
                ])
                .build(),
            None => builder.build(),
        });
    }
    for r in ci.rules.iter().filter(|r| r.status == JsonStatus::Failed) {
        let message = sarif::Message::builder()
            .text(format!(
                "{}: {} (limit {}). {}",
                rule_name(r),
                r.measured,
                r.limit,
                r.message
            ))
            .build();
        let location = sarif::Location::builder()
            .logical_locations(vec![
                sarif::LogicalLocation::builder()
                    .name(ci.image.clone())
                    .kind("module")
                    .build(),
            ])
            .build();
        results.push(
            sarif::Result::builder()
                .rule_id(r.rule.clone())
                .rule_index(index(&r.rule).unwrap_or(-1))
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
    let log = sarif::Sarif::builder()
        .schema(sarif::SCHEMA_URL)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    super::json::write_value(&log, out)
}

/// GitLab Code Quality: one issue per finding (ignored ones left out) and per failed rule.
pub fn write_gitlab(ci: &JsonCi, out: &mut dyn Write) -> io::Result<()> {
    let fingerprint = |parts: &[&str]| {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p.as_bytes());
            h.update([0]);
        }
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut issues = Vec::new();
    for g in ci
        .findings
        .iter()
        .filter(|g| g.status != JsonFindingStatus::Ignored)
    {
        let f = &g.finding;
        let path = f
            .paths
            .first()
            .map(|p| p.trim_start_matches('/').to_string())
            .unwrap_or_else(|| "Dockerfile".into());
        let step = f
            .created_by
            .as_deref()
            .map(crate::model::short_step)
            .unwrap_or_default();
        issues.push(serde_json::json!({
            "description": format!("{} Fix: {}", f.message, f.fix),
            "check_name": f.rule,
            "fingerprint": fingerprint(&[&f.rule, &step, &path]),
            "severity": match f.severity {
                crate::report::json::JsonSeverity::Error => "critical",
                crate::report::json::JsonSeverity::Warning => "major",
                crate::report::json::JsonSeverity::Info => "info",
            },
            "location": { "path": path, "lines": { "begin": 1 } },
        }));
    }
    for r in ci.rules.iter().filter(|r| r.status == JsonStatus::Failed) {
        let name = rule_name(r);
        issues.push(serde_json::json!({
            "description": format!("{name}: {} (limit {}). {}", r.measured, r.limit, r.message),
            "check_name": r.rule,
            "fingerprint": fingerprint(&[&name, &ci.image]),
            "severity": "blocker",
            "location": { "path": "Dockerfile", "lines": { "begin": 1 } },
        }));
    }
    super::json::write_value(&issues, out)
}
