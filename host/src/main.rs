//! The `wasmgate` binary: everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    wasmgate::cli::main()
}
