//! `docker-daemon:NAME[:TAG|@DIGEST]` (and a bare name): an image held by a Docker or Podman
//! daemon, through the Docker-compatible API (bollard).
//!
//! The daemon is `--host`, else `DOCKER_HOST`, else the first of `/var/run/docker.sock`,
//! `/run/podman/podman.sock` and `$XDG_RUNTIME_DIR/podman/podman.sock` that answers. The image is
//! inspected (and pulled by the daemon when missing, as `--pull` says), then exported as the
//! `docker save` stream, which goes through the same one-pass reader as a tarball on standard
//! input: nothing is written to disk. The async client stays in here; the export reaches the
//! reader as a blocking `Read`.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::{StreamExt, TryStreamExt};
use tokio::runtime::Runtime;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::auth;
use super::manifest::Resolved;
use super::progress::{Counted, Progress};
use super::{PullPolicy, ReadOptions, stream};
use crate::layer::LayerScan;

/// For connecting, version negotiation and inspection.
const QUICK: u64 = 30;
/// For a pull or an export, which take as long as the image is big.
const SLOW: u64 = 6 * 60 * 60;

/// Where a daemon may be listening.
#[derive(Clone, Debug)]
struct Candidate {
    address: String,
    /// Tried because nothing was configured: a missing socket just means "not this one".
    fallback: bool,
}

fn candidates(host: Option<&str>) -> Vec<Candidate> {
    let configured = host
        .map(String::from)
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()));
    if let Some(address) = configured {
        let address = if address.starts_with('/') {
            format!("unix://{address}")
        } else {
            address
        };
        return vec![Candidate {
            address,
            fallback: false,
        }];
    }
    let mut sockets = vec![
        "/var/run/docker.sock".to_string(),
        "/run/podman/podman.sock".to_string(),
    ];
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        sockets.push(format!(
            "{}/podman/podman.sock",
            PathBuf::from(dir).display()
        ));
    }
    sockets
        .into_iter()
        .map(|s| Candidate {
            address: format!("unix://{s}"),
            fallback: true,
        })
        .collect()
}

/// What to tell a user who has no daemon.
const NO_DAEMON_HINT: &str = "for a saved image use `pydive docker-archive:PATH`, or `docker://` to read a registry directly";

pub fn read(name: &str, opts: &ReadOptions) -> Result<(Resolved, Vec<LayerScan>)> {
    super::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("pydive-daemon")
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the runtime for the daemon client: {e}"))?;
    let (docker, address) = connect(&runtime, opts.fetch.host.as_deref())?;
    let progress = Progress::new(opts.fetch.progress);

    let inspect = |docker: &Docker| runtime.block_on(docker.inspect_image(name));
    let image = match opts.fetch.pull {
        PullPolicy::Always => {
            pull(&runtime, &docker, name, &address, &progress)?;
            inspect(&docker)
        }
        PullPolicy::Missing => match inspect(&docker) {
            Err(e) if is_not_found(&e) => {
                pull(&runtime, &docker, name, &address, &progress)?;
                inspect(&docker)
            }
            other => other,
        },
        PullPolicy::Never => inspect(&docker),
    };
    let image = image.map_err(|e| {
        if is_not_found(&e) {
            anyhow!(
                "{name}: no such image in the daemon at {address}{}",
                if opts.fetch.pull == PullPolicy::Never {
                    " (and --pull never)"
                } else {
                    ""
                }
            )
        } else {
            explain(&e, &address, name)
        }
    })?;
    let id = image
        .id
        .ok_or_else(|| anyhow!("{name}: the daemon at {address} reported no image id"))?;

    // Export by id: a digest reference cannot be saved by name on every daemon, and the id
    // is what was just inspected.
    let slow = docker.clone().with_timeout(Duration::from_secs(SLOW));
    // The daemon's own complaint, kept aside: the tar reader would only see an I/O error.
    let failure: Arc<Mutex<Option<String>>> = Arc::default();
    let export = slow.export_image(&id).map_err({
        let failure = Arc::clone(&failure);
        let address = address.clone();
        move |e| {
            let message = match &e {
                DockerError::DockerResponseServerError { message, .. } => one_line(message),
                other => cause(other),
            };
            let _ = failure
                .lock()
                .map(|mut f| f.get_or_insert_with(|| message.clone()).clone());
            io::Error::other(format!("the daemon at {address}: {message}"))
        }
    });
    let bar = progress.bytes(
        format!("exporting {name}"),
        image.size.and_then(|s| u64::try_from(s).ok()),
    );
    let reader = Counted {
        inner: SyncIoBridge::new_with_handle(StreamReader::new(export), runtime.handle().clone()),
        bar,
    };
    let origin = format!("the image {name} exported by the daemon at {address}");
    let result = stream::read_stream(reader, &origin, None, opts);
    runtime.shutdown_background();
    let failure = failure.lock().ok().and_then(|mut f| f.take());
    match (result, failure) {
        (Err(_), Some(message)) => {
            bail!("{name}: export from the daemon at {address} failed: {message}")
        }
        (result, _) => result,
    }
}

