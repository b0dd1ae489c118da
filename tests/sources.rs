//! Every source gives the same analysis: `docker save` tarballs in both layouts, standard
//! input, OCI layouts as directories and archives, plain, gzip and zstd layers; tags and
//! platforms select the image.

mod common;

use common::{archive, json, json_of, load_with, pydive, read_config};
use pydive::fixture::{self, Entry, Image, Layer, Layout};
use serde_json::Value;

/// A small image that exercises every mechanism, with each layer compressed as given.
fn rich_image(compress: impl Fn(Layer) -> Layer) -> Image {
    let mut image = Image::new(vec![
        compress(Layer::new(
            "/bin/sh -c #(nop) ADD file:base in /",
            vec![
                Entry::dir("usr"),
                Entry::dir("usr/bin"),
                Entry::exec("usr/bin/python3.12", vec![0x7f; 4000]),
                Entry::dir("etc"),
                Entry::file("etc/os-release", b"ID=debian\n"),
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
                Entry::dir("usr/lib"),
                Entry::file("usr/lib/libdup.so", vec![3; 1500]),
                Entry::file("usr/lib/libdup-copy.so", vec![3; 1500]),
                Entry::hardlink("usr/lib/libhard.so", "usr/lib/libdup.so"),
                Entry::symlink("usr/bin/python3", "python3.12"),
            ],
        )),
        compress(Layer::new(
            "RUN rm -rf /tmp/scratch && chmod +x /etc/os-release",
            vec![
                Entry::dir("tmp"),
                Entry::whiteout("tmp/scratch"),
                Entry::exec("etc/os-release", b"ID=debian\n"),
            ],
        )),
    ]);
    image.tag = Some("rich:1.0".into());
    image
}

#[test]
fn every_layout_and_compression_gives_the_same_report() {
    let baseline = {
        let w = archive(&rich_image(|l| l), Layout::DockerClassic);
        common::storage_independent(json(w.path.to_str().unwrap()))
    };
    assert_eq!(baseline["waste"]["deleted_bytes"], 3000);
    assert_eq!(baseline["waste"]["overwritten_bytes"], 10);
    assert_eq!(baseline["waste"]["duplicate_reclaimable_bytes"], 1500);

    type Compress = fn(Layer) -> Layer;
    let compressions: [(&str, Compress); 3] =
        [("tar", |l| l), ("gzip", Layer::gzip), ("zstd", Layer::zstd)];
    for (name, compress) in compressions {
        let image = rich_image(compress);
        for layout in [Layout::DockerClassic, Layout::DockerOci, Layout::Oci] {
            let w = archive(&image, layout);
            let prefix = if layout == Layout::Oci {
                "oci-archive:"
            } else {
                "docker-archive:"
            };
            let got = common::storage_independent(json(&common::path_arg(prefix, &w.path)));
            assert_eq!(got, baseline, "{name} {layout:?}");
            // A bare path finds the layout by itself.
            let bare = common::storage_independent(json(w.path.to_str().unwrap()));
            assert_eq!(bare, baseline, "{name} {layout:?} as a bare path");
        }
        let dir = tempfile::tempdir().unwrap();
        image.write_oci_dir(dir.path()).unwrap();
        assert_eq!(
            common::storage_independent(json(&common::path_arg("oci:", dir.path()))),
            baseline,
            "{name} oci dir"
        );
        assert_eq!(
            common::storage_independent(json(dir.path().to_str().unwrap())),
            baseline,
            "{name} bare oci dir"
        );
    }
}

#[test]
fn standard_input_gives_the_same_report() {
    for layout in [Layout::DockerClassic, Layout::DockerOci] {
        let w = archive(&rich_image(Layer::gzip), layout);
        let from_file = common::storage_independent(json(w.path.to_str().unwrap()));
        let out = pydive()
            .args(["report", "--format", "json", "-"])
            .pipe_stdin(&w.path)
            .unwrap()
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let from_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(from_stdin["image"]["reference"], "docker-archive:-");
        assert_eq!(
            common::storage_independent(from_stdin),
            from_file,
            "{layout:?}"
        );
    }
}

#[test]
fn no_verify_reads_the_same_tree_without_hashing() {
    let w = archive(&rich_image(|l| l), Layout::DockerClassic);
    let arg = w.path.to_str().unwrap();
    let verified = json(arg);
    let mut read = read_config();
    read.verify = false;
    let unverified = json_of(&load_with(arg, &read));
    assert_eq!(unverified["categories"], verified["categories"]);
    assert_eq!(unverified["image"], verified["image"]);
    assert_eq!(
        unverified["waste"]["deleted_bytes"],
        verified["waste"]["deleted_bytes"]
    );
    assert_eq!(
        unverified["waste"]["dive_efficiency"],
        verified["waste"]["dive_efficiency"]
    );
}

