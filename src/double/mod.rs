//! The embedded double of PayU's token endpoint (placeholder; see issue 2).
