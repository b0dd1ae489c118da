//! `docker://[REGISTRY/]REPO[:TAG|@DIGEST]`: an image read straight from a registry, no daemon.
//!
//! oci-client speaks the distribution API (the `/v2/` challenge, anonymous or credentialed
//! bearer tokens, basic auth). The manifest (or index) and the config go through the same
//! resolution as an OCI layout on disk, so tags, platforms and digests of small blobs are handled
//! in one place. Layers are then downloaded a few at a time, each streamed through its walk while
//! it arrives and teed into the cache, and the blob enters the cache only when its digest matches.
//! The async client stays in here: each layer's byte stream reaches the walk as a blocking `Read`.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, Read, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use tokio::runtime::Runtime;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::ReadOptions;
use super::auth::{self, Origin};
use super::cache::{BlobCache, Pending};
use super::manifest::{self, LayerRef, MetaFiles, Resolved};
use super::progress::{Counted, Progress};
use crate::layer::{self, LayerScan, ScanOptions};

/// Layers downloaded (and walked) at the same time.
const DOWNLOADS: usize = 3;
/// Manifests, indexes and configs are small; anything bigger is refused.
const META_LIMIT: usize = 16 * 1024 * 1024;

const ACCEPT: &[&str] = &[
    OCI_IMAGE_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

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
    let loopback = allows_plain_http(&registry, false);
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
    let client_for = |plain_http: bool| {
        Client::try_from(ClientConfig {
            protocol: if plain_http {
                ClientProtocol::HttpsExcept(vec![registry.clone()])
            } else {
                ClientProtocol::Https
            },
            // An --insecure registry's certificate is not checked (as Docker does).
            accept_invalid_certificates: opts.fetch.insecure,
            // On the loopback interface a connection is instant, or not going to happen.
            connect_timeout: Some(Duration::from_secs(if loopback { 5 } else { 30 })),
            read_timeout: Some(Duration::from_secs(300)),
            user_agent: concat!("pydive/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        })
    };
    let registry_auth = match &credentials {
        Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.expose().to_string()),
        None => RegistryAuth::Anonymous,
    };
    // HTTPS first; plain HTTP only where allowed, and only when HTTPS cannot connect at all
    // (an untrusted certificate is reported, not worked around).
    let mut client = client_for(false).map_err(|e| ctx.explain(e))?;
    match runtime.block_on(client.auth(&reference, &registry_auth, RegistryOperation::Pull)) {
        Ok(_) => {}
        Err(OciDistributionError::RequestError(e))
            if may_use_http && e.is_connect() && !is_certificate_error(&e) =>
        {
            ctx.plain_http = true;
            client = client_for(true).map_err(|e| ctx.explain(e))?;
            runtime
                .block_on(client.auth(&reference, &registry_auth, RegistryOperation::Pull))
                .map_err(|e| ctx.explain(e))?;
        }
        Err(e) => return Err(ctx.explain(e)),
    }

    let (top, top_digest) = runtime
        .block_on(client.pull_manifest_raw(&reference, &registry_auth, ACCEPT))
        .map_err(|e| ctx.explain(e))?;
    let files = Files {
        runtime: &runtime,
        client: &client,
        reference: &reference,
        auth: &registry_auth,
        ctx: &ctx,
        known: Mutex::default(),
        manifests: Mutex::default(),
        layer_sizes: Mutex::default(),
    };
    files.add_top(&top, &top_digest)?;
    let resolved = manifest::resolve_oci(&files, None, &opts.platform)?;
    let sizes = files.layer_sizes.into_inner().unwrap_or_default();

    let cache = match &opts.fetch.cache {
        Some(config) => Some(BlobCache::open(config)?),
        None => None,
    };
    let fetch = Fetch {
        runtime: &runtime,
        client: &client,
        reference: &reference,
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
    /// [`Remote::describe`], marked [`super::Transient`] when a later attempt may succeed.
    fn explain(&self, e: OciDistributionError) -> anyhow::Error {
        let transient = is_transient_error(&e);
        let err = self.describe(e);
        if transient {
            anyhow::Error::new(super::Transient(format!("{err:#}")))
        } else {
            err
        }
    }

    /// One line that says what went wrong and what to do; never a secret.
    fn describe(&self, e: OciDistributionError) -> anyhow::Error {
        let origin = &self.origin;
        let registry = &self.registry;
        let denied = || match &self.credentials {
            Origin::Anonymous => anyhow!(
                "{origin}: the registry wants a login: run `docker login {registry}`, \
                 or pass --username NAME --password-stdin"
            ),
            from => anyhow!("{origin}: the registry refused the credentials from {from}"),
        };
        match &e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => denied(),
            OciDistributionError::ServerError { code: 401, .. } => denied(),
            OciDistributionError::RegistryError { envelope, .. } => {
                let found: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                let message = envelope
                    .errors
                    .iter()
                    .map(|e| e.message.clone())
                    .filter(|m| !m.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ");
                if found
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
                {
                    denied()
                } else if found.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::NotFound
                    )
                }) {
                    anyhow!(
                        "{origin}: no such image in the registry ({})",
                        one_line(&message)
                    )
                } else {
                    anyhow!("{origin}: the registry says: {}", one_line(&message))
                }
            }
            OciDistributionError::ServerError { code: 404, .. } => {
                anyhow!("{origin}: no such image in the registry")
            }
            OciDistributionError::ServerError { code, message, .. } => anyhow!(
                "{origin}: the registry answered HTTP {code}: {}",
                one_line(&truncate(message, 200))
            ),
            OciDistributionError::RequestError(req) => {
                let scheme = if self.plain_http { "http" } else { "https" };
                let cause = root_cause(req);
                let hint = if !self.may_use_http {
                    "; if it speaks plain HTTP, pass --insecure"
                } else {
                    ""
                };
                if is_certificate_error(req) {
                    anyhow!(
                        "{origin}: the certificate of https://{registry} is not trusted ({cause}); \
                         add its CA to the system's certificates or SSL_CERT_FILE, or pass --insecure"
                    )
                } else if req.is_connect() || req.is_timeout() {
                    anyhow!(
                        "{origin}: cannot reach the registry at {scheme}://{registry} ({cause}){hint}"
                    )
                } else {
                    anyhow!("{origin}: {scheme}://{registry}: {cause}")
                }
            }
            other => anyhow!("{origin}: {}", one_line(&other.to_string())),
        }
    }
}

