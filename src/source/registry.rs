//! `docker://[REGISTRY/]REPO[:TAG|@DIGEST]`: an image read straight from a registry, no daemon.
//!
//! `distribution` speaks the registry API (the `/v2/` challenge, anonymous or credentialed
//! bearer tokens, basic auth) with pydive's limits on every wait and every body. The manifest
//! (or index) and the config go through the same resolution as an OCI layout on disk, so tags,
//! platforms and digests of small blobs are handled in one place. Layers are then downloaded a
//! few at a time, each streamed through its walk while it arrives and teed into the cache, and
//! the blob enters the cache only when its digest matches. The async client stays in
//! `distribution`: each layer's byte stream reaches the walk as a blocking `Read`.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, Read, Write};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result, anyhow, bail};
use oci_client::Reference;

use super::ReadOptions;
use super::auth::{self, Origin};
use super::cache::{BlobCache, Pending};
use super::distribution::{Connect, Failure, Repository, one_line};
use super::manifest::{self, LayerRef, MetaFiles, Resolved};
use super::progress::{Counted, Progress};
use crate::layer::{Blob, Digests, LayerScan, blob};

/// Layers downloaded (and walked) at the same time.
const DOWNLOADS: usize = 3;

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Plain HTTP is used only for a registry on the loopback interface, or when asked for.
pub fn allows_plain_http(registry: &str, insecure: bool) -> bool {
    if insecure {
        return true;
    }
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => registry.rsplit_once(':').map_or(registry, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub fn read(name: &str, opts: &ReadOptions) -> Result<(Resolved, Vec<LayerScan>)> {
    let reference: Reference = name
        .parse()
        .map_err(|e| anyhow!("docker://{name}: not an image reference ({e})"))?;
    let registry = reference.resolve_registry().to_string();
    let may_use_http = allows_plain_http(&registry, opts.fetch.insecure);
    let (credentials, cred_origin) = auth::find(&registry, opts.fetch.credentials.as_ref());
    let mut ctx = Remote {
        origin: format!("docker://{}", reference.whole()),
        registry: registry.clone(),
        plain_http: false,
        may_use_http,
        credentials: cred_origin,
    };
    super::install_tls_provider();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("pydive-registry")
        .enable_all()
        .build()
        .context("cannot start the network runtime")?;
    let connect = Connect {
        reference: &reference,
        credentials: credentials.as_ref(),
        may_use_http,
        insecure: opts.fetch.insecure,
        limits: opts.limits,
    };
    let repo = match Repository::connect(&connect, runtime.handle().clone()) {
        Ok((repo, plain_http)) => {
            ctx.plain_http = plain_http;
            repo
        }
        Err((failure, plain_http)) => {
            ctx.plain_http = plain_http;
            return Err(ctx.explain(failure));
        }
    };
    let wanted = reference
        .digest()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_string();
    let (top, top_digest) = repo.manifest(&wanted).map_err(|e| ctx.explain(e))?;
    let files = Files {
        repo: &repo,
        ctx: &ctx,
        known: Mutex::default(),
        manifests: Mutex::default(),
        layer_sizes: Mutex::default(),
    };
    files.add_top(&top, &top_digest)?;
    let resolved = manifest::resolve_oci(&files, None, &opts.platform)?;
    let sizes = files.layer_sizes.into_inner().unwrap_or_default();

    // A cache that cannot be used is no reason not to read the image.
    let cache = opts
        .fetch
        .cache
        .as_ref()
        .and_then(|config| match BlobCache::open(config) {
            Ok(cache) => Some(cache),
            Err(e) => {
                crate::printable::warn(&format!("{e:#}; reading without the cache"));
                None
            }
        });
    let fetch = Fetch {
        repo: &repo,
        ctx: &ctx,
        cache: cache.as_ref(),
        progress: Progress::new(opts.fetch.progress),
        sizes: &sizes,
        opts,
    };
    let scans = fetch.all(&resolved.layers)?;
    if let Some(cache) = &cache {
        cache.trim()?;
    }
    Ok((resolved, scans))
}

/// What error messages need to know.
struct Remote {
    origin: String,
    registry: String,
    /// Talking plain HTTP (after HTTPS could not connect).
    plain_http: bool,
    /// Loopback, or --insecure.
    may_use_http: bool,
    credentials: Origin,
}

impl Remote {
    /// [`Remote::describe`], marked [`super::Transient`] when a later attempt may succeed:
    /// rate limits, an overloaded or restarting registry, a network that did not answer.
    fn explain(&self, e: Failure) -> anyhow::Error {
        let transient = match &e {
            Failure::Connect { certificate, .. } => !certificate,
            Failure::Status { code, .. } => matches!(code, 408 | 429 | 500 | 502 | 503 | 504),
            Failure::Timeout { .. } | Failure::TooSlow { .. } => true,
            Failure::Denied
            | Failure::NotFound { .. }
            | Failure::TooBig { .. }
            | Failure::Other(_) => false,
        };
        let err = self.describe(e);
        if transient {
            anyhow::Error::new(super::Transient(format!("{err:#}")))
        } else {
            err
        }
    }

    /// One line that says what went wrong and what to do; never a secret, never a page the
    /// registry sent with a denial.
    fn describe(&self, e: Failure) -> anyhow::Error {
        let origin = &self.origin;
        let registry = &self.registry;
        let scheme = if self.plain_http { "http" } else { "https" };
        match e {
            Failure::Denied => match &self.credentials {
                Origin::Anonymous => anyhow!(
                    "{origin}: the registry wants a login: run `docker login {registry}`, \
                     or pass --username NAME --password-stdin"
                ),
                from => anyhow!("{origin}: the registry refused the credentials from {from}"),
            },
            Failure::NotFound { message } if message.is_empty() => {
                anyhow!("{origin}: no such image in the registry")
            }
            Failure::NotFound { message } => {
                anyhow!("{origin}: no such image in the registry ({message})")
            }
            Failure::Connect {
                cause,
                certificate: true,
            } => anyhow!(
                "{origin}: the certificate of https://{registry} is not trusted ({cause}); \
                 add its CA to the system's certificates or SSL_CERT_FILE, or pass --insecure"
            ),
            Failure::Connect { cause, .. } => {
                let hint = if !self.may_use_http {
                    "; if it speaks plain HTTP, pass --insecure"
                } else {
                    ""
                };
                anyhow!(
                    "{origin}: cannot reach the registry at {scheme}://{registry} ({cause}){hint}"
                )
            }
            other => anyhow!("{origin}: {scheme}://{registry}: {other}"),
        }
    }
}

/// The registry seen as an OCI layout: `index.json` is the manifest the reference names (or a
/// one-entry index around it), `blobs/sha256/<hex>` fetches a manifest or a blob by digest.
struct Files<'a> {
    repo: &'a Repository,
    ctx: &'a Remote,
    known: Mutex<HashMap<String, Vec<u8>>>,
    /// Digests listed by an index: fetched from the manifests endpoint.
    manifests: Mutex<HashSet<String>>,
    /// Sizes of layer blobs, from the manifests.
    layer_sizes: Mutex<HashMap<String, u64>>,
}

impl Files<'_> {
    fn add_top(&self, bytes: &[u8], digest: &str) -> Result<()> {
        let value: serde_json::Value = serde_json::from_slice(bytes).with_context(|| {
            format!(
                "{}: the registry sent a malformed manifest",
                self.ctx.origin
            )
        })?;
        if value["schemaVersion"] == 1 {
            bail!(
                "{}: a schema 1 manifest, which pydive does not read; push the image again with a current client",
                self.ctx.origin
            );
        }
        self.note(&value);
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        // The top manifest or index, by digest, inside a one-entry index: an index's digest
        // then reaches the report like any nested index's.
        let media_type = value["mediaType"]
            .as_str()
            .unwrap_or(if value["manifests"].is_array() {
                OCI_INDEX
            } else {
                DOCKER_MANIFEST
            });
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": media_type, "digest": digest, "size": bytes.len()}],
        });
        known.insert("index.json".into(), serde_json::to_vec(&index)?);
        if let Some(hex) = digest.strip_prefix("sha256:") {
            known.insert(format!("blobs/sha256/{hex}"), bytes.to_vec());
        }
        Ok(())
    }

    /// Remembers which digests an index lists, and the sizes of a manifest's layers.
    fn note(&self, value: &serde_json::Value) {
        if let Some(list) = value["manifests"].as_array() {
            let mut manifests = self.manifests.lock().unwrap_or_else(|p| p.into_inner());
            manifests.extend(
                list.iter()
                    .filter_map(|m| m["digest"].as_str())
                    .map(String::from),
            );
        }
        if let Some(layers) = value["layers"].as_array() {
            let mut sizes = self.layer_sizes.lock().unwrap_or_else(|p| p.into_inner());
            for l in layers {
                if let (Some(d), Some(s)) = (l["digest"].as_str(), l["size"].as_u64()) {
                    sizes.insert(d.to_string(), s);
                }
            }
        }
    }

    fn fetch(&self, digest: &str) -> Result<Vec<u8>> {
        let is_manifest = self
            .manifests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(digest);
        let bytes = if is_manifest {
            self.repo.manifest(digest).map(|(bytes, _)| bytes)
        } else {
            self.repo.small_blob(digest)
        }
        .map_err(|e| self.ctx.explain(e))?;
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            self.note(&value);
        }
        Ok(bytes)
    }
}

