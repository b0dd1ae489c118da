//! Runs the rows of the benchmark: each command timed by hyperfine over several runs, each run
//! under `/usr/bin/time` for its peak resident memory, with the load average before and after
//! so a reader can tell a quiet machine from a busy one.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

/// One command of the table.
pub struct Row {
    pub id: &'static str,
    pub group: &'static str,
    /// What the row measures, for the table.
    pub what: String,
    /// A shell command line.
    pub command: String,
    /// Run before every timed run (and not timed), e.g. to empty a cache.
    pub prepare: Option<String>,
    pub runs: usize,
    /// The command's own exit code is not the point (dive --ci, pydive ci).
    pub ignore_failure: bool,
    /// Times taken by the command itself (one line of seconds per run in this file) instead of
    /// hyperfine's, e.g. the explorer's time to its first screen.
    pub self_timed: Option<PathBuf>,
}

#[derive(Clone, Debug, Default)]
pub struct Timing {
    pub mean: f64,
    pub stddev: f64,
    pub min: f64,
    /// CPU seconds (user + system) per run, as hyperfine measures them.
    pub cpu: f64,
    /// The largest peak resident set of any run, in bytes.
    pub peak_rss: u64,
    pub runs: usize,
    pub load_before: f64,
    pub load_after: f64,
}

pub struct Outcome {
    pub row: Row,
    pub timing: Result<Timing, String>,
}

pub fn loadavg() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub fn run_row(row: Row, work: &Path) -> Outcome {
    eprintln!("timing: {} ({})", row.id, row.command);
    let timing = time_row(&row, work).map_err(|e| format!("{e:#}"));
    if let Err(e) = &timing {
        eprintln!("  failed: {e}");
    }
    Outcome { row, timing }
}

