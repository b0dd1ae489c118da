//! Every output format pinned with insta snapshots on the fixture images (`common::apps`):
//! report (text, JSON, Markdown), audit (text, Markdown), diff (text, Markdown, JSON) and ci
//! (text, Markdown, JSON, JUnit, SARIF, GitLab). Temporary paths and digests are redacted.
//! `cargo insta review` (or `INSTA_UPDATE=always`) accepts a change that is meant.

mod common;

use common::apps::App;
use common::{Written, archive, pydive};
use pydive::fixture::Layout;

fn bloated() -> App {
    App {
        pip_cache: true,
        build_essential: true,
        leftover: true,
        numpy: "2.1.0",
        ..App::base()
    }
}

struct Images {
    dir: tempfile::TempDir,
    old: Written,
    new: Written,
}

fn images() -> Images {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".pydive.toml"),
        "max-size = \"40MB\"\nmax-growth = \"25%\"\nmin-efficiency = 0.9\nfail-on = \"warning\"\nnew-findings-only = true\n\n[budget]\npip-cache = 0\n\n[[ignore]]\nrule = \"headers\"\nreason = \"the JIT compiles at run time\"\n",
    )
    .unwrap();
    Images {
        dir,
        old: archive(&App::base().image(), Layout::DockerClassic),
        new: archive(&bloated().image(), Layout::DockerClassic),
    }
}

fn run(images: &Images, args: &[&str]) -> String {
    let out = pydive()
        .current_dir(images.dir.path())
        .env_remove("GITHUB_STEP_SUMMARY")
        .args(args)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Snapshots each (name, output) with temporary paths and digests redacted.
fn snapshot(outputs: Vec<(&str, String)>) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[tmp]");
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[digest]");
    settings.add_filter(
        r#""fingerprint": "[0-9a-f]{64}""#,
        r#""fingerprint": "[fingerprint]""#,
    );
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, output) in outputs {
            insta::assert_snapshot!(name, output);
        }
    });
}

#[test]
fn report_and_audit_formats() {
    let i = images();
    let new = i.new.path.to_str().unwrap();
    let audit_text = run(&i, &["audit", new, "--fail-on", "never"]);
    // runs-as-root is about no bytes: no "(0 B)" that reads as a measurement.
    let root = audit_text
        .lines()
        .find(|l| l.contains("[runs-as-root"))
        .expect("runs-as-root in the audit");
    assert!(!root.contains(" B)"), "{root}");
    snapshot(vec![
        ("report_text", run(&i, &["report", new])),
        ("report_json", run(&i, &["report", new, "--format", "json"])),
        (
            "report_markdown",
            run(&i, &["report", new, "--format", "markdown"]),
        ),
        ("audit_text", audit_text),
        (
            "audit_markdown",
            run(
                &i,
                &["audit", new, "--fail-on", "never", "--format", "markdown"],
            ),
        ),
        (
            "audit_sarif",
            run(
                &i,
                &["audit", new, "--fail-on", "never", "--format", "sarif"],
            ),
        ),
    ]);
}

#[test]
fn diff_formats() {
    let i = images();
    let (old, new) = (i.old.path.to_str().unwrap(), i.new.path.to_str().unwrap());
    snapshot(vec![
        ("diff_text", run(&i, &["diff", old, new])),
        (
            "diff_markdown",
            run(&i, &["diff", old, new, "--format", "markdown"]),
        ),
        (
            "diff_json",
            run(&i, &["diff", old, new, "--format", "json"]),
        ),
    ]);
}

#[test]
fn ci_formats() {
    let i = images();
    let (old, new) = (i.old.path.to_str().unwrap(), i.new.path.to_str().unwrap());
    let ci = |format: &str| run(&i, &["ci", new, "--baseline", old, "--format", format]);
    snapshot(vec![
        ("ci_text", ci("text")),
        ("ci_markdown", ci("markdown")),
        ("ci_json", ci("json")),
        ("ci_junit", ci("junit")),
        ("ci_sarif", ci("sarif")),
        ("ci_gitlab", ci("gitlab")),
    ]);
}
