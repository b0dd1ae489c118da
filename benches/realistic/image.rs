//! The benchmark image: what a team shipping Python in a container really builds, made with
//! the fixture builder from real Debian packages and real wheels (downloaded once, cached under
//! `target/bench-downloads/`) plus generated application files. Ten layers: a Debian base, an
//! apt layer with compilers and its package cache, a pip layer with its cache, a second
//! environment, the application with vendored libraries patched the way auditwheel leaves
//! them, a build tree, an upgrade that overwrites and deletes, and removals in later layers.
//!
//! The same image is written as a `docker save` archive (plain tar layers), as OCI layouts
//! with gzip and zstd layers, and, with plain layers, beside the three larger images of the
//! memory series (twice the files, then twice the bytes, then a 500 MB shared library).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use pydive::fixture::{Entry, Image, Layer, Layout};

use crate::Scale;

/// What `apt-get purge --auto-remove` of the compilers removes again in a later layer.
const PURGED: &[&str] = &[
    "gcc-12",
    "g++-12",
    "cpp-12",
    "libgcc-12-dev",
    "libstdc++-12-dev",
    "binutils",
    "binutils-x86-64-linux-gnu",
    "libasan8",
    "libtsan2",
    "libubsan1",
    "liblsan0",
];

const SITE: &str = "usr/local/lib/python3.11/dist-packages";
const VENV: &str = "opt/venv";
const VENV_SITE: &str = "opt/venv/lib/python3.11/site-packages";

/// Where the downloads and their unpacked trees live.
pub struct Cache {
    pub dir: PathBuf,
}

impl Cache {
    fn debs(&self) -> PathBuf {
        self.dir.join("debs")
    }
    fn wheels(&self) -> PathBuf {
        self.dir.join("wheels")
    }
    fn unpacked(&self) -> PathBuf {
        self.dir.join("unpacked")
    }
}

/// One layer's files by image path, later declarations winning, as a layer built by several
/// commands would hold them.
#[derive(Default)]
struct Files(BTreeMap<Vec<u8>, Entry>);

impl Files {
    fn put(&mut self, entry: Entry) {
        let path = entry_path(&entry).to_vec();
        // Every member's parent directories are in the layer too, as real layers have them.
        let mut at = 0;
        while let Some(i) = path[at..].iter().position(|&b| b == b'/') {
            let dir = path[..at + i].to_vec();
            self.0.entry(dir.clone()).or_insert_with(|| Entry::dir(dir));
            at += i + 1;
        }
        self.0.insert(path, entry);
    }

    fn into_layer(self, created_by: &str) -> Layer {
        Layer::new(created_by, self.0.into_values().collect())
    }
}

fn entry_path(entry: &Entry) -> &[u8] {
    match entry {
        Entry::Dir { path, .. }
        | Entry::File { path, .. }
        | Entry::Symlink { path, .. }
        | Entry::Hardlink { path, .. }
        | Entry::Fifo { path }
        | Entry::CharDevice { path, .. }
        | Entry::Whiteout { path }
        | Entry::Sparse { path, .. } => path,
        Entry::Opaque { dir } => dir,
        // A hand-made header, which the benchmark image never declares.
        Entry::Raw { .. } => &[],
    }
}

/// Adds a directory tree from disk under `prefix`: files read while writing, symlinks as
/// symlinks, a second name of the same inode as a hard link (as tar and docker do).
fn add_tree(files: &mut Files, root: &Path, prefix: &str) -> Result<Vec<String>> {
    let mut added = Vec::new();
    let mut inodes: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut names: Vec<_> = fs::read_dir(&dir)?.collect::<io::Result<_>>()?;
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let disk = e.path();
            let rel = disk.strip_prefix(root)?.to_string_lossy().into_owned();
            let path = join(prefix, &rel);
            let meta = fs::symlink_metadata(&disk)?;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&disk)?;
                files.put(Entry::symlink(&path, target.to_string_lossy().as_bytes()));
            } else if meta.is_dir() {
                files.put(Entry::dir(&path));
                stack.push(disk);
            } else if meta.is_file() {
                if meta.nlink() > 1 {
                    if let Some(first) = inodes.get(&(meta.dev(), meta.ino())) {
                        files.put(Entry::hardlink(&path, first));
                        added.push(path);
                        continue;
                    }
                    inodes.insert((meta.dev(), meta.ino()), path.clone().into_bytes());
                }
                files.put(Entry::from_disk(&path, &disk)?);
                added.push(path);
            }
        }
    }
    Ok(added)
}

