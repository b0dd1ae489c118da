//! Command line: raw clap arguments, turned into one validated `Command` here so that nothing
//! downstream parses a string.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::findings::Severity;
use crate::report::Format;
use crate::source::{Platform, Transport};

#[derive(Parser, Debug)]
#[command(
    name = "pydive",
    version,
    about = "See where a Python container image's bytes went, and whether its compiled code will load",
    args_conflicts_with_subcommands = true,
    after_help = "IMAGE is spelled as skopeo spells it: docker-archive:PATH (or a bare path, or - for standard input), oci:DIR[:TAG], oci-archive:PATH[:TAG]."
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
    /// The full analysis as text or JSON.
    Report {
        image: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
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
        format: Format,
        /// The lowest severity that fails the audit.
        #[arg(long, value_enum, default_value = "error")]
        fail_on: FailOn,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Explore the small demo image built into pydive (no daemon, no network).
    Demo {
        /// Print the report in this format instead of opening the explorer.
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Args, Debug, Clone, Default)]
struct ReadArgs {
    /// Which image of a multi-platform index: os/arch[/variant] (default: this machine's).
    #[arg(long, global = true)]
    platform: Option<String>,
    /// Do not check layer digests. On local uncompressed tarballs file contents are then
    /// skipped, which is much faster, but duplicate content is not looked for.
    #[arg(long, global = true)]
    no_verify: bool,
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
}

/// What to do, validated.
#[derive(Debug)]
pub enum Command {
    Report {
        source: Transport,
        format: Format,
        output: Option<PathBuf>,
        read: ReadConfig,
    },
    Audit {
        source: Transport,
        format: Format,
        fail_on: FailOn,
        output: Option<PathBuf>,
        read: ReadConfig,
    },
    /// The explorer on a terminal, else the text report.
    Explore { source: Transport, read: ReadConfig },
    /// The demo image: explored, or printed in `format`.
    Demo { format: Option<Format> },
}

impl ReadArgs {
    fn validate(&self) -> Result<ReadConfig> {
        Ok(ReadConfig {
            verify: !self.no_verify,
            platform: match &self.platform {
                Some(p) => Platform::parse(p)?,
                None => Platform::host(),
            },
        })
    }
}

impl Cli {
    /// Turns parsed arguments into a command, or says what is wrong with them.
    pub fn validate(self) -> Result<Command> {
        match self.command {
            Some(Sub::Report {
                image,
                format,
                output,
                read,
            }) => {
                let merged = ReadArgs {
                    platform: read.platform.or(self.read.platform),
                    no_verify: read.no_verify || self.read.no_verify,
                };
                Ok(Command::Report {
                    source: Transport::parse(&image)?,
                    format,
                    output,
                    read: merged.validate()?,
                })
            }
            Some(Sub::Audit {
                image,
                format,
                fail_on,
                output,
                read,
            }) => {
                let merged = ReadArgs {
                    platform: read.platform.or(self.read.platform),
                    no_verify: read.no_verify || self.read.no_verify,
                };
                Ok(Command::Audit {
                    source: Transport::parse(&image)?,
                    format,
                    fail_on,
                    output,
                    read: merged.validate()?,
                })
            }
            Some(Sub::Demo { format }) => Ok(Command::Demo { format }),
            None => match self.image {
                Some(image) => Ok(Command::Explore {
                    source: Transport::parse(&image)?,
                    read: self.read.validate()?,
                }),
                None => anyhow::bail!(
                    "no image given; try `pydive demo`, or `pydive IMAGE` (see `pydive --help`)"
                ),
            },
        }
    }
}
