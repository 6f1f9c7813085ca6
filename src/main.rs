// mimalloc: the parse threads allocate what the correlating thread frees, a pattern glibc's
// allocator handles slowly (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(auditscope::cli::main());
}
