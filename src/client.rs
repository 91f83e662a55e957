//! The token endpoint client: one `reqwest::Client` per run, bounded
//! timeouts and body size, retries only for requests that spend nothing
//! ([`crate::oauth::Spends::retryable`]), answers asked for uncompressed
//! (`Accept-Encoding: identity`) and decoded all the same when a server
//! compresses anyway, and an [`Exchange`] record of every request whose
//! printable parts are already redacted. The requests themselves are built
//! in [`crate::oauth`].

use crate::oauth::Request;
use crate::redact::{self, Scrubber};
use crate::secret::Secret;
use serde_json::Value;
use std::fmt;
use std::time::{Duration, Instant};
use url::Url;

/// Transport settings, all bounded.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
    /// Bodies larger than this are cut off and reported as a fault.
    pub max_body_bytes: usize,
    /// Extra trust anchors (PEM) on top of the system roots.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Attempts after the first, for requests that consume nothing.
    pub retries: u32,
    /// Upper bound for one wait between attempts (also caps `Retry-After`).
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            max_body_bytes: 1024 * 1024,
            ca_cert_pem: None,
            retries: 2,
            max_backoff: Duration::from_secs(10),
        }
    }
}

pub use crate::oauth::ClientAuth;

/// What a report shows of a request.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub form: Vec<(String, String)>,
    /// `client_id:[redacted]` when HTTP Basic was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<String>,
}

/// A complete HTTP answer. The body may hold tokens, so `Debug` shows only
/// its redacted form.
#[derive(Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    raw: Secret<String>,
    json: Option<Value>,
}

impl HttpResponse {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: String) -> Self {
        let json = serde_json::from_str(&body).ok();
        HttpResponse {
            status,
            headers,
            raw: Secret::new(body),
            json,
        }
    }

    /// The parsed body, tokens included: for checks, never for output.
    pub fn json(&self) -> Option<&Value> {
        self.json.as_ref()
    }

    /// The raw body, tokens included: for checks, never for output.
    pub fn raw_body(&self) -> &str {
        self.raw.expose()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        crate::contract::expect::header_value(&self.headers, name)
    }

    /// The body as a report may show it.
    pub fn redacted_body(&self, scrubber: &Scrubber) -> String {
        if let Some(v) = &self.json {
            serde_json::to_string_pretty(&scrubber.redact_value(v)).unwrap_or_default()
        } else {
            let cut: String = self.raw.expose().chars().take(4000).collect();
            scrubber.scrub(&cut)
        }
    }

    /// A string field of the JSON body.
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.json.as_ref()?.get(name)?.as_str()
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.json.as_ref().map(redact::redact_json))
            .finish()
    }
}

/// Why no verdict could be reached on a request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum TransportFault {
    /// Nothing was sent: the request never reached the server.
    Connect(String),
    Dns(String),
    Tls(String),
    /// The request may have reached the server.
    Timeout(String),
    BodyTooLarge(usize),
    /// Connection lost or body cut short after sending.
    Interrupted(String),
    /// Not sent: an earlier request of this run found the endpoint down.
    NotSent(String),
}

impl TransportFault {
    /// True when trying again may help: a refused or lost connection, a
    /// timeout. A DNS or TLS failure will fail the same way again.
    pub fn transient(&self) -> bool {
        matches!(
            self,
            TransportFault::Connect(_)
                | TransportFault::Timeout(_)
                | TransportFault::Interrupted(_)
        )
    }

    /// True when the request certainly did not reach the server, so even a
    /// consuming request may be sent again.
    pub fn certainly_unsent(&self) -> bool {
        matches!(
            self,
            TransportFault::Connect(_)
                | TransportFault::Dns(_)
                | TransportFault::Tls(_)
                | TransportFault::NotSent(_)
        )
    }
}

