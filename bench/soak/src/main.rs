//! Mixed-traffic soak client for guichet's soak and fault benchmark (bench/soak.sh).
//!
//! - `hash-only`: argon2id verifications per second on `--threads` threads, with the
//!   parameters and code of guichet's hashing pool (as bench/login-storm measures it): the
//!   ceiling of password sign-ins per second on this machine, from which the soak paces its
//!   sign-ins.
//! - `run`: for `--duration` seconds, paced (open-loop) traffic spread over the nodes of
//!   `--nodes`: password sign-ins through the code flow (`GET /authorize` on one node,
//!   `POST /login` on the other, the code exchanged at the first), refreshes with rotation,
//!   introspections, discovery. Each sign-in's refresh token starts a token family; a family is
//!   refreshed `--family-refreshes` times (more while fewer than 16 are live), then retired: one in `--replay-every` families
//!   presents its previous (already rotated) refresh token once more, and every family presents
//!   its authorization code a second time. Both replays must be refused. Every request is
//!   written to `--events` as `start_unix,kind,node,status,latency_us` (status 0: no HTTP
//!   answer: connection refused, reset or timed out).
//! - `report`: reads `--events` and `--faults` (lines `name start_unix end_unix`) and prints
//!   the markdown tables of the report: rates, unexpected answers by status inside and outside
//!   the fault windows, time to recover after each fault, replays accepted.
//!
//! Pacing is open-loop: a request is started every 1/rate seconds whatever the answers take,
//! unless `--max-inflight` requests of that kind are already waiting (then it is counted as
//! skipped), so that a stalled server is not hidden by a client that waits for it.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::io::Write as _;
use std::rc::Rc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::{Rng as _, RngCore as _};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use reqwest::redirect::Policy;
use sha2::{Digest, Sha256};

type Res<T> = Result<T, String>;

/// Seconds the client keeps waiting for a request before counting it as a transport error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Live families below which none is retired for its rotations.
const MIN_FAMILIES: usize = 16;

fn usage() -> ! {
    eprintln!(
        "usage:\n  guichet-soak hash-only [--threads N] [--seconds S] [--warmup S]\n  \
         guichet-soak run --nodes URL,URL --client-id ID --client-secret S --redirect-uri URI \
         --rs-id ID --rs-secret S --users FILE --password P --events FILE --duration S \
         [--signin-rate R] [--refresh-rate R] [--introspect-rate R] [--discovery-rate R] \
         [--family-refreshes N] [--replay-every N] [--max-families N] [--max-inflight N]\n  \
         guichet-soak report --events FILE --faults FILE [--after S]"
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
    fn num(&self, k: &str, default: f64) -> f64 {
        match self.0.get(k) {
            Some(v) => v.parse().unwrap_or_else(|_| usage()),
            None => default,
        }
    }
}

fn main() {
    let (mode, args) = Args::parse();
    let ok = match mode.as_str() {
        "hash-only" => {
            hash_only(&args);
            true
        }
        "run" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, run(&args))
        }
        "report" => report(&args),
        _ => usage(),
    };
    if !ok {
        std::process::exit(1);
    }
}

// --- argon2id alone (bench/login-storm's `hash-only`) -------------------------------------------

/// guichet's `crypto::password::verify_with`: the parameters the PHC string names, in memory
/// allocated once per thread.
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
    let seconds = args.num("seconds", 10.0);
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
    let results: Vec<(u64, f64)> = handles
        .into_iter()
        .map(|h| h.join().expect("hash thread"))
        .collect();
    let n: u64 = results.iter().map(|r| r.0).sum();
    let secs = results.iter().map(|r| r.1).fold(0.0, f64::max);
    let rate = n as f64 / secs;
    println!(
        "{}",
        serde_json::json!({
            "mode": "hash-only",
            "threads": threads,
            "seconds": round2(secs),
            "verifications": n,
            "rate": round2(rate),
            "ms_per_verification": round2(threads as f64 / rate * 1e3),
        })
    );
    eprintln!(
        "argon2id alone, {threads} threads: {rate:.1} verifications/s ({:.1} ms each)",
        threads as f64 / rate * 1e3
    );
}

// --- the soak ------------------------------------------------------------------------------------

struct Event {
    start: f64,
    kind: &'static str,
    node: usize,
    /// 0: no HTTP answer.
    status: u16,
    latency_us: u32,
}

