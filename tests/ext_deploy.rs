//! What `deploy/` and the `Dockerfile` ship, checked here: the Kubernetes manifests validate
//! offline against Kubernetes' schemas and agree with each other and with pydive's flags; the
//! GitHub workflow's matrix matches its shard count; pydive's container image, built from the
//! Dockerfile on a base made here with `docker import`, runs one shard of a fleet in a local
//! registry from a Kubernetes-style `JOB_COMPLETION_INDEX`, and picks the images `--shard 1/4`
//! picks. Kubernetes scheduling itself is not tested here.
//!
//! Needs kubernetes-validate and PyYAML (PyPI), a running Docker daemon with BuildKit
//! (`docker buildx`, or a docker client with BuildKit built in), docker-registry (Debian).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::fleet::Pusher;
use common::services::{DockerCli, Registry, need, unique};
use pydive::fixture::{Entry, Image, Layer};
use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn the_kubernetes_manifests_validate_offline_and_agree_with_pydive() {
    let Some(_) = need(
        "kubernetes-validate (PyPI)",
        output(Command::new("kubernetes-validate").arg("--version")),
    ) else {
        return;
    };
    let dir = repo_root().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let out = output(
        Command::new("kubernetes-validate")
            .arg("--strict")
            .args(&files),
    )
    .unwrap();
    let passed = out
        .lines()
        .filter(|l| l.contains(" passed for resource "))
        .count();
    // scan Job, merge Job, the two CronJobs, the volume claim.
    assert_eq!(passed, 5, "{out}");

    // Every container runs pydive with arguments pydive accepts, and every Indexed Job tells
    // pydive its number of shards.
    let script = r#"
import json, sys, yaml
docs = []
for path in sys.argv[1:]:
    docs += [d for d in yaml.safe_load_all(open(path)) if d]
print(json.dumps(docs))
"#;
    let docs: Vec<Value> = serde_json::from_str(
        &output(Command::new("python3").arg("-c").arg(script).args(&files)).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for doc in &docs {
        let job = match doc["kind"].as_str() {
            Some("Job") => &doc["spec"],
            Some("CronJob") => &doc["spec"]["jobTemplate"]["spec"],
            _ => continue,
        };
        let container = &job["template"]["spec"]["containers"][0];
        let args: Vec<String> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().replace("$(PYDIVE_RUN_ID)", "night"))
            .collect();
        assert!(
            container["command"].is_null(),
            "the image has no shell: {container}"
        );
        if job["completionMode"] == "Indexed" {
            let completions = job["completions"].as_u64().unwrap().to_string();
            let env = container["env"].as_array().unwrap();
            assert!(
                env.iter()
                    .any(|e| e["name"] == "JOB_COMPLETIONS" && e["value"] == completions.as_str()),
                "{container}"
            );
            // Exit code 2 fails the index at once; 75 is left to the retries.
            let rules = job["podFailurePolicy"]["rules"].as_array().unwrap();
            assert!(rules.iter().any(|r| r["action"] == "FailIndex"
                && r["onExitCodes"]["values"] == serde_json::json!([2])));
        }
        // pydive parses the arguments (a source that cannot be listed stops it later).
        let mut parsed = Command::new(env!("CARGO_BIN_EXE_pydive"));
        parsed.args(&args).arg("--help");
        output(&mut parsed).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        checked += 1;
    }
    assert_eq!(checked, 4);

    // The GitHub workflow: one matrix job per shard, and a merge job after them.
    let workflow = output(
        Command::new("python3")
            .arg("-c")
            .arg("import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))")
            .arg(repo_root().join("deploy/github/fleet-scan.yml")),
    )
    .unwrap();
    let workflow: Value = serde_json::from_str(&workflow).unwrap();
    let shards = workflow["env"]["SHARDS"].as_u64().unwrap();
    let matrix = workflow["jobs"]["scan"]["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap();
    assert_eq!(matrix.len() as u64, shards);
    assert_eq!(workflow["jobs"]["merge"]["needs"], "scan");
}

/// `docker build` with BuildKit: buildx where installed, else a client with BuildKit built in.
fn build_with_buildkit(context: &Path, tag: &str, args: &[(&str, &str)]) -> Result<(), String> {
    let mut errors = Vec::new();
    let candidates: [(&str, &[&str], bool); 3] = [
        ("docker", &["buildx", "build", "--load"], false),
        ("docker", &["build"], true),
        ("/usr/bin/docker", &["build"], true),
    ];
    for (program, sub, env) in candidates {
        let mut cmd = Command::new(program);
        cmd.args(sub).args(["-q", "-t", tag]);
        for (k, v) in args {
            cmd.arg("--build-arg").arg(format!("{k}={v}"));
        }
        cmd.arg(context);
        if env {
            cmd.env("DOCKER_BUILDKIT", "1");
        }
        match output(&mut cmd) {
            Ok(_) => return Ok(()),
            Err(e) => errors.push(e),
        }
    }
    Err(errors.join("\n"))
}

/// A base image made here, as slim as a glibc base gets: the C library and loader files
/// pydive's binary links against, and the machine's CA certificates.
fn import_base(docker: &DockerCli, binary: &Path, tag: &str, work: &Path) -> Result<(), String> {
    let ldd = output(Command::new("ldd").arg(binary))?;
    let root = work.join("rootfs");
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    for line in ldd.lines() {
        let path = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(PathBuf::from);
        let Some(path) = path else { continue };
        let target = root.join(path.strip_prefix("/").unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(std::fs::canonicalize(&path).unwrap(), &target)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let certs = Path::new("/etc/ssl/certs/ca-certificates.crt");
    let target = root.join("etc/ssl/certs/ca-certificates.crt");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy(certs, &target).map_err(|e| format!("{}: {e}", certs.display()))?;
    let tar = work.join("base.tar");
    output(
        Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
    )?;
    output(docker.command().arg("import").arg(&tar).arg(tag))?;
    Ok(())
}

fn small_fleet(pusher: &Pusher, work: &Path) -> Vec<String> {
    let mut refs = Vec::new();
    for k in 0..16u64 {
        let image = Image::new(vec![
            Layer::new(
                "ADD base.tar /",
                vec![Entry::dir("usr"), Entry::file_len("usr/base", 5_000, 1)],
            )
            .gzip(),
            Layer::new(
                "COPY . /app",
                vec![
                    Entry::dir("app"),
                    Entry::file_len(format!("app/{k}"), 3_000, 10 + k),
                ],
            )
            .gzip(),
        ]);
        let layout = work.join(format!("img{k}"));
        image.write_oci_dir(&layout).unwrap();
        let repo = format!("team/svc-{k}");
        pusher.push_layout(&layout, &repo, "1");
        refs.push(repo);
    }
    refs
}

fn rows(out: &Path) -> Vec<Value> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(out.join("rows")).unwrap() {
        for line in std::fs::read_to_string(entry.unwrap().path())
            .unwrap()
            .lines()
        {
            all.push(serde_json::from_str(line).unwrap());
        }
    }
    all
}

#[test]
fn pydives_image_runs_one_shard_of_an_indexed_job() {
    let Some(docker) = need("a Docker daemon", DockerCli::system()) else {
        return;
    };
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_pydive"));
    let base = format!("{}:base", unique("deploy"));
    let Some(()) = need(
        "docker import",
        import_base(&docker, &binary, &base, work.path()),
    ) else {
        return;
    };
    let _base = docker.remove_on_drop(&base);

    // The Dockerfile as shipped, with a prebuilt binary in the build context.
    let context = work.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::copy(repo_root().join("Dockerfile"), context.join("Dockerfile")).unwrap();
    std::fs::copy(&binary, context.join("pydive")).unwrap();
    let image = format!("{}:1", unique("pydive"));
    let built = build_with_buildkit(
        &context,
        &image,
        &[("RUNTIME_IMAGE", &base), ("PYDIVE_BINARY", "context")],
    );
    let Some(()) = need("docker build with BuildKit", built) else {
        return;
    };
    let _image = docker.remove_on_drop(&image);

    let pusher = Pusher {
        port: registry.port,
    };
    small_fleet(&pusher, work.path());
    let source = format!("registry:{}", registry.address());

    // On the host: shard 1 of 4.
    let host_out = work.path().join("host");
    output(
        Command::new(&binary)
            .args(["scan", "--quiet", "--shard", "1/4", "--run-id", "n", "-o"])
            .arg(&host_out)
            .arg(&source),
    )
    .unwrap();

    // In the container, as an Indexed Job's pod runs it: the index from the environment,
    // a non-root user, writing to a mounted volume.
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    output(Command::new("chmod").arg("777").arg(&data)).unwrap();
    let run = output(
        docker
            .command()
            .args(["run", "--rm", "--network", "host", "--read-only"])
            .args([
                "-e",
                "JOB_COMPLETION_INDEX=1",
                "-e",
                "JOB_COMPLETIONS=4",
                "-e",
                "PYDIVE_RUN_ID=n",
            ])
            .arg("-v")
            .arg(format!("{}:/data", data.display()))
            .arg(&image)
            .args(["scan", "--output=/data/out", &source]),
    );
    run.unwrap();
    let in_container = rows(&data.join("out"));
    let on_host = rows(&host_out);
    let names = |rows: &[Value]| -> BTreeSet<String> {
        rows.iter()
            .map(|r| format!("{} {}", r["reference"], r["manifest_digest"]))
            .collect()
    };
    assert!(!on_host.is_empty());
    assert_eq!(names(&in_container), names(&on_host));
    assert!(
        in_container
            .iter()
            .all(|r| r["shard"] == "1/4" && r["status"] == "analysed")
    );
    let stats: Value =
        serde_json::from_slice(&std::fs::read(data.join("out/stats/shard-1-of-4.json")).unwrap())
            .unwrap();
    assert_eq!(stats["exit_code"], 0);
    assert_eq!(stats["analysed"], on_host.len());
}
