//! Security facts: files whose mode grants more than a container needs (setuid and setgid
//! programs beyond a distribution's usual ones, world-writable files and directories without
//! the sticky bit), files that look like secrets in any layer (one deleted by a later layer is
//! still in the earlier layer's blob, which `docker save` hands to anyone who can pull), `.git`
//! directories copied in, and the user the container runs as. No thresholds or wording: the
//! `findings` rules turn these into findings. A secret's content is read only to tell what it
//! is, and never leaves this module.

use std::collections::BTreeMap;

use crate::layer::EntryKind;
use crate::layer::path::split_last;
use crate::model::{Image, NodeId, State};

/// What kind of secret a file looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretKind {
    PrivateKey,
    Netrc,
    Pypirc,
    GitCredentials,
    PipConfig,
    Npmrc,
    DotEnv,
    DockerConfig,
    CloudCredentials,
}

impl SecretKind {
    /// How a person names it.
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::PrivateKey => "a private key",
            SecretKind::Netrc => "a .netrc with logins",
            SecretKind::Pypirc => "a .pypirc with a password",
            SecretKind::GitCredentials => "git credentials",
            SecretKind::PipConfig => "a pip configuration with a password or token",
            SecretKind::Npmrc => "an .npmrc with a token or password",
            SecretKind::DotEnv => "a .env file",
            SecretKind::DockerConfig => "a Docker config.json with registry logins",
            SecretKind::CloudCredentials => "AWS credentials",
        }
    }
}

/// A file that looks like a secret, in one layer.
#[derive(Clone, Debug)]
pub struct Secret {
    pub kind: SecretKind,
    pub path: Vec<u8>,
    pub node: NodeId,
    /// The layer whose blob holds it.
    pub layer: usize,
    /// The later layer that deleted or replaced it, if any: it is still in `layer`'s blob.
    pub hidden_by: Option<usize>,
}

/// A file or directory of the final filesystem whose mode is worth a look.
#[derive(Clone, Debug)]
pub struct ModeFact {
    pub node: NodeId,
    /// The layer that provides it.
    pub layer: usize,
    pub mode: u32,
    pub is_dir: bool,
}

/// A `.git` directory some layer put in the image.
#[derive(Clone, Debug)]
pub struct GitDir {
    pub path: Vec<u8>,
    pub layer: usize,
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Default)]
pub struct Security {
    /// Setuid or setgid files, other than the distributions' usual ones.
    pub setuid: Vec<ModeFact>,
    /// World-writable files, and world-writable directories without the sticky bit.
    pub world_writable: Vec<ModeFact>,
    pub secrets: Vec<Secret>,
    pub git_dirs: Vec<GitDir>,
    /// The config's `User`, as written (`None` when absent).
    pub user: Option<String>,
}

impl Security {
    /// Whether the container runs as root: no `USER`, or `root`/`0`, with or without a group.
    pub fn runs_as_root(&self) -> bool {
        let user = self.user.as_deref().unwrap_or("").trim();
        let name = user.split(':').next().unwrap_or("");
        name.is_empty() || name == "root" || name == "0"
    }
}

