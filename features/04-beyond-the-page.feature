@undocumented
Feature: Beyond the page: what the server does that the page does not document
  The page documents client credentials in the form and a fixed set of
  failure rows. The real server (Doorkeeper) also accepts HTTP Basic client
  authentication, refuses a confidential client that omits its secret, and
  refuses a scope wider than the one granted. These scenarios are written in
  Gherkin alone, with the generic request step and its placeholders
  (docs/writing-scenarios.md). They are tagged @undocumented: a run with
  `--tags "@documented"` leaves them out, so CI decides whether they gate.

  Background:
    Given the partner's client credentials and a live refresh token
    And every token response is expected to carry these headers:
      | Cache-Control | no-store                        |
      | Pragma        | no-cache                        |
      | Content-Type  | application/json; charset=utf-8 |

  @consumes
  Scenario: Refresh with HTTP Basic client authentication
    RFC 6749 §2.3.1: the client id and secret travel in the Authorization
    header instead of the form.

    When the partner sends a token request with client authentication by HTTP Basic:
      | client_id     | <client id>          |
      | client_secret | <client secret>      |
      | grant_type    | refresh_token        |
      | refresh_token | <live refresh token> |
    Then the response status is 200
    And the body matches the "token" schema
    And the token type is "Bearer"
    And the response carries the expected headers
    And a new refresh token was issued

  Scenario: A confidential client without its secret is refused
    Only the partner's client may omit its secret. A confidential client
    (the embedded double has one; a live target configures none, so there
    the scenario is skipped) must authenticate.

    When the partner sends a token request with client authentication in the form:
      | client_id     | <confidential client id>     |
      | grant_type    | refresh_token                |
      | refresh_token | <confidential refresh token> |
    Then the response status is 401
    And the error is "invalid_client"
    And the response carries the expected headers
    And the WWW-Authenticate header is a Bearer challenge naming "invalid_client"
    And the body matches the "error" schema

  Scenario: A scope wider than the one granted is refused
    A refresh may narrow the granted scope (hub_session), never widen it.

    When the partner sends a token request with client authentication in the form:
      | client_id     | <client id>          |
      | client_secret | <client secret>      |
      | grant_type    | refresh_token        |
      | refresh_token | <live refresh token> |
      | scope         | hub_session payouts  |
    Then the response status is 401
    And the error is "invalid_scope"
    And the error description is "The requested scope is invalid, unknown, or malformed."
    And the response carries the expected headers
    And the WWW-Authenticate header is a Bearer challenge naming "invalid_scope"
    And the body matches the "error" schema