fn time_row(row: &Row, work: &Path) -> Result<Timing> {
    let mem = work.join(format!("{}.rss", row.id));
    let json = work.join(format!("{}.json", row.id));
    let _ = fs::remove_file(&mem);
    if let Some(file) = &row.self_timed {
        let _ = fs::remove_file(file);
    }
    let wrapped = format!(
        "/usr/bin/time -f %M -a -o {} sh -c {}",
        sh_quote(&mem.to_string_lossy()),
        sh_quote(&row.command)
    );
    let mut cmd = Command::new("hyperfine");
    cmd.args(["--style", "none", "--warmup", "1", "--runs"])
        .arg(row.runs.to_string())
        .arg("--export-json")
        .arg(&json)
        .args(["-n", row.id]);
    if let Some(prepare) = &row.prepare {
        cmd.arg("--prepare").arg(prepare);
    }
    if row.ignore_failure {
        cmd.arg("--ignore-failure");
    }
    cmd.arg(&wrapped);
    let load_before = loadavg();
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("cannot run hyperfine")?;
    let load_after = loadavg();
    ensure!(
        out.status.success(),
        "hyperfine failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let report: Value = serde_json::from_slice(&fs::read(&json)?)?;
    let r = &report["results"][0];
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let mut timing = Timing {
        mean: num(&r["mean"]),
        stddev: num(&r["stddev"]),
        min: num(&r["min"]),
        cpu: num(&r["user"]) + num(&r["system"]),
        runs: r["times"].as_array().map_or(0, Vec::len),
        load_before,
        load_after,
        peak_rss: 0,
    };
    // `time -f %M` prints kilobytes; a line that is not a number is a message from time
    // ("Command exited with non-zero status").
    let rss = fs::read_to_string(&mem).unwrap_or_default();
    timing.peak_rss = rss
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .max()
        .context("no peak memory recorded")?
        * 1024;
    if let Some(file) = &row.self_timed {
        let times: Vec<f64> = fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        // The warm-up run is the first line.
        let times = &times[1.min(times.len())..];
        ensure!(!times.is_empty(), "the command recorded no time of its own");
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let var = times.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / times.len() as f64;
        timing.mean = mean;
        timing.stddev = var.sqrt();
        timing.min = times.iter().copied().fold(f64::INFINITY, f64::min);
        timing.runs = times.len();
    }
    Ok(timing)
}

/// The explorer in a real terminal (tmux): the seconds from its start to its first screen
/// of the image (the layers pane, after the loading screen), appended to `times`. Then `q`.
pub fn first_screen(pydive: &str, image: &str, mem: &str, times: &str) -> Result<()> {
    let socket = format!("pydive-bench-{}", std::process::id());
    let tmux = || {
        let mut c = Command::new("tmux");
        c.args(["-L", &socket]);
        c
    };
    let command = format!(
        "/usr/bin/time -f %M -a -o {} {} {}",
        sh_quote(mem),
        sh_quote(pydive),
        sh_quote(image)
    );
    let start = Instant::now();
    let ok = tmux()
        .args(["new-session", "-d", "-x", "160", "-y", "45", "-s", "bench"])
        .arg(&command)
        .status()?
        .success();
    ensure!(ok, "tmux new-session failed");
    let result = (|| {
        loop {
            let capture = tmux().args(["capture-pane", "-p"]).output()?;
            ensure!(
                capture.status.success(),
                "the explorer ended before its first screen"
            );
            let screen = String::from_utf8_lossy(&capture.stdout);
            if screen.contains("Layers ") {
                return Ok(start.elapsed());
            }
            if start.elapsed() > Duration::from_secs(900) {
                bail!("no first screen after 900 s: {screen}");
            }
            // Each look is a tmux client started and a screen captured: every 5 ms that took
            // most of a core from the explorer on 2 cores (0.9 CPU-s a run). Every 50 ms
            // costs little and still sees the screen within 50 ms.
            std::thread::sleep(Duration::from_millis(50));
        }
    })();
    let _ = tmux().args(["send-keys", "q"]).status();
    // Wait for pydive to end so `time` writes its peak memory.
    let quit = Instant::now();
    while quit.elapsed() < Duration::from_secs(30)
        && tmux()
            .args(["has-session", "-t", "bench"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = tmux().arg("kill-server").stderr(Stdio::null()).status();
    let elapsed = result?;
    let mut line = fs::read_to_string(times).unwrap_or_default();
    line.push_str(&format!("{:.6}\n", elapsed.as_secs_f64()));
    fs::write(times, line)?;
    Ok(())
}

/// Debian's docker-registry on a free loopback port, storing in `dir`; stopped when dropped.
pub struct Registry {
    child: Child,
    pub port: u16,
}

impl Registry {
    pub fn start(dir: &Path) -> Result<Registry> {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        );
        fs::write(dir.join("config.yml"), config)?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("registry.log"))?)
            .spawn()
            .context("cannot run docker-registry")?;
        let mut registry = Registry { child, port };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > Duration::from_secs(30) || registry.child.try_wait()?.is_some() {
                bail!("docker-registry did not start; see {}", dir.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The layer blobs of the image tagged `tag` (or the only one) in an OCI layout.
pub fn oci_layers(dir: &Path, tag: Option<&str>) -> Result<Vec<PathBuf>> {
    let read = |digest: &str| -> Result<Value> {
        let hex = digest.trim_start_matches("sha256:");
        Ok(serde_json::from_slice(&fs::read(
            dir.join("blobs/sha256").join(hex),
        )?)?)
    };
    let index: Value = serde_json::from_slice(&fs::read(dir.join("index.json"))?)?;
    let manifests = index["manifests"].as_array().context("index.json")?;
    let chosen = manifests
        .iter()
        .find(|m| tag.is_none_or(|t| m["annotations"]["org.opencontainers.image.ref.name"] == t))
        .context("no such tag in index.json")?;
    let manifest = read(chosen["digest"].as_str().context("digest")?)?;
    manifest["layers"]
        .as_array()
        .context("layers")?
        .iter()
        .map(|l| {
            let hex = l["digest"].as_str().context("digest")?;
            Ok(dir
                .join("blobs/sha256")
                .join(hex.trim_start_matches("sha256:")))
        })
        .collect()
}

/// The first line a program prints for `--version`, or `None` when it is not there.
pub fn version(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    out.status
        .success()
        .then(|| text.lines().next().unwrap_or_default().trim().to_string())
}
