//! One Python application image and the variants real pull requests produce: a pip cache
//! left, build-essential added, a package upgraded, a layer inserted, the base switched from
//! glibc to musl, temporary build files deleted in a later step. Built with the fixture
//! builder from real ELF files (this machine's glibc and musl, programs compiled by `cc` or
//! `musl-gcc`), so `diff` and `ci` tests compare images that differ only as declared.

use pydive::fixture::{Entry, Image, Layer};

use super::elf::{CC, EXTENSION, MAIN, MUSL, compile, host_file};

pub const SITE: &str = "usr/local/lib/python3.12/site-packages";
pub const PIP_STEP: &str = "RUN /bin/sh -c pip install -r requirements.txt # buildkit";
pub const APT_STEP: &str =
    "RUN /bin/sh -c apt-get update && apt-get install -y build-essential # buildkit";
pub const USER_STEP: &str = "RUN /bin/sh -c useradd --create-home app # buildkit";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Libc {
    Glibc,
    Musl,
}

/// Which variant of the application image to build.
#[derive(Clone, Debug)]
pub struct App {
    pub libc: Libc,
    /// pip's cache left in the install layer (no `--no-cache-dir`).
    pub pip_cache: bool,
    /// `apt-get install build-essential` before the install, apt lists left.
    pub build_essential: bool,
    pub numpy: &'static str,
    /// A `useradd` step inserted before the install.
    pub inserted: bool,
    /// Build files left in `/tmp/build` by the install and deleted in a later step.
    pub leftover: bool,
}

impl App {
    pub fn base() -> App {
        App {
            libc: Libc::Glibc,
            pip_cache: false,
            build_essential: false,
            numpy: "1.26.4",
            inserted: false,
            leftover: false,
        }
    }

    pub fn image(&self) -> Image {
        let mut layers = vec![self.rootfs()];
        if self.build_essential {
            layers.push(build_essential());
        }
        if self.inserted {
            layers.push(Layer::new(
                USER_STEP,
                vec![
                    Entry::dir("etc"),
                    Entry::file(
                        "etc/passwd",
                        "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
                    ),
                    Entry::dir("home/app"),
                    Entry::file("home/app/.bashrc", "# app\n"),
                ],
            ));
        }
        layers.push(self.install());
        if self.leftover {
            layers.push(Layer::new(
                "RUN /bin/sh -c rm -rf /tmp/build # buildkit",
                vec![Entry::dir("tmp"), Entry::whiteout("tmp/build")],
            ));
        }
        layers.push(Layer::new(
            "COPY . /app # buildkit",
            vec![
                Entry::dir("app"),
                Entry::file("app/main.py", "import numpy, requests\nprint('ok')\n"),
                Entry::file_len("app/model.bin", 1_500_000, 501),
            ],
        ));
        let mut image = Image::new(layers);
        image.empty_steps = vec![(
            image.layers.len(),
            "CMD [\"python3\", \"/app/main.py\"]".into(),
        )];
        image
    }