impl fmt::Display for TransportFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportFault::Connect(m) => write!(f, "connection failed: {m}"),
            TransportFault::Dns(m) => write!(f, "DNS lookup failed: {m}"),
            TransportFault::Tls(m) => write!(f, "TLS handshake failed: {m}"),
            TransportFault::Timeout(m) => write!(f, "timed out: {m}"),
            TransportFault::BodyTooLarge(max) => {
                write!(f, "response body larger than the {max}-byte cap")
            }
            TransportFault::Interrupted(m) => write!(f, "connection lost: {m}"),
            TransportFault::NotSent(m) => {
                write!(
                    f,
                    "not sent: the endpoint was found down earlier in this run ({m})"
                )
            }
        }
    }
}

/// One request and what came of it.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub request: RequestRecord,
    pub outcome: Result<HttpResponse, TransportFault>,
    pub elapsed: Duration,
    pub attempts: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "PAYU_CA_CERT holds no usable PEM certificate ({0}): point it at a PEM file with the CA certificate"
    )]
    BadCaCert(String),
    #[error("cannot set up the HTTP client: {0}")]
    Build(String),
}

/// The token endpoint client. Cheap to clone.
#[derive(Clone)]
pub struct TokenClient {
    http: reqwest::Client,
    url: Url,
    opts: ClientOptions,
    scrubber: Scrubber,
    /// Why the endpoint is considered down for the rest of the run: set when
    /// a request still fails after its retries. Later requests are not sent,
    /// so a dead endpoint costs one retry budget per run, not one per request.
    unavailable: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl TokenClient {
    pub fn new(url: Url, opts: ClientOptions, scrubber: Scrubber) -> Result<Self, ClientError> {
        // rustls is built without a default provider (ring, not aws-lc-rs:
        // no large C library to compile); install it once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("payu-contract/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&url) {
            // A proxy from the environment must not intercept the local double.
            builder = builder.no_proxy();
        }
        if url.scheme() == "http" && opts.ca_cert_pem.is_none() {
            // Plain HTTP with redirects off never verifies a certificate:
            // skip loading the system trust store (about 3 ms, a third of a
            // whole run against the embedded double).
            builder = builder.tls_certs_only([]);
        }
        if let Some(pem) = &opts.ca_cert_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ClientError::BadCaCert(e.to_string()))?;
            if certs.is_empty() {
                return Err(ClientError::BadCaCert("no certificate in the file".into()));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Build(error_chain(&e)))?;
        Ok(TokenClient {
            http,
            url,
            opts,
            scrubber,
            unavailable: Default::default(),
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }

    /// Uses an access token on a protected resource: one GET with
    /// `Authorization: Bearer`, never retried. The answer's status, or why
    /// none came (the token is learnt by the redactor first, so the reason
    /// can never carry it).
    pub async fn use_access_token(
        &self,
        resource: &Url,
        token: &Secret<String>,
    ) -> Result<u16, String> {
        self.scrubber.add(token.expose());
        let get = self.http.get(resource.clone()).bearer_auth(token.expose());
        match get.send().await {
            Ok(r) => Ok(r.status().as_u16()),
            Err(e) => Err(self.scrubber.scrub(&error_chain(&e))),
        }
    }

    /// Sends `req`, retrying (bounded, with backoff, `Retry-After` honoured)
    /// only on transport faults, 429 and 503, and only when the request
    /// spends nothing (or certainly never left this machine).
    pub async fn send(&self, req: &Request) -> Exchange {
        for (k, v) in req.fields() {
            self.scrubber.add_field(k, v.expose());
        }
        if let Some((id, secret)) = req.basic() {
            self.scrubber.add_basic(id, secret.expose());
        }
        let record = RequestRecord {
            method: "POST".into(),
            url: self.url.to_string(),
            form: req.redacted_form(),
            basic_auth: req
                .basic()
                .map(|(id, _)| format!("{id}:{}", redact::REDACTED)),
        };
        let started = Instant::now();
        if let Some(why) = self.down() {
            return Exchange {
                request: record,
                outcome: Err(TransportFault::NotSent(why)),
                elapsed: started.elapsed(),
                attempts: 0,
            };
        }
        let retryable = req.spends().retryable();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let outcome = self.send_once(req).await;
            let retry_after = match &outcome {
                Ok(resp) if resp.status == 429 || resp.status == 503 => {
                    retryable.then(|| retry_after(resp).unwrap_or_else(|| backoff(attempts)))
                }
                Ok(_) => None,
                Err(fault) if fault.transient() && (retryable || fault.certainly_unsent()) => {
                    Some(backoff(attempts))
                }
                Err(_) => None,
            };
            match retry_after {
                Some(wait) if attempts <= self.opts.retries => {
                    let wait = wait.min(self.opts.max_backoff);
                    tracing::debug!(
                        attempt = attempts,
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    match &outcome {
                        Ok(resp) if retry_after.is_some() => {
                            self.learn_secrets(resp);
                            self.mark_down(format!(
                                "it answered {} after {attempts} attempts",
                                resp.status
                            ));
                        }
                        Ok(resp) => self.learn_secrets(resp),
                        Err(fault) => self.mark_down(fault.to_string()),
                    }
                    return Exchange {
                        request: record,
                        outcome,
                        elapsed: started.elapsed(),
                        attempts,
                    };
                }
            }
        }
    }

    fn down(&self) -> Option<String> {
        self.unavailable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn mark_down(&self, why: String) {
        self.unavailable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert(why);
    }

    /// Tokens the server hands out are secrets from the moment they arrive.
    fn learn_secrets(&self, resp: &HttpResponse) {
        self.scrubber.learn_response(resp.json(), resp.raw_body());
    }

    async fn send_once(&self, req: &Request) -> Result<HttpResponse, TransportFault> {
        let form: Vec<(&str, &str)> = req
            .fields()
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose().as_str()))
            .collect();
        let mut builder = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .form(&form);
        if let Some((id, secret)) = req.basic() {
            builder = builder.basic_auth(id, Some(secret.expose()));
        }
        let mut resp = builder.send().await.map_err(|e| self.fault(&e))?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.opts.max_body_bytes {
                        return Err(TransportFault::BodyTooLarge(self.opts.max_body_bytes));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.fault(&e)),
            }
        }
        let body = decode_body(&headers, body, self.opts.max_body_bytes)?;
        Ok(HttpResponse::new(
            status,
            headers,
            String::from_utf8_lossy(&body).into_owned(),
        ))
    }

    fn fault(&self, e: &reqwest::Error) -> TransportFault {
        let chain = self.scrubber.scrub(&error_chain(e));
        let lower = chain.to_ascii_lowercase();
        if e.is_timeout() {
            TransportFault::Timeout(chain)
        } else if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
        {
            TransportFault::Tls(chain)
        } else if lower.contains("dns")
            || lower.contains("failed to lookup")
            || lower.contains("name or service")
        {
            TransportFault::Dns(chain)
        } else if e.is_connect() {
            TransportFault::Connect(chain)
        } else {
            TransportFault::Interrupted(chain)
        }
    }
}

