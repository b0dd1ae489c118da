//! The README against the repository: its test command is the one CI runs (`./.ci/run`, which
//! runs every test binary through nextest's `ci` profile), its table of `ext_` test binaries
//! names every one there is, tests that need more than the Rust and C toolchains live in those
//! binaries, and its links stay inside the repository and lead somewhere.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The commands of the README's first code block, without their comments.
fn first_code_block_commands(readme: &str) -> Vec<String> {
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README opens with a sh code block");
    block
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The lines of a shell script that run something, without comments and blank lines.
fn script_commands(script: &str) -> Vec<&str> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn the_readme_test_command_is_what_ci_runs() {
    let commands = first_code_block_commands(&read("README.md"));
    assert!(
        commands.iter().any(|c| c == "./.ci/run"),
        "the README's first code block must give ./.ci/run as the test command: {commands:?}"
    );
    assert!(
        !commands
            .iter()
            .any(|c| c.starts_with("cargo nextest") || c.starts_with("cargo test")),
        "the README's first code block must not offer a test command that skips set-up: {commands:?}"
    );

    // CI runs `bash .ci/run`; people run `./.ci/run`, so it must be executable.
    let mode = std::fs::metadata(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run"))
        .unwrap()
        .permissions();
    assert_ne!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111,
        0,
        ".ci/run must be executable"
    );

    let script = read(".ci/run");
    let runs: Vec<&str> = script_commands(&script)
        .into_iter()
        .filter(|l| l.contains("cargo nextest") || l.contains("cargo test"))
        .collect();
    assert_eq!(
        runs,
        ["cargo nextest run --profile ci"],
        ".ci/run must run the suite once, with the ci profile"
    );
    assert_eq!(
        script_commands(&script).last(),
        Some(&"cargo nextest run --profile ci"),
        "the suite is the last thing .ci/run does, so its exit code is the run's"
    );
}

#[test]
fn the_ci_profile_runs_every_test_and_the_default_one_leaves_out_ext_binaries() {
    let config = read(".config/nextest.toml");
    let profile = |name: &str| -> String {
        let header = format!("[profile.{name}]\n");
        let start = config
            .find(&header)
            .unwrap_or_else(|| panic!("no [profile.{name}] in .config/nextest.toml"));
        let body = &config[start + header.len()..];
        body[..body.find("\n[").unwrap_or(body.len())].to_string()
    };
    assert!(
        profile("ci").contains("default-filter = \"all()\""),
        "{}",
        profile("ci")
    );
    assert!(
        profile("default").contains("default-filter = \"not (binary(/^ext_/) & test(/./))\""),
        "{}",
        profile("default")
    );
}

fn ext_binaries() -> BTreeSet<String> {
    std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| {
            name.strip_suffix(".rs")
                .filter(|stem| stem.starts_with("ext_"))
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn every_ext_binary_has_its_row_in_the_readme_and_names_its_tools() {
    let readme = read("README.md");
    let rows: BTreeSet<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `ext_"))
        .filter_map(|l| l.split('`').next())
        .map(|stem| format!("ext_{stem}"))
        .collect();
    let files = ext_binaries();
    assert!(!files.is_empty());
    assert_eq!(
        rows, files,
        "the README's table of test binaries and tests/ext_*.rs differ"
    );
    for stem in &files {
        let source = read(&format!("tests/{stem}.rs"));
        let doc: String = source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .collect();
        assert!(
            doc.contains("Needs "),
            "tests/{stem}.rs: its //! comment must say what it needs (\"Needs ...\")"
        );
        assert!(
            source.contains("need("),
            "tests/{stem}.rs: get each tool through common::services::need"
        );
    }
}

#[test]
fn tests_that_need_more_than_the_rust_and_c_toolchains_are_in_ext_binaries() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".rs") || name.starts_with("ext_") || name == "readme.rs" {
            continue;
        }
        let source = read(&format!("tests/{name}"));
        for tool in ["need(", "MUSL", "ZIG", "AARCH64", "toolchain("] {
            assert!(
                !source.contains(tool),
                "tests/{name} uses {tool}: a test that needs a tool beyond the Rust and C \
                 toolchains belongs in a tests/ext_*.rs binary"
            );
        }
    }
}

#[test]
fn the_readme_links_stay_inside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in ["README.md", "docs/architecture.md"] {
        let text = read(doc);
        let base = Path::new(doc).parent().unwrap();
        for target in text.split("](").skip(1).filter_map(|t| t.split(')').next()) {
            let mut path = PathBuf::new();
            for part in base.join(target.split('#').next().unwrap()).components() {
                match part {
                    Component::Normal(name) => path.push(name),
                    Component::ParentDir if path.pop() => {}
                    _ => panic!("{doc} links outside the repository: {target}"),
                }
            }
            assert!(
                !target.contains("://"),
                "{doc} links outside the repository: {target}"
            );
            // Written by the benchmark when it is run.
            if path == Path::new("benches/RESULTS.md") {
                continue;
            }
            assert!(
                root.join(&path).exists(),
                "{doc} links to {target}, which is not there"
            );
        }
    }
}
