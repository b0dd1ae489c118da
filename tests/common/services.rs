//! Real services for the daemon and registry tests, on 127.0.0.1 or a unix socket in a
//! temporary directory: the machine's Docker daemon (loaded with fixture images, which are
//! removed again), a Podman API service on vfs storage, and Debian's `docker-registry`, with
//! images pushed by skopeo. Each test starts what it needs and everything stops when dropped.
//!
//! Tests that need a tool or service beyond the Rust toolchain and the C compiler live in
//! `tests/ext_*.rs` and get each one through [`need`]. Plain `cargo nextest run` leaves those
//! binaries out (nextest reports their tests as skipped); `./.ci/run` installs the tools and
//! runs them with the `ci` profile, where a missing one fails the test, as it does under
//! `CI=true`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The tool or service, or `None` after a note saying why it is missing; where every test must
/// run (`CI=true`, or nextest's `ci` profile that `./.ci/run` uses) a missing one panics.
pub fn need<T>(what: &str, service: Result<T, String>) -> Option<T> {
    match service {
        Ok(s) => Some(s),
        Err(why) if must_run_everything() => panic!(
            "{what} is required here (CI=true or the ci profile) but is not available: {why}; \
             ./.ci/run installs it"
        ),
        Err(why) => {
            eprintln!("NOTE: test skipped: {what} is not available here: {why}");
            None
        }
    }
}

fn must_run_everything() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("NEXTEST_PROFILE").is_ok_and(|p| p == "ci")
}

/// A command line that runs here (e.g. `["tmux", "-V"]`), for [`need`].
pub fn runs(command: &[&str]) -> Result<(), String> {
    run(Command::new(command[0]).args(&command[1..])).map(drop)
}

