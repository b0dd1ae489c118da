//! `pydive ci`: the gate's verdicts on images that differ the way pull requests do, where its
//! configuration comes from and how a bad one is reported, exit codes 0/1/2, and every format
//! CI systems read (JUnit parsed, SARIF validated against the SARIF 2.1.0 schema, the JSON
//! against pydive's own schema). Also the projected size, checked against the image rebuilt
//! with the fixes applied.

mod common;

use std::path::{Path, PathBuf};

use common::apps::App;
use common::{Written, archive, pydive};
use pydive::fixture::Layout;
use serde_json::Value;

fn write(app: &App) -> Written {
    archive(&app.image(), Layout::DockerClassic)
}

fn arg(w: &Written) -> &str {
    w.path.to_str().unwrap()
}

/// `pydive ci` in `dir` (for its config files), with no GitHub summary unless asked.
fn ci(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = pydive();
    cmd.current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .arg("ci")
        .args(args);
    cmd.output().unwrap()
}

fn json(out: &std::process::Output) -> Value {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    common::validate("ci.schema.json", &v);
    v
}

fn rule<'a>(ci: &'a Value, id: &str) -> &'a Value {
    ci["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == id)
        .unwrap_or_else(|| panic!("no rule {id} in {ci:#}"))
}

fn pip_cache() -> App {
    App {
        pip_cache: true,
        ..App::base()
    }
}

#[test]
fn a_pip_cache_over_its_budget_fails_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (write(&App::base()), write(&pip_cache()));
    let out = ci(
        dir.path(),
        &[
            arg(&new),
            "--baseline",
            arg(&old),
            "--rule",
            "budget.pip-cache=0",
            "--rule",
            "max-growth=20%",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["passed"], false);
    let budget = rule(&v, "budget");
    assert_eq!(budget["status"], "failed");
    assert_eq!(budget["subject"], "pip-cache");
    assert_eq!(budget["measured"], "6.0 MB");
    // +6 MB on about 16.8 MB is more than 20 %.
    assert_eq!(rule(&v, "max-growth")["status"], "failed");
    assert_eq!(rule(&v, "fail-on")["status"], "passed");
    let causes = v["causes"].as_array().unwrap();
    let cache = causes.iter().find(|c| c["kind"] == "category").unwrap();
    assert_eq!(cache["name"], "pip-cache");
    assert_eq!(cache["step"], "RUN pip install -r requirements.txt");
    assert!(
        cache["fix"].as_str().unwrap().contains("--no-cache-dir"),
        "{cache:#}"
    );

    let text = String::from_utf8(
        ci(
            dir.path(),
            &[
                arg(&new),
                "--baseline",
                arg(&old),
                "--rule",
                "budget.pip-cache=0",
            ],
        )
        .stdout,
    )
    .unwrap();
    assert!(
        text.starts_with("FAIL: 1 of 2 rules failed (budget)\n"),
        "{text}"
    );
    assert!(text.contains("+6.0 MB (+"), "the diff's headline: {text}");
    assert!(
        text.contains("What grew most") && text.contains("fix: "),
        "{text}"
    );
}

