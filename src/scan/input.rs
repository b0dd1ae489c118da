//! What a scan is asked to scan: a file of image references (one a line), a registry
//! (`registry:HOST[/PREFIX]`, listed through its catalog), or the JSON of
//! `kubectl get pods -A -o json` (the images the cluster runs, by digest), so that pydive
//! needs no Kubernetes client. Each image comes with its repository name, the shard key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use oci_client::Reference;

use crate::source::Transport;

/// Where the list of images comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file of references, one a line; `#` starts a comment.
    File(PathBuf),
    /// A registry's catalog, optionally only repositories under a prefix.
    Registry { host: String, prefix: String },
    /// `kubectl get pods -A -o json` output.
    Pods(PathBuf),
}

impl Input {
    /// `registry:HOST[/PREFIX]`, `pods:FILE` (or a file whose JSON is a pod list), or a file
    /// of references.
    pub fn parse(arg: &str) -> Result<Input> {
        if let Some(rest) = arg.strip_prefix("registry:") {
            let rest = rest.trim_start_matches("//").trim_end_matches('/');
            let (host, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if host.is_empty() {
                bail!(
                    "{arg}: expected registry:HOST[/PREFIX], for example registry:ghcr.io/my-org"
                );
            }
            return Ok(Input::Registry {
                host: host.to_string(),
                prefix: prefix.to_string(),
            });
        }
        if let Some(path) = arg.strip_prefix("pods:") {
            return Ok(Input::Pods(PathBuf::from(path)));
        }
        let path = Path::new(arg);
        if !path.is_file() {
            bail!(
                "{arg}: no such file; SOURCE is a file of image references, \
                 registry:HOST[/PREFIX], or pods:FILE (kubectl get pods -A -o json)"
            );
        }
        // A pod list is recognised by its content, so `kubectl ... > pods.json` just works.
        let head = std::fs::read(path)
            .map(|b| b.iter().take(4096).copied().collect::<Vec<u8>>())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&head);
        if text.trim_start().starts_with('{') && text.contains("\"kind\"") {
            return Ok(Input::Pods(path.to_path_buf()));
        }
        Ok(Input::File(path.to_path_buf()))
    }
}

/// One image to scan, as listed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    /// The reference as a user would pass it to `pydive report` (`docker://...` for registries).
    pub reference: String,
    /// The repository, normalised (`docker.io/library/python`): the shard key.
    pub repository: String,
}

impl Listed {
    /// A reference in any transport pydive reads.
    pub fn new(reference: &str) -> Result<Listed> {
        let transport = Transport::parse(reference)?;
        let repository = match &transport {
            Transport::Registry(name) => registry_repository(name)?,
            Transport::DockerDaemon(name) => name
                .split_once('@')
                .map_or(name.as_str(), |(n, _)| n)
                .rsplit_once(':')
                .filter(|(_, tag)| !tag.contains('/'))
                .map_or(name.as_str(), |(n, _)| n)
                .to_string(),
            Transport::Oci { dir, .. } => dir.display().to_string(),
            Transport::OciArchive { path, .. } => path.display().to_string(),
            Transport::DockerArchive { input, .. } => match input {
                crate::source::Input::File(path) => path.display().to_string(),
                _ => bail!("{reference}: a scan cannot read an image from standard input"),
            },
        };
        Ok(Listed {
            reference: transport.to_string(),
            repository,
        })
    }
}

/// `registry/repository` of a registry reference, as Docker normalises it.
pub fn registry_repository(name: &str) -> Result<String> {
    let reference: Reference = name
        .parse()
        .map_err(|e| anyhow!("docker://{name}: not an image reference ({e})"))?;
    Ok(format!(
        "{}/{}",
        reference.registry(),
        reference.repository()
    ))
}

/// The references of a file: one a line, blank lines and `#` comments skipped, duplicates
/// listed once.
pub fn read_file(path: &Path) -> Result<Vec<Listed>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the list of images {}", path.display()))?;
    let mut seen = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(l, _)| l).trim();
        if line.is_empty() {
            continue;
        }
        let listed = Listed::new(line).with_context(|| format!("{}:{}", path.display(), n + 1))?;
        seen.insert(listed);
    }
    Ok(seen.into_iter().collect())
}

