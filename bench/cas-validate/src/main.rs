//! CAS ticket validation throughput against guichet (bench/run.sh, scenario `cas`).
//!
//! Signs in once through the pages (`/cas/login?service=…`, then the login form), then for each
//! of `--runs` rounds: issues `--tickets` service tickets from that SSO session
//! (`GET /cas/login?service=…` with the session cookie: 302 to the service with `ticket`), then
//! validates every one at `/cas/p3/serviceValidate` with `--connections` concurrent keep-alive
//! connections, and measures that phase alone: validations/s, p50/p99, and guichet's CPU per
//! validation (utime+stime of `--pid` from /proc). A validation must answer 200 with
//! `<cas:authenticationSuccess>` and the user: anything else is an error. With `--token` and
//! `--client`, the same count of introspections (`POST /introspect`, Basic auth) is measured
//! the same way in each round, as the reference a validation should cost about as much as.
//!
//! Output: one JSON object per line on stdout (`"what": "issue" | "validate" | "introspect"`,
//! `"run": 1..`); progress on stderr.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::LOCATION;
use reqwest::redirect::Policy;

type Res<T> = Result<T, String>;

struct Args(HashMap<String, String>);

impl Args {
    fn parse() -> Args {
        let mut map = HashMap::new();
        let mut it = std::env::args().skip(1);
        while let Some(k) = it.next() {
            let Some(k) = k.strip_prefix("--") else {
                usage()
            };
            let Some(v) = it.next() else { usage() };
            map.insert(k.to_owned(), v);
        }
        Args(map)
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    fn req(&self, k: &str) -> &str {
        self.get(k).unwrap_or_else(|| usage())
    }
    fn num(&self, k: &str, default: usize) -> usize {
        self.get(k).map_or(default, |v| v.parse().unwrap_or_else(|_| usage()))
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: guichet-cas-validate --base URL --service URL --login L --password P --pid PID \
         [--tickets N] [--runs N] [--connections N] [--clk-tck N] [--token T --client ID:SECRET]"
    );
    std::process::exit(2)
}

fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].replace("&#x2F;", "/").replace("&amp;", "&"))
}

fn cpu_ticks(pid: &str) -> Res<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let rest = stat.rsplit_once(") ").ok_or("bad stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let u: u64 = f.get(11).and_then(|v| v.parse().ok()).ok_or("utime")?;
    let s: u64 = f.get(12).and_then(|v| v.parse().ok()).ok_or("stime")?;
    Ok(u + s)
}

