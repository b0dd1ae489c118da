//! Limits on what an image may cost: the memory a header, a kept file or a manifest may take,
//! and how long a server or a pipe may keep pydive waiting. An image or a registry is untrusted
//! input; these bounds make every run's memory a matter of settings, not of what the input
//! claims, and every wait end. Each has a documented default (`Limits::TABLE`, listed by the
//! README), can be changed with `--limit KEY=VALUE` or `PYDIVE_LIMITS=KEY=VALUE,...`, and is named
//! by the error it causes.

use std::fmt;
use std::time::Duration;

use anyhow::{Result, bail};

/// Every limit, with its value. `0` turns a rate or a timeout off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A GNU long name or link, a PAX extended header, or an old GNU sparse map.
    pub tar_header: u64,
    /// The contents of one file an analysis reads (a RECORD, an `ld.so.conf`...).
    pub file_content: u64,
    /// The contents of all the files the analyses read, together.
    pub content_total: u64,
    /// What is kept of one ELF file to read its facts (its headers and dynamic tables).
    pub elf_capture: u64,
    /// One manifest, index or config (from a registry, a layout, an archive or a stream).
    pub metadata: u64,
    /// All manifests, indexes and configs kept from a stream on standard input, together.
    pub metadata_total: u64,
    /// Connecting to a registry or a daemon.
    pub connect_timeout: Duration,
    /// From a request to its response's headers.
    pub response_timeout: Duration,
    /// The longest wait for the next bytes of a download or a pipe; also the window over which
    /// `min_rate` is measured.
    pub read_timeout: Duration,
    /// Bytes per second a download must keep up, measured over `read_timeout`.
    pub min_rate: u64,
}

/// What a limit measures, for parsing and for the documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Seconds,
    BytesPerSecond,
}

/// One row of the limits table: key, unit, default, what it bounds.
pub struct Row {
    pub key: &'static str,
    pub unit: Unit,
    pub default: &'static str,
    pub what: &'static str,
}

impl Default for Limits {
    fn default() -> Self {
        let mut limits = Limits {
            tar_header: 0,
            file_content: 0,
            content_total: 0,
            elf_capture: 0,
            metadata: 0,
            metadata_total: 0,
            connect_timeout: Duration::ZERO,
            response_timeout: Duration::ZERO,
            read_timeout: Duration::ZERO,
            min_rate: 0,
        };
        for row in Limits::TABLE {
            // The table's defaults are checked by a test.
            let _ = limits.set(row.key, row.default);
        }
        limits
    }
}

impl Limits {
    /// Every limit, its default and what it bounds (the README's table is this one).
    pub const TABLE: &'static [Row] = &[
        Row {
            key: "tar-header",
            unit: Unit::Bytes,
            default: "64K",
            what: "a tar entry's GNU long name or link, PAX extended header, or sparse map (GNU tar and Go's archive/tar bound them too)",
        },
        Row {
            key: "file-content",
            unit: Unit::Bytes,
            default: "16M",
            what: "the contents of one file an analysis reads (a wheel's RECORD, `ld.so.conf`, ...); of a METADATA file only the headers are read",
        },
        Row {
            key: "content-total",
            unit: Unit::Bytes,
            default: "256M",
            what: "the contents of all the files the analyses read, together",
        },
        Row {
            key: "elf-capture",
            unit: Unit::Bytes,
            default: "64M",
            what: "what is kept of one ELF file to read its loader facts: its headers and dynamic tables (symbols, strings, versions), never its code or debug information; a file whose tables do not fit is reported, not guessed",
        },
        Row {
            key: "metadata",
            unit: Unit::Bytes,
            default: "4M",
            what: "one manifest, index or config (containerd's limit)",
        },
        Row {
            key: "metadata-total",
            unit: Unit::Bytes,
            default: "32M",
            what: "the manifests, indexes and configs kept from a `docker save` stream on standard input, together",
        },
        Row {
            key: "connect-timeout",
            unit: Unit::Seconds,
            default: "30s",
            what: "connecting to a registry",
        },
        Row {
            key: "response-timeout",
            unit: Unit::Seconds,
            default: "60s",
            what: "from a request to the registry's response headers",
        },
        Row {
            key: "read-timeout",
            unit: Unit::Seconds,
            default: "60s",
            what: "waiting for the next bytes from a registry, or for a writer on a FIFO; also the window `min-rate` is measured over",
        },
        Row {
            key: "min-rate",
            unit: Unit::BytesPerSecond,
            default: "1K",
            what: "the slowest transfer from a registry accepted, in bytes per second over `read-timeout` (0: any)",
        },
    ];

    /// Sets one limit from its key and text value (`64K`, `30s`, `0`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let Some(row) = Self::TABLE.iter().find(|r| r.key == key) else {
            let keys: Vec<&str> = Self::TABLE.iter().map(|r| r.key).collect();
            bail!("unknown limit {key:?}; the limits are {}", keys.join(", "));
        };
        let bytes = || {
            crate::source::cache::parse_size(value).ok_or_else(|| {
                anyhow::anyhow!("limit {key}={value}: expected a size such as 64K, 4M or 1G")
            })
        };
        let seconds = || {
            parse_duration(value).ok_or_else(|| {
                anyhow::anyhow!("limit {key}={value}: expected a duration such as 30s, 2m or 500ms")
            })
        };
        match row.key {
            "tar-header" => self.tar_header = bytes()?,
            "file-content" => self.file_content = bytes()?,
            "content-total" => self.content_total = bytes()?,
            "elf-capture" => self.elf_capture = bytes()?,
            "metadata" => self.metadata = bytes()?,
            "metadata-total" => self.metadata_total = bytes()?,
            "connect-timeout" => self.connect_timeout = seconds()?,
            "response-timeout" => self.response_timeout = seconds()?,
            "read-timeout" => self.read_timeout = seconds()?,
            "min-rate" => {
                let per_second = value.strip_suffix("/s").unwrap_or(value);
                self.min_rate = crate::source::cache::parse_size(per_second).ok_or_else(|| {
                    anyhow::anyhow!("limit {key}={value}: expected a rate such as 1K (per second)")
                })?;
            }
            _ => unreachable!("every key of the table is handled"),
        }
        Ok(())
    }

    /// Applies `KEY=VALUE` settings, comma- or space-separated (`PYDIVE_LIMITS`), or one each
    /// (`--limit`).
    pub fn apply(&mut self, settings: &str, origin: &str) -> Result<()> {
        for item in settings
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let Some((key, value)) = item.split_once('=') else {
                bail!("{origin}: {item:?} is not KEY=VALUE (for example tar-header=1M)");
            };
            self.set(key.trim(), value.trim())
                .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        }
        Ok(())
    }

    /// The defaults, then `PYDIVE_LIMITS`, then each `--limit` flag.
    pub fn from_env_and_flags(flags: &[String]) -> Result<Limits> {
        let mut limits = Limits::default();
        if let Ok(env) = std::env::var("PYDIVE_LIMITS") {
            limits.apply(&env, "PYDIVE_LIMITS")?;
        }
        for flag in flags {
            limits.apply(flag, "--limit")?;
        }
        Ok(limits)
    }
}

