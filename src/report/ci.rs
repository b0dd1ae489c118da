//! The gate's result in each format CI systems read: text for a log, Markdown for a job
//! summary or a pull request, JUnit XML (quick-junit), SARIF 2.1.0 (in `sarif.rs`, shared with
//! `pydive audit`) and GitLab Code Quality JSON. JSON is `JsonCi` itself. The writers only
//! format `JsonCi`.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::markdown::{self, cell, code};
use crate::ci::{JsonCi, JsonFindingStatus, JsonGateFinding, JsonRuleResult, JsonStatus};
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

pub(super) fn rule_name(r: &JsonRuleResult) -> String {
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
    for line in &ci.incomplete {
        writeln!(out, "{}", escape(line))?;
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
    for line in &ci.incomplete {
        writeln!(out, ":warning: {}\n", markdown::text(line))?;
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
    for line in &ci.incomplete {
        let mut status = TestCaseStatus::skipped();
        status.set_message(line.clone());
        let mut case = TestCase::new("not checked", status);
        case.set_classname("pydive.incomplete");
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
