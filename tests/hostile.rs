//! Hostile input: images made by an attacker rather than a build. Damaged images, byte by
//! byte: whatever the damage, reading either succeeds or returns an error; it never panics (the
//! damage is pseudo-random but seeded, so a failure reproduces). Crafted images: each case
//! builds its input itself and checks that pydive reads nothing outside the image, stops at the
//! limit that names the cost (the error or diagnostic says which), keeps its heap within a
//! generous bound measured in the test process, never hangs (a minute-long safety net, not a
//! timing), and prints nothing a terminal would act on.

#[path = "common/budget.rs"]
mod budget;
mod common;
#[path = "common/fake_registry.rs"]
mod fake_registry;

use pydive::fixture::{Entry, Image, Layer, Layout};
use pydive::source::Transport;

fn image(compress: fn(Layer) -> Layer) -> Image {
    Image::new(vec![
        compress(Layer::new(
            "base",
            vec![
                Entry::dir("usr"),
                Entry::file("usr/a", vec![1; 3000]),
                Entry::hardlink("usr/b", "usr/a"),
                Entry::symlink("usr/c", "a"),
                Entry::file(format!("usr/{}", "long".repeat(40)), vec![2; 700]),
                Entry::sparse(
                    "usr/sparse",
                    100_000,
                    vec![(0, vec![3; 512]), (50_000, vec![4; 100])],
                ),
            ],
        )),
        compress(Layer::new(
            "rm",
            vec![
                Entry::whiteout("usr/a"),
                Entry::opaque("usr"),
                Entry::file("usr/d", vec![5; 900]),
            ],
        )),
    ])
}

/// A small xorshift generator: enough to scatter damage reproducibly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn read(path: &std::path::Path, verify: bool) {
    let transport = Transport::parse(path.to_str().unwrap()).unwrap();
    let mut read = common::read_config();
    read.verify = verify;
    // Ok or Err are both fine; a panic fails the test.
    let _ = pydive::app::load(&transport, &read);
}

#[test]
fn damaged_archives_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    type Compress = fn(Layer) -> Layer;
    let variants: [(Compress, Layout); 4] = [
        (|l| l, Layout::DockerClassic),
        (Layer::gzip, Layout::DockerOci),
        (Layer::zstd, Layout::Oci),
        (|l| l, Layout::Oci),
    ];
    for (v, (compress, layout)) in variants.into_iter().enumerate() {
        let clean = dir.path().join(format!("clean-{v}.tar"));
        image(compress)
            .write_docker_archive(&clean, layout)
            .unwrap();
        let bytes = std::fs::read(&clean).unwrap();
        for round in 0..60 {
            let mut damaged = bytes.clone();
            match round % 3 {
                0 => damaged.truncate(rng.below(bytes.len())),
                1 => {
                    for _ in 0..1 + rng.below(8) {
                        let at = rng.below(damaged.len());
                        damaged[at] = rng.next() as u8;
                    }
                }
                _ => {
                    // Overwrite a header-sized run: sizes, names and checksums go wrong together.
                    let at = rng.below(damaged.len());
                    let end = (at + 512).min(damaged.len());
                    for b in &mut damaged[at..end] {
                        *b = rng.next() as u8;
                    }
                }
            }
            let path = dir.path().join(format!("damaged-{v}-{round}.tar"));
            std::fs::write(&path, &damaged).unwrap();
            read(&path, true);
            read(&path, false);
        }
    }
}

/// Sets a header field and fixes the header checksum, so the damage reaches past the check.
fn poke_header(tar: &mut [u8], header_at: usize, field: std::ops::Range<usize>, value: &[u8]) {
    let h = &mut tar[header_at..header_at + 512];
    for (i, slot) in h[field].iter_mut().enumerate() {
        *slot = value.get(i).copied().unwrap_or(0);
    }
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
}

