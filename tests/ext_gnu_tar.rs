//! pydive's tar reader against archives GNU tar writes, in every format it has: old GNU (long
//! names, old sparse headers with extension blocks), PAX with each of GNU's sparse formats
//! (0.0, 0.1, 1.0), and ustar. What pydive reads (names, real sizes, contents rebuilt from
//! sparse maps) must be what was archived, and what `tar -tv` lists; a sparse ELF file must
//! give the facts of the original.
//!
//! Needs GNU tar (`tar --version` says "GNU tar"; Debian's essential `tar` package).

mod common;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;

use pydive::layer::tar::Reader;

fn gnu_tar() -> Result<(), String> {
    let out = Command::new("tar")
        .arg("--version")
        .output()
        .map_err(|e| format!("tar: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("GNU tar") {
        Ok(())
    } else {
        Err(format!(
            "tar is not GNU tar: {}",
            text.lines().next().unwrap_or("")
        ))
    }
}

/// A sparse file with many holes, so that old GNU headers need extension blocks (more than 4
/// segments) and the map is long.
fn write_sparse(path: &Path, real_size: u64, segments: &[(u64, &[u8])]) {
    let mut f = std::fs::File::create(path).unwrap();
    for (at, bytes) in segments {
        f.seek(SeekFrom::Start(*at)).unwrap();
        f.write_all(bytes).unwrap();
    }
    f.set_len(real_size).unwrap();
}

/// `tar -cf` of `dir`'s `src` directory by GNU tar in the format `format` asks for.
fn archive_src(dir: &Path, format: &[&str]) -> Vec<u8> {
    let out = dir.join("out.tar");
    let status = Command::new("tar")
        .current_dir(dir)
        .args(format)
        .arg("-cf")
        .arg(&out)
        .arg("src")
        .status()
        .unwrap();
    assert!(status.success(), "{format:?}");
    std::fs::read(&out).unwrap()
}

struct Member {
    path: Vec<u8>,
    real_size: u64,
    content: Vec<u8>,
}

/// Every member, with sparse files rebuilt from their map.
fn read_all(archive: &[u8]) -> Vec<Member> {
    let mut reader = Reader::new(archive, 64 << 10);
    let mut out = Vec::new();
    while let Some(h) = reader.next_header().unwrap() {
        let mut stored = Vec::new();
        reader.read_to_end(&mut stored).unwrap();
        let (path, content) = match &h.sparse {
            None => (h.path.clone(), stored),
            Some(s) => {
                let path = s.name.clone().unwrap_or_else(|| h.path.clone());
                let (map, mut data) = if s.map_in_data {
                    // Format 1.0: count, then pairs, one number a line, padded to a block.
                    let text = String::from_utf8_lossy(&stored).into_owned();
                    let mut lines = text.split('\n');
                    let count: usize = lines.next().unwrap().parse().unwrap();
                    let numbers: Vec<u64> =
                        lines.take(count * 2).map(|l| l.parse().unwrap()).collect();
                    let used: usize = text
                        .split('\n')
                        .take(1 + count * 2)
                        .map(|l| l.len() + 1)
                        .sum();
                    let start = used.div_ceil(512) * 512;
                    let pairs = numbers.chunks(2).map(|p| (p[0], p[1])).collect();
                    (pairs, stored[start..].to_vec())
                } else {
                    (s.map.clone().unwrap(), stored)
                };
                let mut content = vec![0u8; s.real_size as usize];
                for (offset, len) in map {
                    let len = len as usize;
                    content[offset as usize..offset as usize + len].copy_from_slice(&data[..len]);
                    data.drain(..len);
                }
                (path, content)
            }
        };
        out.push(Member {
            path,
            real_size: h.file_size(),
            content,
        });
    }
    out
}

#[test]
fn reads_every_format_gnu_tar_writes() {
    let Some(()) = common::services::need("GNU tar", gnu_tar()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let deep = format!("src/{}", "long-directory-name/".repeat(12));
    std::fs::create_dir_all(dir.path().join(&deep)).unwrap();
    std::fs::write(dir.path().join(&deep).join("file.txt"), b"deep file\n").unwrap();
    let segments: Vec<(u64, Vec<u8>)> = (0..12u64)
        .map(|i| (i * 1_048_576, vec![b'a' + i as u8; 4096]))
        .collect();
    let borrowed: Vec<(u64, &[u8])> = segments.iter().map(|(a, b)| (*a, &b[..])).collect();
    write_sparse(&src.join("holes.img"), 13 << 20, &borrowed);
    std::fs::write(src.join("plain"), vec![7u8; 1000]).unwrap();

    let originals: Vec<(String, Vec<u8>)> = [
        format!("{deep}file.txt"),
        "src/holes.img".into(),
        "src/plain".into(),
    ]
    .into_iter()
    .map(|p| {
        let bytes = std::fs::read(dir.path().join(&p)).unwrap();
        (p, bytes)
    })
    .collect();

    for format in [
        vec!["--format=gnu", "--sparse"],
        vec!["--format=gnu"],
        vec!["--format=pax", "--sparse", "--sparse-version=0.0"],
        vec!["--format=pax", "--sparse", "--sparse-version=0.1"],
        vec!["--format=pax", "--sparse", "--sparse-version=1.0"],
        vec!["--format=pax"],
    ] {
        let archive = archive_src(dir.path(), &format);
        let members = read_all(&archive);
        for (path, bytes) in &originals {
            let m = members
                .iter()
                .find(|m| m.path == path.as_bytes())
                .unwrap_or_else(|| panic!("{format:?}: {path} not read"));
            assert_eq!(m.real_size, bytes.len() as u64, "{format:?}: {path}");
            assert!(m.content == *bytes, "{format:?}: {path}: contents differ");
        }
        // The same names GNU tar lists (directories end in `/` in both).
        let listed = Command::new("tar")
            .arg("-tf")
            .arg(dir.path().join("out.tar"))
            .output()
            .unwrap();
        let mut listed: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(String::from)
            .collect();
        let mut ours: Vec<String> = members
            .iter()
            .map(|m| String::from_utf8_lossy(&m.path).into_owned())
            .collect();
        listed.sort();
        ours.sort();
        assert_eq!(ours, listed, "{format:?}");
    }
}

/// A library with holes, archived by GNU tar with `--sparse` in each of its sparse formats:
/// pydive rebuilds it and reads the same ELF facts as from the original, streamed and in place.
#[test]
fn sparse_elf_files_gnu_tar_wrote_read_as_the_original() {
    let Some(()) = common::services::need("GNU tar", gnu_tar()) else {
        return;
    };
    // A MiB of zeros in its read-only data: a hole on disk, which `tar --sparse` stores as one.
    let source = "const char zeros[1 << 20] = {0};\nint zero_at(int i) { return zeros[i]; }\n";
    let library = common::elf::compile(
        common::elf::CC,
        source,
        &["-shared", "-fPIC", "-Wl,-soname,libholes.so.1"],
    );
    let expected = pydive::layer::elf::parse(&library).unwrap();
    let zeros_at = library
        .windows(1 << 19)
        .position(|w| w.iter().all(|&b| b == 0))
        .expect("half a MiB of zeros in the library");
    let (hole_start, hole_end) = (zeros_at.div_ceil(4096) * 4096, zeros_at + (1 << 19));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    write_sparse(
        &dir.path().join("src/libholes.so"),
        library.len() as u64,
        &[
            (0, &library[..hole_start]),
            (hole_end as u64, &library[hole_end..]),
        ],
    );
    for format in [
        vec!["--format=gnu", "--sparse"],
        vec!["--format=pax", "--sparse", "--sparse-version=0.0"],
        vec!["--format=pax", "--sparse", "--sparse-version=0.1"],
        vec!["--format=pax", "--sparse", "--sparse-version=1.0"],
    ] {
        let archive: &'static [u8] = Box::leak(archive_src(dir.path(), &format).into_boxed_slice());
        let mut reader = Reader::new(archive, 64 << 10);
        let mut stored_sparse = false;
        while let Some(h) = reader.next_header().unwrap() {
            stored_sparse |= h.sparse.is_some();
        }
        assert!(stored_sparse, "{format:?}: GNU tar stored no sparse file");

        let limits = pydive::limits::Limits::default();
        let content = pydive::layer::ContentBudget::new(&limits);
        let walk = pydive::app::walk_layer(&limits, &content);
        let digests = pydive::layer::Digests {
            blob: false,
            tar: true,
        };
        let in_place = pydive::layer::blob::Section::new(
            pydive::layer::blob::Backing::Memory(archive),
            0,
            archive.len() as u64,
        );
        for (how, blob) in [
            ("streamed", pydive::layer::Blob::Stream(&mut &archive[..])),
            ("in place", pydive::layer::Blob::Seekable(in_place)),
        ] {
            let scan = walk(blob, digests).unwrap();
            let entry = scan
                .entries
                .iter()
                .find(|e| &e.path[..] == b"src/libholes.so")
                .unwrap_or_else(|| panic!("{format:?} {how}: the library not walked"));
            assert_eq!(entry.size, library.len() as u64, "{format:?} {how}");
            assert_eq!(entry.elf.as_deref(), Some(&expected), "{format:?} {how}");
            assert!(scan.diagnostics.is_empty(), "{format:?} {how}");
        }
    }
}
