//! Source: gets an image's manifest, config and layer blobs from wherever it lives, and hands
//! each blob to the layer walk. One file per backend: `store` (a directory, a tar file, or bytes
//! built into the binary, all seekable), `stream` (a tarball on standard input), `manifest`
//! (Docker's `manifest.json` and OCI's `index.json`, the same for every backend), `daemon` (a
//! Docker or Podman daemon's image export, streamed), `registry` (blobs pulled straight from a
//! registry, with `auth` and `cache`). Async code stays inside the last two and reaches the layer
//! walk as a blocking `Read`.

mod auth;
pub mod cache;
pub mod catalog;
mod daemon;
mod distribution;
mod manifest;
mod progress;
mod registry;
mod schedule;
mod store;
mod stream;

use std::fmt;
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

use crate::layer::{Blob, Digests, LayerScan};
use crate::model::{ImageMeta, LayerMeta};

pub use auth::{Credentials, Password};
pub use manifest::Platform;

/// Where the image is, spelled the way skopeo spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `docker-archive:PATH[:REF]`, a bare existing path, or `-` for standard input.
    DockerArchive {
        input: Input,
        reference: Option<String>,
    },
    /// `oci:DIR[:TAG]`
    Oci { dir: PathBuf, tag: Option<String> },
    /// `oci-archive:PATH[:TAG]`
    OciArchive { path: PathBuf, tag: Option<String> },
    /// `docker-daemon:NAME[:TAG|@DIGEST]`, or a bare name that is not a path.
    DockerDaemon(String),
    /// `docker://[REGISTRY/]REPO[:TAG|@DIGEST]`
    Registry(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// A tarball compiled into the binary (the demo image).
    Embedded(&'static [u8]),
}

impl Transport {
    /// Parses an image argument. A bare argument is a path when something exists there.
    pub fn parse(arg: &str) -> Result<Transport> {
        let split = |rest: &str| match rest.split_once(':') {
            Some((path, tag)) if !tag.is_empty() => (PathBuf::from(path), Some(tag.to_string())),
            Some((path, _)) => (PathBuf::from(path), None),
            None => (PathBuf::from(rest), None),
        };
        if arg.is_empty() {
            bail!("empty image reference");
        }
        if arg == "-" {
            return Ok(Transport::DockerArchive {
                input: Input::Stdin,
                reference: None,
            });
        }
        if let Some(rest) = arg.strip_prefix("docker-archive:") {
            let (path, reference) = split(rest);
            let input = if path.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::File(path)
            };
            return Ok(Transport::DockerArchive { input, reference });
        }
        if let Some(rest) = arg.strip_prefix("oci-archive:") {
            let (path, tag) = split(rest);
            return Ok(Transport::OciArchive { path, tag });
        }
        if let Some(rest) = arg.strip_prefix("oci:") {
            let (dir, tag) = split(rest);
            return Ok(Transport::Oci { dir, tag });
        }
        if let Some(rest) = arg.strip_prefix("docker-daemon:") {
            if rest.is_empty() {
                bail!("docker-daemon: needs an image name, for example docker-daemon:python:3.12");
            }
            return Ok(Transport::DockerDaemon(rest.to_string()));
        }
        if let Some(rest) = arg.strip_prefix("docker://") {
            if rest.is_empty() {
                bail!("docker:// needs an image name, for example docker://python:3.12-slim");
            }
            return Ok(Transport::Registry(rest.to_string()));
        }
        let path = Path::new(arg);
        if path.is_dir() {
            return Ok(Transport::Oci {
                dir: path.to_path_buf(),
                tag: None,
            });
        }
        if path.exists() {
            return Ok(Transport::DockerArchive {
                input: Input::File(path.to_path_buf()),
                reference: None,
            });
        }
        if arg.contains('/') && (arg.starts_with('.') || arg.starts_with('/')) {
            bail!("{arg}: no such file or directory");
        }
        Ok(Transport::DockerDaemon(arg.to_string()))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tagged = |f: &mut fmt::Formatter<'_>, prefix: &str, p: &Path, t: &Option<String>| {
            write!(f, "{prefix}:{}", p.display())?;
            match t {
                Some(t) => write!(f, ":{t}"),
                None => Ok(()),
            }
        };
        match self {
            Transport::DockerArchive { input, reference } => {
                let path = match input {
                    Input::Stdin => Path::new("-"),
                    Input::File(p) => p.as_path(),
                    Input::Embedded(_) => return f.write_str("pydive demo image"),
                };
                tagged(f, "docker-archive", path, reference)
            }
            Transport::Oci { dir, tag } => tagged(f, "oci", dir, tag),
            Transport::OciArchive { path, tag } => tagged(f, "oci-archive", path, tag),
            Transport::DockerDaemon(name) => write!(f, "docker-daemon:{name}"),
            Transport::Registry(name) => write!(f, "docker://{name}"),
        }
    }
}

