//! A fleet of fixture images in a registry, for the scan tests and the fleet benchmark: images
//! are written as OCI layouts by the fixture builder and pushed over the registry's HTTP API
//! (monolithic blob uploads, manifests by tag), which is much faster than one skopeo run per
//! image. Also a loopback proxy in front of a registry that can answer `429 Too Many Requests`
//! or slow every answer down.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One HTTP/1.1 request on its own connection: (status, headers lower-cased, body).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, BTreeMap<String, String>, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, answer[split + 4..].to_vec())
}

pub fn sha256(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Pushes blobs and manifests to a registry on a loopback port.
pub struct Pusher {
    pub port: u16,
}

impl Pusher {
    pub fn blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let (status, _, _) = http(
            self.port,
            "HEAD",
            &format!("/v2/{repo}/blobs/{digest}"),
            &[],
            &[],
        );
        if status == 200 {
            return digest;
        }
        let (status, headers, body) = http(
            self.port,
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            &[],
        );
        assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
        let location = &headers["location"];
        let location = location
            .split_once("://")
            .map_or(location.as_str(), |(_, rest)| {
                &rest[rest.find('/').unwrap_or(0)..]
            });
        let sep = if location.contains('?') { '&' } else { '?' };
        let (status, _, body) = http(
            self.port,
            "PUT",
            &format!("{location}{sep}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            bytes,
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        digest
    }

    pub fn manifest(&self, repo: &str, reference: &str, bytes: &[u8]) -> String {
        let media_type = serde_json::from_slice::<Value>(bytes).unwrap()["mediaType"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, _, body) = http(
            self.port,
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Content-Type", &media_type)],
            bytes,
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        sha256(bytes)
    }

    /// Pushes the manifest(s) an OCI layout's index.json lists, their blobs, and the top one
    /// (the single manifest, or the index itself when it lists several) under `tag`.
    /// Returns the digest the tag points at.
    pub fn push_layout(&self, dir: &Path, repo: &str, tag: &str) -> String {
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let blob = |digest: &str| {
            std::fs::read(
                dir.join("blobs/sha256")
                    .join(digest.trim_start_matches("sha256:")),
            )
            .unwrap()
        };
        let mut children = Vec::new();
        for m in index["manifests"].as_array().unwrap() {
            let digest = m["digest"].as_str().unwrap();
            let manifest_bytes = blob(digest);
            let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
            self.blob(repo, &blob(manifest["config"]["digest"].as_str().unwrap()));
            for layer in manifest["layers"].as_array().unwrap() {
                self.blob(repo, &blob(layer["digest"].as_str().unwrap()));
            }
            children.push((digest.to_string(), manifest_bytes, m.clone()));
        }
        if children.len() == 1 {
            return self.manifest(repo, tag, &children[0].1);
        }
        let mut entries = Vec::new();
        for (digest, bytes, descriptor) in &children {
            self.manifest(repo, digest, bytes);
            entries.push(descriptor.clone());
        }
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }))
        .unwrap();
        self.manifest(repo, tag, &index)
    }

    /// An index of a layout's images plus a BuildKit-style attestation manifest for the first
    /// one (platform unknown/unknown, an in-toto layer), pushed under `tag`.
    pub fn push_with_attestation(&self, dir: &Path, repo: &str, tag: &str) -> (String, String) {
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let mut entries: Vec<Value> = Vec::new();
        for m in index["manifests"].as_array().unwrap() {
            let digest = m["digest"].as_str().unwrap();
            let bytes = std::fs::read(
                dir.join("blobs/sha256")
                    .join(digest.trim_start_matches("sha256:")),
            )
            .unwrap();
            let manifest: Value = serde_json::from_slice(&bytes).unwrap();
            for d in
                std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().unwrap())
            {
                let d = d["digest"].as_str().unwrap();
                self.blob(
                    repo,
                    &std::fs::read(
                        dir.join("blobs/sha256")
                            .join(d.trim_start_matches("sha256:")),
                    )
                    .unwrap(),
                );
            }
            self.manifest(repo, digest, &bytes);
            entries.push(m.clone());
        }
        let subject = entries[0]["digest"].as_str().unwrap().to_string();
        let statement = br#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[]}"#;
        let layer = self.blob(repo, statement);
        let config = self.blob(repo, b"{}");
        let attestation = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": [{
                "mediaType": "application/vnd.in-toto+json",
                "digest": layer,
                "size": statement.len(),
                "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}
            }],
        }))
        .unwrap();
        let attestation_digest = self.manifest(repo, &sha256(&attestation), &attestation);
        entries.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": attestation_digest,
            "size": attestation.len(),
            "platform": {"architecture": "unknown", "os": "unknown"},
            "annotations": {
                "vnd.docker.reference.digest": subject,
                "vnd.docker.reference.type": "attestation-manifest"
            }
        }));
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }))
        .unwrap();
        (self.manifest(repo, tag, &index), attestation_digest)
    }
}

