//! The HTML report: one self-contained file (inline CSS, no script, no
//! external URL of any kind) that opens offline and can be mailed.
//!
//! Top to bottom: the run's verdict and counts, what changed since the
//! baseline (if one was given), the "documented vs observed" table, then
//! each scenario (failed checks with expected and observed side by side and
//! the path highlighted, schema violations, the snapshot diff, the redacted
//! request and response, the steps, notes), then the documentation findings
//! and the RFC 6749 notes. Rendered with maud, which escapes every value.

use super::baseline::Comparison;
use super::{ContractRow, ExchangeReport, RunReport, ScenarioReport, StepStatus, Verdict};
use crate::contract::{CheckKind, CheckOutcome, Drift, DriftPath};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const CSS: &str = include_str!("report.css");

fn vclass(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "passed",
        Verdict::Drifted => "drifted",
        Verdict::Skipped => "skipped",
        Verdict::NoVerdict => "noverdict",
    }
}

fn badge(v: Verdict) -> Markup {
    html! { span class={"badge " (vclass(v))} { (v.as_str()) } }
}

fn headline(r: &RunReport) -> &'static str {
    match r.verdict {
        Verdict::Passed => "Every documented check held",
        Verdict::Drifted => "The endpoint drifted from the documented contract",
        Verdict::NoVerdict => "No verdict: the endpoint could not be judged",
        Verdict::Skipped => "Nothing ran",
    }
}

pub fn render(r: &RunReport) -> String {
    let title = format!("payu-contract: {} ({})", r.verdict.as_str(), r.target.name);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                (header(r))
                main .wrap {
                    (table(&r.contract_rows(), &r.scenarios.iter().map(ScenarioReport::changed_since_accepted).collect::<Vec<_>>()))
                    @if let Some(c) = &r.since_baseline { (baseline(c)) }
                    section #scenarios {
                        h2 { "Scenarios" }
                        @for (i, s) in r.scenarios.iter().enumerate() { (scenario(i, s)) }
                    }
                    section #documentation-findings .findings {
                        h2 { "Documentation findings" }
                        p .lead { "Inconsistencies inside the documentation page itself, stated once: they are not endpoint bugs." }
                        ol { @for f in &r.documentation_findings { li { strong { (f.title) } " — " (f.detail) } } }
                    }
                    section #rfc6749-notes .findings {
                        h2 { "RFC 6749 notes" }
                        p .lead { "Documented behaviour that differs from RFC 6749. Informational only: the suite holds the endpoint to the documentation." }
                        ul { @for f in &r.rfc6749_notes { li { strong { (f.title) } " — " (f.detail) } } }
                    }
                }
                footer {
                    "payu-contract " (r.tool_version) " · report format " (r.format) " v" (r.version)
                    " · secrets are shown as [redacted]"
                }
            }
        }
    };
    page.into_string()
}

fn header(r: &RunReport) -> Markup {
    let s = &r.summary;
    html! {
        header class={"top " (vclass(r.verdict))} { div .wrap {
            div .titlebar {
                div {
                    div .kicker { "PayU Refresh Token API · contract report" }
                    h1 #summary { (headline(r)) }
                }
                div .overall { (badge(r.verdict)) div .exit { "exit " (r.exit_code) } }
            }
            @if let Some(reason) = &r.reason { p .reason { (reason) } }
            @if let Some(line) = super::observed_baseline_line(r) {
                p .observed { (line) }
            }
            div .cards {
                (card("passed", "Passed", s.passed))
                (card("drifted", "Drifted", s.drifted))
                (card("skipped", "Skipped", s.skipped))
                (card("noverdict", "No verdict", s.no_verdict))
                (card("total", "Scenarios", s.total))
            }
            dl .meta {
                dt { "Target" } dd { (r.target.name) @if r.target.live { " (live)" } }
                dt { "Token URL" } dd { code { (r.target.token_url) } }
                @if let Some(p) = &r.target.profile { dt { "Double profile" } dd { code { (p) } } }
                dt { "Started" } dd { (r.started_at) }
                dt { "Duration" } dd { (r.duration_ms) " ms" }
            }
        } }
    }
}

fn card(class: &str, label: &str, n: usize) -> Markup {
    html! {
        div class={"card " (class) @if n == 0 { " zero" }} data-count=(n) {
            div .n { (n) }
            div .label { (label) }
        }
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "—".into(), ToString::to_string)
}