#[test]
fn tags_select_an_image_in_an_oci_layout() {
    let dir = tempfile::tempdir().unwrap();
    let image = rich_image(|l| l);
    image.write_oci_dir(dir.path()).unwrap();
    let tagged = json(&format!("oci:{}:1.0", dir.path().display()));
    assert_eq!(tagged["image"]["layers"].as_array().unwrap().len(), 3);

    let out = pydive()
        .args(["report", &format!("oci:{}:nope", dir.path().display())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown tag nope") && err.contains("1.0"),
        "{err}"
    );
}

fn platform_images() -> Vec<Image> {
    ["amd64", "arm64"]
        .iter()
        .map(|arch| {
            let mut image = Image::new(vec![Layer::new(
                "base",
                vec![Entry::file(
                    format!("etc/{arch}"),
                    vec![0; if *arch == "amd64" { 10 } else { 20 }],
                )],
            )]);
            image.architecture = arch.to_string();
            image.tag = Some("multi:latest".into());
            image
        })
        .collect()
}

#[test]
fn reports_name_the_manifest_config_and_index_digests_and_each_findings_layer() {
    let dir = tempfile::tempdir().unwrap();
    let written = fixture::write_oci_index_dir(dir.path(), &platform_images()).unwrap();
    let mut read = read_config();
    read.platform = pydive::source::Platform::parse("linux/arm64").unwrap();
    let arm = json_of(&load_with(&format!("oci:{}", dir.path().display()), &read));
    assert_eq!(arm["image"]["platform"], "linux/arm64");
    assert_eq!(
        arm["image"]["manifest_digest"],
        written[1].manifest_digest.as_str()
    );
    assert_eq!(
        arm["image"]["config_digest"],
        written[1].config_digest.as_str()
    );
    // index.json is no blob; an index inside the layout is.
    assert_eq!(arm["image"]["index_digest"], Value::Null);

    // A `docker save` tarball has a config but no manifest; findings name their layer's blob.
    let cached = Image::new(vec![
        Layer::new(
            "ADD base.tar /",
            vec![Entry::dir("usr"), Entry::file_len("usr/a", 10, 1)],
        ),
        Layer::new(
            "RUN pip install x",
            vec![
                Entry::dir("root"),
                Entry::dir("root/.cache"),
                Entry::dir("root/.cache/pip"),
                Entry::file_len("root/.cache/pip/x.whl", 100_000, 2),
            ],
        ),
    ]);
    let w = archive(&cached, Layout::DockerClassic);
    let v = json(w.path.to_str().unwrap());
    let written = cached
        .write_oci_dir(tempfile::tempdir().unwrap().path())
        .unwrap();
    assert_eq!(v["image"]["manifest_digest"], Value::Null);
    assert_eq!(v["image"]["config_digest"], written.config_digest.as_str());
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "pip-cache" && f["layer"] == 1),
        "{v}"
    );
    // Findings about the image as a whole (runs-as-root) have no layer.
    for f in findings.iter().filter(|f| !f["layer"].is_null()) {
        let layer = f["layer"].as_u64().unwrap() as usize;
        assert_eq!(
            f["layer_digest"],
            written.layer_digests[layer].as_str(),
            "{f}"
        );
    }
}

#[test]
fn platform_selects_from_a_multi_platform_index() {
    let dir = tempfile::tempdir().unwrap();
    fixture::write_oci_index_dir(dir.path(), &platform_images()).unwrap();
    let arg = format!("oci:{}", dir.path().display());

    let mut read = read_config();
    read.platform = pydive::source::Platform::parse("linux/arm64").unwrap();
    let arm = json_of(&load_with(&arg, &read));
    assert_eq!(arm["image"]["architecture"], "arm64");
    assert_eq!(arm["image"]["files_bytes"], 20);

    read.platform = pydive::source::Platform::parse("linux/amd64").unwrap();
    assert_eq!(
        json_of(&load_with(&arg, &read))["image"]["architecture"],
        "amd64"
    );

    let out = pydive()
        .args(["report", &arg, "--platform", "linux/s390x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("linux/s390x") && err.contains("linux/amd64") && err.contains("linux/arm64"),
        "{err}"
    );

    let archive_path = dir.path().join("multi.tar");
    fixture::write_oci_index_archive(&archive_path, &platform_images()).unwrap();
    let out = pydive()
        .args(["report", "--format", "json", "--platform", "linux/arm64"])
        .arg(format!("oci-archive:{}", archive_path.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["image"]["architecture"], "arm64");
}

#[test]
fn the_same_blob_listed_twice_is_read_twice() {
    let base = Layer::new(
        "RUN mkdir /x",
        vec![Entry::dir("x"), Entry::file("x/f", vec![0; 10])],
    );
    let image = Image::new(vec![
        base.clone(),
        Layer::new("RUN other", vec![Entry::file("y", vec![0; 1])]),
        base,
    ]);
    for layout in [Layout::DockerOci, Layout::Oci] {
        let w = archive(&image, layout);
        let v = json(w.path.to_str().unwrap());
        assert_eq!(v["image"]["layers"].as_array().unwrap().len(), 3);
        assert_eq!(v["waste"]["overwritten_bytes"], 10, "{layout:?}");
        let out = pydive()
            .args(["report", "--format", "json", "-"])
            .pipe_stdin(&w.path)
            .unwrap()
            .output()
            .unwrap();
        if layout == Layout::DockerOci {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A read counts its walked layers and their stored bytes, for the explorer's progress line.
#[test]
fn progress_counts_walked_layers_and_bytes() {
    use pydive::fixture::{Entry, Layer};
    let image = pydive::fixture::Image::new(vec![
        Layer::new("a", vec![Entry::file("a", vec![1u8; 3000])]).gzip(),
        Layer::new("b", vec![Entry::file("b", vec![2u8; 100])]),
    ]);
    let w = common::archive(&image, pydive::fixture::Layout::DockerClassic);
    let transport = pydive::source::Transport::parse(w.path.to_str().unwrap()).unwrap();
    let progress = pydive::source::Counters::default();
    let report =
        pydive::app::load_with_progress(&transport, &common::read_config(), Some(&progress))
            .unwrap();
    let stored: u64 = report.image.layers.iter().map(|l| l.blob_size).sum();
    assert_eq!(progress.snapshot(), (2, 2, stored));
}
