use super::*;

fn client(auth: ClientAuth, secret: Option<&str>) -> Client {
    Client::new("client-1", secret.map(Secret::from), auth)
}

fn names(r: &Request) -> Vec<&str> {
    r.fields().iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn each_constructor_fixes_what_it_spends() {
    let c = client(ClientAuth::Body, Some("s3cret"));
    let t = Secret::from("live-token");
    let p = Secret::from("pw");
    let table = [
        (Request::refresh(&c, &t), Spends::RefreshToken),
        (
            Request::refresh_without_client_secret(&c, &t),
            Spends::RefreshToken,
        ),
        (Request::replay(&c, &t), Spends::RefreshToken),
        (Request::refresh_without_grant_type(&c, &t), Spends::Nothing),
        (Request::refresh_without_refresh_token(&c), Spends::Nothing),
        (
            Request::refresh_with_invalid_grant_type(&c, &t),
            Spends::Nothing,
        ),
        (
            Request::refresh_with_invalid_refresh_token(&c),
            Spends::Nothing,
        ),
        (
            Request::refresh_with_invalid_client(ClientAuth::Body, &t),
            Spends::Nothing,
        ),
        (Request::liveness_probe(&c, &t), Spends::Nothing),
        (Request::client_probe(&c), Spends::Nothing),
        (Request::user_probe(&c, "u", &p), Spends::Nothing),
        (
            Request::get_token(&c, "u", &p, "hub_session"),
            Spends::Grant,
        ),
    ];
    for (req, spends) in table {
        assert_eq!(req.spends(), spends, "{:?}", names(&req));
        assert_eq!(req.spends().retryable(), spends == Spends::Nothing);
    }
}

#[test]
fn documented_field_order() {
    let c = client(ClientAuth::Body, Some("s3cret"));
    let t = Secret::from("live-token");
    assert_eq!(
        names(&Request::refresh(&c, &t)),
        ["client_id", "client_secret", "grant_type", "refresh_token"]
    );
    assert_eq!(
        names(&Request::refresh_without_client_secret(&c, &t)),
        ["client_id", "grant_type", "refresh_token"]
    );
    assert_eq!(
        names(&Request::refresh_with_invalid_grant_type(&c, &t)),
        ["client_id", "client_secret", "refresh_token", "grant_type"]
    );
    let bad = Request::refresh_with_invalid_client(ClientAuth::Body, &t);
    assert_ne!(bad.get("client_id").unwrap().expose(), "client-1");
    assert_eq!(bad.refresh_token().unwrap().expose(), "live-token");
}

#[test]
fn basic_without_a_secret_is_an_empty_password_and_no_form_credentials() {
    let t = Secret::from("live-token");
    for c in [
        client(ClientAuth::Basic, None),
        client(ClientAuth::Basic, Some("s3cret")),
    ] {
        let r = Request::refresh_without_client_secret(&c, &t);
        let (id, secret) = r.basic().expect("basic credentials");
        assert_eq!((id.as_str(), secret.expose().as_str()), ("client-1", ""));
        assert_eq!(names(&r), ["grant_type", "refresh_token"]);
    }
    let r = Request::refresh(&client(ClientAuth::Basic, Some("s3cret")), &t);
    assert_eq!(r.basic().unwrap().1.expose(), "s3cret");
}

#[test]
fn the_probe_honours_client_auth_and_never_sends_the_real_secret() {
    let t = Secret::from("live-token");
    let body = Request::liveness_probe(&client(ClientAuth::Body, Some("s3cret")), &t);
    assert!(body.basic().is_none());
    assert!(
        body.get("client_secret")
            .unwrap()
            .expose()
            .starts_with("probe-")
    );
    let basic = Request::liveness_probe(&client(ClientAuth::Basic, Some("s3cret")), &t);
    assert!(basic.get("client_secret").is_none() && basic.get("client_id").is_none());
    let (id, secret) = basic.basic().unwrap();
    assert_eq!(id, "client-1");
    assert!(secret.expose().starts_with("probe-"));
}

#[test]
fn arbitrary_fields_are_marked_conservatively() {
    let live = Secret::from("live-token");
    let f = |pairs: &[(&str, &str)]| -> Vec<(String, Secret<String>)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Secret::from(*v)))
            .collect()
    };
    // The live token under any field name spends it.
    let r = Request::from_fields(f(&[("token", "live-token")]), None, Some(&live));
    assert_eq!(r.spends(), Spends::RefreshToken);
    let r = Request::from_fields(
        f(&[("grant_type", "refresh_token"), ("refresh_token", "other")]),
        None,
        Some(&live),
    );
    assert_eq!(r.spends(), Spends::Nothing);
    let r = Request::from_fields(f(&[("grant_type", "password")]), None, Some(&live));
    assert_eq!(r.spends(), Spends::Grant);
    let r = Request::from_fields(f(&[("grant_type", "refresh_token")]), None, None);
    assert_eq!(r.spends(), Spends::Nothing);
}
