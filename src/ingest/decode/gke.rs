//! GKE's Kubernetes audit logs, as Cloud Logging keeps them: a `LogEntry` whose `protoPayload`
//! is a `google.cloud.audit.AuditLog` (`gcloud logging read --format=json` prints a JSON
//! array of them; exports and sinks write one per line).
//!
//! | event field | from the entry |
//! |---|---|
//! | `verb` | the last part of `methodName` (`io.k8s.core.v1.pods.status.patch` → `patch`) |
//! | `objectRef` | `resourceName` (`core/v1/namespaces/ns/pods/name/status`), with the resource and subresource from `methodName` |
//! | `requestURI` | built from `resourceName`: `core` → `/api/v1/…`, a group → `/apis/<group>/<version>/…`; `?watch=true` for `watch` |
//! | `user.username` | `authenticationInfo.principalEmail` |
//! | `sourceIPs` | `requestMetadata.callerIp` |
//! | `userAgent` | `requestMetadata.callerSuppliedUserAgent` |
//! | `responseStatus.code` | `status.code`, a gRPC code, turned into the HTTP code the API server answers with ([`http_code`]) |
//! | times | `timestamp` (one record per request: the stage is `ResponseComplete`) |
//! | `auditID` | `operation.id` (the API server's audit ID), else `insertId` |
//! | decision, reason | the `authorization.k8s.io/decision` and `…/reason` labels, else `authorizationInfo[].granted` |
//!
//! What a record lacks: the query string (so `list` and `watch` differ only by verb, and label
//! or field selectors are unknown), the exact path for non-resource URLs, the user's groups,
//! impersonation, and the request and response stages. Matching to operations works on the
//! rebuilt path, which is the path the client asked for in every resource request.

use std::borrow::Cow;

use serde::Deserialize;

use crate::ingest::audit::{
    AuditAnnotations, AuditEvent, AuditObjectRef, AuditResponseStatus, AuditUser, cow_str, reasons,
};

use super::Item;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    #[serde(borrow, default, deserialize_with = "cow_str")]
    insert_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "cow_str")]
    timestamp: Cow<'a, str>,
    #[serde(borrow, default)]
    operation: Option<Operation<'a>>,
    #[serde(borrow, default)]
    labels: Option<AuditAnnotations<'a>>,
    #[serde(borrow)]
    proto_payload: Payload<'a>,
}

#[derive(Deserialize)]
struct Operation<'a> {
    #[serde(borrow, default, deserialize_with = "cow_str")]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    #[serde(borrow, default, deserialize_with = "cow_str")]
    service_name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "cow_str")]
    method_name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "cow_str")]
    resource_name: Cow<'a, str>,
    #[serde(borrow, default)]
    authentication_info: Option<Authentication<'a>>,
    #[serde(borrow, default)]
    request_metadata: Option<RequestMetadata<'a>>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    authorization_info: Option<Vec<Authorization>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Authentication<'a> {
    #[serde(borrow, default, deserialize_with = "cow_str")]
    principal_email: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestMetadata<'a> {
    // Some exports spell it `callerIP`.
    #[serde(borrow, default, alias = "callerIP", deserialize_with = "cow_str")]
    caller_ip: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "cow_str")]
    caller_supplied_user_agent: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<i64>,
}

#[derive(Deserialize)]
struct Authorization {
    #[serde(default)]
    granted: Option<bool>,
}

