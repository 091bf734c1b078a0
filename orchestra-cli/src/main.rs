//! The `orchestra` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    orchestra_cli::run()
}
