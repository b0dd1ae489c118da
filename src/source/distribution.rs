//! The registry's HTTP API (the OCI distribution spec), for reading one repository: the `/v2/`
//! check and its challenge (anonymous or credentialed bearer tokens, basic auth), manifests by
//! tag or digest, blobs by digest. A registry is untrusted input like an image, so every wait
//! has a limit (connecting, the response headers, each read, and a minimum rate over the
//! `read-timeout` window), every body kept in memory has the `metadata` limit, blobs are only
//! ever streamed, and no response body that may echo credentials (a 401 or 403 page) is
//! quoted. Other error pages are quoted only through their error messages, cut short.
//!
//! Why not oci-client, which pydive used before: it reads manifests, token answers and error
//! pages whole (an endless manifest reached 6 GB in 16 s), quotes error bodies, and has one
//! idle timeout for everything. Its `Reference` parser is still used.

use std::fmt;
use std::io::{self, Read};
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use oci_client::Reference;
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;

use super::Credentials;
use crate::limits::{Limits, named_bytes, named_duration};

/// What went wrong talking to the registry, for the caller to word.
#[derive(Debug)]
pub enum Failure {
    /// No connection (refused, unreachable, TLS handshake, connect timeout).
    Connect { cause: String, certificate: bool },
    /// 401 or 403, or a token refused: a login is missing or wrong.
    Denied,
    /// 404, or the registry's `*_UNKNOWN` error codes.
    NotFound { message: String },
    /// Any other answer that is not a success, with the registry's own error messages.
    Status { code: u16, message: String },
    /// A body over its size limit.
    TooBig { what: String, limit: u64 },
    /// A wait over its time limit.
    Timeout {
        what: String,
        key: &'static str,
        limit: Duration,
    },
    /// A transfer slower than the `min-rate` limit.
    TooSlow {
        bytes: u64,
        window: Duration,
        min_rate: u64,
    },
    /// Anything else (a connection dropped mid-body, a malformed answer).
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Connect { cause, .. } => write!(f, "cannot connect ({cause})"),
            Failure::Denied => f.write_str("access denied"),
            Failure::NotFound { message } if message.is_empty() => f.write_str("not found"),
            Failure::NotFound { message } => write!(f, "not found ({message})"),
            Failure::Status { code, message } if message.is_empty() => {
                write!(f, "the registry answered HTTP {code}")
            }
            Failure::Status { code, message } => {
                write!(f, "the registry answered HTTP {code}: {message}")
            }
            Failure::TooBig { what, limit } => {
                write!(f, "{what} is over {}", named_bytes("metadata", *limit))
            }
            Failure::Timeout { what, key, limit } => {
                write!(f, "{what}: nothing within {}", named_duration(key, *limit))
            }
            Failure::TooSlow {
                bytes,
                window,
                min_rate,
            } => write!(
                f,
                "the registry sent {bytes} bytes in {window:?}, slower than the min-rate limit ({min_rate} bytes/s; change it with --limit min-rate=RATE or PYDIVE_LIMITS)"
            ),
            Failure::Other(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for Failure {}

/// Error pages are read at most this far, and quoted at most this long.
const ERROR_BODY: u64 = 64 * 1024;
const QUOTED: usize = 200;

/// The manifest media types pydive reads.
pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// One repository of one registry, once the way to reach it and to authenticate is known.
pub struct Repository {
    http: reqwest::Client,
    handle: Handle,
    /// `https://host[:port]` or `http://...`.
    base: String,
    repository: String,
    authorization: Option<String>,
    limits: Limits,
}

/// How to reach a registry.
pub struct Connect<'a> {
    pub reference: &'a Reference,
    pub credentials: Option<&'a Credentials>,
    /// Plain HTTP may be tried when HTTPS cannot connect at all.
    pub may_use_http: bool,
    /// Certificates are not checked.
    pub insecure: bool,
    pub limits: &'a Limits,
}

impl Repository {
    /// Connects (HTTPS first, then plain HTTP where allowed and HTTPS cannot connect at all),
    /// and answers the registry's challenge. Says whether plain HTTP is used, failing or not.
    pub fn connect(how: &Connect, handle: Handle) -> Result<(Repository, bool), (Failure, bool)> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("pydive/", env!("CARGO_PKG_VERSION")))
            .danger_accept_invalid_certs(how.insecure);
        if !how.limits.connect_timeout.is_zero() {
            builder = builder.connect_timeout(how.limits.connect_timeout);
        }
        // No reqwest read timeout: its timer runs from the request to the response headers,
        // which is the response-timeout limit's job; reads of a body are timed in here.
        let http = builder
            .build()
            .map_err(|e| (Failure::Other(format!("cannot set up HTTP: {e}")), false))?;
        let registry = how.reference.resolve_registry();
        let mut repo = Repository {
            http,
            handle,
            base: format!("https://{registry}"),
            repository: how.reference.repository().to_string(),
            authorization: None,
            limits: how.limits.clone(),
        };
        let mut plain_http = false;
        let ping = match repo.block_on(repo.get(&format!("{}/v2/", repo.base), None)) {
            // A server that does not answer TLS at all may well speak plain HTTP.
            Err(
                Failure::Connect {
                    certificate: false, ..
                }
                | Failure::Timeout { .. },
            ) if how.may_use_http => {
                plain_http = true;
                repo.base = format!("http://{registry}");
                repo.block_on(repo.get(&format!("{}/v2/", repo.base), None))
            }
            other => other,
        }
        .map_err(|f| (f, plain_http))?;
        repo.authorization = repo
            .block_on(repo.answer_challenge(ping, how.credentials))
            .map_err(|f| (f, plain_http))?;
        Ok((repo, plain_http))
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Sends a GET with the response-timeout limit on its headers.
    async fn get(&self, url: &str, accept: Option<&str>) -> Result<Response, Failure> {
        self.send(self.http.get(url), accept, self.authorization.as_deref())
            .await
    }

    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        accept: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<Response, Failure> {
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let sent = within(self.limits.response_timeout, request.send()).await;
        match sent {
            None => Err(Failure::Timeout {
                what: "the registry's answer".into(),
                key: "response-timeout",
                limit: self.limits.response_timeout,
            }),
            Some(Err(e)) => Err(request_failure(&e, &self.limits)),
            Some(Ok(response)) => Ok(response),
        }
    }