fn join(prefix: &str, rel: &str) -> String {
    match (prefix.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_string(),
        (_, true) => prefix.to_string(),
        _ => format!("{prefix}/{rel}"),
    }
}

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `(group, package)` lines of `debs.txt` or `(target, spec)` lines of `wheels.txt`.
fn list(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| {
            let mut words = l.split_whitespace();
            let group = words.next().unwrap_or_default().to_string();
            words.map(move |w| (group.clone(), w.to_string()))
        })
        .collect()
}

/// A Debian package: downloaded once by name (whatever version the archive has), unpacked
/// with `dpkg-deb -x`.
pub struct Deb {
    pub group: String,
    pub name: String,
    pub version: String,
    pub file: PathBuf,
    pub tree: PathBuf,
}

fn debs(cache: &Cache, scale: Scale) -> Result<Vec<Deb>> {
    let dir = cache.debs();
    fs::create_dir_all(&dir)?;
    let mut out = Vec::new();
    let mut per_group: HashMap<String, usize> = HashMap::new();
    for (group, name) in list(include_str!("debs.txt")) {
        let n = per_group.entry(group.clone()).or_default();
        *n += 1;
        if scale == Scale::Small && *n > 8 {
            continue;
        }
        let find = || -> Result<Option<PathBuf>> {
            for e in fs::read_dir(&dir)? {
                let path = e?.path();
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                if file.ends_with(".deb") && file.starts_with(&format!("{name}_")) {
                    return Ok(Some(path));
                }
            }
            Ok(None)
        };
        let file = match find()? {
            Some(file) => file,
            None => {
                eprintln!("downloading {name}.deb");
                run(Command::new("apt-get")
                    .args(["download", "-q", &name])
                    .current_dir(&dir))
                .context("apt-get download (run `apt-get update` first?)")?;
                find()?.with_context(|| format!("apt-get download {name} left no file"))?
            }
        };
        let version = run(Command::new("dpkg-deb")
            .args(["-f"])
            .arg(&file)
            .arg("Version"))?
        .trim()
        .to_string();
        let tree = cache.unpacked().join(format!("deb-{name}-{version}"));
        if !tree.exists() {
            let tmp = tree.with_extension("partial");
            let _ = fs::remove_dir_all(&tmp);
            fs::create_dir_all(&tmp)?;
            run(Command::new("dpkg-deb").arg("-x").arg(&file).arg(&tmp))?;
            fs::rename(&tmp, &tree)?;
        }
        out.push(Deb {
            group,
            name,
            version,
            file,
            tree,
        });
    }
    Ok(out)
}

/// A wheel: downloaded once by its pinned spec, unpacked as pip would install it.
pub struct Wheel {
    pub target: String,
    pub spec: String,
    pub file: PathBuf,
    pub tree: PathBuf,
}

const SMALL_WHEELS: &[&str] = &["numpy", "six", "packaging", "tzdata", "pytz"];

fn wheels(cache: &Cache, scale: Scale) -> Result<Vec<Wheel>> {
    let dir = cache.wheels();
    fs::create_dir_all(&dir)?;
    let mut out = Vec::new();
    for (target, spec) in list(include_str!("wheels.txt")) {
        let (name, version) = spec
            .split_once("==")
            .context("wheels.txt: pin every wheel")?;
        if scale == Scale::Small && !SMALL_WHEELS.contains(&name) {
            continue;
        }
        // Wheel file names spell the project with underscores.
        let stem = format!("{}-{version}-", name.replace('-', "_"));
        let find = || -> Result<Option<PathBuf>> {
            for e in fs::read_dir(&dir)? {
                let path = e?.path();
                let file = path.file_name().unwrap().to_string_lossy().to_lowercase();
                if file.ends_with(".whl") && file.starts_with(&stem) {
                    return Ok(Some(path));
                }
            }
            Ok(None)
        };
        let file = match find()? {
            Some(file) => file,
            None => {
                eprintln!("downloading {spec}");
                run(Command::new("python3")
                    .args(["-m", "pip", "download", "--quiet", "--no-deps"])
                    .args(["--only-binary=:all:", "--platform", "manylinux2014_x86_64"])
                    .args(["--python-version", "3.11", "-d"])
                    .arg(&dir)
                    .arg(&spec))?;
                find()?.with_context(|| format!("pip download {spec} left no wheel"))?
            }
        };
        let tree = cache.unpacked().join(format!("whl-{name}-{version}"));
        if !tree.exists() {
            let tmp = tree.with_extension("partial");
            let _ = fs::remove_dir_all(&tmp);
            fs::create_dir_all(&tmp)?;
            run(Command::new("python3")
                .args(["-m", "zipfile", "-e"])
                .arg(&file)
                .arg(&tmp))?;
            fs::rename(&tmp, &tree)?;
        }
        out.push(Wheel {
            target,
            spec,
            file,
            tree,
        });
    }
    Ok(out)
}

