//! `pydive scan` on images in files (OCI layouts and `docker save` tarballs listed in a file),
//! which needs no registry, and the errors that stop a shard with exit code 2.

mod common;

use std::path::Path;

use common::pydive;
use pydive::fixture::{Entry, Image, Layer, Layout};
use serde_json::Value;

fn image(k: u64) -> Image {
    Image::new(vec![
        Layer::new(
            "ADD base.tar /",
            vec![Entry::dir("usr"), Entry::file_len("usr/lib.so", 4_000, 1)],
        ),
        Layer::new(
            "RUN pip install .",
            vec![
                Entry::dir("root"),
                Entry::dir("root/.cache"),
                Entry::dir("root/.cache/pip"),
                Entry::file_len(format!("root/.cache/pip/{k}.whl"), 70_000 + k, k),
            ],
        ),
    ])
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn images_in_files_are_scanned_and_merged() {
    let dir = tempfile::tempdir().unwrap();
    let mut list = String::from("# images built by CI\n\n");
    let mut manifests = Vec::new();
    for k in 0..3 {
        let layout = dir.path().join(format!("oci{k}"));
        manifests.push(image(k).write_oci_dir(&layout).unwrap().manifest_digest);
        list.push_str(&format!("oci:{}\n", layout.display()));
    }
    let tarball = dir.path().join("saved.tar");
    let saved = image(9)
        .write_docker_archive(&tarball, Layout::DockerClassic)
        .unwrap();
    list.push_str(&format!(
        "docker-archive:{}  # a docker save tarball\n",
        tarball.display()
    ));
    let list_path = dir.path().join("images.txt");
    std::fs::write(&list_path, list).unwrap();

    let out = dir.path().join("out");
    let result = pydive()
        .args(["scan", "--quiet", "--run-id", "t", "-o"])
        .arg(&out)
        .arg(&list_path)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let rows = lines(&out.join("rows/shard-0-of-1.jsonl"));
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| r["status"] == "analysed" && r["platform"] == "linux/amd64")
    );
    // OCI layouts are filed under their manifest digest; a tarball, which has none, under its
    // config digest.
    let mut filed: Vec<String> = rows
        .iter()
        .map(|r| r["manifest_digest"].as_str().unwrap().to_string())
        .collect();
    filed.sort();
    let mut expected = manifests.clone();
    expected.push(saved.config_digest.clone());
    expected.sort();
    assert_eq!(filed, expected);
    for digest in &expected {
        let report = out
            .join("reports")
            .join(format!("{}.json", digest.replace(':', "-")));
        let v: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert_eq!(v["findings"][0]["rule"], "pip-cache", "{v}");
    }
    let stats: Value =
        serde_json::from_slice(&std::fs::read(out.join("stats/shard-0-of-1.json")).unwrap())
            .unwrap();
    assert_eq!(stats["analysed"], 4);
    // The OCI layouts share an uncompressed base layer, walked once.
    assert_eq!(stats["layers"]["walked"], 5, "{stats}");

    let merged = dir.path().join("merged");
    let result = pydive()
        .args(["scan", "merge"])
        .arg(&out)
        .arg("-o")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let platforms = lines(&merged.join("platforms.jsonl"));
    assert_eq!(platforms.len(), 4);
    let reclaimable: u64 = platforms
        .iter()
        .map(|p| p["reclaimable_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(
        reclaimable,
        (0..3).map(|k| 70_000 + k).sum::<u64>() + 70_009
    );
    let layers = lines(&merged.join("layers.jsonl"));
    let base = layers
        .iter()
        .find(|l| l["created_by"] == "ADD base.tar /")
        .unwrap();
    assert_eq!(base["images"], 4);
    assert!(
        std::fs::read_to_string(merged.join("summary.md"))
            .unwrap()
            .contains("| image references | 4 |")
    );
}

#[test]
fn a_shard_that_cannot_be_done_exits_with_2_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let check = |args: &[&str], env: &[(&str, &str)], expect: &str| {
        let mut cmd = pydive();
        cmd.arg("scan").args(args).arg("-o").arg(&out);
        for var in [
            "JOB_COMPLETION_INDEX",
            "JOB_COMPLETIONS",
            "CI_NODE_INDEX",
            "CI_NODE_TOTAL",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let result = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    };
    check(&["/no/such/list"], &[], "no such file");
    let list = dir.path().join("list.txt");
    std::fs::write(&list, "oci:/x\n").unwrap();
    let list = list.to_str().unwrap();
    check(&["--shard", "4/4", list], &[], "counts from 0 to 3");
    check(&[list], &[("JOB_COMPLETION_INDEX", "1")], "JOB_COMPLETIONS");
    check(
        &[list],
        &[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "2")],
        "from 1",
    );
    check(&["--retry-budget", "soon", list], &[], "--retry-budget");
    std::fs::write(dir.path().join("bad.txt"), "docker://UPPER/Case:x\n").unwrap();
    check(
        &[dir.path().join("bad.txt").to_str().unwrap()],
        &[],
        "bad.txt:1",
    );
}

