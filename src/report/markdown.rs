//! The Markdown report (`--report-markdown FILE`): a GitHub-flavoured
//! summary of the run for a CI job page (`$GITHUB_STEP_SUMMARY`, a merge
//! request note): the verdict, the "documented vs observed" table, the
//! drifts grouped by class, the observed baseline of a live target and what
//! changed since `--baseline`. Rendered from the [`RunReport`] alone, like
//! every format; the report is built from redacted material.
//!
//! Every value that came from the endpoint is escaped ([`text`]): a server
//! cannot add a table column, a link, an image or HTML to the summary.

use super::{RunReport, Verdict};
use crate::contract::DriftClass;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Escapes free text for Markdown, inline and in table cells: one line,
/// no emphasis, code, link, table or HTML syntax.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "✅ PASS",
        Verdict::Drifted => "❌ DRIFT",
        Verdict::Skipped => "⏭️ SKIP",
        Verdict::NoVerdict => "⚠️ NO VERDICT",
    }
}

fn headline(r: &RunReport) -> &'static str {
    match r.verdict {
        Verdict::Passed => "every documented check held",
        Verdict::Drifted => "the endpoint drifted from the documented contract",
        Verdict::NoVerdict => "no verdict: the endpoint could not be judged",
        Verdict::Skipped => "nothing ran",
    }
}

/// One GFM table row from already escaped cells.
fn row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