/// How to read the image.
pub struct ReadOptions<'a> {
    /// Check every layer's sha256 against its digest or diff_id.
    pub verify: bool,
    /// Which image of a multi-platform index to take.
    pub platform: Platform,
    /// What the image may cost: header and metadata sizes, waits.
    pub limits: &'a crate::limits::Limits,
    /// The walk every layer blob is handed to, with the digests the source will check.
    pub walk: &'a Walk<'a>,
    /// How to reach daemons and registries.
    pub fetch: &'a FetchOptions,
    /// Counters to update as layers are walked, for a progress display of the caller's own
    /// (the explorer's), besides or instead of the bars on standard error.
    pub counters: Option<&'a Counters>,
    /// Layer walks shared with other images read by the same process (`pydive scan`).
    pub layers: Option<&'a dyn LayerCache>,
}

/// What a source does with each layer blob: the caller's walk (see `app::walk_layer`). Sources
/// fetch, order and check blobs; what is inside a layer is the walk's business.
pub type Walk<'a> = dyn Fn(Blob<'_>, Digests) -> std::io::Result<LayerScan> + Sync + 'a;

/// An image as the sources read it: its metadata and every layer's walk, in layer order, with
/// digests checked when asked. `model::Image::build` stacks them.
#[derive(Debug)]
pub struct ImageScan {
    pub meta: ImageMeta,
    pub layers: Vec<(LayerMeta, LayerScan)>,
}

/// Where a process that reads many images (`pydive scan`) keeps layer walks, by blob digest, so
/// that a layer several images share is read once. It also decides when a walk may start,
/// which is how a scan caps its concurrent downloads.
pub trait LayerCache: Sync {
    /// The walk of the layer with this digest: a kept one, or `walk()`'s.
    fn scan(&self, digest: &str, walk: &mut dyn FnMut() -> Result<LayerScan>) -> Result<LayerScan>;
}

/// Walks a layer through the caller's cache, if it gave one.
fn cached_walk(
    opts: &ReadOptions,
    digest: &str,
    mut walk: impl FnMut() -> Result<LayerScan>,
) -> Result<LayerScan> {
    match opts.layers {
        Some(cache) => cache.scan(digest, &mut walk),
        None => walk(),
    }
}

/// An error a later attempt may not meet: the registry could not be reached, was busy, or
/// asked to slow down. `pydive scan` tells its engine to retry such a failure.
#[derive(Debug)]
pub struct Transient(pub String);

impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Transient {}

/// Whether an error, or one it wraps, is [`Transient`].
pub fn is_transient(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| cause.is::<Transient>())
}

/// How far a read has got: layers walked (of how many, once known) and their stored bytes.
/// Updated by the reading threads, read by whoever shows progress.
#[derive(Debug, Default)]
pub struct Counters {
    pub layers_total: AtomicUsize,
    pub layers_done: AtomicUsize,
    pub bytes_done: AtomicU64,
}

impl Counters {
    /// Records one walked layer of `blob_bytes` stored bytes.
    pub fn layer_done(&self, blob_bytes: u64) {
        self.layers_done.fetch_add(1, Ordering::Relaxed);
        self.bytes_done.fetch_add(blob_bytes, Ordering::Relaxed);
    }

    /// (layers done, layers in all or 0 while unknown, stored bytes walked)
    pub fn snapshot(&self) -> (usize, usize, u64) {
        (
            self.layers_done.load(Ordering::Relaxed),
            self.layers_total.load(Ordering::Relaxed),
            self.bytes_done.load(Ordering::Relaxed),
        )
    }
}

/// What the daemon and registry transports need beyond the image's name.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// The daemon's address (`--host`); otherwise `DOCKER_HOST`, then the usual sockets.
    pub host: Option<String>,
    pub pull: PullPolicy,
    /// `--username` with `--password-stdin`; otherwise the credential files are read.
    pub credentials: Option<Credentials>,
    /// A registry that is not on the loopback interface may use plain HTTP, or a certificate
    /// no CA vouches for (`--insecure`).
    pub insecure: bool,
    /// Where downloaded blobs are kept, by digest; `None` with `--no-cache`.
    pub cache: Option<cache::CacheConfig>,
    /// Progress bars on standard error.
    pub progress: bool,
}

/// When to ask the daemon to pull the image from its registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Only when the daemon does not have it.
    #[default]
    Missing,
    Always,
    Never,
}