/// How an error names a limit: "the tar-header limit (64 KiB; --limit tar-header=SIZE)".
pub struct Named {
    pub key: &'static str,
    pub value: String,
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match Limits::TABLE
            .iter()
            .find(|r| r.key == self.key)
            .map(|r| r.unit)
        {
            Some(Unit::Seconds) => "DURATION",
            Some(Unit::BytesPerSecond) => "RATE",
            _ => "SIZE",
        };
        write!(
            f,
            "the {} limit ({}; raise it with --limit {}={unit} or PYDIVE_LIMITS)",
            self.key, self.value, self.key
        )
    }
}

/// Names a size limit for an error message.
pub fn named_bytes(key: &'static str, value: u64) -> Named {
    Named {
        key,
        value: humansize::format_size(value, humansize::BINARY),
    }
}

/// Names a time limit for an error message.
pub fn named_duration(key: &'static str, value: Duration) -> Named {
    Named {
        key,
        value: format!("{value:?}"),
    }
}

/// `30s`, `2m`, `500ms`, `1h`, or a number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_parses() {
        for row in Limits::TABLE {
            Limits::default()
                .set(row.key, row.default)
                .unwrap_or_else(|e| panic!("{}: {e}", row.key));
        }
        let limits = Limits::default();
        assert_eq!(limits.tar_header, 64 << 10);
        assert_eq!(limits.metadata, 4 << 20);
        assert_eq!(limits.read_timeout, Duration::from_secs(60));
        assert_eq!(limits.min_rate, 1024);
    }

    #[test]
    fn settings_apply_and_bad_ones_say_which() {
        let mut limits = Limits::default();
        limits
            .apply(
                "tar-header=1M, read-timeout=500ms,min-rate=0",
                "PYDIVE_LIMITS",
            )
            .unwrap();
        assert_eq!(limits.tar_header, 1 << 20);
        assert_eq!(limits.read_timeout, Duration::from_millis(500));
        assert_eq!(limits.min_rate, 0);
        let e = limits.apply("tar-head=1M", "--limit").unwrap_err();
        assert!(e.to_string().starts_with("--limit: unknown limit"), "{e}");
        let e = limits.apply("metadata=lots", "PYDIVE_LIMITS").unwrap_err();
        assert!(e.to_string().contains("metadata=lots"), "{e}");
        assert_eq!(
            named_bytes("tar-header", 64 << 10).to_string(),
            "the tar-header limit (64 KiB; raise it with --limit tar-header=SIZE or PYDIVE_LIMITS)"
        );
    }
}
