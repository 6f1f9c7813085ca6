//! TODO
pub mod coverage;
pub mod endpoints;
pub mod filter;