struct Reply {
    status: u16,
    location: String,
    body: String,
}

/// One token family: the code that started it and its refresh tokens.
struct Family {
    id: u64,
    code: String,
    verifier: String,
    current: String,
    /// The refresh token `current` replaced, already rotated: presenting it again is a replay.
    previous: Option<String>,
    rotations: u32,
}

struct Soak {
    nodes: Vec<String>,
    client_id: String,
    redirect_uri: String,
    rp_auth: HeaderValue,
    rs_auth: HeaderValue,
    users: Vec<String>,
    password: String,
    stop_at: Instant,
    family_refreshes: u32,
    replay_every: u64,
    max_families: usize,
    /// Keep-alive client for the token, introspection and discovery endpoints (no cookies).
    api: reqwest::Client,
    events: RefCell<Vec<Event>>,
    families: RefCell<VecDeque<Family>>,
    /// The latest access tokens, introspected at random.
    access: RefCell<VecDeque<String>>,
    skipped: RefCell<BTreeMap<&'static str, u64>>,
    inflight: Cell<usize>,
    sign_in_failures: RefCell<BTreeMap<String, u64>>,
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

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

/// The value of the hidden input `name` in a page.
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

fn form_post(http: &reqwest::Client, url: String, body: String) -> reqwest::RequestBuilder {
    http.post(url)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
        .body(body)
}

impl Soak {
    /// Sends one request and records it; `None` when no HTTP answer came.
    async fn exec(
        &self,
        kind: &'static str,
        node: usize,
        req: reqwest::RequestBuilder,
    ) -> Option<Reply> {
        let start = unix_now();
        let t0 = Instant::now();
        let answer = async {
            let res = req.send().await?;
            let status = res.status().as_u16();
            let location = res
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = res.text().await?;
            Ok::<_, reqwest::Error>(Reply {
                status,
                location,
                body,
            })
        }
        .await;
        let latency_us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let status = answer.as_ref().map_or(0, |r| r.status);
        self.events.borrow_mut().push(Event {
            start,
            kind,
            node,
            status,
            latency_us,
        });
        answer.ok()
    }

    fn token_request(&self, node: usize, pairs: &[(&str, &str)]) -> reqwest::RequestBuilder {
        form_post(
            &self.api,
            format!("{}/token", self.nodes[node]),
            form_encode(pairs),
        )
        .header(AUTHORIZATION, self.rp_auth.clone())
    }

    fn node_of(&self, url: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| url.starts_with(n.as_str()))
            .unwrap_or(0)
    }

    fn remember_access(&self, json: &serde_json::Value) {
        if let Some(at) = json["access_token"].as_str() {
            let mut access = self.access.borrow_mut();
            access.push_back(at.to_owned());
            if access.len() > 256 {
                access.pop_front();
            }
        }
    }

    fn fail(&self, why: impl Into<String>) {
        *self
            .sign_in_failures
            .borrow_mut()
            .entry(why.into())
            .or_default() += 1;
    }
}