/// Setuid and setgid programs Debian, Ubuntu, Alpine and the Red Hat family install in their
/// base images and common packages (passwd, su, mount, ping, sudo, ssh, cron...). Any other
/// setuid or setgid file is a finding.
pub const USUAL_SETUID: &[&str] = &[
    "bin/su",
    "bin/mount",
    "bin/umount",
    "bin/ping",
    "bin/ping6",
    "bin/fusermount",
    "bin/bbsuid",
    "sbin/unix_chkpwd",
    "sbin/pam_timestamp_check",
    "usr/bin/su",
    "usr/bin/passwd",
    "usr/bin/chfn",
    "usr/bin/chsh",
    "usr/bin/gpasswd",
    "usr/bin/newgrp",
    "usr/bin/mount",
    "usr/bin/umount",
    "usr/bin/chage",
    "usr/bin/expiry",
    "usr/bin/wall",
    "usr/bin/write",
    "usr/bin/bsd-write",
    "usr/bin/crontab",
    "usr/bin/at",
    "usr/bin/sudo",
    "usr/bin/sudoedit",
    "usr/bin/pkexec",
    "usr/bin/ping",
    "usr/bin/fusermount",
    "usr/bin/fusermount3",
    "usr/bin/newuidmap",
    "usr/bin/newgidmap",
    "usr/bin/ssh-agent",
    "usr/bin/dotlockfile",
    "usr/bin/staprun",
    "usr/sbin/unix_chkpwd",
    "usr/sbin/pam_timestamp_check",
    "usr/sbin/userhelper",
    "usr/lib/openssh/ssh-keysign",
    "usr/libexec/openssh/ssh-keysign",
    "usr/lib/dbus-1.0/dbus-daemon-launch-helper",
    "usr/libexec/dbus-1/dbus-daemon-launch-helper",
    "usr/lib/polkit-1/polkit-agent-helper-1",
    "usr/libexec/polkit-agent-helper-1",
    "usr/lib/eject/dmcrypt-get-device",
    "usr/libexec/utempter/utempter",
    "usr/lib/x86_64-linux-gnu/utempter/utempter",
    "usr/lib/aarch64-linux-gnu/utempter/utempter",
];

/// The distributions' own private keys: generated when their package is installed (a web
/// server's self-signed placeholder), not brought in.
const USUAL_KEYS: &[&str] = &["etc/ssl/private/ssl-cert-snakeoil.key"];

/// The files whose contents tell whether they hold a secret (a `.pem` may be a public
/// certificate, a `pip.conf` may hold only an index URL). Small ones only.
pub fn wants_content(path: &[u8], size: u64) -> bool {
    size <= 256 * 1024 && candidate(path).is_some()
}

/// What a path may hold, before its content is looked at.
fn candidate(path: &[u8]) -> Option<Candidate> {
    let (dir, name) = split_last(path);
    let (_, dir_name) = split_last(dir);
    if shipped_by_a_package(path) {
        return None;
    }
    Some(match name {
        b"id_rsa" | b"id_dsa" | b"id_ecdsa" | b"id_ed25519" | b"id_ecdsa_sk" | b"id_ed25519_sk" => {
            Candidate::Named(SecretKind::PrivateKey)
        }
        b".netrc" | b"_netrc" => Candidate::Named(SecretKind::Netrc),
        b".git-credentials" => Candidate::Named(SecretKind::GitCredentials),
        b".pypirc" => Candidate::Containing(SecretKind::Pypirc, &[b"password"]),
        b"pip.conf" | b"pip.ini" => Candidate::PipConfig,
        b".npmrc" => {
            Candidate::Containing(SecretKind::Npmrc, &[b"_authToken", b"_auth", b"_password"])
        }
        b"config.json" if dir_name == b".docker" => {
            Candidate::Containing(SecretKind::DockerConfig, &[b"\"auth\"", b"identitytoken"])
        }
        b"credentials" if dir_name == b".aws" => {
            Candidate::Containing(SecretKind::CloudCredentials, &[b"aws_secret_access_key"])
        }
        _ if is_dot_env(name) => Candidate::Named(SecretKind::DotEnv),
        _ if name.ends_with(b".pem") || name.ends_with(b".key") || name.ends_with(b".p8") => {
            Candidate::Containing(SecretKind::PrivateKey, &[b"PRIVATE KEY-----"])
        }
        _ => return None,
    })
}

enum Candidate {
    /// The name says it all (an `id_rsa` is a private key).
    Named(SecretKind),
    /// A secret when its content holds one of these.
    Containing(SecretKind, &'static [&'static [u8]]),
    /// A secret when an index URL carries a login, or a password or token is set.
    PipConfig,
}

