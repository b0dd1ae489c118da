//! OS packages from a real dpkg database: a Debian base and `build-essential` with its whole
//! closure, as `apt-get` plans them on this machine, downloaded from Debian (`apt-get
//! download`, cached under `target/test-downloads/debs`) and unpacked with `dpkg-deb` into
//! fixture layers with the `status`, `info/*.list` and `extended_states` files dpkg and apt
//! write. Sizes are checked against `dpkg-deb --contents` and `dpkg-query`.
//!
//! Needs apt-get with the machine's package lists (`apt-get update`), dpkg-deb, dpkg-query,
//! and cc.

mod common;

use std::collections::HashMap;

use common::debian::{Deb, apt_plan, debs, dpkg_query_sizes, install_layer, rootfs_layer, status};
use common::elf::{CC, EXTENSION, MAIN, compile};
use common::services::need;
use pydive::fixture::{Entry, Image, Layer};
use pydive::report::Report;

const BASE: &[&str] = &[
    "libc6",
    "dpkg",
    "tar",
    "perl-base",
    "zlib1g",
    "libstdc++6",
    "libssl3",
];

/// The packages of a small Debian base, and those `apt-get install build-essential` adds.
fn packages() -> Option<(Vec<Deb>, Vec<Deb>)> {
    let base_names = need("apt-get (with its lists)", apt_plan(BASE, ""))?;
    let base = need("apt-get download", debs(&base_names))?;
    let base_status = status(&base.iter().collect::<Vec<_>>());
    let tool_names = need(
        "apt-get (with its lists)",
        apt_plan(&["build-essential"], &base_status),
    )?;
    let tools = need("apt-get download", debs(&tool_names))?;
    Some((base, tools))
}

fn toolchain_image(base: &[Deb], tools: &[Deb]) -> Image {
    let installed: Vec<&Deb> = base.iter().chain(tools).collect();
    let new: Vec<&Deb> = tools.iter().collect();
    let auto: Vec<&Deb> = tools
        .iter()
        .filter(|d| d.name != "build-essential")
        .collect();
    // An extension module that needs libgomp at run time, as OpenMP code does.
    let app = Layer::new(
        "RUN pip install ./omp",
        vec![
            Entry::dir("usr/local/bin"),
            Entry::exec("usr/local/bin/python3.11", compile(CC, MAIN, &[])),
            Entry::dir("usr/local/lib/python3.11/site-packages/omp"),
            Entry::exec(
                "usr/local/lib/python3.11/site-packages/omp/_omp.cpython-311-x86_64-linux-gnu.so",
                compile(CC, EXTENSION, &["-shared", "-fPIC", "-lgomp"]),
            ),
        ],
    );
    Image::new(vec![
        rootfs_layer(base),
        install_layer(
            "RUN apt-get update && apt-get install -y build-essential",
            &new,
            &installed,
            &auto,
        ),
        app,
    ])
}

#[test]
fn every_package_is_sized_from_its_files_and_matches_dpkg() {
    let Some((base, tools)) = packages() else {
        return;
    };
    let image = toolchain_image(&base, &tools);
    let report = common::report_for(&image);
    let json = common::json_of(&report);
    let listed = json["os_packages"]["packages"].as_array().unwrap();
    assert_eq!(json["os_packages"]["manager"], "dpkg");
    assert_eq!(listed.len(), base.len() + tools.len());
    let by_name: HashMap<&str, &serde_json::Value> = listed
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p))
        .collect();

    let installed: Vec<&Deb> = base.iter().chain(&tools).collect();
    let query: HashMap<String, u64> = need("dpkg-query", dpkg_query_sizes(&status(&installed)))
        .unwrap()
        .into_iter()
        .collect();
    let mut table = Vec::new();
    for (deb, layer) in base
        .iter()
        .map(|d| (d, 0))
        .chain(tools.iter().map(|d| (d, 1)))
    {
        let p = by_name[deb.name.as_str()];
        assert_eq!(p["version"], deb.version.as_str(), "{}", deb.name);
        assert_eq!(p["layer"], layer, "{}", deb.name);
        // Exact: the bytes of its regular files, as dpkg-deb lists them.
        let bytes = p["bytes"].as_u64().unwrap();
        assert_eq!(bytes, deb.listed_bytes, "{}", deb.name);
        let non_dirs = deb
            .entries
            .iter()
            .filter(|e| !matches!(e, Entry::Dir { .. }))
            .count() as u64;
        assert_eq!(p["files"], non_dirs, "{}", deb.name);
        // dpkg's own figure is an estimate made when the package was built (each file
        // rounded up to whole KiB, a KiB for each directory and symlink): pydive reports it
        // beside the real bytes, as dpkg-query reads it.
        let kib = query[&deb.name];
        assert_eq!(p["installed_size_bytes"], kib * 1024, "{}", deb.name);
        table.push(format!(
            "{:<28} {:>10} bytes  Installed-Size {:>7} KiB ({:>10} bytes, {:+.1} %)",
            deb.name,
            bytes,
            kib,
            kib * 1024,
            (kib * 1024) as f64 / bytes.max(1) as f64 * 100.0 - 100.0
        ));
    }
    println!("{}", table.join("\n"));
}

