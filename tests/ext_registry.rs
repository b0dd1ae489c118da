//! Images read straight from a registry (`docker://`), no daemon: Debian's docker-registry on
//! a loopback port, images pushed by skopeo. Gzip and zstd layers, a multi-platform index,
//! logins from the command line, config.json, Podman's auth file and a credential helper; the
//! cache of verified blobs; and the errors users meet.
//! Needs docker-registry, skopeo, htpasswd (apache2-utils) and openssl.

mod common;

use std::fs;
use std::path::Path;

use common::services::{Registry, TokenGate, base64, need, tls_files, unique};
use common::{archive, json, json_of, load_with, pydive, read_config};
use pydive::cli::ReadConfig;
use pydive::fixture::{self, Entry, Image, Layer, Layout};
use pydive::source::cache::CacheConfig;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn image(compress: fn(Layer) -> Layer) -> Image {
    Image::new(vec![
        compress(Layer::new(
            "/bin/sh -c #(nop) ADD file:base in /",
            vec![
                Entry::dir("usr"),
                Entry::dir("usr/lib"),
                Entry::file("usr/lib/libpython3.12.so.1.0", vec![7; 6000]),
                Entry::dir("tmp"),
                Entry::file("tmp/build.log", vec![1; 2000]),
            ],
        )),
        compress(Layer::new(
            "RUN pip install numpy",
            vec![
                Entry::dir("root"),
                Entry::dir("root/.cache"),
                Entry::dir("root/.cache/pip"),
                Entry::file("root/.cache/pip/wheels/numpy.whl", vec![3; 4500]),
                Entry::dir("tmp"),
                Entry::whiteout("tmp/build.log"),
            ],
        )),
    ])
}

