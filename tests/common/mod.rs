//! Shared helpers for the integration tests.
#![allow(dead_code)]

mod fixtures;
#[allow(unused_imports)]
pub use fixtures::*;

/// The binary under test.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_auditscope"))
}
