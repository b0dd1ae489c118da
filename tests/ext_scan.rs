//! `pydive scan` and `pydive scan merge` against a fleet of about 40 fixture images in Debian's
//! `docker-registry` on a loopback port: shards (flag and engine variables), digest dedup,
//! shared layers, SIGKILL and rerun, a rate-limiting proxy, a multi-platform index with an
//! attestation, `--previous`, a pod list, and the merged tables read by DuckDB.
//!
//! Needs docker-registry (Debian), python3 with `duckdb` from PyPI (installed into
//! `target/test-downloads/pylib` when missing).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fleet::{Proxy, Pusher, Verdict, counts};
use common::services::{Registry, need};
use pydive::fixture::{Entry, Image, Layer, write_oci_index_dir};
use serde_json::Value;

/// Bytes of each file the fixtures declare, so the expected numbers follow from them.
const BASE_LIB: u64 = 150_000;
const BASE_PIP_CACHE: u64 = 300_000;
const APP_FILE: u64 = 20_000;
const APP_PIP_CACHE: u64 = 100_000;
const COMPILER: u64 = 1_200_000;
/// Unique application images; 12 repositories of 3 tags.
const APPS: usize = 36;

fn base(i: usize) -> Layer {
    let mut entries = vec![
        Entry::dir("usr"),
        Entry::dir("usr/lib"),
        Entry::file_len(format!("usr/lib/libbase{i}.so.1"), BASE_LIB, 10 + i as u64),
    ];
    if i == 2 {
        // A pip cache in a base layer every third image shares.
        entries.extend([
            Entry::dir("root"),
            Entry::dir("root/.cache"),
            Entry::dir("root/.cache/pip"),
            Entry::dir("root/.cache/pip/http"),
            Entry::file_len("root/.cache/pip/http/base.body", BASE_PIP_CACHE, 20),
        ]);
    }
    Layer::new(&format!("ADD base{i}.tar /"), entries).gzip()
}

fn app(k: usize) -> Image {
    let mut entries = vec![
        Entry::dir("app"),
        Entry::file_len(format!("app/main{k}.py"), APP_FILE, 100 + k as u64),
    ];
    if k % 4 == 0 {
        entries.extend([
            Entry::dir("root"),
            Entry::dir("root/.cache"),
            Entry::dir("root/.cache/pip"),
            Entry::dir("root/.cache/pip/wheels"),
            Entry::file_len(
                format!("root/.cache/pip/wheels/app{k}.whl"),
                APP_PIP_CACHE,
                200 + k as u64,
            ),
        ]);
    }
    Image::new(vec![
        base(k % 3),
        Layer::new("RUN pip install .", entries).gzip(),
    ])
}

fn app_pip_cache(k: usize) -> u64 {
    (if k % 3 == 2 { BASE_PIP_CACHE } else { 0 }) + (if k % 4 == 0 { APP_PIP_CACHE } else { 0 })
}

fn platform_images() -> Vec<Image> {
    ["amd64", "arm64"]
        .iter()
        .map(|arch| {
            let mut layers = vec![
                Layer::new(
                    "ADD multi.tar /",
                    vec![
                        Entry::dir("etc"),
                        Entry::file_len("etc/shared.conf", 30_000, 7),
                    ],
                )
                .gzip(),
            ];
            if *arch == "arm64" {
                // A toolchain only the arm64 build kept.
                layers.push(
                    Layer::new(
                        "RUN apt-get install -y gcc",
                        vec![
                            Entry::dir("usr"),
                            Entry::dir("usr/lib"),
                            Entry::dir("usr/lib/gcc"),
                            Entry::dir("usr/lib/gcc/aarch64-linux-gnu"),
                            Entry::dir("usr/lib/gcc/aarch64-linux-gnu/12"),
                            Entry::file_len("usr/lib/gcc/aarch64-linux-gnu/12/cc1", COMPILER, 8),
                        ],
                    )
                    .gzip(),
                );
            }
            let mut image = Image::new(layers);
            image.architecture = arch.to_string();
            if *arch == "arm64" {
                image.variant = Some("v8".into());
            }
            image
        })
        .collect()
}

