//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod apisnoop;
mod fixtures;
#[allow(unused_imports)]
pub use fixtures::*;

/// The binary under test.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_auditscope"))
}

/// Runs a command that must succeed (its stderr is the failure message) and returns its
/// stdout as text.
pub fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// [`stdout_of`] parsed as JSON.
pub fn json_of(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    serde_json::from_str(&stdout_of(cmd)).expect("stdout is JSON")
}

/// One `ResponseComplete` audit event as a JSON line: `list` of the default namespace's pods
/// by `admin`, code 200, received and completed at `micros` since the epoch.
pub fn list_pods_event(audit_id: &str, user_agent: &str, micros: i64) -> String {
    let ts = chrono::DateTime::from_timestamp_micros(micros)
        .expect("a time in range")
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    serde_json::json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": audit_id, "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods", "verb": "list",
        "user": {"username": "admin"}, "sourceIPs": ["10.0.0.1"], "userAgent": user_agent,
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": ts, "stageTimestamp": ts,
    })
    .to_string()
}