/// Installs a wheel's tree under `site` the way pip does: the files, `__pycache__/*.pyc` for
/// every module, and INSTALLER in the dist-info.
fn install_wheel(files: &mut Files, wheel: &Wheel, site: &str) -> Result<Vec<String>> {
    let added = add_tree(files, &wheel.tree, site)?;
    let mut seed = 0u64;
    for path in &added {
        if let Some(module) = path.strip_suffix(".py") {
            let (dir, stem) = module.rsplit_once('/').unwrap_or(("", module));
            let size = fs::metadata(wheel.tree.join(&path[site.len() + 1..]))?.len();
            seed += 1;
            files.put(Entry::text_len(
                format!("{dir}/__pycache__/{stem}.cpython-311.pyc"),
                size * 4 / 5 + 200,
                seed ^ size,
            ));
        }
        if path.ends_with(".dist-info/RECORD") {
            let dist_info = path.strip_suffix("/RECORD").unwrap();
            files.put(Entry::file(format!("{dist_info}/INSTALLER"), "pip\n"));
        }
    }
    Ok(added)
}

/// ELF libraries of the build layer copied into the application's `vendor/` and given an
/// RPATH with patchelf, which moves their dynamic string table and dynamic section into a new
/// PT_LOAD segment at the end of the file, as auditwheel's repair does.
fn vendored_libs(cache: &Cache, debs: &[&Deb], limit: usize) -> Result<Vec<(String, PathBuf)>> {
    let out_dir = cache.dir.join("vendored");
    fs::create_dir_all(&out_dir)?;
    let mut chosen = Vec::new();
    for deb in debs {
        let lib = deb.tree.join("usr/lib/x86_64-linux-gnu");
        let Ok(read) = fs::read_dir(&lib) else {
            continue;
        };
        let mut names: Vec<_> = read.collect::<io::Result<_>>()?;
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = e.file_name().to_string_lossy().into_owned();
            // Vendored libraries are the small and middling ones (libgfortran, libssl, ...).
            let small = e.metadata()?.len() < 8 << 20;
            if name.contains(".so.") && e.file_type()?.is_file() && small && is_elf(&e.path())? {
                chosen.push((name, e.path()));
            }
        }
    }
    chosen.truncate(limit);
    let mut out = Vec::new();
    for (name, from) in chosen {
        let to = out_dir.join(&name);
        if !to.exists() {
            let tmp = out_dir.join(format!("{name}.partial"));
            fs::copy(&from, &tmp)?;
            run(Command::new("patchelf")
                .args(["--set-rpath", "$ORIGIN/../vendor.libs:$ORIGIN"])
                .arg(&tmp))
            .context("patchelf (apt-get install patchelf)")?;
            fs::rename(&tmp, &to)?;
        }
        out.push((name, to));
    }
    Ok(out)
}

fn is_elf(path: &Path) -> Result<bool> {
    let mut head = [0u8; 4];
    let n = fs::File::open(path)?.read(&mut head)?;
    Ok(n == 4 && head == *b"\x7fELF")
}