#[test]
fn the_compilers_category_counts_every_file_of_the_toolchain_packages() {
    let Some((base, tools)) = packages() else {
        return;
    };
    let image = toolchain_image(&base, &tools);
    let report = common::report_for(&image);
    let json = common::json_of(&report);
    let packages = &report.facts.os_packages;
    let toolchain: Vec<&str> = packages
        .packages
        .iter()
        .filter(|p| p.toolchain)
        .map(|p| p.name.as_str())
        .collect();
    // Named ones, and what only they pulled in (the compilers' own libraries, perl for
    // dpkg-dev); not the base, and not libgomp1, which the app's extension loads.
    for name in [
        "build-essential",
        "gcc-12",
        "cpp-12",
        "g++-12",
        "binutils",
        "binutils-common",
        "binutils-x86-64-linux-gnu",
        "libbinutils",
        "libgprofng0",
        "libgcc-12-dev",
        "libstdc++-12-dev",
        "libc6-dev",
        "make",
        "dpkg-dev",
        "libisl23",
        "libmpc3",
        "libmpfr6",
        "libasan8",
        "libtsan2",
        "perl",
        "libperl5.36",
    ] {
        assert!(toolchain.contains(&name), "{name} in {toolchain:?}");
    }
    for name in [
        "libgomp1",
        "libc6",
        "libstdc++6",
        "libssl3",
        "dpkg",
        "perl-base",
        "gcc-12-base",
    ] {
        assert!(!toolchain.contains(&name), "{name} is not the toolchain");
    }

    // Every file of every toolchain package is in `compilers`, whatever its path: binutils'
    // translations, gprofng's tools, the linker scripts.
    let mut toolchain_bytes = 0;
    let mut path_rules_miss = 0;
    for p in packages.packages.iter().filter(|p| p.toolchain) {
        toolchain_bytes += p.bytes;
        for &n in &p.nodes {
            assert!(
                report
                    .facts
                    .categories
                    .of(n)
                    .contains(pydive::analysis::Category::Compilers),
                "/{} of {}",
                String::from_utf8_lossy(&report.image.tree.path(n)),
                p.name
            );
        }
    }
    let without_db = path_rules_only(&image);
    let (compilers, _) = common::category(&json, "compilers");
    let mut missed_by_package = Vec::new();
    for p in packages.packages.iter().filter(|p| p.toolchain) {
        let mut missed = 0;
        for &n in &p.nodes {
            let there = without_db
                .image
                .tree
                .lookup(&report.image.tree.path(n))
                .unwrap();
            if !without_db
                .facts
                .categories
                .of(there)
                .contains(pydive::analysis::Category::Compilers)
            {
                missed += report.image.held_bytes(n);
            }
        }
        path_rules_miss += missed;
        missed_by_package.push((missed, p.bytes, p.name.as_str()));
    }
    missed_by_package.sort_unstable();
    for (missed, bytes, name) in missed_by_package.iter().rev().take(20) {
        println!("{name:<28} {bytes:>10} bytes, {missed:>10} not compilers by path");
    }
    assert!(
        compilers >= toolchain_bytes,
        "{compilers} < {toolchain_bytes}"
    );
    let binutils_common = packages.by_name("binutils-common").unwrap();
    assert!(binutils_common.nodes.iter().any(|&n| {
        let path = report.image.tree.path(n);
        path.ends_with(b"LC_MESSAGES/binutils.mo")
    }));
    println!(
        "compilers: {compilers} bytes with the package database; toolchain packages {toolchain_bytes} bytes; \
         the path rules alone miss {path_rules_miss} bytes of them ({:.1} %)",
        path_rules_miss as f64 / toolchain_bytes as f64 * 100.0
    );
    // What the path rules cannot tell by name: binutils' translations, gprofng's tools and
    // collector, perl pulled in by dpkg-dev.
    for path in [
        "usr/share/locale/fr/LC_MESSAGES/binutils.mo",
        "usr/bin/x86_64-linux-gnu-gp-display-html",
        "usr/lib/x86_64-linux-gnu/gprofng/libgp-collector.so",
        "usr/bin/perlbug",
    ] {
        let is_compilers = |r: &Report| {
            let n = r.image.tree.lookup(path.as_bytes()).unwrap();
            r.facts
                .categories
                .of(n)
                .contains(pydive::analysis::Category::Compilers)
        };
        assert!(is_compilers(&report), "{path}");
        assert!(!is_compilers(&without_db), "{path} by its path alone");
    }
}

