//! Will it load? The linkage audit on images whose ELF files need more than `cc` to build:
//! musl libraries and programs (musl-gcc, and its loader copied from this machine), a library
//! that needs a newer glibc (zig, for a chosen glibc version) and an aarch64 wheel (an aarch64
//! cross compiler), and real manylinux wheels from PyPI in an Alpine-like image.
//! Needs musl-tools, gcc-aarch64-linux-gnu, zig (PyPI's `ziglang`) and pip with PyPI.

mod common;

use std::process::Command;

use common::elf::{
    AARCH64, CC, EXTENSION, MAIN, MUSL, ZIG, compile, compile_in, host_file, host_glibc, toolchain,
};
use common::linkage::{SITE, compatibility, elf, extension, glibc_base, one, pip_install};
use common::services::need;
use common::{findings, json_for};
use pydive::fixture::{Entry, Image, Layer};
use serde_json::Value;

/// An Alpine-like base: this machine's musl as the loader, a musl-built Python.
fn musl_base() -> Layer {
    Layer::new(
        "/bin/sh -c #(nop) ADD file:alpine-rootfs in / ",
        vec![
            Entry::dir("etc"),
            Entry::file(
                "etc/os-release",
                "PRETTY_NAME=\"Alpine Linux v3.19\"\nID=alpine\n",
            ),
            Entry::file("etc/alpine-release", "3.19.1\n"),
            Entry::dir("lib"),
            Entry::exec(
                "lib/ld-musl-x86_64.so.1",
                host_file("/lib/ld-musl-x86_64.so.1"),
            ),
            Entry::symlink("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"),
            Entry::dir("usr/local/bin"),
            Entry::exec("usr/local/bin/python3.11", compile(MUSL, MAIN, &[])),
        ],
    )
}

#[test]
fn a_musllinux_extension_in_a_glibc_image() {
    let Some(()) = need("musl-gcc", toolchain(MUSL)) else {
        return;
    };
    // musllinux wheels need `libc.musl-x86_64.so.1`: link against a musl libc of that SONAME.
    let dir = tempfile::tempdir().unwrap();
    compile_in(
        dir.path(),
        MUSL,
        "void musl_stub(void) {}\n",
        &[
            "-shared",
            "-fPIC",
            "-nostdlib",
            "-Wl,-soname,libc.musl-x86_64.so.1",
        ],
        "libc.musl-x86_64.so.1",
    );
    let ext = compile_in(
        dir.path(),
        MUSL,
        EXTENSION,
        &["-shared", "-fPIC", "-nostdlib", "./libc.musl-x86_64.so.1"],
        "ext.so",
    );
    let image = Image::new(vec![
        glibc_base(),
        pip_install(
            "RUN pip install --platform musllinux_1_1_x86_64 --only-binary=:all: --target /usr/local/lib/python3.11/site-packages muslthing",
            "muslthing",
            "2.0",
            &["cp311-cp311-musllinux_1_1_x86_64"],
            vec![(
                "muslthing/_core.cpython-311-x86_64-linux-musl.so".into(),
                ext,
            )],
        ),
    ]);
    let report = json_for(&image);
    let f = one(&report, "musl-in-glibc-image");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["layer"], 1);
    assert!(
        f["created_by"]
            .as_str()
            .unwrap()
            .contains("musllinux_1_1_x86_64")
    );
    assert_eq!(
        f["paths"],
        serde_json::json!([format!(
            "/{SITE}/muslthing/_core.cpython-311-x86_64-linux-musl.so"
        )])
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("libc.musl-x86_64.so.1"),
        "{f:#}"
    );
    assert!(
        f["fix"].as_str().unwrap().contains("muslthing 2.0"),
        "{f:#}"
    );
    assert_eq!(
        elf(&report, f["paths"][0].as_str().unwrap())["libc"],
        "musl"
    );
    // The same wheel's tags and ABI tag are flagged by their own rules; the missing musl
    // libc is not reported a second time as an unresolved library.
    assert_eq!(findings(&report, "wheel-tag-mismatch").len(), 1);
    assert_eq!(findings(&report, "abi-mismatch").len(), 1);
    assert!(findings(&report, "unresolved-library").is_empty());
}

