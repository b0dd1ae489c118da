//! The layer walk and the stacked tree: whiteouts, opaque directories, links, type changes,
//! metadata-only re-adds, name encodings. Expected values follow from the declared layers.

mod common;

use common::{json_for, report_for};
use pydive::fixture::{Entry, Image, Layer};
use pydive::layer::EntryKind;
use pydive::model::State;

fn layer(step: &str, entries: Vec<Entry>) -> Layer {
    Layer::new(step, entries)
}

#[test]
fn whiteout_removes_a_file_and_counts_its_bytes_as_deleted() {
    let image = Image::new(vec![
        layer(
            "base",
            vec![
                Entry::dir("etc"),
                Entry::file("etc/a", vec![1; 100]),
                Entry::file("etc/b", vec![2; 50]),
            ],
        ),
        layer(
            "RUN rm /etc/a",
            vec![Entry::dir("etc"), Entry::whiteout("etc/a")],
        ),
    ]);
    let report = report_for(&image);
    let tree = &report.image.tree;
    let a = tree.lookup(b"etc/a").unwrap();
    assert!(tree.node(a).exists_at(0));
    assert!(!tree.node(a).exists_at(1));
    assert_eq!(tree.node(a).change_in(1).unwrap().state, State::Removed);
    assert!(tree.node(tree.lookup(b"etc/b").unwrap()).exists());

    let json = common::json_of(&report);
    assert_eq!(json["waste"]["deleted_bytes"], 100);
    assert_eq!(json["waste"]["overwritten_bytes"], 0);
    assert_eq!(json["image"]["files"], 1);
    assert_eq!(json["image"]["files_bytes"], 50);
    // The whiteout is not a file of layer 1; the unchanged directory is not a change.
    assert_eq!(json["image"]["layers"][1]["files"], 0);
    assert!(
        tree.node(tree.lookup(b"etc").unwrap())
            .change_in(1)
            .is_none()
    );
}

#[test]
fn whiteout_of_a_directory_removes_everything_below_it() {
    let image = Image::new(vec![
        layer(
            "base",
            vec![
                Entry::dir("opt"),
                Entry::dir("opt/pkg"),
                Entry::file("opt/pkg/a", vec![0; 300]),
                Entry::dir("opt/pkg/sub"),
                Entry::file("opt/pkg/sub/b", vec![0; 200]),
            ],
        ),
        layer("RUN rm -r /opt/pkg", vec![Entry::whiteout("opt/pkg")]),
    ]);
    let report = report_for(&image);
    let tree = &report.image.tree;
    for path in [
        &b"opt/pkg"[..],
        b"opt/pkg/a",
        b"opt/pkg/sub",
        b"opt/pkg/sub/b",
    ] {
        let node = tree.node(tree.lookup(path).unwrap());
        assert!(
            node.exists_at(0) && !node.exists(),
            "{}",
            String::from_utf8_lossy(path)
        );
    }
    assert_eq!(common::json_of(&report)["waste"]["deleted_bytes"], 500);
}

#[test]
fn opaque_directory_hides_lower_contents_but_keeps_its_own() {
    // The marker comes after the layer's own entry in that directory, as some tools write it.
    let image = Image::new(vec![
        layer(
            "base",
            vec![
                Entry::dir("opt"),
                Entry::file("opt/x", vec![0; 10]),
                Entry::dir("opt/sub"),
                Entry::file("opt/sub/y", vec![0; 20]),
            ],
        ),
        layer(
            "RUN replace /opt",
            vec![
                Entry::dir("opt"),
                Entry::file("opt/z", vec![0; 5]),
                Entry::opaque("opt"),
            ],
        ),
    ]);
    let report = report_for(&image);
    let tree = &report.image.tree;
    assert!(!tree.node(tree.lookup(b"opt/x").unwrap()).exists());
    assert!(!tree.node(tree.lookup(b"opt/sub/y").unwrap()).exists());
    assert!(tree.node(tree.lookup(b"opt/z").unwrap()).exists());
    assert!(tree.node(tree.lookup(b"opt").unwrap()).exists());
    let json = common::json_of(&report);
    assert_eq!(json["waste"]["deleted_bytes"], 30);
    assert_eq!(json["image"]["files_bytes"], 5);
}