    fn compiler(&self) -> &'static [&'static str] {
        match self.libc {
            Libc::Glibc => CC,
            Libc::Musl => MUSL,
        }
    }

    fn rootfs(&self) -> Layer {
        let mut entries = match self.libc {
            Libc::Glibc => vec![
                Entry::dir("etc"),
                Entry::file(
                    "etc/os-release",
                    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
                ),
                Entry::dir("usr/lib/x86_64-linux-gnu"),
                Entry::exec(
                    "usr/lib/x86_64-linux-gnu/libc.so.6",
                    host_file("/lib/x86_64-linux-gnu/libc.so.6"),
                ),
                Entry::exec(
                    "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                    host_file("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
                ),
                Entry::dir("usr/lib64"),
                Entry::symlink(
                    "usr/lib64/ld-linux-x86-64.so.2",
                    "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                ),
                Entry::symlink("lib64", "usr/lib64"),
            ],
            Libc::Musl => vec![
                Entry::dir("etc"),
                Entry::file(
                    "etc/os-release",
                    "PRETTY_NAME=\"Alpine Linux v3.19\"\nID=alpine\n",
                ),
                Entry::dir("lib"),
                Entry::exec(
                    "lib/ld-musl-x86_64.so.1",
                    host_file("/lib/ld-musl-x86_64.so.1"),
                ),
                Entry::symlink("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"),
            ],
        };
        entries.extend([
            Entry::dir("usr/local/bin"),
            Entry::exec(
                "usr/local/bin/python3.12",
                compile(self.compiler(), MAIN, &[]),
            ),
            Entry::symlink("usr/local/bin/python3", "python3.12"),
            Entry::dir("usr/local/lib/python3.12"),
            Entry::file_len("usr/local/lib/python3.12/stdlib.bin", 6_000_000, 101),
        ]);
        let step = match self.libc {
            Libc::Glibc => "/bin/sh -c #(nop) ADD file:debian-bookworm-python3.12 in / ",
            Libc::Musl => "/bin/sh -c #(nop) ADD file:alpine-3.19-python3.12 in / ",
        };
        Layer::new(step, entries)
    }

    fn install(&self) -> Layer {
        let mut entries = vec![Entry::dir(SITE)];
        let platform = match self.libc {
            Libc::Glibc => ("x86_64-linux-gnu", "manylinux_2_17_x86_64"),
            Libc::Musl => ("x86_64-linux-musl", "musllinux_1_1_x86_64"),
        };
        let numpy_data = if self.numpy == "1.26.4" {
            (4_000_000, 201)
        } else {
            (5_500_000, 202)
        };
        entries.extend(distribution(
            "numpy",
            self.numpy,
            &[&format!("cp312-cp312-{}", platform.1)],
            vec![
                (
                    format!("numpy/core/_multiarray_umath.cpython-312-{}.so", platform.0),
                    Content::Bytes(compile(self.compiler(), EXTENSION, &["-shared", "-fPIC"])),
                ),
                (
                    "numpy/core/_data.bin".into(),
                    Content::Pattern(numpy_data.0, numpy_data.1),
                ),
            ],
        ));
        entries.extend(distribution(
            "requests",
            "2.31.0",
            &["py3-none-any"],
            vec![(
                "requests/__init__.py".into(),
                Content::Pattern(300_000, 301),
            )],
        ));
        if self.pip_cache {
            entries.extend([
                Entry::dir("root/.cache/pip/http-v2/a/1"),
                Entry::file_len("root/.cache/pip/http-v2/a/1/3f9c2e.body", 4_000_000, 401),
                Entry::file_len("root/.cache/pip/http-v2/a/1/7d01aa.body", 2_000_000, 402),
            ]);
        }
        if self.leftover {
            entries.extend([
                Entry::dir("tmp/build"),
                Entry::file_len("tmp/build/numpy-build.o", 3_000_000, 403),
            ]);
        }
        Layer::new(PIP_STEP, entries)
    }
}

enum Content {
    Bytes(Vec<u8>),
    Pattern(u64, u64),
}

/// A distribution's files and a dist-info naming them in RECORD.
fn distribution(
    name: &str,
    version: &str,
    tags: &[&str],
    files: Vec<(String, Content)>,
) -> Vec<Entry> {
    let info = format!("{name}-{version}.dist-info");
    let mut record = String::new();
    let mut entries = Vec::new();
    for (path, content) in files {
        let (entry, len) = match content {
            Content::Bytes(b) => {
                let len = b.len();
                (Entry::exec(format!("{SITE}/{path}"), b), len as u64)
            }
            Content::Pattern(len, seed) => {
                (Entry::file_len(format!("{SITE}/{path}"), len, seed), len)
            }
        };
        record.push_str(&format!("{path},sha256=x,{len}\n"));
        entries.push(entry);
    }
    record.push_str(&format!(
        "{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n"
    ));
    let wheel: String = tags.iter().map(|t| format!("Tag: {t}\n")).collect();
    entries.extend([
        Entry::dir(format!("{SITE}/{info}")),
        Entry::file(
            format!("{SITE}/{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        ),
        Entry::file(
            format!("{SITE}/{info}/WHEEL"),
            format!("Wheel-Version: 1.0\nRoot-Is-Purelib: false\n{wheel}"),
        ),
        Entry::file(format!("{SITE}/{info}/INSTALLER"), "pip\n"),
        Entry::file(format!("{SITE}/{info}/RECORD"), record),
    ]);
    entries
}

/// What `apt-get install build-essential` leaves: compilers, headers, a static library and
/// apt's lists.
fn build_essential() -> Layer {
    Layer::new(
        APT_STEP,
        vec![
            Entry::dir("usr/bin"),
            Entry::file_len("usr/bin/x86_64-linux-gnu-gcc-12", 1_200_000, 601),
            Entry::symlink("usr/bin/gcc", "x86_64-linux-gnu-gcc-12"),
            Entry::file_len("usr/bin/x86_64-linux-gnu-ld.bfd", 1_800_000, 602),
            Entry::dir("usr/lib/gcc/x86_64-linux-gnu/12"),
            Entry::file_len("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 9_000_000, 603),
            Entry::dir("usr/include/x86_64-linux-gnu/bits"),
            Entry::file_len("usr/include/x86_64-linux-gnu/bits/types.h", 1_100_000, 604),
            Entry::file_len("usr/include/stdio.h", 400_000, 605),
            Entry::file_len("usr/lib/x86_64-linux-gnu/libc_nonshared.a", 1_300_000, 606),
            Entry::dir("var/lib/apt/lists"),
            Entry::file_len(
                "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
                2_500_000,
                607,
            ),
        ],
    )
}