/// The images the pods of `kubectl get pods -A -o json` run: each container's `imageID` (the
/// digest the node pulled), or its `image` where the runtime reported no registry digest.
pub fn read_pods(path: &Path) -> Result<Vec<Listed>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{}: not JSON (expected kubectl get pods -A -o json)",
            path.display()
        )
    })?;
    let items = match value["kind"].as_str() {
        Some("List" | "PodList") => value["items"].as_array().cloned().unwrap_or_default(),
        Some("Pod") => vec![value.clone()],
        _ => bail!(
            "{}: not a pod list (expected the output of kubectl get pods -A -o json)",
            path.display()
        ),
    };
    let mut seen = BTreeSet::new();
    for pod in &items {
        let status = &pod["status"];
        for list in [
            "initContainerStatuses",
            "containerStatuses",
            "ephemeralContainerStatuses",
        ] {
            for container in status[list].as_array().into_iter().flatten() {
                let image_id = container["imageID"].as_str().unwrap_or_default();
                let image = container["image"].as_str().unwrap_or_default();
                if let Some(reference) = pod_image(image_id, image) {
                    let pod_name = pod["metadata"]["name"].as_str().unwrap_or("?");
                    let listed = Listed::new(&reference).with_context(|| {
                        format!("{}: pod {pod_name}: image {reference}", path.display())
                    })?;
                    seen.insert(listed);
                }
            }
        }
    }
    Ok(seen.into_iter().collect())
}

/// The registry reference of a container status: `imageID` when it names a repository and a
/// digest (`docker-pullable://` is dockershim's spelling), else `image`.
fn pod_image(image_id: &str, image: &str) -> Option<String> {
    let id = image_id
        .strip_prefix("docker-pullable://")
        .or_else(|| image_id.strip_prefix("docker://"))
        .unwrap_or(image_id);
    if id.contains("@sha256:") {
        return Some(format!("docker://{id}"));
    }
    let image = image.trim();
    // A runtime that reports only an image ID (`sha256:...`) and a locally built image name
    // still names a repository to try.
    (!image.is_empty() && !image.starts_with("sha256:")).then(|| format!("docker://{image}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_told_apart() {
        assert_eq!(
            Input::parse("registry:127.0.0.1:5000/team").unwrap(),
            Input::Registry {
                host: "127.0.0.1:5000".into(),
                prefix: "team".into()
            }
        );
        assert_eq!(
            Input::parse("registry:ghcr.io").unwrap(),
            Input::Registry {
                host: "ghcr.io".into(),
                prefix: String::new()
            }
        );
        assert!(Input::parse("registry:").is_err());
        assert!(Input::parse("/no/such/list").is_err());
    }

    #[test]
    fn repositories_are_normalised_as_docker_does() {
        let l = Listed::new("docker://python:3.12").unwrap();
        assert_eq!(l.repository, "docker.io/library/python");
        let l = Listed::new("docker://127.0.0.1:5000/team/app@sha256:0123456789012345678901234567890123456789012345678901234567890123").unwrap();
        assert_eq!(l.repository, "127.0.0.1:5000/team/app");
        let l = Listed::new("docker-daemon:myapp:1.2").unwrap();
        assert_eq!(l.repository, "myapp");
        let l = Listed::new("docker-daemon:localhost:5000/myapp").unwrap();
        assert_eq!(l.repository, "localhost:5000/myapp");
    }

    #[test]
    fn pods_name_their_images_by_digest() {
        let d = "sha256:0123456789012345678901234567890123456789012345678901234567890123";
        assert_eq!(
            pod_image(&format!("docker-pullable://nginx@{d}"), "nginx:1.25").unwrap(),
            format!("docker://nginx@{d}")
        );
        assert_eq!(
            pod_image(&format!("ghcr.io/a/b@{d}"), "ghcr.io/a/b:1").unwrap(),
            format!("docker://ghcr.io/a/b@{d}")
        );
        assert_eq!(pod_image(d, "myapp:dev").unwrap(), "docker://myapp:dev");
        assert_eq!(pod_image("", ""), None);
    }

    #[test]
    fn a_pod_list_is_read_from_kubectl_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.json");
        let d = "sha256:0123456789012345678901234567890123456789012345678901234567890123";
        let pods = serde_json::json!({
            "apiVersion": "v1", "kind": "List",
            "items": [
                {"metadata": {"name": "a"}, "status": {
                    "initContainerStatuses": [{"image": "busybox:1", "imageID": format!("docker.io/library/busybox@{d}")}],
                    "containerStatuses": [
                        {"image": "ghcr.io/x/app:1", "imageID": format!("ghcr.io/x/app@{d}")},
                        {"image": "ghcr.io/x/app:1", "imageID": format!("ghcr.io/x/app@{d}")}
                    ]}},
                {"metadata": {"name": "pending"}, "status": {}}
            ]
        });
        std::fs::write(&path, pods.to_string()).unwrap();
        assert_eq!(
            Input::parse(path.to_str().unwrap()).unwrap(),
            Input::Pods(path.clone())
        );
        let listed = read_pods(&path).unwrap();
        let refs: Vec<&str> = listed.iter().map(|l| l.reference.as_str()).collect();
        assert_eq!(
            refs,
            [
                format!("docker://docker.io/library/busybox@{d}"),
                format!("docker://ghcr.io/x/app@{d}")
            ]
        );
        assert_eq!(listed[1].repository, "ghcr.io/x/app");
    }
}
