//! A scan's output directory, the only place it writes:
//!
//! - `reports/sha256-<hex>.json`: the JSON report of one image-platform, by manifest digest,
//!   written to a temporary name and renamed, so a reader never sees half a report;
//! - `rows/shard-I-of-N.jsonl`: one row per image reference and platform (or per reference that
//!   failed before it had one), appended as each is done. A shard that was killed leaves at
//!   most an unfinished last line, which the next run of the same shard cuts off before it
//!   carries on; a reference that has its row in this run is not scanned again, so no row is
//!   ever written twice;
//! - `stats/shard-I-of-N.json`: what the run of the shard did, replaced at its end.
//!
//! The names hold no `:`, which some artifact stores refuse.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::shard::Shard;

/// What became of one image reference (and platform) in a scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub run_id: String,
    /// `I/N`
    pub shard: String,
    /// As listed (`docker://HOST/REPO:TAG`, `docker://HOST/REPO@sha256:...`, `oci:DIR`, ...).
    pub reference: String,
    pub repository: String,
    pub tag: Option<String>,
    /// What the reference points at: an index, or the image manifest itself.
    pub digest: Option<String>,
    pub index_digest: Option<String>,
    pub manifest_digest: Option<String>,
    /// `os/arch[/variant]`
    pub platform: Option<String>,
    /// `analysed` (read by this run), `duplicate` (the same manifest as another row of this
    /// run, read once), `reused` (a report this pydive version wrote earlier), `failed`.
    pub status: String,
    pub error: Option<String>,
    /// The report, relative to the output directory.
    pub report: Option<String>,
}

impl Row {
    /// What makes a row unique within a run.
    fn key(&self) -> (String, Option<String>) {
        (self.reference.clone(), self.manifest_digest.clone())
    }
}

/// `sha256:<hex>` -> `sha256-<hex>.json`.
pub fn report_name(digest: &str) -> String {
    format!("{}.json", digest.replace(':', "-"))
}

/// A file written whole or not at all: to a temporary name beside it, synced, renamed.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        ".{}.{}-{}.partial",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        SERIAL.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> io::Result<()> {
        let mut out = io::BufWriter::new(File::create(&temp)?);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// The output directory of one shard.
pub struct Out {
    pub dir: PathBuf,
    rows: Mutex<File>,
    rows_path: PathBuf,
    stats_path: PathBuf,
}

impl Out {
    /// Creates the layout (or opens an earlier run's) and readies the shard's row file: an
    /// unfinished last line from a killed run is cut off. Returns the rows already there.
    pub fn open(dir: &Path, shard: Shard) -> Result<(Out, Vec<Row>)> {
        for sub in ["reports", "rows", "stats"] {
            fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
        }
        let stem = shard.file_stem();
        let rows_path = dir.join("rows").join(format!("{stem}.jsonl"));
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&rows_path)
            .with_context(|| format!("cannot open {}", rows_path.display()))?;
        let rows = read_rows_and_cut(&mut file, &rows_path)?;
        Ok((
            Out {
                dir: dir.to_path_buf(),
                rows: Mutex::new(file),
                rows_path,
                stats_path: dir.join("stats").join(format!("{stem}.json")),
            },
            rows,
        ))
    }

    pub fn report_path(&self, digest: &str) -> PathBuf {
        self.dir.join("reports").join(report_name(digest))
    }

    /// Appends one row: one write of a whole line, synced.
    pub fn append(&self, row: &Row) -> Result<()> {
        let mut line = serde_json::to_vec(row)?;
        line.push(b'\n');
        let mut file = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .with_context(|| format!("cannot write {}", self.rows_path.display()))
    }

    pub fn write_stats(&self, stats: &impl Serialize) -> Result<()> {
        write_atomic(&self.stats_path, |out| {
            serde_json::to_writer_pretty(&mut *out, stats)?;
            writeln!(out)
        })
    }
}

/// The rows of a file, after cutting off an unfinished last line (a killed writer's).
fn read_rows_and_cut(file: &mut File, path: &Path) -> Result<Vec<Row>> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < bytes.len() {
        file.set_len(whole as u64)
            .with_context(|| format!("cannot repair {}", path.display()))?;
    }
    let mut rows = Vec::new();
    for (n, line) in bytes[..whole].split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row: Row = serde_json::from_slice(line)
            .with_context(|| format!("{}:{}: not a row", path.display(), n + 1))?;
        rows.push(row);
    }
    Ok(rows)
}

