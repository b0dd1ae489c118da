//! The demo image that `pydive demo` opens, declared with the fixture builder: a small Python
//! image made the way many real ones are, on a `python:3.11-slim`-like base (Debian bookworm's
//! root filesystem with a shell and dpkg's database, then Python built into `/usr/local`, ending
//! in `CMD ["python3"]`), with every byte category, build-essential installed by the app's own
//! step, a pip cache, a deleted build directory, files stored twice by a `chmod`, and a
//! musllinux extension in a glibc image (real ELF files, built by `assets/elf/build.sh`).
//! `cargo run --example build_demo` writes it to `assets/demo.tar`, byte for byte the same
//! every time.

use crate::fixture::{Entry, Image, Layer};

const KB: usize = 1000;
const MB: usize = 1000 * KB;

/// A real ELF file built by `assets/elf/build.sh`.
fn elf(name: &str) -> Vec<u8> {
    match name {
        "libc.so.6" => include_bytes!("../assets/elf/libc.so.6").to_vec(),
        "ld-linux-x86-64.so.2" => include_bytes!("../assets/elf/ld-linux-x86-64.so.2").to_vec(),
        "python3.11" => include_bytes!("../assets/elf/python3.11").to_vec(),
        "_multiarray_umath.cpython-311-x86_64-linux-gnu.so" => {
            include_bytes!("../assets/elf/_multiarray_umath.cpython-311-x86_64-linux-gnu.so")
                .to_vec()
        }
        "_speedups.cpython-311-x86_64-linux-musl.so" => {
            include_bytes!("../assets/elf/_speedups.cpython-311-x86_64-linux-musl.so").to_vec()
        }
        other => unreachable!("no demo ELF file {other}"),
    }
}

/// Compressible contents, so the shipped file stays small while sizes look real.
fn bytes(fill: u8, len: usize) -> Vec<u8> {
    vec![fill; len]
}

/// One installed package of dpkg's database: its `status` stanza and its `info/*.list`.
struct Deb {
    name: &'static str,
    version: &'static str,
    /// dpkg's `Installed-Size`, in KiB.
    kib: u64,
    extra: &'static str,
    files: &'static [&'static str],
}

impl Deb {
    fn stanza(&self) -> String {
        format!(
            "Package: {}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: {}\nInstalled-Size: {}\n{}Description: {}\n\n",
            self.name, self.version, self.kib, self.extra, self.name
        )
    }

    fn list(&self) -> Entry {
        let mut text = String::new();
        for f in self.files {
            text.push_str(&format!("/{f}\n"));
        }
        Entry::file(format!("var/lib/dpkg/info/{}.list", self.name), text)
    }
}

/// Debian bookworm's packages in the base, as `debian:bookworm-slim` and the python images
/// install them (a selection).
const BASE_DEBS: &[Deb] = &[
    Deb {
        name: "base-files",
        version: "12.4+deb12u5",
        kib: 396,
        extra: "Essential: yes\n",
        files: &["etc/os-release"],
    },
    Deb {
        name: "libc6",
        version: "2.36-9+deb12u4",
        kib: 12_987,
        extra: "",
        files: &[
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "usr/lib64/ld-linux-x86-64.so.2",
        ],
    },
    Deb {
        name: "dash",
        version: "0.5.12-2",
        kib: 191,
        extra: "Essential: yes\n",
        files: &["usr/bin/dash", "bin/sh"],
    },
    Deb {
        name: "bash",
        version: "5.2.15-2+b2",
        kib: 7_164,
        extra: "Essential: yes\n",
        files: &["usr/bin/bash", "usr/share/doc/bash/copyright"],
    },
    Deb {
        name: "dpkg",
        version: "1.21.22",
        kib: 6_353,
        extra: "Essential: yes\n",
        files: &["usr/bin/dpkg"],
    },
    Deb {
        name: "apt",
        version: "2.6.1",
        kib: 4_139,
        extra: "",
        files: &["usr/bin/apt-get"],
    },
    Deb {
        name: "ca-certificates",
        version: "20230311",
        kib: 382,
        extra: "",
        files: &["etc/ssl/certs/ca-certificates.crt"],
    },
    Deb {
        name: "tzdata",
        version: "2024a-0+deb12u1",
        kib: 2_802,
        extra: "",
        files: &["usr/share/zoneinfo/UTC"],
    },
];

