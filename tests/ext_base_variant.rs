//! Full, slim or Alpine: the base image's layers and flavour, and the `base-variant` and
//! `built-from-source` advice, on images built from real content. Debian packages come from
//! `apt-get download` (cached under `target/test-downloads/debs`) and are unpacked into the
//! layers with the dpkg database they make; the slim image's extension is a real pip build of
//! a local sdist (a `linux_x86_64` wheel); the Alpine image has a real musllinux wheel that pip
//! installs for musllinux, this machine's musl loader, and an extension compiled by musl-gcc.
//! Alpine's package repositories are out of reach here, so its apk database and the gcc
//! packages in it are written by the test in apk's format, with generated file contents.
//! Which packages slim would have is checked against apt itself (`apt-get -s` on an empty
//! system).
//!
//! Needs apt-get with the package lists (`apt-get update`), dpkg-deb, pip with setuptools
//! (and Python's headers) to build the sdist and fetch the musllinux wheel, and musl-gcc.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::debian::{Deb, apt_plan, debs, install_layer, rootfs_layer};
use common::elf::{CC, MAIN, MUSL, compile_in};
use common::services::need;
use common::{findings, json_for};
use pydive::fixture::{Entry, Image, Layer};
use serde_json::Value;

/// The packages of a minimal Debian root filesystem, with the libraries the official slim
/// Python images keep for the interpreter (zlib, OpenSSL).
const MINBASE: &[&str] = &[
    "base-files",
    "bash",
    "coreutils",
    "dpkg",
    "tar",
    "perl-base",
    "apt",
    "zlib1g",
    "libssl3",
];

fn status_of(debs: &[&Deb]) -> String {
    common::debian::status(debs)
}

fn minbase() -> Option<Vec<Deb>> {
    let names = need("apt-get (with its lists)", apt_plan(MINBASE, ""))?;
    need("apt-get download", debs(&names))
}

/// What `apt-get install` of `wanted` adds on top of `installed`.
fn added(wanted: &[&str], installed: &[&Deb]) -> Option<Vec<Deb>> {
    let names = need(
        "apt-get (with its lists)",
        apt_plan(wanted, &status_of(installed)),
    )?;
    need("apt-get download", debs(&names))
}

/// The host's Python version as CPython tags it: ("3.11", "311").
fn host_python() -> (String, String) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')",
        ])
        .output()
        .unwrap();
    let v = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let tag = v.replace('.', "");
    (v, tag)
}

/// A shared-library stub with a SONAME, to link against as the real library would be.
fn stub(dir: &Path, compiler: &[&str], soname: &str) {
    compile_in(
        dir,
        compiler,
        "void stub_symbol(void) {}\n",
        &["-shared", "-fPIC", &format!("-Wl,-soname,{soname}")],
        soname,
    );
}

/// The official images' Python: built from source into /usr/local; on glibc the interpreter
/// loads zlib and its `_ssl` module OpenSSL, as the official images' do.
fn python_layer(version: &str, compiler: &[&str], glibc: bool) -> Layer {
    let dir = tempfile::tempdir().unwrap();
    let tag = version.replace('.', "");
    let (python_libs, ssl_libs, suffix) = if glibc {
        stub(dir.path(), compiler, "libz.so.1");
        stub(dir.path(), compiler, "libssl.so.3");
        (
            vec!["./libz.so.1"],
            vec!["./libssl.so.3"],
            "x86_64-linux-gnu",
        )
    } else {
        (vec![], vec![], "x86_64-linux-musl")
    };
    let python = compile_in(dir.path(), compiler, MAIN, &python_libs, "python");
    let mut ssl_args = vec!["-shared", "-fPIC"];
    ssl_args.extend(&ssl_libs);
    let ssl_module = compile_in(
        dir.path(),
        compiler,
        "int PyInit__ssl(void) { return 0; }\n",
        &ssl_args,
        "_ssl.so",
    );
    let lib = format!("usr/local/lib/python{version}");
    Layer::new(
        "/bin/sh -c set -eux; ./configure --enable-shared --with-lto; make -j \"$nproc\"; make install",
        vec![
            Entry::dir("usr/local/bin"),
            Entry::exec(format!("usr/local/bin/python{version}"), python),
            Entry::symlink("usr/local/bin/python3", format!("python{version}")),
            Entry::dir(format!("{lib}/lib-dynload")),
            Entry::exec(
                format!("{lib}/lib-dynload/_ssl.cpython-{tag}-{suffix}.so"),
                ssl_module,
            ),
            Entry::dir(format!("{lib}/site-packages")),
        ],
    )
}