#[test]
fn hostile_layer_headers_never_panic() {
    let tar = image(|l| l).layer_tar(0).unwrap();
    // Header offsets of the layer's entries.
    let mut headers = Vec::new();
    let mut archive = pydive::layer::tar::Reader::new(&tar[..], 64 << 10);
    while let Some(header) = archive.next_header().unwrap() {
        headers.push(header.offset as usize);
    }
    let pokes: &[(std::ops::Range<usize>, &[u8])] = &[
        (124..136, b"77777777777\0"), // the largest octal size
        (
            124..136,
            &[
                0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        ), // base-256 size
        (124..136, b"00000000001\0"),
        (156..157, b"S"), // GNU sparse with no map
        (156..157, b"x"), // a PAX header with a garbage body
        (156..157, b"L"), // a long name that names nothing
        (156..157, b"1"), // a hard link
        (156..157, b"V"), // a volume label
        (0..100, b"../../../../etc/passwd"),
        (0..100, b".wh..wh..opq"),
        (0..100, b"/"),
        (157..257, b"../../x"),
    ];
    for &at in &headers {
        for (field, value) in pokes {
            let mut damaged = tar.clone();
            poke_header(&mut damaged, at, field.clone(), value);
            let keep_all = |_: &[u8], _: u64| pydive::layer::Keep::Whole;
            let content = pydive::layer::ContentBudget::default();
            let opts = pydive::layer::ScanOptions {
                hash_blob: true,
                hash_tar: true,
                keep_content: &keep_all,
                inspect_elf: true,
                max_tar_header: 64 << 10,
                content: &content,
            };
            let _ = pydive::layer::scan(&damaged[..], &opts);
            let bytes: &'static [u8] = Box::leak(damaged.into_boxed_slice());
            let section = pydive::layer::blob::Section::new(
                pydive::layer::blob::Backing::Memory(bytes),
                0,
                bytes.len() as u64,
            );
            // Walked in place, then hashed where it lies (the verified path of a plain layer).
            let digests = pydive::layer::Digests {
                blob: false,
                tar: true,
            };
            let blob = pydive::layer::Blob::Seekable(section.clone());
            let _ = pydive::layer::walk_blob(blob, digests, &opts);
            let _ = pydive::layer::scan_seekable(section, &opts);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the terminal sees

/// Bytes a terminal acts on: ESC, BEL, CSI (C1, as UTF-8), and a bidi override.
fn terminal_controls(out: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(out);
    text.chars()
        .filter(|&c| pydive::printable::is_unsafe(c) && c != '\n' && c != '\t')
        .map(|c| format!("U+{:04X}", c as u32))
        .collect()
}

const EVIL: &str = "\x1b]0;pwned\x07\x1b[2J\u{9b}31m\u{202e}";

fn escaping_image() -> Image {
    let mut image = Image::new(vec![
        Layer::new(
            &format!("/bin/sh -c echo {EVIL} && pip install x"),
            vec![
                Entry::dir("root"),
                // A pip cache big enough for its finding, under a name that forges a line.
                Entry::file_len(
                    format!(
                        "root/.cache/pip/http/{EVIL}\nerror [forged] this line is not pydive's"
                    ),
                    100_000,
                    1,
                ),
                Entry::file(format!("tmp/{EVIL}"), vec![7; 5000]),
            ],
        ),
        Layer::new(
            &format!("RUN rm {EVIL}"),
            vec![Entry::whiteout(format!("tmp/{EVIL}"))],
        ),
    ]);
    image.tag = Some("evil/image:latest".into());
    image
}

#[test]
fn control_characters_never_reach_the_terminal() {
    let w = common::archive(&escaping_image(), Layout::DockerClassic);
    let path = w.path.to_str().unwrap();
    for args in [
        vec!["report", path],
        vec!["report", path, "--format", "markdown"],
        vec!["audit", path, "--fail-on", "never"],
        vec!["audit", path, "--format", "markdown", "--fail-on", "never"],
    ] {
        let out = common::pydive().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(
            terminal_controls(&out.stdout),
            Vec::<String>::new(),
            "{args:?}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        // The escaped name is there, on one line: said, not hidden.
        assert!(text.contains("\\x1B]0;pwned\\x07"), "{args:?}: {text}");
        assert!(
            !text.lines().any(|l| l.starts_with("error [forged]")),
            "{args:?}: {text}"
        );
    }
}

#[test]
fn errors_are_one_escaped_line_and_cut() {
    let w = common::archive(&escaping_image(), Layout::DockerClassic);
    // A reference that is not in the archive, quoted back in the error.
    let arg = format!(
        "docker-archive:{}:{EVIL}\nsecond line{}",
        w.path.display(),
        "x".repeat(5000)
    );
    let out = common::pydive().args(["report", &arg]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(terminal_controls(&out.stderr), Vec::<String>::new());
    assert!(stderr.len() < 1200, "{} bytes", stderr.len());
    assert!(stderr.contains("more characters)"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Reads outside the image

const HOST_SECRET: &str = "c2VjcmV0LXRva2VuLWZyb20tdGhlLWhvc3Q=";

/// An OCI layout whose first layer blob is replaced by `plant(blob_path)`.
fn layout_with_planted_blob(plant: impl FnOnce(&std::path::Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let written = image(|l| l).write_oci_dir(&layout).unwrap();
    let hex = written.layer_digests[0].trim_start_matches("sha256:");
    let blob = layout.join("blobs/sha256").join(hex);
    std::fs::remove_file(&blob).unwrap();
    plant(&blob);
    dir
}

fn report_stderr(arg: &str) -> (Option<i32>, String) {
    let out = common::pydive()
        .args(["report", arg])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_layout_blob_linked_to_a_host_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let host_file = dir.path().join("config.json");
    std::fs::write(
        &host_file,
        format!(r#"{{"auths":{{"registry.example":{{"auth":"{HOST_SECRET}"}}}}}}"#),
    )
    .unwrap();
    let layout = layout_with_planted_blob(|blob| {
        std::os::unix::fs::symlink(&host_file, blob).unwrap();
    });
    let arg = format!("oci:{}", layout.path().join("layout").display());
    let (code, stderr) = report_stderr(&arg);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("leads out of the layout"), "{stderr}");
    assert!(!stderr.contains(HOST_SECRET), "{stderr}");
    assert!(!stderr.contains("auths"), "{stderr}");
}

#[test]
fn a_layout_blob_that_is_a_fifo_or_a_directory_is_refused_without_waiting() {
    let fifo = layout_with_planted_blob(|blob| {
        let path = std::ffi::CString::new(blob.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    });
    let dir = layout_with_planted_blob(|blob| std::fs::create_dir(blob).unwrap());
    for (layout, what) in [(fifo, "a FIFO"), (dir, "a directory")] {
        let arg = format!("oci:{}", layout.path().join("layout").display());
        let (code, stderr) = budget::within_budget(what, || report_stderr(&arg));
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("is {what}, not a regular file")),
            "{stderr}"
        );
    }
}

#[test]
fn a_symlink_inside_the_layout_is_followed() {
    // Some tools store a blob once and link the others to it: that stays readable.
    let layout = layout_with_planted_blob(|blob| {
        let copy = blob.with_file_name("elsewhere");
        std::fs::write(&copy, image(|l| l).layer_tar(0).unwrap()).unwrap();
        std::os::unix::fs::symlink("elsewhere", blob).unwrap();
    });
    let arg = format!("oci:{}", layout.path().join("layout").display());
    let report = common::load(&arg);
    assert!(report.image.tree.lookup(b"usr/a").is_some());
}

#[test]
fn a_tar_error_never_quotes_the_file() {
    // A "layer" that is a host's credentials file: the error says what is wrong, not what is
    // in it.
    let layout = layout_with_planted_blob(|blob| {
        let mut secret =
            format!(r#"{{"auths":{{"registry.example":{{"auth":"{HOST_SECRET}"}}}}}}"#)
                .into_bytes();
        secret.resize(4096, b' ');
        std::fs::write(blob, secret).unwrap();
    });
    let arg = format!("oci:{}", layout.path().join("layout").display());
    let (code, stderr) = report_stderr(&arg);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a valid tar"), "{stderr}");
    assert!(!stderr.contains(HOST_SECRET), "{stderr}");
    assert!(!stderr.contains("auths"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Time and memory in proportion to the input

/// A header block as an attacker writes it: any name, type and size.
fn raw_header(name: &[u8], typeflag: u8, size: u64) -> [u8; 512] {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    let mut bytes = [0u8; 512];
    bytes.copy_from_slice(h.as_bytes());
    bytes[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    bytes[156] = typeflag;
    bytes
}

/// Writes a one-image OCI layout and returns its `oci:` argument (the directory lives as long
/// as the returned guard).
fn layout_of(image: &Image) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    image.write_oci_dir(dir.path()).unwrap();
    let arg = format!("oci:{}", dir.path().display());
    (dir, arg)
}

fn load(arg: &str, read: &pydive::cli::ReadConfig) -> anyhow::Result<pydive::report::Report> {
    pydive::app::load(&Transport::parse(arg).unwrap(), read)
}

fn long_name_image(typeflag: u8, len: u64) -> Image {
    Image::new(vec![
        Layer::new(
            "hostile",
            vec![
                Entry::raw(
                    raw_header(b"././@LongLink", typeflag, len),
                    pydive::fixture::Content::Repeat { byte: b'a', len },
                ),
                Entry::file("x", "after the long name"),
            ],
        )
        .zstd(),
    ])
}

#[test]
fn a_gigantic_gnu_long_name_or_pax_header_is_refused_by_its_limit() {
    // Sizes that took gigabytes before (a 1 GB name 9 GB, a 100 MB PAX path 609 MB), and far
    // more than the budget.
    for (typeflag, what, len, verify) in [
        (b'L', "a GNU long name", 300u64 << 20, true),
        (b'x', "a PAX header", 64 << 20, false),
    ] {
        let (_dir, arg) = layout_of(&long_name_image(typeflag, len));
        let mut read = common::read_config();
        read.verify = verify;
        let result = budget::within_budget(what, || load(&arg, &read));
        let Err(e) = result else {
            panic!("{what}: read without an error")
        };
        let e = format!("{e:#}");
        assert!(
            e.contains(&format!(
                "{what} of {len} bytes is over the tar-header limit"
            )),
            "{e}"
        );
    }
}

/// An old GNU sparse header: `stored` bytes of data, a real size as claimed.
fn old_sparse(name: &str, real_size: u64, stored: u64) -> Entry {
    let mut h = raw_header(name.as_bytes(), b'S', stored);
    // One segment at offset 0 of `stored` bytes, in the header's sparse map.
    h[386..398].copy_from_slice(b"00000000000\0");
    h[398..410].copy_from_slice(format!("{stored:011o}\0").as_bytes());
    // The real size in base-256, as GNU tar writes sizes past 8 GiB.
    let mut field = [0u8; 12];
    field[4..].copy_from_slice(&real_size.to_be_bytes());
    field[0] = 0x80;
    h[483..495].copy_from_slice(&field);
    Entry::raw(
        h,
        pydive::fixture::Content::Repeat {
            byte: b'z',
            len: stored,
        },
    )
}

#[test]
fn a_sparse_file_claiming_a_tebibyte_is_metadata_not_bytes_to_read() {
    const TIB: u64 = 1 << 40;
    let image = Image::new(vec![
        Layer::new(
            "sparse",
            vec![
                Entry::dir("data"),
                old_sparse("data/huge.img", TIB, 512),
                // A file an analysis reads, claiming a tebibyte: not rebuilt in memory.
                old_sparse("site-packages/x-1.dist-info/RECORD", TIB, 512),
            ],
        )
        .gzip(),
    ]);
    let (_dir, arg) = layout_of(&image);
    for verify in [true, false] {
        let mut read = common::read_config();
        read.verify = verify;
        let report = budget::within_budget("1 TiB sparse", || load(&arg, &read)).unwrap();
        let id = report.image.tree.lookup(b"data/huge.img").unwrap();
        assert_eq!(report.image.final_entry(id).unwrap().size, TIB);
        let note = report
            .image
            .diagnostics
            .iter()
            .find(|d| d.path.as_deref() == Some(b"site-packages/x-1.dist-info/RECORD".as_slice()))
            .expect("the RECORD not read is said");
        assert!(
            note.message.contains("over the file-content limit"),
            "{}",
            note.message
        );
    }
}

#[test]
fn a_path_a_hundred_thousand_directories_deep_costs_its_length() {
    let deep = "d/".repeat(100_000) + "file";
    let image = Image::new(vec![
        Layer::new("deep", vec![Entry::file(&deep, "x")]),
        Layer::new("again", vec![Entry::file(&deep, "y")]),
    ]);
    let (_dir, arg) = layout_of(&image);
    let mut read = common::read_config();
    read.limits.tar_header = 1 << 20;
    let report = budget::within_budget("deep path", || {
        let report = load(&arg, &read).unwrap();
        let mut text = Vec::new();
        pydive::report::write(&report, pydive::report::Format::Text, &mut text).unwrap();
        report
    });
    assert_eq!(report.facts.dive.inefficient.len(), 1);
    assert_eq!(report.image.tree.len(), 100_002);
}

#[test]
fn kept_contents_are_bounded_per_file_and_in_total() {
    // Twenty wheels whose METADATA carry a 16 MiB description: only the headers are read.
    let mut entries = Vec::new();
    for i in 0..20 {
        let dir = format!("site-packages/pkg{i}-1.0.dist-info");
        let headers = format!("Metadata-Version: 2.1\nName: pkg{i}\nVersion: 1.0\n\n");
        let metadata = [headers.as_bytes(), &vec![b'x'; (16 << 20) - headers.len()]].concat();
        entries.push(Entry::file(format!("{dir}/METADATA"), metadata));
        entries.push(Entry::file(format!("{dir}/RECORD"), vec![b'r'; 4 << 20]));
    }
    let image = Image::new(vec![Layer::new("pip install", entries).zstd()]);
    let (_dir, arg) = layout_of(&image);
    let mut read = common::read_config();
    read.verify = false;
    // 80 MiB of RECORDs against a 32 MiB total.
    read.limits.content_total = 32 << 20;
    let report = budget::within_budget("METADATA", || load(&arg, &read)).unwrap();
    let names: Vec<&str> = report
        .facts
        .python
        .distributions
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names.len(), 20, "{names:?}");
    assert!(names.contains(&"pkg7"), "{names:?}");
    let over: Vec<_> = report
        .image
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("the content-total limit"))
        .collect();
    assert!(!over.is_empty());
    assert!(over.len() < 20);
}

// ---------------------------------------------------------------------------------------------
// Smaller

#[test]
fn output_naming_the_input_is_refused() {
    let w = common::archive(&image(|l| l), Layout::DockerClassic);
    let before = std::fs::read(&w.path).unwrap();
    let hardlink = w.dir.path().join("other-name.tar");
    std::fs::hard_link(&w.path, &hardlink).unwrap();
    for output in [w.path.clone(), hardlink] {
        let out = common::pydive()
            .args(["report", w.path.to_str().unwrap(), "-o"])
            .arg(&output)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("is the image being read"), "{stderr}");
    }
    assert!(
        std::fs::read(&w.path).unwrap() == before,
        "the image is untouched"
    );
    // Nor into an OCI layout being read.
    let dir = tempfile::tempdir().unwrap();
    image(|l| l).write_oci_dir(dir.path()).unwrap();
    let out = common::pydive()
        .args(["audit", &format!("oci:{}", dir.path().display()), "-o"])
        .arg(dir.path().join("blobs/report.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!dir.path().join("blobs/report.txt").exists());
}

#[test]
fn write_errors_name_the_file() {
    let w = common::archive(&image(|l| l), Layout::DockerClassic);
    let out = common::pydive()
        .args(["report", w.path.to_str().unwrap(), "-o", "/dev/full"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write /dev/full"), "{stderr}");
}

#[test]
fn byte_counts_saturate_past_two_to_the_64_and_say_so() {
    let huge = 1u64 << 63;
    let image = Image::new(vec![Layer::new(
        "three huge claims",
        vec![
            old_sparse("a.img", huge, 512),
            old_sparse("b.img", huge, 512),
            old_sparse("c.img", huge, 512),
        ],
    )]);
    let (_dir, arg) = layout_of(&image);
    let report = load(&arg, &common::read_config()).unwrap();
    assert_eq!(report.facts.visible.bytes, u64::MAX);
    assert_eq!(report.image.layers[0].files_bytes(), u64::MAX);
    assert!(
        report
            .image
            .diagnostics
            .iter()
            .any(|d| d.message.contains("more than 2^64")),
        "{:?}",
        report.image.diagnostics
    );
    for format in ["text", "json", "markdown"] {
        let out = common::pydive()
            .args(["report", &arg, "--format", format])
            .output()
            .unwrap();
        assert!(out.status.success(), "{format}: {out:?}");
        if format == "text" {
            assert!(String::from_utf8_lossy(&out.stdout).contains("more than 2^64"));
        }
    }
}

#[test]
fn random_bytes_on_standard_input_are_one_error_line() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let noise: Vec<u8> = (0..1 << 20).map(|_| rng.next() as u8).collect();
    let out = common::pydive()
        .args(["report", "-"])
        .write_stdin(noise)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a readable tar archive"), "{stderr}");
}

#[test]
fn a_bad_cache_limit_matters_only_when_the_cache_is_used() {
    let w = common::archive(&image(|l| l), Layout::DockerClassic);
    let out = common::pydive()
        .env("PYDIVE_CACHE_MAX", "lots")
        .args(["report", w.path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let cache = tempfile::tempdir().unwrap();
    let out = common::pydive()
        .env("PYDIVE_CACHE_MAX", "lots")
        .env("PYDIVE_CACHE_DIR", cache.path())
        .args(["cache"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PYDIVE_CACHE_MAX=lots"));
}

// ---------------------------------------------------------------------------------------------
// Streams: FIFOs and process substitution

fn mkfifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn a_fifo_is_read_as_a_stream() {
    let w = common::archive(&image(Layer::gzip), Layout::DockerOci);
    let fifo = w.dir.path().join("pipe");
    mkfifo(&fifo);
    let (source, target) = (w.path.clone(), fifo.clone());
    let writer = std::thread::spawn(move || {
        let bytes = std::fs::read(source).unwrap();
        std::fs::write(target, bytes).unwrap();
    });
    let report = budget::within_budget("fifo", || {
        load(fifo.to_str().unwrap(), &common::read_config()).unwrap()
    });
    writer.join().unwrap();
    assert!(report.image.tree.lookup(b"usr/d").is_some());
}

#[test]
fn a_fifo_nobody_writes_to_times_out_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let out = budget::within_budget("fifo without a writer", || {
        common::pydive()
            .args([
                "report",
                fifo.to_str().unwrap(),
                "--limit",
                "read-timeout=2s",
            ])
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap()
    });
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("waiting for something to write to"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing opened this FIFO for writing within the read-timeout limit"),
        "{stderr}"
    );
}

#[test]
fn process_substitution_is_read_as_a_stream() {
    let w = common::archive(&image(|l| l), Layout::DockerClassic);
    let bin = assert_cmd::cargo::cargo_bin("pydive");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{} report --format json <(cat {})",
            bin.display(),
            w.path.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["image"]["layers"].as_array().unwrap().len(), 2);
}

/// Feeds `stream` to this process's standard input from a thread, as a shell pipe would.
fn on_stdin(stream: impl FnOnce(std::fs::File) + Send + 'static) -> std::thread::JoinHandle<()> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    assert!(unsafe { libc::dup2(fds[0], 0) } >= 0);
    unsafe { libc::close(fds[0]) };
    let writer = unsafe { std::fs::File::from_raw_fd(fds[1]) };
    std::thread::spawn(move || stream(writer))
}

/// A `docker save` stream with `junk` JSON-looking members of 4 MiB (the metadata limit, so
/// that eight fill the metadata-total limit exactly) inserted before the member named `before`.
fn stream_with_junk(archive: Vec<u8>, before: &'static str, junk: usize, out: std::fs::File) {
    let mut builder = tar::Builder::new(std::io::BufWriter::new(out));
    let body = [
        br#"{"junk":""#.as_slice(),
        &vec![b'x'; (4 << 20) - 11],
        br#""}"#,
    ]
    .concat();
    let mut original = tar::Archive::new(&archive[..]);
    for entry in original.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name.starts_with(before) {
            for i in 0..junk {
                let mut h = tar::Header::new_gnu();
                h.set_size(body.len() as u64);
                h.set_mode(0o644);
                // A broken pipe is the reader giving up: fine.
                if builder
                    .append_data(&mut h, format!("junk-{i}.json"), &body[..])
                    .is_err()
                {
                    return;
                }
            }
        }
        let header = entry.header().clone();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if builder.append(&header, &data[..]).is_err() {
            return;
        }
    }
    let _ = builder.finish();
}

#[test]
fn a_stream_on_standard_input_keeps_only_what_the_manifest_needs_within_limits() {
    let w = common::archive(&image(|l| l), Layout::DockerClassic);
    let archive = std::fs::read(&w.path).unwrap();
    // 100 members of 4 MiB that look like configs, before the real config: they fill the
    // metadata-total limit, and the real config is then not kept, which the error says.
    let config_name = tar::Archive::new(&archive[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".json") && n != "manifest.json")
        .unwrap();
    let config_name: &'static str = Box::leak(config_name.into_boxed_str());
    let feeder = on_stdin(move |out| stream_with_junk(archive, config_name, 100, out));
    let result = budget::within_budget("junk before the config", || {
        load("-", &common::read_config())
    });
    let _ = feeder.join();
    let Err(e) = result else {
        panic!("read with the config not kept")
    };
    let e = format!("{e:#}");
    assert!(e.contains("was not kept"), "{e}");
    assert!(e.contains("the metadata-total limit"), "{e}");
}

#[test]
fn junk_on_standard_input_after_the_config_is_not_kept_and_costs_nothing() {
    let w = common::archive(&image(|l| l), Layout::DockerClassic);
    let archive = std::fs::read(&w.path).unwrap();
    // The same junk just before manifest.json: the manifest is always kept, the junk is not.
    let feeder = on_stdin(move |out| stream_with_junk(archive, "manifest.json", 100, out));
    let report = budget::within_budget("junk before the manifest", || {
        load("-", &common::read_config()).unwrap()
    });
    feeder.join().unwrap();
    assert!(report.image.tree.lookup(b"usr/d").is_some());
}

// ---------------------------------------------------------------------------------------------
// A misbehaving registry

use fake_registry::{Behaviour, FakeRegistry};

/// A registry on a loopback port serving the test image, misbehaving as asked.
fn fake_registry(behaviour: Behaviour) -> (tempfile::TempDir, FakeRegistry) {
    let dir = tempfile::tempdir().unwrap();
    image(Layer::gzip).write_oci_dir(dir.path()).unwrap();
    let registry = FakeRegistry::start(dir.path().to_path_buf(), behaviour);
    (dir, registry)
}

/// Short waits, so that each limit acts, and says so, long before the hang safety net.
fn impatient() -> pydive::cli::ReadConfig {
    let mut read = common::read_config();
    read.limits.connect_timeout = std::time::Duration::from_secs(2);
    read.limits.response_timeout = std::time::Duration::from_secs(1);
    read.limits.read_timeout = std::time::Duration::from_secs(1);
    read.limits.min_rate = 1024;
    read
}

fn registry_error(behaviour: Behaviour) -> String {
    let (_dir, registry) = fake_registry(behaviour);
    let read = impatient();
    let result = budget::within_budget(&format!("{behaviour:?}"), || {
        load(&registry.reference(), &read)
    });
    match result {
        Ok(_) => panic!("{behaviour:?}: read without an error"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn an_honest_fake_registry_is_read() {
    let (_dir, registry) = fake_registry(Behaviour::Honest);
    let report = load(&registry.reference(), &impatient()).unwrap();
    assert!(report.image.tree.lookup(b"usr/d").is_some());
}

#[test]
fn a_registry_that_trickles_its_headers_times_out() {
    let e = registry_error(Behaviour::SlowHeaders);
    assert!(e.contains("the response-timeout limit"), "{e}");
}

#[test]
fn a_registry_that_trickles_a_manifest_or_a_blob_is_too_slow() {
    for behaviour in [Behaviour::SlowManifest, Behaviour::SlowBlob] {
        let e = registry_error(behaviour);
        assert!(
            e.contains("slower than the min-rate limit"),
            "{behaviour:?}: {e}"
        );
    }
}

#[test]
fn a_blob_shorter_than_its_content_length_times_out() {
    let e = registry_error(Behaviour::ShortBlob);
    assert!(e.contains("the read-timeout limit"), "{e}");
}

#[test]
fn an_endless_or_huge_manifest_is_refused_by_the_metadata_limit() {
    for behaviour in [Behaviour::EndlessManifest, Behaviour::HugeManifest] {
        let e = registry_error(behaviour);
        assert!(
            e.contains("the manifest is over the metadata limit"),
            "{behaviour:?}: {e}"
        );
    }
}

#[test]
fn an_error_page_echoing_the_password_never_prints_it() {
    const PASSWORD: &str = "s3cret-Pa55word";
    // "alice:s3cret-Pa55word" in base64, as the Authorization header carries it.
    const ENCODED: &str = "YWxpY2U6czNjcmV0LVBhNTV3b3Jk";
    for status in [403, 500] {
        let (_dir, registry) = fake_registry(Behaviour::EchoAuth(status));
        let out = common::pydive()
            .args([
                "report",
                &registry.reference(),
                "--username",
                "alice",
                "--password-stdin",
            ])
            .write_stdin(format!("{PASSWORD}\n"))
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{status}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{status}: {stderr}");
        assert!(!stderr.contains(PASSWORD), "{status}: {stderr}");
        assert!(!stderr.contains(ENCODED), "{status}: {stderr}");
        assert!(
            stderr.len() < 600,
            "{status}: a page of {} bytes quoted",
            stderr.len()
        );
        if status == 403 {
            assert!(
                stderr.contains("refused the credentials from --username"),
                "{stderr}"
            );
        } else {
            assert!(stderr.contains("HTTP 500"), "{stderr}");
        }
    }
}