/// Reads an image: resolves its manifest and config, hands every layer blob to the walk, and
/// checks digests.
pub fn read_image(transport: &Transport, opts: &ReadOptions) -> Result<ImageScan> {
    let reference = transport.to_string();
    let (resolved, scans) = match transport {
        Transport::DockerArchive {
            input: Input::Stdin,
            reference: wanted,
        } => stream::read_stdin(wanted.as_deref(), opts)?,
        // A FIFO or `<(docker save img)` is read as it comes, like standard input.
        Transport::DockerArchive {
            input: Input::File(path),
            reference: wanted,
        } if stream::is_stream(path) => stream::read_path(path, wanted.as_deref(), opts)?,
        Transport::OciArchive { path, tag } if stream::is_stream(path) => {
            stream::read_path(path, tag.as_deref(), opts)?
        }
        Transport::DockerArchive {
            input,
            reference: wanted,
        } => {
            let store = match input {
                Input::File(path) => store::Store::open_tar(path, opts.limits)?,
                Input::Embedded(bytes) => store::Store::embedded(bytes, opts.limits)?,
                Input::Stdin => unreachable!("handled above"),
            };
            let resolved = manifest::resolve_archive(&store, wanted.as_deref(), &opts.platform)?;
            let scans = scan_store(&store, &resolved, opts)?;
            (resolved, scans)
        }
        Transport::Oci { dir, tag } => {
            let store = store::Store::open_dir(dir, opts.limits)?;
            let resolved = manifest::resolve_oci(&store, tag.as_deref(), &opts.platform)?;
            let scans = scan_store(&store, &resolved, opts)?;
            (resolved, scans)
        }
        Transport::OciArchive { path, tag } => {
            let store = store::Store::open_tar(path, opts.limits)?;
            let resolved = manifest::resolve_oci(&store, tag.as_deref(), &opts.platform)?;
            let scans = scan_store(&store, &resolved, opts)?;
            (resolved, scans)
        }
        Transport::DockerDaemon(name) => daemon::read(name, opts)?,
        Transport::Registry(name) => registry::read(name, opts)?,
    };
    if opts.verify {
        for (layer, scan) in resolved.layers.iter().zip(&scans) {
            layer.check(scan)?;
        }
    }
    let layers = resolved
        .layers
        .iter()
        .zip(scans)
        .map(|(l, scan)| {
            let meta = LayerMeta {
                diff_id: l.diff_id.clone(),
                digest: l.digest.clone(),
                created_by: l.created_by.clone(),
            };
            (meta, scan)
        })
        .collect();
    let config = resolved.config;
    let meta = ImageMeta {
        reference,
        digests: resolved.digests,
        os: config.os,
        architecture: config.architecture,
        variant: config.variant,
        user: config.config.as_ref().and_then(|c| c.user.clone()),
        env: config.config.and_then(|c| c.env).unwrap_or_default(),
        history: config
            .history
            .iter()
            .map(|h| crate::model::HistoryStep {
                created_by: h.created_by.clone().unwrap_or_default(),
                empty_layer: h.empty_layer,
            })
            .collect(),
    };
    Ok(ImageScan { meta, layers })
}

/// Stored bytes from which reading a local image shows a progress bar.
const LARGE_IMAGE: u64 = 256 << 20;

/// Walks (and verifies) the layers of a seekable store, one per core at a time, largest first.
fn scan_store(
    store: &store::Store,
    resolved: &manifest::Resolved,
    opts: &ReadOptions,
) -> Result<Vec<LayerScan>> {
    let mut sizes = Vec::with_capacity(resolved.layers.len());
    for l in &resolved.layers {
        sizes.push(Some(
            store.open(&l.member).with_context(|| l.describe())?.len(),
        ));
    }
    // A bar only for an image big enough to take a while.
    let total: u64 = sizes.iter().flatten().sum();
    let progress = progress::Progress::new(opts.fetch.progress && total >= LARGE_IMAGE);
    let bar = progress.bytes("reading layers", Some(total));

    let scan_one = |l: &manifest::LayerRef| -> Result<LayerScan> {
        let digests = Digests {
            blob: opts.verify && l.expect == manifest::Expect::Blob,
            tar: opts.verify && l.expect == manifest::Expect::Tar,
        };
        let blob = store.open(&l.member)?;
        // A plain tar is walked where it lies, hashed or not: its ELF files are read at the
        // offsets their facts need after the walk, which keeps memory low.
        let scan = if !blob.is_plain_tar()? {
            // Counted as it is read, so that one large layer still shows progress.
            let mut reader = progress::Counted {
                inner: progress::Tallied {
                    inner: blob,
                    counters: opts.counters,
                },
                bar: bar.clone(),
            };
            (opts.walk)(Blob::Stream(&mut reader), digests)?
        } else {
            let scan = (opts.walk)(Blob::Seekable(blob), digests)?;
            bar.inc(scan.blob_size);
            if let Some(counters) = opts.counters {
                counters
                    .bytes_done
                    .fetch_add(scan.blob_size, Ordering::Relaxed);
            }
            scan
        };
        Ok(scan)
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let scans = schedule::largest_first(&sizes, workers, opts.counters, |i| {
        let layer = &resolved.layers[i];
        cached_walk(opts, &layer.digest, || scan_one(layer)).with_context(|| layer.describe())
    });
    bar.finish_and_clear();
    scans
}

/// rustls is built with ring only (no aws-lc C build); it must be named the process default
/// before the first TLS connection. Later calls find it installed and do nothing.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