    /// The `Authorization` header to send from now on, from the `/v2/` answer.
    async fn answer_challenge(
        &self,
        ping: Response,
        credentials: Option<&Credentials>,
    ) -> Result<Option<String>, Failure> {
        let basic = credentials.map(basic_authorization);
        if ping.status().is_success() {
            return Ok(None);
        }
        if ping.status() != StatusCode::UNAUTHORIZED {
            return Err(self.failure(ping).await);
        }
        let challenge = ping
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_default();
        let (scheme, params) = challenge.split_once(' ').unwrap_or((&challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Ok(basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Failure::Denied);
        }
        let params = challenge_params(params);
        let param = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        let Some(realm) = param("realm") else {
            return Err(Failure::Other(
                "the registry's bearer challenge names no realm".into(),
            ));
        };
        let mut query = vec![(
            "scope".to_string(),
            format!("repository:{}:pull", self.repository),
        )];
        if let Some(service) = param("service") {
            query.push(("service".to_string(), service.to_string()));
        }
        let request = self.http.get(realm).query(&query);
        let answer = self.send(request, None, basic.as_deref()).await?;
        if !answer.status().is_success() {
            return Err(self.failure(answer).await);
        }
        let body = self
            .small_body(answer, "the registry's token", self.limits.metadata)
            .await?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&body)
            .map_err(|_| Failure::Other("the registry's token answer is not JSON".into()))?;
        let Some(token) = token.token.or(token.access_token).filter(|t| !t.is_empty()) else {
            return Err(Failure::Other(
                "the registry's token answer holds no token".into(),
            ));
        };
        crate::printable::register_secret(&token);
        Ok(Some(format!("Bearer {token}")))
    }

    /// A manifest or index by tag or digest, within the `metadata` limit, and its digest
    /// (checked against the one asked for).
    pub fn manifest(&self, reference: &str) -> Result<(Vec<u8>, String), Failure> {
        let url = format!("{}/v2/{}/manifests/{reference}", self.base, self.repository);
        let bytes = self.block_on(async {
            let response = self.get(&url, Some(ACCEPT_MANIFESTS)).await?;
            if !response.status().is_success() {
                return Err(self.failure(response).await);
            }
            self.small_body(response, "the manifest", self.limits.metadata)
                .await
        })?;
        let digest = format!(
            "sha256:{}",
            crate::layer::blob::hex(&Sha256::digest(&bytes))
        );
        if reference.starts_with("sha256:") && reference != digest {
            return Err(Failure::Other(format!(
                "the manifest sent for {reference} has the digest {digest}"
            )));
        }
        Ok((bytes, digest))
    }