#[test]
fn a_library_that_needs_a_newer_glibc() {
    let Some(()) = need("zig (python3 -m ziglang)", toolchain(ZIG)) else {
        return;
    };
    let want = "2.38";
    let ext = compile(
        ZIG,
        "#include <string.h>\nsize_t copy(char *d, const char *s) { return strlcpy(d, s, 8); }\n",
        &[
            "-target",
            &format!("x86_64-linux-gnu.{want}"),
            "-shared",
            "-fPIC",
            "-O2",
        ],
    );
    let image = Image::new(vec![
        glibc_base(),
        pip_install(
            "RUN pip install newthing",
            "newthing",
            "3.0",
            &["cp311-cp311-manylinux_2_38_x86_64"],
            vec![("newthing/_x.cpython-311-x86_64-linux-gnu.so".into(), ext)],
        ),
    ]);
    let report = json_for(&image);
    let f = one(&report, "glibc-too-new");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("GLIBC_{want}"))
            && message.contains("strlcpy")
            && message.contains(&format!("glibc {}", host_glibc())),
        "{message}"
    );
    assert!(f["fix"].as_str().unwrap().contains("newthing 3.0"));
    assert_eq!(
        elf(
            &report,
            &format!("/{SITE}/newthing/_x.cpython-311-x86_64-linux-gnu.so")
        )["glibc_floor"],
        want
    );
    let tag = one(&report, "wheel-tag-mismatch");
    assert!(
        tag["message"]
            .as_str()
            .unwrap()
            .contains("manylinux_2_38_x86_64")
    );
}

#[test]
fn an_aarch64_wheel_in_an_amd64_image() {
    let Some(()) = need("aarch64-linux-gnu-gcc", toolchain(AARCH64)) else {
        return;
    };
    let arm = extension(AARCH64);
    let mut install = pip_install(
        "RUN pip install --platform manylinux2014_aarch64 armthing",
        "armthing",
        "1.0",
        &["cp311-cp311-manylinux2014_aarch64"],
        vec![(
            "armthing/_a.cpython-311-aarch64-linux-gnu.so".into(),
            arm.clone(),
        )],
    );
    // A cross toolchain's sysroot is meant to hold another architecture's files.
    install
        .entries
        .push(Entry::exec("usr/aarch64-linux-gnu/lib/libcross.so", arm));
    let report = json_for(&Image::new(vec![glibc_base(), install]));
    let f = one(&report, "arch-mismatch");
    assert_eq!(
        f["paths"],
        serde_json::json!([format!(
            "/{SITE}/armthing/_a.cpython-311-aarch64-linux-gnu.so"
        )])
    );
    assert!(
        f["message"].as_str().unwrap().contains("aarch64")
            && f["message"].as_str().unwrap().contains("linux/amd64")
    );
    assert!(f["fix"].as_str().unwrap().contains("armthing 1.0"));
    assert_eq!(
        elf(&report, "/usr/aarch64-linux-gnu/lib/libcross.so")["machine"],
        "aarch64"
    );
    // Its wheel tag is the other architecture's too.
    assert_eq!(findings(&report, "wheel-tag-mismatch").len(), 1);
    assert!(findings(&report, "unresolved-library").is_empty());
}

#[test]
fn a_glibc_wheel_in_a_musl_image() {
    let Some(()) = need("musl-gcc", toolchain(MUSL)) else {
        return;
    };
    let image = Image::new(vec![
        musl_base(),
        pip_install(
            "RUN pip install gnuthing",
            "gnuthing",
            "5.0",
            &["cp311-cp311-manylinux_2_17_x86_64"],
            vec![(
                "gnuthing/_g.cpython-311-x86_64-linux-gnu.so".into(),
                extension(CC),
            )],
        ),
    ]);
    let report = json_for(&image);
    assert_eq!(report["libc"]["family"], "musl");
    // It needs only `strlen` from libc.so.6, which musl answers and defines: musl's loader
    // loads it (issue 16), so it is no glibc-in-musl-image; the musl Python still will not
    // import a `-linux-gnu` extension, and pip would not have chosen the wheel.
    let path = format!("/{SITE}/gnuthing/_g.cpython-311-x86_64-linux-gnu.so");
    assert_eq!(elf(&report, &path)["unresolved"], serde_json::json!([]));
    assert_eq!(
        elf(&report, &path)["resolved"]["libc.so.6"],
        "/lib/ld-musl-x86_64.so.1"
    );
    assert!(findings(&report, "glibc-in-musl-image").is_empty());
    let f = one(&report, "abi-mismatch");
    assert!(f["fix"].as_str().unwrap().contains("gnuthing 5.0"), "{f:#}");
    assert_eq!(findings(&report, "wheel-tag-mismatch").len(), 1);
}

