//! guichet's CAS server with CAS clients it did not write: Apache httpd with mod_auth_cas
//! (Debian's `apache2-bin` and `libapache2-mod-auth-cas`) protecting pages, driven by a browser
//! through sign-in, single sign-on, renew, gateway and single logout; and the python-cas library
//! (PyPI `python-cas`, the one under django-cas-ng), run as a subprocess, validating guichet's
//! tickets with CAS 3, 2 and 1, obtaining a proxy ticket through a proxy-granting ticket, and
//! reading guichet's logout request.
//! The support files are in tests/fixtures/cas/.
//!
//! Without Apache, the module or the Python library the tests pass with a notice, unless
//! `GUICHET_TEST_INTEROP` is set (CI sets it): then they fail. python-cas is looked for in
//! `target/cas-py` (where .ci/run installs it with `pip install --target`) and on `PYTHONPATH`.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use guichet::domain::cas::PatternKind;
use reqwest::cookie::Jar;
use reqwest::redirect::Policy;
use serde_json::Value;
use url::Url;

use crate::helpers::*;

const APACHE: &str = "/usr/sbin/apache2";
const MODULES: &str = "/usr/lib/apache2/modules";
/// The modules the configuration loads that are not in every Apache build.
const NEEDED_MODULES: &[&str] = &[
    "mod_auth_cas.so",
    "mod_mpm_prefork.so",
    "mod_headers.so",
    "mod_include.so",
];
/// Set (CI): a missing Apache, module or python-cas fails the tests instead of skipping them.
const REQUIRED: &str = "GUICHET_TEST_INTEROP";
/// How long a logout notification may take to reach the client (it is queued, then posted).
const SLO_WAIT: Duration = Duration::from_secs(10);
/// The attributes released to the clients, as `(name, alice's value)`.
const RELEASED: &[(&str, &str)] = &[
    ("email", "alice@example.org"),
    ("given_name", "Alice"),
    ("preferred_username", "alice"),
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cas")
        .join(name)
}

/// Returns whether the test may go on; when a tool is missing, prints a notice (or fails in CI).
fn available(test: &str, missing: Option<String>) -> bool {
    let Some(missing) = missing else {
        return true;
    };
    if std::env::var_os(REQUIRED).is_some_and(|v| !v.is_empty()) {
        panic!("{REQUIRED} is set but {missing} (.ci/run installs what these tests need)");
    }
    println!(
        "{test} skipped: {missing} (.ci/run installs it; {REQUIRED}=1 makes its absence a failure)"
    );
    false
}

fn released_attributes() -> Vec<String> {
    RELEASED.iter().map(|(n, _)| (*n).to_owned()).collect()
}

// ---- Apache httpd + mod_auth_cas ------------------------------------------------------------

fn apache_missing() -> Option<String> {
    if !Path::new(APACHE).exists() {
        return Some(format!("{APACHE} is missing (Debian package apache2-bin)"));
    }
    NEEDED_MODULES
        .iter()
        .find(|m| !Path::new(MODULES).join(m).exists())
        .map(|m| {
            format!(
                "{MODULES}/{m} is missing (Debian packages apache2-bin, libapache2-mod-auth-cas)"
            )
        })
}

/// The folders httpd.conf.tmpl protects, each with a page that shows REMOTE_USER.
const APPLICATIONS: &[&str] = &["protected", "other", "renew", "public"];