/// `.env`, `.env.production`...; not the examples committed beside them.
fn is_dot_env(name: &[u8]) -> bool {
    if name == b".env" {
        return true;
    }
    let Some(suffix) = name.strip_prefix(b".env.") else {
        return false;
    };
    !matches!(
        suffix,
        b"example" | b"sample" | b"template" | b"dist" | b"defaults" | b"schema"
    )
}

/// Keys and certificates Python packages and test suites ship as fixtures: not secrets of
/// the image's owner.
fn shipped_by_a_package(path: &[u8]) -> bool {
    USUAL_KEYS.iter().any(|k| k.as_bytes() == path)
        || path.split(|&b| b == b'/').any(|part| {
            matches!(
                part,
                b"site-packages" | b"dist-packages" | b"test" | b"tests" | b"testdata"
            )
        })
        || path.starts_with(b"usr/share/doc/")
}

/// The kind of secret a file holds, from its path and (when read) its content.
fn secret_kind(path: &[u8], size: u64, content: Option<&[u8]>) -> Option<SecretKind> {
    if size == 0 {
        return None;
    }
    let contains =
        |needle: &[u8]| content.is_some_and(|c| c.windows(needle.len()).any(|w| w == needle));
    match candidate(path)? {
        Candidate::Named(kind) => Some(kind),
        Candidate::Containing(kind, needles) => needles.iter().any(|n| contains(n)).then_some(kind),
        Candidate::PipConfig => {
            let text = String::from_utf8_lossy(content?);
            let login_in_url = text.split_whitespace().any(|word| {
                word.split_once("://")
                    .and_then(|(_, rest)| rest.split('/').next())
                    .is_some_and(|host| host.contains('@'))
            });
            let secret_key = text.lines().any(|l| {
                let key = l.split(['=', ':']).next().unwrap_or("").trim();
                matches!(key, "password" | "token" | "client-cert")
            });
            (login_in_url || secret_key).then_some(SecretKind::PipConfig)
        }
    }
}

pub fn compute(image: &Image) -> Security {
    let mut security = Security {
        user: image.user.clone(),
        ..Security::default()
    };
    // Modes: the final filesystem only (a file removed later no longer runs).
    for id in image.tree.ids() {
        let Some(entry) = image.final_entry(id) else {
            continue;
        };
        let node = image.tree.node(id);
        let fact = || ModeFact {
            node: id,
            layer: node.last_layer(),
            mode: entry.mode,
            is_dir: entry.kind == EntryKind::Dir,
        };
        match entry.kind {
            EntryKind::File if entry.mode & 0o6000 != 0 => {
                let path = image.tree.path(id);
                if !USUAL_SETUID.iter().any(|p| p.as_bytes() == path.as_slice()) {
                    security.setuid.push(fact());
                }
            }
            _ => {}
        }
        let world_writable = entry.mode & 0o002 != 0;
        match entry.kind {
            EntryKind::File if world_writable => security.world_writable.push(fact()),
            EntryKind::Dir if world_writable && entry.mode & 0o1000 == 0 => {
                security.world_writable.push(fact())
            }
            _ => {}
        }
    }
    // Secrets and .git directories: every layer, since each blob ships whole.
    let mut git: BTreeMap<(usize, Vec<u8>), (u64, u64)> = BTreeMap::new();
    for (index, layer) in image.layers.iter().enumerate() {
        for entry in &layer.entries {
            if entry.kind == EntryKind::File {
                if let Some(git_dir) = git_dir_of(&entry.path) {
                    let slot = git.entry((index, git_dir.to_vec())).or_default();
                    slot.0 += 1;
                    slot.1 = slot.1.saturating_add(entry.size);
                }
                let Some(kind) = secret_kind(&entry.path, entry.size, entry.content.as_deref())
                else {
                    continue;
                };
                let Some(node) = image.tree.lookup(&entry.path) else {
                    continue;
                };
                let hidden_by = image
                    .tree
                    .node(node)
                    .changes
                    .iter()
                    .find(|c| {
                        c.layer as usize > index
                            && matches!(c.state, State::Removed | State::Modified)
                    })
                    .map(|c| c.layer as usize);
                security.secrets.push(Secret {
                    kind,
                    path: entry.path.to_vec(),
                    node,
                    layer: index,
                    hidden_by,
                });
            }
        }
    }
    security.git_dirs = git
        .into_iter()
        .map(|((layer, path), (files, bytes))| GitDir {
            path,
            layer,
            files,
            bytes,
        })
        .collect();
    security
}

