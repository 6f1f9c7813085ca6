//! Reading operations out of an OpenAPI v2 (swagger) document.

use serde_json::Value;

use super::{EndpointError, Operation, category_of_path, level_of_version};

/// Stable by their path, but beta by APISnoop's rule.
pub(super) const BETA_BY_RULE: [&str; 2] = [
    "getServiceAccountIssuerOpenIDConfiguration",
    "getServiceAccountIssuerOpenIDKeyset",
];

/// The HTTP methods an OpenAPI v2 path item can hold, in the spelling of its keys.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Every operation of the document, in path order (then method name order).
pub(super) fn parse(json: &[u8]) -> Result<Vec<Operation>, EndpointError> {
    let doc: Value = serde_json::from_slice(json)?;
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| EndpointError::Spec("no \"paths\" object (is this OpenAPI v2?)".into()))?;
    let mut ops = Vec::new();
    // serde_json's map is sorted by key, so the output does not depend on the file's order.
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (key, op) in item {
            if !METHODS.contains(&key.as_str()) {
                continue;
            }
            ops.push(operation(path, key, op));
        }
    }
    Ok(ops)
}

fn operation(path: &str, method: &str, op: &Value) -> Operation {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let method_upper = method.to_ascii_uppercase();
    let id = match op.get("operationId").and_then(Value::as_str) {
        Some(id) => id.to_string(),
        None => format!("{method_upper} {path}"),
    };
    let gvk = op.get("x-kubernetes-group-version-kind");
    let (group, version, kind, has_gvk) = match gvk {
        Some(g) if g.is_object() => (
            text(g.get("group")),
            text(g.get("version")),
            text(g.get("kind")),
            true,
        ),
        // Without it, APISnoop reports null group, version and kind; so do we (empty), which
        // also keeps these rows equal to the ones read from APISnoop's files.
        _ => (String::new(), String::new(), String::new(), false),
    };
    let description = text(op.get("description"));
    let deprecated = op.get("deprecated").and_then(Value::as_bool) == Some(true)
        || description.to_ascii_lowercase().contains("deprecated");
    // APISnoop's rule: the level is in the path (its version segment), and the two service
    // account issuer discovery operations count as beta.
    let level = if BETA_BY_RULE.contains(&id.as_str()) {
        "beta"
    } else {
        level_of_version(path)
    };
    let category = op
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|tags| tags.first())
        .and_then(Value::as_str)
        .map(|tag| tag.split('_').next().unwrap_or("").to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| category_of_path(path));
    Operation {
        id,
        method: method_upper,
        path: path.to_string(),
        action: text(op.get("x-kubernetes-action")),
        level: level.to_string(),
        group,
        version,
        kind,
        category,
        deprecated,
        description,
        has_gvk,
    }
}