#[test]
fn hard_link_bytes_count_once() {
    let image = Image::new(vec![layer(
        "base",
        vec![
            Entry::dir("usr"),
            Entry::file("usr/a", vec![7; 1000]),
            Entry::hardlink("usr/b", "usr/a"),
            Entry::symlink("usr/c", "a"),
        ],
    )]);
    let report = report_for(&image);
    let b = report
        .image
        .final_entry(report.image.tree.lookup(b"usr/b").unwrap())
        .unwrap();
    assert_eq!(b.kind, EntryKind::Hardlink);
    assert_eq!(b.link.as_deref(), Some(&b"usr/a"[..]));
    let json = common::json_of(&report);
    assert_eq!(json["image"]["files"], 3);
    assert_eq!(json["image"]["files_bytes"], 1000);
    assert_eq!(json["image"]["layers"][0]["files"], 3);
    // A hard link is the same file, not a duplicate.
    assert_eq!(json["waste"]["duplicate_reclaimable_bytes"], 0);
}

#[test]
fn a_file_replacing_a_directory_removes_the_directory_contents() {
    let image = Image::new(vec![
        layer(
            "base",
            vec![
                Entry::dir("d"),
                Entry::file("d/x", vec![0; 10]),
                Entry::file("f", vec![0; 7]),
            ],
        ),
        layer(
            "swap",
            vec![
                Entry::file("d", vec![0; 3]),
                Entry::dir("f"),
                Entry::file("f/y", vec![0; 2]),
            ],
        ),
    ]);
    let report = report_for(&image);
    let tree = &report.image.tree;
    let d = tree.lookup(b"d").unwrap();
    assert_eq!(report.image.final_entry(d).unwrap().kind, EntryKind::File);
    assert_eq!(tree.node(d).change_in(1).unwrap().state, State::Modified);
    assert!(!tree.node(tree.lookup(b"d/x").unwrap()).exists());
    let f = tree.lookup(b"f").unwrap();
    assert_eq!(report.image.final_entry(f).unwrap().kind, EntryKind::Dir);
    assert!(tree.node(tree.lookup(b"f/y").unwrap()).exists());
    let json = common::json_of(&report);
    assert_eq!(json["waste"]["deleted_bytes"], 10, "d/x is gone");
    assert_eq!(
        json["waste"]["overwritten_bytes"], 7,
        "f was provided again as a directory"
    );
    assert_eq!(json["image"]["files_bytes"], 5);
}

#[test]
fn a_metadata_only_change_stores_the_file_again() {
    let mut exec = Entry::file("app/tool", vec![9; 500]);
    if let Entry::File { mode, .. } = &mut exec {
        *mode = 0o755;
    }
    let image = Image::new(vec![
        layer(
            "COPY tool /app/",
            vec![Entry::dir("app"), Entry::file("app/tool", vec![9; 500])],
        ),
        layer("RUN chmod +x /app/tool", vec![Entry::dir("app"), exec]),
    ]);
    let report = report_for(&image);
    let tree = &report.image.tree;
    let tool = tree.node(tree.lookup(b"app/tool").unwrap());
    assert_eq!(tool.change_in(0).unwrap().state, State::Added);
    assert_eq!(tool.change_in(1).unwrap().state, State::Modified);
    let json = common::json_of(&report);
    assert_eq!(json["waste"]["overwritten_bytes"], 500);
    assert_eq!(json["waste"]["largest"][0]["path"], "/app/tool");
    assert_eq!(json["waste"]["largest"][0]["fate"], "overwritten");
    assert_eq!(json["waste"]["largest"][0]["by_layer"], 1);
}

#[test]
fn implied_parent_directories_are_added() {
    let image = Image::new(vec![layer(
        "base",
        vec![Entry::file("a/b/c/file", vec![0; 4])],
    )]);
    let report = report_for(&image);
    let tree = &report.image.tree;
    for p in [&b"a"[..], b"a/b", b"a/b/c"] {
        let node = tree.node(tree.lookup(p).unwrap());
        assert_eq!(node.change_in(0).unwrap().state, State::Added);
        assert_eq!(node.change_in(0).unwrap().entry, None);
    }
}