/// Apache in the foreground as one process (`-X`), in its own process group: a prefork parent
/// that shuts down signals its whole group, which would otherwise be this test binary's.
/// Killed on drop.
struct Apache {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Apache {
    /// Serves the `APPLICATIONS` on `port` behind mod_auth_cas, with `cas` (guichet's `…/cas`)
    /// as the CAS server.
    async fn start(cas: &str, port: u16) -> Apache {
        let dir = tempfile::Builder::new()
            .prefix("guichet-apache-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        // Started as root, the worker runs as www-data: everything must be readable by it,
        // and mod_auth_cas' session files writable (a temporary folder is 0700).
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        mode(root, 0o755);
        for sub in ["run", "logs", "htdocs"] {
            std::fs::create_dir(root.join(sub)).unwrap();
            mode(&root.join(sub), 0o755);
        }
        std::fs::create_dir(root.join("cas-cache")).unwrap();
        mode(&root.join("cas-cache"), 0o777);
        for app in APPLICATIONS {
            let folder = root.join("htdocs").join(app);
            std::fs::create_dir(&folder).unwrap();
            mode(&folder, 0o755);
            let page = folder.join("index.shtml");
            std::fs::write(
                &page,
                format!("<p>{app}: user=<!--#echo var=\"REMOTE_USER\" --></p>\n"),
            )
            .unwrap();
            mode(&page, 0o644);
        }
        let conf = std::fs::read_to_string(fixture("httpd.conf.tmpl"))
            .unwrap()
            .replace("@DIR@", root.to_str().unwrap())
            .replace("@PORT@", &port.to_string())
            .replace("@CAS@", cas);
        let conf_path = root.join("httpd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(APACHE)
            .arg("-f")
            .arg(&conf_path)
            .arg("-X")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(root.join("logs/stdout")).unwrap())
            .stderr(std::fs::File::create(root.join("logs/stderr")).unwrap())
            .spawn()
            .unwrap();
        let mut apache = Apache { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return apache;
            }
            if let Some(status) = apache.child.try_wait().unwrap() {
                panic!("apache exited ({status}):\n{}", apache.logs());
            }
            assert!(
                Instant::now() < deadline,
                "apache did not listen on {port}:\n{}",
                apache.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Its start-up output and error log, for failure messages.
    fn logs(&self) -> String {
        ["logs/stderr", "logs/error.log", "logs/access.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
                format!("--- {f}\n{text}")
            })
            .collect()
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser whose cookie jar the test can reach.
fn browser_with_jar() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .build()
        .unwrap();
    (http, jar)
}

/// Follows redirects by hand from `url` to the first page that is not one: that page and the
/// URLs visited on the way (`url` first).
async fn follow(http: &reqwest::Client, url: &str) -> (reqwest::Response, Vec<String>) {
    let mut visited = vec![url.to_owned()];
    for _ in 0..8 {
        let res = send(http.get(visited.last().unwrap())).await;
        if !res.status().is_redirection() {
            return (res, visited);
        }
        visited.push(location(&res).to_string());
    }
    panic!("more than 8 redirects: {visited:#?}");
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// An application with alice, its CAS origin registered for the Apache on `port` (prefix pattern,
/// the released attributes), and that Apache.
async fn app_and_apache() -> (TestApp, Apache) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let port = free_port();
    app.create_cas_service(&format!("http://127.0.0.1:{port}/"), |s| {
        s.pattern_kind = PatternKind::Prefix;
        s.attributes = released_attributes();
    })
    .await;
    let apache = Apache::start(&app.url("/cas"), port).await;
    (app, apache)
}

/// The browser opens `page` (no Apache session yet), signs in to guichet as alice on the login
/// form and is let in: the ticket Apache validated.
async fn sign_in_through_apache(
    app: &TestApp,
    apache: &Apache,
    http: &reqwest::Client,
    page: &str,
) -> String {
    // mod_auth_cas sends the browser to guichet with the page as the service.
    let res = send(http.get(page)).await;
    assert_eq!(res.status(), 302, "apache let an anonymous browser in");
    let login = location(&res);
    assert!(
        login.as_str().starts_with(&app.url("/cas/login?")),
        "{login}"
    );
    assert_eq!(query_param(&login, "service").as_deref(), Some(page));
    // guichet's login form, alice's password.
    let res = send(http.get(login.as_str())).await;
    assert_eq!(res.status(), 200);
    let form = res.text().await.unwrap();
    assert!(is_login_form(&form), "not a login page: {form}");
    let res = post_login(app, http, &form, "alice", PASSWORD).await;
    assert!(res.status().is_redirection(), "sign-in did not finish");
    let back = location(&res);
    let ticket = query_param(&back, "ticket").expect("a ticket");
    let sep = if page.contains('?') { '&' } else { '?' };
    assert_eq!(back.as_str(), format!("{page}{sep}ticket={ticket}"));
    // mod_auth_cas ignores (and loops on) tickets outside `^[PS]T-[A-Za-z0-9.-]*$`.
    assert!(
        ticket.starts_with("ST-")
            && ticket[3..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
        "{ticket}"
    );
    // Apache validates the ticket at guichet's p3/serviceValidate, opens its own session
    // (cookie MOD_AUTH_CAS) and sends the browser to the page without the ticket.
    let res = send(http.get(back.as_str())).await;
    assert_eq!(
        res.status(),
        302,
        "apache did not accept guichet's ticket:\n{}",
        apache.logs()
    );
    assert!(set_cookie(&res, "MOD_AUTH_CAS").is_some());
    assert_eq!(location(&res).as_str(), page);
    ticket
}

/// `page` shows alice, with the attributes guichet released.
async fn assert_shows_alice(http: &reqwest::Client, page: &str, app_name: &str) {
    let res = send(http.get(page)).await;
    assert_eq!(res.status(), 200, "{page}");
    assert_eq!(header(&res, "X-Remote-User"), "alice");
    let body = res.text().await.unwrap();
    assert!(body.contains(&format!("{app_name}: user=alice")), "{body}");
}

/// Polls `page` until Apache sends the browser back to guichet's login: its session was ended
/// by guichet's logout request.
async fn assert_apache_session_ends(app: &TestApp, http: &reqwest::Client, page: &str) {
    let deadline = Instant::now() + SLO_WAIT;
    loop {
        let res = send(http.get(page)).await;
        if res.status() == 302 {
            let to = location(&res);
            assert!(to.as_str().starts_with(&app.url("/cas/login?")), "{to}");
            return;
        }
        assert_eq!(res.status(), 200);
        assert!(
            Instant::now() < deadline,
            "apache still lets the browser in to {page} {SLO_WAIT:?} after the CAS logout"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn apache_with_mod_auth_cas_signs_alice_in_through_guichet_keeps_sso_and_ends_with_single_logout()
 {
    if !available("mod_auth_cas interop test", apache_missing()) {
        return;
    }
    let (app, apache) = app_and_apache().await;
    let http = browser();
    // An escaped space: mod_auth_cas escapes its service URL its own way (`%2520`).
    let page = apache.url("/protected/index.shtml?x=1&y=a%20b");

    sign_in_through_apache(&app, &apache, &http, &page).await;
    let res = send(http.get(&page)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "X-Remote-User"), "alice");
    assert_eq!(header(&res, "X-CAS-Email"), "alice@example.org");
    // An attribute with '_' in its name (it reaches Apache only as a request header).
    assert_eq!(header(&res, "X-CAS-Given-Name"), "Alice");
    assert_eq!(header(&res, "X-CAS-Preferred-Username"), "alice");
    let body = res.text().await.unwrap();
    assert!(body.contains("protected: user=alice"), "{body}");

    // Single sign-on: the second application sends the browser to guichet, which sends it
    // straight back with a ticket, without the form.
    let other = apache.url("/other/");
    let (res, visited) = follow(&http, &other).await;
    assert_eq!(res.status(), 200, "{visited:#?}");
    let body = res.text().await.unwrap();
    assert!(body.contains("other: user=alice"), "{body}");
    assert_eq!(visited.len(), 4, "{visited:#?}");
    assert!(
        visited[1].starts_with(&app.url("/cas/login?")),
        "{visited:#?}"
    );
    assert!(
        visited[2].starts_with(&format!("{other}?ticket=ST-")),
        "{visited:#?}"
    );
    assert_eq!(visited[3], other);

    // Single logout: guichet posts a logout request to each application, which ends its
    // session; both send the browser to guichet again, and guichet asks for the password.
    let res = send(http.get(app.url("/cas/logout"))).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_apache_session_ends(&app, &http, &page).await;
    assert_apache_session_ends(&app, &http, &other).await;
    let (res, visited) = follow(&http, &page).await;
    assert_eq!(res.status(), 200, "{visited:#?}");
    assert!(is_login_form(&res.text().await.unwrap()));
}

#[tokio::test]
async fn apache_with_cas_renew_gets_the_password_asked_again_and_with_gateway_gets_no_ticket_without_a_session()
 {
    if !available("mod_auth_cas interop test", apache_missing()) {
        return;
    }
    let (app, apache) = app_and_apache().await;

    // Gateway without an SSO session: guichet sends the browser straight back, without a
    // ticket and without the form (CAS §2.1.1). (Apache 2.4 then answers 500 under `Require
    // valid-user`: mod_auth_cas lets the request through unauthenticated, which the core
    // refuses. That part is Apache's.)
    let public = apache.url("/public/");
    let anonymous = browser();
    let (_, visited) = follow(&anonymous, &public).await;
    assert_eq!(visited.len(), 3, "{visited:#?}");
    let login = Url::parse(&visited[1]).unwrap();
    assert!(
        visited[1].starts_with(&app.url("/cas/login?")),
        "{visited:#?}"
    );
    assert_eq!(query_param(&login, "gateway").as_deref(), Some("true"));
    assert_eq!(visited[2], public);

    // Renew with an SSO session: mod_auth_cas sends renew=true to the login page and to the
    // validation; guichet asks for the password again and Apache takes the ticket.
    let http = browser();
    sign_in_through_apache(&app, &apache, &http, &apache.url("/protected/")).await;
    let renew = apache.url("/renew/");
    let (res, visited) = follow(&http, &renew).await;
    let login = Url::parse(visited.last().unwrap()).unwrap();
    assert_eq!(query_param(&login, "renew").as_deref(), Some("true"));
    assert_eq!(res.status(), 200);
    let form = res.text().await.unwrap();
    assert!(
        is_login_form(&form),
        "renew=true without the form: {visited:#?}"
    );
    let res = post_login(&app, &http, &form, "alice", PASSWORD).await;
    assert!(res.status().is_redirection(), "sign-in did not finish");
    let (res, visited) = follow(&http, location(&res).as_str()).await;
    assert_eq!(res.status(), 200, "{visited:#?}\n{}", apache.logs());
    assert_eq!(header(&res, "X-Remote-User"), "alice");

    // Gateway with an SSO session: a ticket, no form.
    let (res, visited) = follow(&http, &public).await;
    assert_eq!(res.status(), 200, "{visited:#?}");
    assert_eq!(header(&res, "X-Remote-User"), "alice");
    assert!(
        visited[2].starts_with(&format!("{public}?ticket=ST-")),
        "{visited:#?}"
    );
}

/// mod_auth_cas (like django-cas-ng over python-cas) keys each of its sessions by the ticket
/// that opened it (CAS Appendix C: the SessionIndex is that ticket), so single logout names
/// every ticket of the session, not one per service URL: here the browser lost Apache's session
/// cookie, as after `CASIdleTimeout`, and got a second ticket through SSO.
#[tokio::test]
async fn apache_sessions_opened_by_a_second_ticket_for_the_same_page_also_end_with_single_logout() {
    if !available("mod_auth_cas interop test", apache_missing()) {
        return;
    }
    let (app, apache) = app_and_apache().await;
    let (http, jar) = browser_with_jar();
    let page = apache.url("/protected/");
    let first = sign_in_through_apache(&app, &apache, &http, &page).await;
    assert_shows_alice(&http, &page, "protected").await;

    // Apache's session cookie goes (its idle timeout, a cleared cookie): Apache sends the
    // browser to guichet, which hands out a second ticket for the same page through SSO.
    let origin = Url::parse(&page).unwrap();
    jar.add_cookie_str("MOD_AUTH_CAS=gone; Path=/protected/; Max-Age=0", &origin);
    let (res, visited) = follow(&http, &page).await;
    assert_eq!(res.status(), 200, "{visited:#?}");
    assert_eq!(visited.len(), 4, "{visited:#?}");
    assert!(!visited[2].contains(&first), "{visited:#?}");
    assert_shows_alice(&http, &page, "protected").await;

    send(http.get(app.url("/cas/logout"))).await;
    assert_apache_session_ends(&app, &http, &page).await;
}

// ---- python-cas -----------------------------------------------------------------------------

/// `python3` with python-cas importable.
struct PythonCas {
    path: String,
}

impl PythonCas {
    /// python-cas in `target/cas-py` or on `PYTHONPATH`, or why not.
    fn find() -> Result<PythonCas, String> {
        let mut dirs = vec![
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/cas-py")
                .display()
                .to_string(),
        ];
        if let Ok(p) = std::env::var("PYTHONPATH") {
            dirs.extend(p.split(':').filter(|d| !d.is_empty()).map(str::to_owned));
        }
        let path = dirs.join(":");
        // Another module named `cas` would not have the client classes.
        let probe = Command::new("python3")
            .args([
                "-c",
                "import cas; cas.CASClientV3; cas.CASClientV2; cas.CASClientV1",
            ])
            .env("PYTHONPATH", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match probe {
            Ok(s) if s.success() => Ok(PythonCas { path }),
            Ok(_) => Err(format!(
                "python-cas is not importable from target/cas-py or PYTHONPATH ({path})"
            )),
            Err(e) => Err(format!("python3 cannot be run: {e}")),
        }
    }

    /// Runs tests/fixtures/cas/cas_client.py with `args` (and `stdin`): its exit code and the
    /// JSON it printed. Asynchronous, so that guichet and the test's servers keep answering.
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> (i32, Value) {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new("python3")
            .arg(fixture("cas_client.py"))
            .args(args)
            .env("PYTHONPATH", &self.path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .await
            .unwrap();
        drop(input);
        let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("cas_client.py took more than 30 s")
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "cas_client.py {args:?}: {e}\nstdout: {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), json)
    }

    /// Validates `ticket` for `service` with CAS `version` (at the proxy endpoint if `proxy`),
    /// with a proxy callback if given.
    async fn validate(
        &self,
        app: &TestApp,
        service: &str,
        ticket: &str,
        version: &str,
        proxy: bool,
        pgt_url: Option<&str>,
    ) -> (i32, Value) {
        let server = app.url("/cas");
        let mut args = vec![
            "validate",
            "--server",
            &server,
            "--service",
            service,
            "--ticket",
            ticket,
            "--version",
            version,
        ];
        if proxy {
            args.push("--proxy");
        }
        if let Some(url) = pgt_url {
            args.extend(["--pgt-url", url]);
        }
        self.run(&args, None).await
    }
}

/// What the test's application received from guichet: proxy-granting tickets by IOU, logout
/// requests.
#[derive(Default)]
struct Received {
    pgts: HashMap<String, String>,
    logout_requests: Vec<String>,
}

/// A service of the test's own on 127.0.0.1: `/pgt` is its proxy callback (CAS §2.5.4), and any
/// POST to `/app` is a logout request (CAS Appendix C).
struct ServiceSide {
    origin: String,
    received: Arc<Mutex<Received>>,
}

impl ServiceSide {
    async fn start() -> ServiceSide {
        let received = Arc::new(Mutex::new(Received::default()));
        let router = Router::new()
            .route(
                "/pgt",
                get(
                    |State(r): State<Arc<Mutex<Received>>>,
                     Query(q): Query<HashMap<String, String>>| async move {
                        // CAS §2.5.4: the callback may be called without the two parameters.
                        if let (Some(iou), Some(id)) = (q.get("pgtIou"), q.get("pgtId")) {
                            r.lock().unwrap().pgts.insert(iou.clone(), id.clone());
                        }
                        "ok"
                    },
                ),
            )
            .route(
                "/app",
                axum::routing::post(
                    |State(r): State<Arc<Mutex<Received>>>,
                     axum::Form(f): axum::Form<HashMap<String, String>>| async move {
                        if let Some(x) = f.get("logoutRequest") {
                            r.lock().unwrap().logout_requests.push(x.clone());
                        }
                        "ok"
                    },
                ),
            )
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!(
            "http://127.0.0.1:{}/",
            listener.local_addr().unwrap().port()
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        ServiceSide { origin, received }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.origin, path.trim_start_matches('/'))
    }

    /// The first logout request received, waiting for it.
    async fn logout_request(&self) -> String {
        let deadline = Instant::now() + SLO_WAIT;
        loop {
            if let Some(x) = self.received.lock().unwrap().logout_requests.first() {
                return x.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no logout request {SLO_WAIT:?} after the CAS logout"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn attribute(v: &Value, name: &str) -> Vec<String> {
    v["attributes"][name]
        .as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// A registered service that takes proxy tickets (exact pattern, not told of logouts: nothing
/// listens there).
const BACKEND: &str = "https://backend.example/api";

#[tokio::test]
async fn python_cas_validates_guichet_tickets_with_cas_3_2_and_1_proxies_and_reads_the_logout_request()
 {
    let py = match PythonCas::find() {
        Ok(py) => py,
        Err(missing) => {
            available("python-cas interop test", Some(missing));
            return;
        }
    };
    let app = spawn_with(Options {
        // The test's proxy callback is plain http.
        settings: Some(|s| s.cas_insecure_callbacks = true),
        ..Options::default()
    })
    .await;
    app.create_user("alice").await;
    let side = ServiceSide::start().await;
    app.create_cas_service(&side.origin, |s| {
        s.pattern_kind = PatternKind::Prefix;
        s.attributes = released_attributes();
        s.allow_proxy = true;
    })
    .await;
    app.create_cas_service(BACKEND, |s| {
        s.attributes = vec!["preferred_username".into()];
        s.single_logout = false;
    })
    .await;
    // python-cas encodes with `+` for spaces and uppercase escapes.
    let service = side.url("/app?x=1&y=a%20b");
    let mut tickets = Vec::new();

    // CAS 3 (p3/serviceValidate): the user and the released attributes; single use.
    let ticket = app.cas_ticket(&app.browser, &service, "alice").await;
    let (code, v) = py.validate(&app, &service, &ticket, "3", false, None).await;
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["user"], "alice", "{v}");
    for (name, value) in RELEASED {
        assert_eq!(attribute(&v, name), [*value], "{name}: {v}");
    }
    let (code, v) = py.validate(&app, &service, &ticket, "3", false, None).await;
    assert_eq!((code, &v["ok"]), (1, &Value::Bool(false)), "{v}");
    tickets.push(ticket);

    // CAS 2 (serviceValidate) and CAS 1 (validate), with tickets from the live session.
    for version in ["2", "1"] {
        let ticket = app.cas_ticket(&app.browser, &service, "alice").await;
        let (code, v) = py
            .validate(&app, &service, &ticket, version, false, None)
            .await;
        assert_eq!(code, 0, "CAS {version}: {v}");
        assert_eq!(v["user"], "alice", "CAS {version}: {v}");
        tickets.push(ticket);
    }

    // Proxy (CAS §2.5.4, §2.7): validation with a pgtUrl gives an IOU, the callback the
    // proxy-granting ticket; /proxy gives proxy tickets the backend validates at
    // p3/proxyValidate and proxyValidate.
    let ticket = app.cas_ticket(&app.browser, &service, "alice").await;
    let pgt_url = side.url("/pgt");
    let (code, v) = py
        .validate(&app, &service, &ticket, "3", false, Some(&pgt_url))
        .await;
    assert_eq!(code, 0, "{v}");
    let iou = v["pgtiou"]
        .as_str()
        .unwrap_or_else(|| panic!("no IOU: {v}"));
    assert!(iou.starts_with("PGTIOU-"), "{v}");
    let pgt = side
        .received
        .lock()
        .unwrap()
        .pgts
        .get(iou)
        .cloned()
        .expect("the callback received the IOU's ticket");
    tickets.push(ticket);
    let server = app.url("/cas");
    for version in ["3", "2"] {
        let (code, v) = py
            .run(
                &[
                    "proxy",
                    "--server",
                    &server,
                    "--service",
                    BACKEND,
                    "--pgt",
                    &pgt,
                ],
                None,
            )
            .await;
        assert_eq!(code, 0, "{v}");
        let pt = v["proxy_ticket"].as_str().unwrap().to_owned();
        assert!(pt.starts_with("PT-"), "{v}");
        let (code, v) = py.validate(&app, BACKEND, &pt, version, true, None).await;
        assert_eq!(code, 0, "proxyValidate, CAS {version}: {v}");
        assert_eq!(v["user"], "alice", "{v}");
        if version == "3" {
            assert_eq!(attribute(&v, "preferred_username"), ["alice"], "{v}");
            assert!(attribute(&v, "email").is_empty(), "{v}");
        }
    }

    // Single logout: python-cas recognises guichet's logout request as naming one of the
    // tickets it validated for the service.
    send(app.browser.get(app.url("/cas/logout"))).await;
    let request = side.logout_request().await;
    let mut args = vec!["slo"];
    for ticket in &tickets {
        args.extend(["--ticket", ticket.as_str()]);
    }
    let (code, v) = py.run(&args, Some(&request)).await;
    assert_eq!(code, 0, "{v}\n{request}");
    assert_eq!(v["named"].as_array().unwrap().len(), 1, "{v}\n{request}");
    // The proxy-granting ticket went with the session.
    let (code, v) = py
        .run(
            &[
                "proxy",
                "--server",
                &server,
                "--service",
                BACKEND,
                "--pgt",
                &pgt,
            ],
            None,
        )
        .await;
    assert_eq!(code, 1, "{v}");
}
