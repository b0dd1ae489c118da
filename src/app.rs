//! Runs a validated command: read the image, analyse it, write the report.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{CiFormat, Command, DiffFormat, ReadConfig, Side};
use crate::report::json::JsonReport;
use crate::report::{self, Format, Report};
use crate::source::cache::{self, CacheConfig};
use crate::source::{self, Counters, Input, ReadOptions, Transport};

/// The demo image: built by `cargo run --example build_demo` from the fixture builder.
pub const DEMO_IMAGE: &[u8] = include_bytes!("../assets/demo.tar");

pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Report {
            source,
            format,
            files,
            output,
            read,
        } => {
            let report = load(&source, &read)?;
            emit(output.as_deref(), |out| match format {
                Format::Json => report::json::write(&report, files, out),
                _ => report::write(&report, format, out),
            })?;
        }
        Command::Audit {
            source,
            format,
            fail_on,
            output,
            read,
        } => {
            let report = load(&source, &read)?;
            emit(output.as_deref(), |out| {
                report::write_audit(&report, format, out)
            })?;
            if report.findings.iter().any(|f| fail_on.fails(f.severity)) {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Ci {
            source,
            baseline,
            config,
            format,
            output,
            report: keep,
            read,
        } => {
            let baseline = baseline
                .map(|b| side(&b, &read).context("--baseline"))
                .transpose()?;
            let json = JsonReport::with_files(&load(&source, &read)?);
            let ci = crate::ci::evaluate(&config, &json, baseline.as_ref());
            emit(output.as_deref(), |out| match format {
                CiFormat::Text => report::ci::write_text(&ci, out),
                CiFormat::Markdown => report::ci::write_markdown(&ci, out),
                CiFormat::Json => report::json::write_value(&ci, out),
                CiFormat::Junit => report::ci::write_junit(&ci, out),
                CiFormat::Sarif => report::sarif::write_ci(&ci, out),
                CiFormat::Gitlab => report::ci::write_gitlab(&ci, out),
            })?;
            if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty())
            {
                let path = Path::new(&summary);
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| {
                        format!("cannot append to GITHUB_STEP_SUMMARY {}", path.display())
                    })?;
                let mut out = BufWriter::new(file);
                report::ci::write_markdown(&ci, &mut out)?;
                out.flush()?;
            }
            if let Some(path) = keep {
                emit(Some(&path), |out| report::json::write_value(&json, out))?;
            }
            if !ci.passed {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Diff {
            old,
            new,
            format,
            output,
            read,
        } => {
            let old = side(&old, &read).context("OLD")?;
            let new = side(&new, &read).context("NEW")?;
            let diff = crate::diff::JsonDiff::from((&old, &new));
            emit(output.as_deref(), |out| match format {
                DiffFormat::Text => report::diff::write_text(&diff, out),
                DiffFormat::Markdown => report::diff::write_markdown(&diff, out),
                DiffFormat::Json => report::json::write_value(&diff, out),
            })?;
        }
        Command::Explain { rule } => emit(None, |out| match rule {
            Some(rule) => report::explain::write_rule(rule, out),
            None => report::explain::write_all(out),
        })?,
        Command::Explore { source, read } => return explore(source, read),
        Command::Demo { format } => {
            let source = Transport::DockerArchive {
                input: Input::Embedded(DEMO_IMAGE),
                reference: None,
            };
            match format {
                Some(format) => {
                    let report = load(&source, &ReadConfig::default())?;
                    emit(None, |out| report::write(&report, format, out))?;
                }
                None => return explore(source, ReadConfig::default()),
            }
        }
        Command::Cache { clear, config } => cache(clear, config.as_ref())?,
        Command::Scan(config) => return crate::scan::run(&config),
        Command::ScanMerge { dirs, output } => {
            let merged = crate::scan::merge::run(&dirs, &output)?;
            eprintln!(
                "pydive: merged {} images, {} image-platforms, {} layers, {} findings, {} packages into {}",
                merged.images,
                merged.platforms,
                merged.layers,
                merged.findings,
                merged.packages,
                output.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The explorer when standard output is a terminal, else the text report.
fn explore(source: Transport, mut read: ReadConfig) -> Result<ExitCode> {
    if !io::stdout().is_terminal() {
        let report = load(&source, &read)?;
        emit(None, |out| report::write(&report, Format::Text, out))?;
        return Ok(ExitCode::SUCCESS);
    }
    // The explorer shows its own progress; bars on standard error would draw over it.
    read.fetch.progress = false;
    crate::tui::run(source.to_string(), move |counters| {
        load_with_progress(&source, &read, Some(counters))
    })
}

/// One side of a comparison as a JSON report: loaded, or analysed (with its file table).
pub fn side(side: &Side, read: &ReadConfig) -> Result<JsonReport> {
    match side {
        Side::Report(path) => report::json::load(path),
        Side::Image(source) => Ok(JsonReport::with_files(&load(source, read)?)),
    }
}

/// Reads and analyses an image.
pub fn load(source: &Transport, read: &ReadConfig) -> Result<Report> {
    load_with_progress(source, read, None)
}

/// Reads and analyses an image, counting walked layers in `counters` as it goes.
pub fn load_with_progress(
    source: &Transport,
    read: &ReadConfig,
    counters: Option<&Counters>,
) -> Result<Report> {
    let content = crate::layer::ContentBudget::new(&read.limits);
    let opts = ReadOptions {
        verify: read.verify,
        platform: read.platform.clone(),
        keep_content: &crate::analysis::wants_content,
        limits: &read.limits,
        content: &content,
        inspect_elf: true,
        fetch: &read.fetch,
        counters,
        layers: None,
    };
    let image = source::read_image(source, &opts)?;
    Ok(Report::new(image))
}

/// `pydive cache [info|clear]`.
fn cache(clear: bool, config: Option<&CacheConfig>) -> Result<()> {
    let Some(config) = config else {
        anyhow::bail!("no cache directory: set PYDIVE_CACHE_DIR or HOME");
    };
    let size = |bytes| humansize::format_size(bytes, humansize::BINARY);
    let mut out = io::stdout().lock();
    let partial = |u: &cache::Usage| {
        if u.partial == 0 {
            String::new()
        } else {
            format!(
                ", {} unfinished downloads ({})",
                u.partial,
                size(u.partial_bytes)
            )
        }
    };
    if clear {
        let held = cache::clear(config)?;
        writeln!(
            out,
            "removed {} blobs ({}){} from {}",
            held.blobs,
            size(held.bytes),
            partial(&held),
            config.dir.display()
        )?;
    } else {
        let held = cache::usage(config)?;
        writeln!(
            out,
            "{}: {} blobs, {}{} (limit {}, PYDIVE_CACHE_MAX)",
            config.dir.display(),
            held.blobs,
            size(held.bytes),
            partial(&held),
            size(config.max_bytes)
        )?;
    }
    Ok(())
}

/// Writes to a file, or to standard output; an error names where.
fn emit(output: Option<&Path>, write: impl Fn(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    match output {
        Some(path) => {
            let shown = || format!("cannot write {}", path.display());
            let file = File::create(path).with_context(shown)?;
            let mut out = BufWriter::new(file);
            write(&mut out).with_context(shown)?;
            out.flush().with_context(shown)?;
        }
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let shown = "cannot write to standard output";
            write(&mut out).context(shown)?;
            out.flush().context(shown)?;
        }
    }
    Ok(())
}
