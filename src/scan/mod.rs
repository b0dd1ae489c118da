//! `pydive scan`: one shard's share of a fleet. Sits above the single-image pipeline, as `app`
//! does: it lists the images (`input`), keeps this shard's (`shard`), finds what each
//! reference points at by digest (every platform of an index, attestations skipped), reads
//! each manifest once however many tags and repositories name it, shares layer walks between
//! images (`layers`), and writes one JSON report per image-platform plus rows (`out`).
//! `merge` turns the outputs of all shards into tables.
//!
//! pydive schedules nothing: the engine that runs it (a Kubernetes Indexed Job, a CI matrix)
//! decides how many shards run where, retries them and times them out. The exit code tells it
//! which failures a retry may cure: 0 done (failed images are rows), 2 the shard cannot be done,
//! 75 a registry could not be reached or kept rate limiting beyond the retry budget; a rerun
//! carries on where the last one stopped.

pub mod input;
pub mod layers;
pub mod merge;
pub mod out;
pub mod shard;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use oci_client::Reference;
use serde::{Deserialize, Serialize};

use crate::report::{Report, json};
use crate::source::catalog::{Budget, Catalog, Pointed};
use crate::source::{self, FetchOptions, Platform, ReadOptions, Transport, is_transient};
use input::{Input, Listed};
use layers::{LayerStats, Layers};
use out::{Out, Row, is_done};
use shard::Shard;

/// The exit code that asks the engine to retry (BSD's EX_TEMPFAIL).
pub const EXIT_TRANSIENT: u8 = 75;
/// The exit code of a shard that cannot be done (and of `--strict` with a failed image).
pub const EXIT_PERMANENT: u8 = 2;

/// A validated `pydive scan`.
#[derive(Debug)]
pub struct ScanConfig {
    pub input: Input,
    pub out: PathBuf,
    pub shard: Shard,
    /// `None`: every platform of an index.
    pub platform: Option<Platform>,
    pub previous: Option<PathBuf>,
    pub run_id: String,
    /// Images read at once.
    pub jobs: usize,
    /// Layers downloaded at once, over all images.
    pub downloads: usize,
    /// Time the shard may spend waiting for rate-limited or unreachable registries.
    pub retry_budget: Duration,
    /// Exit with 2 when an image failed.
    pub strict: bool,
    pub fetch: FetchOptions,
    /// What each image may cost (`--limit`, `PYDIVE_LIMITS`).
    pub limits: crate::limits::Limits,
    pub quiet: bool,
}

/// Layer entries the scan keeps walks of (about 200 bytes each).
const MAX_LAYER_ENTRIES: usize = 2_000_000;

/// What a shard's run did: `stats/shard-I-of-N.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    pub run_id: String,
    pub shard: String,
    pub pydive_version: String,
    pub source: String,
    /// Repositories the registry's catalog listed (registry sources only).
    pub repositories_listed: Option<usize>,
    pub references_listed: usize,
    pub references_in_shard: usize,
    /// References with every row already written by an earlier run of this shard.
    pub references_already_done: usize,
    /// Image-platforms of the references scanned now (a reference to an index has several).
    pub images: usize,
    /// Distinct manifest digests among them.
    pub unique_manifests: usize,
    pub analysed: usize,
    /// Reports this pydive version had written already (here or in `--previous`).
    pub reused: usize,
    pub reused_from_previous: usize,
    /// Rows served by another row's manifest.
    pub duplicates: usize,
    pub failed: usize,
    /// Left for a retry: the registry could not be reached or kept rate limiting.
    pub pending: Vec<Pending>,
    pub layers: LayerStats,
    pub retry_wait_seconds: f64,
    pub elapsed_seconds: f64,
    pub exit_code: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub reference: String,
    pub error: String,
}

/// One image-platform to scan, from one reference.
#[derive(Clone, Debug)]
struct Target {
    listed: Listed,
    tag: Option<String>,
    /// What the reference points at.
    top: Option<String>,
    index: Option<String>,
    /// Known before reading for registry images; after, for local ones.
    manifest: Option<String>,
    platform: Option<String>,
    /// What to read: the platform manifest by digest, or the local reference.
    read: Transport,
}

