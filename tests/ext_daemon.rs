//! Images held by a Docker or Podman daemon: fixture images are `docker load`ed into the
//! machine's Docker daemon and into a Podman service of the test's own, read back through
//! `docker-daemon:` (and bare names), and removed again. A daemon that is missing, refuses the
//! connection or lacks the image gives one line that says what to do.
//! Needs the Docker daemon (and its `docker` command), podman, docker-registry and skopeo.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

use common::services::{DockerCli, Podman, Registry, need, unique};
use common::{archive, json, json_of, load_with, pydive, read_config};
use pydive::fixture::{Entry, Image, Layer, Layout};
use serde_json::Value;

fn image(tag: &str, compress: fn(Layer) -> Layer) -> Image {
    let mut image = Image::new(vec![
        compress(Layer::new(
            "/bin/sh -c #(nop) ADD file:base in /",
            vec![
                Entry::dir("usr"),
                Entry::dir("usr/bin"),
                Entry::exec("usr/bin/python3.12", vec![0x7f; 4000]),
                Entry::dir("tmp"),
                Entry::file("tmp/scratch", vec![1; 3000]),
            ],
        )),
        compress(Layer::new(
            "RUN pip install requests",
            vec![
                Entry::dir("root"),
                Entry::dir("root/.cache"),
                Entry::dir("root/.cache/pip"),
                Entry::file("root/.cache/pip/http/abc", vec![2; 2500]),
                Entry::symlink("usr/bin/python3", "python3.12"),
            ],
        )),
        compress(Layer::new(
            "RUN rm -rf /tmp/scratch",
            vec![Entry::dir("tmp"), Entry::whiteout("tmp/scratch")],
        )),
    ]);
    image.tag = Some(format!("{tag}:1"));
    image
}

/// A daemon exports layers uncompressed: each layer's digest is its diff_id.
fn assert_exported_layers(v: &Value) {
    for layer in v["image"]["layers"].as_array().unwrap() {
        assert_eq!(layer["compression"], "none", "{layer}");
        assert_eq!(layer["digest"], layer["diff_id"], "{layer}");
        assert_eq!(layer["blob_size_bytes"], layer["size_bytes"], "{layer}");
    }
}

#[test]
fn docker_daemon_reads_a_loaded_image_by_name() {
    let Some(docker) = need("the Docker daemon", DockerCli::system()) else {
        return;
    };
    let name = unique("daemon");
    // Gzip layers: the daemon stores them uncompressed and exports them so.
    let w = archive(&image(&name, Layer::gzip), Layout::DockerClassic);
    let expected = common::storage_independent(json(w.path.to_str().unwrap()));
    assert_eq!(expected["waste"]["deleted_bytes"], 3000);
    let loaded = docker.load(&w.path, &format!("{name}:1"));

    let v = json(&format!("docker-daemon:{}", loaded.tag));
    assert_eq!(
        v["image"]["reference"],
        format!("docker-daemon:{}", loaded.tag)
    );
    assert_exported_layers(&v);
    assert_eq!(common::storage_independent(v), expected);

    // A bare name that is not a path means the daemon, from the command line too.
    let out = pydive()
        .args(["report", "--format", "json", &loaded.tag])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Not a terminal: no progress bars.
    assert!(stderr.is_empty(), "{stderr}");
    let bare: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        bare["image"]["reference"],
        format!("docker-daemon:{}", loaded.tag)
    );
    assert_eq!(common::storage_independent(bare), expected);
}

#[test]
fn missing_image_with_pull_never_says_so() {
    let Some(_docker) = need("the Docker daemon", DockerCli::system()) else {
        return;
    };
    let name = format!("{}:1", unique("absent"));
    let out = pydive()
        .args([
            "report",
            "--pull",
            "never",
            &format!("docker-daemon:{name}"),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&name) && err.contains("no such image"),
        "{err}"
    );
}

