//! Command line: raw clap arguments, turned into one validated `Command` here so that nothing
//! downstream parses a string.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::findings::Severity;
use crate::limits::Limits;
use crate::report::{AuditFormat, Format};
use crate::source::cache::{self, CacheConfig};
use crate::source::{Credentials, FetchOptions, Password, Platform, PullPolicy, Transport};

#[derive(Parser, Debug)]
#[command(
    name = "pydive",
    version,
    about = "See where a Python container image's bytes went, and whether its compiled code will load",
    args_conflicts_with_subcommands = true,
    after_help = "IMAGE is spelled as skopeo spells it: docker-archive:PATH (or a bare path, or - for standard input), oci:DIR[:TAG], oci-archive:PATH[:TAG], docker-daemon:NAME[:TAG] (or a bare NAME[:TAG] that is not a path), docker://[REGISTRY/]REPO[:TAG|@DIGEST]."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    /// The image to explore (the interactive explorer on a terminal, else the text report).
    image: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// The full analysis as text, JSON, Markdown or one self-contained HTML page.
    Report {
        image: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// JSON: add the table of every file (path, bytes, layer), so that `pydive diff` of two
        /// stored reports can tell which files changed.
        #[arg(long)]
        files: bool,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Every compatibility and bloat finding with its fix; exit code 1 at or above --fail-on.
    Audit {
        image: String,
        #[arg(long, value_enum, default_value = "text")]
        format: AuditFormat,
        /// The lowest severity that fails the audit.
        #[arg(long, value_enum, default_value = "error")]
        fail_on: FailOn,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// The size-regression gate: rules from flags, --config, .pydive.toml, [tool.pydive] in
    /// pyproject.toml or dive's .dive-ci; exit 1 when a rule fails, 2 when it cannot run.
    Ci {
        image: String,
        /// The last good build: a JSON report written earlier (`--report` keeps one) or an image.
        #[arg(long, value_name = "REPORT|IMAGE")]
        baseline: Option<String>,
        /// The configuration file (default: .pydive.toml, then [tool.pydive] in pyproject.toml,
        /// then dive's .dive-ci, in the working directory).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// A rule over the configuration, e.g. --rule max-growth=10% --rule budget.pip-cache=0.
        #[arg(long = "rule", value_name = "KEY=VALUE")]
        rules: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: CiFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Also write IMAGE's full JSON report (with its file table) here: the next baseline.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// What changed between two images: layers, categories, packages, files, findings.
    Diff {
        /// The old image, or a JSON report written earlier (`pydive report --format json`).
        old: String,
        /// The new image, or a JSON report.
        new: String,
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// What a rule finds, why it matters and how to fix it; every rule without RULE.
    Explain {
        /// A rule id, as findings and `pydive ci` name it (e.g. pip-cache, max-growth).
        rule: Option<String>,
    },
    /// Explore the small demo image built into pydive (no daemon, no network).
    Demo {
        /// Print the report in this format instead of opening the explorer.
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Scan many images, one shard's share: a file of references, a registry's catalog or a
    /// pod list; `pydive scan merge` turns the outputs of every shard into tables.
    Scan(ScanArgs),
    /// Show or empty the cache of layers downloaded from registries.
    Cache {
        #[command(subcommand)]
        action: Option<CacheAction>,
    },
}

#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "SOURCE: a file of image references, one a line (docker://REGISTRY/REPO:TAG, or any IMAGE pydive reads); registry:HOST[/PREFIX] (the registry's catalog and tags); or the JSON of `kubectl get pods -A -o json`.\n\nExit codes: 0 done (an image that failed is a row), 2 the shard cannot be done, 75 a registry was unreachable or rate limiting beyond --retry-budget (run it again: it carries on)."
)]
struct ScanArgs {
    #[command(subcommand)]
    merge: Option<ScanSub>,
    /// What to scan.
    #[arg(required = true)]
    source: Option<String>,
    /// The output directory (reports/, rows/, stats/); shards may share it.
    #[arg(long, short, required = true)]
    output: Option<PathBuf>,
    /// This run's shard, I/N counting from 0 [default: from JOB_COMPLETION_INDEX, or GitLab's
    /// CI_NODE_INDEX/CI_NODE_TOTAL, else the whole list].
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// The number of shards, with JOB_COMPLETION_INDEX [default: JOB_COMPLETIONS].
    #[arg(long, value_name = "N")]
    shards: Option<u32>,
    /// Reuse the reports of an earlier scan's output for the digests it analysed.
    #[arg(long, value_name = "DIR")]
    previous: Option<PathBuf>,
    /// The run every row is tagged with [default: PYDIVE_RUN_ID, GITHUB_RUN_ID, CI_PIPELINE_ID,
    /// else today's date].
    #[arg(long)]
    run_id: Option<String>,
    /// Images read at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Layers downloaded at once, over all images.
    #[arg(long, default_value_t = 4)]
    downloads: usize,
    /// How long to wait, in all, for registries that rate limit or do not answer (30s, 10m, 1h).
    #[arg(long, default_value = "10m")]
    retry_budget: String,
    /// Exit with 2 when an image could not be scanned.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Subcommand, Debug)]
enum ScanSub {
    /// Merge scan outputs into JSON Lines tables and summary.md.
    Merge {
        /// Scan output directories (every shard's, of one run or several).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write the tables.
        #[arg(long, short)]
        output: PathBuf,
    },
}

#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
enum CacheAction {
    /// Where the cache is, and what it holds (the default).
    Info,
    /// Remove every cached blob.
    Clear,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum PullArg {
    Missing,
    Always,
    Never,
}

#[derive(Args, Debug, Clone, Default)]
struct ReadArgs {
    /// Which image of a multi-platform index: os/arch[/variant] (default: this machine's).
    #[arg(long, global = true)]
    platform: Option<String>,
    /// Do not check layer digests. On local uncompressed tarballs file contents are then
    /// skipped, which is much faster, but duplicate content is not looked for. Registry
    /// downloads are always checked.
    #[arg(long, global = true)]
    no_verify: bool,
    /// The Docker or Podman daemon: unix:///PATH, tcp://HOST:PORT, https://HOST:PORT
    /// (default: DOCKER_HOST, then /var/run/docker.sock, then the Podman sockets).
    #[arg(long, global = true, value_name = "ADDRESS")]
    host: Option<String>,
    /// When the daemon pulls the image first [default: missing].
    #[arg(long, global = true, value_enum)]
    pull: Option<PullArg>,
    /// Registry user name, with the password on standard input (--password-stdin).
    #[arg(long, global = true, value_name = "NAME")]
    username: Option<String>,
    /// Read the registry password from standard input.
    #[arg(long, global = true)]
    password_stdin: bool,
    /// Allow plain HTTP, or an untrusted certificate, for a registry not on the loopback interface.
    #[arg(long, global = true)]
    insecure: bool,
    /// Neither use nor fill the cache of downloaded layers.
    #[arg(long, global = true)]
    no_cache: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Change a limit on what an image may cost, e.g. `--limit tar-header=1M` or
    /// `--limit read-timeout=5m` (repeatable; see the README for every limit and its default;
    /// also PYDIVE_LIMITS=KEY=VALUE,...).
    #[arg(long = "limit", global = true, value_name = "KEY=VALUE")]
    limits: Vec<String>,
}

/// Output formats of `pydive ci`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CiFormat {
    Text,
    Markdown,
    Json,
    Junit,
    Sarif,
    Gitlab,
}

/// Output formats of `pydive diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
    Json,
}

/// One side of a comparison: an image to analyse, or a JSON report written earlier.
#[derive(Debug)]
pub enum Side {
    Image(Transport),
    Report(PathBuf),
}

impl Side {
    /// A file that starts with `{` is a report; anything else is an image reference.
    pub fn parse(arg: &str) -> Result<Side> {
        let path = std::path::Path::new(arg);
        if path.is_file() {
            let mut head = [0u8; 64];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .with_context(|| format!("cannot read {arg}"))?;
            if head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
                return Ok(Side::Report(path.to_path_buf()));
            }
        }
        Ok(Side::Image(Transport::parse(arg)?))
    }
}

/// The lowest severity that makes `pydive audit` exit with 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

impl FailOn {
    /// Whether a finding of this severity fails the audit.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Error => severity >= Severity::Error,
            FailOn::Warning => severity >= Severity::Warning,
            FailOn::Never => false,
        }
    }
}

