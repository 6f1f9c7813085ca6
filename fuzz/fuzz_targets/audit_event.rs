//! Fuzz target `audit_event`: see `fuzz/targets.rs`.
#![no_main]

#[path = "../targets.rs"]
#[allow(dead_code)] // each target uses one of the shared functions
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::audit_event(data));
