//! Writes RESULTS.md: the machine, the image, the table of rows, each target of the
//! performance issue met or missed by how much, and a profile for each missed one.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::Result;
use pydive::fixture::{Content, Entry, Image};

use crate::image::{Sources, Stats};
use crate::measure::{self, Outcome, Timing};
use crate::{Args, Scale};

pub struct SeriesStats {
    pub tag: &'static str,
    pub files: usize,
    pub bytes: u64,
    pub largest_elf: u64,
}

pub struct Inputs<'a> {
    pub args: &'a Args,
    pub stats: &'a Stats,
    pub series: Vec<SeriesStats>,
    pub sources: &'a Sources,
    pub archive: &'a Path,
    pub gzip_dir: &'a Path,
    pub zstd_dir: &'a Path,
    pub notes: Vec<String>,
    pub work: &'a Path,
}

/// Files and content bytes of the series, from the main image's counts plus what each
/// later image's extra layer declares.
pub fn series_stats(main: &Stats, series: &[Image], huge: &Path) -> Result<Vec<SeriesStats>> {
    let mut out = vec![SeriesStats {
        tag: "latest",
        files: main.files,
        bytes: main.tar_bytes,
        largest_elf: main.largest_elf,
    }];
    let huge_len = fs::metadata(huge)?.len();
    for (image, tag) in series.iter().zip(["files-x2", "bytes-x2", "huge-so"]) {
        let prev = out.last().unwrap();
        let layer = image.layers.last().unwrap();
        let mut files = prev.files;
        let mut bytes = prev.bytes;
        for entry in &layer.entries {
            if let Entry::File { content, .. } = entry {
                files += 1;
                bytes += match content {
                    Content::Bytes(b) => b.len() as u64,
                    Content::Pattern { len, .. }
                    | Content::Text { len, .. }
                    | Content::Disk { len, .. }
                    | Content::Repeat { len, .. } => *len,
                };
            }
        }
        let largest_elf = if tag == "huge-so" {
            prev.largest_elf.max(huge_len)
        } else {
            prev.largest_elf
        };
        out.push(SeriesStats {
            tag,
            files,
            bytes,
            largest_elf,
        });
    }
    Ok(out)
}

fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

const MEMORY: &str = "A memory target: see where the memory goes with a heap profiler (e.g. `valgrind --tool=massif`, or `heaptrack` where installed) on the row's command.";

fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir.join("blobs/sha256"))
        .map(|r| {
            r.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// A target: `measured <= limit` (both in the same unit), or a note why it was not measured.
struct Target {
    name: String,
    measured: Option<(f64, f64, String)>,
    note: String,
    /// The row to profile when missed.
    profile_row: Option<&'static str>,
    /// Where to look instead, for a target no row's profile explains.
    look: &'static str,
}

pub fn write(path: &Path, inputs: &Inputs, outcomes: &[Outcome]) -> Result<()> {
    let get = |id: &str| -> Option<&Timing> {
        outcomes
            .iter()
            .find(|o| o.row.id == id)
            .and_then(|o| o.timing.as_ref().ok())
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut s = String::new();
    writeln!(s, "# pydive benchmark results\n")?;
    if inputs.args.dry_run || inputs.args.scale == Scale::Small {
        writeln!(
            s,
            "> **Dry run: these numbers are not results.** They were taken on a loaded machine \
             (other builds and tests running beside them; see the load averages) to check that \
             the harness runs end to end and writes this file. Re-run `benches/run.sh` on a \
             quiet machine and replace this file.\n"
        )?;
    }
    if inputs.args.scale == Scale::Small {
        writeln!(
            s,
            "> **Small image (`--small`)**: a cut-down image of a few hundred MB, not the \
             benchmark's (>= 1.5 GB, >= 40k files, >= 1,000 ELF files); the targets below are \
             checked on it only to exercise the report.\n"
        )?;
    }
    let commit = first_line("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !first_line(
        "git",
        &[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":!benches/RESULTS.md",
        ],
    )
    .is_empty();
    writeln!(
        s,
        "Written by `benches/run.sh` (`cargo bench --bench realistic`) on {}, pydive at commit {commit}{}. Wall times are means of {} timed runs after one warm-up run (page cache warm), ± one standard deviation; CPU is user + system seconds per run; peak memory is the largest resident set of any run (`/usr/bin/time`). Ratios below are of means.\n",
        first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        if dirty { " (with local changes)" } else { "" },
        inputs.args.runs,
    )?;

    writeln!(s, "## Machine\n")?;
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let flags = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let sha_ni = flags.contains(" sha_ni");
    let mem = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .and_then(|k| k.parse::<u64>().ok())
        .unwrap_or(0);
    writeln!(
        s,
        "- CPU: {cpu}, {cores} cores available; SHA extensions (sha_ni): {}",
        if sha_ni { "yes" } else { "no" }
    )?;
    writeln!(
        s,
        "- Memory: {:.1} GiB; kernel {}",
        mem as f64 / (1 << 20) as f64,
        first_line("uname", &["-r"])
    )?;
    let loads: Vec<f64> = outcomes
        .iter()
        .filter_map(|o| o.timing.as_ref().ok())
        .flat_map(|t| [t.load_before, t.load_after])
        .collect();
    if !loads.is_empty() {
        let max = loads.iter().copied().fold(0.0, f64::max);
        let min = loads.iter().copied().fold(f64::INFINITY, f64::min);
        writeln!(
            s,
            "- Load average (1 min) during the rows: {min:.2} to {max:.2} (a quiet machine stays near 0 between rows; above {cores} means processes were waiting for a core)"
        )?;
    }
    let tools = [
        ("hyperfine", measure::version("hyperfine")),
        ("dive", measure::version("dive")),
        ("diving", measure::version("diving")),
        ("skopeo", measure::version("skopeo")),
        ("gzip", measure::version("gzip")),
        ("zstd", measure::version("zstd")),
        ("openssl", Some(first_line("openssl", &["version"]))),
        ("rustc", measure::version("rustc")),
    ];
    let tools: Vec<String> = tools
        .iter()
        .map(|(name, v)| format!("{name}: {}", v.as_deref().unwrap_or("not installed")))
        .collect();
    writeln!(s, "- Tools: {}\n", tools.join("; "))?;

    let st = inputs.stats;
    writeln!(s, "## The image\n")?;
    writeln!(
        s,
        "Built by `benches/realistic/image.rs` with the fixture builder from real Debian packages ({} of them, `benches/realistic/debs.txt`) and wheels ({}, `benches/realistic/wheels.txt`), plus generated application files; counted back from the written archive with the tar crate and goblin:\n",
        inputs.sources.debs.len(),
        inputs.sources.wheels.len()
    )?;
    writeln!(s, "| | |\n|---|---|")?;
    writeln!(s, "| layers | {} |", st.layers)?;
    writeln!(
        s,
        "| tar entries / regular files | {} / {} |",
        st.entries, st.files
    )?;
    writeln!(s, "| uncompressed layer bytes | {} |", mb(st.tar_bytes))?;
    writeln!(
        s,
        "| ELF files / over 16 MB / largest | {} / {} / {} |",
        st.elf,
        st.elf_over_16mb,
        mb(st.largest_elf)
    )?;
    writeln!(
        s,
        "| ELF files with the dynamic string table in an extra load segment after the code (patchelf / auditwheel layout) | {} |",
        st.elf_patched_layout
    )?;
    writeln!(
        s,
        "| dist-info RECORD files / pip cache files | {} / {} |",
        st.records, st.pip_cache_files
    )?;
    writeln!(
        s,
        "| whiteouts / opaque directories / hard links / symlinks | {} / {} / {} / {} |",
        st.whiteouts, st.opaque, st.hardlinks, st.symlinks
    )?;
    let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    writeln!(
        s,
        "| on disk: docker-archive / OCI gzip / OCI zstd | {} / {} / {} |\n",
        mb(size(inputs.archive)),
        mb(dir_size(inputs.gzip_dir)),
        mb(dir_size(inputs.zstd_dir))
    )?;

    writeln!(s, "## Timings\n")?;
    writeln!(
        s,
        "| layout | row | wall (s) | CPU (s) | peak memory | runs | load before/after |"
    )?;
    writeln!(s, "|---|---|---|---|---|---|---|")?;
    for o in outcomes {
        match &o.timing {
            Ok(t) => writeln!(
                s,
                "| {} | {} | {:.3} ± {} | {:.2} | {} | {} | {:.2} / {:.2} |",
                o.row.group,
                o.row.what,
                t.mean,
                if t.stddev.is_nan() {
                    "-".to_string()
                } else {
                    format!("{:.3}", t.stddev)
                },
                t.cpu,
                mib(t.peak_rss),
                t.runs,
                t.load_before,
                t.load_after
            )?,
            Err(e) => writeln!(
                s,
                "| {} | {} | failed: {} | | | | |",
                o.row.group,
                o.row.what,
                e.replace('|', "/").replace('\n', " ")
            )?,
        }
    }
    let work = inputs
        .work
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(inputs.work);
    writeln!(
        s,
        "\nEach row's exact command and every run's time are in `{}/<row>.json` (hyperfine's export) after a run; the row ids are in `benches/realistic/main.rs`.",
        work.display()
    )?;
    for note in &inputs.notes {
        writeln!(s, "\n{note}")?;
    }

    // The targets.
    let ratio = |name: &str, a: &str, b: &str, k: f64, row: &'static str| -> Target {
        let measured = match (get(a), get(b)) {
            (Some(x), Some(y)) => Some((
                x.mean / y.mean,
                k,
                format!("{:.3} s / {:.3} s", x.mean, y.mean),
            )),
            _ => None,
        };
        Target {
            name: name.to_string(),
            note: if measured.is_none() {
                format!("not measured (rows `{a}`, `{b}`)")
            } else {
                String::new()
            },
            measured,
            profile_row: Some(row),
            look: "",
        }
    };
    let mut targets = vec![
        ratio(
            "docker-archive, full analysis: <= 0.5x dive's wall time",
            "pydive-archive",
            "dive",
            0.5,
            "pydive-archive",
        ),
        ratio(
            "docker-archive, full analysis: <= 1.0x diving's wall time",
            "pydive-archive",
            "diving",
            1.0,
            "pydive-archive",
        ),
        ratio(
            "docker-archive, `--no-verify`: <= 0.15x dive's wall time",
            "pydive-archive-no-verify",
            "dive",
            0.15,
            "pydive-archive-no-verify",
        ),
    ];
    let digest_cost = match (
        get("pydive-archive"),
        get("pydive-archive-no-verify"),
        get("floor-sha256"),
    ) {
        (Some(v), Some(n), Some(sha)) => Some((
            (v.mean - n.mean) / (sha.mean / cores as f64),
            1.0,
            format!(
                "{:.3} s - {:.3} s = {:.3} s against {:.3} s / {cores} cores",
                v.mean,
                n.mean,
                v.mean - n.mean,
                sha.mean
            ),
        )),
        _ => None,
    };
    targets.push(Target {
        name: "checking digests costs <= the SHA-256 floor / cores".to_string(),
        note: if digest_cost.is_none() {
            "not measured".to_string()
        } else {
            String::new()
        },
        measured: digest_cost,
        profile_row: Some("pydive-archive"),
        look: "",
    });
    targets.push(ratio(
        "OCI gzip: <= 0.6x the sequential `gzip -dc` floor",
        "pydive-gzip",
        "floor-gzip",
        0.6,
        "pydive-gzip",
    ));
    targets.push(ratio(
        "OCI zstd: <= 1.0x the sequential `zstd -dc` floor",
        "pydive-zstd",
        "floor-zstd",
        1.0,
        "pydive-zstd",
    ));
    let peak = get("pydive-archive").map(|t| t.peak_rss);
    targets.push(Target {
        name: "peak memory < 120 MiB on the image (docker-archive, digests checked)".to_string(),
        measured: peak.map(|p| (p as f64 / (1 << 20) as f64, 120.0, mib(p))),
        note: if peak.is_none() {
            "not measured".to_string()
        } else {
            String::new()
        },
        profile_row: None,
        look: MEMORY,
    });
    let grow = |name: &str, a: &str, b: &str| -> Target {
        let measured = match (get(a), get(b)) {
            (Some(x), Some(y)) => Some((
                x.peak_rss as f64 / y.peak_rss as f64,
                1.1,
                format!("{} / {}", mib(x.peak_rss), mib(y.peak_rss)),
            )),
            _ => None,
        };
        Target {
            name: name.to_string(),
            note: if measured.is_none() {
                "not measured".to_string()
            } else {
                String::new()
            },
            measured,
            profile_row: None,
            look: MEMORY,
        }
    };
    targets.push(grow(
        "memory does not grow with bytes: twice the bytes, peak <= 1.1x",
        "series-3-bytes-x2",
        "series-2-files-x2",
    ));
    targets.push(grow(
        "memory does not grow with the largest ELF: the large .so added, peak <= 1.1x",
        "series-4-huge-so",
        "series-3-bytes-x2",
    ));
    targets.push(ratio(
        "the explorer's first screen: <= 1.2x `pydive report` on the same image",
        "explorer-first-screen",
        "pydive-archive",
        1.2,
        "pydive-archive",
    ));
    targets.push(explorer_micro(inputs.work));
    targets.push(ratio(
        "registry: download, verify and analyse <= 1.2x `skopeo copy`",
        "registry-pydive",
        "skopeo-copy",
        1.2,
        "registry-pydive",
    ));

    writeln!(s, "\n## Targets\n")?;
    writeln!(s, "| target | measured | ratio or value | limit | |")?;
    writeln!(s, "|---|---|---|---|---|")?;
    let mut missed = Vec::new();
    for t in &targets {
        match &t.measured {
            Some((value, limit, how)) => {
                let met = value <= limit;
                let verdict = if met {
                    "met".to_string()
                } else {
                    missed.push(t);
                    format!("**missed** by {:.0}%", (value / limit - 1.0) * 100.0)
                };
                writeln!(
                    s,
                    "| {} | {how} | {value:.3} | {limit} | {verdict} |",
                    t.name
                )?;
            }
            None => writeln!(s, "| {} | | | | {} |", t.name, t.note)?,
        }
    }
    let series_ids = [
        "series-1-image",
        "series-2-files-x2",
        "series-3-bytes-x2",
        "series-4-huge-so",
    ];
    writeln!(s, "\n## Memory: files, not bytes\n")?;
    writeln!(
        s,
        "Each image is the previous one plus one layer; `pydive report --format json` on an OCI layout with plain layers.\n"
    )?;
    writeln!(
        s,
        "| image | regular files | content bytes | largest ELF | peak memory | wall (s) |"
    )?;
    writeln!(s, "|---|---|---|---|---|---|")?;
    for (st, id) in inputs.series.iter().zip(series_ids) {
        let (rss, wall) = get(id).map_or(("not measured".to_string(), String::new()), |t| {
            (mib(t.peak_rss), format!("{:.3}", t.mean))
        });
        writeln!(
            s,
            "| {} | {} | {} | {} | {rss} | {wall} |",
            st.tag,
            st.files,
            mb(st.bytes),
            mb(st.largest_elf)
        )?;
    }

    writeln!(s, "\n## Profiles of missed targets\n")?;
    if missed.is_empty() {
        writeln!(s, "No target was missed.")?;
    }
    let mut profiled = std::collections::HashSet::new();
    for t in missed {
        writeln!(s, "### {}\n", t.name)?;
        let Some(id) = t.profile_row else {
            writeln!(s, "{}\n", t.look)?;
            continue;
        };
        if !inputs.args.profile {
            writeln!(
                s,
                "Profile: not recorded in this run (`benches/run.sh --profile` records `perf record -g` of the row `{id}` here).\n"
            )?;
            continue;
        }
        if !profiled.insert(id) {
            writeln!(s, "Profile: the one of row `{id}` above.\n")?;
            continue;
        }
        let Some(o) = outcomes.iter().find(|o| o.row.id == id) else {
            continue;
        };
        writeln!(
            s,
            "`perf record -g` of row `{id}`, `perf report --no-children`, entries above 1%:\n\n```"
        )?;
        writeln!(s, "{}```\n", profile(&o.row.command, id, inputs.work))?;
    }
    fs::write(path, s)?;
    Ok(())
}

/// The criterion micro-benchmark of the explorer on a 100k-node tree, if it has been run.
fn explorer_micro(work: &Path) -> Target {
    let name =
        "the explorer: filter and redraw a 100k-node tree within 16 ms per keystroke".to_string();
    let estimates = work.join("../criterion/explorer/filter_keystroke_100k/new/estimates.json");
    let measured = fs::read(&estimates).ok().and_then(|b| {
        let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
        let ns = v["mean"]["point_estimate"].as_f64()?;
        Some((
            ns / 1e6,
            16.0,
            format!(
                "{:.2} ms (criterion's mean, from the last `cargo bench --bench micro` run)",
                ns / 1e6
            ),
        ))
    });
    Target {
        name,
        note: if measured.is_none() {
            "not measured: run `cargo bench --bench micro -- explorer` first".to_string()
        } else {
            String::new()
        },
        measured,
        profile_row: None,
        look: "Profile the criterion benchmark: `perf record -g target/release/deps/micro-* --bench --profile-time 10 explorer/filter_keystroke_100k`.",
    }
}

fn profile(command: &str, id: &str, work: &Path) -> String {
    let data = work.join(format!("perf-{id}.data"));
    let record = Command::new("perf")
        .args(["record", "-g", "-q", "-o"])
        .arg(&data)
        .args(["--", "sh", "-c", command])
        .output();
    match record {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return format!(
                "perf record failed: {}\n",
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Err(e) => return format!("perf is not installed ({e}); apt-get install linux-perf\n"),
    }
    let report = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--percent-limit",
            "1",
            "-g",
            "none",
            "-i",
        ])
        .arg(&data)
        .output();
    match report {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .take(40)
            .map(|l| format!("{l}\n"))
            .collect(),
        Err(e) => format!("perf report failed: {e}\n"),
    }
}
