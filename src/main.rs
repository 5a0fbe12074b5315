//! `guichet`: parse the command line, then call into the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = guichet::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("guichet: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(guichet::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line naming what went wrong, never a backtrace.
            let line = format!("{e:#}").replace('\n', " ");
            eprintln!("guichet: {line}");
            ExitCode::from(1)
        }
    }
}