/// What the proxy does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Answer 429 with this `Retry-After` (seconds).
    TooMany(u64),
}

/// A loopback proxy in front of a registry: each request is judged by `policy` (given the
/// request's number, method and path), answered with 429 or passed on; every answer can be
/// delayed. One request per connection.
pub struct Proxy {
    pub port: u16,
    pub requests: Arc<AtomicUsize>,
    pub refused: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

type Policy = dyn Fn(usize, &str, &str) -> Verdict + Send + Sync;

impl Proxy {
    pub fn start(backend: u16, delay: Duration, policy: Arc<Policy>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (requests, refused, stop) = (
                Arc::clone(&requests),
                Arc::clone(&refused),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let (policy, refused, requests) = (
                                Arc::clone(&policy),
                                Arc::clone(&refused),
                                Arc::clone(&requests),
                            );
                            std::thread::spawn(move || {
                                let _ =
                                    proxy_one(conn, backend, &requests, delay, &*policy, &refused);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        Proxy {
            port,
            requests,
            refused,
            stop,
        }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn proxy_one(
    mut conn: TcpStream,
    backend: u16,
    requests: &AtomicUsize,
    delay: Duration,
    policy: &Policy,
    refused: &AtomicUsize,
) -> std::io::Result<()> {
    let Some(head) = super::services::request_head(&mut conn)? else {
        return Ok(());
    };
    let n = requests.fetch_add(1, Ordering::Relaxed);
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request = lines.next().unwrap_or_default().to_string();
    let mut parts = request.split(' ');
    let (method, path) = (
        parts.next().unwrap_or("GET").to_string(),
        parts.next().unwrap_or("/").to_string(),
    );
    let forwarded: Vec<String> = lines
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let k = l
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            !matches!(k.as_str(), "host" | "connection")
        })
        .map(String::from)
        .collect();
    std::thread::sleep(delay);
    if let Verdict::TooMany(after) = policy(n, &method, &path) {
        refused.fetch_add(1, Ordering::Relaxed);
        let body = r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#;
        return write!(
            conn,
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {after}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    let mut up = TcpStream::connect(("127.0.0.1", backend))?;
    write!(
        up,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{backend}\r\n"
    )?;
    for line in &forwarded {
        write!(up, "{line}\r\n")?;
    }
    write!(up, "Connection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    let split = answer
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(answer.len());
    conn.write_all(&answer[..split])?;
    conn.write_all(b"\r\nConnection: close")?;
    conn.write_all(&answer[split..])
}

/// Keeps only the distinct values, counting each.
pub fn counts<T: Ord + Clone>(items: impl IntoIterator<Item = T>) -> BTreeMap<T, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    m
}

/// Guards a value across threads (for tests that record what they saw).
pub type Shared<T> = Arc<Mutex<T>>;
