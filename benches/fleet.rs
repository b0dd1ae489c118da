//! A fleet scan: 200 images sharing four base images in Debian's `docker-registry` on a loopback
//! port, scanned by `pydive scan` as one shard, as four shards at once, and again with
//! `--previous` (nothing changed, then 10 images rebuilt). Run with `cargo bench --bench fleet`.
//! The counts that matter (manifests read, layers walked and served again, reports reused) are
//! exact; the times depend on the machine and on what else runs on it.
//!
//! What it shows: a base layer is walked once per shard, not once per image, so one shard's
//! work grows with the distinct layers, not the images; four shards split the images by
//! repository and each walks the bases its images use; a `--previous` rerun reads only what
//! changed.

#[path = "../tests/common/fleet.rs"]
#[allow(dead_code)]
mod fleet;
#[path = "../tests/common/services.rs"]
#[allow(dead_code)]
mod services;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use fleet::Pusher;
use pydive::fixture::{Entry, Image, Layer};
use serde_json::Value;

const IMAGES: usize = 200;
const BASES: usize = 4;
/// Images per repository (its tags).
const TAGS: usize = 5;

fn base(i: usize) -> Layer {
    // A distribution's /usr: many files, a few MB.
    let mut entries = vec![Entry::dir("usr"), Entry::dir("usr/lib")];
    for d in 0..20 {
        entries.push(Entry::dir(format!("usr/lib/pkg{d}")));
        for f in 0..100u64 {
            entries.push(Entry::file_len(
                format!("usr/lib/pkg{d}/f{f}.py"),
                2_000 + (f * 37) % 3_000,
                (i * 10_000 + d * 100) as u64 + f,
            ));
        }
    }
    Layer::new(&format!("ADD base{i}.tar /"), entries).gzip()
}

fn app(k: usize) -> Image {
    let mut entries = vec![Entry::dir("app")];
    for f in 0..40u64 {
        entries.push(Entry::file_len(
            format!("app/m{k}_{f}.py"),
            5_000,
            1_000_000 + (k as u64) * 100 + f,
        ));
    }
    if k % 5 == 0 {
        entries.extend([
            Entry::dir("root"),
            Entry::dir("root/.cache"),
            Entry::dir("root/.cache/pip"),
            Entry::file_len(format!("root/.cache/pip/w{k}.whl"), 200_000, 7 + k as u64),
        ]);
    }
    Image::new(vec![
        base(k % BASES),
        Layer::new("RUN pip install .", entries).gzip(),
    ])
}

fn scan(args: &[&str]) -> (f64, Vec<Value>) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_pydive"))
        .arg("scan")
        .args(args)
        .arg("--quiet")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (start.elapsed().as_secs_f64(), Vec::new())
}

fn stats(out: &Path, stem: &str) -> Value {
    serde_json::from_slice(&std::fs::read(out.join(format!("stats/{stem}.json"))).unwrap()).unwrap()
}

fn line(what: &str, seconds: f64, s: &[Value]) {
    let sum = |f: &dyn Fn(&Value) -> u64| s.iter().map(f).sum::<u64>();
    println!(
        "| {what} | {seconds:.1} s | {} | {} | {} | {} |",
        sum(&|v| v["analysed"].as_u64().unwrap()),
        sum(&|v| v["reused"].as_u64().unwrap()),
        sum(&|v| v["layers"]["walked"].as_u64().unwrap()),
        sum(&|v| v["layers"]["reused"].as_u64().unwrap()),
    );
}

fn main() {
    let registry = match services::Registry::start() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fleet benchmark skipped: docker-registry is not available: {e}");
            return;
        }
    };
    let pusher = Pusher {
        port: registry.port,
    };
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    for k in 0..IMAGES {
        let layout = work.path().join(format!("img{k}"));
        app(k).write_oci_dir(&layout).unwrap();
        pusher.push_layout(
            &layout,
            &format!("svc-{:03}", k / TAGS),
            &format!("v{}", k % TAGS),
        );
        std::fs::remove_dir_all(&layout).unwrap();
    }
    eprintln!(
        "pushed {IMAGES} images ({} repositories, {BASES} bases) in {:.1} s",
        IMAGES / TAGS,
        started.elapsed().as_secs_f64()
    );
    let source = format!("registry:{}", registry.address());
    let dir = |name: &str| -> PathBuf { work.path().join(name) };
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();

    println!(
        "| run | wall time | images read | reports reused | layers walked | layers served again |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let one = dir("one");
    let (t, _) = scan(&["--shard", "0/1", "-o", &s(&one), &source]);
    line("one shard", t, &[stats(&one, "shard-0-of-1")]);

    let four = dir("four");
    let start = Instant::now();
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_pydive"))
                .args([
                    "scan",
                    "--quiet",
                    "--shard",
                    &format!("{i}/4"),
                    "-o",
                    &s(&four),
                    &source,
                ])
                .stdin(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let t = start.elapsed().as_secs_f64();
    let all: Vec<Value> = (0..4)
        .map(|i| stats(&four, &format!("shard-{i}-of-4")))
        .collect();
    line("four shards at once", t, &all);

    let again = dir("again");
    let (t, _) = scan(&["--previous", &s(&one), "-o", &s(&again), &source]);
    line(
        "--previous, nothing changed",
        t,
        &[stats(&again, "shard-0-of-1")],
    );

    // Ten images rebuilt on their base.
    for k in 0..10 {
        let layout = work.path().join(format!("new{k}"));
        app(IMAGES + k * BASES).write_oci_dir(&layout).unwrap();
        pusher.push_layout(&layout, &format!("svc-{:03}", k * 4), "v0");
    }
    let changed = dir("changed");
    let (t, _) = scan(&["--previous", &s(&one), "-o", &s(&changed), &source]);
    line(
        "--previous, 10 images rebuilt",
        t,
        &[stats(&changed, "shard-0-of-1")],
    );
}
