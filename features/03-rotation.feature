@documented @consumes @destructive
Feature: Refresh token rotation
  Every successful refresh issues a new refresh token and revokes the old
  one. Replaying a used token is what this feature must do to prove it, and
  on servers with reuse detection (OAuth 2.1, RFC 9700 §4.14) a replay
  revokes the whole chain: against a live target it runs only with
  --allow-destructive.

  Background:
    Given the partner's client credentials and a live refresh token
    And every token response is expected to carry these headers:
      | Cache-Control | no-store                        |
      | Pragma        | no-cache                        |
      | Content-Type  | application/json; charset=utf-8 |

  Scenario: The rotated refresh token works once, and the used ones are then rejected
    Given the partner has refreshed once
    When the partner requests a refresh with the new refresh token
    Then the response status is 200
    And the body matches the "token" schema
    And a new refresh token was issued
    When the partner requests a refresh with the refresh token it has just used
    Then the used refresh token is refused
    And the response status is 401
    And the error is "invalid_grant"
    And the error description is "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
    And the response carries the expected headers
    And the WWW-Authenticate header is a Bearer challenge naming "invalid_grant"
    And the body matches the "error" schema
    And the response matches its snapshot
