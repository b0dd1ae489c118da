//! The registry calls a fleet scan (`pydive scan`) makes besides reading images: which
//! repositories a registry has (`/v2/_catalog`, paged; an optional endpoint), their tags
//! (`tags/list`, paged), and what a tag points at, by digest (a `HEAD` of the manifest, or a
//! `GET` when the index or manifest itself is wanted). It sits beside `registry`, which reads one
//! image; it shares its credentials and its plain-HTTP rule.
//!
//! Registries that ration requests answer `429 Too Many Requests` (or `503`) with a
//! `Retry-After`: every call here waits as told and tries again, charging the wait to a
//! [`Budget`] the whole scan shares; when the budget would be exceeded the call fails with a
//! [`Transient`] error, which the scan turns into "retry later" for its engine.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use sha2::{Digest as _, Sha256};
use tokio::runtime::Runtime;

use super::auth::{self, Credentials};
use super::registry::allows_plain_http;
use super::{FetchOptions, Transient};
use crate::layer::blob::hex;

/// The manifest kinds asked for: images and indexes, OCI's and Docker's.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json";
/// Entries asked for per page of the catalog and of a tag list.
const PAGE: usize = 1000;
/// Pages followed at most, against a registry whose `Link` never ends.
const MAX_PAGES: usize = 10_000;
/// Manifests and indexes are small; anything bigger is refused.
const MANIFEST_LIMIT: usize = 16 << 20;
/// The longest wait between two attempts when a registry says nothing of when to come back.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How long a scan may spend waiting for rate-limited or unreachable registries, in all.
#[derive(Debug)]
pub struct Budget {
    limit: Duration,
    spent: Mutex<Duration>,
}

impl Budget {
    pub fn new(limit: Duration) -> Budget {
        Budget {
            limit,
            spent: Mutex::new(Duration::ZERO),
        }
    }

    /// Takes `wait` from the budget, or says how much is left when it does not fit.
    pub fn take(&self, wait: Duration) -> Result<(), Duration> {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        if *spent + wait > self.limit {
            return Err(self.limit.saturating_sub(*spent));
        }
        *spent += wait;
        Ok(())
    }

    /// Time spent waiting so far.
    pub fn spent(&self) -> Duration {
        *self.spent.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Waits before attempt `attempt` (0-based) of something that failed for a passing reason,
    /// `retry_after` if the registry said, else doubling from one second; `Err` when the
    /// budget does not allow it.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>, what: &str) -> Result<()> {
        let wait = retry_after
            .unwrap_or_else(|| Duration::from_secs(1 << attempt.min(6)).min(MAX_BACKOFF));
        if let Err(left) = self.take(wait) {
            return Err(anyhow::Error::new(Transient(format!(
                "{what}; waiting {} s more would exceed the retry budget ({} s, {} s left)",
                wait.as_secs(),
                self.limit.as_secs(),
                left.as_secs()
            ))));
        }
        std::thread::sleep(wait);
        Ok(())
    }
}

/// What a tag or digest points at.
#[derive(Clone, Debug)]
pub struct Pointed {
    pub digest: String,
    pub media_type: String,
    /// The manifest or index itself, for a `GET`.
    pub bytes: Option<Vec<u8>>,
}

impl Pointed {
    pub fn is_index(&self) -> bool {
        self.media_type.contains("index") || self.media_type.contains("manifest.list")
    }
}

/// One registry, as the scan talks to it.
pub struct Catalog {
    runtime: Runtime,
    client: reqwest::Client,
    /// `https://host` or `http://host`.
    base: String,
    host: String,
    credentials: Option<Credentials>,
    /// Bearer tokens by scope.
    tokens: Mutex<HashMap<String, String>>,
    budget: std::sync::Arc<Budget>,
}

