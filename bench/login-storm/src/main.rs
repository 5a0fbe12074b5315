//! Password + TOTP login storm against guichet, and the argon2id baseline it is compared with
//! (bench/run.sh, scenario `login`).
//!
//! - `hash-only`: argon2id verifications per second on `--threads` threads, each with its
//!   memory allocated once, with the parameters and the code of guichet's hashing pool
//!   (`src/crypto/password.rs`: OWASP's m=19456 KiB, t=2, p=1; argon2 0.5). This is the
//!   ceiling of password logins per second on this machine.
//! - `setup`: for users `<prefix><from>`..`<prefix><from+count-1>` (already created, all with
//!   `--password`), signs each in and enrols TOTP through the pages (`/account/mfa/totp`), and
//!   writes `login base32-secret step` lines: the step of the enrolment code, which guichet
//!   will refuse again.
//! - `storm`: `--connections` keep-alive connections each loop full logins — `GET /login`,
//!   `POST /login` with the password (answer: the second-factor page), `POST /login` with the
//!   TOTP code (answer: 303 to `/account`) — with a fresh cookie jar per login. A TOTP code is
//!   accepted once per user and 30 s step, so the users are taken in turn and one is reused
//!   only in a later step (the time spent waiting for a usable user is reported as `stall_ms`:
//!   it must stay 0, or there are too few users). After `--warmup`, `--runs` windows of
//!   `--duration` seconds report logins/s, p50/p99 of a whole login, the server's CPU per
//!   login (utime+stime of `--pid`) and this client's own; then the storm goes on (the `tail`
//!   row) until `--stop-file` exists or `--tail-max` seconds pass, while bench/run.sh measures
//!   other endpoints with wrk.
//!
//! Output: one JSON object per line on stdout (`"run": 1..`, then `"run": "median"` of the
//! windows without errors or waits, then `"run": "tail"`); progress on stderr. Any unexpected answer is an
//! error; that user is not used again (so that no account nears its lockout).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::rc::Rc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use totp_rs::TOTP;

type Res<T> = Result<T, String>;

const TOTP_STEP: u64 = 30;

fn usage() -> ! {
    eprintln!(
        "usage:\n  guichet-login-storm hash-only [--threads N] [--seconds S] [--warmup S]\n  \
         guichet-login-storm setup --base URL --password P --out FILE [--prefix u] [--from 1] \
         [--count N] [--connections N]\n  \
         guichet-login-storm storm --base URL --password P --users FILE [--connections N] \
         [--warmup S] [--duration S] [--runs N] [--pid PID] [--clk-tck N] [--stop-file PATH] \
         [--tail-max S]"
    );
    std::process::exit(2)
}

/// `--key value` pairs after the mode.
struct Args(HashMap<String, String>);

impl Args {
    fn parse() -> (String, Args) {
        let mut it = std::env::args().skip(1);
        let mode = it.next().unwrap_or_else(|| usage());
        let mut map = HashMap::new();
        while let Some(k) = it.next() {
            let Some(k) = k.strip_prefix("--") else {
                usage()
            };
            let v = it.next().unwrap_or_else(|| usage());
            map.insert(k.to_owned(), v);
        }
        (mode, Args(map))
    }
    fn str(&self, k: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| {
            eprintln!("--{k} is required");
            usage()
        })
    }
    fn opt(&self, k: &str) -> Option<String> {
        self.0.get(k).cloned()
    }
    fn num(&self, k: &str, default: f64) -> f64 {
        match self.0.get(k) {
            Some(v) => v.parse().unwrap_or_else(|_| usage()),
            None => default,
        }
    }
}

fn main() {
    let (mode, args) = Args::parse();
    match mode.as_str() {
        "hash-only" => hash_only(&args),
        "setup" | "storm" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            let local = tokio::task::LocalSet::new();
            let ok = if mode == "setup" {
                local.block_on(&rt, setup(&args))
            } else {
                local.block_on(&rt, storm(&args))
            };
            if !ok {
                std::process::exit(1);
            }
        }
        _ => usage(),
    }
}