/// A pip install of one distribution whose extension loads the given libraries.
fn pip_install(
    step: &str,
    version: &str,
    name: &str,
    ext: Vec<u8>,
    tag: &str,
    suffix: &str,
) -> Layer {
    let site = format!("usr/local/lib/python{version}/site-packages");
    let info = format!("{site}/{name}-1.0.dist-info");
    let ext_path = format!("{name}/_core.{suffix}.so");
    let record = format!(
        "{ext_path},sha256=x,{}\n{name}-1.0.dist-info/METADATA,,\n{name}-1.0.dist-info/WHEEL,,\n{name}-1.0.dist-info/RECORD,,\n",
        ext.len()
    );
    Layer::new(
        step,
        vec![
            Entry::dir(format!("{site}/{name}")),
            Entry::exec(format!("{site}/{ext_path}"), ext),
            Entry::dir(&info),
            Entry::file(
                format!("{info}/METADATA"),
                format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"),
            ),
            Entry::file(
                format!("{info}/WHEEL"),
                format!("Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n"),
            ),
            Entry::file(format!("{info}/INSTALLER"), "pip\n"),
            Entry::file(format!("{info}/RECORD"), record),
        ],
    )
}

fn one<'a>(report: &'a Value, rule: &str) -> &'a Value {
    let found = findings(report, rule);
    assert_eq!(found.len(), 1, "{rule}: {:#}", report["findings"]);
    found[0]
}

fn sum(debs: &[&Deb]) -> u64 {
    debs.iter().map(|d| d.listed_bytes).sum()
}

