//! Bad input never panics: one clear line on standard error, saying what and where, and exit
//! code 2. Each case damages a real image written by the fixture builder.

mod common;

use std::fs;
use std::path::Path;

use common::{archive, pydive};
use pydive::fixture::{Entry, Image, Layer, Layout};
use sha2::{Digest, Sha256};

fn image() -> Image {
    Image::new(vec![
        Layer::new(
            "base",
            vec![Entry::dir("etc"), Entry::file("etc/a", vec![b'a'; 4000])],
        ),
        Layer::new("RUN more", vec![Entry::file("etc/b", vec![b'b'; 3000])]),
    ])
}

/// Runs `pydive report ARG` and returns its one-line error.
fn fails(arg: &str) -> String {
    let out = pydive().args(["report", arg]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{arg}: {err}");
    assert!(out.stdout.is_empty(), "{arg}: printed a report");
    assert_eq!(err.lines().count(), 1, "{arg}: {err}");
    assert!(err.starts_with("pydive: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn oci_dir(image: &Image) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    image.write_oci_dir(dir.path()).unwrap();
    dir
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The blob file of a digest in an OCI layout.
fn blob(dir: &Path, digest: &str) -> std::path::PathBuf {
    dir.join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// Rewrites the image manifest with `edit`, storing it under its new digest in the index.
fn edit_manifest(dir: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let index_path = dir.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    let old = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(blob(dir, &old)).unwrap()).unwrap();
    edit(&mut manifest);
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let new = format!("sha256:{}", sha256(&bytes));
    fs::write(blob(dir, &new), &bytes).unwrap();
    index["manifests"][0]["digest"] = new.into();
    index["manifests"][0]["size"] = bytes.len().into();
    fs::write(index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn missing_file() {
    let err = fails("docker-archive:/no/such/image.tar");
    assert!(err.contains("/no/such/image.tar"), "{err}");
}

#[test]
fn not_a_tar() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.tar");
    fs::write(&path, b"this is not a tarball at all").unwrap();
    let err = fails(path.to_str().unwrap());
    assert!(err.contains("not a tar"), "{err}");
}

#[test]
fn truncated_archive() {
    let w = archive(&image(), Layout::DockerClassic);
    let bytes = fs::read(&w.path).unwrap();
    for cut in [bytes.len() / 3, bytes.len() - 2000] {
        fs::write(&w.path, &bytes[..cut]).unwrap();
        let err = fails(w.path.to_str().unwrap());
        assert!(
            err.contains("truncated") || err.contains("missing"),
            "{err}"
        );
    }
}

#[test]
fn truncated_gzip_and_corrupt_zstd_layers() {
    for (name, compress, damage) in [
        ("gzip", Layer::gzip as fn(Layer) -> Layer, "truncate"),
        ("zstd", Layer::zstd, "truncate"),
        ("gzip", Layer::gzip, "corrupt"),
        ("zstd", Layer::zstd, "corrupt"),
    ] {
        let image = Image::new(vec![compress(Layer::new(
            "base",
            vec![Entry::file_len("big", 200_000, 1)],
        ))]);
        let dir = oci_dir(&image);
        let manifest_digest = {
            let index: serde_json::Value =
                serde_json::from_slice(&fs::read(dir.path().join("index.json")).unwrap()).unwrap();
            index["manifests"][0]["digest"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(blob(dir.path(), &manifest_digest)).unwrap()).unwrap();
        let layer = blob(
            dir.path(),
            manifest["layers"][0]["digest"].as_str().unwrap(),
        );
        let mut bytes = fs::read(&layer).unwrap();
        match damage {
            "truncate" => bytes.truncate(bytes.len() / 2),
            _ => {
                let mid = bytes.len() / 2;
                for b in &mut bytes[mid..mid + 64] {
                    *b ^= 0x5a;
                }
            }
        }
        fs::write(&layer, &bytes).unwrap();
        let err = fails(&format!("oci:{}", dir.path().display()));
        assert!(err.contains("layer 0"), "{name} {damage}: {err}");
        // Without verification, truncation is still caught by the decompressor or the tar
        // reader, and corruption by gzip's CRC. A zstd frame without a checksum cannot tell
        // altered stored bytes apart: that is what verification is for.
        if damage == "truncate" || name == "gzip" {
            let out = pydive()
                .args(["report", "--no-verify"])
                .arg(format!("oci:{}", dir.path().display()))
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} {damage} --no-verify: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn digest_mismatch_names_the_layer() {
    let dir = oci_dir(&image());
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &fs::read(blob(
            dir.path(),
            index["manifests"][0]["digest"].as_str().unwrap(),
        ))
        .unwrap(),
    )
    .unwrap();
    let digest = manifest["layers"][1]["digest"].as_str().unwrap();
    let path = blob(dir.path(), digest);
    let mut bytes = fs::read(&path).unwrap();
    // Change one byte of file content: still a valid tar, but not the blob the manifest names.
    let at = bytes
        .windows(64)
        .position(|w| w.iter().all(|&b| b == b'b'))
        .unwrap();
    bytes[at] = b'c';
    fs::write(&path, &bytes).unwrap();
    let err = fails(&format!("oci:{}", dir.path().display()));
    assert!(
        err.contains("layer 1") && err.contains("mismatch") && err.contains(digest),
        "{err}"
    );

    // The classic layout checks the uncompressed tar against the config's diff_id.
    let w = archive(&image(), Layout::DockerClassic);
    let mut bytes = fs::read(&w.path).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w.iter().all(|&b| b == b'a'))
        .unwrap();
    bytes[at] = b'z';
    fs::write(&w.path, &bytes).unwrap();
    let err = fails(w.path.to_str().unwrap());
    assert!(
        err.contains("layer 0") && err.contains("diff_id mismatch"),
        "{err}"
    );
}

#[test]
fn manifest_and_config_problems() {
    // No manifest.json and no index.json.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.tar");
    fs::write(&path, image().layer_tar(0).unwrap()).unwrap();
    let err = fails(path.to_str().unwrap());
    assert!(
        err.contains("neither manifest.json nor index.json"),
        "{err}"
    );

    // Malformed manifest.json, malformed config, config missing.
    let d = oci_dir(&image());
    fs::write(d.path().join("index.json"), b"{ not json").unwrap();
    assert!(fails(&format!("oci:{}", d.path().display())).contains("malformed index.json"));

    let d = oci_dir(&image());
    edit_manifest(d.path(), |m| {
        m["config"]["digest"] = format!("sha256:{}", "0".repeat(64)).into()
    });
    let err = fails(&format!("oci:{}", d.path().display()));
    assert!(
        err.contains("config blob") && err.contains("missing"),
        "{err}"
    );

    let d = oci_dir(&image());
    let bad_config = b"{\"architecture\": 5}";
    let digest = format!("sha256:{}", sha256(bad_config));
    fs::write(blob(d.path(), &digest), bad_config).unwrap();
    edit_manifest(d.path(), |m| m["config"]["digest"] = digest.clone().into());
    assert!(fails(&format!("oci:{}", d.path().display())).contains("malformed config"));
}

#[test]
fn manifest_naming_an_absent_blob() {
    let d = oci_dir(&image());
    edit_manifest(d.path(), |m| {
        m["layers"][1]["digest"] = format!("sha256:{}", "e".repeat(64)).into()
    });
    let err = fails(&format!("oci:{}", d.path().display()));
    assert!(err.contains("layer 1") && err.contains("eeee"), "{err}");

    let w = archive(&image(), Layout::DockerClassic);
    let out_dir = tempfile::tempdir().unwrap();
    // Rebuild the archive without the second layer's tar.
    let mut input = tar::Archive::new(fs::File::open(&w.path).unwrap());
    let path = out_dir.path().join("missing-layer.tar");
    let mut builder = tar::Builder::new(fs::File::create(&path).unwrap());
    let manifest: serde_json::Value = {
        let mut a = tar::Archive::new(fs::File::open(&w.path).unwrap());
        let mut e = a
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .find(|e| e.path().unwrap().to_str() == Some("manifest.json"))
            .unwrap();
        serde_json::from_reader(&mut e).unwrap()
    };
    let dropped = manifest[0]["Layers"][1].as_str().unwrap().to_string();
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() != Some(dropped.as_str()) {
            let header = entry.header().clone();
            builder.append(&header, &mut entry).unwrap();
        }
    }
    builder.finish().unwrap();
    let err = fails(path.to_str().unwrap());
    assert!(err.contains("layer 1") && err.contains("missing"), "{err}");
}

#[test]
fn unknown_media_type() {
    let d = oci_dir(&image());
    edit_manifest(d.path(), |m| {
        m["layers"][0]["mediaType"] = "application/x-mystery".into()
    });
    let err = fails(&format!("oci:{}", d.path().display()));
    assert!(
        err.contains("unknown media type") && err.contains("application/x-mystery"),
        "{err}"
    );
}

#[test]
fn unknown_tag_in_a_docker_archive() {
    let mut img = image();
    img.tag = Some("app:1.0".into());
    let w = archive(&img, Layout::DockerClassic);
    let err = fails(&format!("docker-archive:{}:app:2.0", w.path.display()));
    assert!(err.contains("app:2.0") && err.contains("app:1.0"), "{err}");
}

#[test]
fn missing_image_and_empty_input() {
    let err = fails("no-such-image:latest");
    assert!(err.contains("no-such-image:latest"), "{err}");
    let out = pydive()
        .args(["report", "-"])
        .write_stdin(Vec::new())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input"));
}

#[test]
fn a_garbage_layer_is_an_error_naming_it() {
    let d = oci_dir(&image());
    let junk = vec![0x42u8; 5000];
    let digest = format!("sha256:{}", sha256(&junk));
    fs::write(blob(d.path(), &digest), &junk).unwrap();
    edit_manifest(d.path(), |m| {
        m["layers"][0]["digest"] = digest.clone().into()
    });
    let err = fails(&format!("oci:{}", d.path().display()));
    assert!(err.contains("layer 0"), "{err}");
}

#[test]
fn malformed_manifest_json_and_config_in_a_docker_archive() {
    // Rebuild a classic archive with one member replaced.
    let replace = |member: &str, bytes: &[u8]| -> tempfile::TempDir {
        let w = archive(&image(), Layout::DockerClassic);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        let mut input = tar::Archive::new(fs::File::open(&w.path).unwrap());
        let mut builder = tar::Builder::new(fs::File::create(&path).unwrap());
        for entry in input.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().to_string();
            let mut header = entry.header().clone();
            if name == member
                || (member == "config" && name.ends_with(".json") && name != "manifest.json")
            {
                header.set_size(bytes.len() as u64);
                header.set_cksum();
                builder.append(&header, bytes).unwrap();
            } else {
                builder.append(&header, &mut entry).unwrap();
            }
        }
        builder.finish().unwrap();
        dir
    };
    let d = replace("manifest.json", b"[{\"Config\": 42}]");
    let err = fails(d.path().join("image.tar").to_str().unwrap());
    assert!(err.contains("malformed manifest.json"), "{err}");
    let d = replace("config", b"{\"rootfs\": \"nope\"}");
    let err = fails(d.path().join("image.tar").to_str().unwrap());
    assert!(err.contains("malformed config"), "{err}");
}
