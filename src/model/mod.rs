//! Small types shared by [`crate::endpoints`], [`crate::run`] and everything after them: the
//! typed ids, the string table, Kubernetes [`Release`]s, and the OpenAPI [`Operation`].
//!
//! This module depends on nothing else in the crate, so `endpoints/` and `run/` can both use
//! it without importing each other.

pub mod release;
pub mod strings;

use serde::{Deserialize, Serialize};

pub use release::{Release, ReleaseSet};
pub use strings::{Interner, StrId};

/// Declares a `u32` index newtype: two kinds of id cannot be mixed up, and the RUN.json
/// form stays a plain number (`#[serde(transparent)]`).
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The id of the item at `index` of its table.
            #[inline]
            pub const fn from_index(index: usize) -> Self {
                Self(index as u32)
            }
            /// The index of the item in its table.
            #[inline]
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Index into `Run::operations` (and into the [`crate::endpoints::EndpointTable`] the run
    /// was matched against).
    OpId
);
id_type!(
    /// Index into `Run::specs`.
    SpecId
);

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
    /// API version (`v1`, `v1beta1`, …); from the path when the spec names no kind.
    pub version: String,
    /// The kind the operation is about; when the spec names none, the type of its response.
    pub kind: String,
    /// `stable`, `beta` or `alpha`, from the version.
    pub level: String,
    /// The group as APISnoop names it: the first tag's part before `_` (`core`, `apps`,
    /// `rbacAuthorization`, `WellKnown`, …).
    pub category: String,
    /// The spec marks the operation deprecated (flag, or "deprecated" in its description,
    /// which is how the legacy `watch*` operations are marked).
    pub deprecated: bool,
    /// The operation's description in the spec (APISnoop's coverage file repeats it).
    #[serde(default)]
    pub description: String,
    /// True when group/version/kind came from `x-kubernetes-group-version-kind`; false when
    /// they were derived (APISnoop reports `null` for those).
    #[serde(default)]
    pub has_gvk: bool,
}