#[test]
fn a_full_base_at_run_time_gets_the_slim_variant_with_the_packages_to_install() {
    let Some(rootfs) = minbase() else { return };
    let rootfs_refs: Vec<&Deb> = rootfs.iter().collect();
    // What buildpack-deps and the full python image add: compilers, headers, -dev packages.
    let Some(extras) = added(&["build-essential", "libpq-dev"], &rootfs_refs) else {
        return;
    };
    let installed: Vec<&Deb> = rootfs.iter().chain(&extras).collect();
    let extra_refs: Vec<&Deb> = extras.iter().collect();
    let auto: Vec<&Deb> = extras
        .iter()
        .filter(|d| d.name != "build-essential" && d.name != "libpq-dev")
        .collect();

    let (version, tag) = host_python();
    let dir = tempfile::tempdir().unwrap();
    stub(dir.path(), CC, "libpq.so.5");
    stub(dir.path(), CC, "libgomp.so.1");
    let ext = compile_in(
        dir.path(),
        CC,
        common::elf::EXTENSION,
        &[
            "-shared",
            "-fPIC",
            "-Wl,--no-as-needed",
            "./libpq.so.5",
            "./libgomp.so.1",
        ],
        "ext.so",
    );
    let mut image = Image::new(vec![
        rootfs_layer(&rootfs),
        install_layer(
            "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev",
            &extra_refs,
            &installed,
            &auto,
        ),
        python_layer(&version, CC, true),
        pip_install(
            "RUN pip install pgfast",
            &version,
            "pgfast",
            ext,
            &format!("cp{tag}-cp{tag}-manylinux_2_17_x86_64"),
            &format!("cpython-{tag}-x86_64-linux-gnu"),
        ),
    ]);
    image.empty_steps = vec![
        (1, "/bin/sh -c #(nop)  CMD [\"bash\"]".into()),
        (3, "/bin/sh -c #(nop)  CMD [\"python3\"]".into()),
    ];
    let report = json_for(&image);

    let base = &report["base"];
    assert_eq!(base["flavour"], "full");
    assert_eq!(base["layers"], 3);
    assert_eq!(base["last_step"], "CMD [\"python3\"]");
    assert_eq!(base["os"], "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(base["python"]["built_from_source"], true);
    assert_eq!(base["python"]["in_base"], true);

    // What slim would have, by apt itself: the root filesystem's required packages, the
    // interpreter's libraries and the app's, with everything they depend on.
    let slim = base["slim"].clone();
    assert_eq!(slim["install"], serde_json::json!(["libgomp1", "libpq5"]));
    let required: Vec<&str> = installed
        .iter()
        .filter(|d| {
            d.control.contains("\nPriority: required") || d.control.contains("\nEssential: yes")
        })
        .map(|d| d.name.as_str())
        .chain(["apt", "zlib1g", "libssl3", "libgomp1", "libpq5"])
        .collect();
    let slim_set: HashSet<String> = need("apt-get", apt_plan(&required, ""))
        .unwrap()
        .into_iter()
        .collect();
    let expected: Vec<&Deb> = installed
        .iter()
        .copied()
        .filter(|d| !slim_set.contains(&d.name))
        .collect();
    let mut expected_names: Vec<&str> = expected.iter().map(|d| d.name.as_str()).collect();
    expected_names.sort_unstable();
    let mut got: Vec<&str> = slim["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, expected_names);
    assert_eq!(slim["bytes"], sum(&expected));

    let f = one(&report, "base-variant");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(f["bytes"], sum(&expected));
    assert_eq!(f["layer"], 2);
    let message = f["message"].as_str().unwrap();
    assert!(
        message.starts_with("the full base (layers 0-2, Debian GNU/Linux 12 (bookworm))"),
        "{message}"
    );
    assert!(message.contains("libgomp1, libpq5 provide"), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains(&format!("`python:{version}-slim`")), "{fix}");
    assert!(
        fix.contains("apt-get install -y --no-install-recommends libgomp1 libpq5"),
        "{fix}"
    );
    // The compilers finding of the base layer points at the variant too.
    let compilers = findings(&report, "compilers");
    assert!(!compilers.is_empty());
    assert!(
        compilers
            .iter()
            .all(|c| c["fix"].as_str().unwrap().contains("slim variant"))
    );
    assert!(findings(&report, "built-from-source").is_empty());
    println!(
        "full base: {} packages, {} bytes a slim base would not have; install {}",
        expected.len(),
        sum(&expected),
        slim["install"]
    );
}

/// A real pip build of a local sdist with a C extension: pip's install into a directory, and
/// the wheel pip built. Tags and suffixes are the host Python's.
struct PipBuild {
    installed: tempfile::TempDir,
    wheel: PathBuf,
    _work: tempfile::TempDir,
}

fn pip(args: &[&str], dir: &Path) -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-m", "pip"])
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("python3 -m pip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "pip {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn build_sdist_with_pip() -> Result<PipBuild, String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let src = work.path().join("fastext-1.0");
    std::fs::create_dir_all(src.join("fastext")).map_err(|e| e.to_string())?;
    let write = |p: &str, s: &str| std::fs::write(src.join(p), s).map_err(|e| e.to_string());
    write(
        "setup.py",
        "from setuptools import setup, Extension\nsetup(name='fastext', version='1.0', packages=['fastext'], ext_modules=[Extension('fastext._speed', ['fastext/_speed.c'])])\n",
    )?;
    write(
        "PKG-INFO",
        "Metadata-Version: 2.1\nName: fastext\nVersion: 1.0\n",
    )?;
    write("fastext/__init__.py", "from ._speed import add\n")?;
    write(
        "fastext/_speed.c",
        "#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n\
         static PyObject *add(PyObject *s, PyObject *a) { long x, y; if (!PyArg_ParseTuple(a, \"ll\", &x, &y)) return NULL; return PyLong_FromLong(x + y); }\n\
         static PyMethodDef m[] = {{\"add\", add, METH_VARARGS, NULL}, {NULL, NULL, 0, NULL}};\n\
         static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, \"_speed\", NULL, -1, m};\n\
         PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&d); }\n",
    )?;
    // The sdist: a gzipped tar of the project directory, as `setup.py sdist` makes it.
    let sdist = work.path().join("fastext-1.0.tar.gz");
    let status = Command::new("tar")
        .args(["czf", "fastext-1.0.tar.gz", "fastext-1.0"])
        .current_dir(work.path())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("tar failed".into());
    }
    let wheels = work.path().join("wheels");
    pip(
        &[
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            wheels.to_str().unwrap(),
            sdist.to_str().unwrap(),
        ],
        work.path(),
    )?;
    let wheel = std::fs::read_dir(&wheels)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("pip built no wheel")?;
    let installed = tempfile::tempdir().map_err(|e| e.to_string())?;
    pip(
        &[
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            installed.path().to_str().unwrap(),
            wheel.to_str().unwrap(),
        ],
        work.path(),
    )?;
    Ok(PipBuild {
        installed,
        wheel,
        _work: work,
    })
}

/// Every file under `dir` as layer entries under `prefix`.
fn tree_entries(dir: &Path, prefix: &str) -> Vec<Entry> {
    let mut out = vec![Entry::dir(prefix)];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let mut children: Vec<PathBuf> = std::fs::read_dir(&at)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        children.sort();
        for child in children {
            let rel = child
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let path = format!("{prefix}/{rel}");
            if child.is_dir() {
                out.push(Entry::dir(&path));
                stack.push(child);
            } else {
                out.push(Entry::exec(&path, std::fs::read(&child).unwrap()));
            }
        }
    }
    out
}

#[test]
fn a_slim_base_whose_app_compiles_from_source_gets_the_multi_stage_recipe() {
    let Some(rootfs) = minbase() else { return };
    let rootfs_refs: Vec<&Deb> = rootfs.iter().collect();
    let Some(tools) = added(&["build-essential"], &rootfs_refs) else {
        return;
    };
    let Some(build) = need("pip with setuptools", build_sdist_with_pip()) else {
        return;
    };
    let (version, tag) = host_python();
    let installed: Vec<&Deb> = rootfs.iter().chain(&tools).collect();
    let tool_refs: Vec<&Deb> = tools.iter().collect();
    let auto: Vec<&Deb> = tools
        .iter()
        .filter(|d| d.name != "build-essential")
        .collect();
    let site = format!("usr/local/lib/python{version}/site-packages");
    let mut image = Image::new(vec![
        rootfs_layer(&rootfs),
        python_layer(&version, CC, true),
        install_layer(
            "RUN apt-get update && apt-get install -y build-essential # buildkit",
            &tool_refs,
            &installed,
            &auto,
        ),
        Layer::new(
            "RUN pip install ./fastext-1.0.tar.gz # buildkit",
            tree_entries(build.installed.path(), &site),
        ),
    ]);
    image.empty_steps = vec![(2, "/bin/sh -c #(nop)  CMD [\"python3\"]".into())];
    let report = json_for(&image);
    assert_eq!(report["base"]["flavour"], "slim");
    assert_eq!(report["base"]["layers"], 2);
    let dist = &report["python"]["distributions"][0];
    assert_eq!(dist["name"], "fastext");
    assert_eq!(
        dist["wheel_tags"],
        serde_json::json!([format!("cp{tag}-cp{tag}-linux_x86_64")]),
        "pip's own tag for a wheel it built"
    );

    let toolchain_bytes: u64 = tools.iter().map(|d| d.listed_bytes).sum();
    let not_toolchain: Vec<&str> = report["os_packages"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["layer"] == 2 && p["toolchain"] == false)
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let tool_names: Vec<&str> = tools.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        not_toolchain,
        Vec::<&str>::new(),
        "build-essential's packages are the toolchain: {tool_names:?}"
    );
    let f = one(&report, "base-variant");
    assert_eq!(f["layer"], 2);
    assert_eq!(
        f["bytes"], toolchain_bytes,
        "every byte build-essential installed"
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("to build fastext from source"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("FROM python:{version}-slim AS build"))
            && fix.contains("pip wheel --wheel-dir /wheels fastext")
            && fix.contains("--mount=type=bind,from=build,source=/wheels,target=/wheels"),
        "{fix}"
    );

    let b = one(&report, "built-from-source");
    assert_eq!(b["layer"], 3);
    assert_eq!(
        b["created_by"],
        "RUN pip install ./fastext-1.0.tar.gz # buildkit"
    );
    let message = b["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "fastext 1.0 (wheel tag cp{tag}-cp{tag}-linux_x86_64"
        )) && message.contains("a manylinux wheel would serve"),
        "{message}"
    );
    assert_eq!(b["bytes"], dist["size_bytes"]);
}