/// The error and its causes on one line: reqwest's top-level message alone
/// ("error sending request") says nothing.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ").replace('\n', " ")
}

/// Undoes a `Content-Encoding` the server applied although it was asked for
/// `identity`: gzip (and x-gzip) and deflate, bounded by the body cap.
/// Another coding is left as it came (it will not parse, which is the truth:
/// the answer could not be read).
fn decode_body(
    headers: &[(String, String)],
    body: Vec<u8>,
    max: usize,
) -> Result<Vec<u8>, TransportFault> {
    use std::io::Read;
    let coding = crate::contract::expect::header_value(headers, "content-encoding")
        .map(|c| c.trim().to_ascii_lowercase());
    let mut out = Vec::new();
    let read = match coding.as_deref() {
        Some("gzip" | "x-gzip") => flate2::read::MultiGzDecoder::new(&body[..])
            .take(max as u64 + 1)
            .read_to_end(&mut out),
        Some("deflate") => flate2::read::ZlibDecoder::new(&body[..])
            .take(max as u64 + 1)
            .read_to_end(&mut out),
        _ => return Ok(body),
    };
    match read {
        Ok(_) if out.len() > max => Err(TransportFault::BodyTooLarge(max)),
        Ok(_) => Ok(out),
        // A body that says it is compressed and is not: keep it as it came.
        Err(_) => Ok(body),
    }
}

fn retry_after(resp: &HttpResponse) -> Option<Duration> {
    resp.header("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << attempt.min(6)))
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