fn table(rows: &[ContractRow], r_changed: &[bool]) -> Markup {
    html! {
        section #documented-vs-observed {
            h2 { "Documented vs observed" }
            table .contract {
                thead {
                    tr {
                        th rowspan="2" { "Scenario" } th rowspan="2" { "Verdict" }
                        th .group.num colspan="2" { "HTTP status" }
                        th .group colspan="2" { "error" }
                        th rowspan="2" { "Drift classes" }
                    }
                    tr {
                        th .num .sub { "documented" } th .num .sub { "observed" }
                        th .sub { "documented" } th .sub { "observed" }
                    }
                }
                tbody {
                    @for (i, row) in rows.iter().enumerate() {
                        @let status_differs = row.documented_status.is_some() && row.observed_status.is_some() && row.documented_status != row.observed_status;
                        @let error_differs = row.documented_error.is_some() && row.documented_error != row.observed_error;
                        tr class=(vclass(row.verdict)) {
                            td { a href={"#s-" (i + 1)} { (row.name) } div .feature { (row.feature) } }
                            td { (badge(row.verdict)) }
                            td .num { (opt(&row.documented_status)) }
                            td class={"num" @if status_differs { " differs" }} { (opt(&row.observed_status)) }
                            td { code { (opt(&row.documented_error)) } }
                            td class=[error_differs.then_some("differs")] { code { (opt(&row.observed_error)) } }
                            td {
                                @for c in &row.drift_classes { span .chip { (c.as_str()) } " " }
                                @if r_changed.get(i).copied().unwrap_or(false) { span .chip.accepted { "changed since accepted" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn baseline(c: &Comparison) -> Markup {
    let v = |v: &Option<Verdict>| v.map_or("absent", Verdict::as_str);
    // One row per scenario that changed in any way, in order of appearance.
    let mut names: Vec<&str> = Vec::new();
    for n in c
        .verdict_changes
        .iter()
        .map(|x| x.scenario.as_str())
        .chain(c.appeared.iter().map(|d| d.scenario.as_str()))
        .chain(c.disappeared.iter().map(|d| d.scenario.as_str()))
    {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    html! {
        section #since-baseline {
            h2 { "Changes since the baseline" }
            p .lead {
                "Compared with the run of " (c.baseline_started_at) " against " code { (c.baseline_target) }
                " (verdict " (c.baseline_verdict.as_str()) "): "
                (c.verdict_changes.len()) " verdicts changed, "
                (c.appeared.len()) " drifts appeared, " (c.disappeared.len()) " disappeared."
            }
            @if !c.is_empty() {
                table .contract.changes {
                    thead { tr { th { "Scenario" } th { "Verdict" } th { "New drifts" } th { "Drifts gone" } } }
                    tbody {
                        @for n in &names {
                            tr {
                                td { (n) }
                                td {
                                    @if let Some(ch) = c.verdict_changes.iter().find(|x| x.scenario == *n) {
                                        strong { (v(&ch.before)) " → " (v(&ch.after)) }
                                    } @else { span .muted { "unchanged" } }
                                }
                                td { @for d in c.appeared.iter().filter(|d| d.scenario == *n) {
                                    span .chip title=(format!("observed {}", d.observed)) { (d.class.as_str()) " " (d.path) } " "
                                } }
                                td { @for d in c.disappeared.iter().filter(|d| d.scenario == *n) {
                                    span .chip.gone { (d.class.as_str()) " " (d.path) } " "
                                } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn scenario(i: usize, s: &ScenarioReport) -> Markup {
    let failed: Vec<&CheckOutcome> = s.checks.iter().filter(|c| !c.passed()).collect();
    let expectation: Vec<&&CheckOutcome> = failed
        .iter()
        .filter(|c| c.kind == CheckKind::Scenario)
        .collect();
    let schema: Vec<&&CheckOutcome> = failed
        .iter()
        .filter(|c| c.kind == CheckKind::Schema)
        .collect();
    let snapshot: Vec<&&CheckOutcome> = failed
        .iter()
        .filter(|c| c.kind == CheckKind::Snapshot)
        .collect();
    let drifts: Vec<&Drift> = failed.iter().flat_map(|c| c.drifts.iter()).collect();
    let passed_checks = s.checks.len() - failed.len();
    html! {
        article id={"s-" (i + 1)} class={"scenario " (vclass(s.verdict))} {
            details open[s.verdict != Verdict::Passed] {
                summary {
                    (badge(s.verdict))
                    span .name { (s.name) }
                    span .feature { (s.feature) }
                    span .dur { (s.duration_ms) " ms" }
                }
                div .body {
                    div .tags { @for t in &s.tags { span .tag { (t) } } }
                    @if let Some(r) = &s.reason { p .reason { (r) } }
                    @if !expectation.is_empty() {
                        h4 { "Failed checks" }
                        @for c in &expectation { (check(c)) }
                    }
                    @if !schema.is_empty() {
                        h4 { "Schema violations" }
                        @for c in &schema {
                            div .check {
                                div .checkname { (c.name) }
                                table .violations {
                                    thead { tr { th { "Path" } th { "Class" } th { "Schema expects" } th { "Observed" } } }
                                    tbody { @for d in &c.drifts {
                                        tr { td { code .path { (d.path) } } td { span .chip { (d.class.as_str()) } } td { code { (d.expected) } } td { code { (d.observed) } } }
                                    } }
                                }
                            }
                        }
                    }
                    @if !snapshot.is_empty() {
                        h4 { "Snapshot" }
                        @for c in &snapshot {
                            div .check {
                                div .checkname { (c.name) }
                                @for d in &c.drifts { p .muted { "Stored baseline: " code { (d.path) } } }
                                @if let Some(diff) = &c.diff { (diff_block(diff)) }
                                @else { @for d in &c.drifts { p { (d.observed) } } }
                            }
                        }
                    }
                    @if !s.checks.is_empty() {
                        p .muted { (passed_checks) " of " (s.checks.len()) " checks held." }
                    }
                    @if !s.since_accepted.is_empty() { (since_accepted(s)) }
                    @for (n, e) in s.exchanges.iter().enumerate() {
                        (exchange(n + 1, s.exchanges.len(), e, &drifts))
                    }
                    @if !s.steps.is_empty() {
                        @let step_failed = s.steps.iter().any(|st| st.status != StepStatus::Passed);
                        details .steps open[step_failed] {
                        summary { h4 { "Steps (" (s.steps.len()) ")" } }
                        ol .steps {
                            @for st in &s.steps {
                                li class=(match st.status { StepStatus::Passed => "ok", StepStatus::Failed => "fail", StepStatus::Skipped => "skip" }) {
                                    span .kw { (st.keyword) } " " (st.text)
                                    @if let Some(e) = &st.error { div .err { (e) } }
                                }
                            }
                        }
                        }
                    }
                    @if !s.notes.is_empty() {
                        h4 { "Notes" }
                        ul .notes { @for n in &s.notes { li { (n) } } }
                    }
                }
            }
        }
    }
}

/// Live targets: the comparison with the last accepted observation.
fn since_accepted(s: &ScenarioReport) -> Markup {
    html! {
        h4 { "Since the last accepted run" }
        @for c in &s.since_accepted {
            div .check.accepted {
                @if c.passed() {
                    p { span .badge.passed { "unchanged" } " " (c.name) ": the response is the one accepted last." }
                } @else if let Some(diff) = &c.diff {
                    p { span .badge.skipped { "changed" } " " (c.name) ": the response differs from the last accepted observation (review with " code { "payu-contract baseline" } ")." }
                    @for d in &c.drifts { p .muted { "Accepted observation: " code { (d.path) } } }
                    (diff_block(diff))
                } @else {
                    p { span .badge.skipped { "new" } " " (c.name) ": no observation of this target accepted yet (review with " code { "payu-contract baseline" } ")." }
                }
            }
        }
    }
}

fn check(c: &CheckOutcome) -> Markup {
    html! {
        div .check {
            div .checkname { (c.name) }
            @for d in &c.drifts {
                div .drift {
                    div .where { span .chip { (d.class.as_str()) } " at " code .path { (d.path) } }
                    div .sides {
                        div .side.expected { div .label { "Documented / expected" } pre { (d.expected) } }
                        div .side.observed { div .label { "Observed" } pre { (d.observed) } }
                    }
                }
            }
        }
    }
}

fn diff_block(diff: &str) -> Markup {
    html! {
        pre .diff {
            @for line in diff.lines() {
                @let class = if line.starts_with("+++") || line.starts_with("---") { "file" }
                    else if line.starts_with("@@") { "hunk" }
                    else if line.starts_with('+') { "add" }
                    else if line.starts_with('-') { "del" }
                    else { "ctx" };
                span class=(class) { (line) }
            }
        }
    }
}

/// Which lines of a response to highlight: the JSON keys, header names and
/// the status that a drift points at.
struct Marks {
    keys: Vec<String>,
    headers: Vec<String>,
    status: bool,
}

fn marks(drifts: &[&Drift]) -> Marks {
    let mut m = Marks {
        keys: vec![],
        headers: vec![],
        status: false,
    };
    for d in drifts {
        match &d.path {
            DriftPath::Status => m.status = true,
            DriftPath::Header(h) => m.headers.push(h.to_ascii_lowercase()),
            p => {
                if let Some(last) = p.last_key() {
                    m.keys.push(format!("\"{last}\":"));
                }
            }
        }
    }
    m
}

fn pretty_body(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_owned())
}

fn exchange(n: usize, of: usize, e: &ExchangeReport, drifts: &[&Drift]) -> Markup {
    let m = marks(drifts);
    let missing_headers: Vec<&&Drift> = drifts
        .iter()
        .filter(|d| matches!(d.path, DriftPath::Header(_)) && d.observed == "absent")
        .collect();
    html! {
        h4 { "Exchange" @if of > 1 { " " (n) " of " (of) } }
        div .exchange {
            div .pane {
                div .label { "Request (secrets redacted)" }
                div .line { span .method { (e.request.method) } " " code { (e.request.url) } }
                @if let Some(b) = &e.request.basic_auth { div .line { "Authorization: Basic " code { (b) } } }
                table .kv {
                    @for (k, v) in &e.request.form {
                        tr { th { (k) } td { @if v == "[redacted]" { span .redacted { (v) } } @else { code { (v) } } } }
                    }
                }
            }
            div .pane {
                div .label { "Response" }
                @if let Some(r) = &e.response {
                    div class={"line status" @if m.status { " mark" }} { "HTTP " strong { (r.status) } }
                    table .kv {
                        @for (k, v) in &r.headers {
                            tr class=[m.headers.contains(&k.to_ascii_lowercase()).then_some("mark")] { th { (k) } td { code { (v) } } }
                        }
                        @for d in &missing_headers {
                            tr .mark.missing { th { (header_name(&d.path)) } td { em { "absent" } } }
                        }
                    }
                    pre .json {
                        @for line in pretty_body(&r.body).lines() {
                            @let hit = m.keys.iter().any(|k| line.contains(k.as_str()));
                            span class=[hit.then_some("mark")] { (line) } "\n"
                        }
                    }
                } @else if let Some(f) = &e.fault {
                    p .reason { "No response: " (f) }
                }
                div .muted { (e.elapsed_ms) " ms, " (e.attempts) " attempt" @if e.attempts != 1 { "s" } }
            }
        }
    }
}

fn header_name(path: &DriftPath) -> &str {
    match path {
        DriftPath::Header(h) => h,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::DriftClass;
    use crate::report::tests_support::*;

    #[test]
    fn escapes_values_and_has_every_section() {
        let r = report_with(vec![
            passed_scenario("<script>alert(1)</script>"),
            drifted_scenario("d", DriftClass::SnapshotChanged, "/x/a.snap"),
            drifted_scenario("e", DriftClass::FieldMissing, "/error_description"),
        ]);
        let h = render(&r);
        assert!(!h.contains("<script>"));
        assert!(h.contains("&lt;script&gt;"));
        for id in [
            "summary",
            "documented-vs-observed",
            "scenarios",
            "documentation-findings",
            "rfc6749-notes",
        ] {
            assert!(h.contains(&format!("id=\"{id}\"")), "missing {id}");
        }
        assert!(
            h.contains(r#"<span class="add">+  &quot;status&quot;: 400</span>"#),
            "{h}"
        );
        // The drifted field's line in the body is highlighted.
        assert!(
            h.contains(r#"<span class="mark">  &quot;error_description&quot;"#),
            "{h}"
        );
        assert!(h.contains("data-count=\"2\""));
    }
}