/// What the fleet holds, as pushed.
struct Fleet {
    registry: Registry,
    /// reference -> the digest its tag points at.
    references: BTreeMap<String, String>,
    /// Manifest digest of app k.
    apps: Vec<String>,
    /// The multi-platform image's index digest and its attestation manifest's digest.
    index: String,
    attestation: String,
    _dir: tempfile::TempDir,
}

impl Fleet {
    fn host(&self) -> String {
        self.registry.address()
    }
}

fn push_fleet() -> Option<Fleet> {
    let registry = need("docker-registry", Registry::start())?;
    let pusher = Pusher {
        port: registry.port,
    };
    let dir = tempfile::tempdir().unwrap();
    let host = registry.address();
    let mut references = BTreeMap::new();
    let mut apps = Vec::new();
    for k in 0..APPS {
        let layout = dir.path().join(format!("app{k}"));
        app(k).write_oci_dir(&layout).unwrap();
        let repo = format!("svc-{:02}", k / 3);
        let tag = format!("v{}", k % 3);
        let digest = pusher.push_layout(&layout, &repo, &tag);
        references.insert(format!("docker://{host}/{repo}:{tag}"), digest.clone());
        if k == 0 {
            // One digest under three tags and two repositories.
            pusher.push_layout(&layout, &repo, "latest");
            pusher.push_layout(&layout, "mirror/svc-00", "v0");
            references.insert(format!("docker://{host}/{repo}:latest"), digest.clone());
            references.insert(format!("docker://{host}/mirror/svc-00:v0"), digest.clone());
        }
        apps.push(digest);
    }
    let layout = dir.path().join("multi");
    write_oci_index_dir(&layout, &platform_images()).unwrap();
    let (index, attestation) = pusher.push_with_attestation(&layout, "multi/arch", "1");
    references.insert(format!("docker://{host}/multi/arch:1"), index.clone());
    Some(Fleet {
        registry,
        references,
        apps,
        index,
        attestation,
        _dir: dir,
    })
}

fn pydive_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pydive"))
}

/// `pydive scan ARGS` with a clean engine environment plus `env`.
fn scan(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(pydive_bin());
    cmd.arg("scan").args(args).arg("--quiet");
    for var in [
        "JOB_COMPLETION_INDEX",
        "JOB_COMPLETIONS",
        "CI_NODE_INDEX",
        "CI_NODE_TOTAL",
        "PYDIVE_RUN_ID",
        "GITHUB_RUN_ID",
        "CI_PIPELINE_ID",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "PYDIVE_CACHE_DIR",
        std::env::temp_dir().join("pydive-scan-test-cache"),
    );
    cmd.envs(env.iter().copied());
    cmd
}

fn run(mut cmd: Command) -> (i32, String) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rows(out: &Path) -> Vec<Value> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(out.join("rows")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "an unfinished row: {text}"
        );
        for line in text.lines() {
            all.push(serde_json::from_str(line).unwrap());
        }
    }
    all
}

