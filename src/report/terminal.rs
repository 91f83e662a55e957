//! What a person sees on the terminal: one line per scenario as it
//! finishes, then a summary. Colour only on a terminal (and never when
//! `NO_COLOR` or `CI` is set).

use super::baseline::Comparison;
use super::{RunReport, ScenarioReport, Verdict};
use std::io::IsTerminal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

#[derive(Clone, Copy, Debug)]
pub struct Style {
    colour: bool,
}

impl Style {
    pub fn detect() -> Style {
        let colour = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none()
            && std::env::var("CI").map_or(true, |v| v.is_empty() || v == "false");
        Style { colour }
    }

    pub fn plain() -> Style {
        Style { colour: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn verdict(&self, v: Verdict) -> String {
        let (code, label) = match v {
            Verdict::Passed => ("32", "PASS"),
            Verdict::Drifted => ("31;1", "DRIFT"),
            Verdict::Skipped => ("33", "SKIP"),
            Verdict::NoVerdict => ("35;1", "NO VERDICT"),
        };
        self.paint(code, &format!("{label:<10}"))
    }
}

/// The line (and, when verbose or drifted, the detail lines) for one
/// finished scenario.
pub fn scenario_lines(
    s: &ScenarioReport,
    style: Style,
    verbosity: Verbosity,
    index: usize,
    total: usize,
) -> String {
    let mut out = format!(
        "{} [{index:>2}/{total}] {}  ({} ms)\n",
        style.verdict(s.verdict),
        s.id(),
        s.duration_ms
    );
    let detail = verbosity == Verbosity::Verbose || s.verdict != Verdict::Passed;
    if detail {
        if let Some(r) = &s.reason {
            out.push_str(&format!("           {r}\n"));
        }
        for c in &s.checks {
            for d in &c.drifts {
                out.push_str(&format!(
                    "           - {} ({}): {}\n",
                    c.name,
                    d.class,
                    d_line(d)
                ));
            }
        }
    }
    for c in s.since_accepted.iter().filter(|c| !c.passed()) {
        let what = if c.diff.is_some() {
            "changed since the last accepted observation"
        } else {
            "no accepted observation yet"
        };
        out.push_str(&format!(
            "           {}: {what} (review with `payu-contract baseline`)\n",
            c.name
        ));
    }
    if verbosity == Verbosity::Verbose {
        for n in &s.notes {
            out.push_str(&format!("           note: {n}\n"));
        }
        for c in s.checks.iter().filter(|c| c.passed()) {
            out.push_str(&format!("           ok: {}\n", c.name));
        }
    }
    out
}

fn d_line(d: &crate::contract::Drift) -> String {
    format!(
        "{}: expected {}, observed {}",
        d.path, d.expected, d.observed
    )
}

pub fn summary_lines(r: &RunReport, style: Style) -> String {
    let s = &r.summary;
    let mut out = format!(
        "\n{} scenarios: {} passed, {} drifted, {} skipped, {} no verdict  ({} ms, target {} {})\n",
        s.total,
        s.passed,
        s.drifted,
        s.skipped,
        s.no_verdict,
        r.duration_ms,
        r.target.name,
        r.target.token_url
    );
    if let Some(reason) = &r.reason {
        out.push_str(&format!("{reason}\n"));
    }
    if let Some(line) = super::observed_baseline_line(r) {
        out.push_str(&line);
        out.push('\n');
    }
    let verdict = match r.verdict {
        Verdict::Passed => "every documented check held",
        Verdict::Drifted => "the endpoint drifted from the documented contract",
        Verdict::NoVerdict => "no verdict: the endpoint could not be judged",
        Verdict::Skipped => "nothing ran",
    };
    out.push_str(&format!(
        "{} {verdict} (exit {})\n",
        style.verdict(r.verdict),
        r.exit_code
    ));
    out
}

/// The "documented vs observed" table, one row per scenario that did not
/// pass, printed after the summary of a run that drifted or had no verdict.
pub fn contract_table(r: &RunReport, style: Style) -> String {
    let rows: Vec<_> = r
        .contract_rows()
        .into_iter()
        .filter(|row| matches!(row.verdict, Verdict::Drifted | Verdict::NoVerdict))
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            let classes: Vec<&str> = row.drift_classes.iter().map(|c| c.as_str()).collect();
            [
                row.name.clone(),
                opt(row.documented_status.map(|s| s.to_string())),
                opt(row.observed_status.map(|s| s.to_string())),
                opt(row.documented_error.clone()),
                opt(row.observed_error.clone()),
                if classes.is_empty() {
                    row.verdict.as_str().to_owned()
                } else {
                    classes.join(", ")
                },
            ]
        })
        .collect();
    let head = [
        "scenario",
        "status doc",
        "observed",
        "error documented",
        "observed",
        "drift",
    ];
    let mut width = head.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    // The last column is free text: no padding.
    let line = |cols: [&str; 6]| {
        let mut out = String::new();
        for (i, c) in cols.iter().enumerate() {
            if i == 5 {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = format!("\n{}\n", style.paint("1", "Documented vs observed"));
    out.push_str(&line(head));
    for (row, c) in rows.iter().zip(&cells) {
        let text = line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]);
        let differs = row.documented_status != row.observed_status
            || (row.documented_error.is_some() && row.documented_error != row.observed_error);
        out.push_str(&if differs {
            style.paint("31", text.trim_end()) + "\n"
        } else {
            text
        });
    }
    out
}

/// What changed since `--baseline`, for the terminal.
pub fn baseline_lines(c: &Comparison, style: Style) -> String {
    let mut out = format!(
        "\n{} (run of {} against {}, verdict {})\n",
        style.paint("1", "Changes since the baseline"),
        c.baseline_started_at,
        c.baseline_target,
        c.baseline_verdict.as_str()
    );
    if c.is_empty() {
        out.push_str("  nothing changed\n");
        return out;
    }
    let v = |v: Option<Verdict>| v.map_or("absent", Verdict::as_str);
    for ch in &c.verdict_changes {
        out.push_str(&format!(
            "  verdict  {}: {} -> {}\n",
            ch.scenario,
            v(ch.before),
            v(ch.after)
        ));
    }
    for d in &c.appeared {
        out.push_str(&style.paint(
            "31",
            &format!("  + drift  {} at {} ({})", d.class, d.path, d.scenario),
        ));
        out.push('\n');
    }
    for d in &c.disappeared {
        out.push_str(&style.paint(
            "32",
            &format!("  - drift  {} at {} ({})", d.class, d.path, d.scenario),
        ));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::DriftClass;
    use crate::report::tests_support::{drifted_scenario, report_with};

    /// The documented column comes from what the checks recorded, not from
    /// the wording of the steps: a scenario written with the request table,
    /// or steps reworded, still shows the documented status and error.
    #[test]
    fn the_documented_column_is_the_checks_typed_record_not_step_text() {
        let mut s = drifted_scenario(
            "Refresh without grant type",
            DriftClass::StatusCodeChanged,
            "status",
        );
        for step in &mut s.steps {
            step.text = "something QA wrote in other words".into();
        }
        s.documented.status = Some(401);
        s.documented.error = Some("invalid_scope".into());
        let table = contract_table(&report_with(vec![s]), Style::plain());
        let row = table
            .lines()
            .find(|l| l.starts_with("Refresh without grant type"))
            .expect(&table);
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert!(
            cells.contains(&"401") && cells.contains(&"invalid_scope"),
            "{row}"
        );
    }
}