#[test]
fn growth_within_its_limit_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (
        write(&App::base()),
        write(&App {
            numpy: "2.1.0",
            ..App::base()
        }),
    );
    let out = ci(
        dir.path(),
        &[
            arg(&new),
            "--baseline",
            arg(&old),
            "--rule",
            "max-growth=15%",
            "--rule",
            "max-size=50MB",
            "--rule",
            "max-layers=3",
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("PASS: 4 of 4 rules passed\n"), "{text}");
    // A byte limit on growth, and a layer limit that fails.
    let out = ci(
        dir.path(),
        &[
            arg(&new),
            "--baseline",
            arg(&old),
            "--rule",
            "max-growth=1MB",
            "--rule",
            "max-layers=2",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(rule(&v, "max-growth")["status"], "failed");
    assert_eq!(rule(&v, "max-layers")["measured"], "3");
}

#[test]
fn max_growth_without_a_baseline_is_said_not_passed() {
    let dir = tempfile::tempdir().unwrap();
    let new = write(&App::base());
    let out = ci(
        dir.path(),
        &[arg(&new), "--rule", "max-growth=10%", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(rule(&v, "max-growth")["status"], "skipped");
    assert!(
        v["verdict"].as_str().unwrap().ends_with(", 1 skipped"),
        "{v:#}"
    );
}

#[test]
fn new_findings_only_and_ignore() {
    let dir = tempfile::tempdir().unwrap();
    let essential = App {
        build_essential: true,
        ..App::base()
    };
    let (old, new) = (
        write(&essential),
        write(&App {
            pip_cache: true,
            ..essential.clone()
        }),
    );
    // Every warning fails: compilers, apt-cache, pip-cache.
    let out = ci(
        dir.path(),
        &[
            arg(&new),
            "--baseline",
            arg(&old),
            "--rule",
            "fail-on=warning",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let failing = |v: &Value| -> Vec<String> {
        let mut r: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "fails")
            .map(|f| f["finding"]["rule"].as_str().unwrap().to_string())
            .collect();
        r.sort();
        r
    };
    // (and the image runs as root, which the baseline did too)
    assert_eq!(
        failing(&v),
        ["apt-cache", "compilers", "pip-cache", "runs-as-root"]
    );
    // Only what the baseline did not have.
    let out = ci(
        dir.path(),
        &[
            arg(&new),
            "--baseline",
            arg(&old),
            "--rule",
            "fail-on=warning",
            "--rule",
            "new-findings-only=true",
            "--format",
            "json",
        ],
    );
    let v = json(&out);
    assert_eq!(failing(&v), ["pip-cache"]);
    assert_eq!(
        rule(&v, "fail-on")["measured"],
        "1 new finding at or above warning"
    );
    // Accepted, with a reason: by rule, and by path.
    std::fs::write(
        dir.path().join(".pydive.toml"),
        "fail-on = \"warning\"\nnew-findings-only = true\n\n[[ignore]]\nrule = \"pip-cache\"\nreason = \"cache kept on purpose for the offline installer\"\n",
    )
    .unwrap();
    let out = ci(
        dir.path(),
        &[arg(&new), "--baseline", arg(&old), "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let ignored = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["status"] == "ignored")
        .unwrap();
    assert_eq!(
        ignored["ignored_because"],
        "cache kept on purpose for the offline installer"
    );
    std::fs::write(
        dir.path().join(".pydive.toml"),
        "fail-on = \"warning\"\n\n[[ignore]]\nrule = \"runs-as-root\"\nreason = \"r\"\n[[ignore]]\npath = \"/root/.cache/**\"\nreason = \"r\"\n[[ignore]]\npath = \"/usr/**\"\nreason = \"r\"\n[[ignore]]\npath = \"/var/lib/apt/**\"\nreason = \"r\"\n",
    )
    .unwrap();
    let out = ci(dir.path(), &[arg(&new), "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The configuration file each source gives, seen in the report's `config`.
#[test]
fn config_comes_from_the_first_source_that_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let image = write(&pip_cache());
    let origin = |args: &[&str]| -> (String, Option<i32>) {
        let mut all = vec![arg(&image), "--format", "json"];
        all.extend_from_slice(args);
        let out = ci(d, &all);
        (
            json(&out)["config"].as_str().unwrap().to_string(),
            out.status.code(),
        )
    };
    assert_eq!(origin(&[]), ("defaults".to_string(), Some(0)));
    std::fs::write(d.join(".dive-ci"), "rules:\n  lowestEfficiency: 0.5\n").unwrap();
    assert!(origin(&[]).0.ends_with(".dive-ci (dive's CI rules)"));
    std::fs::write(d.join("pyproject.toml"), "[project]\nname = \"app\"\n").unwrap();
    assert!(
        origin(&[]).0.ends_with(".dive-ci (dive's CI rules)"),
        "a pyproject.toml without [tool.pydive] does not count"
    );
    std::fs::write(
        d.join("pyproject.toml"),
        "[project]\nname = \"app\"\n\n[tool.pydive.budget]\npip-cache = 0\n",
    )
    .unwrap();
    let (o, code) = origin(&[]);
    assert!(o.ends_with("pyproject.toml [tool.pydive]"), "{o}");
    assert_eq!(code, Some(1), "the pyproject budget applies");
    std::fs::write(d.join(".pydive.toml"), "max-layers = 10\n").unwrap();
    let (o, code) = origin(&[]);
    assert!(o.ends_with(".pydive.toml"), "{o}");
    assert_eq!(code, Some(0));
    std::fs::write(d.join("strict.toml"), "max-layers = 1\n").unwrap();
    let (o, code) = origin(&["--config", "strict.toml"]);
    assert_eq!(o, "strict.toml");
    assert_eq!(code, Some(1));
    // Flags go over the file.
    assert_eq!(
        origin(&["--config", "strict.toml", "--rule", "max-layers=5"]).1,
        Some(0)
    );
}

#[test]
fn bad_configs_are_exit_2_naming_file_line_and_key_before_reading_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&str, &str, &str)] = &[
        (
            ".pydive.toml",
            "max-size = \"1GB\"\n\n[budget]\npip-cache = -1\n",
            ".pydive.toml:4: pip-cache: -1 is negative: a size is 0 or more",
        ),
        (
            ".pydive.toml",
            "max-groth = \"10%\"\n",
            ".pydive.toml:1: unknown field `max-groth`, expected one of",
        ),
        (
            ".pydive.toml",
            "max-layers = \"ten\"\n",
            ".pydive.toml:1: max-layers: invalid type: string \"ten\", expected u64",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"x\"\n\n[tool.pydive]\nfail-on = \"sometimes\"\n",
            "pyproject.toml:5: fail-on: \"sometimes\": expected \"error\", \"warning\", \"info\" or \"never\"",
        ),
        (
            ".dive-ci",
            "rules:\n  lowestEfficiency: 1.5\n",
            ".dive-ci:2: lowestEfficiency: 1.5 is outside 0-1",
        ),
    ];
    for (file, text, says) in cases {
        for f in [".pydive.toml", "pyproject.toml", ".dive-ci"] {
            let _ = std::fs::remove_file(d.join(f));
        }
        std::fs::write(d.join(file), text).unwrap();
        // The image does not exist: the configuration is checked first.
        let out = ci(d, &["/no/such/image.tar"]);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{file}: {err}");
    }
    std::fs::remove_file(d.join(".dive-ci")).unwrap();
    let out = ci(d, &["/no/such/image.tar", "--rule", "max-size"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rule max-size: expected KEY=VALUE"));
}

#[test]
fn a_baseline_that_is_not_a_report_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let image = write(&App::base());
    for (text, says) in [
        ("{\"tests\": []}", "it has no schema_version"),
        (
            "{\"schema_version\": 2, \"image\": {}}",
            "newer than this pydive's (1)",
        ),
    ] {
        let path = dir.path().join("base.json");
        std::fs::write(&path, text).unwrap();
        let out = ci(
            dir.path(),
            &[arg(&image), "--baseline", path.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--baseline") && err.contains(says), "{err}");
    }
}

#[test]
fn output_file_report_and_github_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (old, new) = (write(&App::base()), write(&pip_cache()));
    let summary = d.join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let out = pydive()
        .current_dir(d)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args([
            "ci",
            arg(&new),
            "--baseline",
            arg(&old),
            "--format",
            "sarif",
            "-o",
            "out.sarif",
            "--report",
            "next.json",
            "--rule",
            "budget.pip-cache=0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "-o writes the file, not standard output"
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.starts_with("earlier step\n## :x: pydive ci: FAIL"),
        "appended: {summary}"
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    // The kept report is the next baseline: the same verdict as the image itself.
    let next = d.join("next.json");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&next).unwrap()).unwrap();
    common::validate("report.schema.json", &report);
    assert!(report["files"].as_array().is_some_and(|f| !f.is_empty()));
    let with_report = json(&ci(
        d,
        &[
            arg(&new),
            "--baseline",
            next.to_str().unwrap(),
            "--rule",
            "max-growth=0",
            "--format",
            "json",
        ],
    ));
    let with_image = json(&ci(
        d,
        &[
            arg(&new),
            "--baseline",
            arg(&new),
            "--rule",
            "max-growth=0",
            "--format",
            "json",
        ],
    ));
    assert_eq!(with_report["rules"], with_image["rules"]);
    assert_eq!(with_report["diff"]["files"], with_image["diff"]["files"]);
    assert_eq!(with_report["passed"], true);
}

#[test]
fn junit_has_a_case_per_rule_and_finding() {
    let dir = tempfile::tempdir().unwrap();
    let new = write(&App {
        build_essential: true,
        ..pip_cache()
    });
    let out = ci(
        dir.path(),
        &[
            arg(&new),
            "--rule",
            "budget.compilers=0",
            "--rule",
            "max-size=1GB",
            "--rule",
            "fail-on=warning",
            "--format",
            "junit",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let failed = |name: &str| {
        let case = cases
            .iter()
            .find(|c| c.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no case {name}: {xml}"));
        case.children()
            .find(|n| n.has_tag_name("failure"))
            .map(|f| f.attribute("message").unwrap_or_default().to_string())
    };
    assert_eq!(
        failed("budget compilers").as_deref(),
        Some("budget compilers: 12.0 MB (limit 0 B)")
    );
    assert_eq!(failed("max-size"), None);
    let pip = failed("pip-cache /root/.cache/pip/http-v2/a/1/3f9c2e.body")
        .expect("the pip cache fails at warning");
    assert!(
        pip.starts_with("warning: pip cache left in the image"),
        "{pip}"
    );
    let findings = cases
        .iter()
        .filter(|c| {
            c.attribute("classname")
                .is_some_and(|n| n.starts_with("pydive.findings."))
        })
        .count();
    // pip-cache, compilers, apt-cache, headers, static-libs, runs-as-root.
    assert_eq!(findings, 6, "{xml}");
}

/// The SARIF 2.1.0 schema as serde-sarif ships it (the OASIS schema its types are generated
/// from), found in cargo's registry sources at the version Cargo.lock pins. (`cargo metadata
/// --offline` would need every target's crates downloaded, Android's included.)
fn sarif_schema() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"serde-sarif\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .expect("serde-sarif in Cargo.lock");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let registries = cargo_home.join("registry/src");
    std::fs::read_dir(&registries)
        .unwrap()
        .filter_map(|r| r.ok())
        .map(|r| {
            r.path()
                .join(format!("serde-sarif-{version}/src/schema.json"))
        })
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "serde-sarif {version}'s schema.json under {}",
                registries.display()
            )
        })
}

/// SARIF output, parsed and validated against the SARIF 2.1.0 schema.
fn valid_sarif(stdout: &[u8]) -> Value {
    let sarif: Value = serde_json::from_slice(stdout).unwrap();
    let mut schema: Value =
        serde_json::from_str(&std::fs::read_to_string(sarif_schema()).unwrap()).unwrap();
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    // The published schema's pattern for `language` (of a run and of a tool component) is not
    // a valid regular expression (an unbalanced `]`), which the validator refuses; pydive
    // writes no `language`.
    for definition in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][definition]["properties"]["language"];
        assert!(language["pattern"].as_str().unwrap().ends_with("]?$"));
        language.as_object_mut().unwrap().remove("pattern");
    }
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    sarif
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (
        write(&App::base()),
        write(&App {
            build_essential: true,
            ..pip_cache()
        }),
    );
    std::fs::write(
        dir.path().join(".pydive.toml"),
        "max-growth = \"5%\"\n[[ignore]]\nrule = \"headers\"\nreason = \"needed by the JIT\"\n",
    )
    .unwrap();
    let out = ci(
        dir.path(),
        &[arg(&new), "--baseline", arg(&old), "--format", "sarif"],
    );
    assert_eq!(out.status.code(), Some(1));
    let sarif = valid_sarif(&out.stdout);
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let pip = rules.iter().find(|r| r["id"] == "pip-cache").unwrap();
    let table = pydive::findings::rule("pip-cache").unwrap();
    assert_eq!(pip["shortDescription"]["text"], table.summary);
    assert!(pip["help"]["text"].as_str().unwrap().contains(table.fix));
    assert!(rules.iter().any(|r| r["id"] == "max-growth"));
    let results = run["results"].as_array().unwrap();
    let cache = results.iter().find(|r| r["ruleId"] == "pip-cache").unwrap();
    assert_eq!(cache["level"], "warning");
    let logical = cache["locations"][0]["logicalLocations"]
        .as_array()
        .unwrap();
    assert!(
        logical
            .iter()
            .any(|l| l["fullyQualifiedName"] == "/root/.cache/pip/http-v2/a/1/3f9c2e.body")
    );
    assert!(logical.iter().any(|l| l["fullyQualifiedName"]
        == "RUN pip install -r requirements.txt"
        && l["name"] == "layer 2"));
    let headers = results.iter().find(|r| r["ruleId"] == "headers").unwrap();
    assert_eq!(
        headers["suppressions"][0]["justification"],
        "needed by the JIT"
    );
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "max-growth" && r["level"] == "error")
    );
    for r in results {
        let i = r["ruleIndex"].as_i64().unwrap();
        assert_eq!(rules[i as usize]["id"], r["ruleId"]);
    }
}

/// `pydive audit --format sarif`: the same SARIF as the gate's, with every finding and no gate
/// rule; each rule's help is what `pydive explain RULE` prints.
#[test]
fn audit_sarif_validates_and_carries_the_explain_text() {
    let image = write(&App {
        build_essential: true,
        ..pip_cache()
    });
    let out = pydive()
        .args([
            "audit",
            arg(&image),
            "--format",
            "sarif",
            "--fail-on",
            "warning",
        ])
        .output()
        .unwrap();
    // The exit code is the audit's, whatever the format.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sarif = valid_sarif(&out.stdout);
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();

    let report = pydive()
        .args(["report", arg(&image), "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.len() >= 5, "{findings:#?}");
    let ids = |v: &[Value], key: &str| {
        let mut ids: Vec<String> = v
            .iter()
            .map(|f| f[key].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(results, "ruleId"), ids(findings, "rule"));
    assert!(results.iter().all(|r| r.get("suppressions").is_none()));
    for r in results {
        let i = r["ruleIndex"].as_i64().unwrap();
        assert_eq!(rules[i as usize]["id"], r["ruleId"]);
    }

    let pip = rules.iter().find(|r| r["id"] == "pip-cache").unwrap();
    let explain = pydive().args(["explain", "pip-cache"]).output().unwrap();
    assert_eq!(
        pip["help"]["text"].as_str().unwrap(),
        String::from_utf8(explain.stdout).unwrap().trim_end()
    );
    // Cargo.toml names no repository, so there is no page to link to: the help text says it all.
    assert_eq!(env!("CARGO_PKG_REPOSITORY"), "");
    assert!(rules.iter().all(|r| r.get("helpUri").is_none()));
}

#[test]
fn gitlab_code_quality_issues() {
    let dir = tempfile::tempdir().unwrap();
    let new = write(&pip_cache());
    let out = ci(
        dir.path(),
        &[arg(&new), "--rule", "max-size=1MB", "--format", "gitlab"],
    );
    assert_eq!(out.status.code(), Some(1));
    let issues: Value = serde_json::from_slice(&out.stdout).unwrap();
    let issues = issues.as_array().unwrap();
    for i in issues {
        for key in [
            "description",
            "check_name",
            "fingerprint",
            "severity",
            "location",
        ] {
            assert!(!i[key].is_null(), "{key} in {i:#}");
        }
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&i["severity"].as_str().unwrap())
        );
        assert_eq!(i["fingerprint"].as_str().unwrap().len(), 64);
    }
    let cache = issues
        .iter()
        .find(|i| i["check_name"] == "pip-cache")
        .unwrap();
    assert_eq!(cache["severity"], "major");
    assert_eq!(
        cache["location"]["path"],
        "root/.cache/pip/http-v2/a/1/3f9c2e.body"
    );
    assert!(
        issues
            .iter()
            .any(|i| i["check_name"] == "max-size" && i["severity"] == "blocker")
    );
    let mut prints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), issues.len(), "fingerprints are unique");
}

/// The projection of a bloated image against the same image rebuilt with its fixes applied:
/// `--no-cache-dir`, build-essential in a builder stage, build files deleted in the same RUN.
#[test]
fn the_projection_matches_the_image_rebuilt_with_the_fixes() {
    let bloated = App {
        pip_cache: true,
        build_essential: true,
        leftover: true,
        ..App::base()
    };
    let fixed = App::base();
    let b = common::json_for(&bloated.image());
    let f = common::json_for(&fixed.image());
    assert_eq!(
        f["projection"]["saved"], 0,
        "the rebuilt image has nothing left to fix: {:#}",
        f["projection"]
    );
    let projected = b["projection"]["bytes"].as_u64().unwrap() as f64;
    let rebuilt = f["image"]["size_bytes"].as_u64().unwrap() as f64;
    let off = (projected - rebuilt).abs() / rebuilt;
    assert!(
        off < 0.02,
        "projected {projected}, rebuilt {rebuilt}: {:.2} % apart",
        off * 100.0
    );
    let fixes: Vec<&str> = b["projection"]["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rule"].as_str().unwrap())
        .collect();
    for rule in [
        "pip-cache",
        "compilers",
        "apt-cache",
        "wasted",
        "headers",
        "static-libs",
    ] {
        assert!(fixes.contains(&rule), "{rule} in {fixes:?}");
    }
    let saved: u64 = b["projection"]["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["saved"].as_u64().unwrap())
        .sum();
    assert_eq!(saved, b["projection"]["saved"].as_u64().unwrap());
    // Shown at the top of the report and the audit.
    let w = archive(&bloated.image(), Layout::DockerClassic);
    let text =
        String::from_utf8(pydive().args(["report", arg(&w)]).output().unwrap().stdout).unwrap();
    assert!(
        text.lines()
            .nth(2)
            .unwrap()
            .contains(&format!("with the {} fixes below", fixes.len())),
        "{text}"
    );
    let audit = String::from_utf8(
        pydive()
            .args(["audit", arg(&w), "--fail-on", "never"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        audit.lines().nth(1).unwrap().starts_with("Projected: "),
        "{audit}"
    );
}