/// How to read an image, validated.
#[derive(Debug, Clone)]
pub struct ReadConfig {
    pub verify: bool,
    pub platform: Platform,
    /// What an image may cost (`--limit`, `PYDIVE_LIMITS`).
    pub limits: Limits,
    /// Daemon, registry, cache and progress settings.
    pub fetch: FetchOptions,
}

impl Default for ReadConfig {
    /// Verified, for this machine's platform, no cache, no progress bars.
    fn default() -> Self {
        ReadConfig {
            verify: true,
            platform: Platform::host(),
            limits: Limits::default(),
            fetch: FetchOptions::default(),
        }
    }
}

/// What to do, validated.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per run
pub enum Command {
    Report {
        source: Transport,
        format: Format,
        files: bool,
        output: Option<PathBuf>,
        read: ReadConfig,
    },
    Audit {
        source: Transport,
        format: AuditFormat,
        fail_on: FailOn,
        output: Option<PathBuf>,
        read: ReadConfig,
    },
    /// The explorer on a terminal, else the text report.
    Explore { source: Transport, read: ReadConfig },
    /// `pydive ci IMAGE`.
    Ci {
        source: Transport,
        baseline: Option<Side>,
        config: crate::ci::config::Config,
        format: CiFormat,
        output: Option<PathBuf>,
        report: Option<PathBuf>,
        read: ReadConfig,
    },
    /// `pydive diff OLD NEW`.
    Diff {
        old: Side,
        new: Side,
        format: DiffFormat,
        output: Option<PathBuf>,
        read: ReadConfig,
    },
    /// One rule's text, or every rule's.
    Explain {
        rule: Option<&'static crate::findings::Rule>,
    },
    /// The demo image: explored, or printed in `format`.
    Demo { format: Option<Format> },
    /// `pydive scan`: one shard of a fleet.
    Scan(crate::scan::ScanConfig),
    /// `pydive scan merge`.
    ScanMerge { dirs: Vec<PathBuf>, output: PathBuf },
    /// `pydive cache [info|clear]`; `None` when there is no cache directory.
    Cache {
        clear: bool,
        config: Option<CacheConfig>,
    },
}