/// Decodes one Cloud Logging entry (`bytes` holds a JSON object with a `protoPayload`).
pub fn decode(bytes: &[u8]) -> Item<'_> {
    let Ok(entry) = serde_json::from_slice::<Entry<'_>>(bytes) else {
        return Err(reasons::NOT_AN_EVENT);
    };
    let p = entry.proto_payload;
    let kubernetes = if p.service_name.is_empty() {
        p.method_name.starts_with("io.k8s.")
    } else {
        p.service_name == "k8s.io"
    };
    if !kubernetes {
        return Err(reasons::OTHER_SERVICE);
    }
    let mapped = map_method(&p.method_name, &p.resource_name);
    let audit_id = match entry.operation {
        Some(op) if !op.id.is_empty() => op.id,
        _ => entry.insert_id,
    };
    // An entry that names no method (so no verb) or has no ID to merge its request by is not
    // a request we can count: skipped, as a plain event without `auditID` is.
    if mapped.verb.is_empty() || audit_id.is_empty() {
        return Err(reasons::NOT_AN_EVENT);
    }
    let mut ev = AuditEvent::default();
    ev.kind = Cow::Borrowed("Event");
    ev.level = Cow::Borrowed("Metadata");
    ev.stage = Cow::Borrowed("ResponseComplete");
    ev.audit_id = audit_id;
    let code = http_code(p.status.and_then(|s| s.code).unwrap_or(0), &mapped.verb);
    if code != 0 {
        ev.response_status = Some(AuditResponseStatus {
            code: Some(i64::from(code)),
        });
    }
    ev.verb = Cow::Owned(mapped.verb);
    ev.request_uri = Cow::Owned(mapped.uri);
    ev.object_ref = Some(mapped.object);
    if let Some(a) = p.authentication_info {
        ev.user = Some(AuditUser {
            username: a.principal_email,
            groups: Default::default(),
        });
    }
    if let Some(m) = p.request_metadata {
        if !m.caller_ip.is_empty() {
            ev.source_ips = vec![m.caller_ip].into();
        }
        ev.user_agent = m.caller_supplied_user_agent;
    }
    let mut annotations = entry.labels.unwrap_or_default();
    if annotations.decision.is_empty()
        && let Some(granted) = p
            .authorization_info
            .as_deref()
            .and_then(|a| a.iter().find_map(|x| x.granted))
    {
        annotations.decision = Cow::Borrowed(if granted { "allow" } else { "forbid" });
    }
    ev.annotations = Some(annotations);
    ev.request_received_timestamp = entry.timestamp;
    ev.validate().map(|()| ev)
}

/// What `methodName` and `resourceName` say about a request.
#[derive(Debug)]
pub struct Mapped<'a> {
    /// The Kubernetes verb.
    pub verb: String,
    /// The request path the client used, `?watch=true` for a watch.
    pub uri: String,
    /// The object.
    pub object: AuditObjectRef<'a>,
}

