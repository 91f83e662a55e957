//! Rotation. Documented: a successful refresh hands out a new refresh token
//! (and the next refresh with it works). Observed, not documented: when the
//! used one dies. The page says nothing about revocation and the real
//! server revokes either in the refresh or on first use of the successor's
//! access token (NOTES.md §3, §6), so the fate of the used token is a note
//! in the report ([`expect::UsedTokenFate`]); only a token still accepted
//! after the new access token was used is drift (`rotation-changed`).

use super::params::Refresh;
use super::{authoring, fault, judged, record};
use crate::bdd::ContractWorld;
use cucumber::then;
use payu_contract::contract::CheckKind;
use payu_contract::contract::expect::{self, UsedTokenFate};
use payu_contract::secret::Secret;

#[then(regex = r"^a new refresh token was issued$")]
fn new_token_issued(world: &mut ContractWorld) -> Result<(), String> {
    let r = judged(world)?;
    let sent = world
        .last_sent_token
        .clone()
        .ok_or("the request carried no refresh token")?;
    let drifts = expect::rotated(sent.expose(), r.str_field("refresh_token"));
    // The access token that came with it: the one an observation of the
    // used token's fate uses on the protected resource.
    world.issued_access_token = r
        .str_field("access_token")
        .map(|t| Secret::new(t.to_owned()));
    record(
        world,
        CheckKind::Scenario,
        "a new refresh token was issued",
        drifts,
    );
    Ok(())
}

/// Observes the replay just sent. Refused: revoked at refresh, and the
/// steps that follow check the refusal. Accepted: the new access token is
/// used on the protected resource (when the run knows one) and the used
/// token is replayed again; refused now, it was revoked on first use (the
/// steps that follow check that refusal); accepted still, it is never
/// revoked (drift). Accepted without a resource to check: a note, and the
/// scenario ends there (no refusal to check).
#[then(regex = r"^observe whether the used refresh token is still accepted$")]
async fn observe_used_token(world: &mut ContractWorld) -> Result<(), String> {
    let r = judged(world)?;
    if !(200..300).contains(&r.status) {
        world
            .record
            .notes
            .push(UsedTokenFate::RevokedAtRefresh.note().into());
        return Ok(());
    }
    let ctx = world.ctx()?;
    let Some(resource) = ctx.resource_url.clone() else {
        let fate = UsedTokenFate::AcceptedUseUnchecked;
        world.record.notes.push(fate.note().into());
        world.record.concluded = Some(fate.note().into());
        return Err(format!(
            "{}: the checks of a refusal that follow do not apply",
            fate.note()
        ));
    };
    let Some(access) = world.issued_access_token.clone() else {
        return Err(authoring(
            world,
            "observe whether the used refresh token is still accepted needs \"a new refresh token was issued\" before it (the access token to use)".into(),
        ));
    };
    match ctx.client.use_access_token(&resource, &access).await {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => {
            return Err(fault(
                world,
                format!(
                    "the protected resource {resource} answered {status} to the new access token: it cannot show whether using it revokes the used refresh token (check PAYU_RESOURCE_URL)"
                ),
            ));
        }
        Err(e) => {
            return Err(fault(
                world,
                format!("the protected resource {resource} could not be reached: {e}"),
            ));
        }
    }
    // The same used token again (the chain keeps its live token: a token
    // handed to a replay never becomes the live one).
    super::requests::request_refresh(world, Refresh::UsedRefreshToken).await?;
    let r = judged(world)?;
    let drifts = expect::accepted_after_use(r.status);
    let accepted = !drifts.is_empty();
    record(
        world,
        CheckKind::Scenario,
        "the used refresh token is refused once the new access token was used",
        drifts,
    );
    if accepted {
        world
            .record
            .notes
            .push(UsedTokenFate::NeverRevoked.note().into());
        // The steps that follow describe the refusal; against a success
        // they would only restate this one drift as a dozen others.
        return Err(
            "the used refresh token was still accepted after the new access token was used (rotation-changed): the checks of the refusal that follow do not apply".into(),
        );
    }
    world
        .record
        .notes
        .push(UsedTokenFate::RevokedOnFirstUse.note().into());
    Ok(())
}