    /// A small blob (a config) by digest, within the `metadata` limit.
    pub fn small_blob(&self, digest: &str) -> Result<Vec<u8>, Failure> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base, self.repository);
        self.block_on(async {
            let response = self.get(&url, None).await?;
            if !response.status().is_success() {
                return Err(self.failure(response).await);
            }
            self.small_body(response, &format!("blob {digest}"), self.limits.metadata)
                .await
        })
    }

    /// A blob by digest, as a blocking stream, with its length when the registry says it.
    pub fn blob(&self, digest: &str) -> Result<(Body, Option<u64>), Failure> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base, self.repository);
        let response = self.block_on(async {
            let response = self.get(&url, None).await?;
            if !response.status().is_success() {
                return Err(self.failure(response).await);
            }
            Ok(response)
        })?;
        let length = response.content_length();
        Ok((
            Body {
                handle: self.handle.clone(),
                stream: Box::pin(response.bytes_stream()),
                chunk: Bytes::new(),
                rate: Rate::new(&self.limits),
                read_timeout: self.limits.read_timeout,
            },
            length,
        ))
    }

    /// A body kept in memory: within `limit`, each read within the read-timeout limit, at the
    /// min-rate limit at least.
    async fn small_body(
        &self,
        response: Response,
        what: &str,
        limit: u64,
    ) -> Result<Vec<u8>, Failure> {
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(Failure::TooBig {
                what: what.to_string(),
                limit,
            });
        }
        let mut stream = response.bytes_stream();
        let mut rate = Rate::new(&self.limits);
        let mut out = Vec::new();
        loop {
            let next = within(self.limits.read_timeout, stream.next()).await;
            let chunk = match next {
                None => return Err(self.read_timed_out(what)),
                Some(None) => return Ok(out),
                Some(Some(Err(e))) => return Err(request_failure(&e, &self.limits)),
                Some(Some(Ok(chunk))) => chunk,
            };
            rate.add(chunk.len() as u64)?;
            if out.len() as u64 + chunk.len() as u64 > limit {
                return Err(Failure::TooBig {
                    what: what.to_string(),
                    limit,
                });
            }
            out.extend_from_slice(&chunk);
        }
    }

    fn read_timed_out(&self, what: &str) -> Failure {
        Failure::Timeout {
            what: format!("reading {what}"),
            key: "read-timeout",
            limit: self.limits.read_timeout,
        }
    }

    /// What an unsuccessful answer means. The body of a 401 or 403 is never read: registries
    /// have echoed the Authorization header there. Other bodies are read within a small limit
    /// and quoted only through the distribution spec's error messages, cut short.
    async fn failure(&self, response: Response) -> Failure {
        let code = response.status().as_u16();
        if code == 401 || code == 403 {
            return Failure::Denied;
        }
        let body = self
            .small_body(response, "the registry's error page", ERROR_BODY)
            .await
            .unwrap_or_default();
        #[derive(serde::Deserialize)]
        struct Envelope {
            errors: Vec<ErrorItem>,
        }
        #[derive(serde::Deserialize)]
        struct ErrorItem {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        let (codes, message) = match serde_json::from_slice::<Envelope>(&body) {
            Ok(envelope) => {
                let codes: Vec<String> = envelope.errors.iter().map(|e| e.code.clone()).collect();
                let messages: Vec<String> = envelope
                    .errors
                    .into_iter()
                    .map(|e| e.message)
                    .filter(|m| !m.is_empty())
                    .collect();
                (codes, messages.join("; "))
            }
            // Not the spec's JSON: a proxy's or a server's page, quoted shortly.
            Err(_) => (Vec::new(), String::from_utf8_lossy(&body).into_owned()),
        };
        let message = crate::printable::cut(&one_line(&message), QUOTED).into_owned();
        if codes.iter().any(|c| c == "UNAUTHORIZED" || c == "DENIED") {
            Failure::Denied
        } else if code == 404
            || codes
                .iter()
                .any(|c| c.ends_with("_UNKNOWN") || c == "NOT_FOUND")
        {
            Failure::NotFound { message }
        } else {
            Failure::Status { code, message }
        }
    }
}

/// Runs a future within a time limit (`None` when it ran out); a zero limit waits forever.
async fn within<F: std::future::Future>(limit: Duration, future: F) -> Option<F::Output> {
    if limit.is_zero() {
        Some(future.await)
    } else {
        tokio::time::timeout(limit, future).await.ok()
    }
}

