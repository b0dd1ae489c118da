//! One image, five ways in: a `docker save` archive, an OCI layout, the Docker daemon, Podman
//! and a registry all give the same JSON report, apart from the reference it names.
//! Needs the Docker daemon (and its `docker` command), podman, docker-registry and skopeo.

mod common;

use common::services::{DockerCli, Podman, Registry, need, unique};
use common::{archive, json, json_of, load_with, read_config};
use pydive::fixture::{Entry, Image, Layer, Layout};
use serde_json::Value;

const LIBC: &[u8] = include_bytes!("../assets/elf/libc.so.6");
const LOADER: &[u8] = include_bytes!("../assets/elf/ld-linux-x86-64.so.2");
const PYTHON: &[u8] = include_bytes!("../assets/elf/python3.11");
const MUSL_EXTENSION: &[u8] =
    include_bytes!("../assets/elf/_speedups.cpython-311-x86_64-linux-musl.so");

/// Uncompressed layers, as a daemon stores and exports them, so that even the layer digests
/// and blob sizes agree everywhere. Real ELF files, so that the linkage facts and a
/// compatibility finding (a musl extension in a glibc image) are compared too.
fn image(tag: &str) -> Image {
    let mut image = Image::new(vec![
        Layer::new(
            "/bin/sh -c #(nop) ADD file:base in /",
            vec![
                Entry::dir("usr"),
                Entry::dir("usr/bin"),
                Entry::exec("usr/bin/python3.12", vec![0x7f; 4000]),
                Entry::dir("lib64"),
                Entry::exec("lib64/ld-linux-x86-64.so.2", LOADER),
                Entry::dir("lib"),
                Entry::dir("lib/x86_64-linux-gnu"),
                Entry::exec("lib/x86_64-linux-gnu/libc.so.6", LIBC),
                Entry::dir("usr/local"),
                Entry::dir("usr/local/bin"),
                Entry::exec("usr/local/bin/python3.11", PYTHON),
                Entry::dir("usr/include"),
                Entry::file("usr/include/Python.h", vec![b'#'; 1200]),
                Entry::dir("tmp"),
                Entry::file("tmp/scratch", vec![1; 3000]),
            ],
        ),
        Layer::new(
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
                Entry::dir("usr/local/lib"),
                Entry::dir("usr/local/lib/python3.11"),
                Entry::dir("usr/local/lib/python3.11/site-packages"),
                Entry::exec(
                    "usr/local/lib/python3.11/site-packages/_speedups.cpython-311-x86_64-linux-musl.so",
                    MUSL_EXTENSION,
                ),
            ],
        ),
        Layer::new(
            "RUN rm -rf /tmp/scratch",
            vec![Entry::dir("tmp"), Entry::whiteout("tmp/scratch")],
        ),
    ]);
    image.tag = Some(format!("{tag}:1"));
    image
}

/// The report apart from where the image was read: the reference, and the manifest digest,
/// which a `docker save` tarball and a daemon do not have.
fn without_reference(mut v: Value) -> (Value, Value) {
    let reference = v["image"]["reference"].take();
    v["image"]["manifest_digest"].take();
    (v, reference)
}

#[test]
fn one_image_gives_the_same_report_from_every_transport() {
    let Some(docker) = need("the Docker daemon", DockerCli::system()) else {
        return;
    };
    let Some(podman) = need("a Podman service", Podman::start()) else {
        return;
    };
    let Some(registry) = need("docker-registry", Registry::start()) else {
        return;
    };
    let name = unique("everywhere");
    let fixture = image(&name);
    let w = archive(&fixture, Layout::DockerClassic);
    let (baseline, _) = without_reference(json(w.path.to_str().unwrap()));
    assert_eq!(baseline["waste"]["deleted_bytes"], 3000);
    assert_eq!(baseline["waste"]["duplicate_reclaimable_bytes"], 1500);
    assert_eq!(baseline["libc"]["family"], "glibc", "{}", baseline["libc"]);
    assert!(
        baseline["elf"].as_array().unwrap().len() >= 4,
        "{}",
        baseline["elf"]
    );
    assert!(!baseline["findings"].as_array().unwrap().is_empty());

    let mut reports: Vec<(String, Value)> = Vec::new();
    let oci = tempfile::tempdir().unwrap();
    fixture.write_oci_dir(oci.path()).unwrap();
    let arg = format!("oci:{}", oci.path().display());
    reports.push((arg.clone(), json(&arg)));

    let in_docker = docker.load(&w.path, &format!("{name}:1"));
    let arg = format!("docker-daemon:{}", in_docker.tag);
    reports.push((arg.clone(), json(&arg)));

    let in_podman = podman.cli.load(&w.path, &format!("{name}:1"));
    let mut read = read_config();
    read.fetch.host = Some(podman.host());
    let arg = format!("docker-daemon:{}", in_podman.tag);
    reports.push((arg.clone(), json_of(&load_with(&arg, &read))));

    // --preserve-digests: skopeo would otherwise gzip the layers on the way in.
    let arg = registry.push(
        &format!("docker-archive:{}", w.path.display()),
        &format!("{name}:1"),
        &["--preserve-digests"],
    );
    reports.push((arg.clone(), json(&arg)));

    for (arg, report) in reports {
        let (report, reference) = without_reference(report);
        assert_eq!(reference, arg);
        assert_eq!(report, baseline, "{arg}");
    }
}
