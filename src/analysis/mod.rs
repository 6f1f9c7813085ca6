//! Analysis over a correlated run that more than one front end uses: the derived request
//! indexes ([`index`], also behind `auditscope search`) and the merged call tree ([`tree`]).

pub mod index;
pub mod tree;

pub use index::{EndpointGroup, FrameHit, NONE, RunIndex, search_frames, strip_query};