/// A pip cache whose file is also stored again elsewhere: the `pip-cache` and `duplicates`
/// findings both claim its bytes, which the merged tables count once (the report's
/// projection), per image-platform and per layer.
#[test]
fn overlapping_findings_are_reclaimable_once() {
    let dir = tempfile::tempdir().unwrap();
    let image = Image::new(vec![
        Layer::new("ADD base.tar /", vec![Entry::dir("usr")]),
        Layer::new(
            "RUN pip install . && cp -r /root/.cache/pip /opt/pip-copy",
            vec![
                // The copy first: the cache's file is then the extra copy.
                Entry::dir("opt"),
                Entry::dir("opt/pip-copy"),
                Entry::file_len("opt/pip-copy/blob", 1_500_000, 7),
                Entry::dir("root"),
                Entry::dir("root/.cache"),
                Entry::dir("root/.cache/pip"),
                Entry::file_len("root/.cache/pip/blob", 1_500_000, 7),
            ],
        ),
    ]);
    let layout = dir.path().join("oci");
    image.write_oci_dir(&layout).unwrap();
    let list = dir.path().join("images.txt");
    std::fs::write(&list, format!("oci:{}\n", layout.display())).unwrap();
    let out = dir.path().join("out");
    let merged = dir.path().join("merged");
    for args in [
        vec![
            "scan",
            "--quiet",
            "-o",
            out.to_str().unwrap(),
            list.to_str().unwrap(),
        ],
        vec![
            "scan",
            "merge",
            out.to_str().unwrap(),
            "-o",
            merged.to_str().unwrap(),
        ],
    ] {
        let result = pydive().args(&args).output().unwrap();
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    let findings = lines(&merged.join("findings.jsonl"));
    let claimed: u64 = findings
        .iter()
        .filter(|f| f["reclaimable"] == true)
        .map(|f| f["bytes"].as_u64().unwrap())
        .sum();
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"pip-cache") && rules.contains(&"duplicates"),
        "{rules:?}"
    );
    // Both findings claim the cache's 1.5 MB: 3 MB claimed, 1.5 MB to reclaim.
    assert_eq!(claimed, 3_000_000, "{findings:#?}");
    let platforms = lines(&merged.join("platforms.jsonl"));
    let reclaimable = platforms[0]["reclaimable_bytes"].as_u64().unwrap();
    assert_eq!(reclaimable, 1_500_000, "{platforms:#?}");
    let report: Value = serde_json::from_slice(
        &std::fs::read(out.join(platforms[0]["report"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(reclaimable, report["projection"]["saved"].as_u64().unwrap());
    let layers = lines(&merged.join("layers.jsonl"));
    let app = layers
        .iter()
        .find(|l| {
            l["created_by"]
                .as_str()
                .unwrap()
                .starts_with("RUN pip install")
        })
        .unwrap();
    assert_eq!(app["reclaimable_bytes"].as_u64().unwrap(), reclaimable);
}

/// packages.jsonl holds Python distributions and OS packages, told apart by `ecosystem`.
#[test]
fn packages_are_python_distributions_and_os_packages() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("demo");
    pydive::demo::image().write_oci_dir(&layout).unwrap();
    let list = dir.path().join("images.txt");
    std::fs::write(&list, format!("oci:{}\n", layout.display())).unwrap();
    let out = dir.path().join("out");
    let merged = dir.path().join("merged");
    for args in [
        vec![
            "scan",
            "--quiet",
            "-o",
            out.to_str().unwrap(),
            list.to_str().unwrap(),
        ],
        vec![
            "scan",
            "merge",
            out.to_str().unwrap(),
            "-o",
            merged.to_str().unwrap(),
        ],
    ] {
        let result = pydive().args(&args).output().unwrap();
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    let packages = lines(&merged.join("packages.jsonl"));
    let find = |ecosystem: &str, name: &str| {
        packages
            .iter()
            .find(|p| p["ecosystem"] == ecosystem && p["name"] == name)
            .unwrap_or_else(|| panic!("no {ecosystem} {name} in {packages:#?}"))
    };
    let numpy = find("python", "numpy");
    assert_eq!(numpy["version"], "1.26.4");
    // Installed, not a copy inside another distribution: the column is there, empty.
    assert_eq!(numpy.get("vendored_by"), Some(&Value::Null));
    let gcc = find("dpkg", "gcc-12");
    assert_eq!(gcc["version"], "12.2.0-14");
    assert_eq!(gcc["installer"], "dpkg");
    // Installed by the app's build-essential step, whose layer digest it names.
    let layers = lines(&merged.join("layers.jsonl"));
    let step = layers
        .iter()
        .find(|l| l["digest"] == gcc["layer_digest"])
        .unwrap();
    assert!(
        step["created_by"]
            .as_str()
            .unwrap()
            .contains("apt-get install -y build-essential"),
        "{step}"
    );
    let report: Value = serde_json::from_slice(
        &std::fs::read(
            out.join(
                lines(&merged.join("platforms.jsonl"))[0]["report"]
                    .as_str()
                    .unwrap(),
            ),
        )
        .unwrap(),
    )
    .unwrap();
    let os = report["os_packages"]["packages"].as_array().unwrap().len();
    let python = report["python"]["distributions"].as_array().unwrap().len();
    assert_eq!(packages.len(), os + python);
    assert_eq!(
        packages.iter().filter(|p| p["ecosystem"] == "dpkg").count(),
        os
    );
}