/// A name no other test (or test run) uses.
pub fn unique(name: &str) -> String {
    static SERIAL: AtomicU32 = AtomicU32::new(0);
    format!(
        "pydive-test/{name}-{}-{}",
        std::process::id(),
        SERIAL.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs a command to its end: its standard output, or an error line with its standard error.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Children die with the test that started them, even if it is killed.
fn dies_with_parent(cmd: &mut Command) -> &mut Command {
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    }
}

/// The `docker` command line against one daemon (`None`: the machine's default daemon).
#[derive(Clone)]
pub struct DockerCli {
    pub host: Option<String>,
}

impl DockerCli {
    /// The machine's Docker daemon, if it answers.
    pub fn system() -> Result<DockerCli, String> {
        let cli = DockerCli { host: None };
        cli.command()
            .args(["info", "--format", "{{.ServerVersion}}"])
            .output()
            .map_err(|e| format!("no docker command: {e}"))
            .and_then(|out| {
                if out.status.success() {
                    Ok(cli.clone())
                } else {
                    Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
                }
            })
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new("docker");
        if let Some(host) = &self.host {
            cmd.args(["-H", host]);
        }
        cmd
    }

    /// `docker load`s a `docker save` tarball whose image is tagged `tag`; removed on drop.
    pub fn load(&self, archive: &Path, tag: &str) -> Loaded {
        let out = run(self.command().args(["load", "-i"]).arg(archive)).unwrap();
        assert!(out.contains(tag), "docker load did not load {tag}: {out}");
        Loaded {
            cli: self.clone(),
            tag: tag.to_string(),
        }
    }

    /// An image the daemon pulled by itself, removed on drop.
    pub fn remove_on_drop(&self, tag: &str) -> Loaded {
        Loaded {
            cli: self.clone(),
            tag: tag.to_string(),
        }
    }
}

/// An image in a daemon, untagged (and so removed, unless something else holds it) on drop.
pub struct Loaded {
    cli: DockerCli,
    pub tag: String,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = self
            .cli
            .command()
            .args(["rmi", &self.tag])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Polls until `ready` or the child exits or time runs out.
fn wait_for(
    child: &mut Child,
    what: &str,
    log: &Path,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if ready() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!("{what} exited ({status}): {}", log.trim()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{what} did not become ready in 30 s"))
}

fn stop(child: &mut Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `podman system service` on a socket of its own, with its own vfs storage.
pub struct Podman {
    child: Child,
    dir: tempfile::TempDir,
    pub cli: DockerCli,
}

impl Podman {
    /// On a unix socket of its own.
    pub fn start() -> Result<Podman, String> {
        Self::start_on(None)
    }

    /// Listening on a loopback TCP port instead (`tcp://127.0.0.1:PORT`, plain HTTP).
    pub fn start_on_tcp() -> Result<Podman, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        Self::start_on(Some(port))
    }

    fn start_on(port: Option<u16>) -> Result<Podman, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path();
        let socket = d.join("podman.sock");
        let uri = match port {
            Some(port) => format!("tcp://127.0.0.1:{port}"),
            None => format!("unix://{}", socket.display()),
        };
        let log = d.join("service.log");
        let mut child = dies_with_parent(
            Command::new("podman")
                .arg("--root")
                .arg(d.join("root"))
                .arg("--runroot")
                .arg(d.join("run"))
                .arg("--tmpdir")
                .arg(d.join("tmp"))
                .args([
                    "--storage-driver",
                    "vfs",
                    "--cgroup-manager",
                    "cgroupfs",
                    "--events-backend",
                    "file",
                    "system",
                    "service",
                    "--time=0",
                ])
                .arg(&uri)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?),
        )
        .spawn()
        .map_err(|e| format!("cannot run podman: {e}"))?;
        wait_for(&mut child, "podman system service", &log, || match port {
            Some(port) => http_status_tcp(port, "/_ping") == Some(200),
            None => http_ok_unix(&socket, "/_ping"),
        })?;
        Ok(Podman {
            child,
            cli: DockerCli { host: Some(uri) },
            dir,
        })
    }

    pub fn host(&self) -> String {
        self.cli.host.clone().unwrap()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        stop(&mut self.child);
        // vfs leaves read-only directories behind: make them writable so they can go.
        let _ = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(self.dir.path())
            .status();
    }
}

fn http_ok_unix(socket: &Path, path: &str) -> bool {
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(socket) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(s, "GET {path} HTTP/1.0\r\nHost: d\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

fn http_status_tcp(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Debian's `docker-registry` on a free loopback port.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    /// The login it wants, if any.
    pub login: Option<(String, String)>,
}

impl Registry {
    pub fn start() -> Result<Registry, String> {
        Self::start_with(None, None, None)
    }

    /// A registry whose catalog answers at most `max` repositories a page (its
    /// `catalog.maxentries`; 1000 unless set), so that a few repositories take several pages.
    pub fn start_with_catalog_pages_of(max: usize) -> Result<Registry, String> {
        Self::start_with(None, None, Some(max))
    }

    /// A registry that wants this user name and password (htpasswd, bcrypt).
    pub fn start_with_login(user: &str, password: &str) -> Result<Registry, String> {
        Self::start_with(Some((user.to_string(), password.to_string())), None, None)
    }

    /// A registry that speaks only HTTPS, with this certificate and key (PEM files).
    pub fn start_with_tls(certificate: &Path, key: &Path) -> Result<Registry, String> {
        Self::start_with(None, Some((certificate, key)), None)
    }

    fn start_with(
        login: Option<(String, String)>,
        tls: Option<(&Path, &Path)>,
        catalog_max: Option<usize>,
    ) -> Result<Registry, String> {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(login.clone(), tls, catalog_max) {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn try_start(
        login: Option<(String, String)>,
        tls: Option<(&Path, &Path)>,
        catalog_max: Option<usize>,
    ) -> Result<Registry, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            d.join("storage").display()
        );
        if let Some((user, password)) = &login {
            let line = run(Command::new("htpasswd").args(["-Bbn", user, password]))?;
            std::fs::write(d.join("htpasswd"), line.trim()).map_err(|e| e.to_string())?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: pydive-test\n    path: {}\n",
                d.join("htpasswd").display()
            ));
        }
        if let Some((certificate, key)) = tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                certificate.display(),
                key.display()
            ));
        }
        // Last: `tls` above continues the `http` section.
        if let Some(max) = catalog_max {
            config.push_str(&format!("catalog:\n  maxentries: {max}\n"));
        }
        std::fs::write(d.join("config.yml"), config).map_err(|e| e.to_string())?;
        let log = d.join("registry.log");
        let mut child = dies_with_parent(
            Command::new("docker-registry")
                .arg("serve")
                .arg(d.join("config.yml"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?),
        )
        .spawn()
        .map_err(|e| format!("cannot run docker-registry: {e}"))?;
        let ready = wait_for(&mut child, "docker-registry", &log, || {
            // A TLS-only server answers plain HTTP with 400.
            matches!(http_status_tcp(port, "/v2/"), Some(200 | 401 | 400))
        });
        if let Err(e) = ready {
            stop(&mut child);
            return Err(e);
        }
        Ok(Registry {
            child,
            dir,
            port,
            login,
        })
    }

    /// `127.0.0.1:PORT`
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `docker://127.0.0.1:PORT/REPO`
    pub fn reference(&self, repo: &str) -> String {
        format!("docker://{}/{repo}", self.address())
    }

    /// `skopeo copy [extra] SOURCE docker://127.0.0.1:PORT/REPO`, returning that reference.
    pub fn push(&self, source: &str, repo: &str, extra: &[&str]) -> String {
        let target = self.reference(repo);
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if let Some((user, password)) = &self.login {
            cmd.arg("--dest-creds").arg(format!("{user}:{password}"));
        }
        cmd.args(extra).arg(source).arg(&target);
        run(&mut cmd).unwrap();
        target
    }

    /// The file holding a blob in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A bearer-token front for a registry, the way Docker Hub and most public registries work:
