//! Hostile input: images made by an attacker rather than a build. Damaged images, byte by
//! byte: whatever the damage, reading either succeeds or returns an error; it never panics (the
//! damage is pseudo-random but seeded, so a failure reproduces). Crafted images: each case
//! builds its input itself and checks that pydive reads nothing outside the image, spends time
//! and memory in proportion to the input's size (measured here, in the test process, with
//! generous bounds), and prints nothing a terminal would act on.

#[path = "common/budget.rs"]
mod budget;
mod common;

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
    let mut archive = tar::Archive::new(&tar[..]);
    for entry in archive.entries().unwrap().raw(true) {
        headers.push(entry.unwrap().raw_header_position() as usize);
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
            let keep_all = |_: &[u8], _: u64| true;
            let opts = pydive::layer::ScanOptions {
                hash_blob: true,
                hash_tar: true,
                keep_content: &keep_all,
                inspect_elf: true,
            };
            let _ = pydive::layer::scan(&damaged[..], &opts);
            let bytes: &'static [u8] = Box::leak(damaged.into_boxed_slice());
            let section = pydive::layer::blob::Section::new(
                pydive::layer::blob::Backing::Memory(bytes),
                0,
                bytes.len() as u64,
            );
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
