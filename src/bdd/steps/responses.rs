//! Checks on the latest response: status, error code and description,
//! headers, JSON Schema and snapshot. The expected values come from the
//! feature file (and `features/schemas/`), never from code.

use super::{authoring, judged, record};
use crate::bdd::ContractWorld;
use cucumber::then;
use payu_contract::contract::snapshot;
use payu_contract::contract::{CheckKind, DriftClass, expect};

#[then(regex = r"^the response status is (\d{3})$")]
fn status_is(world: &mut ContractWorld, code: u16) -> Result<(), String> {
    world.record.documented.status = Some(code);
    let r = judged(world)?;
    record(
        world,
        CheckKind::Scenario,
        format!("status is {code}"),
        expect::status(code, r.status),
    );
    Ok(())
}

/// Field checks need a JSON body; a body that is not JSON is one drift,
/// reported once per response rather than once per field.
fn json_or_record(world: &mut ContractWorld) -> Result<Option<serde_json::Value>, String> {
    let r = judged(world)?;
    let drifts = expect::json_body(r.json(), r.raw_body(), r.header("content-type"));
    if drifts.is_empty() {
        return Ok(r.json().cloned());
    }
    let already = world
        .record
        .checks
        .iter()
        .any(|c| c.name == "body is a JSON object");
    if !already {
        record(world, CheckKind::Scenario, "body is a JSON object", drifts);
    }
    Ok(None)
}

#[then(regex = r#"^the error is "([^"]*)"$"#)]
fn error_is(world: &mut ContractWorld, error: String) -> Result<(), String> {
    world.record.documented.error = Some(error.clone());
    if let Some(body) = json_or_record(world)? {
        let drifts = expect::string_field(&body, "error", &error, DriftClass::ErrorCodeChanged);
        record(
            world,
            CheckKind::Scenario,
            format!("error is {error}"),
            drifts,
        );
    }
    Ok(())
}

#[then(regex = r#"^the error description is "([^"]*)"$"#)]
fn description_is(world: &mut ContractWorld, description: String) -> Result<(), String> {
    if let Some(body) = json_or_record(world)? {
        let drifts = expect::string_field(
            &body,
            "error_description",
            &description,
            DriftClass::ErrorDescriptionChanged,
        );
        record(
            world,
            CheckKind::Scenario,
            "error description as documented",
            drifts,
        );
    }
    Ok(())
}

#[then(regex = r#"^the token type is "([^"]*)"$"#)]
fn token_type_is(world: &mut ContractWorld, token_type: String) -> Result<(), String> {
    if let Some(body) = json_or_record(world)? {
        let drifts = expect::string_field(
            &body,
            "token_type",
            &token_type,
            DriftClass::FieldValueChanged,
        );
        record(
            world,
            CheckKind::Scenario,
            format!("token type is {token_type}"),
            drifts,
        );
    }
    Ok(())
}

#[then(regex = r"^the response carries the expected headers$")]
fn expected_headers(world: &mut ContractWorld) -> Result<(), String> {
    let r = judged(world)?;
    if world.expected_headers.is_empty() {
        return Err("no expected headers were declared for this scenario".into());
    }
    let drifts = world
        .expected_headers
        .iter()
        .flat_map(|(name, value)| expect::header(&r.headers, name, value))
        .collect();
    record(world, CheckKind::Scenario, "token endpoint headers", drifts);
    Ok(())
}

#[then(regex = r#"^the WWW-Authenticate header is a Bearer challenge naming "([^"]*)"$"#)]
fn www_authenticate(world: &mut ContractWorld, error: String) -> Result<(), String> {
    let r = judged(world)?;
    let drifts = expect::www_authenticate(&r.headers, &error);
    record(
        world,
        CheckKind::Scenario,
        "WWW-Authenticate names the error",
        drifts,
    );
    Ok(())
}

#[then(regex = r#"^the body matches the "([^"]*)" schema$"#)]
fn matches_schema(world: &mut ContractWorld, schema: String) -> Result<(), String> {
    let Some(body) = json_or_record(world)? else {
        return Ok(());
    };
    let drifts = world
        .ctx()?
        .schemas
        .check(&schema, &body)
        .map_err(|e| authoring(world, e.to_string()))?;
    record(world, CheckKind::Schema, format!("schema {schema}"), drifts);
    Ok(())
}

#[then(regex = r#"^a change of key order from "([^"]*)" is only noted$"#)]
fn key_order(world: &mut ContractWorld, order: String) -> Result<(), String> {
    if let Some(body) = json_or_record(world)? {
        let documented: Vec<&str> = order.split(',').map(str::trim).collect();
        if let Some(note) = expect::key_order_note(&body, &documented) {
            world.record.notes.push(note);
        }
    }
    Ok(())
}

#[then(regex = r"^the response matches its snapshot$")]
fn matches_snapshot(world: &mut ContractWorld) -> Result<(), String> {
    let r = judged(world)?;
    let ctx = world.ctx()?;
    world.snapshots_taken += 1;
    let mut name = slug(&world.scenario);
    if world.snapshots_taken > 1 {
        name = format!("{name}-{}", world.snapshots_taken);
    }
    let view = snapshot::view(
        r.status,
        &r.headers,
        r.json(),
        r.raw_body(),
        ctx.client.scrubber(),
    );
    let outcome = ctx.snapshots.check(&name, &view);
    world.record.checks.push(outcome);
    if let Some(observed) = ctx.snapshots.check_observed(&name, &view) {
        world.record.since_accepted.push(observed);
    }
    Ok(())
}

/// A snapshot name from a scenario name: lowercase words joined by dashes.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for word in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}
