//! The diagnosis table, one outcome at a time, without a server.

use super::*;
use crate::contract::drift::{Drift, DriftClass, DriftPath};

const ID: &str = "6f8bb4951e6f59bd7ae27a3fed1a5a1af8853ad07fc1e2cb1b2fd8f35a577a0a";

fn err(error: &str) -> Answer {
    Answer::OAuthError {
        status: 401,
        error: error.into(),
    }
}

fn obs(secret_given: bool) -> Observations {
    Observations {
        inputs: Inputs {
            client_id: ID.into(),
            secret_given,
            token: Some(TokenSource::Given),
            user_given: false,
        },
        token_probe: Some(err("invalid_client")),
        client_probe: Some(err("invalid_grant")),
        client_probe_without_secret: None,
        user_probe: None,
        consumed: None,
        probe_rotation_stored_in: None,
    }
}

fn success(drifts: Vec<Drift>) -> Consumed {
    Consumed {
        kind: ConsumeKind::Refresh,
        answer: Answer::Success { status: 200 },
        drifts,
        stored_in: Some("/tmp/store.json".into()),
        new_token: true,
        store_error: None,
    }
}

#[test]
fn all_probes_pass_default_mode_is_honest_about_what_it_did_not_check() {
    let d = diagnose(&obs(true));
    assert_eq!(d.verdict, Verdict::CredentialsWork);
    assert_eq!(d.exit_code, 0);
    assert!(d.verified.iter().any(|v| v.contains("is alive")));
    assert!(
        d.verified
            .iter()
            .any(|v| v.contains("client secret are accepted"))
    );
    assert!(
        d.not_verified
            .iter()
            .any(|v| v.contains("issued to client id"))
    );
    assert!(d.not_verified.iter().any(|v| v.contains("--refresh")));
}

#[test]
fn a_dead_token_names_the_token_and_the_get_token_call() {
    let mut o = obs(true);
    o.token_probe = Some(err("invalid_grant"));
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::RefreshTokenDead);
    assert_eq!(d.field.as_deref(), Some("PAYU_REFRESH_TOKEN"));
    assert!(d.next_step.contains("Get Token"));
    assert_eq!(d.exit_code, 1);
    o.inputs.token = Some(TokenSource::Store {
        path: "s.json".into(),
        rotations: 2,
    });
    let d = diagnose(&o);
    assert_eq!(d.field.as_deref(), Some("PAYU_TOKEN_STORE"));
    assert!(d.message.contains("s.json"));
}

#[test]
fn client_refusals_say_exactly_what_the_answers_allow() {
    // Public client, wrong secret: it passes without one.
    let mut o = obs(true);
    o.client_probe = Some(err("invalid_client"));
    o.client_probe_without_secret = Some(err("invalid_grant"));
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::WrongClientSecret);
    assert_eq!(d.field.as_deref(), Some("PAYU_CLIENT_SECRET"));
    // Refused with and without: unknown id or a confidential client's wrong secret.
    o.client_probe_without_secret = Some(err("invalid_client"));
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::UnknownClientIdOrWrongSecret);
    assert_eq!(d.field.as_deref(), Some("PAYU_CLIENT_ID"));
    assert!(d.message.contains("cannot tell which"));
    // No secret given: unknown id or a confidential client without its secret.
    let mut o = obs(false);
    o.client_probe = Some(err("invalid_client"));
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::UnknownClientIdOrSecretMissing);
    assert_eq!(d.field.as_deref(), Some("PAYU_CLIENT_SECRET"));
    assert!(d.next_step.contains("set PAYU_CLIENT_SECRET"));
    assert!(d.next_step.contains("PAYU_CLIENT_ID"));
    // An id that is not even shaped like one.
    o.inputs.client_id = "6f8bb49 8673585f".into();
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::UnknownClientId);
    assert_eq!(d.field.as_deref(), Some("PAYU_CLIENT_ID"));
    assert!(d.message.contains("space"));
}

#[test]
fn client_id_shapes() {
    assert_eq!(client_id_shape_problem(ID), None);
    assert!(
        client_id_shape_problem(&ID[..63])
            .unwrap()
            .contains("63 characters")
    );
    assert!(
        client_id_shape_problem(&format!("{} {}", &ID[..30], &ID[30..]))
            .unwrap()
            .contains("space")
    );
    assert!(
        client_id_shape_problem(&ID.replace('a', "g"))
            .unwrap()
            .contains("hex")
    );
}