/// What the musl loader says of itself when run: "musl libc (x86_64)\nVersion 1.2.3".
fn host_musl() -> String {
    let out = Command::new("/lib/ld-musl-x86_64.so.1").output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("Version "))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn a_clean_musl_image_has_no_compatibility_finding() {
    let Some(()) = need("musl-gcc", toolchain(MUSL)) else {
        return;
    };
    let image = Image::new(vec![
        musl_base(),
        pip_install(
            "RUN pip install alpinething",
            "alpinething",
            "1.0",
            &["cp311-cp311-musllinux_1_1_x86_64"],
            vec![(
                "alpinething/_a.cpython-311-x86_64-linux-musl.so".into(),
                extension(MUSL),
            )],
        ),
    ]);
    let report = json_for(&image);
    assert_eq!(
        compatibility(&report),
        Vec::<&Value>::new(),
        "{:#}",
        report["findings"]
    );
    assert_eq!(report["libc"]["family"], "musl");
    assert_eq!(report["libc"]["version"], host_musl());
    assert_eq!(report["python"]["interpreters"][0]["libc"], "musl");
    let ext = elf(
        &report,
        &format!("/{SITE}/alpinething/_a.cpython-311-x86_64-linux-musl.so"),
    );
    assert_eq!(
        ext["libc"], "musl",
        "Debian's musl-gcc links plain libc.so, and the image has a musl loader"
    );
}

#[test]
fn a_musl_program_with_its_own_loader_in_a_glibc_image_is_fine() {
    let Some(()) = need("musl-gcc", toolchain(MUSL)) else {
        return;
    };
    // Debian's musl package: the musl loader beside glibc, and a program built with musl-gcc.
    // It runs as a process of its own, so it loads; a musl *library* would not.
    let mut base = glibc_base();
    base.entries.extend([
        Entry::dir("usr/lib/x86_64-linux-musl"),
        Entry::exec(
            "usr/lib/x86_64-linux-musl/libc.so",
            host_file("/lib/ld-musl-x86_64.so.1"),
        ),
        Entry::symlink("usr/lib/ld-musl-x86_64.so.1", "x86_64-linux-musl/libc.so"),
    ]);
    let image = Image::new(vec![
        base,
        Layer::new(
            "COPY tool /usr/local/bin/",
            vec![Entry::exec(
                "usr/local/bin/musl-tool",
                compile(MUSL, MAIN, &[]),
            )],
        ),
    ]);
    let report = json_for(&image);
    assert_eq!(
        compatibility(&report),
        Vec::<&Value>::new(),
        "{:#}",
        report["findings"]
    );
    let tool = elf(&report, "/usr/local/bin/musl-tool");
    assert_eq!(tool["libc"], "musl");
    assert_eq!(tool["resolved"]["libc.so"], "/lib/ld-musl-x86_64.so.1");
    assert_eq!(report["libc"]["family"], "glibc");
}