// --- argon2id alone -----------------------------------------------------------------------------

/// guichet's `crypto::password::verify_with`, word for word: the parameters the PHC string
/// names, in memory allocated once per thread.
fn verify_with(memory: &mut [Block], stored: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or(Version::V0x13);
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let expected = expected.as_bytes();
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let done = if params.block_count() <= memory.len() {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
    } else {
        argon2.hash_password_into(password.as_bytes(), salt, &mut out)
    };
    done.is_ok() && out == expected
}

/// Verifications per second on `--threads` threads (default: the cores, as guichet's
/// GUICHET_HASH_CONCURRENCY), after `--warmup` seconds, for `--seconds`.
fn hash_only(args: &Args) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.num("threads", cores as f64).max(1.0) as usize;
    let seconds = args.num("seconds", 15.0);
    let warmup = args.num("warmup", 1.0);
    // guichet's `owasp_params()`: 19 MiB, two passes, one lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP parameters");
    let salt = SaltString::from_b64("c2FsdHNhbHRzYWx0c2FsdA").expect("salt");
    let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(b"bench password", &salt)
        .expect("hash")
        .to_string();
    let start = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (start, stored, params) = (start.clone(), stored.clone(), params.clone());
            std::thread::spawn(move || {
                let mut memory = vec![Block::default(); params.block_count()];
                let warm_end = Instant::now() + Duration::from_secs_f64(warmup);
                while Instant::now() < warm_end {
                    assert!(verify_with(&mut memory, &stored, "bench password"));
                }
                start.wait();
                let t0 = Instant::now();
                let end = t0 + Duration::from_secs_f64(seconds);
                let mut n = 0u64;
                while Instant::now() < end {
                    assert!(verify_with(&mut memory, &stored, "bench password"));
                    n += 1;
                }
                (n, t0.elapsed().as_secs_f64())
            })
        })
        .collect();
    start.wait();
    let cpu0 = proc_cpu("self");
    let results: Vec<(u64, f64)> = handles
        .into_iter()
        .map(|h| h.join().expect("hash thread"))
        .collect();
    let cpu1 = proc_cpu("self");
    let n: u64 = results.iter().map(|r| r.0).sum();
    let secs = results.iter().map(|r| r.1).fold(0.0, f64::max);
    let rate = n as f64 / secs;
    let clk = args.num("clk-tck", 100.0);
    let row = serde_json::json!({
        "mode": "hash-only",
        "threads": threads,
        "seconds": round2(secs),
        "verifications": n,
        "rate": round2(rate),
        "ms_per_verification": round2(threads as f64 / rate * 1e3),
        "cpu_us_per_verification": cpu0.zip(cpu1)
            .map(|(a, b)| ((b - a) as f64 / clk / n.max(1) as f64 * 1e6).round()),
    });
    println!("{row}");
    eprintln!(
        "argon2id alone, {threads} threads: {rate:.1} verifications/s ({:.1} ms each)",
        threads as f64 / rate * 1e3
    );
}

// --- HTTP, as a browser without JavaScript -------------------------------------------------------