/// A password sign-in through the code flow, as a new browser: `GET /authorize` on one node,
/// `POST /login` on the other (as a load balancer without affinity would send them), the
/// redirects followed, the code exchanged on the first node. Its refresh token starts a family.
async fn sign_in(s: Rc<Soak>, i: u64) {
    let a = (i % s.nodes.len() as u64) as usize;
    let b = (a + 1) % s.nodes.len();
    let user = &s.users[(i as usize) % s.users.len()];
    let Ok(http) = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
    else {
        s.fail("no HTTP client");
        return;
    };
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_b64(12);
    let query = form_encode(&[
        ("response_type", "code"),
        ("client_id", &s.client_id),
        ("redirect_uri", &s.redirect_uri),
        ("scope", "openid profile email"),
        ("state", &state),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let req = http.get(format!("{}/authorize?{query}", s.nodes[a]));
    let Some(mut page) = s.exec("authorize", a, req).await else {
        return;
    };
    // The login form may be behind redirects (to /login with the flow).
    let mut at = s.nodes[a].clone();
    for _ in 0..5 {
        if !(300..400).contains(&page.status) {
            break;
        }
        let Ok(target) = url::Url::parse(&at).and_then(|u| u.join(&page.location)) else {
            s.fail(format!("bad Location {:.80}", page.location));
            return;
        };
        let node = s.node_of(target.as_str());
        at = target.to_string();
        let Some(next) = s.exec("login-hop", node, http.get(target)).await else {
            return;
        };
        page = next;
    }
    if page.status != 200 {
        return;
    }
    let (Some(csrf), Some(flow)) = (
        hidden_field(&page.body, "csrf"),
        hidden_field(&page.body, "flow"),
    ) else {
        s.fail("no csrf or flow field in the login form");
        return;
    };
    let body = form_encode(&[
        ("username", user),
        ("password", &s.password),
        ("csrf", &csrf),
        ("flow", &flow),
    ]);
    let req = form_post(&http, format!("{}/login", s.nodes[b]), body);
    let Some(mut res) = s.exec("login", b, req).await else {
        return;
    };
    at = s.nodes[b].clone();
    let mut hops = 0;
    let code = loop {
        if !(300..400).contains(&res.status) {
            return;
        }
        let Ok(target) = url::Url::parse(&at).and_then(|u| u.join(&res.location)) else {
            s.fail(format!("bad Location {:.80}", res.location));
            return;
        };
        if target.as_str().starts_with(&s.redirect_uri) {
            let q: Vec<(String, String)> = target.query_pairs().into_owned().collect();
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            if get("state").as_deref() != Some(state.as_str()) {
                s.fail("state lost");
                return;
            }
            match get("code") {
                Some(c) => break c,
                None => {
                    s.fail(format!(
                        "redirected without a code: error={}",
                        get("error").unwrap_or_default()
                    ));
                    return;
                }
            }
        }
        hops += 1;
        if hops > 5 {
            s.fail("too many redirects");
            return;
        }
        let node = s.node_of(target.as_str());
        at = target.to_string();
        let Some(next) = s.exec("login-hop", node, http.get(target)).await else {
            return;
        };
        res = next;
    };
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", s.redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let Some(ans) = s.exec("code", a, s.token_request(a, &pairs)).await else {
        return;
    };
    if ans.status != 200 {
        return;
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&ans.body) else {
        s.fail("token answer not JSON");
        return;
    };
    s.remember_access(&json);
    let Some(refresh) = json["refresh_token"].as_str() else {
        s.fail("no refresh_token in the code exchange's answer");
        return;
    };
    s.families.borrow_mut().push_back(Family {
        id: i,
        code,
        verifier,
        current: refresh.to_owned(),
        previous: None,
        rotations: 0,
    });
    // Too many live families: the oldest is retired now (a client that went away).
    let over = {
        let mut f = s.families.borrow_mut();
        if f.len() > s.max_families {
            f.pop_front()
        } else {
            None
        }
    };
    if let Some(old) = over {
        retire(s.clone(), old, b).await;
    }
}

/// The end of a family: a sample replays its previous refresh token, and every family
/// presents its code a second time. Both must be refused (400 invalid_grant).
async fn retire(s: Rc<Soak>, f: Family, node: usize) {
    if let Some(prev) = &f.previous
        && f.id.is_multiple_of(s.replay_every)
    {
        let pairs = [
            ("grant_type", "refresh_token"),
            ("refresh_token", prev.as_str()),
        ];
        s.exec("refresh-replay", node, s.token_request(node, &pairs))
            .await;
    }
    let other = (node + 1) % s.nodes.len();
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", f.code.as_str()),
        ("redirect_uri", s.redirect_uri.as_str()),
        ("code_verifier", f.verifier.as_str()),
    ];
    s.exec("code-replay", other, s.token_request(other, &pairs))
        .await;
}

/// One rotation of the oldest live family.
async fn refresh_one(s: Rc<Soak>, i: u64) {
    let node = (i % s.nodes.len() as u64) as usize;
    let Some(mut f) = s.families.borrow_mut().pop_front() else {
        *s.skipped
            .borrow_mut()
            .entry("refresh (no family yet)")
            .or_default() += 1;
        return;
    };
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", f.current.as_str()),
    ];
    let ans = s.exec("refresh", node, s.token_request(node, &pairs)).await;
    match ans {
        Some(a) if a.status == 200 => {
            let json = serde_json::from_str::<serde_json::Value>(&a.body).unwrap_or_default();
            s.remember_access(&json);
            let Some(new) = json["refresh_token"].as_str() else {
                s.fail("no refresh_token in a refresh answer");
                return;
            };
            let old = std::mem::replace(&mut f.current, new.to_owned());
            f.previous = Some(old);
            f.rotations += 1;
            // Retired after its rotations, unless too few families are left to keep the
            // refresh rate (sign-ins start new ones more slowly than refreshes use them).
            if f.rotations >= s.family_refreshes && s.families.borrow().len() >= MIN_FAMILIES {
                retire(s.clone(), f, node).await;
            } else {
                s.families.borrow_mut().push_back(f);
            }
        }
        // Refused: the family is over (its code is still replayed).
        Some(a) if (400..500).contains(&a.status) => {
            f.previous = None;
            retire(s.clone(), f, node).await;
        }
        // No answer or a server error: nothing was rotated, try again later.
        _ => s.families.borrow_mut().push_back(f),
    }
}

