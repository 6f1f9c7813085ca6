fn main() {
    std::process::exit(auditscope::cli::main());
}