/// The cookies of one login (a fresh jar each time, as a new browser).
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn update(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let mut parts = v.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let removed =
                value.is_empty() || parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            self.0.retain(|(n, _)| n != name);
            if !removed {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    fn header(&self) -> Option<HeaderValue> {
        if self.0.is_empty() {
            return None;
        }
        let s: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        HeaderValue::from_str(&s.join("; ")).ok()
    }
}

struct Answer {
    status: u16,
    location: String,
    body: String,
}

struct Conn {
    http: reqwest::Client,
    base: String,
}

impl Conn {
    fn new(base: &str) -> Conn {
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Conn {
            http,
            base: base.to_owned(),
        }
    }

    /// GET (no form) or POST (a form), with and into `jar`.
    async fn call(&self, jar: &mut Jar, path: &str, form: Option<&[(&str, &str)]>) -> Res<Answer> {
        let url = format!("{}{path}", self.base);
        let mut req = match form {
            None => self.http.get(&url),
            Some(pairs) => self
                .http
                .post(&url)
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )
                .body(
                    url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(pairs)
                        .finish(),
                ),
        };
        if let Some(c) = jar.header() {
            req = req.header(COOKIE, c);
        }
        let what = if form.is_some() { "POST" } else { "GET" };
        let res = req
            .send()
            .await
            .map_err(|e| format!("{what} {path}: {e}"))?;
        jar.update(res.headers());
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = res
            .text()
            .await
            .map_err(|e| format!("{what} {path}: body: {e}"))?;
        Ok(Answer {
            status,
            location,
            body,
        })
    }
}

/// Undoes the HTML escaping of an attribute value (tera escapes & < > " ' /).
fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let ent = &rest[1..end];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of the input `name` in a page.
fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = html.find(&marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let len = tag[v..].find('"')?;
    Some(html_unescape(&tag[v..v + len]))
}

fn need(page: &Answer, name: &str, what: &str) -> Res<String> {
    field(&page.body, name).ok_or_else(|| format!("{what}: no {name} field in {:.300}", page.body))
}

fn expect(a: &Answer, status: u16, what: &str) -> Res<()> {
    if a.status == status {
        Ok(())
    } else {
        Err(format!(
            "{what}: {} (expected {status}) {} {:.300}",
            a.status, a.location, a.body
        ))
    }
}

/// RFC 4648 base32 (the secret as the enrolment page shows it; spaces and padding ignored).
fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0);
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// RFC 6238 as guichet's `crypto::otp`: SHA-1, 6 digits, 30 s steps. The code of the current
/// step, and that step.
fn totp_now(secret: &[u8]) -> (String, u64) {
    let t = unix_now();
    let totp = TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, TOTP_STEP, secret.to_vec());
    (totp.generate(t), t / TOTP_STEP)
}

async fn login_page(conn: &Conn, jar: &mut Jar) -> Res<(String, String)> {
    let page = conn.call(jar, "/login", None).await?;
    expect(&page, 200, "GET /login")?;
    Ok((
        need(&page, "csrf", "GET /login")?,
        need(&page, "flow", "GET /login")?,
    ))
}

// --- setup: TOTP enrolment through the account pages ------------------------------------------

async fn enrol(conn: &Conn, login: &str, password: &str) -> Res<(String, u64)> {
    let mut jar = Jar::default();
    let (csrf, flow) = login_page(conn, &mut jar).await?;
    let a = conn
        .call(
            &mut jar,
            "/login",
            Some(&[
                ("csrf", &csrf),
                ("flow", &flow),
                ("username", login),
                ("password", password),
            ]),
        )
        .await?;
    expect(&a, 303, "POST /login (password, before enrolment)")?;
    let page = conn.call(&mut jar, "/account/mfa/totp", None).await?;
    expect(&page, 200, "GET /account/mfa/totp")?;
    let at = page
        .body
        .find("id=\"totp-secret\"")
        .ok_or("no totp-secret on the enrolment page")?;
    let text = &page.body[at..];
    let start = text.find('>').ok_or("totp-secret unclosed")? + 1;
    let end = text.find("</code>").ok_or("totp-secret unclosed")?;
    let shown = html_unescape(&text[start..end]);
    let secret = base32_decode(&shown).ok_or_else(|| format!("not base32: {shown}"))?;
    let csrf = need(&page, "csrf", "GET /account/mfa/totp")?;
    let enrolment = need(&page, "enrolment", "GET /account/mfa/totp")?;
    let (code, step) = totp_now(&secret);
    let done = conn
        .call(
            &mut jar,
            "/account/mfa/totp",
            Some(&[("csrf", &csrf), ("enrolment", &enrolment), ("code", &code)]),
        )
        .await?;
    expect(&done, 200, "POST /account/mfa/totp")?;
    if !done.body.contains("id=\"recovery-codes\"") {
        return Err(format!("enrolment not confirmed: {:.300}", done.body));
    }
    Ok((shown.split_whitespace().collect(), step))
}

