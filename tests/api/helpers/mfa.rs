//! Second factors as a person meets them: signing in to the account page, enrolling an
//! authenticator app or a phone there, the second-factor step of sign-in, TOTP codes computed
//! from the secret the page shows, SMS codes read from the outbox.

use guichet::crypto::otp;
use scraper::{Html, Selector};

use super::{PASSWORD, TestApp, browser, hidden, location, post_login, text_of};

/// The text of the element with this id, if any.
pub fn element_text(page: &str, id: &str) -> Option<String> {
    let doc = Html::parse_document(page);
    let sel = Selector::parse(&format!("#{id}")).ok()?;
    Some(
        doc.select(&sel)
            .next()?
            .text()
            .collect::<String>()
            .trim()
            .to_owned(),
    )
}

/// The items of the list with this id.
pub fn list_items(page: &str, id: &str) -> Vec<String> {
    let doc = Html::parse_document(page);
    let sel = Selector::parse(&format!("#{id} li")).unwrap();
    doc.select(&sel)
        .map(|li| li.text().collect::<String>().trim().to_owned())
        .collect()
}

pub fn is_code_form(page: &str) -> bool {
    page.contains("name=\"code\"") && page.contains("one-time-code")
}

/// The TOTP secret (bytes) of the base32 text an enrolment page shows.
pub fn secret_of(page: &str) -> Vec<u8> {
    let b32 = element_text(page, "totp-secret").expect("a #totp-secret element");
    totp_rs::Secret::Encoded(b32)
        .to_bytes()
        .expect("base32 secret")
}

/// The TOTP code of `secret` at the application's current time.
pub fn totp_now(app: &TestApp, secret: &[u8]) -> String {
    let step = u64::try_from(app.clock.now()).unwrap() / otp::TOTP_STEP;
    otp::totp_code(secret, step)
}

/// A fresh browser signed in as `login` with its password, on the account page (the sign-in
/// of a user with a second factor is finished by the caller).
pub async fn account_browser(app: &TestApp, login: &str) -> reqwest::Client {
    let http = browser();
    let page = text_of(http.get(app.url("/login"))).await;
    let res = post_login(app, &http, &page, login, PASSWORD).await;
    assert_eq!(res.status(), 303, "signed in");
    assert_eq!(location(&res).path(), "/account");
    http
}

/// Enrols an authenticator app from the account page of `http`; returns the secret and the
/// recovery codes shown (none if another factor was enrolled before).
pub async fn enrol_totp(app: &TestApp, http: &reqwest::Client) -> (Vec<u8>, Vec<String>) {
    let page = text_of(http.get(app.url("/account/mfa/totp"))).await;
    assert!(page.contains("<svg"), "an inline QR code: {page}");
    let secret = secret_of(&page);
    let code = totp_now(app, &secret);
    let res = submit_enrolment(app, http, &page, "/account/mfa/totp", &code).await;
    let codes = if res.status() == 303 {
        Vec::new()
    } else {
        assert_eq!(res.status(), 200);
        list_items(&res.text().await.unwrap(), "recovery-codes")
    };
    // The code that enrolled cannot sign in again: tests sign in at the next step.
    app.clock.advance(30);
    (secret, codes)
}

/// Posts an enrolment page's form (its CSRF token, enrolment and flow fields) with `code`.
pub async fn submit_enrolment(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    action: &str,
    code: &str,
) -> reqwest::Response {
    let mut form = vec![
        ("csrf", hidden(page, "csrf").expect("csrf field")),
        ("code", code.to_owned()),
    ];
    for name in ["enrolment", "flow"] {
        if let Some(v) = hidden(page, name) {
            form.push((name, v));
        }
    }
    // With a factor enrolled already, adding one asks for the password.
    if page.contains("name=\"password\"") {
        form.push(("password", PASSWORD.to_owned()));
    }
    http.post(app.url(action)).form(&form).send().await.unwrap()
}

/// Posts the second-factor page's form (or any step page of the sign-in) with `code`.
pub async fn post_code(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    code: &str,
) -> reqwest::Response {
    let form = [
        ("csrf", hidden(page, "csrf").expect("csrf field")),
        ("flow", hidden(page, "flow").expect("flow field")),
        ("code", code.to_owned()),
    ];
    http.post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Posts a step page's form with only its hidden fields and `extra` (the SMS button, the
/// recovery codes' "continue").
pub async fn post_step(
    app: &TestApp,
    http: &reqwest::Client,
    page: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("csrf".to_owned(), hidden(page, "csrf").expect("csrf field")),
        ("flow".to_owned(), hidden(page, "flow").expect("flow field")),
    ];
    form.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    http.post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The SMS written to the outbox, oldest first, as JSON.
pub fn outbox_sms(app: &TestApp) -> Vec<serde_json::Value> {
    let dir = app.dir.path().join("outbox");
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains("-sms-") && n.ends_with(".json"))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// The 6-digit code of the last SMS sent to `to`.
pub fn last_sms_code(app: &TestApp, to: &str) -> String {
    let sms = outbox_sms(app);
    let last = sms
        .iter()
        .rev()
        .find(|m| m["to"] == to)
        .unwrap_or_else(|| panic!("no SMS to {to} in {sms:?}"));
    let text = last["text"].as_str().unwrap();
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

/// Enrols the phone `typed` from the account page of `http` (the code read from the outbox);
/// returns the recovery codes shown, if any.
pub async fn enrol_sms(
    app: &TestApp,
    http: &reqwest::Client,
    typed: &str,
    e164: &str,
) -> Vec<String> {
    let page = text_of(http.get(app.url("/account/mfa/sms"))).await;
    let mut form = vec![
        ("csrf", hidden(&page, "csrf").unwrap()),
        ("phone", typed.to_owned()),
    ];
    if page.contains("name=\"password\"") {
        form.push(("password", PASSWORD.to_owned()));
    }
    let res = http
        .post(app.url("/account/mfa/sms"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("name=\"code\""), "the code stage: {page}");
    let code = last_sms_code(app, e164);
    let res = submit_enrolment(app, http, &page, "/account/mfa/sms", &code).await;
    if res.status() == 303 {
        return Vec::new();
    }
    assert_eq!(res.status(), 200);
    list_items(&res.text().await.unwrap(), "recovery-codes")
}

/// The notice (error) paragraph of a page, if any.
pub fn notice_of(page: &str) -> Option<String> {
    let doc = Html::parse_document(page);
    let sel = Selector::parse("[role=alert]").unwrap();
    Some(doc.select(&sel).next()?.text().collect::<String>())
}
