//! Every ELF file read right, whatever its size and layout: pydive's loader facts (NEEDED,
//! SONAME, RPATH/RUNPATH, version needs and definitions) equal `readelf -d -V` on the same
//! file, and are the same whether the file is read whole, captured from a streamed layer or
//! read at offsets from a seekable one. On this machine's own libraries, on libraries patchelf
//! rewrote (`--add-needed`, `--set-rpath`: it moves the dynamic tables to a new segment at the
//! end of the file, as auditwheel does), and on real auditwheel-repaired wheels over 16 MiB
//! from PyPI. Needs readelf (binutils), patchelf and pip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::elf::{Readelf, facts_three_ways};
use common::services::{need, runs};

/// The machine's shared libraries, and what readelf says of them.
#[test]
fn the_machines_libraries_read_as_readelf_says() {
    if need("readelf", runs(&["readelf", "--version"])).is_none() {
        return;
    }
    let mut checked = 0;
    for dir in [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/bin",
    ] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths.iter().filter(|p| p.is_file() && !p.is_symlink()) {
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            if !bytes.starts_with(b"\x7fELF") {
                continue;
            }
            let info =
                facts_three_ways(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                Readelf::from_info(&info),
                Readelf::of(path),
                "{}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} ELF files on this machine");
}

/// Real auditwheel-repaired wheels from PyPI with ELF files over 16 MiB: OpenBLAS vendored by
/// numpy, scipy and opencv, opencv's `cv2.abi3.so`, musl pyarrow. Pinned, so that the files
/// stay the same; cached under `target/test-downloads/large-elf`.
const WHEELS: &[(&str, &str)] = &[
    ("manylinux2014_x86_64", "opencv-python-headless==4.10.0.84"),
    ("manylinux2014_x86_64", "numpy==2.2.6"),
    ("manylinux2014_x86_64", "scipy==1.14.1"),
    ("musllinux_1_2_x86_64", "numpy==2.2.6"),
    ("musllinux_1_2_x86_64", "pyarrow==21.0.0"),
];

fn downloads() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-downloads/large-elf")
}

/// Downloads the wheels (once) and unpacks them (once); returns every ELF file in them.
fn wheel_elf_files() -> Option<Vec<PathBuf>> {
    need("pip", runs(&["python3", "-m", "pip", "--version"]))?;
    need("unzip", runs(&["unzip", "-v"]))?;
    let dir = downloads();
    std::fs::create_dir_all(&dir).unwrap();
    // nextest runs the tests of this file at once, each in its own process: one downloads and
    // unpacks while the others wait, then they find the files there.
    // (flock(2): std's File::lock is newer than the crate's rust-version.)
    let lock = std::fs::File::create(dir.join(".lock")).unwrap();
    let locked = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };
    assert_eq!(locked, 0, "flock {}", dir.join(".lock").display());
    for (platform, spec) in WHEELS {
        let name = spec.split("==").next().unwrap().replace('-', "_");
        let version = spec.split("==").nth(1).unwrap();
        let tag = platform.split('_').next().unwrap();
        let present = std::fs::read_dir(&dir).unwrap().flatten().any(|e| {
            let file = e.file_name().to_string_lossy().to_string();
            file.starts_with(&format!("{name}-{version}-"))
                && file.contains(tag)
                && file.ends_with(".whl")
        });
        if present {
            continue;
        }
        common::elf::pip_download_wheels(&dir, &[platform], "3.12", &[spec]);
    }
    let mut files = Vec::new();
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    wheels.sort();
    for wheel in wheels {
        let unpacked = dir.join("unpacked").join(wheel.file_stem().unwrap());
        if !unpacked.exists() {
            let mut partial = unpacked.clone().into_os_string();
            partial.push(".partial");
            let partial = PathBuf::from(partial);
            std::fs::create_dir_all(dir.join("unpacked")).unwrap();
            let _ = std::fs::remove_dir_all(&partial);
            let status = Command::new("unzip")
                .arg("-q")
                .arg(&wheel)
                .arg("-d")
                .arg(&partial)
                .status()
                .unwrap();
            assert!(status.success(), "unzip {}", wheel.display());
            std::fs::rename(&partial, &unpacked).unwrap();
        }
        collect_elf(&unpacked, &mut files);
    }
    files.sort();
    Some(files)
}

fn collect_elf(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_elf(&path, out);
        } else if path.is_file() {
            let mut head = [0u8; 4];
            let is_elf = std::fs::File::open(&path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                .is_ok()
                && &head == b"\x7fELF";
            if is_elf {
                out.push(path);
            }
        }
    }
}

const LARGE: u64 = 16 << 20;

#[test]
fn auditwheel_repaired_wheels_read_as_readelf_says() {
    if need("readelf", runs(&["readelf", "--version"])).is_none() {
        return;
    }
    let Some(files) = wheel_elf_files() else {
        return;
    };
    let mut large = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        // Zero unreadable files, the same facts whole, streamed and at offsets, and readelf's.
        let info = facts_three_ways(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ours = Readelf::from_info(&info);
        assert_eq!(ours, Readelf::of(path), "{}", path.display());
        assert!(
            ours.needed.iter().all(|n| !n.is_empty()),
            "{}",
            path.display()
        );
        if bytes.len() as u64 > LARGE {
            large += 1;
            // Every one of them needs libraries, and names the versions it needs.
            assert!(!ours.needed.is_empty(), "{}", path.display());
        }
    }
    assert!(large >= 8, "{large} ELF files over 16 MiB in the wheels");
}