/// Maps `methodName` (`io.k8s.<group>.<version>.<resource>[.<subresource>].<verb>`, the group
/// reversed: `io.k8s.authorization.rbac.v1.roles.create`) and `resourceName`
/// (`<group>/<version>/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]`, `core` for the
/// core group) to a verb, a request path and an object.
pub fn map_method<'a>(method: &str, resource_name: &str) -> Mapped<'a> {
    let verb = method.rsplit('.').next().unwrap_or("").to_string();
    let parts: Vec<&str> = resource_name.split('/').filter(|s| !s.is_empty()).collect();
    let mut object = AuditObjectRef::default();
    let (Some(&group), Some(&version)) = (parts.first(), parts.get(1)) else {
        return Mapped {
            verb,
            uri: format!("/{resource_name}"),
            object,
        };
    };
    let segs = &parts[2..];
    // The resource and subresource as `methodName` names them: the parts between the version
    // and the verb.
    let method_parts: Vec<&str> = method.split('.').collect();
    let named: &[&str] = method_parts
        .iter()
        .rposition(|&p| p == version)
        .and_then(|i| method_parts.get(i + 1..method_parts.len().saturating_sub(1)))
        .unwrap_or(&[]);
    let resource = named.first().copied().unwrap_or("");
    let (namespace, tail) = match segs {
        ["namespaces", ns, rest @ ..] if resource != "namespaces" && !rest.is_empty() => {
            (*ns, rest)
        }
        _ => ("", segs),
    };
    let api_group = if group == "core" { "" } else { group };
    object.api_group = Cow::Owned(api_group.to_string());
    object.api_version = Cow::Owned(version.to_string());
    object.namespace = Cow::Owned(namespace.to_string());
    object.resource = Cow::Owned(tail.first().copied().unwrap_or(resource).to_string());
    object.name = Cow::Owned(tail.get(1).copied().unwrap_or("").to_string());
    object.subresource = Cow::Owned(
        tail.get(2)
            .copied()
            .or(named.get(1).copied())
            .unwrap_or("")
            .to_string(),
    );
    let mut uri = if group == "core" {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    // A create names the new object in `resourceName`, but was posted to the collection (a
    // subresource create, like `pods/eviction`, goes to the object's subresource).
    let path_len = if verb == "create" && tail.len() == 2 {
        segs.len() - 1
    } else {
        segs.len()
    };
    for s in &segs[..path_len] {
        uri.push('/');
        uri.push_str(s);
    }
    if verb == "watch" {
        uri.push_str("?watch=true");
    }
    Mapped { verb, uri, object }
}

/// The HTTP code the API server answered with, from a `google.rpc.Code` (the mapping of
/// `google/rpc/code.proto`); 0 (`OK`) is 201 for `create`, as the API server answers a
/// successful create, else 200. A value that already is an HTTP code (100-599) is kept.
pub fn http_code(grpc: i64, verb: &str) -> u16 {
    match grpc {
        0 if verb == "create" => 201,
        0 => 200,
        1 => 499,
        2 | 13 | 15 => 500,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        100..=599 => grpc as u16,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Kubernetes entry without `methodName` (found by the `gke_entry` fuzz target: it gave
    /// an event with an empty verb) or without any ID is skipped as not an audit event.
    #[test]
    fn entries_without_a_method_or_an_id_are_skipped() {
        let entry = |method: &str, insert: &str| {
            format!(
                r#"{{"insertId":"{insert}","protoPayload":{{"serviceName":"k8s.io","methodName":"{method}","resourceName":"core/v1/namespaces/a/pods/b"}},"timestamp":"2024-01-01T01:00:00Z"}}"#
            )
        };
        let ok = entry("io.k8s.core.v1.pods.get", "id-1");
        assert_eq!(
            decode(ok.as_bytes()).map(|e| e.verb.into_owned()),
            Ok("get".to_string())
        );
        for bad in [entry("", "id-1"), entry("io.k8s.core.v1.pods.get", "")] {
            assert_eq!(
                decode(bad.as_bytes()).err(),
                Some(reasons::NOT_AN_EVENT),
                "{bad}"
            );
        }
        let found = include_bytes!(
            "../../../fuzz/artifacts/gke_entry/crash-980e98eacce6b84ee3360b9b32a36b2ddd190a46"
        );
        assert_eq!(decode(found).err(), Some(reasons::NOT_AN_EVENT));
    }

    #[test]
    fn maps_methods_to_paths() {
        let m = map_method(
            "io.k8s.core.v1.pods.status.patch",
            "core/v1/namespaces/ns-1/pods/web-0/status",
        );
        assert_eq!(m.verb, "patch");
        assert_eq!(m.uri, "/api/v1/namespaces/ns-1/pods/web-0/status");
        assert_eq!(
            (
                &*m.object.namespace,
                &*m.object.resource,
                &*m.object.name,
                &*m.object.subresource
            ),
            ("ns-1", "pods", "web-0", "status")
        );
        let m = map_method(
            "io.k8s.authorization.rbac.v1.clusterroles.watch",
            "rbac.authorization.k8s.io/v1/clusterroles",
        );
        assert_eq!(m.verb, "watch");
        assert_eq!(
            m.uri,
            "/apis/rbac.authorization.k8s.io/v1/clusterroles?watch=true"
        );
        assert_eq!(&*m.object.api_group, "rbac.authorization.k8s.io");
        let m = map_method(
            "io.k8s.core.v1.namespaces.status.update",
            "core/v1/namespaces/team-a/status",
        );
        assert_eq!(m.uri, "/api/v1/namespaces/team-a/status");
        assert_eq!(
            (&*m.object.resource, &*m.object.name, &*m.object.subresource),
            ("namespaces", "team-a", "status")
        );
        let m = map_method(
            "io.k8s.core.v1.pods.list",
            "core/v1/namespaces/default/pods",
        );
        assert_eq!(m.uri, "/api/v1/namespaces/default/pods");
        assert_eq!(
            (&*m.object.namespace, &*m.object.resource, &*m.object.name),
            ("default", "pods", "")
        );
        assert_eq!(map_method("io.k8s.get", "").uri, "/");
        let m = map_method(
            "io.k8s.core.v1.pods.create",
            "core/v1/namespaces/ns/pods/web-0",
        );
        assert_eq!(m.uri, "/api/v1/namespaces/ns/pods");
        assert_eq!(&*m.object.name, "web-0");
        let m = map_method(
            "io.k8s.core.v1.pods.eviction.create",
            "core/v1/namespaces/ns/pods/web-0/eviction",
        );
        assert_eq!(m.uri, "/api/v1/namespaces/ns/pods/web-0/eviction");
        let m = map_method(
            "io.k8s.core.v1.namespaces.create",
            "core/v1/namespaces/team-b",
        );
        assert_eq!(m.uri, "/api/v1/namespaces");
    }

    #[test]
    fn grpc_codes() {
        assert_eq!(http_code(0, "create"), 201);
        assert_eq!(http_code(0, "get"), 200);
        assert_eq!(http_code(7, "get"), 403);
        assert_eq!(http_code(5, "delete"), 404);
        assert_eq!(http_code(404, "get"), 404);
        assert_eq!(http_code(-3, "get"), 0);
    }
}