/// Connects to the first daemon that answers, and negotiates the API version with it.
fn connect(runtime: &Runtime, host: Option<&str>) -> Result<(Docker, String)> {
    let tried = candidates(host);
    let mut missing = Vec::new();
    for candidate in &tried {
        let address = &candidate.address;
        if let Some(path) = address.strip_prefix("unix://") {
            if !Path::new(path).exists() {
                if candidate.fallback {
                    missing.push(path.to_string());
                    continue;
                }
                bail!("no Docker daemon at {address}: no such socket; {NO_DAEMON_HINT}");
            }
        }
        let docker = match address.strip_prefix("unix://") {
            Some(path) => Docker::connect_with_unix(path, QUICK, bollard::API_DEFAULT_VERSION),
            None => Docker::connect_with_host(address)
                .map(|d| d.with_timeout(Duration::from_secs(QUICK))),
        }
        .map_err(|e| {
            anyhow!(
                "cannot use the daemon address {address}: {}",
                one_line(&e.to_string())
            )
        })?;
        match runtime.block_on(docker.negotiate_version()) {
            Ok(docker) => return Ok((docker, address.clone())),
            Err(e) => match io_kind(&e) {
                Some(io::ErrorKind::PermissionDenied) => bail!(
                    "permission denied on {address}: add your user to the `docker` group (then log in again), \
                     or point --host at a daemon you may use; {NO_DAEMON_HINT}"
                ),
                Some(io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound)
                    if candidate.fallback =>
                {
                    missing.push(format!(
                        "{} (refused)",
                        address.trim_start_matches("unix://")
                    ));
                }
                _ => bail!(
                    "no Docker daemon at {address} ({}); {NO_DAEMON_HINT}",
                    cause(&e)
                ),
            },
        }
    }
    bail!(
        "no Docker daemon at {} (nor Podman at {}); {NO_DAEMON_HINT}",
        tried[0].address,
        missing
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Asks the daemon to pull the image from its registry, with the daemon's progress on stderr.
fn pull(
    runtime: &Runtime,
    docker: &Docker,
    name: &str,
    address: &str,
    progress: &Progress,
) -> Result<()> {
    let credentials = name.parse::<oci_client::Reference>().ok().and_then(|r| {
        let registry = r.resolve_registry().to_string();
        let (found, _) = auth::find(&registry, None);
        found.map(|c| DockerCredentials {
            username: Some(c.username),
            password: Some(c.password.expose().to_string()),
            serveraddress: Some(registry),
            ..DockerCredentials::default()
        })
    });
    let options = CreateImageOptionsBuilder::default()
        .from_image(name)
        .build();
    let slow = docker.clone().with_timeout(Duration::from_secs(SLOW));
    let status = progress.spinner(format!("{address}: pulling {name}"));
    let mut bars = HashMap::new();
    let result = runtime.block_on(async {
        let mut events = slow.create_image(Some(options), None, credentials);
        while let Some(event) = events.next().await {
            let event = event?;
            if let Some(text) = &event.status {
                status.set_message(super::progress::label(format!(
                    "{address}: pulling {name}: {}",
                    one_line(text)
                )));
            }
            if let (Some(id), Some(detail)) = (&event.id, &event.progress_detail) {
                if let (Some(current), Some(total)) = (detail.current, detail.total) {
                    let bar = bars.entry(id.clone()).or_insert_with(|| {
                        progress.bytes(format!("  {id}"), u64::try_from(total).ok())
                    });
                    bar.set_position(u64::try_from(current).unwrap_or(0));
                }
            }
        }
        Ok::<_, DockerError>(())
    });
    for bar in bars.values() {
        bar.finish_and_clear();
    }
    status.finish_and_clear();
    result.map_err(|e| match &e {
        DockerError::DockerStreamError { error } => {
            anyhow!("{name}: pull failed: {}", one_line(error))
        }
        DockerError::DockerResponseServerError { message, .. } => {
            anyhow!("{name}: pull failed: {}", one_line(message))
        }
        _ => anyhow!("{name}: pull failed: {}", explain(&e, address, name)),
    })
}

fn is_not_found(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The kind of the I/O error under a client error, if there is one.
fn io_kind(e: &DockerError) -> Option<io::ErrorKind> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = at {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        at = err.source();
    }
    None
}

fn cause(e: &DockerError) -> String {
    let mut at: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = at.source() {
        at = next;
    }
    one_line(&at.to_string())
}

fn explain(e: &DockerError, address: &str, name: &str) -> anyhow::Error {
    match e {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } => anyhow!(
            "{name}: the daemon at {address} answered {status_code}: {}",
            one_line(message)
        ),
        DockerError::RequestTimeoutError => {
            anyhow!("{name}: the daemon at {address} did not answer in time")
        }
        other => anyhow!("{name}: daemon at {address}: {}", cause(other)),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_host_is_the_only_candidate() {
        let c = candidates(Some("/tmp/podman.sock"));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].address, "unix:///tmp/podman.sock");
        assert!(!c[0].fallback);
        let c = candidates(Some("tcp://127.0.0.1:2375"));
        assert_eq!(c[0].address, "tcp://127.0.0.1:2375");
    }
}