/// A shared library of `size` bytes: a real `cc -shared` build whose read-only data is
/// `size` bytes of pseudo-random content, then patched like the vendored libraries.
pub fn huge_library(dir: &Path, size: u64) -> Result<PathBuf> {
    let out = dir.join(format!("libhuge-{size}.so"));
    if out.exists() {
        return Ok(out);
    }
    fs::create_dir_all(dir)?;
    let data = dir.join("huge.bin");
    let content = pydive::fixture::Content::Pattern { len: size, seed: 5 };
    io::copy(&mut content.reader(), &mut fs::File::create(&data)?)?;
    let asm = dir.join("huge.S");
    fs::write(
        &asm,
        format!(
            ".section .rodata.huge,\"a\"\n.globl huge_data\nhuge_data:\n.incbin \"{}\"\n.section .note.GNU-stack,\"\",@progbits\n",
            data.display()
        ),
    )?;
    let c = dir.join("huge.c");
    fs::write(
        &c,
        "extern const char huge_data[];\nint huge_byte(long i) { return huge_data[i]; }\n",
    )?;
    let tmp = dir.join("libhuge.partial");
    run(Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&tmp)
        .arg(&c)
        .arg(&asm))?;
    run(Command::new("patchelf")
        .args(["--set-rpath", "$ORIGIN/../huge.libs"])
        .arg(&tmp))?;
    fs::remove_file(&data)?;
    fs::rename(&tmp, &out)?;
    Ok(out)
}

/// What the image was built from, for RESULTS.md.
pub struct Sources {
    pub debs: Vec<(String, String)>,
    pub wheels: Vec<String>,
}