fn request_failure(e: &reqwest::Error, limits: &Limits) -> Failure {
    let cause = root_cause(e);
    let certificate = is_certificate_error(e);
    if e.is_connect() || certificate {
        Failure::Connect { cause, certificate }
    } else if e.is_timeout() {
        Failure::Timeout {
            what: "reading from the registry".into(),
            key: "read-timeout",
            limit: limits.read_timeout,
        }
    } else {
        Failure::Other(cause)
    }
}

/// `key="value", key=value` pairs of a `WWW-Authenticate` challenge.
fn challenge_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        out.push((key, value.to_string()));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// `Basic base64(user:password)`; the encoded form is a secret too, redacted wherever printed.
fn basic_authorization(credentials: &Credentials) -> String {
    let encoded = base64(&format!(
        "{}:{}",
        credentials.username,
        credentials.password.expose()
    ));
    crate::printable::register_secret(&encoded);
    format!("Basic {encoded}")
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(text.len().div_ceil(3) * 4);
    for chunk in text.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether TLS failed because the server's certificate was not accepted.
pub fn is_certificate_error(e: &(dyn std::error::Error + 'static)) -> bool {
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

pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `min-rate` limit, measured over windows of `read-timeout`.
struct Rate {
    window: Duration,
    min_rate: u64,
    start: Instant,
    bytes: u64,
}

impl Rate {
    fn new(limits: &Limits) -> Rate {
        Rate {
            window: limits.read_timeout,
            min_rate: limits.min_rate,
            start: Instant::now(),
            bytes: 0,
        }
    }

    fn add(&mut self, n: u64) -> Result<(), Failure> {
        self.bytes += n;
        if self.window.is_zero() || self.min_rate == 0 {
            return Ok(());
        }
        let elapsed = self.start.elapsed();
        if elapsed < self.window {
            return Ok(());
        }
        let needed = (self.min_rate as f64 * elapsed.as_secs_f64()) as u64;
        if self.bytes < needed {
            return Err(Failure::TooSlow {
                bytes: self.bytes,
                window: elapsed,
                min_rate: self.min_rate,
            });
        }
        self.start = Instant::now();
        self.bytes = 0;
        Ok(())
    }
}

/// A blob's body as a blocking `Read`, for the layer walk, with the read-timeout and
/// min-rate limits on every read.
pub struct Body {
    handle: Handle,
    stream: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    chunk: Bytes,
    rate: Rate,
    read_timeout: Duration,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let next = self
                .handle
                .block_on(within(self.read_timeout, self.stream.next()));
            match next {
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the registry sent nothing more within {}",
                            named_duration("read-timeout", self.read_timeout)
                        ),
                    ));
                }
                Some(None) => return Ok(0),
                Some(Some(Err(e))) => {
                    return Err(io::Error::other(format!(
                        "reading from the registry: {}",
                        root_cause(&e)
                    )));
                }
                Some(Some(Ok(chunk))) => {
                    self.rate
                        .add(chunk.len() as u64)
                        .map_err(|e| io::Error::new(io::ErrorKind::TimedOut, e.to_string()))?;
                    self.chunk = chunk;
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        let rest = self.chunk.split_off(n);
        self.chunk = rest;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_as_registries_write_them() {
        assert_eq!(
            challenge_params(
                r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull""#
            ),
            vec![
                ("realm".into(), "https://auth.docker.io/token".into()),
                ("service".into(), "registry.docker.io".into()),
                ("scope".into(), "repository:library/python:pull".into()),
            ]
        );
        assert_eq!(
            challenge_params(r#"realm="http://127.0.0.1:5000/token", service=x"#),
            vec![
                ("realm".into(), "http://127.0.0.1:5000/token".into()),
                ("service".into(), "x".into()),
            ]
        );
        assert_eq!(base64("alice:secret"), "YWxpY2U6c2VjcmV0");
    }

    #[test]
    fn a_trickle_is_too_slow_once_a_window_has_passed() {
        let limits = Limits {
            read_timeout: Duration::from_millis(50),
            min_rate: 1000,
            ..Limits::default()
        };
        let mut rate = Rate::new(&limits);
        rate.add(10).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        assert!(matches!(rate.add(1), Err(Failure::TooSlow { .. })));
        let mut rate = Rate::new(&limits);
        std::thread::sleep(Duration::from_millis(60));
        rate.add(10_000).unwrap();
    }
}
