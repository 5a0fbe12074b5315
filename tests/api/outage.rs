//! Redis stops mid-run: sign-in fails closed (503, the "temporarily unavailable" page, nobody
//! let in without the checks) and comes back by itself once Redis is back. The test owns its
//! Redis (`redis-server` on a spare port, nothing saved), whatever `GUICHET_TEST_REDIS_URL` says.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A `redis-server` this test started; killed when dropped, so that a failing test leaves
/// nothing running.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    async fn start(port: u16) -> OwnRedis {
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {REDIS_SERVER}: {e}"));
        let redis = OwnRedis {
            port,
            child: Some(child),
        };
        redis.wait_until_up().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_until_up(&self) {
        let client = redis::Client::open(self.url()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<()>(&mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn pid(&self) -> String {
        self.child.as_ref().unwrap().id().to_string()
    }

    /// Sends `signal` (`STOP`, `CONT`) to this process.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh browser signs in as alice through `client`: the status of its POST /login (a
/// redirect when signed in).
async fn fresh_sign_in(app: &TestApp, client: &TestClient) -> reqwest::Response {
    let http = browser();
    let (challenge, _) = pkce_pair();
    let params = auth_params(
        client,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let page = login_page_from(app, &http, &params).await;
    post_login(app, &http, &page, "alice", PASSWORD).await
}

/// The "temporarily unavailable" page: 503, `Retry-After`, in the browser's language (French
/// by default), no session cookie.
async fn assert_unavailable_page(res: reqwest::Response) {
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("retry-after").is_some());
    assert!(set_cookie(&res, "guichet_session").is_none());
    let page = res.text().await.unwrap();
    assert!(page.contains("temporairement indisponible"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_fails_closed_while_redis_is_down_and_recovers_when_it_returns() {
    let port = free_port();
    let mut redis = OwnRedis::start(port).await;
    let app = spawn_with(Options {
        redis_url: Some(redis.url()),
        ..Options::default()
    })
    .await;
    let (app, client) = with_alice_and(app, "rp1").await;

    // All is well: alice signs in and gets a code.
    let (code, verifier) = pkce_code(&app, &client, "openid").await;
    let early = browser();
    let page = login_page(&app, &early, &client, &[]).await;

    // Redis hangs: the sign-in fails within a few seconds rather than hanging.
    redis.signal("STOP");
    let started = Instant::now();
    let res = fresh_sign_in(&app, &client).await;
    let took = started.elapsed();
    redis.signal("CONT");
    assert_unavailable_page(res).await;
    assert!(
        took < Duration::from_secs(4),
        "a hung Redis held a sign-in {took:?}"
    );

    // Redis stops.
    redis.kill();
    let started = Instant::now();
    // The login form (fetched while Redis was up): even the right password gets the page.
    let res = post_login(&app, &early, &page, "alice", PASSWORD).await;
    assert_unavailable_page(res).await;
    let res = fresh_sign_in(&app, &client).await;
    assert_unavailable_page(res).await;
    // In English for an English browser.
    let res = app
        .browser
        .get(app.url("/authorize"))
        .query(&auth_params(&client, &[]))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503, "alice's session cannot be checked");
    let text = res.text().await.unwrap();
    assert!(text.contains("temporarily unavailable"), "{text}");
    // The token endpoint cannot redeem the code once: temporarily_unavailable.
    let res = redeem(&app, &client, &code, Some(&verifier)).await;
    let (status, headers) = oauth_error(res, "temporarily_unavailable").await;
    assert_eq!(status, 503);
    assert!(headers.get("retry-after").is_some());
    assert_eq!(
        send(app.browser.get(app.url("/readyz"))).await.status(),
        503
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "requests were held while Redis was down: {:?}",
        started.elapsed()
    );

    // Redis comes back (empty: sessions and codes are lost, as short-lived state may be).
    let _redis = OwnRedis::start(port).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = fresh_sign_in(&app, &client).await;
        if res.status().is_redirection() {
            assert!(query_param(&location(&res), "code").is_some());
            break;
        }
        assert_eq!(res.status(), 503, "only 503 while reconnecting");
        assert!(
            Instant::now() < deadline,
            "sign-in did not recover after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