/// Declares the benchmark image.
pub fn declare(cache: &Cache, scale: Scale) -> Result<(Image, Sources)> {
    let debs = debs(cache, scale)?;
    let wheels = wheels(cache, scale)?;
    let k: u64 = if scale == Scale::Small { 20 } else { 1 };
    let mut layers = Vec::new();

    // 0: the distribution's root filesystem.
    let mut base = Files::default();
    for deb in debs.iter().filter(|d| d.group == "base") {
        add_tree(&mut base, &deb.tree, "")?;
    }
    layers.push(base.into_layer("ADD rootfs.tar.xz / # debian:bookworm-slim"));

    // 1: apt: Python, compilers, headers, libraries; the downloaded packages and the
    // package lists stay behind.
    let mut apt = Files::default();
    let mut purged = Vec::new();
    for deb in debs.iter().filter(|d| d.group == "build") {
        let added = add_tree(&mut apt, &deb.tree, "")?;
        if PURGED.contains(&deb.name.as_str()) {
            purged.extend(added);
        }
        let archive = deb.file.file_name().unwrap().to_string_lossy().into_owned();
        apt.put(Entry::from_disk(
            format!("var/cache/apt/archives/{archive}"),
            &deb.file,
        )?);
    }
    for (i, list) in [
        "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
        "deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages",
        "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages",
        "deb.debian.org_debian_dists_bookworm_InRelease",
    ]
    .iter()
    .enumerate()
    {
        apt.put(Entry::text_len(
            format!("var/lib/apt/lists/{list}"),
            [45_000_000, 400_000, 900_000, 150_000][i] / k,
            10 + i as u64,
        ));
    }
    layers.push(apt.into_layer(
        "RUN apt-get update && apt-get install -y python3.11-dev python3-pip build-essential git libpq-dev libopenblas-dev",
    ));

    // 2: pip, into the system's dist-packages, with its cache of the downloaded wheels.
    let mut pip = Files::default();
    let mut old_numpy = Vec::new();
    for wheel in wheels.iter().filter(|w| w.target == "site") {
        let added = install_wheel(&mut pip, wheel, SITE)?;
        if wheel.spec.starts_with("numpy==") {
            old_numpy = added;
        }
        let hash = sha_hex(wheel.file.file_name().unwrap().as_encoded_bytes());
        pip.put(Entry::from_disk(
            format!(
                "root/.cache/pip/http-v2/{}/{}/{}/{}/{}/{}.body",
                &hash[0..1],
                &hash[1..2],
                &hash[2..3],
                &hash[3..4],
                &hash[4..5],
                &hash[5..61]
            ),
            &wheel.file,
        )?);
    }
    pip.put(Entry::text_len(
        "root/.cache/pip/selfcheck/2b0d7c1a.json",
        200,
        3,
    ));
    layers.push(pip.into_layer("RUN pip install --break-system-packages -r requirements.txt"));

    // 3: a second environment, for a tool pinned to older versions.
    let mut venv = Files::default();
    venv.put(Entry::symlink(
        format!("{VENV}/bin/python"),
        "/usr/bin/python3.11",
    ));
    venv.put(Entry::symlink(format!("{VENV}/bin/python3"), "python"));
    venv.put(Entry::file(
        format!("{VENV}/pyvenv.cfg"),
        "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n",
    ));
    for wheel in wheels.iter().filter(|w| w.target == "venv") {
        install_wheel(&mut venv, wheel, VENV_SITE)?;
    }
    layers.push(
        venv.into_layer("RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install -r tools.txt"),
    );

    // 4: the application: many small sources, templates and assets, a model file, and
    // vendored libraries laid out the way auditwheel leaves them.
    let mut app = Files::default();
    let kinds: [(&str, usize, u64); 6] = [
        ("src/service/mod{}/handlers.py", 6000, 9_000),
        ("src/service/mod{}/schema.json", 2000, 4_000),
        ("static/js/chunk{}.js", 2500, 30_000),
        ("static/css/sheet{}.css", 800, 12_000),
        ("templates/page{}.html", 1200, 6_000),
        ("tests/unit/test_{}.py", 2000, 5_000),
    ];
    let mut seed = 1000;
    for (pattern, count, mean) in kinds {
        for i in 0..count / k as usize {
            seed += 1;
            let len = mean / 4 + (seed * 7919) % (mean * 3 / 2);
            app.put(Entry::text_len(
                format!("app/{}", pattern.replace("{}", &i.to_string())),
                len,
                seed,
            ));
        }
    }
    app.put(Entry::file_len("app/data/model.onnx", 100_000_000 / k, 77));
    for i in 0..200 / k {
        app.put(Entry::text_len(
            format!("app/data/fixtures/sample{i}.csv"),
            60_000,
            5000 + i,
        ));
    }
    let build_debs: Vec<&Deb> = debs.iter().filter(|d| d.group == "build").collect();
    for (name, file) in vendored_libs(cache, &build_debs, 120 / k as usize)? {
        app.put(Entry::from_disk(format!("app/vendor.libs/{name}"), &file)?);
    }
    layers.push(app.into_layer("COPY . /app"));

    // 5: a build tree, removed again in layer 7.
    let mut build = Files::default();
    for i in 0..1500 / k {
        build.put(Entry::file_len(
            format!("tmp/build/temp.linux-x86_64-cpython-311/src/ext{i}.o"),
            40_000 + (i * 131) % 90_000,
            9000 + i,
        ));
    }
    build.put(Entry::file_len(
        "tmp/build/lib.linux-x86_64-cpython-311/app_ext.a",
        60_000_000 / k,
        8,
    ));
    layers.push(
        build.into_layer("RUN cd /app && python3 setup.py build_ext --build-temp /tmp/build"),
    );

    // 6: numpy upgraded in place: its files rewritten, the ones the new version dropped
    // deleted, the old dist-info removed.
    let mut upgrade = Files::default();
    for wheel in wheels.iter().filter(|w| w.target == "upgrade") {
        let added = install_wheel(&mut upgrade, wheel, SITE)?;
        for old in &old_numpy {
            if !added.contains(old) {
                let top = old.split('/').nth(5).unwrap_or_default();
                if top.ends_with(".dist-info") {
                    continue;
                }
                upgrade.put(Entry::whiteout(old));
            }
        }
        if let Some(old) = old_numpy.iter().find(|p| p.ends_with(".dist-info/RECORD")) {
            upgrade.put(Entry::whiteout(old.strip_suffix("/RECORD").unwrap()));
        }
    }
    layers
        .push(upgrade.into_layer("RUN pip install --break-system-packages --upgrade numpy==2.2.6"));

    // 7: compilers purged, package lists and the build tree removed.
    let mut purge = Files::default();
    for path in &purged {
        purge.put(Entry::whiteout(path));
    }
    purge.put(Entry::opaque("var/lib/apt/lists"));
    purge.put(Entry::whiteout("tmp/build"));
    layers.push(purge.into_layer(
        "RUN apt-get purge -y --auto-remove gcc-12 g++-12 && rm -rf /var/lib/apt/lists/* /tmp/build",
    ));

    // 8: pip's cache removed, too late to save its bytes.
    let mut clean = Files::default();
    clean.put(Entry::whiteout("root/.cache/pip"));
    layers.push(clean.into_layer("RUN rm -rf /root/.cache/pip"));

    // 9: ownership changed on the data, which copies it into a new layer.
    let mut chown = Files::default();
    chown.put(Entry::file_len("app/data/model.onnx", 100_000_000 / k, 77));
    layers.push(chown.into_layer("RUN chown -R app:app /app/data"));

    let mut image = Image::new(layers);
    image.tag = Some("pydive-bench:latest".to_string());
    image.empty_steps = vec![
        (1, "ENV PYTHONDONTWRITEBYTECODE=0".to_string()),
        (10, r#"CMD ["python3", "-m", "app"]"#.to_string()),
    ];
    let sources = Sources {
        debs: debs
            .iter()
            .map(|d| (d.name.clone(), d.version.clone()))
            .collect(),
        wheels: wheels
            .iter()
            .map(|w| format!("{} ({})", w.spec, w.target))
            .collect(),
    };
    Ok((image, sources))
}

fn sha_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The three larger images of the memory series, each the previous one plus a layer.
pub fn series(main: &Image, stats: &Stats, huge: &Path) -> Result<Vec<Image>> {
    let mut files = Files::default();
    for i in 0..stats.entries {
        files.put(Entry::text_len(
            format!("srv/assets/d{}/f{i}.txt", i / 100),
            1_000,
            700_000 + i as u64,
        ));
    }
    let mut twice_files = main.clone();
    twice_files
        .layers
        .push(files.into_layer("COPY assets/ /srv/assets/"));

    let mut bytes = Files::default();
    let chunk = 64_000_000;
    for i in 0..stats.tar_bytes.div_ceil(chunk) {
        bytes.put(Entry::file_len(
            format!("srv/data/part{i:04}.parquet"),
            chunk.min(stats.tar_bytes - i * chunk),
            800_000 + i,
        ));
    }
    let mut twice_bytes = twice_files.clone();
    twice_bytes
        .layers
        .push(bytes.into_layer("COPY data/ /srv/data/"));

    let mut so = Files::default();
    so.put(Entry::from_disk(
        "usr/local/lib/python3.11/dist-packages/huge/_huge.cpython-311-x86_64-linux-gnu.so",
        huge,
    )?);
    let mut with_so = twice_bytes.clone();
    with_so
        .layers
        .push(so.into_layer("RUN pip install huge-extension"));
    for (image, tag) in [
        (&mut twice_files, "files-x2"),
        (&mut twice_bytes, "bytes-x2"),
        (&mut with_so, "huge-so"),
    ] {
        image.tag = Some(format!("pydive-bench:{tag}"));
    }
    Ok(vec![twice_files, twice_bytes, with_so])
}

/// What an image written to disk holds, counted by reading it back with the tar crate and
/// goblin, not from the declaration.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub layers: usize,
    pub entries: usize,
    pub files: usize,
    pub tar_bytes: u64,
    pub elf: usize,
    pub elf_over_16mb: usize,
    /// ELF files whose dynamic string table lies after their executable segment, in a load
    /// segment of its own: where patchelf (and so auditwheel) puts it.
    pub elf_patched_layout: usize,
    pub largest_elf: u64,
    pub whiteouts: usize,
    pub opaque: usize,
    pub hardlinks: usize,
    pub symlinks: usize,
    pub records: usize,
    pub pip_cache_files: usize,
}