/// What the app's `apt-get install build-essential` adds.
const TOOLCHAIN_DEBS: &[Deb] = &[
    Deb {
        name: "cpp-12",
        version: "12.2.0-14",
        kib: 34_120,
        extra: "",
        files: &["usr/lib/gcc/x86_64-linux-gnu/12/cc1"],
    },
    Deb {
        name: "gcc-12",
        version: "12.2.0-14",
        kib: 36_430,
        extra: "Depends: cpp-12, binutils\n",
        files: &[
            "usr/lib/gcc/x86_64-linux-gnu/12/lto1",
            "usr/bin/x86_64-linux-gnu-gcc-12",
            "usr/bin/gcc-12",
            "usr/share/man/man1/gcc-12.1.gz",
        ],
    },
    Deb {
        name: "gcc",
        version: "4:12.2.0-3",
        kib: 50,
        extra: "Depends: gcc-12\n",
        files: &["usr/bin/gcc"],
    },
    Deb {
        name: "libstdc++-12-dev",
        version: "12.2.0-14",
        kib: 17_580,
        extra: "",
        files: &["usr/lib/gcc/x86_64-linux-gnu/12/libstdc++.a"],
    },
    Deb {
        name: "binutils",
        version: "2.40-2",
        kib: 1_760,
        extra: "",
        files: &["usr/bin/x86_64-linux-gnu-ld.bfd"],
    },
    Deb {
        name: "make",
        version: "4.3-4.1",
        kib: 1_400,
        extra: "",
        files: &["usr/bin/make"],
    },
    Deb {
        name: "libc6-dev",
        version: "2.36-9+deb12u4",
        kib: 11_360,
        extra: "Depends: libc6\n",
        files: &["usr/include/stdio.h"],
    },
    Deb {
        name: "build-essential",
        version: "12.9",
        kib: 20,
        extra: "Depends: gcc, make, libc6-dev, libstdc++-12-dev\n",
        files: &[],
    },
];

fn dpkg_status(debs: &[&[Deb]]) -> Entry {
    let text: String = debs
        .iter()
        .flat_map(|d| d.iter())
        .map(Deb::stanza)
        .collect();
    Entry::file("var/lib/dpkg/status", text)
}