impl MetaFiles for Files<'_> {
    fn read_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        if let Some(bytes) = self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(Some(bytes.clone()));
        }
        let Some(hex) = name.strip_prefix("blobs/sha256/") else {
            return Ok(None);
        };
        let bytes = self.fetch(&format!("sha256:{hex}"))?;
        Ok(Some(bytes))
    }

    fn origin(&self) -> String {
        self.ctx.origin.clone()
    }
}

/// Downloads and walks the layers.
struct Fetch<'a> {
    repo: &'a Repository,
    ctx: &'a Remote,
    cache: Option<&'a BlobCache>,
    progress: Progress,
    sizes: &'a HashMap<String, u64>,
    opts: &'a ReadOptions<'a>,
}

impl Fetch<'_> {
    /// A few layers at a time, largest first; results in layer order.
    fn all(&self, layers: &[LayerRef]) -> Result<Vec<LayerScan>> {
        let sizes: Vec<Option<u64>> = layers
            .iter()
            .map(|l| self.sizes.get(&l.digest).copied())
            .collect();
        let overall = self.progress.count("layers", layers.len() as u64);
        overall.tick();
        let scans = super::schedule::largest_first(&sizes, DOWNLOADS, self.opts.counters, |i| {
            let layer = &layers[i];
            let scan = super::cached_walk(self.opts, &layer.digest, || self.layer(layer))
                .with_context(|| layer.describe());
            overall.inc(1);
            if let (Some(counters), Ok(scan)) = (self.opts.counters, &scan) {
                counters
                    .bytes_done
                    .fetch_add(scan.blob_size, Ordering::Relaxed);
            }
            scan
        });
        overall.finish_and_clear();
        scans
    }

    fn layer(&self, layer: &LayerRef) -> Result<LayerScan> {
        if let Some(cache) = self.cache {
            if let Some((file, _)) = cache.get(&layer.digest) {
                // A download is always checked: it is what makes caching it safe.
                let mut file = BufReader::with_capacity(256 * 1024, file);
                let digests = Digests {
                    blob: true,
                    tar: false,
                };
                let scan = (self.opts.walk)(Blob::Stream(&mut file), digests);
                match scan {
                    Ok(scan) if scan.blob_digest.as_deref() == Some(layer.digest.as_str()) => {
                        return Ok(scan);
                    }
                    // A damaged cached blob is downloaded again.
                    _ => cache.remove(&layer.digest),
                }
            }
        }
        let (stream, length) = self
            .repo
            .blob(&layer.digest)
            .map_err(|e| self.ctx.explain(e))?;
        let total = length.or_else(|| self.sizes.get(&layer.digest).copied());
        let short = layer.digest.trim_start_matches("sha256:");
        let bar = self.progress.bytes(
            format!("layer {} {}", layer.index, &short[..short.len().min(12)]),
            total,
        );
        let reader = stream;
        let pending = match self.cache {
            Some(cache) => Some(cache.pending(&layer.digest)?),
            None => None,
        };
        let mut tee = Tee {
            inner: Counted { inner: reader, bar },
            copy: pending,
        };
        // Hashed here rather than by the walk: when the walk fails (a damaged gzip stream),
        // the rest is still hashed, so that a blob that is not what the manifest says is
        // reported as that, its real cause.
        let mut hashed = blob::BackgroundHash::new(&mut tee);
        let walked = (self.opts.walk)(Blob::Stream(&mut hashed), Digests::default());
        let digest = hashed.finish().map(|(_, digest)| digest);
        tee.inner.bar.finish_and_clear();
        let mut scan = match (walked, digest) {
            (walked, Ok(digest)) if digest != layer.digest => {
                let mismatch = LayerScan {
                    blob_digest: Some(digest),
                    ..LayerScan::default()
                };
                layer.check(&mismatch)?;
                walked.map_err(|e| anyhow!("{}", one_line(&e.to_string())))?
            }
            (Err(e), _) | (Ok(_), Err(e)) => bail!("{}", one_line(&e.to_string())),
            (Ok(scan), Ok(_)) => scan,
        };
        scan.blob_digest = Some(layer.digest.clone());
        layer.check(&scan)?;
        if let Some(pending) = tee.copy.take() {
            pending.commit()?;
        }
        Ok(scan)
    }
}

/// Copies what is read into the cache file.
struct Tee<R> {
    inner: R,
    copy: Option<Pending>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(copy) = &mut self.copy {
            copy.write_all(&buf[..n])?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_or_when_asked() {
        assert!(allows_plain_http("127.0.0.1:5000", false));
        assert!(allows_plain_http("127.1.2.3", false));
        assert!(allows_plain_http("localhost:5000", false));
        assert!(allows_plain_http("[::1]:5000", false));
        assert!(!allows_plain_http("registry.example.com:5000", false));
        assert!(!allows_plain_http("index.docker.io", false));
        assert!(!allows_plain_http("10.0.0.1:5000", false));
        assert!(!allows_plain_http("localhost.example.com", false));
        assert!(allows_plain_http("registry.example.com:5000", true));
    }

    #[test]
    fn errors_are_one_line() {
        assert_eq!(one_line("a\nb  c\n"), "a b c");
    }
}