async fn introspect_one(s: Rc<Soak>, i: u64) {
    let node = (i % s.nodes.len() as u64) as usize;
    let token = {
        let access = s.access.borrow();
        if access.is_empty() {
            None
        } else {
            access
                .get(rand::rng().random_range(0..access.len()))
                .cloned()
        }
    };
    let Some(token) = token else {
        *s.skipped
            .borrow_mut()
            .entry("introspect (no token yet)")
            .or_default() += 1;
        return;
    };
    let req = form_post(
        &s.api,
        format!("{}/introspect", s.nodes[node]),
        form_encode(&[("token", &token)]),
    )
    .header(AUTHORIZATION, s.rs_auth.clone());
    s.exec("introspect", node, req).await;
}

async fn discovery_one(s: Rc<Soak>, i: u64) {
    let node = (i % s.nodes.len() as u64) as usize;
    let req = s.api.get(format!(
        "{}/.well-known/openid-configuration",
        s.nodes[node]
    ));
    s.exec("discovery", node, req).await;
}

/// Starts `task(i)` every 1/`rate` s until the end of the run, unless `cap` of them are still
/// running (then the start is skipped and counted).
async fn pace<F, Fut>(s: Rc<Soak>, kind: &'static str, rate: f64, cap: usize, task: F)
where
    F: Fn(Rc<Soak>, u64) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    if rate <= 0.0 {
        return;
    }
    let period = Duration::from_secs_f64(1.0 / rate);
    let running = Rc::new(Cell::new(0usize));
    let mut next = Instant::now();
    let mut i = 0u64;
    loop {
        next += period;
        if next >= s.stop_at {
            return;
        }
        tokio::time::sleep_until(next.into()).await;
        if running.get() >= cap {
            *s.skipped.borrow_mut().entry(kind).or_default() += 1;
            continue;
        }
        running.set(running.get() + 1);
        s.inflight.set(s.inflight.get() + 1);
        let fut = task(s.clone(), i);
        i += 1;
        let (running, s2) = (running.clone(), s.clone());
        tokio::task::spawn_local(async move {
            fut.await;
            running.set(running.get() - 1);
            s2.inflight.set(s2.inflight.get() - 1);
        });
    }
}

