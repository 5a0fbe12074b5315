//! Refresh-token rotation load for guichet (bench/run.sh).
//!
//! For each of N connections (one keep-alive HTTP connection and one cookie jar each) it first
//! drives the authorization code flow over plain HTTP — GET /authorize with PKCE S256, the login
//! form's hidden `csrf` and `flow` fields, POST /login, the code read from the 303's
//! `Location`, POST /token — to get one refresh token. Then every connection loops
//! `grant_type=refresh_token`, always presenting the token the previous answer returned, so
//! each connection keeps one token family. After a warm-up, `--runs` measured windows of
//! `--duration` seconds each report refreshes/s, p50/p99, and the server's CPU per refresh
//! (utime+stime of `--pid` from /proc) and RSS.
//!
//! Output: one JSON object per line on stdout (`"run": 1..`, then `"run": "median"`); progress
//! on stderr. Any non-200 answer is counted in `errors` and ends that connection's family.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use reqwest::redirect::Policy;
use sha2::{Digest, Sha256};

struct Args {
    base: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    scope: String,
    username: String,
    password: String,
    connections: usize,
    warmup: f64,
    duration: f64,
    runs: usize,
    pid: Option<u32>,
    clk_tck: f64,
    pg_db: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: guichet-refresh-bench --base URL --client-id ID --client-secret S \
         --redirect-uri URI --username U --password P [--scope S] [--connections N] \
         [--warmup SECS] [--duration SECS] [--runs N] [--pid PID] [--clk-tck N] [--pg-db NAME]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        base: String::new(),
        client_id: String::new(),
        client_secret: String::new(),
        redirect_uri: String::new(),
        scope: "openid".into(),
        username: String::new(),
        password: String::new(),
        connections: 16,
        warmup: 3.0,
        duration: 15.0,
        runs: 3,
        pid: None,
        clk_tck: 100.0,
        pg_db: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| usage());
        let num = |v: &str| v.parse::<f64>().unwrap_or_else(|_| usage());
        match k.as_str() {
            "--base" => a.base = v.trim_end_matches('/').to_owned(),
            "--client-id" => a.client_id = v,
            "--client-secret" => a.client_secret = v,
            "--redirect-uri" => a.redirect_uri = v,
            "--scope" => a.scope = v,
            "--username" => a.username = v,
            "--password" => a.password = v,
            "--connections" => a.connections = num(&v) as usize,
            "--warmup" => a.warmup = num(&v),
            "--duration" => a.duration = num(&v),
            "--runs" => a.runs = num(&v) as usize,
            "--pid" => a.pid = Some(num(&v) as u32),
            "--clk-tck" => a.clk_tck = num(&v),
            "--pg-db" => a.pg_db = Some(v),
            _ => usage(),
        }
    }
    if a.base.is_empty()
        || a.client_id.is_empty()
        || a.redirect_uri.is_empty()
        || a.username.is_empty()
        || a.connections == 0
        || a.runs == 0
    {
        usage()
    }
    a
}

type Res<T> = Result<T, String>;

fn form_encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// RFC 6749 §2.3.1: id and secret form-urlencoded, then base64.
fn basic_auth(id: &str, secret: &str) -> HeaderValue {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(id), enc(secret));
    HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw))).expect("ascii")
}

fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
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
                u32::from_str_radix(&ent[2..], 16).ok().and_then(char::from_u32)
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

/// The value of the hidden input `name` in the login page.
fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = html.find(&marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let len = tag[v..].find('"')?;
    Some(html_unescape(&tag[v..v + len]))
}

/// One connection: its own HTTP client (one keep-alive connection, its own cookie jar).
struct Conn {
    http: reqwest::Client,
    token_url: String,
    auth: HeaderValue,
}

