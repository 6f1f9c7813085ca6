//! The text form of a [`Diff`]: a summary line, the two sides, then one section per change.

use std::io::{self, Write};

use super::{Diff, SideInfo, Totals, percent};
use crate::text::escape_control;

/// Writes the comparison for people. The first line is the summary: conformance-eligible
/// coverage old → new and its change, and whether the releases differ.
pub fn write_text(d: &Diff, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "{}", summary_line(d))?;
    write_side(w, "old", &d.old)?;
    write_side(w, "new", &d.new)?;

    let e = &d.endpoints;
    let eligible = |id: &str| e.eligible.binary_search_by(|x| x.as_str().cmp(id)).is_ok();
    let mark = |id: &str| if eligible(id) { "  eligible" } else { "" };
    let sections: [(&str, &[String]); 4] = [
        ("endpoints added (in new's table only)", &e.added),
        ("endpoints removed (in old's table only)", &e.removed),
        ("endpoints newly tested", &e.newly_tested),
        ("endpoints no longer tested", &e.no_longer_tested),
    ];
    for (title, list) in sections {
        writeln!(w)?;
        writeln!(w, "{title}: {}", list.len())?;
        for id in list {
            writeln!(w, "  {}{}", escape_control(id), mark(id))?;
            for t in e.tests.get(id).into_iter().flatten() {
                writeln!(w, "      {}", test_name(t))?;
            }
        }
    }

    let t = &d.tests;
    for (title, list) in [("tests added", &t.added), ("tests removed", &t.removed)] {
        writeln!(w)?;
        writeln!(w, "{title}: {}", list.len())?;
        for name in list {
            writeln!(w, "  {}", test_name(name))?;
        }
    }
    writeln!(w)?;
    writeln!(w, "tests changed: {}", t.changed.len())?;
    for c in &t.changed {
        // An APISnoop file counts no requests: `-` on its side, nothing when both are files.
        let count = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
        if c.requests_old.is_none() && c.requests_new.is_none() {
            writeln!(w, "  {}", test_name(&c.test))?;
        } else {
            writeln!(
                w,
                "  {}  (requests {} → {})",
                test_name(&c.test),
                count(c.requests_old),
                count(c.requests_new)
            )?;
        }
        for id in &c.gained {
            writeln!(w, "    + {}", escape_control(id))?;
        }
        for id in &c.lost {
            writeln!(w, "    - {}", escape_control(id))?;
        }
    }

    if let Some(l) = &d.latency {
        writeln!(w)?;
        writeln!(
            w,
            "latency regressions (p50 or p99 over {}× and at least {} ms): {}",
            l.threshold.ratio,
            l.threshold.min_ms,
            l.regressions.len()
        )?;
        for r in &l.regressions {
            writeln!(
                w,
                "  {}  p50 {:.1} → {:.1} ms, p99 {:.1} → {:.1} ms  (requests {} → {})",
                escape_control(&r.endpoint),
                r.p50_old_ms,
                r.p50_new_ms,
                r.p99_old_ms,
                r.p99_new_ms,
                r.count_old,
                r.count_new
            )?;
        }
    }

    writeln!(w)?;
    write_totals(w, &d.totals.old, &d.totals.new)?;
    if !d.notes.is_empty() {
        writeln!(w)?;
        writeln!(w, "notes:")?;
        for n in &d.notes {
            writeln!(w, "  {}", escape_control(n))?;
        }
    }
    Ok(())
}

/// `conformance-eligible coverage 504/510 (98.8%) → 505/551 (91.7%): -7.1 points, +1 tested`,
/// then `; releases differ (1.33.0 → 1.34.0), compared by operationId` when they do.
pub fn summary_line(d: &Diff) -> String {
    let (o, n) = (&d.totals.old, &d.totals.new);
    let points = n.eligible_percent() - o.eligible_percent();
    let tested = n.tested_conformance_eligible_endpoints as i64
        - o.tested_conformance_eligible_endpoints as i64;
    let eligible = n.total_conformance_eligible_endpoints as i64
        - o.total_conformance_eligible_endpoints as i64;
    let mut line = format!(
        "conformance-eligible coverage {} → {}: {:+.1} points, {:+} tested, {:+} eligible",
        fraction(o),
        fraction(n),
        points,
        tested,
        eligible
    );
    if d.releases_differ {
        line.push_str(&format!(
            "; releases differ ({} → {}), compared by operationId",
            escape_control(d.old.release.as_deref().unwrap_or("?")),
            escape_control(d.new.release.as_deref().unwrap_or("?"))
        ));
    }
    line
}

fn fraction(t: &Totals) -> String {
    format!(
        "{}/{} ({:.1}%)",
        t.tested_conformance_eligible_endpoints,
        t.total_conformance_eligible_endpoints,
        percent(
            t.tested_conformance_eligible_endpoints,
            t.total_conformance_eligible_endpoints
        )
    )
}

fn write_side(w: &mut dyn Write, label: &str, s: &SideInfo) -> io::Result<()> {
    let release = s
        .release
        .as_deref()
        .map_or(String::from("release unknown"), |r| format!("release {r}"));
    writeln!(
        w,
        "{label}: {} ({}, {})",
        escape_control(&s.source),
        s.kind.describe(),
        escape_control(&release)
    )
}

/// A test name for a line of text; APISnoop's files have one test named `""`.
fn test_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.is_empty() {
        "(a test with an empty name)".into()
    } else {
        escape_control(name)
    }
}

fn write_totals(w: &mut dyn Write, old: &Totals, new: &Totals) -> io::Result<()> {
    writeln!(w, "{:<44}{:>8}{:>8}{:>8}", "totals", "old", "new", "change")?;
    for ((name, o), (_, n)) in old.named().into_iter().zip(new.named()) {
        writeln!(
            w,
            "  {:<42}{:>8}{:>8}{:>+8}",
            name,
            o,
            n,
            n as i64 - o as i64
        )?;
    }
    Ok(())
}
