//! Bloat findings: each rule fires on the layer that caused it, names its Dockerfile step,
//! lists its paths largest first with their bytes, and says how to fix it; a clean image has
//! no findings at all.

mod common;

use common::{findings, json_for};
use pydive::fixture::{Entry, Image, Layer};
use serde_json::Value;

const MB: u64 = 1_000_000;

fn sloppy_image() -> Image {
    let mut image = Image::new(vec![
        Layer::new(
            "/bin/sh -c #(nop) ADD file:4c6d9d in / ",
            vec![
                Entry::dir("usr"),
                Entry::dir("usr/bin"),
                Entry::file("usr/bin/bash", vec![1; 1000]),
            ],
        ),
        Layer::new(
            "RUN /bin/sh -c apt-get update && apt-get install -y build-essential # buildkit",
            vec![
                Entry::file_len("var/lib/apt/lists/deb_Packages", 3 * MB, 1),
                Entry::file_len("var/lib/apt/lists/deb_Translation", MB, 2),
                Entry::file_len("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 2 * MB, 3),
                Entry::file_len("usr/bin/x86_64-linux-gnu-gcc-12", MB / 2, 4),
                Entry::file_len("usr/include/stdio.h", MB, 5),
                Entry::file_len("usr/include/stdlib.h", MB / 2, 6),
            ],
        ),
        Layer::new(
            "RUN /bin/sh -c pip install numpy # buildkit",
            vec![
                Entry::file_len("root/.cache/pip/http/1", 700_000, 7),
                Entry::file_len("root/.cache/pip/http/2", 300_000, 8),
                Entry::file_len("usr/lib/libblas.so", 2 * MB, 9),
                Entry::file_len("usr/lib/libblas-copy.so", 2 * MB, 9),
                Entry::file_len("tmp/build/big.o", 5 * MB, 10),
            ],
        ),
        Layer::new(
            "COPY dist/app-1.0-py3-none-any.whl /tmp/ # buildkit",
            vec![Entry::file_len("tmp/app-1.0-py3-none-any.whl", 400_000, 11)],
        ),
        Layer::new(
            "RUN /bin/sh -c rm -rf /tmp/build # buildkit",
            vec![Entry::dir("tmp"), Entry::whiteout("tmp/build")],
        ),
    ]);
    image.empty_steps = vec![
        (1, "ENV PIP_DISABLE_PIP_VERSION_CHECK=1".into()),
        (5, "CMD [\"python\"]".into()),
    ];
    image
}

fn one<'a>(report: &'a Value, rule: &str) -> &'a Value {
    let found = findings(report, rule);
    assert_eq!(found.len(), 1, "{rule}: {found:#?}");
    found[0]
}