async fn run(args: &Args) -> bool {
    let nodes: Vec<String> = args
        .str("nodes")
        .split(',')
        .map(|n| n.trim_end_matches('/').to_owned())
        .collect();
    let users: Vec<String> = match std::fs::read_to_string(args.str("users")) {
        Ok(t) => t.split_whitespace().map(str::to_owned).collect(),
        Err(e) => {
            eprintln!("--users: {e}");
            return false;
        }
    };
    if nodes.is_empty() || users.is_empty() {
        usage()
    }
    let duration = args.num("duration", 600.0);
    let cap = args.num("max-inflight", 64.0).max(1.0) as usize;
    let api = reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("http client");
    let s = Rc::new(Soak {
        nodes,
        client_id: args.str("client-id"),
        redirect_uri: args.str("redirect-uri"),
        rp_auth: basic_auth(&args.str("client-id"), &args.str("client-secret")),
        rs_auth: basic_auth(&args.str("rs-id"), &args.str("rs-secret")),
        users,
        password: args.str("password"),
        stop_at: Instant::now() + Duration::from_secs_f64(duration),
        family_refreshes: args.num("family-refreshes", 4.0).max(1.0) as u32,
        replay_every: args.num("replay-every", 4.0).max(1.0) as u64,
        max_families: args.num("max-families", 200.0).max(1.0) as usize,
        api,
        events: RefCell::new(Vec::new()),
        families: RefCell::new(VecDeque::new()),
        access: RefCell::new(VecDeque::new()),
        skipped: RefCell::new(BTreeMap::new()),
        inflight: Cell::new(0),
        sign_in_failures: RefCell::new(BTreeMap::new()),
    });
    let start = unix_now();
    eprintln!(
        "soak: {} nodes, {duration} s; sign-ins {}/s, refreshes {}/s, introspections {}/s, discovery {}/s",
        s.nodes.len(),
        args.num("signin-rate", 5.0),
        args.num("refresh-rate", 50.0),
        args.num("introspect-rate", 50.0),
        args.num("discovery-rate", 20.0)
    );
    tokio::join!(
        pace(
            s.clone(),
            "sign-in",
            args.num("signin-rate", 5.0),
            cap,
            sign_in
        ),
        pace(
            s.clone(),
            "refresh",
            args.num("refresh-rate", 50.0),
            cap,
            refresh_one
        ),
        pace(
            s.clone(),
            "introspect",
            args.num("introspect-rate", 50.0),
            cap,
            introspect_one
        ),
        pace(
            s.clone(),
            "discovery",
            args.num("discovery-rate", 20.0),
            cap,
            discovery_one
        ),
    );
    // The requests started before the end finish (each is bounded by REQUEST_TIMEOUT, a
    // sign-in by a few of them).
    let drain_end = Instant::now() + Duration::from_secs(60);
    while s.inflight.get() > 0 && Instant::now() < drain_end {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every family still live is retired, so that every code is presented twice.
    let left: Vec<Family> = s.families.borrow_mut().drain(..).collect();
    eprintln!("soak: retiring the {} families still live", left.len());
    let mut pending = Vec::new();
    for (i, f) in left.into_iter().enumerate() {
        pending.push(tokio::task::spawn_local(retire(
            s.clone(),
            f,
            i % s.nodes.len(),
        )));
        if pending.len() >= 16 {
            for p in pending.drain(..) {
                let _ = p.await;
            }
        }
    }
    for p in pending {
        let _ = p.await;
    }
    let end = unix_now();
    let events = s.events.borrow();
    let path = args.str("events");
    let mut out = String::with_capacity(events.len() * 48);
    out.push_str("start_unix,kind,node,status,latency_us\n");
    for e in events.iter() {
        out.push_str(&format!(
            "{:.3},{},{},{},{}\n",
            e.start, e.kind, e.node, e.status, e.latency_us
        ));
    }
    if let Err(e) = std::fs::write(&path, out) {
        eprintln!("{path}: {e}");
        return false;
    }
    println!(
        "{}",
        serde_json::json!({
            "mode": "run",
            "start_unix": start,
            "end_unix": end,
            "requests": events.len(),
            "skipped": *s.skipped.borrow(),
            "sign_in_failures": *s.sign_in_failures.borrow(),
        })
    );
    eprintln!(
        "soak: {} requests in {:.0} s; skipped {:?}; other sign-in failures {:?}",
        events.len(),
        end - start,
        s.skipped.borrow(),
        s.sign_in_failures.borrow()
    );
    true
}

// --- the report ----------------------------------------------------------------------------------

const KINDS: [&str; 9] = [
    "discovery",
    "authorize",
    "login",
    "login-hop",
    "code",
    "refresh",
    "introspect",
    "code-replay",
    "refresh-replay",
];

fn is_replay(kind: &str) -> bool {
    kind.ends_with("-replay")
}

/// The answer each kind should get.
fn expected(kind: &str, status: u16) -> bool {
    match kind {
        "code-replay" | "refresh-replay" => status == 400,
        "login" => status == 302 || status == 303,
        "login-hop" => (200..400).contains(&status),
        _ => status == 200,
    }
}

struct Row {
    start: f64,
    done: f64,
    kind: String,
    status: u16,
    latency_us: u32,
}

struct Fault {
    name: String,
    start: f64,
    end: f64,
    /// The end of the fault's window in the report.
    window_end: f64,
}

fn read_events(path: &str) -> Res<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut rows = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let [start, kind, _node, status, lat] = f[..] else {
            return Err(format!("{path}: bad line {line}"));
        };
        let bad = || format!("{path}: bad line {line}");
        let start: f64 = start.parse().map_err(|_| bad())?;
        let latency_us: u32 = lat.parse().map_err(|_| bad())?;
        rows.push(Row {
            start,
            done: start + latency_us as f64 / 1e6,
            kind: kind.to_owned(),
            status: status.parse().map_err(|_| bad())?,
            latency_us,
        });
    }
    Ok(rows)
}