/// One answer: status, headers, body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Catalog {
    /// Connects to `host` (`HOST[:PORT]`): HTTPS, or plain HTTP where that is allowed (loopback,
    /// `--insecure`) and HTTPS cannot connect.
    pub fn connect(
        host: &str,
        fetch: &FetchOptions,
        budget: std::sync::Arc<Budget>,
    ) -> Result<Catalog> {
        super::install_tls_provider();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the network runtime")?;
        let loopback = allows_plain_http(host, false);
        // hyper's connector wants the runtime it will run on.
        let entered = runtime.enter();
        let client = reqwest::Client::builder()
            .user_agent(concat!("pydive/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(if loopback { 5 } else { 30 }))
            .timeout(Duration::from_secs(120))
            .danger_accept_invalid_certs(fetch.insecure)
            .build()
            .context("cannot set up the HTTP client")?;
        drop(entered);
        let (credentials, _) = auth::find(host, fetch.credentials.as_ref());
        let mut catalog = Catalog {
            runtime,
            client,
            base: format!("https://{host}"),
            host: host.to_string(),
            credentials,
            tokens: Mutex::default(),
            budget,
        };
        let probe = catalog.runtime.block_on(async {
            let url = format!("{}/v2/", catalog.base);
            catalog.client.get(url).send().await
        });
        match probe {
            Ok(_) => {}
            Err(e) if e.is_connect() && allows_plain_http(host, fetch.insecure) => {
                catalog.base = format!("http://{host}");
            }
            Err(e) => {
                return Err(catalog.unreachable(&e));
            }
        }
        Ok(catalog)
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn unreachable(&self, e: &reqwest::Error) -> anyhow::Error {
        let mut cause: &dyn std::error::Error = e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        anyhow::Error::new(Transient(format!(
            "cannot reach the registry at {} ({cause})",
            self.base
        )))
    }

    /// The repositories the catalog lists, all pages; `None` when the registry does not offer
    /// a catalog (it is optional, and many registries refuse it).
    pub fn repositories(&self) -> Result<Option<Vec<String>>> {
        let mut found = Vec::new();
        let mut url = format!("{}/v2/_catalog?n={PAGE}", self.base);
        for _ in 0..MAX_PAGES {
            let answer = self.get_page(&url, "registry:catalog:*")?;
            match answer.status {
                StatusCode::OK => {}
                StatusCode::NOT_FOUND
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::METHOD_NOT_ALLOWED
                | StatusCode::NOT_IMPLEMENTED => return Ok(None),
                status => bail!("{}/v2/_catalog answered HTTP {status}", self.base),
            }
            let page: CatalogPage = serde_json::from_slice(&answer.body)
                .with_context(|| format!("{}/v2/_catalog: malformed answer", self.base))?;
            let got = page.repositories.len();
            found.extend(page.repositories);
            match self.next_page(&answer.headers, &found, got, "_catalog") {
                Some(next) => url = next,
                None => return Ok(Some(found)),
            }
        }
        bail!("{}/v2/_catalog: more than {MAX_PAGES} pages", self.base)
    }

    /// Every tag of a repository, all pages.
    pub fn tags(&self, repository: &str) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let mut url = format!("{}/v2/{repository}/tags/list?n={PAGE}", self.base);
        let scope = format!("repository:{repository}:pull");
        for _ in 0..MAX_PAGES {
            let answer = self.get_page(&url, &scope)?;
            if answer.status == StatusCode::NOT_FOUND {
                bail!("{}/{repository}: no such repository", self.host);
            }
            if !answer.status.is_success() {
                bail!(
                    "{}/{repository}: listing tags answered HTTP {}",
                    self.host,
                    answer.status
                );
            }
            let page: TagsPage = serde_json::from_slice(&answer.body)
                .with_context(|| format!("{}/{repository}: malformed tag list", self.host))?;
            let tags = page.tags.unwrap_or_default();
            let got = tags.len();
            found.extend(tags);
            let path = format!("{repository}/tags/list");
            match self.next_page(&answer.headers, &found, got, &path) {
                Some(next) => url = next,
                None => return Ok(found),
            }
        }
        bail!(
            "{}/{repository}: more than {MAX_PAGES} pages of tags",
            self.host
        )
    }

    /// One page of a list. A registry caps the entries of a page (distribution's
    /// `catalog.maxentries`, 1000 unless set) and refuses a larger `n` with HTTP 400: then the
    /// page is asked again without `n`, at the registry's own page size, whose `Link` header
    /// goes on from there.
    fn get_page(&self, url: &str, scope: &str) -> Result<Answer> {
        let answer = self.get(url, scope, None, false)?;
        let asked = format!("n={PAGE}");
        if answer.status != StatusCode::BAD_REQUEST || !url.contains(&asked) {
            return Ok(answer);
        }
        let without = url
            .replace(&format!("?{asked}&"), "?")
            .replace(&format!("?{asked}"), "")
            .replace(&format!("&{asked}"), "");
        self.get(&without, scope, None, false)
    }

    /// The next page: the `Link` header's, else (for registries that page without one) `last`
    /// after a full page.
    fn next_page(
        &self,
        headers: &HeaderMap,
        found: &[String],
        got: usize,
        path: &str,
    ) -> Option<String> {
        if let Some(link) = headers.get("link").and_then(|v| v.to_str().ok()) {
            if let Some(target) = link
                .split(',')
                .find(|l| l.contains("rel=\"next\"") || l.contains("rel=next"))
                .and_then(|l| l.split('<').nth(1))
                .and_then(|l| l.split('>').next())
            {
                return Some(if target.starts_with("http") {
                    target.to_string()
                } else {
                    format!("{}{target}", self.base)
                });
            }
            return None;
        }
        (got >= PAGE).then(|| {
            format!(
                "{}/v2/{path}?n={PAGE}&last={}",
                self.base,
                found.last().map_or("", String::as_str)
            )
        })
    }

    /// What `reference` (a tag or a digest) of `repository` points at; `fetch` also brings
    /// the manifest or index itself.
    pub fn manifest(&self, repository: &str, reference: &str, fetch: bool) -> Result<Pointed> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let scope = format!("repository:{repository}:pull");
        let answer = self.get(&url, &scope, Some(ACCEPT), !fetch)?;
        let what = || format!("{}/{repository}:{reference}", self.host);
        match answer.status {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => bail!("{}: no such image in the registry", what()),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => bail!(
                "{}: the registry refused access (HTTP {}); log in with `docker login {}`",
                what(),
                answer.status,
                self.host
            ),
            status => bail!("{}: the registry answered HTTP {status}", what()),
        }
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        };
        let media_type = header("content-type").unwrap_or_default();
        if !fetch {
            if let Some(digest) = header("docker-content-digest") {
                return Ok(Pointed {
                    digest,
                    media_type,
                    bytes: None,
                });
            }
            // No digest header: the body tells.
            return self.manifest(repository, reference, true);
        }
        if answer.body.len() > MANIFEST_LIMIT {
            bail!("{}: the manifest is too big", what());
        }
        let digest = format!("sha256:{}", hex(&Sha256::digest(&answer.body)));
        if let Some(claimed) = header("docker-content-digest") {
            if claimed.starts_with("sha256:") && claimed != digest {
                bail!(
                    "{}: the registry says {claimed}, the bytes hash to {digest}",
                    what()
                );
            }
        }
        if reference.starts_with("sha256:") && reference != digest {
            bail!("{}: the manifest hashes to {digest}", what());
        }
        let media_type = if media_type.is_empty() || media_type == "application/json" {
            serde_json::from_slice::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v["mediaType"].as_str().map(String::from))
                .unwrap_or_default()
        } else {
            media_type
        };
        Ok(Pointed {
            digest,
            media_type,
            bytes: Some(answer.body),
        })
    }

    /// A request with authentication and rate limits handled: a 401 challenge is answered once,
    /// a 429 or 503 waits (within the budget) and tries again.
    fn get(&self, url: &str, scope: &str, accept: Option<&str>, head: bool) -> Result<Answer> {
        let mut attempt = 0;
        let mut challenged = false;
        loop {
            let mut request = if head {
                self.client.head(url)
            } else {
                self.client.get(url)
            };
            if let Some(accept) = accept {
                request = request.header("accept", accept);
            }
            if let Some(authorization) = self.authorization(scope) {
                request = request.header("authorization", authorization);
            }
            let answer = self.runtime.block_on(async {
                let response = request.send().await?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await?.to_vec();
                Ok::<_, reqwest::Error>(Answer {
                    status,
                    headers,
                    body,
                })
            });
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) if e.is_connect() || e.is_timeout() => {
                    let err = self.unreachable(&e);
                    self.budget.wait(attempt, None, &err.to_string())?;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(anyhow!("{url}: {e}")),
            };
            match answer.status {
                StatusCode::UNAUTHORIZED if !challenged => {
                    challenged = true;
                    if self.answer_challenge(&answer.headers, scope)? {
                        continue;
                    }
                    return Ok(answer);
                }
                StatusCode::TOO_MANY_REQUESTS
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::BAD_GATEWAY
                | StatusCode::GATEWAY_TIMEOUT => {
                    let retry_after = retry_after(&answer.headers);
                    let what = format!(
                        "{}: the registry answered HTTP {} ({})",
                        self.host,
                        answer.status.as_u16(),
                        if answer.status == StatusCode::TOO_MANY_REQUESTS {
                            "rate limited"
                        } else {
                            "unavailable"
                        }
                    );
                    self.budget.wait(attempt, retry_after, &what)?;
                    attempt += 1;
                }
                _ => return Ok(answer),
            }
        }
    }

    fn authorization(&self, scope: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(token) = tokens.get(scope) {
            return Some(format!("Bearer {token}"));
        }
        tokens.get("basic").cloned()
    }

    /// Answers a `WWW-Authenticate` challenge: a bearer token for the scope, or basic
    /// credentials. `false` when there is nothing to answer with.
    fn answer_challenge(&self, headers: &HeaderMap, scope: &str) -> Result<bool> {
        let Some(challenge) = headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()) else {
            return Ok(false);
        };
        let basic = self.credentials.as_ref().map(|c| {
            let pair = format!("{}:{}", c.username, c.password.expose());
            format!("Basic {}", base64(pair.as_bytes()))
        });
        if challenge
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("basic")
        {
            let Some(basic) = basic else {
                return Ok(false);
            };
            let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            tokens.insert("basic".into(), basic);
            return Ok(true);
        }
        let params = challenge_params(challenge);
        let Some(realm) = params.get("realm") else {
            return Ok(false);
        };
        let mut url = reqwest::Url::parse(realm)
            .with_context(|| format!("{}: malformed token realm {realm:?}", self.host))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = params.get("service") {
                query.append_pair("service", service);
            }
            query.append_pair("scope", params.get("scope").map_or(scope, String::as_str));
        }
        let mut request = self.client.get(url);
        if let Some(basic) = &basic {
            request = request.header("authorization", basic);
        }
        let body = self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        });
        let (status, body) = body.map_err(|e| anyhow!("{}: token request: {e}", self.host))?;
        if !status.is_success() {
            bail!(
                "{}: the token service refused (HTTP {status}); log in with `docker login {}`",
                self.host,
                self.host
            );
        }
        let token: TokenAnswer = serde_json::from_slice(&body)
            .with_context(|| format!("{}: malformed token answer", self.host))?;
        let Some(token) = token.token.or(token.access_token) else {
            bail!("{}: the token service sent no token", self.host);
        };
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.insert(scope.to_string(), token);
        Ok(true)
    }
}