/// Rate limits, an overloaded or restarting registry, and a network that did not answer.
fn is_transient_error(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => {
            matches!(code, 408 | 429 | 500 | 502 | 503 | 504)
        }
        OciDistributionError::RegistryError { envelope, .. } => {
            envelope.errors.iter().any(|e| match &e.code {
                OciErrorCode::Toomanyrequests => true,
                OciErrorCode::Other(code) => code == "UNAVAILABLE",
                _ => false,
            })
        }
        OciDistributionError::RequestError(req) => {
            (req.is_connect() || req.is_timeout()) && !is_certificate_error(req)
        }
        _ => false,
    }
}

/// Whether TLS failed because the server's certificate was not accepted.
fn is_certificate_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = at {
        if let Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented) =
            err.downcast_ref::<rustls::Error>()
        {
            return true;
        }
        // An io::Error hides the error it wraps from `source()`.
        at = match err.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut at = e;
    while let Some(next) = at.source() {
        at = next;
    }
    one_line(&at.to_string())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_string(),
    }
}

/// The registry seen as an OCI layout: `index.json` is the manifest the reference names (or a
/// one-entry index around it), `blobs/sha256/<hex>` fetches a manifest or a blob by digest.
struct Files<'a> {
    runtime: &'a Runtime,
    client: &'a Client,
    reference: &'a Reference,
    auth: &'a RegistryAuth,
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
                OCI_IMAGE_INDEX_MEDIA_TYPE
            } else {
                IMAGE_MANIFEST_MEDIA_TYPE
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
            let by_digest = self.reference.clone_with_digest(digest.to_string());
            let (bytes, _) = self
                .runtime
                .block_on(self.client.pull_manifest_raw(&by_digest, self.auth, ACCEPT))
                .map_err(|e| self.ctx.explain(e))?;
            bytes.to_vec()
        } else {
            self.runtime.block_on(async {
                let mut stream = self
                    .client
                    .pull_blob_stream(self.reference, digest)
                    .await
                    .map_err(|e| self.ctx.explain(e))?;
                let mut bytes = Vec::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| {
                        anyhow!(
                            "{}: reading blob {digest}: {}",
                            self.ctx.origin,
                            one_line(&e.to_string())
                        )
                    })?;
                    if bytes.len() + chunk.len() > META_LIMIT {
                        bail!("{}: blob {digest} is too big for a config", self.ctx.origin);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok::<_, anyhow::Error>(bytes)
            })?
        };
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
    runtime: &'a Runtime,
    client: &'a Client,
    reference: &'a Reference,
    ctx: &'a Remote,
    cache: Option<&'a BlobCache>,
    progress: Progress,
    sizes: &'a HashMap<String, u64>,
    opts: &'a ReadOptions<'a>,
}

