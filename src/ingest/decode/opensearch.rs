//! OpenSearch/Elasticsearch exports of audit logs shipped by fluent-bit:
//! a search response `{"hits":{"hits":[…]}}`, one hit `{"_index":…,"_source":{…}}` per line, or
//! bare `_source` objects, whose `Body.value` is the event as a string.

use serde_json::value::RawValue;

use super::Envelope;

/// Hands over `hits` (the response's, then the inner list), `_source` and `Body.value`.
pub fn open<'a>(env: &Envelope<'a>, open: &mut dyn FnMut(&'a RawValue)) {
    for raw in [env.hits, env.source, env.body_value].into_iter().flatten() {
        open(raw);
    }
}
