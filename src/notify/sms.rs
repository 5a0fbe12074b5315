//! Sending SMS: one trait, an HTTP gateway (any provider, or an in-house relay, that accepts
//! `{"to", "text"}` as JSON) and the outbox when no gateway is configured.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use url::Url;

use super::outbox::Outbox;

/// How long one request to the gateway may take, connection included: a person is waiting for
/// the code on the sign-in page.
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a message was not sent. Messages never carry the gateway's answer, the token or the
/// text sent: they end up in logs.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The gateway answered with a status outside 2xx (redirects included: they are not
    /// followed, so the token goes nowhere else).
    #[error("the SMS gateway answered {0}")]
    Gateway(StatusCode),
    /// The gateway could not be reached, timed out, or the client could not be set up.
    #[error("the SMS gateway could not be reached: {0}")]
    Transport(String),
    #[error("the SMS outbox could not be written: {0}")]
    Outbox(#[from] std::io::Error),
}

#[async_trait::async_trait]
pub trait SmsSender: Send + Sync + 'static {
    /// Sends `text` to `to`, a phone number in E.164 form (`+33…`).
    async fn send(&self, to: &str, text: &str) -> Result<(), SmsError>;
}

pub type DynSms = Arc<dyn SmsSender>;

/// The gateway when a URL is set, else the outbox in `outbox_dir`.
pub fn sender(
    url: Option<&Url>,
    token: Option<&str>,
    outbox_dir: &Path,
) -> Result<DynSms, SmsError> {
    Ok(match url {
        Some(url) => Arc::new(GatewaySms::new(url.clone(), token.map(str::to_owned))?),
        None => Arc::new(OutboxSms::new(Outbox::new(outbox_dir))),
    })
}

#[derive(serde::Serialize)]
struct GatewayMessage<'a> {
    to: &'a str,
    text: &'a str,
}

/// POSTs `{"to": "+33…", "text": "…"}` as JSON to the gateway URL, with
/// `Authorization: Bearer <token>` when a token is set.
pub struct GatewaySms {
    client: reqwest::Client,
    url: Url,
    authorization: Option<HeaderValue>,
}

impl GatewaySms {
    /// Fails if the token cannot be sent in a header (a control character) or the HTTP client
    /// cannot be built.
    pub fn new(url: Url, token: Option<String>) -> Result<GatewaySms, SmsError> {
        let authorization = token
            .map(|t| -> Result<HeaderValue, SmsError> {
                let mut value = HeaderValue::try_from(format!("Bearer {t}")).map_err(|_| {
                    SmsError::Transport("the SMS gateway token is not a valid header value".into())
                })?;
                // Kept out of the client's own debug output and of HTTP/2 header compression.
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose()?;
        let client = reqwest::Client::builder()
            .timeout(GATEWAY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SmsError::Transport(e.without_url().to_string()))?;
        Ok(GatewaySms {
            client,
            url,
            authorization,
        })
    }
}

/// Shows where messages go, never the token.
impl fmt::Debug for GatewaySms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewaySms")
            .field("origin", &self.url.origin().ascii_serialization())
            .field("token", &self.authorization.as_ref().map(|_| "***"))
            .finish()
    }
}

#[async_trait::async_trait]
impl SmsSender for GatewaySms {
    async fn send(&self, to: &str, text: &str) -> Result<(), SmsError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .json(&GatewayMessage { to, text });
        if let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        // `without_url`: the URL may carry a provider's key in its query.
        let response = request
            .send()
            .await
            .map_err(|e| SmsError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(SmsError::Gateway(status));
        }
        Ok(())
    }
}

#[derive(serde::Serialize)]
struct OutboxMessage<'a> {
    to: &'a str,
    text: &'a str,
    /// Unix seconds.
    at: u64,
}

/// Writes each message as `{"to", "text", "at"}` (unix seconds) to a `<…>-sms-<…>.json` file of
/// the outbox.
#[derive(Debug, Clone)]
pub struct OutboxSms {
    outbox: Outbox,
}

impl OutboxSms {
    pub fn new(outbox: Outbox) -> OutboxSms {
        OutboxSms { outbox }
    }
}

