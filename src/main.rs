// mimalloc: the parse threads allocate what the correlating thread frees, a pattern glibc's
// allocator handles slowly (see BENCHMARKS.md); tuned in src/allocator.rs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    auditscope::allocator::keep_freed_memory();
    auditscope::allocator::small_pages();
    std::process::exit(auditscope::cli::main());
}