fn with_cache(dir: &Path) -> ReadConfig {
    let mut read = read_config();
    read.fetch.cache = Some(CacheConfig {
        dir: dir.to_path_buf(),
        max_bytes: 1 << 30,
    });
    read
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn cached_blobs(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(cache.join("blobs/sha256"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn layer_digests(v: &Value) -> Vec<String> {
    let mut d: Vec<String> = v["image"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
                .to_string()
        })
        .collect();
    d.sort();
    d
}

#[test]
fn a_pushed_image_reads_like_its_archive_and_its_layers_are_cached() {
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let w = archive(&image(|l| l), Layout::DockerClassic);
    let expected = common::storage_independent(json(w.path.to_str().unwrap()));
    let repo = format!("{}:1", unique("plain"));
    // skopeo gzips the layers on the way in.
    let reference = registry.push(&format!("docker-archive:{}", w.path.display()), &repo, &[]);

    let cache = tempfile::tempdir().unwrap();
    let v = json_of(&load_with(&reference, &with_cache(cache.path())));
    assert_eq!(v["image"]["reference"], reference);
    for layer in v["image"]["layers"].as_array().unwrap() {
        assert_eq!(layer["compression"], "gzip", "{layer}");
        assert_ne!(layer["digest"], layer["diff_id"], "{layer}");
    }
    assert_eq!(common::storage_independent(v.clone()), expected);

    // Each layer blob is cached under its digest, and hashes to it.
    let digests = layer_digests(&v);
    assert_eq!(cached_blobs(cache.path()), digests);
    for hex in &digests {
        let bytes = fs::read(cache.path().join("blobs/sha256").join(hex)).unwrap();
        assert_eq!(&sha256(&bytes), hex);
    }

    // With the blobs gone from the registry, the second read can only come from the cache.
    for hex in &digests {
        fs::remove_file(registry.blob_file(hex)).unwrap();
    }
    let again = json_of(&load_with(&reference, &with_cache(cache.path())));
    assert_eq!(again, v);
    // Without the cache it fails, naming the layer.
    let err = pydive::app::load(
        &pydive::source::Transport::parse(&reference).unwrap(),
        &read_config(),
    )
    .err()
    .expect("the registry no longer has the blobs");
    assert!(format!("{err:#}").contains("layer"), "{err:#}");
}

#[test]
fn a_damaged_cached_blob_is_downloaded_again() {
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let w = archive(&image(Layer::gzip), Layout::DockerOci);
    let expected = common::storage_independent(json(w.path.to_str().unwrap()));
    let reference = registry.push(
        &format!("docker-archive:{}", w.path.display()),
        &format!("{}:1", unique("damaged")),
        &[],
    );
    let cache = tempfile::tempdir().unwrap();
    let first = json_of(&load_with(&reference, &with_cache(cache.path())));
    let digests = layer_digests(&first);
    let victim = cache.path().join("blobs/sha256").join(&digests[0]);
    fs::write(&victim, b"not the layer").unwrap();

    let second = json_of(&load_with(&reference, &with_cache(cache.path())));
    assert_eq!(second, first);
    assert_eq!(common::storage_independent(second), expected);
    assert_eq!(sha256(&fs::read(&victim).unwrap()), digests[0]);
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused_and_not_cached() {
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let w = archive(&image(Layer::gzip), Layout::Oci);
    let reference = registry.push(
        &format!("oci-archive:{}", w.path.display()),
        &format!("{}:1", unique("corrupt")),
        &["--preserve-digests"],
    );
    let v = json(w.path.to_str().unwrap());
    let digest = v["image"]["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    // Same length, different bytes: only the digest can tell.
    let file = registry.blob_file(&digest);
    let mut bytes = fs::read(&file).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff;
    fs::write(&file, bytes).unwrap();

    let cache = tempfile::tempdir().unwrap();
    let out = pydive()
        .env("PYDIVE_CACHE_DIR", cache.path())
        .args(["report", &reference])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("layer 1") && err.to_lowercase().contains("digest"),
        "{err}"
    );
    let hex = digest.trim_start_matches("sha256:").to_string();
    assert!(!cached_blobs(cache.path()).contains(&hex));
}

#[test]
fn zstd_layers_are_read_from_a_registry() {
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let baseline = {
        let w = archive(&image(|l| l), Layout::DockerClassic);
        common::storage_independent(json(w.path.to_str().unwrap()))
    };
    let dir = tempfile::tempdir().unwrap();
    image(Layer::zstd).write_oci_dir(dir.path()).unwrap();
    let reference = registry.push(
        &format!("oci:{}", dir.path().display()),
        &format!("{}:1", unique("zstd")),
        &["--preserve-digests"],
    );
    let v = json_of(&load_with(&reference, &read_config()));
    for layer in v["image"]["layers"].as_array().unwrap() {
        assert_eq!(layer["compression"], "zstd", "{layer}");
    }
    assert_eq!(common::storage_independent(v), baseline);
}

fn platform_images() -> Vec<Image> {
    ["amd64", "arm64"]
        .iter()
        .map(|arch| {
            let mut image = Image::new(vec![
                Layer::new(
                    "base",
                    vec![Entry::file(
                        format!("etc/{arch}"),
                        vec![0; if *arch == "amd64" { 10 } else { 20 }],
                    )],
                )
                .gzip(),
            ]);
            image.architecture = arch.to_string();
            image
        })
        .collect()
}

/// Turns a layout whose index.json lists several images into one whose index.json names a
/// single image index by tag, which is what skopeo pushes as a multi-platform image.
fn nest_index(dir: &Path, tag: &str) {
    let top = fs::read(dir.join("index.json")).unwrap();
    let hex = sha256(&top);
    fs::write(dir.join("blobs/sha256").join(&hex), &top).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": format!("sha256:{hex}"),
            "size": top.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

#[test]
fn platform_selects_from_a_multi_platform_index() {
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fixture::write_oci_index_dir(dir.path(), &platform_images()).unwrap();
    nest_index(dir.path(), "multi");
    let reference = registry.push(
        &format!("oci:{}:multi", dir.path().display()),
        &format!("{}:multi", unique("index")),
        &["--all", "--preserve-digests"],
    );

    let mut read = read_config();
    read.platform = pydive::source::Platform::parse("linux/arm64").unwrap();
    let arm = json_of(&load_with(&reference, &read));
    assert_eq!(arm["image"]["architecture"], "arm64");
    assert_eq!(arm["image"]["files_bytes"], 20);
    read.platform = pydive::source::Platform::parse("linux/amd64").unwrap();
    let amd = json_of(&load_with(&reference, &read));
    assert_eq!(amd["image"]["architecture"], "amd64");
    assert_eq!(amd["image"]["files_bytes"], 10);

    let out = pydive()
        .args(["report", "--platform", "linux/s390x", &reference])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("linux/s390x") && err.contains("linux/amd64") && err.contains("linux/arm64"),
        "{err}"
    );
}

/// Runs `pydive report --format json REFERENCE` with an empty credential environment plus
/// `env`, and the password (if any) on standard input.
fn report(
    reference: &str,
    home: &Path,
    env: &[(&str, &Path)],
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    let mut cmd = pydive();
    cmd.env("HOME", home)
        .env("DOCKER_CONFIG", home.join("no-docker-config"))
        .env("REGISTRY_AUTH_FILE", home.join("no-auth.json"))
        .env("PYDIVE_CACHE_DIR", home.join("cache"))
        .env_remove("XDG_RUNTIME_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(["report", "--format", "json"])
        .args(args)
        .arg(reference);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_string());
    }
    cmd.output().unwrap()
}

fn basic(user: &str, password: &str) -> String {
    base64(&format!("{user}:{password}"))
}

#[test]
fn a_registry_that_wants_a_login() {
    const PASSWORD: &str = "s3cret-Pa55word";
    let Some(registry) = need(
        "docker-registry with htpasswd",
        Registry::start_with_login("alice", PASSWORD),
    ) else {
        return;
    };
    let w = archive(&image(Layer::gzip), Layout::DockerClassic);
    let expected = common::storage_independent(json(w.path.to_str().unwrap()));
    let reference = registry.push(
        &format!("docker-archive:{}", w.path.display()),
        &format!("{}:1", unique("private")),
        &[],
    );
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let ok = |out: std::process::Output, how: &str| {
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{how}: {err}");
        assert!(!err.contains(PASSWORD), "{how}: {err}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(common::storage_independent(v), expected, "{how}");
    };
    let denied = |out: std::process::Output, how: &str| -> String {
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{how}: {err}");
        assert_eq!(err.lines().count(), 1, "{how}: {err}");
        assert!(!err.contains(PASSWORD), "{how}: {err}");
        err
    };

    // Anonymous: told how to log in.
    let err = denied(report(&reference, home, &[], &[], None), "anonymous");
    assert!(
        err.contains("wants a login")
            && err.contains(&format!("docker login {}", registry.address())),
        "{err}"
    );

    // --username with --password-stdin.
    ok(
        report(
            &reference,
            home,
            &[],
            &["--username", "alice", "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        ),
        "--password-stdin",
    );
    // A wrong password is refused, and neither password is printed.
    let err = denied(
        report(
            &reference,
            home,
            &[],
            &["--username", "alice", "--password-stdin"],
            Some("wrong-password\n"),
        ),
        "wrong password",
    );
    assert!(
        err.contains("refused the credentials from --username"),
        "{err}"
    );
    assert!(!err.contains("wrong-password"), "{err}");

    // ~/.docker/config.json auths.
    let docker_config = home.join("docker");
    fs::create_dir_all(&docker_config).unwrap();
    fs::write(
        docker_config.join("config.json"),
        serde_json::json!({"auths": {registry.address(): {"auth": basic("alice", PASSWORD)}}})
            .to_string(),
    )
    .unwrap();
    ok(
        report(
            &reference,
            home,
            &[("DOCKER_CONFIG", &docker_config)],
            &[],
            None,
        ),
        "config.json auths",
    );

    // Podman's auth file.
    let auth_file = home.join("auth.json");
    fs::write(
        &auth_file,
        serde_json::json!({"auths": {registry.address(): {"auth": basic("alice", PASSWORD)}}})
            .to_string(),
    )
    .unwrap();
    ok(
        report(
            &reference,
            home,
            &[("REGISTRY_AUTH_FILE", &auth_file)],
            &[],
            None,
        ),
        "REGISTRY_AUTH_FILE",
    );

    // A credential helper named by credHelpers, found on PATH.
    let bin = home.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-pydivetest");
    fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = {} ] || exit 1\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n",
            registry.address()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    let helper_config = home.join("helper-config");
    fs::create_dir_all(&helper_config).unwrap();
    fs::write(
        helper_config.join("config.json"),
        serde_json::json!({"credHelpers": {registry.address(): "pydivetest"}}).to_string(),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd_env = vec![("DOCKER_CONFIG", helper_config.as_path())];
    let path_buf = std::path::PathBuf::from(&path);
    cmd_env.push(("PATH", path_buf.as_path()));
    ok(report(&reference, home, &cmd_env, &[], None), "credHelpers");

    // The same helper as the store for every registry (credsStore).
    fs::write(
        helper_config.join("config.json"),
        serde_json::json!({"credsStore": "pydivetest"}).to_string(),
    )
    .unwrap();
    ok(report(&reference, home, &cmd_env, &[], None), "credsStore");
}

#[test]
fn registry_errors_say_what_is_wrong() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = tempfile::tempdir().unwrap();
    let out = report(
        &format!("docker://127.0.0.1:{port}/x:1"),
        home.path(),
        &[],
        &[],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "cannot reach the registry at http://127.0.0.1:{port}"
        )),
        "{err}"
    );

    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let out = report(
        &registry.reference("nothing/here:1"),
        home.path(),
        &[],
        &[],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no such image in the registry"), "{err}");
}

#[test]
fn no_cache_leaves_nothing_and_the_cache_command_shows_and_clears() {
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let w = archive(&image(Layer::gzip), Layout::DockerClassic);
    let reference = registry.push(
        &format!("docker-archive:{}", w.path.display()),
        &format!("{}:1", unique("cache")),
        &[],
    );
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");

    let out = report(&reference, home.path(), &[], &["--no-cache"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(cached_blobs(&cache).is_empty());

    let out = report(&reference, home.path(), &[], &[], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "progress bars on a non-terminal");
    assert_eq!(cached_blobs(&cache).len(), 2);

    let info = pydive()
        .env("PYDIVE_CACHE_DIR", &cache)
        .args(["cache"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(info.status.success());
    assert!(
        text.contains(&cache.display().to_string()) && text.contains("2 blobs"),
        "{text}"
    );

    let cleared = pydive()
        .env("PYDIVE_CACHE_DIR", &cache)
        .args(["cache", "clear"])
        .output()
        .unwrap();
    assert!(cleared.status.success());
    assert!(String::from_utf8_lossy(&cleared.stdout).contains("removed 2 blobs"));
    assert!(cached_blobs(&cache).is_empty());

    // A cache limit smaller than any layer (1 byte) keeps nothing.
    let small = pydive()
        .env("PYDIVE_CACHE_DIR", &cache)
        .env("PYDIVE_CACHE_MAX", "1")
        .args(["report", &reference])
        .output()
        .unwrap();
    assert!(small.status.success());
    assert!(
        cached_blobs(&cache).is_empty(),
        "{:?}",
        cached_blobs(&cache)
    );
}

#[test]
fn bearer_tokens_anonymous_and_for_a_login() {
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let w = archive(&image(Layer::gzip), Layout::DockerClassic);
    let expected = common::storage_independent(json(w.path.to_str().unwrap()));
    let repo = format!("{}:1", unique("token"));
    registry.push(&format!("docker-archive:{}", w.path.display()), &repo, &[]);
    let home = tempfile::tempdir().unwrap();

    // Anonymous tokens, as Docker Hub hands out for public images.
    let open = TokenGate::start(registry.port, None);
    let reference = format!("docker://{}/{repo}", open.address());
    let out = report(&reference, home.path(), &[], &[], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(common::storage_independent(v), expected);
    assert!(
        !open.issued.lock().unwrap().is_empty(),
        "no token was asked for"
    );

    // Tokens only for a login: anonymous is told to log in; config.json's login gets a token.
    const PASSWORD: &str = "t0ken-Pa55";
    let closed = TokenGate::start(registry.port, Some(("bob", PASSWORD)));
    let reference = format!("docker://{}/{repo}", closed.address());
    let out = report(&reference, home.path(), &[], &[], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("docker login {}", closed.address())),
        "{err}"
    );

    let config = home.path().join("docker");
    fs::create_dir_all(&config).unwrap();
    fs::write(
        config.join("config.json"),
        serde_json::json!({"auths": {closed.address(): {"auth": basic("bob", PASSWORD)}}})
            .to_string(),
    )
    .unwrap();
    let out = report(
        &reference,
        home.path(),
        &[("DOCKER_CONFIG", &config)],
        &[],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains(PASSWORD));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(common::storage_independent(v), expected);
    assert!(
        closed
            .issued
            .lock()
            .unwrap()
            .iter()
            .all(|(_, login)| *login)
    );
    assert!(!closed.issued.lock().unwrap().is_empty());
}

#[test]
fn login_and_cache_options_are_checked_before_anything_is_read() {
    let cases: [(&[&str], Option<&str>, &str); 4] = [
        (
            &["--username", "alice"],
            None,
            "--username needs --password-stdin",
        ),
        (
            &["--password-stdin"],
            Some("pw\n"),
            "--password-stdin needs --username",
        ),
        (
            &["--username", "alice", "--password-stdin"],
            Some(""),
            "held no password",
        ),
        (
            &["--username", "alice", "--password-stdin", "-"],
            Some("pw\n"),
            "standard input",
        ),
    ];
    for (args, stdin, expected) in cases {
        let mut cmd = pydive();
        cmd.arg("report").args(args);
        if !args.contains(&"-") {
            cmd.arg("docker://127.0.0.1:9/never/contacted:1");
        }
        cmd.write_stdin(stdin.unwrap_or("").to_string());
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let out = pydive()
        .env("PYDIVE_CACHE_MAX", "lots")
        .args(["report", "docker://127.0.0.1:9/never/contacted:1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("PYDIVE_CACHE_MAX=lots"), "{err}");
    for empty in ["docker://", "docker-daemon:"] {
        let out = pydive().args(["report", empty]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("needs an image name"), "{err}");
    }
}

#[test]
fn a_registry_over_https_with_its_own_certificate_authority() {
    let certs = tempfile::tempdir().unwrap();
    let Some((ca, cert, key)) = need("openssl", tls_files(certs.path())) else {
        return;
    };
    let Some(registry) = need(
        "docker-registry over TLS",
        Registry::start_with_tls(&cert, &key),
    ) else {
        return;
    };
    let w = archive(&image(Layer::gzip), Layout::DockerClassic);
    let expected = common::storage_independent(json(w.path.to_str().unwrap()));
    // skopeo speaks HTTPS to it (without checking the certificate).
    let reference = registry.push(
        &format!("docker-archive:{}", w.path.display()),
        &format!("{}:1", unique("tls")),
        &[],
    );
    let home = tempfile::tempdir().unwrap();
    let empty = home.path().join("no-certs");
    fs::create_dir_all(&empty).unwrap();

    // The server speaks only TLS: a report means HTTPS worked, rustls on ring, its CA trusted.
    let out = report(
        &reference,
        home.path(),
        &[("SSL_CERT_FILE", &ca), ("SSL_CERT_DIR", &empty)],
        &[],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(common::storage_independent(v), expected);

    // With the system's CAs only, the certificate is refused, and said to be: no quiet fall
    // back to HTTP.
    let out = report(&reference, home.path(), &[], &[], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("certificate") && err.contains("not trusted"),
        "{err}"
    );

    // --insecure: the certificate is not checked.
    let out = report(&reference, home.path(), &[], &["--insecure"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