fn percentile(sorted: &[u128], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Runs `jobs` on `conns` workers; returns (elapsed, latencies µs, errors).
async fn phase<F, Fut>(conns: usize, jobs: usize, f: F) -> (Duration, Vec<u128>, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..conns {
        let f = f.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs {
                    break;
                }
                let t = Instant::now();
                if !f(i).await {
                    errors += 1;
                }
                lat.push(t.elapsed().as_micros());
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::with_capacity(jobs);
    let mut errors = 0;
    for h in handles {
        if let Ok((lat, e)) = h.await {
            all.extend(lat);
            errors += e;
        }
    }
    let elapsed = start.elapsed();
    all.sort_unstable();
    (elapsed, all, errors)
}

fn report(what: &str, run: usize, n: usize, elapsed: Duration, lat: &[u128], errors: usize, cpu_ticks: u64, tck: f64) {
    let secs = elapsed.as_secs_f64();
    let cpu_us = cpu_ticks as f64 / tck * 1e6 / n.max(1) as f64;
    println!(
        "{{\"what\":\"{what}\",\"run\":{run},\"count\":{n},\"rate\":{:.1},\"p50_us\":{},\"p99_us\":{},\"errors\":{errors},\"cpu_us_per_req\":{cpu_us:.1},\"per_core\":{:.0}}}",
        n as f64 / secs,
        percentile(lat, 0.5),
        percentile(lat, 0.99),
        if cpu_us > 0.0 { 1e6 / cpu_us } else { 0.0 },
    );
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("guichet-cas-validate: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Res<()> {
    let args = Args::parse();
    let base = args.req("base").trim_end_matches('/').to_owned();
    let service = args.req("service").to_owned();
    let pid = args.req("pid").to_owned();
    let tickets = args.num("tickets", 20_000);
    let runs = args.num("runs", 3);
    let conns = args.num("connections", 16);
    let tck = args.num("clk-tck", 100) as f64;

    // One SSO session, through the pages.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .pool_max_idle_per_host(conns)
        .build()
        .map_err(|e| e.to_string())?;
    let login_url = format!("{base}/cas/login");
    let page = browser
        .get(&login_url)
        .query(&[("service", service.as_str())])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let form = [
        ("csrf", hidden(&page, "csrf").ok_or("no csrf field on the login page")?),
        ("flow", hidden(&page, "flow").ok_or("no flow field on the login page")?),
        ("username", args.req("login").to_owned()),
        ("password", args.req("password").to_owned()),
    ];
    let res = browser
        .post(format!("{base}/login"))
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_redirection() {
        return Err(format!("sign-in answered {}", res.status()));
    }
    eprintln!("signed in");

    let validator = reqwest::Client::builder()
        .redirect(Policy::none())
        .pool_max_idle_per_host(conns)
        .build()
        .map_err(|e| e.to_string())?;
    let validate_url = format!("{base}/cas/p3/serviceValidate");
    let introspect = match (args.get("token"), args.get("client")) {
        (Some(t), Some(c)) => {
            let (id, secret) = c.split_once(':').ok_or("--client is ID:SECRET")?;
            Some((t.to_owned(), id.to_owned(), secret.to_owned()))
        }
        _ => None,
    };

    for run in 1..=runs {
        // Issue the round's tickets from the session.
        let issued = Arc::new(std::sync::Mutex::new(vec![String::new(); tickets]));
        let (b, u, s, out) = (browser.clone(), login_url.clone(), service.clone(), issued.clone());
        let c0 = cpu_ticks(&pid)?;
        let (el, lat, err) = phase(conns, tickets, move |i| {
            let (b, u, s, out) = (b.clone(), u.clone(), s.clone(), out.clone());
            async move {
                let Ok(res) = b.get(&u).query(&[("service", s.as_str())]).send().await else {
                    return false;
                };
                let Some(loc) = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                    return false;
                };
                let Ok(url) = url::Url::parse(loc) else {
                    return false;
                };
                let Some((_, t)) = url.query_pairs().find(|(k, _)| k == "ticket") else {
                    return false;
                };
                if let Ok(mut v) = out.lock() {
                    v[i] = t.into_owned();
                }
                true
            }
        })
        .await;
        let c1 = cpu_ticks(&pid)?;
        report("issue", run, tickets, el, &lat, err, c1 - c0, tck);
        if err > 0 {
            return Err(format!("{err} tickets could not be issued"));
        }
        let list: Arc<Vec<String>> =
            Arc::new(std::mem::take(&mut *issued.lock().map_err(|e| e.to_string())?));

        // Validate them all: the measured phase.
        let (v, vu, s, user) = (
            validator.clone(),
            validate_url.clone(),
            service.clone(),
            format!("<cas:user>{}</cas:user>", args.req("login")),
        );
        let l = list.clone();
        let c0 = cpu_ticks(&pid)?;
        let (el, lat, err) = phase(conns, tickets, move |i| {
            let (v, vu, s, l, user) = (v.clone(), vu.clone(), s.clone(), l.clone(), user.clone());
            async move {
                let Ok(res) = v
                    .get(&vu)
                    .query(&[("service", s.as_str()), ("ticket", l[i].as_str())])
                    .send()
                    .await
                else {
                    return false;
                };
                if res.status() != 200 {
                    return false;
                }
                let Ok(body) = res.text().await else {
                    return false;
                };
                body.contains("<cas:authenticationSuccess>") && body.contains(&user)
            }
        })
        .await;
        let c1 = cpu_ticks(&pid)?;
        report("validate", run, tickets, el, &lat, err, c1 - c0, tck);

        if let Some((token, id, secret)) = &introspect {
            let (v, url, token, id, secret) = (
                validator.clone(),
                format!("{base}/introspect"),
                token.clone(),
                id.clone(),
                secret.clone(),
            );
            let c0 = cpu_ticks(&pid)?;
            let (el, lat, err) = phase(conns, tickets, move |_| {
                let (v, url, token, id, secret) =
                    (v.clone(), url.clone(), token.clone(), id.clone(), secret.clone());
                async move {
                    let Ok(res) = v
                        .post(&url)
                        .basic_auth(&id, Some(&secret))
                        .form(&[("token", token.as_str())])
                        .send()
                        .await
                    else {
                        return false;
                    };
                    res.status() == 200
                        && res.text().await.is_ok_and(|b| b.contains("\"active\":true"))
                }
            })
            .await;
            let c1 = cpu_ticks(&pid)?;
            report("introspect", run, tickets, el, &lat, err, c1 - c0, tck);
        }
    }
    Ok(())
}