/// Runs one shard.
pub fn run(config: &ScanConfig) -> Result<ExitCode> {
    let started = Instant::now();
    let (out, earlier_rows) = Out::open(&config.out, config.shard)?;
    let done = out::done_keys(&earlier_rows, &config.run_id);
    let budget = Arc::new(Budget::new(config.retry_budget));
    let mut stats = Stats {
        run_id: config.run_id.clone(),
        shard: config.shard.to_string(),
        pydive_version: env!("CARGO_PKG_VERSION").into(),
        source: describe(&config.input),
        ..Stats::default()
    };
    let scan = Scan {
        config,
        out: &out,
        budget: Arc::clone(&budget),
        catalogs: Mutex::default(),
        previous_dirs: match &config.previous {
            Some(dir) => out::scan_outputs(dir, Some(&config.out))?,
            None => Vec::new(),
        },
        previous: Vec::new(),
    };

    let mut scan = scan;
    for dir in &scan.previous_dirs {
        let rows =
            out::read_all_rows(dir).with_context(|| format!("--previous {}", dir.display()))?;
        scan.previous.extend(rows);
    }
    let scan = scan;

    let listed = match scan.list(&mut stats) {
        Ok(listed) => listed,
        Err(e) if is_transient(&e) => {
            eprintln!("pydive: scan: {e:#}");
            stats.pending.push(Pending {
                reference: stats.source.clone(),
                error: format!("{e:#}"),
            });
            return scan.finish(stats, started, &Layers::new(1, 0));
        }
        Err(e) => return Err(e),
    };
    stats.references_in_shard = listed.len();

    // What each reference points at.
    let mut targets = Vec::new();
    for item in listed {
        if is_done(&done, &item.reference, None) {
            stats.references_already_done += 1;
            continue;
        }
        match scan.resolve(&item) {
            Ok(found) => {
                let left: Vec<Target> = found
                    .into_iter()
                    .filter(|t| {
                        t.manifest.is_none()
                            || !is_done(&done, &t.listed.reference, t.manifest.as_deref())
                    })
                    .collect();
                if left.is_empty() {
                    stats.references_already_done += 1;
                }
                targets.extend(left);
            }
            Err(e) if is_transient(&e) => scan.pending(&mut stats, &item.reference, &e),
            Err(e) => {
                stats.failed += 1;
                scan.fail_row(&item, &e)?;
            }
        }
    }
    stats.images = targets.len();

    // One read per manifest digest; local references are read one by one.
    let mut groups: BTreeMap<String, Vec<Target>> = BTreeMap::new();
    let mut local = Vec::new();
    for t in targets {
        match &t.manifest {
            Some(digest) => groups.entry(digest.clone()).or_default().push(t),
            None => local.push(vec![t]),
        }
    }
    stats.unique_manifests = groups.len() + local.len();
    let mut work: Vec<(Option<String>, Vec<Target>)> = Vec::new();
    for (digest, group) in groups {
        if scan.reuse(&digest, &mut stats)? {
            scan.rows(&group, "reused", None, &mut stats)?;
        } else {
            work.push((Some(digest), group));
        }
    }
    work.extend(local.into_iter().map(|g| (None, g)));

    let layers = Layers::new(config.downloads, MAX_LAYER_ENTRIES);
    let stats = Mutex::new(stats);
    let next = AtomicUsize::new(0);
    let errors: Mutex<Vec<anyhow::Error>> = Mutex::default();
    std::thread::scope(|s| {
        for _ in 0..config.jobs.max(1).min(work.len().max(1)) {
            s.spawn(|| {
                while let Some((digest, group)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(e) = scan.analyse(digest.as_deref(), group, &layers, &stats) {
                        lock(&errors).push(e);
                        // Cannot write the output: no point going on.
                        next.store(work.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    if let Some(e) = lock(&errors).pop() {
        return Err(e);
    }
    let stats = stats.into_inner().unwrap_or_else(|p| p.into_inner());
    scan.finish(stats, started, &layers)
}

fn describe(input: &Input) -> String {
    match input {
        Input::File(path) => path.display().to_string(),
        Input::Registry { host, prefix } if prefix.is_empty() => format!("registry:{host}"),
        Input::Registry { host, prefix } => format!("registry:{host}/{prefix}"),
        Input::Pods(path) => format!("pods:{}", path.display()),
    }
}

struct Scan<'a> {
    config: &'a ScanConfig,
    out: &'a Out,
    budget: Arc<Budget>,
    catalogs: Mutex<HashMap<String, Arc<Catalog>>>,
    /// Earlier outputs: `--previous` itself, or the outputs under it.
    previous_dirs: Vec<PathBuf>,
    previous: Vec<Row>,
}

impl Scan<'_> {
    /// The references of this shard.
    fn list(&self, stats: &mut Stats) -> Result<Vec<Listed>> {
        let all = match &self.config.input {
            Input::File(path) => input::read_file(path)?,
            Input::Pods(path) => input::read_pods(path)?,
            Input::Registry { host, prefix } => return self.list_registry(host, prefix, stats),
        };
        stats.references_listed = all.len();
        Ok(all
            .into_iter()
            .filter(|l| self.config.shard.holds(&l.repository))
            .collect())
    }

    /// A registry's repositories from its catalog (under `prefix`), this shard's, then their tags.
    fn list_registry(&self, host: &str, prefix: &str, stats: &mut Stats) -> Result<Vec<Listed>> {
        let catalog = self.catalog(host)?;
        let repositories = match catalog.repositories()? {
            Some(all) => {
                stats.repositories_listed = Some(all.len());
                let prefix = prefix.trim_matches('/');
                all.into_iter()
                    .filter(|r| {
                        prefix.is_empty()
                            || r == prefix
                            || r.strip_prefix(prefix).is_some_and(|s| s.starts_with('/'))
                    })
                    .collect::<Vec<_>>()
            }
            // No catalog: the prefix may name one repository.
            None if !prefix.is_empty() => vec![prefix.trim_matches('/').to_string()],
            None => bail!(
                "registry:{host}: the registry offers no catalog (/v2/_catalog); name a \
                 repository (registry:{host}/REPO) or list the images in a file"
            ),
        };
        let mut listed = Vec::new();
        let mut references = 0;
        for repo in repositories {
            let key = format!("{host}/{repo}");
            if !self.config.shard.holds(&key) {
                continue;
            }
            let tags = catalog.tags(&repo)?;
            references += tags.len();
            for tag in tags {
                listed.push(Listed {
                    reference: format!("docker://{host}/{repo}:{tag}"),
                    repository: key.clone(),
                });
            }
        }
        stats.references_listed = references;
        Ok(listed)
    }

    fn catalog(&self, host: &str) -> Result<Arc<Catalog>> {
        if let Some(c) = lock(&self.catalogs).get(host) {
            return Ok(Arc::clone(c));
        }
        let c = Arc::new(Catalog::connect(
            host,
            &self.config.fetch,
            Arc::clone(&self.budget),
        )?);
        lock(&self.catalogs).insert(host.to_string(), Arc::clone(&c));
        Ok(c)
    }

    /// The image-platforms a reference stands for. A registry reference is asked by digest;
    /// with `--previous`, a `HEAD` first, and a digest the earlier run already resolved is
    /// taken from its rows.
    fn resolve(&self, listed: &Listed) -> Result<Vec<Target>> {
        let Some(name) = listed.reference.strip_prefix("docker://") else {
            return Ok(vec![Target {
                listed: listed.clone(),
                tag: None,
                top: None,
                index: None,
                manifest: None,
                platform: None,
                read: Transport::parse(&listed.reference)?,
            }]);
        };
        let reference: Reference = name
            .parse()
            .map_err(|e| anyhow!("{}: not an image reference ({e})", listed.reference))?;
        let catalog = self.catalog(reference.resolve_registry())?;
        let repository = reference.repository();
        let wanted = reference
            .digest()
            .or(reference.tag())
            .unwrap_or("latest")
            .to_string();
        let target =
            |index: Option<String>, top: &str, manifest: &str, platform: Option<String>| {
                let read = format!("{}/{repository}@{manifest}", reference.registry());
                Target {
                    listed: listed.clone(),
                    tag: reference.tag().map(String::from),
                    top: Some(top.to_string()),
                    index,
                    manifest: Some(manifest.to_string()),
                    platform,
                    read: Transport::Registry(read),
                }
            };
        if !self.previous.is_empty() {
            let head = catalog.manifest(repository, &wanted, false)?;
            let earlier: Vec<&Row> = self
                .previous
                .iter()
                .filter(|r| r.digest.as_deref() == Some(head.digest.as_str()))
                .filter(|r| r.manifest_digest.is_some() && r.status != "failed")
                .collect();
            let mut seen = std::collections::BTreeSet::new();
            let known: Vec<Target> = earlier
                .into_iter()
                .filter(|r| seen.insert(r.manifest_digest.clone()))
                .filter(|r| self.wants_platform(r.platform.as_deref()))
                .map(|r| {
                    target(
                        r.index_digest.clone(),
                        &head.digest,
                        r.manifest_digest.as_deref().unwrap_or_default(),
                        r.platform.clone(),
                    )
                })
                .collect();
            if !known.is_empty()
                && known.iter().all(|t| {
                    self.previous_report(t.manifest.as_deref().unwrap_or(""))
                        .is_some()
                })
            {
                return Ok(known);
            }
        }
        let top = catalog.manifest(repository, &wanted, true)?;
        if !top.is_index() {
            return Ok(vec![target(None, &top.digest, &top.digest, None)]);
        }
        let mut found = Vec::new();
        for (digest, platform) in self.platforms(&catalog, repository, &top, 0)? {
            if self.wants_platform(Some(&platform)) {
                found.push(target(
                    Some(top.digest.clone()),
                    &top.digest,
                    &digest,
                    Some(platform),
                ));
            }
        }
        if found.is_empty() {
            bail!(
                "{}: the index has no image for platform {}",
                listed.reference,
                self.config
                    .platform
                    .as_ref()
                    .map_or("any".to_string(), ToString::to_string)
            );
        }
        Ok(found)
    }

    /// The image manifests of an index with their platforms, attestations left out.
    fn platforms(
        &self,
        catalog: &Catalog,
        repository: &str,
        index: &Pointed,
        depth: usize,
    ) -> Result<Vec<(String, String)>> {
        let bytes = index.bytes.as_deref().unwrap_or_default();
        let value: IndexJson = serde_json::from_slice(bytes)
            .with_context(|| format!("{repository}@{}: malformed index", index.digest))?;
        let mut found = Vec::new();
        for m in value.manifests {
            let attestation = m.annotations.contains_key("vnd.docker.reference.type")
                || m.platform.as_ref().is_some_and(|p| p.os == "unknown");
            if attestation {
                continue;
            }
            if m.media_type.contains("index") || m.media_type.contains("manifest.list") {
                if depth < 2 {
                    let nested = catalog.manifest(repository, &m.digest, true)?;
                    found.extend(self.platforms(catalog, repository, &nested, depth + 1)?);
                }
                continue;
            }
            let platform = m.platform.map_or_else(
                || "unknown".to_string(),
                |p| match p.variant {
                    Some(v) if !v.is_empty() => format!("{}/{}/{v}", p.os, p.architecture),
                    _ => format!("{}/{}", p.os, p.architecture),
                },
            );
            found.push((m.digest, platform));
        }
        Ok(found)
    }

    fn wants_platform(&self, platform: Option<&str>) -> bool {
        let (Some(wanted), Some(platform)) = (&self.config.platform, platform) else {
            return true;
        };
        let mut parts = platform.split('/');
        let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
        os == Some(wanted.os.as_str())
            && arch == Some(wanted.architecture.as_str())
            && match (&wanted.variant, variant) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }

    /// A report of this pydive version in `--previous`, if there is one.
    fn previous_report(&self, digest: &str) -> Option<PathBuf> {
        self.previous_dirs
            .iter()
            .map(|dir| dir.join("reports").join(out::report_name(digest)))
            .find(|path| is_current(path))
    }

    /// Whether a current report for `digest` is in the output already (another shard's, or an
    /// earlier attempt's) or can be copied from `--previous`.
    fn reuse(&self, digest: &str, stats: &mut Stats) -> Result<bool> {
        let here = self.out.report_path(digest);
        if is_current(&here) {
            stats.reused += 1;
            return Ok(true);
        }
        if let Some(earlier) = self.previous_report(digest) {
            let bytes = std::fs::read(&earlier)
                .with_context(|| format!("cannot read {}", earlier.display()))?;
            out::write_atomic(&here, |w| w.write_all(&bytes))?;
            stats.reused += 1;
            stats.reused_from_previous += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Reads one manifest (retrying what a retry may cure, within the budget) and writes its
    /// report and the rows of every reference that names it.
    fn analyse(
        &self,
        digest: Option<&str>,
        group: &[Target],
        layers: &Layers,
        stats: &Mutex<Stats>,
    ) -> Result<()> {
        let first = &group[0];
        let mut attempt = 0;
        let result = loop {
            match self.read(first, layers) {
                Ok(done) => break Ok(done),
                Err(e) if is_transient(&e) => {
                    let what = format!("{}: {e:#}", first.listed.reference);
                    if let Err(out_of_budget) = self.budget.wait(attempt, None, &what) {
                        break Err(out_of_budget);
                    }
                    attempt += 1;
                }
                Err(e) => break Err(e),
            }
        };
        match result {
            Ok((manifest, platform, index)) => {
                let mut group = group.to_vec();
                for t in &mut group {
                    t.manifest = Some(manifest.clone());
                    t.platform = Some(platform.clone());
                    t.index = t.index.clone().or_else(|| index.clone());
                }
                let mut s = lock(stats);
                s.analysed += 1;
                self.rows(&group, "analysed", None, &mut s)
            }
            Err(e) if is_transient(&e) => {
                let mut s = lock(stats);
                for t in group {
                    self.pending(&mut s, &t.listed.reference, &e);
                }
                Ok(())
            }
            Err(e) => {
                if !self.config.quiet {
                    eprintln!(
                        "pydive: scan: {} ({}): {e:#}",
                        first.listed.reference,
                        digest.unwrap_or("local")
                    );
                }
                let mut s = lock(stats);
                s.failed += group.len();
                self.rows(group, "failed", Some(&e), &mut s)
            }
        }
    }

    /// Reads and analyses one image, writes its report; returns its manifest digest (or its
    /// config's, for a source without manifests), platform and index digest.
    fn read(&self, target: &Target, layers: &Layers) -> Result<(String, String, Option<String>)> {
        let platform = match (&self.config.platform, &target.platform) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => Platform::parse(p).unwrap_or_else(|_| Platform::host()),
            (None, None) => Platform::host(),
        };
        // The content limits count per image, like a single `pydive report`.
        let content = crate::layer::ContentBudget::new(&self.config.limits);
        let walk = crate::app::walk_layer(&self.config.limits, &content);
        let opts = ReadOptions {
            verify: true,
            platform,
            limits: &self.config.limits,
            walk: &walk,
            fetch: &self.config.fetch,
            counters: None,
            layers: Some(layers),
        };
        let scanned = source::read_image(&target.read, &opts)?;
        let mut meta = scanned.meta;
        if meta.digests.index.is_none() {
            meta.digests.index = target.index.clone();
        }
        let key = target
            .manifest
            .clone()
            .or_else(|| meta.digests.manifest.clone())
            .or_else(|| meta.digests.config.clone())
            .ok_or_else(|| anyhow!("{}: the meta has no digest to file it under", target.read))?;
        let platform = match &meta.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{v}", meta.os, meta.architecture),
            _ => format!("{}/{}", meta.os, meta.architecture),
        };
        let index = meta.digests.index.clone();
        let report = Report::new(crate::model::Image::build(meta, scanned.layers));
        out::write_atomic(&self.out.report_path(&key), |w| {
            json::write(&report, false, w)
        })?;
        Ok((key, platform, index))
    }

    fn rows(
        &self,
        group: &[Target],
        status: &str,
        error: Option<&anyhow::Error>,
        stats: &mut Stats,
    ) -> Result<()> {
        for (i, t) in group.iter().enumerate() {
            let status = match status {
                "analysed" if i > 0 => {
                    stats.duplicates += 1;
                    "duplicate"
                }
                s => s,
            };
            self.out.append(&Row {
                run_id: self.config.run_id.clone(),
                shard: self.config.shard.to_string(),
                reference: t.listed.reference.clone(),
                repository: t.listed.repository.clone(),
                tag: t.tag.clone(),
                digest: t.top.clone().or_else(|| t.manifest.clone()),
                index_digest: t.index.clone(),
                manifest_digest: t.manifest.clone(),
                platform: t.platform.clone(),
                status: status.to_string(),
                error: error.map(|e| format!("{e:#}")),
                report: match (status, &t.manifest) {
                    ("failed", _) | (_, None) => None,
                    (_, Some(m)) => Some(format!("reports/{}", out::report_name(m))),
                },
            })?;
        }
        Ok(())
    }

    /// The row of a reference that failed before it named any image.
    fn fail_row(&self, listed: &Listed, e: &anyhow::Error) -> Result<()> {
        if !self.config.quiet {
            eprintln!("pydive: scan: {}: {e:#}", listed.reference);
        }
        self.out.append(&Row {
            run_id: self.config.run_id.clone(),
            shard: self.config.shard.to_string(),
            reference: listed.reference.clone(),
            repository: listed.repository.clone(),
            tag: None,
            digest: None,
            index_digest: None,
            manifest_digest: None,
            platform: None,
            status: "failed".into(),
            error: Some(format!("{e:#}")),
            report: None,
        })
    }

    fn pending(&self, stats: &mut Stats, reference: &str, e: &anyhow::Error) {
        if !self.config.quiet {
            eprintln!("pydive: scan: {reference}: {e:#} (left for a retry)");
        }
        stats.pending.push(Pending {
            reference: reference.to_string(),
            error: format!("{e:#}"),
        });
    }

    fn finish(&self, mut stats: Stats, started: Instant, layers: &Layers) -> Result<ExitCode> {
        stats.layers = layers.stats();
        stats.retry_wait_seconds = self.budget.spent().as_secs_f64();
        stats.elapsed_seconds = started.elapsed().as_secs_f64();
        stats.exit_code = if !stats.pending.is_empty() {
            EXIT_TRANSIENT
        } else if self.config.strict && stats.failed > 0 {
            EXIT_PERMANENT
        } else {
            0
        };
        self.out.write_stats(&stats)?;
        if !self.config.quiet {
            eprintln!(
                "pydive: scan {}: {} references ({} done before), {} images: {} analysed, {} reused, \
                 {} duplicate, {} failed, {} left for a retry; {} layers walked ({}), {} served again",
                stats.shard,
                stats.references_in_shard,
                stats.references_already_done,
                stats.images,
                stats.analysed,
                stats.reused,
                stats.duplicates,
                stats.failed,
                stats.pending.len(),
                stats.layers.walked,
                crate::findings::size(stats.layers.walked_bytes),
                stats.layers.reused,
            );
        }
        Ok(ExitCode::from(stats.exit_code))
    }
}

#[derive(Deserialize)]
struct IndexJson {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    platform: Option<IndexPlatform>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Deserialize)]
struct IndexPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// Whether a report was written by this pydive version in this schema (the same analyses).
pub fn is_current(path: &Path) -> bool {
    #[derive(Deserialize)]
    struct Version {
        schema_version: u32,
        pydive_version: String,
    }
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    serde_json::from_slice::<Version>(&bytes).is_ok_and(|v| {
        v.schema_version == json::SCHEMA_VERSION && v.pydive_version == env!("CARGO_PKG_VERSION")
    })
}

/// The run id when none is given: `PYDIVE_RUN_ID`, the CI system's run (`GITHUB_RUN_ID`,
/// `CI_PIPELINE_ID`), else today's date (UTC), which suits a nightly scan.
pub fn default_run_id(env: impl Fn(&str) -> Option<String>) -> String {
    for name in ["PYDIVE_RUN_ID", "GITHUB_RUN_ID", "CI_PIPELINE_ID"] {
        if let Some(v) = env(name).filter(|v| !v.trim().is_empty()) {
            return v.trim().to_string();
        }
    }
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    civil_date(days as i64)
}

/// Days since 1970-01-01 -> `YYYY-MM-DD` (Howard Hinnant's algorithm).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `30s`, `10m`, `1h`, or seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .with_context(|| format!("{text:?}: expected a duration such as 30s, 10m or 1h"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => bail!("{text:?}: expected a duration such as 30s, 10m or 1h"),
    };
    Ok(Duration::from_secs(seconds))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_675), "2023-11-14");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn the_run_id_comes_from_the_engine_or_the_date() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(default_run_id(env(&[("GITHUB_RUN_ID", "77")])), "77");
        assert_eq!(
            default_run_id(env(&[
                ("GITHUB_RUN_ID", "77"),
                ("PYDIVE_RUN_ID", "nightly-3")
            ])),
            "nightly-3"
        );
        let today = default_run_id(env(&[]));
        assert_eq!(today.len(), 10, "{today}");
    }
}