#[test]
fn the_daemon_pulls_a_missing_image_and_reports_a_failed_pull() {
    let Some(docker) = need("the Docker daemon", DockerCli::system()) else {
        return;
    };
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let name = unique("pulled");
    let w = archive(&image(&name, |l| l), Layout::DockerClassic);
    let expected = common::storage_independent(json(w.path.to_str().unwrap()));
    registry.push(
        &format!("docker-archive:{}", w.path.display()),
        &format!("{name}:1"),
        &[],
    );
    let pulled = format!("{}/{name}:1", registry.address());
    let _cleanup = docker.remove_on_drop(&pulled);
    // The daemon has no such image yet: with the default --pull missing it pulls it (from the
    // registry on the loopback interface) and the export follows.
    let v = json(&format!("docker-daemon:{pulled}"));
    assert_exported_layers(&v);
    assert_eq!(common::storage_independent(v), expected);
    let listed = docker
        .command()
        .args(["image", "inspect", "--format", "{{.Id}}", &pulled])
        .output()
        .unwrap();
    assert!(listed.status.success(), "the daemon did not keep the pull");
    let first_id = String::from_utf8_lossy(&listed.stdout).trim().to_string();
    let _first = docker.remove_on_drop(&first_id);

    // The tag moves to another image. --pull missing keeps what the daemon has; --pull always
    // asks for the new one; --pull never only looks.
    let mut changed = image(&name, |l| l);
    changed.layers.push(Layer::new(
        "RUN echo v2 > /version",
        vec![Entry::file("version", b"v2\n")],
    ));
    let w2 = archive(&changed, Layout::DockerClassic);
    registry.push(
        &format!("docker-archive:{}", w2.path.display()),
        &format!("{name}:1"),
        &[],
    );
    let layers = |args: &[&str]| {
        let out = pydive()
            .args(["report", "--format", "json"])
            .args(args)
            .arg(format!("docker-daemon:{pulled}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["image"]["layers"].as_array().unwrap().len()
    };
    assert_eq!(layers(&[]), 3);
    assert_eq!(layers(&["--pull", "never"]), 3);
    assert_eq!(layers(&["--pull", "always"]), 4);
    assert_eq!(layers(&["--pull", "never"]), 4);

    // A tag the registry does not have: the daemon's own message, on one line.
    let missing = format!("{}/{name}:nope", registry.address());
    let out = pydive()
        .args(["report", &format!("docker-daemon:{missing}")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("pull failed") && err.contains("manifest unknown"),
        "{err}"
    );
}

#[test]
fn podman_exports_through_its_docker_api() {
    let Some(podman) = need("a Podman service", Podman::start()) else {
        return;
    };
    let name = unique("podman");
    let w = archive(&image(&name, Layer::gzip), Layout::DockerOci);
    let expected = common::storage_independent(json(w.path.to_str().unwrap()));
    let loaded = podman.cli.load(&w.path, &format!("{name}:1"));

    let mut read = read_config();
    read.fetch.host = Some(podman.host());
    let v = json_of(&load_with(&format!("docker-daemon:{}", loaded.tag), &read));
    assert_exported_layers(&v);
    assert_eq!(common::storage_independent(v), expected);

    // DOCKER_HOST names the daemon when --host does not.
    let out = pydive()
        .env("DOCKER_HOST", podman.host())
        .args(["report", "--format", "json", &loaded.tag])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(common::storage_independent(v), expected);
}

#[test]
fn a_daemon_over_tcp() {
    let Some(podman) = need("a Podman service on TCP", Podman::start_on_tcp()) else {
        return;
    };
    let name = unique("tcp");
    let w = archive(&image(&name, Layer::gzip), Layout::DockerClassic);
    let expected = common::storage_independent(json(w.path.to_str().unwrap()));
    let loaded = podman.cli.load(&w.path, &format!("{name}:1"));
    assert!(podman.host().starts_with("tcp://127.0.0.1:"));
    let out = pydive()
        .env("DOCKER_HOST", podman.host())
        .args([
            "report",
            "--format",
            "json",
            &format!("docker-daemon:{}", loaded.tag),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_exported_layers(&v);
    assert_eq!(common::storage_independent(v), expected);
}

#[test]
fn podman_cannot_export_zstd_layers_and_says_so() {
    let Some(podman) = need("a Podman service", Podman::start()) else {
        return;
    };
    let name = unique("podman-zstd");
    let w = archive(&image(&name, Layer::zstd), Layout::DockerOci);
    let loaded = podman.cli.load(&w.path, &format!("{name}:1"));
    // Podman 4.3 keeps the zstd layers but cannot write them into a `docker save` stream.
    let err = fails(pydive().args(["report", "--host", &podman.host(), &loaded.tag]));
    assert!(
        err.contains(&format!(
            "{}: export from the daemon at {}",
            loaded.tag,
            podman.host()
        )) && err.contains("zstd"),
        "{err}"
    );
}

/// Runs pydive and returns its one-line error.
fn fails(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("pydive: error: "), "{err}");
    err
}

#[test]
fn no_daemon_says_what_to_do_instead() {
    let err = fails(pydive().args([
        "report",
        "--host",
        "unix:///nonexistent/docker.sock",
        "python:3.12-slim",
    ]));
    assert!(
        err.contains("no Docker daemon at unix:///nonexistent/docker.sock")
            && err.contains("docker-archive:PATH")
            && err.contains("docker://"),
        "{err}"
    );

    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("tcp://127.0.0.1:{port}");
    let err = fails(
        pydive()
            .env("DOCKER_HOST", &host)
            .args(["report", "docker-daemon:python:3.12-slim"]),
    );
    assert!(
        err.contains(&format!("no Docker daemon at {host}")),
        "{err}"
    );
    assert!(err.contains("docker-archive:PATH"), "{err}");
}

#[test]
fn permission_denied_on_the_socket_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("docker.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        // The owner without write permission is refused too.
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("pydive");
    let mut cmd = std::process::Command::new(&bin);
    cmd.args(["report", "--host"])
        .arg(format!("unix://{}", socket.display()))
        .arg("python:3.12-slim");
    if root {
        // Root passes every permission check: run as nobody.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(65534) != 0
                    || libc::setuid(65534) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("permission denied on unix://") && err.contains("docker` group"),
        "{err}"
    );
}
