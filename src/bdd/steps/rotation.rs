//! Rotation: a successful refresh hands out a new refresh token, and a used
//! one is refused afterwards.

use super::{judged, record};
use crate::bdd::ContractWorld;
use cucumber::then;
use payu_contract::contract::{CheckKind, expect};

#[then(regex = r"^a new refresh token was issued$")]
fn new_token_issued(world: &mut ContractWorld) -> Result<(), String> {
    let r = judged(world)?;
    let sent = world
        .last_sent_token
        .clone()
        .ok_or("the request carried no refresh token")?;
    let drifts = expect::rotated(sent.expose(), r.str_field("refresh_token"));
    record(
        world,
        CheckKind::Scenario,
        "a new refresh token was issued",
        drifts,
    );
    Ok(())
}

#[then(regex = r"^the used refresh token is refused$")]
fn used_token_refused(world: &mut ContractWorld) -> Result<(), String> {
    let r = judged(world)?;
    let drifts = expect::replay_refused(r.status);
    let accepted = !drifts.is_empty();
    record(
        world,
        CheckKind::Scenario,
        "the used refresh token is refused",
        drifts,
    );
    // The steps that follow describe the refusal (status, error, headers,
    // schema, snapshot). Run against a success they would only restate this
    // one drift as a dozen others, so the scenario stops here, drifted.
    if accepted {
        return Err(
            "the used refresh token was accepted again (rotation-changed): the checks of the refusal that follow do not apply".into(),
        );
    }
    Ok(())
}
