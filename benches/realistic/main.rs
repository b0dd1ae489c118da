//! The end-to-end benchmark: builds a large, realistic Python image with the fixture builder
//! (real Debian packages and wheels, see `image.rs`), writes it as a `docker save` archive and
//! as OCI layouts with gzip and zstd layers, times pydive beside dive, diving, skopeo and the
//! floors (reading, hashing and decompressing the same bytes) with hyperfine and
//! `/usr/bin/time`, and writes `benches/RESULTS.md`: the table, the machine, and each target
//! of the performance issue met or missed by how much.
//!
//! Run it with `benches/run.sh` (which installs the tools it needs when missing), or
//! `cargo bench --bench realistic -- [OPTIONS]`:
//!   --small          a small image (minutes, not a result: for checking the harness)
//!   --runs N         timed runs per row (default 5); --series-runs N for the memory series
//!   --profile        `perf record` each pydive row whose target was missed, into RESULTS.md
//!   --dry-run        mark RESULTS.md as a dry run on a loaded machine, not a result
//!   --only A,B       only the rows whose id starts with one of these
//!   --results PATH   where to write (default benches/RESULTS.md; target/bench/ for --small)
//!   --build-only     build and check the images, time nothing
//!   --image-only     build the image once, print its counts, check them, remove it

mod image;
mod measure;
mod results;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use measure::{Outcome, Row, sh_quote};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Full,
    Small,
}

pub struct Args {
    pub scale: Scale,
    pub runs: usize,
    pub series_runs: usize,
    pub profile: bool,
    pub dry_run: bool,
    pub only: Vec<String>,
    pub results: Option<PathBuf>,
    pub build_only: bool,
    pub image_only: bool,
}