/// Issue 9 item 2: musllinux Rust wheels (pydantic-core, rpds-py) need plain `libc.so`, no
/// `libc.musl-*` name and no loader. In a glibc image that is musl-in-glibc-image, quoting
/// glibc's loader, not an unresolved library to install.
#[test]
fn a_musl_extension_needing_plain_libc_so_in_a_glibc_image() {
    let Some(()) = need("musl-gcc", toolchain(MUSL)) else {
        return;
    };
    let ext = extension(MUSL);
    let image = Image::new(vec![
        glibc_base(),
        pip_install(
            "RUN pip install --platform musllinux_1_2_x86_64 --only-binary=:all: rustthing",
            "rustthing",
            "2.0",
            &["cp311-cp311-musllinux_1_2_x86_64"],
            vec![(
                "rustthing/_core.cpython-311-x86_64-linux-musl.so".into(),
                ext,
            )],
        ),
    ]);
    let report = json_for(&image);
    let path = format!("/{SITE}/rustthing/_core.cpython-311-x86_64-linux-musl.so");
    assert_eq!(
        elf(&report, &path)["needed"],
        serde_json::json!(["libc.so"])
    );
    assert_eq!(elf(&report, &path)["libc"], "musl");
    let f = one(&report, "musl-in-glibc-image");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("`libc.so: cannot open shared object file"),
        "{f:#}"
    );
    assert!(findings(&report, "unresolved-library").is_empty());
}

/// What musl's loader says when it loads a file for real (`ld-musl --list FILE`): whether it
/// loaded, the symbols it could not relocate and the libraries it could not load.
fn musl_verdict(file: &std::path::Path) -> (bool, Vec<String>, Vec<String>) {
    let out = Command::new("/lib/ld-musl-x86_64.so.1")
        .arg("--list")
        .arg(file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut symbols = Vec::new();
    let mut libraries = Vec::new();
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("Error relocating ") {
            // "FILE: SYMBOL: symbol not found"
            let parts: Vec<&str> = rest.rsplitn(3, ": ").collect();
            if parts.len() == 3 && parts[0] == "symbol not found" {
                symbols.push(parts[1].to_string());
            }
        } else if let Some(rest) = line.strip_prefix("Error loading shared library ") {
            libraries.push(rest.split(':').next().unwrap().to_string());
        }
    }
    symbols.sort();
    (out.status.success(), symbols, libraries)
}

fn strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// Issue 16: an Alpine-like image (this machine's musl, from Debian's `musl` package, as the
/// loader and libc) with glibc-built and musl-built files, each judged as musl's loader judges
/// it when it loads the same file here: a glibc-only symbol, a missing `libgcc_s.so.1`, a
/// glibc abi3 extension needing only what musl has, and a DT_RELR program under a musl that
/// predates DT_RELR.
#[test]
fn an_alpine_like_image_is_judged_as_musls_loader_judges_it() {
    let Some(()) = need("musl-gcc", toolchain(MUSL)) else {
        return;
    };
    let Some(()) = need("musl's loader", runs_file("/lib/ld-musl-x86_64.so.1")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let shared = &["-shared", "-fPIC"][..];
    let build = |compiler: &[&str], source: &str, args: &[&str], name: &str| {
        (
            name.to_string(),
            compile_in(dir.path(), compiler, source, args, name),
        )
    };
    let files = [
        build(
            CC,
            "#include <string.h>\nextern int __isnan(double);\nextern char *__strdup(const char *);\nint f(double x) { return __isnan(x) + (int)strlen(__strdup(\"a\")); }\n",
            shared,
            "glibc_only.so",
        ),
        build(
            CC,
            "int g(void) { return 1; }\n",
            &["-shared", "-fPIC", "-lgcc_s"],
            "gcc_s.so",
        ),
        build(CC, EXTENSION, shared, "plain.abi3.so"),
        build(MUSL, EXTENSION, shared, "musl_plain.so"),
        build(
            MUSL,
            "#include <stdio.h>\nstatic const char *names[] = {\"a\", \"b\", \"c\"};\nint main(void) { for (int i = 0; i < 3; i++) puts(names[i]); return 0; }\n",
            &["-fPIE", "-pie", "-Wl,-z,pack-relative-relocs"],
            "relr_prog",
        ),
    ];
    let app = "app/lib";
    let image = Image::new(vec![
        musl_base(),
        Layer::new(
            "COPY lib /app/lib",
            files
                .iter()
                .map(|(name, bytes)| Entry::exec(format!("{app}/{name}"), bytes.clone()))
                .collect(),
        ),
    ]);
    let report = json_for(&image);
    assert_eq!(report["libc"]["version"], host_musl());

    for (name, _) in &files {
        let facts = elf(&report, &format!("/{app}/{name}"));
        let (loads, symbols, libraries) = musl_verdict(&dir.path().join(name));
        assert_eq!(
            strings(&facts["missing_symbols"]),
            symbols,
            "{name}: {facts:#}"
        );
        assert_eq!(
            strings(&facts["unresolved"]),
            libraries,
            "{name}: {facts:#}"
        );
        let judged: Vec<&Value> = findings(&report, "glibc-in-musl-image")
            .into_iter()
            .filter(|f| {
                f["paths"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| *p == format!("/{app}/{name}"))
            })
            .collect();
        if name == "relr_prog" {
            continue; // --list applies no relocation: it is run below
        }
        assert_eq!(judged.is_empty(), loads, "{name}: {judged:#?}");
    }
    let isnan = findings(&report, "glibc-in-musl-image")
        .into_iter()
        .find(|f| f["paths"][0] == format!("/{app}/glibc_only.so"))
        .unwrap();
    assert!(
        isnan["message"].as_str().unwrap().contains(&format!(
            "`Error relocating /{app}/glibc_only.so: __isnan: symbol not found`"
        )),
        "{isnan:#}"
    );
    let gcc = findings(&report, "glibc-in-musl-image")
        .into_iter()
        .find(|f| f["paths"][0] == format!("/{app}/gcc_s.so"))
        .unwrap();
    assert!(
        gcc["message"]
            .as_str()
            .unwrap()
            .contains("`Error loading shared library libgcc_s.so.1: No such file or directory"),
        "{gcc:#}"
    );

    // The DT_RELR program, run for real under this machine's musl: it crashes when musl
    // predates DT_RELR (1.2.4), and pydive says so exactly then.
    let relr = elf(&report, &format!("/{app}/relr_prog"));
    assert_eq!(relr["uses_relr"], true);
    let ran = Command::new(dir.path().join("relr_prog")).output().unwrap();
    let old = Version(host_musl()) < Version("1.2.4".into());
    assert_eq!(ran.status.success(), !old, "{ran:?}");
    let found = findings(&report, "relr-unsupported");
    if old {
        assert_eq!(found.len(), 1, "{found:#?}");
        let message = found[0]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("musl {}", host_musl())),
            "{message}"
        );
        assert_eq!(
            found[0]["paths"],
            serde_json::json!([format!("/{app}/relr_prog")])
        );
        assert!(found[0]["fix"].as_str().unwrap().contains("musllinux_1_1"));
    } else {
        assert!(found.is_empty(), "{found:#?}");
    }
}