fn stats(out: &Path, shard: &str) -> Value {
    let path = out.join("stats").join(format!("{shard}.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn references_of(rows: &[Value]) -> BTreeSet<String> {
    rows.iter()
        .map(|r| r["reference"].as_str().unwrap().to_string())
        .collect()
}

/// (reference, manifest) of every row; each must appear once.
fn keys_once(rows: &[Value]) -> BTreeSet<(String, String)> {
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["reference"].as_str().unwrap().to_string(),
                r["manifest_digest"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let unique: BTreeSet<_> = keys.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        keys.len(),
        "duplicate rows: {:?}",
        counts(keys)
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .collect::<Vec<_>>()
    );
    unique
}

#[test]
fn shards_split_the_fleet_by_repository_and_merge_to_the_fixture_numbers() {
    let Some(fleet) = push_fleet() else { return };
    let work = tempfile::tempdir().unwrap();
    let source = format!("registry:{}", fleet.host());
    let run_id = ["--run-id", "night-1"];

    // Four shards at once, into one output directory.
    let shared = work.path().join("out");
    let children: Vec<_> = (0..4)
        .map(|i| {
            let shard = format!("{i}/4");
            let mut cmd = scan(
                &["--shard", &shard, "-o", shared.to_str().unwrap(), &source],
                &[],
            );
            cmd.args(run_id).stdin(Stdio::null()).stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut by_shard: Vec<BTreeSet<String>> = Vec::new();
    for i in 0..4 {
        let text =
            std::fs::read_to_string(shared.join(format!("rows/shard-{i}-of-4.jsonl"))).unwrap();
        let shard_rows: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // A repository's tags stay together.
        let repos: BTreeSet<&str> = shard_rows
            .iter()
            .map(|r| r["repository"].as_str().unwrap())
            .collect();
        for other in &by_shard {
            assert!(references_of(&shard_rows).is_disjoint(other));
        }
        for r in &repos {
            assert!(
                !by_shard
                    .iter()
                    .flatten()
                    .any(|x| x.contains(&format!("{r}:")))
            );
        }
        by_shard.push(references_of(&shard_rows));
    }
    assert!(
        by_shard.iter().filter(|s| !s.is_empty()).count() >= 3,
        "{by_shard:?}"
    );

    // The whole list in one run: the union of the shards.
    let whole = work.path().join("whole");
    let (code, err) = run({
        let mut c = scan(
            &["--shard", "0/1", "-o", whole.to_str().unwrap(), &source],
            &[],
        );
        c.args(run_id);
        c
    });
    assert_eq!(code, 0, "{err}");
    let whole_rows = rows(&whole);
    let union: BTreeSet<String> = by_shard.iter().flatten().cloned().collect();
    assert_eq!(references_of(&whole_rows), union);
    assert_eq!(union, fleet.references.keys().cloned().collect());
    assert_eq!(keys_once(&whole_rows), keys_once(&rows(&shared)));

    // The engines' variables pick the same images as the flag.
    let k8s = work.path().join("k8s");
    let (code, err) = run(scan(
        &["-o", k8s.to_str().unwrap(), &source],
        &[("JOB_COMPLETION_INDEX", "1"), ("JOB_COMPLETIONS", "4")],
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(references_of(&rows(&k8s)), by_shard[1]);
    let gitlab = work.path().join("gitlab");
    let (code, err) = run(scan(
        &["-o", gitlab.to_str().unwrap(), &source],
        &[("CI_NODE_INDEX", "3"), ("CI_NODE_TOTAL", "4")],
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(references_of(&rows(&gitlab)), by_shard[2]);
    assert!(rows(&gitlab).iter().all(|r| r["shard"] == "2/4"));

    // Digest dedup: app 0 under three tags in two repositories, read once.
    let s = stats(&whole, "shard-0-of-1");
    let same: Vec<&Value> = whole_rows
        .iter()
        .filter(|r| r["manifest_digest"] == fleet.apps[0].as_str())
        .collect();
    assert_eq!(same.len(), 3);
    assert_eq!(same.iter().filter(|r| r["status"] == "analysed").count(), 1);
    assert_eq!(
        same.iter().filter(|r| r["status"] == "duplicate").count(),
        2
    );
    // Two platforms of the index, the attestation skipped.
    let unique_manifests = APPS + 2;
    assert_eq!(s["unique_manifests"], unique_manifests, "{s}");
    assert_eq!(s["analysed"], unique_manifests, "{s}");
    assert_eq!(s["duplicates"], 2, "{s}");
    assert_eq!(s["images"], fleet.references.len() + 1, "{s}");
    // Layers: 3 bases, one layer per app, the index's shared base and arm64's toolchain; a
    // base layer is walked once and served to the other images.
    assert_eq!(s["layers"]["walked"], 3 + APPS + 2, "{s}");
    assert_eq!(s["layers"]["reused"], APPS * 2 + 3 - (3 + APPS + 2), "{s}");
    let reports = std::fs::read_dir(whole.join("reports")).unwrap().count();
    assert_eq!(reports, unique_manifests);

    // The index: two rows with one index digest, two platforms; no attestation report.
    let multi: Vec<&Value> = whole_rows
        .iter()
        .filter(|r| r["reference"].as_str().unwrap().ends_with("/multi/arch:1"))
        .collect();
    let platforms: BTreeSet<&str> = multi
        .iter()
        .map(|r| r["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, BTreeSet::from(["linux/amd64", "linux/arm64/v8"]));
    assert!(
        multi
            .iter()
            .all(|r| r["index_digest"] == fleet.index.as_str())
    );
    assert!(
        !whole
            .join("reports")
            .join(fleet.attestation.replace(':', "-") + ".json")
            .exists()
    );

    // Merge the four shards, and the single run: the same tables but for the shard column.
    let merged = work.path().join("merged");
    let out = Command::new(pydive_bin())
        .args([
            "scan",
            "merge",
            shared.to_str().unwrap(),
            "-o",
            merged.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged_whole = work.path().join("merged-whole");
    let out = Command::new(pydive_bin())
        .args([
            "scan",
            "merge",
            whole.to_str().unwrap(),
            "-o",
            merged_whole.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for table in [
        "images.jsonl",
        "platforms.jsonl",
        "layers.jsonl",
        "findings.jsonl",
        "packages.jsonl",
    ] {
        let a = std::fs::read_to_string(merged.join(table)).unwrap();
        let b = std::fs::read_to_string(merged_whole.join(table)).unwrap();
        assert_eq!(a, b, "{table} differs between four shards and one");
    }
    let table = |name: &str| -> Vec<Value> {
        std::fs::read_to_string(merged.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let platforms = table("platforms.jsonl");
    let images = table("images.jsonl");
    let layers = table("layers.jsonl");
    assert_eq!(platforms.len(), unique_manifests);
    assert_eq!(images.len(), fleet.references.len());
    assert_eq!(layers.len(), 3 + APPS + 2);
    assert!(
        images
            .iter()
            .chain(&platforms)
            .chain(&layers)
            .all(|r| r["run_id"] == "night-1")
    );

    // Reclaimable bytes from the fixtures: per image, each base cache in every image on base 2;
    // per layer, once.
    let per_image: u64 = (0..APPS).map(app_pip_cache).sum::<u64>() + COMPILER;
    let per_layer: u64 =
        BASE_PIP_CACHE + (0..APPS).filter(|k| k % 4 == 0).count() as u64 * APP_PIP_CACHE + COMPILER;
    let sum =
        |rows: &[Value], field: &str| rows.iter().map(|r| r[field].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum(&platforms, "reclaimable_bytes"), per_image);
    assert_eq!(sum(&layers, "reclaimable_bytes"), per_layer);
    let app0 = platforms
        .iter()
        .find(|p| p["manifest_digest"] == fleet.apps[0].as_str())
        .unwrap();
    assert_eq!(app0["reclaimable_bytes"], app_pip_cache(0));
    assert_eq!(app0["references"].as_array().unwrap().len(), 3);
    let base2 = layers
        .iter()
        .find(|l| l["created_by"] == "ADD base2.tar /")
        .unwrap();
    assert_eq!(base2["images"], APPS / 3);
    assert_eq!(base2["reclaimable_bytes"], BASE_PIP_CACHE);
    // Every finding of a layer carries its layer's digest (runs-as-root is the config's).
    let findings = table("findings.jsonl");
    assert!(findings.iter().any(|f| !f["layer"].is_null()));
    assert!(findings.iter().filter(|f| !f["layer"].is_null()).all(|f| {
        f["layer_digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    }));
    // Sizes: each image-platform's uncompressed size is its layers' tar sizes.
    let app5 = app(5);
    let expected_size: u64 = (0..2)
        .map(|i| app5.layer_tar(i).unwrap().len() as u64)
        .sum();
    let p5 = platforms
        .iter()
        .find(|p| p["manifest_digest"] == fleet.apps[5].as_str())
        .unwrap();
    assert_eq!(p5["size_bytes"], expected_size);

    let summary = std::fs::read_to_string(merged.join("summary.md")).unwrap();
    assert!(
        summary.contains("| image-platforms (distinct manifests) | 38 |"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "| reclaimable, each layer counted once | {} |",
            pydive::findings::size(per_layer)
        )),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "| reclaimable, counted in every image-platform | {} |",
            pydive::findings::size(per_image)
        )),
        "{summary}"
    );
    // The toolchain only the arm64 build kept.
    let single = summary
        .split("### Findings on some platforms only")
        .nth(1)
        .expect(&summary);
    assert!(
        single.contains("| compilers | linux/arm64/v8 |"),
        "{summary}"
    );

    // DuckDB reads the tables as they are and answers a fleet query.
    let Some(mut python) = need("python3 with duckdb", duckdb_python()) else {
        return;
    };
    let query = format!(
        "import duckdb, json; d = {dir:?}\n\
         con = duckdb.connect()\n\
         rows = con.execute(f\"select sum(reclaimable_bytes) from read_json_auto('{{d}}/layers.jsonl')\").fetchall()\n\
         top = con.execute(f\"select i.repository, sum(p.reclaimable_bytes) r from read_json_auto('{{d}}/images.jsonl') i, read_json_auto('{{d}}/platforms.jsonl') p where list_contains(i.manifest_digests, p.manifest_digest) and i.status = 'ok' group by 1 order by r desc, 1 limit 1\").fetchall()\n\
         n = con.execute(f\"select count(*) from read_json_auto('{{d}}/findings.jsonl') where rule = 'pip-cache'\").fetchall()\n\
         print(json.dumps([int(rows[0][0]), top[0][0], int(top[0][1]), int(n[0][0])]))",
        dir = merged.to_str().unwrap()
    );
    let out = python.arg("-c").arg(&query).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer[0], per_layer);
    // The worst repository, computed from the fixtures: per repository, the caches of its tags.
    let mut by_repo: BTreeMap<String, u64> = BTreeMap::new();
    for k in 0..APPS {
        *by_repo
            .entry(format!("{}/svc-{:02}", fleet.host(), k / 3))
            .or_default() += app_pip_cache(k) * if k == 0 { 2 } else { 1 };
    }
    by_repo.insert(format!("{}/mirror/svc-00", fleet.host()), app_pip_cache(0));
    by_repo.insert(format!("{}/multi/arch", fleet.host()), COMPILER);
    let (worst, bytes) = by_repo
        .iter()
        .max_by_key(|(r, b)| (**b, std::cmp::Reverse((*r).clone())))
        .unwrap();
    assert_eq!(answer[1], worst.as_str());
    assert_eq!(answer[2], *bytes);
    let pip_findings = (0..APPS).filter(|k| k % 3 == 2 || k % 4 == 0).count()
        + (0..APPS).filter(|k| k % 3 == 2 && k % 4 == 0).count();
    assert_eq!(answer[3], pip_findings);
}

/// python3 that can import duckdb: installed with pip into a cached directory when missing.
fn duckdb_python() -> Result<Command, String> {
    let has = |extra: Option<&Path>| {
        let mut c = Command::new("python3");
        if let Some(p) = extra {
            c.env("PYTHONPATH", p);
        }
        c.args(["-c", "import duckdb"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has(None) {
        return Ok(Command::new("python3"));
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-downloads/pylib");
    if !has(Some(&lib)) {
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--target"])
            .arg(&lib)
            .arg("duckdb")
            .output()
            .map_err(|e| format!("python3: {e}"))?;
        if !out.status.success() || !has(Some(&lib)) {
            return Err(format!(
                "pip install duckdb: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    let mut c = Command::new("python3");
    c.env("PYTHONPATH", &lib);
    Ok(c)
}

#[test]
fn a_killed_shard_reruns_without_partial_or_duplicate_rows() {
    let Some(fleet) = push_fleet() else { return };
    // Slow answers, so that the shard is still working when it is killed.
    let proxy = Proxy::start(
        fleet.registry.port,
        Duration::from_millis(15),
        Arc::new(|_, _, _| Verdict::Pass),
    );
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let source = format!("registry:{}", proxy.address());
    let args = [
        "--run-id",
        "r",
        "--jobs",
        "1",
        "-o",
        out.to_str().unwrap(),
        &source,
    ];
    let mut child = scan(&args, &[])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rows_file = out.join("rows/shard-0-of-1.jsonl");
    let start = Instant::now();
    loop {
        let n = std::fs::read_to_string(&rows_file).map_or(0, |t| t.lines().count());
        if n >= 5 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no rows after 2 minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scan ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let before = rows(&out).len();
    assert!(
        before < fleet.references.len() + 1,
        "killed too late: {before} rows"
    );
    // No half-written report under its final name.
    for entry in std::fs::read_dir(out.join("reports")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "json")
            && !path.file_name().unwrap().to_string_lossy().starts_with('.')
        {
            let _: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        }
    }

    let (code, err) = run(scan(&args, &[]));
    assert_eq!(code, 0, "{err}");
    let after = rows(&out);
    let keys = keys_once(&after);
    assert_eq!(after.len(), fleet.references.len() + 1);
    let via_proxy: BTreeSet<String> = fleet
        .references
        .keys()
        .map(|r| r.replace(&fleet.host(), &proxy.address()))
        .collect();
    assert_eq!(references_of(&after), via_proxy);
    assert_eq!(keys.len(), after.len());
    let s = stats(&out, "shard-0-of-1");
    assert!(s["references_already_done"].as_u64().unwrap() >= 4, "{s}");
    // Running it once more writes nothing new.
    let (code, err) = run(scan(&args, &[]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows(&out).len(), after.len());
    assert_eq!(stats(&out, "shard-0-of-1")["images"], 0);
}

#[test]
fn a_rate_limiting_registry_is_waited_for_within_the_budget() {
    let Some(fleet) = push_fleet() else { return };
    let work = tempfile::tempdir().unwrap();
    let list = work.path().join("images.txt");
    let host = fleet.host();
    // Three images, through a proxy that answers the first four requests with 429.
    let refs: Vec<String> = ["svc-01:v0", "svc-02:v1", "multi/arch:1"]
        .iter()
        .map(|r| format!("docker://PROXY/{r}"))
        .collect();
    let proxy = Proxy::start(
        fleet.registry.port,
        Duration::ZERO,
        Arc::new(|n, _, _| {
            if n < 4 {
                Verdict::TooMany(1)
            } else {
                Verdict::Pass
            }
        }),
    );
    std::fs::write(&list, refs.join("\n").replace("PROXY", &proxy.address())).unwrap();
    let out = work.path().join("out");
    let started = Instant::now();
    let (code, err) = run(scan(
        &[
            "--run-id",
            "r",
            "-o",
            out.to_str().unwrap(),
            list.to_str().unwrap(),
        ],
        &[],
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(proxy.refused.load(std::sync::atomic::Ordering::Relaxed), 4);
    let s = stats(&out, "shard-0-of-1");
    assert_eq!(s["analysed"], 4, "{s} {err}");
    // Retry-After: 1 was honoured for each 429.
    assert!(s["retry_wait_seconds"].as_f64().unwrap() >= 4.0, "{s}");
    assert!(started.elapsed() >= Duration::from_secs(4));

    // A registry that never stops saying 429: exit 75 once the budget is spent, nothing
    // recorded as failed, and the rerun (against a registry that answers) completes.
    let always = Proxy::start(
        fleet.registry.port,
        Duration::ZERO,
        Arc::new(|_, _, _| Verdict::TooMany(2)),
    );
    std::fs::write(&list, refs.join("\n").replace("PROXY", &always.address())).unwrap();
    let limited = work.path().join("limited");
    let args = [
        "--run-id",
        "r",
        "--retry-budget",
        "5s",
        "-o",
        limited.to_str().unwrap(),
        list.to_str().unwrap(),
    ];
    let (code, err) = run(scan(&args, &[]));
    assert_eq!(code, 75, "{err}");
    let s = stats(&limited, "shard-0-of-1");
    assert_eq!(s["exit_code"], 75);
    assert_eq!(s["pending"].as_array().unwrap().len(), 3, "{s}");
    assert!(
        s["pending"][0]["error"].as_str().unwrap().contains("429"),
        "{s}"
    );
    assert!(s["retry_wait_seconds"].as_f64().unwrap() <= 5.0, "{s}");
    assert!(rows(&limited).is_empty());
    std::fs::write(&list, refs.join("\n").replace("PROXY", &host)).unwrap();
    let (code, err) = run(scan(&args, &[]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows(&limited).len(), 4);
}

#[test]
fn previous_results_are_reused_by_digest_and_only_changes_are_read() {
    let Some(fleet) = push_fleet() else { return };
    let work = tempfile::tempdir().unwrap();
    let source = format!("registry:{}", fleet.host());
    let first = work.path().join("first");
    let (code, err) = run(scan(
        &["--run-id", "1", "-o", first.to_str().unwrap(), &source],
        &[],
    ));
    assert_eq!(code, 0, "{err}");

    // A new tag with new content, and one tag moved to it.
    let pusher = Pusher {
        port: fleet.registry.port,
    };
    let layout = work.path().join("new");
    app(100).write_oci_dir(&layout).unwrap();
    pusher.push_layout(&layout, "svc-03", "v0");

    let second = work.path().join("second");
    let (code, err) = run(scan(
        &[
            "--run-id",
            "2",
            "--previous",
            first.to_str().unwrap(),
            "-o",
            second.to_str().unwrap(),
            &source,
        ],
        &[],
    ));
    assert_eq!(code, 0, "{err}");
    let s = stats(&second, "shard-0-of-1");
    assert_eq!(s["analysed"], 1, "{s}");
    assert_eq!(s["reused_from_previous"], APPS + 2 - 1, "{s}");
    // Only the new image's own layer was read: its base came from nowhere but the walk.
    assert_eq!(s["layers"]["walked"], 2, "{s}");
    let second_rows = rows(&second);
    assert_eq!(second_rows.len(), fleet.references.len() + 1);
    assert!(second_rows.iter().all(|r| r["run_id"] == "2"));
    let moved = second_rows
        .iter()
        .find(|r| r["reference"].as_str().unwrap().ends_with("/svc-03:v0"))
        .unwrap();
    assert_eq!(moved["status"], "analysed");
    assert_ne!(moved["manifest_digest"], fleet.apps[9].as_str());

    // Both runs merge into one set of tables, a row per run.
    let merged = work.path().join("merged");
    let out = Command::new(pydive_bin())
        .args([
            "scan",
            "merge",
            first.to_str().unwrap(),
            second.to_str().unwrap(),
            "-o",
            merged.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let images = std::fs::read_to_string(merged.join("images.jsonl")).unwrap();
    assert_eq!(images.lines().count(), 2 * fleet.references.len());
    let summary = std::fs::read_to_string(merged.join("summary.md")).unwrap();
    assert!(
        summary.contains("## Run 1") && summary.contains("## Run 2"),
        "{summary}"
    );
}

#[test]
fn a_pod_list_names_the_images_a_cluster_runs() {
    let Some(fleet) = push_fleet() else { return };
    let work = tempfile::tempdir().unwrap();
    let host = fleet.host();
    let pods = serde_json::json!({
        "apiVersion": "v1", "kind": "List",
        "items": [
            {"metadata": {"name": "api-1", "namespace": "prod"}, "status": {"containerStatuses": [
                {"image": format!("{host}/svc-00:v0"), "imageID": format!("{host}/svc-00@{}", fleet.apps[0])},
                {"image": format!("{host}/multi/arch:1"), "imageID": format!("docker-pullable://{host}/multi/arch@{}", fleet.index)}
            ]}},
            {"metadata": {"name": "api-2", "namespace": "prod"}, "status": {"containerStatuses": [
                {"image": format!("{host}/svc-00:latest"), "imageID": format!("{host}/svc-00@{}", fleet.apps[0])}
            ]}}
        ]
    });
    let path = work.path().join("pods.json");
    std::fs::write(&path, pods.to_string()).unwrap();
    let out = work.path().join("out");
    let (code, err) = run(scan(
        &["-o", out.to_str().unwrap(), path.to_str().unwrap()],
        &[],
    ));
    assert_eq!(code, 0, "{err}");
    let r = rows(&out);
    // svc-00 by digest (one reference for both pods), and both platforms of the index.
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(stats(&out, "shard-0-of-1")["analysed"], 3);
    assert!(r.iter().all(|r| r["status"] == "analysed"));

    // A reference that does not exist is a row with its reason, and the shard still succeeds;
    // with --strict it exits 2.
    let list = work.path().join("list.txt");
    std::fs::write(
        &list,
        format!("docker://{host}/svc-00:v0\ndocker://{host}/nothing:here\n"),
    )
    .unwrap();
    let out = work.path().join("missing");
    let (code, err) = run(scan(
        &["-o", out.to_str().unwrap(), list.to_str().unwrap()],
        &[],
    ));
    assert_eq!(code, 0, "{err}");
    let failed: Vec<Value> = rows(&out)
        .into_iter()
        .filter(|r| r["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["error"].as_str().unwrap().contains("no such"),
        "{failed:?}"
    );
    let (code, _) = run(scan(
        &[
            "--strict",
            "--run-id",
            "x",
            "-o",
            out.to_str().unwrap(),
            list.to_str().unwrap(),
        ],
        &[],
    ));
    assert_eq!(code, 2);
}

/// A catalog longer than the registry's page: the registry caps its pages at 3 repositories
/// (`catalog.maxentries`), refuses pydive's `?n=1000` with HTTP 400, and says where the next
/// page is in a `Link: <...>; rel="next"` header; the scan asks again at the registry's own
/// page size and follows the pages to every repository, and each one's tags.
#[test]
fn a_catalog_of_several_pages_is_read_to_its_end() {
    let Some(registry) = need("docker-registry", Registry::start_with_catalog_pages_of(3)) else {
        return;
    };
    let pusher = Pusher {
        port: registry.port,
    };
    let dir = tempfile::tempdir().unwrap();
    let host = registry.address();
    let mut pushed = BTreeSet::new();
    for k in 0..8 {
        let layout = dir.path().join(format!("app{k}"));
        app(k).write_oci_dir(&layout).unwrap();
        let repo = format!("page/svc-{k}");
        for tag in ["v1", "v2"] {
            pusher.push_layout(&layout, &repo, tag);
            pushed.insert(format!("docker://{host}/{repo}:{tag}"));
        }
    }
    // The registry refuses a page larger than its own (pydive asks for 1000), and without `n`
    // answers three repositories and a link to the next page.
    let (status, _, _) = common::fleet::http(registry.port, "GET", "/v2/_catalog?n=1000", &[], &[]);
    assert_eq!(status, 400);
    let (status, headers, body) =
        common::fleet::http(registry.port, "GET", "/v2/_catalog", &[], &[]);
    assert_eq!(status, 200);
    let first: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        first["repositories"].as_array().unwrap().len(),
        3,
        "{first}"
    );
    let link = headers.get("link").map(String::as_str).unwrap_or_default();
    assert!(link.contains("rel=\"next\""), "{headers:?}");

    let out = dir.path().join("out");
    let (code, err) = run(scan(
        &["-o", out.to_str().unwrap(), &format!("registry:{host}")],
        &[],
    ));
    assert_eq!(code, 0, "{err}");
    let r = rows(&out);
    assert_eq!(references_of(&r), pushed);
}
