//! EKS audit logs as CloudWatch Logs hands them out:
//! - `aws logs filter-log-events` / `get-log-events` output: `{"events":[{"timestamp":…,
//!   "message":"<event>",…}],…}`;
//! - subscription payloads (to Lambda, Firehose, Kinesis; gzip, often several concatenated):
//!   `{"messageType":"DATA_MESSAGE","logGroup":…,"logEvents":[{"id":…,"timestamp":…,
//!   "message":"<event>"}]}`;
//! - S3 exports (`aws logs create-export-task`): one line per event, its timestamp, a space,
//!   then the message: `2023-01-18T12:55:57.123Z {"kind":"Event",…}`.
//!
//! The items' `message` is read by [`super::wrapper`].

use serde_json::value::RawValue;

use super::Envelope;
use crate::ingest::audit::parse_timestamp;

/// Hands over `events` and `logEvents`.
pub fn open<'a>(env: &Envelope<'a>, open: &mut dyn FnMut(&'a RawValue)) {
    for raw in [env.events, env.log_events].into_iter().flatten() {
        open(raw);
    }
}

/// The message of an S3 export line: what follows an RFC 3339 timestamp and one space, when
/// it opens a JSON object.
pub fn split_export_line(line: &[u8]) -> Option<&[u8]> {
    let space = memchr::memchr(b' ', line)?;
    let (stamp, rest) = (line.get(..space)?, line.get(space + 1..)?);
    if rest.first() != Some(&b'{') {
        return None;
    }
    parse_timestamp(std::str::from_utf8(stamp).ok()?)?;
    Some(rest)
}
