//! OS packages from databases this machine cannot download real copies of: apk's
//! `lib/apk/db/installed` (Alpine's repositories are out of reach here) and distroless's
//! `var/lib/dpkg/status.d/`. Both are written by these tests in their real formats from data
//! the tests generate, with each package's files in the layers; real Debian packages are in
//! `ext_debian_packages.rs`.

mod common;

use common::{category, json_for};
use pydive::fixture::{Entry, Image, Layer};
use serde_json::Value;

/// A package for the apk database: name, version, its files and their sizes, dependencies,
/// what it provides.
struct Apk {
    name: &'static str,
    version: &'static str,
    files: Vec<(&'static str, u64)>,
    depends: &'static str,
    provides: &'static str,
}

impl Apk {
    fn bytes(&self) -> u64 {
        self.files.iter().map(|(_, n)| n).sum()
    }

    /// Its stanza as apk writes it: `F:` for each directory, `R:` for each file in it, with
    /// the checksum, owner and size fields apk records.
    fn stanza(&self) -> String {
        let mut s = format!(
            "C:Q1{:027}=\nP:{}\nV:{}\nA:x86_64\nS:{}\nI:{}\nT:{} (generated for a test)\n\
             U:https://example.org/\nL:MIT\no:{}\nm:Test <test@example.org>\nt:1700000000\n",
            self.name.len(),
            self.name,
            self.version,
            self.bytes() / 2,
            self.bytes(),
            self.name,
            self.name,
        );
        if !self.depends.is_empty() {
            s += &format!("D:{}\n", self.depends);
        }
        if !self.provides.is_empty() {
            s += &format!("p:{}\n", self.provides);
        }
        let mut dir = "";
        for (path, _) in &self.files {
            let (d, f) = path.rsplit_once('/').unwrap();
            if d != dir {
                s += &format!("F:{d}\n");
                dir = d;
            }
            s += &format!("R:{f}\na:0:0:755\nZ:Q1{:027}=\n", f.len());
        }
        s
    }

    fn entries(&self, seed: u64) -> Vec<Entry> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, (path, len))| Entry::file_len(path, *len, seed * 100 + i as u64))
            .collect()
    }
}

fn installed(packages: &[&Apk]) -> String {
    packages.iter().map(|p| p.stanza() + "\n").collect()
}

fn alpine() -> (Vec<Apk>, Vec<Apk>) {
    let base = vec![
        Apk {
            name: "musl",
            version: "1.2.4-r2",
            files: vec![("lib/ld-musl-x86_64.so.1", 640_000)],
            depends: "",
            provides: "so:libc.musl-x86_64.so.1=1",
        },
        Apk {
            name: "busybox",
            version: "1.36.1-r15",
            files: vec![("bin/busybox", 820_000), ("etc/securetty", 400)],
            depends: "so:libc.musl-x86_64.so.1",
            provides: "/bin/sh cmd:busybox=1.36.1-r15",
        },
        Apk {
            name: "libstdc++",
            version: "13.2.1_git20231014-r0",
            files: vec![("usr/lib/libstdc++.so.6.0.32", 2_400_000)],
            depends: "so:libc.musl-x86_64.so.1 so:libgcc_s.so.1",
            provides: "so:libstdc++.so.6=6.0.32",
        },
        Apk {
            name: "libgcc",
            version: "13.2.1_git20231014-r0",
            files: vec![("usr/lib/libgcc_s.so.1", 90_000)],
            depends: "so:libc.musl-x86_64.so.1",
            provides: "so:libgcc_s.so.1=1",
        },
    ];
    let build = vec![
        Apk {
            name: "gcc",
            version: "13.2.1_git20231014-r0",
            files: vec![
                ("usr/bin/gcc", 900_000),
                (
                    "usr/libexec/gcc/x86_64-alpine-linux-musl/13.2.1/cc1",
                    30_000_000,
                ),
                ("usr/share/locale/de/LC_MESSAGES/gcc.mo", 1_200_000),
            ],
            depends: "binutils isl26 mpc1 so:libc.musl-x86_64.so.1",
            provides: "",
        },
        Apk {
            name: "binutils",
            version: "2.41-r0",
            files: vec![("usr/bin/ld.bfd", 1_700_000)],
            depends: "so:libc.musl-x86_64.so.1",
            provides: "",
        },
        Apk {
            name: "isl26",
            version: "0.26-r1",
            files: vec![("usr/lib/libisl.so.23.3.0", 2_300_000)],
            depends: "so:libc.musl-x86_64.so.1",
            provides: "so:libisl.so.23=23.3.0",
        },
        Apk {
            name: "mpc1",
            version: "1.3.1-r1",
            files: vec![("usr/lib/libmpc.so.3.3.1", 110_000)],
            depends: "so:libc.musl-x86_64.so.1",
            provides: "so:libmpc.so.3=3.3.1",
        },
        Apk {
            name: "musl-dev",
            version: "1.2.4-r2",
            files: vec![
                ("usr/include/stdio.h", 7_000),
                ("usr/lib/libc.a", 2_600_000),
            ],
            depends: "musl",
            provides: "",
        },
        Apk {
            name: ".build-deps",
            version: "20231114.221320",
            files: vec![],
            depends: "gcc musl-dev",
            provides: "",
        },
    ];
    (base, build)
}