pub fn render(r: &RunReport) -> String {
    let mut out = String::new();
    let s = &r.summary;
    let _ = writeln!(
        out,
        "## PayU contract: {} — {}\n",
        verdict_label(r.verdict),
        headline(r)
    );
    let _ = writeln!(
        out,
        "Target **{}** ({}) · {} scenarios: {} passed, {} drifted, {} skipped, {} no verdict · exit {} · {} ms · started {}\n",
        text(&r.target.name),
        text(&r.target.token_url),
        s.total,
        s.passed,
        s.drifted,
        s.skipped,
        s.no_verdict,
        r.exit_code,
        r.duration_ms,
        text(&r.started_at)
    );
    if let Some(reason) = &r.reason {
        let _ = writeln!(out, "> {}\n", text(reason));
    }

    // The documented-vs-observed table: every scenario.
    out.push_str("### Documented vs observed\n\n");
    out.push_str(&row(&[
        "Scenario".into(),
        "Verdict".into(),
        "Status documented".into(),
        "Status observed".into(),
        "Error documented".into(),
        "Error observed".into(),
        "Drift".into(),
    ]));
    out.push_str("| --- | --- | ---: | ---: | --- | --- | --- |\n");
    let opt = |v: Option<String>| v.map_or_else(|| "–".into(), |v| text(&v));
    for c in r.contract_rows() {
        let classes: Vec<&str> = c.drift_classes.iter().map(|c| c.as_str()).collect();
        let status_differs = c.documented_status.is_some()
            && c.observed_status.is_some()
            && c.documented_status != c.observed_status;
        let error_differs = c.documented_error.is_some() && c.documented_error != c.observed_error;
        let bold = |cell: String, on: bool| if on { format!("**{cell}**") } else { cell };
        out.push_str(&row(&[
            text(&c.name),
            verdict_label(c.verdict).into(),
            opt(c.documented_status.map(|v| v.to_string())),
            bold(
                opt(c.observed_status.map(|v| v.to_string())),
                status_differs,
            ),
            opt(c.documented_error.clone()),
            bold(opt(c.observed_error.clone()), error_differs),
            if classes.is_empty() {
                "–".into()
            } else {
                classes.join(", ")
            },
        ]));
    }
    out.push('\n');

    // Drifts by class.
    let mut by_class: BTreeMap<DriftClass, Vec<String>> = BTreeMap::new();
    for sc in &r.scenarios {
        for c in &sc.checks {
            for d in &c.drifts {
                by_class.entry(d.class).or_default().push(format!(
                    "- {} — {}: {}: expected {}, observed {}\n",
                    text(&sc.id()),
                    text(&c.name),
                    text(&d.path.to_string()),
                    text(&d.expected),
                    text(&d.observed)
                ));
            }
        }
    }
    if !by_class.is_empty() {
        out.push_str("### Drifts by class\n\n");
        for (class, lines) in &by_class {
            let _ = writeln!(out, "#### {} ({})\n", class.as_str(), lines.len());
            for l in lines {
                out.push_str(l);
            }
            out.push('\n');
        }
    }

    // Skipped scenarios and why.
    let skipped: Vec<_> = r
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::Skipped)
        .collect();
    if !skipped.is_empty() {
        out.push_str("### Skipped\n\n");
        for s in skipped {
            let _ = writeln!(
                out,
                "- {}: {}",
                text(&s.id()),
                text(s.reason.as_deref().unwrap_or("skipped"))
            );
        }
        out.push('\n');
    }

    if let Some(line) = super::observed_baseline_line(r) {
        let _ = writeln!(out, "### Observed baseline\n\n{}\n", text(&line));
    }

    if let Some(c) = &r.since_baseline {
        let _ = writeln!(
            out,
            "### Changes since the baseline\n\nCompared with the run of {} against {} (verdict {}).\n",
            text(&c.baseline_started_at),
            text(&c.baseline_target),
            c.baseline_verdict.as_str()
        );
        if c.is_empty() {
            out.push_str("Nothing changed.\n\n");
        } else {
            let v = |v: Option<Verdict>| v.map_or("absent", Verdict::as_str);
            for ch in &c.verdict_changes {
                let _ = writeln!(
                    out,
                    "- verdict of {}: {} → {}",
                    text(&ch.scenario),
                    v(ch.before),
                    v(ch.after)
                );
            }
            for d in &c.appeared {
                let _ = writeln!(
                    out,
                    "- new drift {} at {} ({})",
                    d.class,
                    text(&d.path),
                    text(&d.scenario)
                );
            }
            for d in &c.disappeared {
                let _ = writeln!(
                    out,
                    "- drift gone: {} at {} ({})",
                    d.class,
                    text(&d.path),
                    text(&d.scenario)
                );
            }
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "<sub>payu-contract {} · secrets are shown as [redacted]</sub>",
        text(&r.tool_version)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests_support::{drifted_scenario, passed_scenario, report_with};

    /// The cells of a GFM table line, split at unescaped pipes.
    fn cells(line: &str) -> Vec<String> {
        let inner = line
            .trim()
            .strip_prefix('|')
            .and_then(|l| l.strip_suffix('|'))
            .unwrap_or_else(|| panic!("a table line starts and ends with a pipe: {line}"));
        let mut out = vec![String::new()];
        let mut escaped = false;
        for c in inner.chars() {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '|') => out.push(String::new()),
                _ => {
                    escaped = false;
                    out.last_mut().unwrap().push(c);
                }
            }
        }
        out
    }

    #[test]
    fn the_table_is_well_formed_gfm_even_with_hostile_values() {
        let mut hostile = drifted_scenario(
            "a | b <img src=x> [link](http://e) `code` *x*",
            DriftClass::ErrorCodeChanged,
            "/error",
        );
        hostile.exchanges[0].response.as_mut().unwrap().body = r#"{"error":"x | y\n| z |"}"#.into();
        let r = report_with(vec![passed_scenario("ok"), hostile]);
        let md = render(&r);
        let table: Vec<&str> = md
            .lines()
            .skip_while(|l| !l.starts_with("| Scenario"))
            .take_while(|l| l.starts_with('|'))
            .collect();
        assert_eq!(table.len(), 2 + r.scenarios.len(), "{md}");
        let width = cells(table[0]).len();
        assert_eq!(width, 7);
        for line in &table {
            assert_eq!(cells(line).len(), width, "{line}");
        }
        assert!(
            cells(table[1])
                .iter()
                .all(|c| c.trim().trim_matches(':').chars().all(|c| c == '-'))
        );
        // Nothing the server sent becomes markup.
        assert!(!md.contains("<img") && !md.contains(" `code`"));
        assert_eq!(md.matches("](").count(), md.matches("\\](").count(), "{md}");
        assert!(md.contains("&lt;img"));
    }

    #[test]
    fn drifts_are_grouped_by_class_with_the_verdict_first() {
        let r = report_with(vec![
            drifted_scenario("a", DriftClass::StatusCodeChanged, "status"),
            drifted_scenario("b", DriftClass::StatusCodeChanged, "status"),
            drifted_scenario("c", DriftClass::FieldMissing, "/expires_in"),
        ]);
        let md = render(&r);
        assert!(md.starts_with("## PayU contract: ❌ DRIFT"), "{md}");
        assert!(md.contains("#### status-code-changed (2)"), "{md}");
        assert!(md.contains("#### field-missing (1)"), "{md}");
        let passed = render(&report_with(vec![passed_scenario("a")]));
        assert!(passed.starts_with("## PayU contract: ✅ PASS"));
        assert!(!passed.contains("Drifts by class"));
    }

    #[test]
    fn escaping_leaves_plain_text_alone() {
        assert_eq!(
            text("Refresh without grant type"),
            "Refresh without grant type"
        );
        assert_eq!(text("a|b\nc"), "a\\|b c");
    }
}
