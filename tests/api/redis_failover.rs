//! Redis Sentinel: the primary dies under load and the sentinels promote its replica. Two
//! guichet nodes, pointed at the sentinels, answer only successes or 503 meanwhile (never
//! 500, never a hang), find the new master by themselves, and no authorization code is
//! redeemed twice over the whole run. The test owns its Redis processes (a primary, a replica,
//! three sentinels on spare ports; PostgreSQL + Redis tier only).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::helpers::*;

const MASTER_NAME: &str = "mymaster";
/// The longest a request may take while Redis fails over: a store operation gives up after
/// 1.5 s, and hashing the password on a machine busy with other tests (CI has two cores) adds
/// up to a second or two. A request that waited for a connection to the dead master (5 s) or
/// for nothing at all (no timeout) would still be caught.
const SLOWEST: Duration = Duration::from_millis(4000);

/// A primary, its replica and three sentinels watching them (quorum 2).
struct Group {
    primary: OwnRedisProcess,
    replica: OwnRedisProcess,
    sentinels: Vec<OwnRedisProcess>,
}

impl Group {
    async fn start(dir: &Path) -> Group {
        let primary_port = free_port();
        let primary =
            OwnRedisProcess::start(primary_port, &["--port", &primary_port.to_string()], dir).await;
        let replica_port = free_port();
        let replica = OwnRedisProcess::start(
            replica_port,
            &[
                "--port",
                &replica_port.to_string(),
                "--replicaof",
                "127.0.0.1",
                &primary_port.to_string(),
            ],
            dir,
        )
        .await;
        let mut sentinels = Vec::new();
        for i in 0..3 {
            let port = free_port();
            let conf = dir.join(format!("sentinel-{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 3000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n",
                    dir = dir.display()
                ),
            )
            .unwrap();
            sentinels.push(OwnRedisProcess::sentinel(port, &conf, dir).await);
        }
        let group = Group {
            primary,
            replica,
            sentinels,
        };
        group.wait_until_watched().await;
        group
    }

    fn sentinel_list(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect()
    }

    /// The master's port as the first sentinel names it.
    async fn master_port(&self) -> u16 {
        let mut conn = redis_conn(self.sentinels[0].port).await;
        let (_, port): (String, u16) = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(MASTER_NAME)
            .query_async(&mut conn)
            .await
            .unwrap();
        port
    }

    /// Each sentinel knows the replica and the two other sentinels (so that a failover can
    /// be agreed on), and the replica is in sync.
    async fn wait_until_watched(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        'wait: loop {
            assert!(
                Instant::now() < deadline,
                "the sentinels did not find each other and the replica"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            for sentinel in &self.sentinels {
                let mut conn = redis_conn(sentinel.port).await;
                let replicas: Vec<redis::Value> = redis::cmd("SENTINEL")
                    .arg("REPLICAS")
                    .arg(MASTER_NAME)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let others: Vec<redis::Value> = redis::cmd("SENTINEL")
                    .arg("SENTINELS")
                    .arg(MASTER_NAME)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                if replicas.len() != 1 || others.len() != 2 {
                    continue 'wait;
                }
            }
            let info: String = redis::cmd("INFO")
                .arg("replication")
                .query_async(&mut redis_conn(self.replica.port).await)
                .await
                .unwrap();
            if info.contains("master_link_status:up") {
                return;
            }
        }
    }
}

/// What one request answered, and how long it took.
#[derive(Debug, Clone)]
struct Answer {
    step: &'static str,
    status: u16,
    took: Duration,
}

/// An issued code, and the verifier that redeems it.
struct Issued {
    code: String,
    verifier: String,
}

#[derive(Default)]
struct Record {
    answers: Vec<Answer>,
    issued: Vec<Issued>,
    /// Successful redemptions (200) of each code.
    redeemed: Vec<String>,
}