#[test]
fn an_already_slim_multi_stage_image_gets_no_advice() {
    let Some(rootfs) = minbase() else { return };
    let Some(build) = need("pip with setuptools", build_sdist_with_pip()) else {
        return;
    };
    let (version, _) = host_python();
    let site = format!("usr/local/lib/python{version}/site-packages");
    let mut image = Image::new(vec![
        rootfs_layer(&rootfs),
        python_layer(&version, CC, true),
        Layer::new(
            format!("COPY --from=build /usr/local/lib/python{version}/site-packages /usr/local/lib/python{version}/site-packages # buildkit").as_str(),
            tree_entries(build.installed.path(), &site),
        ),
    ]);
    image.empty_steps = vec![(2, "/bin/sh -c #(nop)  CMD [\"python3\"]".into())];
    let report = json_for(&image);
    assert_eq!(report["base"]["flavour"], "slim");
    for rule in [
        "base-variant",
        "built-from-source",
        "compilers",
        "headers",
        "wheels",
    ] {
        assert!(
            findings(&report, rule).is_empty(),
            "{rule}: {:#}",
            report["findings"]
        );
    }

    // The same build stage's wheels copied in and installed from: the wheels finding says
    // to mount them instead.
    let wheel_name = build
        .wheel
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut copied = image.clone();
    copied.layers.push(Layer::new(
        "COPY --from=build /wheels /wheels # buildkit",
        vec![
            Entry::dir("wheels"),
            Entry::file(
                format!("wheels/{wheel_name}"),
                std::fs::read(&build.wheel).unwrap(),
            ),
        ],
    ));
    let report = json_for(&copied);
    let w = one(&report, "wheels");
    assert_eq!(w["layer"], 3);
    let fix = w["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("do not COPY the wheels into the final stage")
            && fix.contains("RUN --mount=type=bind,from=build,source=/wheels,target=/wheels pip install --no-index --find-links /wheels"),
        "{fix}"
    );
}