impl ReadArgs {
    /// Options given after the subcommand win over those before it.
    fn merge(self, before: ReadArgs) -> ReadArgs {
        ReadArgs {
            platform: self.platform.or(before.platform),
            no_verify: self.no_verify || before.no_verify,
            host: self.host.or(before.host),
            pull: self.pull.or(before.pull),
            username: self.username.or(before.username),
            password_stdin: self.password_stdin || before.password_stdin,
            insecure: self.insecure || before.insecure,
            no_cache: self.no_cache || before.no_cache,
            quiet: self.quiet || before.quiet,
            limits: [before.limits, self.limits].concat(),
        }
    }

    fn validate(&self, source: &Transport) -> Result<ReadConfig> {
        let credentials = match (&self.username, self.password_stdin) {
            (Some(_), _) | (None, true) if is_stdin(source) => {
                bail!(
                    "--password-stdin and --username cannot be used with an image on standard input"
                )
            }
            (Some(username), true) => {
                let mut password = String::new();
                std::io::stdin()
                    .read_to_string(&mut password)
                    .context("cannot read the password from standard input")?;
                let password = password.trim_end_matches(['\n', '\r']).to_string();
                if password.is_empty() {
                    bail!("--password-stdin: standard input held no password");
                }
                Some(Credentials {
                    username: username.clone(),
                    password: Password::new(password),
                })
            }
            (Some(_), false) => {
                bail!("--username needs --password-stdin (the password on standard input)")
            }
            (None, true) => bail!("--password-stdin needs --username"),
            (None, false) => None,
        };
        Ok(ReadConfig {
            verify: !self.no_verify,
            limits: Limits::from_env_and_flags(&self.limits)?,
            platform: match &self.platform {
                Some(p) => Platform::parse(p)?,
                None => Platform::host(),
            },
            fetch: FetchOptions {
                host: self.host.clone(),
                pull: match self.pull {
                    None | Some(PullArg::Missing) => PullPolicy::Missing,
                    Some(PullArg::Always) => PullPolicy::Always,
                    Some(PullArg::Never) => PullPolicy::Never,
                },
                credentials,
                insecure: self.insecure,
                // Only registry reads use the cache: PYDIVE_CACHE_MAX is checked when it counts.
                cache: if self.no_cache || !matches!(source, Transport::Registry(_)) {
                    None
                } else {
                    cache_config()?
                },
                progress: !self.quiet && std::io::stderr().is_terminal(),
            },
        })
    }
}