/// Counts a `docker save` archive's layers.
pub fn stats(archive: &Path) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut outer = tar::Archive::new(fs::File::open(archive)?);
    for member in outer.entries()? {
        let member = member?;
        let name = member.path()?.to_string_lossy().into_owned();
        if name.ends_with("/layer.tar") {
            count_layer(&mut stats, member)?;
        }
    }
    ensure!(stats.layers > 0, "{} holds no layer.tar", archive.display());
    Ok(stats)
}

/// Counts plain tar layers in files, e.g. an OCI layout's blobs.
pub fn stats_of_files(layers: &[PathBuf]) -> Result<Stats> {
    let mut stats = Stats::default();
    for layer in layers {
        count_layer(&mut stats, fs::File::open(layer)?)?;
    }
    Ok(stats)
}

fn count_layer(stats: &mut Stats, tar: impl Read) -> Result<()> {
    stats.layers += 1;
    let mut layer = tar::Archive::new(CountingReader {
        inner: tar,
        count: 0,
    });
    {
        for entry in layer.entries()? {
            let mut entry = entry?;
            stats.entries += 1;
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let base = path.rsplit('/').next().unwrap_or_default();
            match entry.header().entry_type() {
                tar::EntryType::Symlink => stats.symlinks += 1,
                tar::EntryType::Link => stats.hardlinks += 1,
                tar::EntryType::Regular if base == ".wh..wh..opq" => stats.opaque += 1,
                tar::EntryType::Regular if base.starts_with(".wh.") => stats.whiteouts += 1,
                tar::EntryType::Regular => {
                    stats.files += 1;
                    if path.ends_with(".dist-info/RECORD") {
                        stats.records += 1;
                    }
                    if path.starts_with("root/.cache/pip/") {
                        stats.pip_cache_files += 1;
                    }
                    let size = entry.size();
                    let mut head = [0u8; 4];
                    if size >= 64 && entry.read_exact(&mut head).is_ok() && head == *b"\x7fELF" {
                        stats.elf += 1;
                        stats.largest_elf = stats.largest_elf.max(size);
                        if size > 16 << 20 {
                            stats.elf_over_16mb += 1;
                        }
                        let mut bytes = head.to_vec();
                        entry.read_to_end(&mut bytes)?;
                        if patched_layout(&bytes) {
                            stats.elf_patched_layout += 1;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // The rest of the tar (its end-of-archive blocks and padding) counts too.
    let mut rest = layer.into_inner();
    io::copy(&mut rest, &mut io::sink())?;
    stats.tar_bytes += rest.count;
    Ok(())
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

fn patched_layout(bytes: &[u8]) -> bool {
    let Ok(elf) = goblin::elf::Elf::parse(bytes) else {
        return false;
    };
    let Some(dynamic) = &elf.dynamic else {
        return false;
    };
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
        .collect();
    // goblin gives the dynamic string table's file offset (it maps DT_STRTAB's address).
    let strtab = dynamic.info.strtab as u64;
    let Some(holder) = loads
        .iter()
        .find(|p| (p.p_offset..p.p_offset + p.p_filesz).contains(&strtab))
    else {
        return false;
    };
    let code_end = loads
        .iter()
        .filter(|p| p.is_executable())
        .map(|p| p.p_offset + p.p_filesz)
        .max()
        .unwrap_or(0);
    holder.p_offset >= code_end && !holder.is_executable()
}

/// Checks the image against the benchmark's floor: what the issue asks the image to have.
pub fn check(stats: &Stats, scale: Scale) -> Result<()> {
    if scale == Scale::Small {
        return Ok(());
    }
    let checks = [
        (stats.tar_bytes >= 1_500_000_000, "at least 1.5 GB"),
        (stats.files >= 40_000, "at least 40k files"),
        (stats.layers >= 8, "at least 8 layers"),
        (stats.elf >= 1000, "at least 1,000 ELF files"),
        (
            stats.elf_over_16mb >= 20,
            "at least 20 ELF files over 16 MB",
        ),
        (
            stats.elf_patched_layout >= 100,
            "ELF files laid out by patchelf",
        ),
        (stats.records >= 20, "dist-info directories with RECORD"),
        (stats.pip_cache_files >= 10, "a pip cache"),
        (
            stats.whiteouts >= 1000 && stats.opaque >= 1,
            "whiteouts and an opaque directory",
        ),
    ];
    let missed: Vec<&str> = checks.iter().filter(|c| !c.0).map(|c| c.1).collect();
    if !missed.is_empty() {
        bail!(
            "the benchmark image falls short: {} ({stats:?})",
            missed.join(", ")
        );
    }
    Ok(())
}

/// Writes `image` in `layout` at `path` unless a finished copy is there.
pub fn write_archive(image: &Image, path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    eprintln!("writing {}", path.display());
    let tmp = path.with_extension("partial");
    image.write_docker_archive(&tmp, Layout::DockerClassic)?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Writes an OCI layout directory unless a finished one is there.
pub fn write_oci(images: &[Image], dir: &Path) -> Result<()> {
    if dir.join("index.json").exists() {
        return Ok(());
    }
    eprintln!("writing {}", dir.display());
    let tmp = dir.with_extension("partial");
    let _ = fs::remove_dir_all(&tmp);
    if let [image] = images {
        image.write_oci_dir(&tmp)?;
    } else {
        pydive::fixture::write_oci_index_dir(&tmp, images)?;
    }
    fs::rename(&tmp, dir)?;
    Ok(())
}

/// The image with every layer compressed the same way.
pub fn compressed(image: &Image, zstd: bool) -> Image {
    let mut image = image.clone();
    image.layers = image
        .layers
        .into_iter()
        .map(|l| if zstd { l.zstd() } else { l.gzip() })
        .collect();
    image
}