fn apk_image(base: &[Apk], build: &[Apk], remove_build: bool) -> Image {
    let before: Vec<&Apk> = base.iter().collect();
    let after: Vec<&Apk> = base.iter().chain(build).collect();
    let mut base_layer: Vec<Entry> = vec![
        Entry::dir("etc"),
        Entry::file(
            "etc/os-release",
            "ID=alpine\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
        ),
        Entry::dir("etc/apk"),
        Entry::file("etc/apk/world", "busybox\nlibstdc++\n"),
        Entry::dir("lib/apk/db"),
        Entry::file("lib/apk/db/installed", installed(&before)),
    ];
    for (i, p) in base.iter().enumerate() {
        base_layer.extend(p.entries(i as u64));
    }
    let mut build_layer = vec![
        Entry::file("etc/apk/world", "busybox\nlibstdc++\n.build-deps\n"),
        Entry::file("lib/apk/db/installed", installed(&after)),
    ];
    for (i, p) in build.iter().enumerate() {
        build_layer.extend(p.entries(50 + i as u64));
    }
    let mut layers = vec![
        Layer::new("/bin/sh -c #(nop) ADD file:alpine in / ", base_layer),
        Layer::new(
            "RUN apk add --virtual .build-deps gcc musl-dev",
            build_layer,
        ),
    ];
    if remove_build {
        let mut entries = vec![
            Entry::file("etc/apk/world", "busybox\nlibstdc++\n"),
            Entry::file("lib/apk/db/installed", installed(&before)),
        ];
        for p in build {
            entries.extend(p.files.iter().map(|(path, _)| Entry::whiteout(path)));
        }
        layers.push(Layer::new("RUN apk del .build-deps", entries));
    }
    Image::new(layers)
}

fn package<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["os_packages"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no package {name}"))
}

#[test]
fn apk_packages_with_their_files_layers_and_toolchain_flags() {
    let (base, build) = alpine();
    let report = json_for(&apk_image(&base, &build, false));
    assert_eq!(report["os_packages"]["manager"], "apk");
    assert_eq!(
        report["os_packages"]["packages"].as_array().unwrap().len(),
        base.len() + build.len()
    );
    for (p, layer) in base
        .iter()
        .map(|p| (p, 0))
        .chain(build.iter().map(|p| (p, 1)))
    {
        let got = package(&report, p.name);
        assert_eq!(got["version"], p.version);
        assert_eq!(got["architecture"], "x86_64");
        assert_eq!(got["bytes"], p.bytes(), "{}", p.name);
        assert_eq!(got["files"], p.files.len() as u64, "{}", p.name);
        assert_eq!(got["installed_size_bytes"], p.bytes(), "apk's I: is bytes");
        assert_eq!(got["layer"], layer, "{}", p.name);
        assert_eq!(got["source"], p.name);
    }
    let marked = |name: &str| package(&report, name)["toolchain"] == true;
    for name in ["gcc", "binutils", "musl-dev", "isl26", "mpc1"] {
        assert!(marked(name), "{name}");
    }
    for name in ["musl", "busybox", "libstdc++", "libgcc"] {
        assert!(!marked(name), "{name}");
    }
    // gcc's translations are compilers by its package; musl-dev's headers and static libc
    // are compilers too, besides their own categories.
    let toolchain_bytes: u64 = build.iter().map(Apk::bytes).sum();
    assert_eq!(category(&report, "compilers").0, toolchain_bytes);
    assert_eq!(category(&report, "headers"), (7_000, 1));
}