#[async_trait::async_trait]
impl SmsSender for OutboxSms {
    async fn send(&self, to: &str, text: &str) -> Result<(), SmsError> {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let body =
            serde_json::to_vec(&OutboxMessage { to, text, at }).map_err(std::io::Error::from)?;
        self.outbox.write("sms", "json", &body).await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Mutex;

    use axum::Json;
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::routing::post;

    use super::*;

    /// What the fake gateway saw: the JSON body and the `Authorization` header of each request.
    type Seen = Arc<Mutex<Vec<(serde_json::Value, Option<String>)>>>;

    /// A gateway on 127.0.0.1:0 that records each request and answers `status`, with a body the
    /// error must not repeat.
    async fn fake_gateway(status: StatusCode) -> (Url, Seen) {
        let seen: Seen = Arc::default();
        let app = axum::Router::new()
            .route(
                "/send",
                post(
                    move |State(seen): State<Seen>,
                          headers: HeaderMap,
                          Json(body): Json<serde_json::Value>| async move {
                        let auth = headers
                            .get(AUTHORIZATION)
                            .map(|v| v.to_str().unwrap().to_owned());
                        seen.lock().unwrap().push((body, auth));
                        (status, "gateway-secret-body")
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = Url::parse(&format!("http://127.0.0.1:{port}/send")).unwrap();
        (url, seen)
    }

    #[tokio::test]
    async fn the_gateway_receives_the_number_and_text_as_json_with_the_bearer_token() {
        let (url, seen) = fake_gateway(StatusCode::OK).await;
        let sms = GatewaySms::new(url, Some("tok-123".into())).unwrap();
        sms.send("+33612345678", "Code: 123456").await.unwrap();

        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![(
                serde_json::json!({"to": "+33612345678", "text": "Code: 123456"}),
                Some("Bearer tok-123".to_owned())
            )]
        );
        assert!(!format!("{sms:?}").contains("tok-123"));
    }

    #[tokio::test]
    async fn without_a_token_the_gateway_gets_no_authorization_header() {
        let (url, seen) = fake_gateway(StatusCode::ACCEPTED).await;
        let sms = GatewaySms::new(url, None).unwrap();
        sms.send("+33612345678", "hi").await.unwrap();
        assert_eq!(seen.lock().unwrap()[0].1, None);
    }

    #[tokio::test]
    async fn a_gateway_error_status_is_an_error_that_shows_neither_body_nor_token() {
        let (url, seen) = fake_gateway(StatusCode::INTERNAL_SERVER_ERROR).await;
        let sms = GatewaySms::new(url, Some("tok-123".into())).unwrap();
        let err = sms.send("+33612345678", "Code: 123456").await.unwrap_err();
        assert!(
            matches!(err, SmsError::Gateway(StatusCode::INTERNAL_SERVER_ERROR)),
            "{err:?}"
        );
        let shown = format!("{err} {err:?}");
        for secret in ["gateway-secret-body", "tok-123", "123456"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_unreachable_gateway_is_a_transport_error_without_the_url() {
        // A port that was just free: nothing listens there any more.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = Url::parse(&format!("http://127.0.0.1:{port}/send?key=k-secret")).unwrap();
        let err = GatewaySms::new(url, None)
            .unwrap()
            .send("+33612345678", "hi")
            .await
            .unwrap_err();
        assert!(matches!(err, SmsError::Transport(_)), "{err:?}");
        assert!(!err.to_string().contains("k-secret"), "{err}");
    }

    #[tokio::test]
    async fn the_outbox_sender_writes_one_json_file_per_message() {
        let tmp = tempfile::tempdir().unwrap();
        let sms = sender(None, Some("unused"), tmp.path()).unwrap();
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        sms.send("+33612345678", "Code: 123456").await.unwrap();
        sms.send("+33700000000", "Code: 654321").await.unwrap();

        let mut files: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2);
        let mut messages = Vec::new();
        for f in &files {
            let name = f.file_name().unwrap().to_str().unwrap();
            assert!(name.contains("-sms-") && name.ends_with(".json"), "{name}");
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            assert!(v["at"].as_u64().unwrap() >= before, "{v}");
            messages.push((v["to"].clone(), v["text"].clone()));
        }
        messages.sort_by_key(|m| m.0.to_string());
        assert_eq!(
            messages,
            vec![
                ("+33612345678".into(), "Code: 123456".into()),
                ("+33700000000".into(), "Code: 654321".into()),
            ]
        );
    }

    #[test]
    fn with_a_url_the_sender_is_the_gateway() {
        let url = Url::parse("https://sms.example.org/send").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        assert!(sender(Some(&url), Some("tok"), tmp.path()).is_ok());
        assert!(matches!(
            GatewaySms::new(url, Some("bad\ntoken".into())),
            Err(SmsError::Transport(_))
        ));
    }
}
