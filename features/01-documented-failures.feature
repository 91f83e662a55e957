@documented
Feature: Refresh Token API, documented failure scenarios
  The page's failure table, row by row. None of these requests consumes the
  partner's refresh token (the real server refuses them before it rotates
  anything), so they run first and are safe against a live endpoint.
  "With invalid client" needs a VALID refresh token: with a bad token the
  server answers invalid_grant before it looks at the client.

  Background:
    Given the partner's client credentials and a live refresh token
    And every token response is expected to carry these headers:
      | Cache-Control | no-store                        |
      | Pragma        | no-cache                        |
      | Content-Type  | application/json; charset=utf-8 |

  Scenario Outline: Refresh <reason>
    When the partner requests a refresh <reason>
    Then the response status is <code>
    And the error is "<error>"
    And the error description is "<error_description>"
    And the response carries the expected headers
    And the WWW-Authenticate header is a Bearer challenge naming "<error>"
    And the body matches the "error" schema
    And the response matches its snapshot

    Examples: Failure scenarios, as the page documents them
      | code | reason                  | error                  | error_description                                                                                                                                                  |
      | 401  | without grant type      | invalid_request        | The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.                                                  |
      | 401  | without refresh token   | invalid_request        | The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.                                                  |
      | 401  | with invalid client     | invalid_client         | Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.                                      |
      | 401  | with invalid grant type | unsupported_grant_type | The authorization grant type is not supported by the authorization server.                                                                                         |
      | 401  | invalid refresh token   | invalid_grant          | The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client. |
