//! The run-wide context the steps read: the client, the partner's
//! credentials, the token chain, the compiled schemas and the snapshot
//! store. Set once per process before cucumber starts.

use payu_contract::chain::TokenChain;
use payu_contract::client::{ClientAuth, TokenClient};
use payu_contract::config::Credentials;
use payu_contract::contract::schema::Schemas;
use payu_contract::contract::snapshot::Snapshots;
use std::sync::{Arc, Mutex, OnceLock};

use super::WorldRecord;

pub struct RunContext {
    pub client: TokenClient,
    pub credentials: Credentials,
    pub client_auth: ClientAuth,
    pub chain: TokenChain,
    pub schemas: Schemas,
    pub snapshots: Snapshots,
    /// Hand-off from the after-scenario hook to the event collector.
    pub finished: Mutex<Option<WorldRecord>>,
}

static CONTEXT: OnceLock<Arc<RunContext>> = OnceLock::new();

pub fn install(ctx: RunContext) -> Arc<RunContext> {
    let ctx = Arc::new(ctx);
    if CONTEXT.set(ctx.clone()).is_err() {
        // One suite run per process; a second install is a programming error
        // caught by the tests, never a user mistake.
        unreachable!("the run context is installed once per process");
    }
    ctx
}

pub fn get() -> &'static RunContext {
    CONTEXT
        .get()
        .expect("run context installed before cucumber starts")
}
