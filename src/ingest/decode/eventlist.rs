//! The webhook backend's batch: `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[…]}`,
//! as a whole document or one per line.

use serde_json::value::RawValue;

use super::Envelope;

/// Hands over `items`, the list of events.
pub fn open<'a>(env: &Envelope<'a>, open: &mut dyn FnMut(&'a RawValue)) {
    if let Some(items) = env.items {
        open(items);
    }
}
