//! Real Debian packages for test images: `apt-get download`ed once into
//! `target/test-downloads/debs` (the machine's apt lists must be there: `.ci/run` updates
//! them), unpacked with `dpkg-deb` into fixture layers at the paths dpkg would give them on a
//! merged-/usr system, with the `status` stanzas and `info/<package>.list` file lists dpkg
//! itself writes from the package's control data and contents.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pydive::fixture::{Content, Entry, Layer};

fn run(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-downloads/debs");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What `apt-get install --no-install-recommends` would install for `wanted` on a system
/// whose dpkg status is `status` (empty for a system with nothing installed), in apt's order.
pub fn apt_plan(wanted: &[&str], status: &str) -> Result<Vec<String>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("status");
    std::fs::write(&file, status).map_err(|e| e.to_string())?;
    let out = run(Command::new("apt-get")
        .args(["-s", "-o", "APT::Install-Recommends=false", "-o"])
        .arg(format!("Dir::State::status={}", file.display()))
        .arg("install")
        .args(wanted))?;
    let plan: Vec<String> = String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    if plan.is_empty() {
        return Err(format!(
            "apt-get plans nothing for {wanted:?}: are the apt lists there (apt-get update)?"
        ));
    }
    Ok(plan)
}

/// The `.deb` files of these packages, downloaded once.
pub fn download(names: &[String]) -> Result<Vec<PathBuf>, String> {
    let dir = cache_dir();
    let cached = |name: &str| -> Option<PathBuf> {
        let prefix = format!("{}_", name.replace(':', "%3a"));
        std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                let f = p.file_name().unwrap_or_default().to_string_lossy();
                f.starts_with(&prefix) && f.ends_with(".deb")
            })
    };
    let missing: Vec<&String> = names.iter().filter(|n| cached(n).is_none()).collect();
    if !missing.is_empty() {
        // Into a private directory first, so a concurrent test never sees half a file.
        let staging = tempfile::tempdir_in(&dir).map_err(|e| e.to_string())?;
        run(Command::new("apt-get")
            .arg("download")
            .args(&missing)
            .current_dir(staging.path()))?;
        for entry in std::fs::read_dir(staging.path()).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let to = dir.join(path.file_name().unwrap());
            std::fs::rename(&path, &to).map_err(|e| e.to_string())?;
        }
    }
    names
        .iter()
        .map(|n| cached(n).ok_or_else(|| format!("apt-get download gave no .deb for {n}")))
        .collect()
}

/// One unpacked package.
pub struct Deb {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub multi_arch_same: bool,
    /// Its control file, as `dpkg-deb --field` prints it.
    pub control: String,
    /// Its contents as layer entries, at merged-/usr paths.
    pub entries: Vec<Entry>,
    /// What dpkg writes to `info/<package>.list`.
    pub list: String,
    /// Bytes of its regular files as `dpkg-deb --contents` lists them (hard links 0).
    pub listed_bytes: u64,
    /// Members of its data archive (files, directories, links).
    pub members: u64,
}

/// Where dpkg puts a path on a merged-/usr system: `/lib/x` is `/usr/lib/x` through the
/// `/lib -> usr/lib` symlink.
fn merged(path: &str) -> String {
    for top in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
        if path == top || path.starts_with(&format!("{top}/")) {
            return format!("usr/{path}");
        }
    }
    path.to_string()
}

impl Deb {
    pub fn open(path: &Path) -> Result<Deb, String> {
        let control =
            String::from_utf8_lossy(&run(Command::new("dpkg-deb").arg("--field").arg(path))?)
                .into_owned();
        let field = |key: &str| -> String {
            control
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let tar = run(Command::new("dpkg-deb").arg("--fsys-tarfile").arg(path))?;
        let mut archive = tar::Archive::new(&tar[..]);
        let mut entries = Vec::new();
        let mut list = vec!["/.".to_string()];
        for member in archive.entries().map_err(|e| e.to_string())? {
            let mut member = member.map_err(|e| e.to_string())?;
            let raw = String::from_utf8_lossy(&member.path_bytes()).into_owned();
            let rel = raw
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            if rel.is_empty() || rel == "." {
                continue;
            }
            list.push(format!("/{rel}"));
            let at = merged(&rel).into_bytes();
            let header = member.header();
            let mode = header.mode().unwrap_or(0o644);
            let kind = header.entry_type();
            let link = member
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned());
            let entry = match kind {
                tar::EntryType::Directory => Entry::Dir { path: at, mode },
                tar::EntryType::Regular => {
                    let mut bytes = Vec::new();
                    member.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
                    Entry::File {
                        path: at,
                        content: Content::Bytes(bytes),
                        mode,
                    }
                }
                tar::EntryType::Symlink => Entry::symlink(at, link.unwrap_or_default()),
                tar::EntryType::Link => {
                    let target = link.unwrap_or_default();
                    Entry::hardlink(at, merged(target.trim_start_matches("./")))
                }
                other => {
                    return Err(format!(
                        "{}: unexpected member type {other:?}",
                        path.display()
                    ));
                }
            };
            entries.push(entry);
        }
        let contents =
            String::from_utf8_lossy(&run(Command::new("dpkg-deb").arg("--contents").arg(path))?)
                .into_owned();
        // `-rw-r--r-- root/root   1234 2023-01-01 00:00 ./usr/bin/x`
        let listed_bytes = contents
            .lines()
            .filter(|l| l.starts_with('-'))
            .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
            .sum();
        Ok(Deb {
            name: field("Package"),
            version: field("Version"),
            architecture: field("Architecture"),
            multi_arch_same: field("Multi-Arch") == "same",
            members: list.len() as u64 - 1,
            control,
            entries,
            list: list.join("\n") + "\n",
            listed_bytes,
        })
    }