fn args() -> Result<Args> {
    let mut args = Args {
        scale: Scale::Full,
        runs: 5,
        series_runs: 3,
        profile: false,
        dry_run: false,
        only: Vec::new(),
        results: None,
        build_only: false,
        image_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--small" => args.scale = Scale::Small,
            "--runs" => args.runs = value()?.parse()?,
            "--series-runs" => args.series_runs = value()?.parse()?,
            "--profile" => args.profile = true,
            "--dry-run" => args.dry_run = true,
            "--only" => args.only = value()?.split(',').map(String::from).collect(),
            "--results" => args.results = Some(value()?.into()),
            "--build-only" => args.build_only = true,
            "--image-only" => args.image_only = true,
            // cargo bench passes --bench to every benchmark binary.
            "--bench" => {}
            other => anyhow::bail!("unknown option {other}; see benches/realistic/main.rs"),
        }
    }
    Ok(args)
}

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    // The explorer's first screen is timed by this same binary, run by hyperfine.
    if argv.get(1).map(String::as_str) == Some("first-screen") {
        return measure::first_screen(&argv[2], &argv[3], &argv[4], &argv[5]);
    }
    let args = args()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let suffix = if args.scale == Scale::Small {
        "-small"
    } else {
        ""
    };
    let work = root.join(format!("target/bench{suffix}"));
    std::fs::create_dir_all(&work)?;
    let cache = image::Cache {
        dir: root.join("target/bench-downloads"),
    };

    // The images.
    let (main_image, sources) = image::declare(&cache, args.scale)?;
    if args.image_only {
        // Written once as an OCI layout (no staging copy, unlike an archive), counted, removed.
        let dir = work.join("oci-check");
        image::write_oci(std::slice::from_ref(&main_image), &dir)?;
        let stats = image::stats_of_files(&measure::oci_layers(&dir, None)?);
        std::fs::remove_dir_all(&dir)?;
        let stats = stats?;
        eprintln!("image: {stats:?}");
        return image::check(&stats, args.scale);
    }
    let archive = work.join("image.tar");
    image::write_archive(&main_image, &archive)?;
    let stats = image::stats(&archive)?;
    eprintln!("image: {stats:?}");
    image::check(&stats, args.scale)?;
    let gzip_dir = work.join("oci-gzip");
    image::write_oci(&[image::compressed(&main_image, false)], &gzip_dir)?;
    let zstd_dir = work.join("oci-zstd");
    image::write_oci(&[image::compressed(&main_image, true)], &zstd_dir)?;
    let huge_size = if args.scale == Scale::Small {
        20_000_000
    } else {
        500_000_000
    };
    let huge = image::huge_library(&cache.dir.join("huge"), huge_size)?;
    let series_images = image::series(&main_image, &stats, &huge)?;
    let series_dir = work.join("oci-series");
    let mut all = vec![main_image.clone()];
    all.extend(series_images.iter().cloned());
    image::write_oci(&all, &series_dir)?;
    if args.build_only {
        return Ok(());
    }

    let pydive = env!("CARGO_BIN_EXE_pydive");
    let mut outcomes: Vec<Outcome> = Vec::new();
    let wanted = |id: &str| args.only.is_empty() || args.only.iter().any(|o| id.starts_with(o));
    let mut time = |row: Row| {
        if wanted(row.id) {
            outcomes.push(measure::run_row(row, &work));
        }
    };
    let q = |p: &Path| sh_quote(&p.to_string_lossy());
    let img = q(&archive);
    let runs = args.runs;
    let row = |id, group, what: &str, command: String| Row {
        id,
        group,
        what: what.to_string(),
        command,
        prepare: None,
        runs,
        ignore_failure: false,
        self_timed: None,
    };
    let pydive_q = sh_quote(pydive);
    let report = |source: &str, verify: bool| {
        format!(
            "{pydive_q} report --format json --quiet {}{source} > /dev/null",
            if verify { "" } else { "--no-verify " }
        )
    };

    // docker-archive, plain tar layers.
    let plain_layers = measure::oci_layers(&series_dir, Some("latest"))?;
    let files = |paths: &[PathBuf]| paths.iter().map(|p| q(p)).collect::<Vec<_>>().join(" ");
    time(row(
        "floor-cat",
        "docker-archive",
        "floor: read the tarball once (`cat > /dev/null`)",
        format!("cat {img} > /dev/null"),
    ));
    time(row(
        "floor-sha256",
        "docker-archive",
        "floor: SHA-256 of every layer, one after another (`openssl dgst -sha256`)",
        format!("openssl dgst -sha256 {} > /dev/null", files(&plain_layers)),
    ));
    time(row(
        "pydive-archive",
        "docker-archive",
        "`pydive report --format json`, digests checked",
        report(&img, true),
    ));
    time(row(
        "pydive-archive-no-verify",
        "docker-archive",
        "`pydive report --format json --no-verify`",
        report(&img, false),
    ));
    let scratch = work.join("scratch");
    std::fs::create_dir_all(&scratch)?;
    if measure::version("dive").is_some() {
        time(Row {
            ignore_failure: true,
            ..row(
                "dive",
                "docker-archive",
                "dive 0.13 (`dive --source docker-archive IMG --ci`)",
                format!(
                    "cd {} && CI=true dive --source docker-archive {img} --ci > /dev/null",
                    q(&scratch)
                ),
            )
        });
    }
    if measure::version("diving").is_some() {
        let home = std::env::var("HOME").unwrap_or_default();
        time(Row {
            prepare: Some(format!("rm -rf {}/.diving/analysis", sh_quote(&home))),
            ..row(
                "diving",
                "docker-archive",
                "diving (`diving file://IMG -o OUT.json`, its analysis cache removed first)",
                format!(
                    "diving file://{} -o {} > /dev/null",
                    archive.display(),
                    q(&scratch.join("diving.json"))
                ),
            )
        });
    }
    let first_times = work.join("first-screen.times");
    let this = std::env::current_exe()?;
    time(Row {
        self_timed: Some(first_times.clone()),
        ..row(
            "explorer-first-screen",
            "docker-archive",
            "the explorer (`pydive IMG` in tmux, 160x45): start to its first screen of the image",
            format!(
                "{} first-screen {pydive_q} {img} {} {}",
                q(&this),
                // pydive's own peak memory, beside that of this helper.
                q(&work.join("explorer-first-screen.rss")),
                q(&first_times)
            ),
        )
    });
    // `pydive ci --help` would print the top-level help when `ci` is taken for an image.
    let has_ci = Command::new(pydive).arg("--help").output().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.trim_start().starts_with("ci "))
    });
    let mut notes = Vec::new();
    if has_ci {
        let baseline = work.join("baseline.json");
        let ok = Command::new(pydive)
            .args(["report", "--format", "json", "--quiet", "--output"])
            .arg(&baseline)
            .arg(&archive)
            .status()?
            .success();
        if ok {
            // Exit code 1 is a failed rule, which is the gate working; 2 is an error.
            time(row(
                "pydive-ci",
                "docker-archive",
                "`pydive ci IMG --baseline report.json` (compare with `pydive report`)",
                format!(
                    "{pydive_q} ci {img} --baseline {} > /dev/null; test $? -le 1",
                    q(&baseline)
                ),
            ));
        } else {
            notes.push("`pydive ci`: could not write the baseline report; not timed.".to_string());
        }
    } else {
        notes.push("`pydive ci` does not exist in this build yet; its row is skipped.".to_string());
    }

    // OCI layouts, gzip and zstd layers.
    let gzip_layers = measure::oci_layers(&gzip_dir, None)?;
    let zstd_layers = measure::oci_layers(&zstd_dir, None)?;
    time(row(
        "floor-gzip",
        "oci-gzip",
        "floor: `gzip -dc` of every layer, one after another",
        format!(
            "for f in {}; do gzip -dc \"$f\"; done > /dev/null",
            files(&gzip_layers)
        ),
    ));
    let oci = |dir: &Path| format!("oci:{}", dir.display());
    time(row(
        "pydive-gzip",
        "oci-gzip",
        "`pydive report --format json`, digests checked",
        report(&sh_quote(&oci(&gzip_dir)), true),
    ));
    time(row(
        "pydive-gzip-no-verify",
        "oci-gzip",
        "`pydive report --format json --no-verify`",
        report(&sh_quote(&oci(&gzip_dir)), false),
    ));
    time(row(
        "floor-zstd",
        "oci-zstd",
        "floor: `zstd -dc` of every layer, one after another",
        format!(
            "for f in {}; do zstd -dcq \"$f\"; done > /dev/null",
            files(&zstd_layers)
        ),
    ));
    time(row(
        "pydive-zstd",
        "oci-zstd",
        "`pydive report --format json`, digests checked",
        report(&sh_quote(&oci(&zstd_dir)), true),
    ));
    time(row(
        "pydive-zstd-no-verify",
        "oci-zstd",
        "`pydive report --format json --no-verify`",
        report(&sh_quote(&oci(&zstd_dir)), false),
    ));

    // The registry source against skopeo, on the gzip image in a local registry.
    if wanted("registry") || wanted("skopeo") {
        match measure::Registry::start(&work.join("registry")) {
            Ok(registry) => {
                let reference = format!("docker://127.0.0.1:{}/pydive-bench:gzip", registry.port);
                let pushed = Command::new("skopeo")
                    .args(["copy", "--quiet", "--dest-tls-verify=false"])
                    .arg(oci(&gzip_dir))
                    .arg(&reference)
                    .status()?
                    .success();
                if pushed {
                    let out = work.join("skopeo-out");
                    time(Row {
                        prepare: Some(format!("rm -rf {}", q(&out))),
                        ..row(
                            "skopeo-copy",
                            "registry",
                            "`skopeo copy` of the gzip image from a local registry to a directory",
                            format!(
                                "skopeo copy --quiet --src-tls-verify=false {reference} dir:{} > /dev/null",
                                q(&out)
                            ),
                        )
                    });
                    let blobs = work.join("pydive-cache");
                    time(Row {
                        prepare: Some(format!("rm -rf {}", q(&blobs))),
                        ..row(
                            "registry-pydive",
                            "registry",
                            "`pydive report --format json` of the same image, from an empty blob cache",
                            format!(
                                "PYDIVE_CACHE_DIR={} {}",
                                q(&blobs),
                                report(&sh_quote(&reference), true)
                            ),
                        )
                    });
                } else {
                    notes.push(
                        "The registry rows were skipped: skopeo could not push the image."
                            .to_string(),
                    );
                }
            }
            Err(e) => notes.push(format!("The registry rows were skipped: {e:#}.")),
        }
        // The registry's storage and the two copies hold the image three times over.
        for dir in ["registry", "skopeo-out", "pydive-cache"] {
            let _ = std::fs::remove_dir_all(work.join(dir));
        }
    }

    // The memory series.
    let series_runs = args.series_runs;
    let huge_what = format!("then a {} MB shared library", huge_size / 1_000_000);
    for (id, tag, what) in [
        ("series-1-image", "latest", "the image (plain layers)"),
        ("series-2-files-x2", "files-x2", "twice the files"),
        ("series-3-bytes-x2", "bytes-x2", "then twice the bytes"),
        ("series-4-huge-so", "huge-so", huge_what.as_str()),
    ] {
        time(Row {
            runs: series_runs,
            ..row(
                id,
                "series",
                &format!("`pydive report --format json` on {what}"),
                report(&sh_quote(&format!("{}:{tag}", oci(&series_dir))), true),
            )
        });
    }

    let path = args.results.clone().unwrap_or_else(|| {
        if args.scale == Scale::Small {
            work.join("RESULTS.md")
        } else {
            root.join("benches/RESULTS.md")
        }
    });
    let series_stats = results::series_stats(&stats, &series_images, &huge)?;
    let inputs = results::Inputs {
        args: &args,
        stats: &stats,
        series: series_stats,
        sources: &sources,
        archive: &archive,
        gzip_dir: &gzip_dir,
        zstd_dir: &zstd_dir,
        notes,
        work: &work,
    };
    results::write(&path, &inputs, &outcomes)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
