//! The JSON report: the [`RunReport`] as one versioned document, for
//! dashboards, scripts and `--baseline`.

use super::RunReport;
use std::path::Path;

pub fn write(path: &Path, report: &RunReport) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    super::terminal::write_file(path, text.as_bytes())
}