/// Refuses an `--output` that is the image being read, or inside its OCI layout: pydive never
/// writes into the image's source.
fn check_output(output: Option<&Path>, source: &Transport) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (Some(output), Some(input)) = (output, source_path(source)) else {
        return Ok(());
    };
    let refuse = || {
        anyhow::anyhow!(
            "--output {} is the image being read ({}); refusing to overwrite it",
            output.display(),
            input.display()
        )
    };
    if let (Ok(out), Ok(image)) = (std::fs::metadata(output), std::fs::metadata(input)) {
        if out.dev() == image.dev() && out.ino() == image.ino() {
            return Err(refuse());
        }
    }
    if input.is_dir() {
        let parent = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let (Ok(dir), Ok(parent)) = (std::fs::canonicalize(input), std::fs::canonicalize(parent))
        {
            if parent.starts_with(&dir) {
                return Err(refuse());
            }
        }
    }
    Ok(())
}

/// The file or directory an image is read from, when it is one.
fn source_path(source: &Transport) -> Option<&Path> {
    match source {
        Transport::DockerArchive {
            input: crate::source::Input::File(path),
            ..
        }
        | Transport::OciArchive { path, .. } => Some(path),
        Transport::Oci { dir, .. } => Some(dir),
        _ => None,
    }
}

fn is_stdin(source: &Transport) -> bool {
    matches!(
        source,
        Transport::DockerArchive {
            input: crate::source::Input::Stdin,
            ..
        }
    )
}

/// The cache directory and its size limit (`PYDIVE_CACHE_DIR`, `PYDIVE_CACHE_MAX`).
fn cache_config() -> Result<Option<CacheConfig>> {
    let max_bytes = match std::env::var("PYDIVE_CACHE_MAX") {
        Ok(text) if !text.is_empty() => cache::parse_size(&text).with_context(|| {
            format!("PYDIVE_CACHE_MAX={text}: expected a size such as 10G or 500M")
        })?,
        _ => cache::DEFAULT_MAX_BYTES,
    };
    Ok(CacheConfig::default_dir().map(|dir| CacheConfig { dir, max_bytes }))
}