impl Fetch<'_> {
    /// A few layers at a time, largest first; results in layer order.
    fn all(&self, layers: &[LayerRef]) -> Result<Vec<LayerScan>> {
        let mut order: Vec<usize> = (0..layers.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.sizes.get(&layers[i].digest).copied()));
        let overall = self.progress.count("layers", layers.len() as u64);
        overall.tick();
        if let Some(counters) = self.opts.counters {
            counters.layers_total.store(layers.len(), Ordering::Relaxed);
        }
        let next = AtomicUsize::new(0);
        let workers = DOWNLOADS.min(layers.len()).max(1);
        let mut results: Vec<(usize, Result<LayerScan>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                            let layer = &layers[i];
                            let scan =
                                super::cached_walk(self.opts, &layer.digest, || self.layer(layer))
                                    .with_context(|| layer.describe());
                            overall.inc(1);
                            if let (Some(counters), Ok(scan)) = (self.opts.counters, &scan) {
                                counters.layer_done(scan.blob_size);
                            }
                            let failed = scan.is_err();
                            done.push((i, scan));
                            if failed {
                                // Stop handing out work; the others finish what they hold.
                                next.store(order.len(), Ordering::Relaxed);
                            }
                        }
                        done
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        overall.finish_and_clear();
        results.sort_by_key(|(i, _)| *i);
        let mut scans = Vec::with_capacity(layers.len());
        for (_, scan) in results {
            scans.push(scan?);
        }
        if scans.len() != layers.len() {
            bail!("{}: not every layer was read", self.ctx.origin);
        }
        Ok(scans)
    }

    fn scan_options(&self) -> ScanOptions<'_> {
        // A download is always checked: it is what makes caching it safe.
        ScanOptions {
            hash_blob: true,
            hash_tar: false,
            keep_content: self.opts.keep_content,
            inspect_elf: self.opts.inspect_elf,
        }
    }

    fn layer(&self, layer: &LayerRef) -> Result<LayerScan> {
        if let Some(cache) = self.cache {
            if let Some((file, _)) = cache.get(&layer.digest) {
                let scan = layer::scan(
                    BufReader::with_capacity(256 * 1024, file),
                    &self.scan_options(),
                );
                match scan {
                    Ok(scan) if scan.blob_digest.as_deref() == Some(layer.digest.as_str()) => {
                        return Ok(scan);
                    }
                    // A damaged cached blob is downloaded again.
                    _ => cache.remove(&layer.digest),
                }
            }
        }
        let stream = self
            .runtime
            .block_on(
                self.client
                    .pull_blob_stream(self.reference, layer.digest.as_str()),
            )
            .map_err(|e| self.ctx.explain(e))?;
        let total = stream
            .content_length
            .or_else(|| self.sizes.get(&layer.digest).copied());
        let short = layer.digest.trim_start_matches("sha256:");
        let bar = self.progress.bytes(
            format!("layer {} {}", layer.index, &short[..short.len().min(12)]),
            total,
        );
        let reader = SyncIoBridge::new_with_handle(
            StreamReader::new(stream.stream),
            self.runtime.handle().clone(),
        );
        let pending = match self.cache {
            Some(cache) => Some(cache.pending(&layer.digest)?),
            None => None,
        };
        let mut tee = Tee {
            inner: Counted { inner: reader, bar },
            copy: pending,
        };
        let scan = layer::scan(&mut tee, &self.scan_options());
        tee.inner.bar.finish_and_clear();
        let scan = scan.map_err(|e| anyhow!("{}", one_line(&e.to_string())))?;
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
        assert_eq!(truncate("abcdef", 3), "abc...");
    }
}