/// The demo image as declared layers.
pub fn image() -> Image {
    let site = "usr/local/lib/python3.11/site-packages";
    let mut debian = vec![
        Entry::dir("etc"),
        Entry::file("etc/os-release", b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n"),
        Entry::dir("usr"),
        Entry::dir("usr/bin"),
        Entry::exec("usr/bin/bash", bytes(1, 1_265 * KB)),
        Entry::exec("usr/bin/dash", bytes(2, 125 * KB)),
        Entry::exec("usr/bin/dpkg", bytes(32, 310 * KB)),
        Entry::exec("usr/bin/apt-get", bytes(33, 52 * KB)),
        Entry::symlink("bin", "usr/bin"),
        Entry::symlink("usr/bin/sh", "dash"),
        Entry::dir("usr/lib"),
        Entry::dir("usr/lib/x86_64-linux-gnu"),
        Entry::exec("usr/lib/x86_64-linux-gnu/libc.so.6", elf("libc.so.6")),
        Entry::exec("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", elf("ld-linux-x86-64.so.2")),
        Entry::symlink("lib", "usr/lib"),
        Entry::dir("usr/lib64"),
        Entry::symlink("usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
        Entry::symlink("lib64", "usr/lib64"),
        Entry::dir("usr/share"),
        Entry::dir("usr/share/doc"),
        Entry::dir("usr/share/doc/bash"),
        Entry::file("usr/share/doc/bash/copyright", bytes(3, 18 * KB)),
        Entry::dir("var"),
        Entry::dir("var/lib"),
        Entry::dir("var/lib/dpkg"),
        Entry::dir("var/lib/dpkg/info"),
        dpkg_status(&[&BASE_DEBS[..6]]),
        Entry::dir("tmp"),
    ];
    debian.extend(BASE_DEBS[..6].iter().map(Deb::list));
    let mut runtime_debs = vec![
        Entry::dir("etc/ssl/certs"),
        Entry::file("etc/ssl/certs/ca-certificates.crt", bytes(34, 214 * KB)),
        Entry::dir("usr/share/zoneinfo"),
        Entry::file("usr/share/zoneinfo/UTC", bytes(35, 114)),
        dpkg_status(&[BASE_DEBS]),
    ];
    runtime_debs.extend(BASE_DEBS[6..].iter().map(Deb::list));
    let mut toolchain = vec![
        Entry::dir("var/lib/apt"),
        Entry::dir("var/lib/apt/lists"),
        Entry::file(
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
            bytes(5, 3_100 * KB),
        ),
        Entry::file(
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
            bytes(6, 151 * KB),
        ),
        Entry::dir("var/cache/apt/archives"),
        Entry::file(
            "var/cache/apt/archives/gcc-12_12.2.0-14_amd64.deb",
            bytes(7, 574 * KB),
        ),
        dpkg_status(&[BASE_DEBS, TOOLCHAIN_DEBS]),
        Entry::dir("usr/lib/gcc/x86_64-linux-gnu/12"),
        Entry::exec("usr/lib/gcc/x86_64-linux-gnu/12/cc1", bytes(8, 33 * MB)),
        Entry::exec("usr/lib/gcc/x86_64-linux-gnu/12/lto1", bytes(9, 31 * MB)),
        Entry::file(
            "usr/lib/gcc/x86_64-linux-gnu/12/libstdc++.a",
            bytes(19, 6_600 * KB),
        ),
        Entry::exec("usr/bin/x86_64-linux-gnu-gcc-12", bytes(10, 1_030 * KB)),
        Entry::symlink("usr/bin/gcc", "gcc-12"),
        Entry::symlink("usr/bin/gcc-12", "x86_64-linux-gnu-gcc-12"),
        Entry::exec("usr/bin/x86_64-linux-gnu-ld.bfd", bytes(11, 1_760 * KB)),
        Entry::exec("usr/bin/make", bytes(12, 255 * KB)),
        Entry::dir("usr/include"),
        Entry::file("usr/include/stdio.h", bytes(13, 31 * KB)),
        Entry::dir("usr/share/man/man1"),
        Entry::file("usr/share/man/man1/gcc-12.1.gz", bytes(21, 270 * KB)),
    ];
    toolchain.extend(TOOLCHAIN_DEBS.iter().map(Deb::list));
    let mut image = Image::new(vec![
        Layer::new("/bin/sh -c #(nop) ADD file:6b2e0a1c1f0b3d1e in / ", debian).gzip(),
        Layer::new(
            "RUN /bin/sh -c set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates netbase tzdata; rm -rf /var/lib/apt/lists/* # buildkit",
            runtime_debs,
        )
        .gzip(),
        Layer::new(
            "RUN /bin/sh -c set -eux; savedAptMark=\"$(apt-mark showmanual)\"; apt-get install -y --no-install-recommends dpkg-dev gcc libssl-dev make wget xz-utils; ./configure --enable-optimizations --enable-shared; make -j \"$nproc\"; make install; apt-get purge -y --auto-remove; rm -rf /var/lib/apt/lists/* # buildkit",
            vec![
                Entry::dir("usr/local/bin"),
                Entry::exec("usr/local/bin/python3.11", elf("python3.11")),
                Entry::dir("usr/local/include/python3.11"),
                Entry::file("usr/local/include/python3.11/Python.h", bytes(14, 3 * KB)),
                Entry::file("usr/local/include/python3.11/object.h", bytes(15, 1_200 * KB)),
                Entry::dir("usr/local/lib/python3.11"),
                Entry::file("usr/local/lib/python3.11/os.py", bytes(17, 39 * KB)),
                Entry::dir("usr/local/lib/python3.11/__pycache__"),
                Entry::file("usr/local/lib/python3.11/__pycache__/os.cpython-311.pyc", bytes(18, 49 * KB)),
                Entry::dir(site),
            ],
        )
        .gzip(),
        Layer::new(
            "RUN /bin/sh -c set -eux; for src in idle3 pip3 pydoc3 python3 python3-config; do dst=\"$(echo \"$src\" | tr -d 3)\"; [ -s \"/usr/local/bin/$src\" ]; [ ! -e \"/usr/local/bin/$dst\" ]; ln -svT \"$src\" \"/usr/local/bin/$dst\"; done # buildkit",
            vec![
                Entry::symlink("usr/local/bin/python3", "python3.11"),
                Entry::symlink("usr/local/bin/python", "python3"),
            ],
        )
        .gzip(),
        Layer::new(
            "RUN /bin/sh -c apt-get update && apt-get install -y build-essential # buildkit",
            toolchain,
        )
        .gzip(),
        Layer::new(
            "RUN /bin/sh -c pip install numpy requests speedups # buildkit",
            vec![
                Entry::dir("root"),
                Entry::dir("root/.cache/pip/http-v2/a/b"),
                Entry::file("root/.cache/pip/http-v2/a/b/3f9c2e.body", bytes(22, 18 * MB)),
                Entry::file("root/.cache/pip/http-v2/a/b/9d01aa.body", bytes(23, 64 * KB)),
                Entry::dir(format!("{site}/numpy/core")),
                Entry::exec(format!("{site}/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"), elf("_multiarray_umath.cpython-311-x86_64-linux-gnu.so")),
                Entry::dir(format!("{site}/numpy/core/tests")),
                Entry::file(format!("{site}/numpy/core/tests/test_multiarray.py"), bytes(25, 380 * KB)),
                Entry::dir(format!("{site}/numpy.libs")),
                Entry::exec(format!("{site}/numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so"), bytes(26, 34 * MB)),
                Entry::dir(format!("{site}/numpy-1.26.4.dist-info")),
                Entry::file(format!("{site}/numpy-1.26.4.dist-info/METADATA"), b"Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n"),
                Entry::file(format!("{site}/numpy-1.26.4.dist-info/WHEEL"), b"Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux2014_x86_64\n"),
                Entry::file(format!("{site}/numpy-1.26.4.dist-info/INSTALLER"), b"pip\n"),
                Entry::file(
                    format!("{site}/numpy-1.26.4.dist-info/RECORD"),
                    "numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so,,\nnumpy/core/tests/test_multiarray.py,,\nnumpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so,,\nnumpy-1.26.4.dist-info/METADATA,,\nnumpy-1.26.4.dist-info/WHEEL,,\nnumpy-1.26.4.dist-info/RECORD,,\n",
                ),
                // A musllinux wheel fetched with `pip download --platform` on the wrong base.
                Entry::dir(format!("{site}/speedups")),
                Entry::exec(format!("{site}/speedups/_speedups.cpython-311-x86_64-linux-musl.so"), elf("_speedups.cpython-311-x86_64-linux-musl.so")),
                Entry::dir(format!("{site}/speedups-1.0.dist-info")),
                Entry::file(format!("{site}/speedups-1.0.dist-info/METADATA"), b"Metadata-Version: 2.1\nName: speedups\nVersion: 1.0\n"),
                Entry::file(format!("{site}/speedups-1.0.dist-info/WHEEL"), b"Wheel-Version: 1.0\nTag: cp311-cp311-musllinux_1_1_x86_64\n"),
                Entry::file(
                    format!("{site}/speedups-1.0.dist-info/RECORD"),
                    "speedups/_speedups.cpython-311-x86_64-linux-musl.so,,\nspeedups-1.0.dist-info/METADATA,,\nspeedups-1.0.dist-info/WHEEL,,\nspeedups-1.0.dist-info/RECORD,,\n",
                ),
                Entry::dir(format!("{site}/requests/__pycache__")),
                Entry::file(format!("{site}/requests/api.py"), bytes(27, 6 * KB)),
                Entry::file(format!("{site}/requests/__pycache__/api.cpython-311.pyc"), bytes(28, 7 * KB)),
            ],
        )
        .gzip(),
        Layer::new(
            "COPY . /app # buildkit",
            vec![
                Entry::dir("app"),
                Entry::file("app/main.py", bytes(29, 4 * KB)),
                Entry::dir("app/build"),
                Entry::file("app/build/extension.o", bytes(30, 9 * MB)),
                Entry::dir("app/dist"),
                Entry::file("app/dist/app-1.0-py3-none-any.whl", bytes(31, 420 * KB)),
                // The same library shipped again by the app.
                Entry::exec("app/vendor/libopenblas.so", bytes(26, 34 * MB)),
            ],
        )
        .gzip(),
        Layer::new(
            "RUN /bin/sh -c rm -rf /app/build && chmod -R g+w /app # buildkit",
            vec![
                Entry::dir("app"),
                Entry::whiteout("app/build"),
                Entry::file("app/main.py", bytes(29, 4 * KB)),
                Entry::file("app/dist/app-1.0-py3-none-any.whl", bytes(31, 420 * KB)),
            ],
        )
        .gzip(),
    ]);
    image.tag = Some("pydive-demo:latest".into());
    image.empty_steps = vec![
        (1, "CMD [\"bash\"]".into()),
        (
            1,
            "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                .into(),
        ),
        (1, "ENV LANG=C.UTF-8".into()),
        (2, "ENV PYTHON_VERSION=3.11.9".into()),
        (4, "CMD [\"python3\"]".into()),
        (4, "ENV PYTHONDONTWRITEBYTECODE=1".into()),
        (6, "WORKDIR /app".into()),
        (8, "CMD [\"python3\", \"/app/main.py\"]".into()),
    ];
    image
}
