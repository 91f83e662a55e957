//! The `JUnit` XML report, as GitHub Actions, GitLab and Jenkins display it:
//! one `<testsuite>` per feature, one `<testcase>` per scenario;
//! a drifted scenario has a `<failure>` naming each drift's class and path,
//! a scenario without a verdict an `<error>`, a skipped one `<skipped>`.
//! Valid against the common (Jenkins xunit `junit-10.xsd`) schema: only the
//! attributes that schema knows are written.

use super::{RunReport, ScenarioReport, Verdict};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io;

pub fn render(report: &RunReport) -> String {
    try_render(report).expect("writing XML into memory cannot fail")
}

/// XML 1.0 has no place for most control characters; a response body may.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Element text with only `<`, `>` and `&` escaped: quotes stay readable.
fn text(s: &str) -> BytesText<'static> {
    BytesText::from_escaped(quick_xml::escape::partial_escape(s).into_owned())
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn try_render(report: &RunReport) -> io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let s = &report.summary;
    w.create_element("testsuites")
        .with_attribute(("name", "payu-contract"))
        .with_attribute(("tests", s.total.to_string().as_str()))
        .with_attribute(("failures", s.drifted.to_string().as_str()))
        .with_attribute(("errors", s.no_verdict.to_string().as_str()))
        .with_attribute(("time", seconds(report.duration_ms).as_str()))
        .write_inner_content(|w| {
            for (feature, scenarios) in report.features() {
                suite(w, report, feature, &scenarios)?;
            }
            Ok(())
        })?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(String::from_utf8(bytes).expect("quick-xml writes UTF-8"))
}

