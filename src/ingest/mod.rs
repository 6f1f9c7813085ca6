//! Reading raw inputs: audit events, e2e logs, JUnit files and user agents; following files
//! that grow ([`tail`]).

pub mod audit;
pub mod decode;
pub mod document;
pub mod e2e;
pub mod entries;
pub mod ginkgo;
pub mod junit;
pub mod kind;
pub(crate) mod mapped;
pub mod source;
pub mod tail;
pub mod useragent;
