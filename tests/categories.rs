//! Byte categories: every rule, on an image whose files declare the categories they belong
//! to. Expected totals are sums over that declaration.

mod common;

use std::collections::BTreeMap;

use common::{category, json_for};
use pydive::fixture::{Entry, Image, Layer};

/// (path, size, categories it belongs to)
const FILES: &[(&str, usize, &[&str])] = &[
    ("root/.cache/pip/http/v2/a/b/c", 3000, &["pip-cache"]),
    (
        "home/app/.cache/pip/wheels/x/numpy-2.0-cp312-cp312-linux_x86_64.whl",
        5000,
        &["pip-cache", "wheels"],
    ),
    (
        "tmp/pip-build-env-abc/overlay/lib/setup.py",
        700,
        &["pip-cache"],
    ),
    ("root/.cache/uv/archive-v0/xyz/mod.py", 900, &["uv-cache"]),
    (
        "root/.cache/pypoetry/cache/repositories/pypi/x.json",
        800,
        &["poetry-cache"],
    ),
    ("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 30000, &["compilers"]),
    (
        "usr/libexec/gcc/x86_64-linux-gnu/12/lto-wrapper",
        1000,
        &["compilers"],
    ),
    ("usr/bin/x86_64-linux-gnu-gcc-12", 1200, &["compilers"]),
    ("usr/bin/x86_64-linux-gnu-ld.bfd", 1500, &["compilers"]),
    ("usr/bin/make", 250, &["compilers"]),
    (
        "usr/x86_64-linux-gnu/lib/ldscripts/elf.x",
        100,
        &["compilers"],
    ),
    (
        "usr/lib/x86_64-linux-gnu/libbfd-2.40-system.so",
        2000,
        &["compilers"],
    ),
    (
        "usr/lib/x86_64-linux-gnu/libisl.so.23.2.0",
        1800,
        &["compilers"],
    ),
    ("usr/include/stdio.h", 400, &["headers"]),
    ("usr/include/linux/types.h", 100, &["headers"]),
    ("usr/local/include/python3.12/Python.h", 600, &["headers"]),
    (
        "opt/venv/include/python3.12/greenlet/greenlet.h",
        50,
        &["headers"],
    ),
    ("opt/src/vendored.hpp", 70, &["headers"]),
    (
        "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
        9000,
        &["apt-cache"],
    ),
    (
        "var/cache/apt/archives/gcc-12_12.2.0_amd64.deb",
        4000,
        &["apt-cache"],
    ),
    ("var/cache/apt/pkgcache.bin", 1000, &["apt-cache"]),
    (
        "usr/local/lib/python3.12/site-packages/requests/__pycache__/api.cpython-312.pyc",
        300,
        &["pycache"],
    ),
    ("usr/lib/python3/dist-packages/old.pyc", 30, &["pycache"]),
    ("wheels/flask-3.0-py3-none-any.whl", 2500, &["wheels"]),
    (
        "usr/share/python-wheels/pip-23.0.1-py3-none-any.whl",
        1100,
        &["wheels"],
    ),
    (
        "usr/lib/x86_64-linux-gnu/libpython3.12.a",
        8000,
        &["static-libs"],
    ),
    (
        "usr/local/lib/python3.12/site-packages/numpy/core/tests/test_multiarray.py",
        1234,
        &["tests"],
    ),
    (
        "usr/lib/python3/dist-packages/yaml/test/data.bin",
        66,
        &["tests"],
    ),
    ("usr/share/doc/gcc-12/copyright", 500, &["docs"]),
    ("usr/share/man/man1/gcc.1.gz", 200, &["docs"]),
    ("usr/share/info/gcc.info.gz", 300, &["docs"]),
    // In no category:
    ("usr/local/bin/python3.12", 6000, &[]),
    (
        "usr/local/lib/python3.12/site-packages/requests/api.py",
        120,
        &[],
    ),
    ("app/tests/test_app.py", 90, &[]),
    ("usr/lib/x86_64-linux-gnu/libc.so.6", 2000, &[]),
    ("usr/share/bin/gcc", 10, &[]),
    ("tmp/pip-notadir", 10, &[]),
];

fn entries() -> Vec<Entry> {
    FILES
        .iter()
        .enumerate()
        .map(|(i, (path, size, _))| Entry::file(path, vec![i as u8; *size]))
        .collect()
}

fn expected() -> BTreeMap<&'static str, (u64, u64)> {
    let mut out = BTreeMap::new();
    for (_, size, cats) in FILES {
        for c in *cats {
            let slot = out.entry(*c).or_insert((0, 0));
            slot.0 += *size as u64;
            slot.1 += 1;
        }
    }
    out
}

#[test]
fn every_category_rule() {
    let report = json_for(&Image::new(vec![Layer::new("RUN build", entries())]));
    let expected = expected();
    let ids = [
        "pip-cache",
        "uv-cache",
        "poetry-cache",
        "compilers",
        "headers",
        "apt-cache",
        "pycache",
        "wheels",
        "static-libs",
        "tests",
        "docs",
        "debug-info",
    ];
    for id in ids {
        assert_eq!(
            category(&report, id),
            expected.get(id).copied().unwrap_or((0, 0)),
            "{id}"
        );
    }
    assert_eq!(report["categories"].as_object().unwrap().len(), ids.len());
}

#[test]
fn categories_count_visible_files_and_per_layer_additions() {
    // Layer 1 adds a pip cache that layer 2 deletes; layer 3 leaves a smaller one.
    let image = Image::new(vec![
        Layer::new("base", vec![Entry::dir("root")]),
        Layer::new(
            "RUN pip install a",
            vec![
                Entry::file("root/.cache/pip/a", vec![1; 4000]),
                Entry::file("root/.cache/pip/b", vec![2; 1000]),
            ],
        ),
        Layer::new(
            "RUN rm -rf /root/.cache",
            vec![Entry::whiteout("root/.cache")],
        ),
        Layer::new(
            "RUN pip install c",
            vec![Entry::file("root/.cache/pip/c", vec![3; 600])],
        ),
    ]);
    let report = json_for(&image);
    assert_eq!(category(&report, "pip-cache"), (600, 1));
    let added = |layer: usize| &report["image"]["layers"][layer]["categories"]["pip-cache"];
    assert_eq!(added(1)["bytes"], 5000);
    assert_eq!(added(1)["files"], 2);
    assert!(added(2).is_null());
    assert_eq!(added(3)["bytes"], 600);
}

#[test]
fn compilers_follow_the_image_architecture() {
    let mut image = Image::new(vec![Layer::new(
        "RUN apt-get install gcc",
        vec![
            Entry::file("usr/lib/aarch64-linux-gnu/libmpc.so.3.3.1", vec![0; 100]),
            Entry::file("usr/bin/aarch64-linux-gnu-gcc-12", vec![0; 50]),
            Entry::file("usr/aarch64-linux-gnu/bin/as", vec![0; 20]),
        ],
    )]);
    image.architecture = "arm64".into();
    assert_eq!(category(&json_for(&image), "compilers"), (170, 3));
}
