//! Real ELF files for test images: compiled at test time by the machine's toolchains (`cc`,
//! `musl-gcc`, `aarch64-linux-gnu-gcc`, zig for a chosen glibc version) or copied from the
//! machine. `.ci/run` installs the toolchains; tests that use any but `cc` live in `ext_`
//! binaries and ask for it with `toolchain` and `services::need` first.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles C source with a compiler command; returns the output file's bytes.
pub fn compile(compiler: &[&str], source: &str, args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    compile_in(dir.path(), compiler, source, args, "out")
}

/// Compiles in a directory (so outputs can link against each other); returns the bytes of
/// `output` in that directory.
pub fn compile_in(
    dir: &Path,
    compiler: &[&str],
    source: &str,
    args: &[&str],
    output: &str,
) -> Vec<u8> {
    let src = dir.join(format!("{output}.c"));
    std::fs::write(&src, source).unwrap();
    let out = dir.join(output);
    // Libraries come after the source, as the linker needs them to be.
    let status = Command::new(compiler[0])
        .args(&compiler[1..])
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} is needed for this test ({e}); .ci/run installs it",
                compiler[0]
            )
        });
    assert!(
        status.status.success(),
        "{compiler:?} {args:?} failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read(out).unwrap()
}

// Every library named on the command line is NEEDED, used or not (some toolchains default to
// --as-needed).
pub const CC: &[&str] = &["cc", "-Wl,--no-as-needed"];
pub const MUSL: &[&str] = &["musl-gcc", "-Wl,--no-as-needed"];
pub const AARCH64: &[&str] = &["aarch64-linux-gnu-gcc", "-Wl,--no-as-needed"];
pub const ZIG: &[&str] = &["python3", "-m", "ziglang", "cc"];

/// Whether a compiler command runs here, for `services::need`: the tests in `ext_` binaries
/// ask before they use any toolchain but `CC`.
pub fn toolchain(compiler: &[&str]) -> Result<(), String> {
    let mut command = compiler.to_vec();
    command.push("--version");
    super::services::runs(&command)
}

