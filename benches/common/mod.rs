//! The benchmarks' large image, built once with the fixture builder and kept in
//! `target/bench-images/`: >= 1 GB, >= 40k files, uncompressed `docker save` layout, with
//! deletions and overwrites.
#![allow(dead_code)] // each benchmark uses its own subset

use std::path::{Path, PathBuf};

use pydive::fixture::{Entry, Image, Layer, Layout};

pub fn big_image() -> Image {
    let mut layers = Vec::new();
    // A base layer of many small files, like a distribution's /usr.
    let small: Vec<Entry> = (0..30_000u64)
        .map(|i| {
            Entry::file_len(
                format!("usr/lib/pkg{}/mod{}.py", i / 100, i),
                2_000 + (i * 37) % 12_000,
                i,
            )
        })
        .collect();
    layers.push(Layer::new("ADD rootfs.tar /", small));
    // Site-packages with large extension modules.
    let mut site: Vec<Entry> = (0..12_000u64)
        .map(|i| {
            Entry::file_len(
                format!(
                    "usr/local/lib/python3.12/site-packages/p{}/f{}.py",
                    i / 50,
                    i
                ),
                1_000 + (i * 91) % 20_000,
                100_000 + i,
            )
        })
        .collect();
    for i in 0..12u64 {
        site.push(Entry::file_len(
            format!("usr/local/lib/python3.12/site-packages/big/lib{i}.so"),
            50_000_000,
            200_000 + i,
        ));
    }
    layers.push(Layer::new("RUN pip install -r requirements.txt", site));
    // A pip cache and a build tree deleted in the next layer.
    let cache: Vec<Entry> = (0..4u64)
        .map(|i| Entry::file_len(format!("root/.cache/pip/http/{i}"), 40_000_000, 300_000 + i))
        .chain(
            (0..2_000u64)
                .map(|i| Entry::file_len(format!("tmp/build/obj{i}.o"), 30_000, 400_000 + i)),
        )
        .collect();
    layers.push(Layer::new("RUN make build", cache));
    layers.push(Layer::new(
        "RUN rm -rf /tmp/build",
        vec![Entry::dir("tmp"), Entry::whiteout("tmp/build")],
    ));
    // An overwrite of part of the base layer.
    let rewrite: Vec<Entry> = (0..1_000u64)
        .map(|i| {
            Entry::file_len(
                format!("usr/lib/pkg{}/mod{}.py", i / 100, i),
                2_000,
                500_000 + i,
            )
        })
        .collect();
    layers.push(Layer::new("RUN chmod -R g+w /usr/lib", rewrite));
    Image::new(layers)
}

/// The large image's tarball, built on first use.
pub fn image_path() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-images");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big-classic.tar");
    if !path.exists() {
        eprintln!("building {} ...", path.display());
        let tmp = path.with_extension("partial");
        big_image()
            .write_docker_archive(&tmp, Layout::DockerClassic)
            .unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}
