//! `pydive diff OLD NEW` on images that differ the way real pull requests do (built by
//! `common::apps`), and on stored reports: each change is named, in the order.

mod common;

use common::apps::App;
use common::{archive, pydive};
use pydive::fixture::Layout;
use serde_json::Value;

struct Pair {
    _old: common::Written,
    _new: common::Written,
    old: String,
    new: String,
}

fn pair(old: &App, new: &App) -> Pair {
    let o = archive(&old.image(), Layout::DockerClassic);
    let n = archive(&new.image(), Layout::DockerClassic);
    Pair {
        old: o.path.display().to_string(),
        new: n.path.display().to_string(),
        _old: o,
        _new: n,
    }
}

fn diff_json(old: &str, new: &str) -> Value {
    let out = pydive()
        .args(["diff", old, new, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::validate("diff.schema.json", &diff);
    diff
}

fn statuses(diff: &Value) -> Vec<(String, String)> {
    diff["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["status"].as_str().unwrap().to_string(),
                l["step"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn category_change(diff: &Value, id: &str) -> Option<(u64, u64)> {
    diff["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == id)
        .map(|c| {
            (
                c["old_bytes"].as_u64().unwrap(),
                c["new_bytes"].as_u64().unwrap(),
            )
        })
}

fn rules(findings: &Value) -> Vec<&str> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect()
}

#[test]
fn a_pip_cache_left_behind() {
    let p = pair(
        &App::base(),
        &App {
            pip_cache: true,
            ..App::base()
        },
    );
    let diff = diff_json(&p.old, &p.new);
    let headline = diff["headline"].as_str().unwrap();
    assert!(
        headline.starts_with("+6.0 MB (+")
            && headline.ends_with(
                ": 100 % of it pip cache, added by layer 1 RUN pip install -r requirements.txt"
            ),
        "{headline}"
    );
    let layers = statuses(&diff);
    assert_eq!(layers[0].0, "shared");
    assert_eq!(
        layers[1],
        (
            "changed".into(),
            "RUN pip install -r requirements.txt".into()
        )
    );
    assert_eq!(layers[2], ("shared".into(), "COPY . /app".into()));
    assert_eq!(category_change(&diff, "pip-cache"), Some((0, 6_000_000)));
    assert_eq!(rules(&diff["new_findings"]), ["pip-cache"]);
    assert!(rules(&diff["fixed_findings"]).is_empty());
    let files = diff["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{files:#?}");
    assert_eq!(files[0]["path"], "/root/.cache/pip/http-v2/a/1/3f9c2e.body");
    assert_eq!(files[0]["status"], "added");
    assert!(diff["platform"].as_array().unwrap().is_empty());
    assert!(diff["packages"].as_array().unwrap().is_empty());
}

#[test]
fn build_essential_added() {
    let p = pair(
        &App::base(),
        &App {
            build_essential: true,
            ..App::base()
        },
    );
    let diff = diff_json(&p.old, &p.new);
    let headline = diff["headline"].as_str().unwrap();
    assert!(
        headline.contains("of it compilers, added by layer 1 RUN apt-get update && apt-get install -y build-essential"),
        "{headline}"
    );
    let layers = statuses(&diff);
    assert_eq!(
        layers.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        ["shared", "added", "shared", "shared"],
        "the layers after the new one are the same content at new indexes: {layers:?}"
    );
    assert_eq!(diff["layers"][2]["old_index"], 1);
    assert_eq!(diff["layers"][2]["new_index"], 2);
    assert_eq!(category_change(&diff, "compilers"), Some((0, 12_000_000)));
    let mut added = rules(&diff["new_findings"]);
    added.sort();
    assert_eq!(added, ["apt-cache", "compilers", "headers", "static-libs"]);
}

#[test]
fn a_package_upgraded() {
    let p = pair(
        &App::base(),
        &App {
            numpy: "2.1.0",
            ..App::base()
        },
    );
    let diff = diff_json(&p.old, &p.new);
    let packages = diff["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1, "{packages:#?}");
    assert_eq!(packages[0]["name"], "numpy");
    assert_eq!(packages[0]["status"], "upgraded");
    assert_eq!(packages[0]["old_version"], "1.26.4");
    assert_eq!(packages[0]["new_version"], "2.1.0");
    let grown =
        packages[0]["new_bytes"].as_u64().unwrap() - packages[0]["old_bytes"].as_u64().unwrap();
    // numpy's data grew by 1.5 MB; its dist-info texts differ by the version string's length.
    assert!(grown.abs_diff(1_500_000) < 100, "{grown}");
    assert_eq!(statuses(&diff)[1].0, "changed");
    // The upgrade moves numpy's files: old ones removed, new ones added.
    let files = diff["files"].as_array().unwrap();
    assert!(
        files.iter().any(
            |f| f["path"] == format!("/{}/numpy/core/_data.bin", common::apps::SITE)
                && f["status"] == "grown"
        ),
        "{files:#?}"
    );
    let text = String::from_utf8(
        pydive()
            .args(["diff", &p.old, &p.new])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("numpy") && text.contains("upgraded 1.26.4 -> 2.1.0"),
        "{text}"
    );
}

#[test]
fn a_layer_inserted_in_the_middle_shifts_nothing_else() {
    let p = pair(
        &App::base(),
        &App {
            inserted: true,
            ..App::base()
        },
    );
    let diff = diff_json(&p.old, &p.new);
    let layers = statuses(&diff);
    assert_eq!(
        layers,
        [
            ("shared".to_string(), layers[0].1.clone()),
            ("added".into(), "RUN useradd --create-home app".into()),
            (
                "shared".into(),
                "RUN pip install -r requirements.txt".into()
            ),
            ("shared".into(), "COPY . /app".into()),
        ]
    );
    assert!(rules(&diff["new_findings"]).is_empty());
    assert!(rules(&diff["fixed_findings"]).is_empty());
}

#[test]
fn findings_are_matched_by_step_not_index() {
    // The same pip cache in both, at another layer index in NEW: not new, not fixed.
    let p = pair(
        &App {
            pip_cache: true,
            ..App::base()
        },
        &App {
            pip_cache: true,
            inserted: true,
            ..App::base()
        },
    );
    let diff = diff_json(&p.old, &p.new);
    assert!(rules(&diff["new_findings"]).is_empty(), "{diff:#}");
    assert!(rules(&diff["fixed_findings"]).is_empty());
    // And the other way round it is fixed.
    let p = pair(
        &App {
            pip_cache: true,
            ..App::base()
        },
        &App::base(),
    );
    let diff = diff_json(&p.old, &p.new);
    assert_eq!(rules(&diff["fixed_findings"]), ["pip-cache"]);
    assert!(diff["headline"].as_str().unwrap().starts_with("-6.0 MB ("));
}

#[test]
fn a_stored_report_gives_the_same_diff_as_the_image() {
    let p = pair(
        &App::base(),
        &App {
            pip_cache: true,
            build_essential: true,
            ..App::base()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let stored = dir.path().join("old.json");
    let out = pydive()
        .args(["report", &p.old, "--format", "json", "--files", "-o"])
        .arg(&stored)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let from_images = diff_json(&p.old, &p.new);
    let from_report = diff_json(stored.to_str().unwrap(), &p.new);
    assert_eq!(from_images, from_report);

    // Without the file table, everything but the files.
    let bare = dir.path().join("bare.json");
    pydive()
        .args(["report", &p.old, "--format", "json", "-o"])
        .arg(&bare)
        .assert()
        .success();
    let without = diff_json(bare.to_str().unwrap(), &p.new);
    assert_eq!(without["files"], Value::Null);
    assert_eq!(without["layers"], from_images["layers"]);
    assert_eq!(without["new_findings"], from_images["new_findings"]);
    let text = String::from_utf8(
        pydive()
            .args(["diff", bare.to_str().unwrap(), &p.new])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(text.contains("File changes need the file table"), "{text}");
}

#[test]
fn what_is_not_a_report_is_exit_2_in_one_line() {
    let p = pair(&App::base(), &App::base());
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "other.json",
            "{\"name\": \"not a report\"}",
            "it has no schema_version",
        ),
        (
            "newer.json",
            "{\"schema_version\": 7, \"image\": {}}",
            "written with report schema 7, newer than this pydive's (1)",
        ),
    ];
    for (name, text, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = pydive()
            .args(["diff", path.to_str().unwrap(), &p.new])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says) && err.contains(name), "{err}");
    }
    let out = pydive()
        .args(["diff", "/no/such/image.tar", &p.new])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// One name installed in two places, the system's site-packages and a virtual environment's:
/// each is its own row, and a change to one is not hidden behind the other.
#[test]
fn a_package_in_two_places_is_a_row_for_each() {
    use pydive::fixture::{Entry, Image, Layer};
    let install = |site: &str, version: &str, data: usize| -> Vec<Entry> {
        let info = format!("{site}/pyarrow-{version}.dist-info");
        vec![
            Entry::dir(site),
            Entry::file(format!("{site}/pyarrow/lib.py"), vec![b'#'; data]),
            Entry::dir(&info),
            Entry::file(
                format!("{info}/METADATA"),
                format!("Metadata-Version: 2.1\nName: pyarrow\nVersion: {version}\n"),
            ),
            Entry::file(
                format!("{info}/RECORD"),
                format!("pyarrow/lib.py,,\npyarrow-{version}.dist-info/METADATA,,\n"),
            ),
        ]
    };
    let (system, venv) = (
        "usr/local/lib/python3.11/site-packages",
        "opt/venv/lib/python3.11/site-packages",
    );
    let image = |system_bytes: usize, venv_version: &str| {
        let mut entries = install(system, "19.0.1", system_bytes);
        entries.extend(install(venv, venv_version, 9000));
        Image::new(vec![Layer::new("RUN pip install pyarrow", entries)])
    };
    let (o, n) = (
        archive(&image(1000, "19.0.1"), Layout::DockerClassic),
        archive(&image(1500, "20.0.0"), Layout::DockerClassic),
    );
    let (o, n) = (o.path.display().to_string(), n.path.display().to_string());
    let diff = diff_json(&o, &n);
    let mut rows: Vec<(String, String, String)> = diff["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_string();
            (s("name"), s("location"), s("status"))
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("pyarrow".into(), format!("/{venv}"), "upgraded".into()),
            ("pyarrow".into(), format!("/{system}"), "changed".into()),
        ]
    );
    let text = String::from_utf8(pydive().args(["diff", &o, &n]).output().unwrap().stdout).unwrap();
    assert!(
        text.contains(&format!("pyarrow in /{venv}")) && text.contains("upgraded 19.0.1 -> 20.0.0"),
        "{text}"
    );
}
