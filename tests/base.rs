//! The base image from the history and the files: where the base ends, its flavour and its
//! Python, on small images whose programs `cc` compiles (the real package content is in
//! `ext_base_variant.rs`).

mod common;

use common::elf::{CC, MAIN, compile};
use common::{findings, json_for};
use pydive::fixture::{Entry, Image, Layer};

fn libc_layer(step: &str, extra: Vec<Entry>) -> Layer {
    let lib = "usr/lib/x86_64-linux-gnu";
    let mut entries = vec![
        Entry::file(
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
        ),
        Entry::exec(
            format!("{lib}/libc.so.6"),
            common::elf::host_file("/lib/x86_64-linux-gnu/libc.so.6"),
        ),
        Entry::exec(
            "lib64/ld-linux-x86-64.so.2",
            common::elf::host_file("/lib64/ld-linux-x86-64.so.2"),
        ),
    ];
    entries.extend(extra);
    Layer::new(step, entries)
}

fn shell() -> Vec<Entry> {
    vec![
        Entry::exec("usr/bin/dash", compile(CC, MAIN, &[])),
        Entry::symlink("bin/sh", "../usr/bin/dash"),
        Entry::exec("usr/bin/dpkg", compile(CC, MAIN, &[])),
    ]
}

#[test]
fn the_base_ends_at_the_last_cmd_that_more_layers_follow() {
    let mut image = Image::new(vec![
        libc_layer("/bin/sh -c #(nop) ADD file:abc in / ", shell()),
        Layer::new(
            "/bin/sh -c ./configure && make install",
            vec![Entry::exec(
                "usr/local/bin/python3.12",
                compile(CC, MAIN, &[]),
            )],
        ),
        Layer::new(
            "COPY . /app # buildkit",
            vec![Entry::file("app/main.py", "print()\n")],
        ),
    ]);
    image.empty_steps = vec![
        (1, "/bin/sh -c #(nop)  CMD [\"bash\"]".into()),
        (2, "/bin/sh -c #(nop)  CMD [\"python3\"]".into()),
        (3, "CMD [\"python\", \"/app/main.py\"]".into()),
    ];
    let report = json_for(&image);
    let base = &report["base"];
    assert_eq!(base["layers"], 2);
    assert_eq!(base["last_step"], "CMD [\"python3\"]");
    assert_eq!(base["flavour"], "slim");
    assert_eq!(base["os_id"], "debian");
    assert_eq!(base["python"]["path"], "/usr/local/bin/python3.12");
    assert_eq!(base["python"]["built_from_source"], true);
    assert_eq!(base["python"]["in_base"], true);
    assert!(findings(&report, "base-variant").is_empty());
}

#[test]
fn without_a_cmd_only_the_root_filesystem_is_known_to_be_base() {
    let image = Image::new(vec![
        libc_layer("/bin/sh -c #(nop) ADD file:abc in / ", shell()),
        Layer::new("RUN true", vec![Entry::file("etc/x", "x")]),
    ]);
    let report = json_for(&image);
    assert_eq!(report["base"]["layers"], 1);
    assert_eq!(report["base"]["last_step"], serde_json::Value::Null);

    // A squashed image: nothing is known to be base, so compilers in it are not said to be
    // the app's.
    let squashed = Image::new(vec![libc_layer(
        "squashed",
        [
            shell(),
            vec![Entry::file_len(
                "usr/lib/gcc/x86_64-linux-gnu/12/cc1",
                20_000_000,
                1,
            )],
        ]
        .concat(),
    )]);
    let report = json_for(&squashed);
    assert_eq!(report["base"]["layers"], serde_json::Value::Null);
    assert!(
        findings(&report, "base-variant").is_empty(),
        "{:#}",
        report["findings"]
    );
}

#[test]
fn no_shell_and_no_package_manager_is_distroless_and_a_packaged_python_is_the_distributions() {
    let python = compile(CC, MAIN, &[]);
    let mut image = Image::new(vec![
        libc_layer("bazel build //base", vec![]),
        Layer::new(
            "bazel build //python",
            vec![
                Entry::exec("usr/bin/python3.11", python.clone()),
                Entry::file(
                    "var/lib/dpkg/status.d/python3.11-minimal",
                    "Package: python3.11-minimal\nVersion: 3.11.2-6\nArchitecture: amd64\n",
                ),
                Entry::file(
                    "var/lib/dpkg/status.d/python3.11-minimal.md5sums",
                    "00  usr/bin/python3.11\n",
                ),
            ],
        ),
        Layer::new(
            "COPY app /app",
            vec![Entry::file("app/main.py", "print()\n")],
        ),
    ]);
    image.empty_steps = vec![(2, "ENTRYPOINT [\"/usr/bin/python3.11\"]".into())];
    let report = json_for(&image);
    assert_eq!(report["base"]["flavour"], "distroless");
    assert_eq!(report["base"]["python"]["package"], "python3.11-minimal");
    assert_eq!(report["base"]["python"]["built_from_source"], false);

    // The same with a shell and dpkg: a distribution's Python.
    image.layers[0] = libc_layer("bazel build //base", shell());
    let report = json_for(&image);
    assert_eq!(report["base"]["flavour"], "distribution-python");
}