#[test]
fn a_removed_toolchain_still_counts_where_it_was_added() {
    let (base, build) = alpine();
    let report = json_for(&apk_image(&base, &build, true));
    assert_eq!(category(&report, "compilers"), (0, 0));
    let toolchain_bytes: u64 = build.iter().map(Apk::bytes).sum();
    assert_eq!(
        report["image"]["layers"][1]["categories"]["compilers"]["bytes"],
        toolchain_bytes
    );
    assert_eq!(report["waste"]["deleted_bytes"], toolchain_bytes);
    assert_eq!(
        report["os_packages"]["packages"].as_array().unwrap().len(),
        base.len()
    );
    // The packages that stayed keep the layer that installed them.
    assert_eq!(package(&report, "busybox")["layer"], 0);
}

/// Distroless images keep one status file per package in `status.d/`, with the package's
/// files in `<name>.md5sums` and no `info/` directory.
#[test]
fn distroless_status_d() {
    let control = |name: &str, version: &str, kib: u64| {
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: amd64\nMaintainer: Test\n\
             Installed-Size: {kib}\nPriority: optional\nSection: libs\nDescription: {name}\n"
        )
    };
    let image = Image::new(vec![
        Layer::new(
            "bazel build //base",
            vec![
                Entry::dir("var/lib/dpkg/status.d"),
                Entry::file(
                    "var/lib/dpkg/status.d/libc6",
                    control("libc6", "2.36-9+deb12u4", 13),
                ),
                Entry::file(
                    "var/lib/dpkg/status.d/libc6.md5sums",
                    "0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n\
                     0123456789abcdef0123456789abcdef  usr/share/doc/libc6/copyright\n",
                ),
                Entry::dir("lib/x86_64-linux-gnu"),
                Entry::file_len("lib/x86_64-linux-gnu/libc.so.6", 12_000, 1),
                Entry::file_len("usr/share/doc/libc6/copyright", 900, 2),
            ],
        ),
        Layer::new(
            "bazel build //python",
            vec![
                Entry::file(
                    "var/lib/dpkg/status.d/libssl3",
                    control("libssl3", "3.0.15-1~deb12u1", 6),
                ),
                Entry::file(
                    "var/lib/dpkg/status.d/libssl3.md5sums",
                    "0123456789abcdef0123456789abcdef  usr/lib/x86_64-linux-gnu/libssl.so.3\n",
                ),
                Entry::file_len("usr/lib/x86_64-linux-gnu/libssl.so.3", 5_000, 3),
            ],
        ),
    ]);
    let report = json_for(&image);
    assert_eq!(report["os_packages"]["manager"], "dpkg");
    let libc = package(&report, "libc6");
    assert_eq!(
        (libc["bytes"].as_u64(), libc["files"].as_u64()),
        (Some(12_900), Some(2))
    );
    assert_eq!(libc["installed_size_bytes"], 13 * 1024);
    assert_eq!(libc["layer"], 0);
    let ssl = package(&report, "libssl3");
    assert_eq!(
        (ssl["bytes"].as_u64(), ssl["layer"].as_u64()),
        (Some(5_000), Some(1))
    );
}

#[test]
fn an_image_without_a_package_database_lists_none() {
    let image = Image::new(vec![Layer::new(
        "COPY app /app",
        vec![Entry::file("app/main.py", "print('hi')\n")],
    )]);
    let report = json_for(&image);
    assert_eq!(report["os_packages"]["manager"], Value::Null);
    assert_eq!(report["os_packages"]["packages"], serde_json::json!([]));
}