/// The same image without its package database: only the path rules classify.
fn path_rules_only(image: &Image) -> Report {
    let mut image = image.clone();
    for layer in &mut image.layers {
        layer.entries.retain(|e| match e {
            Entry::File { path, .. } => !path.starts_with(b"var/lib/dpkg"),
            _ => true,
        });
    }
    common::report_for(&image)
}

#[test]
fn a_purged_toolchain_counts_as_compilers_in_the_layer_that_installed_it() {
    let Some((base, tools)) = packages() else {
        return;
    };
    let base_refs: Vec<&Deb> = base.iter().collect();
    let installed: Vec<&Deb> = base.iter().chain(&tools).collect();
    let new: Vec<&Deb> = tools.iter().collect();
    let auto: Vec<&Deb> = tools
        .iter()
        .filter(|d| d.name != "build-essential")
        .collect();
    // `apt-get purge --auto-remove build-essential`: every file of every package it pulled in
    // goes, with its file list; the status lists the base again.
    let mut purge = vec![Entry::file("var/lib/dpkg/status", status(&base_refs))];
    for deb in &tools {
        purge.push(Entry::whiteout(format!(
            "var/lib/dpkg/info/{}",
            deb.list_name()
        )));
        for entry in &deb.entries {
            match entry {
                Entry::File { path, .. }
                | Entry::Symlink { path, .. }
                | Entry::Hardlink { path, .. } => purge.push(Entry::whiteout(path)),
                _ => {}
            }
        }
    }
    purge.push(Entry::whiteout("var/lib/apt/extended_states"));
    let image = Image::new(vec![
        rootfs_layer(&base),
        install_layer(
            "RUN apt-get update && apt-get install -y build-essential",
            &new,
            &installed,
            &auto,
        ),
        Layer::new("RUN apt-get purge -y --auto-remove build-essential", purge),
    ]);
    let report = common::report_for(&image);
    let json = common::json_of(&report);
    let left: Vec<String> = report
        .facts
        .categories
        .members
        .get(&pydive::analysis::Category::Compilers)
        .into_iter()
        .flatten()
        .map(|m| String::from_utf8_lossy(&report.image.tree.path(m.node)).into_owned())
        .collect();
    assert_eq!(common::category(&json, "compilers"), (0, 0), "{left:?}");
    assert_eq!(
        json["os_packages"]["packages"].as_array().unwrap().len(),
        base.len()
    );
    let tool_bytes: u64 = tools.iter().map(|d| d.listed_bytes).sum();
    let added = json["image"]["layers"][1]["categories"]["compilers"]["bytes"]
        .as_u64()
        .unwrap();
    // Every byte the toolchain's packages installed, and nothing else of that layer (its
    // dpkg and apt bookkeeping).
    assert_eq!(added, tool_bytes);
    println!(
        "build-essential on this base: {} packages, {tool_bytes} bytes",
        tools.len()
    );
}

/// Issue 9 item 3, on Debian's real `libc6`: the version is read from libc.so.6's banner and
/// agrees with the package's upstream version; with the banner gone (a same-length patch of
/// the real file), the dpkg database's `libc6` says it.
#[test]
fn the_glibc_version_comes_from_libc_so_6_or_the_package_database() {
    let Some(names) = need("apt-get (with its lists)", apt_plan(&["libc6"], "")) else {
        return;
    };
    let Some(debs) = need("apt-get download", debs(&names)) else {
        return;
    };
    let libc6 = debs.iter().find(|d| d.name == "libc6").unwrap();
    let upstream = libc6.version.split('-').next().unwrap().to_string();
    let report = common::json_for(&Image::new(vec![rootfs_layer(&debs)]));
    assert_eq!(report["libc"]["family"], "glibc");
    assert_eq!(report["libc"]["version"], upstream.as_str());
    assert_eq!(report["libc"]["version_from"], "version-string");

    // The same files, libc.so.6's banner overwritten in a later layer.
    let (path, bytes) = libc6
        .entries
        .iter()
        .find_map(|e| match e {
            Entry::File {
                path,
                content: pydive::fixture::Content::Bytes(b),
                ..
            } if path.ends_with(b"/libc.so.6") => Some((path.clone(), b.clone())),
            _ => None,
        })
        .expect("libc6 ships libc.so.6");
    let banner = b"GNU C Library";
    let at = bytes
        .windows(banner.len())
        .position(|w| w == banner)
        .expect("libc.so.6 has its banner");
    let mut patched = bytes.clone();
    patched[at..at + banner.len()].copy_from_slice(b"XXX C Library");
    let report = common::json_for(&Image::new(vec![
        rootfs_layer(&debs),
        Layer::new("patch", vec![Entry::exec(path, patched)]),
    ]));
    assert_eq!(report["libc"]["version"], upstream.as_str());
    assert_eq!(report["libc"]["version_from"], "package-database");
}