/// Every row of the row files under `dir/rows`, each file read as it is (a killed shard's
/// unfinished last line is skipped, not repaired: a merge writes nothing into a scan's output).
pub fn read_all_rows(dir: &Path) -> Result<Vec<Row>> {
    let rows_dir = dir.join("rows");
    let mut names: Vec<PathBuf> = match fs::read_dir(&rows_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", rows_dir.display())),
    };
    names.sort();
    let mut rows = Vec::new();
    for path in names {
        let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        let mut n = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            n += 1;
            if !line.ends_with('\n') || line.trim().is_empty() {
                continue;
            }
            let row: Row = serde_json::from_str(&line)
                .with_context(|| format!("{}:{n}: not a row", path.display()))?;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The scan outputs a directory names: itself when it has `rows/`, else each subdirectory that
/// has (a directory of nightly runs); `except` (the output being written) left out.
pub fn scan_outputs(dir: &Path, except: Option<&Path>) -> Result<Vec<PathBuf>> {
    let same = |a: &Path| {
        except.is_some_and(|b| {
            a == b
                || fs::canonicalize(a)
                    .ok()
                    .zip(fs::canonicalize(b).ok())
                    .is_some_and(|(a, b)| a == b)
        })
    };
    if dir.join("rows").is_dir() {
        return Ok(if same(dir) {
            Vec::new()
        } else {
            vec![dir.to_path_buf()]
        });
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        // A first night has no earlier runs.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("rows").is_dir() && !same(p))
        .collect();
    found.sort();
    Ok(found)
}

/// The rows of one run, by what makes them unique.
pub fn done_keys(rows: &[Row], run_id: &str) -> HashSet<(String, Option<String>)> {
    rows.iter()
        .filter(|r| r.run_id == run_id)
        .map(Row::key)
        .collect()
}

/// Whether a row for (reference, manifest) is in `done`.
pub fn is_done(
    done: &HashSet<(String, Option<String>)>,
    reference: &str,
    manifest: Option<&str>,
) -> bool {
    done.contains(&(reference.to_string(), manifest.map(String::from)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(reference: &str, manifest: &str) -> Row {
        Row {
            run_id: "r1".into(),
            shard: "0/1".into(),
            reference: reference.into(),
            repository: "repo".into(),
            tag: None,
            digest: Some(manifest.into()),
            index_digest: None,
            manifest_digest: Some(manifest.into()),
            platform: Some("linux/amd64".into()),
            status: "analysed".into(),
            error: None,
            report: None,
        }
    }

    #[test]
    fn an_unfinished_last_row_is_cut_off_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (out, rows) = Out::open(dir.path(), Shard::ALL).unwrap();
        assert!(rows.is_empty());
        out.append(&row("a", "sha256:1")).unwrap();
        out.append(&row("b", "sha256:2")).unwrap();
        drop(out);
        // A writer killed halfway through its third line.
        let path = dir.path().join("rows/shard-0-of-1.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"run_id":"r1","shard":"0/1","refer"#)
            .unwrap();
        drop(f);
        assert_eq!(read_all_rows(dir.path()).unwrap().len(), 2);

        let (out, rows) = Out::open(dir.path(), Shard::ALL).unwrap();
        assert_eq!(rows, vec![row("a", "sha256:1"), row("b", "sha256:2")]);
        let done = done_keys(&rows, "r1");
        assert!(is_done(&done, "a", Some("sha256:1")));
        assert!(!is_done(&done, "a", Some("sha256:2")));
        assert!(done_keys(&rows, "r2").is_empty());
        out.append(&row("c", "sha256:3")).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.ends_with('\n'));
        assert_eq!(read_all_rows(dir.path()).unwrap().len(), 3);
    }

    #[test]
    fn atomic_files_appear_whole_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_atomic(&path, |out| out.write_all(b"{}")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        let failed = write_atomic(&dir.path().join("s.json"), |out| {
            out.write_all(b"{")?;
            Err(io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["r.json"]);
        assert_eq!(report_name("sha256:ab"), "sha256-ab.json");
    }
}
