//! Real services for the daemon and registry tests, on 127.0.0.1 or a unix socket in a
//! temporary directory: the machine's Docker daemon (loaded with fixture images, which are
//! removed again), a Podman API service on vfs storage, and Debian's `docker-registry`, with
//! images pushed by skopeo. Each test starts what it needs and everything stops when dropped.
//!
//! A test that needs a service it cannot have fails with the reason under `CI=true`, and
//! otherwise passes after printing a visible note (see `.config/nextest.toml`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The service, or `None` after a note (or a panic in CI) saying why it is missing.
pub fn need<T>(what: &str, service: Result<T, String>) -> Option<T> {
    match service {
        Ok(s) => Some(s),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{what} is required in CI (CI=true) but is not available: {why}")
        }
        Err(why) => {
            eprintln!("NOTE: test skipped: {what} is not available here: {why}");
            None
        }
    }
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

fn run(cmd: &mut Command) -> Result<String, String> {
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
    pub fn start() -> Result<Podman, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path();
        let socket = d.join("podman.sock");
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
                .arg(format!("unix://{}", socket.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?),
        )
        .spawn()
        .map_err(|e| format!("cannot run podman: {e}"))?;
        wait_for(&mut child, "podman system service", &log, || {
            http_ok_unix(&socket, "/_ping")
        })?;
        Ok(Podman {
            child,
            cli: DockerCli {
                host: Some(format!("unix://{}", socket.display())),
            },
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
        Self::start_with(None)
    }

    /// A registry that wants this user name and password (htpasswd, bcrypt).
    pub fn start_with_login(user: &str, password: &str) -> Result<Registry, String> {
        Self::start_with(Some((user.to_string(), password.to_string())))
    }

    fn start_with(login: Option<(String, String)>) -> Result<Registry, String> {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(login.clone()) {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn try_start(login: Option<(String, String)>) -> Result<Registry, String> {
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
            matches!(http_status_tcp(port, "/v2/"), Some(200 | 401))
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