/// An apk package for the generated database: its name, version, files and dependencies.
fn apk_stanza(
    name: &str,
    version: &str,
    files: &[(&str, u64)],
    depends: &str,
    provides: &str,
) -> String {
    let mut s = format!(
        "P:{name}\nV:{version}\nA:x86_64\nI:{}\no:{name}\n",
        files.iter().map(|f| f.1).sum::<u64>()
    );
    if !depends.is_empty() {
        s += &format!("D:{depends}\n");
    }
    if !provides.is_empty() {
        s += &format!("p:{provides}\n");
    }
    let mut dir = "";
    for (path, _) in files {
        let (d, f) = path.rsplit_once('/').unwrap();
        if d != dir {
            s += &format!("F:{d}\n");
            dir = d;
        }
        s += &format!("R:{f}\n");
    }
    s + "\n"
}

#[test]
fn an_alpine_base_that_compiles_wheels_gets_the_glibc_alternative() {
    let Some(loader) = need(
        "musl (musl-tools)",
        std::fs::read("/lib/ld-musl-x86_64.so.1").map_err(|e| e.to_string()),
    ) else {
        return;
    };
    let version = "3.11";
    // A real musllinux wheel, as pip installs it for an Alpine Python 3.11.
    let target = tempfile::tempdir().unwrap();
    let fetched = pip(
        &[
            "install",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--platform",
            "musllinux_1_1_x86_64",
            "--python-version",
            version,
            "--implementation",
            "cp",
            "--abi",
            "cp311",
            "--target",
            target.path().to_str().unwrap(),
            "markupsafe==2.1.5",
        ],
        target.path(),
    );
    let Some(()) = need("pip (PyPI)", fetched) else {
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let ext = compile_in(
        dir.path(),
        MUSL,
        common::elf::EXTENSION,
        &["-shared", "-fPIC"],
        "ext.so",
    );
    let musl_base = apk_stanza(
        "musl",
        "1.2.4-r2",
        &[("lib/ld-musl-x86_64.so.1", loader.len() as u64)],
        "",
        "so:libc.musl-x86_64.so.1=1",
    );
    let busybox = apk_stanza(
        "busybox",
        "1.36.1-r15",
        &[("bin/busybox", 4)],
        "so:libc.musl-x86_64.so.1",
        "/bin/sh",
    );
    let gcc_files = [
        (
            "usr/libexec/gcc/x86_64-alpine-linux-musl/13.2.1/cc1",
            30_000_000u64,
        ),
        ("usr/bin/gcc", 900_000),
    ];
    let musl_dev_files = [
        ("usr/include/stdio.h", 7_000u64),
        ("usr/lib/libc.a", 2_600_000),
    ];
    let gcc = apk_stanza(
        "gcc",
        "13.2.1_git20231014-r0",
        &gcc_files,
        "so:libc.musl-x86_64.so.1",
        "",
    );
    let musl_dev = apk_stanza("musl-dev", "1.2.4-r2", &musl_dev_files, "musl", "");
    let build_deps = apk_stanza(".build-deps", "20231114.221320", &[], "gcc musl-dev", "");
    let base = Layer::new(
        "/bin/sh -c #(nop) ADD file:alpine-minirootfs in / ",
        vec![
            Entry::dir("etc/apk"),
            Entry::file(
                "etc/os-release",
                "ID=alpine\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
            ),
            Entry::file("etc/apk/world", "busybox\n"),
            Entry::dir("lib/apk/db"),
            Entry::file("lib/apk/db/installed", format!("{musl_base}{busybox}")),
            Entry::exec("lib/ld-musl-x86_64.so.1", &loader),
            Entry::symlink("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"),
            Entry::exec("bin/busybox", "#!\n\n\n"),
            Entry::symlink("bin/sh", "busybox"),
        ],
    );
    let mut tools = vec![
        Entry::file("etc/apk/world", "busybox\n.build-deps\n"),
        Entry::file(
            "lib/apk/db/installed",
            format!("{musl_base}{busybox}{gcc}{musl_dev}{build_deps}"),
        ),
    ];
    for (i, (path, len)) in gcc_files.iter().chain(&musl_dev_files).enumerate() {
        tools.push(Entry::file_len(path, *len, i as u64));
    }
    let compilers: u64 = gcc_files.iter().chain(&musl_dev_files).map(|f| f.1).sum();
    let site = format!("usr/local/lib/python{version}/site-packages");
    let mut installs = tree_entries(target.path(), &site);
    installs.extend(
        pip_install(
            "",
            version,
            "fastext",
            ext,
            "cp311-cp311-linux_x86_64",
            "cpython-311-x86_64-linux-musl",
        )
        .entries
        .into_iter()
        .filter(|e| !matches!(e, Entry::Dir { path, .. } if path == site.as_bytes())),
    );
    let mut image = Image::new(vec![
        base,
        python_layer(version, MUSL, false),
        Layer::new(
            "RUN apk add --no-cache --virtual .build-deps gcc musl-dev",
            tools,
        ),
        Layer::new("RUN pip install markupsafe ./fastext", installs),
    ]);
    image.empty_steps = vec![(2, "/bin/sh -c #(nop)  CMD [\"python3\"]".into())];
    let report = json_for(&image);
    assert_eq!(report["base"]["flavour"], "alpine");
    assert_eq!(report["base"]["layers"], 2);
    let markupsafe = report["python"]["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "MarkupSafe")
        .expect("markupsafe installed");
    assert!(
        markupsafe["wheel_tags"][0]
            .as_str()
            .unwrap()
            .ends_with("musllinux_1_1_x86_64")
    );

    let f = one(&report, "base-variant");
    assert_eq!(f["bytes"], compilers);
    assert_eq!(f["layer"], 2);
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("1 Python distribution was compiled in the image because no musllinux wheel was installed (fastext 1.0)")
            && !message.contains("MarkupSafe"),
        "{message}"
    );
    assert!(
        f["fix"].as_str().unwrap().contains("`python:3.11-slim`"),
        "{f:#}"
    );
    let b = one(&report, "built-from-source");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("a musllinux wheel would serve"),
        "{b:#}"
    );
}
