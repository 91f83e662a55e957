//! The Cucumber JSON report, in the standard shape that cucumber report tools
//! read (cucumber-jvm / cucumber-js "json" formatter): an array of features,
//! each with `elements` (one per scenario), each with `steps` whose `result`
//! has `status`, `duration` (nanoseconds) and `error_message`.
//!
//! The steps record what was sent and checked; the verdict comes from the
//! checks, judged after the steps. So each judged scenario carries one
//! `after` hook, "contract checks", that fails with the drifts (or the
//! reason there is no verdict): cucumber tools then show the scenario red.
//!
//! The report does not know the feature files' paths and line numbers:
//! `uri` is the feature's name and `line` its position in the run.

use super::{RunReport, ScenarioReport, StepStatus, Verdict};
use serde_json::{Value, json};

pub fn render(report: &RunReport) -> String {
    let mut text = serde_json::to_string_pretty(&value(report)).expect("JSON values serialize");
    text.push('\n');
    text
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

fn tags(list: &[String], line: usize) -> Value {
    Value::Array(
        list.iter()
            .map(|t| json!({"name": t, "line": line}))
            .collect(),
    )
}

pub fn value(report: &RunReport) -> Value {
    let features: Vec<Value> = report
        .features()
        .into_iter()
        .enumerate()
        .map(|(fi, (name, scenarios))| {
            let feature_id = slug(name);
            // Feature-level tags: the ones every scenario of it carries.
            let common: Vec<String> = scenarios
                .first()
                .map(|s| {
                    s.tags
                        .iter()
                        .filter(|t| scenarios.iter().all(|o| o.tags.contains(t)))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let elements: Vec<Value> = scenarios
                .iter()
                .enumerate()
                .map(|(si, s)| element(&feature_id, s, si + 1))
                .collect();
            json!({
                "uri": name,
                "id": feature_id,
                "keyword": "Feature",
                "name": name,
                "description": "",
                "line": fi + 1,
                "tags": tags(&common, fi + 1),
                "elements": elements,
            })
        })
        .collect();
    Value::Array(features)
}

fn element(feature_id: &str, s: &ScenarioReport, line: usize) -> Value {
    let mut steps: Vec<Value> = s
        .steps
        .iter()
        .map(|st| {
            let status = match st.status {
                StepStatus::Passed => "passed",
                StepStatus::Failed => "failed",
                StepStatus::Skipped => "skipped",
            };
            let mut result = json!({
                "status": status,
                "duration": st.duration_ms * 1_000_000,
            });
            if let Some(e) = &st.error {
                result["error_message"] = Value::from(e.as_str());
            }
            json!({
                "keyword": format!("{} ", st.keyword),
                "name": st.text,
                "line": line,
                "match": {"location": "payu-contract"},
                "result": result,
            })
        })
        .collect();
    if s.verdict == Verdict::Skipped && steps.is_empty() {
        // A scenario skipped before it ran (e.g. @destructive on a live
        // target): one skipped step keeps it visible as skipped.
        steps.push(json!({
            "keyword": "* ",
            "name": s.reason.as_deref().unwrap_or("skipped"),
            "line": line,
            "match": {"location": "payu-contract"},
            "result": {"status": "skipped", "duration": 0},
        }));
    }
    let mut el = json!({
        "id": format!("{feature_id};{}", slug(&s.name)),
        "keyword": "Scenario",
        "type": "scenario",
        "name": s.name,
        "description": "",
        "line": line,
        "tags": tags(&s.tags, line),
        "steps": steps,
    });
    if let Some(hook) = verdict_hook(s) {
        el["after"] = json!([hook]);
    }
    el
}

fn verdict_hook(s: &ScenarioReport) -> Option<Value> {
    let (status, message) = match s.verdict {
        Verdict::Skipped => return None,
        Verdict::Passed => ("passed", None),
        Verdict::Drifted => {
            let mut lines: Vec<String> = s
                .checks
                .iter()
                .filter(|c| !c.passed())
                .flat_map(|c| {
                    c.drifts.iter().map(move |d| {
                        format!(
                            "{} at {} ({}): expected {}, observed {}",
                            d.class, d.path, c.name, d.expected, d.observed
                        )
                    })
                })
                .collect();
            if let Some(r) = &s.reason {
                lines.insert(0, r.clone());
            }
            ("failed", Some(format!("drift:\n{}", lines.join("\n"))))
        }
        Verdict::NoVerdict => (
            "failed",
            Some(format!(
                "no verdict: {}",
                s.reason
                    .as_deref()
                    .unwrap_or("the endpoint could not be judged")
            )),
        ),
    };
    let mut result = json!({"status": status, "duration": 0});
    if let Some(m) = message {
        result["error_message"] = Value::from(m);
    }
    Some(json!({"match": {"location": "payu-contract: contract checks"}, "result": result}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::DriftClass;
    use crate::report::tests_support::*;

    #[test]
    fn one_feature_per_name_one_element_per_scenario() {
        let r = report_with(vec![
            passed_scenario("a"),
            drifted_scenario("b", DriftClass::FieldAdded, "/expire_in"),
        ]);
        let v: Value = serde_json::from_str(&render(&r)).unwrap();
        let features = v.as_array().unwrap();
        assert_eq!(features.len(), 1);
        let els = features[0]["elements"].as_array().unwrap();
        assert_eq!(els.len(), 2);
        assert_eq!(els[0]["type"], "scenario");
        assert_eq!(els[0]["steps"][0]["result"]["duration"], 2_000_000);
        assert_eq!(els[1]["after"][0]["result"]["status"], "failed");
        let msg = els[1]["after"][0]["result"]["error_message"]
            .as_str()
            .unwrap();
        assert!(msg.contains("field-added at /expire_in"), "{msg}");
        assert_eq!(features[0]["tags"][0]["name"], "@documented");
    }
}