async fn token_post(conn: &Conn, body: String) -> Res<serde_json::Value> {
    let res = conn
        .http
        .post(&conn.token_url)
        .header(AUTHORIZATION, conn.auth.clone())
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| format!("token request: {e}"))?;
    let status = res.status();
    let bytes = res.bytes().await.map_err(|e| format!("token body: {e}"))?;
    if status.as_u16() != 200 {
        return Err(format!(
            "token endpoint answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("token JSON: {e}"))
}

/// The code flow, driven as a browser would, up to the first refresh token.
async fn sign_in(a: &Args, conn: &Conn) -> Res<String> {
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_b64(12);
    let query = form_encode(&[
        ("response_type", "code"),
        ("client_id", &a.client_id),
        ("redirect_uri", &a.redirect_uri),
        ("scope", &a.scope),
        ("state", &state),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let mut res = conn
        .http
        .get(format!("{}/authorize?{query}", a.base))
        .send()
        .await
        .map_err(|e| format!("GET /authorize: {e}"))?;
    // /authorize hands the person to the sign-in area (/login?flow=…): follow it there.
    for _ in 0..5 {
        if !res.status().is_redirection() {
            break;
        }
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or("redirect without Location")?
            .to_owned();
        let target = url::Url::parse(&a.base)
            .and_then(|b| b.join(&location))
            .map_err(|e| format!("bad Location {location}: {e}"))?;
        res = conn
            .http
            .get(target)
            .send()
            .await
            .map_err(|e| format!("GET {location}: {e}"))?;
    }
    let status = res.status();
    let page = res.text().await.map_err(|e| e.to_string())?;
    if status.as_u16() != 200 {
        return Err(format!("GET /authorize answered {status}: {page:.300}"));
    }
    let csrf = hidden_field(&page, "csrf").ok_or("no csrf field in the login form")?;
    let flow = hidden_field(&page, "flow").ok_or("no flow field in the login form")?;
    let mut res = conn
        .http
        .post(format!("{}/login", a.base))
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
        .body(form_encode(&[
            ("username", &a.username),
            ("password", &a.password),
            ("csrf", &csrf),
            ("flow", &flow),
        ]))
        .send()
        .await
        .map_err(|e| format!("POST /login: {e}"))?;
    // Follow redirects inside guichet (cookies kept); stop at the client's redirect URI.
    let mut hops = 0;
    let code = loop {
        let status = res.status();
        if !status.is_redirection() {
            let body = res.text().await.unwrap_or_default();
            return Err(format!("login ended with {status}, not a redirect: {body:.300}"));
        }
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or("redirect without Location")?
            .to_owned();
        let target = url::Url::parse(&a.base)
            .and_then(|b| b.join(&location))
            .map_err(|e| format!("bad Location {location}: {e}"))?;
        if target.as_str().starts_with(&a.redirect_uri) {
            let q: Vec<(String, String)> = target.query_pairs().into_owned().collect();
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            if get("state").as_deref() != Some(state.as_str()) {
                return Err(format!("state lost in {location}"));
            }
            break get("code").ok_or_else(|| format!("no code in {location}"))?;
        }
        hops += 1;
        if hops > 5 {
            return Err("too many redirects".into());
        }
        res = conn
            .http
            .get(target)
            .send()
            .await
            .map_err(|e| format!("GET {location}: {e}"))?;
    };
    let json = token_post(
        conn,
        form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &a.redirect_uri),
            ("code_verifier", &verifier),
        ]),
    )
    .await?;
    json["refresh_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no refresh_token in the code exchange's answer".into())
}

#[derive(Default)]
struct Window {
    latencies_us: Vec<u32>,
    errors: u64,
}

/// One token family: refresh until `stop`, recording into the window that is current.
async fn family(
    conn: Conn,
    mut token: String,
    stop: Instant,
    window: Rc<RefCell<Window>>,
    first_error: Rc<RefCell<Option<String>>>,
) {
    while Instant::now() < stop {
        let t0 = Instant::now();
        let r = token_post(
            &conn,
            form_encode(&[("grant_type", "refresh_token"), ("refresh_token", &token)]),
        )
        .await;
        let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        match r.and_then(|j| {
            j["refresh_token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "no refresh_token in the answer".to_owned())
        }) {
            Ok(t) => {
                token = t;
                window.borrow_mut().latencies_us.push(us);
            }
            Err(e) => {
                window.borrow_mut().errors += 1;
                first_error.borrow_mut().get_or_insert(e);
                return;
            }
        }
    }
}

/// utime+stime (ticks) and VmRSS (kB) of a process.
fn proc_cpu(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 of the line; `after` starts at field 3.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn proc_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU ticks of the PostgreSQL backends serving `db` (their title names the database).
fn pg_cpu(db: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = 0;
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd);
        if cmd.starts_with("postgres: ") && cmd.split_whitespace().any(|w| w == db) {
            total += proc_cpu(pid).unwrap_or(0);
        }
    }
    total
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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = parse_args();
    let token_url = format!("{}/token", a.base);
    let auth = basic_auth(&a.client_id, &a.client_secret);
    let mut conns = Vec::new();
    for _ in 0..a.connections {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        conns.push(Conn {
            http,
            token_url: token_url.clone(),
            auth: auth.clone(),
        });
    }
    let t0 = Instant::now();
    let signed_in = futures_join(conns.iter().map(|c| sign_in(&a, c)).collect()).await;
    let mut tokens = Vec::new();
    for r in signed_in {
        match r {
            Ok(t) => tokens.push(t),
            Err(e) => {
                eprintln!("sign-in failed: {e}");
                std::process::exit(1);
            }
        }
    }
    eprintln!(
        "{} token families started by the code flow in {:.1} s",
        tokens.len(),
        t0.elapsed().as_secs_f64()
    );

    let total = a.warmup + a.duration * a.runs as f64;
    let start = Instant::now();
    let stop = start + Duration::from_secs_f64(total);
    let window = Rc::new(RefCell::new(Window::default()));
    let first_error = Rc::new(RefCell::new(None));
    let local = tokio::task::LocalSet::new();
    for (conn, token) in conns.into_iter().zip(tokens) {
        local.spawn_local(family(
            conn,
            token,
            stop,
            window.clone(),
            first_error.clone(),
        ));
    }
    let pid = a.pid;
    let clk = a.clk_tck;
    let pg_db = a.pg_db.clone();
    let runs = a.runs;
    let (warmup, duration, connections) = (a.warmup, a.duration, a.connections);
    let report = local.run_until(async move {
        tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
        let mut rows = Vec::new();
        for run in 1..=runs {
            *window.borrow_mut() = Window::default();
            let cpu0 = pid.and_then(proc_cpu);
            let pg0 = pg_db.as_deref().map(pg_cpu);
            let w0 = Instant::now();
            tokio::time::sleep(Duration::from_secs_f64(duration)).await;
            let secs = w0.elapsed().as_secs_f64();
            let cpu1 = pid.and_then(proc_cpu);
            let pg1 = pg_db.as_deref().map(pg_cpu);
            let w = std::mem::take(&mut *window.borrow_mut());
            let mut lat = w.latencies_us;
            lat.sort_unstable();
            let n = lat.len() as f64;
            let per = |d: Option<u64>| d.map(|t| t as f64 / clk / n.max(1.0) * 1e6);
            let row = serde_json::json!({
                "run": run,
                "connections": connections,
                "seconds": (secs * 100.0).round() / 100.0,
                "refreshes": lat.len(),
                "errors": w.errors,
                "rate": (n / secs).round(),
                "p50_us": percentile(&lat, 0.50),
                "p99_us": percentile(&lat, 0.99),
                "cpu_us_per_refresh": per(cpu0.zip(cpu1).map(|(a, b)| b - a)).map(f64::round),
                "pg_cpu_us_per_refresh": per(pg0.zip(pg1).map(|(a, b)| b.saturating_sub(a))).map(f64::round),
                "rss_kb": pid.and_then(proc_rss_kb),
            });
            println!("{row}");
            eprintln!(
                "run {run}: {:.0} refreshes/s, p50 {} µs, p99 {} µs, {} errors",
                n / secs,
                percentile(&lat, 0.50),
                percentile(&lat, 0.99),
                w.errors
            );
            rows.push(row);
        }
        rows
    });
    let rows = report.await;
    // Let the families finish their last request (they stop at `stop`).
    local.await;
    let col = |k: &str| -> Vec<f64> { rows.iter().filter_map(|r| r[k].as_f64()).collect() };
    let med = |k: &str| {
        let v = col(k);
        if v.is_empty() { None } else { Some(median(v)) }
    };
    let errors: f64 = col("errors").iter().sum();
    println!(
        "{}",
        serde_json::json!({
            "run": "median",
            "connections": a.connections,
            "rate": med("rate"),
            "p50_us": med("p50_us"),
            "p99_us": med("p99_us"),
            "cpu_us_per_refresh": med("cpu_us_per_refresh"),
            "pg_cpu_us_per_refresh": med("pg_cpu_us_per_refresh"),
            "rss_kb": med("rss_kb"),
            "errors": errors,
        })
    );
    if let Some(e) = first_error.borrow().as_ref() {
        eprintln!("first error: {e}");
    }
    if errors > 0.0 {
        std::process::exit(1);
    }
}

/// Runs futures concurrently on this thread and returns their outputs in order (they borrow
/// from the caller, so they are polled together rather than spawned).
async fn futures_join<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("ready")).collect()
}