/// A file of this machine, e.g. its own libc.
pub fn host_file(path: &str) -> Vec<u8> {
    let real: PathBuf = std::fs::canonicalize(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    std::fs::read(real).unwrap()
}

/// This machine's glibc version, as `getconf` reports it ("2.36").
pub fn host_glibc() -> String {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .trim_start_matches("glibc ")
        .to_string()
}

/// A small program: what a `python3.11` or any other executable needs to be for the audit.
pub const MAIN: &str = "int main(void) { return 0; }\n";

/// An extension module's usual code: a function using libc.
pub const EXTENSION: &str =
    "#include <string.h>\nint ext_len(const char *s) { return (int)strlen(s); }\n";

/// The loader facts `readelf -d -V` prints (from the section headers, where pydive reads the
/// dynamic segment): NEEDED, SONAME, RPATH, RUNPATH, the versions needed from each library and
/// the versions defined. `from_info` gives pydive's in the same shape.
#[derive(Debug, PartialEq, Eq)]
pub struct Readelf {
    pub needed: Vec<String>,
    pub soname: Option<String>,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    pub needs: Vec<(String, Vec<String>)>,
    pub defines: Vec<String>,
}

impl Readelf {
    /// What readelf says of a file.
    pub fn of(path: &Path) -> Readelf {
        let out = Command::new("readelf")
            .args(["-d", "-V", "-W"])
            .arg(path)
            .output()
            .expect("readelf");
        let text = String::from_utf8_lossy(&out.stdout);
        let bracketed = |line: &str| {
            let start = line.find('[')? + 1;
            let end = line.rfind(']')?;
            Some(line[start..end].to_string())
        };
        let paths = |s: String| -> Vec<String> {
            s.split(':')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut r = Readelf {
            needed: Vec::new(),
            soname: None,
            rpath: Vec::new(),
            runpath: Vec::new(),
            needs: Vec::new(),
            defines: Vec::new(),
        };
        let mut section = "";
        for line in text.lines() {
            if line.starts_with("Version needs section") {
                section = "needs";
            } else if line.starts_with("Version definition section") {
                section = "defines";
            } else if line.starts_with("Version symbols section") {
                section = "";
            }
            if line.contains("(NEEDED)") {
                r.needed.extend(bracketed(line));
            } else if line.contains("(SONAME)") {
                r.soname = bracketed(line);
            } else if line.contains("(RPATH)") {
                r.rpath
                    .extend(bracketed(line).map(paths).unwrap_or_default());
            } else if line.contains("(RUNPATH)") {
                r.runpath
                    .extend(bracketed(line).map(paths).unwrap_or_default());
            } else if section == "needs" && line.contains(" File: ") {
                let file = line.split(" File: ").nth(1).unwrap();
                let file = file.split("  Cnt:").next().unwrap().trim();
                r.needs.push((file.to_string(), Vec::new()));
            } else if section == "needs" && line.contains(" Name: ") {
                let name = line.split(" Name: ").nth(1).unwrap();
                let name = name.split("  Flags:").next().unwrap().trim();
                r.needs.last_mut().unwrap().1.push(name.to_string());
            } else if section == "defines" && line.contains(" Name: ") {
                let name = line.split(" Name: ").nth(1).unwrap().trim();
                r.defines.push(name.to_string());
            }
        }
        for (_, versions) in &mut r.needs {
            versions.sort();
            versions.dedup();
        }
        r
    }

    /// pydive's facts in the same shape.
    pub fn from_info(info: &pydive::layer::elf::ElfInfo) -> Readelf {
        Readelf {
            needed: info.needed.clone(),
            soname: info.soname.clone(),
            rpath: info.rpath.clone(),
            runpath: info.runpath.clone(),
            needs: info
                .needs
                .iter()
                .map(|n| (n.library.clone(), n.versions.keys().cloned().collect()))
                .collect(),
            defines: info.defines.clone(),
        }
    }
}

/// A file's facts read three ways: whole, captured as a stream passes (in 64 KiB chunks,
/// keeping what the capture plan keeps; once more with everything speculated compressed), and
/// read at offsets as from a seekable layer. Panics unless all agree.
pub fn facts_three_ways(bytes: &[u8]) -> Result<pydive::layer::elf::ElfInfo, String> {
    use pydive::layer::elf;
    let limit = pydive::limits::Limits::default().elf_capture;
    let whole = elf::parse(bytes);
    let stream = |mut capture: elf::Capture| {
        for chunk in bytes.chunks(64 * 1024) {
            if !capture.wants_stream() {
                break;
            }
            capture.push(chunk);
        }
        capture.parse()
    };
    let size = bytes.len() as u64;
    let streamed = stream(elf::Capture::new(size, limit));
    // Streamed again with every speculated byte compressed until the plan is made.
    let packed = stream(elf::Capture::with_raw_speculation(size, limit, 0));
    let at = elf::ReadAt::new(bytes.len() as u64, limit, |at, buf: &mut [u8]| {
        buf.copy_from_slice(&bytes[at as usize..at as usize + buf.len()]);
        Ok(())
    });
    let seekable = elf::parse_from(&at);
    // Compared without printing: a library's facts run to megabytes.
    let shape = |r: &Result<elf::ElfInfo, String>| {
        r.as_ref().map(Readelf::from_info).map_err(String::clone)
    };
    assert!(
        whole == streamed,
        "whole vs streamed: {:?} / {:?}",
        shape(&whole),
        shape(&streamed)
    );
    assert!(
        whole == packed,
        "whole vs streamed with compressed speculation: {:?} / {:?}",
        shape(&whole),
        shape(&packed)
    );
    assert!(
        whole == seekable,
        "whole vs seekable: {:?} / {:?}",
        shape(&whole),
        shape(&seekable)
    );
    whole
}

/// Downloads real PyPI wheels (binary only, no dependencies) for `platforms` and a Python
/// version into `dir` with pip: auditwheel-repaired files, as users install them.
pub fn pip_download_wheels(dir: &Path, platforms: &[&str], python: &str, specs: &[&str]) {
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "download",
        "-q",
        "--only-binary=:all:",
        "--no-deps",
    ]);
    for platform in platforms {
        pip.args(["--platform", platform]);
    }
    let status = pip
        .args(["--python-version", python, "-d"])
        .arg(dir)
        .args(specs)
        .status()
        .unwrap();
    assert!(status.success(), "pip download {specs:?} for {platforms:?}");
}

/// Real wheels for Python 3.11 on `platforms`, downloaded once with pip into
/// `target/test-downloads/CACHE`, and their shared objects unpacked into `CACHE/unpacked`;
/// returns that directory and the objects' paths inside the wheels (which are their paths in
/// site-packages).
pub fn wheel_shared_objects(
    cache: &str,
    platforms: &[&str],
    specs: &[&str],
) -> (PathBuf, Vec<String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-downloads")
        .join(cache);
    std::fs::create_dir_all(&dir).unwrap();
    let have = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "whl"))
        .count();
    if have < specs.len() {
        pip_download_wheels(&dir, platforms, "3.11", specs);
    }
    let listing = Command::new("python3")
        .arg("-c")
        .arg("import sys, zipfile, pathlib\nout = pathlib.Path(sys.argv[1]) / 'unpacked'\nfor w in sorted(pathlib.Path(sys.argv[1]).glob('*.whl')):\n    z = zipfile.ZipFile(w)\n    for n in z.namelist():\n        if n.endswith('.so') or '.so.' in n:\n            z.extract(n, out)\n            print(n)\n")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(listing.status.success(), "unpacking the wheels in {dir:?}");
    let names = String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    (dir.join("unpacked"), names)
}
