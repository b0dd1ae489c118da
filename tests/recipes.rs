//! The README's "In CI" recipes cannot rot: their configuration is loaded, and the shell steps
//! that run pydive (the GitHub Actions `run:` block, the GitLab `script:` lines) are run as
//! written, with `pydive` on PATH, against test images: a first build with no baseline yet,
//! then a pull request against the kept report.

mod common;

use std::path::Path;
use std::process::Command;

use common::apps::App;
use common::pydive;
use pydive::fixture::Layout;

fn in_ci_section() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("\n## In CI\n")
        .expect("the README has an In CI section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// The code blocks of a language in the section.
fn blocks(section: &str, language: &str) -> Vec<String> {
    section
        .split(&format!("```{language}\n"))
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect()
}

/// The shell a recipe runs with pydive in it: GitHub's `run: |` blocks, GitLab's `script:`
/// items.
fn pydive_steps(yaml: &str) -> Vec<String> {
    let mut steps = Vec::new();
    let lines: Vec<&str> = yaml.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        if line.trim_start().starts_with("run: |") {
            let mut body = Vec::new();
            i += 1;
            while i < lines.len()
                && (lines[i].trim().is_empty()
                    || lines[i].len() - lines[i].trim_start().len() > indent)
            {
                body.push(lines[i].trim());
                i += 1;
            }
            let body = body.join("\n");
            if body.contains("pydive ") {
                steps.push(body);
            }
            continue;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            // A shell line, not a quoted one nor a `key: value` of the job.
            let is_key = item.split_once(": ").is_some_and(|(k, _)| {
                k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
            if item.contains("pydive ") && !item.starts_with('\'') && !is_key {
                steps.push(item.to_string());
            }
        }
        i += 1;
    }
    steps
}

fn run_steps(dir: &Path, steps: &[String], summary: &Path) {
    let bin = Path::new(env!("CARGO_BIN_EXE_pydive")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for step in steps {
        let out = Command::new("sh")
            .arg("-c")
            .arg(step)
            .current_dir(dir)
            .env("PATH", &path)
            .env("GITHUB_STEP_SUMMARY", summary)
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_in_ci_recipes_run() {
    let section = in_ci_section();
    let toml = blocks(&section, "toml");
    assert_eq!(toml.len(), 1, "one configuration example");
    let yaml = blocks(&section, "yaml");
    assert_eq!(yaml.len(), 2, "a GitHub Actions job and a GitLab CI job");
    let (github, gitlab) = (pydive_steps(&yaml[0]), pydive_steps(&yaml[1]));
    assert_eq!(github.len(), 1, "{github:?}");
    assert_eq!(gitlab.len(), 2, "{gitlab:?}");

    for first_build in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join(".pydive.toml"), &toml[0]).unwrap();
        let image = App {
            pip_cache: true,
            ..App::base()
        }
        .image();
        image
            .write_docker_archive(&d.join("image.tar"), Layout::DockerClassic)
            .unwrap();
        if !first_build {
            let base = d.join("base.tar");
            App::base()
                .image()
                .write_docker_archive(&base, Layout::DockerClassic)
                .unwrap();
            std::fs::create_dir(d.join("baseline")).unwrap();
            for kept in ["baseline/pydive-report.json", "baseline.json"] {
                pydive()
                    .args([
                        "report",
                        base.to_str().unwrap(),
                        "--format",
                        "json",
                        "--files",
                        "-o",
                    ])
                    .arg(d.join(kept))
                    .assert()
                    .success();
            }
            std::fs::remove_file(&base).unwrap();
        }

        let summary = d.join("step-summary.md");
        run_steps(d, &github, &summary);
        let sarif: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("pydive.sarif")).unwrap())
                .unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        let summary = std::fs::read_to_string(&summary).unwrap();
        assert!(summary.contains("pydive ci: FAIL"), "{summary}");
        let report = pydive::report::json::load(&d.join("pydive-report.json")).unwrap();
        assert!(
            report.files.is_some(),
            "the kept report carries the file table"
        );
        if first_build {
            assert!(!summary.contains("against"), "{summary}");
        } else {
            assert!(
                summary.contains("+6.0 MB"),
                "measured against the baseline: {summary}"
            );
        }

        std::fs::remove_file(d.join("pydive-report.json")).unwrap();
        run_steps(d, &gitlab, &d.join("unused.md"));
        let quality: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(d.join("gl-code-quality-report.json")).unwrap(),
        )
        .unwrap();
        assert!(
            quality
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["check_name"] == "pip-cache")
        );
        assert!(d.join("pydive-report.json").is_file());
        assert_eq!(d.join("pydive-diff.md").is_file(), !first_build);
        if !first_build {
            let md = std::fs::read_to_string(d.join("pydive-diff.md")).unwrap();
            assert!(md.contains("of it pip cache"), "{md}");
        }
    }
}
