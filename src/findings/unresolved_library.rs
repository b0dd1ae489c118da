//! `unresolved-library`: a library an ELF file needs that the loader would not find anywhere
//! in the image (RPATH, LD_LIBRARY_PATH, RUNPATH, ld.so.conf, default directories).

use super::{Context, Finding, Rule, Severity, plural};

pub const RULE: Rule = Rule {
    id: "unresolved-library",
    severity: Severity::Error,
    summary: "a NEEDED library no search path finds",
    why: "The import or the program fails with `libgomp.so.1: cannot open shared object file`. GPU driver libraries (`libcuda.so.1`, `libnvidia-*`), which the NVIDIA runtime mounts when the container starts, are not reported.",
    fix: "Install the package that provides the library in the final image (a multi-stage build must copy or install runtime libraries, not only the Python packages).",
    check,
};

/// Debian packages of libraries Python wheels often expect from the system.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("libgomp.so.1", "libgomp1"),
    ("libstdc++.so.6", "libstdc++6"),
    ("libgcc_s.so.1", "libgcc-s1"),
    ("libgfortran.so.5", "libgfortran5"),
    ("libquadmath.so.0", "libquadmath0"),
    ("libz.so.1", "zlib1g"),
    ("libssl.so.3", "libssl3"),
    ("libcrypto.so.3", "libssl3"),
    ("libffi.so.8", "libffi8"),
    ("libjpeg.so.62", "libjpeg62-turbo"),
    ("libpng16.so.16", "libpng16-16"),
    ("libxml2.so.2", "libxml2"),
    ("libxslt.so.1", "libxslt1.1"),
    ("libpq.so.5", "libpq5"),
    ("libGL.so.1", "libgl1"),
    ("libglib-2.0.so.0", "libglib2.0-0"),
    ("libgthread-2.0.so.0", "libglib2.0-0"),
    ("libSM.so.6", "libsm6"),
    ("libXext.so.6", "libxext6"),
    ("libX11.so.6", "libx11-6"),
    ("libopenblas.so.0", "libopenblas0"),
    ("libblas.so.3", "libblas3"),
    ("liblapack.so.3", "liblapack3"),
    ("libsqlite3.so.0", "libsqlite3-0"),
    ("libexpat.so.1", "libexpat1"),
    ("libbz2.so.1.0", "libbz2-1.0"),
    ("liblzma.so.5", "liblzma5"),
    ("libuuid.so.1", "libuuid1"),
    ("libcurl.so.4", "libcurl4"),
    ("libmagic.so.1", "libmagic1"),
    ("libodbc.so.2", "libodbc2"),
    ("libgeos_c.so.1", "libgeos-c1v5"),
    ("libmariadb.so.3", "libmariadb3"),
];

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    // A file whose C library clashes with the image's is reported by its own rule.
    ctx.elf_findings(
        rule,
        ctx.native_elves().filter(|e| !ctx.wrong_libc(e)),
        |e| {
            // Grouped by the set of missing names, whatever order each file needs them in.
            let mut missing: Vec<&str> = e.unresolved().collect();
            missing.sort_unstable();
            missing.dedup();
            (!missing.is_empty()).then(|| missing.join(", "))
        },
        |missing, elves| {
            format!(
                "{missing} needed by {} but not found in the image's library search path: loading fails with `{}: cannot open shared object file`",
                plural(elves.len(), "file", "files"),
                missing.split(", ").next().unwrap_or(missing)
            )
        },
        |missing, elves| {
            let packages: Vec<String> = missing
                .split(", ")
                .map(|lib| match DEBIAN_PACKAGES.iter().find(|(l, _)| *l == lib) {
                    Some((_, pkg)) => format!("{lib} (Debian/Ubuntu: `apt-get install {pkg}`)"),
                    None => lib.to_string(),
                })
                .collect();
            format!(
                "install what provides {} in the final image, for {}; in a multi-stage build, install the runtime libraries in the last stage too",
                packages.join(", "),
                ctx.owners(elves)
            )
        },
    )
}
