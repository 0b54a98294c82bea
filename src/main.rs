//! The `kluis` binary: parse flags, run the command, render the report, map
//! the outcome to an exit code. The domain lives in the library.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