/// Dotted versions compared number by number.
#[derive(PartialEq, Eq)]
struct Version(String);

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        let parts =
            |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
        Some(parts(&self.0).cmp(&parts(&other.0)))
    }
}

fn runs_file(path: &str) -> Result<(), String> {
    std::path::Path::new(path)
        .exists()
        .then_some(())
        .ok_or_else(|| format!("{path} is not on this machine (Debian's musl package)"))
}

/// Issue 16 on real wheels: manylinux wheels from PyPI (PyYAML, whose `_yaml` calls glibc's
/// `__strdup`; MarkupSafe and msgpack, which need only what musl has) in the Alpine-like image.
/// Each extension's missing symbols are those musl's loader names when it loads the same file
/// here, less the `Py*` API the interpreter provides. Downloaded once with pip, cached under
/// `target/test-downloads/wheels-linkage`.
#[test]
fn real_manylinux_wheels_in_an_alpine_like_image_match_musls_loader() {
    let Some((unpacked, names)) = wheel_libraries(
        "wheels-linkage",
        &["manylinux2014_x86_64"],
        &["PyYAML==6.0.2", "MarkupSafe==3.0.2", "msgpack==1.1.0"],
    ) else {
        return;
    };
    assert!(
        names.iter().any(|n| n.starts_with("yaml/_yaml")),
        "{names:?}"
    );
    let report = json_for(&Image::new(vec![
        musl_base(),
        site_packages("COPY site-packages", &unpacked, &names),
    ]));
    let failing = judged_as_musl_judges(&report, &unpacked, &names);
    assert!(
        failing.iter().any(|n| n.contains("yaml/_yaml")),
        "{failing:?}"
    );
    // What fails is reported, quoting musl; what loads is not.
    let mut reported: Vec<String> = findings(&report, "glibc-in-musl-image")
        .iter()
        .flat_map(|f| paths(f))
        .collect();
    reported.sort();
    assert_eq!(reported, failing);
}