#[test]
fn dot_prefixes_pax_names_and_gnu_long_names_give_the_same_tree() {
    let long_dir = "d".repeat(120);
    let long_file = format!("{long_dir}/{}", "f".repeat(150));
    let entries = || {
        vec![
            Entry::dir("usr"),
            Entry::file("usr/x", vec![1; 11]),
            Entry::dir(&long_dir),
            Entry::file(&long_file, vec![2; 22]),
            Entry::symlink(
                format!("{long_dir}/link"),
                "/".to_string() + &"t".repeat(160),
            ),
        ]
    };
    let plain = report_for(&Image::new(vec![layer("gnu", entries())]));
    let dotted = report_for(&Image::new(vec![layer("dot", entries()).dot_prefix()]));
    let pax = report_for(&Image::new(vec![layer("pax", entries()).pax()]));
    for report in [&plain, &dotted, &pax] {
        let tree = &report.image.tree;
        let id = tree.lookup(long_file.as_bytes()).expect("long name");
        assert_eq!(report.image.final_entry(id).unwrap().size, 22);
        assert!(tree.lookup(b"usr/x").is_some());
        let link = report
            .image
            .final_entry(tree.lookup(format!("{long_dir}/link").as_bytes()).unwrap())
            .unwrap();
        assert_eq!(link.link.as_deref().unwrap().len(), 161);
        assert_eq!(tree.len(), plain.image.tree.len());
    }
}

#[test]
fn non_utf8_names_keep_their_bytes_and_print_losslessly() {
    let name = b"data/caf\xe9-\xff.bin".to_vec();
    let image = Image::new(vec![
        layer(
            "base",
            vec![
                Entry::dir("data"),
                Entry::File {
                    path: name.clone(),
                    content: pydive::fixture::Content::Bytes(vec![0; 64]),
                    mode: 0o644,
                },
            ],
        ),
        layer("RUN rm", vec![Entry::Whiteout { path: name.clone() }]),
    ]);
    let report = report_for(&image);
    assert!(report.image.tree.lookup(&name).is_some());
    let json = common::json_of(&report);
    assert_eq!(
        json["waste"]["largest"][0]["path"],
        "/data/caf\\xE9-\\xFF.bin"
    );
}

#[test]
fn sparse_files_count_their_real_size_under_their_real_name() {
    let image = Image::new(vec![layer(
        "base",
        vec![
            Entry::dir("var"),
            Entry::sparse(
                "var/db.img",
                1_000_000,
                vec![(0, vec![1; 512]), (600_000, vec![2; 1024])],
            ),
        ],
    )]);
    let report = report_for(&image);
    let id = report
        .image
        .tree
        .lookup(b"var/db.img")
        .expect("GNU.sparse.name is the path");
    let entry = report.image.final_entry(id).unwrap();
    assert_eq!(entry.kind, EntryKind::File);
    assert_eq!(entry.size, 1_000_000);
    assert_eq!(report.image.tree.len(), 3, "no GNUSparseFile.0 directory");
}

#[test]
fn fifos_and_devices_are_files_of_zero_bytes() {
    let image = Image::new(vec![layer(
        "base",
        vec![
            Entry::dir("dev"),
            Entry::fifo("dev/pipe"),
            Entry::char_device("dev/null", 1, 3),
            Entry::file("x", vec![0; 3]),
        ],
    )]);
    let json = json_for(&image);
    assert_eq!(json["image"]["files"], 3);
    assert_eq!(json["image"]["files_bytes"], 3);
    assert_eq!(json["image"]["layers"][0]["files"], 3);
}