/// The `.git` directory a path is inside, if any.
fn git_dir_of(path: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    for part in path.split(|&b| b == b'/') {
        let end = at + part.len();
        if part == b".git" && end < path.len() {
            return Some(&path[..end]);
        }
        at = end + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_told_by_name_and_content() {
        let key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n";
        let cert = b"-----BEGIN CERTIFICATE-----\nMIIB...\n";
        assert_eq!(
            secret_kind(b"root/.ssh/id_ed25519", 400, None),
            Some(SecretKind::PrivateKey)
        );
        assert_eq!(secret_kind(b"root/.ssh/id_ed25519.pub", 100, None), None);
        assert_eq!(
            secret_kind(b"app/server.pem", 300, Some(key)),
            Some(SecretKind::PrivateKey)
        );
        assert_eq!(secret_kind(b"app/server.pem", 300, Some(cert)), None);
        assert_eq!(
            secret_kind(
                b"usr/lib/python3/dist-packages/x/tests/key.pem",
                300,
                Some(key)
            ),
            None
        );
        assert_eq!(
            secret_kind(
                b"etc/pip.conf",
                80,
                Some(b"[global]\nindex-url = https://ci:hunter2@pypi.example/simple\n")
            ),
            Some(SecretKind::PipConfig)
        );
        assert_eq!(
            secret_kind(
                b"etc/pip.conf",
                80,
                Some(b"[global]\nindex-url = https://pypi.example/simple\n")
            ),
            None
        );
        assert_eq!(
            secret_kind(
                b"root/.npmrc",
                60,
                Some(b"//registry.npmjs.org/:_authToken=abc\n")
            ),
            Some(SecretKind::Npmrc)
        );
        assert_eq!(
            secret_kind(
                b"root/.docker/config.json",
                60,
                Some(br#"{"auths":{"r":{"auth":"x"}}}"#)
            ),
            Some(SecretKind::DockerConfig)
        );
        assert_eq!(
            secret_kind(
                b"root/.docker/config.json",
                30,
                Some(br#"{"credsStore":"pass"}"#)
            ),
            None
        );
        assert_eq!(secret_kind(b"app/.env", 30, None), Some(SecretKind::DotEnv));
        assert_eq!(secret_kind(b"app/.env.example", 30, None), None);
        assert_eq!(secret_kind(b"app/.env", 0, None), None);
    }

    #[test]
    fn root_is_no_user_or_root_or_zero() {
        let runs = |user: Option<&str>| {
            Security {
                user: user.map(String::from),
                ..Security::default()
            }
            .runs_as_root()
        };
        assert!(runs(None));
        assert!(runs(Some("")));
        assert!(runs(Some("root")));
        assert!(runs(Some("0:0")));
        assert!(!runs(Some("app")));
        assert!(!runs(Some("10001:10001")));
    }

    #[test]
    fn git_directories_are_found_from_their_files() {
        assert_eq!(git_dir_of(b"app/.git/HEAD"), Some(&b"app/.git"[..]));
        assert_eq!(git_dir_of(b".git/objects/ab/cd"), Some(&b".git"[..]));
        assert_eq!(git_dir_of(b"app/.gitignore"), None);
        assert_eq!(git_dir_of(b"app/.git"), None);
    }
}