/// `/v2/` answers 401 with a `Bearer realm=...` challenge, `/token` hands out a token (to
/// anyone, or only for the right login), and requests with a valid token are passed on to the
/// registry behind it. Plain std threads on a loopback port; stops when dropped.
pub struct TokenGate {
    pub port: u16,
    /// Tokens handed out, with whether the token request carried the right login.
    pub issued: std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl TokenGate {
    /// `login`: the basic credentials the token endpoint requires (`None`: anonymous tokens).
    pub fn start(backend: u16, login: Option<(&str, &str)>) -> TokenGate {
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let issued: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let expected = login.map(|(u, p)| format!("Basic {}", base64(&format!("{u}:{p}"))));
        {
            let issued = Arc::clone(&issued);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut served = 0;
                while !stop.load(Ordering::Relaxed) && served < 10_000 {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            served += 1;
                            let issued = Arc::clone(&issued);
                            let expected = expected.clone();
                            std::thread::spawn(move || {
                                let _ = gate_one(conn, port, backend, expected, &issued);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            });
        }
        TokenGate { port, issued, stop }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for TokenGate {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
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

/// Serves one connection: one request, then closes.
fn gate_one(
    mut conn: TcpStream,
    port: u16,
    backend: u16,
    expected_login: Option<String>,
    issued: &std::sync::Mutex<Vec<(String, bool)>>,
) -> std::io::Result<()> {
    let Some(head) = request_head(&mut conn)? else {
        return Ok(());
    };
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let path = request.split(' ').nth(1).unwrap_or("/").to_string();

    if path.starts_with("/token") {
        let login_ok = header("authorization") == expected_login || expected_login.is_none();
        if expected_login.is_some() && header("authorization") != expected_login {
            let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad login"}]}"#;
            return write!(
                conn,
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        let mut issued = issued.lock().unwrap();
        let token = format!("token-{}", issued.len());
        issued.push((token.clone(), login_ok));
        let body = format!(r#"{{"token":"{token}","expires_in":300}}"#);
        return write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    let valid = header("authorization")
        .and_then(|a| a.strip_prefix("Bearer ").map(String::from))
        .is_some_and(|t| issued.lock().unwrap().iter().any(|(i, _)| *i == t));
    if !valid {
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        return write!(
            conn,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"pydive-test\"\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    // Pass the request on, and the answer back with the connection marked for closing.
    let mut up = TcpStream::connect(("127.0.0.1", backend))?;
    let method = request.split(' ').next().unwrap_or("GET");
    write!(
        up,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{backend}\r\n"
    )?;
    if let Some(accept) = header("accept") {
        write!(up, "Accept: {accept}\r\n")?;
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

/// A certificate authority and a server certificate for 127.0.0.1 signed by it, made with
/// openssl in `dir`: returns (CA certificate, server certificate, server key).
pub fn tls_files(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (cert, key, csr) = (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("server.csr"),
    );
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=pydive test CA", "-keyout"])
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca))?;
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&csr))?;
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(&ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert))?;
    Ok((ca, cert, key))
}

/// Reads an HTTP request's head (up to its empty line, at most 64 KiB) for the tests' plain-HTTP
/// fronts; `None` when the client hung up first or opened with a TLS handshake, which a plain
/// HTTP server answers by hanging up.
pub fn request_head(conn: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    if conn.peek(&mut byte)? == 1 && byte[0] == 0x16 {
        return Ok(None);
    }
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        if conn.read(&mut byte)? == 0 {
            return Ok(None);
        }
        head.push(byte[0]);
    }
    Ok(Some(head))
}
