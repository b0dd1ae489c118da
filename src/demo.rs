//! The demo image that `pydive demo` opens, declared with the fixture builder: a small Python
//! image made the way many real ones are, with every byte category, a pip cache, a compiler, a
//! deleted build directory, files stored twice by a `chmod`, and a musllinux extension in a
//! glibc image (real ELF files, built by `assets/elf/build.sh`). `cargo run --example
//! build_demo` writes it to `assets/demo.tar`, byte for byte the same every time.

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

/// The demo image as declared layers.
pub fn image() -> Image {
    let site = "usr/local/lib/python3.11/site-packages";
    let mut image = Image::new(vec![
        Layer::new(
            "/bin/sh -c #(nop) ADD file:6b2e0a1c1f0b3d1e in / ",
            vec![
                Entry::dir("etc"),
                Entry::file("etc/os-release", b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"),
                Entry::dir("usr"),
                Entry::dir("usr/bin"),
                Entry::exec("usr/bin/bash", bytes(1, 1_265 * KB)),
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
                Entry::file("var/lib/dpkg/status", bytes(4, 60 * KB)),
                Entry::dir("tmp"),
            ],
        )
        .gzip(),
        Layer::new(
            "RUN /bin/sh -c apt-get update && apt-get install -y python3 python3-pip python3-dev build-essential # buildkit",
            vec![
                Entry::dir("var/lib/apt"),
                Entry::dir("var/lib/apt/lists"),
                Entry::file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4", bytes(5, 3_100 * KB)),
                Entry::file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", bytes(6, 151 * KB)),
                Entry::dir("var/cache/apt/archives"),
                Entry::file("var/cache/apt/archives/python3.11_3.11.2-6_amd64.deb", bytes(7, 574 * KB)),
                Entry::file("var/lib/dpkg/status", bytes(4, 120 * KB)),
                Entry::dir("usr/lib/gcc/x86_64-linux-gnu/12"),
                Entry::exec("usr/lib/gcc/x86_64-linux-gnu/12/cc1", bytes(8, 33 * MB)),
                Entry::exec("usr/lib/gcc/x86_64-linux-gnu/12/lto1", bytes(9, 31 * MB)),
                Entry::exec("usr/bin/x86_64-linux-gnu-gcc-12", bytes(10, 1_030 * KB)),
                Entry::symlink("usr/bin/gcc", "gcc-12"),
                Entry::symlink("usr/bin/gcc-12", "x86_64-linux-gnu-gcc-12"),
                Entry::exec("usr/bin/x86_64-linux-gnu-ld.bfd", bytes(11, 1_760 * KB)),
                Entry::exec("usr/bin/make", bytes(12, 255 * KB)),
                Entry::dir("usr/include"),
                Entry::file("usr/include/stdio.h", bytes(13, 31 * KB)),
                Entry::dir("usr/include/python3.11"),
                Entry::file("usr/include/python3.11/Python.h", bytes(14, 3 * KB)),
                Entry::file("usr/include/python3.11/object.h", bytes(15, 1_200 * KB)),
                Entry::exec("usr/bin/python3.11", elf("python3.11")),
                Entry::symlink("usr/bin/python3", "python3.11"),
                Entry::dir("usr/lib/python3.11"),
                Entry::file("usr/lib/python3.11/os.py", bytes(17, 39 * KB)),
                Entry::dir("usr/lib/python3.11/__pycache__"),
                Entry::file("usr/lib/python3.11/__pycache__/os.cpython-311.pyc", bytes(18, 49 * KB)),
                Entry::file("usr/lib/x86_64-linux-gnu/libpython3.11.a", bytes(19, 11 * MB)),
                Entry::dir("usr/share/python-wheels"),
                Entry::file("usr/share/python-wheels/pip-23.0.1-py3-none-any.whl", bytes(20, 2_055 * KB)),
                Entry::dir("usr/share/man/man1"),
                Entry::file("usr/share/man/man1/gcc-12.1.gz", bytes(21, 270 * KB)),
            ],
        )
        .gzip(),
        Layer::new(
            "RUN /bin/sh -c pip install numpy requests # buildkit",
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
        (1, "ENV PYTHONDONTWRITEBYTECODE=1".into()),
        (3, "WORKDIR /app".into()),
        (5, "CMD [\"python3\", \"/app/main.py\"]".into()),
    ];
    image
}
