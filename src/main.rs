//! The `detente` command line: parses, calls the library, prints. Only this binary knows clap.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod cli;

fn main() {
    std::process::exit(cli::main())
}
