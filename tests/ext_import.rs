//! Will it load? Asked of the real loader in a container: Debian's `python3.11` with its
//! libraries (apt-get download, as `ext_debian_packages` gets them), real manylinux wheels from
//! PyPI, and extension modules compiled here, in an image that `docker load`s and runs. Each
//! extension module is loaded by that Python in its own process (`ctypes.CDLL`: the `dlopen`
//! with `RTLD_NOW` that `import` does, without running the module's init), and the modules it
//! refuses must be exactly those a compatibility error names.
//!
//! Needs apt-get with its lists, pip with PyPI, cc and a running Docker daemon.

mod common;

use std::collections::BTreeMap;

use common::debian::{apt_plan, debs, rootfs_layer};
use common::elf::{CC, compile, wheel_shared_objects};
use common::linkage::SITE;
use common::services::{DockerCli, need, run, runs, unique};
use common::{archive, json};
use pydive::fixture::{Entry, Image, Layer, Layout};
use serde_json::Value;

/// The rules whose errors mean the loader refuses the file.
const REFUSED: &[&str] = &[
    "unresolved-library",
    "missing-symbol",
    "glibc-too-new",
    "glibcxx-too-new",
    "relr-unsupported",
    "arch-mismatch",
    "musl-in-glibc-image",
];

/// Loads each file named on the command line in a child process of this Python; prints a JSON
/// object of path to the loader's complaint (null when it loads).
const LOAD_EACH: &str = "import json, subprocess, sys
out = {}
for path in sys.argv[1:]:
    r = subprocess.run([sys.executable, '-c', 'import ctypes, sys; ctypes.CDLL(sys.argv[1])', path], capture_output=True, text=True)
    out[path] = None if r.returncode == 0 else (r.stderr.strip().splitlines() or ['exit %d' % r.returncode])[-1]
print(json.dumps(out))
";

#[test]
fn extension_modules_refused_by_the_real_loader_are_exactly_those_the_audit_names() {
    let Some(docker) = need("the Docker daemon", DockerCli::system()) else {
        return;
    };
    let Some(python) = need("apt-get (with its lists)", apt_plan(&["python3.11"], "")) else {
        return;
    };
    let Some(python) = need("apt-get download", debs(&python)) else {
        return;
    };
    let Some(()) = need("pip", runs(&["python3", "-m", "pip", "--version"])) else {
        return;
    };
    let (unpacked, names) = wheel_shared_objects(
        "wheels-import",
        &["manylinux2014_x86_64"],
        &[
            "numpy==2.2.6",
            "PyYAML==6.0.2",
            "MarkupSafe==3.0.2",
            "msgpack==1.1.0",
            "orjson==3.10.7",
            "charset-normalizer==3.4.0",
        ],
    );

    // Modules compiled here: one using a C API function newer than Python 3.11, one using zlib
    // without linking it (python3.11 itself needs libz.so.1, so the loader finds it there).
    let module = |name: &str, call: &str| {
        let stem = name.split('.').next().unwrap();
        let source = format!("int {call}(void);\nint PyInit_{stem}(void) {{ return {call}(); }}\n");
        (
            format!("ext/{name}"),
            compile(CC, &source, &["-shared", "-fPIC"]),
        )
    };
    let compiled = [
        module("newapi.abi3.so", "PyLong_AsInt"),
        module("zlibuser.cpython-311-x86_64-linux-gnu.so", "zlibVersion"),
        module("plain.cpython-311-x86_64-linux-gnu.so", "PyLong_FromLong"),
    ];
    let mut installed: Vec<Entry> = names
        .iter()
        .map(|n| {
            Entry::exec(
                format!("{SITE}/{n}"),
                std::fs::read(unpacked.join(n)).unwrap(),
            )
        })
        .collect();
    installed.extend(
        compiled
            .iter()
            .map(|(n, bytes)| Entry::exec(format!("{SITE}/{n}"), bytes.clone())),
    );
    // numpy's vendored OpenBLAS deleted by a later step: the modules that need it are refused.
    let openblas: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("numpy.libs/") && n.contains("openblas"))
        .collect();
    assert_eq!(openblas.len(), 1, "{names:?}");
    let tag = format!("{}:1", unique("import"));
    let mut image = Image::new(vec![
        rootfs_layer(&python),
        Layer::new(
            "RUN pip install numpy PyYAML MarkupSafe msgpack orjson charset-normalizer && cp -r ext site-packages/",
            installed,
        ),
        Layer::new(
            "RUN rm numpy.libs/libscipy_openblas*",
            vec![Entry::whiteout(format!("{SITE}/{}", openblas[0]))],
        ),
    ]);
    image.tag = Some(tag.clone());
    let written = archive(&image, Layout::DockerClassic);
    let report = json(written.path.to_str().unwrap());
    let loaded = docker.load(&written.path, &tag);

    let modules: Vec<String> = names
        .iter()
        .chain(compiled.iter().map(|(n, _)| n))
        .filter(|n| n.ends_with(".cpython-311-x86_64-linux-gnu.so") || n.ends_with(".abi3.so"))
        .map(|n| format!("/{SITE}/{n}"))
        .collect();
    assert!(modules.len() > 20, "{modules:?}");
    let out = run(docker
        .command()
        .args(["run", "--rm", "--network", "none", &loaded.tag])
        .args(["python3.11", "-c", LOAD_EACH])
        .args(&modules))
    .unwrap();
    let said: BTreeMap<String, Option<String>> = serde_json::from_str(&out).unwrap();
    let refused: Vec<&String> = said
        .iter()
        .filter(|(_, complaint)| complaint.is_some())
        .map(|(path, _)| path)
        .collect();

    let mut named: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" && REFUSED.contains(&f["rule"].as_str().unwrap()))
        .flat_map(|f| f["paths"].as_array().unwrap().iter())
        .filter_map(Value::as_str)
        .filter(|p| modules.iter().any(|m| m == p))
        .map(str::to_string)
        .collect();
    named.sort();
    named.dedup();
    assert_eq!(
        named.iter().collect::<Vec<_>>(),
        refused,
        "the loader said: {said:#?}"
    );
    // Both ways were exercised: refused for a missing library and for a missing symbol, and
    // loaded though underlinked.
    let complaint = |name: &str| said[&format!("/{SITE}/{name}")].clone();
    assert!(complaint("ext/newapi.abi3.so").is_some_and(|c| c.contains("PyLong_AsInt")));
    assert_eq!(
        complaint("ext/zlibuser.cpython-311-x86_64-linux-gnu.so"),
        None
    );
    assert!(
        refused
            .iter()
            .any(|p| p.contains("numpy/_core/_multiarray_umath")),
        "{said:#?}"
    );
}
