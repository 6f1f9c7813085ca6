//! `report events`: one line per request in the API server's own one-line form, as
//! `EventString` in `k8s.io/apiserver/pkg/audit/format.go` prints it, with its `<none>`,
//! `<self>`, `<lookup>`, `<unknown>` and `<deferred>` placeholders. Strings are quoted the
//! way Go's `%q` does, which also makes every control character visible.

use std::fmt::Write as _;

use crate::run::{Request, Run, time};

/// Quotes `s` as Go's `strconv.Quote` (`%q`) does.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quoted_list(run: &Run, ids: &[u32]) -> String {
    ids.iter()
        .map(|g| go_quote(run.str(*g)))
        .collect::<Vec<_>>()
        .join(",")
}

/// The request's `EventString` line (without a newline).
pub fn event_string(run: &Run, req: &Request) -> String {
    let user = run.users.get(req.user as usize);
    let (username, groups) = match user {
        Some(u) if !run.str(u.name).is_empty() => (
            run.str(u.name).to_string(),
            if u.groups.is_empty() {
                "<none>".to_string()
            } else {
                quoted_list(run, &u.groups)
            },
        ),
        _ => ("<none>".to_string(), "<none>".to_string()),
    };
    let (as_user, as_groups) = match req.impersonated.and_then(|i| run.users.get(i as usize)) {
        Some(u) => (
            run.str(u.name).to_string(),
            if u.groups.is_empty() {
                "<lookup>".to_string()
            } else {
                quoted_list(run, &u.groups)
            },
        ),
        None => ("<self>".to_string(), "<lookup>".to_string()),
    };
    let namespace = match run.str(req.object.namespace) {
        "" => "<none>",
        ns => ns,
    };
    let response = if req.code == 0 {
        "<deferred>".to_string()
    } else {
        req.code.to_string()
    };
    let ips = run.str(req.source_ips);
    let ip = match ips.split(',').next() {
        Some(first) if !first.is_empty() => first,
        _ => "<unknown>",
    };
    let ua = run
        .agent_of(req)
        .map(|a| run.agent_text(a))
        .unwrap_or_default();
    format!(
        "{} AUDIT: id={} stage={} ip={} method={} user={} groups={} as={} asgroups={} user-agent={} namespace={} uri={} response=\"{}\"",
        time::rfc3339_nano(req.received),
        go_quote(&req.audit_id),
        go_quote(req.stage.as_str()),
        go_quote(ip),
        go_quote(run.str(req.verb)),
        go_quote(&username),
        go_quote(&groups),
        go_quote(&as_user),
        go_quote(&as_groups),
        go_quote(&ua),
        go_quote(namespace),
        go_quote(run.str(req.uri)),
        response
    )
}

/// Writes every kept request's line.
pub fn write_text(
    run: &Run,
    keep: &dyn Fn(&Request) -> bool,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for req in run.requests.iter().filter(|r| keep(r)) {
        writeln!(w, "{}", event_string(run, req))?;
    }
    Ok(())
}

/// One request as JSON for `--format json` (every kept field, names as in the audit event).
pub fn event_json(run: &Run, req: &Request) -> serde_json::Value {
    let user_json = |id: u32| {
        run.users.get(id as usize).map(|u| {
            serde_json::json!({
                "username": run.str(u.name),
                "groups": u.groups.iter().map(|g| run.str(*g)).collect::<Vec<_>>(),
            })
        })
    };
    let agent = run.agent_of(req);
    serde_json::json!({
        "auditID": &*req.audit_id,
        "stage": req.stage.as_str(),
        "stageEvents": req.stage_events,
        "level": req.level.as_str(),
        "verb": run.str(req.verb),
        "requestURI": run.str(req.uri),
        "user": user_json(req.user),
        "impersonatedUser": req.impersonated.and_then(user_json),
        "sourceIPs": run.str(req.source_ips).split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "userAgent": agent.map(|a| run.agent_text(a)),
        "objectRef": {
            "resource": run.str(req.object.resource),
            "subresource": run.str(req.object.subresource),
            "namespace": run.str(req.object.namespace),
            "name": run.str(req.object.name),
            "apiGroup": run.str(req.object.api_group),
            "apiVersion": run.str(req.object.api_version),
        },
        "code": (req.code != 0).then_some(req.code),
        "requestReceivedTimestamp": time::to_datetime(req.received).map(|_| time::rfc3339(req.received)),
        "stageTimestamp": time::to_datetime(req.completed).map(|_| time::rfc3339(req.completed)),
        "latencyMicros": (req.received != crate::run::NO_TIME && req.completed != crate::run::NO_TIME)
            .then(|| req.completed - req.received),
        "decision": req.decision.as_str(),
        "reason": run.str(req.reason),
        "spec": run.spec_of(req).map(|s| run.str(s.name)),
        "attribution": req.attribution.as_str(),
        "operation": run.operation_of(req).map(|o| o.id.as_str()),
    })
}

/// Writes kept requests as an aligned table: time, code, verb, URI, user, impersonated user,
/// authorization decision and reason, spec. For RBAC debugging (`--code 403`, `--code 401`).
pub fn write_table(
    run: &Run,
    keep: &dyn Fn(&Request) -> bool,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use crate::text::escape_control as esc;
    // Two passes: the columns are as wide as their widest kept value, so they stay aligned
    // whatever the user names.
    let rows: Vec<[String; 7]> = run
        .requests
        .iter()
        .filter(|r| keep(r))
        .map(|req| {
            let user = run
                .users
                .get(req.user as usize)
                .map_or("", |u| run.str(u.name));
            let as_user = req
                .impersonated
                .and_then(|i| run.users.get(i as usize))
                .map_or("-", |u| run.str(u.name));
            let code = if req.code == 0 {
                "-".to_string()
            } else {
                req.code.to_string()
            };
            let decision = match req.decision.as_str() {
                "" => "-",
                d => d,
            };
            [
                time::rfc3339(req.received),
                code,
                esc(run.str(req.verb)).into_owned(),
                esc(user).into_owned(),
                esc(as_user).into_owned(),
                decision.to_string(),
                format!(
                    "{} | {} | {}",
                    esc(run.str(req.reason)),
                    esc(run.str(req.uri)),
                    run.spec_of(req)
                        .map_or("-".into(), |s| esc(run.str(s.name)))
                ),
            ]
        })
        .collect();
    let header = [
        "TIME",
        "CODE",
        "VERB",
        "USER",
        "AS",
        "DECISION",
        "REASON | URI | SPEC",
    ];
    // At least the widths of earlier versions, so common output did not change.
    let mut width = [27, 4, 7, 30, 20, 8, 0];
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 7]| -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(cell.chars().count());
            match i {
                // The last column is not padded; the code is right-aligned.
                6 => out.push_str(cell),
                1 => out.push_str(&format!("{}{cell} ", " ".repeat(pad))),
                _ => out.push_str(&format!("{cell}{} ", " ".repeat(pad))),
            }
        }
        out
    };
    writeln!(w, "{}", line(header))?;
    for row in &rows {
        let cells: [&str; 7] = std::array::from_fn(|i| row[i].as_str());
        writeln!(w, "{}", line(cells))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\u{1b}[2J"), r#""\x1b[2J""#);
        assert_eq!(go_quote("tab\there\n"), r#""tab\there\n""#);
        assert_eq!(go_quote("\u{9b}"), r#""\u009b""#);
        assert_eq!(go_quote("héllo"), "\"héllo\"");
    }
}
