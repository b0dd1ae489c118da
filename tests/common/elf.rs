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
