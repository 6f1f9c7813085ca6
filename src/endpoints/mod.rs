//! The OpenAPI endpoint table and the matcher from `(verb, requestURI)` to an operation.

use serde::{Deserialize, Serialize};

/// One OpenAPI operation (an "endpoint" in APISnoop's words).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Operation {
    /// `operationId`, e.g. `readCoreV1NamespacedPod`.
    pub id: String,
    /// HTTP method in upper case (`GET`, `POST`, …).
    pub method: String,
    /// Path template, e.g. `/api/v1/namespaces/{namespace}/pods/{name}`.
    pub path: String,
    /// `x-kubernetes-action` (`get`, `list`, `watch`, `connect`, …), empty when absent.
    pub action: String,
    /// API group (`""` for the legacy core group).
    pub group: String,
    pub version: String,
    pub kind: String,
    /// `stable`, `beta` or `alpha`, from the version.
    pub level: String,
    /// The group as APISnoop names it: `core` for the legacy group.
    pub category: String,
    pub deprecated: bool,
}