impl Cli {
    /// Turns parsed arguments into a command, or says what is wrong with them.
    pub fn validate(self) -> Result<Command> {
        match self.command {
            Some(Sub::Report {
                image,
                format,
                files,
                output,
                read,
            }) => {
                let source = Transport::parse(&image)?;
                check_output(output.as_deref(), &source)?;
                let read = read.merge(self.read).validate(&source)?;
                Ok(Command::Report {
                    source,
                    format,
                    files,
                    output,
                    read,
                })
            }
            Some(Sub::Audit {
                image,
                format,
                fail_on,
                output,
                read,
            }) => {
                let source = Transport::parse(&image)?;
                check_output(output.as_deref(), &source)?;
                let read = read.merge(self.read).validate(&source)?;
                Ok(Command::Audit {
                    source,
                    format,
                    fail_on,
                    output,
                    read,
                })
            }
            Some(Sub::Ci {
                image,
                baseline,
                config,
                rules,
                format,
                output,
                report,
                read,
            }) => {
                // The configuration is checked before anything is read.
                let config = crate::ci::config::load(&crate::ci::config::Sources {
                    rules,
                    config,
                    dir: std::env::current_dir().context("no working directory")?,
                })?;
                let source = Transport::parse(&image)?;
                let baseline = baseline.as_deref().map(Side::parse).transpose()?;
                let read = read.merge(self.read).validate(&source)?;
                Ok(Command::Ci {
                    source,
                    baseline,
                    config,
                    format,
                    output,
                    report,
                    read,
                })
            }
            Some(Sub::Diff {
                old,
                new,
                format,
                output,
                read,
            }) => {
                let (old, new) = (Side::parse(&old)?, Side::parse(&new)?);
                let read = read.merge(self.read);
                let read = match (&old, &new) {
                    (Side::Image(source), _) | (_, Side::Image(source)) => read.validate(source)?,
                    _ => ReadConfig::default(),
                };
                Ok(Command::Diff {
                    old,
                    new,
                    format,
                    output,
                    read,
                })
            }
            Some(Sub::Explain { rule }) => Ok(Command::Explain {
                rule: match rule {
                    None => None,
                    Some(id) => Some(crate::findings::rule(&id).with_context(|| {
                        format!("no rule `{id}`; `pydive explain` lists every rule")
                    })?),
                },
            }),
            Some(Sub::Demo { format }) => Ok(Command::Demo { format }),
            Some(Sub::Scan(args)) => args.validate(self.read),
            Some(Sub::Cache { action }) => Ok(Command::Cache {
                clear: action == Some(CacheAction::Clear),
                config: cache_config()?,
            }),
            None => match self.image {
                Some(image) => {
                    let source = Transport::parse(&image)?;
                    let read = self.read.validate(&source)?;
                    Ok(Command::Explore { source, read })
                }
                None => anyhow::bail!(
                    "no image given; try `pydive demo`, or `pydive IMAGE` (see `pydive --help`)"
                ),
            },
        }
    }
}

impl ScanArgs {
    fn validate(self, before: ReadArgs) -> Result<Command> {
        if let Some(ScanSub::Merge { dirs, output }) = self.merge {
            return Ok(Command::ScanMerge { dirs, output });
        }
        let (Some(source), Some(out)) = (self.source, self.output) else {
            bail!("pydive scan needs SOURCE and -o OUT");
        };
        let mut read = self.read.merge(before);
        // `--platform all` (the default) is every platform of an index.
        let platform = match read.platform.take().as_deref() {
            None | Some("all") => None,
            Some(p) => Some(Platform::parse(p)?),
        };
        let input = crate::scan::input::Input::parse(&source)?;
        let quiet = read.quiet;
        let validated = read.validate(&Transport::Registry("scan".into()))?;
        let limits = validated.limits;
        let mut fetch = validated.fetch;
        // Layer walks are shared in memory; a scan does not fill the blob cache.
        fetch.cache = None;
        fetch.progress = false;
        let env = |name: &str| std::env::var(name).ok();
        let shard = match &self.shard {
            Some(s) => crate::scan::shard::Shard::parse(s)?,
            None => crate::scan::shard::Shard::from_env(self.shards, env)?,
        };
        if self.jobs == 0 || self.downloads == 0 {
            bail!("--jobs and --downloads must be at least 1");
        }
        Ok(Command::Scan(crate::scan::ScanConfig {
            input,
            out,
            shard,
            platform,
            previous: self.previous,
            run_id: self
                .run_id
                .unwrap_or_else(|| crate::scan::default_run_id(env)),
            jobs: self.jobs,
            downloads: self.downloads,
            retry_budget: crate::scan::parse_duration(&self.retry_budget)
                .context("--retry-budget")?,
            strict: self.strict,
            fetch,
            limits,
            quiet,
        }))
    }
}