/// Issue 16, the other half: real musllinux wheels from PyPI, as pip would choose them for an
/// Alpine image, in the Alpine-like image. Every extension module and vendored library is judged
/// as musl's loader judges the same file here (`ld-musl --list`), and error findings name
/// exactly the files musl refuses (none: all of these load). Cached under
/// `target/test-downloads/wheels-musllinux`.
#[test]
fn real_musllinux_wheels_in_an_alpine_like_image_match_musls_loader() {
    let Some((unpacked, names)) = wheel_libraries(
        "wheels-musllinux",
        &["musllinux_1_1_x86_64", "musllinux_1_2_x86_64"],
        &[
            "PyYAML==6.0.2",
            "MarkupSafe==3.0.2",
            "msgpack==1.1.0",
            "orjson==3.10.7",
            "charset-normalizer==3.4.0",
        ],
    ) else {
        return;
    };
    assert!(names.len() >= 5, "{names:?}");
    let report = json_for(&Image::new(vec![
        musl_base(),
        site_packages(
            "RUN pip install PyYAML MarkupSafe msgpack orjson charset-normalizer",
            &unpacked,
            &names,
        ),
    ]));
    for n in &names {
        // "none" for a module that needs no library at all (mypyc-built charset_normalizer).
        let facts = elf(&report, &format!("/{SITE}/{n}"));
        assert_ne!(facts["libc"], "glibc", "{n}: {facts:#}");
    }
    let failing = judged_as_musl_judges(&report, &unpacked, &names);
    let mut reported: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .flat_map(paths)
        .collect();
    reported.sort();
    reported.dedup();
    assert_eq!(reported, failing, "{:#}", report["findings"]);
}

/// The shared objects of real wheels from PyPI for the Python 3.11 of `musl_base`: downloaded
/// once with pip into `target/test-downloads/CACHE` and unpacked there; `None` (skipped, or a
/// failure under CI) without musl's toolchain and loader or pip.
fn wheel_libraries(
    cache: &str,
    platforms: &[&str],
    specs: &[&str],
) -> Option<(std::path::PathBuf, Vec<String>)> {
    need("musl-gcc", toolchain(MUSL))?;
    need("musl's loader", runs_file("/lib/ld-musl-x86_64.so.1"))?;
    need(
        "pip",
        common::services::runs(&["python3", "-m", "pip", "--version"]),
    )?;
    Some(common::elf::wheel_shared_objects(cache, platforms, specs))
}

/// A layer that installs the unpacked files into site-packages.
fn site_packages(step: &str, unpacked: &std::path::Path, names: &[String]) -> Layer {
    Layer::new(
        step,
        names
            .iter()
            .map(|n| {
                Entry::exec(
                    format!("{SITE}/{n}"),
                    std::fs::read(unpacked.join(n)).unwrap(),
                )
            })
            .collect(),
    )
}

/// Checks each file's missing symbols and libraries against what musl's loader says when it
/// loads the same file here (less the `Py*` API the interpreter provides), and returns the
/// image paths of the files musl refuses, sorted.
fn judged_as_musl_judges(
    report: &Value,
    unpacked: &std::path::Path,
    names: &[String],
) -> Vec<String> {
    let mut failing = Vec::new();
    for n in names {
        let facts = elf(report, &format!("/{SITE}/{n}"));
        let (_, symbols, libraries) = musl_verdict(&unpacked.join(n));
        let from_python = |s: &String| s.starts_with("Py") || s.starts_with("_Py");
        let symbols: Vec<String> = symbols.into_iter().filter(|s| !from_python(s)).collect();
        assert_eq!(
            strings(&facts["missing_symbols"]),
            symbols,
            "{n}: {facts:#}"
        );
        assert_eq!(strings(&facts["unresolved"]), libraries, "{n}: {facts:#}");
        if !symbols.is_empty() || !libraries.is_empty() {
            failing.push(format!("/{SITE}/{n}"));
        }
    }
    failing.sort();
    failing
}

/// A finding's paths.
fn paths(finding: &Value) -> Vec<String> {
    finding["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}
