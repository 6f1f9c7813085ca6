//! AKS audit logs sent by a diagnostic setting to Azure Event Hubs:
//! `{"records":[{"category":"kube-audit","properties":{"log":"<event as a string>"}}]}`.
//! The `log` string itself is read by [`super::wrapper`].

use serde_json::value::RawValue;

use super::Envelope;

/// Hands over the batch's `records` and a record's `properties`.
pub fn open<'a>(env: &Envelope<'a>, open: &mut dyn FnMut(&'a RawValue)) {
    for raw in [env.records, env.properties].into_iter().flatten() {
        open(raw);
    }
}
