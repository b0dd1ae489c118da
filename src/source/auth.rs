//! Registry credentials: given on the command line (`--username` with `--password-stdin`), or
//! found where Podman and Docker keep them: Podman's `auth.json` (`REGISTRY_AUTH_FILE`,
//! `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`), then Docker's
//! `config.json` (`DOCKER_CONFIG` or `~/.docker`; `auths`, `credsStore`, `credHelpers`).
//!
//! A password never reaches an error message or debug output: [`Password`] prints as
//! `<redacted>`, and a credential helper's own output (which may hold one) is not repeated.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use docker_credential::{CredentialRetrievalError, DockerCredential};

/// A secret that prints as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A secret of the user's; from now on it is redacted from everything pydive prints.
    pub fn new(secret: String) -> Password {
        crate::printable::register_secret(&secret);
        Password(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Password,
}

/// Where the credentials used came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    CommandLine,
    File(PathBuf),
    Helper(String),
    Anonymous,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::CommandLine => f.write_str("--username"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Helper(helper) => write!(f, "docker-credential-{helper}"),
            Origin::Anonymous => f.write_str("anonymous access"),
        }
    }
}

/// Credentials for `registry` (a host, or `host:port`), and where they came from.
pub fn find(registry: &str, explicit: Option<&Credentials>) -> (Option<Credentials>, Origin) {
    if let Some(c) = explicit {
        return (Some(c.clone()), Origin::CommandLine);
    }
    // The key Docker uses for Docker Hub in config.json, and what its helpers expect.
    let server = if is_docker_hub(registry) {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    for path in podman_auth_files() {
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if let Ok(found) = docker_credential::get_credential_from_reader(
            BufReader::new(file),
            server,
        )
        .or_else(|_| {
            // Podman writes Docker Hub as docker.io.
            let file = File::open(&path).map_err(|_| CredentialRetrievalError::ConfigReadError)?;
            docker_credential::get_credential_from_reader(BufReader::new(file), registry)
        }) {
            if let Some(c) = from_docker(found) {
                return (Some(c), Origin::File(path));
            }
        }
    }
    if let Some(path) = docker_config_file() {
        if let Ok(found) = docker_credential::get_credential(server) {
            if let Some(c) = from_docker(found) {
                let origin = helper_for(&path, server).map_or(Origin::File(path), Origin::Helper);
                return (Some(c), origin);
            }
        }
    }
    (None, Origin::Anonymous)
}

/// Identity tokens (OAuth refresh tokens) are not supported; such an entry is skipped.
fn from_docker(found: DockerCredential) -> Option<Credentials> {
    match found {
        DockerCredential::UsernamePassword(username, password) => Some(Credentials {
            username,
            password: Password::new(password),
        }),
        DockerCredential::IdentityToken(_) => None,
    }
}

pub fn is_docker_hub(registry: &str) -> bool {
    matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

fn podman_auth_files() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("REGISTRY_AUTH_FILE") {
        return vec![PathBuf::from(path)];
    }
    let mut files = Vec::new();
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        files.push(PathBuf::from(dir).join("containers/auth.json"));
    }
    if let Some(dir) = dirs::config_dir() {
        files.push(dir.join("containers/auth.json"));
    }
    files
}

fn docker_config_file() -> Option<PathBuf> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".docker")))?;
    let path = dir.join("config.json");
    path.is_file().then_some(path)
}

/// The credential helper config.json names for this server, if any.
fn helper_for(config: &PathBuf, server: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_reader(File::open(config).ok()?).ok()?;
    value["credHelpers"][server]
        .as_str()
        .or_else(|| {
            value["auths"][server]
                .is_null()
                .then(|| value["credsStore"].as_str())
                .flatten()
        })
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        let c = Credentials {
            username: "me".into(),
            password: Password::new("hunter2".into()),
        };
        let shown = format!("{c:?} {:?}", Some(&c));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn docker_hub_names() {
        assert!(is_docker_hub("docker.io"));
        assert!(is_docker_hub("index.docker.io"));
        assert!(!is_docker_hub("ghcr.io"));
    }
}
