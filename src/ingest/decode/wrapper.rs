//! A log shipper's record around one event: `{"log":"<event>","stream":"stdout","time":…}`
//! (docker's json-file driver, fluentd, fluent-bit) or `{"message":"<event>",…}` (fluent-bit
//! and Vector outputs, CloudWatch items). The value is the event as a string (possibly ending
//! in a newline) or as an object; a string that is not JSON is "not an audit event".

use serde_json::value::RawValue;

use super::Envelope;

/// Hands over `log` and `message`.
pub fn open<'a>(env: &Envelope<'a>, open: &mut dyn FnMut(&'a RawValue)) {
    for raw in [env.log, env.message].into_iter().flatten() {
        open(raw);
    }
}
