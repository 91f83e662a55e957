@documented @consumes
Feature: Refresh Token API, successful refresh
  A successful refresh consumes the partner's refresh token and hands out a
  new one (rotation). These scenarios run after the non-consuming ones, one
  after the other, each with the newest token of the chain.

  Background:
    Given the partner's client credentials and a live refresh token
    And every token response is expected to carry these headers:
      | Cache-Control | no-store                        |
      | Pragma        | no-cache                        |
      | Content-Type  | application/json; charset=utf-8 |

  Scenario: Refresh with client id, client secret and refresh token
    When the partner requests a refresh with all documented parameters
    Then the response status is 200
    And the body matches the "token" schema
    And the token type is "Bearer"
    And the response carries the expected headers
    And a new refresh token was issued
    And a change of key order from "access_token, token_type, expires_in, refresh_token, scope, created_at, user_uuid" is only noted
    And the response matches its snapshot

  Scenario: Refresh without client secret
    The page lists this row under 401 but shows the success body:
    client_secret is optional, so this is a success.

    When the partner requests a refresh without client secret
    Then the response status is 200
    And the body matches the "token" schema
    And the token type is "Bearer"
    And the response carries the expected headers
    And a new refresh token was issued
    And the response matches its snapshot