/// A library over 16 MiB (20 MiB of read-only data, a thousand exported functions) built by
/// `cc` with `args`, then rewritten by patchelf as auditwheel does (`--add-needed`,
/// `--set-rpath`, which move `.dynstr` and the other dynamic tables to a new segment at the end
/// of the file). Returns the rewritten file's path.
fn patched_library(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let mut source = String::from("const char big[20 << 20] = {1};\n");
    for i in 0..1000 {
        source.push_str(&format!(
            "int exported_function_number_{i}(int x) {{ return x + big[{i}]; }}\n"
        ));
    }
    let mut all = vec!["-shared", "-fPIC", "-Wl,-soname,libbig.so.1"];
    all.extend(args);
    let bytes = common::elf::compile_in(dir, common::elf::CC, &source, &all, name);
    assert!(bytes.len() as u64 > LARGE);
    let path = dir.join(name);
    // One change per run: patchelf 0.14 mixes the two up when given both at once.
    for change in [
        ["--add-needed", "libadded.so.3"],
        ["--set-rpath", "$ORIGIN/../lib:/opt/x"],
    ] {
        let status = Command::new("patchelf")
            .args(change)
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "patchelf {change:?} {name}");
    }
    path
}

/// The libraries patchelf rewrote: the usual layout, and one with code and tables in one
/// segment (`-z noseparate-code`, as older linkers and other architectures lay files out).
fn patched_libraries(dir: &Path) -> Option<Vec<PathBuf>> {
    need("patchelf", runs(&["patchelf", "--version"]))?;
    Some(vec![
        patched_library(dir, "libbig-separate.so", &[]),
        patched_library(dir, "libbig-together.so", &["-Wl,-z,noseparate-code"]),
    ])
}

#[test]
fn libraries_patchelf_rewrote_read_as_readelf_says() {
    if need("readelf", runs(&["readelf", "--version"])).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(files) = patched_libraries(dir.path()) else {
        return;
    };
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let info = facts_three_ways(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let readelf = Readelf::of(&path);
        assert_eq!(Readelf::from_info(&info), readelf, "{}", path.display());
        assert!(info.needed.contains(&"libadded.so.3".to_string()));
        assert_eq!(info.runpath, ["$ORIGIN/../lib", "/opt/x"]);
        assert_eq!(info.soname.as_deref(), Some("libbig.so.1"));
        assert!(info.exports.contains("exported_function_number_999"));
        // patchelf did move the string table past the 16 MiB of data.
        let dynamic = Command::new("readelf")
            .arg("-d")
            .arg(&path)
            .output()
            .unwrap();
        let dynamic = String::from_utf8_lossy(&dynamic.stdout).to_string();
        let strtab = dynamic
            .lines()
            .find(|l| l.contains("(STRTAB)"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
            .unwrap();
        assert!(strtab > LARGE, "{}: STRTAB at {strtab:#x}", path.display());
    }
}

/// The large files in an image, in a plain, a gzip and a zstd layer, read from a stream
/// (verifying digests) and from a seekable archive: every file's facts are those of the file
/// read whole, no ELF file is unreadable, and the audit does not say it is incomplete.
#[test]
fn large_elf_files_in_plain_gzip_and_zstd_layers() {
    use pydive::fixture::{Entry, Image, Layer, Layout};
    let dir = tempfile::tempdir().unwrap();
    let Some(mut files) = patched_libraries(dir.path()) else {
        return;
    };
    let Some(wheels) = wheel_elf_files() else {
        return;
    };
    files.extend(
        wheels
            .into_iter()
            .filter(|p| std::fs::metadata(p).unwrap().len() > LARGE),
    );
    let layer = |kind: &str| {
        let entries = files
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let name = p.file_name().unwrap().to_string_lossy();
                Entry::from_disk(format!("opt/{kind}/{i}/{name}"), p).unwrap()
            })
            .collect();
        Layer::new(&format!("COPY {kind} /opt/{kind}"), entries)
    };
    let image = Image::new(vec![
        layer("plain"),
        layer("gzip").gzip(),
        layer("zstd").zstd(),
    ]);
    let written = common::archive(&image, Layout::DockerClassic);
    let wholes: Vec<_> = files
        .iter()
        .map(|p| pydive::layer::elf::parse(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    for verify in [true, false] {
        let mut read = common::read_config();
        read.verify = verify;
        let report = common::load_with(written.path.to_str().unwrap(), &read);
        let unreadable: Vec<_> = report
            .image
            .diagnostics
            .iter()
            .filter(|d| d.message.starts_with(pydive::layer::elf::UNREADABLE))
            .map(|d| d.message.clone())
            .collect();
        assert!(unreadable.is_empty(), "verify={verify}: {unreadable:?}");
        for kind in ["plain", "gzip", "zstd"] {
            for (i, (p, whole)) in files.iter().zip(&wholes).enumerate() {
                let name = p.file_name().unwrap().to_string_lossy();
                let path = format!("opt/{kind}/{i}/{name}");
                let node = report.image.tree.lookup(path.as_bytes()).unwrap();
                let info = report.image.final_entry(node).unwrap().elf.as_deref();
                let info = info.unwrap_or_else(|| panic!("{path}: no facts (verify={verify})"));
                assert!(info == whole, "{path}: other facts (verify={verify})");
            }
        }
        assert_eq!(pydive::report::unreadable_elf(&report.image), 0);
        let mut audit = Vec::new();
        pydive::report::write_audit(&report, pydive::report::AuditFormat::Text, &mut audit)
            .unwrap();
        assert!(!String::from_utf8_lossy(&audit).contains("could not be read"));
    }
}
