//! The `pydive` command: parses the arguments, runs them through the library, and maps
//! errors to one line on standard error and exit code 2.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pydive::cli::Cli::parse();
    match cli.validate().and_then(pydive::app::run) {
        Ok(code) => code,
        // `pydive report img | head` is a normal way to read a report.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pydive: error: {}", pydive::printable::error_line(&e));
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