    /// Its stanza in dpkg's `status`: the control fields with the `Status` dpkg adds.
    pub fn status_stanza(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.control.lines().enumerate() {
            out.push_str(line);
            out.push('\n');
            if i == 0 {
                out.push_str("Status: install ok installed\n");
            }
        }
        out
    }

    /// The name of its file list in `var/lib/dpkg/info`.
    pub fn list_name(&self) -> String {
        if self.multi_arch_same {
            format!("{}:{}.list", self.name, self.architecture)
        } else {
            format!("{}.list", self.name)
        }
    }
}

/// Downloads and unpacks packages.
pub fn debs(names: &[String]) -> Result<Vec<Deb>, String> {
    download(names)?.iter().map(|p| Deb::open(p)).collect()
}

/// The `status` file listing these packages.
pub fn status(installed: &[&Deb]) -> String {
    installed
        .iter()
        .map(|d| d.status_stanza())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The layer an `apt-get install` of `new` writes when `installed` (which includes `new`) is
/// what is installed afterwards: the packages' files, each one's `.list`, the new `status`,
/// and apt's `extended_states` marking `auto` (the packages installed only as dependencies so
/// far) when there are any. Directories several packages share are written once.
pub fn install_layer(step: &str, new: &[&Deb], installed: &[&Deb], auto: &[&Deb]) -> Layer {
    let mut dirs = BTreeSet::new();
    let mut entries = Vec::new();
    for deb in new {
        for entry in &deb.entries {
            if let Entry::Dir { path, .. } = entry {
                if !dirs.insert(path.clone()) {
                    continue;
                }
            }
            entries.push(entry.clone());
        }
    }
    for dir in ["var", "var/lib", "var/lib/dpkg", "var/lib/dpkg/info"] {
        if dirs.insert(dir.as_bytes().to_vec()) {
            entries.push(Entry::dir(dir));
        }
    }
    for deb in new {
        entries.push(Entry::file(
            format!("var/lib/dpkg/info/{}", deb.list_name()),
            &deb.list,
        ));
    }
    entries.push(Entry::file("var/lib/dpkg/status", status(installed)));
    if !auto.is_empty() {
        for dir in ["var/lib/apt"] {
            if dirs.insert(dir.as_bytes().to_vec()) {
                entries.push(Entry::dir(dir));
            }
        }
        let states: Vec<String> = auto
            .iter()
            .map(|d| {
                format!(
                    "Package: {}\nArchitecture: {}\nAuto-Installed: 1\n",
                    d.name, d.architecture
                )
            })
            .collect();
        entries.push(Entry::file(
            "var/lib/apt/extended_states",
            states.join("\n"),
        ));
    }
    Layer::new(step, entries)
}

/// What `dpkg-query` says each package's Installed-Size is (KiB), reading this status file.
pub fn dpkg_query_sizes(status: &str) -> Result<Vec<(String, u64)>, String> {
    let admin = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(admin.path().join("status"), status).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(admin.path().join("info")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(admin.path().join("updates")).map_err(|e| e.to_string())?;
    let out = run(Command::new("dpkg-query")
        .arg(format!("--admindir={}", admin.path().display()))
        .args(["-W", "-f", "${Package} ${Installed-Size}\\n"]))?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| {
            let (name, kib) = l.split_once(' ')?;
            Some((name.to_string(), kib.trim().parse().ok()?))
        })
        .collect())
}

/// A merged-/usr Debian root filesystem, as `ADD file:... in /` of a Debian image puts it:
/// the top-level symlinks, os-release and these packages installed.
pub fn rootfs_layer(debs: &[Deb]) -> Layer {
    let refs: Vec<&Deb> = debs.iter().collect();
    let mut layer = install_layer(
        "/bin/sh -c #(nop) ADD file:7a4ee1c4b0d6 in / ",
        &refs,
        &refs,
        &[],
    );
    let mut top = vec![
        Entry::dir("usr"),
        Entry::dir("usr/bin"),
        Entry::dir("usr/sbin"),
        Entry::dir("usr/lib"),
        Entry::dir("usr/lib64"),
        Entry::symlink("bin", "usr/bin"),
        Entry::symlink("sbin", "usr/sbin"),
        Entry::symlink("lib", "usr/lib"),
        Entry::symlink("lib64", "usr/lib64"),
        Entry::dir("etc"),
        Entry::file(
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        ),
    ];
    // A tar with a path twice is one `docker load` refuses: the packages' own entries for
    // these directories go.
    let ours: BTreeSet<Vec<u8>> = top
        .iter()
        .filter_map(|e| match e {
            Entry::Dir { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect();
    top.extend(
        std::mem::take(&mut layer.entries)
            .into_iter()
            .filter(|e| !matches!(e, Entry::Dir { path, .. } if ours.contains(path))),
    );
    layer.entries = top;
    layer
}