fn suite(
    w: &mut Writer<Vec<u8>>,
    report: &RunReport,
    feature: &str,
    scenarios: &[&ScenarioReport],
) -> io::Result<()> {
    let count = |v: Verdict| scenarios.iter().filter(|s| s.verdict == v).count();
    let time: u64 = scenarios.iter().map(|s| s.duration_ms).sum();
    w.create_element("testsuite")
        .with_attribute(("name", clean(feature).as_str()))
        .with_attribute(("tests", scenarios.len().to_string().as_str()))
        .with_attribute(("failures", count(Verdict::Drifted).to_string().as_str()))
        .with_attribute(("errors", count(Verdict::NoVerdict).to_string().as_str()))
        .with_attribute(("skipped", count(Verdict::Skipped).to_string().as_str()))
        .with_attribute(("time", seconds(time).as_str()))
        .with_attribute(("timestamp", report.started_at.as_str()))
        .write_inner_content(|w| {
            w.create_element("properties").write_inner_content(|w| {
                let mut props = vec![
                    ("target", report.target.name.clone()),
                    ("token_url", report.target.token_url.clone()),
                    ("run_verdict", report.verdict.as_str().to_owned()),
                    ("exit_code", report.exit_code.to_string()),
                    ("tool_version", report.tool_version.clone()),
                ];
                if let Some(p) = &report.target.profile {
                    props.push(("profile", p.clone()));
                }
                for (name, value) in props {
                    w.create_element("property")
                        .with_attribute(("name", name))
                        .with_attribute(("value", clean(&value).as_str()))
                        .write_empty()?;
                }
                Ok(())
            })?;
            for s in scenarios {
                case(w, s)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn case(w: &mut Writer<Vec<u8>>, s: &ScenarioReport) -> io::Result<()> {
    let el = w
        .create_element("testcase")
        .with_attribute(("name", clean(&s.name).as_str()))
        .with_attribute(("classname", clean(&s.feature).as_str()))
        .with_attribute(("time", seconds(s.duration_ms).as_str()));
    if s.verdict == Verdict::Passed && !s.changed_since_accepted() {
        el.write_empty()?;
        return Ok(());
    }
    el.write_inner_content(|w| {
        match s.verdict {
            Verdict::Drifted => {
                w.create_element("failure")
                    .with_attribute(("message", clean(&failure_message(s)).as_str()))
                    .with_attribute(("type", "drift"))
                    .write_text_content(text(&clean(&failure_detail(s))))?;
            }
            Verdict::NoVerdict => {
                let why = s
                    .reason
                    .as_deref()
                    .unwrap_or("the endpoint could not be judged");
                w.create_element("error")
                    .with_attribute(("message", clean(&format!("no verdict: {why}")).as_str()))
                    .with_attribute(("type", "no-verdict"))
                    .write_text_content(text(&clean(&failure_detail(s))))?;
            }
            Verdict::Skipped => {
                let why = s.reason.as_deref().unwrap_or("skipped");
                w.create_element("skipped")
                    .with_attribute(("message", clean(why).as_str()))
                    .write_empty()?;
            }
            Verdict::Passed => {}
        }
        let mut out = since_accepted_text(s);
        if s.verdict != Verdict::Passed {
            out.push_str(&exchanges_text(s));
        }
        if !out.is_empty() {
            w.create_element("system-out")
                .write_text_content(text(&clean(&out)))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// One line: each drift's class and where, e.g.
/// `status-code-changed at status; header-missing at header:Pragma`.
pub fn failure_message(s: &ScenarioReport) -> String {
    let drifts: Vec<String> = s
        .checks
        .iter()
        .flat_map(|c| c.drifts.iter())
        .map(|d| format!("{} at {}", d.class, d.path))
        .collect();
    match (drifts.is_empty(), &s.reason) {
        (true, Some(r)) => format!("drift: {r}"),
        (true, None) => "drift".to_owned(),
        (false, _) => format!("drift: {}", drifts.join("; ")),
    }
}

fn failure_detail(s: &ScenarioReport) -> String {
    let mut out = String::new();
    if let Some(r) = &s.reason {
        out.push_str(&format!("{r}\n"));
    }
    for c in s.checks.iter().filter(|c| !c.passed()) {
        let kind = format!("{:?}", c.kind).to_lowercase();
        out.push_str(&format!("check \"{}\" ({kind}):\n", c.name));
        for d in &c.drifts {
            out.push_str(&format!(
                "  {} at {}\n    expected: {}\n    observed: {}\n",
                d.class, d.path, d.expected, d.observed
            ));
        }
        if let Some(diff) = &c.diff {
            out.push_str(diff);
            if !diff.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    for st in s.steps.iter().filter(|st| st.error.is_some()) {
        out.push_str(&format!(
            "step \"{} {}\": {}\n",
            st.keyword,
            st.text,
            st.error.as_deref().unwrap_or_default()
        ));
    }
    out
}

/// Live targets: what changed since the last accepted observation.
fn since_accepted_text(s: &ScenarioReport) -> String {
    let mut out = String::new();
    for c in s.since_accepted.iter().filter(|c| !c.passed()) {
        match &c.diff {
            Some(diff) => {
                out.push_str(&format!(
                    "{}: changed since the last accepted observation\n{diff}",
                    c.name
                ));
                if !diff.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(&format!("{}: no accepted observation yet\n", c.name)),
        }
    }
    out
}

fn exchanges_text(s: &ScenarioReport) -> String {
    let mut out = String::new();
    for e in &s.exchanges {
        let form: Vec<String> = e
            .request
            .form
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!(
            "{} {}\n  {}\n",
            e.request.method,
            e.request.url,
            form.join("&")
        ));
        match (&e.response, &e.fault) {
            (Some(r), _) => {
                out.push_str(&format!("-> {}\n", r.status));
                for (k, v) in &r.headers {
                    out.push_str(&format!("  {k}: {v}\n"));
                }
                out.push_str(&format!("  {}\n", r.body));
            }
            (None, Some(f)) => out.push_str(&format!("-> fault: {f}\n")),
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::DriftClass;
    use crate::report::tests_support::*;

    #[test]
    fn counts_and_escapes() {
        let mut skipped = passed_scenario("s <3>");
        skipped.verdict = Verdict::Skipped;
        skipped.reason = Some("skipped: @destructive".into());
        let mut nv = passed_scenario("nv");
        nv.verdict = Verdict::NoVerdict;
        nv.reason = Some("502 & html".into());
        let r = report_with(vec![
            passed_scenario("p"),
            drifted_scenario("d", DriftClass::FieldMissing, "/expires_in"),
            skipped,
            nv,
        ]);
        let xml = render(&r);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(
            xml.contains(r#"<testsuites name="payu-contract" tests="4" failures="1" errors="1""#),
            "{xml}"
        );
        assert!(xml.contains(r#"skipped="1""#));
        assert!(
            xml.contains(r#"message="drift: field-missing at /expires_in""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<skipped message="skipped: @destructive"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"message="no verdict: 502 &amp; html""#),
            "{xml}"
        );
        assert!(xml.contains("name=\"s &lt;3&gt;\""));
        assert!(!xml.contains("<3>"));
    }

    #[test]
    fn control_characters_do_not_break_the_xml() {
        let mut s = drifted_scenario("d", DriftClass::BodyNotJson, "body");
        s.exchanges[0].response.as_mut().unwrap().body = "a\u{1}b".into();
        let xml = render(&report_with(vec![s]));
        assert!(!xml.contains('\u{1}'));
    }
}