#[test]
fn wrong_grant_type_and_wrong_user() {
    let mut o = obs(true);
    o.token_probe = Some(err("unsupported_grant_type"));
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::GrantTypeNotSupported);
    assert_eq!(d.field.as_deref(), Some("grant_type"));
    assert!(d.next_step.contains("PAYU_TOKEN_URL"));
    let mut o = obs(true);
    o.inputs.user_given = true;
    o.user_probe = Some(err("invalid_grant"));
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::WrongUsernameOrPassword);
    o.user_probe = Some(err("invalid_scope"));
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::CredentialsWork);
    assert!(d.verified.iter().any(|v| v.contains("PAYU_USERNAME")));
}

#[test]
fn infrastructure_faults_are_no_verdict_and_name_the_setting() {
    let cases = [
        (
            Fault::Unreachable("refused".into()),
            Verdict::EndpointUnreachable,
            "PAYU_TOKEN_URL",
        ),
        (
            Fault::Dns("no such host".into()),
            Verdict::DnsFailure,
            "PAYU_TOKEN_URL",
        ),
        (
            Fault::Tls("unknown issuer".into()),
            Verdict::TlsFailure,
            "PAYU_CA_CERT",
        ),
        (
            Fault::Timeout("15 s".into()),
            Verdict::Timeout,
            "PAYU_TOKEN_URL",
        ),
        (
            Fault::ErrorPage {
                status: 502,
                html: true,
            },
            Verdict::ProxyErrorPage,
            "PAYU_TOKEN_URL",
        ),
    ];
    for (fault, verdict, field) in cases {
        let mut o = obs(true);
        o.token_probe = Some(Answer::Fault { fault });
        let d = diagnose(&o);
        assert_eq!(d.verdict, verdict);
        assert_eq!(d.exit_code, 3);
        assert_eq!(d.field.as_deref(), Some(field));
        assert!(
            d.message.contains("Nothing was consumed") || d.message.contains("not checked"),
            "{}",
            d.message
        );
    }
}

#[test]
fn a_refresh_that_times_out_is_unknown_and_never_retried() {
    let mut o = obs(true);
    o.consumed = Some(Consumed {
        answer: Answer::Fault {
            fault: Fault::Timeout("15 s".into()),
        },
        new_token: false,
        stored_in: None,
        ..success(vec![])
    });
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::RefreshOutcomeUnknown);
    assert_eq!(d.exit_code, 3);
    assert!(d.message.contains("NOT sent again"));
    assert!(d.next_step.contains("without --refresh"));
}

#[test]
fn a_successful_refresh_says_the_old_token_is_dead_and_where_the_new_one_is() {
    let mut o = obs(true);
    o.consumed = Some(success(vec![]));
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::CredentialsWork);
    let all = d.verified.join("\n");
    assert!(
        all.contains("DEAD") && all.contains("/tmp/store.json"),
        "{all}"
    );
    assert!(d.not_verified.is_empty());
}

#[test]
fn a_renamed_field_is_named_as_a_rename() {
    let drifts = vec![
        Drift::new(
            DriftClass::FieldMissing,
            DriftPath::field("/expires_in"),
            "present",
            "absent",
        ),
        Drift::new(
            DriftClass::FieldAdded,
            DriftPath::field("/expire_in"),
            "no such field",
            "7199",
        ),
    ];
    assert_eq!(
        describe_drifts(&drifts),
        vec!["the documented field `expires_in` is missing and `expire_in` came instead (renamed)"]
    );
    let mut o = obs(true);
    o.consumed = Some(success(drifts));
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::ResponseDrift);
    assert_eq!(d.exit_code, 1);
    assert!(d.message.contains("`expire_in`") && d.message.contains("/tmp/store.json"));
}

#[test]
fn a_token_of_another_client_shows_only_on_refresh() {
    let mut o = obs(true);
    o.consumed = Some(Consumed {
        answer: err("invalid_grant"),
        new_token: false,
        stored_in: None,
        ..success(vec![])
    });
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::RefreshTokenOtherClient);
}

#[test]
fn a_server_that_accepts_a_wrong_secret_is_reported() {
    let mut o = obs(true);
    o.token_probe = Some(Answer::Success { status: 200 });
    o.probe_rotation_stored_in = Some("s.json".into());
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::WrongSecretAccepted);
    assert!(d.message.contains("s.json"));
}

#[test]
fn a_success_without_a_readable_new_token_is_no_verdict_not_drift() {
    let mut o = obs(true);
    o.consumed = Some(Consumed {
        new_token: false,
        stored_in: None,
        ..success(vec![])
    });
    let d = diagnose(&o);
    assert_eq!(d.verdict, Verdict::RefreshOutcomeUnknown);
    assert_eq!(d.exit_code, 3);
    assert!(d.message.contains("possibly consumed"), "{}", d.message);
    assert!(d.next_step.contains("check-credentials"), "{}", d.next_step);
}