async fn setup(args: &Args) -> bool {
    let base = args.str("base");
    let password = args.str("password");
    let out = args.str("out");
    let prefix = args.opt("prefix").unwrap_or_else(|| "u".into());
    let from = args.num("from", 1.0) as usize;
    let count = args.num("count", 2000.0) as usize;
    let connections = args.num("connections", 4.0).max(1.0) as usize;
    let todo = Rc::new(RefCell::new((from..from + count).collect::<VecDeque<_>>()));
    let done = Rc::new(RefCell::new(Vec::new()));
    let failed = Rc::new(Cell::new(false));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (todo, done, failed) = (todo.clone(), done.clone(), failed.clone());
        let (conn, prefix, password) = (Conn::new(&base), prefix.clone(), password.clone());
        tasks.push(tokio::task::spawn_local(async move {
            loop {
                if failed.get() {
                    return;
                }
                let Some(i) = todo.borrow_mut().pop_front() else {
                    return;
                };
                let login = format!("{prefix}{i}");
                match enrol(&conn, &login, &password).await {
                    Ok((secret, step)) => {
                        done.borrow_mut().push(format!("{login} {secret} {step}"))
                    }
                    Err(e) => {
                        eprintln!("enrolment of {login} failed: {e}");
                        failed.set(true);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    if failed.get() {
        return false;
    }
    let lines = done.borrow().join("\n") + "\n";
    if let Err(e) = std::fs::write(&out, lines) {
        eprintln!("{out}: {e}");
        return false;
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"mode": "setup", "users": count, "seconds": round2(secs)})
    );
    eprintln!("{count} users enrolled in TOTP in {secs:.1} s");
    true
}

// --- the storm ----------------------------------------------------------------------------------

struct User {
    login: String,
    secret: Vec<u8>,
    /// The last step whose code guichet accepted for this user (enrolment included).
    last_step: u64,
}

/// One full login: the password page, the password, the TOTP code.
async fn full_login(conn: &Conn, password: &str, user: &mut User) -> Res<()> {
    let mut jar = Jar::default();
    let (csrf, flow) = login_page(conn, &mut jar).await?;
    let page = conn
        .call(
            &mut jar,
            "/login",
            Some(&[
                ("csrf", &csrf),
                ("flow", &flow),
                ("username", &user.login),
                ("password", password),
            ]),
        )
        .await?;
    expect(&page, 200, "POST /login (password)")?;
    let csrf = need(&page, "csrf", "second-factor page")?;
    let flow = need(&page, "flow", "second-factor page")?;
    if !page.body.contains("name=\"code\"") {
        return Err(format!(
            "no code field after the password: {:.300}",
            page.body
        ));
    }
    let (code, step) = totp_now(&user.secret);
    if step <= user.last_step {
        return Err(format!("{}: step {step} already used", user.login));
    }
    user.last_step = step;
    let done = conn
        .call(
            &mut jar,
            "/login",
            Some(&[("csrf", &csrf), ("flow", &flow), ("code", &code)]),
        )
        .await?;
    expect(&done, 303, "POST /login (code)")?;
    if !done.location.ends_with("/account") {
        return Err(format!("signed in, but sent to {}", done.location));
    }
    Ok(())
}

#[derive(Default)]
struct Window {
    latencies_us: Vec<u32>,
    errors: u64,
    stall_ms: u64,
}

struct Shared {
    users: RefCell<VecDeque<User>>,
    window: RefCell<Window>,
    first_error: RefCell<Option<String>>,
    stop: Cell<bool>,
}

/// The first user whose last accepted step is before the current one, waiting for the next
/// step if every user is used up (counted as a stall).
async fn next_user(shared: &Shared) -> Option<User> {
    loop {
        if shared.stop.get() {
            return None;
        }
        let step = unix_now() / TOTP_STEP;
        let front = {
            let mut users = shared.users.borrow_mut();
            match users.front() {
                Some(u) if u.last_step < step => users.pop_front(),
                _ => None,
            }
        };
        if let Some(u) = front {
            return Some(u);
        }
        let t = Instant::now();
        tokio::time::sleep(Duration::from_millis(20)).await;
        shared.window.borrow_mut().stall_ms += t.elapsed().as_millis() as u64;
    }
}

async fn worker(conn: Conn, password: String, shared: Rc<Shared>) {
    while let Some(mut user) = next_user(&shared).await {
        let t0 = Instant::now();
        let r = full_login(&conn, &password, &mut user).await;
        let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        match r {
            Ok(()) => {
                shared.window.borrow_mut().latencies_us.push(us);
                shared.users.borrow_mut().push_back(user);
            }
            Err(e) => {
                // That user is left out from now on: no account nears its lockout.
                shared.window.borrow_mut().errors += 1;
                shared.first_error.borrow_mut().get_or_insert(e);
            }
        }
    }
}

fn load_users(path: &str) -> Res<VecDeque<User>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut users = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [login, secret, step] = f[..] else {
            return Err(format!("{path}: bad line {line}"));
        };
        users.push(User {
            login: login.to_owned(),
            secret: base32_decode(secret).ok_or_else(|| format!("{path}: bad secret"))?,
            last_step: step.parse().map_err(|_| format!("{path}: bad step"))?,
        });
    }
    // Those enrolled longest ago first.
    users.sort_by_key(|u| u.last_step);
    Ok(users.into())
}

async fn storm(args: &Args) -> bool {
    let base = args.str("base");
    let password = args.str("password");
    let users = match load_users(&args.str("users")) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("{e}");
            return false;
        }
    };
    let n_users = users.len();
    // Users enrolled in the current step are usable from the next one: start there.
    let newest = users.back().map_or(0, |u| u.last_step);
    let now = unix_now();
    if now / TOTP_STEP <= newest {
        let wait = (newest + 1) * TOTP_STEP - now;
        eprintln!("waiting {wait} s for the next TOTP step (users enrolled in this one)");
        tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(100)).await;
    }
    let connections = args.num("connections", 16.0).max(1.0) as usize;
    let warmup = args.num("warmup", 3.0);
    let duration = args.num("duration", 15.0);
    let runs = args.num("runs", 3.0).max(1.0) as usize;
    let pid = args.opt("pid");
    let clk = args.num("clk-tck", 100.0);
    let stop_file = args.opt("stop-file");
    let tail_max = args.num("tail-max", 0.0);
    let shared = Rc::new(Shared {
        users: RefCell::new(users),
        window: RefCell::new(Window::default()),
        first_error: RefCell::new(None),
        stop: Cell::new(false),
    });
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            tokio::task::spawn_local(worker(Conn::new(&base), password.clone(), shared.clone()))
        })
        .collect();
    eprintln!("login storm: {connections} connections, {n_users} users with TOTP");
    tokio::time::sleep(Duration::from_secs_f64(warmup)).await;

    // One window: its row, after `until` resolves.
    let measure = |label: serde_json::Value| {
        let shared = shared.clone();
        let pid = pid.clone();
        move |secs: f64, cpu0: Option<u64>, me0: Option<u64>| {
            let cpu1 = pid.as_deref().and_then(proc_cpu);
            let me1 = proc_cpu("self");
            let w = std::mem::take(&mut *shared.window.borrow_mut());
            let mut lat = w.latencies_us;
            lat.sort_unstable();
            let n = lat.len() as f64;
            let per = |d: Option<u64>| d.map(|t| (t as f64 / clk / n.max(1.0) * 1e6).round());
            serde_json::json!({
                "run": label,
                "connections": connections,
                "users": n_users,
                "seconds": round2(secs),
                "logins": lat.len(),
                "errors": w.errors,
                "stall_ms": w.stall_ms,
                "rate": round2(n / secs),
                "p50_us": percentile(&lat, 0.50),
                "p99_us": percentile(&lat, 0.99),
                "cpu_us_per_login": per(cpu0.zip(cpu1).map(|(a, b)| b - a)),
                "client_cpu_us_per_login": per(me0.zip(me1).map(|(a, b)| b - a)),
                "rss_kb": pid.as_deref().and_then(proc_rss_kb),
            })
        }
    };
    let start_window = || {
        *shared.window.borrow_mut() = Window::default();
        (
            Instant::now(),
            pid.as_deref().and_then(proc_cpu),
            proc_cpu("self"),
        )
    };
    let mut rows = Vec::new();
    for run in 1..=runs {
        let (t0, cpu0, me0) = start_window();
        tokio::time::sleep(Duration::from_secs_f64(duration)).await;
        let row = measure(run.into())(t0.elapsed().as_secs_f64(), cpu0, me0);
        emit(&row);
        eprintln!(
            "run {run}: {} logins/s, p50 {} µs, p99 {} µs, {} errors, stalled {} ms",
            row["rate"], row["p50_us"], row["p99_us"], row["errors"], row["stall_ms"]
        );
        rows.push(row);
    }
    let col = |k: &str| -> Vec<f64> { rows.iter().filter_map(|r| r[k].as_f64()).collect() };
    // A window with an error or a wait for a usable user does not count.
    let valid: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["errors"].as_f64() == Some(0.0) && r["stall_ms"].as_f64() == Some(0.0))
        .collect();
    let med = |k: &str| {
        let v: Vec<f64> = valid.iter().filter_map(|r| r[k].as_f64()).collect();
        if v.is_empty() { None } else { Some(median(v)) }
    };
    let errors: f64 = col("errors").iter().sum();
    emit(&serde_json::json!({
        "run": "median",
        "valid_runs": valid.len(),
        "connections": connections,
        "users": n_users,
        "rate": med("rate"),
        "p50_us": med("p50_us"),
        "p99_us": med("p99_us"),
        "cpu_us_per_login": med("cpu_us_per_login"),
        "client_cpu_us_per_login": med("client_cpu_us_per_login"),
        "rss_kb": med("rss_kb"),
        "errors": errors,
        "stall_ms": col("stall_ms").iter().sum::<f64>(),
    }));
    // The storm goes on while other endpoints are measured.
    if tail_max > 0.0 {
        let (t0, cpu0, me0) = start_window();
        let end = t0 + Duration::from_secs_f64(tail_max);
        while Instant::now() < end
            && !stop_file
                .as_deref()
                .is_some_and(|p| std::path::Path::new(p).exists())
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let row = measure("tail".into())(t0.elapsed().as_secs_f64(), cpu0, me0);
        eprintln!(
            "tail: {} logins/s over {} s, {} errors",
            row["rate"], row["seconds"], row["errors"]
        );
        emit(&row);
    }
    shared.stop.set(true);
    for w in workers {
        let _ = w.await;
    }
    if let Some(e) = shared.first_error.borrow().as_ref() {
        eprintln!("first error: {e}");
    }
    errors == 0.0
}

// --- helpers ------------------------------------------------------------------------------------

fn emit(row: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{row}");
    let _ = out.flush();
}

/// utime+stime (ticks) of a process (`self` or a pid).
fn proc_cpu(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 of the line; `after` starts at field 3.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn proc_rss_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
