//! The security rules on fixture images: secrets (including a private key added in one layer
//! and deleted in the next, which is still in the first layer's blob), setuid and setgid
//! files, world-writable files and directories, a container running as root, and a `.git`
//! directory copied in. A finding names the path and the layer, never the secret.

mod common;

use common::{archive, findings, json_of, pydive, report_for};
use pydive::fixture::{Entry, Image, Layer, Layout};
use serde_json::Value;

const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDSECRETKEYMATERIALSECRETKEYMATERIALSECRETKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n";
const KEY_MATERIAL: &str = "SECRETKEYMATERIAL";

fn json(image: &Image) -> Value {
    json_of(&report_for(image))
}

/// An image that runs as a user of its own, so that only the rule under test speaks.
fn as_user(mut image: Image) -> Image {
    image.user = Some("10001".into());
    image
}

#[test]
fn a_private_key_deleted_by_the_next_layer_is_still_found() {
    let image = as_user(Image::new(vec![
        Layer::new("ADD rootfs /", vec![Entry::dir("root")]),
        Layer::new(
            "COPY id_rsa /root/.ssh/id_rsa # buildkit",
            vec![
                Entry::dir("root/.ssh"),
                Entry::file("root/.ssh/id_rsa", KEY).with_mode(0o600),
            ],
        ),
        Layer::new(
            "RUN git clone git@example.com:app.git && rm /root/.ssh/id_rsa # buildkit",
            vec![Entry::whiteout("root/.ssh/id_rsa")],
        ),
    ]));
    let v = json(&image);
    let found = findings(&v, "secret-file");
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = found[0];
    assert_eq!(f["severity"], "error");
    assert_eq!(f["layer"], 1, "the layer whose blob holds it");
    assert_eq!(f["paths"][0], "/root/.ssh/id_rsa");
    assert_eq!(f["tags"], serde_json::json!(["security"]));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("a private key (/root/.ssh/id_rsa)"),
        "{message}"
    );
    assert!(
        message.contains("layer 2 deletes or replaces it"),
        "{message}"
    );
    assert!(
        f["created_by"].as_str().unwrap().contains("COPY id_rsa"),
        "{f:#}"
    );
    // The key itself is in no output.
    let w = archive(&image, Layout::DockerClassic);
    for args in [
        vec!["report"],
        vec!["report", "--format", "json"],
        vec!["report", "--format", "markdown"],
        vec!["audit"],
    ] {
        let out = pydive().args(&args).arg(&w.path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains(KEY_MATERIAL), "{args:?}: {text}");
        assert!(text.contains("/root/.ssh/id_rsa"), "{args:?}: {text}");
        if args == ["audit"] {
            assert_eq!(out.status.code(), Some(1), "an error fails the audit");
            assert!(text.contains("[secret-file, security]"), "{text}");
        }
    }
}

#[test]
fn credentials_files_are_found_by_what_they_hold() {
    let image = as_user(Image::new(vec![Layer::new(
        "COPY . /",
        vec![
            Entry::file("app/.env", "DATABASE_PASSWORD=hunter2\n"),
            Entry::file("app/.env.example", "DATABASE_PASSWORD=\n"),
            Entry::file("root/.netrc", "machine example.com login ci password x\n"),
            Entry::file(
                "root/.pypirc",
                "[pypi]\nusername = __token__\npassword = pypi-x\n",
            ),
            Entry::file("root/.git-credentials", "https://ci:x@github.com\n"),
            Entry::file(
                "etc/pip.conf",
                "[global]\nindex-url = https://ci:x@pypi.example.com/simple\n",
            ),
            Entry::file(
                "home/app/.config/pip/pip.conf",
                "[global]\nindex-url = https://pypi.example.com/simple\n",
            ),
            Entry::file("root/.npmrc", "//registry.npmjs.org/:_authToken=npm_x\n"),
            Entry::file(
                "root/.docker/config.json",
                r#"{"auths":{"registry.example.com":{"auth":"Y2k6eA=="}}}"#,
            ),
            Entry::file(
                "root/.aws/credentials",
                "[default]\naws_access_key_id = A\naws_secret_access_key = x\n",
            ),
            Entry::file("srv/tls/server.pem", KEY),
            Entry::file(
                "etc/ssl/certs/ca.pem",
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            ),
            // A package's own test key: a fixture, not a secret of the image's owner.
            Entry::file("usr/lib/python3/dist-packages/twisted/test/server.pem", KEY),
        ],
    )]));
    let v = json(&image);
    let mut paths: Vec<String> = findings(&v, "secret-file")
        .iter()
        .flat_map(|f| f["paths"].as_array().unwrap().clone())
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/app/.env",
            "/etc/pip.conf",
            "/root/.aws/credentials",
            "/root/.docker/config.json",
            "/root/.git-credentials",
            "/root/.netrc",
            "/root/.npmrc",
            "/root/.pypirc",
            "/srv/tls/server.pem",
        ]
    );
    let text = serde_json::to_string(&v["findings"]).unwrap();
    for secret in ["hunter2", "pypi-x", "npm_x", "Y2k6eA", KEY_MATERIAL] {
        assert!(!text.contains(secret), "{secret} printed");
    }
}

