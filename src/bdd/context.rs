//! The context of one suite run, which the steps read: the client, the
//! partner's credentials, the token chain, the compiled schemas and the
//! snapshot store. The run builds it and hands it to every scenario's World
//! in cucumber's before-scenario hook; nothing here is process-global, so
//! several suites can run in one process, each with its own context.

use payu_contract::chain::TokenChain;
use payu_contract::client::{ClientAuth, TokenClient};
use payu_contract::config::Credentials;
use payu_contract::contract::schema::Schemas;
use payu_contract::contract::snapshot::Snapshots;
use payu_contract::secret::Secret;
use std::fmt;
use std::sync::Mutex;

use super::WorldRecord;

pub struct RunContext {
    pub client: TokenClient,
    pub credentials: Credentials,
    pub client_auth: ClientAuth,
    pub chain: TokenChain,
    pub schemas: Schemas,
    pub snapshots: Snapshots,
    /// A second, confidential client (one that must send its secret), when
    /// the target has one the run knows: the embedded double does, a live
    /// target does not. Scenarios that need it are skipped without it.
    pub confidential: Option<OtherClient>,
    /// A protected resource where a new access token can be used (GET with
    /// `Authorization: Bearer`): the embedded double's own, or the live
    /// target's `PAYU_RESOURCE_URL`. Without it the rotation scenario cannot
    /// tell "revoked on first use" from "never revoked".
    pub resource_url: Option<url::Url>,
    /// Hand-off from the after-scenario hook to the event collector.
    pub finished: Mutex<Option<WorldRecord>>,
}

/// A client other than the partner's, with its own refresh token.
pub struct OtherClient {
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub refresh_token: Secret<String>,
}

impl fmt::Debug for RunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("target", &self.client.url().as_str())
            .field("client_auth", &self.client_auth)
            .finish_non_exhaustive()
    }
}

impl RunContext {
    /// Takes what the after-scenario hook left for the collector.
    pub fn take_finished(&self) -> Option<WorldRecord> {
        self.finished
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    pub fn put_finished(&self, record: WorldRecord) {
        *self
            .finished
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(record);
    }
}