#[test]
fn layer_sizes_are_the_uncompressed_tar_sizes() {
    let image = Image::new(vec![
        layer("a", vec![Entry::file("a", vec![0; 5000])]),
        layer("b", vec![Entry::file("b", vec![0; 100])]).gzip(),
        layer("c", vec![Entry::file("c", vec![0; 700])]).zstd(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img.tar");
    let written = image
        .write_docker_archive(&path, pydive::fixture::Layout::DockerOci)
        .unwrap();
    let json = common::json(path.to_str().unwrap());
    for (i, size) in written.layer_sizes.iter().enumerate() {
        assert_eq!(json["image"]["layers"][i]["size_bytes"], *size);
        assert_eq!(json["image"]["layers"][i]["diff_id"], written.diff_ids[i]);
        assert_eq!(
            json["image"]["layers"][i]["digest"],
            written.layer_digests[i]
        );
    }
    assert_eq!(
        json["image"]["size_bytes"],
        written.layer_sizes.iter().sum::<u64>()
    );
    assert_eq!(json["image"]["layers"][1]["compression"], "gzip");
    assert_eq!(json["image"]["layers"][2]["compression"], "zstd");
}

#[test]
fn history_steps_skip_empty_layers() {
    let mut image = Image::new(vec![
        layer(
            "/bin/sh -c #(nop) ADD file:123 in / ",
            vec![Entry::file("a", vec![0; 1])],
        ),
        layer("RUN pip install flask", vec![Entry::file("b", vec![0; 1])]),
    ]);
    image.empty_steps = vec![
        (0, "ARG X=1".into()),
        (1, "ENV PATH=/x".into()),
        (2, "CMD [\"python\"]".into()),
    ];
    let json = json_for(&image);
    assert_eq!(
        json["image"]["layers"][0]["created_by"],
        "/bin/sh -c #(nop) ADD file:123 in / "
    );
    assert_eq!(
        json["image"]["layers"][1]["created_by"],
        "RUN pip install flask"
    );
}

#[test]
fn a_hard_link_carries_the_bytes_when_the_name_that_stored_them_is_removed() {
    // uv installs by hard-linking from its cache; the layer stores the bytes under the cache
    // name, which a later step deletes.
    let site = "usr/local/lib/python3.11/dist-packages";
    let image = Image::new(vec![
        layer(
            "base",
            vec![Entry::dir("usr/local/lib/python3.11/dist-packages")],
        ),
        layer(
            "RUN uv pip install --system numpy",
            vec![
                Entry::file("root/.cache/uv/archive-v0/ab/numpy/core.so", vec![3; 5000]),
                Entry::hardlink(
                    format!("{site}/numpy/core.so"),
                    "root/.cache/uv/archive-v0/ab/numpy/core.so",
                ),
                Entry::hardlink(
                    format!("{site}/numpy/core-again.so"),
                    "root/.cache/uv/archive-v0/ab/numpy/core.so",
                ),
                Entry::file("root/.cache/uv/archive-v0/ab/numpy/other.py", vec![4; 700]),
            ],
        ),
        layer(
            "RUN rm -rf /root/.cache/uv",
            vec![Entry::whiteout("root/.cache/uv")],
        ),
    ]);
    let report = report_for(&image);
    let json = common::json_of(&report);
    // The 5000 bytes are still in the image, once; only the file no link keeps is deleted.
    assert_eq!(json["waste"]["deleted_bytes"], 700);
    assert_eq!(json["image"]["files"], 2);
    assert_eq!(json["image"]["files_bytes"], 5000);
    assert_eq!(json["waste"]["duplicate_reclaimable_bytes"], 0);
    assert_eq!(common::category(&json, "uv-cache"), (0, 0));

    // Each name of the file shows its bytes; one name counts them: the cache's while it is
    // there, then the first installed link.
    let img = &report.image;
    let id = |p: &str| img.tree.lookup(p.as_bytes()).unwrap();
    let (core, again) = (
        id(&format!("{site}/numpy/core.so")),
        id(&format!("{site}/numpy/core-again.so")),
    );
    assert_eq!(img.held_bytes(core), 5000);
    assert_eq!(img.held_bytes(again), 0);
    assert_eq!(img.holder(again), Some(core));
    assert_eq!(img.file_entry(again).map(|e| e.size), Some(5000));
    let at1 = img.bytes_at(1);
    assert_eq!(at1[0], 5700);
    assert_eq!(at1[id("root/.cache/uv") as usize], 5700);
    assert_eq!(at1[core as usize], 0);
    let at2 = img.bytes_at(2);
    assert_eq!(
        (at2[0], at2[core as usize], at2[again as usize]),
        (5000, 5000, 0)
    );
}

/// The tree's sizes as of each layer, and what each layer itself put there: directories sum
/// their files, links count 0, a removal adds nothing.
#[test]
fn sizes_as_of_a_layer_and_changed_in_it() {
    let image = Image::new(vec![
        layer(
            "base",
            vec![
                Entry::dir("etc"),
                Entry::file("etc/a", vec![1; 100]),
                Entry::file("etc/b", vec![2; 50]),
                Entry::symlink("etc/c", "a"),
            ],
        ),
        layer(
            "RUN rm /etc/a && echo > /etc/b",
            vec![
                Entry::whiteout("etc/a"),
                Entry::file("etc/b", vec![3; 70]),
                Entry::file("opt/x", vec![4; 5]),
            ],
        ),
    ]);
    let report = report_for(&image);
    let img = &report.image;
    let id = |p: &str| img.tree.lookup(p.as_bytes()).unwrap() as usize;
    let at0 = img.bytes_at(0);
    assert_eq!((at0[0], at0[id("etc")], at0[id("etc/c")]), (150, 150, 0));
    let at1 = img.bytes_at(1);
    assert_eq!((at1[0], at1[id("etc")], at1[id("etc/a")]), (75, 70, 0));
    let changed1 = img.bytes_changed_in(1);
    assert_eq!(
        (changed1[0], changed1[id("etc")], changed1[id("opt")]),
        (75, 70, 5)
    );
    assert_eq!(img.bytes_changed_in(0)[0], 150);
    assert_eq!(
        at0[id("etc/a")],
        100,
        "what the removal in layer 1 took away"
    );
}

/// A plain tar layer in a file is hashed where it lies (mapped a window at a time), not
/// streamed: the layer's digest and every file's content hash must be a streamed walk's,
/// whatever window and piece boundaries its files cross, at an offset that is not a page
/// boundary (a member of a docker-archive), with bytes after the tar's end.
#[test]
fn a_plain_layer_hashed_where_it_lies_gives_what_a_stream_gives() {
    use pydive::layer::blob::{Backing, Section};
    use pydive::layer::{Blob, ContentBudget, Digests};
    use sha2::Digest as _;
    use std::io::Write as _;

    const MIB: u64 = 1 << 20;
    let image = pydive::fixture::Image::new(vec![layer(
        "RUN pip install big",
        vec![
            Entry::dir("d"),
            Entry::file("d/empty", b""),
            Entry::file_len("d/big", 9 * MIB + 123, 1),
            Entry::file("d/empty-after-big", b""),
            Entry::file_len("d/small", 1000, 2),
            Entry::file_len("d/across-a-window", 4 * MIB, 3),
            Entry::text_len("d/text", 300_000, 4),
        ],
    )]);
    let mut tar = image.layer_tar(0).unwrap();
    tar.extend_from_slice(&[0; 10240]);
    let before = [0xAA; 1536];
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&before).unwrap();
    file.write_all(&tar).unwrap();
    file.write_all(&[0xBB; 4096]).unwrap();
    let file = std::sync::Arc::new(file);

    let limits = pydive::limits::Limits::default();
    let content = ContentBudget::new(&limits);
    let walk = pydive::app::walk_layer(&limits, &content);
    let digests = Digests {
        blob: false,
        tar: true,
    };
    let section = Section::new(
        Backing::File(file.clone()),
        before.len() as u64,
        tar.len() as u64,
    );
    let in_place = walk(Blob::Seekable(section), digests).unwrap();
    let streamed = walk(Blob::Stream(&mut &tar[..]), digests).unwrap();

    let expected = format!(
        "sha256:{}",
        pydive::layer::blob::hex(&sha2::Sha256::digest(&tar))
    );
    assert_eq!(in_place.tar_digest.as_deref(), Some(expected.as_str()));
    assert_eq!(streamed.tar_digest, in_place.tar_digest);
    assert_eq!(in_place.tar_size, tar.len() as u64);
    let hashes = |scan: &pydive::layer::LayerScan| -> Vec<(String, Option<u128>)> {
        let files = scan.entries.iter().filter(|e| e.kind == EntryKind::File);
        files
            .map(|e| {
                (
                    String::from_utf8_lossy(&e.path).into_owned(),
                    e.content_hash,
                )
            })
            .collect()
    };
    assert_eq!(hashes(&in_place).len(), 6);
    assert!(hashes(&in_place).iter().all(|(_, hash)| hash.is_some()));
    assert_eq!(hashes(&in_place), hashes(&streamed));

    // A layer that the file does not hold whole is an error, not a fault on a mapping.
    let past_the_end = Section::new(
        Backing::File(file),
        before.len() as u64,
        tar.len() as u64 + 4096 + 1,
    );
    let err = walk(Blob::Seekable(past_the_end), digests).unwrap_err();
    assert!(err.to_string().contains("ended early"), "{err}");
}

/// A sparse ELF file (GNU tar -S) is rebuilt with its holes and read like any other, in a
/// plain layer (walked in place) and a compressed one (streamed); one too large to rebuild
/// within the `elf-capture` limit is said, not skipped.
#[test]
fn a_sparse_elf_file_is_read_as_the_same_file_stored_whole() {
    let library = common::elf::compile(
        common::elf::CC,
        common::elf::EXTENSION,
        &["-shared", "-fPIC", "-Wl,-soname,libsparse.so.1"],
    );
    // The longest run of zeros (alignment padding) becomes the hole.
    let (mut best, mut run_start) = ((0, 0), None);
    for (i, &byte) in library.iter().chain([1u8].iter()).enumerate() {
        match (byte, run_start) {
            (0, None) => run_start = Some(i),
            (0, Some(_)) => {}
            (_, Some(start)) => {
                if i - start > best.1 - best.0 {
                    best = (start, i);
                }
                run_start = None;
            }
            (_, None) => {}
        }
    }
    let (hole_start, hole_end) = best;
    assert!(hole_end - hole_start >= 512, "no hole in the library");
    let segments = vec![
        (0, library[..hole_start].to_vec()),
        (hole_end as u64, library[hole_end..].to_vec()),
    ];
    let entries = || {
        vec![
            Entry::dir("opt"),
            Entry::exec("opt/libwhole.so", &library),
            Entry::sparse("opt/libsparse.so", library.len() as u64, segments.clone()),
            // Kept whole for its banner (an analysis asks), and rebuilt before it is read.
            Entry::sparse("opt/libc.so.6", library.len() as u64, segments.clone()),
        ]
    };
    for layer in [
        Layer::new("COPY lib /opt/", entries()),
        Layer::new("COPY lib /opt/", entries()).gzip(),
    ] {
        let report = report_for(&Image::new(vec![layer]));
        let elf = |path: &[u8]| {
            let id = report.image.tree.lookup(path).unwrap();
            report.image.final_entry(id).unwrap().elf.clone()
        };
        let whole = elf(b"opt/libwhole.so").expect("the library's facts");
        assert_eq!(whole.soname.as_deref(), Some("libsparse.so.1"));
        assert_eq!(elf(b"opt/libsparse.so").as_ref(), Some(&whole));
        assert_eq!(elf(b"opt/libc.so.6"), Some(whole));
        assert!(report.image.diagnostics.is_empty());
    }

    let tar = Image::new(vec![Layer::new("COPY lib /opt/", entries())])
        .layer_tar(0)
        .unwrap();
    let limits = pydive::limits::Limits {
        elf_capture: 1024,
        ..Default::default()
    };
    let content = pydive::layer::ContentBudget::new(&limits);
    let walk = pydive::app::walk_layer(&limits, &content);
    let scan = walk(
        pydive::layer::Blob::Stream(&mut &tar[..]),
        pydive::layer::Digests::default(),
    )
    .unwrap();
    let said: Vec<String> = scan
        .diagnostics
        .iter()
        .map(|d| {
            format!(
                "{}: {}",
                String::from_utf8_lossy(d.path.as_deref().unwrap()),
                d.message
            )
        })
        .collect();
    assert!(
        said.iter().any(
            |d| d.starts_with("opt/libsparse.so: not inspected for ELF facts")
                && d.contains("elf-capture")
        ),
        "{said:?}"
    );
}
