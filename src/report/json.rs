//! The JSON report: the [`RunReport`] as one versioned document, for
//! dashboards, scripts and `--baseline`.

use super::RunReport;

pub fn render(report: &RunReport) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a RunReport serializes");
    text.push('\n');
    text
}