fn check(f: &Value, layer: u64, step: &str, bytes: u64, paths: &[&str]) {
    assert_eq!(f["layer"], layer, "{f:#}");
    assert!(f["created_by"].as_str().unwrap().contains(step), "{f:#}");
    assert_eq!(f["bytes"], bytes, "{f:#}");
    let got: Vec<&str> = f["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(got, paths, "{f:#}");
    assert!(!f["fix"].as_str().unwrap().is_empty());
    assert!(!f["message"].as_str().unwrap().is_empty());
}

#[test]
fn each_bloat_rule_points_at_its_layer_and_step() {
    let report = json_for(&sloppy_image());

    let apt = one(&report, "apt-cache");
    check(
        apt,
        1,
        "apt-get update",
        4 * MB,
        &[
            "/var/lib/apt/lists/deb_Packages",
            "/var/lib/apt/lists/deb_Translation",
        ],
    );
    assert_eq!(apt["severity"], "warning");
    assert!(
        apt["fix"]
            .as_str()
            .unwrap()
            .contains("rm -rf /var/lib/apt/lists")
    );

    let cc = one(&report, "compilers");
    check(
        cc,
        1,
        "build-essential",
        2 * MB + MB / 2,
        &[
            "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
            "/usr/bin/x86_64-linux-gnu-gcc-12",
        ],
    );
    assert!(cc["fix"].as_str().unwrap().contains("multi-stage"));

    let headers = one(&report, "headers");
    check(
        headers,
        1,
        "build-essential",
        MB + MB / 2,
        &["/usr/include/stdio.h", "/usr/include/stdlib.h"],
    );
    assert_eq!(headers["severity"], "info");

    let pip = one(&report, "pip-cache");
    check(
        pip,
        2,
        "pip install numpy",
        MB,
        &["/root/.cache/pip/http/1", "/root/.cache/pip/http/2"],
    );
    assert!(pip["fix"].as_str().unwrap().contains("--no-cache-dir"));

    let whl = one(&report, "wheels");
    check(
        whl,
        3,
        "COPY dist/app-1.0",
        400_000,
        &["/tmp/app-1.0-py3-none-any.whl"],
    );

    // The step that wasted the bytes is the one to change; the message names where they came from.
    let wasted = one(&report, "wasted");
    check(
        wasted,
        4,
        "rm -rf /tmp/build",
        5 * MB,
        &["/tmp/build/big.o"],
    );
    assert!(
        wasted["message"]
            .as_str()
            .unwrap()
            .contains("layer 2 (`RUN pip install numpy`)"),
        "{wasted:#}"
    );

    let dups = one(&report, "duplicates");
    check(
        dups,
        2,
        "pip install numpy",
        2 * MB,
        &["/usr/lib/libblas-copy.so"],
    );

    // Most severe first.
    let severities: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    let mut sorted = severities.clone();
    sorted.sort_by_key(|s| match *s {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    });
    assert_eq!(severities, sorted);
}

#[test]
fn a_clean_image_has_no_findings() {
    // What every apt-based image does and no Dockerfile can avoid makes no finding: package
    // databases rewritten by each install, identical changelogs of many packages, pip's
    // self-check file.
    let changelogs: Vec<Entry> = (0..30)
        .map(|i| {
            Entry::file(
                format!("usr/share/doc/pkg{i}/changelog.gz"),
                vec![7; 50_000],
            )
        })
        .collect();
    let mut base = vec![
        Entry::dir("usr"),
        Entry::file_len("usr/lib/libc.so.6", 2 * MB, 1),
        Entry::file_len("var/lib/dpkg/status", 2 * MB, 2),
    ];
    base.extend(changelogs);
    let mut image = Image::new(vec![
        Layer::new("ADD rootfs", base),
        Layer::new(
            "RUN apt-get install -y python3 && rm -rf /var/lib/apt/lists/*",
            vec![
                Entry::file_len("var/lib/dpkg/status", 2 * MB + 10, 3),
                Entry::file_len("var/cache/debconf/templates.dat", 1000, 4),
            ],
        ),
        Layer::new(
            "RUN pip install --no-cache-dir flask",
            vec![
                Entry::file_len(
                    "usr/local/lib/python3.12/site-packages/flask/app.py",
                    300_000,
                    5,
                ),
                Entry::file(
                    "usr/share/python-wheels/pip-23.0.1-py3-none-any.whl",
                    vec![1; 2000],
                ),
                Entry::file("usr/include/small.h", vec![1; 100]),
                Entry::file("usr/bin/make", vec![1; 200_000]),
                Entry::file(
                    "root/.cache/pip/selfcheck/933384ba61cd29f29ed8c71f32758f164b7e71398046799c450b79c2",
                    vec![b'{'; 89],
                ),
            ],
        ),
    ]);
    // It runs as a user of its own (`USER 10001`).
    image.user = Some("10001".into());
    let report = json_for(&image);
    assert_eq!(
        report["findings"],
        Value::Array(vec![]),
        "{:#}",
        report["findings"]
    );
    // The numbers still count them.
    assert_eq!(report["waste"]["overwritten_bytes"], 2 * MB);
    assert_eq!(report["waste"]["duplicate_reclaimable_bytes"], 29 * 50_000);
    assert_eq!(common::category(&report, "pip-cache"), (89, 1));
}

#[test]
fn the_text_report_shows_steps_findings_and_fixes() {
    let w = common::archive(&sloppy_image(), pydive::fixture::Layout::DockerClassic);
    let out = common::pydive()
        .args(["report"])
        .arg(&w.path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "apt-get update && apt-get install -y build-essential",
        "[pip-cache] layer 2",
        "fix: use `pip install --no-cache-dir`",
        "/root/.cache/pip/http/1",
        "apt-cache",
        "dive's numbers",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // The bare form prints the same report.
    let bare = common::pydive().arg(&w.path).output().unwrap();
    assert_eq!(String::from_utf8(bare.stdout).unwrap(), text);
}

#[test]
fn the_shipped_demo_image_is_current_and_shows_every_category() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("demo.tar");
    pydive::demo::image()
        .write_docker_archive(&fresh, pydive::fixture::Layout::DockerOci)
        .unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.tar");
    assert!(
        std::fs::read(&fresh).unwrap() == std::fs::read(&shipped).unwrap(),
        "assets/demo.tar is stale: run `cargo run --example build_demo`"
    );
    assert!(std::fs::metadata(&shipped).unwrap().len() < 4_000_000);

    let out = common::pydive()
        .args(["demo", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (id, c) in report["categories"].as_object().unwrap() {
        let shown = c["files"].as_u64().unwrap() > 0;
        // uv and poetry have their own ids but the demo, like most images, uses pip.
        assert!(
            shown || id == "uv-cache" || id == "poetry-cache",
            "{id} missing from the demo"
        );
    }
    assert!(
        report["waste"]["deleted_bytes"].as_u64().unwrap() > 0,
        "a whiteout"
    );
    assert!(
        report["waste"]["overwritten_bytes"].as_u64().unwrap() > 0,
        "an overwrite"
    );
    // A python:3.11-slim-like base: a shell, Debian's os-release, dpkg's database, and Python
    // built into /usr/local, up to the base's `CMD ["python3"]`.
    let base = &report["base"];
    assert_eq!(base["flavour"], "slim", "{base:#}");
    assert_eq!(base["os_id"], "debian");
    assert_eq!(base["last_step"], r#"CMD ["python3"]"#);
    assert_eq!(base["python"]["built_from_source"], true);
    let os = &report["os_packages"];
    assert_eq!(os["manager"], "dpkg");
    let names: Vec<&str> = os["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["libc6", "dash", "gcc-12", "build-essential"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
}

#[test]
fn wasted_bytes_are_told_apart_by_what_the_later_step_did() {
    let image = Image::new(vec![
        Layer::new(
            "COPY app /app",
            vec![
                Entry::file_len("app/model.bin", 3 * MB, 1),
                Entry::file_len("app/lib.so", 2 * MB, 2),
            ],
        ),
        Layer::new(
            "RUN pip install -U thing",
            vec![Entry::file_len("app/lib.so", 2 * MB, 3)],
        ),
        Layer::new(
            "RUN chmod -R g+w /app",
            vec![Entry::file_len("app/model.bin", 3 * MB, 1)],
        ),
    ]);
    let report = json_for(&image);
    let wasted = findings(&report, "wasted");
    assert_eq!(wasted.len(), 2, "{wasted:#?}");
    let replaced = wasted.iter().find(|f| f["layer"] == 1).unwrap();
    assert!(
        replaced["message"]
            .as_str()
            .unwrap()
            .contains("replaces 2.0 MB"),
        "{replaced:#}"
    );
    assert!(replaced["fix"].as_str().unwrap().contains("final version"));
    let restored = wasted.iter().find(|f| f["layer"] == 2).unwrap();
    assert!(
        restored["message"]
            .as_str()
            .unwrap()
            .contains("same content"),
        "{restored:#}"
    );
    assert!(restored["fix"].as_str().unwrap().contains("COPY --chmod"));
    assert_eq!(restored["paths"], serde_json::json!(["/app/model.bin"]));
}

#[test]
fn a_wheel_in_pips_cache_is_the_cache_finding_not_a_wheels_finding() {
    let image = Image::new(vec![Layer::new(
        "RUN pip install numpy",
        vec![
            Entry::file_len(
                "root/.cache/pip/wheels/ab/numpy-2.0-cp312-cp312-linux_x86_64.whl",
                MB,
                1,
            ),
            Entry::file_len("tmp/dist/app-1.0-py3-none-any.whl", 100_000, 2),
        ],
    )]);
    let report = json_for(&image);
    assert_eq!(one(&report, "pip-cache")["bytes"], MB);
    let wheels = one(&report, "wheels");
    assert_eq!(
        wheels["paths"],
        serde_json::json!(["/tmp/dist/app-1.0-py3-none-any.whl"])
    );
}