fn read_faults(path: &str) -> Res<Vec<Fault>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut faults = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [name, start, end] = f[..] else {
            return Err(format!("{path}: bad line {line}"));
        };
        let bad = || format!("{path}: bad line {line}");
        faults.push(Fault {
            name: name.replace('_', " "),
            start: start.parse().map_err(|_| bad())?,
            end: end.parse().map_err(|_| bad())?,
            window_end: 0.0,
        });
    }
    Ok(faults)
}

/// "503×4, 500×2, no answer×1", or "—".
fn status_counts<'a>(rows: impl Iterator<Item = &'a Row>) -> (usize, String) {
    let mut n = 0;
    let mut by: BTreeMap<u16, usize> = BTreeMap::new();
    for r in rows {
        n += 1;
        if !expected(&r.kind, r.status) {
            *by.entry(r.status).or_default() += 1;
        }
    }
    let mut v: Vec<(u16, usize)> = by.into_iter().collect();
    v.sort_by_key(|b| std::cmp::Reverse(b.1));
    let s: Vec<String> = v
        .iter()
        .map(|(st, c)| {
            if *st == 0 {
                format!("no answer×{c}")
            } else {
                format!("{st}×{c}")
            }
        })
        .collect();
    (
        n,
        if s.is_empty() {
            "—".into()
        } else {
            s.join(", ")
        },
    )
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn report(args: &Args) -> bool {
    let (rows, faults) = match (
        read_events(&args.str("events")),
        read_faults(&args.str("faults")),
    ) {
        (Ok(r), Ok(f)) => (r, f),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return false;
        }
    };
    if rows.is_empty() {
        eprintln!("no events");
        return false;
    }
    // Errors go on for a while after a server is back (pools reconnect): a fault's window
    // runs from its start to `--after` seconds after its end.
    let after = args.num("after", 10.0);
    let t0 = rows.iter().map(|r| r.start).fold(f64::MAX, f64::min);
    let t1 = rows.iter().map(|r| r.done).fold(0.0, f64::max);
    // ... or at the next fault's start, so that no request counts in two windows.
    let mut faults = faults;
    faults.sort_by(|a, b| a.start.total_cmp(&b.start));
    for i in 0..faults.len() {
        let end = faults[i].end + after;
        faults[i].window_end = faults.get(i + 1).map_or(end, |n| end.min(n.start));
    }
    let in_window = |r: &Row, f: &Fault| r.done >= f.start && r.done < f.window_end;
    let outside = |r: &Row| !faults.iter().any(|f| in_window(r, f));
    let kinds: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| rows.iter().any(|r| r.kind == *k))
        .collect();
    let mut out = String::new();
    let mut w = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };

    w(format!(
        "Traffic ({:.0} s; latencies of the expected answers outside the fault windows):\n",
        t1 - t0
    ));
    w("| kind | requests | per second | expected answers | p50 | p99 |".into());
    w("|---|---:|---:|---:|---:|---:|".into());
    for k in &kinds {
        let all: Vec<&Row> = rows.iter().filter(|r| r.kind == *k).collect();
        let ok = all.iter().filter(|r| expected(k, r.status)).count();
        let mut lat: Vec<u32> = all
            .iter()
            .filter(|r| expected(k, r.status) && outside(r))
            .map(|r| r.latency_us)
            .collect();
        lat.sort_unstable();
        w(format!(
            "| {k} | {} | {:.1} | {:.2}% | {:.1} ms | {:.1} ms |",
            all.len(),
            all.len() as f64 / (t1 - t0),
            ok as f64 * 100.0 / all.len().max(1) as f64,
            percentile(&lat, 0.5) as f64 / 1e3,
            percentile(&lat, 0.99) as f64 / 1e3
        ));
    }

    w(String::new());
    w(format!(
        "Unexpected answers by status (\"no answer\": refused, reset or over {} s), outside the \
         fault windows and in each (from the fault's start to {after:.0} s after its end or the \
         next fault's start; by the time each request completed):\n",
        REQUEST_TIMEOUT.as_secs()
    ));
    let mut head = "| kind | outside the faults".to_owned();
    let mut rule = "|---|---".to_owned();
    for f in &faults {
        head += &format!(
            " | {} ({:.1} s down, +{after:.0} s)",
            f.name,
            f.end - f.start
        );
        rule += "|---";
    }
    w(head + " |");
    w(rule + "|");
    for k in &kinds {
        let (n, s) = status_counts(rows.iter().filter(|r| r.kind == *k && outside(r)));
        let mut line = format!("| {k} | {n} requests: {s}");
        for f in &faults {
            let (n, s) = status_counts(rows.iter().filter(|r| r.kind == *k && in_window(r, f)));
            line += &format!(" | {n} requests: {s}");
        }
        w(line + " |");
    }

    // The baseline: the share of unexpected answers outside the fault windows.
    let plain = |r: &&Row| !is_replay(&r.kind);
    let base_rows: Vec<&Row> = rows.iter().filter(plain).filter(|r| outside(r)).collect();
    let base_bad = base_rows
        .iter()
        .filter(|r| !expected(&r.kind, r.status))
        .count();
    let baseline = base_bad as f64 / base_rows.len().max(1) as f64;
    let threshold = (2.0 * baseline).max(0.01);
    w(String::new());
    w(format!(
        "Recovery: from each fault's end (the server answering again), the first expected answer \
         of each kind completed, and when the share of unexpected answers (all kinds but the \
         replays, by second) fell back to the baseline and stayed there for 3 s (baseline outside \
         the faults: {:.2}%; threshold max(2 × baseline, 1%)):\n",
        baseline * 100.0
    ));
    w("| fault | down for | unexpected answers in the window | back to baseline after the end | first expected answer after the end, by kind |".into());
    w("|---|---:|---:|---:|---|".into());
    for (fi, f) in faults.iter().enumerate() {
        let limit = faults.get(fi + 1).map_or(t1, |n| n.start);
        let bad_in = rows
            .iter()
            .filter(plain)
            .filter(|r| in_window(r, f) && !expected(&r.kind, r.status))
            .count();
        // Per-second buckets from the fault's end.
        let n_buckets = ((limit - f.end).max(0.0).ceil() as usize).max(1);
        let mut tot = vec![0usize; n_buckets];
        let mut bad = vec![0usize; n_buckets];
        for r in rows.iter().filter(plain) {
            if r.done >= f.end && r.done < limit {
                let b = ((r.done - f.end) as usize).min(n_buckets - 1);
                tot[b] += 1;
                if !expected(&r.kind, r.status) {
                    bad[b] += 1;
                }
            }
        }
        let calm = |b: usize| tot[b] == 0 || (bad[b] as f64 / tot[b] as f64) <= threshold;
        let back = (0..n_buckets).find(|&b| (b..(b + 3).min(n_buckets)).all(calm));
        let back = match back {
            Some(b) => format!("{b} s"),
            None => format!("not within {:.0} s", limit - f.end),
        };
        let firsts: Vec<String> = kinds
            .iter()
            .filter(|k| !is_replay(k))
            .map(|k| {
                let first = rows
                    .iter()
                    .filter(|r| r.kind == *k && r.done >= f.end && expected(k, r.status))
                    .map(|r| r.done)
                    .fold(f64::MAX, f64::min);
                if first == f64::MAX {
                    format!("{k}: none")
                } else {
                    format!("{k} +{:.1} s", first - f.end)
                }
            })
            .collect();
        w(format!(
            "| {} | {:.1} s | {bad_in} | {back} | {} |",
            f.name,
            f.end - f.start,
            firsts.join(", ")
        ));
    }

    w(String::new());
    w(
        "Replays, each presented once more on purpose (must be refused: 400 invalid_grant):\n"
            .into(),
    );
    w("| replay | presented | refused (400) | **accepted twice (2xx)** | other answers |".into());
    w("|---|---:|---:|---:|---|".into());
    let mut accepted_total = 0;
    for (k, label) in [
        ("code-replay", "authorization code, a second time"),
        ("refresh-replay", "refresh token already rotated"),
    ] {
        let all: Vec<&Row> = rows.iter().filter(|r| r.kind == k).collect();
        let refused = all.iter().filter(|r| r.status == 400).count();
        let accepted = all
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .count();
        accepted_total += accepted;
        let (_, other) = status_counts(
            all.iter()
                .copied()
                .filter(|r| !(200..300).contains(&r.status)),
        );
        w(format!(
            "| {label} | {} | {refused} | **{accepted}** | {other} |",
            all.len()
        ));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    eprintln!("replays accepted twice: {accepted_total}");
    accepted_total == 0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
