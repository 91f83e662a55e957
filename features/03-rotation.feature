@documented @consumes @destructive
Feature: Refresh token rotation
  Documented: every successful refresh issues a new refresh token, and that
  token works for the next refresh. Not documented: when the used one dies.
  The real server (Doorkeeper) revokes it either in the refresh itself or
  only when an access token issued from its successor is first used
  (docs/writing-scenarios.md, "Observations"). The steps worded "observe"
  report the mode they see; they are drift only when the used token is
  still accepted after the new access token was used. To tell "revoked on
  first use" from "never revoked" a live run needs PAYU_RESOURCE_URL (a
  protected resource of the target); the embedded double has its own.

  Replaying a used token is what the observation must do, and on servers
  with reuse detection (OAuth 2.1, RFC 9700 §4.14) a replay revokes the
  whole chain: against a live target this feature runs only with
  --allow-destructive.

  Background:
    Given the partner's client credentials and a live refresh token
    And every token response is expected to carry these headers:
      | Cache-Control | no-store                        |
      | Pragma        | no-cache                        |
      | Content-Type  | application/json; charset=utf-8 |

  Scenario: The rotated refresh token works, and what becomes of the used one is observed
    # Documented.
    Given the partner has refreshed once
    When the partner requests a refresh with the new refresh token
    Then the response status is 200
    And the body matches the "token" schema
    And a new refresh token was issued
    # Observed, not documented: the used token's fate (a note in the report).
    When the partner requests a refresh with the refresh token it has just used
    Then observe whether the used refresh token is still accepted
    # Documented, once the used token is refused: the answer to a revoked token.
    And the response status is 401
    And the error is "invalid_grant"
    And the error description is "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
    And the response carries the expected headers
    And the WWW-Authenticate header is a Bearer challenge naming "invalid_grant"
    And the body matches the "error" schema
    And the response matches its snapshot