#[derive(serde::Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Vec<String>,
}

#[derive(serde::Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// `Retry-After` in seconds (the HTTP-date form is rare on registries and taken as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `Bearer realm="...",service="...",scope="..."` -> its parameters.
fn challenge_params(challenge: &str) -> HashMap<String, String> {
    let rest = challenge
        .trim_start()
        .split_once(' ')
        .map_or("", |(_, rest)| rest);
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => break,
                    c => {
                        value.push(c);
                        escaped = false;
                    }
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    params
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | ((*b as u32) << (16 - 8 * i)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse() {
        let p = challenge_params(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull""#,
        );
        assert_eq!(p["realm"], "https://auth.example.com/token");
        assert_eq!(p["service"], "registry.example.com");
        assert_eq!(p["scope"], "repository:a/b:pull");
        let p = challenge_params("Bearer realm=http://x/token, service=reg");
        assert_eq!(p["realm"], "http://x/token");
        assert_eq!(p["service"], "reg");
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn the_budget_refuses_what_it_cannot_cover() {
        let budget = Budget::new(Duration::from_secs(10));
        assert!(budget.take(Duration::from_secs(6)).is_ok());
        assert_eq!(
            budget.take(Duration::from_secs(6)),
            Err(Duration::from_secs(4))
        );
        assert_eq!(budget.spent(), Duration::from_secs(6));
        let err = budget.wait(0, Some(Duration::from_secs(30)), "x: rate limited");
        let err = err.unwrap_err();
        assert!(super::super::is_transient(&err), "{err:#}");
        assert!(format!("{err:#}").contains("retry budget"), "{err:#}");
    }
}