#[test]
fn setuid_files_beyond_the_usual_ones() {
    let image = as_user(Image::new(vec![
        Layer::new(
            "ADD rootfs /",
            vec![
                Entry::exec("usr/bin/passwd", [1; 100]).with_mode(0o4755),
                Entry::exec("usr/bin/chage", [1; 100]).with_mode(0o2755),
                Entry::exec("usr/bin/ls", [1; 100]),
            ],
        ),
        Layer::new(
            "RUN chmod u+s /usr/local/bin/helper",
            vec![
                Entry::exec("usr/local/bin/helper", [2; 100]).with_mode(0o4755),
                Entry::exec("usr/local/bin/grouped", [3; 100]).with_mode(0o2711),
            ],
        ),
    ]));
    let v = json(&image);
    let found = findings(&v, "setuid");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["layer"], 1);
    let mut paths: Vec<&str> = found[0]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(paths, ["/usr/local/bin/grouped", "/usr/local/bin/helper"]);
}

#[test]
fn world_writable_files_and_directories_without_the_sticky_bit() {
    let image = as_user(Image::new(vec![Layer::new(
        "RUN mkdir -p /data && chmod -R 777 /data",
        vec![
            Entry::dir("tmp").with_mode(0o1777),
            Entry::dir("data").with_mode(0o777),
            Entry::file("data/settings.py", "DEBUG = False\n").with_mode(0o666),
            Entry::file("data/ok.txt", "x").with_mode(0o644),
            Entry::symlink("data/link", "ok.txt"),
        ],
    )]));
    let v = json(&image);
    let found = findings(&v, "world-writable");
    assert_eq!(found.len(), 1, "{found:#?}");
    let mut paths: Vec<&str> = found[0]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(paths, ["/data", "/data/settings.py"]);
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("1 file and 1 directory anyone may write to")
    );
}

#[test]
fn a_container_running_as_root_is_a_finding() {
    let layers = || {
        vec![Layer::new(
            "ADD rootfs /",
            vec![Entry::file("etc/hostname", "x")],
        )]
    };
    for (user, root) in [
        (None, true),
        (Some("root"), true),
        (Some("0:0"), true),
        (Some(""), true),
        (Some("app"), false),
        (Some("10001:10001"), false),
    ] {
        let mut image = Image::new(layers());
        image.user = user.map(String::from);
        let v = json(&image);
        let found = findings(&v, "runs-as-root");
        assert_eq!(found.len(), usize::from(root), "{user:?}: {found:#?}");
        if root {
            assert_eq!(found[0]["severity"], "warning");
            assert_eq!(found[0]["layer"], Value::Null);
            assert_eq!(found[0]["tags"], serde_json::json!(["security"]));
        }
    }
}

#[test]
fn a_git_directory_copied_in() {
    let head = "ref: refs/heads/main\n";
    let config = "[remote \"origin\"]\n\turl = https://github.com/x/app\n";
    let object = vec![9; 5000];
    let image = as_user(Image::new(vec![Layer::new(
        "COPY . /app # buildkit",
        vec![
            Entry::dir("app"),
            Entry::file("app/main.py", "print('hi')\n"),
            Entry::file("app/.gitignore", "*.pyc\n"),
            Entry::dir("app/.git"),
            Entry::file("app/.git/HEAD", head),
            Entry::file("app/.git/config", config),
            Entry::file("app/.git/objects/ab/cdef", &object),
        ],
    )]));
    let v = json(&image);
    let found = findings(&v, "git-directory");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["paths"][0], "/app/.git");
    assert_eq!(found[0]["bytes"], head.len() + config.len() + object.len());
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("(/app/.git, 3 files,"),
        "{:#}",
        found[0]
    );
}