/// Sends one request, bounded so that a hang fails the test rather than stalling it.
async fn timed(step: &'static str, req: reqwest::RequestBuilder) -> (Answer, reqwest::Response) {
    let started = Instant::now();
    let res = tokio::time::timeout(Duration::from_secs(10), req.send())
        .await
        .unwrap_or_else(|_| panic!("{step}: no answer within 10 s"))
        .unwrap();
    let answer = Answer {
        step,
        status: res.status().as_u16(),
        took: started.elapsed(),
    };
    (answer, res)
}

/// A fresh browser signs alice in on `issue` and redeems the code on `redeem_on`. Every
/// answer goes into `record`; returns whether the code was exchanged for tokens.
async fn sign_in_and_redeem(
    issue: &TestApp,
    redeem_on: &TestApp,
    client: &TestClient,
    record: &Mutex<Record>,
) -> bool {
    let http = browser();
    let (challenge, verifier) = pkce_pair();
    let params = auth_params(
        client,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let (answer, res) = timed(
        "authorize",
        http.get(issue.url("/authorize")).query(&params),
    )
    .await;
    record.lock().await.answers.push(answer);
    if res.status() != 200 {
        return false;
    }
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page), "not a login page: {page}");
    let mut form = vec![
        ("csrf", hidden(&page, "csrf").unwrap()),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    if let Some(flow) = hidden(&page, "flow") {
        form.push(("flow", flow));
    }
    let (answer, res) = timed("login", http.post(issue.url("/login")).form(&form)).await;
    record.lock().await.answers.push(answer);
    if !res.status().is_redirection() {
        return false;
    }
    let Some(code) = query_param(&location(&res), "code") else {
        return false;
    };
    record.lock().await.issued.push(Issued {
        code: code.clone(),
        verifier: verifier.clone(),
    });
    let form = code_form(client, &code, Some(&verifier));
    let req = redeem_on
        .browser
        .post(redeem_on.url("/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&form);
    let (answer, _) = timed("redeem", req).await;
    let ok = answer.status == 200;
    let mut record = record.lock().await;
    record.answers.push(answer);
    if ok {
        record.redeemed.push(code);
    }
    ok
}

/// Two nodes on the sentinels, one database, one key prefix, one keys folder.
async fn two_nodes(sentinels: Vec<String>) -> (TestApp, TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    copy_fixture_keys(&keys);
    let database_url = fresh_database_url(dir.path()).await;
    let prefix = format!("guichet-test-{}:", uuid::Uuid::new_v4().simple());
    let options = |issuer: Option<String>| {
        let sentinels = sentinels.clone();
        Options {
            database_url: Some(database_url.clone()),
            keys_dir: Some(keys.clone()),
            redis_prefix: Some(prefix.clone()),
            issuer,
            configure: Some(Box::new(move |s| {
                s.redis_url = None;
                s.redis_sentinels = sentinels;
            })),
            ..Options::default()
        }
    };
    let a = spawn_with(options(None)).await;
    let b = spawn_with(options(Some(a.issuer.clone()))).await;
    // Keep the shared folder alive as long as the nodes.
    std::mem::forget(dir);
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sentinel_failover_answers_503_at_worst_and_no_code_is_redeemed_twice() {
    if !redis_tier("redis_failover") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut group = Group::start(dir.path()).await;
    let old_master = group.master_port().await;
    assert_eq!(old_master, group.primary.port);

    // `guichet check-config` finds the master through the sentinels.
    let sentinels = group.sentinel_list().join(",");
    let store = check_config_store(dir.path(), &[("GUICHET_REDIS_SENTINELS", &sentinels)]).await;
    assert_eq!(store["ok"], true, "{store}");
    assert_eq!(store["detail"]["backend"], "redis-sentinel", "{store}");
    assert_eq!(store["detail"]["master_name"], MASTER_NAME, "{store}");
    let store = check_config_store(
        dir.path(),
        &[
            ("GUICHET_REDIS_SENTINELS", &sentinels),
            ("GUICHET_REDIS_MASTER_NAME", "unknown"),
        ],
    )
    .await;
    assert_eq!(store["ok"], false, "{store}");

    let (a, b) = two_nodes(group.sentinel_list()).await;
    a.create_user("alice").await;
    let client = a.create_client("rp", |_| {}).await;
    let nodes = Arc::new([a, b]);
    let client = Arc::new(client);
    let record = Arc::new(Mutex::new(Record::default()));

    // Both nodes work before anything happens.
    for (issue, redeem_on) in [(0, 1), (1, 0)] {
        assert!(sign_in_and_redeem(&nodes[issue], &nodes[redeem_on], &client, &record).await);
    }

    // A steady load from three tasks: codes issued on one node, redeemed on either.
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for t in 0..3usize {
        let (nodes, client, record, stop) =
            (nodes.clone(), client.clone(), record.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let issue = i % 2;
                let redeem_on = if (i / 2) % 2 == 0 { issue } else { 1 - issue };
                sign_in_and_redeem(&nodes[issue], &nodes[redeem_on], &client, &record).await;
                i += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The primary crashes; the sentinels promote the replica.
    group.primary.kill();
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(30);
    while group.master_port().await == old_master {
        assert!(Instant::now() < deadline, "the sentinels did not fail over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed_over = killed.elapsed();
    // The load goes on a while on the new master.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }

    // Both nodes sign in and exchange codes on the new master, without a restart.
    for (issue, redeem_on) in [(0, 1), (1, 0), (0, 0), (1, 1)] {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sign_in_and_redeem(&nodes[issue], &nodes[redeem_on], &client, &record).await {
            assert!(
                Instant::now() < deadline,
                "node {issue} -> node {redeem_on} did not recover after the failover"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let mut record = record.lock().await;
    // Every issued code, once more. One that was exchanged is refused. One whose exchange
    // failed before it was used up (a 503 while the master was down) may be exchanged now,
    // once: that is its first redemption, and a third try on the other node is refused.
    let issued = std::mem::take(&mut record.issued);
    let mut late = 0;
    for (n, issued) in issued.iter().enumerate() {
        let was_redeemed = record.redeemed.contains(&issued.code);
        let res = redeem(&nodes[n % 2], &client, &issued.code, Some(&issued.verifier)).await;
        if res.status() != 200 {
            continue;
        }
        assert!(
            !was_redeemed,
            "a code exchanged during the failover was exchanged again after it"
        );
        late += 1;
        record.redeemed.push(issued.code.clone());
        let again = redeem(
            &nodes[(n + 1) % 2],
            &client,
            &issued.code,
            Some(&issued.verifier),
        )
        .await;
        assert_ne!(again.status(), 200, "a code was redeemed a second time");
    }
    let mut redeemed = record.redeemed.clone();
    redeemed.sort();
    let total = redeemed.len();
    redeemed.dedup();
    assert_eq!(
        total,
        redeemed.len(),
        "a code was redeemed twice under load"
    );

    // Only successes or 503 (and, for a code the old master took with it, invalid_grant),
    // each within the bound.
    let answers = &record.answers;
    let count = |f: &dyn Fn(&Answer) -> bool| answers.iter().filter(|a| f(a)).count();
    let unavailable = count(&|a| a.status == 503);
    for answer in answers {
        let fine = matches!(answer.status, 200 | 302 | 303 | 503)
            || (answer.step == "redeem" && answer.status == 400);
        assert!(fine, "unexpected answer during the failover: {answer:?}");
        assert!(answer.took < SLOWEST, "a request was held: {answer:?}");
    }
    assert!(
        count(&|a| a.step == "redeem" && a.status == 200) > 4,
        "too little load to tell: {answers:?}"
    );
    eprintln!(
        "redis_failover: {} answers, {unavailable} of them 503, {} codes issued, {} redeemed; \
         {late} of them only after the failover; the sentinels failed over after {failed_over:?}",
        answers.len(),
        issued.len(),
        total
    );
}
